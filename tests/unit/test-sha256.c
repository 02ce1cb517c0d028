/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * core/sha256: two streams at once. Oracle: OpenSSL's SHA-256
 * (crypto_sha256), on every length up to 2100 bytes (all tails and padding
 * cases), unaligned buffers, and large buffers, and the FIPS 180-2 example.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/sha256.h"
#include "tap.h"

int main(void)
{
	enum { BIG = (1 << 20) + 77 };
	uint8_t *a = malloc(BIG + 8), *b = malloc(BIG + 8), ra[32], rb[32], oa[32], ob[32];
	uint32_t seed = 7;
	int wrong = 0;

	if (!a || !b)
		return 1;
	for (size_t i = 0; i < BIG + 8; i++) {
		seed = seed * 1103515245 + 12345;
		a[i] = (uint8_t)(seed >> 16);
		b[i] = (uint8_t)(seed >> 8);
	}
	if (!sha256_x2(a, b, 0, oa, ob)) {
		diag("this CPU has no SHA extensions: sha256_x2 declines, callers use OpenSSL");
		ok(1, "sha256_x2 declines without the SHA extensions");
		free(a);
		free(b);
		return tap_done();
	}
	{
		/* FIPS 180-2, appendix B.1 */
		static const uint8_t abc[32] = { 0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
						 0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
						 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad };
		ok(sha256_x2("abc", "abc", 3, oa, ob), "sha256_x2 of \"abc\" twice");
		is_mem(oa, abc, 32, "first stream: the FIPS 180-2 digest of \"abc\"");
		is_mem(ob, abc, 32, "second stream: the same");
	}
	for (size_t len = 0; len <= 2100; len++) {
		size_t sa = len % 7, sb = len % 5; /* unaligned starts */
		crypto_sha256(a + sa, len, ra);
		crypto_sha256(b + sb, len, rb);
		if (!sha256_x2(a + sa, b + sb, len, oa, ob) || memcmp(oa, ra, 32) || memcmp(ob, rb, 32))
			wrong++;
	}
	is_int(wrong, 0, "every length 0..2100, unaligned: both digests equal OpenSSL's");
	wrong = 0;
	for (size_t len = BIG - 200; len <= BIG; len += 37) {
		crypto_sha256(a, len, ra);
		crypto_sha256(b + 3, len, rb);
		if (!sha256_x2(a, b + 3, len, oa, ob) || memcmp(oa, ra, 32) || memcmp(ob, rb, 32))
			wrong++;
	}
	is_int(wrong, 0, "lengths around 1 MiB: both digests equal OpenSSL's");
	crypto_sha256(a, BIG, ra);
	ok(sha256_x2(a, a, BIG, oa, ob) && !memcmp(oa, ra, 32) && !memcmp(ob, ra, 32), "the same buffer twice");
	free(a);
	free(b);
	return tap_done();
}
