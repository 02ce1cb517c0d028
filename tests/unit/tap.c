/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "tap.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static unsigned n_tests, n_failed, n_todo_passed;
static bool started;
static const char *todo;

static void start(void)
{
	if (started)
		return;
	started = true;
	/* unbuffered lines keep the output in order with the children's stderr */
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n");
}

static void result(int cond, const char *fmt, va_list ap)
{
	start();
	n_tests++;
	printf("%s %u - ", cond ? "ok" : "not ok", n_tests);
	vprintf(fmt, ap);
	if (todo)
		printf(" # TODO %s", todo);
	putchar('\n');
	if (!cond && !todo)
		n_failed++;
	if (cond && todo)
		n_todo_passed++;
}

int tap_ok_(int cond, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	result(cond, fmt, ap);
	va_end(ap);
	if (!cond)
		printf("#   Failed%s test at %s line %d.\n", todo ? " (TODO)" : "", file, line);
	return cond;
}

int tap_is_int_(intmax_t got, intmax_t want, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	int cond = got == want;

	va_start(ap, fmt);
	result(cond, fmt, ap);
	va_end(ap);
	if (!cond) {
		printf("#   Failed%s test at %s line %d.\n", todo ? " (TODO)" : "", file, line);
		printf("#          got: %" PRIdMAX " (0x%" PRIxMAX ")\n", got, (uintmax_t)got);
		printf("#     expected: %" PRIdMAX " (0x%" PRIxMAX ")\n", want, (uintmax_t)want);
	}
	return cond;
}

int tap_is_str_(const char *got, const char *want, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	int cond = (!got && !want) || (got && want && strcmp(got, want) == 0);

	va_start(ap, fmt);
	result(cond, fmt, ap);
	va_end(ap);
	if (!cond) {
		printf("#   Failed%s test at %s line %d.\n", todo ? " (TODO)" : "", file, line);
		printf("#          got: %s%s%s\n", got ? "'" : "", got ? got : "NULL", got ? "'" : "");
		printf("#     expected: %s%s%s\n", want ? "'" : "", want ? want : "NULL", want ? "'" : "");
	}
	return cond;
}

int tap_is_mem_(const void *got, const void *want, size_t len, const char *file, int line, const char *fmt, ...)
{
	const uint8_t *g = got, *w = want;
	va_list ap;
	size_t i = 0;
	int cond;

	while (i < len && g[i] == w[i])
		i++;
	cond = i == len;
	va_start(ap, fmt);
	result(cond, fmt, ap);
	va_end(ap);
	if (!cond) {
		printf("#   Failed%s test at %s line %d.\n", todo ? " (TODO)" : "", file, line);
		printf("#     first difference at offset %zu of %zu: got 0x%02x, expected 0x%02x\n", i, len, g[i], w[i]);
	}
	return cond;
}

void diag(const char *fmt, ...)
{
	va_list ap;

	start();
	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

void skip(const char *fmt, ...)
{
	va_list ap;

	start();
	n_tests++;
	printf("ok %u # SKIP ", n_tests);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

void tap_todo_begin(const char *reason)
{
	todo = reason;
}

void tap_todo_end(void)
{
	todo = NULL;
}

int tap_done(void)
{
	start();
	if (n_todo_passed)
		diag("%u TODO test(s) passed unexpectedly: the known bug may be fixed, drop the TODO", n_todo_passed);
	if (n_failed)
		diag("failed %u of %u test(s)", n_failed, n_tests);
	printf("1..%u\n", n_tests);
	fflush(stdout);
	return n_failed ? 1 : 0;
}
