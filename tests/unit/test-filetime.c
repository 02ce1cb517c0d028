/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * core/filetime. Oracles: published FILETIME values (the creation time of
 * store 1 of the plaso test image, vss-format.md §2; the Unix epoch), values
 * computed with Python's datetime when this test was written, and the C
 * library (gmtime_r, timegm) over many random values, before and after 1970.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/filetime.h"
#include "tap.h"

#define TICKS UINT64_C(10000000)
#define EPOCH_SECS 11644473600LL /* 1601-01-01 to 1970-01-01 */

static uint64_t rng_state = 0x243f6a8885a308d3ULL;
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

/* The oracle: seconds since 1970 (floor) and the 100 ns remainder, then gmtime_r. */
static int oracle_format(uint64_t ft, char *buf, size_t size, int64_t *ret_secs)
{
	int64_t secs = (int64_t)(ft / TICKS) - EPOCH_SECS; /* FILETIME_UNIX_EPOCH is whole seconds */
	time_t t = (time_t)secs;
	struct tm tm;

	if (!gmtime_r(&t, &tm))
		return -1;
	snprintf(buf, size, "%04lld-%02d-%02dT%02d:%02d:%02d.%07" PRIu64 "Z", (long long)tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ft % TICKS);
	if (ret_secs)
		*ret_secs = secs;
	return 0;
}

static void check_known(uint64_t ft, const char *text)
{
	char buf[FILETIME_STRING_MAX];
	uint64_t back = 0;

	is_str(filetime_format(ft, buf, sizeof(buf)), text, "format %" PRIu64, ft);
	is_int(filetime_parse(text, &back), 0, "parse %s", text);
	ok(back == ft, "parse %s gives %" PRIu64 " (got %" PRIu64 ")", text, ft, back);
}

static void test_known(void)
{
	check_known(130305261097363787ULL, "2013-12-03T06:35:09.7363787Z");
	check_known(FILETIME_UNIX_EPOCH, "1970-01-01T00:00:00.0000000Z");
	is_int(FILETIME_UNIX_EPOCH, 116444736000000000LL, "FILETIME_UNIX_EPOCH");
	check_known(0, "1601-01-01T00:00:00.0000000Z");
	check_known(1, "1601-01-01T00:00:00.0000001Z");
	check_known(10000000, "1601-01-01T00:00:01.0000000Z");
	check_known(125963012960000000ULL, "2000-02-29T12:34:56.0000000Z");
	check_known(133537247990000000ULL, "2024-02-29T23:59:59.0000000Z");
	check_known(94405824000000000ULL, "1900-03-01T00:00:00.0000000Z");
	check_known(157520160000000000ULL, "2100-03-01T00:00:00.0000000Z");
	check_known(116444735990000000ULL, "1969-12-31T23:59:59.0000000Z");
	check_known(116444735999999999ULL, "1969-12-31T23:59:59.9999999Z");
	check_known(2650467743990000000ULL, "9999-12-31T23:59:59.0000000Z");
	check_known(2650467743999999999ULL, "9999-12-31T23:59:59.9999999Z");

	/* the fraction is optional and may be shorter */
	{
		uint64_t ft = 0;
		is_int(filetime_parse("2013-12-03T06:35:09Z", &ft), 0, "no fraction");
		ok(ft == 130305261090000000ULL, "no fraction: whole seconds");
		is_int(filetime_parse("2013-12-03T06:35:09.7Z", &ft), 0, "1 fraction digit");
		ok(ft == 130305261097000000ULL, "1 fraction digit is tenths");
		is_int(filetime_parse("2013-12-03T06:35:09.736378Z", &ft), 0, "6 fraction digits");
		ok(ft == 130305261097363780ULL, "6 fraction digits are microseconds");
	}

	/* the largest FILETIME: only formatting (a five-digit year) */
	{
		char buf[FILETIME_STRING_MAX], want[64];
		oracle_format(UINT64_MAX, want, sizeof(want), NULL);
		is_str(filetime_format(UINT64_MAX, buf, sizeof(buf)), want, "format UINT64_MAX as gmtime_r does");
		is_str(buf, "60056-05-28T05:36:10.9551615Z", "UINT64_MAX is in the year 60056");
		filetime_format(130305261097363787ULL, buf, 11);
		is_str(buf, "2013-12-03", "format truncates to the buffer size");
	}
}

static void test_random_vs_libc(void)
{
	int bad_fmt = 0, bad_parse = 0, bad_ts = 0, bad_back = 0, bad_timegm = 0;

	for (int i = 0; i < 200000; i++) {
		/* up to 9999-12-31, with a bias to both sides of 1970 */
		uint64_t ft = rnd() % 2650467744000000000ULL;
		char got[FILETIME_STRING_MAX], want[64];
		int64_t secs;
		struct timespec ts;
		uint64_t back = 0;

		if (i % 4 == 1)
			ft = FILETIME_UNIX_EPOCH - rnd() % (FILETIME_UNIX_EPOCH / 1000);
		if (i % 4 == 2)
			ft = FILETIME_UNIX_EPOCH + rnd() % (FILETIME_UNIX_EPOCH / 1000);
		if (oracle_format(ft, want, sizeof(want), &secs) < 0) {
			ok(0, "gmtime_r(%" PRIu64 ")", ft);
			return;
		}
		filetime_format(ft, got, sizeof(got));
		if (strcmp(got, want) != 0 && bad_fmt++ < 3)
			diag("format %" PRIu64 ": got %s, gmtime_r says %s", ft, got, want);
		if ((filetime_parse(want, &back) < 0 || back != ft) && bad_parse++ < 3)
			diag("parse %s: got %" PRIu64 ", want %" PRIu64, want, back, ft);
		ts = filetime_to_timespec(ft);
		if ((ts.tv_sec != secs || ts.tv_nsec != (long)(ft % TICKS) * 100) && bad_ts++ < 3)
			diag("timespec of %" PRIu64 ": got %lld.%09ld, want %lld.%09ld", ft, (long long)ts.tv_sec,
			     ts.tv_nsec, (long long)secs, (long)(ft % TICKS) * 100);
		back = 0;
		if ((filetime_from_timespec(ts, &back) < 0 || back != ft) && bad_back++ < 3)
			diag("from timespec %lld.%09ld: got %" PRIu64 ", want %" PRIu64, (long long)ts.tv_sec, ts.tv_nsec,
			     back, ft);

		/* parse a date made from random fields; timegm is the oracle */
		{
			struct tm tm = { 0 };
			char text[64];
			time_t t;
			tm.tm_year = (int)(rnd() % 8399) + 1601 - 1900;
			tm.tm_mon = (int)(rnd() % 12);
			tm.tm_mday = (int)(rnd() % 28) + 1;
			tm.tm_hour = (int)(rnd() % 24);
			tm.tm_min = (int)(rnd() % 60);
			tm.tm_sec = (int)(rnd() % 60);
			snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
				 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
			t = timegm(&tm);
			if ((filetime_parse(text, &back) < 0 || (int64_t)(back / TICKS) - EPOCH_SECS != (int64_t)t ||
			     back % TICKS) &&
			    bad_timegm++ < 3)
				diag("parse %s: got %" PRIu64 ", timegm says %lld s", text, back, (long long)t);
		}
	}
	is_int(bad_fmt, 0, "200000 random FILETIMEs format as gmtime_r does");
	is_int(bad_parse, 0, "and parse back");
	is_int(bad_ts, 0, "filetime_to_timespec floors, also before 1970");
	is_int(bad_back, 0, "filetime_from_timespec inverts it");
	is_int(bad_timegm, 0, "200000 random dates parse as timegm computes");
}

static void test_timespec(void)
{
	struct timespec ts;
	uint64_t ft = 7;

	ts = filetime_to_timespec(FILETIME_UNIX_EPOCH);
	ok(ts.tv_sec == 0 && ts.tv_nsec == 0, "epoch is 0.0");
	ts = filetime_to_timespec(FILETIME_UNIX_EPOCH - 1);
	ok(ts.tv_sec == -1 && ts.tv_nsec == 999999900, "100 ns before the epoch is -1 + 0.9999999 (got %lld.%09ld)",
	   (long long)ts.tv_sec, ts.tv_nsec);
	ts = filetime_to_timespec(0);
	ok(ts.tv_sec == -EPOCH_SECS && ts.tv_nsec == 0, "1601 is -11644473600 s");
	ts = filetime_to_timespec(UINT64_MAX);
	ok(ts.tv_sec == (time_t)(UINT64_MAX / TICKS - EPOCH_SECS) && ts.tv_nsec == 955161500, "UINT64_MAX");

	is_int(filetime_from_timespec((struct timespec){ .tv_sec = -EPOCH_SECS, .tv_nsec = 0 }, &ft), 0,
	       "1601-01-01 converts");
	ok(ft == 0, "to FILETIME 0");
	ft = 7;
	is_int(filetime_from_timespec((struct timespec){ .tv_sec = -EPOCH_SECS - 1, .tv_nsec = 999999999 }, &ft),
	       -ERANGE, "before 1601: -ERANGE");
	ok(ft == 7, "nothing written on -ERANGE");
	is_int(filetime_from_timespec((struct timespec){ .tv_sec = 0, .tv_nsec = 1000000000 }, &ft), -ERANGE,
	       "tv_nsec of 1e9: -ERANGE");
	is_int(filetime_from_timespec((struct timespec){ .tv_sec = 0, .tv_nsec = -1 }, &ft), -ERANGE,
	       "negative tv_nsec: -ERANGE");
	is_int(filetime_from_timespec((struct timespec){ .tv_sec = INT64_MAX, .tv_nsec = 0 }, &ft), -ERANGE,
	       "far future: -ERANGE");
	is_int(filetime_from_timespec((struct timespec){ .tv_sec = 1, .tv_nsec = 199 }, &ft), 0, "sub-100 ns");
	ok(ft == FILETIME_UNIX_EPOCH + TICKS + 1, "sub-100 ns is truncated");
	is_int(filetime_from_timespec(filetime_to_timespec(UINT64_MAX), &ft), 0, "UINT64_MAX round trip");
	ok(ft == UINT64_MAX, "UINT64_MAX round trip gives UINT64_MAX");
}

static void test_malformed(void)
{
	static const char *bad[] = {
		"",
		"2013-02-30T00:00:00Z",           /* February 30th */
		"2013-02-29T00:00:00Z",           /* not a leap year */
		"1900-02-29T00:00:00Z",           /* century, not a leap year */
		"2100-02-29T00:00:00Z",
		"2013-04-31T00:00:00Z",
		"2013-12-03T06:35:09",            /* missing Z */
		"2013-12-03T06:35:09.7363787",    /* missing Z */
		"2013-12-03T06:35:09.73637871Z",  /* 8 fraction digits */
		"2013-12-03T06:35:09.Z",          /* empty fraction */
		"2013-12-03T06:35:09,7Z",         /* comma */
		"2013-12-03 06:35:09Z",           /* space for T */
		"2013-12-03t06:35:09Z",
		"2013-12-03T06:35:09z",
		"2013-12-03T06:35:09ZZ",
		"2013-12-03T06:35:09+00:00",
		"2013-13-01T00:00:00Z",
		"2013-00-01T00:00:00Z",
		"2013-12-00T00:00:00Z",
		"2013-12-32T00:00:00Z",
		"2013-12-03T24:00:00Z",
		"2013-12-03T06:60:00Z",
		"2013-12-03T06:35:61Z",
		"2013-12-3T06:35:09Z",
		"13-12-03T06:35:09Z",
		"1600-12-31T23:59:59Z",           /* before 1601 */
		"0000-01-01T00:00:00Z",
		"2013-12-03T06:35",
		"2013-12-03",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		uint64_t ft = 42;
		is_int(filetime_parse(bad[i], &ft), -EINVAL, "'%s' rejected", bad[i]);
		ok(ft == 42, "'%s': nothing written", bad[i]);
	}

	/* sscanf's %u skips blanks and takes a sign: these are not the format either */
	static const char *lax[] = {
		"2013-12-03T06:35: 9Z",
		"2013-12-03T06: 5:09Z",
		"2013-+1-03T06:35:09Z",
		"2013-12-+3T06:35:09Z",
		"2013-12-03T+6:35:09Z",
	};
	for (size_t i = 0; i < ARRAY_SIZE(lax); i++) {
		uint64_t ft = 42;
		is_int(filetime_parse(lax[i], &ft), -EINVAL, "'%s' rejected", lax[i]);
	}
}

int main(void)
{
	test_known();
	test_random_vs_libc();
	test_timespec();
	test_malformed();
	return tap_done();
}
