/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * An LRU of 1 MiB blocks in front of a source, for repository volumes: the
 * repository source keeps only a handful of decoded chunks, and libntfs-3g
 * reading MFT records and folders all over a volume (mount, restore) would
 * decode the same chunks again and again. Images given directly do not need
 * it (the kernel's page cache holds their bytes). Sharded by block number so
 * that concurrent readers rarely meet on a lock. A block that cannot be read
 * whole is not cached: the range asked for is read alone, so that a bad chunk
 * fails only the bytes it covers.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "src.h"

#define BLOCK (1u << 20)
#define SHARDS 16

struct slot {
	uint64_t idx;
	uint64_t used;
	uint8_t *data;
	size_t len;
};

struct shard {
	pthread_mutex_t lock;
	struct slot *slots;
	size_t n;
	uint64_t tick;
};

struct cache {
	struct src *inner;
	struct shard shards[SHARDS];
};

static int cache_block(struct cache *c, uint64_t idx, uint8_t *out, size_t off, size_t len)
{
	struct shard *sh = &c->shards[idx % SHARDS];
	struct slot *victim = NULL;
	uint64_t start = idx * BLOCK;
	size_t blen = (size_t)MIN((uint64_t)BLOCK, c->inner->size - start);
	uint8_t *data;
	int r;

	pthread_mutex_lock(&sh->lock);
	for (size_t i = 0; i < sh->n; i++) {
		struct slot *s = &sh->slots[i];
		if (s->data && s->idx == idx) {
			memcpy(out, s->data + off, len);
			s->used = ++sh->tick;
			pthread_mutex_unlock(&sh->lock);
			return 0;
		}
	}
	pthread_mutex_unlock(&sh->lock);

	data = malloc(blen);
	if (!data)
		return -ENOMEM;
	r = src_pread(c->inner, data, blen, start);
	if (r < 0) {
		/* the bad range only: read what was asked, so that its neighbours stay readable */
		free(data);
		return src_pread(c->inner, out, len, start + off);
	}
	memcpy(out, data + off, len);

	pthread_mutex_lock(&sh->lock);
	for (size_t i = 0; i < sh->n; i++) {
		struct slot *s = &sh->slots[i];
		if (s->data && s->idx == idx) { /* another reader was first */
			free(data);
			pthread_mutex_unlock(&sh->lock);
			return 0;
		}
		if (!victim || !s->data || (victim->data && s->used < victim->used))
			victim = s;
	}
	free(victim->data);
	victim->idx = idx;
	victim->data = data;
	victim->len = blen;
	victim->used = ++sh->tick;
	pthread_mutex_unlock(&sh->lock);
	return 0;
}

static int cache_pread(struct src *s, void *buf, size_t len, uint64_t off)
{
	struct cache *c = s->priv;
	uint8_t *o = buf;

	while (len) {
		uint64_t idx = off / BLOCK;
		size_t in = (size_t)(off % BLOCK), n = MIN(len, (size_t)BLOCK - in);
		int r = cache_block(c, idx, o, in, n);
		if (r < 0)
			return r;
		o += n;
		off += n;
		len -= n;
	}
	return 0;
}

static void cache_destroy(struct src *s)
{
	struct cache *c = s->priv;

	for (unsigned i = 0; i < SHARDS; i++) {
		for (size_t j = 0; j < c->shards[i].n; j++)
			free(c->shards[i].slots[j].data);
		free(c->shards[i].slots);
		pthread_mutex_destroy(&c->shards[i].lock);
	}
	src_unref(c->inner);
	free(c);
}

static const struct src_ops cache_ops = { cache_pread, cache_destroy };

int src_cache_new(struct src *inner, uint64_t cache_bytes, struct src **ret)
{
	struct cache *c = calloc(1, sizeof(*c));
	size_t per = (size_t)MAX(cache_bytes / BLOCK / SHARDS, 1);
	int r;

	if (!c)
		return -ENOMEM;
	for (unsigned i = 0; i < SHARDS; i++) {
		pthread_mutex_init(&c->shards[i].lock, NULL);
		c->shards[i].slots = calloc(per, sizeof(struct slot));
		c->shards[i].n = per;
		if (!c->shards[i].slots) {
			c->inner = NULL;
			for (unsigned j = 0; j <= i; j++)
				free(c->shards[j].slots);
			free(c);
			return -ENOMEM;
		}
	}
	c->inner = src_ref(inner);
	r = src_new(&cache_ops, inner->size, inner->name, c, ret);
	if (r < 0)
		cache_destroy(&(struct src){ .priv = c });
	return r;
}
