/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "chunk.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "crc32.h"
#include "macro.h"
#include "sha256.h"

struct chunk_ctx {
	ZSTD_CCtx *cctx;
	ZSTD_DCtx *dctx;
	int level;
	uint8_t *scratch;
	size_t scratch_cap;
};

int chunk_ctx_new(int level, struct chunk_ctx **ret)
{
	struct chunk_ctx *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->cctx = ZSTD_createCCtx();
	c->dctx = ZSTD_createDCtx();
	if (!c->cctx || !c->dctx) {
		chunk_ctx_free(c);
		return -ENOMEM;
	}
	c->level = level;
	*ret = c;
	return 0;
}

void chunk_ctx_free(struct chunk_ctx *c)
{
	if (!c)
		return;
	ZSTD_freeCCtx(c->cctx);
	ZSTD_freeDCtx(c->dctx);
	free(c->scratch);
	free(c);
}

static int scratch(struct chunk_ctx *c, size_t len)
{
	uint8_t *p;

	if (c->scratch_cap >= len)
		return 0;
	p = realloc(c->scratch, len);
	if (!p)
		return -ENOMEM;
	c->scratch = p;
	c->scratch_cap = len;
	return 0;
}

int chunk_digest(const struct crypto_keys *keys, const void *buf, size_t len, uint8_t out[CRYPTO_DIGEST_SIZE])
{
	if (keys)
		return crypto_hmac_sha256(keys->id, buf, len, out);
	crypto_sha256(buf, len, out);
	return 0;
}

int chunk_digest2(const struct crypto_keys *keys, const void *a, const void *b, size_t len,
		  uint8_t out_a[CRYPTO_DIGEST_SIZE], uint8_t out_b[CRYPTO_DIGEST_SIZE])
{
	int r;

	if (!keys && sha256_x2(a, b, len, out_a, out_b))
		return 0;
	r = chunk_digest(keys, a, len, out_a);
	return r < 0 ? r : chunk_digest(keys, b, len, out_b);
}

bool chunk_digest_is_zero(const uint8_t d[CRYPTO_DIGEST_SIZE])
{
	static const uint8_t z[CRYPTO_DIGEST_SIZE];
	return memcmp(d, z, sizeof(z)) == 0;
}

size_t chunk_encode_bound(size_t len)
{
	return CHUNK_HEADER_SIZE + CRYPTO_IV_SIZE + CRYPTO_TAG_SIZE + MAX(len, ZSTD_compressBound(len));
}

int chunk_encode(struct chunk_ctx *c, const struct crypto_keys *keys, const void *plain, size_t len, void *out,
		 size_t *ret_len)
{
	return chunk_encode_flags(c, keys, plain, len, 0, out, ret_len);
}

int chunk_encode_flags(struct chunk_ctx *c, const struct crypto_keys *keys, const void *plain, size_t len,
		       uint8_t extra, void *out, size_t *ret_len)
{
	uint8_t *o = out, *payload;
	size_t hdr = CHUNK_HEADER_SIZE + (keys ? CRYPTO_IV_SIZE + CRYPTO_TAG_SIZE : 0), plen = len, z;
	const uint8_t *body = plain;
	uint8_t flags = extra & CHUNK_F_COMPOSITE;
	int r;

	if (len > CHUNK_PLAIN_MAX)
		return -EFBIG;
	payload = o + hdr;
	/* compress into place (or into scratch when encrypting, then encrypt into place) */
	if (keys) {
		r = scratch(c, ZSTD_compressBound(len));
		if (r < 0)
			return r;
	}
	z = ZSTD_compressCCtx(c->cctx, keys ? c->scratch : payload, ZSTD_compressBound(len), plain, len, c->level);
	if (!ZSTD_isError(z) && z < len) {
		flags |= CHUNK_F_ZSTD;
		plen = z;
		body = keys ? c->scratch : payload;
	}
	memcpy(o, CHUNK_MAGIC, 4);
	o[4] = CHUNK_VERSION;
	o[6] = o[7] = 0;
	put_le32(o + 8, (uint32_t)len);
	if (keys) {
		flags |= CHUNK_F_AES_GCM;
		o[5] = flags;
		r = crypto_random(o + CHUNK_HEADER_SIZE, CRYPTO_IV_SIZE);
		if (r < 0)
			return r;
		r = crypto_gcm_seal(keys->enc, o + CHUNK_HEADER_SIZE, o, 12, body, plen, payload,
				    o + CHUNK_HEADER_SIZE + CRYPTO_IV_SIZE);
		if (r < 0)
			return r;
	} else {
		o[5] = flags;
		if (body != payload)
			memcpy(payload, body, plen);
	}
	put_le32(o + 12, crc32c(crc32c(0, o, 12), o + CHUNK_HEADER_SIZE, hdr - CHUNK_HEADER_SIZE + plen));
	*ret_len = hdr + plen;
	return 0;
}

int chunk_header_parse(const void *env, size_t len, uint8_t *ret_flags, uint32_t *ret_plain_len)
{
	const uint8_t *e = env;
	uint32_t plain;

	if (len < CHUNK_HEADER_SIZE || memcmp(e, CHUNK_MAGIC, 4) != 0)
		return -EBADMSG;
	if (e[4] != CHUNK_VERSION)
		return -EPROTONOSUPPORT;
	if ((e[5] & ~(CHUNK_F_ZSTD | CHUNK_F_AES_GCM | CHUNK_F_COMPOSITE)) || e[6] || e[7])
		return -EBADMSG;
	plain = le32(e + 8);
	if (plain > CHUNK_PLAIN_MAX)
		return -EBADMSG;
	if ((e[5] & CHUNK_F_AES_GCM) && len < CHUNK_HEADER_SIZE + CRYPTO_IV_SIZE + CRYPTO_TAG_SIZE)
		return -EBADMSG;
	if (ret_flags)
		*ret_flags = e[5];
	if (ret_plain_len)
		*ret_plain_len = plain;
	return 0;
}

int chunk_check(const void *env, size_t len)
{
	const uint8_t *e = env;
	int r = chunk_header_parse(env, len, NULL, NULL);

	if (r < 0)
		return r;
	if (crc32c(crc32c(0, e, 12), e + CHUNK_HEADER_SIZE, len - CHUNK_HEADER_SIZE) != le32(e + 12))
		return -EBADMSG;
	return 0;
}

int chunk_decode(struct chunk_ctx *c, const struct crypto_keys *keys, const void *env, size_t len, void *out,
		 size_t cap, size_t *ret_len)
{
	const uint8_t *e = env, *body;
	_cleanup_free_ uint8_t *tmp = NULL;
	uint8_t flags;
	uint32_t plain;
	size_t blen, hdr = CHUNK_HEADER_SIZE;
	int r;

	r = chunk_check(env, len);
	if (r < 0)
		return r;
	(void)chunk_header_parse(env, len, &flags, &plain);
	if (plain > cap)
		return -ENOBUFS;
	if (flags & CHUNK_F_AES_GCM)
		hdr += CRYPTO_IV_SIZE + CRYPTO_TAG_SIZE;
	body = e + hdr;
	blen = len - hdr;
	if (flags & CHUNK_F_AES_GCM) {
		uint8_t *dst;
		if (!keys)
			return -ENOKEY;
		if (!(flags & CHUNK_F_ZSTD)) {
			if (blen != plain)
				return -EBADMSG;
			dst = out;
		} else if (c) {
			r = scratch(c, blen ? blen : 1);
			if (r < 0)
				return r;
			dst = c->scratch;
		} else {
			dst = tmp = malloc(blen ? blen : 1);
			if (!tmp)
				return -ENOMEM;
		}
		r = crypto_gcm_open(keys->enc, e + CHUNK_HEADER_SIZE, e, 12, body, blen, dst,
				    e + CHUNK_HEADER_SIZE + CRYPTO_IV_SIZE);
		if (r < 0)
			return r;
		body = dst;
	}
	if (flags & CHUNK_F_ZSTD) {
		size_t n = c ? ZSTD_decompressDCtx(c->dctx, out, cap, body, blen) : ZSTD_decompress(out, cap, body, blen);
		if (ZSTD_isError(n) || n != plain)
			return -EBADMSG;
	} else {
		if (blen != plain)
			return -EBADMSG;
		if (body != out)
			memcpy(out, body, blen);
	}
	*ret_len = plain;
	return 0;
}

/* recipes of composite chunks (§4.1) */

void chunk_recipe_free(struct chunk_recipe *rc)
{
	if (!rc)
		return;
	free(rc->v);
	rc->v = NULL;
}

int chunk_recipe_parse(const void *buf, size_t len, struct chunk_recipe *ret)
{
	const uint8_t *b = buf, *lit;
	struct chunk_recipe rc = { 0 };
	uint64_t sum = 0, lits = 0;
	size_t table;

	if (len < CHUNK_RECIPE_HEADER || memcmp(b, CHUNK_RECIPE_MAGIC, 4) != 0)
		return -EBADMSG;
	if (b[4] != CHUNK_RECIPE_VERSION || b[5] || b[6] || b[7])
		return -EBADMSG;
	rc.expanded = le32(b + 8);
	rc.n = le32(b + 12);
	if (rc.expanded == 0 || rc.expanded > CHUNK_PLAIN_MAX || rc.n == 0 || rc.n > rc.expanded ||
	    rc.n > (len - CHUNK_RECIPE_HEADER) / CHUNK_RECIPE_ENTRY)
		return -EBADMSG;
	table = CHUNK_RECIPE_HEADER + (size_t)rc.n * CHUNK_RECIPE_ENTRY;
	rc.v = malloc(rc.n * sizeof(*rc.v));
	if (!rc.v)
		return -ENOMEM;
	lit = b + table;
	for (uint32_t k = 0; k < rc.n; k++) {
		const uint8_t *e = b + CHUNK_RECIPE_HEADER + (size_t)k * CHUNK_RECIPE_ENTRY;
		struct chunk_recipe_entry *x = &rc.v[k];
		bool ok;
		x->kind = e[0];
		x->len = le32(e + 4);
		x->off = le64(e + 8);
		x->id = NULL;
		x->lit = NULL;
		ok = !e[1] && !e[2] && !e[3] && x->len > 0;
		switch (x->kind) {
		case CHUNK_PIECE_LITERAL:
		case CHUNK_PIECE_ZERO:
			ok = ok && x->off == 0 && chunk_digest_is_zero(e + 16);
			if (ok && x->kind == CHUNK_PIECE_LITERAL) {
				if (x->len > len - table - lits) {
					ok = false;
					break;
				}
				x->lit = lit + lits;
				lits += x->len;
			}
			break;
		case CHUNK_PIECE_REF:
			/* the offset is checked against the referenced chunk's length when it is read */
			ok = ok && !chunk_digest_is_zero(e + 16) && x->off <= CHUNK_PLAIN_MAX;
			x->id = e + 16;
			break;
		default: ok = false;
		}
		sum += x->len;
		if (!ok || sum > rc.expanded) {
			free(rc.v);
			return -EBADMSG;
		}
	}
	if (sum != rc.expanded || table + lits != len) {
		free(rc.v);
		return -EBADMSG;
	}
	*ret = rc;
	return 0;
}

int chunk_recipe_expand(const struct chunk_recipe *rc, void *out, size_t cap, chunk_ref_fn ref, void *u)
{
	uint8_t *o = out;
	size_t at = 0;
	int r;

	if (rc->expanded > cap)
		return -ENOBUFS;
	for (uint32_t k = 0; k < rc->n; k++) {
		const struct chunk_recipe_entry *x = &rc->v[k];
		switch (x->kind) {
		case CHUNK_PIECE_LITERAL: memcpy(o + at, x->lit, x->len); break;
		case CHUNK_PIECE_ZERO: memset(o + at, 0, x->len); break;
		default:
			r = ref(u, x->id, x->off, x->len, o + at);
			if (r < 0)
				return r;
		}
		at += x->len;
	}
	return 0;
}

void chunk_recipe_begin(struct chunk_recipe_builder *b, struct buf *table, struct buf *lits)
{
	buf_reset(table);
	buf_reset(lits);
	*b = (struct chunk_recipe_builder){ .table = table, .lits = lits };
}

int chunk_recipe_add(struct chunk_recipe_builder *b, uint8_t kind, const void *data, uint32_t len,
		     const uint8_t *id, uint64_t off)
{
	uint8_t e[CHUNK_RECIPE_ENTRY] = { 0 };
	int r;

	if (len == 0)
		return 0;
	if ((uint64_t)b->expanded + len > CHUNK_PLAIN_MAX)
		return -EFBIG;
	if (kind == CHUNK_PIECE_LITERAL && (r = buf_append(b->lits, data, len)) < 0)
		return r;
	if (kind == CHUNK_PIECE_REF)
		b->refs += len;
	b->expanded += len;
	if (b->last && b->last[0] == kind &&
	    (kind != CHUNK_PIECE_REF || (memcmp(b->last + 16, id, CRYPTO_DIGEST_SIZE) == 0 &&
					 le64(b->last + 8) + le32(b->last + 4) == off))) {
		put_le32(b->last + 4, le32(b->last + 4) + len);
		return 0;
	}
	e[0] = kind;
	put_le32(e + 4, len);
	if (kind == CHUNK_PIECE_REF) {
		put_le64(e + 8, off);
		memcpy(e + 16, id, CRYPTO_DIGEST_SIZE);
	}
	r = buf_append(b->table, e, sizeof(e));
	if (r < 0)
		return r;
	b->n++;
	b->last = b->table->data + b->table->len - CHUNK_RECIPE_ENTRY;
	return 0;
}

int chunk_recipe_finish(struct chunk_recipe_builder *b, struct buf *out)
{
	uint8_t h[CHUNK_RECIPE_HEADER] = { 0 };
	int r;

	buf_reset(out);
	memcpy(h, CHUNK_RECIPE_MAGIC, 4);
	h[4] = CHUNK_RECIPE_VERSION;
	put_le32(h + 8, b->expanded);
	put_le32(h + 12, b->n);
	r = buf_reserve(out, sizeof(h) + b->table->len + b->lits->len);
	if (r >= 0)
		r = buf_append(out, h, sizeof(h));
	if (r >= 0)
		r = buf_append(out, b->table->data, b->table->len);
	if (r >= 0)
		r = buf_append(out, b->lits->data, b->lits->len);
	return r;
}
