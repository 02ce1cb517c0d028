/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `shadowrev expose` / `unexpose`: one shadow copy under a drive-letter
 * folder. Layout under the root (default /run/shadowrev/drives):
 *
 *   .shadowrev/lock            taken while exposures change
 *   .shadowrev/exposures.json  the records (atomic_replace), until the catalog has a table for them
 *   .shadowrev/mnt/E/          the FUSE mount: volume.img, files/
 *   E/                         files/ bind-mounted read-only (a symlink if bind mounts are not allowed)
 *
 * With --block, a read-only loop device is attached to volume.img.
 */
#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/cli.h"
#include "core/guid.h"
#include "core/io.h"
#include "core/json.h"
#include "core/log.h"
#include "mount-internal.h"
#include "mount.h"

#define DEFAULT_ROOT "/run/shadowrev/drives"

/* snprintf that truncates silently (paths here are bounded by PATH_MAX checks elsewhere) */
static void _printf_(3, 4) sfmt(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(buf, size, fmt, ap);
	va_end(ap);
}

struct exposure {
	char letter;
	char shadow_id[GUID_STRING_MAX];
	int pid;
	char loop[64];
	char source[1024]; /* images or repository, for the listing */
	long long created;
	bool dead; /* found at load time */
};

struct exposures {
	struct exposure *v;
	size_t n, cap;
};

static void paths(const char *root, char letter, char *mnt, char *drive, size_t size)
{
	sfmt(mnt, size, "%s/.shadowrev/mnt/%c", root, letter);
	sfmt(drive, size, "%s/%c", root, letter);
}

/* the records: a small JSON document of flat objects, read back by this parser only */

static const char *skip_ws(const char *p)
{
	while (*p && isspace((unsigned char)*p))
		p++;
	return p;
}

static const char *parse_string(const char *p, char *out, size_t size)
{
	size_t o = 0;

	if (*p != '"')
		return NULL;
	for (p++; *p && *p != '"'; p++) {
		char c = *p;
		if (c == '\\') {
			p++;
			if (*p == 'u') {
				unsigned v = 0;
				for (int i = 0; i < 4; i++) {
					p++;
					if (!isxdigit((unsigned char)*p))
						return NULL;
					v = v * 16 + (unsigned)(isdigit((unsigned char)*p) ? *p - '0' : (tolower(*p) - 'a' + 10));
				}
				c = v < 0x80 ? (char)v : '?';
			} else if (*p == 'n')
				c = '\n';
			else if (*p == 't')
				c = '\t';
			else if (*p)
				c = *p;
			else
				return NULL;
		}
		if (o + 1 < size)
			out[o++] = c;
	}
	if (*p != '"')
		return NULL;
	out[o] = 0;
	return p + 1;
}

static int records_parse(const char *text, struct exposures *ret)
{
	const char *p = strstr(text, "[");

	if (!p)
		return -EBADMSG;
	p = skip_ws(p + 1);
	while (*p == '{') {
		struct exposure e = { 0 };
		p = skip_ws(p + 1);
		while (*p == '"') {
			char key[64], val[1024];
			p = parse_string(p, key, sizeof(key));
			if (!p)
				return -EBADMSG;
			p = skip_ws(p);
			if (*p++ != ':')
				return -EBADMSG;
			p = skip_ws(p);
			if (*p == '"') {
				p = parse_string(p, val, sizeof(val));
				if (!p)
					return -EBADMSG;
			} else {
				size_t n = strcspn(p, ",}");
				sfmt(val, sizeof(val), "%.*s", (int)MIN(n, sizeof(val) - 1), p);
				p += n;
			}
			if (strcmp(key, "letter") == 0)
				e.letter = val[0];
			else if (strcmp(key, "shadow_id") == 0)
				sfmt(e.shadow_id, sizeof(e.shadow_id), "%s", val);
			else if (strcmp(key, "pid") == 0)
				e.pid = atoi(val);
			else if (strcmp(key, "loop") == 0 && strcmp(val, "null") != 0)
				sfmt(e.loop, sizeof(e.loop), "%s", val);
			else if (strcmp(key, "source") == 0)
				sfmt(e.source, sizeof(e.source), "%s", val);
			else if (strcmp(key, "created") == 0)
				e.created = atoll(val);
			p = skip_ws(p);
			if (*p == ',')
				p = skip_ws(p + 1);
		}
		if (*p++ != '}')
			return -EBADMSG;
		if (e.letter >= 'A' && e.letter <= 'Z' && vec_push(ret, e) < 0)
			return -ENOMEM;
		p = skip_ws(p);
		if (*p == ',')
			p = skip_ws(p + 1);
	}
	return 0;
}

static void records_path(const char *root, char *out, size_t size)
{
	sfmt(out, size, "%s/.shadowrev/exposures.json", root);
}

static int records_load(const char *root, struct exposures *ret)
{
	char path[4096];
	_cleanup_free_ void *data = NULL;
	size_t len;
	int r;

	records_path(root, path, sizeof(path));
	r = read_file(path, 1 << 20, &data, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return sr_fail(r, "cannot read '%s': %s", path, strerror(-r));
	r = records_parse(data, ret);
	if (r < 0)
		return sr_fail(r, "'%s' is corrupt", path);
	return 0;
}

static void records_write_json(FILE *f, const struct exposures *x, const char *root, bool pretty, bool status)
{
	struct json j;

	json_init(&j, f, pretty);
	json_obj_begin(&j);
	json_key(&j, "exposures");
	json_arr_begin(&j);
	for (size_t i = 0; i < x->n; i++) {
		const struct exposure *e = &x->v[i];
		char l[2] = { e->letter, 0 }, mnt[4096], drive[4096];
		paths(root, e->letter, mnt, drive, sizeof(mnt));
		json_obj_begin(&j);
		json_kstr(&j, "letter", l);
		json_kstr(&j, "shadow_id", e->shadow_id);
		json_ku64(&j, "pid", (uint64_t)e->pid);
		json_kstr(&j, "drive", drive);
		json_kstr(&j, "mount", mnt);
		json_kstr(&j, "loop", e->loop[0] ? e->loop : NULL);
		json_kstr(&j, "source", e->source);
		json_ku64(&j, "created", (uint64_t)e->created);
		if (status)
			json_kstr(&j, "state", e->dead ? "dead" : "alive");
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_obj_end(&j);
	json_end(&j);
}

static int records_save(const char *root, const struct exposures *x)
{
	char path[4096];
	char *data = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&data, &len);
	int r;

	if (!f)
		return -ENOMEM;
	records_write_json(f, x, root, true, false);
	if (fclose(f) != 0) {
		free(data);
		return -ENOMEM;
	}
	records_path(root, path, sizeof(path));
	r = atomic_replace(path, data, len, 0644);
	free(data);
	if (r < 0)
		return sr_fail(r, "cannot write '%s': %s", path, strerror(-r));
	return 0;
}

/* loop devices */

static int loop_attach(const char *file, char *ret_dev, size_t size)
{
	_cleanup_close_ int ctl = -1, ffd = -1;
	int r = -EBUSY;

	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return sr_fail(-errno, "cannot open /dev/loop-control: %s", strerror(errno));
	ffd = open(file, O_RDONLY | O_CLOEXEC);
	if (ffd < 0)
		return sr_fail(-errno, "cannot open '%s': %s", file, strerror(errno));
	for (int attempt = 0; attempt < 16 && r == -EBUSY; attempt++) {
		struct loop_config cfg;
		char dev[64];
		int n = ioctl(ctl, LOOP_CTL_GET_FREE), lfd;

		if (n < 0)
			return sr_fail(-errno, "no free loop device: %s", strerror(errno));
		sfmt(dev, sizeof(dev), "/dev/loop%d", n);
		lfd = open(dev, O_RDONLY | O_CLOEXEC);
		if (lfd < 0)
			return sr_fail(-errno, "cannot open '%s': %s", dev, strerror(errno));
		memset(&cfg, 0, sizeof(cfg));
		cfg.fd = (uint32_t)ffd;
		cfg.info.lo_flags = LO_FLAGS_READ_ONLY;
		sfmt((char *)cfg.info.lo_file_name, sizeof(cfg.info.lo_file_name), "%s", file);
		if (ioctl(lfd, LOOP_CONFIGURE, &cfg) == 0) {
			sfmt(ret_dev, size, "%s", dev);
			r = 0;
		} else if (errno == EBUSY) {
			r = -EBUSY; /* another process took it first */
		} else if (errno == EINVAL || errno == ENOTTY) {
			/* a kernel before 5.8: the two-step way */
			struct loop_info64 info = cfg.info;
			if (ioctl(lfd, LOOP_SET_FD, ffd) < 0) {
				r = errno == EBUSY ? -EBUSY : sr_fail(-errno, "cannot attach '%s': %s", dev, strerror(errno));
			} else if (ioctl(lfd, LOOP_SET_STATUS64, &info) < 0) {
				r = sr_fail(-errno, "cannot configure '%s': %s", dev, strerror(errno));
				(void)ioctl(lfd, LOOP_CLR_FD, 0);
			} else {
				sfmt(ret_dev, size, "%s", dev);
				r = 0;
			}
		} else {
			r = sr_fail(-errno, "cannot attach '%s': %s", dev, strerror(errno));
		}
		close(lfd);
	}
	return r;
}

/* Detach dev if it still reads file (or anything under the state folder, mnt). */
static int loop_detach(const char *dev, const char *mnt)
{
	char sys[128], back[4096] = "";
	const char *name = strrchr(dev, '/');
	_cleanup_close_ int fd = -1;
	ssize_t n;

	if (!name)
		return -EINVAL;
	sfmt(sys, sizeof(sys), "/sys/block/%s/loop/backing_file", name + 1);
	fd = open(sys, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0; /* not attached any more */
	n = read(fd, back, sizeof(back) - 1);
	if (n > 0)
		back[n] = 0;
	if (strncmp(back, mnt, strlen(mnt)) != 0)
		return 0; /* reused for something else: not ours */
	close(fd);
	fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, LOOP_CLR_FD, 0) < 0)
		return sr_fail(-errno, "cannot detach '%s': %s", dev, strerror(errno));
	return 0;
}

static bool exposure_alive(const char *root, const struct exposure *e)
{
	char mnt[4096], drive[4096];

	paths(root, e->letter, mnt, drive, sizeof(mnt));
	return mnt_pid_alive(e->pid) && mnt_probe(mnt, NULL) == 1;
}

/* Undo an exposure: loop device, drive folder, FUSE mount. force: its daemon died (lazy unmounts). */
static int exposure_teardown(const char *root, const struct exposure *e, bool force)
{
	char mnt[4096], drive[4096];
	struct stat st;
	int r;

	paths(root, e->letter, mnt, drive, sizeof(mnt));
	if (e->loop[0]) {
		r = loop_detach(e->loop, mnt);
		if (r < 0 && !force)
			return r;
	}
	if (lstat(drive, &st) == 0) {
		if (S_ISLNK(st.st_mode)) {
			(void)unlink(drive);
		} else {
			if (umount2(drive, force ? MNT_DETACH : 0) < 0 && errno != EINVAL && errno != ENOENT) {
				if (errno == EBUSY)
					return sr_fail(-EBUSY, "'%s' is busy (a process uses files in it)", drive);
				if (!force)
					return sr_fail(-errno, "cannot unmount '%s': %s", drive, strerror(errno));
			}
			(void)rmdir(drive);
		}
	} else if (errno == ENOTCONN) {
		(void)umount2(drive, MNT_DETACH);
		(void)rmdir(drive);
	}
	if (mnt_probe(mnt, NULL) > 0) {
		r = mnt_unmount_path(mnt, force);
		if (r < 0)
			return r;
	}
	(void)rmdir(mnt);
	if (force && e->pid > 0 && mnt_pid_alive(e->pid))
		(void)kill(e->pid, SIGTERM);
	return 0;
}

static int state_open(const char *root, bool create, int *ret_lock)
{
	char p[4096];
	int r, fd;

	sfmt(p, sizeof(p), "%s/.shadowrev/mnt", root);
	if (create) {
		r = mkdir_p(p, 0755);
		if (r < 0)
			return sr_fail(r, "cannot create '%s': %s", p, strerror(-r));
	} else if (access(p, F_OK) < 0) {
		*ret_lock = -1;
		return 0;
	}
	sfmt(p, sizeof(p), "%s/.shadowrev/lock", root);
	fd = lockfile_take(p, 0, 1);
	if (fd < 0)
		return sr_fail(fd, "cannot lock '%s': %s", p, strerror(-fd));
	*ret_lock = fd;
	return 0;
}

/* Drop the records of exposures whose daemon died, cleaning what they left. Returns how many. */
static int reap_dead(const char *root, struct exposures *x, bool quiet)
{
	size_t o = 0;
	int n = 0;

	for (size_t i = 0; i < x->n; i++) {
		struct exposure *e = &x->v[i];
		if (exposure_alive(root, e)) {
			x->v[o++] = *e;
			continue;
		}
		if (!quiet)
			sr_warn("exposure %c: of shadow copy {%s} lost its daemon (pid %d); cleaning it up", e->letter,
				e->shadow_id, e->pid);
		(void)exposure_teardown(root, e, true);
		sr_errclear();
		n++;
	}
	x->n = o;
	return n;
}

static int parse_letter(const char *s, char *ret)
{
	char c = (char)toupper((unsigned char)s[0]);

	if (c < 'A' || c > 'Z' || !(s[1] == 0 || (s[1] == ':' && s[2] == 0)))
		return -EINVAL;
	*ret = c;
	return 0;
}

int cmd_expose(int argc, char **argv)
{
	enum { OPT_ROOT = OPT_FIRST_VERB_OPTION, OPT_BLOCK, OPT_REPO, OPT_PASS, OPT_CACHE };
	static const struct option opts[] = { CLI_COMMON_LONG_OPTIONS,
					      { "root", required_argument, NULL, OPT_ROOT },
					      { "block", no_argument, NULL, OPT_BLOCK },
					      { "repo", required_argument, NULL, OPT_REPO },
					      { "passphrase-file", required_argument, NULL, OPT_PASS },
					      { 0 } };
	struct cli_common c = { 0 };
	const char *root = DEFAULT_ROOT, *repo_dir = NULL, *pass_file = NULL, *id_text;
	struct mnt_options mo = { .ready_fd = -1 };
	struct exposures x = { 0 };
	struct exposure e = { 0 };
	struct mnt_tree *t = NULL;
	char mnt[4096], drive[4096], files[4200], rootbuf[4096];
	bool block = false, bound = false;
	int o, ex, r, lock = -1, parent_exit = 0;
	pid_t child = -1;
	struct stat st;

	while ((o = cli_getopt(argc, argv, "", opts)) != -1) {
		if (o == '?' || o == ':')
			return cli_bad_option("expose", o, argc, argv);
		if (cli_common_option(&c, "expose", o, optarg, &ex) < 0)
			return ex;
		if (o == OPT_ROOT)
			root = optarg;
		else if (o == OPT_BLOCK)
			block = true;
		else if (o == OPT_REPO)
			repo_dir = optarg;
		else if (o == OPT_PASS)
			pass_file = optarg;
	}
	if (argc - optind < 2)
		return cli_usage("expose", "give a shadow copy ID and a drive letter (E:)");
	id_text = argv[optind];
	if (parse_letter(argv[optind + 1], &e.letter) < 0)
		return cli_usage("expose", "'%s' is not a drive letter (A: to Z:)", argv[optind + 1]);
	if (repo_dir && argc - optind > 2)
		return cli_usage("expose", "give either IMAGE... or --repo, not both");
	r = mkdir_p(root, 0755);
	if (r < 0)
		return sr_error(r, "cannot create '%s'", root);
	if (!realpath(root, rootbuf))
		return sr_error(-errno, "cannot use '%s'", root);
	root = rootbuf;

	r = state_open(root, true, &lock);
	if (r < 0)
		return sr_error(r, "cannot expose shadow copy '%s'", id_text);
	r = records_load(root, &x);
	if (r < 0)
		goto fail;
	if (reap_dead(root, &x, false) > 0) {
		r = records_save(root, &x);
		if (r < 0)
			goto fail;
	}
	paths(root, e.letter, mnt, drive, sizeof(mnt));
	for (size_t i = 0; i < x.n; i++)
		if (x.v[i].letter == e.letter) {
			r = sr_fail(-EBUSY, "drive letter %c: is in use by shadow copy {%s}", e.letter, x.v[i].shadow_id);
			goto fail;
		}
	if (lstat(drive, &st) == 0 || errno != ENOENT) {
		r = sr_fail(-EBUSY, "drive letter %c: is in use ('%s' exists)", e.letter, drive);
		goto fail;
	}

	r = mnt_tree_new(&t);
	if (r >= 0)
		r = mnt_build_shadow(t, id_text, argv + optind + 2, (size_t)(argc - optind - 2), repo_dir, pass_file,
				     e.shadow_id, sizeof(e.shadow_id));
	if (r < 0)
		goto fail;
	if (argc - optind > 2) {
		struct buf b = BUF_INIT;
		for (int i = optind + 2; i < argc; i++) {
			char abs[4096];
			if (buf_printf(&b, "%s%s", b.len ? " " : "", realpath(argv[i], abs) ? abs : argv[i]) < 0)
				break;
		}
		sfmt(e.source, sizeof(e.source), "%s", b.data ? (char *)b.data : "");
		buf_free(&b);
	} else {
		sfmt(e.source, sizeof(e.source), "repository %s", repo_dir ? repo_dir : "(default)");
	}
	if (mkdir(mnt, 0755) < 0 && errno != EEXIST) {
		r = sr_fail(-errno, "cannot create '%s': %s", mnt, strerror(errno));
		goto fail;
	}

	r = mnt_daemonize(false, &mo.ready_fd, &parent_exit);
	if (r < 0)
		goto fail;
	if (r == 0) {
		/* the daemon: serve until unexposed */
		close(lock);
		free(x.v);
		r = mnt_serve(t, mnt, &mo);
		if (r < 0) {
			sr_error(r, "cannot mount on '%s'", mnt);
			mnt_ready(mo.ready_fd, EXIT_FAILED);
		}
		mnt_tree_free(t);
		return r < 0 ? EXIT_FAILED : EXIT_OK;
	}
	mnt_tree_free(t);
	t = NULL;
	if (parent_exit != 0) {
		(void)rmdir(mnt);
		close(lock);
		free(x.v);
		return EXIT_FAILED;
	}
	if (mnt_probe(mnt, &child) != 1) {
		r = sr_fail(-EIO, "the daemon for %c: did not come up", e.letter);
		goto undo;
	}
	e.pid = child;
	e.created = (long long)time(NULL);

	/* the drive folder: files/ bind-mounted read-only, else a symlink to it */
	sfmt(files, sizeof(files), "%s/files", mnt);
	if (mkdir(drive, 0755) == 0) {
		if (mount(files, drive, NULL, MS_BIND, NULL) == 0) {
			bound = true;
			if (mount(NULL, drive, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0) {
				r = sr_fail(-errno, "cannot make '%s' read-only: %s", drive, strerror(errno));
				goto undo;
			}
		} else {
			(void)rmdir(drive);
		}
	}
	if (!bound && symlink(files, drive) < 0) {
		r = sr_fail(-errno, "cannot create '%s': %s", drive, strerror(errno));
		goto undo;
	}
	if (block) {
		char img[4200];
		sfmt(img, sizeof(img), "%s/volume.img", mnt);
		r = loop_attach(img, e.loop, sizeof(e.loop));
		if (r < 0)
			goto undo;
	}
	r = vec_push(&x, e);
	if (r >= 0)
		r = records_save(root, &x);
	if (r < 0)
		goto undo;
	close(lock);
	free(x.v);
	if (c.json) {
		struct json j;
		char l[2] = { e.letter, 0 };
		json_init(&j, stdout, true);
		json_obj_begin(&j);
		json_kstr(&j, "letter", l);
		json_kstr(&j, "shadow_id", e.shadow_id);
		json_kstr(&j, "drive", drive);
		json_kstr(&j, "loop", e.loop[0] ? e.loop : NULL);
		json_ku64(&j, "pid", (uint64_t)e.pid);
		json_obj_end(&j);
		json_end(&j);
	} else {
		printf("shadow copy {%s} exposed as %c: at %s\n", e.shadow_id, e.letter, drive);
		if (e.loop[0])
			printf("block device %s (read-only)\n", e.loop);
	}
	return EXIT_OK;

undo:
	sr_error(r, "cannot expose shadow copy '%s' as %c:", id_text, e.letter);
	e.pid = child;
	(void)exposure_teardown(root, &e, true);
	close(lock);
	free(x.v);
	return EXIT_FAILED;
fail:
	mnt_tree_free(t);
	if (lock >= 0)
		close(lock);
	free(x.v);
	return sr_error(r, "cannot expose shadow copy '%s'", id_text);
}

static bool id_matches(const char *have, const char *text)
{
	char a[GUID_STRING_MAX] = "", b[GUID_STRING_MAX] = "";
	size_t n = 0;

	for (const char *p = have; *p && n + 1 < sizeof(a); p++)
		if (isxdigit((unsigned char)*p))
			a[n++] = (char)tolower((unsigned char)*p);
	a[n] = 0;
	n = 0;
	for (const char *p = text; *p && n + 1 < sizeof(b); p++) {
		if (isxdigit((unsigned char)*p))
			b[n++] = (char)tolower((unsigned char)*p);
		else if (*p != '-' && *p != '{' && *p != '}')
			return false;
	}
	b[n] = 0;
	return n >= GUID_PREFIX_MIN && strncmp(a, b, n) == 0;
}

int mnt_list_exposed(const char *root, bool json)
{
	struct exposures x = { 0 };
	char rootbuf[4096];
	int r, lock = -1;

	if (!root)
		root = DEFAULT_ROOT;
	if (realpath(root, rootbuf))
		root = rootbuf;
	r = state_open(root, false, &lock);
	if (r >= 0 && lock >= 0)
		r = records_load(root, &x);
	if (lock >= 0)
		close(lock);
	if (r < 0) {
		free(x.v);
		return sr_error(r, "cannot list exposed shadow copies");
	}
	for (size_t i = 0; i < x.n; i++)
		x.v[i].dead = !exposure_alive(root, &x.v[i]);
	if (json) {
		records_write_json(stdout, &x, root, true, true);
	} else if (x.n == 0) {
		printf("No shadow copies exposed under %s.\n", root);
	} else {
		printf("%-3s %-38s %-7s %-12s %s\n", "", "SHADOW COPY", "STATE", "BLOCK", "FOLDER");
		for (size_t i = 0; i < x.n; i++) {
			char mnt[4096], drive[4096];
			paths(root, x.v[i].letter, mnt, drive, sizeof(mnt));
			printf("%c:  {%s} %-7s %-12s %s\n", x.v[i].letter, x.v[i].shadow_id, x.v[i].dead ? "dead" : "alive",
			       x.v[i].loop[0] ? x.v[i].loop : "-", drive);
		}
	}
	free(x.v);
	return EXIT_OK;
}

int cmd_unexpose(int argc, char **argv)
{
	enum { OPT_ROOT = OPT_FIRST_VERB_OPTION, OPT_LIST };
	static const struct option opts[] = { CLI_COMMON_LONG_OPTIONS,
					      { "root", required_argument, NULL, OPT_ROOT },
					      { "list", no_argument, NULL, OPT_LIST },
					      { 0 } };
	struct cli_common c = { 0 };
	const char *root = DEFAULT_ROOT, *what;
	struct exposures x = { 0 };
	char rootbuf[4096], letter = 0;
	bool list = false;
	int o, ex, r, lock = -1, reaped;
	size_t found = SIZE_MAX;

	while ((o = cli_getopt(argc, argv, "", opts)) != -1) {
		if (o == '?' || o == ':')
			return cli_bad_option("unexpose", o, argc, argv);
		if (cli_common_option(&c, "unexpose", o, optarg, &ex) < 0)
			return ex;
		if (o == OPT_ROOT)
			root = optarg;
		else if (o == OPT_LIST)
			list = true;
	}
	if (list) {
		if (optind < argc)
			return cli_usage("unexpose", "--list takes no arguments");
		return mnt_list_exposed(root, c.json);
	}
	if (argc - optind != 1)
		return cli_usage("unexpose", "give one drive letter (E:) or shadow copy ID");
	what = argv[optind];
	if (realpath(root, rootbuf))
		root = rootbuf;
	r = state_open(root, false, &lock);
	if (r >= 0 && lock < 0)
		r = sr_fail(-ENOENT, "nothing is exposed under '%s'", root);
	if (r >= 0)
		r = records_load(root, &x);
	if (r < 0)
		goto out;
	(void)parse_letter(what, &letter);
	for (size_t i = 0; i < x.n; i++)
		if ((letter && x.v[i].letter == letter) || (!letter && id_matches(x.v[i].shadow_id, what))) {
			if (found != SIZE_MAX) {
				r = sr_fail(-ENOTUNIQ, "'%s' names several exposures; give the drive letter", what);
				goto out;
			}
			found = i;
		}
	if (found == SIZE_MAX) {
		/* maybe its record is gone but dead exposures are left: clean those anyway */
		reaped = reap_dead(root, &x, false);
		if (reaped > 0)
			(void)records_save(root, &x);
		r = sr_fail(-ENOENT, "no exposure '%s' under '%s'", what, root);
		goto out;
	}
	{
		struct exposure e = x.v[found];
		bool dead = !exposure_alive(root, &e);
		if (dead)
			sr_warn("exposure %c: of shadow copy {%s} lost its daemon (pid %d); cleaning it up", e.letter,
				e.shadow_id, e.pid);
		r = exposure_teardown(root, &e, dead);
		if (r < 0)
			goto out;
		memmove(&x.v[found], &x.v[found + 1], (x.n - found - 1) * sizeof(*x.v));
		x.n--;
		(void)reap_dead(root, &x, false);
		r = records_save(root, &x);
	}
out:
	if (lock >= 0)
		close(lock);
	free(x.v);
	if (r < 0)
		return sr_error(r, "cannot unexpose '%s'", what);
	return EXIT_OK;
}

/* `shadowrev list exposed [--root DIR] [--json]` (routed here by main.c: catalog/ may not depend on mount/). */
int cmd_list_exposed(int argc, char **argv)
{
	enum { OPT_ROOT = OPT_FIRST_VERB_OPTION };
	static const struct option opts[] = { CLI_COMMON_LONG_OPTIONS,
					      { "root", required_argument, NULL, OPT_ROOT },
					      { 0 } };
	struct cli_common c = { 0 };
	const char *root = DEFAULT_ROOT;
	int o, ex;

	optind = 1;
	while ((o = cli_getopt(argc, argv, "", opts)) != -1) {
		if (o == '?' || o == ':')
			return cli_bad_option("list", o, argc, argv);
		if (cli_common_option(&c, "list", o, optarg, &ex) < 0)
			return ex;
		if (o == OPT_ROOT)
			root = optarg;
	}
	if (optind >= argc || strcmp(argv[optind], "exposed") != 0 || optind + 1 != argc)
		return cli_usage("list", "usage: shadowrev list exposed [--root DIR] [--json]");
	return mnt_list_exposed(root, c.json);
}
