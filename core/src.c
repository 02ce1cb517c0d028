/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "src.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "macro.h"

int src_new(const struct src_ops *ops, uint64_t size, const char *name, void *priv, struct src **ret)
{
	struct src *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->name = strdup(name ? name : "?");
	if (!s->name) {
		free(s);
		return -ENOMEM;
	}
	s->ops = ops;
	s->refs = 1;
	s->size = size;
	s->priv = priv;
	*ret = s;
	return 0;
}

struct src *src_ref(struct src *s)
{
	if (s)
		__atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
	return s;
}

void src_unref(struct src *s)
{
	if (!s || __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	if (s->ops->destroy)
		s->ops->destroy(s);
	free(s->name);
	free(s);
}

int src_pread(struct src *s, void *buf, size_t len, uint64_t off)
{
	uint64_t end;

	if (!add_ok(off, len, &end) || end > s->size)
		return -EINVAL;
	if (len == 0)
		return 0;
	return s->ops->pread(s, buf, len, off);
}

int src_map(struct src *s, uint64_t off, size_t len, struct src_extent *ret)
{
	uint64_t end;

	if (!add_ok(off, len, &end) || end > s->size || len == 0)
		return -EINVAL;
	if (!s->map) {
		*ret = (struct src_extent){ .kind = SRC_EXTENT_READ, .fd = -1, .len = len };
		return 0;
	}
	return s->map(s, off, len, ret);
}

/* file */

struct file_priv {
	int fd;
};

static int file_pread(struct src *s, void *buf, size_t len, uint64_t off)
{
	struct file_priv *p = s->priv;

	return pread_full(p->fd, buf, len, off);
}

static void file_destroy(struct src *s)
{
	struct file_priv *p = s->priv;

	close(p->fd);
	free(p);
}

static int file_map(struct src *s, uint64_t off, size_t len, struct src_extent *ret)
{
	struct file_priv *p = s->priv;

	*ret = (struct src_extent){ .kind = SRC_EXTENT_FD, .fd = p->fd, .fd_off = off, .len = len };
	return 0;
}

static const struct src_ops file_ops = { file_pread, file_destroy };

int src_open_file(const char *path, bool writable, struct src **ret)
{
	_cleanup_close_ int fd = -1;
	struct file_priv *p;
	uint64_t size;
	int r;

	fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = fd_get_size(fd, &size);
	if (r < 0)
		return r == -EINVAL ? sr_fail(-EINVAL, "not a regular file or block device") : r;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->fd = fd;
	r = src_new(&file_ops, size, path, p, ret);
	if (r < 0) {
		free(p);
		return r;
	}
	fd = -1;
	(*ret)->map = file_map;
	(void)posix_fadvise(p->fd, 0, 0, POSIX_FADV_RANDOM);
	return 0;
}

int src_file_fd(struct src *s)
{
	if (s->ops != &file_ops)
		return -EINVAL;
	return ((struct file_priv *)s->priv)->fd;
}

/* slice */

struct slice_priv {
	struct src *parent;
	uint64_t off;
};

static int slice_pread(struct src *s, void *buf, size_t len, uint64_t off)
{
	struct slice_priv *p = s->priv;

	return src_pread(p->parent, buf, len, p->off + off);
}

static void slice_destroy(struct src *s)
{
	struct slice_priv *p = s->priv;

	src_unref(p->parent);
	free(p);
}

static int slice_map(struct src *s, uint64_t off, size_t len, struct src_extent *ret)
{
	struct slice_priv *p = s->priv;

	return src_map(p->parent, p->off + off, len, ret);
}

static const struct src_ops slice_ops = { slice_pread, slice_destroy };

int src_slice_new(struct src *parent, uint64_t off, uint64_t size, const char *name, struct src **ret)
{
	struct slice_priv *p;
	uint64_t end;
	int r;

	if (!add_ok(off, size, &end) || end > parent->size)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->parent = src_ref(parent);
	p->off = off;
	r = src_new(&slice_ops, size, name, p, ret);
	if (r < 0) {
		src_unref(p->parent);
		free(p);
		return r;
	}
	(*ret)->map = slice_map;
	return 0;
}

/* memory */

static int mem_pread(struct src *s, void *buf, size_t len, uint64_t off)
{
	memcpy(buf, (const uint8_t *)s->priv + off, len);
	return 0;
}

static const struct src_ops mem_ops = { mem_pread, NULL };

int src_mem_new(const void *buf, size_t len, const char *name, struct src **ret)
{
	return src_new(&mem_ops, len, name, (void *)buf, ret);
}
