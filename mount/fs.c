/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The FUSE side (low-level API): read-only, multi-threaded. Everything shown
 * is immutable, so the kernel may cache names, attributes and pages for as
 * long as it likes (long timeouts, keep_cache): warm reads never reach us.
 * Images' volume.img files are the exception: passed through to the image
 * file, or read with direct I/O from its page cache (see "How the kernel
 * reads volume.img" below).
 */
#define FUSE_USE_VERSION 35
#include <fuse_lowlevel.h>
#include <linux/fuse.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/filetime.h"
#include "core/io.h"
#include "core/log.h"
#include "core/macro.h"
#include "core/repo.h"
#include "mount-internal.h"

#define TIMEOUT 86400.0
#define STREAM_INO_BIT (1ULL << 62)
#define XATTR_MAX 65536

static struct mnt_tree *tree_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static struct mnt_node *node_of(struct mnt_tree *t, fuse_ino_t ino)
{
	return ino == FUSE_ROOT_ID ? t->root : (struct mnt_node *)(uintptr_t)ino;
}

static fuse_ino_t id_of(struct mnt_tree *t, struct mnt_node *n)
{
	return n == t->root ? FUSE_ROOT_ID : (fuse_ino_t)(uintptr_t)n;
}

static int errno_for_kernel(int r)
{
	/* corrupt bytes in a chunk or a view: the reader sees an I/O error */
	if (r == -EBADMSG || r == -ENOMEDIUM || r == -EPROTONOSUPPORT || r == -ENOKEY)
		return EIO;
	return r < 0 ? -r : EIO;
}

/*
 * How the kernel reads volume.img. The FUSE page cache is filled and kept in
 * 4 KiB pages (no large folios for FUSE files in 6.18): filling it costs the
 * reader about 0.25 s of kernel time per GiB, and a second read of it runs at
 * half the speed of the image file's page cache.
 *
 * - Kernel passthrough (Linux >= 6.9 with CONFIG_FUSE_PASSTHROUGH, a daemon
 *   with CAP_SYS_ADMIN): a volume.img that is an image file or block device
 *   byte for byte (a raw volume image, the live volume of a VSS image) is read
 *   by the kernel from that file directly, without requests to us and without
 *   pages of its own: at the speed of the file. The backing file is the
 *   source's own read-only descriptor.
 * - Direct I/O for the other volumes of images (shadow copies, partitions):
 *   their bytes are in the image's page cache already, and a read is spliced
 *   from there into the reader's buffer, one copy, instead of being copied
 *   into FUSE pages and from there to the reader (and kept twice). Shared
 *   mmap stays possible (FUSE_DIRECT_IO_ALLOW_MMAP, Linux >= 6.6; without it
 *   these files keep the page cache).
 * - Repository volumes: the chunks decoded are kept in a memfd, the volume's
 *   decoded copy (core/repo-src.c, --cache-size). While a volume fits in what
 *   is left of it, its volume.img is opened with direct I/O and reads are
 *   spliced from that copy; once every chunk of it is there, opens pass
 *   through to the memfd. A volume that does not fit keeps the FUSE page
 *   cache (reading it again would mean decoding again).
 *
 * libfuse 3.14 knows neither flag, so the replies that carry them are
 * completed on their way out (custom I/O): INIT gets the flags and a stack
 * depth, OPEN gets FOPEN_PASSTHROUGH and the backing file's id. Each reply is
 * sent by the thread that handled its request, so a thread-local marks the one
 * to complete. SHADOWREV_NO_PASSTHROUGH=1 and SHADOWREV_NO_DIRECT_IO=1 turn
 * them off (A/B runs, tests). The mount stays read-only: open refuses anything
 * but O_RDONLY, the mount is ro, the backing descriptor is O_RDONLY.
 */
#ifndef FUSE_PASSTHROUGH
#define FUSE_PASSTHROUGH (1ULL << 37)
#endif
#ifndef FUSE_DIRECT_IO_ALLOW_MMAP
#define FUSE_DIRECT_IO_ALLOW_MMAP (1ULL << 36)
#endif
#ifndef FOPEN_PASSTHROUGH
#define FOPEN_PASSTHROUGH (1u << 7)
#endif
#ifndef FUSE_DEV_IOC_BACKING_OPEN
struct fuse_backing_map {
	int32_t fd;
	uint32_t flags;
	uint64_t padding;
};
#define FUSE_DEV_IOC_BACKING_OPEN _IOW(229, 1, struct fuse_backing_map)
#endif
#define PT_STACK_DEPTH 2 /* FILESYSTEM_MAX_STACK_DEPTH: an image on overlayfs can be passed through too */
#define PT_INIT (-1)

static int dev_fd = -1;          /* /dev/fuse of the session */
static uint64_t init_offered;    /* the flags of the kernel's INIT */
static bool pt_on;               /* passthrough asked for */
static bool dio_on;              /* direct I/O for images' volumes (with shared mmap) */
static __thread int pt_pending;  /* the reply this thread sends next: PT_INIT, or an OPEN with this backing id */

static bool env_off(const char *name)
{
	const char *e = getenv(name);

	return e && *e && strcmp(e, "0") != 0;
}

static ssize_t pt_read(int fd, void *buf, size_t len, void *userdata _unused_)
{
	ssize_t n = read(fd, buf, len);
	const struct fuse_in_header *h = buf;

	if (n >= (ssize_t)(sizeof(*h) + sizeof(struct fuse_init_in)) && h->opcode == FUSE_INIT) {
		const struct fuse_init_in *in = (const void *)(h + 1);
		if (in->major == FUSE_KERNEL_VERSION && (in->flags & FUSE_INIT_EXT))
			init_offered = in->flags | (uint64_t)in->flags2 << 32;
	}
	return n;
}

static ssize_t pt_writev(int fd, struct iovec *iov, int count, void *userdata _unused_)
{
	int pending = pt_pending;

	pt_pending = 0;
	if (pending && count == 2 && ((struct fuse_out_header *)iov[0].iov_base)->error == 0) {
		if (pending == PT_INIT && iov[1].iov_len == sizeof(struct fuse_init_out)) {
			struct fuse_init_out *o = iov[1].iov_base;
			uint32_t depth = PT_STACK_DEPTH; /* max_stack_depth, after flags2 (unused[0] in older headers) */
			/* only a daemon with CAP_SYS_ADMIN may register backing files (else open falls back) */
			if ((init_offered & FUSE_PASSTHROUGH) && geteuid() == 0 && !env_off("SHADOWREV_NO_PASSTHROUGH")) {
				o->flags2 |= (uint32_t)(FUSE_PASSTHROUGH >> 32);
				memcpy((uint8_t *)o + offsetof(struct fuse_init_out, flags2) + 4, &depth, 4);
				pt_on = true;
			}
			if ((init_offered & FUSE_DIRECT_IO_ALLOW_MMAP) && !env_off("SHADOWREV_NO_DIRECT_IO")) {
				o->flags2 |= (uint32_t)(FUSE_DIRECT_IO_ALLOW_MMAP >> 32);
				dio_on = true;
			}
		} else if (pending > 0 && iov[1].iov_len == sizeof(struct fuse_open_out)) {
			struct fuse_open_out *o = iov[1].iov_base;
			int32_t id = pending; /* backing_id, after open_flags (padding in older headers) */
			o->open_flags |= FOPEN_PASSTHROUGH;
			memcpy((uint8_t *)o + offsetof(struct fuse_open_out, open_flags) + 4, &id, 4);
		}
	}
	return writev(fd, iov, count);
}

static ssize_t pt_splice(int fdin, off_t *offin, int fdout, off_t *offout, size_t len, unsigned int flags,
			 void *userdata _unused_)
{
	return splice(fdin, offin, fdout, offout, len, flags);
}

static const struct fuse_custom_io pt_io = {
	.writev = pt_writev,
	.read = pt_read,
	.splice_receive = pt_splice,
	.splice_send = pt_splice,
};

/* The backing id for v's volume.img (v->lock held, its source open), or < 0 if it cannot be passed through. */
static int vol_backing(struct mnt_vol *v)
{
	struct fuse_backing_map map = { 0 };
	struct src_extent x;
	uint64_t size;
	int r;

	if (v->backing_id != 0)
		return v->backing_id;
	/*
	 * A repository volume: the memfd of its decoded chunks, once all of them
	 * are there (asked again at each open; nothing is decoded to find out).
	 */
	if (v->keep && !repo_src_kept_whole(v->src))
		return -EXDEV;
	/* the same bytes at the same offsets: the whole source is one run of one file, and nothing more */
	r = src_map(v->src, 0, (size_t)v->size, &x);
	if (r >= 0 && (x.kind != SRC_EXTENT_FD || x.fd_off != 0 || x.len != v->size))
		r = -EXDEV;
	if (r >= 0)
		r = fd_get_size(x.fd, &size);
	if (r >= 0 && size != v->size)
		r = -EXDEV;
	if (r >= 0) {
		map.fd = x.fd;
		r = ioctl(dev_fd, FUSE_DEV_IOC_BACKING_OPEN, &map);
		if (r == 0) /* ids start at 1 */
			r = -EPROTO;
		else if (r < 0)
			r = -errno;
	}
	if (r < 0)
		sr_debug("%s: no kernel passthrough: %s", v->label, sr_errmsg(r));
	if (!(v->keep && r == -EXDEV)) /* a kept volume may be whole at its next open */
		v->backing_id = r;
	return r;
}

/* dynamic NTFS nodes */

static size_t node_hash(struct mnt_tree *t, struct mnt_vol *v, uint64_t mref, const char *stream)
{
	uint64_t h = (uint64_t)v->id * 0x9E3779B97F4A7C15ull ^ mref * 0xC2B2AE3D27D4EB4Full;

	for (const char *p = stream; p && *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001B3ull;
	return (size_t)(h ^ (h >> 29)) & (t->n_buckets - 1);
}

static bool stream_eq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

static void table_grow(struct mnt_tree *t)
{
	size_t nb = t->n_buckets * 2;
	struct mnt_node **b = calloc(nb, sizeof(*b));

	if (!b)
		return;
	for (size_t i = 0; i < t->n_buckets; i++)
		for (struct mnt_node *n = t->buckets[i], *nx; n; n = nx) {
			nx = n->hnext;
			size_t h;
			t->n_buckets = nb; /* node_hash masks with n_buckets */
			h = node_hash(t, n->vol, n->mref, n->stream);
			t->n_buckets = nb / 2;
			n->hnext = b[h];
			b[h] = n;
		}
	free(t->buckets);
	t->buckets = b;
	t->n_buckets = nb;
}

/* The node for (v, mref, stream) with one more lookup reference; t->lock held. */
static struct mnt_node *ntfs_node_get(struct mnt_tree *t, struct mnt_vol *v, uint64_t mref, const char *stream)
{
	struct mnt_node *n;
	size_t h;

	if (mref == NTFSFS_ROOT && !stream && v->files) {
		v->files->nlookup++;
		return v->files;
	}
	h = node_hash(t, v, mref, stream);
	for (n = t->buckets[h]; n; n = n->hnext)
		if (n->vol == v && n->mref == mref && stream_eq(n->stream, stream)) {
			n->nlookup++;
			return n;
		}
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	if (stream && !(n->stream = strdup(stream))) {
		free(n);
		return NULL;
	}
	n->kind = MNT_NTFS;
	n->vol = v;
	n->mref = mref;
	n->ino = stream ? (STREAM_INO_BIT | t->next_ino++) : (((uint64_t)v->id << 40) | mref);
	n->nlookup = 1;
	n->hnext = t->buckets[h];
	t->buckets[h] = n;
	if (++t->n_nodes > t->n_buckets)
		table_grow(t);
	return n;
}

static void node_forget(struct mnt_tree *t, struct mnt_node *n, uint64_t nlookup)
{
	struct mnt_node **pp;

	pthread_mutex_lock(&t->lock);
	n->nlookup = n->nlookup > nlookup ? n->nlookup - nlookup : 0;
	if (n->nlookup == 0 && !n->is_static) {
		for (pp = &t->buckets[node_hash(t, n->vol, n->mref, n->stream)]; *pp; pp = &(*pp)->hnext)
			if (*pp == n) {
				*pp = n->hnext;
				t->n_nodes--;
				free(n->stream);
				free(n);
				break;
			}
	}
	pthread_mutex_unlock(&t->lock);
}

/* attributes */

static void set_times(struct stat *st, uint64_t mtime, uint64_t atime, uint64_t ctime)
{
	st->st_mtim = filetime_to_timespec(mtime);
	st->st_atim = filetime_to_timespec(atime);
	st->st_ctim = filetime_to_timespec(ctime);
}

static void virtual_stat(struct mnt_tree *t, struct mnt_node *n, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = n->ino;
	st->st_uid = t->uid;
	st->st_gid = t->gid;
	st->st_blksize = 1 << 20;
	set_times(st, n->time, n->time, n->time);
	switch (n->kind) {
	case MNT_DIR:
		st->st_mode = S_IFDIR | 0555;
		st->st_nlink = 2;
		break;
	case MNT_IMG:
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
		/*
		 * Readers that size their reads by st_blksize (cat, cp) read 4 MiB at
		 * a time: with direct I/O the kernel sends the pieces of one read as
		 * parallel requests, and the worker threads copy them at once (1 GiB
		 * shadow copies, medians of 15 against 1 MiB: mostly zeros 0.153 ->
		 * 0.130 s, mostly image bytes 0.205 -> 0.189 s).
		 */
		st->st_blksize = 4 << 20;
		st->st_size = (off_t)n->vol->size;
		st->st_blocks = (blkcnt_t)((n->vol->size + 511) / 512);
		break;
	case MNT_LINK:
		st->st_mode = S_IFLNK | 0777;
		st->st_nlink = 1;
		st->st_size = (off_t)strlen(n->link);
		break;
	default:
		break;
	}
}

/* Stat an NTFS node; v->lock held. The link target is returned for symlinks shown as such. */
static int ntfs_node_stat(struct mnt_tree *t, struct mnt_node *n, struct stat *st, char **ret_link)
{
	struct ntfsfs_stat ns;
	struct ntfsfs *fs;
	int r;

	r = mnt_vol_fs(n->vol, &fs);
	if (r < 0)
		return r;
	r = ntfsfs_stat(fs, n->mref, &ns);
	if (r < 0)
		return r;
	memset(st, 0, sizeof(*st));
	st->st_ino = n->ino;
	st->st_uid = t->uid;
	st->st_gid = t->gid;
	/*
	 * The cluster-sized hint ntfs-3g gives: with 1 MiB, cat(1) and the like
	 * read files in 1 MiB calls, and a tree of small files took the reader
	 * half as much kernel time again (0.47 s against 0.31 s for 2000 files)
	 */
	st->st_blksize = 4096;
	set_times(st, ns.write_time, ns.access_time, ns.change_time);
	if (n->stream) {
		uint64_t size;
		r = ntfsfs_stream_size(fs, n->mref, n->stream, &size);
		if (r < 0)
			return r;
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
		st->st_size = (off_t)size;
		st->st_blocks = (blkcnt_t)((size + 511) / 512);
		return 0;
	}
	if (ns.reparse_tag == NTFSFS_TAG_SYMLINK || ns.reparse_tag == NTFSFS_TAG_MOUNT_POINT) {
		struct ntfsfs_reparse rp;
		if (ntfsfs_reparse(fs, n->mref, &rp) >= 0) {
			if (rp.inside && rp.relative) {
				st->st_mode = S_IFLNK | 0777;
				st->st_nlink = ns.nlink ? ns.nlink : 1;
				st->st_size = (off_t)strlen(rp.relative);
				if (ret_link)
					*ret_link = TAKE_PTR(rp.relative);
				ntfsfs_reparse_done(&rp);
				return 0;
			}
			ntfsfs_reparse_done(&rp);
		}
	}
	if (ns.type == NTFSFS_DIR) {
		st->st_mode = S_IFDIR | 0555;
		st->st_nlink = 1; /* as ntfs-3g: find(1) must not count subfolders from it */
	} else {
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = ns.nlink ? ns.nlink : 1;
	}
	st->st_size = (off_t)ns.size;
	st->st_blocks = (blkcnt_t)((ns.allocated + 511) / 512);
	return 0;
}

static int node_stat(struct mnt_tree *t, struct mnt_node *n, struct stat *st)
{
	int r;

	if (n->kind != MNT_NTFS) {
		virtual_stat(t, n, st);
		return 0;
	}
	pthread_mutex_lock(&n->vol->lock);
	r = ntfs_node_stat(t, n, st, NULL);
	pthread_mutex_unlock(&n->vol->lock);
	return r;
}

/* lookups */

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct mnt_tree *t = tree_of(req);
	struct mnt_node *p = node_of(t, parent), *n = NULL;
	struct fuse_entry_param e;
	uint64_t mref = 0;
	char *stream = NULL;
	int r;

	memset(&e, 0, sizeof(e));
	if (p->kind == MNT_DIR) {
		pthread_mutex_lock(&t->lock);
		r = mnt_dir_populate(t, p);
		if (r >= 0) {
			n = mnt_child_find(p, name);
			if (n)
				n->nlookup++;
		}
		pthread_mutex_unlock(&t->lock);
		if (r < 0) {
			fuse_reply_err(req, errno_for_kernel(r));
			return;
		}
		if (!n) {
			/* negative entries may be cached too: the tree never changes */
			e.entry_timeout = TIMEOUT;
			fuse_reply_entry(req, &e);
			return;
		}
		r = node_stat(t, n, &e.attr);
		if (r < 0) {
			node_forget(t, n, 1);
			fuse_reply_err(req, errno_for_kernel(r));
			return;
		}
	} else if (p->kind == MNT_NTFS && !p->stream) {
		struct mnt_vol *v = p->vol;
		struct ntfsfs *fs;
		char raw[MNT_NAME_MAX + 1];
		if (mnt_name_unescape(name, raw, sizeof(raw)) < 0) {
			e.entry_timeout = TIMEOUT;
			fuse_reply_entry(req, &e);
			return;
		}
		name = raw;
		pthread_mutex_lock(&v->lock);
		r = mnt_vol_fs(v, &fs);
		if (r >= 0)
			r = ntfsfs_lookup(fs, p->mref, name, &mref);
		/* the index entry of a folder that names itself (the root's ".") is no child */
		if (r >= 0 && mref == p->mref)
			r = -ENOENT;
		if (r == -ENOENT && strchr(name, ':')) {
			/* "file:stream" (or "file:stream:$DATA"): a named data stream */
			char *base = strdup(name), *colon;
			r = -ENOMEM;
			if (base) {
				colon = strchr(base, ':');
				*colon = 0;
				stream = colon + 1;
				size_t sl = strlen(stream);
				if (sl > 6 && strcmp(stream + sl - 6, ":$DATA") == 0)
					stream[sl - 6] = 0;
				uint64_t size;
				r = stream[0] && !strchr(stream, ':') ? ntfsfs_lookup(fs, p->mref, base, &mref) : -ENOENT;
				if (r >= 0)
					r = ntfsfs_stream_size(fs, mref, stream, &size);
				stream = r >= 0 ? strdup(stream) : NULL;
				if (r >= 0 && !stream)
					r = -ENOMEM;
				free(base);
			}
		}
		pthread_mutex_unlock(&v->lock);
		if (r == -ENOENT) {
			e.entry_timeout = TIMEOUT;
			fuse_reply_entry(req, &e);
			return;
		}
		if (r < 0) {
			fuse_reply_err(req, errno_for_kernel(r));
			return;
		}
		pthread_mutex_lock(&t->lock);
		n = ntfs_node_get(t, v, mref, stream);
		pthread_mutex_unlock(&t->lock);
		free(stream);
		if (!n) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
		r = node_stat(t, n, &e.attr);
		if (r < 0) {
			node_forget(t, n, 1);
			fuse_reply_err(req, errno_for_kernel(r));
			return;
		}
	} else {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	e.ino = id_of(t, n);
	e.attr_timeout = TIMEOUT;
	e.entry_timeout = TIMEOUT;
	fuse_reply_entry(req, &e);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct mnt_tree *t = tree_of(req);

	node_forget(t, node_of(t, ino), nlookup);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	struct mnt_tree *t = tree_of(req);

	for (size_t i = 0; i < count; i++)
		node_forget(t, node_of(t, forgets[i].ino), forgets[i].nlookup);
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi _unused_)
{
	struct mnt_tree *t = tree_of(req);
	struct stat st;
	int r = node_stat(t, node_of(t, ino), &st);

	if (r < 0)
		fuse_reply_err(req, errno_for_kernel(r));
	else
		fuse_reply_attr(req, &st, TIMEOUT);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct mnt_tree *t = tree_of(req);
	struct mnt_node *n = node_of(t, ino);
	char *link = NULL;
	struct stat st;
	int r;

	if (n->kind == MNT_LINK) {
		fuse_reply_readlink(req, n->link);
		return;
	}
	if (n->kind != MNT_NTFS) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	pthread_mutex_lock(&n->vol->lock);
	r = ntfs_node_stat(t, n, &st, &link);
	pthread_mutex_unlock(&n->vol->lock);
	if (r < 0)
		fuse_reply_err(req, errno_for_kernel(r));
	else if (!link)
		fuse_reply_err(req, EINVAL);
	else
		fuse_reply_readlink(req, link);
	free(link);
}

/* files */

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct mnt_tree *t = tree_of(req);
	struct mnt_node *n = node_of(t, ino);
	struct src *s;
	struct stat st;
	int r = 0;

	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & (O_TRUNC | O_CREAT))) {
		fuse_reply_err(req, EROFS);
		return;
	}
	switch (n->kind) {
	case MNT_DIR:
		r = -EISDIR;
		break;
	case MNT_LINK:
		r = -ELOOP;
		break;
	case MNT_IMG:
		pthread_mutex_lock(&n->vol->lock);
		r = mnt_vol_src(n->vol, &s);
		if (r >= 0 && pt_on && n->vol->size > 0 && vol_backing(n->vol) > 0) {
			/* FOPEN_KEEP_CACHE is not allowed with FOPEN_PASSTHROUGH; there is no FUSE page cache to keep */
			fi->noflush = 1;
			pt_pending = n->vol->backing_id;
			pthread_mutex_unlock(&n->vol->lock);
			fuse_reply_open(req, fi);
			return;
		}
		pthread_mutex_unlock(&n->vol->lock);
		break;
	case MNT_NTFS:
		r = node_stat(t, n, &st);
		if (r >= 0 && S_ISDIR(st.st_mode))
			r = -EISDIR;
		break;
	}
	if (r < 0) {
		fuse_reply_err(req, errno_for_kernel(r));
		return;
	}
	fi->noflush = 1;
	if (n->kind == MNT_IMG && dio_on && (!n->vol->open_src || (n->vol->keep && repo_src_keeps_all(s, n->vol->keep))))
		fi->direct_io = 1; /* an image's volume, or a repository volume kept whole: spliced, see above */
	else
		fi->keep_cache = 1;
	fuse_reply_open(req, fi);
}

/*
 * Raw images: the reply is assembled from the source's extents (src_map()),
 * so that bytes that sit in an image file (the volume, a shadow copy's
 * store, its unchanged blocks) are spliced from the page cache to the kernel
 * without passing through this process, and zeros are spliced from a hole
 * of a memfd (the kernel's zero page); only what must be decoded or overlaid
 * is read into a buffer. Where splicing is not possible (a pipe too small
 * for an unprivileged process) libfuse reads the descriptors itself.
 */
#define IMG_EXTENTS 64
#define ZEROS_LEN (1u << 20)
static int zero_fd = -1; /* a memfd of ZEROS_LEN bytes, all hole; -1: zeros are read into the buffer */

/* Each worker thread keeps its read buffer (core/buf.h), of at least 1 MiB so that it is rarely made again. */
static struct thread_buf tbuf = THREAD_BUF_INIT;

static uint8_t *tbuf_get(size_t size)
{
	return thread_buf_get(&tbuf, MAX(size, (size_t)(1u << 20)));
}

/* Does extent x continue piece b (the last one of the reply)? Zeros are a run of zero_fd from 0. */
static bool img_extends(const struct fuse_buf *b, const struct src_extent *x)
{
	if (!b)
		return false;
	if (!(b->flags & FUSE_BUF_IS_FD))
		return x->kind == SRC_EXTENT_READ; /* pieces of the buffer are laid out as the reply */
	if (b->fd == zero_fd)
		return x->kind == SRC_EXTENT_ZERO && b->size + x->len <= ZEROS_LEN;
	return x->kind == SRC_EXTENT_FD && b->fd == x->fd && (uint64_t)b->pos + b->size == x->fd_off;
}

static void img_read(fuse_req_t req, struct mnt_vol *v, size_t size, uint64_t off)
{
	struct fuse_bufvec *bv;
	uint8_t *buf = NULL;
	size_t n = 0, pos = 0;
	bool has_fd = false;
	int r = 0;

	bv = malloc(sizeof(*bv) + (IMG_EXTENTS - 1) * sizeof(bv->buf[0]));
	if (!bv) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	while (pos < size) {
		struct fuse_buf *b = n ? &bv->buf[n - 1] : NULL;
		struct src_extent x;

		r = src_map(v->src, off + pos, size - pos, &x);
		if (r < 0)
			break;
		if (x.kind == SRC_EXTENT_ZERO) {
			if (zero_fd >= 0)
				x.len = MIN(x.len, (size_t)ZEROS_LEN);
			else
				x.kind = SRC_EXTENT_READ;
		}
		if (n == IMG_EXTENTS - 1 && !img_extends(b, &x)) /* the last piece: the rest through the buffer */
			x = (struct src_extent){ .kind = SRC_EXTENT_READ, .fd = -1, .len = size - pos };
		if (x.kind == SRC_EXTENT_READ) {
			if (!buf && !(buf = tbuf_get(size))) {
				r = -ENOMEM;
				break;
			}
			r = src_pread(v->src, buf + pos, x.len, off + pos);
			if (r < 0)
				break;
		}
		if (img_extends(b, &x)) {
			b->size += x.len;
		} else {
			b = &bv->buf[n++];
			*b = (struct fuse_buf){ .size = x.len, .fd = -1 };
			if (x.kind == SRC_EXTENT_READ) {
				b->mem = buf + pos;
			} else {
				b->flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
				b->fd = x.kind == SRC_EXTENT_ZERO ? zero_fd : x.fd;
				b->pos = x.kind == SRC_EXTENT_ZERO ? 0 : (off_t)x.fd_off;
				has_fd = true;
			}
		}
		pos += x.len;
	}
	if (r < 0) {
		free(bv);
		sr_debug("read of %s at %llu: %s", v->label, (unsigned long long)off, sr_errmsg(r));
		fuse_reply_err(req, errno_for_kernel(r));
		return;
	}
	if (has_fd) {
		bv->count = n;
		bv->idx = 0;
		bv->off = 0;
		r = fuse_reply_data(req, bv, 0);
		if (r < 0)
			sr_debug("reply to a read of %s at %llu: %s", v->label, (unsigned long long)off, strerror(-r));
	} else {
		fuse_reply_buf(req, (const char *)buf, size);
	}
	free(bv);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi _unused_)
{
	struct mnt_tree *t = tree_of(req);
	struct mnt_node *n = node_of(t, ino);
	uint8_t *buf = NULL;
	ssize_t got = 0;
	int r = 0;

	if (off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (n->kind == MNT_IMG) {
		struct mnt_vol *v = n->vol;
		if ((uint64_t)off >= v->size || !v->src || size == 0) {
			fuse_reply_buf(req, NULL, 0);
			return;
		}
		img_read(req, v, (size_t)MIN((uint64_t)size, v->size - (uint64_t)off), (uint64_t)off);
		return;
	} else if (n->kind == MNT_NTFS) {
		struct ntfsfs *fs;
		buf = tbuf_get(size);
		if (!buf) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
		pthread_mutex_lock(&n->vol->lock);
		r = mnt_vol_fs(n->vol, &fs);
		if (r >= 0) {
			got = ntfsfs_read(fs, n->mref, n->stream, buf, size, (uint64_t)off);
			if (got < 0)
				r = (int)got;
		}
		pthread_mutex_unlock(&n->vol->lock);
	} else {
		r = -EISDIR;
	}
	if (r < 0) {
		sr_debug("read of %s at %lld: %s", n->vol ? n->vol->label : "?", (long long)off, sr_errmsg(r));
		fuse_reply_err(req, errno_for_kernel(r));
		return;
	}
	fuse_reply_buf(req, (const char *)buf, (size_t)got);
}

/* folders: the whole listing is taken at opendir and served from there */

struct dirent_item {
	char *name;
	uint64_t ino;
	mode_t type;
};

struct dirlist {
	struct dirent_item *v;
	size_t n, cap;
};

static void dirlist_free(struct dirlist *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++)
		free(d->v[i].name);
	free(d->v);
	free(d);
}

static int dirlist_add(struct dirlist *d, const char *name, uint64_t ino, mode_t type)
{
	struct dirent_item it = { strdup(name), ino, type };

	if (!it.name || vec_push(d, it) < 0) {
		free(it.name);
		return -ENOMEM;
	}
	return 0;
}

struct ntfs_list_ctx {
	struct dirlist *d;
	uint32_t vol_id;
};

static int ntfs_list_cb(void *userdata, const char *name, uint64_t ino, enum ntfsfs_type type)
{
	struct ntfs_list_ctx *c = userdata;
	mode_t m = type == NTFSFS_DIR ? S_IFDIR : type == NTFSFS_FILE ? S_IFREG : 0;
	char esc[MNT_NAME_MAX * 3 + 1];

	/* a name the kernel cannot take is shown escaped (tree.c); one it can never be given is left out */
	if (mnt_name_escape(name, esc, sizeof(esc)) < 0) {
		sr_debug("inode %llu: an empty or overlong name is not listed", (unsigned long long)ino);
		return 0;
	}
	return dirlist_add(c->d, esc, ((uint64_t)c->vol_id << 40) | ino, m);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct mnt_tree *t = tree_of(req);
	struct mnt_node *n = node_of(t, ino);
	struct dirlist *d = calloc(1, sizeof(*d));
	int r = 0;

	if (!d) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	r = dirlist_add(d, ".", n->ino, S_IFDIR);
	if (r >= 0)
		r = dirlist_add(d, "..", n->parent ? n->parent->ino : n->ino, S_IFDIR);
	if (r < 0) {
	} else if (n->kind == MNT_DIR) {
		pthread_mutex_lock(&t->lock);
		r = mnt_dir_populate(t, n);
		for (size_t i = 0; r >= 0 && i < n->n_kids; i++) {
			struct mnt_node *k = n->kids[i];
			mode_t m = k->kind == MNT_DIR || k->kind == MNT_NTFS ? S_IFDIR : k->kind == MNT_LINK ? S_IFLNK : S_IFREG;
			r = dirlist_add(d, k->name, k->ino, m);
		}
		pthread_mutex_unlock(&t->lock);
	} else if (n->kind == MNT_NTFS && !n->stream) {
		struct ntfs_list_ctx c = { d, n->vol->id };
		struct ntfsfs *fs;
		pthread_mutex_lock(&n->vol->lock);
		r = mnt_vol_fs(n->vol, &fs);
		if (r >= 0)
			r = ntfsfs_readdir(fs, n->mref, t->list_system ? NTFSFS_LIST_SYSTEM : 0, ntfs_list_cb, &c);
		pthread_mutex_unlock(&n->vol->lock);
	} else {
		r = -ENOTDIR;
	}
	if (r < 0) {
		dirlist_free(d);
		fuse_reply_err(req, errno_for_kernel(r));
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)d;
	fi->cache_readdir = 1;
	fi->keep_cache = 1;
	fuse_reply_open(req, fi);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino _unused_, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct dirlist *d = (struct dirlist *)(uintptr_t)fi->fh;
	_cleanup_free_ char *buf = malloc(size);
	size_t pos = 0;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (size_t i = off < 0 ? 0 : (size_t)off; i < d->n; i++) {
		struct stat st = { .st_ino = d->v[i].ino, .st_mode = d->v[i].type };
		size_t need = fuse_add_direntry(req, buf + pos, size - pos, d->v[i].name, &st, (off_t)(i + 1));
		if (need > size - pos)
			break;
		pos += need;
	}
	fuse_reply_buf(req, buf, pos);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino _unused_, struct fuse_file_info *fi)
{
	dirlist_free((struct dirlist *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino _unused_)
{
	struct statvfs sv;

	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = 4096;
	sv.f_frsize = 4096;
	sv.f_namemax = 255;
	sv.f_flag = ST_RDONLY;
	fuse_reply_statfs(req, &sv);
}

/* extended attributes: ntfs-3g's names, so that tools written for it work here */

struct xattr_list {
	struct buf b;
};

static int stream_list_cb(void *userdata, const char *name, uint64_t size)
{
	struct buf *b = userdata;

	if (size > XATTR_MAX)
		return 0;
	if (buf_printf(b, "user.%s", name) < 0 || buf_putc(b, 0) < 0)
		return -ENOMEM;
	return 0;
}

static int add_name(struct buf *b, const char *name)
{
	return buf_append(b, name, strlen(name) + 1);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct mnt_tree *t = tree_of(req);
	struct mnt_node *n = node_of(t, ino);
	struct buf b = BUF_INIT;
	int r = 0;

	if (n == t->root)
		r = add_name(&b, MNT_XATTR_PID);
	if (n->kind == MNT_NTFS && !n->stream) {
		struct ntfsfs *fs;
		struct ntfsfs_stat ns;
		void *sd = NULL;
		size_t sdlen;
		pthread_mutex_lock(&n->vol->lock);
		r = mnt_vol_fs(n->vol, &fs);
		if (r >= 0)
			r = ntfsfs_stat(fs, n->mref, &ns);
		if (r >= 0)
			r = add_name(&b, "system.ntfs_attrib");
		if (r >= 0)
			r = add_name(&b, "system.ntfs_times");
		if (r >= 0)
			r = add_name(&b, "system.ntfs_crtime");
		if (r >= 0 && ntfsfs_security(fs, n->mref, &sd, &sdlen) >= 0)
			r = add_name(&b, "system.ntfs_acl");
		free(sd);
		if (r >= 0 && ns.reparse_tag)
			r = add_name(&b, "system.ntfs_reparse_data");
		if (r >= 0 && ns.n_streams)
			r = ntfsfs_streams(fs, n->mref, stream_list_cb, &b);
		pthread_mutex_unlock(&n->vol->lock);
	}
	if (r < 0)
		fuse_reply_err(req, errno_for_kernel(r));
	else if (size == 0)
		fuse_reply_xattr(req, b.len);
	else if (size < b.len)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, (const char *)b.data, b.len);
	buf_free(&b);
}

/* The value of xattr name of an NTFS node (v->lock held); malloc'ed. */
static int ntfs_xattr(struct ntfsfs *fs, struct mnt_node *n, const char *name, void **ret, size_t *ret_len)
{
	struct ntfsfs_stat ns;
	uint8_t *v;
	int r;

	if (strncmp(name, "user.", 5) == 0) {
		uint64_t size;
		ssize_t got;
		r = ntfsfs_stream_size(fs, n->mref, name + 5, &size);
		if (r < 0)
			return r == -ENOENT ? -ENODATA : r;
		if (size > XATTR_MAX)
			return -E2BIG;
		v = malloc(size ? size : 1);
		if (!v)
			return -ENOMEM;
		got = ntfsfs_read(fs, n->mref, name + 5, v, size, 0);
		if (got < 0) {
			free(v);
			return (int)got;
		}
		*ret = v;
		*ret_len = (size_t)got;
		return 0;
	}
	if (strcmp(name, "system.ntfs_acl") == 0)
		return ntfsfs_security(fs, n->mref, ret, ret_len);
	if (strcmp(name, "system.ntfs_reparse_data") == 0)
		return ntfsfs_reparse_data(fs, n->mref, ret, ret_len);
	r = ntfsfs_stat(fs, n->mref, &ns);
	if (r < 0)
		return r;
	v = calloc(1, 32);
	if (!v)
		return -ENOMEM;
	if (strcmp(name, "system.ntfs_attrib") == 0) {
		put_le32(v, ns.attributes);
		*ret_len = 4;
	} else if (strcmp(name, "system.ntfs_times") == 0) {
		put_le64(v, ns.creation_time);
		put_le64(v + 8, ns.write_time);
		put_le64(v + 16, ns.access_time);
		put_le64(v + 24, ns.change_time);
		*ret_len = 32;
	} else if (strcmp(name, "system.ntfs_crtime") == 0) {
		put_le64(v, ns.creation_time);
		*ret_len = 8;
	} else {
		free(v);
		return -ENODATA;
	}
	*ret = v;
	return 0;
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct mnt_tree *t = tree_of(req);
	struct mnt_node *n = node_of(t, ino);
	_cleanup_free_ void *val = NULL;
	size_t len = 0;
	int r = -ENODATA;

	if (n == t->root && strcmp(name, MNT_XATTR_PID) == 0) {
		char p[32];
		len = (size_t)snprintf(p, sizeof(p), "%d", (int)getpid());
		val = strdup(p);
		r = val ? 0 : -ENOMEM;
	} else if (n->kind == MNT_NTFS && !n->stream) {
		struct ntfsfs *fs;
		pthread_mutex_lock(&n->vol->lock);
		r = mnt_vol_fs(n->vol, &fs);
		if (r >= 0)
			r = ntfs_xattr(fs, n, name, &val, &len);
		pthread_mutex_unlock(&n->vol->lock);
	}
	if (r < 0)
		fuse_reply_err(req, r == -ENODATA ? ENODATA : errno_for_kernel(r));
	else if (size == 0)
		fuse_reply_xattr(req, len);
	else if (size < len)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, val, len);
}

/* everything that would change something: EROFS (the kernel refuses most of it first, the mount being ro) */

static void op_setattr(fuse_req_t req, fuse_ino_t ino _unused_, struct stat *attr _unused_, int to_set _unused_,
		       struct fuse_file_info *fi _unused_)
{
	fuse_reply_err(req, EROFS);
}
static void op_mknod(fuse_req_t req, fuse_ino_t parent _unused_, const char *name _unused_, mode_t mode _unused_,
		     dev_t rdev _unused_)
{
	fuse_reply_err(req, EROFS);
}
static void op_mkdir(fuse_req_t req, fuse_ino_t parent _unused_, const char *name _unused_, mode_t mode _unused_)
{
	fuse_reply_err(req, EROFS);
}
static void op_unlink(fuse_req_t req, fuse_ino_t parent _unused_, const char *name _unused_)
{
	fuse_reply_err(req, EROFS);
}
static void op_symlink(fuse_req_t req, const char *link _unused_, fuse_ino_t parent _unused_,
		       const char *name _unused_)
{
	fuse_reply_err(req, EROFS);
}
static void op_rename(fuse_req_t req, fuse_ino_t parent _unused_, const char *name _unused_,
		      fuse_ino_t newparent _unused_, const char *newname _unused_, unsigned int flags _unused_)
{
	fuse_reply_err(req, EROFS);
}
static void op_link(fuse_req_t req, fuse_ino_t ino _unused_, fuse_ino_t newparent _unused_,
		    const char *newname _unused_)
{
	fuse_reply_err(req, EROFS);
}
static void op_write(fuse_req_t req, fuse_ino_t ino _unused_, const char *buf _unused_, size_t size _unused_,
		     off_t off _unused_, struct fuse_file_info *fi _unused_)
{
	fuse_reply_err(req, EROFS);
}
static void op_setxattr(fuse_req_t req, fuse_ino_t ino _unused_, const char *name _unused_,
			const char *value _unused_, size_t size _unused_, int flags _unused_)
{
	fuse_reply_err(req, EROFS);
}
static void op_removexattr(fuse_req_t req, fuse_ino_t ino _unused_, const char *name _unused_)
{
	fuse_reply_err(req, EROFS);
}
static void op_create(fuse_req_t req, fuse_ino_t parent _unused_, const char *name _unused_, mode_t mode _unused_,
		      struct fuse_file_info *fi _unused_)
{
	fuse_reply_err(req, EROFS);
}
static void op_fallocate(fuse_req_t req, fuse_ino_t ino _unused_, int mode _unused_, off_t offset _unused_,
			 off_t length _unused_, struct fuse_file_info *fi _unused_)
{
	fuse_reply_err(req, EROFS);
}

static void op_init(void *userdata _unused_, struct fuse_conn_info *conn)
{
	/* big sequential reads of images: let the kernel read ahead and send large requests */
	conn->max_readahead = 16u << 20;
	conn->max_background = 64;
	conn->congestion_threshold = 48;
	if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
		conn->want |= FUSE_CAP_CACHE_SYMLINKS;
	if (conn->capable & FUSE_CAP_ASYNC_READ)
		conn->want |= FUSE_CAP_ASYNC_READ;
	/*
	 * Requests of up to 960 KiB (libfuse derives max_pages from max_write):
	 * a spliced reply of 1 MiB would need a pipe larger than the 1 MiB an
	 * unprivileged (or CAP_SYS_RESOURCE-less) process may make, and libfuse
	 * would copy it instead.
	 */
	conn->max_write = (1u << 20) - (64u << 10);
	/* image bytes are spliced from the source files (img_read), never moved: the source keeps its pages */
	if (conn->capable & FUSE_CAP_SPLICE_WRITE)
		conn->want |= FUSE_CAP_SPLICE_WRITE;
	conn->want &= ~(unsigned)FUSE_CAP_SPLICE_MOVE;
	/* nothing ever changes: no need to check sizes and mtimes before serving cached pages */
	conn->want &= ~(unsigned)(FUSE_CAP_WRITEBACK_CACHE | FUSE_CAP_AUTO_INVAL_DATA);
	/* passthrough, direct I/O: see pt_writev() */
	if ((init_offered & FUSE_INIT_EXT) && dev_fd >= 0)
		pt_pending = PT_INIT;
}

static const struct fuse_lowlevel_ops ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.readlink = op_readlink,
	.open = op_open,
	.read = op_read,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.releasedir = op_releasedir,
	.statfs = op_statfs,
	.listxattr = op_listxattr,
	.getxattr = op_getxattr,
	.setattr = op_setattr,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.rmdir = op_unlink,
	.symlink = op_symlink,
	.rename = op_rename,
	.link = op_link,
	.write = op_write,
	.setxattr = op_setxattr,
	.removexattr = op_removexattr,
	.create = op_create,
	.fallocate = op_fallocate,
};

/* serving */

struct ready_ctx {
	const char *mountpoint;
	int fd;
	struct fuse_session *se;
};

/* Once the kernel talks to us: raise the readahead of the mount's bdi, then report readiness. */
static void *ready_thread(void *arg)
{
	struct ready_ctx *c = arg;
	struct stat st;
	char path[128];
	int fd;

	if (stat(c->mountpoint, &st) < 0) {
		mnt_ready(c->fd, 1);
		fuse_session_exit(c->se);
		return NULL;
	}
	snprintf(path, sizeof(path), "/sys/class/bdi/%u:%u/read_ahead_kb", major(st.st_dev), minor(st.st_dev));
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "4096", 4) < 0)
			sr_debug("cannot raise the readahead of %s: %s", c->mountpoint, strerror(errno));
		close(fd);
	}
	mnt_ready(c->fd, 0);
	return NULL;
}

int mnt_serve(struct mnt_tree *t, const char *mountpoint, const struct mnt_options *o)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_loop_config lc = { .clone_fd = 0, .max_idle_threads = o->threads ? o->threads : 8 };
	struct fuse_session *se;
	struct ready_ctx rc = { mountpoint, o->ready_fd, NULL };
	pthread_t th;
	char opts[256];
	int r;

	snprintf(opts, sizeof(opts), "ro,fsname=%s,subtype=%s,default_permissions%s", MNT_FSNAME, MNT_FSNAME,
		 o->allow_other ? ",allow_other" : "");
	if (fuse_opt_add_arg(&args, "shadowrev") < 0 || fuse_opt_add_arg(&args, "-o") < 0 ||
	    fuse_opt_add_arg(&args, opts) < 0) {
		fuse_opt_free_args(&args);
		return -ENOMEM;
	}
	if (zero_fd < 0) {
		int fd = memfd_create("shadowrev-zeros", MFD_CLOEXEC);
		if (fd >= 0 && ftruncate(fd, ZEROS_LEN) == 0)
			zero_fd = fd;
		else if (fd >= 0)
			close(fd);
	}
	se = fuse_session_new(&args, &ops, sizeof(ops), t);
	fuse_opt_free_args(&args);
	if (!se)
		return sr_fail(-EIO, "cannot start a FUSE session (is /dev/fuse there?)");
	if (fuse_set_signal_handlers(se) < 0) {
		fuse_session_destroy(se);
		return -EIO;
	}
	if (fuse_session_mount(se, mountpoint) < 0) {
		fuse_remove_signal_handlers(se);
		fuse_session_destroy(se);
		return sr_fail(-EIO, "cannot mount on '%s' (FUSE refused; see the message above)", mountpoint);
	}
	rc.se = se;
	/* the same descriptor, through pt_io: replies can be completed for kernel passthrough */
	dev_fd = fuse_session_fd(se);
	if (fuse_session_custom_io(se, &pt_io, dev_fd) < 0)
		dev_fd = -1;
	if (pthread_create(&th, NULL, ready_thread, &rc) != 0) {
		r = -EAGAIN;
		goto out;
	}
	r = fuse_session_loop_mt(se, &lc);
	r = r < 0 ? r : 0;
	fuse_session_unmount(se);
	/* after the unmount: a stat still waiting for its answer returns now */
	pthread_join(th, NULL);
	fuse_remove_signal_handlers(se);
	fuse_session_destroy(se);
	return r;
out:
	fuse_session_unmount(se);
	fuse_remove_signal_handlers(se);
	fuse_session_destroy(se);
	return r;
}
