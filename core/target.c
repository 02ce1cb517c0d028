/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A user's volume is sacred: these checks refuse a target that anything else
 * may be using before a single byte is written.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "crc32.h"
#include "io.h"
#include "log.h"
#include "macro.h"
#include "target.h"

/* Is the image file attached to a loop device? */
static int check_loop(const char *real, const struct stat *st)
{
	DIR *d = opendir("/sys/block");
	struct dirent *e;
	int r = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)) && r == 0) {
		char p[PATH_MAX], back[PATH_MAX];
		FILE *f;
		struct stat bst;

		if (strncmp(e->d_name, "loop", 4) != 0)
			continue;
		snprintf(p, sizeof(p), "/sys/block/%s/loop/backing_file", e->d_name);
		f = fopen(p, "re");
		if (!f)
			continue;
		if (fgets(back, sizeof(back), f)) {
			back[strcspn(back, "\n")] = 0;
			/* compare by inode: the path may have been renamed since */
			if (strcmp(back, real) == 0 ||
			    (stat(back, &bst) == 0 && bst.st_dev == st->st_dev && bst.st_ino == st->st_ino))
				r = sr_fail(-EBUSY, "'%s' is attached to /dev/%s (detach it with losetup -d)", real,
					    e->d_name);
		}
		fclose(f);
	}
	closedir(d);
	return r;
}

/* Is it mounted: a block device by number, an image file by its path as a mount source (FUSE, ntfs-3g)? */
static int check_mounts(const char *real, const struct stat *st)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[8192];
	int r = 0;

	if (!f)
		return 0;
	while (r == 0 && fgets(line, sizeof(line), f)) {
		unsigned maj, min;
		char mnt[4096], *sep, src[4096];

		if (sscanf(line, "%*u %*u %u:%u %*s %4095s", &maj, &min, mnt) != 3)
			continue;
		sep = strstr(line, " - ");
		src[0] = 0;
		if (sep)
			sscanf(sep + 3, "%*s %4095s", src);
		if ((S_ISBLK(st->st_mode) && makedev(maj, min) == st->st_rdev) || strcmp(src, real) == 0)
			r = sr_fail(-EBUSY, "'%s' is mounted on %s", real, mnt);
	}
	fclose(f);
	return r;
}

static void pid_comm(pid_t pid, char *comm, size_t size)
{
	char p[64];
	FILE *f;

	snprintf(comm, size, "?");
	snprintf(p, sizeof(p), "/proc/%d/comm", pid);
	f = fopen(p, "re");
	if (f) {
		if (fgets(comm, (int)size, f))
			comm[strcspn(comm, "\n")] = 0;
		fclose(f);
	}
}

/* Is f (a stat of a descriptor or a mapping) the target? A block device by number, a file by inode. */
static bool same_target(const struct stat *st, const struct stat *f)
{
	if (S_ISBLK(st->st_mode))
		return S_ISBLK(f->st_mode) && f->st_rdev == st->st_rdev;
	return f->st_dev == st->st_dev && f->st_ino == st->st_ino;
}

/*
 * Has process pid the target mapped (mmap outlives the descriptor it was made
 * from)? Each line of maps names the mapped file by device and inode: the
 * target's own, or for a block device any node of it (map_files/ gives the
 * device number; it needs CAP_SYS_ADMIN, as writing to a device does).
 */
static int check_maps(const char *real, const struct stat *st, pid_t pid)
{
	char p[64], line[PATH_MAX + 256];
	FILE *f;
	int r = 0;

	snprintf(p, sizeof(p), "/proc/%d/maps", pid);
	f = fopen(p, "re");
	if (!f)
		return 0;
	while (r == 0 && fgets(line, sizeof(line), f)) {
		unsigned long long start, end, ino;
		unsigned maj, min;
		char perms[8], lp[128], comm[64];
		struct stat fst;
		bool hit;

		if (sscanf(line, "%llx-%llx %7s %*x %x:%x %llu", &start, &end, perms, &maj, &min, &ino) != 6 || ino == 0)
			continue;
		hit = makedev(maj, min) == st->st_dev && ino == st->st_ino;
		if (!hit && S_ISBLK(st->st_mode)) {
			snprintf(lp, sizeof(lp), "/proc/%d/map_files/%llx-%llx", pid, start, end);
			hit = stat(lp, &fst) == 0 && same_target(st, &fst);
		}
		if (!hit)
			continue;
		pid_comm(pid, comm, sizeof(comm));
		r = sr_fail(-EBUSY, "'%s' is mapped%s by process %d (%s)", real,
			    perms[1] == 'w' && perms[3] == 's' ? " writable" : "", pid, comm);
	}
	fclose(f);
	return r;
}

/* Has another process the same file open, or mapped? */
static int check_open_by_others(const char *real, const struct stat *st)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	pid_t self = getpid();
	int r = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)) && r == 0) {
		char p[PATH_MAX];
		DIR *fd;
		struct dirent *fe;
		pid_t pid = (pid_t)atoi(e->d_name);

		if (pid <= 0 || pid == self)
			continue;
		snprintf(p, sizeof(p), "/proc/%d/fd", pid);
		fd = opendir(p);
		if (!fd)
			continue;
		while ((fe = readdir(fd)) && r == 0) {
			char lp[PATH_MAX];
			struct stat fst;

			if (fe->d_name[0] == '.')
				continue;
			snprintf(lp, sizeof(lp), "/proc/%d/fd/%s", pid, fe->d_name);
			if (stat(lp, &fst) < 0)
				continue;
			if (same_target(st, &fst)) {
				char comm[64];
				pid_comm(pid, comm, sizeof(comm));
				r = sr_fail(-EBUSY, "'%s' is open in process %d (%s)", real, pid, comm);
			}
		}
		closedir(fd);
		if (r == 0)
			r = check_maps(real, st, pid);
	}
	closedir(d);
	return r;
}

/* Is a block device held by device-mapper, md or a partition mapping (holders/)? */
static int check_holders(const char *real, const struct stat *st)
{
	char p[PATH_MAX];
	DIR *d;
	struct dirent *e;
	int r = 0;

	if (!S_ISBLK(st->st_mode))
		return 0;
	snprintf(p, sizeof(p), "/sys/dev/block/%u:%u/holders", major(st->st_rdev), minor(st->st_rdev));
	d = opendir(p);
	if (!d)
		return 0;
	while ((e = readdir(d)) && r == 0)
		if (e->d_name[0] != '.')
			r = sr_fail(-EBUSY, "'%s' is in use by %s (device-mapper, md or another holder)", real, e->d_name);
	closedir(d);
	return r;
}

static int checks(const char *path, char *real, struct stat *st)
{
	int r;

	if (!realpath(path, real))
		return sr_fail(-errno, "cannot open '%s': %s", path, strerror(errno));
	if (stat(real, st) < 0)
		return sr_fail(-errno, "cannot open '%s': %s", path, strerror(errno));
	if (!S_ISREG(st->st_mode) && !S_ISBLK(st->st_mode))
		return sr_fail(-EINVAL, "'%s' is neither an image file nor a block device", path);
	if ((r = check_mounts(real, st)) < 0 || (r = check_loop(real, st)) < 0 || (r = check_holders(real, st)) < 0 ||
	    (r = check_open_by_others(real, st)) < 0)
		return r;
	return 0;
}

int target_check(const char *path)
{
	char real[PATH_MAX];
	struct stat st;

	return checks(path, real, &st);
}

int target_open(const char *path, int *ret_fd)
{
	char real[PATH_MAX];
	struct stat st, fst;
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	_cleanup_close_ int fd = -1;
	int r;

	r = checks(path, real, &st);
	if (r < 0)
		return r;
	/* O_EXCL on a block device: the kernel refuses it while mounted or claimed */
	fd = open(real, O_RDWR | O_CLOEXEC | (S_ISBLK(st.st_mode) ? O_EXCL : 0));
	if (fd < 0)
		return sr_fail(errno == EBUSY ? -EBUSY : -errno, "cannot open '%s' for writing: %s", path,
			       errno == EBUSY ? "it is mounted or in use" : strerror(errno));
	if (fstat(fd, &fst) < 0)
		return -errno;
	if (fst.st_dev != st.st_dev || fst.st_ino != st.st_ino)
		return sr_fail(-EBUSY, "'%s' changed while it was being opened", path);
	if (fcntl(fd, F_OFD_SETLK, &fl) < 0)
		return sr_fail(-EBUSY, "'%s' is locked by another shadowrev", path);
	*ret_fd = TAKE_FD(fd);
	return 0;
}

const char *target_journal_default_dir(void)
{
	const char *e = getenv("SHADOWREV_JOURNAL_DIR");

	return e && *e ? e : "/var/lib/shadowrev/journal";
}

char *target_journal_path(const char *target, const char *journal_dir)
{
	char *p = NULL;
	const char *base = strrchr(target, '/');

	base = base ? base + 1 : target;
	if (journal_dir) {
		if (asprintf(&p, "%s/%s.shadowrev-journal", journal_dir, base) < 0)
			return NULL;
	} else if (strncmp(target, "/dev/", 5) == 0) {
		if (asprintf(&p, "%s/%s.shadowrev-journal", target_journal_default_dir(), base) < 0)
			return NULL;
	} else if (asprintf(&p, "%s.shadowrev-journal", target) < 0) {
		return NULL;
	}
	return p;
}

/* The ID in a journal's header, whose layout every version keeps: "SRREVJNL" u32 version u32 len id[len] u32 crc. */
static char *journal_header_id(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	uint8_t h[16 + 64 + 4];
	uint32_t len;

	if (fd < 0 || pread_full(fd, h, 16, 0) < 0 || memcmp(h, "SRREVJNL", 8) != 0)
		return NULL;
	len = le32(h + 12);
	if (len == 0 || len > 64 || pread_full(fd, h + 16, len + 4, 16) < 0 ||
	    crc32_le(0, h, 16 + len) != le32(h + 16 + len))
		return NULL;
	for (uint32_t i = 0; i < len; i++)
		if (h[16 + i] < 0x20 || h[16 + i] > 0x7e)
			return NULL;
	return strndup((char *)h + 16, len);
}

int target_journal_pending(const char *image, char **ret_journal, char **ret_id)
{
	char real[PATH_MAX];
	_cleanup_free_ char *jp = NULL;
	char *id;
	struct stat st;

	if (!realpath(image, real))
		return -errno;
	jp = target_journal_path(real, NULL);
	if (!jp)
		return -ENOMEM;
	if (lstat(jp, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	id = journal_header_id(jp);
	if (!id)
		id = strdup("?");
	if (!id)
		return -ENOMEM;
	*ret_id = id;
	*ret_journal = TAKE_PTR(jp);
	return 1;
}
