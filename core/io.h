/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SR_IO_H
#define SR_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Full-length I/O: retry on EINTR and short transfers. Return 0 or -errno.
 * The read variants return -EIO if the file ends before len bytes
 * (read_full_eof() instead reports the number of bytes read).
 */
int read_full(int fd, void *buf, size_t len);
ssize_t read_full_eof(int fd, void *buf, size_t len);
int write_full(int fd, const void *buf, size_t len);
int pread_full(int fd, void *buf, size_t len, uint64_t off);
int pwrite_full(int fd, const void *buf, size_t len, uint64_t off);

/*
 * Direct writes: the whole IO_DIRECT_ALIGN blocks of a large write go past the
 * page cache (bytes nobody reads back soon; buffered writeback reaches a
 * fraction of what direct writes do on some disks).
 *
 * io_open_direct(fd): the file of fd opened again for writing with O_DIRECT
 * (through /proc/self/fd), or -errno (-EINVAL: the file system refuses).
 *
 * pwrite_direct(): write len bytes of buf at off. The whole aligned blocks in
 * [off, off+len) go through dfd when they also start at an aligned address in
 * buf; the unaligned head and tail, and everything when dfd < 0 or the
 * addresses are not aligned, go through fd. A direct write the file system
 * refuses (EINVAL) is done through fd and *ret_refused (if not NULL) is set:
 * the caller should stop passing dfd. Returns 0 or -errno.
 */
#define IO_DIRECT_ALIGN 4096u
int io_open_direct(int fd);
int pwrite_direct(int fd, int dfd, const void *buf, size_t len, uint64_t off, bool *ret_refused);

/* Read a whole (regular) file into a malloc'ed, NUL-terminated buffer; at most max bytes (-EFBIG beyond). */
int read_file(const char *path, size_t max, void **ret, size_t *ret_len);

/*
 * Replace path atomically with data: write a temporary file (O_EXCL) in the
 * same directory, fsync it, rename it over path, fsync the directory. Either
 * the old or the new content is visible after a crash, never a mix.
 */
int atomic_replace(const char *path, const void *data, size_t len, mode_t mode);
/* fsync the directory that contains path. */
int fsync_parent(const char *path);

/*
 * Lock files: an fcntl (OFD) lock on path, created if missing. shared=1 takes a
 * read lock. wait=0 returns -EBUSY instead of waiting. Returns the fd (>= 0);
 * close it to release the lock.
 */
int lockfile_take(const char *path, int shared, int wait);

/* Size of a regular file or block device. */
int fd_get_size(int fd, uint64_t *ret);

/* mkdir -p with the given mode; existing directories are fine. */
int mkdir_p(const char *path, mode_t mode);

#endif
