/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `shadowrev expose` / `unexpose` / `list exposed`: one shadow copy under a
 * drive-letter folder. Layout under the root (default /run/shadowrev/drives):
 *
 *   .shadowrev/lock            taken while exposures change
 *   .shadowrev/mnt/E/          the FUSE mount: volume.img, files/
 *   .shadowrev/catalog-of/E    the directory of the catalog that records E: (one line)
 *   .shadowrev/catalog.sqlite  the catalog of exposures of images when there is no repository
 *   E/                         files/ bind-mounted read-only (a symlink if bind mounts are not allowed)
 *
 * With --block, a read-only loop device is attached to volume.img.
 *
 * The record of an exposure is a row of the catalog's exposures table
 * (catalog_exposure_*(); mount/ may use catalog/, not the other way): the
 * catalog of the repository (--repo DIR, else the default repository when
 * there is one), else, for images without any repository, one in the root's
 * state folder, so that an exposure is always recorded and nothing is created
 * where `shadowrev init` would later find it in the way. catalog-of/E says
 * which catalog to look in when `unexpose E:` is run without --repo. What is
 * mounted is the kernel's word, not the record's: a teardown needs only the
 * letter (the loop device is found by its backing file), so a record that was
 * lost never leaves a mount behind, and a record whose daemon is gone is
 * removed with what it left.
 */
#include <ctype.h>
#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

#include "catalog/catalog.h"
#include "core/buf.h"
#include "core/cli.h"
#include "core/guid.h"
#include "core/io.h"
#include "core/json.h"
#include "core/log.h"
#include "core/repo.h"
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

static void paths(const char *root, char letter, char *mnt, char *drive, size_t size)
{
	sfmt(mnt, size, "%s/.shadowrev/mnt/%c", root, letter);
	sfmt(drive, size, "%s/%c", root, letter);
}

static void pointer_path(const char *root, char letter, char *out, size_t size)
{
	sfmt(out, size, "%s/.shadowrev/catalog-of/%c", root, letter);
}

static bool file_exists(const char *dir, const char *name)
{
	char p[4200];

	sfmt(p, sizeof(p), "%s/%s", dir, name);
	return access(p, F_OK) == 0;
}

/*
 * The catalog new exposures are recorded in: --repo DIR's, else the default
 * repository's if there is one (a repository or a catalog in that folder),
 * else the root's own. Fails only when --repo names no folder.
 */
static int catalog_dir_for(const char *root, const char *repo_opt, char *out, size_t size)
{
	_cleanup_free_ char *d = NULL;
	char abs[PATH_MAX];

	if (repo_opt) {
		if (!realpath(repo_opt, abs))
			return sr_fail(-errno, "no repository at '%s': %s", repo_opt, strerror(errno));
		sfmt(out, size, "%s", abs);
		return 0;
	}
	if (repo_default_dir(&d) >= 0 && (file_exists(d, "config") || file_exists(d, CATALOG_FILE)) &&
	    realpath(d, abs)) {
		sfmt(out, size, "%s", abs);
		return 0;
	}
	sr_errclear();
	sfmt(out, size, "%s/.shadowrev", root);
	return 0;
}

/* what is exposed under a root: the records of every catalog that may hold some, and the mounts */

struct cat {
	char dir[PATH_MAX];
	struct catalog *c; /* NULL: could not be opened (reported) */
};

struct entry {
	struct catalog_exposure e; /* letter, drive and mount always set; the rest if recorded */
	size_t cat;                /* index into state.cats */
	bool recorded;
	bool alive;
};

struct state {
	const char *root;
	VEC(struct cat) cats;
	VEC(struct entry) v;
};

static void state_close(struct state *st)
{
	for (size_t i = 0; i < st->cats.n; i++) {
		catalog_free(st->cats.v[i].c);
		st->cats.v[i].c = NULL;
	}
}

static void state_free(struct state *st)
{
	state_close(st);
	free(st->cats.v);
	free(st->v.v);
	st->cats.v = NULL;
	st->v.v = NULL;
	st->cats.n = st->v.n = 0;
}

/*
 * Add the catalog in dir (once) and read its exposures under the root. create:
 * make the catalog if the folder has none (else such a folder is skipped).
 * Returns its index, or < 0 (-ENOENT: skipped; else the catalog cannot be read).
 */
static int state_add_catalog(struct state *st, const char *dir, bool create)
{
	struct cat k = { 0 };
	struct catalog_exposure *x = NULL;
	size_t n = 0, idx;
	int r;

	if (!realpath(dir, k.dir))
		return -ENOENT;
	for (size_t i = 0; i < st->cats.n; i++)
		if (strcmp(st->cats.v[i].dir, k.dir) == 0)
			return (int)i;
	if (!create && !file_exists(k.dir, CATALOG_FILE))
		return -ENOENT;
	r = catalog_open(k.dir, &k.c);
	if (r < 0)
		return r;
	r = catalog_exposure_list(k.c, st->root, &x, &n);
	if (r < 0) {
		catalog_free(k.c);
		return r;
	}
	r = vec_push(&st->cats, k);
	if (r < 0) {
		catalog_free(k.c);
		free(x);
		return r;
	}
	idx = st->cats.n - 1;
	for (size_t i = 0; i < n && r >= 0; i++) {
		struct entry e = { .e = x[i], .cat = idx, .recorded = true };
		char mnt[4096], drive[4096];
		if (x[i].letter < 'A' || x[i].letter > 'Z')
			continue; /* not ours */
		/* the paths follow from the root and the letter; the row's copies are for readers of the catalog */
		paths(st->root, x[i].letter, mnt, drive, sizeof(mnt));
		sfmt(e.e.mount, sizeof(e.e.mount), "%s", mnt);
		sfmt(e.e.drive, sizeof(e.e.drive), "%s", drive);
		r = vec_push(&st->v, e);
	}
	free(x);
	return r < 0 ? r : (int)idx;
}

static bool state_has_letter(const struct state *st, char letter)
{
	for (size_t i = 0; i < st->v.n; i++)
		if (st->v.v[i].e.letter == letter)
			return true;
	return false;
}

/* Read the catalog-of/ pointers: the catalogs that record this root's letters. */
static void state_add_pointed(struct state *st)
{
	char dir[4096];
	DIR *d;

	sfmt(dir, sizeof(dir), "%s/.shadowrev/catalog-of", st->root);
	d = opendir(dir);
	if (!d)
		return;
	for (struct dirent *de; (de = readdir(d));) {
		char p[4400];
		_cleanup_free_ void *data = NULL;
		size_t len;
		int r;

		if (strlen(de->d_name) != 1 || de->d_name[0] < 'A' || de->d_name[0] > 'Z')
			continue;
		sfmt(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (read_file(p, PATH_MAX, &data, &len) < 0)
			continue;
		((char *)data)[strcspn(data, "\n")] = 0;
		r = state_add_catalog(st, data, false);
		if (r < 0 && r != -ENOENT)
			sr_warn("cannot read the exposures recorded in '%s': %s", (char *)data, sr_errmsg(r));
	}
	closedir(d);
}

/* Letters that are mounted (or have a mount folder or pointer) without a record. */
static int state_add_unrecorded(struct state *st)
{
	char dirs[2][4096];
	int r = 0;

	sfmt(dirs[0], sizeof(dirs[0]), "%s/.shadowrev/mnt", st->root);
	sfmt(dirs[1], sizeof(dirs[1]), "%s/.shadowrev/catalog-of", st->root);
	for (int k = 0; k < 2 && r >= 0; k++) {
		DIR *d = opendir(dirs[k]);
		if (!d)
			continue;
		for (struct dirent *de; (de = readdir(d)) && r >= 0;) {
			struct entry e = { .cat = SIZE_MAX };
			char c = de->d_name[0];
			if (de->d_name[1] || c < 'A' || c > 'Z' || state_has_letter(st, c))
				continue;
			e.e.letter = c;
			paths(st->root, c, e.e.mount, e.e.drive, sizeof(e.e.mount));
			r = vec_push(&st->v, e);
		}
		closedir(d);
	}
	return r;
}

/*
 * Everything exposed under root: the catalogs the pointers name, the one in
 * extra_dir (the catalog this command records in or was pointed at; create:
 * make it if missing) and the mounts; each marked alive or not. A catalog
 * that cannot be read is reported and skipped, except extra_dir (an error).
 */
static int state_load(struct state *st, const char *root, const char *extra_dir, bool create)
{
	char own[4200];
	int r;

	st->root = root;
	if (extra_dir) {
		r = state_add_catalog(st, extra_dir, create);
		if (r < 0 && r != -ENOENT)
			return sr_fail(r, "cannot use the catalog in '%s': %s", extra_dir, sr_errmsg(r));
		if (r < 0 && create)
			return sr_fail(-ENOENT, "no folder '%s' for the catalog", extra_dir);
	}
	state_add_pointed(st);
	sfmt(own, sizeof(own), "%s/.shadowrev", root);
	r = state_add_catalog(st, own, false);
	if (r < 0 && r != -ENOENT)
		sr_warn("cannot read the exposures recorded in '%s': %s", own, sr_errmsg(r));
	r = state_add_unrecorded(st);
	if (r < 0)
		return r;
	for (size_t i = 0; i < st->v.n; i++) {
		struct entry *e = &st->v.v[i];
		pid_t pid = 0;
		e->alive = mnt_probe(e->e.mount, &pid) == 1 && mnt_pid_alive(pid) && (!e->recorded || pid == e->e.pid);
		if (!e->recorded && e->alive)
			e->e.pid = pid;
	}
	return 0;
}

/* The entry that is alive for this letter, else the first one; NULL if none. */
static struct entry *state_letter(struct state *st, char letter)
{
	struct entry *first = NULL;

	for (size_t i = 0; i < st->v.n; i++) {
		struct entry *e = &st->v.v[i];
		if (e->e.letter != letter)
			continue;
		if (e->alive)
			return e;
		if (!first)
			first = e;
	}
	return first;
}

static bool state_letter_alive(const struct state *st, char letter)
{
	for (size_t i = 0; i < st->v.n; i++)
		if (st->v.v[i].e.letter == letter && st->v.v[i].alive)
			return true;
	return false;
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

/* Detach every loop device that reads a file under the FUSE mount mnt. */
static int loops_detach(const char *mnt, bool force)
{
	char prefix[4200];
	DIR *d = opendir("/sys/block");
	int r = 0;

	if (!d)
		return 0;
	sfmt(prefix, sizeof(prefix), "%s/", mnt);
	for (struct dirent *de; (de = readdir(d));) {
		char sys[512], back[4096] = "", dev[300];
		_cleanup_close_ int fd = -1;
		ssize_t n;

		if (strncmp(de->d_name, "loop", 4) != 0)
			continue;
		sfmt(sys, sizeof(sys), "/sys/block/%s/loop/backing_file", de->d_name);
		fd = open(sys, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue; /* not attached */
		n = read(fd, back, sizeof(back) - 1);
		if (n <= 0)
			continue;
		back[n] = 0;
		back[strcspn(back, "\n")] = 0;
		if (strncmp(back, prefix, strlen(prefix)) != 0)
			continue;
		close(fd);
		sfmt(dev, sizeof(dev), "/dev/%s", de->d_name);
		fd = open(dev, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || ioctl(fd, LOOP_CLR_FD, 0) < 0) {
			if (!force && r == 0)
				r = sr_fail(-errno, "cannot detach '%s': %s", dev, strerror(errno));
		}
	}
	closedir(d);
	return r;
}

/* Undo what is mounted for a letter: loop devices, drive folder, FUSE mount. force: its daemon died (lazy unmounts). */
static int exposure_teardown(const char *root, char letter, int pid, bool force)
{
	char mnt[4096], drive[4096];
	struct stat st;
	int r;

	paths(root, letter, mnt, drive, sizeof(mnt));
	r = loops_detach(mnt, force);
	if (r < 0)
		return r;
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
	if (force && pid > 0 && mnt_pid_alive(pid))
		(void)kill(pid, SIGTERM);
	return 0;
}

/* Remove the records of a letter: its rows in every catalog read, and its pointer. */
static int forget_letter(struct state *st, char letter)
{
	char p[4200];
	size_t o = 0;
	int r = 0;

	for (size_t i = 0; i < st->v.n; i++) {
		struct entry *e = &st->v.v[i];
		if (e->e.letter != letter) {
			st->v.v[o++] = *e;
			continue;
		}
		if (e->recorded && st->cats.v[e->cat].c) {
			int q = catalog_exposure_remove(st->cats.v[e->cat].c, e->e.id);
			if (q < 0 && r == 0)
				r = q;
		}
	}
	st->v.n = o;
	pointer_path(st->root, letter, p, sizeof(p));
	if (unlink(p) < 0 && errno != ENOENT && r == 0)
		r = sr_fail(-errno, "cannot remove '%s': %s", p, strerror(errno));
	return r;
}

static void warn_dead(const struct entry *e)
{
	char id[GUID_STRING_MAX];

	if (e->recorded)
		sr_warn("exposure %c: of shadow copy {%s} lost its daemon (pid %d); cleaning it up", e->e.letter,
			guid_format(&e->e.shadow_id, id), e->e.pid);
	else
		sr_warn("exposure %c: has no record and no daemon; cleaning it up", e->e.letter);
}

/*
 * Clean up the exposures whose daemon died: what they left mounted, their
 * records. A stale record of a letter that is alive again (in another
 * catalog) only loses the record. Returns how many letters were cleaned.
 */
static int reap_dead(struct state *st, bool quiet)
{
	int n = 0;

	for (size_t i = 0; i < st->v.n;) {
		struct entry *e = &st->v.v[i];
		if (e->alive) {
			i++;
			continue;
		}
		if (state_letter_alive(st, e->e.letter)) {
			if (e->recorded && st->cats.v[e->cat].c)
				(void)catalog_exposure_remove(st->cats.v[e->cat].c, e->e.id);
			memmove(e, e + 1, (st->v.n - i - 1) * sizeof(*e));
			st->v.n--;
			continue;
		}
		if (!quiet)
			warn_dead(e);
		(void)exposure_teardown(st->root, e->e.letter, e->e.pid, true);
		(void)forget_letter(st, e->e.letter); /* drops e and the letter's other entries */
		sr_errclear();
		n++;
	}
	return n;
}

static int state_open(const char *root, bool create, int *ret_lock)
{
	char p[4096];
	int r, fd;

	sfmt(p, sizeof(p), "%s/.shadowrev/mnt", root);
	if (create) {
		/* the state is root's alone (lock, pointers, a catalog): 0700, whatever was there before */
		r = mkdir_p(p, 0700);
		if (r >= 0) {
			sfmt(p, sizeof(p), "%s/.shadowrev/catalog-of", root);
			r = mkdir_p(p, 0700);
		}
		if (r >= 0) {
			sfmt(p, sizeof(p), "%s/.shadowrev", root);
			r = chmod(p, 0700) < 0 ? -errno : 0;
		}
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

static int parse_letter(const char *s, char *ret)
{
	char c = (char)toupper((unsigned char)s[0]);

	if (c < 'A' || c > 'Z' || !(s[1] == 0 || (s[1] == ':' && s[2] == 0)))
		return -EINVAL;
	*ret = c;
	return 0;
}

/* "images a b c" or "repository DIR", for the record */
static void describe_source(char **images, int n, const char *repo_dir, char *out, size_t size)
{
	struct buf b = BUF_INIT;

	if (n == 0) {
		_cleanup_free_ char *d = NULL;
		if (!repo_dir && repo_default_dir(&d) < 0)
			sr_errclear();
		sfmt(out, size, "repository %s", repo_dir ? repo_dir : d ? d : "(default)");
		return;
	}
	for (int i = 0; i < n; i++) {
		char abs[PATH_MAX];
		if (buf_printf(&b, "%s%s", b.len ? " " : "", realpath(images[i], abs) ? abs : images[i]) < 0)
			break;
	}
	sfmt(out, size, "%s", b.data ? (char *)b.data : "");
	buf_free(&b);
}

/* Record e in the catalog in dir, pointer first (a pointer without a row is cleaned up; a row nobody finds is not). */
static int record(const char *root, const char *dir, struct catalog_exposure *e)
{
	struct catalog *c = NULL;
	char p[4200], line[PATH_MAX + 2];
	int r;

	pointer_path(root, e->letter, p, sizeof(p));
	sfmt(line, sizeof(line), "%s\n", dir);
	r = atomic_replace(p, line, strlen(line), 0644);
	if (r < 0)
		return sr_fail(r, "cannot write '%s': %s", p, strerror(-r));
	r = catalog_open(dir, &c);
	if (r >= 0)
		r = catalog_exposure_add(c, e);
	catalog_free(c);
	if (r < 0) {
		(void)unlink(p);
		return sr_fail(r, "cannot record the exposure in the catalog in '%s': %s", dir, sr_errmsg(r));
	}
	return 0;
}

int cmd_expose(int argc, char **argv)
{
	enum { OPT_ROOT = OPT_FIRST_VERB_OPTION, OPT_BLOCK, OPT_REPO, OPT_PASS };
	static const struct option opts[] = { CLI_COMMON_LONG_OPTIONS,
					      { "root", required_argument, NULL, OPT_ROOT },
					      { "block", no_argument, NULL, OPT_BLOCK },
					      { "repo", required_argument, NULL, OPT_REPO },
					      { "passphrase-file", required_argument, NULL, OPT_PASS },
					      { 0 } };
	struct cli_common c = { 0 };
	const char *root = DEFAULT_ROOT, *repo_dir = NULL, *pass_file = NULL, *id_text;
	struct mnt_options mo = { .ready_fd = -1 };
	struct state sx = { 0 };
	struct catalog_exposure e = { 0 };
	struct mnt_tree *t = NULL;
	char files[4200], rootbuf[PATH_MAX], catdir[PATH_MAX], id[GUID_STRING_MAX];
	bool block = false, bound = false;
	int o, ex, r, lock = -1, parent_exit = 0, n_images;
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
	n_images = argc - optind - 2;
	if (repo_dir && n_images > 0)
		return cli_usage("expose", "give either IMAGE... or --repo, not both");
	r = mkdir_p(root, 0755);
	if (r < 0)
		return sr_error(r, "cannot create '%s'", root);
	if (!realpath(root, rootbuf))
		return sr_error(-errno, "cannot use '%s'", root);
	root = rootbuf;
	paths(root, e.letter, e.mount, e.drive, sizeof(e.mount));

	r = state_open(root, true, &lock);
	if (r >= 0)
		r = catalog_dir_for(root, repo_dir, catdir, sizeof(catdir));
	if (r >= 0)
		r = state_load(&sx, root, catdir, true);
	if (r < 0)
		goto fail;
	(void)reap_dead(&sx, false);
	{
		struct entry *in_use = state_letter(&sx, e.letter);
		if (in_use) {
			r = sr_fail(-EBUSY, "drive letter %c: is in use by shadow copy {%s}", e.letter,
				    in_use->recorded ? guid_format(&in_use->e.shadow_id, id) : "?");
			goto fail;
		}
	}
	if (lstat(e.drive, &st) == 0 || errno != ENOENT) {
		r = sr_fail(-EBUSY, "drive letter %c: is in use ('%s' exists)", e.letter, e.drive);
		goto fail;
	}
	/* no catalog connection crosses the fork below */
	state_free(&sx);

	r = mnt_tree_new(&t);
	if (r >= 0)
		r = mnt_build_shadow(t, id_text, argv + optind + 2, (size_t)n_images, repo_dir, pass_file, &e.shadow_id,
				     &e.set_id);
	if (r == -ENOENT || r == -ENOTUNIQ) {
		/* the name names nothing, or more than one thing (core/select.h, volset_find_shadow) */
		sr_error(r, "cannot expose shadow copy '%s'", id_text);
		mnt_tree_free(t);
		if (lock >= 0)
			close(lock);
		return EXIT_USAGE;
	}
	if (r < 0)
		goto fail;
	e.has_set = true;
	describe_source(argv + optind + 2, n_images, repo_dir, e.source, sizeof(e.source));
	if (mkdir(e.mount, 0755) < 0 && errno != EEXIST) {
		r = sr_fail(-errno, "cannot create '%s': %s", e.mount, strerror(errno));
		goto fail;
	}

	/* a repository's volumes decode with threads, which fork() does not carry: the daemon opens them again */
	if (n_images == 0) {
		mnt_tree_free(t);
		t = NULL;
	}
	r = mnt_daemonize(false, &mo.ready_fd, &parent_exit);
	if (r < 0)
		goto fail;
	if (r == 0) {
		/* the daemon: serve until unexposed */
		close(lock);
		if (!t) {
			struct sr_guid sid, setid;
			r = mnt_tree_new(&t);
			if (r >= 0)
				r = mnt_build_shadow(t, id_text, NULL, 0, repo_dir, pass_file, &sid, &setid);
			if (r < 0) {
				sr_error(r, "cannot expose shadow copy '%s'", id_text);
				mnt_ready(mo.ready_fd, EXIT_FAILED);
				mnt_tree_free(t);
				return EXIT_FAILED;
			}
		}
		r = mnt_serve(t, e.mount, &mo);
		if (r < 0) {
			sr_error(r, "cannot mount on '%s'", e.mount);
			mnt_ready(mo.ready_fd, EXIT_FAILED);
		}
		mnt_tree_free(t);
		return r < 0 ? EXIT_FAILED : EXIT_OK;
	}
	mnt_tree_free(t);
	t = NULL;
	if (parent_exit != 0) {
		(void)rmdir(e.mount);
		close(lock);
		return EXIT_FAILED;
	}
	if (mnt_probe(e.mount, &child) != 1) {
		r = sr_fail(-EIO, "the daemon for %c: did not come up", e.letter);
		goto undo;
	}
	e.pid = child;
	e.created = (int64_t)time(NULL);

	/* the drive folder: files/ bind-mounted read-only, else a symlink to it */
	sfmt(files, sizeof(files), "%s/files", e.mount);
	if (mkdir(e.drive, 0755) == 0) {
		if (mount(files, e.drive, NULL, MS_BIND, NULL) == 0) {
			bound = true;
			if (mount(NULL, e.drive, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0) {
				r = sr_fail(-errno, "cannot make '%s' read-only: %s", e.drive, strerror(errno));
				goto undo;
			}
		} else {
			(void)rmdir(e.drive);
		}
	}
	if (!bound && symlink(files, e.drive) < 0) {
		r = sr_fail(-errno, "cannot create '%s': %s", e.drive, strerror(errno));
		goto undo;
	}
	if (block) {
		char img[4200];
		sfmt(img, sizeof(img), "%s/volume.img", e.mount);
		r = loop_attach(img, e.loop, sizeof(e.loop));
		if (r < 0)
			goto undo;
	}
	r = record(root, catdir, &e);
	if (r < 0)
		goto undo;
	close(lock);
	guid_format(&e.shadow_id, id);
	if (c.json) {
		struct json j;
		char l[2] = { e.letter, 0 };
		json_init(&j, stdout, true);
		json_obj_begin(&j);
		json_kstr(&j, "letter", l);
		json_kstr(&j, "shadow_id", id);
		json_kstr(&j, "drive", e.drive);
		json_kstr(&j, "loop", e.loop[0] ? e.loop : NULL);
		json_ku64(&j, "pid", (uint64_t)e.pid);
		json_kstr(&j, "catalog", catdir);
		json_obj_end(&j);
		json_end(&j);
	} else {
		printf("shadow copy {%s} exposed as %c: at %s\n", id, e.letter, e.drive);
		if (e.loop[0])
			printf("block device %s (read-only)\n", e.loop);
	}
	return EXIT_OK;

undo:
	sr_error(r, "cannot expose shadow copy '%s' as %c:", id_text, e.letter);
	(void)exposure_teardown(root, e.letter, child, true);
	close(lock);
	return EXIT_FAILED;
fail:
	mnt_tree_free(t);
	state_free(&sx);
	if (lock >= 0)
		close(lock);
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

static void list_json(const struct state *st)
{
	struct json j;

	json_init(&j, stdout, true);
	json_obj_begin(&j);
	json_key(&j, "exposures");
	json_arr_begin(&j);
	for (size_t i = 0; i < st->v.n; i++) {
		const struct entry *e = &st->v.v[i];
		char l[2] = { e->e.letter, 0 }, id[GUID_STRING_MAX], set[GUID_STRING_MAX];
		json_obj_begin(&j);
		json_kstr(&j, "letter", l);
		json_kstr(&j, "shadow_id", e->recorded ? guid_format(&e->e.shadow_id, id) : NULL);
		json_kstr(&j, "set_id", e->recorded && e->e.has_set ? guid_format(&e->e.set_id, set) : NULL);
		json_ku64(&j, "pid", (uint64_t)e->e.pid);
		json_kstr(&j, "drive", e->e.drive);
		json_kstr(&j, "mount", e->e.mount);
		json_kstr(&j, "loop", e->e.loop[0] ? e->e.loop : NULL);
		json_kstr(&j, "source", e->e.source[0] ? e->e.source : NULL);
		json_ku64(&j, "created", (uint64_t)e->e.created);
		json_kstr(&j, "catalog", e->recorded ? st->cats.v[e->cat].dir : NULL);
		json_kstr(&j, "state", e->alive ? "alive" : "dead");
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_obj_end(&j);
	json_end(&j);
}

int mnt_list_exposed(const char *root, const char *repo_dir, bool json)
{
	struct state st = { 0 };
	char rootbuf[PATH_MAX], catdir[PATH_MAX];
	int r, lock = -1;

	if (!root)
		root = DEFAULT_ROOT;
	if (realpath(root, rootbuf))
		root = rootbuf;
	r = state_open(root, false, &lock);
	if (r >= 0)
		r = catalog_dir_for(root, repo_dir, catdir, sizeof(catdir));
	if (r >= 0)
		r = state_load(&st, root, catdir, false);
	if (lock >= 0)
		close(lock);
	if (r < 0) {
		state_free(&st);
		return sr_error(r, "cannot list exposed shadow copies");
	}
	if (json) {
		list_json(&st);
	} else if (st.v.n == 0) {
		printf("No shadow copies exposed under %s.\n", root);
	} else {
		printf("%-3s %-38s %-7s %-12s %s\n", "", "SHADOW COPY", "STATE", "BLOCK", "FOLDER");
		for (size_t i = 0; i < st.v.n; i++) {
			const struct entry *e = &st.v.v[i];
			char id[GUID_STRING_MAX + 2] = "(not recorded)";
			if (e->recorded)
				guid_format_braced(&e->e.shadow_id, id);
			printf("%c:  %-38s %-7s %-12s %s\n", e->e.letter, id, e->alive ? "alive" : "dead",
			       e->e.loop[0] ? e->e.loop : "-", e->e.drive);
		}
	}
	state_free(&st);
	return EXIT_OK;
}

int cmd_unexpose(int argc, char **argv)
{
	enum { OPT_ROOT = OPT_FIRST_VERB_OPTION, OPT_LIST, OPT_REPO };
	static const struct option opts[] = { CLI_COMMON_LONG_OPTIONS,
					      { "root", required_argument, NULL, OPT_ROOT },
					      { "list", no_argument, NULL, OPT_LIST },
					      { "repo", required_argument, NULL, OPT_REPO },
					      { 0 } };
	struct cli_common c = { 0 };
	const char *root = DEFAULT_ROOT, *repo_dir = NULL, *what;
	struct state st = { 0 };
	char rootbuf[PATH_MAX], catdir[PATH_MAX], letter = 0, found = 0;
	bool list = false;
	int o, ex, r, lock = -1;

	while ((o = cli_getopt(argc, argv, "", opts)) != -1) {
		if (o == '?' || o == ':')
			return cli_bad_option("unexpose", o, argc, argv);
		if (cli_common_option(&c, "unexpose", o, optarg, &ex) < 0)
			return ex;
		if (o == OPT_ROOT)
			root = optarg;
		else if (o == OPT_LIST)
			list = true;
		else if (o == OPT_REPO)
			repo_dir = optarg;
	}
	if (list) {
		if (optind < argc)
			return cli_usage("unexpose", "--list takes no arguments");
		return mnt_list_exposed(root, repo_dir, c.json);
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
		r = catalog_dir_for(root, repo_dir, catdir, sizeof(catdir));
	if (r >= 0)
		r = state_load(&st, root, catdir, false);
	if (r < 0)
		goto out;
	(void)parse_letter(what, &letter);
	for (size_t i = 0; i < st.v.n; i++) {
		const struct entry *e = &st.v.v[i];
		char id[GUID_STRING_MAX];
		if (!(letter ? e->e.letter == letter : e->recorded && id_matches(guid_format(&e->e.shadow_id, id), what)))
			continue;
		if (found && found != e->e.letter) {
			r = sr_fail(-ENOTUNIQ, "'%s' names several exposures; give the drive letter", what);
			goto out;
		}
		found = e->e.letter;
	}
	if (!found) {
		/* maybe its record is gone but dead exposures are left: clean those anyway */
		(void)reap_dead(&st, false);
		r = sr_fail(-ENOENT, "no exposure '%s' under '%s'", what, root);
		goto out;
	}
	{
		struct entry *e = state_letter(&st, found);
		bool dead = !e->alive;
		if (dead)
			warn_dead(e);
		r = exposure_teardown(root, found, e->e.pid, dead);
		if (r < 0)
			goto out;
		r = forget_letter(&st, found);
		(void)reap_dead(&st, false);
	}
out:
	state_free(&st);
	if (lock >= 0)
		close(lock);
	if (r < 0)
		return sr_error(r, "cannot unexpose '%s'", what);
	return EXIT_OK;
}

/* `shadowrev list exposed [--root DIR] [--repo DIR] [--json]` (routed here by main.c: catalog/ may not depend on mount/). */
int cmd_list_exposed(int argc, char **argv)
{
	enum { OPT_ROOT = OPT_FIRST_VERB_OPTION, OPT_REPO };
	static const struct option opts[] = { CLI_COMMON_LONG_OPTIONS,
					      { "root", required_argument, NULL, OPT_ROOT },
					      { "repo", required_argument, NULL, OPT_REPO },
					      { 0 } };
	struct cli_common c = { 0 };
	const char *root = DEFAULT_ROOT, *repo_dir = NULL;
	int o, ex;

	optind = 1;
	while ((o = cli_getopt(argc, argv, "", opts)) != -1) {
		if (o == '?' || o == ':')
			return cli_bad_option("list", o, argc, argv);
		if (cli_common_option(&c, "list", o, optarg, &ex) < 0)
			return ex;
		if (o == OPT_ROOT)
			root = optarg;
		else if (o == OPT_REPO)
			repo_dir = optarg;
	}
	if (optind >= argc || strcmp(argv[optind], "exposed") != 0 || optind + 1 != argc)
		return cli_usage("list", "usage: shadowrev list exposed [--root DIR] [--repo DIR] [--json]");
	return mnt_list_exposed(root, repo_dir, c.json);
}
