/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Piece dedup inside one capture (docs/FORMAT.md §4.1): a chunk about to be
 * stored is cut into content-defined pieces; pieces found among those of the
 * plain chunks this capture stored before (confirmed byte for byte, then
 * extended byte for byte as far as the referenced chunk allows) become
 * references, and the chunk is stored as a composite when that saves enough.
 *
 * The source may change while it is captured (a live file or device): a
 * match found by reading a referenced chunk's place again says nothing about
 * the bytes that chunk was stored with. Before a composite is stored, each
 * chunk it references is read whole once more and must have its ID (its
 * digest), which proves those bytes are the stored ones; every reference
 * must equal them, and the recipe as written must expand to the chunk's own
 * bytes (capture_dedup_check, capture_dedup_recipe_check).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "capture-internal.h"
#include "core/chunk.h"
#include "core/crc32.h"
#include "core/log.h"
#include "core/macro.h"

/* The gear table: fixed pseudo-random values (splitmix64 of the byte), so that cuts are the same in every run. */
static uint64_t gear[256];

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void gear_init(void)
{
	uint64_t x = 0x5348414457524556ull; /* "SHADWREV" */
	for (unsigned i = 0; i < 256; i++)
		gear[i] = splitmix64(&x);
}

/*
 * The end of the piece starting at p (n bytes left): the first place after PIECE_MIN bytes where the top
 * PIECE_BITS bits of the gear hash are zero (they depend on the last 64 bytes), at most PIECE_MAX bytes.
 * The bytes before PIECE_MIN - 64 cannot matter, so they are skipped.
 */
size_t capture_piece_cut(const uint8_t *p, size_t n)
{
	const uint64_t shift = 64 - PIECE_BITS;
	size_t i, end = MIN(n, (size_t)PIECE_MAX);
	uint64_t h = 0;

	if (n <= PIECE_MIN)
		return n;
	for (i = PIECE_MIN - 64; i < PIECE_MIN; i++)
		h = (h << 1) + gear[p[i]];
	for (; i < end; i++) {
		h = (h << 1) + gear[p[i]];
		if (!(h >> shift))
			return i + 1;
	}
	return end;
}

static inline uint64_t rd64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

/* A piece's lookup key material (a match is confirmed byte for byte): its CRC-32C; never 0, which marks a zero piece. */
static uint64_t piece_fp(const uint8_t *p, size_t n)
{
	return (uint64_t)crc32c(0, p, n) << 1 | 1;
}

static uint64_t piece_key(uint64_t fp, size_t len)
{
	uint64_t k = fp ^ ((uint64_t)len * 0xc2b2ae3d27d4eb4full);
	return k >= UINT64_MAX - 1 ? k - 2 : k; /* the map's reserved keys */
}

int capture_dedup_new(size_t max_pieces, struct capture_dedup **ret)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct capture_dedup *dd = calloc(1, sizeof(*dd));

	if (!dd)
		return -ENOMEM;
	pthread_once(&once, gear_init);
	pthread_mutex_init(&dd->lock, NULL);
	u64map_init(&dd->map);
	dd->max_pieces = max_pieces;
	*ret = dd;
	return 0;
}

void capture_dedup_free(struct capture_dedup *dd)
{
	if (!dd)
		return;
	u64map_free(&dd->map);
	free(dd->chunks.v);
	free(dd->pieces.v);
	free(dd->srcs.v);
	pthread_mutex_destroy(&dd->lock);
	free(dd);
}

int capture_dedup_add_src(struct capture_dedup *dd, struct src *s, const struct rmap *read, unsigned *ret)
{
	struct dedup_src x = { .src = s, .read = read };
	int r;

	pthread_mutex_lock(&dd->lock);
	r = vec_push(&dd->srcs, x);
	if (r >= 0)
		*ret = (unsigned)(dd->srcs.n - 1);
	pthread_mutex_unlock(&dd->lock);
	return r;
}

int capture_dedup_scratch_init(struct dedup_scratch *w, size_t cs)
{
	size_t n = cs / (PIECE_MIN > 0 ? PIECE_MIN : 1) + 2;

	memset(w, 0, sizeof(*w));
	w->cap = n;
	w->cut = malloc(n * sizeof(*w->cut));
	w->fp = malloc(n * sizeof(*w->fp));
	w->cand = malloc(n * sizeof(*w->cand));
	w->ext = malloc(n * sizeof(*w->ext));
	w->cmp = malloc(DEDUP_STEP);
	if (!w->cut || !w->fp || !w->cand || !w->ext || !w->cmp)
		return -ENOMEM;
	for (size_t k = 0; k < DEDUP_KEPT; k++)
		if (!(w->kept[k].data = malloc(cs)))
			return -ENOMEM;
	return 0;
}

void capture_dedup_scratch_free(struct dedup_scratch *w)
{
	free(w->cut);
	free(w->fp);
	free(w->cand);
	free(w->ext);
	free(w->cmp);
	for (size_t k = 0; k < DEDUP_KEPT; k++)
		free(w->kept[k].data);
	buf_free(&w->table);
	buf_free(&w->lits);
	buf_free(&w->recipe);
	memset(w, 0, sizeof(*w));
}

/* Cut buf (a chunk) into pieces; their fingerprints (0 for an all-zero piece: never looked up or registered). */
void capture_dedup_cut(struct dedup_scratch *w, const uint8_t *buf, size_t len)
{
	size_t at = 0;

	w->n = 0;
	while (at < len && w->n < w->cap) {
		size_t n = capture_piece_cut(buf + at, len - at);
		w->cut[w->n] = (uint32_t)(at + n);
		w->fp[w->n] = (buf[at] == 0 && mem_is_zero(buf + at, n)) ? 0 : piece_fp(buf + at, n);
		w->n++;
		at += n;
	}
	w->len = len;
}

void capture_dedup_register(struct capture_dedup *dd, const struct dedup_scratch *w, unsigned srcno, uint64_t start,
			    const uint8_t id[CRYPTO_DIGEST_SIZE])
{
	struct dedup_chunk ch = { .start = start, .len = (uint32_t)w->len, .srcno = srcno };
	uint32_t chunk;

	memcpy(ch.id, id, CRYPTO_DIGEST_SIZE);
	pthread_mutex_lock(&dd->lock);
	if (dd->pieces.n >= dd->max_pieces || dd->chunks.n >= UINT32_MAX || vec_push(&dd->chunks, ch) < 0)
		goto out;
	chunk = (uint32_t)(dd->chunks.n - 1);
	for (size_t k = 0, at = 0; k < w->n; at = w->cut[k], k++) {
		struct dedup_piece pc = { .chunk = chunk, .off = (uint32_t)at, .len = w->cut[k] - (uint32_t)at };
		uint64_t key = piece_key(w->fp[k], pc.len);
		uint32_t old;
		if (!w->fp[k] || pc.len < PIECE_MIN / 2 || u64map_get(&dd->map, key, &old))
			continue;
		if (dd->pieces.n >= dd->max_pieces || vec_push(&dd->pieces, pc) < 0)
			break;
		if (u64map_put(&dd->map, key, (uint32_t)(dd->pieces.n - 1)) < 0) {
			dd->pieces.n--;
			break;
		}
	}
out:
	pthread_mutex_unlock(&dd->lock);
}

/* Bytes [off, off+len) of the chunk at start of a source as the capture stored them: read ranges, else zeros. */
static int plain_read(const struct dedup_src *s, uint64_t start, uint64_t off, size_t len, uint8_t *out)
{
	const struct rmap *m = s->read;
	uint64_t a0 = start + off, b0 = a0 + len;
	size_t k = rmap_find(m, a0), done = 0;
	int r;

	for (; k < m->n && m->v[k].off < b0; k++) {
		uint64_t a = MAX(m->v[k].off, a0), b = MIN(m->v[k].off + m->v[k].len, b0);
		if (a - a0 > done)
			memset(out + done, 0, (size_t)(a - a0) - done);
		r = src_pread(s->src, out + (a - a0), (size_t)(b - a), a);
		if (r < 0)
			return r;
		done = MAX(done, (size_t)(b - a0));
	}
	if (done < len)
		memset(out + done, 0, len - done);
	return 0;
}

/* How many bytes at the start of a and b agree. */
static size_t same_prefix(const uint8_t *a, const uint8_t *b, size_t n)
{
	size_t i = 0;

	while (i + 8 <= n && rd64(a + i) == rd64(b + i))
		i += 8;
	while (i < n && a[i] == b[i])
		i++;
	return i;
}

static size_t same_suffix(const uint8_t *a, const uint8_t *b, size_t n)
{
	size_t i = 0;

	while (i + 8 <= n && rd64(a + n - i - 8) == rd64(b + n - i - 8))
		i += 8;
	while (i < n && a[n - i - 1] == b[n - i - 1])
		i++;
	return i;
}

/*
 * Find the pieces of buf (cut by capture_dedup_cut) that plain chunks stored before hold; confirm each by
 * reading the candidate's bytes again and comparing, then grow it byte for byte backwards and forwards
 * within the referenced chunk. Fills w->ext (in order, not overlapping); returns the bytes they cover.
 */
uint64_t capture_dedup_match(struct capture_dedup *dd, struct dedup_scratch *w, const uint8_t *buf,
			     const uint8_t self[CRYPTO_DIGEST_SIZE])
{
	uint64_t covered = 0;
	size_t pos = 0;

	pthread_mutex_lock(&dd->lock);
	for (size_t k = 0, at = 0; k < w->n; at = w->cut[k], k++) {
		uint32_t idx;
		w->cand[k].ok = false;
		if (w->fp[k] && u64map_get(&dd->map, piece_key(w->fp[k], w->cut[k] - at), &idx)) {
			const struct dedup_piece *pc = &dd->pieces.v[idx];
			w->cand[k].ok = true;
			w->cand[k].ch = dd->chunks.v[pc->chunk];
			w->cand[k].src = dd->srcs.v[w->cand[k].ch.srcno];
			w->cand[k].off = pc->off;
		}
	}
	pthread_mutex_unlock(&dd->lock);

	w->n_ext = 0;
	for (size_t k = 0, at = 0; k < w->n; at = w->cut[k], k++) {
		struct dedup_cand *c = &w->cand[k];
		size_t len = w->cut[k] - at, a = at, b = w->cut[k];
		uint64_t o = c->off;
		bool same = true;
		if (!c->ok || at < pos || memcmp(c->ch.id, self, CRYPTO_DIGEST_SIZE) == 0)
			continue;
		/* confirm: the candidate's bytes, as stored, equal this piece's */
		for (size_t d = 0; d < len && same; d += DEDUP_STEP) {
			size_t n = MIN((size_t)DEDUP_STEP, len - d);
			same = plain_read(&c->src, c->ch.start, o + d, n, w->cmp) >= 0 && memcmp(w->cmp, buf + a + d, n) == 0;
		}
		if (!same)
			continue;
		/* grow backwards, to the previous match or the chunk's start */
		while (a > pos && o > 0) {
			size_t n = (size_t)MIN((uint64_t)MIN((size_t)DEDUP_STEP, a - pos), o), m;
			if (plain_read(&c->src, c->ch.start, o - n, n, w->cmp) < 0)
				break;
			m = same_suffix(w->cmp, buf + a - n, n);
			a -= m;
			o -= m;
			if (m < n)
				break;
		}
		/* and forwards, to the end of this chunk or of the referenced one */
		while (b < w->len && o + (b - a) < c->ch.len) {
			size_t n = (size_t)MIN((uint64_t)MIN((size_t)DEDUP_STEP, w->len - b), c->ch.len - (o + (b - a))), m;
			if (plain_read(&c->src, c->ch.start, o + (b - a), n, w->cmp) < 0)
				break;
			m = same_prefix(w->cmp, buf + b, n);
			b += m;
			if (m < n)
				break;
		}
		w->ext[w->n_ext++] = (struct dedup_ext){ .at = (uint32_t)a, .len = (uint32_t)(b - a), .off = o,
							 .id = &c->ch.id[0], .c = c };
		covered += b - a;
		pos = b;
	}
	return covered;
}

static struct dedup_kept *kept_find(struct dedup_scratch *w, const uint8_t *id)
{
	for (size_t i = 0; i < DEDUP_KEPT; i++)
		if (w->kept[i].valid && memcmp(w->kept[i].id, id, CRYPTO_DIGEST_SIZE) == 0) {
			w->kept[i].used = ++w->tick;
			return &w->kept[i];
		}
	return NULL;
}

/* The least recently used slot, taken for the chunk e references (its bytes read, not checked yet). */
static struct dedup_kept *kept_take(struct dedup_scratch *w, const struct dedup_ext *e)
{
	const struct dedup_cand *c = e->c;
	struct dedup_kept *k = &w->kept[0];

	for (size_t i = 1; i < DEDUP_KEPT; i++)
		if (!w->kept[i].valid || (k->valid && w->kept[i].used < k->used))
			k = &w->kept[i];
	memcpy(k->id, c->ch.id, CRYPTO_DIGEST_SIZE);
	k->valid = true;
	k->used = ++w->tick;
	k->len = c->ch.len;
	k->ok = plain_read(&c->src, c->ch.start, 0, c->ch.len, k->data) >= 0;
	return k;
}

/* The kept bytes of the chunk e references, read and checked against its ID if they are not kept yet. */
static const struct dedup_kept *kept_get(struct dedup_scratch *w, const struct crypto_keys *keys,
					 const struct dedup_ext *e)
{
	struct dedup_kept *k = kept_find(w, e->id);
	uint8_t got[CRYPTO_DIGEST_SIZE];

	if (k)
		return k;
	k = kept_take(w, e);
	k->ok = k->ok && chunk_digest(keys, k->data, k->len, got) >= 0 && memcmp(got, k->id, CRYPTO_DIGEST_SIZE) == 0;
	return k;
}

/*
 * The first two chunks w->ext references that are not kept, when they have the same length: read and
 * checked at once (chunk_digest2: two SHA-256 streams interleaved, about 1.5x one at a time).
 */
static void kept_get2(struct dedup_scratch *w, const struct crypto_keys *keys)
{
	const struct dedup_ext *miss[2];
	struct dedup_kept *a, *b;
	uint8_t ga[CRYPTO_DIGEST_SIZE], gb[CRYPTO_DIGEST_SIZE];
	size_t n = 0;

	for (size_t e = 0; e < w->n_ext && n < 2; e++) {
		bool kept = false;
		for (size_t i = 0; i < DEDUP_KEPT && !kept; i++)
			kept = w->kept[i].valid && memcmp(w->kept[i].id, w->ext[e].id, CRYPTO_DIGEST_SIZE) == 0;
		if (!kept && !(n == 1 && memcmp(miss[0]->id, w->ext[e].id, CRYPTO_DIGEST_SIZE) == 0))
			miss[n++] = &w->ext[e];
	}
	if (n < 2 || miss[0]->c->ch.len != miss[1]->c->ch.len)
		return;
	a = kept_take(w, miss[0]);
	b = kept_take(w, miss[1]);
	if (!a->ok || !b->ok || chunk_digest2(keys, a->data, b->data, a->len, ga, gb) < 0) {
		a->valid = b->valid = false; /* checked one at a time, then */
		return;
	}
	a->ok = memcmp(ga, a->id, CRYPTO_DIGEST_SIZE) == 0;
	b->ok = memcmp(gb, b->id, CRYPTO_DIGEST_SIZE) == 0;
}

/*
 * Keep only the references of w->ext (capture_dedup_match) whose bytes equal those of the referenced chunk
 * as stored: the chunk read whole again must have its ID (else its source changed since it was stored and
 * its references are dropped), and each referenced range must equal buf's bytes. Returns the bytes the
 * references left cover.
 */
uint64_t capture_dedup_check(struct dedup_scratch *w, const struct crypto_keys *keys, const uint8_t *buf)
{
	uint64_t covered = 0;
	size_t n = 0;

	kept_get2(w, keys);
	for (size_t e = 0; e < w->n_ext; e++) {
		const struct dedup_ext *x = &w->ext[e];
		const struct dedup_kept *k = kept_get(w, keys, x);
		if (!k->ok || x->off + x->len > k->len || memcmp(k->data + x->off, buf + x->at, x->len) != 0)
			continue;
		w->ext[n++] = *x;
		covered += x->len;
	}
	w->n_ext = n;
	return covered;
}

/* Literal bytes, with zero runs of whole 4 KiB blocks as zero entries. */
static int add_gap(struct chunk_recipe_builder *rb, const uint8_t *buf, size_t a, size_t b)
{
	int r = 0;

	while (a < b && r >= 0) {
		size_t n = MIN(b - a, 4096 - a % 4096);
		r = chunk_recipe_add(rb, mem_is_zero(buf + a, n) ? CHUNK_PIECE_ZERO : CHUNK_PIECE_LITERAL, buf + a,
				     (uint32_t)n, NULL, 0);
		a += n;
	}
	return r;
}

/* The recipe of buf from w->ext (capture_dedup_match) into w->recipe. */
int capture_dedup_recipe(struct dedup_scratch *w, const uint8_t *buf)
{
	struct chunk_recipe_builder rb;
	size_t pos = 0;
	int r = 0;

	chunk_recipe_begin(&rb, &w->table, &w->lits);
	for (size_t e = 0; e < w->n_ext && r >= 0; e++) {
		r = add_gap(&rb, buf, pos, w->ext[e].at);
		if (r >= 0)
			r = chunk_recipe_add(&rb, CHUNK_PIECE_REF, NULL, w->ext[e].len, w->ext[e].id, w->ext[e].off);
		pos = w->ext[e].at + w->ext[e].len;
	}
	if (r >= 0)
		r = add_gap(&rb, buf, pos, w->len);
	if (r >= 0)
		r = chunk_recipe_finish(&rb, &w->recipe);
	return r;
}

/*
 * Does the recipe in w->recipe, as it will be stored, expand to buf, its references taken from the checked
 * bytes of the chunks they name (capture_dedup_check)? 1 yes; 0 a referenced chunk read again no longer has
 * its ID (its source changed meanwhile: store the chunk plain); -EBADMSG no (a bug: never store it).
 */
int capture_dedup_recipe_check(struct dedup_scratch *w, const struct crypto_keys *keys, const uint8_t *buf)
{
	struct chunk_recipe rc;
	size_t at = 0;
	int r = chunk_recipe_parse(w->recipe.data, w->recipe.len, &rc);

	if (r < 0)
		return r;
	r = rc.expanded == w->len ? 1 : -EBADMSG;
	for (uint32_t i = 0; i < rc.n && r > 0; i++) {
		const struct chunk_recipe_entry *x = &rc.v[i];
		const struct dedup_kept *k = NULL;
		switch (x->kind) {
		case CHUNK_PIECE_LITERAL:
			r = memcmp(x->lit, buf + at, x->len) == 0 ? 1 : -EBADMSG;
			break;
		case CHUNK_PIECE_ZERO:
			r = mem_is_zero(buf + at, x->len) ? 1 : -EBADMSG;
			break;
		default:
			r = -EBADMSG; /* a reference to a chunk that no kept reference names */
			for (size_t e = 0; e < w->n_ext && !k; e++)
				if (memcmp(w->ext[e].id, x->id, CRYPTO_DIGEST_SIZE) == 0)
					k = kept_get(w, keys, &w->ext[e]);
			if (k && !k->ok)
				r = 0;
			else if (k && x->off + x->len <= k->len && memcmp(k->data + x->off, buf + at, x->len) == 0)
				r = 1;
		}
		at += x->len;
	}
	chunk_recipe_free(&rc);
	return r;
}

/* The distinct chunk IDs of w->ext, malloc'ed. */
int capture_dedup_refs(const struct dedup_scratch *w, uint8_t (**ret)[CRYPTO_DIGEST_SIZE], size_t *ret_n)
{
	uint8_t (*v)[CRYPTO_DIGEST_SIZE] = malloc((w->n_ext ? w->n_ext : 1) * CRYPTO_DIGEST_SIZE);
	size_t n = 0;

	if (!v)
		return -ENOMEM;
	for (size_t e = 0; e < w->n_ext; e++) {
		bool seen = false;
		for (size_t k = 0; k < n && !seen; k++)
			seen = memcmp(v[k], w->ext[e].id, CRYPTO_DIGEST_SIZE) == 0;
		if (!seen)
			memcpy(v[n++], w->ext[e].id, CRYPTO_DIGEST_SIZE);
	}
	*ret = v;
	*ret_n = n;
	return 0;
}
