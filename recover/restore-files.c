/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `shadowrev restore files SOURCE PATH... --to DIR | --archive FILE|-`
 *
 * Files and folders of one volume view, read through core/ntfsfs, written with
 * libarchive: to a folder (archive_write_disk) or as a tar, pax or zip stream.
 *
 * Why archive_write_disk and not our own openat() writer: it already restores
 * sparse files with holes (archive_write_data_block at offsets), hard links,
 * symlinks, extended attributes and times, and it defers folder times to the
 * end. Its safety flags (SECURE_SYMLINKS: never write through a symlink,
 * SECURE_NODOTDOT, SECURE_NOABSOLUTEPATHS) are a second line: the first is
 * that every name read from the volume is checked here (rs_name_is_safe:
 * no separators, no "." or "..", no control characters) before it becomes
 * part of a path, and paths are relative to DIR (we work from inside DIR).
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

static void rf_report(struct rf *f, const char *path, const char *fmt, ...) _printf_(3, 4);
static void rf_report(struct rf *f, const char *path, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (f->prog.shown)
		progress_end(&f->prog);
	sr_warn("'%s': %s", path, msg);
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

static void add_xattr(struct rf *f, struct archive_entry *e, const char *sysname, const void *v, size_t n)
{
	char name[300];

	snprintf(name, sizeof(name), "%s%s", f->sysns, sysname);
	archive_entry_xattr_add_entry(e, name, v, n);
}

struct stream_ctx {
	struct rf *f;
	struct archive_entry *e;
	uint64_t ino;
	const char *path;
	int err;
};

static int stream_cb(void *userdata, const char *name, uint64_t size)
{
	struct stream_ctx *c = userdata;
	_cleanup_free_ uint8_t *v = NULL;
	char xname[300];
	ssize_t n;

	if (size > (64u << 20)) {
		rf_report(c->f, c->path, "stream '%s' is %llu bytes, too large for an extended attribute; skipped", name,
			  (unsigned long long)size);
		c->err = -EFBIG;
		return 0;
	}
	v = malloc(size ? size : 1);
	if (!v)
		return -ENOMEM;
	n = ntfsfs_read(c->f->fs, c->ino, name, v, size, 0);
	if (n < 0 || (uint64_t)n != size) {
		rf_report(c->f, c->path, "cannot read stream '%s': %s", name, sr_errmsg(n < 0 ? (int)n : -EIO));
		c->err = n < 0 ? (int)n : -EIO;
		return 0;
	}
	snprintf(xname, sizeof(xname), "user.%s", name);
	archive_entry_xattr_add_entry(c->e, xname, v, size);
	return 0;
}

/* Extended attributes of ino: creation time always, the rest with --ntfs-metadata. */
static int add_metadata(struct rf *f, struct archive_entry *e, uint64_t ino, const struct ntfsfs_stat *st,
			const char *path)
{
	uint8_t le[8];
	int r;

	if (f->fmt == RF_ZIP)
		return 0;
	/* in archives only when asked: bsdtar -x restores xattrs and fails on system.* names */
	if (!f->meta && f->fmt != RF_DISK)
		return 0;
	put_le64(le, st->creation_time);
	add_xattr(f, e, "ntfs_crtime", le, 8);
	if (!f->meta)
		return 0;
	put_le32(le, st->attributes & ~(uint32_t)(st->type == NTFSFS_DIR ? 0 : NTFSFS_ATTR_DIRECTORY));
	add_xattr(f, e, "ntfs_attrib", le, 4);
	{
		_cleanup_free_ void *sd = NULL;
		size_t n;
		r = ntfsfs_security(f->fs, ino, &sd, &n);
		if (r >= 0)
			add_xattr(f, e, "ntfs_acl", sd, n);
	}
	if (st->reparse_tag) {
		_cleanup_free_ void *rp = NULL;
		size_t n;
		r = ntfsfs_reparse_data(f->fs, ino, &rp, &n);
		if (r >= 0)
			add_xattr(f, e, "ntfs_reparse_data", rp, n);
	}
	if (st->n_streams > 0) {
		struct stream_ctx c = { f, e, ino, path, 0 };
		r = ntfsfs_streams(f->fs, ino, stream_cb, &c);
		if (r < 0) {
			rf_report(f, path, "cannot list its streams: %s", sr_errmsg(r));
			return r;
		}
		if (c.err < 0)
			return c.err;
	}
	return 0;
}

static int remember_path(struct rf *f, uint64_t ino, const char *path)
{
	if (f->n_paths == f->cap_paths) {
		size_t cap = f->cap_paths ? f->cap_paths * 2 : 64;
		char **p = realloc(f->paths, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		f->paths = p;
		f->cap_paths = cap;
	}
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
			bool z = rs_is_zero(f->buf + i, m);
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
				if (rs_is_zero(whole + i, m)) {
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
				if (sparse && rs_is_zero(f->buf + i, m)) {
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
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 32;
		struct child *v = realloc(c->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		c->v = v;
		c->cap = cap;
	}
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
		const char *why;

		if (!rs_name_is_safe(c.v[i].name, &why) || (f->fmt == RF_DISK && strlen(c.v[i].name) > 255)) {
			char esc[1100];
			size_t k = 0;
			for (const unsigned char *p = (const unsigned char *)c.v[i].name; *p && k + 5 < sizeof(esc); p++)
				k += (size_t)snprintf(esc + k, sizeof(esc) - k,
						       (*p < 0x20 || *p == 0x7f || *p == '\\' || *p == '/') ? "\\x%02x" : "%c", *p);
			esc[k] = 0;
			rf_report(f, path[0] ? path : "/", "refusing the entry named \"%s\": %s", esc,
				  why ? why : "name longer than 255 bytes");
			f->skipped++;
			f->errors++;
			continue;
		}
		if (i > 0 && strcmp(c.v[i].fold, c.v[i - 1].fold) == 0) {
			rf_report(f, path[0] ? path : "/", "names '%s' and '%s' collide on a case-insensitive target",
				  c.v[i - 1].name, c.v[i].name);
			f->collisions++;
		}
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
					bool z = rs_is_zero(whole + i, m);
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

struct ci_find {
	const char *fold;
	uint64_t ino;
	unsigned n;
};

static int ci_cb(void *userdata, const char *name, uint64_t ino, enum ntfsfs_type type)
{
	struct ci_find *c = userdata;
	_cleanup_free_ char *fo = rs_fold(name);
	(void)type;
	if (!fo)
		return -ENOMEM;
	if (strcmp(fo, c->fold) == 0) {
		if (c->n == 0 || ino != c->ino)
			c->n++;
		c->ino = ino;
	}
	return 0;
}

/* Resolve a volume path case-insensitively, as Windows does: an exact name first, else the one name that folds equal. */
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
		r = ntfsfs_lookup(fs, ino, comp, &next);
		if (r == -ENOENT) {
			_cleanup_free_ char *fo = rs_fold(comp);
			struct ci_find c = { fo, 0, 0 };
			if (!fo)
				return -ENOMEM;
			r = ntfsfs_readdir(fs, ino, 0, ci_cb, &c);
			if (r < 0)
				return r;
			if (c.n == 0)
				return sr_fail(-ENOENT, "no '%s'", comp);
			if (c.n > 1)
				return sr_fail(-ENOTUNIQ, "several names match '%s' when case is ignored; give the exact one", comp);
			next = c.ino;
			r = 0;
		}
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
	_cleanup_free_ char *tmp = NULL;
	size_t n_images = 0;
	struct rs_source s = { 0 };
	struct rf f = { 0 };
	int o, ex, r, cwd = -1, out_fd = -1, flags;
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

	r = rs_source_open(spec, images, n_images, repo_dir, pass, &s);
	if (r < 0)
		return sr_error(r, "cannot open '%s'", spec);
	f.label = s.label;
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
		if (cwd < 0 || chdir(to) < 0) {
			r = sr_fail(-errno, "cannot enter '%s': %s", to, strerror(errno));
			goto fail;
		}
		f.a = archive_write_disk_new();
		flags = ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_XATTR |
			ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
			ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS;
		if (!f.overwrite)
			flags |= ARCHIVE_EXTRACT_NO_OVERWRITE;
		if (!f.a || archive_write_disk_set_options(f.a, flags) != ARCHIVE_OK) {
			r = -ENOMEM;
			goto fail;
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
			if (!f.overwrite && access(arch, F_OK) == 0) {
				r = sr_fail(-EEXIST, "'%s' exists (use --overwrite to replace it)", arch);
				goto fail;
			}
			if (asprintf(&tmp, "%s.shadowrev-tmp", arch) < 0) {
				tmp = NULL;
				r = -ENOMEM;
				goto fail;
			}
			out_fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
			if (out_fd < 0) {
				r = sr_fail(-errno, "cannot create '%s': %s", tmp, strerror(errno));
				goto fail;
			}
		}
		if (archive_write_open_fd(f.a, out_fd) != ARCHIVE_OK) {
			r = ae_error(&f, ARCHIVE_FATAL);
			goto fail;
		}
	}

	progress_begin(&f.prog, "restore", 0);
	for (int i = optind; i < argc && r >= 0; i++)
		r = restore_path(&f, argv[i]);
	progress_end(&f.prog);
	if (r < 0)
		goto fail;
	if (archive_write_close(f.a) < ARCHIVE_WARN) {
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
	} else if (tmp) {
		if (fsync(out_fd) < 0 || close(out_fd) < 0) {
			out_fd = -1;
			r = sr_fail(-errno, "cannot write '%s': %s", tmp, strerror(errno));
			goto fail;
		}
		out_fd = -1;
		if (rename(tmp, arch) < 0) {
			r = sr_fail(-errno, "cannot rename '%s': %s", tmp, strerror(errno));
			goto fail;
		}
		fsync_parent(arch);
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
	if (tmp && out_fd >= 0)
		unlink(tmp);
done:
	if (cwd >= 0) {
		if (fchdir(cwd) < 0) {}
		close(cwd);
	}
	if (out_fd >= 0 && out_fd != STDOUT_FILENO)
		close(out_fd);
	if (f.a)
		archive_write_free(f.a);
	for (size_t i = 0; i < f.n_paths; i++)
		free(f.paths[i]);
	free(f.paths);
	u64map_free(&f.links);
	free(f.buf);
	ntfsfs_close(f.fs);
	rs_source_close(&s);
	return r;
}
