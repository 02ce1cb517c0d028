/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `shadowrev restore files SOURCE PATH... --to DIR | --archive FILE|-`
 *
 * Files and folders of one volume view, read through core/ntfsfs: to a folder
 * with our own openat() writer, or as a tar, pax or zip stream with libarchive.
 *
 * The folder writer: one walk plans the tree (folders, files, hard links,
 * symlinks); every name read from the volume is checked first
 * (rs_name_is_safe: no separators, no "." or "..", no control characters) and
 * case collisions are reported. Folders are created parent first with
 * mkdirat() and opened O_DIRECTORY|O_NOFOLLOW relative to their parent's fd,
 * so no path is ever resolved through a symlink and nothing can land outside
 * DIR. Then a few workers, each with its own ntfsfs on the same (thread-safe)
 * source, write regular files in the order their data lies on the volume with
 * openat(dirfd, name, O_WRONLY|O_CREAT|O_EXCL|O_NOFOLLOW) (an existing file is
 * not overwritten unless --overwrite), holes kept (ftruncate past the data),
 * large files with O_DIRECT, times set with futimens(). Last, on one thread:
 * hard links (linkat, not following), symlinks for reparse points that stay
 * inside the volume, and folder times deepest first.
 *
 * Extended attributes, named as ntfs-3g names them: user.<stream> (alternate
 * data streams), system.ntfs_attrib (DOS attributes, 4 bytes LE),
 * system.ntfs_acl (self-relative security descriptor), system.ntfs_reparse_data
 * and system.ntfs_crtime (creation FILETIME, 8 bytes LE). Archives carry these
 * names unchanged (pax SCHILY.xattr). On disk Linux does not let us set
 * system.* names, so system.ntfs_X becomes trusted.ntfs_X when we run as root
 * (trusted.* is readable by root only, as an ACL should be) and user.ntfs_X
 * otherwise. Streams stay user.<stream>.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/cli.h"
#include "core/filetime.h"
#include "core/hashmap.h"
#include "core/io.h"
#include "core/json.h"
#include "core/log.h"
#include "core/ntfsfs.h"
#include "core/progress.h"
#include "recover.h"
#include "restore-internal.h"

#define RF_BUF (4u << 20)
#define RF_BUFFER_WHOLE (8u << 20) /* files up to this size are read whole before their header */
#define RF_SPARSE_BLOCK 65536u

enum rf_format { RF_DISK, RF_TAR, RF_PAX, RF_ZIP };

struct rf {
	struct ntfsfs *fs;
	struct archive *a;
	enum rf_format fmt;
	bool meta, overwrite;
	const char *sysns; /* "trusted." or "user." on disk, "system." in archives */
	struct u64map links; /* ino -> index in paths */
	char **paths;
	size_t n_paths, cap_paths;
	uint8_t *buf;
	struct progress prog;
	uint64_t files, dirs, bytes, skipped, errors, hardlinks, symlinks, collisions, holes;
	const char *label;
};

static pthread_mutex_t rf_report_lock = PTHREAD_MUTEX_INITIALIZER;

static void rf_report(struct rf *f, const char *path, const char *fmt, ...) _printf_(3, 4);
static void rf_report(struct rf *f, const char *path, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&rf_report_lock);
	if (f->prog.shown)
		progress_end(&f->prog);
	sr_warn("'%s': %s", path, msg);
	pthread_mutex_unlock(&rf_report_lock);
}

static int ae_error(struct rf *f, int ar)
{
	if (ar >= ARCHIVE_WARN)
		return 0;
	return sr_fail(archive_errno(f->a) > 0 ? -archive_errno(f->a) : -EIO, "%s",
		       archive_error_string(f->a) ?: "libarchive error");
}

static void set_times(struct archive_entry *e, const struct ntfsfs_stat *st)
{
	struct timespec m = filetime_to_timespec(st->write_time), a = filetime_to_timespec(st->access_time),
			b = filetime_to_timespec(st->creation_time), c = filetime_to_timespec(st->change_time);

	archive_entry_set_mtime(e, m.tv_sec, m.tv_nsec);
	archive_entry_set_atime(e, a.tv_sec, a.tv_nsec);
	archive_entry_set_birthtime(e, b.tv_sec, b.tv_nsec);
	archive_entry_set_ctime(e, c.tv_sec, c.tv_nsec);
}

/*
 * Where an inode's NTFS metadata goes, as extended attributes named like
 * ntfs-3g's: an archive entry, or (e NULL) a restored file's open fd.
 */
struct meta_sink {
	struct rf *f;
	struct archive_entry *e;
	int fd;
	const char *path;
};

static int rd_xattr(struct rf *f, int fd, const char *path, const char *name, const void *v, size_t n)
{
	if (fsetxattr(fd, name, v, n, 0) < 0) {
		rf_report(f, path, "cannot set the extended attribute %s: %s", name, strerror(errno));
		return -errno;
	}
	return 0;
}


/* Put one attribute; name is "ntfs_X" (sys set: in the f->sysns namespace) or a full name. < 0 when it failed (reported). */
static int sink_put(const struct meta_sink *s, bool sys, const char *name, const void *v, size_t n)
{
	char full[300];

	snprintf(full, sizeof(full), "%s%s", sys ? s->f->sysns : "", name);
	if (s->e) {
		archive_entry_xattr_add_entry(s->e, full, v, n);
		return 0;
	}
	return rd_xattr(s->f, s->fd, s->path, full, v, n) < 0 ? -EIO : 0;
}

struct stream_ctx {
	const struct meta_sink *sink;
	struct ntfsfs *fs;
	uint64_t ino;
	int err;
};

static int stream_cb(void *userdata, const char *name, uint64_t size)
{
	struct stream_ctx *c = userdata;
	struct rf *f = c->sink->f;
	_cleanup_free_ uint8_t *v = NULL;
	char xname[300];
	ssize_t n;

	if (size > (64u << 20)) {
		rf_report(f, c->sink->path, "stream '%s' is %llu bytes, too large for an extended attribute; skipped",
			  name, (unsigned long long)size);
		c->err = -EFBIG;
		return 0;
	}
	v = malloc(size ? size : 1);
	if (!v)
		return -ENOMEM;
	n = ntfsfs_read(c->fs, c->ino, name, v, size, 0);
	if (n < 0 || (uint64_t)n != size) {
		rf_report(f, c->sink->path, "cannot read stream '%s': %s", name, sr_errmsg(n < 0 ? (int)n : -EIO));
		c->err = n < 0 ? (int)n : -EIO;
		return 0;
	}
	snprintf(xname, sizeof(xname), "user.%s", name);
	if (sink_put(c->sink, false, xname, v, size) < 0)
		c->err = -EIO;
	return 0;
}

/*
 * The creation time, and unless crtime_only the DOS attributes, the security
 * descriptor, the reparse data and the named streams of ino. A failure is
 * reported and the rest still put; the last error is returned.
 */
static int put_metadata(const struct meta_sink *s, struct ntfsfs *fs, uint64_t ino, const struct ntfsfs_stat *st,
			bool crtime_only)
{
	uint8_t le[8];
	int r, err = 0;

	put_le64(le, st->creation_time);
	if (sink_put(s, true, "ntfs_crtime", le, 8) < 0)
		err = -EIO;
	if (crtime_only)
		return err;
	put_le32(le, st->attributes & ~(uint32_t)(st->type == NTFSFS_DIR ? 0 : NTFSFS_ATTR_DIRECTORY));
	if (sink_put(s, true, "ntfs_attrib", le, 4) < 0)
		err = -EIO;
	{
		_cleanup_free_ void *sd = NULL;
		size_t n;
		if (ntfsfs_security(fs, ino, &sd, &n) >= 0 && sink_put(s, true, "ntfs_acl", sd, n) < 0)
			err = -EIO;
	}
	if (st->reparse_tag) {
		_cleanup_free_ void *rp = NULL;
		size_t n;
		if (ntfsfs_reparse_data(fs, ino, &rp, &n) >= 0 && sink_put(s, true, "ntfs_reparse_data", rp, n) < 0)
			err = -EIO;
	}
	if (st->n_streams > 0) {
		struct stream_ctx c = { s, fs, ino, 0 };
		r = ntfsfs_streams(fs, ino, stream_cb, &c);
		if (r < 0) {
			rf_report(s->f, s->path, "cannot list its streams: %s", sr_errmsg(r));
			return r;
		}
		if (c.err < 0)
			err = c.err;
	}
	return err;
}

/* Extended attributes of ino in an archive entry: creation time always, the rest with --ntfs-metadata. */
static int add_metadata(struct rf *f, struct archive_entry *e, uint64_t ino, const struct ntfsfs_stat *st,
			const char *path)
{
	if (f->fmt == RF_ZIP)
		return 0;
	/* in archives only when asked: bsdtar -x restores xattrs and fails on system.* names */
	if (!f->meta && f->fmt != RF_DISK)
		return 0;
	return put_metadata(&(struct meta_sink){ f, e, -1, path }, f->fs, ino, st, !f->meta);
}

static int remember_path(struct rf *f, uint64_t ino, const char *path)
{
	if (vec_grow_((void **)&f->paths, &f->cap_paths, f->n_paths + 1, sizeof(*f->paths)) < 0)
		return -ENOMEM;
	f->paths[f->n_paths] = strdup(path);
	if (!f->paths[f->n_paths])
		return -ENOMEM;
	return u64map_put(&f->links, ino, (uint32_t)f->n_paths++);
}

/* Does something exist at path inside DIR? (only on disk, without --overwrite) */
static bool exists_on_disk(const char *path, bool *ret_dir)
{
	struct stat st;

	if (fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return false;
	*ret_dir = S_ISDIR(st.st_mode);
	return true;
}

/* Read [off, off+len) of the unnamed stream; short only at the end. */
static int read_data(struct rf *f, uint64_t ino, void *buf, size_t len, uint64_t off, size_t *ret)
{
	ssize_t n = ntfsfs_read(f->fs, ino, NULL, buf, len, off);

	if (n < 0)
		return (int)n;
	*ret = (size_t)n;
	return 0;
}

/* The data runs (non-zero 64 KiB blocks) of a sparse file, for the pax sparse map. */
static int sparse_map(struct rf *f, struct archive_entry *e, uint64_t ino, uint64_t size)
{
	uint64_t run_start = 0;
	bool in_run = false;

	for (uint64_t off = 0; off < size;) {
		size_t n = 0;
		int r = read_data(f, ino, f->buf, (size_t)MIN((uint64_t)RF_BUF, size - off), off, &n);
		if (r < 0)
			return r;
		if (n == 0)
			return -EIO;
		for (size_t i = 0; i < n; i += RF_SPARSE_BLOCK) {
			size_t m = MIN((size_t)RF_SPARSE_BLOCK, n - i);
			bool z = mem_is_zero(f->buf + i, m);
			if (!z && !in_run) {
				run_start = off + i;
				in_run = true;
			} else if (z && in_run) {
				archive_entry_sparse_add_entry(e, (la_int64_t)run_start, (la_int64_t)(off + i - run_start));
				in_run = false;
			}
			if (z)
				f->holes += m;
		}
		off += n;
	}
	if (in_run)
		archive_entry_sparse_add_entry(e, (la_int64_t)run_start, (la_int64_t)(size - run_start));
	else
		archive_entry_sparse_add_entry(e, (la_int64_t)size, 0); /* a trailing hole */
	return 0;
}

/* Write the contents of a regular file after its header. Returns 0, or a read error (-errno, reported). */
static int write_data(struct rf *f, uint64_t ino, uint64_t size, bool sparse, const uint8_t *whole, const char *path,
		      bool *ret_fatal)
{
	int rerr = 0;

	*ret_fatal = false;
	if (whole) {
		la_ssize_t w = f->fmt == RF_DISK && sparse ? 0 : archive_write_data(f->a, whole, (size_t)size);
		if (f->fmt == RF_DISK && sparse) {
			for (uint64_t i = 0; i < size; i += RF_SPARSE_BLOCK) {
				size_t m = (size_t)MIN((uint64_t)RF_SPARSE_BLOCK, size - i);
				if (mem_is_zero(whole + i, m)) {
					f->holes += m;
					continue;
				}
				if (archive_write_data_block(f->a, whole + i, m, (la_int64_t)i) < ARCHIVE_WARN) {
					*ret_fatal = f->fmt != RF_DISK;
					return ae_error(f, ARCHIVE_FATAL);
				}
			}
		} else if (w < 0 || (uint64_t)w != size) {
			*ret_fatal = f->fmt != RF_DISK;
			return ae_error(f, ARCHIVE_FATAL);
		}
		f->bytes += size;
		progress_add(&f->prog, size);
		return 0;
	}
	for (uint64_t off = 0; off < size;) {
		size_t want = (size_t)MIN((uint64_t)RF_BUF, size - off), n = 0;
		int r = read_data(f, ino, f->buf, want, off, &n);
		if (r < 0 || n == 0) {
			/* a stream cannot take its header back: pad with zeros (tar does the same), report it */
			if (rerr == 0) {
				rerr = r < 0 ? r : -EIO;
				rf_report(f, path, "cannot read at offset %llu: %s", (unsigned long long)off, sr_errmsg(rerr));
			}
			if (f->fmt == RF_DISK)
				return rerr;
			memset(f->buf, 0, want);
			n = want;
		}
		if (f->fmt == RF_DISK) {
			for (size_t i = 0; i < n; i += RF_SPARSE_BLOCK) {
				size_t m = MIN((size_t)RF_SPARSE_BLOCK, n - i);
				if (sparse && mem_is_zero(f->buf + i, m)) {
					f->holes += m;
					continue;
				}
				if (archive_write_data_block(f->a, f->buf + i, m, (la_int64_t)(off + i)) < ARCHIVE_WARN)
					return ae_error(f, ARCHIVE_FATAL);
			}
		} else {
			la_ssize_t w = archive_write_data(f->a, f->buf, n);
			if (w < 0 || (size_t)w != n) {
				*ret_fatal = true;
				return ae_error(f, ARCHIVE_FATAL);
			}
		}
		off += n;
		f->bytes += n;
		progress_add(&f->prog, n);
	}
	return rerr;
}

static int restore_tree(struct rf *f, uint64_t ino, const char *path, const struct ntfsfs_stat *st);

struct child {
	char *name;
	char *fold;
	uint64_t ino;
};

static int collect_cb(void *userdata, const char *name, uint64_t ino, enum ntfsfs_type type)
{
	struct { struct child *v; size_t n, cap; } *c = userdata;
	(void)type;
	if (vec_grow_((void **)&c->v, &c->cap, c->n + 1, sizeof(*c->v)) < 0)
		return -ENOMEM;
	c->v[c->n].name = strdup(name);
	c->v[c->n].fold = rs_fold(name);
	c->v[c->n].ino = ino;
	if (!c->v[c->n].name || !c->v[c->n].fold) {
		free(c->v[c->n].name);
		free(c->v[c->n].fold);
		return -ENOMEM;
	}
	c->n++;
	return 0;
}

static int cmp_fold(const void *a, const void *b)
{
	return strcmp(((const struct child *)a)->fold, ((const struct child *)b)->fold);
}

/*
 * The checks on the name of child i of folder path (children sorted by their
 * case-folded names): a name that is not safe to create (or, on disk, longer
 * than 255 bytes) is reported, counted and refused (false); a name that
 * collides with the one before it after case folding is reported and counted.
 */
static bool rf_name_check(struct rf *f, const char *path, const struct child *v, size_t i, bool limit_len)
{
	const char *why;

	if (!rs_name_is_safe(v[i].name, &why) || (limit_len && strlen(v[i].name) > 255)) {
		char esc[1100];
		size_t k = 0;
		for (const unsigned char *p = (const unsigned char *)v[i].name; *p && k + 5 < sizeof(esc); p++)
			k += (size_t)snprintf(esc + k, sizeof(esc) - k,
					       (*p < 0x20 || *p == 0x7f || *p == '\\' || *p == '/') ? "\\x%02x" : "%c", *p);
		esc[k] = 0;
		rf_report(f, path[0] ? path : "/", "refusing the entry named \"%s\": %s", esc,
			  why ? why : "name longer than 255 bytes");
		f->skipped++;
		f->errors++;
		return false;
	}
	if (i > 0 && strcmp(v[i].fold, v[i - 1].fold) == 0) {
		rf_report(f, path[0] ? path : "/", "names '%s' and '%s' collide on a case-insensitive target",
			  v[i - 1].name, v[i].name);
		f->collisions++;
	}
	return true;
}

/* Restore the children of folder ino into path ("" is the top: DIR or the archive's root). */
static int restore_children(struct rf *f, uint64_t ino, const char *path)
{
	struct { struct child *v; size_t n, cap; } c = { 0 };
	int r;

	r = ntfsfs_readdir(f->fs, ino, 0, collect_cb, &c);
	if (r < 0) {
		rf_report(f, path[0] ? path : "/", "cannot list the folder: %s", sr_errmsg(r));
		f->errors++;
	}
	if (c.n > 1)
		qsort(c.v, c.n, sizeof(*c.v), cmp_fold);
	for (size_t i = 0; i < c.n && r != -ENOMEM && r != -ECANCELED; i++) {
		_cleanup_free_ char *child = NULL;
		struct ntfsfs_stat st;

		if (!rf_name_check(f, path, c.v, i, f->fmt == RF_DISK))
			continue;
		if (asprintf(&child, "%s%s%s", path, path[0] ? "/" : "", c.v[i].name) < 0) {
			r = -ENOMEM;
			break;
		}
		r = ntfsfs_stat(f->fs, c.v[i].ino, &st);
		if (r < 0) {
			rf_report(f, child, "cannot read its MFT record: %s", sr_errmsg(r));
			f->errors++;
			f->skipped++;
			continue;
		}
		r = restore_tree(f, c.v[i].ino, child, &st);
	}
	for (size_t i = 0; i < c.n; i++) {
		free(c.v[i].name);
		free(c.v[i].fold);
	}
	free(c.v);
	return r == -ENOMEM || r == -ECANCELED ? r : 0;
}

/*
 * Restore ino at path. Per-item problems are reported and counted; returns
 * < 0 only when the whole command must stop (-ENOMEM, or -ECANCELED when the
 * archive stream broke).
 */
static int restore_tree(struct rf *f, uint64_t ino, const char *path, const struct ntfsfs_stat *st)
{
	struct archive_entry *e = NULL;
	_cleanup_free_ uint8_t *whole = NULL;
	struct ntfsfs_reparse rp = { 0 };
	bool have_rp = false, is_dir = st->type == NTFSFS_DIR, descend = is_dir, sparse = false, fatal = false;
	uint32_t link;
	int r = 0, ar;

	if (f->fmt == RF_DISK && !f->overwrite) {
		bool d = false;
		if (exists_on_disk(path, &d) && !(d && is_dir)) {
			rf_report(f, path, "exists; not overwritten (use --overwrite)");
			f->skipped++;
			f->errors++;
			return 0;
		}
	}
	e = archive_entry_new();
	if (!e)
		return -ENOMEM;
	archive_entry_set_pathname_utf8(e, path);
	set_times(e, st);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);

	if (st->reparse_tag == NTFSFS_TAG_SYMLINK || st->reparse_tag == NTFSFS_TAG_MOUNT_POINT) {
		r = ntfsfs_reparse(f->fs, ino, &rp);
		have_rp = r >= 0;
		if (have_rp && rp.inside && rp.relative) {
			archive_entry_set_filetype(e, AE_IFLNK);
			archive_entry_set_perm(e, 0777);
			archive_entry_set_symlink_utf8(e, rp.relative);
			add_metadata(f, e, ino, st, path);
			ar = archive_write_header(f->a, e);
			if (ar < ARCHIVE_WARN) {
				r = ae_error(f, ar);
				rf_report(f, path, "cannot write the symlink: %s", sr_errmsg(r));
				f->errors++;
				f->skipped++;
				fatal = f->fmt != RF_DISK && ar == ARCHIVE_FATAL;
			} else
				f->symlinks++;
			goto out;
		}
		/* a link that leaves the volume: an empty folder or the file's own data; never followed */
		descend = false;
	} else if (st->reparse_tag && is_dir) {
		descend = false;
	}

	if (!is_dir && st->nlink > 1 && u64map_get(&f->links, ino, &link)) {
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		if (f->fmt == RF_ZIP) {
			/* zip has no hard links: a second copy */
			archive_entry_set_size(e, (la_int64_t)st->size);
		} else {
			archive_entry_set_hardlink_utf8(e, f->paths[link]);
			archive_entry_set_size(e, 0);
			ar = archive_write_header(f->a, e);
			if (ar < ARCHIVE_WARN) {
				r = ae_error(f, ar);
				rf_report(f, path, "cannot make the hard link: %s", sr_errmsg(r));
				f->errors++;
				f->skipped++;
				fatal = f->fmt != RF_DISK && ar == ARCHIVE_FATAL;
			} else
				f->hardlinks++;
			goto out;
		}
	}

	if (is_dir) {
		archive_entry_set_filetype(e, AE_IFDIR);
		archive_entry_set_perm(e, 0755);
	} else {
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, (st->attributes & NTFSFS_ATTR_READONLY) ? 0444 : 0644);
		archive_entry_set_size(e, (la_int64_t)st->size);
		sparse = (st->attributes & NTFSFS_ATTR_SPARSE_FILE) && f->fmt != RF_ZIP && f->fmt != RF_TAR;
		if (st->size <= RF_BUFFER_WHOLE) {
			size_t n = 0;
			whole = malloc(st->size ? st->size : 1);
			if (!whole) {
				r = -ENOMEM;
				goto out;
			}
			r = read_data(f, ino, whole, (size_t)st->size, 0, &n);
			if (r >= 0 && n != st->size)
				r = -EIO;
			if (r < 0) {
				rf_report(f, path, "cannot read: %s; skipped", sr_errmsg(r));
				f->errors++;
				f->skipped++;
				r = 0;
				goto out;
			}
		}
		if (sparse && f->fmt == RF_PAX) {
			if (whole) {
				/* the same map from the buffer */
				uint64_t run = 0;
				bool in = false;
				for (uint64_t i = 0; i < st->size; i += RF_SPARSE_BLOCK) {
					size_t m = (size_t)MIN((uint64_t)RF_SPARSE_BLOCK, st->size - i);
					bool z = mem_is_zero(whole + i, m);
					if (!z && !in) {
						run = i;
						in = true;
					} else if (z && in) {
						archive_entry_sparse_add_entry(e, (la_int64_t)run, (la_int64_t)(i - run));
						in = false;
					}
					if (z)
						f->holes += m;
				}
				if (in)
					archive_entry_sparse_add_entry(e, (la_int64_t)run, (la_int64_t)(st->size - run));
				else
					archive_entry_sparse_add_entry(e, (la_int64_t)st->size, 0);
			} else {
				r = sparse_map(f, e, ino, st->size);
				if (r < 0) {
					rf_report(f, path, "cannot read: %s; skipped", sr_errmsg(r));
					f->errors++;
					f->skipped++;
					r = 0;
					goto out;
				}
			}
		}
	}
	if (add_metadata(f, e, ino, st, path) < 0) {
		f->errors++;
		/* the file itself is still restored; its metadata is incomplete (reported) */
	}
	ar = archive_write_header(f->a, e);
	if (ar < ARCHIVE_WARN) {
		r = ae_error(f, ar);
		rf_report(f, path, "cannot create: %s", sr_errmsg(r));
		f->errors++;
		f->skipped++;
		fatal = f->fmt != RF_DISK && ar == ARCHIVE_FATAL;
		r = 0;
		goto out;
	}
	if (ar == ARCHIVE_WARN && f->meta)
		rf_report(f, path, "%s", archive_error_string(f->a) ?: "warning");
	if (!is_dir) {
		r = write_data(f, ino, st->size, sparse && f->fmt == RF_DISK ? true : sparse, whole, path, &fatal);
		ar = archive_write_finish_entry(f->a);
		if (r < 0 || ar < ARCHIVE_WARN) {
			if (r >= 0) {
				r = ae_error(f, ar);
				rf_report(f, path, "cannot write: %s", sr_errmsg(r));
			}
			f->errors++;
			if (f->fmt == RF_DISK) {
				unlink(path); /* no half file on disk */
				f->skipped++;
			}
			r = 0;
			goto out;
		}
		f->files++;
		if (st->nlink > 1 && f->fmt != RF_ZIP) {
			r = remember_path(f, ino, path);
			if (r < 0)
				goto out;
		}
	} else {
		f->dirs++;
	}
	archive_entry_free(e);
	e = NULL;
	if (have_rp)
		ntfsfs_reparse_done(&rp), have_rp = false;
	if (descend)
		return restore_children(f, ino, path);
	return 0;
out:
	if (have_rp)
		ntfsfs_reparse_done(&rp);
	archive_entry_free(e);
	if (fatal)
		return sr_fail(-ECANCELED, "the archive cannot be written: %s", archive_error_string(f->a) ?: "error");
	return r == -ENOMEM ? r : 0;
}

/* Resolve a volume path case-insensitively, as Windows does: an exact name first, else the one name equal through $UpCase. */
static int resolve_ci(struct ntfsfs *fs, const char *path, uint64_t *ret)
{
	_cleanup_free_ char *copy = strdup(path);
	uint64_t ino = NTFSFS_ROOT;
	char *save = NULL;
	int r;

	if (!copy)
		return -ENOMEM;
	for (char *p = copy; *p; p++)
		if (*p == '\\')
			*p = '/';
	for (char *comp = strtok_r(copy, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
		uint64_t next;
		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0)
			return sr_fail(-EINVAL, "'..' in a volume path");
		r = ntfsfs_lookup_nocase(fs, ino, comp, &next);
		if (r == -ENOENT)
			return sr_fail(-ENOENT, "no '%s'", comp);
		if (r == -ENOTUNIQ)
			return sr_fail(-ENOTUNIQ, "several names match '%s' when case is ignored; give the exact one", comp);
		if (r < 0)
			return r;
		ino = next;
	}
	*ret = ino;
	return 0;
}

static int restore_path(struct rf *f, const char *vpath)
{
	_cleanup_free_ char *full = NULL;
	struct ntfsfs_stat st;
	uint64_t ino = 0;
	const char *base;
	int r;

	r = resolve_ci(f->fs, vpath, &ino);
	if (r < 0) {
		rf_report(f, vpath, "not found in %s: %s", f->label, sr_errmsg(r));
		f->errors++;
		return 0;
	}
	if (ino == NTFSFS_ROOT)
		return restore_children(f, ino, "");
	r = ntfsfs_stat(f->fs, ino, &st);
	if (r >= 0)
		r = ntfsfs_path(f->fs, ino, &full); /* the names as the volume spells them */
	if (r < 0) {
		rf_report(f, vpath, "cannot read: %s", sr_errmsg(r));
		f->errors++;
		return 0;
	}
	base = strrchr(full, '/');
	base = base ? base + 1 : full;
	if (!rs_name_is_safe(base, NULL)) {
		rf_report(f, vpath, "refusing an unsafe name");
		f->errors++;
		return 0;
	}
	return restore_tree(f, ino, base, &st);
}

/*
 * The folder writer (--to DIR). Three passes, so that regular files (nearly
 * all the work) are read and written by several threads at once:
 *   1. plan: one walk of the tree (names checked, collisions reported) into
 *      a list of folders, files, hard links and symlinks;
 *   2. folders are created in order (parent first) with mkdirat() and opened
 *      with O_DIRECTORY|O_NOFOLLOW relative to their parent's fd, so every
 *      component of every path is a folder we created or verified;
 *   3. N workers, each with its own struct ntfsfs on the same (thread-safe)
 *      source, take runs of files in the order of their data (cmp_ent_order:
 *      each chunk of a captured volume is then decoded about once), from two
 *      queues (large files, written with O_DIRECT, and small ones; see
 *      rd_run()), and create them with openat(dirfd, name,
 *      O_CREAT|O_EXCL|O_NOFOLLOW); holes are skipped and the size set with
 *      ftruncate(); times with one futimens(); meanwhile rd_flusher() starts
 *      the writeback of what went through the page cache;
 *   4. hard links (linkat, never following), symlinks, then folder times.
 */
#define RD_BUF (1u << 20)
#define RD_DIRECT_MIN (1u << 20) /* files this large are written with O_DIRECT */
#define RD_FLUSH_MS 500
#define RD_BATCH (8u << 20)
#define RD_BATCH_FILES 256
#define RD_GROUP_INODES 32768u /* 32 MiB of 1 KiB MFT records: a quarter of a captured volume's chunk cache */

enum rd_kind { RD_FILE, RD_HARDLINK, RD_SYMLINK };

struct rd_dir {
	int parent, fd;
	char *name, *path;
	uint64_t ino;
	struct ntfsfs_stat st;
};

struct rd_ent {
	enum rd_kind kind;
	int dir;
	uint32_t link; /* RD_HARDLINK: index of the first name */
	bool ok;
	char *name, *path, *target;
	uint64_t ino;
	uint64_t loc; /* RD_FILE: where its data starts on the volume (files are read in this order) */
	struct ntfsfs_stat st;
};

struct rd {
	struct rf *f;
	struct rs_source *s;
	struct rd_dir *dirs;
	size_t n_dirs, cap_dirs;
	struct rd_ent *ents;
	size_t n_ents, cap_ents;
	uint32_t *order;  /* files in cmp_ent_order(): the large ones, then the others */
	size_t n_order, n_large;
	size_t next[2];   /* where the large and the small files' queues stand in order */
	mode_t umask;
	pthread_mutex_t lock;
	pthread_cond_t flush;
	bool done;
	int fatal;
};

#define RD_COUNT(f, field, n) __atomic_add_fetch(&(f)->field, (n), __ATOMIC_RELAXED)

static int rd_add_dir(struct rd *d, int parent, const char *name, const char *path, uint64_t ino,
		      const struct ntfsfs_stat *st)
{
	struct rd_dir *x;

	if (vec_grow_((void **)&d->dirs, &d->cap_dirs, d->n_dirs + 1, sizeof(*d->dirs)) < 0)
		return -ENOMEM;
	x = &d->dirs[d->n_dirs];
	memset(x, 0, sizeof(*x));
	x->parent = parent;
	x->fd = -1;
	x->ino = ino;
	if (st)
		x->st = *st;
	x->name = strdup(name);
	x->path = strdup(path);
	if (!x->name || !x->path) {
		free(x->name);
		free(x->path);
		return -ENOMEM;
	}
	return (int)d->n_dirs++;
}

static int rd_add_ent(struct rd *d, enum rd_kind kind, int dir, const char *name, const char *path, uint64_t ino,
		      const struct ntfsfs_stat *st, struct rd_ent **ret)
{
	struct rd_ent *x;

	if (vec_grow_((void **)&d->ents, &d->cap_ents, d->n_ents + 1, sizeof(*d->ents)) < 0)
		return -ENOMEM;
	x = &d->ents[d->n_ents];
	memset(x, 0, sizeof(*x));
	x->kind = kind;
	x->dir = dir;
	x->ino = ino;
	x->st = *st;
	x->name = strdup(name);
	x->path = strdup(path);
	if (!x->name || !x->path) {
		free(x->name);
		free(x->path);
		return -ENOMEM;
	}
	d->n_ents++;
	*ret = x;
	return 0;
}

static int rd_plan_children(struct rd *d, uint64_t ino, int dir);

/* Plan ino, named name in folder dir; loc: ntfsfs_data_offset(). < 0 only for -ENOMEM. */
static int rd_plan(struct rd *d, uint64_t ino, int dir, const char *name, const struct ntfsfs_stat *st, uint64_t loc)
{
	struct rf *f = d->f;
	_cleanup_free_ char *path = NULL;
	const char *parent = d->dirs[dir].path;
	struct rd_ent *e;
	uint32_t link;
	bool is_dir = st->type == NTFSFS_DIR, descend = is_dir;
	int r;

	if (asprintf(&path, "%s%s%s", parent, parent[0] ? "/" : "", name) < 0)
		return -ENOMEM;
	if (st->reparse_tag == NTFSFS_TAG_SYMLINK || st->reparse_tag == NTFSFS_TAG_MOUNT_POINT) {
		struct ntfsfs_reparse rp = { 0 };
		if (ntfsfs_reparse(f->fs, ino, &rp) >= 0) {
			if (rp.inside && rp.relative) {
				r = rd_add_ent(d, RD_SYMLINK, dir, name, path, ino, st, &e);
				if (r >= 0) {
					e->target = strdup(rp.relative);
					if (!e->target)
						r = -ENOMEM;
				}
				ntfsfs_reparse_done(&rp);
				return r;
			}
			ntfsfs_reparse_done(&rp);
		}
		/* a link that leaves the volume: an empty folder or the file's own data; never followed */
		descend = false;
	} else if (st->reparse_tag && is_dir)
		descend = false;
	if (is_dir) {
		r = rd_add_dir(d, dir, name, path, ino, st);
		if (r < 0)
			return r;
		return descend ? rd_plan_children(d, ino, r) : 0;
	}
	if (st->nlink > 1 && u64map_get(&f->links, ino, &link))
		r = rd_add_ent(d, RD_HARDLINK, dir, name, path, ino, st, &e), e->link = link;
	else {
		r = rd_add_ent(d, RD_FILE, dir, name, path, ino, st, &e);
		if (r >= 0)
			e->loc = loc;
		if (r >= 0 && st->nlink > 1)
			r = u64map_put(&f->links, ino, (uint32_t)(d->n_ents - 1));
	}
	return r;
}

static int cmp_ino(const void *a, const void *b)
{
	uint64_t x = ((const struct child *)a)->ino, y = ((const struct child *)b)->ino;
	return x < y ? -1 : x > y;
}

static int rd_plan_children(struct rd *d, uint64_t ino, int dir)
{
	struct rf *f = d->f;
	struct { struct child *v; size_t n, cap; } c = { 0 };
	struct ntfsfs_stat *sts = NULL;
	uint64_t *locs = NULL;
	int r, *bad = NULL;

	r = ntfsfs_readdir(f->fs, ino, 0, collect_cb, &c);
	if (r < 0) {
		rf_report(f, d->dirs[dir].path[0] ? d->dirs[dir].path : "/", "cannot list the folder: %s", sr_errmsg(r));
		f->errors++;
		if (r == -ENOMEM)
			goto out;
	}
	r = 0;
	if (c.n > 1)
		qsort(c.v, c.n, sizeof(*c.v), cmp_fold);
	sts = calloc(c.n + 1, sizeof(*sts));
	locs = calloc(c.n + 1, sizeof(*locs));
	bad = calloc(c.n + 1, sizeof(*bad));
	if (!sts || !locs || !bad) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < c.n; i++) {
		if (!rf_name_check(f, d->dirs[dir].path, c.v, i, true))
			bad[i] = 1;
	}
	/* MFT records in inode order (the chunk cache likes it), then planned in name order */
	{
		struct child *byino = malloc((c.n + 1) * sizeof(*byino));
		if (!byino) {
			r = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < c.n; i++) {
			byino[i] = c.v[i];
			byino[i].name = (char *)(uintptr_t)i; /* the index in c.v */
		}
		qsort(byino, c.n, sizeof(*byino), cmp_ino);
		for (size_t j = 0; j < c.n; j++) {
			size_t i = (size_t)(uintptr_t)byino[j].name;
			if (bad[i])
				continue;
			r = ntfsfs_stat(f->fs, c.v[i].ino, &sts[i]);
			if (r < 0) {
				_cleanup_free_ char *child = NULL;
				const char *p = d->dirs[dir].path;
				if (asprintf(&child, "%s%s%s", p, p[0] ? "/" : "", c.v[i].name) < 0)
					child = NULL;
				rf_report(f, child ? child : c.v[i].name, "cannot read its MFT record: %s", sr_errmsg(r));
				f->errors++;
				f->skipped++;
				bad[i] = 1;
				continue;
			}
			/* while its record is at hand: where its data lies (unknown: after the rest) */
			if (sts[i].type != NTFSFS_DIR && ntfsfs_data_offset(f->fs, c.v[i].ino, &locs[i]) < 0)
				locs[i] = UINT64_MAX;
		}
		free(byino);
		r = 0;
	}
	for (size_t i = 0; i < c.n && r >= 0; i++)
		if (!bad[i])
			r = rd_plan(d, c.v[i].ino, dir, c.v[i].name, &sts[i], locs[i]);
out:
	for (size_t i = 0; i < c.n; i++) {
		free(c.v[i].name);
		free(c.v[i].fold);
	}
	free(c.v);
	free(sts);
	free(locs);
	free(bad);
	return r == -ENOMEM ? r : 0;
}

/* --ntfs-metadata on an open file or folder: the same extended attributes as add_metadata(). */
static int rd_metadata(struct rf *f, struct ntfsfs *fs, int fd, uint64_t ino, const struct ntfsfs_stat *st,
		       const char *path)
{
	return put_metadata(&(struct meta_sink){ f, NULL, fd, path }, fs, ino, st, false);
}

static void rd_times(const struct ntfsfs_stat *st, struct timespec ts[2])
{
	ts[0] = filetime_to_timespec(st->access_time);
	ts[1] = filetime_to_timespec(st->write_time);
}

/* Create folder i (its parent is open). */
static void rd_make_dir(struct rd *d, size_t i)
{
	struct rf *f = d->f;
	struct rd_dir *x = &d->dirs[i];
	int pfd = d->dirs[x->parent].fd, fd;
	bool made = false;

	if (pfd < 0) {
		f->skipped++; /* its parent was reported */
		return;
	}
	if (mkdirat(pfd, x->name, 0755) == 0)
		made = true;
	else if (errno != EEXIST) {
		rf_report(f, x->path, "cannot create: %s", strerror(errno));
		f->errors++;
		f->skipped++;
		return;
	}
	fd = openat(pfd, x->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && !made && (errno == ENOTDIR || errno == ELOOP) && f->overwrite && unlinkat(pfd, x->name, 0) == 0 &&
	    mkdirat(pfd, x->name, 0755) == 0) {
		made = true;
		fd = openat(pfd, x->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0) {
		if (errno == ENOTDIR || errno == ELOOP)
			rf_report(f, x->path, "exists; not overwritten (use --overwrite)");
		else
			rf_report(f, x->path, "cannot open: %s", strerror(errno));
		f->errors++;
		f->skipped++;
		return;
	}
	x->fd = fd;
	if (made && (0755 & d->umask))
		(void)fchmod(fd, 0755);
	if (f->meta && rd_metadata(f, f->fs, fd, x->ino, &x->st, x->path) < 0)
		f->errors++;
	f->dirs++;
}

/*
 * Large files are written past the page cache where the file system takes it
 * (pwrite_direct() through a second, O_DIRECT descriptor): their bytes are not
 * read again, and gigabytes of dirty page cache are what the final syncfs would
 * wait for. The unaligned tail goes through the page cache, and so does
 * everything when the file system refuses direct writes.
 */
struct rd_out {
	int fd;
	int dfd; /* the file opened again with O_DIRECT, or -1 */
};

static void rd_out_open(struct rd_out *o, int fd, uint64_t size)
{
	o->fd = fd;
	o->dfd = size >= RD_DIRECT_MIN ? io_open_direct(fd) : -1;
	if (o->dfd < 0)
		o->dfd = -1;
}

static void rd_out_close_direct(struct rd_out *o)
{
	if (o->dfd >= 0)
		close(o->dfd);
	o->dfd = -1;
}

static int rd_write(struct rd_out *o, const uint8_t *b, size_t len, uint64_t off)
{
	bool refused = false;
	int r = pwrite_direct(o->fd, o->dfd, b, len, off, &refused);

	if (refused)
		rd_out_close_direct(o);
	return r;
}

/* Read and write one regular file. */
static void rd_file(struct rd *d, struct ntfsfs *fs, uint8_t *buf, struct rd_ent *e)
{
	struct rf *f = d->f;
	const struct ntfsfs_stat *st = &e->st;
	int dfd = d->dirs[e->dir].fd, fd, r = 0;
	mode_t mode = (st->attributes & NTFSFS_ATTR_READONLY) ? 0444 : 0644;
	bool sparse = st->attributes & NTFSFS_ATTR_SPARSE_FILE, tail_hole = false;
	struct timespec ts[2];
	struct rd_out out;
	uint64_t holes = 0;

	if (dfd < 0) {
		RD_COUNT(f, skipped, 1);
		return;
	}
	fd = openat(dfd, e->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0 && errno == EEXIST && f->overwrite && unlinkat(dfd, e->name, 0) == 0)
		fd = openat(dfd, e->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		if (errno == EEXIST)
			rf_report(f, e->path, "exists; not overwritten (use --overwrite)");
		else
			rf_report(f, e->path, "cannot create: %s", strerror(errno));
		RD_COUNT(f, errors, 1);
		RD_COUNT(f, skipped, 1);
		return;
	}
	rd_out_open(&out, fd, st->size);
	for (uint64_t off = 0; off < st->size;) {
		size_t want = (size_t)MIN((uint64_t)RD_BUF, st->size - off);
		ssize_t n = ntfsfs_read(fs, e->ino, NULL, buf, want, off);
		if (n <= 0) {
			r = n < 0 ? (int)n : -EIO;
			rf_report(f, e->path, "cannot read: %s; skipped", sr_errmsg(r));
			break;
		}
		for (size_t i = 0; i < (size_t)n && r >= 0;) {
			size_t m = (size_t)n - i;
			if (sparse) {
				m = MIN((size_t)RF_SPARSE_BLOCK, m);
				if (mem_is_zero(buf + i, m)) {
					holes += m;
					tail_hole = true;
					i += m;
					continue;
				}
			}
			tail_hole = false;
			r = rd_write(&out, buf + i, m, off + i);
			if (r < 0)
				rf_report(f, e->path, "cannot write: %s", strerror(-r));
			i += m;
		}
		if (r < 0)
			break;
		off += (uint64_t)n;
	}
	rd_out_close_direct(&out);
	if (r >= 0 && tail_hole && ftruncate(fd, (off_t)st->size) < 0) {
		r = -errno;
		rf_report(f, e->path, "cannot write: %s", strerror(-r));
	}
	if (r < 0) {
		close(fd);
		unlinkat(dfd, e->name, 0); /* no half file on disk */
		RD_COUNT(f, errors, 1);
		RD_COUNT(f, skipped, 1);
		return;
	}
	if (f->meta && rd_metadata(f, fs, fd, e->ino, st, e->path) < 0)
		RD_COUNT(f, errors, 1);
	if ((mode & d->umask) && fchmod(fd, mode) < 0) {}
	rd_times(st, ts);
	if (futimens(fd, ts) < 0) {
		rf_report(f, e->path, "cannot set its times: %s", strerror(errno));
		RD_COUNT(f, errors, 1);
	}
	close(fd);
	e->ok = true;
	RD_COUNT(f, files, 1);
	RD_COUNT(f, bytes, st->size);
	RD_COUNT(f, holes, holes);
	if (f->prog.mode != PROGRESS_NONE) {
		pthread_mutex_lock(&rf_report_lock);
		progress_add(&f->prog, st->size);
		pthread_mutex_unlock(&rf_report_lock);
	}
}

struct rd_worker {
	struct rd *d;
	struct ntfsfs *fs;
	unsigned queue; /* which queue it takes from first: 0 large files, 1 small ones */
	pthread_t t;
	int r;
};

static void *rd_work(void *userdata)
{
	struct rd_worker *w = userdata;
	struct rd *d = w->d;
	uint8_t *buf = NULL;

	if (posix_memalign((void **)&buf, IO_DIRECT_ALIGN, RD_BUF) != 0)
		buf = NULL;
	if (!buf) {
		w->r = -ENOMEM;
		return NULL;
	}
	for (;;) {
		/*
		 * a run of neighbouring files at a time (RD_BATCH bytes, or RD_BATCH_FILES files):
		 * workers taking one file each would all want the same chunk at once and wait for
		 * one another to decode it; apart, each decodes its own
		 */
		size_t i, end, lim;
		uint64_t bytes = 0;
		unsigned q = w->queue;
		pthread_mutex_lock(&d->lock);
		if (d->next[q] == (q ? d->n_order : d->n_large))
			q = !q;
		lim = q ? d->n_order : d->n_large;
		i = end = d->next[q];
		while (end < lim && end - i < RD_BATCH_FILES && bytes < RD_BATCH)
			bytes += d->ents[d->order[end++]].st.size;
		d->next[q] = end;
		pthread_mutex_unlock(&d->lock);
		if (i >= end)
			break;
		for (; i < end; i++)
			rd_file(d, w->fs, buf, &d->ents[d->order[i]]);
	}
	free(buf);
	return NULL;
}

/*
 * While the workers run: syncfs() every RD_FLUSH_MS, so that the writeback of
 * the small files (written through the page cache; the large ones are written
 * direct) overlaps the rest of the restore instead of all of it waiting for
 * the final syncfs (the kernel would not start before a tenth of memory is
 * dirty). One flush for many files: sync_file_range() on each small file
 * instead costs more than it saves.
 */
static void *rd_flusher(void *userdata)
{
	struct rd *d = userdata;
	struct timespec ts;

	pthread_mutex_lock(&d->lock);
	while (!d->done) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += RD_FLUSH_MS * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&d->flush, &d->lock, &ts);
		if (d->done)
			break;
		pthread_mutex_unlock(&d->lock);
		(void)syncfs(d->dirs[0].fd);
		pthread_mutex_lock(&d->lock);
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

/*
 * The order files are read in: by MFT region (RD_GROUP_INODES records, whose
 * chunks then stay in the source's cache), and in each region by where the
 * data lies on the volume, so that each chunk is decoded about once. Data
 * order alone would have every file jump to its own MFT record, all over the
 * MFT; MFT order alone jumps all over the data.
 */
static struct rd_ent *rd_sort_base;
static int cmp_ent_order(const void *a, const void *b)
{
	const struct rd_ent *x = &rd_sort_base[*(const uint32_t *)a], *y = &rd_sort_base[*(const uint32_t *)b];
	uint64_t gx = x->ino / RD_GROUP_INODES, gy = y->ino / RD_GROUP_INODES;

	if (gx != gy)
		return gx < gy ? -1 : 1;
	if (x->loc != y->loc)
		return x->loc < y->loc ? -1 : 1;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static int rd_run(struct rd *d, int root_fd)
{
	struct rf *f = d->f;
	struct rd_worker *w = NULL;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned n_workers = (unsigned)(ncpu > 0 ? ncpu : 1) + 1;
	struct rlimit rl;
	pthread_t fl;
	bool flusher;
	const char *env = getenv("SHADOWREV_RESTORE_THREADS");
	int r = 0;

	if (env && atoi(env) > 0)
		n_workers = (unsigned)atoi(env);
	/* one fd per folder stays open until the end */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	d->dirs[0].fd = root_fd;
	for (size_t i = 1; i < d->n_dirs; i++)
		rd_make_dir(d, i);

	d->order = malloc((d->n_ents + 1) * sizeof(*d->order));
	if (!d->order)
		return -ENOMEM;
	for (size_t i = 0; i < d->n_ents; i++)
		if (d->ents[i].kind == RD_FILE)
			d->order[d->n_order++] = (uint32_t)i;
	rd_sort_base = d->ents;
	qsort(d->order, d->n_order, sizeof(*d->order), cmp_ent_order);
	{
		/*
		 * two queues, each in that order: large files (their writes wait for the disk) and small
		 * ones (their creation costs CPU), taken by different workers so that the two overlap
		 */
		uint32_t *small = malloc((d->n_order + 1) * sizeof(*small));
		size_t n_small = 0;
		if (!small)
			return -ENOMEM;
		for (size_t i = 0; i < d->n_order; i++) {
			uint32_t k = d->order[i];
			if (d->ents[k].st.size >= RD_DIRECT_MIN)
				d->order[d->n_large++] = k;
			else
				small[n_small++] = k;
		}
		memcpy(d->order + d->n_large, small, n_small * sizeof(*small));
		free(small);
		d->next[0] = 0;
		d->next[1] = d->n_large;
	}
	if (n_workers > d->n_order)
		n_workers = d->n_order ? (unsigned)d->n_order : 1;
	w = calloc(n_workers, sizeof(*w));
	if (!w)
		return -ENOMEM;
	for (unsigned k = 0; k < n_workers; k++) {
		w[k].d = d;
		w[k].queue = k % 2;
		if (k == 0)
			w[k].fs = f->fs;
		else {
			r = ntfsfs_open(d->s->view, &w[k].fs);
			if (r < 0) {
				w[k].fs = NULL;
				n_workers = k;
				r = 0;
				break;
			}
			if (d->s->drive)
				ntfsfs_set_drive_letter(w[k].fs, d->s->drive);
		}
	}
	for (unsigned k = 1; k < n_workers; k++)
		if (pthread_create(&w[k].t, NULL, rd_work, &w[k]) != 0)
			w[k].r = 1; /* not started: the others take its share */
	flusher = pthread_create(&fl, NULL, rd_flusher, d) == 0;
	rd_work(&w[0]);
	for (unsigned k = 1; k < n_workers; k++)
		if (w[k].r != 1)
			pthread_join(w[k].t, NULL);
	if (flusher) {
		pthread_mutex_lock(&d->lock);
		d->done = true;
		pthread_cond_signal(&d->flush);
		pthread_mutex_unlock(&d->lock);
		pthread_join(fl, NULL);
	}
	for (unsigned k = 0; k < n_workers; k++) {
		if (w[k].r == -ENOMEM)
			r = -ENOMEM;
		if (k > 0)
			ntfsfs_close(w[k].fs);
	}
	free(w);
	if (r < 0)
		return r;

	/* hard links and symlinks, in plan order */
	for (size_t i = 0; i < d->n_ents; i++) {
		struct rd_ent *e = &d->ents[i];
		int dfd = d->dirs[e->dir].fd, k;
		struct timespec ts[2];
		if (e->kind == RD_FILE)
			continue;
		if (dfd < 0) {
			f->skipped++;
			continue;
		}
		if (e->kind == RD_HARDLINK) {
			struct rd_ent *t = &d->ents[e->link];
			if (!t->ok) {
				rf_report(f, e->path, "not linked: its first name '%s' was not restored", t->path);
				f->errors++;
				f->skipped++;
				continue;
			}
			k = linkat(d->dirs[t->dir].fd, t->name, dfd, e->name, 0);
			if (k < 0 && errno == EEXIST && f->overwrite && unlinkat(dfd, e->name, 0) == 0)
				k = linkat(d->dirs[t->dir].fd, t->name, dfd, e->name, 0);
		} else {
			k = symlinkat(e->target, dfd, e->name);
			if (k < 0 && errno == EEXIST && f->overwrite && unlinkat(dfd, e->name, 0) == 0)
				k = symlinkat(e->target, dfd, e->name);
		}
		if (k < 0) {
			if (errno == EEXIST)
				rf_report(f, e->path, "exists; not overwritten (use --overwrite)");
			else
				rf_report(f, e->path, "cannot make the %s: %s", e->kind == RD_HARDLINK ? "hard link" : "symlink",
					  strerror(errno));
			f->errors++;
			f->skipped++;
			continue;
		}
		if (e->kind == RD_HARDLINK)
			f->hardlinks++;
		else {
			rd_times(&e->st, ts);
			(void)utimensat(dfd, e->name, ts, AT_SYMLINK_NOFOLLOW);
			f->symlinks++;
		}
	}
	/* folder times last, children before parents */
	for (size_t i = d->n_dirs; i-- > 1;) {
		struct timespec ts[2];
		if (d->dirs[i].fd < 0)
			continue;
		rd_times(&d->dirs[i].st, ts);
		if (futimens(d->dirs[i].fd, ts) < 0) {
			rf_report(f, d->dirs[i].path, "cannot set its times: %s", strerror(errno));
			f->errors++;
		}
	}
	return 0;
}

static void rd_free(struct rd *d)
{
	for (size_t i = 0; i < d->n_dirs; i++) {
		if (i > 0 && d->dirs[i].fd >= 0)
			close(d->dirs[i].fd);
		free(d->dirs[i].name);
		free(d->dirs[i].path);
	}
	for (size_t i = 0; i < d->n_ents; i++) {
		free(d->ents[i].name);
		free(d->ents[i].path);
		free(d->ents[i].target);
	}
	free(d->dirs);
	free(d->ents);
	free(d->order);
}

/* Plan one PATH argument (as restore_path() does for archives). */
static int rd_plan_path(struct rd *d, const char *vpath)
{
	struct rf *f = d->f;
	_cleanup_free_ char *full = NULL;
	struct ntfsfs_stat st;
	uint64_t ino = 0, loc = UINT64_MAX;
	const char *base;
	int r;

	r = resolve_ci(f->fs, vpath, &ino);
	if (r < 0) {
		rf_report(f, vpath, "not found in %s: %s", f->label, sr_errmsg(r));
		f->errors++;
		return 0;
	}
	if (ino == NTFSFS_ROOT)
		return rd_plan_children(d, ino, 0);
	r = ntfsfs_stat(f->fs, ino, &st);
	if (r >= 0)
		r = ntfsfs_path(f->fs, ino, &full);
	if (r < 0) {
		rf_report(f, vpath, "cannot read: %s", sr_errmsg(r));
		f->errors++;
		return 0;
	}
	base = strrchr(full, '/');
	base = base ? base + 1 : full;
	if (!rs_name_is_safe(base, NULL) || strlen(base) > 255) {
		rf_report(f, vpath, "refusing an unsafe name");
		f->errors++;
		return 0;
	}
	if (st.type != NTFSFS_DIR && ntfsfs_data_offset(f->fs, ino, &loc) < 0)
		loc = UINT64_MAX;
	return rd_plan(d, ino, 0, base, &st, loc);
}

/* Restore the PATHs to the folder open at root_fd. < 0: the command stops. */
static int rd_restore(struct rf *f, struct rs_source *s, int root_fd, char **paths, int n)
{
	struct rd d = { .f = f, .s = s, .lock = PTHREAD_MUTEX_INITIALIZER, .flush = PTHREAD_COND_INITIALIZER };
	int r;

	d.umask = umask(0);
	umask(d.umask);
	r = rd_add_dir(&d, -1, "", "", NTFSFS_ROOT, NULL);
	for (int i = 0; i < n && r >= 0; i++)
		r = rd_plan_path(&d, paths[i]);
	/* the plan knows how much there is to write: progress shows a percentage and an ETA from here on */
	for (size_t i = 0; i < d.n_ents && r >= 0; i++)
		if (d.ents[i].kind == RD_FILE)
			f->prog.total += d.ents[i].st.size;
	if (r >= 0)
		r = rd_run(&d, root_fd);
	rd_free(&d);
	return r < 0 ? r : 0;
}

int rs_cmd_files(int argc, char **argv)
{
	enum { OPT_TO = OPT_FIRST_VERB_OPTION, OPT_ARCHIVE, OPT_FORMAT, OPT_META, OPT_OVERWRITE, OPT_REPO, OPT_IMAGE,
	       OPT_PASS };
	static const struct option opts[] = { CLI_COMMON_LONG_OPTIONS,
					      { "to", required_argument, NULL, OPT_TO },
					      { "archive", required_argument, NULL, OPT_ARCHIVE },
					      { "format", required_argument, NULL, OPT_FORMAT },
					      { "ntfs-metadata", no_argument, NULL, OPT_META },
					      { "overwrite", no_argument, NULL, OPT_OVERWRITE },
					      { "repo", required_argument, NULL, OPT_REPO },
					      { "image", required_argument, NULL, OPT_IMAGE },
					      { "passphrase-file", required_argument, NULL, OPT_PASS },
					      { 0 } };
	struct cli_common c = { 0 };
	const char *to = NULL, *arch = NULL, *format = NULL, *repo_dir = NULL, *pass = NULL, *spec;
	_cleanup_free_ char **images = NULL;
	struct io_new nf = IO_NEW_INIT;
	size_t n_images = 0;
	struct rs_source s = { 0 };
	struct rf f = { 0 };
	int o, ex, r, cwd = -1, out_fd = -1;
	double t0 = now_seconds();

	images = calloc((size_t)argc + 1, sizeof(*images));
	if (!images)
		return sr_error(-ENOMEM, "cannot restore");
	while ((o = cli_getopt(argc, argv, "", opts)) != -1) {
		if (o == '?' || o == ':')
			return cli_bad_option("restore", o, argc, argv);
		if (cli_common_option(&c, "restore", o, optarg, &ex) < 0)
			return ex;
		switch (o) {
		case OPT_TO: to = optarg; break;
		case OPT_ARCHIVE: arch = optarg; break;
		case OPT_FORMAT: format = optarg; break;
		case OPT_META: f.meta = true; break;
		case OPT_OVERWRITE: f.overwrite = true; break;
		case OPT_REPO: repo_dir = optarg; break;
		case OPT_IMAGE: images[n_images++] = optarg; break;
		case OPT_PASS: pass = optarg; break;
		default: break;
		}
	}
	/* argv[optind] is "files" */
	optind++;
	if (optind >= argc)
		return cli_usage("restore", "no SOURCE given (a shadow copy ID, SET-ID:C:, or live)");
	spec = argv[optind++];
	if (optind >= argc)
		return cli_usage("restore", "no PATH given (\"/\" restores everything)");
	if (!!to + !!arch != 1)
		return cli_usage("restore", "give either --to DIR or --archive FILE|-");
	if (n_images && repo_dir)
		return cli_usage("restore", "give either --image or --repo, not both");
	if (to) {
		if (format)
			return cli_usage("restore", "--format is for --archive");
		f.fmt = RF_DISK;
	} else if (!format || strcmp(format, "tar") == 0)
		f.fmt = RF_TAR;
	else if (strcmp(format, "pax") == 0)
		f.fmt = RF_PAX;
	else if (strcmp(format, "zip") == 0)
		f.fmt = RF_ZIP;
	else
		return cli_usage("restore", "--format takes tar, pax or zip, not '%s'", format);
	if (arch && strcmp(arch, "-") == 0 && isatty(STDOUT_FILENO))
		return cli_usage("restore", "refusing to write an archive to a terminal");
	if (f.fmt == RF_ZIP && f.meta)
		sr_warn("zip archives carry no extended attributes: --ntfs-metadata is ignored");

	/* names are UTF-8 throughout; libarchive converts pathnames through the locale */
	if (!setlocale(LC_CTYPE, "C.UTF-8"))
		setlocale(LC_CTYPE, "");

	if (cli_pending_revert(images, n_images, true) != EXIT_OK)
		return EXIT_FAILED;
	r = rs_source_open(spec, images, n_images, repo_dir, pass, &s);
	if (r < 0) {
		sr_error(r, "cannot open '%s'", spec);
		return s.usage ? EXIT_USAGE : EXIT_FAILED;
	}
	f.label = s.label;
	/*
	 * no block cache in front: files are read in the order of their data (see cmp_ent_order) and a
	 * captured volume keeps its recently decoded chunks itself, each decoded once however many
	 * workers want it; image files have the page cache
	 */
	r = ntfsfs_open(s.view, &f.fs);
	if (r < 0) {
		sr_error(r, "cannot read the NTFS file tree of '%s'", spec);
		rs_source_close(&s);
		return EXIT_FAILED;
	}
	if (s.drive)
		ntfsfs_set_drive_letter(f.fs, s.drive);
	u64map_init(&f.links);
	f.buf = malloc(RF_BUF);
	if (!f.buf) {
		r = -ENOMEM;
		goto fail;
	}

	if (f.fmt == RF_DISK) {
		f.sysns = geteuid() == 0 ? "trusted." : "user.";
		r = mkdir_p(to, 0755);
		if (r < 0) {
			sr_fail(r, "cannot create '%s': %s", to, strerror(-r));
			goto fail;
		}
		cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		/*
		 * DIR itself is not followed if it is a symlink (one planted in /tmp would take every file,
		 * and --overwrite's replacements, elsewhere); below it nothing is (see the top of this file)
		 */
		{
			int tfd = open(to, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			struct stat lst;
			/* a symlink is ELOOP, or ENOTDIR with O_DIRECTORY */
			if (tfd < 0 && (errno == ELOOP || errno == ENOTDIR) && lstat(to, &lst) == 0 && S_ISLNK(lst.st_mode)) {
				r = sr_fail(-ELOOP, "'%s' is a symlink; give the folder itself", to);
				goto fail;
			}
			if (cwd < 0 || tfd < 0 || fchdir(tfd) < 0) {
				r = sr_fail(-errno, "cannot enter '%s': %s", to, strerror(errno));
				if (tfd >= 0)
					close(tfd);
				goto fail;
			}
			close(tfd);
		}
	} else {
		f.sysns = "system.";
		f.a = archive_write_new();
		if (!f.a) {
			r = -ENOMEM;
			goto fail;
		}
		if (f.fmt == RF_ZIP) {
			archive_write_set_format_zip(f.a);
			archive_write_set_options(f.a, "zip:hdrcharset=UTF-8");
		} else if (f.fmt == RF_PAX)
			archive_write_set_format_pax(f.a);
		else
			archive_write_set_format_pax_restricted(f.a);
		archive_write_set_bytes_in_last_block(f.a, 1);
		if (strcmp(arch, "-") == 0)
			out_fd = STDOUT_FILENO;
		else {
			struct stat ast;
			if (!f.overwrite && fstatat(AT_FDCWD, arch, &ast, AT_SYMLINK_NOFOLLOW) == 0) {
				r = sr_fail(-EEXIST, "'%s' exists (use --overwrite to replace it)", arch);
				goto fail;
			}
			/* unnamed or randomly named beside FILE until complete (io_new_open): nothing to plant */
			r = io_new_open(&nf, arch);
			if (r < 0) {
				r = sr_fail(r, "cannot create '%s': %s", arch, strerror(-r));
				goto fail;
			}
			out_fd = nf.fd;
		}
		if (archive_write_open_fd(f.a, out_fd) != ARCHIVE_OK) {
			r = ae_error(&f, ARCHIVE_FATAL);
			goto fail;
		}
	}

	progress_begin(&f.prog, "restore", 0);
	if (f.fmt == RF_DISK) {
		int root = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (root < 0)
			r = sr_fail(-errno, "cannot open '%s': %s", to, strerror(errno));
		else {
			r = rd_restore(&f, &s, root, argv + optind, argc - optind);
			close(root);
		}
	} else {
		for (int i = optind; i < argc && r >= 0; i++)
			r = restore_path(&f, argv[i]);
	}
	progress_end(&f.prog);
	if (r < 0)
		goto fail;
	if (f.fmt != RF_DISK && archive_write_close(f.a) < ARCHIVE_WARN) {
		r = ae_error(&f, ARCHIVE_FATAL);
		if (f.fmt != RF_DISK)
			goto fail;
		sr_warn("%s", sr_errmsg(r));
		f.errors++;
		r = 0;
	}
	if (f.fmt == RF_DISK) {
		int dfd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0 || syncfs(dfd) < 0)
			sr_warn("cannot flush '%s' to disk: %s", to, strerror(errno));
		if (dfd >= 0)
			close(dfd);
	} else if (nf.fd >= 0) {
		/* without --overwrite, a FILE that appeared meanwhile (or a symlink there) is never replaced */
		r = io_new_commit(&nf, 0644, f.overwrite ? IO_NEW_REPLACE : 0);
		if (r == -EEXIST)
			r = sr_fail(r, "'%s' exists (use --overwrite to replace it)", arch);
		else if (r < 0)
			r = sr_fail(r, "cannot write '%s': %s", arch, strerror(-r));
		if (r < 0)
			goto fail;
	}
	if (cwd >= 0) {
		if (fchdir(cwd) < 0) {}
		close(cwd);
		cwd = -1;
	}

	if (c.json) {
		struct json j;
		json_init(&j, out_fd == STDOUT_FILENO ? stderr : stdout, false);
		json_obj_begin(&j);
		json_kstr(&j, "source", s.label);
		json_kstr(&j, "to", to ? to : arch);
		json_kstr(&j, "format", f.fmt == RF_DISK ? "folder" : f.fmt == RF_ZIP ? "zip" : f.fmt == RF_PAX ? "pax" : "tar");
		json_ku64(&j, "files", f.files);
		json_ku64(&j, "folders", f.dirs);
		json_ku64(&j, "hardlinks", f.hardlinks);
		json_ku64(&j, "symlinks", f.symlinks);
		json_ku64(&j, "bytes", f.bytes);
		json_ku64(&j, "hole_bytes", f.holes);
		json_ku64(&j, "skipped", f.skipped);
		json_ku64(&j, "errors", f.errors);
		json_ku64(&j, "collisions", f.collisions);
		json_key(&j, "seconds");
		fprintf(j.f, "%.3f", now_seconds() - t0);
		json_obj_end(&j);
		json_end(&j);
	} else if (sr_verbosity > 0 || f.errors) {
		char b[32];
		fprintf(out_fd == STDOUT_FILENO ? stderr : stdout,
			"restored %llu files, %llu folders, %llu hard links, %llu symlinks, %s from %s; %llu skipped, "
			"%llu errors%s\n",
			(unsigned long long)f.files, (unsigned long long)f.dirs, (unsigned long long)f.hardlinks,
			(unsigned long long)f.symlinks, format_bytes(f.bytes, b, sizeof(b)), s.label,
			(unsigned long long)f.skipped, (unsigned long long)f.errors,
			f.collisions ? " (names that collide on a case-insensitive target were reported)" : "");
	}
	r = f.errors ? EXIT_PARTIAL : EXIT_OK;
	goto done;
fail:
	sr_error(r, "cannot restore files of '%s'", spec);
	r = EXIT_FAILED;
done:
	if (cwd >= 0) {
		if (fchdir(cwd) < 0) {}
		close(cwd);
	}
	if (out_fd >= 0 && out_fd != STDOUT_FILENO && out_fd != nf.fd)
		close(out_fd);
	if (f.a)
		archive_write_free(f.a);
	io_new_done(&nf); /* closes it; removes what was not committed */
	for (size_t i = 0; i < f.n_paths; i++)
		free(f.paths[i]);
	free(f.paths);
	u64map_free(&f.links);
	free(f.buf);
	ntfsfs_close(f.fs);
	rs_source_close(&s);
	return r;
}
