/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "log.h"

#include <stdio.h>
#include <string.h>

const char *sr_progname = "shadowrev";
int sr_verbosity = 1;

static __thread int detail_errno;
static __thread char detail[512];

int sr_fail(int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	detail_errno = r;
	return r;
}

void sr_errclear(void)
{
	detail_errno = 0;
	detail[0] = 0;
}

const char *sr_errmsg(int r)
{
	static __thread char out[sizeof(detail)];

	if (r < 0 && detail_errno == r && detail[0]) {
		memcpy(out, detail, sizeof(out));
		sr_errclear();
		return out;
	}
	sr_errclear();
	return strerror(r < 0 ? -r : r);
}

static void vprint(const char *fmt, va_list ap, const char *tail)
{
	fprintf(stderr, "%s: ", sr_progname);
	vfprintf(stderr, fmt, ap);
	if (tail)
		fprintf(stderr, ": %s", tail);
	fputc('\n', stderr);
}

int sr_error(int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint(fmt, ap, r < 0 ? sr_errmsg(r) : NULL);
	va_end(ap);
	return 1;
}

void sr_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint(fmt, ap, NULL);
	va_end(ap);
}

void sr_info(const char *fmt, ...)
{
	va_list ap;

	if (sr_verbosity < 1)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void sr_debug(const char *fmt, ...)
{
	va_list ap;

	if (sr_verbosity < 2)
		return;
	va_start(ap, fmt);
	vprint(fmt, ap, NULL);
	va_end(ap);
}
