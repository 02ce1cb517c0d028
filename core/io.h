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
 * Replace path atomically with data (io_new_open() and commit with
 * IO_NEW_REPLACE): either the old or the new content is visible after a
 * crash, never a mix.
 */
int atomic_replace(const char *path, const void *data, size_t len, mode_t mode);
/*
 * Creating a new file safely, the one way shadowrev creates files (see
 * tests/check-creat.sh). io_new_open() makes an unnamed file in path's folder
 * (O_TMPFILE) or, where the file system has none, a file under a random,
 * unpredictable name there (".NAME.tmp.<16 hex>", O_CREAT|O_EXCL|O_NOFOLLOW:
 * never an existing file, never through a symlink), mode 0600 and opened
 * O_RDWR|O_CLOEXEC in n->fd. The folder part of path is resolved once, as
 * given; everything after happens relative to that folder's fd.
 *
 * io_new_commit() gives the file its mode (masked by the umask), fsyncs it,
 * puts it at path and fsyncs the folder. Without IO_NEW_REPLACE an existing
 * path (a symlink too, dangling or not) is never replaced: -EEXIST (linkat()
 * or renameat2(RENAME_NOREPLACE)). With it, rename() replaces the name itself:
 * a symlink at path is replaced, never followed. IO_NEW_NOSYNC skips both
 * fsyncs (chunks: the caller syncs later). n->fd stays open after a commit
 * until io_new_done(); on error nothing is left at path or under a temporary
 * name.
 *
 * io_new_done() closes and, when not committed, removes what io_new_open()
 * made (free of an unopened IO_NEW_INIT is fine). Return 0 or -errno.
 */
struct io_new {
	int fd;     /* the new file, O_RDWR */
	int dirfd;  /* the folder it goes into */
	char *name; /* its final name in dirfd */
	char *tmp;  /* its temporary name in dirfd; NULL: unnamed (O_TMPFILE) or committed */
	bool committed;
};
#define IO_NEW_INIT { .fd = -1, .dirfd = -1 }
enum {
	IO_NEW_REPLACE = 1 << 0,
	IO_NEW_NOSYNC = 1 << 1,
};
int io_new_open(struct io_new *n, const char *path);
/* Unit tests set it to take the random-name path where O_TMPFILE works. */
extern bool io_new_no_tmpfile;
int io_new_commit(struct io_new *n, mode_t mode, unsigned flags);
void io_new_done(struct io_new *n);

/* fsync the directory that contains path. */
int fsync_parent(const char *path);

/*
 * Lock files: an fcntl (OFD) lock on path, created if missing (mode 0600, never
 * through a symlink: -ELOOP). shared=1 takes a read lock. wait=0 returns -EBUSY instead of waiting. Returns the fd (>= 0);
 * close it to release the lock.
 */
int lockfile_take(const char *path, int shared, int wait);

/* Size of a regular file or block device. */
int fd_get_size(int fd, uint64_t *ret);

/* mkdir -p with the given mode; existing directories are fine. */
int mkdir_p(const char *path, mode_t mode);

#endif
