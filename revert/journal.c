/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The revert journal. Layout (little-endian), every record checked by CRC-32:
 *   "SRREVJNL" u32 version=2 u32 len shadow-id[len] u32 crc
 *                (this header keeps its layout in every version: core/target.c reads the ID)
 *   'T' records: u32 'TRGT' u32 len path[len] u32 kind (1 image file, 2 block device) u32 0
 *                u64 st_dev u64 st_ino u64 st_rdev u64 size u32 crc
 *   'V' records: u32 'VOLM' u32 target u64 offset u32 fs (0 none, 1 NTFS) u32 0 u64 serial u64 size u32 crc
 *                (an NTFS volume's serial and size, from its boot sector before the revert)
 *   'W' records: u32 'WRIT' u32 target u64 offset u32 len u32 flags u8 sha256-before[32]
 *                u32 crc(header||sha256-before||new||old) new[len]
 *                [old[len] when flags & 1: the bytes the write replaces, kept for forensics]
 *   trailer:     u32 'JEND' u32 n_targets u32 n_writes u32 crc(of the 12 bytes before)
 * A journal without its trailer was never committed and is ignored (the
 * revert had not written anything yet).
 *
 * Why the identity: a journal is found by the target's name, and a name can
 * come to mean another volume (a disk that shows up as /dev/sdb after another
 * one did, an image file replaced by another). Before a journal is replayed,
 * every target must be the one it was made for: the same file (device and
 * inode) or a block device of the same size, the same NTFS serial and size,
 * and each range the journal writes must hold either the bytes that were
 * there before the revert (their SHA-256) or the bytes the journal writes
 * (an interrupted replay stops anywhere). Writes never overlap (checked at
 * commit), so that test is exact.
 *
 * Version 1 journals named their targets by path only: they are refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/crc32.h"
#include "core/crypto.h"
#include "core/io.h"
#include "core/log.h"
#include "core/macro.h"
#include "core/target.h"
#include "revert-internal.h"

#define MAGIC "SRREVJNL"
#define VERSION 2
#define T_TRGT 0x54475254u
#define T_VOLM 0x4d4c4f56u
#define T_WRIT 0x54495257u
#define T_JEND 0x444e454au
#define MAX_WRITE (16u << 20)
#define WHDR 60 /* a write record before its data */

#define W_OLD 1u
#define K_FILE 1u
#define K_BLOCK 2u
#define FS_NTFS 1u

struct wrec {
	uint32_t target, len, flags;
	uint64_t off, data_pos; /* file offset of new[len] */
	uint8_t before[32];
	uint8_t after[32]; /* SHA-256 of new[len], while the journal is made (to allow identical repeats) */
};

struct jtarget {
	char *path;
	uint32_t kind;
	uint64_t dev, ino, rdev, size;
	int fd; /* while the journal is made: read-only, for the bytes before */
};

struct jvol {
	uint32_t target, fs;
	uint64_t off, serial, size;
};

struct journal {
	char *path, *tmp;
	int fd;
	uint64_t pos;
	char *shadow_id;
	VEC(struct jtarget) targets;
	VEC(struct jvol) vols;
	VEC(struct wrec) writes;
	uint64_t bytes;
};

char *journal_path_for(const char *target, const char *journal_dir)
{
	return target_journal_path(target, journal_dir);
}

static void close_targets(struct journal *j)
{
	for (size_t i = 0; i < j->targets.n; i++)
		if (j->targets.v[i].fd >= 0) {
			close(j->targets.v[i].fd);
			j->targets.v[i].fd = -1;
		}
}

void journal_free(struct journal *j)
{
	if (!j)
		return;
	if (j->fd >= 0)
		close(j->fd);
	if (j->tmp) /* never committed */
		unlink(j->tmp);
	close_targets(j);
	for (size_t i = 0; i < j->targets.n; i++)
		free(j->targets.v[i].path);
	free(j->targets.v);
	free(j->vols.v);
	free(j->writes.v);
	free(j->shadow_id);
	free(j->path);
	free(j->tmp);
	free(j);
}

static int put(struct journal *j, const void *p, size_t n)
{
	int r = write_full(j->fd, p, n);
	if (r < 0)
		return sr_fail(r, "cannot write the journal '%s': %s", j->path, strerror(-r));
	j->pos += n;
	return 0;
}

/* A record of n bytes whose last 4 are the CRC-32 of the ones before. */
static int put_rec(struct journal *j, uint8_t *rec, size_t n)
{
	put_le32(rec + n - 4, crc32_le(0, rec, n - 4));
	return put(j, rec, n);
}

/*
 * The default journal folder (block devices) is made 0700 when missing; it
 * must be a real folder of ours that nobody else can write to, since root
 * writes there.
 */
static int journal_dir_prepare(const char *path)
{
	_cleanup_free_ char *copy = strdup(path);
	const char *dir;
	struct stat st;
	int r;

	if (!copy)
		return -ENOMEM;
	dir = dirname(copy);
	if (strcmp(dir, target_journal_default_dir()) != 0)
		return 0; /* --journal DIR, or beside an image: the user's folder */
	if (lstat(dir, &st) < 0) {
		if (errno != ENOENT)
			return sr_fail(-errno, "cannot use the journal folder '%s': %s", dir, strerror(errno));
		r = mkdir_p(dir, 0700);
		if (r < 0)
			return sr_fail(r, "cannot create the journal folder '%s': %s", dir, strerror(-r));
		if (lstat(dir, &st) < 0)
			return sr_fail(-errno, "cannot use the journal folder '%s': %s", dir, strerror(errno));
	}
	if (S_ISLNK(st.st_mode))
		return sr_fail(-EPERM, "refusing the journal folder '%s': it is a symbolic link", dir);
	if (!S_ISDIR(st.st_mode))
		return sr_fail(-ENOTDIR, "refusing the journal folder '%s': it is not a folder", dir);
	if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)))
		return sr_fail(-EPERM, "refusing the journal folder '%s': it is writable by others (owner %u, mode %03o)",
			       dir, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
	return 0;
}

/*
 * The journal is written where nobody can reach it before it is complete: an
 * unnamed O_TMPFILE in the destination folder, linked in at the commit (no
 * name to plant a symlink at, nothing left behind by a kill). Where the file
 * system has no O_TMPFILE: a file beside path under an unpredictable name,
 * O_EXCL|O_NOFOLLOW (a planted symlink is never followed). Mode 0600 both.
 */
static int create_tmp(struct journal *j)
{
	_cleanup_free_ char *copy = strdup(j->path);

	if (!copy)
		return -ENOMEM;
	j->fd = open(dirname(copy), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (j->fd >= 0)
		return 0; /* j->tmp stays NULL: unnamed */
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		return sr_fail(-errno, "cannot create the journal '%s': %s", j->path, strerror(errno));
	for (int attempt = 0; attempt < 16; attempt++) {
		uint64_t rnd;
		if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			return sr_fail(-EIO, "cannot create the journal '%s': no random bytes", j->path);
		free(j->tmp);
		if (asprintf(&j->tmp, "%s.tmp-%016llx", j->path, (unsigned long long)rnd) < 0) {
			j->tmp = NULL;
			return -ENOMEM;
		}
		j->fd = open(j->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (j->fd >= 0)
			return 0;
		if (errno != EEXIST) {
			int r = sr_fail(-errno, "cannot create the journal '%s': %s", j->tmp, strerror(errno));
			free(j->tmp);
			j->tmp = NULL;
			return r;
		}
	}
	free(j->tmp);
	j->tmp = NULL;
	return sr_fail(-EEXIST, "cannot create the journal '%s': no free temporary name", j->path);
}

int journal_create(const char *path, const char *shadow_id, struct journal **ret)
{
	struct journal *j = calloc(1, sizeof(*j));
	uint8_t hdr[16];
	uint32_t len = (uint32_t)strlen(shadow_id), crc;
	int r;

	if (!j)
		return -ENOMEM;
	j->fd = -1;
	j->path = strdup(path);
	j->shadow_id = strdup(shadow_id);
	if (!j->path || !j->shadow_id) {
		journal_free(j);
		return -ENOMEM;
	}
	if ((r = journal_dir_prepare(path)) < 0 || (r = create_tmp(j)) < 0) {
		journal_free(j);
		return r;
	}
	memcpy(hdr, MAGIC, 8);
	put_le32(hdr + 8, VERSION);
	put_le32(hdr + 12, len);
	crc = crc32_le(crc32_le(0, hdr, 16), shadow_id, len);
	if ((r = put(j, hdr, 16)) < 0 || (r = put(j, shadow_id, len)) < 0 ||
	    (r = put(j, (uint8_t[4]){ (uint8_t)crc, (uint8_t)(crc >> 8), (uint8_t)(crc >> 16), (uint8_t)(crc >> 24) },
		     4)) < 0) {
		journal_free(j);
		return r;
	}
	*ret = j;
	return 0;
}

/* Who fd is: kind, device and inode (files), device number (block devices), size. */
static int identify(int fd, const char *path, struct jtarget *t)
{
	struct stat st;
	int r;

	if (fstat(fd, &st) < 0)
		return sr_fail(-errno, "cannot open '%s': %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return sr_fail(-EINVAL, "'%s' is neither an image file nor a block device", path);
	t->kind = S_ISBLK(st.st_mode) ? K_BLOCK : K_FILE;
	t->dev = st.st_dev;
	t->ino = st.st_ino;
	t->rdev = st.st_rdev;
	r = fd_get_size(fd, &t->size);
	if (r < 0)
		return sr_fail(r, "cannot get the size of '%s': %s", path, strerror(-r));
	return 0;
}

int journal_add_target(struct journal *j, const char *path, uint32_t *ret_idx)
{
	struct jtarget t = { .fd = -1 };
	uint32_t len = (uint32_t)strlen(path);
	_cleanup_free_ uint8_t *rec = NULL;
	int r;

	if (len > 4096)
		return -ENAMETOOLONG;
	t.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (t.fd < 0)
		return sr_fail(-errno, "cannot open '%s': %s", path, strerror(errno));
	r = identify(t.fd, path, &t);
	rec = malloc(8 + len + 44);
	t.path = strdup(path);
	if (r >= 0 && (!rec || !t.path))
		r = -ENOMEM;
	if (r >= 0) {
		put_le32(rec, T_TRGT);
		put_le32(rec + 4, len);
		memcpy(rec + 8, path, len);
		put_le32(rec + 8 + len, t.kind);
		put_le32(rec + 12 + len, 0);
		put_le64(rec + 16 + len, t.dev);
		put_le64(rec + 24 + len, t.ino);
		put_le64(rec + 32 + len, t.rdev);
		put_le64(rec + 40 + len, t.size);
		r = put_rec(j, rec, 8 + len + 44);
	}
	if (r >= 0)
		r = vec_push(&j->targets, t);
	if (r < 0) {
		close(t.fd);
		free(t.path);
		return r;
	}
	*ret_idx = (uint32_t)(j->targets.n - 1);
	return 0;
}

/* An NTFS boot sector's serial and size in bytes; false when b is not one. */
static bool ntfs_ident(const uint8_t *b, uint64_t *ret_serial, uint64_t *ret_size)
{
	if (memcmp(b + 3, "NTFS    ", 8) != 0)
		return false;
	*ret_serial = le64(b + 0x48);
	*ret_size = le64(b + 0x28) * (uint64_t)le16(b + 0x0b);
	return true;
}

int journal_add_volume(struct journal *j, uint32_t target, uint64_t off)
{
	struct jvol v = { .target = target, .off = off };
	uint8_t boot[512], rec[44];
	int r;

	if (target >= j->targets.n || j->targets.v[target].fd < 0)
		return -EINVAL;
	for (size_t i = 0; i < j->vols.n; i++)
		if (j->vols.v[i].target == target && j->vols.v[i].off == off)
			return 0;
	r = pread_full(j->targets.v[target].fd, boot, sizeof(boot), off);
	if (r < 0)
		return sr_fail(r, "cannot read '%s' at offset %llu: %s", j->targets.v[target].path,
			       (unsigned long long)off, strerror(-r));
	if (ntfs_ident(boot, &v.serial, &v.size))
		v.fs = FS_NTFS;
	put_le32(rec, T_VOLM);
	put_le32(rec + 4, target);
	put_le64(rec + 8, off);
	put_le32(rec + 16, v.fs);
	put_le32(rec + 20, 0);
	put_le64(rec + 24, v.serial);
	put_le64(rec + 32, v.size);
	if ((r = put_rec(j, rec, sizeof(rec))) < 0)
		return r;
	return vec_push(&j->vols, v);
}

int journal_add_write(struct journal *j, uint32_t target, uint64_t off, const void *new_data, const void *old_data,
		      uint32_t len)
{
	uint8_t h[WHDR];
	struct wrec w = { target, len, old_data ? W_OLD : 0, off, 0, { 0 }, { 0 } };
	_cleanup_free_ uint8_t *before = NULL;
	uint32_t crc;
	int r;

	if (target >= j->targets.n || j->targets.v[target].fd < 0 || len == 0 || len > MAX_WRITE / 2)
		return -EINVAL;
	/* the bytes there now, read from the target itself: what a resume must find, or the new ones */
	before = malloc(len);
	if (!before)
		return -ENOMEM;
	r = pread_full(j->targets.v[target].fd, before, len, off);
	if (r < 0)
		return sr_fail(r, "cannot read '%s' at offset %llu: %s", j->targets.v[target].path,
			       (unsigned long long)off, strerror(-r));
	crypto_sha256(before, len, w.before);
	crypto_sha256(new_data, len, w.after);
	put_le32(h, T_WRIT);
	put_le32(h + 4, target);
	put_le64(h + 8, off);
	put_le32(h + 16, len);
	put_le32(h + 20, w.flags);
	memcpy(h + 24, w.before, 32);
	crc = crc32_le(crc32_le(0, h, 56), new_data, len);
	if (old_data)
		crc = crc32_le(crc, old_data, len);
	put_le32(h + 56, crc);
	if ((r = put(j, h, sizeof(h))) < 0)
		return r;
	w.data_pos = j->pos;
	if ((r = put(j, new_data, len)) < 0 || (old_data && (r = put(j, old_data, len)) < 0))
		return r;
	j->bytes += len;
	return vec_push(&j->writes, w);
}

static int cmp_wrec(const void *a, const void *b)
{
	const struct wrec *x = *(const struct wrec *const *)a, *y = *(const struct wrec *const *)b;

	if (x->target != y->target)
		return x->target < y->target ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

/*
 * Overlapping writes would make "before or after, range by range" inexact:
 * none are made, except the same bytes written twice at the same place (a
 * catalog entry two volumes of a set both drop), which changes nothing.
 */
static int check_no_overlap(const struct journal *j)
{
	_cleanup_free_ const struct wrec **s = calloc(j->writes.n + 1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < j->writes.n; i++)
		s[i] = &j->writes.v[i];
	qsort(s, j->writes.n, sizeof(*s), cmp_wrec);
	for (size_t i = 1; i < j->writes.n; i++)
		if (s[i]->target == s[i - 1]->target && s[i - 1]->off + s[i - 1]->len > s[i]->off &&
		    !(s[i]->off == s[i - 1]->off && s[i]->len == s[i - 1]->len &&
		      memcmp(s[i]->after, s[i - 1]->after, 32) == 0))
			return sr_fail(-EINVAL, "two writes of the revert overlap on '%s' at offset %llu",
				       j->targets.v[s[i]->target].path, (unsigned long long)s[i]->off);
	return 0;
}

int journal_commit(struct journal *j)
{
	uint8_t t[16];
	int r;

	if ((r = check_no_overlap(j)) < 0)
		return r;
	close_targets(j);
	put_le32(t, T_JEND);
	put_le32(t + 4, (uint32_t)j->targets.n);
	put_le32(t + 8, (uint32_t)j->writes.n);
	put_le32(t + 12, crc32_le(0, t, 12));
	if ((r = put(j, t, 16)) < 0)
		return r;
	if (fsync(j->fd) < 0)
		return sr_fail(-errno, "cannot commit the journal '%s': %s", j->path, strerror(errno));
	/* never over an existing journal (another revert's): the name is ours only if free */
	if (!j->tmp) {
		char proc[64];
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", j->fd);
		if (linkat(j->fd, "", AT_FDCWD, j->path, AT_EMPTY_PATH) < 0 &&
		    (errno == EEXIST || linkat(AT_FDCWD, proc, AT_FDCWD, j->path, AT_SYMLINK_FOLLOW) < 0))
			return sr_fail(-errno, "cannot commit the journal '%s': %s", j->path, strerror(errno));
	} else if (renameat2(AT_FDCWD, j->tmp, AT_FDCWD, j->path, RENAME_NOREPLACE) < 0) {
		if (errno != EINVAL && errno != ENOSYS)
			return sr_fail(-errno, "cannot commit the journal '%s': %s", j->path, strerror(errno));
		/* a file system without RENAME_NOREPLACE: link() refuses an existing name too */
		if (link(j->tmp, j->path) < 0)
			return sr_fail(-errno, "cannot commit the journal '%s': %s", j->path, strerror(errno));
		unlink(j->tmp);
	}
	free(j->tmp);
	j->tmp = NULL;
	r = fsync_parent(j->path);
	if (r < 0)
		return sr_fail(r, "cannot commit the journal '%s': %s", j->path, strerror(-r));
	/* reopen for reading */
	close(j->fd);
	j->fd = open(j->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	return j->fd < 0 ? -errno : 0;
}

static int bad(const struct journal *j, const char *what)
{
	return sr_fail(-EBADMSG, "journal '%s' is damaged (%s); the target may be half-reverted", j->path, what);
}

static int parse_target(struct journal *j, const uint8_t *h, uint8_t *buf, uint64_t *pos)
{
	uint32_t l = le32(h + 4);
	struct jtarget t = { .fd = -1 };

	if (l == 0 || l > 4096 || pread_full(j->fd, buf, 8 + l + 44, *pos) < 0 ||
	    crc32_le(0, buf, 8 + l + 40) != le32(buf + 8 + l + 40))
		return bad(j, "target record");
	t.kind = le32(buf + 8 + l);
	t.dev = le64(buf + 16 + l);
	t.ino = le64(buf + 24 + l);
	t.rdev = le64(buf + 32 + l);
	t.size = le64(buf + 40 + l);
	if ((t.kind != K_FILE && t.kind != K_BLOCK) || le32(buf + 12 + l) != 0 || memchr(buf + 8, 0, l))
		return bad(j, "target record");
	t.path = strndup((char *)buf + 8, l);
	if (!t.path || vec_push(&j->targets, t) < 0) {
		free(t.path);
		return -ENOMEM;
	}
	*pos += 8 + l + 44;
	return 0;
}

static int parse_volume(struct journal *j, uint8_t *buf, uint64_t *pos)
{
	struct jvol v;

	if (pread_full(j->fd, buf, 44, *pos) < 0 || crc32_le(0, buf, 40) != le32(buf + 40))
		return bad(j, "volume record");
	v.target = le32(buf + 4);
	v.off = le64(buf + 8);
	v.fs = le32(buf + 16);
	v.serial = le64(buf + 24);
	v.size = le64(buf + 32);
	if (v.target >= j->targets.n || v.fs > FS_NTFS || le32(buf + 20) != 0)
		return bad(j, "volume record");
	if (vec_push(&j->vols, v) < 0)
		return -ENOMEM;
	*pos += 44;
	return 0;
}

static int parse_write(struct journal *j, uint8_t *buf, uint64_t *pos)
{
	uint8_t h[WHDR];
	struct wrec w;
	size_t dl;

	if (pread_full(j->fd, h, WHDR, *pos) < 0)
		return bad(j, "cut short");
	w.target = le32(h + 4);
	w.off = le64(h + 8);
	w.len = le32(h + 16);
	w.flags = le32(h + 20);
	memcpy(w.before, h + 24, 32);
	w.data_pos = *pos + WHDR;
	dl = (w.flags & W_OLD) ? 2 * (size_t)w.len : w.len;
	if (w.len == 0 || w.len > MAX_WRITE / 2 || (w.flags & ~W_OLD) || w.target >= j->targets.n ||
	    pread_full(j->fd, buf, dl, w.data_pos) < 0)
		return bad(j, "write record");
	if (crc32_le(crc32_le(0, h, 56), buf, dl) != le32(h + 56))
		return bad(j, "write record checksum");
	if (vec_push(&j->writes, w) < 0)
		return -ENOMEM;
	j->bytes += w.len;
	*pos += WHDR + dl;
	return 0;
}

int journal_open(const char *path, struct journal **ret)
{
	struct journal *j = calloc(1, sizeof(*j));
	uint8_t h[20];
	_cleanup_free_ uint8_t *buf = NULL;
	struct stat st;
	uint64_t pos;
	uint32_t len;
	int r;

	if (!j)
		return -ENOMEM;
	j->path = strdup(path);
	j->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (!j->path || j->fd < 0) {
		r = j->path ? -errno : -ENOMEM;
		if (r == -ELOOP)
			r = sr_fail(-EBADMSG, "journal '%s' is a symbolic link: not read (remove it)", path);
		journal_free(j);
		return r;
	}
	if (fstat(j->fd, &st) < 0) {
		r = -errno;
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		r = sr_fail(-EBADMSG, "journal '%s' is not a regular file: not read (remove it)", path);
		goto fail;
	}
	r = -EBADMSG;
	if (pread_full(j->fd, h, 16, 0) < 0 || memcmp(h, MAGIC, 8) != 0) {
		r = bad(j, "no journal header");
		goto fail;
	}
	if (le32(h + 8) != VERSION) {
		r = sr_fail(-EPROTONOSUPPORT,
			    le32(h + 8) < VERSION
				    ? "journal '%s' was written by an older shadowrev (version %u) that did not record which volume it is for: it is not replayed"
				    : "journal '%s' has unknown version %u",
			    path, le32(h + 8));
		goto fail;
	}
	len = le32(h + 12);
	if (len > 4096 || (uint64_t)st.st_size < 20 + (uint64_t)len) {
		r = bad(j, "header");
		goto fail;
	}
	j->shadow_id = calloc(1, len + 1);
	if (!j->shadow_id || pread_full(j->fd, j->shadow_id, len, 16) < 0 ||
	    pread_full(j->fd, h + 16, 4, 16 + len) < 0 ||
	    crc32_le(crc32_le(0, h, 16), j->shadow_id, len) != le32(h + 16)) {
		r = bad(j, "header checksum");
		goto fail;
	}
	buf = malloc(MAX_WRITE);
	if (!buf) {
		r = -ENOMEM;
		goto fail;
	}
	for (pos = 20 + len;;) {
		if (pread_full(j->fd, h, 8, pos) < 0) {
			r = bad(j, "cut short");
			goto fail;
		}
		if (le32(h) == T_TRGT)
			r = parse_target(j, h, buf, &pos);
		else if (le32(h) == T_VOLM)
			r = parse_volume(j, buf, &pos);
		else if (le32(h) == T_WRIT)
			r = parse_write(j, buf, &pos);
		else if (le32(h) == T_JEND) {
			if (pread_full(j->fd, h, 16, pos) < 0 || crc32_le(0, h, 12) != le32(h + 12) ||
			    le32(h + 4) != j->targets.n || le32(h + 8) != j->writes.n || pos + 16 != (uint64_t)st.st_size) {
				r = bad(j, "trailer");
				goto fail;
			}
			break;
		} else
			r = bad(j, "unknown record");
		if (r < 0)
			goto fail;
	}
	*ret = j;
	return 0;
fail:
	journal_free(j);
	return r;
}

int journal_remove(struct journal *j)
{
	if (unlink(j->path) < 0 && errno != ENOENT)
		return -errno;
	return fsync_parent(j->path);
}

const char *journal_shadow_id(const struct journal *j) { return j->shadow_id; }
size_t journal_n_targets(const struct journal *j) { return j->targets.n; }
const char *journal_target(const struct journal *j, size_t idx) { return idx < j->targets.n ? j->targets.v[idx].path : NULL; }
size_t journal_n_writes(const struct journal *j) { return j->writes.n; }
uint64_t journal_bytes(const struct journal *j) { return j->bytes; }

int journal_read_write(struct journal *j, size_t i, struct journal_write *w, uint8_t *new_buf, uint8_t *old_buf)
{
	const struct wrec *x;
	int r;

	if (i >= j->writes.n)
		return -EINVAL;
	x = &j->writes.v[i];
	w->target = x->target;
	w->len = x->len;
	w->off = x->off;
	w->new_data = new_buf;
	w->old_data = old_buf;
	r = pread_full(j->fd, new_buf, x->len, x->data_pos);
	if (r < 0 || !old_buf)
		return r;
	if (!(x->flags & W_OLD)) {
		w->old_data = NULL;
		return 0;
	}
	return pread_full(j->fd, old_buf, x->len, x->data_pos + x->len);
}

/* "image file '/x.img' (device 8:1, inode 12, 1024 bytes)" */
static void describe(const struct jtarget *t, char *buf, size_t n)
{
	if (t->kind == K_FILE)
		snprintf(buf, n, "image file '%s' (device %u:%u, inode %llu, %llu bytes)", t->path, major(t->dev),
			 minor(t->dev), (unsigned long long)t->ino, (unsigned long long)t->size);
	else
		snprintf(buf, n, "block device '%s' (%u:%u, %llu bytes)", t->path, major(t->rdev), minor(t->rdev),
			 (unsigned long long)t->size);
}

void journal_describe_target(const struct journal *j, size_t idx, char *buf, size_t n)
{
	size_t len;

	if (idx >= j->targets.n) {
		snprintf(buf, n, "?");
		return;
	}
	describe(&j->targets.v[idx], buf, n);
	for (size_t i = 0; i < j->vols.n; i++) {
		const struct jvol *v = &j->vols.v[i];
		len = strlen(buf);
		if (v->target == idx && v->fs == FS_NTFS && len < n)
			snprintf(buf + len, n - len, ", NTFS volume serial %016llX of %llu bytes at offset %llu",
				 (unsigned long long)v->serial, (unsigned long long)v->size, (unsigned long long)v->off);
	}
}

static bool write_covers(const struct journal *j, uint32_t target, uint64_t off, uint64_t len)
{
	for (size_t i = 0; i < j->writes.n; i++) {
		const struct wrec *w = &j->writes.v[i];
		if (w->target == target && w->off < off + len && off < w->off + w->len)
			return true;
	}
	return false;
}

/* -ESTALE: fd is not the target the journal was made for. */
static int mismatch(const struct journal *j, size_t idx, const char *why, ...) _printf_(3, 4);
static int mismatch(const struct journal *j, size_t idx, const char *why, ...)
{
	char made[1024], reason[512];
	va_list ap;

	journal_describe_target(j, idx, made, sizeof(made));
	va_start(ap, why);
	vsnprintf(reason, sizeof(reason), why, ap);
	va_end(ap);
	return sr_fail(-ESTALE, "'%s' is not the volume journal '%s' was made for (%s): %s; nothing was written",
		       j->targets.v[idx].path, j->path, made, reason);
}

int journal_check_target(struct journal *j, size_t idx, int fd, size_t *ret_done)
{
	const struct jtarget *t;
	struct jtarget now = { .fd = -1 };
	_cleanup_free_ uint8_t *nb = NULL, *cb = NULL;
	size_t done = 0;
	int r;

	if (idx >= j->targets.n)
		return -EINVAL;
	t = &j->targets.v[idx];
	r = identify(fd, t->path, &now);
	if (r < 0)
		return r;
	if (now.kind != t->kind)
		return mismatch(j, idx, "it is now %s", now.kind == K_FILE ? "an image file" : "a block device");
	if (t->kind == K_FILE && (now.dev != t->dev || now.ino != t->ino))
		return mismatch(j, idx, "it is now another file (device %u:%u, inode %llu)", major(now.dev),
				minor(now.dev), (unsigned long long)now.ino);
	if (now.size != t->size)
		return mismatch(j, idx, "it now has %llu bytes", (unsigned long long)now.size);
	for (size_t i = 0; i < j->vols.n; i++) {
		const struct jvol *v = &j->vols.v[i];
		uint8_t boot[512];
		uint64_t serial = 0, size = 0;
		bool ntfs;

		if (v->target != idx || v->fs != FS_NTFS)
			continue;
		r = pread_full(fd, boot, sizeof(boot), v->off);
		if (r < 0)
			return sr_fail(r, "cannot read '%s' at offset %llu: %s", t->path, (unsigned long long)v->off,
				       strerror(-r));
		ntfs = ntfs_ident(boot, &serial, &size);
		if (ntfs && serial == v->serial && size == v->size)
			continue;
		/* a boot sector the revert itself rewrites is judged by its bytes, below */
		if (write_covers(j, (uint32_t)idx, v->off, sizeof(boot)))
			continue;
		if (!ntfs)
			return mismatch(j, idx, "no NTFS volume at offset %llu", (unsigned long long)v->off);
		return mismatch(j, idx, "the NTFS volume at offset %llu has serial %016llX and %llu bytes",
				(unsigned long long)v->off, (unsigned long long)serial, (unsigned long long)size);
	}
	nb = malloc(MAX_WRITE / 2);
	cb = malloc(MAX_WRITE / 2);
	if (!nb || !cb)
		return -ENOMEM;
	for (size_t i = 0; i < j->writes.n; i++) {
		const struct wrec *w = &j->writes.v[i];
		uint8_t d[32];

		if (w->target != idx)
			continue;
		if ((r = pread_full(j->fd, nb, w->len, w->data_pos)) < 0)
			return bad(j, "cannot read a write");
		if ((r = pread_full(fd, cb, w->len, w->off)) < 0)
			return sr_fail(r, "cannot read '%s' at offset %llu: %s", t->path, (unsigned long long)w->off,
				       strerror(-r));
		if (memcmp(nb, cb, w->len) == 0) {
			done++;
			continue;
		}
		crypto_sha256(cb, w->len, d);
		if (memcmp(d, w->before, sizeof(d)) != 0)
			return mismatch(j, idx,
					"the %u bytes at offset %llu are neither those the revert found there nor those it writes",
					w->len, (unsigned long long)w->off);
	}
	if (ret_done)
		*ret_done = done;
	return 0;
}
