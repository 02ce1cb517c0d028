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

struct src {
	const struct src_ops *ops;
	unsigned refs;
	uint64_t size;
	char *name; /* for messages: a path, "path:p2", "path@{shadow id}" */
	void *priv;
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

static inline void src_unrefp(struct src **s)
{
	src_unref(*s);
}
#define _cleanup_src_ __attribute__((cleanup(src_unrefp)))

#endif
