/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Running the FUSE daemon in the background, finding and unmounting shadowrev mounts. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "core/io.h"
#include "core/log.h"
#include "core/macro.h"
#include "mount-internal.h"

int mnt_daemonize(bool foreground, int *ret_ready_fd, int *ret_parent_exit)
{
	int p[2];
	pid_t pid;

	if (foreground) {
		*ret_ready_fd = -1;
		return 0;
	}
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		int e = errno;
		close(p[0]);
		close(p[1]);
		return -e;
	}
	if (pid > 0) {
		uint8_t b = 1;
		ssize_t n;
		close(p[1]);
		do
			n = read(p[0], &b, 1);
		while (n < 0 && errno == EINTR);
		close(p[0]);
		if (n != 1) {
			/* the child died before it was ready: it printed why */
			(void)waitpid(pid, NULL, 0);
			b = 1;
		}
		*ret_parent_exit = b;
		return 1;
	}
	close(p[0]);
	(void)setsid();
	*ret_ready_fd = p[1];
	return 0;
}

void mnt_ready(int fd, int status)
{
	uint8_t b = (uint8_t)status;
	int null;

	if (fd < 0)
		return;
	if (status == 0) {
		/* a daemon from now on: nothing to say on the caller's terminal */
		null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
			close(null);
		}
		if (chdir("/") < 0) {
			/* nothing depends on the working folder any more */
		}
	}
	(void)write_full(fd, &b, 1);
	close(fd);
}

/* path made absolute and normalized without touching it (a dead FUSE mount cannot be stat'ed) */
static int abs_path(const char *path, char *out, size_t size)
{
	char cwd[4096], tmp[8192];
	char *comp[1024], *save = NULL;
	size_t n = 0, o = 0;

	if (path[0] == '/')
		snprintf(tmp, sizeof(tmp), "%s", path);
	else {
		if (!getcwd(cwd, sizeof(cwd)))
			return -errno;
		snprintf(tmp, sizeof(tmp), "%s/%s", cwd, path);
	}
	for (char *c = strtok_r(tmp, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (strcmp(c, ".") == 0)
			continue;
		if (strcmp(c, "..") == 0) {
			if (n)
				n--;
			continue;
		}
		if (n == ARRAY_SIZE(comp))
			return -ENAMETOOLONG;
		comp[n++] = c;
	}
	out[0] = 0;
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(out + o, size - o, "/%s", comp[i]);
		if (w < 0 || (size_t)w >= size - o)
			return -ENAMETOOLONG;
		o += (size_t)w;
	}
	if (o == 0)
		snprintf(out, size, "/");
	return 0;
}

/* mountinfo escapes blanks and backslashes as \ooo */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '7' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' &&
		    s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else
			*o++ = *s;
	}
	*o = 0;
}

/* Is there a mount of type fstype (NULL: any) at abs? */
static int mountinfo_has(const char *abs, const char *fstype)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	int found = 0;

	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		char *fields[12], *save = NULL, *dash;
		size_t n = 0;
		/* id parent maj:min root mountpoint options [optional...] - fstype source superopts */
		dash = strstr(line, " - ");
		if (!dash)
			continue;
		*dash = 0;
		for (char *c = strtok_r(line, " ", &save); c && n < ARRAY_SIZE(fields); c = strtok_r(NULL, " ", &save))
			fields[n++] = c;
		if (n < 5)
			continue;
		unescape(fields[4]);
		if (strcmp(fields[4], abs) != 0)
			continue;
		save = NULL;
		char *type = strtok_r(dash + 3, " ", &save);
		if (!fstype || (type && strcmp(type, fstype) == 0))
			found = 1;
	}
	free(line);
	fclose(f);
	return found;
}

int mnt_probe(const char *path, pid_t *ret_pid)
{
	char abs[4096], val[32];
	ssize_t n;
	int r;

	r = abs_path(path, abs, sizeof(abs));
	if (r < 0)
		return r;
	r = mountinfo_has(abs, "fuse." MNT_FSNAME);
	if (r <= 0)
		return r;
	n = getxattr(abs, MNT_XATTR_PID, val, sizeof(val) - 1);
	if (n < 0) {
		if (errno == ENOTCONN || errno == ECONNABORTED)
			return 2;
		return -errno;
	}
	val[n] = 0;
	if (ret_pid)
		*ret_pid = (pid_t)atoi(val);
	return 1;
}

static int run_fusermount(const char *path, bool lazy)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0)
			dup2(null, STDERR_FILENO);
		if (lazy)
			execlp("fusermount3", "fusermount3", "-u", "-z", "--", path, (char *)NULL);
		else
			execlp("fusermount3", "fusermount3", "-u", "--", path, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EBUSY;
}

int mnt_unmount_path(const char *path, bool lazy)
{
	char abs[4096];
	pid_t pid = 0;
	int r, state;

	r = abs_path(path, abs, sizeof(abs));
	if (r < 0)
		return r;
	state = mnt_probe(abs, &pid);
	if (state < 0)
		return state;
	if (state == 0)
		return sr_fail(-EINVAL, "'%s' is not a shadowrev mount", path);
	if (state == 2)
		lazy = true; /* its daemon is gone: nothing can be busy, only the dead mount is left */
	if (umount2(abs, lazy ? MNT_DETACH : 0) < 0) {
		r = -errno;
		if (r == -EPERM)
			r = run_fusermount(abs, lazy);
		if (r == -EBUSY)
			return sr_fail(r, "'%s' is busy (a process uses files in it, or a loop device is attached)",
				       path);
		if (r < 0)
			return sr_fail(r, "cannot unmount '%s': %s", path, strerror(-r));
	}
	/* the daemon exits once the kernel closes its connection; wait for it (10 s at most) */
	for (int i = 0; pid > 0 && i < 1000 && mnt_pid_alive(pid); i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return 0;
}

bool mnt_pid_alive(pid_t pid)
{
	char path[64], buf[256], *p;
	ssize_t n;
	int fd;

	if (pid <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	/* "pid (comm) S ...": a zombie has exited */
	p = strrchr(buf, ')');
	return !(p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'));
}
