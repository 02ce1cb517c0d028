/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ntfs-rawname [-d] IMAGE DIR NAME [CONTENT]
 *
 * Test fixture: create, in the folder DIR (a path of the NTFS volume IMAGE,
 * "/" for the root), a file (-d: a folder) whose name is NAME taken literally
 * as UTF-8 and written as a raw POSIX-namespace name, with no check of its
 * characters: so that a name holding '/' (or "." or "..") can be put on a
 * volume, as other tools may. With CONTENT, the file holds those bytes. Exit
 * 0, or 1 with a message.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define HAVE_STDINT_H 1
#include <ntfs-3g/types.h>
#include <ntfs-3g/attrib.h>
#include <ntfs-3g/dir.h>
#include <ntfs-3g/inode.h>
#include <ntfs-3g/layout.h>
#include <ntfs-3g/unistr.h>
#include <ntfs-3g/volume.h>

static int die(const char *what)
{
	fprintf(stderr, "ntfs-rawname: %s: %s\n", what, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	ntfschar *name = NULL;
	ntfs_volume *vol;
	ntfs_inode *dir, *ni;
	int len, rc = 0;
	mode_t mode = S_IFREG;

	if (argc > 1 && strcmp(argv[1], "-d") == 0) {
		mode = S_IFDIR;
		argv++;
		argc--;
	}
	if (argc < 4 || argc > 5 || (mode == S_IFDIR && argc == 5)) {
		fprintf(stderr, "usage: ntfs-rawname [-d] IMAGE DIR NAME [CONTENT]\n");
		return 2;
	}
	vol = ntfs_mount(argv[1], 0);
	if (!vol)
		return die(argv[1]);
	dir = ntfs_pathname_to_inode(vol, NULL, argv[2]);
	if (!dir) {
		rc = die(argv[2]);
		goto out;
	}
	len = ntfs_mbstoucs(argv[3], &name);
	if (len <= 0) {
		rc = die("name");
		ntfs_inode_close(dir);
		goto out;
	}
	ni = ntfs_create(dir, const_cpu_to_le32(0), name, (u8)len, mode);
	if (!ni) {
		rc = die("create");
		ntfs_inode_close(dir);
		goto out;
	}
	if (argc == 5) {
		ntfs_attr *na = ntfs_attr_open(ni, AT_DATA, AT_UNNAMED, 0);
		s64 n = (s64)strlen(argv[4]);
		if (!na || ntfs_attr_pwrite(na, 0, n, argv[4]) != n)
			rc = die("write");
		if (na)
			ntfs_attr_close(na);
	}
	/* the new inode's name is synced into dir, which is open here: not through a second open of it */
	if (ntfs_inode_close_in_dir(ni, dir))
		rc = die("close");
	if (ntfs_inode_close(dir))
		rc = die("close folder");
out:
	free(name);
	if (ntfs_umount(vol, FALSE))
		rc = die("unmount");
	return rc;
}
