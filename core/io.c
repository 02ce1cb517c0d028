/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
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

int atomic_replace(const char *path, const void *data, size_t len, mode_t mode)
{
	_cleanup_free_ char *tmp = NULL;
	int fd, r;

	for (int attempt = 0; attempt < 100; attempt++) {
		free(tmp);
		if (asprintf(&tmp, "%s.tmp.%d.%u", path, (int)getpid(), (unsigned)rand()) < 0) {
			tmp = NULL;
			return -ENOMEM;
		}
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
		if (fd >= 0)
			break;
		if (errno != EEXIST)
			return -errno;
	}
	if (fd < 0)
		return -EEXIST;
	r = write_full(fd, data, len);
	if (r >= 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r >= 0)
		r = -errno;
	if (r >= 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	return fsync_parent(path);
}

int lockfile_take(const char *path, int shared, int wait)
{
	struct flock fl = { .l_type = (short)(shared ? F_RDLCK : F_WRLCK), .l_whence = SEEK_SET };
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
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
