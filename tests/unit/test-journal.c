/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The revert journal: round trip, commit semantics, every damaged byte detected. */
#include <errno.h>
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

int main(void)
{
	char path[256], tmp[300], copy[300];
	struct journal *j = NULL;
	uint8_t a[16384], b[16384], c[128], d[128], nb[16384], ob[16384];
	uint32_t t0 = 99, t1 = 99;
	struct stat st;
	int r;

	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/img.shadowrev-journal", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fill(a, sizeof(a), 1);
	fill(b, sizeof(b), 2);
	fill(c, sizeof(c), 3);
	fill(d, sizeof(d), 4);

	/* an uncommitted journal is not a journal */
	r = journal_create(path, "4e3c03c2-7bc6-4288-ad96-c1eac1a55f71", &j);
	is_int(r, 0, "create");
	is_int(journal_add_target(j, "/images/x.img", &t0), 0, "add target x");
	is_int(journal_add_target(j, "/images/y.img", &t1), 0, "add target y");
	is_int(t0, 0, "first target index");
	is_int(t1, 1, "second target index");
	is_int(journal_add_write(j, 0, 0x10000, a, b, sizeof(a)), 0, "data write");
	is_int(journal_add_write(j, 1, 0x6e30080, c, d, sizeof(c)), 0, "catalog entry write");
	is_int(journal_add_write(j, 0, 0x20000, b, NULL, 4096), 0, "a write without old data");
	is_int(journal_add_write(j, 2, 0, c, d, sizeof(c)), -EINVAL, "a write to an unknown target is refused");
	ok(access(path, F_OK) < 0 && access(tmp, F_OK) == 0, "before commit only the temporary file exists");
	{
		struct journal *k = NULL;
		is_int(journal_open(path, &k), -ENOENT, "an uncommitted journal is not found");
	}
	is_int(journal_commit(j), 0, "commit");
	ok(access(path, F_OK) == 0 && access(tmp, F_OK) < 0, "after commit the journal is in place");
	journal_free(j);
	ok(access(path, F_OK) == 0, "freeing a committed journal keeps it");

	/* round trip */
	r = journal_open(path, &j);
	is_int(r, 0, "open");
	if (r == 0) {
		struct journal_write w;
		is_str(journal_shadow_id(j), "4e3c03c2-7bc6-4288-ad96-c1eac1a55f71", "shadow id");
		is_int(journal_n_targets(j), 2, "targets");
		is_str(journal_target(j, 0), "/images/x.img", "target 0");
		is_str(journal_target(j, 1), "/images/y.img", "target 1");
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
		char *p = journal_path_for("/images/x.img", NULL);
		is_str(p, "/images/x.img.shadowrev-journal", "journal beside an image");
		free(p);
		p = journal_path_for("/images/x.img", "/var/j");
		is_str(p, "/var/j/x.img.shadowrev-journal", "journal in --journal DIR");
		free(p);
		p = journal_path_for("/dev/sdb1", NULL);
		is_str(p, "/var/lib/shadowrev/journal/sdb1.shadowrev-journal", "journal of a block device");
		free(p);
	}
	unlink(path);
	unlink(copy);
	rmdir(dir);
	return tap_done();
}
