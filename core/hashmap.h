/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SR_HASHMAP_H
#define SR_HASHMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * An open-addressing map from uint64_t keys to uint32_t values (linear
 * probing, tombstones on removal). UINT64_MAX and UINT64_MAX - 1 (the empty
 * and tombstone markers) are reserved and cannot be keys (-EINVAL).
 * Not thread-safe for writers; concurrent readers are fine.
 */
struct u64map {
	uint64_t *keys;
	uint32_t *vals;
	size_t cap; /* power of two, or 0 */
	size_t n;   /* live entries */
	size_t used; /* live + tombstones */
};

void u64map_init(struct u64map *m);
void u64map_free(struct u64map *m);
/* Insert or replace. -ENOMEM on failure, -EINVAL for the reserved key. */
int u64map_put(struct u64map *m, uint64_t key, uint32_t val);
/* true and *ret set if present. */
bool u64map_get(const struct u64map *m, uint64_t key, uint32_t *ret);
bool u64map_remove(struct u64map *m, uint64_t key);

#endif
