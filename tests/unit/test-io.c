/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * core/io. Oracles: the kernel and the filesystem (stat, readdir, what another
 * process reads or writes through a pipe, fcntl locks seen from a forked
 * child, losetup for a block device's size).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/io.h"
#include "tap.h"

static char dir[PATH_MAX];

static const char *path_in(const char *name)
{
	static char p[4][PATH_MAX + 64];
	static int i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

static void put_file(const char *path, const char *data, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	if (fd < 0 || write(fd, data, strlen(data)) != (ssize_t)strlen(data) || close(fd) < 0)
		ok(0, "setup: write %s: %s", path, strerror(errno));
}

/* The file's content (static buffer), or NULL. */
static const char *content(const char *path)
{
	static char buf[70000];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return NULL;
	buf[n] = 0;
	return buf;
}

/* Names in dir other than . and .., joined by spaces, sorted by the directory order. */
static int count_entries(const char *d, char *names, size_t size)
{
	DIR *dp = opendir(d);
	struct dirent *e;
	int n = 0;

	names[0] = 0;
	if (!dp)
		return -1;
	while ((e = readdir(dp))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		n++;
		strncat(names, e->d_name, size - strlen(names) - 2);
		strcat(names, " ");
	}
	closedir(dp);
	return n;
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)((i * 2654435761u + seed) >> 13);
}

static void test_atomic_replace(void)
{
	char names[4096], f[PATH_MAX + 64];
	struct stat st;
	static uint8_t big[65536];
	struct rlimit old, lim;

	snprintf(f, sizeof(f), "%s", path_in("sub/file"));
	is_int(mkdir_p(path_in("sub"), 0755), 0, "mkdir_p sub");
	put_file(f, "old content", 0600);
	is_int(atomic_replace(f, "new", 3, 0640), 0, "atomic_replace over an existing file");
	is_str(content(f), "new", "content replaced");
	memset(&st, 0, sizeof(st));
	stat(f, &st);
	ok((st.st_mode & 07777) == 0640, "mode is the one given (0%o)", st.st_mode & 07777);
	is_int(count_entries(path_in("sub"), names, sizeof(names)), 1, "no temporary file left: %s", names);

	is_int(atomic_replace(path_in("sub/new"), "", 0, 0600), 0, "atomic_replace creates an empty file");
	ok(stat(path_in("sub/new"), &st) == 0 && st.st_size == 0 && (st.st_mode & 07777) == 0600,
	   "empty, mode 0600");
	fill(big, sizeof(big), 1);
	is_int(atomic_replace(path_in("sub/new"), big, sizeof(big), 0644), 0, "64 KiB");
	is_mem(content(path_in("sub/new")), big, sizeof(big), "64 KiB content");
	is_int(count_entries(path_in("sub"), names, sizeof(names)), 2, "still no temporary file: %s", names);

	/* failures: the old content survives, nothing is left behind */
	is_int(atomic_replace(path_in("nodir/file"), "x", 1, 0644), -ENOENT, "directory missing: -ENOENT");
	ok(access(path_in("nodir"), F_OK) < 0, "and nothing created");

	/* the write fails half-way: RLIMIT_FSIZE below the data size, SIGXFSZ ignored (EFBIG) */
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = 4096;
	signal(SIGXFSZ, SIG_IGN);
	if (setrlimit(RLIMIT_FSIZE, &lim) < 0) {
		skip("setrlimit(RLIMIT_FSIZE): %s", strerror(errno));
	} else {
		int r = atomic_replace(f, big, sizeof(big), 0644);
		setrlimit(RLIMIT_FSIZE, &old);
		is_int(r, -EFBIG, "write beyond RLIMIT_FSIZE fails with -EFBIG");
		is_str(content(f), "new", "the old content is intact");
		ok(stat(f, &st) == 0 && (st.st_mode & 07777) == 0640, "and its mode");
		is_int(count_entries(path_in("sub"), names, sizeof(names)), 2, "the temporary file is removed: %s",
		       names);
	}
	signal(SIGXFSZ, SIG_DFL);

	/* path is a directory: rename fails, the directory is untouched */
	is_int(mkdir_p(path_in("sub/d/x"), 0755), 0, "mkdir_p sub/d/x");
	ok(atomic_replace(path_in("sub/d"), "x", 1, 0644) < 0, "replacing a non-empty directory fails");
	ok(access(path_in("sub/d/x"), F_OK) == 0, "the directory is intact");
	is_int(count_entries(path_in("sub"), names, sizeof(names)), 3, "no temporary file: %s", names);

	is_int(fsync_parent(f), 0, "fsync_parent");
	is_int(fsync_parent(path_in("nodir/x")), -ENOENT, "fsync_parent of a missing directory");
}

/* Child: write n bytes of the pattern in odd pieces, slowly at first. */
static void child_writer(int fd, size_t n)
{
	static uint8_t buf[1 << 20];
	size_t off = 0, piece = 1;

	fill(buf, n, 7);
	while (off < n) {
		size_t k = piece < n - off ? piece : n - off;
		if (write(fd, buf + off, k) != (ssize_t)k)
			_exit(1);
		off += k;
		piece = piece * 3 + 1;
		if (off < 4096)
			usleep(1000);
	}
	_exit(0);
}

/* Child: read everything, compare to the pattern; exit 0 if equal. */
static void child_reader(int fd, size_t n)
{
	static uint8_t want[1 << 20], got[(1 << 20) + 1];
	size_t have = 0;
	ssize_t k;

	fill(want, n, 9);
	usleep(20000); /* let the writer fill the pipe first */
	while ((k = read(fd, got + have, sizeof(got) - have)) > 0) {
		have += (size_t)k;
		if (have % 3 == 0)
			usleep(100);
	}
	_exit(have == n && memcmp(got, want, n) == 0 ? 0 : 1);
}

static int wait_child(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void test_full_io_pipes(void)
{
	static uint8_t want[1 << 20], got[1 << 20];
	const size_t n = sizeof(want);
	int p[2];
	pid_t pid;

	fflush(stdout);
	/* read_full over a pipe written in pieces */
	if (pipe(p) < 0)
		return (void)ok(0, "pipe");
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		child_writer(p[1], n);
	}
	close(p[1]);
	fill(want, n, 7);
	is_int(read_full(p[0], got, n), 0, "read_full: 1 MiB from a pipe written in pieces");
	is_mem(got, want, n, "read_full: the bytes written");
	is_int(read_full_eof(p[0], got, 10), 0, "read_full_eof at the end: 0 bytes");
	close(p[0]);
	is_int(wait_child(pid), 0, "writer child");

	/* short: EOF before len */
	if (pipe(p) < 0)
		return (void)ok(0, "pipe");
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		child_writer(p[1], 1000);
	}
	close(p[1]);
	{
		uint8_t buf[2000];
		int p2[2];
		is_int(read_full_eof(p[0], buf, sizeof(buf)), 1000, "read_full_eof: the 1000 bytes there are");
		fill(want, 1000, 7);
		is_mem(buf, want, 1000, "read_full_eof: content");
		close(p[0]);
		is_int(wait_child(pid), 0, "writer child");

		if (pipe(p2) < 0)
			return (void)ok(0, "pipe");
		if (write(p2[1], "abc", 3) != 3)
			ok(0, "write");
		close(p2[1]);
		is_int(read_full(p2[0], buf, 4), -EIO, "read_full: EOF before len is -EIO");
		close(p2[0]);
	}

	/* write_full into a pipe that a slow reader drains: partial writes */
	if (pipe(p) < 0)
		return (void)ok(0, "pipe");
	pid = fork();
	if (pid == 0) {
		close(p[1]);
		child_reader(p[0], n);
	}
	close(p[0]);
	fill(want, n, 9);
	is_int(write_full(p[1], want, n), 0, "write_full: 1 MiB into a pipe");
	close(p[1]);
	is_int(wait_child(pid), 0, "the reader got exactly the bytes written");

	/* a pipe without a reader: -EPIPE */
	signal(SIGPIPE, SIG_IGN);
	if (pipe(p) < 0)
		return (void)ok(0, "pipe");
	close(p[0]);
	is_int(write_full(p[1], want, 10), -EPIPE, "write_full without a reader: -EPIPE");
	close(p[1]);
	signal(SIGPIPE, SIG_DFL);
	is_int(read_full(-1, got, 1), -EBADF, "read_full on a bad fd: -EBADF");
}

static void test_pread_pwrite(void)
{
	static uint8_t data[100000], buf[100000];
	int fd = open(path_in("p"), O_RDWR | O_CREAT | O_TRUNC, 0644);

	fill(data, sizeof(data), 3);
	if (fd < 0)
		return (void)ok(0, "open");
	is_int(pwrite_full(fd, data, sizeof(data), 0), 0, "pwrite_full 100000 bytes");
	is_int(pwrite_full(fd, "XYZ", 3, 5000000000ULL), 0, "pwrite_full beyond 4 GiB");
	{
		struct stat st;
		ok(fstat(fd, &st) == 0 && st.st_size == 5000000003LL, "file size is 5000000003");
	}
	is_int(pread_full(fd, buf, sizeof(data), 0), 0, "pread_full all");
	is_mem(buf, data, sizeof(data), "pread_full content");
	is_int(pread_full(fd, buf, 777, 12345), 0, "pread_full 777 at 12345");
	is_mem(buf, data + 12345, 777, "pread_full middle content");
	is_int(pread_full(fd, buf, 3, 5000000000ULL), 0, "pread_full beyond 4 GiB");
	is_mem(buf, "XYZ", 3, "content beyond 4 GiB");
	is_int(pread_full(fd, buf, 10, 100000), 0, "pread_full in a hole");
	is_mem(buf, "\0\0\0\0\0\0\0\0\0\0", 10, "a hole reads zeros");
	is_int(pread_full(fd, buf, 4, 5000000000ULL), -EIO, "pread_full across EOF: -EIO");
	is_int(pread_full(fd, buf, 1, 6000000000ULL), -EIO, "pread_full past EOF: -EIO");
	is_int(pread_full(fd, buf, 0, 6000000000ULL), 0, "zero length past EOF");
	{
		uint64_t size = 0;
		is_int(fd_get_size(fd, &size), 0, "fd_get_size of a sparse file");
		ok(size == 5000000003ULL, "fd_get_size: 5000000003 (got %llu)", (unsigned long long)size);
	}
	close(fd);
	fd = open(path_in("p"), O_RDONLY);
	is_int(pwrite_full(fd, "a", 1, 0), -EBADF, "pwrite_full on a read-only fd: -EBADF");
	close(fd);
}

static void test_read_file(void)
{
	void *p = NULL;
	size_t len = 0;
	static char data[101];

	memset(data, 'q', 100);
	put_file(path_in("rf"), data, 0644);
	is_int(read_file(path_in("rf"), 100, &p, &len), 0, "read_file: size == max");
	ok(p && len == 100 && memcmp(p, data, 100) == 0, "read_file: content and length");
	ok(p && ((char *)p)[100] == 0, "read_file: NUL-terminated");
	free(p);
	p = (void *)1;
	is_int(read_file(path_in("rf"), 99, &p, &len), -EFBIG, "read_file: size > max is -EFBIG");
	ok(p == (void *)1, "read_file: nothing returned on error");
	is_int(read_file(path_in("rf"), SIZE_MAX, &p, NULL), 0, "read_file: ret_len may be NULL");
	free(p);
	put_file(path_in("empty"), "", 0644);
	is_int(read_file(path_in("empty"), 0, &p, &len), 0, "read_file: empty file, max 0");
	ok(p && len == 0 && ((char *)p)[0] == 0, "read_file: empty string");
	free(p);
	is_int(read_file(path_in("missing"), 100, &p, &len), -ENOENT, "read_file: missing is -ENOENT");
	is_int(read_file(dir, 100, &p, &len), -EISDIR, "read_file: a directory is -EISDIR");
	is_int(read_file("/dev/null", 100, &p, &len), -EINVAL, "read_file: a character device is -EINVAL");
}

/* In a child: try the lock; write the result to fd. */
static pid_t lock_child(const char *path, int shared, int wait, int fd_result, unsigned hold_ms)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int r = lockfile_take(path, shared, wait);
		if (write(fd_result, &r, sizeof(r)) != sizeof(r))
			_exit(1);
		if (r >= 0 && hold_ms)
			usleep(hold_ms * 1000);
		_exit(0);
	}
	return pid;
}

static int child_lock_result(const char *path, int shared, int wait)
{
	int p[2], r = -12345;
	pid_t pid;

	if (pipe(p) < 0)
		return -12345;
	pid = lock_child(path, shared, wait, p[1], 0);
	close(p[1]);
	if (read(p[0], &r, sizeof(r)) != sizeof(r))
		r = -12345;
	close(p[0]);
	wait_child(pid);
	return r >= 0 ? 0 : r;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_lockfile(void)
{
	char f[PATH_MAX + 64];
	int fd, fd2;

	snprintf(f, sizeof(f), "%s", path_in("lock"));
	fd = lockfile_take(f, 0, 0);
	ok(fd >= 0, "exclusive lock taken, file created");
	ok(access(f, F_OK) == 0, "lock file exists");
	is_int(child_lock_result(f, 0, 0), -EBUSY, "another process: exclusive is -EBUSY");
	is_int(child_lock_result(f, 1, 0), -EBUSY, "another process: shared is -EBUSY");
	fd2 = lockfile_take(f, 1, 0);
	is_int(fd2 < 0 ? fd2 : 0, -EBUSY, "this process, another open: -EBUSY too (OFD locks)");
	if (fd2 >= 0)
		close(fd2);
	close(fd);
	is_int(child_lock_result(f, 0, 0), 0, "after close: exclusive can be taken");

	fd = lockfile_take(f, 1, 0);
	ok(fd >= 0, "shared lock taken");
	is_int(child_lock_result(f, 1, 0), 0, "another process: shared too");
	is_int(child_lock_result(f, 0, 0), -EBUSY, "another process: exclusive is -EBUSY");
	close(fd);

	/* waiting: the child holds it for 300 ms, we wait for it */
	{
		int p[2], r = -1;
		pid_t pid;
		double t0;
		if (pipe(p) < 0)
			return (void)ok(0, "pipe");
		pid = lock_child(f, 0, 0, p[1], 300);
		close(p[1]);
		if (read(p[0], &r, sizeof(r)) != sizeof(r) || r < 0)
			ok(0, "child took the lock");
		close(p[0]);
		t0 = now();
		is_int(lockfile_take(f, 1, 0), -EBUSY, "while the child holds it: -EBUSY without waiting");
		fd = lockfile_take(f, 1, 1);
		ok(fd >= 0, "waiting: the lock is granted when the child exits");
		ok(now() - t0 > 0.15, "waiting: after the child released it (%.3f s)", now() - t0);
		if (fd >= 0)
			close(fd);
		wait_child(pid);
	}
	is_int(lockfile_take(path_in("nodir/lock"), 0, 0), -ENOENT, "lock in a missing directory: -ENOENT");
}

static void test_mkdir_p(void)
{
	struct stat st;

	is_int(mkdir_p(path_in("m/a/b/c"), 0700), 0, "mkdir_p a/b/c");
	ok(stat(path_in("m/a/b/c"), &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700,
	   "created with mode 0700");
	ok(stat(path_in("m/a"), &st) == 0 && (st.st_mode & 0777) == 0700, "parents too");
	is_int(mkdir_p(path_in("m/a/b/c"), 0700), 0, "existing: fine");
	is_int(mkdir_p(path_in("m/a/b/d/"), 0755), 0, "trailing slash");
	ok(stat(path_in("m/a/b/d"), &st) == 0 && S_ISDIR(st.st_mode), "trailing slash: created");
	is_int(mkdir_p(path_in("m//a//e"), 0755), 0, "double slashes");
	ok(stat(path_in("m/a/e"), &st) == 0 && S_ISDIR(st.st_mode), "double slashes: created");
	put_file(path_in("m/file"), "x", 0644);
	is_int(mkdir_p(path_in("m/file/x"), 0755), -ENOTDIR, "through a file: -ENOTDIR");
	is_int(mkdir_p(path_in("m/file"), 0755), -ENOTDIR, "over a file: -ENOTDIR");
	is_int(mkdir_p("", 0755), -ENAMETOOLONG, "empty path");
	{
		char longp[PATH_MAX + 10];
		memset(longp, 'a', sizeof(longp) - 1);
		longp[sizeof(longp) - 1] = 0;
		is_int(mkdir_p(longp, 0755), -ENAMETOOLONG, "longer than PATH_MAX");
	}
}

static void test_fd_get_size(void)
{
	int p[2];
	uint64_t size = 7;
	int fd;

	fd = open(path_in("sz"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0 && ftruncate(fd, 12345) == 0) {
		is_int(fd_get_size(fd, &size), 0, "fd_get_size of a file");
		ok(size == 12345, "12345 bytes");
	}
	if (fd >= 0)
		close(fd);
	if (pipe(p) == 0) {
		size = 7;
		is_int(fd_get_size(p[0], &size), -EINVAL, "a pipe: -EINVAL");
		ok(size == 7, "nothing written");
		close(p[0]);
		close(p[1]);
	}
	fd = open("/dev/null", O_RDONLY);
	is_int(fd_get_size(fd, &size), -EINVAL, "a character device: -EINVAL");
	close(fd);

	/* a block device: a loop device over a 3 MiB + 512 file, if we may make one */
	{
		char cmd[PATH_MAX + 100], dev[256] = "";
		FILE *f;
		fd = open(path_in("loop.img"), O_RDWR | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || ftruncate(fd, 3 * 1024 * 1024 + 512) < 0)
			return (void)ok(0, "loop image");
		close(fd);
		snprintf(cmd, sizeof(cmd), "losetup -f --show '%s' 2>/dev/null", path_in("loop.img"));
		if (geteuid() != 0 || !(f = popen(cmd, "r")))
			return skip("fd_get_size of a block device: needs root and losetup");
		if (!fgets(dev, sizeof(dev), f))
			dev[0] = 0;
		pclose(f);
		dev[strcspn(dev, "\n")] = 0;
		if (!dev[0])
			return skip("fd_get_size of a block device: losetup failed");
		fd = open(dev, O_RDONLY);
		size = 0;
		is_int(fd_get_size(fd, &size), 0, "fd_get_size of a loop device");
		ok(size == 3 * 1024 * 1024 + 512, "its size (%llu)", (unsigned long long)size);
		if (fd >= 0)
			close(fd);
		snprintf(cmd, sizeof(cmd), "losetup -d '%s'", dev);
		if (system(cmd) != 0)
			diag("losetup -d %s failed", dev);
	}
}

static void cleanup(void)
{
	char cmd[PATH_MAX + 20];

	if (!dir[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

/*
 * pwrite_direct(): what the file holds afterwards equals a model of it built
 * with memcpy; whether the whole blocks went past the page cache is what
 * mincore() on a mapping of the file says (a direct write leaves none of its
 * pages cached, a buffered one all of them).
 */
static size_t cached_pages(int fd, uint64_t off, size_t len)
{
	long pg = sysconf(_SC_PAGESIZE);
	size_t n = (len + (size_t)pg - 1) / (size_t)pg, c = 0;
	unsigned char vec[1024];
	void *m;

	if (n > sizeof(vec))
		return (size_t)-1;
	m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, (off_t)off);
	if (m == MAP_FAILED)
		return (size_t)-1;
	if (mincore(m, len, vec) < 0)
		c = (size_t)-1;
	else
		for (size_t i = 0; i < n; i++)
			c += vec[i] & 1;
	munmap(m, len);
	return c;
}

static void test_pwrite_direct(void)
{
	enum { SIZE = 1 << 20 };
	static const struct { uint64_t off; size_t len, shift; } w[] = {
		{ 0, 262144, 0 },       /* whole blocks only */
		{ 300000, 200000, 0 },  /* an unaligned head and tail */
		{ 524288, 4096, 1 },    /* an unaligned buffer: all buffered */
		{ 600001, 100, 0 },     /* less than a block */
		{ 1044480, 4096, 0 },   /* the last block */
	};
	uint8_t *src = NULL, *model = calloc(1, SIZE), *got = malloc(SIZE);
	int fd = open(path_in("direct"), O_RDWR | O_CREAT | O_TRUNC, 0644), dfd;
	bool refused = false;
	struct statfs sfs;

	if (posix_memalign((void **)&src, IO_DIRECT_ALIGN, SIZE + IO_DIRECT_ALIGN) != 0 || !model || !got || fd < 0) {
		ok(0, "set-up for pwrite_direct");
		goto out;
	}
	fill(src, SIZE + IO_DIRECT_ALIGN, 11);
	ok(ftruncate(fd, SIZE) == 0, "a 1 MiB file");
	dfd = io_open_direct(fd);
	if (dfd < 0) {
		ok(dfd == -EINVAL, "io_open_direct: only a file system without O_DIRECT refuses (%d)", dfd);
		diag("no O_DIRECT in %s: only the buffered path is tested", dir);
	}
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		const uint8_t *b = src + w[i].shift;
		is_int(pwrite_direct(fd, dfd, b, w[i].len, w[i].off, &refused), 0, "pwrite_direct %zu bytes at %llu",
		       w[i].len, (unsigned long long)w[i].off);
		memcpy(model + w[i].off, b, w[i].len);
	}
	ok(!refused, "no direct write refused");
	is_int(pwrite_direct(fd, -1, src, 8192, 8192, NULL), 0, "pwrite_direct without a direct descriptor");
	memcpy(model + 8192, src, 8192);
	if (dfd >= 0 && fstatfs(fd, &sfs) == 0 && sfs.f_type == TMPFS_MAGIC) {
		diag("%s is tmpfs: its files are page cache, direct writes or not", dir);
		close(dfd);
	} else if (dfd >= 0) { /* before anything reads the file */
		/* 16 KiB..256 KiB went direct (8 KiB..16 KiB was rewritten buffered just above) */
		is_int((int)cached_pages(fd, 16384, 262144 - 16384), 0, "whole blocks written direct: not cached");
		ok(cached_pages(fd, 598016, 4096) == 1, "a write under a block: through the page cache");
		close(dfd);
	}
	is_int(pread_full(fd, got, SIZE, 0), 0, "read the file back");
	is_mem(got, model, SIZE, "the file equals the model of the writes");
out:
	if (fd >= 0)
		close(fd);
	free(src);
	free(model);
	free(got);
}

/* io_new: nothing at the name until the commit; a symlink there is never followed, replaced only with REPLACE */
static void test_io_new_one(bool named)
{
	char names[4096], d[PATH_MAX + 64], victim[PATH_MAX + 64], f[PATH_MAX + 80];
	const char *how = named ? "named" : "O_TMPFILE";
	struct io_new n;
	struct stat st;

	io_new_no_tmpfile = named;
	snprintf(d, sizeof(d), "%s", path_in(named ? "new-named" : "new-tmpfile"));
	snprintf(victim, sizeof(victim), "%s", path_in(named ? "victim-named" : "victim-tmpfile"));
	snprintf(f, sizeof(f), "%s/f", d);
	is_int(mkdir_p(d, 0755), 0, "%s: mkdir_p", how);
	put_file(victim, "victim", 0644);

	is_int(io_new_open(&n, f), 0, "%s: io_new_open", how);
	ok(fstat(n.fd, &st) == 0 && (st.st_mode & 07777) == 0600, "%s: 0600 while written (0%o)", how,
	   st.st_mode & 07777);
	is_int(write_full(n.fd, "abc", 3), 0, "%s: write", how);
	ok(lstat(f, &st) < 0 && errno == ENOENT, "%s: nothing at the name before the commit", how);
	is_int(count_entries(d, names, sizeof(names)), named ? 1 : 0, "%s: what the folder holds: %s", how, names);
	if (named)
		ok(names[0] == '.' && strstr(names, ".f.tmp.") != NULL, "%s: a dot name: %s", how, names);
	is_int(io_new_commit(&n, 0644, 0), 0, "%s: commit", how);
	io_new_done(&n);
	is_str(content(f), "abc", "%s: content", how);
	ok(stat(f, &st) == 0 && (st.st_mode & 07777) == 0644, "%s: mode 0644 (0%o)", how, st.st_mode & 07777);
	is_int(count_entries(d, names, sizeof(names)), 1, "%s: no temporary name left: %s", how, names);

	/* an existing file, then a symlink to the victim at the name: -EEXIST without REPLACE */
	is_int(io_new_open(&n, f), 0, "%s: open again", how);
	is_int(write_full(n.fd, "xyz", 3), 0, "%s: write", how);
	is_int(io_new_commit(&n, 0644, 0), -EEXIST, "%s: an existing file is not replaced", how);
	io_new_done(&n);
	is_str(content(f), "abc", "%s: the existing file is intact", how);
	unlink(f);
	ok(symlink(victim, f) == 0, "%s: a symlink to the victim at the name", how);
	is_int(io_new_open(&n, f), 0, "%s: open over a symlink", how);
	is_int(write_full(n.fd, "xyz", 3), 0, "%s: write", how);
	is_int(io_new_commit(&n, 0644, 0), -EEXIST, "%s: a symlink is not replaced", how);
	io_new_done(&n);
	is_str(content(victim), "victim", "%s: the victim is intact", how);
	is_int(count_entries(d, names, sizeof(names)), 1, "%s: only the symlink: %s", how, names);

	/* REPLACE: the symlink itself is replaced, never followed */
	is_int(io_new_open(&n, f), 0, "%s: open", how);
	is_int(write_full(n.fd, "new", 3), 0, "%s: write", how);
	is_int(io_new_commit(&n, 0600, IO_NEW_REPLACE), 0, "%s: commit REPLACE over the symlink", how);
	io_new_done(&n);
	ok(lstat(f, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0600, "%s: a regular file now", how);
	is_str(content(f), "new", "%s: its content", how);
	is_str(content(victim), "victim", "%s: the victim is intact", how);

	/* abandoned: nothing is left */
	is_int(io_new_open(&n, path_in(named ? "new-named/g" : "new-tmpfile/g")), 0, "%s: open g", how);
	io_new_done(&n);
	is_int(count_entries(d, names, sizeof(names)), 1, "%s: nothing left by an abandoned file: %s", how, names);
	is_int(io_new_open(&n, path_in("nodir/g")), -ENOENT, "%s: a missing folder: -ENOENT", how);
	is_int(io_new_open(&n, path_in("new-named/")), -EISDIR, "%s: a name ending in '/': -EISDIR", how);
	io_new_no_tmpfile = false;
}

static void test_io_new(void)
{
	test_io_new_one(false);
	test_io_new_one(true);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/test-io.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	atexit(cleanup);
	umask(022);
	test_atomic_replace();
	test_io_new();
	test_full_io_pipes();
	test_pread_pwrite();
	test_read_file();
	test_lockfile();
	test_mkdir_p();
	test_fd_get_size();
	test_pwrite_direct();
	return tap_done();
}
