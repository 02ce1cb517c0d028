/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "chunk.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "crc32.h"
#include "macro.h"

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
	uint8_t *o = out, *payload;
	size_t hdr = CHUNK_HEADER_SIZE + (keys ? CRYPTO_IV_SIZE + CRYPTO_TAG_SIZE : 0), plen = len, z;
	const uint8_t *body = plain;
	uint8_t flags = 0;
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
	if ((e[5] & ~(CHUNK_F_ZSTD | CHUNK_F_AES_GCM)) || e[6] || e[7])
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
