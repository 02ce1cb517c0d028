/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * core/crc32. Oracles: published check values (CRC-32/IEEE 802.3; CRC-32C
 * from RFC 3720, appendix B.4), and bitwise implementations of the reflected
 * polynomials written here.
 */
#include <string.h>

#include "core/crc32.h"
#include "tap.h"

/* CRC-32C arrived in core/crc32.h later than this test: weak, so that the test builds either way. */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len) __attribute__((weak));

static uint32_t naive_crc(uint32_t poly, uint32_t crc, const uint8_t *p, size_t n)
{
	crc = ~crc;
	while (n--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (poly & (0u - (crc & 1)));
	}
	return ~crc;
}

static uint64_t rng_state = 0xa4093822299f31d0ULL;
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

int main(void)
{
	static uint8_t buf[70000];
	uint8_t zeros[32] = { 0 }, ones[32];
	int bad = 0, bad_chain = 0;

	/* published check values */
	is_int(crc32_le(0, "123456789", 9), 0xCBF43926, "\"123456789\" -> 0xCBF43926");
	is_int(crc32_le(0, "", 0), 0, "empty -> 0");
	is_int(crc32_le(0, NULL, 0), 0, "NULL, 0 -> 0");
	is_int(crc32_le(0, "a", 1), 0xE8B7BE43, "\"a\" -> 0xE8B7BE43");
	is_int(crc32_le(0, "abc", 3), 0x352441C2, "\"abc\" -> 0x352441C2");
	is_int(crc32_le(0, "The quick brown fox jumps over the lazy dog", 43), 0x414FA339,
	       "the quick brown fox -> 0x414FA339");
	is_int(crc32_le(0, zeros, 32), 0x190A55AD, "32 zero bytes -> 0x190A55AD");
	memset(ones, 0xff, sizeof(ones));
	is_int(crc32_le(0, ones, 32), 0xFF6CAB0B, "32 0xff bytes -> 0xFF6CAB0B");

	/* chaining: crc(a || b) == crc(crc(a), b) */
	is_int(crc32_le(crc32_le(0, "1234", 4), "56789", 5), 0xCBF43926, "chained \"1234\" + \"56789\"");
	is_int(crc32_le(crc32_le(0, "123456789", 9), "", 0), 0xCBF43926, "chained with an empty piece");

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rnd();
	for (int i = 0; i < 2000; i++) {
		size_t off = (size_t)(rnd() % 64), len = (size_t)(rnd() % (i < 1000 ? 100 : sizeof(buf) - 64));
		size_t cut = len ? (size_t)(rnd() % len) : 0;
		uint32_t want = naive_crc(0xedb88320u, 0, buf + off, len);
		if (crc32_le(0, buf + off, len) != want && bad++ < 3)
			diag("offset %zu length %zu differs from the bitwise CRC", off, len);
		if (crc32_le(crc32_le(0, buf + off, cut), buf + off + cut, len - cut) != want && bad_chain++ < 3)
			diag("offset %zu length %zu split at %zu: chaining differs", off, len, cut);
	}
	is_int(bad, 0, "2000 random buffers (any alignment, lengths up to 70000) equal the bitwise CRC");
	is_int(bad_chain, 0, "and chain at any split point");
	/* CRC-32C, RFC 3720 (iSCSI) appendix B.4 vectors, and a bit-by-bit reference on random data */
	{
		uint8_t v[32];
		is_int(crc32c(0, "123456789", 9), 0xE3069283, "crc32c \"123456789\" -> 0xE3069283");
		memset(v, 0, sizeof(v));
		is_int(crc32c(0, v, 32), 0x8A9136AA, "crc32c 32 zero bytes");
		memset(v, 0xff, sizeof(v));
		is_int(crc32c(0, v, 32), 0x62A8AB43, "crc32c 32 0xff bytes");
		for (int i = 0; i < 32; i++)
			v[i] = (uint8_t)i;
		is_int(crc32c(0, v, 32), 0x46DD794E, "crc32c 0..31");
		for (int i = 0; i < 32; i++)
			v[i] = (uint8_t)(31 - i);
		is_int(crc32c(0, v, 32), 0x113FDB5C, "crc32c 31..0");
	}
	{
		static uint8_t big[70000];
		int wrong = 0;
		uint32_t seed = 12345;
		for (size_t i = 0; i < sizeof(big); i++) {
			seed = seed * 1103515245 + 12345;
			big[i] = (uint8_t)(seed >> 16);
		}
		for (int t = 0; t < 200; t++) {
			size_t off = (size_t)(t * 37 % 61), len = (size_t)(t * 331 % 69000);
			uint32_t ref = 0xffffffffu;
			for (size_t i = 0; i < len; i++) {
				ref ^= big[off + i];
				for (int k = 0; k < 8; k++)
					ref = ref & 1 ? 0x82f63b78u ^ (ref >> 1) : ref >> 1;
			}
			ref = ~ref;
			if (crc32c(0, big + off, len) != ref ||
			    crc32c(crc32c(0, big + off, len / 3), big + off + len / 3, len - len / 3) != ref)
				wrong++;
		}
		is_int(wrong, 0, "crc32c equals a bit-by-bit reference at 200 offsets and lengths, whole and chained");
	}
	return tap_done();
}
