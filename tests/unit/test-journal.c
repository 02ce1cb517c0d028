/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The revert journal: round trip, commit semantics, every damaged byte detected,
 * its temporary file (unpredictable, never through a symlink), and the target
 * identity a journal is replayed only onto.
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/io.h"
#include "core/log.h"
#include "revert/revert-internal.h"
#include "tap.h"

static char dir[] = "/tmp/test-journal.XXXXXX";

static void fill(uint8_t *b, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 9));
}

static int flip(const char *path, off_t at)
{
	int fd = open(path, O_RDWR);
	uint8_t c;
	int r = -1;

	if (fd < 0)
		return -1;
	if (pread(fd, &c, 1, at) == 1) {
		c ^= 0x10;
		r = pwrite(fd, &c, 1, at) == 1 ? 0 : -1;
	}
	close(fd);
	return r;
}

/* A sparse file of size bytes: data a at 0x10000, b at 0x20000, an NTFS boot sector with serial at 0. */
static int make_target(const char *path, off_t size, const uint8_t *a, const uint8_t *b, uint64_t serial)
{
	uint8_t boot[512] = { 0xeb, 0x52, 0x90, 'N', 'T', 'F', 'S', ' ', ' ', ' ', ' ' };
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600), r = -1;

	if (fd < 0)
		return -1;
	boot[0x0b] = 0x00; /* 512 bytes per sector */
	boot[0x0c] = 0x02;
	for (int i = 0; i < 8; i++) {
		boot[0x28 + i] = (uint8_t)((uint64_t)(size / 512 - 1) >> (8 * i));
		boot[0x48 + i] = (uint8_t)(serial >> (8 * i));
	}
	if (ftruncate(fd, size) == 0 && pwrite(fd, boot, sizeof(boot), 0) == (ssize_t)sizeof(boot) &&
	    pwrite(fd, a, 16384, 0x10000) == 16384 && pwrite(fd, b, 4096, 0x20000) == 4096)
		r = 0;
	close(fd);
	return r;
}

static int count_prefix(const char *d, const char *prefix)
{
	DIR *dd = opendir(d);
	struct dirent *e;
	int n = 0;

	if (!dd)
		return -1;
	while ((e = readdir(dd)))
		n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
	closedir(dd);
	return n;
}

static int check_path(struct journal *j, size_t idx, const char *path, size_t *done)
{
	int fd = open(path, O_RDONLY), r;

	if (fd < 0)
		return -errno;
	r = journal_check_target(j, idx, fd, done);
	close(fd);
	sr_errclear();
	return r;
}

int main(void)
{
	char path[256], tmp[300], copy[300], x[300], y[300], victim[300], other[300];
	struct journal *j = NULL;
	uint8_t a[16384], b[16384], c[128], d[128], nb[16384], ob[16384];
	uint32_t t0 = 99, t1 = 99;
	struct stat st;
	int r;

	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/img.shadowrev-journal", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	snprintf(x, sizeof(x), "%s/x.img", dir);
	snprintf(y, sizeof(y), "%s/y.img", dir);
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	snprintf(other, sizeof(other), "%s/other.img", dir);
	fill(a, sizeof(a), 1);
	fill(b, sizeof(b), 2);
	fill(c, sizeof(c), 3);
	fill(d, sizeof(d), 4);
	/* the targets: what the writes replace is read from them */
	ok(make_target(x, 1 << 20, b, a, 0x1122334455667788ull) == 0, "target x");
	ok(make_target(y, 128 << 20, b, a, 0x0102030405060708ull) == 0, "target y");
	ok(atomic_replace(victim, "victim", 6, 0600) == 0, "victim file");
	/* the old fixed temporary name, planted as a symlink: never followed */
	ok(symlink(victim, tmp) == 0, "symlink at the old temporary name");

	/* an uncommitted journal is not a journal */
	r = journal_create(path, "4e3c03c2-7bc6-4288-ad96-c1eac1a55f71", &j);
	is_int(r, 0, "create");
	is_int(journal_add_target(j, x, &t0), 0, "add target x");
	is_int(journal_add_target(j, y, &t1), 0, "add target y");
	is_int(journal_add_volume(j, t0, 0), 0, "add x's NTFS volume");
	is_int(journal_add_volume(j, t1, 0), 0, "add y's NTFS volume");
	is_int(journal_add_target(j, "/nonexistent/z.img", &t1), -ENOENT, "a target that does not exist is refused");
	sr_errclear();
	is_int(t0, 0, "first target index");
	is_int(t1, 1, "second target index");
	is_int(journal_add_write(j, 0, 0x10000, a, b, sizeof(a)), 0, "data write");
	is_int(journal_add_write(j, 1, 0x6e30080, c, d, sizeof(c)), 0, "catalog entry write");
	is_int(journal_add_write(j, 0, 0x20000, b, NULL, 4096), 0, "a write without old data");
	is_int(journal_add_write(j, 2, 0, c, d, sizeof(c)), -EINVAL, "a write to an unknown target is refused");
	ok(access(path, F_OK) < 0, "before commit the journal is not in place");
	/* unnamed (O_TMPFILE), or where the file system has none, one file under a random name */
	ok(count_prefix(dir, "img.shadowrev-journal.tmp-") <= 1, "no temporary file at a predictable name");
	{
		struct journal *k = NULL;
		char v[16] = { 0 };
		int fd = open(victim, O_RDONLY);
		ok(fd >= 0 && read(fd, v, sizeof(v) - 1) == 6 && strcmp(v, "victim") == 0, "the symlink's victim is untouched");
		if (fd >= 0)
			close(fd);
		/* overlapping writes are refused at commit */
		snprintf(copy, sizeof(copy), "%s/nodir/x.shadowrev-journal", dir);
		is_int(journal_create(copy, "x", &k), -ENOENT, "no journal in a folder that does not exist");
		sr_errclear();
		snprintf(copy, sizeof(copy), "%s/ov.shadowrev-journal", dir);
		is_int(journal_create(copy, "4e3c03c2", &k), 0, "create another");
		is_int(journal_add_target(k, x, &t1), 0, "its target");
		is_int(journal_add_write(k, 0, 0x10000, a, NULL, 4096), 0, "a write");
		is_int(journal_add_write(k, 0, 0x10000, a, NULL, 4096), 0, "the same write again");
		is_int(journal_add_write(k, 0, 0x10800, a, NULL, 4096), 0, "an overlapping write");
		is_int(journal_commit(k), -EINVAL, "overlapping writes are refused at commit");
		ok(strstr(sr_errmsg(-EINVAL), "offset 67584") != NULL, "the overlapping one is named");
		sr_errclear();
		journal_free(k);
		ok(access(copy, F_OK) < 0, "and nothing is committed");
		is_int(journal_create(copy, "4e3c03c2", &k), 0, "create a third");
		is_int(journal_add_target(k, x, &t1), 0, "its target");
		is_int(journal_add_write(k, 0, 0x10000, a, NULL, 4096), 0, "a write");
		is_int(journal_add_write(k, 0, 0x10000, a, NULL, 4096), 0, "the same write again");
		is_int(journal_commit(k), 0, "the same bytes twice at the same place: committed");
		journal_free(k);
		unlink(copy);
		is_int(count_prefix(dir, "ov.shadowrev-journal"), 0, "nor left behind");
	}
	{
		struct journal *k = NULL;
		is_int(journal_open(path, &k), -ENOENT, "an uncommitted journal is not found");
	}
	is_int(journal_commit(j), 0, "commit");
	ok(access(path, F_OK) == 0, "after commit the journal is in place");
	is_int(count_prefix(dir, "img.shadowrev-journal.tmp-"), 0, "and the temporary file is gone");
	ok(lstat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "mode 0600");
	journal_free(j);
	ok(access(path, F_OK) == 0, "freeing a committed journal keeps it");

	/* round trip */
	r = journal_open(path, &j);
	is_int(r, 0, "open");
	if (r == 0) {
		struct journal_write w;
		is_str(journal_shadow_id(j), "4e3c03c2-7bc6-4288-ad96-c1eac1a55f71", "shadow id");
		is_int(journal_n_targets(j), 2, "targets");
		is_str(journal_target(j, 0), x, "target 0");
		is_str(journal_target(j, 1), y, "target 1");
		is_int(journal_n_writes(j), 3, "writes");
		is_int(journal_bytes(j), sizeof(a) + sizeof(c) + 4096, "bytes");
		is_int(journal_read_write(j, 0, &w, nb, ob), 0, "read write 0");
		is_int(w.target, 0, "write 0 target");
		is_int(w.off, 0x10000, "write 0 offset");
		is_int(w.len, sizeof(a), "write 0 length");
		is_mem(nb, a, sizeof(a), "write 0 new data");
		is_mem(ob, b, sizeof(b), "write 0 old data");
		is_int(journal_read_write(j, 1, &w, nb, ob), 0, "read write 1");
		is_int(w.target, 1, "write 1 target");
		is_int(w.off, 0x6e30080, "write 1 offset");
		is_mem(nb, c, sizeof(c), "write 1 new data");
		is_mem(ob, d, sizeof(d), "write 1 old data");
		is_int(journal_read_write(j, 2, &w, nb, ob), 0, "read write 2");
		is_int(w.off, 0x20000, "write 2 offset");
		is_mem(nb, b, 4096, "write 2 new data");
		ok(w.old_data == NULL, "write 2 kept no old data");
		is_int(journal_read_write(j, 3, &w, nb, ob), -EINVAL, "no write 3");
		journal_free(j);
	}

	/* the identity: a journal is replayed only onto the targets it was made for */
	r = journal_open(path, &j);
	is_int(r, 0, "open again");
	if (r == 0) {
		size_t done = 99;
		int fd;
		char desc[1024];
		journal_describe_target(j, 0, desc, sizeof(desc));
		ok(strstr(desc, "image file '") && strstr(desc, "NTFS volume serial 1122334455667788"), "described: %s", desc);
		is_int(check_path(j, 0, x, &done), 0, "x before any write: accepted");
		is_int(done, 0, "no write done");
		is_int(check_path(j, 1, y, &done), 0, "y before any write: accepted");
		is_int(check_path(j, 0, y, NULL), -ESTALE, "y as target 0: refused (another file)");
		/* the same bytes in another file (another inode): refused */
		{
			void *all;
			size_t len;
			ok(read_file(x, 2 << 20, &all, &len) == 0 && atomic_replace(other, all, len, 0600) == 0, "copy of x");
			free(all);
		}
		is_int(check_path(j, 0, other, NULL), -ESTALE, "a copy of x at another inode: refused");
		/* part of the writes done (an interrupted revert): accepted, either state per range */
		fd = open(x, O_RDWR);
		ok(fd >= 0 && pwrite(fd, a, sizeof(a), 0x10000) == (ssize_t)sizeof(a), "write 0 done on x");
		is_int(check_path(j, 0, x, &done), 0, "x half written: accepted");
		is_int(done, 1, "one write done");
		ok(pwrite(fd, b, 4096, 0x20000) == 4096, "write 2 done on x");
		is_int(check_path(j, 0, x, &done), 0, "x fully written: accepted");
		is_int(done, 2, "two writes done");
		/* a range that is neither before nor after */
		ok(pwrite(fd, "?", 1, 0x20000 + 100) == 1, "one byte of write 2 changed");
		is_int(check_path(j, 0, x, NULL), -ESTALE, "a range in neither state: refused");
		ok(pwrite(fd, b + 100, 1, 0x20000 + 100) == 1, "put back");
		/* another NTFS serial, the bytes written unchanged */
		ok(pwrite(fd, "\x99", 1, 0x48) == 1, "serial changed");
		is_int(check_path(j, 0, x, NULL), -ESTALE, "another NTFS serial: refused");
		ok(pwrite(fd, "\x88", 1, 0x48) == 1, "serial put back");
		is_int(check_path(j, 0, x, NULL), 0, "accepted again");
		/* another size */
		ok(ftruncate(fd, 2 << 20) == 0, "x grown");
		is_int(check_path(j, 0, x, NULL), -ESTALE, "another size: refused");
		ok(ftruncate(fd, 1 << 20) == 0, "x shrunk back");
		is_int(check_path(j, 0, x, NULL), 0, "accepted again");
		if (fd >= 0)
			close(fd);
		journal_free(j);
	}

	/* a version 1 journal (no identity) is never replayed */
	{
		void *orig;
		size_t len;
		struct journal *k = NULL;
		snprintf(copy, sizeof(copy), "%s/v1.shadowrev-journal", dir);
		ok(read_file(path, 1 << 20, &orig, &len) == 0, "read the journal");
		((uint8_t *)orig)[8] = 1;
		ok(atomic_replace(copy, orig, len, 0600) == 0, "a version 1 header");
		is_int(journal_open(copy, &k), -EPROTONOSUPPORT, "version 1: refused");
		{
			char why[512];
			snprintf(why, sizeof(why), "%s", sr_errmsg(-EPROTONOSUPPORT));
			ok(strstr(why, "older shadowrev") != NULL, "saying why: %s", why);
		}
		free(orig);
		unlink(copy);
		/* a journal that is a symlink is not read */
		ok(symlink(path, copy) == 0, "journal symlink");
		is_int(journal_open(copy, &k), -EBADMSG, "a journal that is a symlink: refused");
		sr_errclear();
		unlink(copy);
	}

	/* every damaged byte is found (the file is small enough to try them all, sampled in the data) */
	ok(stat(path, &st) == 0, "stat");
	snprintf(copy, sizeof(copy), "%s/copy.shadowrev-journal", dir);
	{
		void *orig;
		size_t len;
		int missed = 0, tried = 0;
		is_int(read_file(path, 1 << 20, &orig, &len), 0, "read the journal");
		for (size_t at = 0; at < len; at += (at > 120 && at < len - 300) ? 97 : 1) {
			struct journal *k = NULL;
			if (atomic_replace(copy, orig, len, 0600) < 0 || flip(copy, (off_t)at) < 0)
				break;
			tried++;
			r = journal_open(copy, &k);
			if (r != -EBADMSG && r != -EPROTONOSUPPORT) {
				diag("flipped byte %zu: journal_open gave %d", at, r);
				missed++;
			}
			journal_free(k);
			sr_errclear();
		}
		ok(tried > 300, "tried %d damaged copies", tried);
		is_int(missed, 0, "every damaged byte gives -EBADMSG");
		/* cut short anywhere: not a committed journal */
		missed = 0;
		for (size_t cut = 1; cut < len; cut += 211) {
			struct journal *k = NULL;
			if (atomic_replace(copy, orig, cut, 0600) < 0)
				break;
			r = journal_open(copy, &k);
			if (r != -EBADMSG)
				missed++;
			journal_free(k);
			sr_errclear();
		}
		is_int(missed, 0, "a journal cut short is refused");
		free(orig);
	}

	{
		char jd[200], *p;
		struct journal *k = NULL;
		uint32_t t;

		unsetenv("SHADOWREV_JOURNAL_DIR");
		p = journal_path_for("/images/x.img", NULL);
		is_str(p, "/images/x.img.shadowrev-journal", "journal beside an image");
		free(p);
		p = journal_path_for("/images/x.img", "/var/j");
		is_str(p, "/var/j/x.img.shadowrev-journal", "journal in --journal DIR");
		free(p);
		p = journal_path_for("/dev/sdb1", NULL);
		is_str(p, "/var/lib/shadowrev/journal/sdb1.shadowrev-journal", "journal of a block device");
		free(p);

		/* the default folder: made 0700, refused as a symlink or when others can write to it */
		snprintf(jd, sizeof(jd), "%s/state/journal", dir);
		setenv("SHADOWREV_JOURNAL_DIR", jd, 1);
		p = journal_path_for("/dev/sdb1", NULL);
		snprintf(copy, sizeof(copy), "%s/sdb1.shadowrev-journal", jd);
		is_str(p, copy, "journal of a block device in $SHADOWREV_JOURNAL_DIR");
		is_int(journal_create(p, "4e3c03c2", &k), 0, "create in the default folder");
		ok(k && journal_add_target(k, x, &t) == 0 && journal_commit(k) == 0, "commit there");
		ok(stat(jd, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700, "the folder was made 0700");
		journal_free(k);
		k = NULL;
		unlink(p);
		chmod(jd, 0777);
		is_int(journal_create(p, "4e3c03c2", &k), -EPERM, "a folder others can write to: refused");
		sr_errclear();
		rmdir(jd);
		snprintf(copy, sizeof(copy), "%s/elsewhere", dir);
		ok(mkdir(copy, 0700) == 0 && symlink(copy, jd) == 0, "the folder as a symlink");
		is_int(journal_create(p, "4e3c03c2", &k), -EPERM, "a symlinked folder: refused");
		sr_errclear();
		is_int(count_prefix(copy, "sdb1"), 0, "nothing written through it");
		unlink(jd);
		rmdir(copy);
		snprintf(copy, sizeof(copy), "%s/state", dir);
		rmdir(copy);
		free(p);
		unsetenv("SHADOWREV_JOURNAL_DIR");
	}
	unlink(path);
	unlink(tmp);
	unlink(x);
	unlink(y);
	unlink(victim);
	unlink(other);
	snprintf(copy, sizeof(copy), "%s/copy.shadowrev-journal", dir);
	unlink(copy);
	if (rmdir(dir) < 0)
		diag("%s left behind", dir);
	return tap_done();
}
