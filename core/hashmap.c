/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "hashmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define EMPTY UINT64_MAX
#define TOMB (UINT64_MAX - 1) /* only in keys[] together with vals[] == UINT32_MAX */

static inline size_t hash64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ULL;
	k ^= k >> 33;
	return (size_t)k;
}

void u64map_init(struct u64map *m)
{
	memset(m, 0, sizeof(*m));
}

void u64map_free(struct u64map *m)
{
	free(m->keys);
	free(m->vals);
	u64map_init(m);
}

/* Tombstones are marked by vals[i] == UINT32_MAX with keys[i] == TOMB; TOMB as a real key is rejected. */
static bool is_tomb(const struct u64map *m, size_t i)
{
	return m->keys[i] == TOMB && m->vals[i] == UINT32_MAX;
}

static int rehash(struct u64map *m, size_t ncap)
{
	uint64_t *keys = malloc(ncap * sizeof(*keys));
	uint32_t *vals = malloc(ncap * sizeof(*vals));

	if (!keys || !vals) {
		free(keys);
		free(vals);
		return -ENOMEM;
	}
	for (size_t i = 0; i < ncap; i++)
		keys[i] = EMPTY;
	for (size_t i = 0; i < m->cap; i++) {
		size_t j;
		if (m->keys[i] == EMPTY || is_tomb(m, i))
			continue;
		for (j = hash64(m->keys[i]) & (ncap - 1); keys[j] != EMPTY; j = (j + 1) & (ncap - 1))
			;
		keys[j] = m->keys[i];
		vals[j] = m->vals[i];
	}
	free(m->keys);
	free(m->vals);
	m->keys = keys;
	m->vals = vals;
	m->cap = ncap;
	m->used = m->n;
	return 0;
}

int u64map_put(struct u64map *m, uint64_t key, uint32_t val)
{
	size_t i, tomb = SIZE_MAX;

	if (key >= TOMB)
		return -EINVAL;
	if ((m->used + 1) * 4 > m->cap * 3) {
		size_t ncap = m->cap ? m->cap : 16;
		while ((m->n + 1) * 2 > ncap)
			ncap *= 2;
		int r = rehash(m, ncap);
		if (r < 0)
			return r;
	}
	for (i = hash64(key) & (m->cap - 1); m->keys[i] != EMPTY; i = (i + 1) & (m->cap - 1)) {
		if (is_tomb(m, i)) {
			if (tomb == SIZE_MAX)
				tomb = i;
			continue;
		}
		if (m->keys[i] == key) {
			m->vals[i] = val;
			return 0;
		}
	}
	if (tomb != SIZE_MAX)
		i = tomb;
	else
		m->used++;
	m->keys[i] = key;
	m->vals[i] = val;
	m->n++;
	return 0;
}

static size_t find(const struct u64map *m, uint64_t key)
{
	if (!m->cap || key >= TOMB)
		return SIZE_MAX;
	for (size_t i = hash64(key) & (m->cap - 1); m->keys[i] != EMPTY; i = (i + 1) & (m->cap - 1))
		if (m->keys[i] == key && !is_tomb(m, i))
			return i;
	return SIZE_MAX;
}

bool u64map_get(const struct u64map *m, uint64_t key, uint32_t *ret)
{
	size_t i = find(m, key);

	if (i == SIZE_MAX)
		return false;
	if (ret)
		*ret = m->vals[i];
	return true;
}

bool u64map_remove(struct u64map *m, uint64_t key)
{
	size_t i = find(m, key);

	if (i == SIZE_MAX)
		return false;
	m->keys[i] = TOMB;
	m->vals[i] = UINT32_MAX;
	m->n--;
	return true;
}
