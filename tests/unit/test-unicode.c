/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * core/unicode: utf16le_to_utf8. Oracle: glibc's iconv(3) (UTF-16LE to
 * UTF-8) on random valid strings; hand-made cases for unpaired surrogates
 * (which iconv refuses) and truncation.
 * utf16le_upcase_equal: over the $UpCase table mkntfs writes (libntfs-3g's
 * ntfs_upcase_table_build()), hand-made cases (non-ASCII letters, 'ß' that
 * $UpCase leaves alone, a short table) and libntfs-3g's
 * ntfs_names_are_equal(IGNORE_CASE) on random pairs.
 */
#include <errno.h>
#include <iconv.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* libntfs-3g's endian typedefs (le16, le32, le64) collide with macro.h's loaders: rename them here */
#define HAVE_STDINT_H 1
#define HAVE_SYS_STAT_H 1
#define le16 ntfs_le16
#define le32 ntfs_le32
#define le64 ntfs_le64
#include <ntfs-3g/types.h>
#include <ntfs-3g/volume.h>
#include <ntfs-3g/unistr.h>
#undef le16
#undef le32
#undef le64

#include "core/unicode.h"
#include "tap.h"

static uint64_t rng_state = 0xbe5466cf34e90c6cULL;
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

/* A random code point, not a surrogate, not NUL, from ASCII to the astral planes. */
static uint32_t random_cp(void)
{
	uint32_t cp;

	do {
		switch (rnd() % 4) {
		case 0: cp = (uint32_t)(rnd() % 0x80); break;
		case 1: cp = (uint32_t)(rnd() % 0x800); break;
		case 2: cp = (uint32_t)(rnd() % 0x10000); break;
		default: cp = 0x10000 + (uint32_t)(rnd() % 0x100000); break;
		}
	} while (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff));
	return cp;
}

/* Encode code points as UTF-16LE; returns the number of code units. */
static size_t to_utf16le(const uint32_t *cp, size_t n, uint8_t *out)
{
	size_t u = 0;

	for (size_t i = 0; i < n; i++) {
		uint32_t c = cp[i];
		if (c >= 0x10000) {
			c -= 0x10000;
			put_le16(out + 2 * u++, (uint16_t)(0xd800 + (c >> 10)));
			put_le16(out + 2 * u++, (uint16_t)(0xdc00 + (c & 0x3ff)));
		} else {
			put_le16(out + 2 * u++, (uint16_t)c);
		}
	}
	return u;
}

static size_t oracle(iconv_t cd, const uint8_t *in, size_t units, char *out, size_t outsz)
{
	char *ip = (char *)in, *op = out;
	size_t il = units * 2, ol = outsz;

	iconv(cd, NULL, NULL, NULL, NULL);
	if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1)
		return (size_t)-1;
	return outsz - ol;
}

static void check(const uint16_t *units, size_t n, const char *want, const char *name)
{
	uint8_t in[256];
	char out[256];

	for (size_t i = 0; i < n; i++)
		put_le16(in + 2 * i, units[i]);
	is_int(utf16le_to_utf8(in, n, out, sizeof(out)), strlen(want), "%s: length", name);
	is_str(out, want, "%s", name);
}

static void test_cases(void)
{
	check((const uint16_t[]){ 'i', 'n', 'f', 'i', 'n', 'i', 't', 'y' }, 8, "infinity", "ASCII");
	check((const uint16_t[]){ 0xe9, 0x20ac, 0xd83d, 0xde00 }, 4, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
	      "2-, 3- and 4-byte characters");
	check((const uint16_t[]){ 0xdbff, 0xdfff }, 2, "\xf4\x8f\xbf\xbf", "U+10FFFF");
	check((const uint16_t[]){ 0xd800, 0xdc00 }, 2, "\xf0\x90\x80\x80", "U+10000");
	check((const uint16_t[]){ 'a', 0xd83d }, 2, "a\xef\xbf\xbd", "high surrogate at the end -> U+FFFD");
	check((const uint16_t[]){ 0xd83d, 'b' }, 2, "\xef\xbf\xbd" "b", "high surrogate before a non-surrogate");
	check((const uint16_t[]){ 0xde00, 'c' }, 2, "\xef\xbf\xbd" "c", "lone low surrogate");
	check((const uint16_t[]){ 0xde00, 0xd83d }, 2, "\xef\xbf\xbd\xef\xbf\xbd", "low then high: two U+FFFD");
	check((const uint16_t[]){ 0xd83d, 0xd83d, 0xde00 }, 3, "\xef\xbf\xbd\xf0\x9f\x98\x80",
	      "high, then a valid pair");
	check((const uint16_t[]){ 0xfffd, 0xfeff, 0xffff }, 3, "\xef\xbf\xbd\xef\xbb\xbf\xef\xbf\xbf",
	      "U+FFFD, BOM and U+FFFF pass through");
	check((const uint16_t[]){ 'A', 'B', 0, 'C' }, 4, "AB", "stops at NUL");
	check((const uint16_t[]){ 0 }, 0, "", "empty");

	/* unaligned input */
	{
		uint8_t in[9] = { 0, 'x', 0, 0xac, 0x20, 'y', 0, 0, 0 };
		char out[16];
		is_int(utf16le_to_utf8(in + 1, 3, out, sizeof(out)), 5, "unaligned input: length");
		is_str(out, "x\xe2\x82\xacy", "unaligned input");
	}
}

static void test_truncation(void)
{
	/* "a" U+00E9 U+20AC U+1F600 "z": 1 + 2 + 3 + 4 + 1 bytes */
	static const char full[] = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z";
	static const size_t cut[] = { 0, 1, 1, 3, 3, 3, 6, 6, 6, 6, 10, 11 };
	uint8_t in[16];
	size_t n = to_utf16le((const uint32_t[]){ 'a', 0xe9, 0x20ac, 0x1f600, 'z' }, 5, in);
	char out[32];

	for (size_t outsz = 1; outsz <= 12; outsz++) {
		memset(out, 'X', sizeof(out));
		size_t r = utf16le_to_utf8(in, n, out, outsz);
		is_int(r, cut[outsz - 1], "outsz %zu: %zu bytes (whole characters only)", outsz, cut[outsz - 1]);
		ok(out[r] == 0 && memcmp(out, full, r) == 0, "outsz %zu: a NUL-terminated prefix", outsz);
		ok(out[outsz] == 'X', "outsz %zu: nothing written past outsz", outsz);
	}
	memset(out, 'X', sizeof(out));
	is_int(utf16le_to_utf8(in, n, out, 0), 0, "outsz 0: nothing");
	ok(out[0] == 'X', "outsz 0: nothing written");
}

static void test_random_vs_iconv(void)
{
	iconv_t cd = iconv_open("UTF-8", "UTF-16LE");
	static uint32_t cp[300];
	static uint8_t in[1200];
	static char got[2000], want[2000];
	int bad = 0, bad_trunc = 0;

	if (cd == (iconv_t)-1) {
		skip("iconv_open(UTF-8, UTF-16LE): %s", strerror(errno));
		return;
	}
	for (int i = 0; i < 5000; i++) {
		size_t n = (size_t)(rnd() % 300), units, wl, gl, outsz;
		for (size_t j = 0; j < n; j++)
			cp[j] = random_cp();
		units = to_utf16le(cp, n, in);
		wl = oracle(cd, in, units, want, sizeof(want));
		if (wl == (size_t)-1) {
			ok(0, "iconv refused a valid string");
			break;
		}
		gl = utf16le_to_utf8(in, units, got, sizeof(got));
		if ((gl != wl || memcmp(got, want, wl) != 0 || got[gl]) && bad++ < 3)
			diag("string %d (%zu code points): got %zu bytes, iconv %zu", i, n, gl, wl);
		/* truncated: the longest prefix of whole characters that fits outsz - 1 */
		outsz = (size_t)(rnd() % (wl + 2)) + 1;
		gl = utf16le_to_utf8(in, units, got, outsz);
		{
			size_t best = 0, pos = 0;
			while (pos < wl) {
				size_t l = ((uint8_t)want[pos] < 0x80) ? 1 : ((uint8_t)want[pos] < 0xe0) ? 2 :
					   ((uint8_t)want[pos] < 0xf0) ? 3 : 4;
				if (pos + l + 1 > outsz)
					break;
				pos += l;
				best = pos;
			}
			if ((gl != best || memcmp(got, want, gl) != 0 || got[gl]) && bad_trunc++ < 3)
				diag("string %d truncated to %zu: got %zu bytes, want %zu", i, outsz, gl, best);
		}
	}
	is_int(bad, 0, "5000 random valid strings convert as iconv does");
	is_int(bad_trunc, 0, "and truncate at a character boundary");
	iconv_close(cd);
}

#define UPCASE_UNITS 65536

/* UTF-8 literal to UTF-16LE (BMP only, enough for the cases below); returns code units */
static size_t to_u16(const char *s, uint8_t *out)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;

	while (*p) {
		uint32_t c;
		if (*p < 0x80)
			c = *p++;
		else if (*p < 0xe0)
			c = (uint32_t)(*p & 0x1f) << 6 | (p[1] & 0x3f), p += 2;
		else
			c = (uint32_t)(*p & 0x0f) << 12 | (uint32_t)(p[1] & 0x3f) << 6 | (p[2] & 0x3f), p += 3;
		put_le16(out + 2 * n++, (uint16_t)c);
	}
	return n;
}

static int eq(const uint8_t *upcase, size_t len, const char *a, const char *b)
{
	uint8_t x[256], y[256];
	size_t nx = to_u16(a, x), ny = to_u16(b, y);

	return utf16le_upcase_equal(upcase, len, x, nx, y, ny);
}

static void test_upcase(void)
{
	uint8_t *up = malloc(UPCASE_UNITS * 2);
	ntfschar *table = (ntfschar *)up;
	static uint8_t a[2 * 64 + 1], b[2 * 64 + 1];
	static const uint16_t pool[] = { 'a', 'A', 'z', 'Z', '0', '_', '.', ' ', 0xdf, 0xe9, 0xc9, 0xe4, 0xc4,
					 0xff, 0x178, 0x3c3, 0x3c2, 0x3a3, 0x44f, 0x42f, 0x1e9e, 0x131, 0x130,
					 0x69, 0x49, 0xd800, 0xdc00, 0xff41, 0xff21, 0x2170, 0x2160 };
	int bad = 0, equal = 0;

	if (!ok(up != NULL, "upcase table allocated"))
		return;
	ntfs_upcase_table_build(table, UPCASE_UNITS * 2);

	ok(eq(up, UPCASE_UNITS, "Windows", "WINDOWS"), "ASCII letters: Windows = WINDOWS");
	ok(eq(up, UPCASE_UNITS, "system32", "SyStEm32"), "digits stay as they are: system32 = SyStEm32");
	ok(!eq(up, UPCASE_UNITS, "System32", "System33"), "System32 != System33");
	ok(!eq(up, UPCASE_UNITS, "System32", "System32 "), "lengths differ: not equal");
	ok(eq(up, UPCASE_UNITS, "", ""), "empty names are equal");
	ok(eq(up, UPCASE_UNITS, "caf\xc3\xa9", "CAF\xc3\x89"), "e acute = E acute (U+00E9, U+00C9)");
	ok(eq(up, UPCASE_UNITS, "D\xc3\xa4ten", "D\xc3\x84TEN"), "a umlaut = A umlaut");
	ok(eq(up, UPCASE_UNITS, "\xd1\x8f\xd0\xb1", "\xd0\xaf\xd0\x91"), "Cyrillic ya be = YA BE");
	ok(!eq(up, UPCASE_UNITS, "stra\xc3\x9f" "e", "STRASSE"), "sharp s is not SS");
	ok(!eq(up, UPCASE_UNITS, "\xc3\x9f", "\xe1\xba\x9e"), "sharp s (U+00DF) is not capital sharp s (U+1E9E)");
	is_int(le16(up + 2 * 0xdf), 0xdf, "$UpCase leaves sharp s alone");
	ok(eq(up, UPCASE_UNITS, "\xc3\x9f", "\xc3\x9f"), "sharp s = sharp s");
	ok(!eq(up, UPCASE_UNITS, "caf\xc3\xa9", "CAFE"), "an accent is not dropped");
	/* a short table (only ASCII): what lies beyond it maps to itself */
	ok(eq(up, 128, "abc", "ABC"), "short table: ASCII still folds");
	ok(!eq(up, 128, "\xc3\xa9", "\xc3\x89"), "short table: e acute beyond it stays itself");
	ok(!eq(up, 0, "a", "A"), "no table: exact compare");
	/* unaligned */
	{
		uint8_t x[8] = { 0, 'w', 0, 0xe9, 0 }, y[8] = { 0, 0, 'W', 0, 0xc9, 0 };
		ok(utf16le_upcase_equal(up + 0, UPCASE_UNITS, x + 1, 2, y + 2, 2), "unaligned names");
	}

	/* random pairs against libntfs-3g: b is a with some code units swapped for others from the pool */
	for (int i = 0; i < 20000; i++) {
		size_t n = (size_t)(rnd() % 64), m = n;
		for (size_t j = 0; j < n; j++) {
			uint16_t c = pool[rnd() % ARRAY_SIZE(pool)];
			put_le16(a + 2 * j, c);
			put_le16(b + 2 * j, c);
			if (rnd() % 3 == 0)
				put_le16(b + 2 * j, (rnd() % 2) ? le16(up + 2 * c) : pool[rnd() % ARRAY_SIZE(pool)]);
		}
		if (rnd() % 16 == 0 && m)
			m--;
		bool got = utf16le_upcase_equal(up, UPCASE_UNITS, a, n, b, m);
		bool want = ntfs_names_are_equal((ntfschar *)a, n, (ntfschar *)b, m, IGNORE_CASE, table, UPCASE_UNITS);
		equal += want;
		if (got != want && bad++ < 3)
			diag("pair %d (%zu, %zu units): got %d, libntfs-3g %d", i, n, m, got, want);
	}
	is_int(bad, 0, "20000 random pairs compare as ntfs_names_are_equal(IGNORE_CASE) (%d equal)", equal);
	ok(equal > 1000 && equal < 19000, "both outcomes were exercised");
	free(up);
}

int main(void)
{
	test_cases();
	test_truncation();
	test_random_vs_iconv();
	test_upcase();
	return tap_done();
}
