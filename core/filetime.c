/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "filetime.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

struct timespec filetime_to_timespec(uint64_t ft)
{
	int64_t rel;
	struct timespec ts;

	/* rel fits: FILETIME_UNIX_EPOCH < 2^63 and ft < 2^64 */
	if (ft >= FILETIME_UNIX_EPOCH) {
		uint64_t d = ft - FILETIME_UNIX_EPOCH;
		ts.tv_sec = (time_t)(d / 10000000);
		ts.tv_nsec = (long)(d % 10000000) * 100;
		return ts;
	}
	rel = -(int64_t)(FILETIME_UNIX_EPOCH - ft);
	ts.tv_sec = (time_t)(rel / 10000000);
	ts.tv_nsec = (long)(rel % 10000000) * 100;
	if (ts.tv_nsec < 0) {
		ts.tv_sec--;
		ts.tv_nsec += 1000000000L;
	}
	return ts;
}

int filetime_from_timespec(struct timespec ts, uint64_t *ret)
{
	__int128 v = (__int128)ts.tv_sec * 10000000 + ts.tv_nsec / 100 + (__int128)FILETIME_UNIX_EPOCH;

	if (v < 0 || v > (__int128)UINT64_MAX || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000L)
		return -ERANGE;
	*ret = (uint64_t)v;
	return 0;
}

/* Days since 1970-01-01 to a civil date (proleptic Gregorian), and back. */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

char *filetime_format(uint64_t ft, char *buf, size_t size)
{
	uint64_t secs = ft / 10000000, frac = ft % 10000000;
	/* days since 1601-01-01; 1601-01-01 is day -134774 relative to 1970 */
	int64_t days = (int64_t)(secs / 86400) - 134774;
	unsigned sod = (unsigned)(secs % 86400), m, d;
	int64_t y;

	civil_from_days(days, &y, &m, &d);
	snprintf(buf, size, "%04lld-%02u-%02uT%02u:%02u:%02u.%07lluZ", (long long)y, m, d, sod / 3600, sod / 60 % 60,
		 sod % 60, (unsigned long long)frac);
	return buf;
}

int filetime_parse(const char *s, uint64_t *ret)
{
	unsigned y, mo, d, h, mi, se;
	uint64_t frac = 0, secs;
	int n = 0, digits = 0;
	int64_t days;

	/* the layout first: sscanf alone would take blanks and signs inside fields */
	for (int i = 0; i < 19; i++) {
		char want = i == 4 || i == 7 ? '-' : i == 10 ? 'T' : i == 13 || i == 16 ? ':' : 0;
		if (want ? s[i] != want : !isdigit((unsigned char)s[i]))
			return -EINVAL;
	}
	if (sscanf(s, "%4u-%2u-%2uT%2u:%2u:%2u%n", &y, &mo, &d, &h, &mi, &se, &n) != 6 || n != 19)
		return -EINVAL;
	if (y < 1601 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
		return -EINVAL;
	s += n;
	if (*s == '.') {
		s++;
		while (isdigit((unsigned char)*s) && digits < 7) {
			frac = frac * 10 + (uint64_t)(*s - '0');
			s++;
			digits++;
		}
		if (digits == 0 || isdigit((unsigned char)*s))
			return -EINVAL;
		for (; digits < 7; digits++)
			frac *= 10;
	}
	if (strcmp(s, "Z") != 0)
		return -EINVAL;
	days = days_from_civil(y, mo, d);
	{
		int64_t y2;
		unsigned m2, d2;
		civil_from_days(days, &y2, &m2, &d2);
		if (y2 != (int64_t)y || m2 != mo || d2 != d)
			return -EINVAL; /* e.g. February 30th */
	}
	secs = (uint64_t)(days + 134774) * 86400 + h * 3600 + mi * 60 + se;
	if (secs > (UINT64_MAX - frac) / 10000000)
		return -ERANGE;
	*ret = secs * 10000000 + frac;
	return 0;
}
