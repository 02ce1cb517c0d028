/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SR_FAT_H
#define SR_FAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "src.h"

/*
 * A read-only FAT12/16/32 reader, enough to find files on an EFI system
 * partition (\EFI\Microsoft\Boot\BCD). Parses untrusted bytes: every cluster
 * number, chain and directory is bounds- and loop-checked.
 */
struct fat_fs;

struct fat_stat {
	bool dir;
	uint64_t size;
	uint32_t first_cluster;
};

/* -EMEDIUMTYPE when s holds no FAT file system, -EBADMSG when its boot sector is inconsistent. */
int fat_open(struct src *s, struct fat_fs **ret);
void fat_close(struct fat_fs *f);
/* "FAT12", "FAT16" or "FAT32". */
const char *fat_type(const struct fat_fs *f);
/* Look up a path ("/EFI/Microsoft/Boot/BCD"), names compared case-insensitively (long or 8.3). -ENOENT. */
int fat_lookup(struct fat_fs *f, const char *path, struct fat_stat *ret);
/* Read len bytes at off of a file (off + len <= size). */
int fat_read(struct fat_fs *f, const struct fat_stat *st, void *buf, size_t len, uint64_t off);

/* Parse from a buffer laid out as a volume (fuzzing): open, then look up a few paths. */
int fat_probe_buffer(const void *buf, size_t len);

#endif
