/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `shadowrev mount` and `shadowrev unmount`. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cli.h"
#include "core/json.h"
#include "core/log.h"
#include "mount-internal.h"
#include "mount.h"

/* "256M", "1G", "65536": bytes; -1 if malformed */
static int parse_size(const char *s, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	default: break;
	}
	if (*end == 'i' || *end == 'B')
		end++;
	if (*end)
		return -1;
	*ret = v;
	return 0;
}

int cmd_mount(int argc, char **argv)
{
	enum { OPT_REPO = OPT_FIRST_VERB_OPTION, OPT_FG, OPT_CACHE, OPT_THREADS, OPT_ALLOW, OPT_SYS, OPT_PASS };
	static const struct option opts[] = { CLI_COMMON_LONG_OPTIONS,
					      { "repo", required_argument, NULL, OPT_REPO },
					      { "foreground", no_argument, NULL, OPT_FG },
					      { "cache-size", required_argument, NULL, OPT_CACHE },
					      { "threads", required_argument, NULL, OPT_THREADS },
					      { "allow-other", no_argument, NULL, OPT_ALLOW },
					      { "system-files", no_argument, NULL, OPT_SYS },
					      { "passphrase-file", required_argument, NULL, OPT_PASS },
					      { 0 } };
	struct cli_common c = { 0 };
	struct mnt_options mo = { .cache_size = mnt_default_cache(), .ready_fd = -1 };
	const char *repo_dir = NULL, *pass_file = NULL, *only = NULL;
	char mp[PATH_MAX];
	struct mnt_tree *t = NULL;
	bool sys = false;
	struct stat st;
	int o, ex, r, state, parent_exit;
	struct sr_guid sid, setid;
	bool reopen;

	while ((o = cli_getopt(argc, argv, "f", opts)) != -1) {
		if (o == '?' || o == ':')
			return cli_bad_option("mount", o, argc, argv);
		if (cli_common_option(&c, "mount", o, optarg, &ex) < 0)
			return ex;
		switch (o) {
		case OPT_REPO:
			repo_dir = optarg;
			break;
		case 'f':
		case OPT_FG:
			mo.foreground = true;
			break;
		case OPT_CACHE:
			if (parse_size(optarg, &mo.cache_size) < 0)
				return cli_usage("mount", "--cache-size takes a size (256M, 1G), not '%s'", optarg);
			break;
		case OPT_THREADS:
			mo.threads = (unsigned)atoi(optarg);
			if (mo.threads < 1 || mo.threads > 256)
				return cli_usage("mount", "--threads takes 1..256, not '%s'", optarg);
			break;
		case OPT_ALLOW:
			mo.allow_other = true;
			break;
		case OPT_SYS:
			sys = true;
			break;
		case OPT_PASS:
			pass_file = optarg;
			break;
		default:
			break;
		}
	}
	if (optind >= argc)
		return cli_usage("mount", "no mount point given");
	if (repo_dir && argc - optind > 2)
		return cli_usage("mount", "give either IMAGE... or --repo [NAME], not both");
	/* --repo DIR NAME MOUNTPOINT: one captured volume or shadow copy (core/select.h) at the root */
	only = repo_dir && argc - optind == 2 ? argv[optind] : NULL;

	/* a shadowrev mount whose daemon died is in the way: clean it first */
	state = mnt_probe(argv[argc - 1], NULL);
	if (state == 2) {
		sr_warn("'%s' was a shadowrev mount whose daemon died; unmounting it", argv[argc - 1]);
		(void)mnt_unmount_path(argv[argc - 1], true);
	} else if (state == 1) {
		return sr_error(-EBUSY, "cannot mount on '%s': a shadowrev mount is there already", argv[argc - 1]);
	}
	if (!realpath(argv[argc - 1], mp) || stat(mp, &st) < 0)
		return sr_error(-errno, "cannot mount on '%s'", argv[argc - 1]);
	if (!S_ISDIR(st.st_mode))
		return sr_error(-ENOTDIR, "cannot mount on '%s'", argv[argc - 1]);

	if (argc - optind > 1 && cli_pending_revert(argv + optind, (size_t)(argc - optind - 1), true) != EXIT_OK)
		return EXIT_FAILED;
	r = mnt_tree_new(&t);
	if (r >= 0) {
		t->list_system = sys;
		if (only)
			r = mnt_build_shadow(t, only, NULL, 0, repo_dir, pass_file, &sid, &setid);
		else if (argc - optind > 1)
			r = mnt_build_images(t, argv + optind, (size_t)(argc - optind - 1));
		else
			r = mnt_build_repo(t, repo_dir, pass_file, mo.cache_size);
	}
	if (r < 0) {
		mnt_tree_free(t);
		if (only) {
			sr_error(r, "cannot mount '%s'", only);
			return r == -ENOENT || r == -ENOTUNIQ ? EXIT_USAGE : EXIT_FAILED;
		}
		return sr_error(r, "cannot mount %s", argc - optind > 1 ? "the images" : "the repository");
	}
	/*
	 * A repository's volumes decode with threads of their own, which fork()
	 * does not carry into the daemon (joining them there crashed): what was
	 * opened here only proved that the name resolves; the daemon opens it again.
	 */
	reopen = only && !mo.foreground;
	if (reopen) {
		mnt_tree_free(t);
		t = NULL;
	}
	r = mnt_daemonize(mo.foreground, &mo.ready_fd, &parent_exit);
	if (r < 0) {
		mnt_tree_free(t);
		return sr_error(r, "cannot start the mount daemon");
	}
	if (r > 0) {
		/* the parent: the child reported that the mount serves, or why not */
		mnt_tree_free(t);
		if (parent_exit == EXIT_OK && c.json) {
			struct json j;
			pid_t pid = 0;
			(void)mnt_probe(mp, &pid);
			json_init(&j, stdout, true);
			json_obj_begin(&j);
			json_kstr(&j, "mountpoint", mp);
			json_ku64(&j, "pid", (uint64_t)pid);
			json_kstr(&j, "source", only ? only : argc - optind > 1 ? "images" : "repository");
			json_ku64(&j, "cache_size", !only && argc - optind > 1 ? 0 : mo.cache_size);
			json_obj_end(&j);
			json_end(&j);
		}
		return parent_exit;
	}
	if (reopen) {
		r = mnt_tree_new(&t);
		if (r >= 0) {
			t->list_system = sys;
			r = mnt_build_shadow(t, only, NULL, 0, repo_dir, pass_file, &sid, &setid);
		}
		if (r < 0) {
			sr_error(r, "cannot mount '%s'", only);
			mnt_ready(mo.ready_fd, EXIT_FAILED);
			mnt_tree_free(t);
			return EXIT_FAILED;
		}
	}
	r = mnt_serve(t, mp, &mo);
	if (r < 0) {
		sr_error(r, "cannot mount on '%s'", mp);
		mnt_ready(mo.ready_fd, EXIT_FAILED);
		mnt_tree_free(t);
		return EXIT_FAILED;
	}
	mnt_tree_free(t);
	return EXIT_OK;
}

int cmd_unmount(int argc, char **argv)
{
	enum { OPT_LAZY = OPT_FIRST_VERB_OPTION };
	static const struct option opts[] = { CLI_COMMON_LONG_OPTIONS, { "lazy", no_argument, NULL, OPT_LAZY }, { 0 } };
	struct cli_common c = { 0 };
	bool lazy = false;
	int o, ex, r;

	while ((o = cli_getopt(argc, argv, "", opts)) != -1) {
		if (o == '?' || o == ':')
			return cli_bad_option("unmount", o, argc, argv);
		if (cli_common_option(&c, "unmount", o, optarg, &ex) < 0)
			return ex;
		if (o == OPT_LAZY)
			lazy = true;
	}
	if (optind >= argc)
		return cli_usage("unmount", "no mount point given");
	if (argc - optind > 1)
		return cli_usage("unmount", "one mount point at a time");
	r = mnt_unmount_path(argv[optind], lazy);
	if (r < 0)
		return sr_error(r, "cannot unmount '%s'", argv[optind]);
	return EXIT_OK;
}
