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
#include <ntfs-3g/dir.h>
#include <ntfs-3g/inode.h>
#include <ntfs-3g/layout.h>
#include <ntfs-3g/logging.h>
#include <ntfs-3g/unistr.h>
#include <ntfs-3g/volume.h>
#undef le16
#undef le32
#undef le64

#include "buf.h"
#include "log.h"
#include "macro.h"
#include "part.h"
#include "unicode.h"

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

struct find_ctx {
	const ntfschar *name;
	int len;
	const ntfs_volume *vol;
	struct ntfsio_match *v;
	size_t n, cap;
	int err;
};

static int find_cb(void *d, const ntfschar *name, const int len, const int type, const s64 pos _unused_,
		   const MFT_REF mref, const unsigned dt_type _unused_)
{
	struct find_ctx *c = d;
	bool exact;
	size_t i;

	/* ntfs_readdir() makes up "." and ".." (no NTFS name is either) */
	if (type == FILE_NAME_POSIX && len <= 2 && le16_to_cpu(name[0]) == '.' &&
	    (len == 1 || le16_to_cpu(name[1]) == '.'))
		return 0;
	if (!utf16le_upcase_equal(c->vol->upcase, c->vol->upcase_len, name, (size_t)len, c->name, (size_t)c->len))
		return 0;
	exact = memcmp(name, c->name, (size_t)len * sizeof(ntfschar)) == 0;
	for (i = 0; i < c->n; i++)
		if (MREF(c->v[i].mref) == MREF(mref))
			break;
	if (i == c->n) {
		struct ntfsio_match m = { .mref = mref };
		if (vec_push(c, m) < 0) {
			c->err = -ENOMEM;
			return -1;
		}
	}
	c->v[i].exact |= exact;
	return 0;
}

int ntfsio_dir_find(struct _ntfs_inode *dir, const char *name, struct ntfsio_match **ret, size_t *ret_n)
{
	struct find_ctx c = { 0 };
	ntfschar *u = NULL;
	s64 pos = 0;
	int len, r = 0;

	if (!(dir->mrec->flags & MFT_RECORD_IS_DIRECTORY))
		return -ENOTDIR;
	len = ntfs_mbstoucs(name, &u);
	if (len < 0 && errno == ENOMEM)
		return -ENOMEM;
	if (len > 0 && len <= NTFS_MAX_NAME_LEN) {
		c.name = u;
		c.len = len;
		c.vol = dir->vol;
		errno = 0;
		if (ntfs_readdir(dir, &pos, &c, find_cb) < 0 && !c.err)
			r = errno > 0 ? -errno : -EIO;
		if (c.err)
			r = c.err;
	}
	free(u);
	if (r < 0) {
		free(c.v);
		return sr_fail(r, "cannot read folder %llu: %s", (unsigned long long)dir->mft_no, strerror(-r));
	}
	*ret = c.v;
	*ret_n = c.n;
	return 0;
}

#define PATH_SEARCH_BUDGET 4096

static int path_walk(ntfs_inode *dir, char **comp, size_t n, unsigned *budget, bool *ret)
{
	_cleanup_free_ struct ntfsio_match *m = NULL;
	size_t nm = 0;
	int r;

	r = ntfsio_dir_find(dir, comp[0], &m, &nm);
	if (r < 0)
		return r;
	if (n == 1) {
		*ret = nm > 0;
		return 0;
	}
	for (size_t i = 0; i < nm; i++) {
		ntfs_inode *child;
		if (*budget == 0)
			return sr_fail(-ELOOP, "too many folders named alike to search");
		(*budget)--;
		errno = 0;
		child = ntfs_inode_open(dir->vol, (MFT_REF)m[i].mref);
		if (!child) {
			r = errno > 0 ? -errno : -EIO;
			return sr_fail(r, "cannot open inode %llu: %s", (unsigned long long)MREF(m[i].mref), strerror(-r));
		}
		if (child->mrec->flags & MFT_RECORD_IS_DIRECTORY)
			r = path_walk(child, comp + 1, n - 1, budget, ret);
		ntfs_inode_close(child);
		if (r < 0 || *ret)
			return r;
	}
	return 0;
}

int ntfsio_path_exists(struct ntfsio *n, const char *path, bool *ret)
{
	_cleanup_free_ char *copy = strdup(path);
	char *comp[64], *save = NULL;
	unsigned budget = PATH_SEARCH_BUDGET;
	ntfs_inode *root;
	size_t nc = 0;
	bool found = false;
	int r;

	if (!copy)
		return -ENOMEM;
	for (char *p = copy; *p; p++)
		if (*p == '\\')
			*p = '/';
	for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (nc == ARRAY_SIZE(comp))
			return -ENAMETOOLONG;
		comp[nc++] = c;
	}
	if (nc == 0) {
		*ret = true;
		return 0;
	}
	errno = 0;
	root = ntfs_inode_open(n->vol, FILE_root);
	if (!root) {
		r = errno > 0 ? -errno : -EIO;
		return sr_fail(r, "%s: cannot open the root folder: %s", n->src->name, strerror(-r));
	}
	r = path_walk(root, comp, nc, &budget, &found);
	ntfs_inode_close(root);
	if (r < 0)
		return sr_fail(r, "%s: cannot look up '%s': %s", n->src->name, path, sr_errmsg(r));
	*ret = found;
	return 0;
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
