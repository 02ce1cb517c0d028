/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Sources over captured volumes and disks: fixed index + chunk store + a cache of decoded chunks, read ahead. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "buf.h"
#include "hashmap.h"
#include "io.h"
#include "log.h"
#include "macro.h"
#include "repo-internal.h"
#include "repo.h"

/*
 * Decoded chunks are cached per source (about CACHE_BYTES of them, least
 * recently used evicted, chunks only ever read in large pieces first), each
 * decoded once even when several threads want it at the same time: the first
 * marks its slot loading and the others wait for it. Readers copy out of a
 * slot without the lock (a pin keeps it from being evicted meanwhile). A read
 * that covers a whole chunk that is not cached is decoded straight into the
 * caller's buffer and not kept. Decoding contexts (zstd) are pooled.
 *
 * Readahead: readers are told apart as streams (several threads may each read
 * their own part of a volume). Once a stream reads on sequentially, the next
 * DECODE_AHEAD chunks are decoded by the source's own threads (started on
 * first use, one per CPU, at most DECODERS_MAX) into cache slots while the
 * reader consumes the current one, and the chunk files up to READ_AHEAD chunks
 * ahead are handed to the kernel's readahead (POSIX_FADV_WILLNEED). Decoding
 * ahead takes only empty or bulk slots, at most a quarter of them, so that
 * what readers come back to (MFT records, folders) stays cached. A reader that
 * wants a chunk still waiting in that queue decodes it itself. A chunk decoded
 * ahead that fails is dropped: the reader that wants it decodes it again and
 * gets the error, with its detail.
 */
#define CACHE_BYTES (128u << 20)
#define CACHE_MIN_SLOTS 8
#define STREAMS 16
#define DECODE_AHEAD 32
#define READ_AHEAD 64
#define DECODERS_MAX 4
#define KQ_MAX (STREAMS * DECODE_AHEAD)

/*
 * Keeping (repo_src_keep(), for mount): every chunk decoded is also kept, at
 * its own offset, in a memfd the size of the volume: a sparse decoded copy of
 * it that grows as it is read, up to the bytes the shared struct repo_keep
 * allows (nothing kept is ever dropped: the copy may be handed to the kernel).
 * Chunks kept are copied out of it (src_pread) or mapped as extents of it
 * (src_map: spliced, one copy); chunks never stored are its holes; once every
 * stored chunk is there, src_map() gives the whole volume as one extent of the
 * memfd (kernel passthrough). Decoding ahead goes straight to it, not through
 * the slots. When there is no room left (or no memory: the memfd cannot grow),
 * chunks go through the slots as without keeping. The budget counts chunks
 * reserved for decoding too.
 */
enum { K_ABSENT, K_QUEUED, K_LOADING, K_PRESENT };

struct repo_keep {
	uint64_t used; /* atomic */
	uint64_t max;
};

enum { SLOT_EMPTY, SLOT_LOADING, SLOT_READY };

struct slot {
	uint64_t idx;
	uint64_t used;
	uint64_t seq;  /* queued: its place in the decoders' queue */
	uint8_t *data; /* chunk_size bytes, kept when the slot is reused */
	unsigned pins; /* readers copying out of it */
	int state;
	bool bulk;   /* only read in large pieces so far */
	bool queued; /* SLOT_LOADING, waiting for a decoder */
	bool ahead;  /* decoded ahead and not read yet */
};

/* A sequential reader, as readahead sees it. */
struct stream {
	uint64_t next;     /* the chunk it should want next */
	uint64_t queued;   /* chunks below this one were queued for decoding */
	uint64_t fadvised; /* chunk files below this one were handed to the kernel */
	uint64_t used;
};

struct vsrc {
	struct repo repo; /* a private copy: the source outlives the caller's struct repo */
	struct repo_index x;
	pthread_mutex_t lock;
	pthread_cond_t loaded; /* a slot left SLOT_LOADING */
	pthread_cond_t work;   /* a slot was queued, or stop */
	struct slot *cache;
	size_t n_slots;
	uint64_t tick, seq;
	struct chunk_ctx **ctxs; /* idle decoding contexts */
	size_t n_ctxs, cap_ctxs;
	struct stream streams[STREAMS];
	uint64_t stream_tick;
	pthread_t decoders[DECODERS_MAX];
	unsigned n_decoders;
	bool started, stop;
	char *label;
	/* keeping, see above (NULL keep: off) */
	struct repo_keep *keep;
	int kfd;
	uint8_t *kst;       /* per chunk: K_* */
	uint64_t k_missing; /* stored chunks not K_PRESENT */
	uint64_t k_missing_bytes;
	uint64_t kq[KQ_MAX]; /* chunks K_QUEUED to decode ahead, oldest first */
	size_t kq_head, kq_n;
	struct u64map by_id; /* a stored chunk's first 8 bytes of ID -> its first index (keeping; cap 0: none) */
};

static void vsrc_free(struct vsrc *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->n_decoders; i++)
		pthread_join(p->decoders[i], NULL);
	for (size_t i = 0; i < p->n_slots; i++)
		free(p->cache[i].data);
	free(p->cache);
	for (size_t i = 0; i < p->n_ctxs; i++)
		chunk_ctx_free(p->ctxs[i]);
	free(p->ctxs);
	if (p->keep)
		close(p->kfd);
	free(p->kst);
	u64map_free(&p->by_id);
	repo_index_free(&p->x);
	crypto_wipe(&p->repo.keys, sizeof(p->repo.keys));
	free(p->repo.dir);
	free(p->label);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->loaded);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

/* An idle decoding context, or NULL (repo_chunk_load() then makes its own). */
static struct chunk_ctx *ctx_get(struct vsrc *p)
{
	struct chunk_ctx *c = NULL;

	pthread_mutex_lock(&p->lock);
	if (p->n_ctxs > 0)
		c = p->ctxs[--p->n_ctxs];
	pthread_mutex_unlock(&p->lock);
	if (!c && chunk_ctx_new(0, &c) < 0)
		c = NULL;
	return c;
}

static void ctx_put(struct vsrc *p, struct chunk_ctx *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&p->lock);
	if (vec_grow_((void **)&p->ctxs, &p->cap_ctxs, p->n_ctxs + 1, sizeof(*p->ctxs)) < 0) {
		pthread_mutex_unlock(&p->lock);
		chunk_ctx_free(c);
		return;
	}
	p->ctxs[p->n_ctxs++] = c;
	pthread_mutex_unlock(&p->lock);
}

static size_t chunk_len(const struct vsrc *p, uint64_t i)
{
	return (size_t)MIN((uint64_t)p->x.chunk_size, p->x.size - i * p->x.chunk_size);
}

static int kept_ref(void *userdata, const uint8_t id[CRYPTO_DIGEST_SIZE], uint64_t off, size_t len, void *dst);

/* The reader for the chunks composites reference: from the kept copy where they are there (keeping). */
static chunk_ref_fn ref_reader(const struct vsrc *p)
{
	return p->by_id.cap ? kept_ref : NULL;
}

/* Decode chunk i into out (chunk_len() bytes); a failure names the bytes it covers. */
static int vsrc_load(struct vsrc *p, uint64_t i, uint8_t *out)
{
	struct chunk_ctx *c = ctx_get(p);
	uint64_t start = i * p->x.chunk_size;
	size_t clen = chunk_len(p, i), n = 0;
	int r;

	r = repo_chunk_load_via(&p->repo, c, p->x.digests[i], out, clen, &n, ref_reader(p), p);
	ctx_put(p, c);
	if (r >= 0 && n != clen)
		r = sr_fail(-EBADMSG, "chunk has %zu bytes, the index wants %zu", n, clen);
	if (r < 0)
		return sr_fail(r, "%s: bytes %llu-%llu (chunk %llu): %s", p->label, (unsigned long long)start,
			       (unsigned long long)(start + clen - 1), (unsigned long long)i, sr_errmsg(r));
	return 0;
}

/*
 * Whole chunks i and j into a and b at once, their IDs checked in one SHA-256
 * pass (decoders): each result in *ret_i, *ret_j, without the detail vsrc_load
 * gives (a reader that wants a chunk that failed decodes it again, and says why).
 */
static void vsrc_load2(struct vsrc *p, uint64_t i, uint64_t j, uint8_t *a, uint8_t *b, int *ret_i, int *ret_j)
{
	struct chunk_ctx *c = ctx_get(p);

	repo_chunk_load2(&p->repo, c, p->x.digests[i], p->x.digests[j], a, b, p->x.chunk_size, ret_i, ret_j,
			 ref_reader(p), p);
	ctx_put(p, c);
}

static struct slot *slot_find(struct vsrc *p, uint64_t idx)
{
	for (size_t k = 0; k < p->n_slots; k++)
		if (p->cache[k].state != SLOT_EMPTY && p->cache[k].idx == idx)
			return &p->cache[k];
	return NULL;
}

/*
 * The slot to reuse: an empty one, else the least recently used one nobody is
 * reading or loading, taken among the bulk ones while there are enough of them.
 * For decoding ahead (ahead): only an empty or a bulk one, never one decoded
 * ahead and not read yet, and none once a quarter of the slots are ahead (what
 * readers come back to stays). NULL if there is none.
 */
static struct slot *slot_victim(struct vsrc *p, bool ahead)
{
	struct slot *v = NULL, *vb = NULL, *empty = NULL;
	size_t n_bulk = 0, n_ahead = 0;

	for (size_t k = 0; k < p->n_slots; k++) {
		struct slot *s = &p->cache[k];
		if (s->ahead)
			n_ahead++;
		if (s->state == SLOT_EMPTY) {
			if (!empty)
				empty = s;
			continue;
		}
		if (s->state != SLOT_READY || s->pins > 0 || s->ahead)
			continue;
		if (!v || s->used < v->used)
			v = s;
		if (s->bulk) {
			n_bulk++;
			if (!vb || s->used < vb->used)
				vb = s;
		}
	}
	if (ahead)
		return n_ahead >= p->n_slots / 4 ? NULL : empty ? empty : vb;
	if (empty)
		return empty;
	/* slots decoded ahead and not read yet go last */
	if (!v)
		for (size_t k = 0; k < p->n_slots; k++) {
			struct slot *s = &p->cache[k];
			if (s->state == SLOT_READY && s->pins == 0 && (!v || s->used < v->used))
				v = s;
		}
	return n_bulk >= p->n_slots / 4 ? vb : v;
}

/* Under the lock: make s SLOT_LOADING for chunk i (its buffer allocated). false if there is no memory. */
static bool slot_take(struct vsrc *p, struct slot *s, uint64_t i, bool bulk)
{
	if (!s->data) {
		s->data = malloc(p->x.chunk_size);
		if (!s->data)
			return false;
	}
	s->state = SLOT_LOADING;
	s->idx = i;
	s->bulk = bulk;
	s->queued = s->ahead = false;
	s->used = ++p->tick;
	return true;
}

/* Under the lock, after decoding into s (r: the result): publish it, or drop it. */
static void slot_done(struct vsrc *p, struct slot *s, int r)
{
	s->state = r < 0 ? SLOT_EMPTY : SLOT_READY;
	s->ahead = s->ahead && r >= 0;
	pthread_cond_broadcast(&p->loaded);
}

static bool keep_reserve(struct repo_keep *k, uint64_t n)
{
	uint64_t cur = __atomic_load_n(&k->used, __ATOMIC_RELAXED), max = __atomic_load_n(&k->max, __ATOMIC_RELAXED);

	do {
		if (n > max || cur > max - n)
			return false;
	} while (!__atomic_compare_exchange_n(&k->used, &cur, cur + n, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	return true;
}

/*
 * Each thread decodes chunks to keep in a buffer of its own, then writes them
 * to the memfd: filling its pages with write() took half the kernel time of
 * mapping them (MADV_POPULATE_WRITE) and decoding into the mapping (0.73
 * against 1.45 s for 2.4 GB in 4 KiB pages).
 */
static struct thread_buf kbuf = THREAD_BUF_INIT;

/* Write chunk i (decoded into b) to its place in the memfd. -ENOSPC: no memory to keep it (nor any more). */
static int kept_put(struct vsrc *p, uint64_t i, const uint8_t *b)
{
	uint64_t at = i * p->x.chunk_size;
	size_t clen = chunk_len(p, i);
	int r;

	r = pwrite_full(p->kfd, b, clen, at);
	if (r < 0) {
		/* back to a hole: nothing of a chunk that could not be kept stays */
		(void)fallocate(p->kfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)at, (off_t)clen);
		sr_debug("%s: cannot keep more decoded chunks: %s", p->label, strerror(-r));
		__atomic_store_n(&p->keep->max, 0, __ATOMIC_RELAXED);
		return -ENOSPC;
	}
	return 0;
}

/* Decode chunk i into its place in the memfd (reserved, K_LOADING, outside the lock). */
static int kept_load(struct vsrc *p, uint64_t i)
{
	uint8_t *b = thread_buf_get(&kbuf, p->x.chunk_size);
	int r;

	if (!b)
		return -ENOMEM;
	r = vsrc_load(p, i, b);
	return r < 0 ? r : kept_put(p, i, b);
}

/* Two whole chunks (reserved, K_LOADING) at once, their IDs checked with two SHA-256 streams (decoders). */
static void kept_load2(struct vsrc *p, uint64_t i, uint64_t j, int *ret_i, int *ret_j)
{
	size_t cs = p->x.chunk_size;
	uint8_t *b = thread_buf_get(&kbuf, 2 * cs);

	if (!b) {
		*ret_i = *ret_j = -ENOMEM;
		return;
	}
	vsrc_load2(p, i, j, b, b + cs, ret_i, ret_j);
	if (*ret_i >= 0)
		*ret_i = kept_put(p, i, b);
	if (*ret_j >= 0)
		*ret_j = kept_put(p, j, b + cs);
}

#define KQ_NONE UINT64_MAX

/* Under the lock: the oldest chunk still waiting in the decoders' queue for keeping, or KQ_NONE. */
static uint64_t kq_pop(struct vsrc *p)
{
	while (p->kq_n > 0) {
		uint64_t i = p->kq[p->kq_head];
		p->kq_head = (p->kq_head + 1) % KQ_MAX;
		p->kq_n--;
		if (p->kst[i] == K_QUEUED)
			return i; /* else a reader took it */
	}
	return KQ_NONE;
}

/* Under the lock, after kept_load(i) gave r. */
static void kept_done(struct vsrc *p, uint64_t i, int r)
{
	size_t clen = chunk_len(p, i);

	if (r < 0) {
		p->kst[i] = K_ABSENT;
		__atomic_fetch_sub(&p->keep->used, (uint64_t)clen, __ATOMIC_RELAXED);
	} else {
		p->kst[i] = K_PRESENT;
		p->k_missing--;
		p->k_missing_bytes -= clen;
	}
	pthread_cond_broadcast(&p->loaded);
}

/*
 * A composite's reference to a chunk of this volume that is kept: read from
 * the kept copy (checked against its ID when it was kept; the composite's ID
 * covers the result too) instead of reading and decoding that chunk again.
 * -ENOENT: not here, the chunk is read as usual. Called outside the lock.
 */
static int kept_ref(void *userdata, const uint8_t id[CRYPTO_DIGEST_SIZE], uint64_t off, size_t len, void *dst)
{
	struct vsrc *p = userdata;
	uint64_t key;
	uint32_t k;
	bool present;

	memcpy(&key, id, sizeof(key));
	if (!u64map_get(&p->by_id, key, &k) || memcmp(p->x.digests[k], id, CRYPTO_DIGEST_SIZE) != 0)
		return -ENOENT;
	if (off > chunk_len(p, k) || len > chunk_len(p, k) - off)
		return -ENOENT; /* read as usual, and said to lie outside it */
	pthread_mutex_lock(&p->lock);
	present = p->kst[k] == K_PRESENT;
	pthread_mutex_unlock(&p->lock);
	if (!present || pread_full(p->kfd, dst, len, (uint64_t)k * p->x.chunk_size + off) < 0)
		return -ENOENT;
	return 0;
}

static void *decoder(void *userdata)
{
	struct vsrc *p = userdata;

	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		struct slot *s = NULL;
		int r;
		if (p->kq_n > 0) {
			/* two whole chunks at a time when there are: one SHA-256 pass for both */
			uint64_t i = kq_pop(p), j;
			int rj = 0;
			if (i == KQ_NONE)
				continue;
			p->kst[i] = K_LOADING;
			j = chunk_len(p, i) == p->x.chunk_size ? kq_pop(p) : KQ_NONE;
			if (j != KQ_NONE)
				p->kst[j] = K_LOADING;
			pthread_mutex_unlock(&p->lock);
			if (j != KQ_NONE && chunk_len(p, j) == p->x.chunk_size) {
				kept_load2(p, i, j, &r, &rj);
			} else {
				r = kept_load(p, i);
				if (j != KQ_NONE)
					rj = kept_load(p, j);
			}
			if (r < 0 || rj < 0)
				sr_errclear(); /* the reader that wants it decodes it again, and says why */
			pthread_mutex_lock(&p->lock);
			kept_done(p, i, r);
			if (j != KQ_NONE)
				kept_done(p, j, rj);
			continue;
		}
		struct slot *s2 = NULL;
		int r2 = 0;
		for (size_t k = 0; k < p->n_slots; k++)
			if (p->cache[k].queued && (!s || p->cache[k].seq < s->seq))
				s = &p->cache[k];
		if (!s) {
			pthread_cond_wait(&p->work, &p->lock);
			continue;
		}
		s->queued = false;
		/* and the next one, if both are whole chunks: their IDs checked in one SHA-256 pass */
		if (chunk_len(p, s->idx) == p->x.chunk_size) {
			for (size_t k = 0; k < p->n_slots; k++)
				if (p->cache[k].queued && (!s2 || p->cache[k].seq < s2->seq))
					s2 = &p->cache[k];
			if (s2 && chunk_len(p, s2->idx) == p->x.chunk_size)
				s2->queued = false;
			else
				s2 = NULL;
		}
		pthread_mutex_unlock(&p->lock);
		if (s2)
			vsrc_load2(p, s->idx, s2->idx, s->data, s2->data, &r, &r2);
		else
			r = vsrc_load(p, s->idx, s->data);
		if (r < 0 || r2 < 0)
			sr_errclear(); /* the reader that wants it decodes it again, and says why */
		pthread_mutex_lock(&p->lock);
		slot_done(p, s, r);
		if (s2)
			slot_done(p, s2, r2);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* Under the lock: start the decoders, once. false if there are none. */
static bool decoders_start(struct vsrc *p)
{
	long n;

	if (p->started)
		return p->n_decoders > 0;
	p->started = true;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	n = MIN(MAX(n, 1L), (long)DECODERS_MAX);
	for (long k = 0; k < n; k++) {
		if (pthread_create(&p->decoders[p->n_decoders], NULL, decoder, p) != 0)
			break;
		p->n_decoders++;
	}
	return p->n_decoders > 0;
}

/*
 * Under the lock, as chunk i is read: the stream it continues (or a new one);
 * queue the chunks to decode ahead, and say which chunk files to hand to the
 * kernel ([*from, *to), empty if none; outside the lock, with prefetch()).
 */
static void read_ahead(struct vsrc *p, uint64_t i, uint64_t *from, uint64_t *to)
{
	struct stream *st = NULL, *lru = &p->streams[0];
	uint64_t end;
	bool queued = false;

	*from = *to = 0;
	for (size_t k = 0; k < STREAMS; k++) {
		struct stream *x = &p->streams[k];
		if (x->used && i + 1 >= x->next && i <= x->next + DECODE_AHEAD) {
			st = x;
			break;
		}
		if (x->used < lru->used)
			lru = x;
	}
	if (!st) {
		*lru = (struct stream){ .next = i + 1, .queued = i + 1, .fadvised = i + 1, .used = ++p->stream_tick };
		return;
	}
	st->used = ++p->stream_tick;
	if (i + 1 <= st->next)
		return; /* the same chunk again */
	st->next = i + 1;

	end = MIN(i + 1 + DECODE_AHEAD, p->x.count);
	for (uint64_t j = MAX(st->queued, i + 1); j < end; j++) {
		struct slot *s;
		st->queued = j + 1;
		if (chunk_digest_is_zero(p->x.digests[j]))
			continue;
		if (p->keep && p->kst[j] != K_ABSENT)
			continue;
		if (p->keep && p->kq_n == KQ_MAX) {
			st->queued = j; /* the queue is full (of chunks readers took, mostly): this one later */
			break;
		}
		if (p->keep && decoders_start(p) && keep_reserve(p->keep, chunk_len(p, j))) {
			p->kst[j] = K_QUEUED;
			p->kq[(p->kq_head + p->kq_n++) % KQ_MAX] = j;
			queued = true;
			continue;
		}
		/* not kept (no room): decoded ahead into a slot */
		if (slot_find(p, j))
			continue;
		if (!decoders_start(p) || !(s = slot_victim(p, true)) || !slot_take(p, s, j, true))
			break;
		s->queued = s->ahead = true;
		s->seq = ++p->seq;
		queued = true;
	}
	if (queued)
		pthread_cond_broadcast(&p->work);

	*from = MAX(st->fadvised, end);
	*to = MIN(i + 1 + READ_AHEAD, p->x.count);
	if (*from >= *to)
		*from = *to = 0;
	else
		st->fadvised = *to;
}

/* Let the kernel read the chunk files of [from, to) ahead (called without the lock). */
static void prefetch(struct vsrc *p, uint64_t from, uint64_t to)
{
	char path[PATH_MAX];

	for (uint64_t i = from; i < to; i++) {
		int fd;
		if (chunk_digest_is_zero(p->x.digests[i]))
			continue;
		repo_chunk_path(&p->repo, p->x.digests[i], path, sizeof(path));
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		(void)posix_fadvise(fd, 0, 0, POSIX_FADV_WILLNEED);
		close(fd);
	}
}

/*
 * Under the lock, as chunk i (stored) of a keeping source is read: make it
 * kept, decoding it here or waiting for whoever does. 1: it is (the lock
 * dropped); < 0: decoding it failed (the lock dropped); 0: there is no room to
 * keep it (the lock still held: read it through the slots).
 */
static int kept_get(struct vsrc *p, uint64_t i)
{
	uint64_t pf_from, pf_to;
	int r;

	for (;;) {
		if (p->kst[i] == K_LOADING) {
			pthread_cond_wait(&p->loaded, &p->lock);
			continue;
		}
		if (p->kst[i] == K_PRESENT) {
			read_ahead(p, i, &pf_from, &pf_to);
			pthread_mutex_unlock(&p->lock);
			prefetch(p, pf_from, pf_to);
			return 1;
		}
		if (p->kst[i] == K_ABSENT && !keep_reserve(p->keep, chunk_len(p, i)))
			return 0;
		break; /* K_QUEUED (reserved already, still waiting for a decoder: decoded here, now) or reserved */
	}
	p->kst[i] = K_LOADING;
	read_ahead(p, i, &pf_from, &pf_to);
	pthread_mutex_unlock(&p->lock);
	prefetch(p, pf_from, pf_to);
	r = kept_load(p, i);
	pthread_mutex_lock(&p->lock);
	kept_done(p, i, r);
	if (r == -ENOSPC)
		return 0; /* no memory to keep it: through the slots */
	pthread_mutex_unlock(&p->lock);
	return r < 0 ? r : 1;
}

/* Copy out of s (pinned, SLOT_READY), then unpin it; takes and drops the lock. */
static void slot_copy(struct vsrc *p, struct slot *s, uint8_t *out, size_t off, size_t len)
{
	memcpy(out, s->data + off, len);
	pthread_mutex_lock(&p->lock);
	s->pins--;
	pthread_mutex_unlock(&p->lock);
}

static int vsrc_read_chunk(struct vsrc *p, uint64_t i, uint8_t *out, size_t off, size_t len)
{
	size_t clen = chunk_len(p, i);
	bool bulk = len >= p->x.chunk_size / 8;
	uint64_t pf_from, pf_to;
	struct slot *s;
	int r;

	if (chunk_digest_is_zero(p->x.digests[i])) {
		memset(out, 0, len);
		return 0;
	}
	/* read_ahead() only once this read holds its slot, which it then cannot take */
	pthread_mutex_lock(&p->lock);
	if (p->keep) {
		r = kept_get(p, i);
		if (r < 0)
			return r;
		if (r > 0)
			return pread_full(p->kfd, out, len, i * p->x.chunk_size + off);
	}
	while ((s = slot_find(p, i)) && s->state == SLOT_LOADING) {
		if (s->queued) {
			/* still waiting for a decoder: decode it here, now */
			s->queued = false;
			s->ahead = false;
			s->bulk = bulk;
			goto load;
		}
		pthread_cond_wait(&p->loaded, &p->lock);
	}
	if (s) {
		s->pins++;
		s->used = ++p->tick;
		s->ahead = false;
		if (!bulk)
			s->bulk = false;
		read_ahead(p, i, &pf_from, &pf_to);
		pthread_mutex_unlock(&p->lock);
		prefetch(p, pf_from, pf_to);
		slot_copy(p, s, out, off, len);
		return 0;
	}
	if (off == 0 && len == clen) {
		/* the whole chunk: decoded in place, not kept */
		read_ahead(p, i, &pf_from, &pf_to);
		pthread_mutex_unlock(&p->lock);
		prefetch(p, pf_from, pf_to);
		return vsrc_load(p, i, out);
	}
	s = slot_victim(p, false);
	if (!s || !slot_take(p, s, i, bulk)) {
		/* every slot busy (or no memory for one): decode for this read alone */
		_cleanup_free_ uint8_t *tmp = NULL;
		read_ahead(p, i, &pf_from, &pf_to);
		pthread_mutex_unlock(&p->lock);
		prefetch(p, pf_from, pf_to);
		tmp = malloc(clen);
		if (!tmp)
			return -ENOMEM;
		r = vsrc_load(p, i, tmp);
		if (r >= 0)
			memcpy(out, tmp + off, len);
		return r;
	}
load:
	read_ahead(p, i, &pf_from, &pf_to);
	pthread_mutex_unlock(&p->lock);
	prefetch(p, pf_from, pf_to);
	r = vsrc_load(p, i, s->data);
	pthread_mutex_lock(&p->lock);
	/* on failure the waiters find no slot and try themselves: each gets its own error detail */
	slot_done(p, s, r);
	if (r < 0) {
		pthread_mutex_unlock(&p->lock);
		return r;
	}
	s->pins++;
	pthread_mutex_unlock(&p->lock);
	slot_copy(p, s, out, off, len);
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

/* Runs of chunks never stored (all zeros) are SRC_EXTENT_ZERO, the others SRC_EXTENT_READ. */
static int vsrc_map(struct src *s, uint64_t off, size_t len, struct src_extent *ret)
{
	struct vsrc *p = s->priv;
	uint64_t cs = p->x.chunk_size, end = off + len, pos = (off / cs + 1) * cs;
	bool zero = chunk_digest_is_zero(p->x.digests[off / cs]);

	if (p->keep) {
		/* kept: extents of the memfd, holes where nothing was stored; all of it once every chunk is there */
		int r;
		pthread_mutex_lock(&p->lock);
		if (p->k_missing == 0) {
			pthread_mutex_unlock(&p->lock);
			*ret = (struct src_extent){ .kind = SRC_EXTENT_FD, .fd = p->kfd, .fd_off = off, .len = len };
			return 0;
		}
		if (!zero) {
			r = kept_get(p, off / cs);
			if (r < 0)
				return r;
			if (r > 0) {
				pthread_mutex_lock(&p->lock);
				while (pos < end &&
				       (chunk_digest_is_zero(p->x.digests[pos / cs]) || p->kst[pos / cs] == K_PRESENT))
					pos += cs;
				pthread_mutex_unlock(&p->lock);
				*ret = (struct src_extent){ .kind = SRC_EXTENT_FD, .fd = p->kfd, .fd_off = off,
							    .len = (size_t)(MIN(pos, end) - off) };
				return 0;
			}
			/* no room: this chunk's bytes read through the slots (below) */
			end = MIN(end, pos);
		}
		pthread_mutex_unlock(&p->lock);
	}
	while (pos < end && chunk_digest_is_zero(p->x.digests[pos / cs]) == zero)
		pos += cs;
	*ret = (struct src_extent){ .kind = zero ? SRC_EXTENT_ZERO : SRC_EXTENT_READ, .fd = -1,
				    .len = (size_t)(MIN(pos, end) - off) };
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
	pthread_cond_init(&p->loaded, NULL);
	pthread_cond_init(&p->work, NULL);
	p->repo.dirfd = -1;
	p->kfd = -1;
	p->repo.cfg = r->cfg;
	p->repo.has_keys = r->has_keys;
	p->repo.keys = r->keys;
	/* absolute: a reader may change its working directory (restore files does) */
	p->repo.dir = realpath(r->dir, NULL);
	if (!p->repo.dir)
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
	p->n_slots = MAX((size_t)CACHE_MIN_SLOTS, (size_t)(CACHE_BYTES / p->x.chunk_size));
	p->cache = calloc(p->n_slots, sizeof(*p->cache));
	if (!p->cache) {
		vsrc_free(p);
		return -ENOMEM;
	}
	e = src_new(&vsrc_ops, p->x.size, label, p, ret);
	if (e < 0) {
		vsrc_free(p);
		return e;
	}
	(*ret)->map = vsrc_map;
	return 0;
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
		e = sr_fail(-EBADMSG, "%s: the index covers %llu bytes, the manifest says %llu", label,
			    (unsigned long long)s->size, (unsigned long long)vol->size);
		src_unref(s);
		return e;
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

/* The source under off (a partition, else the disk's own index), the offset in it and how many bytes of len it has. */
static struct src *dsrc_at(const struct dsrc *p, uint64_t off, size_t len, uint64_t *ret_at, size_t *ret_n)
{
	for (size_t i = 0; i < p->n; i++) {
		uint64_t a = p->offs[i], b = a + p->parts[i]->size;
		if (off >= a && off < b) {
			*ret_at = off - a;
			*ret_n = (size_t)MIN((uint64_t)len, b - off);
			return p->parts[i];
		}
		if (a > off)
			len = (size_t)MIN((uint64_t)len, a - off);
	}
	*ret_at = off;
	*ret_n = len;
	return p->base;
}

static int dsrc_pread(struct src *s, void *buf, size_t len, uint64_t off)
{
	struct dsrc *p = s->priv;
	uint8_t *o = buf;

	while (len) {
		uint64_t at;
		size_t n;
		struct src *from = dsrc_at(p, off, len, &at, &n);
		int r = src_pread(from, o, n, at);
		if (r < 0)
			return r;
		o += n;
		off += n;
		len -= n;
	}
	return 0;
}

static int dsrc_map(struct src *s, uint64_t off, size_t len, struct src_extent *ret)
{
	uint64_t at;
	size_t n;
	struct src *from = dsrc_at(s->priv, off, len, &at, &n);

	return src_map(from, at, n, ret);
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
	if (p->base->size != m->disks[d].size) {
		e = sr_fail(-EBADMSG, "%s: the index covers %llu bytes, the manifest says %llu", label,
			    (unsigned long long)p->base->size, (unsigned long long)m->disks[d].size);
		goto fail;
	}
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
	if (e >= 0) {
		(*ret)->map = dsrc_map;
		return 0;
	}
fail:
	for (size_t i = 0; i < p->n; i++)
		src_unref(p->parts[i]);
	src_unref(p->base);
	free(p->parts);
	free(p->offs);
	free(p);
	return e;
}

/* keeping decoded chunks (see "Keeping" above) */

int repo_keep_new(uint64_t max_bytes, struct repo_keep **ret)
{
	struct repo_keep *k = calloc(1, sizeof(*k));

	if (!k)
		return -ENOMEM;
	k->max = max_bytes;
	*ret = k;
	return 0;
}

void repo_keep_free(struct repo_keep *k)
{
	free(k);
}

static int vsrc_keep(struct vsrc *p, struct repo_keep *k)
{
	_cleanup_close_ int fd = -1;
	uint64_t missing = 0, missing_bytes = 0;
	struct u64map by_id;
	bool map_ok = true;
	uint8_t *kst;

	if (p->keep || p->x.size == 0)
		return 0;
	fd = memfd_create("shadowrev-volume", MFD_CLOEXEC);
	if (fd < 0)
		return sr_fail(-errno, "%s: cannot make a memfd for its decoded chunks: %m", p->label);
	if (ftruncate(fd, (off_t)p->x.size) < 0)
		return -errno;
	kst = calloc((size_t)p->x.count, 1);
	if (!kst)
		return -ENOMEM;
	u64map_init(&by_id);
	for (uint64_t i = 0; i < p->x.count; i++) {
		uint64_t key;
		uint32_t first;
		if (chunk_digest_is_zero(p->x.digests[i]))
			continue;
		missing++;
		missing_bytes += chunk_len(p, i);
		/* for composites' references (kept_ref); without the map they are decoded again, as without keeping */
		memcpy(&key, p->x.digests[i], sizeof(key));
		if (map_ok && i <= UINT32_MAX && key < UINT64_MAX - 1 && !u64map_get(&by_id, key, &first) &&
		    u64map_put(&by_id, key, (uint32_t)i) < 0) {
			u64map_free(&by_id);
			map_ok = false;
		}
	}
	pthread_mutex_lock(&p->lock);
	p->kfd = TAKE_FD(fd);
	p->kst = kst;
	p->k_missing = missing;
	p->k_missing_bytes = missing_bytes;
	p->by_id = by_id;
	p->keep = k;
	pthread_mutex_unlock(&p->lock);
	return 0;
}

int repo_src_keep(struct src *s, struct repo_keep *k)
{
	if (s->ops == &dsrc_ops) {
		struct dsrc *d = s->priv;
		int e = repo_src_keep(d->base, k);
		for (size_t i = 0; e >= 0 && i < d->n; i++)
			e = repo_src_keep(d->parts[i], k);
		return e;
	}
	if (s->ops != &vsrc_ops)
		return -EINVAL;
	return vsrc_keep(s->priv, k);
}

/* The bytes of s's stored chunks not kept yet; -EINVAL if s does not keep. */
static int64_t src_missing(struct src *s)
{
	struct vsrc *p;
	int64_t n;

	if (s->ops == &dsrc_ops) {
		struct dsrc *d = s->priv;
		int64_t sum = src_missing(d->base);
		for (size_t i = 0; sum >= 0 && i < d->n; i++) {
			n = src_missing(d->parts[i]);
			sum = n < 0 ? n : sum + n;
		}
		return sum;
	}
	if (s->ops != &vsrc_ops)
		return -EINVAL;
	p = s->priv;
	pthread_mutex_lock(&p->lock);
	n = p->keep ? (int64_t)p->k_missing_bytes : (p->x.size == 0 ? 0 : -EINVAL);
	pthread_mutex_unlock(&p->lock);
	return n;
}

bool repo_src_kept_whole(struct src *s)
{
	return src_missing(s) == 0;
}

bool repo_src_keeps_all(struct src *s, const struct repo_keep *k)
{
	int64_t n = src_missing(s);

	uint64_t max = __atomic_load_n(&k->max, __ATOMIC_RELAXED);

	return n >= 0 && (uint64_t)n <= max - MIN(__atomic_load_n(&k->used, __ATOMIC_RELAXED), max);
}
