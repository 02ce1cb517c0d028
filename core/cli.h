/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SR_CLI_H
#define SR_CLI_H

#include <getopt.h>
#include <stdbool.h>

#include "macro.h"

/* Exit codes, documented in README.md and pinned by tests/e2e. */
enum {
	EXIT_OK = 0,
	EXIT_FAILED = 1,  /* the command failed; nothing was left half-written */
	EXIT_USAGE = 2,   /* bad command line */
	EXIT_PARTIAL = 3, /* finished, but some items failed (each reported) */
};

/* A verb of the shadowrev command. The table lives in main.c. */
struct cli_verb {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary; /* one line for --help */
	const char *usage;   /* full text for `shadowrev help VERB` */
};

extern const struct cli_verb *cli_verbs;
extern size_t cli_n_verbs;

const struct cli_verb *cli_verb_find(const char *name);
/* Print the verb's usage on stdout. */
void cli_help(const char *verb);

/* Options every verb understands. */
struct cli_common {
	bool json;
};

enum {
	OPT_JSON = 0x1000,
	OPT_QUIET,
	OPT_PROGRESS,
	OPT_VERBOSE,
	OPT_HELP,
	OPT_FIRST_VERB_OPTION = 0x1100,
};

#define CLI_COMMON_LONG_OPTIONS                                        \
	{ "json", no_argument, NULL, OPT_JSON },                       \
	{ "quiet", no_argument, NULL, OPT_QUIET },                     \
	{ "verbose", no_argument, NULL, OPT_VERBOSE },                 \
	{ "progress", required_argument, NULL, OPT_PROGRESS },         \
	{ "help", no_argument, NULL, OPT_HELP }

/*
 * Handle one of the common options. Returns 1 if handled, 0 if opt is not a
 * common option, -1 if the command should stop with *ret_exit (help printed,
 * or a usage error reported).
 */
int cli_common_option(struct cli_common *c, const char *verb, int opt, const char *arg, int *ret_exit);

/* Report a usage error in one line plus a hint, return EXIT_USAGE. */
int cli_usage(const char *verb, const char *fmt, ...) _printf_(2, 3);

/*
 * getopt_long without getopt's own messages and without abbreviations (a long
 * option must be given by its full name: an abbreviation is an unknown option);
 * returns '?' (unknown) or ':' (value missing) on errors.
 */
int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts);
/*
 * After cli_getopt() returned '?' or ':' (code): report it in one line, return
 * EXIT_USAGE. Only the option's name is printed, never its value.
 */
int cli_bad_option(const char *verb, int code, int argc, char **argv);

/*
 * Images with a pending revert journal (half-reverted, target.h): say so on
 * stderr with the command that finishes the revert and the one that discards
 * it. refuse: as an error, and return EXIT_FAILED; else as a warning. Returns
 * EXIT_OK when none is pending (or an image cannot be resolved: the verb
 * reports that itself).
 */
int cli_pending_revert(char *const *images, size_t n, bool refuse);

#endif
