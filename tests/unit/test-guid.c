/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * core/guid: parsing, formatting, prefix matching, random GUIDs. Oracles: the
 * on-disk bytes of the VSS GUID as Windows writes them (vss-format.md §3),
 * and a naive formatter written here from the Microsoft layout (Data1, Data2
 * and Data3 little-endian, Data4 as bytes).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/guid.h"
#include "tap.h"

static const uint8_t vss_disk[16] = { 0x6b, 0x87, 0x08, 0x38, 0x76, 0xc1, 0x48, 0x4e,
				      0xb7, 0xae, 0x04, 0x04, 0x6e, 0x6c, 0xc7, 0x52 };
#define VSS_TEXT "3808876b-c176-4e48-b7ae-04046e6cc752"

/* The oracle: text from on-disk bytes, byte by byte. */
static void naive_format(const uint8_t *b, char *out)
{
	static const int order[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };
	char *o = out;

	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*o++ = '-';
		o += sprintf(o, "%02x", b[order[i]]);
	}
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
	/* xorshift64*: reproducible */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static void test_parse_known(void)
{
	struct sr_guid g;
	char buf[GUID_STRING_MAX];

	is_int(guid_parse(VSS_TEXT, &g), 0, "parse the VSS GUID");
	is_mem(g.b, vss_disk, 16, "VSS GUID has the on-disk byte order");
	is_str(guid_format(&g, buf), VSS_TEXT, "format gives lowercase text without braces");
	is_str(guid_format_braced(&g, buf), "{" VSS_TEXT "}", "braced format");

	memset(&g, 0, sizeof(g));
	is_int(guid_parse("{" VSS_TEXT "}", &g), 0, "parse with braces");
	is_mem(g.b, vss_disk, 16, "braces: same bytes");
	memset(&g, 0, sizeof(g));
	is_int(guid_parse("3808876B-C176-4E48-B7AE-04046E6CC752", &g), 0, "parse uppercase");
	is_mem(g.b, vss_disk, 16, "uppercase: same bytes");
	memset(&g, 0, sizeof(g));
	is_int(guid_parse("{3808876b-C176-4e48-B7ae-04046E6cc752}", &g), 0, "parse mixed case with braces");
	is_mem(g.b, vss_disk, 16, "mixed case: same bytes");

	is_int(guid_parse("00000000-0000-0000-0000-000000000000", &g), 0, "parse the null GUID");
	ok(guid_is_null(&g), "null GUID is null");
	is_int(guid_parse("ffffffff-ffff-ffff-ffff-ffffffffffff", &g), 0, "parse all ones");
	ok(!guid_is_null(&g), "all ones is not null");
	for (int i = 0; i < 16; i++)
		if (g.b[i] != 0xff)
			ok(0, "byte %d of all ones", i);
}

static void test_parse_malformed(void)
{
	static const char *bad[] = {
		"",
		"3808876b-c176-4e48-b7ae-04046e6cc75",     /* 35 characters */
		"3808876b-c176-4e48-b7ae-04046e6cc7522",   /* 37 */
		"3808876bc1764e48b7ae04046e6cc752",        /* no dashes */
		"3808876b-c1764-e48-b7ae-04046e6cc752",    /* dash moved */
		"3808876b-c176-4e48-b7ae04-046e6cc752",    /* dash moved */
		"3808876b-c176-4e48-b7ae-04046e6cc75g",    /* bad hex */
		"3808876x-c176-4e48-b7ae-04046e6cc752",
		"3808876b c176 4e48 b7ae 04046e6cc752",    /* spaces for dashes */
		" 3808876b-c176-4e48-b7ae-04046e6cc752",   /* leading space */
		"3808876b-c176-4e48-b7ae-04046e6cc752 ",   /* trailing space */
		"{3808876b-c176-4e48-b7ae-04046e6cc752",   /* one brace */
		"3808876b-c176-4e48-b7ae-04046e6cc752}",
		"(3808876b-c176-4e48-b7ae-04046e6cc752)",  /* wrong brackets */
		"{{3808876b-c176-4e48-b7ae-04046e6cc75}}",
		"+808876b-c176-4e48-b7ae-04046e6cc752",    /* 36 characters, not hex */
		"3808876b-+176-4e48-b7ae-04046e6cc752",
		"3808876b-c176-4e48-b7ae-04046e6cc7\xc3\xa9",
		"0x08876b-c176-4e48-b7ae-04046e6cc752",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct sr_guid g;
		memset(&g, 0xa5, sizeof(g));
		is_int(guid_parse(bad[i], &g), -EINVAL, "malformed '%s' rejected", bad[i]);
		for (int j = 0; j < 16; j++)
			if (g.b[j] != 0xa5) {
				ok(0, "malformed '%s': output written", bad[i]);
				break;
			}
	}
}

static void test_round_trip(void)
{
	int bad_fmt = 0, bad_parse = 0, bad_upper = 0;

	for (int i = 0; i < 20000; i++) {
		struct sr_guid g, h;
		char want[GUID_STRING_MAX] = { 0 }, got[GUID_STRING_MAX], upper[GUID_STRING_MAX + 2];
		uint64_t a = rnd(), b = rnd();

		memcpy(g.b, &a, 8);
		memcpy(g.b + 8, &b, 8);
		naive_format(g.b, want);
		if (strcmp(guid_format(&g, got), want) != 0 && bad_fmt++ < 3)
			diag("format: got %s, want %s", got, want);
		if ((guid_parse(want, &h) < 0 || !guid_equal(&g, &h)) && bad_parse++ < 3)
			diag("parse '%s' failed", want);
		snprintf(upper, sizeof(upper), "{%s}", want);
		for (char *p = upper; *p; p++)
			if (rnd() & 1)
				*p = (char)(*p >= 'a' && *p <= 'f' ? *p - 32 : *p);
		if ((guid_parse(upper, &h) < 0 || !guid_equal(&g, &h)) && bad_upper++ < 3)
			diag("parse '%s' failed", upper);
	}
	is_int(bad_fmt, 0, "20000 random GUIDs format like the naive formatter");
	is_int(bad_parse, 0, "and parse back to the same bytes");
	is_int(bad_upper, 0, "also braced in random case");
}

struct entry {
	int pad;
	struct sr_guid id;
	char more[13];
};

static void test_match(void)
{
	struct entry e[5];
	struct sr_guid g[3];
	const char *ids[5] = {
		"3808876b-c176-4e48-b7ae-04046e6cc752",
		"4e3c03c2-0000-4c5b-9d6c-005056c00008",
		"4e3c03c2-1111-4c5b-9d6c-005056c00008", /* shares 8 digits with [1] */
		"18f1ac6e-5bdf-11e3-9d6c-005056c00008",
		"3808876b-c176-4e48-b7ae-04046e6cc753", /* differs from [0] in the last digit */
	};
	size_t stride = sizeof(struct entry);

	memset(e, 0x5a, sizeof(e));
	for (int i = 0; i < 5; i++)
		if (guid_parse(ids[i], &e[i].id) < 0)
			ok(0, "setup parse %s", ids[i]);

	is_int(guid_match(ids[1], &e[0].id, 5, stride), 1, "full ID");
	is_int(guid_match("{4E3C03C2-1111-4C5B-9D6C-005056C00008}", &e[0].id, 5, stride), 2, "full ID, braces, uppercase");
	is_int(guid_match("4e3c03c211114c5b9d6c005056c00008", &e[0].id, 5, stride), 2, "full ID without dashes");
	is_int(guid_match("18f1", &e[0].id, 5, stride), 3, "4-digit prefix");
	is_int(guid_match("18F1AC", &e[0].id, 5, stride), 3, "uppercase prefix");
	is_int(guid_match("{18f1ac6e", &e[0].id, 5, stride), 3, "prefix with an opening brace");
	is_int(guid_match("18f1ac6e-5b", &e[0].id, 5, stride), 3, "prefix with a dash");
	is_int(guid_match("18f1-ac6e", &e[0].id, 5, stride), 3, "prefix with a dash elsewhere");
	is_int(guid_match("18f1ac6e5bdf11e3", &e[0].id, 5, stride), 3, "prefix across groups without dashes");
	is_int(guid_match("4e3c03c2-0", &e[0].id, 5, stride), 1, "prefix that tells two apart");
	is_int(guid_match("3808876b-c176-4e48-b7ae-04046e6cc752", &e[0].id, 5, stride), 0,
	       "full ID that is a prefix of nothing else");
	is_int(guid_match("4e3c03c2", &e[0].id, 5, stride), -ENOTUNIQ, "ambiguous prefix");
	is_int(guid_match("3808876b-c176-4e48-b7ae-04046e6cc75", &e[0].id, 5, stride), -ENOTUNIQ,
	       "ambiguous 31-digit prefix");
	is_int(guid_match("abcd", &e[0].id, 5, stride), -ENOENT, "no match");
	is_int(guid_match("18f1ac6e-5bdf-11e3-9d6c-005056c00009", &e[0].id, 5, stride), -ENOENT, "full ID, no match");
	is_int(guid_match("18f", &e[0].id, 5, stride), -EINVAL, "3 digits: too short");
	is_int(guid_match("{18-f", &e[0].id, 5, stride), -EINVAL, "3 digits with brace and dash: too short");
	is_int(guid_match("", &e[0].id, 5, stride), -EINVAL, "empty: too short");
	is_int(guid_match("18g1", &e[0].id, 5, stride), -EINVAL, "not hex");
	is_int(guid_match("18f1 ", &e[0].id, 5, stride), -EINVAL, "trailing space");
	is_int(guid_match("18f1ac6e-5bdf-11e3-9d6c-005056c000088", &e[0].id, 5, stride), -EINVAL, "33 digits");
	is_int(guid_match("18f1", &e[0].id, 0, stride), -ENOENT, "empty list");

	/* the same GUID listed twice (a shadow copy seen through two paths) is not ambiguous */
	guid_parse(ids[3], &g[0]);
	guid_parse(ids[1], &g[1]);
	guid_parse(ids[3], &g[2]);
	is_int(guid_match("18f1", g, 3, sizeof(g[0])), 0, "same GUID twice: the first index");
	is_int(guid_match("4e3c", g, 3, sizeof(g[0])), 1, "the other one");
	guid_parse(ids[2], &g[0]);
	is_int(guid_match("4e3c", g, 3, sizeof(g[0])), -ENOTUNIQ, "two different GUIDs still ambiguous");
	guid_parse(ids[1], &g[2]);
	is_int(guid_match("4e3c03c2-00", g, 3, sizeof(g[0])), 1, "duplicate after a non-matching GUID");
	is_int(guid_match("4e3c", g, 3, sizeof(g[0])), -ENOTUNIQ, "A, B, B: ambiguous");
}

static void test_random(void)
{
	struct sr_guid g, prev = { { 0 } };
	int bad_version = 0, bad_variant = 0, same = 0;
	unsigned seen_variant[4] = { 0 };

	for (int i = 0; i < 1000; i++) {
		char text[GUID_STRING_MAX] = { 0 };
		if (guid_random(&g) < 0) {
			ok(0, "guid_random");
			return;
		}
		naive_format(g.b, text);
		/* xxxxxxxx-xxxx-Mxxx-Nxxx-xxxxxxxxxxxx: M = 4, N in 8..b (RFC 4122 variant) */
		if (text[14] != '4')
			bad_version++;
		if (!strchr("89ab", text[19]))
			bad_variant++;
		seen_variant[(g.b[8] >> 4) & 3]++;
		if (guid_equal(&g, &prev))
			same++;
		prev = g;
	}
	is_int(bad_version, 0, "guid_random: version 4 in the text");
	is_int(bad_variant, 0, "guid_random: RFC 4122 variant in the text");
	ok(seen_variant[0] && seen_variant[1] && seen_variant[2] && seen_variant[3],
	   "guid_random: the variant nibble's free bits vary");
	is_int(same, 0, "guid_random: no repeats");
	ok(!guid_is_null(&g), "guid_random: not null");
}

int main(void)
{
	test_parse_known();
	test_parse_malformed();
	test_round_trip();
	test_match();
	test_random();
	return tap_done();
}
