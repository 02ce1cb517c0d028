/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/cli.h"
#include "core/filetime.h"
#include "core/io.h"
#include "core/json.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/repo.h"
#include "core/select.h"
#include "core/volset.h"
#include "recover.h"

#define CHUNK (4u << 20)

/*
 * Copy src to fd; holes where a 4 KiB block is zero when sparse is set (fd
 * then must be a fresh regular file). Returns 0 or -errno; *ret_data counts
 * the bytes written as data.
 */
static int copy_src(struct src *s, int fd, bool sparse, uint64_t *ret_data)
{
	_cleanup_free_ uint8_t *buf = malloc(CHUNK);
	struct progress p;
	uint64_t data = 0;
	int r = 0;

	if (!buf)
		return -ENOMEM;
	progress_begin(&p, "export", s->size);
	for (uint64_t off = 0; off < s->size;) {
		size_t n = (size_t)MIN((uint64_t)CHUNK, s->size - off);

		r = src_pread(s, buf, n, off);
		if (r < 0) {
			r = sr_fail(r, "cannot read %s at offset %llu: %s", s->name, (unsigned long long)off, sr_errmsg(r));
			break;
		}
		if (!sparse) {
			r = write_full(fd, buf, n);
			data += n;
		} else {
			for (size_t i = 0; i < n && r >= 0;) {
				size_t m = MIN((size_t)4096, n - i), run = m;
				bool z = mem_is_zero(buf + i, m);
				while (i + run < n && mem_is_zero(buf + i + run, MIN((size_t)4096, n - i - run)) == z)
					run += MIN((size_t)4096, n - i - run);
				if (!z) {
					r = pwrite_full(fd, buf + i, run, off + i);
					data += run;
				}
				i += run;
			}
		}
		if (r < 0)
			break;
		off += n;
		progress_update(&p, off);
	}
	progress_end(&p);
	if (r >= 0 && sparse && ftruncate(fd, (off_t)s->size) < 0)
		r = -errno;
	if (r >= 0)
		*ret_data = data;
	return r;
}

int cmd_export(int argc, char **argv)
{
	enum { OPT_TO = OPT_FIRST_VERB_OPTION, OPT_FORCE, OPT_REPO, OPT_PASS };
	static const struct option opts[] = { CLI_COMMON_LONG_OPTIONS,
					      { "to", required_argument, NULL, OPT_TO },
					      { "force", no_argument, NULL, OPT_FORCE },
					      { "repo", required_argument, NULL, OPT_REPO },
					      { "passphrase-file", required_argument, NULL, OPT_PASS },
					      { 0 } };
	struct cli_common c = { 0 };
	const char *to = NULL, *id, *repo_dir = NULL, *pass = NULL;
	bool force = false;
	struct volset *vs = NULL;
	_cleanup_src_ struct src *view = NULL;
	size_t vi;
	unsigned k;
	uint64_t data = 0;
	double t0 = now_seconds();
	int o, ex, r;

	while ((o = cli_getopt(argc, argv, "", opts)) != -1) {
		if (o == '?' || o == ':')
			return cli_bad_option("export", o, argc, argv);
		if (cli_common_option(&c, "export", o, optarg, &ex) < 0)
			return ex;
		if (o == OPT_TO)
			to = optarg;
		else if (o == OPT_FORCE)
			force = true;
		else if (o == OPT_REPO)
			repo_dir = optarg;
		else if (o == OPT_PASS)
			pass = optarg;
	}
	if (optind >= argc)
		return cli_usage("export", "no shadow copy ID given");
	id = argv[optind++];
	if (!to)
		return cli_usage("export", "--to FILE or --to - is required");
	if (optind < argc && repo_dir)
		return cli_usage("export", "give either IMAGE... or --repo, not both");
	if (optind < argc && pass)
		return cli_usage("export", "--passphrase-file is for the repository, not IMAGE...");
	if (strcmp(to, "-") == 0 && isatty(STDOUT_FILENO))
		return cli_usage("export", "refusing to write a volume image to a terminal");

	if (optind >= argc) {
		/* no image: a volume captured into the repository (--repo, or the default one) */
		struct repo *repo = NULL;
		struct repo_manifest *sets = NULL;
		size_t n_sets = 0;
		struct sel sl = { 0 };
		r = repo_open_any(repo_dir, pass, &repo);
		if (r >= 0)
			r = repo_sets_load(repo, &sets, &n_sets);
		if (r >= 0) {
			r = sel_resolve(repo, sets, n_sets, id, SEL_DISK | SEL_VOLUME | SEL_SHADOW, &sl);
			if (SEL_IS_USAGE(r)) {
				repo_manifests_free(sets, n_sets);
				repo_free(repo);
				sr_error(r, "cannot export '%s'", id);
				return EXIT_USAGE;
			}
		}
		if (r >= 0)
			r = sel_open(repo, sets, &sl, &view);
		sel_done(&sl);
		repo_manifests_free(sets, n_sets);
		repo_free(repo);
		if (r < 0)
			return sr_error(r, "cannot export shadow copy '%s'", id);
	} else {
		if (cli_pending_revert(argv + optind, (size_t)(argc - optind), true) != EXIT_OK)
			return EXIT_FAILED;
		r = volset_open(argv + optind, (size_t)(argc - optind), &vs);
		if (r < 0)
			return sr_error(r, "cannot export shadow copy '%s'", id);
		r = volset_find_shadow(vs, id, &vi, &k);
		if (SEL_IS_USAGE(r)) {
			sr_error(r, "cannot export shadow copy '%s'", id);
			volset_free(vs);
			return EXIT_USAGE;
		}
		if (r >= 0)
			r = vss_view_src_new(vs->vols[vi].vss, k, &view);
	}
	if (r < 0) {
		sr_error(r, "cannot export shadow copy '%s'", id);
		goto fail;
	}

	if (strcmp(to, "-") == 0) {
		r = copy_src(view, STDOUT_FILENO, false, &data);
	} else {
		/* an unnamed or randomly named file beside FILE (io_new_open): no name anyone can plant first */
		struct io_new n = IO_NEW_INIT;
		struct stat st;
		if (stat(to, &st) == 0 && S_ISBLK(st.st_mode)) {
			r = sr_fail(-EINVAL, "'%s' is a block device; write to a file or to standard output", to);
		} else if (!force && fstatat(AT_FDCWD, to, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			r = sr_fail(-EEXIST, "'%s' exists (use --force to replace it)", to);
		} else {
			r = io_new_open(&n, to);
			if (r < 0)
				r = sr_fail(r, "cannot create '%s': %s", to, strerror(-r));
		}
		if (r >= 0)
			r = copy_src(view, n.fd, true, &data);
		if (r >= 0) {
			/* without --force, a FILE that appeared meanwhile (or a symlink there) is never replaced */
			r = io_new_commit(&n, 0644, force ? IO_NEW_REPLACE : 0);
			if (r == -EEXIST)
				r = sr_fail(r, "'%s' exists (use --force to replace it)", to);
			else if (r < 0)
				r = sr_fail(r, "cannot write '%s': %s", to, strerror(-r));
		}
		io_new_done(&n);
	}
	if (r < 0) {
		sr_error(r, "cannot export shadow copy '%s'", id);
		goto fail;
	}
	if (c.json) {
		struct json j;
		char g[GUID_STRING_MAX];
		json_init(&j, strcmp(to, "-") == 0 ? stderr : stdout, false); /* the volume itself may be on stdout */
		json_obj_begin(&j);
		if (vs) {
			json_kstr(&j, "shadow_id", guid_format(&vss_volume_store(vs->vols[vi].vss, k)->copy_id, g));
			json_kstr(&j, "volume", vs->vols[vi].name);
		} else
			json_kstr(&j, "volume", view->name);
		json_kstr(&j, "to", to);
		json_ku64(&j, "size", view->size);
		json_ku64(&j, "data_bytes", data);
		json_key(&j, "seconds");
		fprintf(j.f, "%.3f", now_seconds() - t0);
		json_obj_end(&j);
		json_end(&j);
	}
	view = (src_unref(view), NULL);
	volset_free(vs);
	return EXIT_OK;
fail:
	view = (src_unref(view), NULL);
	volset_free(vs);
	return EXIT_FAILED;
}
