/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SR_LOG_H
#define SR_LOG_H

#include <stdarg.h>
#include <stdbool.h>

#include "macro.h"

/*
 * Errors are negative errno values. Code below the command layer never
 * prints: where an errno alone would not tell the user what is wrong, it
 * records a detail with sr_fail() and returns the errno. The command layer
 * prints once, with sr_error(), which uses the detail recorded for that
 * errno (if any) instead of strerror().
 *
 * The detail is per thread; sr_error() and sr_errmsg() consume it.
 */

/* Record a detail for error r (r < 0) and return r. */
int sr_fail(int r, const char *fmt, ...) _printf_(2, 3);
/* The detail for r, or strerror(-r); valid until the next sr_* call on this thread. */
const char *sr_errmsg(int r);
/* Forget any recorded detail. */
void sr_errclear(void);

/* Program name used as the message prefix ("shadowrev"). */
extern const char *sr_progname;
extern int sr_verbosity; /* 0 = quiet, 1 = normal, 2 = verbose */

/* "shadowrev: <msg>: <detail>" on stderr. Returns 1 (EXIT_FAILED) for convenience. */
int sr_error(int r, const char *fmt, ...) _printf_(2, 3);
/* "shadowrev: <msg>" on stderr. */
void sr_warn(const char *fmt, ...) _printf_(1, 2);
void sr_info(const char *fmt, ...) _printf_(1, 2);
void sr_debug(const char *fmt, ...) _printf_(1, 2);

#endif
