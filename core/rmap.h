/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SR_RMAP_H
#define SR_RMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "src.h"

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
/* The index of the first range that ends after off (m->n if none; m finished). */
size_t rmap_find(const struct rmap *m, uint64_t off);
bool rmap_intersects(const struct rmap *m, uint64_t off, uint64_t len);
uint64_t rmap_bytes(const struct rmap *m);
/* Parse a changed-blocks file: "OFFSET LENGTH" per line (decimal or 0x hex, bytes), '#' comments. */
int rmap_parse_ranges(const void *buf, size_t len, struct rmap *ret);

/*
 * What of an NTFS volume is in use, as capture keeps it (docs/FORMAT.md §5):
 * the clusters $Bitmap marks in use, the first 16 KiB ($Boot with the VSS
 * header at 0x1e00) and everything after the last cluster (the backup boot
 * sector). A revert to a captured volume writes exactly these ranges.
 */
int rmap_ntfs_used(struct src *vol, struct rmap *ret, uint64_t *ret_cluster_size);
/*
 * Add the clusters each VSS shadow copy's view of vol marks in use: a view
 * reads the blocks that did not change since it was taken from the live
 * volume, including clusters free now but in use then.
 */
int rmap_add_vss_views(struct src *vol, struct rmap *m, unsigned *ret_views);
/*
 * The same with the VSS state v of the volume, opened by the caller: with
 * the shadow storage other volumes hold for it attached (volset), the views
 * whose storage is elsewhere count too. A view whose storage is missing is
 * skipped.
 */
struct vss_volume;
int rmap_add_vss_views_of(struct vss_volume *v, struct rmap *m, unsigned *ret_views);

#endif
