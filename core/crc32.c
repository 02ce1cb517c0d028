/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "crc32.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include <nmmintrin.h>

static uint32_t table[8][256], ctable[8][256];
static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool have_sse42;
static void init_zblock(void);

static void fill(uint32_t t[8][256], uint32_t poly)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? poly ^ (c >> 1) : c >> 1;
		t[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int k = 1; k < 8; k++)
			t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xff];
}

static void init(void)
{
	fill(table, 0xedb88320u);
	fill(ctable, 0x82f63b78u);
	__builtin_cpu_init();
	have_sse42 = __builtin_cpu_supports("sse4.2");
	if (have_sse42)
		init_zblock();
}

/* slicing-by-8 */
static uint32_t crc_slice8(const uint32_t t[8][256], uint32_t crc, const uint8_t *p, size_t len)
{
	crc = ~crc;
	while (len >= 8) {
		uint32_t a = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
		uint32_t b = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
		crc = t[7][a & 0xff] ^ t[6][a >> 8 & 0xff] ^ t[5][a >> 16 & 0xff] ^ t[4][a >> 24] ^ t[3][b & 0xff] ^
		      t[2][b >> 8 & 0xff] ^ t[1][b >> 16 & 0xff] ^ t[0][b >> 24];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = t[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/*
 * The hardware CRC-32C: one crc32 instruction per 8 bytes has a latency of 3
 * cycles and a throughput of 1, so three streams run side by side over three
 * neighbouring blocks of CRC_BLOCK bytes and are joined: the register is linear,
 * R(s, A||B) = Z(R(s, A)) ^ R(0, B) where Z feeds CRC_BLOCK zero bytes (a
 * 32x32 bit matrix, applied through four tables of 256 entries made at init).
 */
#define CRC_BLOCK 8192u
static uint32_t zblock[4][256];

__attribute__((target("sse4.2"))) static uint32_t crc32c_zeros(uint32_t c, size_t n)
{
	uint64_t x = c;

	for (size_t i = 0; i < n / 8; i++)
		x = _mm_crc32_u64(x, 0);
	return (uint32_t)x;
}

static void init_zblock(void)
{
	uint32_t bit[32];

	for (int i = 0; i < 32; i++)
		bit[i] = crc32c_zeros(1u << i, CRC_BLOCK);
	for (int k = 0; k < 4; k++)
		for (uint32_t b = 0; b < 256; b++) {
			uint32_t v = 0;
			for (int i = 0; i < 8; i++)
				if (b >> i & 1)
					v ^= bit[8 * k + i];
			zblock[k][b] = v;
		}
}

static uint32_t shift_block(uint32_t c)
{
	return zblock[0][c & 0xff] ^ zblock[1][c >> 8 & 0xff] ^ zblock[2][c >> 16 & 0xff] ^ zblock[3][c >> 24];
}

__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const uint8_t *p, size_t len)
{
	uint64_t c = ~crc;

	while (len && ((uintptr_t)p & 7)) {
		c = _mm_crc32_u8((uint32_t)c, *p++);
		len--;
	}
	while (len >= 3 * CRC_BLOCK) {
		uint64_t c1 = 0, c2 = 0;
		for (size_t i = 0; i < CRC_BLOCK; i += 8) {
			uint64_t a, b, d;
			memcpy(&a, p + i, 8);
			memcpy(&b, p + CRC_BLOCK + i, 8);
			memcpy(&d, p + 2 * CRC_BLOCK + i, 8);
			c = _mm_crc32_u64(c, a);
			c1 = _mm_crc32_u64(c1, b);
			c2 = _mm_crc32_u64(c2, d);
		}
		c = shift_block(shift_block((uint32_t)c) ^ (uint32_t)c1) ^ (uint32_t)c2;
		p += 3 * CRC_BLOCK;
		len -= 3 * CRC_BLOCK;
	}
	while (len >= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		c = _mm_crc32_u64(c, v);
		p += 8;
		len -= 8;
	}
	while (len--)
		c = _mm_crc32_u8((uint32_t)c, *p++);
	return ~(uint32_t)c;
}

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
	pthread_once(&once, init);
	if (have_sse42)
		return crc32c_hw(crc, buf, len);
	return crc_slice8(ctable, crc, buf, len);
}

uint32_t crc32_le(uint32_t crc, const void *buf, size_t len)
{
	pthread_once(&once, init);
	return crc_slice8(table, crc, buf, len);
}
