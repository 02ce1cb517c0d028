/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "progress.h"
#include "target.h"

const struct cli_verb *cli_verbs;
size_t cli_n_verbs;

const struct cli_verb *cli_verb_find(const char *name)
{
	for (size_t i = 0; i < cli_n_verbs; i++)
		if (strcmp(cli_verbs[i].name, name) == 0)
			return &cli_verbs[i];
	return NULL;
}

void cli_help(const char *verb)
{
	const struct cli_verb *v = cli_verb_find(verb);

	if (v)
		fputs(v->usage, stdout);
}

int cli_usage(const char *verb, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s%s%s: ", sr_progname, verb ? " " : "", verb ? verb : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (verb)
		fprintf(stderr, "\nhint: see '%s help %s'\n", sr_progname, verb);
	else
		fprintf(stderr, "\nhint: see '%s --help'\n", sr_progname);
	return EXIT_USAGE;
}

int cli_common_option(struct cli_common *c, const char *verb, int opt, const char *arg, int *ret_exit)
{
	switch (opt) {
	case OPT_JSON:
		c->json = true;
		return 1;
	case OPT_QUIET:
		sr_verbosity = 0;
		progress_default_mode = PROGRESS_NONE;
		return 1;
	case OPT_VERBOSE:
		sr_verbosity = 2;
		return 1;
	case OPT_PROGRESS:
		if (strcmp(arg, "json") == 0)
			progress_default_mode = PROGRESS_JSON;
		else if (strcmp(arg, "none") == 0)
			progress_default_mode = PROGRESS_NONE;
		else if (strcmp(arg, "auto") == 0)
			progress_default_mode = PROGRESS_AUTO;
		else {
			*ret_exit = cli_usage(verb, "--progress takes auto, none or json, not '%s'", arg);
			return -1;
		}
		return 1;
	case OPT_HELP:
		cli_help(verb);
		*ret_exit = EXIT_OK;
		return -1;
	default:
		return 0;
	}
}

/*
 * The option word of the last error cli_getopt() found, and the full name of an option given
 * abbreviated. Only the word up to '=' is ever printed: a value may be a secret.
 */
static const char *bad_word;
static const char *bad_full;

/* The argv word that named long option o (optind is past it and its value). */
static const char *long_word(char **argv, const struct option *o)
{
	const char *w = argv[optind - 1];

	if (o->has_arg != required_argument)
		return w;
	/* --name=VALUE is one word; --name VALUE two */
	if (strncmp(w, "--", 2) == 0 && strchr(w, '=') && strncmp(w + 2, o->name, (size_t)(strchr(w, '=') - w - 2)) == 0)
		return w;
	return optind >= 2 ? argv[optind - 2] : w;
}

int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts)
{
	char opts[64];
	int idx = -1, o;

	/* a leading ':' makes a missing value return ':' rather than '?' */
	snprintf(opts, sizeof(opts), ":%s", shortopts);
	opterr = 0;
	bad_word = bad_full = NULL;
	o = getopt_long(argc, argv, opts, longopts, &idx);
	if ((o == '?' || o == ':') && optind >= 1 && optind - 1 < argc)
		bad_word = argv[optind - 1];
	/*
	 * getopt_long takes any unique prefix of a long option; shadowrev takes none: "--passphrase
	 * SECRET" would be --passphrase-file, and its value printed in the error about that file.
	 */
	if (o != -1 && o != '?' && o != ':' && idx >= 0) {
		const char *w = long_word(argv, &longopts[idx]);
		size_t n = strcspn(w, "=");
		if (strncmp(w, "--", 2) != 0 || n - 2 != strlen(longopts[idx].name) ||
		    strncmp(w + 2, longopts[idx].name, n - 2) != 0) {
			bad_word = w;
			bad_full = longopts[idx].name;
			optopt = 0;
			return '?';
		}
	}
	return o;
}

int cli_bad_option(const char *verb, int code, int argc _unused_, char **argv _unused_)
{
	const char *bad = bad_word ? bad_word : "?";
	int n = (int)strcspn(bad, "=");

	if (bad_full)
		return cli_usage(verb, "unknown option '%.*s' (options are not abbreviated: '--%s')", n, bad, bad_full);
	if (code == ':') {
		if (optopt > 0 && optopt < 0x100)
			return cli_usage(verb, "option '-%c' needs a value", optopt);
		return cli_usage(verb, "option '%.*s' needs a value", n, bad);
	}
	if (optopt > 0 && optopt < 0x100)
		return cli_usage(verb, "unknown option '-%c'", optopt);
	return cli_usage(verb, "unknown option '%.*s'", n, bad);
}

int cli_pending_revert(char *const *images, size_t n, bool refuse)
{
	int ret = EXIT_OK;

	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *jp = NULL, *id = NULL;

		if (target_journal_pending(images[i], &jp, &id) <= 0)
			continue;
		if (refuse)
			fprintf(stderr, "%s: cannot read '%s': it is half-reverted (an interrupted revert to {%s} is pending in '%s')\n",
				sr_progname, images[i], id, jp);
		else
			fprintf(stderr, "%s: warning: '%s' is half-reverted (an interrupted revert to {%s} is pending in '%s'): what it holds is neither the volume before nor after the revert\n",
				sr_progname, images[i], id, jp);
		if (strcmp(id, "?") != 0)
			fprintf(stderr, "hint: finish the revert with: %s revert %s %s --yes\n", sr_progname, id, images[i]);
		fprintf(stderr, "hint: or discard its journal (the volume stays as it is now) with: %s revert --discard-journal %s\n",
			sr_progname, images[i]);
		if (refuse)
			ret = EXIT_FAILED;
	}
	return ret;
}
