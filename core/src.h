/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SR_SRC_H
#define SR_SRC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A source: a read-only, random-access run of bytes (an image file, a block
 * device, a slice of another source, a memory buffer, a shadow copy's view,
 * later a captured volume). Sources are reference counted; a slice or view
 * holds a reference on what it reads from.
 *
 * src_pread() is thread-safe for every source kind here.
 */
struct src;

struct src_ops {
	/* Read exactly len bytes at off; the caller has checked off + len <= size. */
	int (*pread)(struct src *s, void *buf, size_t len, uint64_t off);
	void (*destroy)(struct src *s);
};

/* Where a range of a source comes from (src_map()). */
enum src_extent_kind {
	SRC_EXTENT_READ, /* only src_pread() gives these bytes (decoded, overlaid, in memory) */
	SRC_EXTENT_FD,   /* the bytes at fd_off of file descriptor fd */
	SRC_EXTENT_ZERO, /* zeros */
};
struct src_extent {
	enum src_extent_kind kind;
	int fd; /* SRC_EXTENT_FD: borrowed, open as long as the source is */
	uint64_t fd_off;
	size_t len;
};

struct src {
	const struct src_ops *ops;
	unsigned refs;
	uint64_t size;
	char *name; /* for messages: a path, "path:p2", "path@{shadow id}" */
	void *priv;
	/* Optional (NULL: everything is SRC_EXTENT_READ): src_map() for this kind; off + len <= size, len > 0. */
	int (*map)(struct src *s, uint64_t off, size_t len, struct src_extent *ret);
};

/* Open an image file or block device read-only (writable=true: O_RDWR, for revert). */
int src_open_file(const char *path, bool writable, struct src **ret);
/* The file descriptor behind a file source, or -EINVAL for other kinds. */
int src_file_fd(struct src *s);
/* A slice [off, off+size) of parent; takes a reference on parent. */
int src_slice_new(struct src *parent, uint64_t off, uint64_t size, const char *name, struct src **ret);
/* A source over a caller-owned buffer that outlives the source (fuzzing, tests). */
int src_mem_new(const void *buf, size_t len, const char *name, struct src **ret);
/* Generic constructor for other modules' sources. name is copied; priv is owned by ops->destroy. */
int src_new(const struct src_ops *ops, uint64_t size, const char *name, void *priv, struct src **ret);

/*
 * A source that caches inner's bytes in 1 MiB blocks (about cache_bytes of
 * them, least recently used evicted); thread-safe. For sources that are slow
 * to read again, such as captured volumes. Takes a reference on inner.
 */
int src_cache_new(struct src *inner, uint64_t cache_bytes, struct src **ret);

struct src *src_ref(struct src *s);
void src_unref(struct src *s);

/* Read len bytes at off. -EINVAL if the range lies outside the source (nothing read). */
int src_pread(struct src *s, void *buf, size_t len, uint64_t off);

/*
 * Where the bytes at off come from, for callers that can move them without
 * copying them (splice): the first extent of [off, off+len), ret->len bytes
 * (1 <= ret->len <= len), of one kind (see enum src_extent_kind). Reading the
 * extent with src_pread() always gives the same bytes. -EINVAL if the range
 * lies outside the source or len is 0; a view whose stores lack their data
 * fails as src_pread() would. Thread-safe where src_pread() is.
 */
int src_map(struct src *s, uint64_t off, size_t len, struct src_extent *ret);

static inline void src_unrefp(struct src **s)
{
	src_unref(*s);
}
#define _cleanup_src_ __attribute__((cleanup(src_unrefp)))

#endif
