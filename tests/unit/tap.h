/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SR_TAP_H
#define SR_TAP_H

/*
 * A small TAP (version 13) harness for the unit tests. Each assertion prints
 * one "ok N - name" or "not ok N - name" line; a failure adds "#" lines with
 * the file, line and what was seen. tap_done() prints the plan "1..N" last
 * and returns the exit status (1 if any assertion failed, else 0).
 *
 * Assertions made between tap_todo_begin() and tap_todo_end() carry the TAP
 * "# TODO" directive: a known bug that the test documents. Their failures do
 * not fail the run; an unexpected pass is reported with a diagnostic.
 *
 * Not thread-safe; children of fork() must not make assertions (report to the
 * parent through a pipe or the exit status instead).
 */

#include <stddef.h>
#include <stdint.h>

#include "core/macro.h"

int tap_ok_(int cond, const char *file, int line, const char *fmt, ...) _printf_(4, 5);
int tap_is_int_(intmax_t got, intmax_t want, const char *file, int line, const char *fmt, ...) _printf_(5, 6);
int tap_is_str_(const char *got, const char *want, const char *file, int line, const char *fmt, ...)
	_printf_(5, 6);
int tap_is_mem_(const void *got, const void *want, size_t len, const char *file, int line, const char *fmt, ...)
	_printf_(6, 7);

/* Assert cond; returns cond (0 or 1) so that tests can stop early on failure. */
#define ok(cond, ...) tap_ok_(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
/* Integers (compared as intmax_t; pass -errno values as they are). */
#define is_int(got, want, ...) tap_is_int_((intmax_t)(got), (intmax_t)(want), __FILE__, __LINE__, __VA_ARGS__)
/* NUL-terminated strings; NULL equals only NULL. */
#define is_str(got, want, ...) tap_is_str_((got), (want), __FILE__, __LINE__, __VA_ARGS__)
/* len bytes; a failure shows the first differing offset. */
#define is_mem(got, want, len, ...) tap_is_mem_((got), (want), (len), __FILE__, __LINE__, __VA_ARGS__)

/* A "# ..." comment line (on stdout, as TAP wants it). */
void diag(const char *fmt, ...) _printf_(1, 2);
/* Count one test as skipped: "ok N # SKIP reason". */
void skip(const char *fmt, ...) _printf_(1, 2);
/* Mark the following assertions as TODO (known bugs) until tap_todo_end(). */
void tap_todo_begin(const char *reason);
void tap_todo_end(void);

/* Print the plan; the return value is the exit status for main(). */
int tap_done(void);

#endif
