/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Two SHA-256 streams interleaved with the SHA extensions (FIPS 180-4; the
 * state kept as the instructions want it: ABEF and CDGH).
 */
#include "sha256.h"

#include <cpuid.h>
#include <immintrin.h>
#include <pthread.h>
#include <string.h>

static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};
static const uint32_t H0[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
				0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };

static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool have_sha;

static void probe(void)
{
	unsigned a, b, c, d;

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_SSSE3) || !(c & bit_SSE4_1))
		return;
	have_sha = __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & bit_SHA);
}

#define TGT __attribute__((target("sha,sse4.1,ssse3")))

/*
 * Rounds 4i .. 4i+3 of one stream (state S0 = ABEF, S1 = CDGH; W: the four
 * message words in flight). The schedule runs three steps ahead: msg1 at step
 * i prepares the words of step i+3, alignr + msg2 at step i finish those of
 * step i+1.
 */
#define STEP(i, S0, S1, W, p)                                                                                  \
	do {                                                                                                  \
		__m128i m_;                                                                                   \
		if ((i) < 4)                                                                                  \
			W[(i)] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)((p) + 16 * (i))), bswap); \
		m_ = _mm_add_epi32(W[(i) & 3], _mm_loadu_si128((const __m128i *)&K[4 * (i)]));           \
		S1 = _mm_sha256rnds2_epu32(S1, S0, m_);                                                      \
		if ((i) >= 3 && (i) <= 14) {                                                                  \
			__m128i t_ = _mm_alignr_epi8(W[(i) & 3], W[((i) + 3) & 3], 4);                        \
			W[((i) + 1) & 3] =                                                                    \
				_mm_sha256msg2_epu32(_mm_add_epi32(W[((i) + 1) & 3], t_), W[(i) & 3]);        \
		}                                                                                             \
		m_ = _mm_shuffle_epi32(m_, 0x0E);                                                             \
		S0 = _mm_sha256rnds2_epu32(S0, S1, m_);                                                      \
		if ((i) >= 1 && (i) <= 12)                                                                    \
			W[((i) + 3) & 3] = _mm_sha256msg1_epu32(W[((i) + 3) & 3], W[(i) & 3]);                \
	} while (0)

TGT static void load_state(const uint32_t h[8], __m128i *s0, __m128i *s1)
{
	__m128i dcba = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[0]), 0xB1);
	__m128i efgh = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[4]), 0x1B);

	*s0 = _mm_alignr_epi8(dcba, efgh, 8);
	*s1 = _mm_blend_epi16(efgh, dcba, 0xF0);
}

TGT static void store_state(__m128i s0, __m128i s1, uint32_t h[8])
{
	__m128i t = _mm_shuffle_epi32(s0, 0x1B), u = _mm_shuffle_epi32(s1, 0xB1);

	_mm_storeu_si128((__m128i *)&h[0], _mm_blend_epi16(t, u, 0xF0));
	_mm_storeu_si128((__m128i *)&h[4], _mm_alignr_epi8(u, t, 8));
}

/* n 64-byte blocks of a and of b into the two states */
TGT static void blocks_x2(uint32_t ha[8], uint32_t hb[8], const uint8_t *a, const uint8_t *b, size_t n)
{
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
	__m128i a0, a1, b0, b1;

	load_state(ha, &a0, &a1);
	load_state(hb, &b0, &b1);
	for (; n; n--, a += 64, b += 64) {
		__m128i sa0 = a0, sa1 = a1, sb0 = b0, sb1 = b1, wa[4], wb[4];
#define BOTH(i)                           \
	do {                              \
		STEP(i, a0, a1, wa, a);   \
		STEP(i, b0, b1, wb, b);   \
	} while (0)
		BOTH(0);
		BOTH(1);
		BOTH(2);
		BOTH(3);
		BOTH(4);
		BOTH(5);
		BOTH(6);
		BOTH(7);
		BOTH(8);
		BOTH(9);
		BOTH(10);
		BOTH(11);
		BOTH(12);
		BOTH(13);
		BOTH(14);
		BOTH(15);
#undef BOTH
		a0 = _mm_add_epi32(a0, sa0);
		a1 = _mm_add_epi32(a1, sa1);
		b0 = _mm_add_epi32(b0, sb0);
		b1 = _mm_add_epi32(b1, sb1);
	}
	store_state(a0, a1, ha);
	store_state(b0, b1, hb);
}

/* The padded end of a message of len bytes (its last len % 64 bytes, 0x80, zeros, the length in bits): 1 or 2 blocks. */
static size_t final_blocks(const uint8_t *p, size_t len, uint8_t out[128])
{
	size_t tail = len % 64, n = tail < 56 ? 64 : 128;
	uint64_t bits = (uint64_t)len * 8;

	memset(out, 0, 128);
	memcpy(out, p + len - tail, tail);
	out[tail] = 0x80;
	for (int i = 0; i < 8; i++)
		out[n - 1 - i] = (uint8_t)(bits >> (8 * i));
	return n / 64;
}

static void put_be32(const uint32_t h[8], uint8_t out[32])
{
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(h[i] >> 8);
		out[4 * i + 3] = (uint8_t)h[i];
	}
}

bool sha256_x2(const void *a, const void *b, size_t len, uint8_t out_a[32], uint8_t out_b[32])
{
	uint32_t ha[8], hb[8];
	uint8_t fa[128], fb[128];
	size_t n;

	pthread_once(&once, probe);
	if (!have_sha)
		return false;
	memcpy(ha, H0, sizeof(ha));
	memcpy(hb, H0, sizeof(hb));
	blocks_x2(ha, hb, a, b, len / 64);
	n = final_blocks(a, len, fa);
	final_blocks(b, len, fb);
	blocks_x2(ha, hb, fa, fb, n);
	put_be32(ha, out_a);
	put_be32(hb, out_b);
	return true;
}
