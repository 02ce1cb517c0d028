/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `shadowrev restore instance SET-ID (--to DIR | --disk diskN=PATH...)`
 *
 * Rebuild every disk of a captured set: the partition table and the gaps
 * between partitions (MBR, or GPT with protective MBR, primary and backup
 * headers) from the captured disk, each volume at its partition's offset.
 * Image files are new files written sparsely: a block of zeros (unallocated
 * clusters are zero in the repository) is never written, it stays a hole.
 * Block devices and existing images go through target_open() (nothing in
 * use) and only with --yes; there every byte is written.
 *
 * --consistent writes, for each volume with VSS shadow copies inside it, the
 * view of the shadow copy the set names (its shadow ID), else of the newest
 * one created at or before the set's time: the application-consistent point.
 *
 * The copy runs on a few threads (sources are thread-safe; a captured volume
 * also decodes ahead on its own threads), and writes whole 4 KiB blocks with
 * O_DIRECT (see ri_write()). What the source knows to be zeros (src_map():
 * chunks never stored, unallocated clusters) is neither read nor written: it
 * stays a hole.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/cli.h"
#include "core/filetime.h"
#include "core/io.h"
#include "core/json.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/select.h"
#include "core/target.h"
#include "core/volset.h"
#include "recover.h"
#include "restore-internal.h"

#define RI_BLOCK (4u << 20)

struct ri_out {
	int disk;    /* index in m->disks, -1: a bare volume (vol) */
	size_t vol;  /* for bare volumes */
	char *path;  /* final path */
	char *raw;   /* the path the raw bytes go to, for messages */
	struct io_new nf; /* a new file (not device): unnamed or randomly named until committed at path */
	bool named;  /* path was given (--disk diskN=PATH): a symlink there is followed */
	bool fresh;  /* a new file: sparse */
	bool device; /* existing file or block device written in place */
	int fd;
	int dfd;     /* fd again with O_DIRECT, or -1 */
	int boot;    /* boot check exit: 0 ok, 3 will not boot, -1 not run */
};

struct ri_copy {
	struct src *s;
	int fd;
	atomic_int dfd; /* the same file opened with O_DIRECT, or -1 */
	uint64_t src_off, dst_off, len;
	bool sparse; /* the target is a fresh file: skip zero blocks */
	atomic_uint_fast64_t next, done, data, holes;
	atomic_int err;
	atomic_int running;
};

/*
 * Write [b, b+len) at off: its whole blocks past the page cache when there is
 * a direct descriptor (pwrite_direct(): the image is gigabytes nobody reads
 * back soon), the unaligned edges buffered. Once the file system refuses a
 * direct write, every later one is buffered.
 */
static int ri_write(struct ri_copy *c, const uint8_t *b, size_t len, uint64_t off)
{
	bool refused = false;
	int r = pwrite_direct(c->fd, atomic_load(&c->dfd), b, len, off, &refused);

	if (refused)
		atomic_store(&c->dfd, -1); /* closed by copy_run() */
	return r;
}

/* Write len bytes of buf to dst, the runs of 64 KiB that are all zero left as holes (a fresh file). */
static int write_sparse(struct ri_copy *c, const uint8_t *buf, size_t len, uint64_t dst)
{
	for (size_t j = 0; j < len;) {
		size_t run = MIN((size_t)65536, len - j);
		bool z = mem_is_zero(buf + j, run);
		int r;
		while (j + run < len && mem_is_zero(buf + j + run, MIN((size_t)65536, len - j - run)) == z)
			run += MIN((size_t)65536, len - j - run);
		if (z)
			atomic_fetch_add(&c->holes, run);
		else {
			r = ri_write(c, buf + j, run, dst + j);
			if (r < 0)
				return r;
			atomic_fetch_add(&c->data, run);
		}
		j += run;
	}
	return 0;
}

static void *copy_worker(void *arg)
{
	struct ri_copy *c = arg;
	uint8_t *buf = NULL;

	/* on huge pages where the kernel has them: direct writes pin 2 pages of 2 MiB instead of 1024 */
	if (posix_memalign((void **)&buf, 2u << 20, RI_BLOCK) != 0)
		buf = NULL;
	else
		(void)madvise(buf, RI_BLOCK, MADV_HUGEPAGE);
	if (!buf) {
		atomic_store(&c->err, -ENOMEM);
		goto out;
	}
	for (;;) {
		uint64_t i = atomic_fetch_add(&c->next, 1), off = i * RI_BLOCK;
		size_t n;
		int r = 0;

		if (off >= c->len || atomic_load(&c->err) < 0)
			break;
		n = (size_t)MIN((uint64_t)RI_BLOCK, c->len - off);
		for (size_t j = 0; j < n && r >= 0;) {
			/* in a fresh file, what the source knows to be zeros (never stored) is not even read */
			struct src_extent x = { .kind = SRC_EXTENT_READ, .len = n - j };
			if (c->sparse)
				r = src_map(c->s, c->src_off + off + j, n - j, &x);
			if (r >= 0 && x.kind == SRC_EXTENT_ZERO) {
				atomic_fetch_add(&c->holes, x.len);
				j += x.len;
				continue;
			}
			if (r >= 0)
				r = src_pread(c->s, buf + j, x.len, c->src_off + off + j);
			if (r < 0) {
				r = sr_fail(r, "cannot read %s at offset %llu: %s", c->s->name,
					    (unsigned long long)(c->src_off + off + j), sr_errmsg(r));
				atomic_store(&c->err, r);
				goto done;
			}
			r = c->sparse ? write_sparse(c, buf + j, x.len, c->dst_off + off + j)
				      : ri_write(c, buf + j, x.len, c->dst_off + off + j);
			if (r < 0) {
				atomic_store(&c->err, sr_fail(r, "cannot write: %s", strerror(-r)));
				goto done;
			}
			if (!c->sparse)
				atomic_fetch_add(&c->data, x.len);
			j += x.len;
		}
		atomic_fetch_add(&c->done, n);
	}
done:
	free(buf);
out:
	atomic_fetch_sub(&c->running, 1);
	return NULL;
}

static unsigned n_threads = 0;

/* Copy len bytes at src_off of s to dst_off of o's file (to its holes only what is not zero when o is fresh). */
static int copy_run(struct src *s, uint64_t src_off, uint64_t len, struct ri_out *o, uint64_t dst_off,
		    struct progress *p, uint64_t *io_data, uint64_t *io_holes)
{
	struct ri_copy c = { .s = s, .fd = o->fd, .src_off = src_off, .dst_off = dst_off, .len = len,
			     .sparse = o->fresh };
	pthread_t th[32];
	unsigned n = n_threads, started = 0;
	uint64_t base = p->done;

	atomic_init(&c.next, 0);
	atomic_init(&c.done, 0);
	atomic_init(&c.data, 0);
	atomic_init(&c.holes, 0);
	atomic_init(&c.err, 0);
	atomic_init(&c.running, (int)n);
	atomic_init(&c.dfd, o->dfd);
	for (unsigned i = 0; i < n; i++) {
		if (pthread_create(&th[i], NULL, copy_worker, &c) != 0) {
			atomic_fetch_sub(&c.running, (int)(n - i));
			if (i == 0)
				return -EAGAIN;
			break;
		}
		started++;
	}
	while (atomic_load(&c.running) > 0) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		progress_update(p, base + atomic_load(&c.done));
	}
	for (unsigned i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	if (o->dfd >= 0 && atomic_load(&c.dfd) < 0) {
		close(o->dfd);
		o->dfd = -1;
	}
	progress_update(p, base + atomic_load(&c.done));
	*io_data += atomic_load(&c.data);
	*io_holes += atomic_load(&c.holes);
	return atomic_load(&c.err);
}

struct ri_vol {
	size_t idx;              /* in m->vols */
	struct src *live, *view; /* view: what is written (live or a shadow's view) */
	struct vss_volume *vss;  /* borrowed from the set's volset */
	char shadow[GUID_STRING_MAX];
	uint64_t shadow_time;
	unsigned store;          /* vssN - 1 */
	const char *why;         /* how the shadow copy was chosen */
	char crash[200];         /* --consistent: why the application-consistent point cannot be written */
};

/* Does store k of v hold data of snapshot set id, and can its view be read? */
static bool store_of_set(struct vss_volume *v, const struct sr_guid *id, unsigned *ret)
{
	for (unsigned k = 0; k < vss_volume_store_count(v); k++) {
		const struct vss_store_info *st = vss_volume_store(v, k);
		if (st->has_data && guid_equal(&st->set_id, id)) {
			*ret = k;
			return true;
		}
	}
	return false;
}

/*
 * The application-consistent point of each NTFS volume, all from one VSS
 * snapshot set where they can be: the shadow copy the set names (and its
 * VSS set on the other volumes), else the newest VSS snapshot set at or
 * before the set's time that has a shadow copy on every volume that has
 * any, else each volume's newest at or before the set's time. A volume
 * where none can be read gets crash[] (the caller refuses, or writes it as
 * captured with --allow-crash-consistent).
 */
static int choose_shadows(const struct repo_manifest *m, struct volset *vs, struct ri_vol *vols)
{
	struct sr_guid target = { 0 };
	bool have_target = false;
	uint64_t best_time = 0;
	char g[GUID_STRING_MAX];
	int r;

	for (size_t v = 0; v < m->n_vols; v++) {
		struct volset_volume *vv = volset_by_tag(vs, v);
		vols[v].vss = vv ? vv->vss : NULL;
		if (vols[v].vss && (r = vss_volume_find_copy(vols[v].vss, &m->vols[v].shadow_id)) >= 0 &&
		    vss_volume_store(vols[v].vss, (unsigned)r)->has_data) {
			target = vss_volume_store(vols[v].vss, (unsigned)r)->set_id;
			have_target = true;
		}
	}
	/* the newest VSS snapshot set on every volume that has shadow copies */
	for (size_t v = 0; !have_target && v < m->n_vols; v++)
		for (unsigned k = 0; vols[v].vss && k < vss_volume_store_count(vols[v].vss); k++) {
			const struct vss_store_info *st = vss_volume_store(vols[v].vss, k);
			bool everywhere = st->has_data;
			unsigned kk;
			if (!everywhere || (m->created && st->creation_time > m->created) || st->creation_time < best_time)
				continue;
			for (size_t w = 0; w < m->n_vols && everywhere; w++)
				if (vols[w].vss && vss_volume_store_count(vols[w].vss) > 0)
					everywhere = store_of_set(vols[w].vss, &st->set_id, &kk);
			if (everywhere) {
				target = st->set_id;
				best_time = st->creation_time;
			}
		}
	have_target = have_target || best_time > 0;
	for (size_t v = 0; v < m->n_vols; v++) {
		struct ri_vol *x = &vols[v];
		int k = -1;
		unsigned kk;

		if (strcmp(m->vols[v].fs, "ntfs") != 0)
			continue; /* VSS snapshots NTFS volumes only: nothing else has a point of its own */
		if (!x->vss) {
			snprintf(x->crash, sizeof(x->crash), "its shadow copies cannot be read");
			continue;
		}
		if ((r = vss_volume_find_copy(x->vss, &m->vols[v].shadow_id)) >= 0) {
			k = r;
			x->why = "named by the set";
		} else if (have_target && store_of_set(x->vss, &target, &kk)) {
			k = (int)kk;
			x->why = "of the snapshot set every volume has";
		} else {
			for (unsigned i = 0; i < vss_volume_store_count(x->vss); i++) {
				const struct vss_store_info *st = vss_volume_store(x->vss, i);
				if (st->has_data && (m->created == 0 || st->creation_time <= m->created))
					k = (int)i;
			}
			x->why = "the newest at or before the set's time";
		}
		if (k < 0) {
			x->why = NULL;
			if (vss_volume_store_count(x->vss) == 0)
				snprintf(x->crash, sizeof(x->crash), "it holds no shadow copy");
			else
				snprintf(x->crash, sizeof(x->crash), "none of its %u shadow copies is readable and at or "
					 "before the set's time", vss_volume_store_count(x->vss));
			continue;
		}
		r = vss_view_check(x->vss, (unsigned)k);
		if (r < 0) {
			snprintf(x->crash, sizeof(x->crash), "shadow copy vss%d cannot be read: %s", k + 1, sr_errmsg(r));
			sr_errclear();
			x->why = NULL;
			continue;
		}
		r = vss_view_src_new(x->vss, (unsigned)k, &x->view);
		if (r < 0)
			return r;
		x->store = (unsigned)k;
		guid_format(&vss_volume_store(x->vss, (unsigned)k)->copy_id, x->shadow);
		x->shadow_time = vss_volume_store(x->vss, (unsigned)k)->creation_time;
	}
	(void)g;
	return 0;
}

static int open_out(struct ri_out *o, uint64_t size, bool yes)
{
	struct stat st;
	int r;

	/* a name we made up in --to DIR is never followed through a symlink someone put there */
	if (!o->named && lstat(o->path, &st) == 0 && S_ISLNK(st.st_mode))
		return sr_fail(-ELOOP, "'%s' is a symlink; not followed", o->path);
	if (stat(o->path, &st) == 0) {
		if (!yes)
			return sr_fail(-EEXIST, "'%s' exists: give --yes to overwrite it", o->path);
		r = target_open(o->path, &o->fd);
		if (r < 0)
			return r;
		o->device = true;
		o->raw = strdup(o->path);
		if (!o->raw)
			return -ENOMEM;
		if (S_ISREG(st.st_mode)) {
			/* an image file: start from an empty sparse file of the disk's size */
			if (ftruncate(o->fd, 0) < 0 || ftruncate(o->fd, (off_t)size) < 0)
				return sr_fail(-errno, "cannot truncate '%s': %s", o->path, strerror(errno));
			o->fresh = true;
		} else {
			uint64_t dev;
			r = fd_get_size(o->fd, &dev);
			if (r < 0)
				return r;
			if (dev < size)
				return sr_fail(-ENOSPC, "'%s' holds %llu bytes, the disk needs %llu", o->path,
					       (unsigned long long)dev, (unsigned long long)size);
		}
		return 0;
	}
	o->raw = strdup(o->path);
	if (!o->raw)
		return -ENOMEM;
	/* no name until it is complete (io_new_open): nothing to plant beside it, nothing left by a crash */
	r = io_new_open(&o->nf, o->path);
	if (r < 0)
		return sr_fail(r, "cannot create '%s': %s", o->path, strerror(-r));
	o->fd = o->nf.fd;
	if (ftruncate(o->fd, (off_t)size) < 0)
		return sr_fail(-errno, "cannot size '%s': %s", o->raw, strerror(errno));
	o->fresh = true;
	return 0;
}

static int run_qemu_img(const char *fmt, const char *in, const char *out)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		(void)unsetenv("SHADOWREV_PASSPHRASE"); /* no secret in a child's environment (main.c took it already) */
		if (strcmp(fmt, "vhdx") == 0)
			execlp("qemu-img", "qemu-img", "convert", "-q", "-f", "raw", "-O", "vhdx", "-o",
			       "subformat=dynamic", in, out, (char *)NULL);
		else
			execlp("qemu-img", "qemu-img", "convert", "-q", "-f", "raw", "-O", fmt, in, out, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0)
		return -errno;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
		return sr_fail(-ENOENT, "qemu-img is not installed (Debian package qemu-utils)");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return sr_fail(-EIO, "qemu-img convert to %s failed", fmt);
	return 0;
}

/*
 * qemu-img creates its output by name (O_CREAT|O_TRUNC, through symlinks): let it write into a folder
 * of our own (mkdtemp: a random name, 0700) beside final, then move the file to final, never over an
 * existing one unless replace.
 */
static int convert_into(const char *fmt, const char *in, const char *final, bool replace)
{
	_cleanup_free_ char *dir = NULL, *out = NULL;
	const char *slash = strrchr(final, '/');
	int r;

	if (asprintf(&dir, "%.*s.%s.tmp.XXXXXX", slash ? (int)(slash - final + 1) : 0, final,
		     slash ? slash + 1 : final) < 0) {
		dir = NULL;
		return -ENOMEM;
	}
	if (!mkdtemp(dir))
		return sr_fail(-errno, "cannot create a folder beside '%s': %s", final, strerror(errno));
	if (asprintf(&out, "%s/out", dir) < 0) {
		out = NULL;
		r = -ENOMEM;
	} else
		r = run_qemu_img(fmt, in, out);
	if (r >= 0 && renameat2(AT_FDCWD, out, AT_FDCWD, final, replace ? 0 : RENAME_NOREPLACE) < 0) {
		r = -errno;
		if (r == -EINVAL && !replace) {
			/* no RENAME_NOREPLACE on this file system: a link never replaces either */
			r = link(out, final) < 0 ? -errno : 0;
		}
		if (r == -EEXIST)
			r = sr_fail(r, "'%s' exists: give --yes to overwrite it", final);
		else if (r < 0)
			r = sr_fail(r, "cannot rename '%s' to '%s': %s", out, final, strerror(-r));
	}
	if (out)
		(void)unlink(out);
	(void)rmdir(dir);
	if (r >= 0)
		r = fsync_parent(final);
	return r;
}

/* The boot check of recover/boot.c on a rebuilt disk; its report goes to stdout (stderr with --json). */
static int boot_check(const char *path, bool json)
{
	char *args[] = { (char *)"boot", (char *)"check", (char *)path, NULL };
	int saved = -1, r;

	fflush(stdout);
	if (json) {
		saved = dup(STDOUT_FILENO);
		dup2(STDERR_FILENO, STDOUT_FILENO);
	}
	optind = 0;
	r = cmd_boot(3, args);
	fflush(stdout);
	if (saved >= 0) {
		dup2(saved, STDOUT_FILENO);
		close(saved);
	}
	return r;
}

static void vol_file_name(const struct repo_volume *rv, char *out, size_t size)
{
	if (rv->drive[0])
		snprintf(out, size, "%c.img", rv->drive[0]);
	else {
		char tmp[200];
		snprintf(tmp, sizeof(tmp), "%s", rv->name ? rv->name : "volume");
		for (char *p = tmp; *p; p++)
			if (*p == '/' || *p == '\\' || *p == ':' || (unsigned char)*p < 0x20)
				*p = '-';
		if (tmp[0] == '.')
			tmp[0] = '_';
		snprintf(out, size, "%s.img", tmp);
	}
}

int rs_cmd_instance(int argc, char **argv)
{
	enum { OPT_TO = OPT_FIRST_VERB_OPTION, OPT_DISK, OPT_CONSISTENT, OPT_FORMAT, OPT_REPO, OPT_PASS, OPT_YES,
	       OPT_THREADS, OPT_NO_BOOT, OPT_ALLOW_CRASH };
	static const struct option opts[] = { CLI_COMMON_LONG_OPTIONS,
					      { "to", required_argument, NULL, OPT_TO },
					      { "disk", required_argument, NULL, OPT_DISK },
					      { "consistent", no_argument, NULL, OPT_CONSISTENT },
					      { "format", required_argument, NULL, OPT_FORMAT },
					      { "repo", required_argument, NULL, OPT_REPO },
					      { "passphrase-file", required_argument, NULL, OPT_PASS },
					      { "yes", no_argument, NULL, OPT_YES },
					      { "threads", required_argument, NULL, OPT_THREADS },
					      { "no-boot-check", no_argument, NULL, OPT_NO_BOOT },
					      { "allow-crash-consistent", no_argument, NULL, OPT_ALLOW_CRASH },
					      { 0 } };
	struct cli_common c = { 0 };
	const char *to = NULL, *format = "raw", *repo_dir = NULL, *pass = NULL, *setid;
	_cleanup_free_ char **diskspec = NULL;
	size_t n_diskspec = 0, si, n_out = 0;
	bool consistent = false, yes = false, boot = true, allow_crash = false;
	struct volset *cvs = NULL;
	unsigned n_crash = 0;
	struct repo *repo = NULL;
	struct repo_manifest *sets = NULL;
	size_t n_sets = 0;
	const struct repo_manifest *m = NULL;
	struct ri_vol *vols = NULL;
	struct ri_out *outs = NULL;
	struct progress p;
	uint64_t total = 0, data = 0, holes = 0;
	double t0 = now_seconds();
	int o, ex, r = 0, ret = EXIT_FAILED, worst_boot = 0;
	char g[GUID_STRING_MAX], tbuf[FILETIME_STRING_MAX];

	diskspec = calloc((size_t)argc + 1, sizeof(*diskspec));
	if (!diskspec)
		return sr_error(-ENOMEM, "cannot restore");
	while ((o = cli_getopt(argc, argv, "y", opts)) != -1) {
		if (o == '?' || o == ':')
			return cli_bad_option("restore", o, argc, argv);
		if (cli_common_option(&c, "restore", o, optarg, &ex) < 0)
			return ex;
		switch (o) {
		case OPT_TO: to = optarg; break;
		case OPT_DISK: diskspec[n_diskspec++] = optarg; break;
		case OPT_CONSISTENT: consistent = true; break;
		case OPT_FORMAT: format = optarg; break;
		case OPT_REPO: repo_dir = optarg; break;
		case OPT_PASS: pass = optarg; break;
		case OPT_YES: case 'y': yes = true; break;
		case OPT_NO_BOOT: boot = false; break;
		case OPT_ALLOW_CRASH: allow_crash = true; break;
		case OPT_THREADS: {
			char *end;
			unsigned long t = strtoul(optarg, &end, 10);
			if (*end || t < 1 || t > 32)
				return cli_usage("restore", "--threads takes 1..32");
			n_threads = (unsigned)t;
			break;
		}
		default: break;
		}
	}
	optind++; /* "instance" */
	if (optind >= argc)
		return cli_usage("restore", "no SET-ID given");
	setid = argv[optind++];
	if (optind < argc)
		return cli_usage("restore", "unexpected argument '%s'", argv[optind]);
	if (!to && n_diskspec == 0)
		return cli_usage("restore", "give --to DIR or --disk diskN=PATH");
	if (strcmp(format, "raw") != 0 && strcmp(format, "qcow2") != 0 && strcmp(format, "vhdx") != 0)
		return cli_usage("restore", "--format takes raw, qcow2 or vhdx, not '%s'", format);
	if (allow_crash && !consistent)
		return cli_usage("restore", "--allow-crash-consistent goes with --consistent");
	if (n_diskspec && strcmp(format, "raw") != 0)
		return cli_usage("restore", "--format is for --to DIR");
	if (n_threads == 0) {
		long nc = sysconf(_SC_NPROCESSORS_ONLN);
		n_threads = (unsigned)MIN(MAX(nc, 1L) + 1, 16L);
	}

	r = repo_open_any(repo_dir, pass, &repo);
	if (r >= 0)
		r = repo_sets_load(repo, &sets, &n_sets);
	if (r >= 0) {
		struct sel sl = { 0 };
		r = sel_resolve(repo, sets, n_sets, setid, SEL_SET, &sl);
		si = sl.set;
		sel_done(&sl);
		if (SEL_IS_USAGE(r)) {
			sr_error(r, "cannot restore set '%s'", setid);
			ret = EXIT_USAGE;
			goto out;
		}
	}
	if (r < 0) {
		sr_error(r, "cannot restore set '%s'", setid);
		goto out;
	}
	m = &sets[si];
	vols = calloc(m->n_vols + 1, sizeof(*vols));
	outs = calloc(m->n_disks + m->n_vols + 1, sizeof(*outs));
	if (!vols || !outs) {
		r = -ENOMEM;
		goto fail;
	}
	if (to) {
		struct stat st;
		r = mkdir_p(to, 0755);
		if (r < 0) {
			sr_fail(r, "cannot create '%s': %s", to, strerror(-r));
			goto fail;
		}
		/* as restore files: DIR is not followed if it is a symlink (one planted in /tmp) */
		if (lstat(to, &st) == 0 && S_ISLNK(st.st_mode)) {
			r = sr_fail(-ELOOP, "'%s' is a symlink; give the folder itself", to);
			goto fail;
		}
	}

	/* outputs: one per disk, one per bare volume */
	for (size_t d = 0; d < m->n_disks; d++) {
		struct ri_out *ou = &outs[n_out++];
		char key[32];
		ou->disk = (int)d;
		ou->fd = -1;
		ou->dfd = -1;
		ou->boot = -1;
		ou->nf = (struct io_new)IO_NEW_INIT;
		snprintf(key, sizeof(key), "disk%u=", m->disks[d].no);
		for (size_t i = 0; i < n_diskspec; i++)
			if (strncmp(diskspec[i], key, strlen(key)) == 0)
				ou->path = strdup(diskspec[i] + strlen(key));
		ou->named = ou->path != NULL;
		if (!ou->path && to) {
			if (asprintf(&ou->path, "%s/disk%u.%s", to, m->disks[d].no,
				     strcmp(format, "raw") == 0 ? "img" : format) < 0)
				ou->path = NULL;
		}
		if (!ou->path) {
			r = sr_fail(-EINVAL, "no target for disk%u: give --disk disk%u=PATH or --to DIR", m->disks[d].no,
				    m->disks[d].no);
			goto fail;
		}
		total += m->disks[d].size;
	}
	for (size_t v = 0; v < m->n_vols; v++) {
		struct ri_out *ou;
		char name[256];
		vols[v].idx = v;
		if (m->vols[v].disk >= 0)
			continue;
		if (!to) {
			r = sr_fail(-EINVAL, "volume %s has no disk: give --to DIR", m->vols[v].name);
			goto fail;
		}
		ou = &outs[n_out++];
		ou->disk = -1;
		ou->vol = v;
		ou->fd = -1;
		ou->dfd = -1;
		ou->boot = -1;
		ou->nf = (struct io_new)IO_NEW_INIT;
		vol_file_name(&m->vols[v], name, sizeof(name));
		if (strcmp(format, "raw") != 0)
			strcpy(strrchr(name, '.') + 1, format);
		if (asprintf(&ou->path, "%s/%s", to, name) < 0) {
			ou->path = NULL;
			r = -ENOMEM;
			goto fail;
		}
		total += m->vols[v].size;
	}

	/* a half-reverted target: its revert is finished or discarded first */
	for (size_t i = 0; i < n_out; i++)
		if (cli_pending_revert(&outs[i].path, 1, true) != EXIT_OK) {
			r = -EBUSY;
			goto out;
		}
	/* sources (and the shadow copies chosen) before anything is written */
	for (size_t v = 0; v < m->n_vols; v++) {
		r = repo_volume_src_new(repo, m, v, &vols[v].live);
		if (r < 0)
			goto fail;
	}
	if (consistent) {
		/* the set's volumes together: a shadow copy's storage may be on another of them */
		r = volset_open_repo(repo, m, SIZE_MAX, &cvs);
		if (r < 0)
			goto fail;
		r = choose_shadows(m, cvs, vols);
		if (r < 0)
			goto fail;
		for (size_t v = 0; v < m->n_vols; v++)
			if (vols[v].crash[0]) {
				n_crash++;
				if (!allow_crash)
					sr_warn("volume %s%s%s: no application-consistent point: %s", m->vols[v].name,
						m->vols[v].drive[0] ? " " : "", m->vols[v].drive, vols[v].crash);
			}
		if (n_crash && !allow_crash) {
			r = sr_fail(-ENOMEDIUM, "%u volume%s cannot be written at the application-consistent point "
						"(--allow-crash-consistent writes %s as captured, crash-consistent)",
				    n_crash, n_crash == 1 ? "" : "s", n_crash == 1 ? "it" : "them");
			goto fail;
		}
	}
	for (size_t v = 0; v < m->n_vols; v++)
		if (!vols[v].view)
			vols[v].view = src_ref(vols[v].live);
	if (!c.json) {
		printf("restoring set %s (%s, %s)\n", guid_format(&m->set_id, g), m->instance ? m->instance : "",
		       filetime_format(m->created, tbuf, sizeof(tbuf)));
		for (size_t v = 0; v < m->n_vols; v++) {
			const struct repo_volume *rv = &m->vols[v];
			printf("  %s%s%s: ", rv->name, rv->drive[0] ? " " : "", rv->drive);
			if (vols[v].shadow[0])
				printf("application-consistent: shadow copy %s (vss%u) of %s (%s)\n", vols[v].shadow,
				       vols[v].store + 1, filetime_format(vols[v].shadow_time, tbuf, sizeof(tbuf)),
				       vols[v].why);
			else if (vols[v].crash[0])
				printf("crash-consistent: the captured volume (%s)\n", vols[v].crash);
			else
				printf("the captured volume\n");
		}
		fflush(stdout);
	}

	progress_begin(&p, "restore", total);
	for (size_t i = 0; i < n_out; i++) {
		struct ri_out *ou = &outs[i];
		uint64_t size = ou->disk >= 0 ? m->disks[ou->disk].size : m->vols[ou->vol].size;
		if (strcmp(format, "raw") != 0) {
			/* raw first, beside the target, then qemu-img convert */
			char *raw_path = NULL;
			struct stat st;
			if (lstat(ou->path, &st) == 0 && !yes) {
				r = sr_fail(-EEXIST, "'%s' exists: give --yes to overwrite it", ou->path);
				goto fail_p;
			}
			if (asprintf(&raw_path, "%s.raw", ou->path) < 0) {
				r = -ENOMEM;
				goto fail_p;
			}
			free(ou->path);
			ou->path = raw_path;
		}
		r = open_out(ou, size, yes);
		if (r < 0)
			goto fail_p;
		/* the same file again, for direct writes (a file system or device that refuses: none) */
		ou->dfd = io_open_direct(ou->fd);
		if (ou->dfd < 0)
			ou->dfd = -1;
		if (ou->disk >= 0) {
			_cleanup_src_ struct src *ds = NULL;
			uint64_t pos = 0;
			r = repo_disk_src_new(repo, m, (size_t)ou->disk, &ds);
			if (r < 0)
				goto fail_p;
			/* gaps (partition table, backup GPT), then each volume at its offset */
			for (;;) {
				uint64_t next = size;
				size_t vn = SIZE_MAX;
				for (size_t v = 0; v < m->n_vols; v++)
					if (m->vols[v].disk == ou->disk && m->vols[v].offset >= pos &&
					    m->vols[v].offset < next) {
						next = m->vols[v].offset;
						vn = v;
					}
				if (next > pos) {
					r = copy_run(ds, pos, next - pos, ou, pos, &p, &data, &holes);
					if (r < 0)
						goto fail_p;
				}
				if (vn == SIZE_MAX)
					break;
				{
					uint64_t vs = MIN(m->vols[vn].size, vols[vn].view->size);
					vs = MIN(vs, size - next);
					r = copy_run(vols[vn].view, 0, vs, ou, next, &p, &data, &holes);
					if (r < 0)
						goto fail_p;
					pos = next + m->vols[vn].size;
					if (pos > size)
						pos = size;
				}
			}
		} else {
			uint64_t vs = MIN(size, vols[ou->vol].view->size);
			r = copy_run(vols[ou->vol].view, 0, vs, ou, 0, &p, &data, &holes);
			if (r < 0)
				goto fail_p;
		}
		if (ou->dfd >= 0) {
			close(ou->dfd);
			ou->dfd = -1;
		}
		/* the direct writes too: fsync flushes the disk's cache and the file's metadata */
		if (fsync(ou->fd) < 0) {
			r = sr_fail(-errno, "cannot write '%s': %s", ou->raw, strerror(errno));
			goto fail_p;
		}
		if (!ou->device) {
			/* a file that appeared at path meanwhile is replaced only with --yes */
			r = io_new_commit(&ou->nf, 0644, yes ? IO_NEW_REPLACE : 0);
			if (r == -EEXIST)
				r = sr_fail(r, "'%s' exists: give --yes to overwrite it", ou->path);
			else if (r < 0)
				r = sr_fail(r, "cannot write '%s': %s", ou->path, strerror(-r));
			io_new_done(&ou->nf);
			ou->fd = -1;
			if (r < 0)
				goto fail_p;
		} else {
			close(ou->fd);
			ou->fd = -1;
		}
	}
	progress_end(&p);

	/* the boot check on each rebuilt disk (and each bare NTFS volume) */
	for (size_t i = 0; i < n_out && boot; i++) {
		struct ri_out *ou = &outs[i];
		if (ou->disk < 0 && strcmp(m->vols[ou->vol].fs, "ntfs") != 0)
			continue;
		if (!c.json) {
			printf("boot check of %s:\n", ou->path);
			fflush(stdout);
		}
		ou->boot = boot_check(ou->path, c.json);
		if (ou->boot > worst_boot)
			worst_boot = ou->boot;
	}
	/* other formats */
	for (size_t i = 0; i < n_out && strcmp(format, "raw") != 0; i++) {
		struct ri_out *ou = &outs[i];
		char *final = strndup(ou->path, strlen(ou->path) - 4);
		if (!final) {
			r = -ENOMEM;
			goto fail;
		}
		r = convert_into(format, ou->path, final, yes);
		if (r >= 0) {
			unlink(ou->path);
			free(ou->path);
			ou->path = final;
		} else {
			free(final);
			goto fail;
		}
	}

	if (c.json) {
		struct json j;
		json_init(&j, stdout, false);
		json_obj_begin(&j);
		json_kstr(&j, "set_id", guid_format(&m->set_id, g));
		json_kstr(&j, "instance", m->instance ? m->instance : "");
		json_kbool(&j, "consistent", consistent);
		json_key(&j, "disks");
		json_arr_begin(&j);
		for (size_t i = 0; i < n_out; i++) {
			if (outs[i].disk < 0)
				continue;
			json_obj_begin(&j);
			json_ku64(&j, "disk", m->disks[outs[i].disk].no);
			json_kstr(&j, "scheme", m->disks[outs[i].disk].scheme);
			json_kstr(&j, "path", outs[i].path);
			json_ku64(&j, "size", m->disks[outs[i].disk].size);
			if (outs[i].boot >= 0)
				json_kstr(&j, "boot", outs[i].boot == 0 ? "ok" : outs[i].boot == 3 ? "will not boot" : "not checked");
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_key(&j, "volumes");
		json_arr_begin(&j);
		for (size_t v = 0; v < m->n_vols; v++) {
			json_obj_begin(&j);
			json_kstr(&j, "name", m->vols[v].name);
			json_kstr(&j, "drive", m->vols[v].drive);
			json_ku64(&j, "offset", m->vols[v].offset);
			json_ku64(&j, "size", m->vols[v].size);
			if (vols[v].shadow[0]) {
				json_kstr(&j, "shadow_id", vols[v].shadow);
				json_ku64(&j, "shadow_store", vols[v].store + 1);
				json_kstr(&j, "shadow_time", filetime_format(vols[v].shadow_time, tbuf, sizeof(tbuf)));
				json_kstr(&j, "shadow_choice", vols[v].why);
			} else
				json_null((json_key(&j, "shadow_id"), &j));
			if (consistent) {
				json_kstr(&j, "point", vols[v].shadow[0] ? "application" : vols[v].crash[0] ? "crash" : "as captured");
				if (vols[v].crash[0])
					json_kstr(&j, "reason", vols[v].crash);
			}
			for (size_t i = 0; i < n_out; i++)
				if (outs[i].disk < 0 && outs[i].vol == v)
					json_kstr(&j, "path", outs[i].path);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_ku64(&j, "bytes_written", data);
		json_ku64(&j, "hole_bytes", holes);
		json_key(&j, "seconds");
		fprintf(j.f, "%.3f", now_seconds() - t0);
		json_obj_end(&j);
		json_end(&j);
	} else {
		char b1[32], b2[32];
		printf("restored %zu disk%s and %zu volume%s: %s written, %s left as holes, in %.1f s\n", m->n_disks,
		       m->n_disks == 1 ? "" : "s", m->n_vols, m->n_vols == 1 ? "" : "s", format_bytes(data, b1, sizeof(b1)),
		       format_bytes(holes, b2, sizeof(b2)), now_seconds() - t0);
		for (size_t i = 0; i < n_out; i++)
			printf("  %s\n", outs[i].path);
	}
	/* the restore is complete either way; the boot verdict is reported above */
	if (worst_boot == EXIT_PARTIAL && !c.json)
		printf("the boot check found what would stop a rebuilt disk from booting (see above)\n");
	ret = EXIT_OK;
	if (n_crash) {
		/* asked for the application-consistent point, got less: said per volume above, and in the exit code */
		sr_warn("%u volume%s written crash-consistent (as captured), not at the application-consistent point",
			n_crash, n_crash == 1 ? "" : "s");
		ret = EXIT_PARTIAL;
	}
	goto out;
fail_p:
	progress_end(&p);
fail:
	sr_error(r, "cannot restore set '%s'", setid);
out:
	for (size_t i = 0; outs && i < n_out; i++) {
		if (outs[i].fd >= 0 && outs[i].fd == outs[i].nf.fd)
			outs[i].fd = -1; /* io_new_done() closes it, and removes a temporary name */
		io_new_done(&outs[i].nf);
		if (outs[i].fd >= 0)
			close(outs[i].fd);
		if (outs[i].dfd >= 0)
			close(outs[i].dfd);
		free(outs[i].path);
		free(outs[i].raw);
	}
	free(outs);
	if (vols && m)
		for (size_t v = 0; v < m->n_vols; v++) {
			src_unref(vols[v].view);
			src_unref(vols[v].live);
		}
	free(vols);
	volset_free(cvs); /* after the views that read it */
	repo_manifests_free(sets, n_sets);
	repo_free(repo);
	return ret;
}
