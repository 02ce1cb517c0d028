/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ntfsio.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

/* libntfs-3g's endian typedefs (le16, le32, le64) collide with macro.h's loaders: rename them here */
#define HAVE_STDINT_H 1
#define le16 ntfs_le16
#define le32 ntfs_le32
#define le64 ntfs_le64
#include <ntfs-3g/types.h>
#include <ntfs-3g/attrib.h>
#include <ntfs-3g/device.h>
#include <ntfs-3g/logging.h>
#include <ntfs-3g/volume.h>
#undef le16
#undef le32
#undef le64

#include "log.h"
#include "macro.h"
#include "part.h"

struct ntfsio {
	struct src *src;
	struct ntfs_device *dev;
	ntfs_volume *vol;
};

struct dev_priv {
	struct src *src;
	int64_t pos;
};

static int dev_open(struct ntfs_device *dev, int flags)
{
	if ((flags & O_ACCMODE) != O_RDONLY) {
		errno = EROFS;
		return -1;
	}
	NDevSetOpen(dev);
	NDevSetReadOnly(dev);
	return 0;
}

static int dev_close(struct ntfs_device *dev)
{
	NDevClearOpen(dev);
	return 0;
}

static s64 dev_seek(struct ntfs_device *dev, s64 offset, int whence)
{
	struct dev_priv *p = dev->d_private;
	int64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? p->pos : (int64_t)p->src->size;

	if ((whence != SEEK_SET && whence != SEEK_CUR && whence != SEEK_END) || base + offset < 0) {
		errno = EINVAL;
		return -1;
	}
	p->pos = base + offset;
	return p->pos;
}

static s64 dev_pread(struct ntfs_device *dev, void *buf, s64 count, s64 offset)
{
	struct dev_priv *p = dev->d_private;
	int r;

	if (count < 0 || offset < 0) {
		errno = EINVAL;
		return -1;
	}
	if ((uint64_t)offset >= p->src->size)
		return 0;
	count = (s64)MIN((uint64_t)count, p->src->size - (uint64_t)offset);
	r = src_pread(p->src, buf, (size_t)count, (uint64_t)offset);
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return count;
}

static s64 dev_read(struct ntfs_device *dev, void *buf, s64 count)
{
	struct dev_priv *p = dev->d_private;
	s64 n = dev_pread(dev, buf, count, p->pos);

	if (n > 0)
		p->pos += n;
	return n;
}

static s64 dev_write(struct ntfs_device *dev _unused_, const void *buf _unused_, s64 count _unused_)
{
	errno = EROFS;
	return -1;
}

static s64 dev_pwrite(struct ntfs_device *dev _unused_, const void *buf _unused_, s64 count _unused_,
		      s64 offset _unused_)
{
	errno = EROFS;
	return -1;
}

static int dev_sync(struct ntfs_device *dev _unused_)
{
	return 0;
}

static int dev_stat(struct ntfs_device *dev, struct stat *st)
{
	struct dev_priv *p = dev->d_private;

	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFREG | 0444;
	st->st_size = (off_t)p->src->size;
	st->st_blksize = 4096;
	return 0;
}

static int dev_ioctl(struct ntfs_device *dev, unsigned long request, void *argp)
{
	struct dev_priv *p = dev->d_private;

	switch (request) {
	case BLKGETSIZE64:
		*(uint64_t *)argp = p->src->size;
		return 0;
	case BLKSSZGET:
		*(int *)argp = 512;
		return 0;
	default:
		errno = ENOTTY;
		return -1;
	}
}

static struct ntfs_device_operations src_dev_ops = {
	.open = dev_open,
	.close = dev_close,
	.seek = dev_seek,
	.read = dev_read,
	.write = dev_write,
	.pread = dev_pread,
	.pwrite = dev_pwrite,
	.sync = dev_sync,
	.stat = dev_stat,
	.ioctl = dev_ioctl,
};

static pthread_once_t log_once = PTHREAD_ONCE_INIT;

static void log_setup(void)
{
	if (sr_verbosity < 2)
		ntfs_log_set_handler(ntfs_log_handler_null);
}

int ntfsio_open(struct src *s, struct ntfsio **ret)
{
	struct ntfsio *n;
	struct dev_priv *p;
	int e;

	pthread_once(&log_once, log_setup);
	if (!src_is_ntfs(s))
		return sr_fail(-EMEDIUMTYPE, "%s is not an NTFS volume", s->name);
	n = calloc(1, sizeof(*n));
	p = calloc(1, sizeof(*p));
	if (!n || !p) {
		free(n);
		free(p);
		return -ENOMEM;
	}
	p->src = src_ref(s);
	n->src = p->src;
	n->dev = ntfs_device_alloc(s->name, 0, &src_dev_ops, p);
	if (!n->dev) {
		e = errno ? errno : ENOMEM;
		goto fail;
	}
	n->vol = ntfs_device_mount(n->dev, NTFS_MNT_RDONLY | NTFS_MNT_IGNORE_HIBERFILE);
	if (!n->vol) {
		e = errno ? errno : EIO;
		ntfs_device_free(n->dev);
		goto fail;
	}
	*ret = n;
	return 0;
fail:
	src_unref(p->src);
	free(p);
	free(n);
	return sr_fail(-e, "libntfs-3g cannot open %s: %s", s->name, strerror(e));
}

void ntfsio_close(struct ntfsio *n)
{
	struct dev_priv *p;

	if (!n)
		return;
	p = n->dev->d_private;
	/* ntfs_umount() frees the device too */
	ntfs_umount(n->vol, FALSE);
	src_unref(p->src);
	free(p);
	free(n);
}

struct _ntfs_volume *ntfsio_volume(struct ntfsio *n)
{
	return n->vol;
}

uint32_t ntfsio_cluster_size(const struct ntfsio *n)
{
	return n->vol->cluster_size;
}

uint64_t ntfsio_cluster_count(const struct ntfsio *n)
{
	return (uint64_t)n->vol->nr_clusters;
}

int ntfsio_bitmap_read(struct ntfsio *n, uint8_t **ret, size_t *ret_len)
{
	uint64_t need = ((uint64_t)n->vol->nr_clusters + 7) / 8;
	ntfs_attr *na = n->vol->lcnbmp_na;
	uint8_t *bm;
	s64 got;

	if (!na)
		return sr_fail(-EBADMSG, "%s: no $Bitmap", n->src->name);
	if (need > SIZE_MAX / 2)
		return -EFBIG;
	bm = calloc(1, (size_t)need + 1);
	if (!bm)
		return -ENOMEM;
	got = ntfs_attr_pread(na, 0, (s64)need, bm);
	if (got < 0 || (uint64_t)got != need) {
		int e = got < 0 ? errno : EIO;
		free(bm);
		return sr_fail(-e, "%s: cannot read $Bitmap: %s", n->src->name, strerror(e));
	}
	*ret = bm;
	*ret_len = (size_t)need;
	return 0;
}
