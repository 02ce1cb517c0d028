/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SR_PART_H
#define SR_PART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guid.h"
#include "src.h"

/* Partition tables: MBR (primary and logical partitions) and GPT. */

enum part_scheme { PART_NONE, PART_MBR, PART_GPT };

struct part {
	unsigned number;     /* 1-based, as Linux numbers them (logical MBR partitions from 5) */
	uint64_t offset;     /* bytes */
	uint64_t size;       /* bytes */
	uint8_t mbr_type;    /* MBR: the type byte */
	struct sr_guid type; /* GPT: the type GUID */
	struct sr_guid uuid; /* GPT: the partition GUID */
	uint64_t attributes; /* GPT attributes */
	char name[108];      /* GPT name, UTF-8 */
	bool bootable;       /* MBR: active flag */
};

struct part_table {
	enum part_scheme scheme;
	unsigned sector_size;
	struct sr_guid disk_guid; /* GPT */
	uint32_t disk_signature;  /* MBR */
	struct part *parts;
	size_t n;
};

/*
 * Read the partition table of a disk. A source without one gives
 * scheme PART_NONE and no partitions. -EBADMSG (with a detail) when a table
 * is there but corrupt: entries outside the disk, overlapping partitions,
 * an extended-partition chain that loops, a bad GPT CRC with no good backup.
 */
int part_table_read(struct src *disk, struct part_table *ret);
void part_table_free(struct part_table *t);

/* Parse from a buffer laid out as a disk (fuzzing). */
int part_table_parse_buffer(const void *buf, size_t len, struct part_table *ret);

/* Well-known GPT types. */
extern const struct sr_guid part_type_basic_data, part_type_efi_system, part_type_msr, part_type_recovery;

/* Does src start with an NTFS boot sector? */
bool src_is_ntfs(struct src *s);

#endif
