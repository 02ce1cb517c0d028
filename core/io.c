/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"

ssize_t read_full_eof(int fd, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, (char *)buf + done, len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

int read_full(int fd, void *buf, size_t len)
{
	ssize_t n = read_full_eof(fd, buf, len);

	if (n < 0)
		return (int)n;
	return (size_t)n == len ? 0 : -EIO;
}

int write_full(int fd, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, (const char *)buf + done, len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	return 0;
}

int pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	return 0;
}

int pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(fd, (const char *)buf + done, len - done, (off_t)(off + done));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	return 0;
}

int io_open_direct(int fd)
{
	char self[64];
	int dfd;

	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	dfd = open(self, O_WRONLY | O_DIRECT | O_CLOEXEC);
	return dfd < 0 ? -errno : dfd;
}

int pwrite_direct(int fd, int dfd, const void *buf, size_t len, uint64_t off, bool *ret_refused)
{
	const uint8_t *b = buf;
	size_t head = (size_t)MIN((uint64_t)len, (IO_DIRECT_ALIGN - off % IO_DIRECT_ALIGN) % IO_DIRECT_ALIGN);
	size_t body = (len - head) & ~(size_t)(IO_DIRECT_ALIGN - 1), tail = len - head - body;
	int r;

	if (dfd < 0 || body == 0 || (uintptr_t)(b + head) % IO_DIRECT_ALIGN)
		return pwrite_full(fd, b, len, off);
	r = pwrite_full(dfd, b + head, body, off + head);
	if (r == -EINVAL) {
		if (ret_refused)
			*ret_refused = true;
		return pwrite_full(fd, b, len, off);
	}
	if (r < 0)
		return r;
	if (head && (r = pwrite_full(fd, b, head, off)) < 0)
		return r;
	if (tail && (r = pwrite_full(fd, b + head + body, tail, off + head + body)) < 0)
		return r;
	return 0;
}

int read_file(const char *path, size_t max, void **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *data = NULL;
	struct stat st;
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	if ((uint64_t)st.st_size > max)
		return -EFBIG;
	data = malloc((size_t)st.st_size + 1);
	if (!data)
		return -ENOMEM;
	n = read_full_eof(fd, data, (size_t)st.st_size);
	if (n < 0)
		return (int)n;
	data[n] = 0;
	*ret = TAKE_PTR(data);
	if (ret_len)
		*ret_len = (size_t)n;
	return 0;
}

int fsync_parent(const char *path)
{
	_cleanup_free_ char *copy = strdup(path);
	_cleanup_close_ int fd = -1;

	if (!copy)
		return -ENOMEM;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		return -errno;
	return 0;
}

/*
 * The umask, read once: files made 0600 get their final mode with fchmod(),
 * which the umask does not touch, and umask() itself cannot be read without
 * setting it (a race with other threads creating files).
 */
static mode_t cached_umask = (mode_t)-1;
static pthread_once_t umask_once = PTHREAD_ONCE_INIT;

static void umask_read(void)
{
	char line[128];
	FILE *f = fopen("/proc/self/status", "re");

	cached_umask = 022;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "Umask:", 6) == 0) {
			cached_umask = (mode_t)strtoul(line + 6, NULL, 8) & 0777;
			break;
		}
	fclose(f);
}

/* A fresh temporary name for base: ".BASE.tmp.<16 hex>" (readers and gc of the repository skip dot names). */
static int tmp_name(const char *base, char **ret)
{
	uint64_t rnd;

	if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return errno ? -errno : -EIO;
	if (asprintf(ret, ".%.200s.tmp.%016llx", base, (unsigned long long)rnd) < 0) {
		*ret = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* Create a file under a fresh temporary name in dirfd: O_EXCL|O_NOFOLLOW, retried on a clash. */
static int tmp_create(int dirfd, const char *base, char **ret_name)
{
	for (int attempt = 0; attempt < 16; attempt++) {
		char *t;
		int fd, r = tmp_name(base, &t);
		if (r < 0)
			return r;
		fd = openat(dirfd, t, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0) {
			*ret_name = t;
			return fd;
		}
		r = -errno;
		free(t);
		if (r != -EEXIST)
			return r;
	}
	return -EEXIST;
}

/* O_TMPFILE files are linked through /proc/self/fd (linkat AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH). */
static bool proc_fd_usable(void)
{
	static int usable = -1;

	if (usable < 0)
		usable = access("/proc/self/fd", X_OK) == 0;
	return usable;
}

static int link_tmpfile(int fd, int dirfd, const char *name)
{
	char self[64];

	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	return linkat(AT_FDCWD, self, dirfd, name, AT_SYMLINK_FOLLOW) < 0 ? -errno : 0;
}

bool io_new_no_tmpfile;

int io_new_open(struct io_new *n, const char *path)
{
	_cleanup_free_ char *copy = strdup(path);
	const char *slash, *base, *dir;
	int r;

	*n = (struct io_new)IO_NEW_INIT;
	if (!copy)
		return -ENOMEM;
	slash = strrchr(copy, '/');
	if (slash) {
		copy[slash - copy] = 0;
		base = slash + 1;
		dir = slash == copy ? "/" : copy;
	} else {
		base = copy;
		dir = ".";
	}
	if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		return -EISDIR;
	n->name = strdup(base);
	if (!n->name)
		return -ENOMEM;
	n->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (n->dirfd < 0) {
		r = -errno;
		goto fail;
	}
	if (!io_new_no_tmpfile && proc_fd_usable()) {
		n->fd = openat(n->dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		if (n->fd >= 0)
			return 0;
		/* no O_TMPFILE on this file system (or kernel): a random name */
		if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL && errno != ENOENT) {
			r = -errno;
			goto fail;
		}
	}
	n->fd = tmp_create(n->dirfd, n->name, &n->tmp);
	if (n->fd < 0) {
		r = n->fd;
		goto fail;
	}
	return 0;
fail:
	io_new_done(n);
	return r;
}

int io_new_commit(struct io_new *n, mode_t mode, unsigned flags)
{
	_cleanup_free_ char *t = NULL;
	int r;

	if (n->fd < 0 || n->committed)
		return -EBADF;
	(void)pthread_once(&umask_once, umask_read);
	if (fchmod(n->fd, mode & ~cached_umask & 07777) < 0)
		return -errno;
	if (!(flags & IO_NEW_NOSYNC) && fsync(n->fd) < 0)
		return -errno;
	if (!n->tmp) {
		/* unnamed: link it at its name, or beside it and rename it over */
		if (!(flags & IO_NEW_REPLACE)) {
			r = link_tmpfile(n->fd, n->dirfd, n->name);
			if (r < 0)
				return r;
		} else {
			for (int attempt = 0;; attempt++) {
				r = tmp_name(n->name, &t);
				if (r < 0)
					return r;
				r = link_tmpfile(n->fd, n->dirfd, t);
				if (r != -EEXIST || attempt == 15)
					break;
				t = (free(t), NULL);
			}
			if (r < 0)
				return r;
			if (renameat(n->dirfd, t, n->dirfd, n->name) < 0) {
				r = -errno;
				(void)unlinkat(n->dirfd, t, 0);
				return r;
			}
		}
	} else if (flags & IO_NEW_REPLACE) {
		if (renameat(n->dirfd, n->tmp, n->dirfd, n->name) < 0)
			return -errno;
		n->tmp = (free(n->tmp), NULL);
	} else {
		if (renameat2(n->dirfd, n->tmp, n->dirfd, n->name, RENAME_NOREPLACE) < 0) {
			if (errno != EINVAL && errno != ENOSYS)
				return -errno;
			/* no RENAME_NOREPLACE here: a hard link never replaces either */
			if (linkat(n->dirfd, n->tmp, n->dirfd, n->name, 0) < 0)
				return -errno;
			(void)unlinkat(n->dirfd, n->tmp, 0);
		}
		n->tmp = (free(n->tmp), NULL);
	}
	n->committed = true;
	if (!(flags & IO_NEW_NOSYNC) && fsync(n->dirfd) < 0)
		return -errno;
	return 0;
}

void io_new_done(struct io_new *n)
{
	if (n->tmp && n->dirfd >= 0)
		(void)unlinkat(n->dirfd, n->tmp, 0);
	if (n->fd >= 0)
		close(n->fd);
	if (n->dirfd >= 0)
		close(n->dirfd);
	free(n->tmp);
	free(n->name);
	*n = (struct io_new)IO_NEW_INIT;
}

int atomic_replace(const char *path, const void *data, size_t len, mode_t mode)
{
	struct io_new n;
	int r;

	r = io_new_open(&n, path);
	if (r < 0)
		return r;
	r = write_full(n.fd, data, len);
	if (r >= 0)
		r = io_new_commit(&n, mode, IO_NEW_REPLACE);
	io_new_done(&n);
	return r;
}

int lockfile_take(const char *path, int shared, int wait)
{
	struct flock fl = { .l_type = (short)(shared ? F_RDLCK : F_WRLCK), .l_whence = SEEK_SET };
	int fd;

	/* lock files stay (a lock is on the file, not its name): never through a symlink, never made wider */
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl) < 0) {
		int e = errno;
		if (e == EINTR)
			continue;
		close(fd);
		return (e == EAGAIN || e == EACCES) ? -EBUSY : -e;
	}
	return fd;
}

int fd_get_size(int fd, uint64_t *ret)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISBLK(st.st_mode)) {
		uint64_t sz;
		if (ioctl(fd, BLKGETSIZE64, &sz) < 0)
			return -errno;
		*ret = sz;
		return 0;
	}
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	*ret = (uint64_t)st.st_size;
	return 0;
}

int mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, path, len + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0) {
		struct stat st;
		if (errno != EEXIST)
			return -errno;
		if (stat(tmp, &st) < 0)
			return -errno;
		if (!S_ISDIR(st.st_mode))
			return -ENOTDIR;
	}
	return 0;
}
