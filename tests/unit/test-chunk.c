/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/chunk.h"
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
	chunk_ctx_free(c);
	free(text);
	free(rnd);
	return tap_done();
}
