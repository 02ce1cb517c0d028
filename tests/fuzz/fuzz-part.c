/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz the partition-table reader (core/part.h) twice per input: the input
 * as a flat disk (part_table_parse_buffer), and decoded as a sparse disk
 * (sparse.h) so that a GPT backup header in the last sector of a large disk,
 * and EBR chains far into it, are reachable from a small input.
 */
#include <stdint.h>
#include <string.h>

#include "core/log.h"
#include "core/part.h"
#include "sparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void touch(const struct part_table *t)
{
	volatile uint64_t sum = t->scheme + t->sector_size + t->disk_signature;
	char id[GUID_STRING_MAX];

	(void)guid_format(&t->disk_guid, id);
	for (size_t i = 0; i < t->n; i++) {
		const struct part *p = &t->parts[i];
		sum += p->number + p->offset + p->size + p->mbr_type + p->attributes + p->bootable + strlen(p->name);
		(void)guid_format(&p->type, id);
		(void)guid_format(&p->uuid, id);
	}
	(void)sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct part_table t;
	struct src *s = NULL;

	if (part_table_parse_buffer(data, size, &t) >= 0) {
		touch(&t);
		part_table_free(&t);
	}
	if (sparse_src_new(data, size, "disk", &s, NULL) >= 0) {
		if (part_table_read(s, &t) >= 0) {
			touch(&t);
			part_table_free(&t);
		}
		(void)src_is_ntfs(s);
		src_unref(s);
	}
	sr_errclear();
	return 0;
}
