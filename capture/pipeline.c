/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The capture pipeline: the thread pool that reads, hashes and stores. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "capture-internal.h"
#include "core/chunk.h"
#include "core/log.h"
#include "core/macro.h"
#include "core/progress.h"

/* the pool */

/* A composite slot of the index being written, and the chunks it references. */
struct comp_rec {
	uint64_t slot;
	size_t n;
	uint8_t (*refs)[CRYPTO_DIGEST_SIZE];
};

struct pool {
	struct capture_job *j;
	uint32_t cs;
	unsigned srcno; /* of j->src in j->dedup */
	VEC(struct comp_rec) comps; /* under lock */
	uint64_t next;
	pthread_mutex_t lock;
	pthread_cond_t finished; /* signalled by the last worker to stop */
	unsigned running;        /* workers not stopped yet, under lock */
	int err;
	uint64_t done; /* bytes of the volume handled, for progress */
};

#define ADD(field, v) __atomic_add_fetch(&j->st.field, (v), __ATOMIC_RELAXED)

/*
 * A test hook (tests/e2e/t0306, make stress): with SHADOWREV_TEST_KILL_AFTER_BYTES=N the process kills
 * itself (SIGKILL, as kill -9 would) once its captures have handled N bytes of their sources, so that a
 * kill lands inside a capture at a chosen point instead of at a moment that may come after it ended.
 */
static uint64_t test_kill_after, test_handled;

static void test_kill_point(uint64_t n)
{
	if (test_kill_after && __atomic_add_fetch(&test_handled, n, __ATOMIC_RELAXED) >= test_kill_after)
		kill(getpid(), SIGKILL);
}

/*
 * Read the chunk at start into buf, range by range, with zeros where the ranges leave gaps (only there:
 * most chunks are read whole). *ret_any: something was read (else buf is all zero).
 */
static int chunk_read(struct pool *p, uint8_t *buf, uint64_t start, size_t clen, bool *ret_any)
{
	struct capture_job *j = p->j;
	const struct rmap *m = j->read;
	size_t k = rmap_find(m, start), zeroed = 0;
	bool any = false;
	int r;

	for (; k < m->n && m->v[k].off < start + clen; k++) {
		uint64_t a = MAX(m->v[k].off, start), b = MIN(m->v[k].off + m->v[k].len, start + clen);
		if (a - start > zeroed)
			memset(buf + zeroed, 0, (size_t)(a - start) - zeroed);
		r = src_pread(j->src, buf + (a - start), (size_t)(b - a), a);
		if (r < 0)
			return sr_fail(r, "cannot read %s at offset %llu: %s", j->src->name, (unsigned long long)a,
				       sr_errmsg(r));
		zeroed = MAX(zeroed, (size_t)(b - start));
		ADD(read, b - a);
		any = true;
	}
	memset(buf + zeroed, 0, clen - zeroed);
	*ret_any = any;
	return 0;
}

/* Record that slot i is a composite referencing refs (taken over, also on failure). */
static int comp_add(struct pool *p, uint64_t i, uint8_t (*refs)[CRYPTO_DIGEST_SIZE], size_t n)
{
	struct comp_rec c = { .slot = i, .n = n, .refs = refs };
	int r;

	pthread_mutex_lock(&p->lock);
	r = vec_push(&p->comps, c);
	pthread_mutex_unlock(&p->lock);
	if (r < 0)
		free(refs);
	return r;
}

/* Slot i keeps the base set's chunk at the same place: and its references, if it is a composite there. */
static int comp_copy_prev(struct pool *p, uint64_t i)
{
	const struct repo_index *x = p->j->prev;
	size_t lo = 0, hi = x->n_comps;
	uint8_t (*refs)[CRYPTO_DIGEST_SIZE];

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (x->comps[mid].slot < i)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo >= x->n_comps || x->comps[lo].slot != i)
		return 0;
	refs = malloc(x->comps[lo].n * CRYPTO_DIGEST_SIZE);
	if (!refs)
		return -ENOMEM;
	memcpy(refs, x->refs[x->comps[lo].first], x->comps[lo].n * CRYPTO_DIGEST_SIZE);
	return comp_add(p, i, refs, x->comps[lo].n);
}

/*
 * Chunk d of slot i is stored already (the caller marked it): if it is a composite, mark the chunks it
 * references too (another set may have stored them: §7) and record them for this index. 1: reuse it; 0:
 * one of its references is gone, store the chunk again (plain, replacing the composite).
 */
static int reuse_stored(struct pool *p, struct chunk_ctx *ctx, uint64_t i, const uint8_t *d)
{
	uint8_t (*refs)[CRYPTO_DIGEST_SIZE] = NULL;
	size_t n = 0;
	int r = repo_chunk_refs(p->j->repo, ctx, d, &refs, &n);

	if (r == -ENOENT)
		return 0;
	if (r < 0 || n == 0)
		return 1; /* a plain chunk (or one verify will name as corrupt, as before) */
	for (size_t k = 0; k < n; k++)
		if (repo_chunk_touch(p->j->repo, refs[k]) < 0) {
			free(refs);
			return 0;
		}
	r = comp_add(p, i, refs, n);
	return r < 0 ? r : 1;
}

/* Under dd's lock, once: the config must say composites before the first is stored. */
static int dedup_enable(struct capture_dedup *dd, const struct repo *repo)
{
	int r;

	pthread_mutex_lock(&dd->lock);
	if (dd->enabled == 0) {
		r = repo_enable_composites(repo);
		dd->enabled = r < 0 ? r : 1;
	}
	r = dd->enabled;
	pthread_mutex_unlock(&dd->lock);
	return r;
}

/*
 * Try to store chunk d (slot i, in buf) as a composite. 1: stored (or found stored meanwhile); 0: store
 * it plain (w holds its pieces, for registering).
 */
static int try_composite(struct pool *p, struct chunk_ctx *ctx, struct dedup_scratch *w, const uint8_t *buf,
			 uint8_t *env, uint64_t i, size_t clen, const uint8_t *d)
{
	struct capture_job *j = p->j;
	uint8_t (*refs)[CRYPTO_DIGEST_SIZE] = NULL;
	/* small chunks (64-256 KiB repositories): a quarter of the chunk will do */
	uint64_t saved, need = MIN((uint64_t)DEDUP_MIN_SAVING, clen / 4);
	size_t elen, n_refs;
	int r;

	capture_dedup_cut(w, buf, clen);
	saved = capture_dedup_match(j->dedup, w, buf, d);
	if (saved < need)
		return 0;
	/* the matches were found in the source, which may have changed since: against the stored bytes */
	saved = capture_dedup_check(w, repo_keys(j->repo), buf);
	if (saved < need)
		return 0;
	r = capture_dedup_recipe(w, buf);
	if (r < 0)
		return r;
	/* the table and literals must leave a saving too (and fit the envelope buffer) */
	if (w->recipe.len + need > clen)
		return 0;
	r = capture_dedup_recipe_check(w, repo_keys(j->repo), buf);
	if (r < 0)
		return sr_fail(r, "cannot store a chunk of %s at offset %llu: its piece dedup recipe does not expand "
			       "to its bytes", j->src->name, (unsigned long long)(i * p->cs));
	if (r == 0 || dedup_enable(j->dedup, j->repo) < 0)
		return 0;
	r = chunk_encode_flags(ctx, repo_keys(j->repo), w->recipe.data, w->recipe.len, CHUNK_F_COMPOSITE, env, &elen);
	if (r < 0)
		return r;
	r = repo_chunk_put_new(j->repo, d, env, elen);
	if (r == -EEXIST) {
		/* another writer stored it meanwhile */
		(void)repo_chunk_touch(j->repo, d);
		r = reuse_stored(p, ctx, i, d);
		if (r > 0)
			ADD(reused, clen);
		return r;
	}
	if (r < 0)
		return sr_fail(r, "cannot store a chunk of %s: %s", j->src->name, strerror(-r));
	r = capture_dedup_refs(w, &refs, &n_refs);
	if (r >= 0)
		r = comp_add(p, i, refs, n_refs);
	if (r < 0)
		return r;
	ADD(new_plain, clen);
	ADD(new_stored, elen);
	ADD(new_chunks, 1);
	ADD(dedup, saved);
	ADD(composites, 1);
	return 1;
}

/*
 * The first half of a chunk's work: 1 when its bytes are in buf and it needs its digest (then
 * chunk_store()), 0 when it is done (unchanged per --changed-blocks, or all zero).
 */
static int chunk_prepare(struct pool *p, uint8_t *buf, uint64_t i)
{
	struct capture_job *j = p->j;
	uint64_t start = i * p->cs;
	size_t clen = (size_t)MIN((uint64_t)p->cs, j->src->size - start);
	uint8_t *d = j->out.digests[i];
	bool any = false;
	int r;

	ADD(chunks, 1);
	/* a caller that tracks changes says this chunk did not change: keep the previous ID */
	if (j->changed && j->prev && !rmap_intersects(j->changed, start, clen)) {
		memcpy(d, j->prev->digests[i], CRYPTO_DIGEST_SIZE);
		if (chunk_digest_is_zero(d)) {
			ADD(zero, clen);
			return 0;
		}
		/* the base set holds it (delete refuses that set while we run): no mark needed */
		ADD(skipped, clen);
		ADD(reused, clen);
		r = comp_copy_prev(p, i);
		return r < 0 ? r : 0;
	}
	memset(d, 0, CRYPTO_DIGEST_SIZE);
	r = chunk_read(p, buf, start, clen, &any);
	if (r < 0)
		return r;
	if (!any || mem_is_zero(buf, clen)) {
		ADD(zero, clen);
		return 0;
	}
	return 1;
}

/* The second half: chunk i, in buf, has its digest; reuse it or store it. */
static int chunk_store(struct pool *p, struct chunk_ctx *ctx, struct dedup_scratch *w, const uint8_t *buf,
		       uint8_t *env, uint64_t i)
{
	struct capture_job *j = p->j;
	uint64_t start = i * p->cs;
	size_t clen = (size_t)MIN((uint64_t)p->cs, j->src->size - start), elen;
	const uint8_t *d = j->out.digests[i];
	int r;

	/* unchanged since the base set, which holds it: nothing to do */
	if (j->prev && memcmp(d, j->prev->digests[i], CRYPTO_DIGEST_SIZE) == 0) {
		ADD(reused, clen);
		return comp_copy_prev(p, i);
	}
	/* already stored (a duplicate, or another set's): mark it and go on */
	if (repo_chunk_touch(j->repo, d) >= 0) {
		r = reuse_stored(p, ctx, i, d);
		if (r < 0)
			return r;
		if (r > 0) {
			ADD(reused, clen);
			return 0;
		}
	}
	if (j->dedup) {
		r = try_composite(p, ctx, w, buf, env, i, clen, d);
		if (r != 0)
			return r < 0 ? r : 0;
	}
	r = chunk_encode(ctx, repo_keys(j->repo), buf, clen, env, &elen);
	if (r >= 0)
		r = repo_chunk_put(j->repo, d, env, elen);
	if (r < 0)
		return sr_fail(r, "cannot store a chunk of %s: %s", j->src->name, strerror(-r));
	/* its pieces may serve the chunks that come after */
	if (j->dedup)
		capture_dedup_register(j->dedup, w, p->srcno, start, d);
	ADD(new_plain, clen);
	ADD(new_stored, elen);
	ADD(new_chunks, 1);
	return 0;
}

/*
 * Chunks i and i+1 (if there is one): both read first, so that two digests of the same length are
 * computed together (chunk_digest2: SHA-256 streams interleaved, about 1.5x one at a time).
 */
static int two_chunks(struct pool *p, struct chunk_ctx *ctx, struct dedup_scratch *w, uint8_t *buf[2],
		      uint8_t *env, uint64_t i)
{
	struct capture_job *j = p->j;
	const struct crypto_keys *keys = repo_keys(j->repo);
	size_t n = i + 1 < j->out.count ? 2 : 1, len[2];
	int need[2] = { 0, 0 }, r = 0;

	for (size_t k = 0; k < n; k++) {
		len[k] = (size_t)MIN((uint64_t)p->cs, j->src->size - (i + k) * p->cs);
		need[k] = chunk_prepare(p, buf[k], i + k);
		if (need[k] < 0)
			return need[k];
	}
	if (need[0] && need[1] && len[0] == len[1])
		r = chunk_digest2(keys, buf[0], buf[1], len[0], j->out.digests[i], j->out.digests[i + 1]);
	else
		for (size_t k = 0; k < n && r >= 0; k++)
			if (need[k])
				r = chunk_digest(keys, buf[k], len[k], j->out.digests[i + k]);
	for (size_t k = 0; k < n && r >= 0; k++)
		if (need[k])
			r = chunk_store(p, ctx, w, buf[k], env, i + k);
	return r;
}

static void *worker(void *arg)
{
	struct pool *p = arg;
	struct chunk_ctx *ctx = NULL;
	struct dedup_scratch w = { 0 };
	uint8_t *buf[2] = { malloc(p->cs), malloc(p->cs) }, *env = NULL;
	char *msg = NULL;
	/* aligned: repo_chunk_put writes it past the page cache */
	int r = posix_memalign((void **)&env, REPO_IO_ALIGN, chunk_encode_bound(p->cs)) == 0 ? 0 : -ENOMEM;

	if (r >= 0)
		r = chunk_ctx_new(repo_level(p->j->repo), &ctx);
	if (r >= 0 && p->j->dedup)
		r = capture_dedup_scratch_init(&w, p->cs);
	if (!buf[0] || !buf[1])
		r = -ENOMEM;
	while (r >= 0) {
		/* two chunks at a time (two_chunks()) */
		uint64_t i = __atomic_fetch_add(&p->next, 2, __ATOMIC_RELAXED);
		if (i >= p->j->out.count || __atomic_load_n(&p->err, __ATOMIC_RELAXED))
			break;
		r = two_chunks(p, ctx, &w, buf, env, i);
		__atomic_add_fetch(&p->done, MIN((uint64_t)2 * p->cs, p->j->src->size - i * p->cs), __ATOMIC_RELAXED);
		test_kill_point(MIN((uint64_t)2 * p->cs, p->j->src->size - i * p->cs));
	}
	free(buf[0]);
	free(buf[1]);
	free(env);
	chunk_ctx_free(ctx);
	capture_dedup_scratch_free(&w);
	pthread_mutex_lock(&p->lock);
	if (r < 0 && !p->err) {
		/* carry the detail over to the thread that reports */
		msg = strdup(sr_errmsg(r));
		__atomic_store_n(&p->err, r, __ATOMIC_RELAXED);
	}
	if (--p->running == 0 || r < 0)
		pthread_cond_signal(&p->finished);
	pthread_mutex_unlock(&p->lock);
	return msg;
}

static int cmp_comp(const void *a, const void *b)
{
	const struct comp_rec *x = a, *y = b;
	return x->slot < y->slot ? -1 : x->slot > y->slot;
}

/* The composite slots into the index (§5 version 2), sorted by slot. */
static int comps_finish(struct pool *p)
{
	struct repo_index *x = &p->j->out;
	size_t total = 0, at = 0;

	if (p->comps.n == 0)
		return 0;
	qsort(p->comps.v, p->comps.n, sizeof(*p->comps.v), cmp_comp);
	for (size_t k = 0; k < p->comps.n; k++)
		total += p->comps.v[k].n;
	x->comps = calloc(p->comps.n, sizeof(*x->comps));
	x->refs = malloc(total * CRYPTO_DIGEST_SIZE);
	if (!x->comps || !x->refs)
		return -ENOMEM;
	for (size_t k = 0; k < p->comps.n; k++) {
		x->comps[k] = (struct repo_index_comp){ .slot = p->comps.v[k].slot, .first = at, .n = p->comps.v[k].n };
		memcpy(x->refs[at], p->comps.v[k].refs, p->comps.v[k].n * CRYPTO_DIGEST_SIZE);
		at += p->comps.v[k].n;
	}
	x->n_comps = p->comps.n;
	x->n_refs = total;
	return 0;
}

int capture_run(struct capture_job *j, unsigned threads, const char *label)
{
	struct pool p = { .j = j, .cs = repo_chunk_size(j->repo) };
	pthread_t tids[64];
	unsigned started = 0;
	char *msg = NULL;
	struct progress pr;
	const char *e = getenv("SHADOWREV_TEST_KILL_AFTER_BYTES");
	int r = 0;

	if (e)
		test_kill_after = strtoull(e, NULL, 10);
	j->out = (struct repo_index){ .chunk_size = p.cs, .keyed = repo_is_encrypted(j->repo), .size = j->src->size };
	j->out.count = j->src->size / p.cs + (j->src->size % p.cs != 0);
	j->out.digests = calloc(j->out.count ? j->out.count : 1, CRYPTO_DIGEST_SIZE);
	if (!j->out.digests)
		return -ENOMEM;
	if (j->prev && (j->prev->chunk_size != p.cs || j->prev->size != j->src->size))
		j->prev = NULL;
	j->st.size = j->src->size;
	if (j->dedup && (r = capture_dedup_add_src(j->dedup, j->src, j->read, &p.srcno)) < 0) {
		repo_index_free(&j->out);
		return r;
	}
	pthread_mutex_init(&p.lock, NULL);
	pthread_cond_init(&p.finished, NULL);
	threads = MAX(1u, MIN(threads, (unsigned)ARRAY_SIZE(tids)));
	pthread_mutex_lock(&p.lock);
	for (; started < threads; started++)
		if (pthread_create(&tids[started], NULL, worker, &p) != 0)
			break;
	p.running = started;
	if (started == 0)
		r = -EAGAIN;
	progress_begin(&pr, label, j->src->size);
	/* woken when the workers are done (no polling delay at the end), else every 100 ms for the meter */
	while (r >= 0 && p.running > 0 && !p.err) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 100000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&p.finished, &p.lock, &until);
		progress_update(&pr, __atomic_load_n(&p.done, __ATOMIC_RELAXED));
	}
	pthread_mutex_unlock(&p.lock);
	for (unsigned t = 0; t < started; t++) {
		void *m = NULL;
		pthread_join(tids[t], &m);
		if (m && !msg)
			msg = m;
		else
			free(m);
	}
	progress_update(&pr, __atomic_load_n(&p.done, __ATOMIC_RELAXED));
	progress_end(&pr);
	pthread_cond_destroy(&p.finished);
	pthread_mutex_destroy(&p.lock);
	if (r >= 0 && p.err)
		r = sr_fail(p.err, "%s", msg ? msg : strerror(-p.err));
	free(msg);
	if (r >= 0)
		r = comps_finish(&p);
	for (size_t k = 0; k < p.comps.n; k++)
		free(p.comps.v[k].refs);
	free(p.comps.v);
	if (r < 0) {
		repo_index_free(&j->out);
		return r;
	}
	return 0;
}

/* metadata documents */

static const char *find_ci(const char *h, const char *n)
{
	return strcasestr(h, n);
}

/* The GUID in the attribute value after pos ("= '{...}'" or "=\"...\""). */
static bool guid_after(const char *pos, struct sr_guid *ret)
{
	const char *q = strpbrk(pos, "'\"");
	char tmp[40];
	size_t l;

	if (!q || q - pos > 4)
		return false;
	q++;
	if (*q == '{')
		q++;
	l = strspn(q, "0123456789abcdefABCDEF-");
	if (l != 36)
		return false;
	memcpy(tmp, q, 36);
	tmp[36] = 0;
	return guid_parse(tmp, ret) >= 0;
}

void capture_meta_scan(const void *buf, size_t len, struct capture_meta *m)
{
	_cleanup_free_ char *t = malloc(len + 1);
	const uint8_t *b = buf;
	size_t o = 0, zeros = 0;
	const char *p;

	if (!t)
		return;
	/* UTF-16LE (with or without BOM) to ASCII: every other byte is zero in these documents */
	for (size_t i = 1; i < len; i += 2)
		zeros += b[i] == 0;
	for (size_t i = 0; i < len; i++) {
		if (zeros > len / 4 && b[i] == 0)
			continue;
		t[o++] = b[i] ? (char)b[i] : ' ';
	}
	t[o] = 0;
	if (find_ci(t, "WRITER_COMPONENTS") || find_ci(t, "<Writers Count = '") || find_ci(t, "<Writers "))
		m->writers = true;
	if (!m->has_set) {
		if ((p = find_ci(t, "snapshotSetId")) && guid_after(p + 13, &m->set_id))
			m->has_set = true;
		else if ((p = find_ci(t, "<ShadowCopySet")) && (p = find_ci(p, "GUID")) && guid_after(p + 4, &m->set_id))
			m->has_set = true;
	}
	/* diskshadow Manifest.xml: <ShadowCopy GUID = '{id}' ... OriginalVolume = 'C:\' > */
	for (p = t; (p = find_ci(p, "<ShadowCopy ")) && m->n < ARRAY_SIZE(m->shadows); p++) {
		const char *end = strchr(p, '>'), *g = find_ci(p, "GUID"), *ov = find_ci(p, "OriginalVolume");
		struct sr_guid id;
		if (!end || !g || g > end || !guid_after(g + 4, &id) || !ov || ov > end)
			continue;
		ov = strpbrk(ov, "'\"");
		if (!ov || ov > end || !((ov[1] >= 'A' && ov[1] <= 'Z') || (ov[1] >= 'a' && ov[1] <= 'z')) || ov[2] != ':')
			continue;
		snprintf(m->shadows[m->n].drive, sizeof(m->shadows[0].drive), "%c:", ov[1] & ~0x20);
		m->shadows[m->n++].id = id;
	}
}
