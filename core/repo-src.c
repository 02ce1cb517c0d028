/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Sources over captured volumes and disks: fixed index + chunk store + a small cache of decoded chunks. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "macro.h"
#include "repo-internal.h"
#include "repo.h"

#define CACHE_SLOTS 8

struct slot {
	uint64_t idx;
	uint64_t used;
	uint8_t *data;
	size_t len;
};

struct vsrc {
	struct repo repo; /* a private copy: the source outlives the caller's struct repo */
	struct repo_index x;
	pthread_mutex_t lock;
	struct slot cache[CACHE_SLOTS];
	uint64_t tick;
	char *label;
};

static void vsrc_free(struct vsrc *p)
{
	if (!p)
		return;
	for (unsigned i = 0; i < CACHE_SLOTS; i++)
		free(p->cache[i].data);
	repo_index_free(&p->x);
	crypto_wipe(&p->repo.keys, sizeof(p->repo.keys));
	free(p->repo.dir);
	free(p->label);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

static int cache_get(struct vsrc *p, uint64_t idx, void *out, size_t off, size_t len)
{
	int hit = 0;

	pthread_mutex_lock(&p->lock);
	for (unsigned i = 0; i < CACHE_SLOTS; i++) {
		struct slot *s = &p->cache[i];
		if (s->data && s->idx == idx) {
			memcpy(out, s->data + off, len);
			s->used = ++p->tick;
			hit = 1;
			break;
		}
	}
	pthread_mutex_unlock(&p->lock);
	return hit;
}

static void cache_put(struct vsrc *p, uint64_t idx, uint8_t *data, size_t len)
{
	struct slot *victim = &p->cache[0];

	pthread_mutex_lock(&p->lock);
	for (unsigned i = 0; i < CACHE_SLOTS; i++) {
		struct slot *s = &p->cache[i];
		if (s->data && s->idx == idx) { /* another thread was first */
			free(data);
			pthread_mutex_unlock(&p->lock);
			return;
		}
		if (!s->data || s->used < victim->used)
			victim = s;
		if (!s->data)
			break;
	}
	free(victim->data);
	victim->data = data;
	victim->len = len;
	victim->idx = idx;
	victim->used = ++p->tick;
	pthread_mutex_unlock(&p->lock);
}

static int vsrc_read_chunk(struct vsrc *p, uint64_t i, void *out, size_t off, size_t len)
{
	uint64_t start = i * p->x.chunk_size;
	size_t clen = (size_t)MIN((uint64_t)p->x.chunk_size, p->x.size - start), n;
	uint8_t *data;
	int r;

	if (chunk_digest_is_zero(p->x.digests[i])) {
		memset(out, 0, len);
		return 0;
	}
	if (cache_get(p, i, out, off, len))
		return 0;
	data = malloc(clen);
	if (!data)
		return -ENOMEM;
	r = repo_chunk_load(&p->repo, NULL, p->x.digests[i], data, clen, &n);
	if (r >= 0 && n != clen)
		r = sr_fail(-EBADMSG, "chunk has %zu bytes, the index wants %zu", n, clen);
	if (r < 0) {
		free(data);
		return sr_fail(r, "%s: bytes %llu-%llu (chunk %llu): %s", p->label, (unsigned long long)start,
			       (unsigned long long)(start + clen - 1), (unsigned long long)i, sr_errmsg(r));
	}
	memcpy(out, data + off, len);
	cache_put(p, i, data, clen);
	return 0;
}

static int vsrc_pread(struct src *s, void *buf, size_t len, uint64_t off)
{
	struct vsrc *p = s->priv;
	uint8_t *o = buf;

	while (len) {
		uint64_t i = off / p->x.chunk_size;
		size_t in = (size_t)(off % p->x.chunk_size), n = MIN(len, (size_t)p->x.chunk_size - in);
		int r = vsrc_read_chunk(p, i, o, in, n);
		if (r < 0)
			return r;
		o += n;
		off += n;
		len -= n;
	}
	return 0;
}

static void vsrc_destroy(struct src *s)
{
	vsrc_free(s->priv);
}

static const struct src_ops vsrc_ops = { vsrc_pread, vsrc_destroy };

static int index_src_new(const struct repo *r, const char *index, const uint8_t *sha, const char *label,
			 struct src **ret)
{
	struct vsrc *p = calloc(1, sizeof(*p));
	int e;

	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->lock, NULL);
	p->repo.dirfd = -1;
	p->repo.cfg = r->cfg;
	p->repo.has_keys = r->has_keys;
	p->repo.keys = r->keys;
	p->repo.dir = strdup(r->dir);
	p->label = strdup(label);
	if (!p->repo.dir || !p->label) {
		vsrc_free(p);
		return -ENOMEM;
	}
	e = repo_index_load(r, index, sha, &p->x);
	if (e < 0) {
		vsrc_free(p);
		return e;
	}
	e = src_new(&vsrc_ops, p->x.size, label, p, ret);
	if (e < 0)
		vsrc_free(p);
	return e;
}

int repo_volume_src_new(const struct repo *r, const struct repo_manifest *m, size_t v, struct src **ret)
{
	const struct repo_volume *vol = &m->vols[v];
	char label[512], id[GUID_STRING_MAX], set[GUID_STRING_MAX];
	struct src *s;
	int e;

	snprintf(label, sizeof(label), "set {%s} volume %s {%s}", guid_format(&m->set_id, set), vol->name,
		 guid_format(&vol->shadow_id, id));
	e = index_src_new(r, vol->index, vol->index_sha256, label, &s);
	if (e < 0)
		return e;
	if (s->size != vol->size) {
		src_unref(s);
		return sr_fail(-EBADMSG, "%s: the index covers %llu bytes, the manifest says %llu", label,
			       (unsigned long long)s->size, (unsigned long long)vol->size);
	}
	*ret = s;
	return 0;
}

/* a whole disk: the layout index, with each captured partition laid over it */

struct dsrc {
	struct src *base;
	size_t n;
	struct src **parts;
	uint64_t *offs;
};

static int dsrc_pread(struct src *s, void *buf, size_t len, uint64_t off)
{
	struct dsrc *p = s->priv;
	uint8_t *o = buf;

	while (len) {
		size_t n = len;
		struct src *from = p->base;
		uint64_t at = off;
		for (size_t i = 0; i < p->n; i++) {
			uint64_t a = p->offs[i], b = a + p->parts[i]->size;
			if (off >= a && off < b) {
				from = p->parts[i];
				at = off - a;
				n = (size_t)MIN((uint64_t)n, b - off);
				break;
			}
			if (a > off)
				n = (size_t)MIN((uint64_t)n, a - off);
		}
		int r = src_pread(from, o, n, at);
		if (r < 0)
			return r;
		o += n;
		off += n;
		len -= n;
	}
	return 0;
}

static void dsrc_destroy(struct src *s)
{
	struct dsrc *p = s->priv;

	for (size_t i = 0; i < p->n; i++)
		src_unref(p->parts[i]);
	src_unref(p->base);
	free(p->parts);
	free(p->offs);
	free(p);
}

static const struct src_ops dsrc_ops = { dsrc_pread, dsrc_destroy };

int repo_disk_src_new(const struct repo *r, const struct repo_manifest *m, size_t d, struct src **ret)
{
	char label[512], set[GUID_STRING_MAX];
	struct dsrc *p = calloc(1, sizeof(*p));
	int e;

	if (!p)
		return -ENOMEM;
	p->parts = calloc(m->n_vols + 1, sizeof(*p->parts));
	p->offs = calloc(m->n_vols + 1, sizeof(*p->offs));
	if (!p->parts || !p->offs) {
		e = -ENOMEM;
		goto fail;
	}
	snprintf(label, sizeof(label), "set {%s} disk %zu", guid_format(&m->set_id, set), d);
	e = index_src_new(r, m->disks[d].index, m->disks[d].index_sha256, label, &p->base);
	if (e < 0)
		goto fail;
	for (size_t v = 0; v < m->n_vols; v++) {
		if (m->vols[v].disk != (int)d)
			continue;
		if (m->vols[v].offset + m->vols[v].size > p->base->size) {
			e = sr_fail(-EBADMSG, "%s: partition %u lies outside the disk", label, m->vols[v].partition);
			goto fail;
		}
		e = repo_volume_src_new(r, m, v, &p->parts[p->n]);
		if (e < 0)
			goto fail;
		p->offs[p->n++] = m->vols[v].offset;
	}
	/* sorted by offset, for dsrc_pread */
	for (size_t i = 1; i < p->n; i++)
		for (size_t j = i; j > 0 && p->offs[j - 1] > p->offs[j]; j--) {
			uint64_t t = p->offs[j];
			struct src *x = p->parts[j];
			p->offs[j] = p->offs[j - 1];
			p->parts[j] = p->parts[j - 1];
			p->offs[j - 1] = t;
			p->parts[j - 1] = x;
		}
	e = src_new(&dsrc_ops, p->base->size, label, p, ret);
	if (e >= 0)
		return 0;
fail:
	for (size_t i = 0; i < p->n; i++)
		src_unref(p->parts[i]);
	src_unref(p->base);
	free(p->parts);
	free(p->offs);
	free(p);
	return e;
}
