/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SR_CAPTURE_INTERNAL_H
#define SR_CAPTURE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/guid.h"
#include "core/repo.h"
#include "core/src.h"

/* Sorted, merged byte ranges. */
struct range {
	uint64_t off, len;
};
struct rmap {
	struct range *v;
	size_t n, cap;
};
int rmap_add(struct rmap *m, uint64_t off, uint64_t len);
/* Sort and merge overlapping or touching ranges. */
int rmap_finish(struct rmap *m);
void rmap_free(struct rmap *m);
/* Does [off, off+len) meet a range of m? */
bool rmap_intersects(const struct rmap *m, uint64_t off, uint64_t len);
uint64_t rmap_bytes(const struct rmap *m);
/* Parse a changed-blocks file: "OFFSET LENGTH" per line (decimal or 0x hex, bytes), '#' comments. */
int rmap_parse_ranges(const void *buf, size_t len, struct rmap *ret);

/* What to read of an NTFS volume: the clusters $Bitmap marks in use, the first 16 KiB ($Boot with the
 * VSS header at 0x1e00) and everything after the last cluster (the backup boot sector). */
int capture_ntfs_ranges(struct src *vol, struct rmap *ret, uint64_t *ret_cluster_size);

/* Add the clusters each shadow copy's view of vol marks in use (see pipeline.c). */
int capture_vss_ranges(struct src *vol, struct rmap *m, unsigned *ret_views);

struct capture_stats {
	uint64_t size, read, zero, new_plain, new_stored, reused, skipped;
	uint64_t chunks, new_chunks;
};

struct capture_job {
	const struct repo *repo;
	struct src *src;
	const struct rmap *read;       /* what to read (the rest is zero) */
	const struct rmap *changed;    /* NULL: everything may have changed */
	const struct repo_index *prev; /* the same volume in the instance's previous set, or NULL */
	struct repo_index out;         /* filled by capture_run */
	struct capture_stats st;
};
/* Read, hash, compress, encrypt and store src with a pool of threads; bounded memory (threads x 2 chunks). */
int capture_run(struct capture_job *j, unsigned threads, const char *label);

/* Scan attached metadata documents (UTF-8 or UTF-16LE, BCD or diskshadow Manifest.xml) for IDs. */
struct capture_meta {
	bool has_set;
	struct sr_guid set_id;
	size_t n;
	struct {
		char drive[4];
		struct sr_guid id;
	} shadows[64];
	bool writers; /* writer components present: application-consistent */
};
void capture_meta_scan(const void *buf, size_t len, struct capture_meta *m);

/* Open the repository for a verb: --repo or the default, passphrase when encrypted. */
int capture_repo_open(const char *dir, const char *pass_file, struct repo **ret);

#endif
