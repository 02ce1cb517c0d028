/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/chunk.h"
#include "core/macro.h"
#include "tap.h"

static void round_trip(struct chunk_ctx *c, const struct crypto_keys *k, const uint8_t *p, size_t n, const char *what,
		       int want_zstd)
{
	uint8_t *env = malloc(chunk_encode_bound(n)), *out = malloc(n + 1);
	size_t len = 0, got = 0;
	uint8_t flags = 0;
	uint32_t plain = 0;

	is_int(chunk_encode(c, k, p, n, env, &len), 0, "%s: encode", what);
	is_int(chunk_header_parse(env, len, &flags, &plain), 0, "%s: header", what);
	is_int(plain, n, "%s: plain length", what);
	is_int(!!(flags & CHUNK_F_ZSTD), want_zstd, "%s: compressed only when smaller", what);
	is_int(!!(flags & CHUNK_F_AES_GCM), k != NULL, "%s: encrypted flag", what);
	is_int(chunk_check(env, len), 0, "%s: CRC ok without key", what);
	is_int(chunk_decode(c, k, env, len, out, n, &got), 0, "%s: decode", what);
	is_int(got, n, "%s: decoded length", what);
	ok(memcmp(out, p, n) == 0, "%s: same bytes", what);
	is_int(chunk_decode(NULL, k, env, len, out, n, &got), 0, "%s: decode without a context", what);
	if (n > 0)
		is_int(chunk_decode(c, k, env, len, out, n - 1, &got), -ENOBUFS, "%s: small buffer", what);
	/* every single flipped byte is caught */
	for (size_t i = 0; i < len; i += (len / 37) + 1) {
		int r;
		env[i] ^= 0x40;
		r = chunk_decode(c, k, env, len, out, n, &got);
		ok(r == -EBADMSG || r == -EPROTONOSUPPORT, "%s: byte %zu flipped: %d", what, i, r);
		env[i] ^= 0x40;
	}
	if (k) {
		struct crypto_keys other = *k;
		other.enc[0] ^= 1;
		is_int(chunk_decode(c, &other, env, len, out, n, &got), -EBADMSG, "%s: wrong key -> -EBADMSG", what);
		is_int(chunk_decode(c, NULL, env, len, out, n, &got), -ENOKEY, "%s: no key -> -ENOKEY", what);
	}
	free(env);
	free(out);
}

/* A fake chunk store for refs: one chunk, ID all 0x11, bytes i & 0xff. */
static const uint8_t ref_id[32] = { 0x11, 0x11, 0x11, 0x11 };
static int fake_ref(void *u, const uint8_t id[32], uint64_t off, size_t len, void *dst)
{
	(void)u;
	if (memcmp(id, ref_id, 32) != 0 || off + len > 4096)
		return -EBADMSG;
	for (size_t i = 0; i < len; i++)
		((uint8_t *)dst)[i] = (uint8_t)(off + i);
	return 0;
}

static void test_recipe(void)
{
	struct buf table = BUF_INIT, lits = BUF_INIT, out = BUF_INIT;
	struct chunk_recipe_builder b;
	struct chunk_recipe rc;
	uint8_t want[700], got[700], *r;
	size_t len;

	for (size_t i = 0; i < 100; i++)
		want[i] = (uint8_t)(i * 7 + 1);
	memset(want + 100, 0, 200);
	for (size_t i = 0; i < 400; i++)
		want[300 + i] = (uint8_t)(1000 + i);
	chunk_recipe_begin(&b, &table, &lits);
	is_int(chunk_recipe_add(&b, CHUNK_PIECE_LITERAL, want, 60, NULL, 0), 0, "literal");
	is_int(chunk_recipe_add(&b, CHUNK_PIECE_LITERAL, want + 60, 40, NULL, 0), 0, "literal, merged");
	is_int(chunk_recipe_add(&b, CHUNK_PIECE_ZERO, NULL, 200, NULL, 0), 0, "zeros");
	is_int(chunk_recipe_add(&b, CHUNK_PIECE_REF, NULL, 150, ref_id, 1000), 0, "ref");
	is_int(chunk_recipe_add(&b, CHUNK_PIECE_REF, NULL, 250, ref_id, 1150), 0, "contiguous ref, merged");
	is_int(chunk_recipe_finish(&b, &out), 0, "finish");
	is_int(b.n, 3, "three entries after merging");
	is_int(b.refs, 400, "bytes in refs");
	len = out.len;
	is_int(len, CHUNK_RECIPE_HEADER + 3 * CHUNK_RECIPE_ENTRY + 100, "recipe length");
	is_int(chunk_recipe_parse(out.data, len, &rc), 0, "parse");
	is_int(rc.expanded, 700, "expanded length");
	is_int(chunk_recipe_expand(&rc, got, sizeof(got), fake_ref, NULL), 0, "expand");
	is_mem(got, want, sizeof(want), "expanded bytes");
	is_int(chunk_recipe_expand(&rc, got, 699, fake_ref, NULL), -ENOBUFS, "expand into a small buffer");
	chunk_recipe_free(&rc);

	/* every kind of corruption */
	r = out.data;
#define BAD(what, stmt, undo)                                                                        \
	do {                                                                                         \
		stmt;                                                                                \
		is_int(chunk_recipe_parse(r, len, &rc), -EBADMSG, "corrupt recipe: %s", what);       \
		undo;                                                                                \
	} while (0)
	BAD("magic", r[0] ^= 1, r[0] ^= 1);
	BAD("version", r[4] = 2, r[4] = 1);
	BAD("reserved header byte", r[6] = 1, r[6] = 0);
	BAD("expanded length too large", put_le32(r + 8, 701), put_le32(r + 8, 700));
	BAD("expanded length too small", put_le32(r + 8, 699), put_le32(r + 8, 700));
	BAD("expanded length beyond the limit", put_le32(r + 8, CHUNK_PLAIN_MAX + 1), put_le32(r + 8, 700));
	BAD("count 0", put_le32(r + 12, 0), put_le32(r + 12, 3));
	BAD("count too large", put_le32(r + 12, 4), put_le32(r + 12, 3));
	BAD("count huge", put_le32(r + 12, 0xffffffff), put_le32(r + 12, 3));
	BAD("unknown kind", r[16] = 9, r[16] = CHUNK_PIECE_LITERAL);
	BAD("kind 0", r[16] = 0, r[16] = CHUNK_PIECE_LITERAL);
	BAD("reserved entry byte", r[17] = 1, r[17] = 0);
	BAD("literal with an offset", r[16 + 8] = 1, r[16 + 8] = 0);
	BAD("literal with an ID", r[16 + 20] = 1, r[16 + 20] = 0);
	BAD("zero-length entry", put_le32(r + 16 + 48 + 4, 0), put_le32(r + 16 + 48 + 4, 200));
	BAD("literal longer than its bytes", put_le32(r + 16 + 4, 101), put_le32(r + 16 + 4, 100));
	BAD("ref with a zero ID", memset(r + 16 + 96 + 16, 0, 4), memcpy(r + 16 + 96 + 16, ref_id, 4));
	BAD("ref offset beyond any chunk", put_le64(r + 16 + 96 + 8, (uint64_t)CHUNK_PLAIN_MAX + 1),
	    put_le64(r + 16 + 96 + 8, 1000));
	BAD("entry lengths overflow", put_le32(r + 16 + 96 + 4, 0xffffffff), put_le32(r + 16 + 96 + 4, 400));
	is_int(chunk_recipe_parse(r, len - 1, &rc), -EBADMSG, "corrupt recipe: cut literal bytes");
	is_int(chunk_recipe_parse(r, 15, &rc), -EBADMSG, "corrupt recipe: cut header");
	{
		uint8_t *longer = malloc(len + 1);
		memcpy(longer, r, len);
		longer[len] = 0;
		is_int(chunk_recipe_parse(longer, len + 1, &rc), -EBADMSG, "corrupt recipe: trailing byte");
		free(longer);
	}
	is_int(chunk_recipe_parse(r, len, &rc), 0, "every corruption undone");
	chunk_recipe_free(&rc);
	/* a ref outside the referenced chunk fails in the reader */
	put_le64(r + 16 + 96 + 8, 3800);
	is_int(chunk_recipe_parse(r, len, &rc), 0, "parse (the offset is the reader's to check)");
	is_int(chunk_recipe_expand(&rc, got, sizeof(got), fake_ref, NULL), -EBADMSG, "expand: ref beyond the chunk");
	chunk_recipe_free(&rc);
	buf_free(&table);
	buf_free(&lits);
	buf_free(&out);
}

int main(void)
{
	size_t n = 1 << 20;
	uint8_t *text = malloc(n), *rnd = malloc(n), d1[32], d2[32];
	struct crypto_keys k;
	struct chunk_ctx *c;
	uint8_t env[64];
	size_t len;

	for (size_t i = 0; i < n; i++)
		text[i] = (uint8_t)"shadowrev "[i % 10];
	crypto_random(rnd, n);
	crypto_random(&k, sizeof(k));
	ok(chunk_ctx_new(3, &c) == 0, "context");
	round_trip(c, NULL, text, n, "text", 1);
	round_trip(c, NULL, rnd, n, "random", 0);
	round_trip(c, &k, text, n, "text, encrypted", 1);
	round_trip(c, &k, rnd, n, "random, encrypted", 0);
	round_trip(c, NULL, text, 0, "empty", 0);

	/* IDs: SHA-256 plain, HMAC keyed */
	chunk_digest(NULL, text, n, d1);
	chunk_digest(&k, text, n, d2);
	ok(memcmp(d1, d2, 32) != 0, "keyed IDs differ from plain ones");
	ok(!chunk_digest_is_zero(d1), "an ID is not the zero marker");

	/* versions and magic */
	is_int(chunk_encode(c, NULL, "x", 1, env, &len), 0, "tiny");
	env[4] = CHUNK_VERSION + 1;
	is_int(chunk_check(env, len), -EPROTONOSUPPORT, "unknown envelope version");
	env[4] = 1;
	is_int(chunk_check(env, len), -EPROTONOSUPPORT, "version 1 (CRC-32, never released) is refused as unknown");
	env[4] = CHUNK_VERSION;
	env[0] = 'X';
	is_int(chunk_check(env, len), -EBADMSG, "bad magic");
	is_int(chunk_check(env, 10), -EBADMSG, "short");
	/* the composite flag is a known one; envelopes carry it through */
	{
		uint8_t e2[128], o2[16];
		size_t l2, g2;
		uint8_t fl;
		is_int(chunk_encode_flags(c, NULL, "recipe", 6, CHUNK_F_COMPOSITE, e2, &l2), 0, "encode composite");
		is_int(chunk_header_parse(e2, l2, &fl, NULL), 0, "composite header");
		ok(fl & CHUNK_F_COMPOSITE, "composite flag kept");
		is_int(chunk_decode(c, NULL, e2, l2, o2, sizeof(o2), &g2), 0, "decode composite envelope");
		e2[5] |= 0x08;
		is_int(chunk_header_parse(e2, l2, &fl, NULL), -EBADMSG, "unknown flag 0x08");
	}
	test_recipe();
	chunk_ctx_free(c);
	free(text);
	free(rnd);
	return tap_done();
}
