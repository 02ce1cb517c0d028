/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The revert journal. Layout (little-endian), every record checked by CRC-32:
 *   "SRREVJNL" u32 version=1 u32 len shadow-id[len] u32 crc
 *   'T' records: u32 'TRGT' u32 len path[len] u32 crc
 *   'W' records: u32 'WRIT' u32 target u64 offset u32 len u32 flags u32 crc(header||new||old) new[len]
 *                [old[len] when flags & 1: the bytes the write replaces, kept for forensics]
 *   trailer:     u32 'JEND' u32 n_targets u32 n_writes u32 crc(of the 12 bytes before)
 * A journal without its trailer was never committed and is ignored (the
 * revert had not written anything yet).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/crc32.h"
#include "core/io.h"
#include "core/log.h"
#include "core/macro.h"
#include "revert-internal.h"

#define MAGIC "SRREVJNL"
#define VERSION 1
#define T_TRGT 0x54475254u
#define T_WRIT 0x54495257u
#define T_JEND 0x444e454au
#define MAX_WRITE (16u << 20)

#define W_OLD 1u

struct wrec {
	uint32_t target, len, flags;
	uint64_t off, data_pos; /* file offset of new[len] */
};

struct journal {
	char *path, *tmp;
	int fd;
	uint64_t pos;
	char *shadow_id;
	VEC(char *) targets;
	VEC(struct wrec) writes;
	uint64_t bytes;
};

char *journal_path_for(const char *target, const char *journal_dir)
{
	char *p = NULL;
	const char *base = strrchr(target, '/');

	base = base ? base + 1 : target;
	if (journal_dir) {
		if (asprintf(&p, "%s/%s.shadowrev-journal", journal_dir, base) < 0)
			return NULL;
	} else if (strncmp(target, "/dev/", 5) == 0) {
		if (asprintf(&p, "/var/lib/shadowrev/journal/%s.shadowrev-journal", base) < 0)
			return NULL;
	} else if (asprintf(&p, "%s.shadowrev-journal", target) < 0) {
		return NULL;
	}
	return p;
}

void journal_free(struct journal *j)
{
	if (!j)
		return;
	if (j->fd >= 0)
		close(j->fd);
	if (j->tmp) /* never committed */
		unlink(j->tmp);
	for (size_t i = 0; i < j->targets.n; i++)
		free(j->targets.v[i]);
	free(j->targets.v);
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
		return sr_fail(r, "cannot write the journal '%s': %s", j->tmp, strerror(-r));
	j->pos += n;
	return 0;
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
	if (!j->path || !j->shadow_id || asprintf(&j->tmp, "%s.tmp", path) < 0) {
		j->tmp = NULL;
		journal_free(j);
		return -ENOMEM;
	}
	j->fd = open(j->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (j->fd < 0) {
		r = sr_fail(-errno, "cannot create the journal '%s': %s", j->tmp, strerror(errno));
		free(j->tmp);
		j->tmp = NULL;
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

int journal_add_target(struct journal *j, const char *path, uint32_t *ret_idx)
{
	uint8_t h[8], c[4];
	uint32_t len = (uint32_t)strlen(path);
	char *copy = strdup(path);
	int r;

	if (!copy)
		return -ENOMEM;
	put_le32(h, T_TRGT);
	put_le32(h + 4, len);
	put_le32(c, crc32_le(crc32_le(0, h, 8), path, len));
	if ((r = put(j, h, 8)) < 0 || (r = put(j, path, len)) < 0 || (r = put(j, c, 4)) < 0 ||
	    (r = vec_push(&j->targets, copy)) < 0) {
		free(copy);
		return r;
	}
	*ret_idx = (uint32_t)(j->targets.n - 1);
	return 0;
}

int journal_add_write(struct journal *j, uint32_t target, uint64_t off, const void *new_data, const void *old_data,
		      uint32_t len)
{
	uint8_t h[28];
	struct wrec w = { target, len, old_data ? W_OLD : 0, off, 0 };
	uint32_t crc;
	int r;

	if (target >= j->targets.n || len > MAX_WRITE / 2)
		return -EINVAL;
	put_le32(h, T_WRIT);
	put_le32(h + 4, target);
	put_le64(h + 8, off);
	put_le32(h + 16, len);
	put_le32(h + 20, w.flags);
	crc = crc32_le(crc32_le(0, h, 24), new_data, len);
	if (old_data)
		crc = crc32_le(crc, old_data, len);
	put_le32(h + 24, crc);
	if ((r = put(j, h, sizeof(h))) < 0)
		return r;
	w.data_pos = j->pos;
	if ((r = put(j, new_data, len)) < 0 || (old_data && (r = put(j, old_data, len)) < 0))
		return r;
	j->bytes += len;
	return vec_push(&j->writes, w);
}

int journal_commit(struct journal *j)
{
	uint8_t t[16];
	int r;

	put_le32(t, T_JEND);
	put_le32(t + 4, (uint32_t)j->targets.n);
	put_le32(t + 8, (uint32_t)j->writes.n);
	put_le32(t + 12, crc32_le(0, t, 12));
	if ((r = put(j, t, 16)) < 0)
		return r;
	if (fsync(j->fd) < 0 || rename(j->tmp, j->path) < 0)
		return sr_fail(-errno, "cannot commit the journal '%s': %s", j->path, strerror(errno));
	free(j->tmp);
	j->tmp = NULL;
	r = fsync_parent(j->path);
	if (r < 0)
		return r;
	/* reopen for reading */
	close(j->fd);
	j->fd = open(j->path, O_RDONLY | O_CLOEXEC);
	return j->fd < 0 ? -errno : 0;
}

static int bad(const struct journal *j, const char *what)
{
	return sr_fail(-EBADMSG, "journal '%s' is damaged (%s); the target may be half-reverted", j->path, what);
}

int journal_open(const char *path, struct journal **ret)
{
	struct journal *j = calloc(1, sizeof(*j));
	uint8_t h[28];
	_cleanup_free_ uint8_t *buf = NULL;
	struct stat st;
	uint64_t pos;
	uint32_t len;
	int r;

	if (!j)
		return -ENOMEM;
	j->path = strdup(path);
	j->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (!j->path || j->fd < 0) {
		r = j->path ? -errno : -ENOMEM;
		journal_free(j);
		return r;
	}
	if (fstat(j->fd, &st) < 0) {
		r = -errno;
		goto fail;
	}
	r = -EBADMSG;
	if (pread_full(j->fd, h, 16, 0) < 0 || memcmp(h, MAGIC, 8) != 0) {
		r = bad(j, "no journal header");
		goto fail;
	}
	if (le32(h + 8) != VERSION) {
		r = sr_fail(-EPROTONOSUPPORT, "journal '%s' has unknown version %u", path, le32(h + 8));
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
		if (le32(h) == T_TRGT) {
			uint32_t l = le32(h + 4);
			char *p;
			if (l > 4096 || pread_full(j->fd, buf, l + 4, pos + 8) < 0 ||
			    crc32_le(crc32_le(0, h, 8), buf, l) != le32(buf + l)) {
				r = bad(j, "target record");
				goto fail;
			}
			p = strndup((char *)buf, l);
			if (!p || vec_push(&j->targets, p) < 0) {
				free(p);
				r = -ENOMEM;
				goto fail;
			}
			pos += 12 + l;
		} else if (le32(h) == T_WRIT) {
			struct wrec w;
			uint32_t crc;
			size_t dl;
			if (pread_full(j->fd, h, 28, pos) < 0) {
				r = bad(j, "cut short");
				goto fail;
			}
			w.target = le32(h + 4);
			w.off = le64(h + 8);
			w.len = le32(h + 16);
			w.flags = le32(h + 20);
			w.data_pos = pos + 28;
			dl = (w.flags & W_OLD) ? 2 * (size_t)w.len : w.len;
			if (w.len > MAX_WRITE / 2 || (w.flags & ~W_OLD) || w.target >= j->targets.n ||
			    pread_full(j->fd, buf, dl, w.data_pos) < 0) {
				r = bad(j, "write record");
				goto fail;
			}
			crc = crc32_le(crc32_le(0, h, 24), buf, dl);
			if (crc != le32(h + 24)) {
				r = bad(j, "write record checksum");
				goto fail;
			}
			if (vec_push(&j->writes, w) < 0) {
				r = -ENOMEM;
				goto fail;
			}
			j->bytes += w.len;
			pos += 28 + dl;
		} else if (le32(h) == T_JEND) {
			if (pread_full(j->fd, h, 16, pos) < 0 || crc32_le(0, h, 12) != le32(h + 12) ||
			    le32(h + 4) != j->targets.n || le32(h + 8) != j->writes.n) {
				r = bad(j, "trailer");
				goto fail;
			}
			break;
		} else {
			r = bad(j, "unknown record");
			goto fail;
		}
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
const char *journal_target(const struct journal *j, size_t idx) { return idx < j->targets.n ? j->targets.v[idx] : NULL; }
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
