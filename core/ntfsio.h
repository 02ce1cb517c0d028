/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SR_NTFSIO_H
#define SR_NTFSIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "src.h"

/*
 * libntfs-3g on a struct src: a custom ntfs_device (device operations that
 * pread from the source, read-only), so an NTFS volume can be opened from any
 * source (image, partition slice, captured volume, shadow-copy view) without
 * a loop device.
 *
 * libntfs-3g is not thread-safe per volume: one thread at a time may use a
 * struct ntfsio and the ntfs_volume it returns. Different volumes may be used
 * from different threads. libntfs-3g's own messages are silenced unless
 * sr_verbosity >= 2; errors come back as -errno with a detail (sr_fail).
 */

struct ntfsio;
struct _ntfs_volume; /* ntfs_volume from <ntfs-3g/volume.h> */

/* Mount the NTFS volume in s read-only (a reference on s is taken). -EMEDIUMTYPE if it is not NTFS. */
int ntfsio_open(struct src *s, struct ntfsio **ret);
void ntfsio_close(struct ntfsio *n);
/* Borrowed; valid until ntfsio_close(). */
struct _ntfs_volume *ntfsio_volume(struct ntfsio *n);

uint32_t ntfsio_cluster_size(const struct ntfsio *n);
uint64_t ntfsio_cluster_count(const struct ntfsio *n);

/*
 * Name lookups that decide something (is this a system volume, is the boot
 * loader there, which file did the user name) compare names as Windows does:
 * through the volume's own $UpCase table (utf16le_upcase_equal() in
 * core/unicode.h), whatever the namespace of the name. libntfs-3g does not:
 * a volume opened by ntfs_device_mount() is case-sensitive
 * (NVolCaseSensitive), so ntfs_inode_lookup_by_name() and
 * ntfs_pathname_to_inode() find only the exact spelling; and in its
 * ignore-case mode (ntfs_set_ignore_case()) they return one of the names
 * that differ only in case, not all of them. These functions are the one
 * place where such lookups are made.
 *
 * The decision on namespaces: Windows opens files case-insensitively
 * whatever the namespace of their names: the Win32 API asks for it
 * (OBJ_CASE_INSENSITIVE), and since XP the kernel forces it anyway
 * (obcaseinsensitive=1, the default), so a POSIX-namespace name (written by
 * ntfs-3g, Services for Unix, WSL) is found in any case just as a Win32 or
 * DOS name is. So every namespace is compared ignoring case, and
 * where several names of one folder differ only in case (possible in the
 * POSIX namespace, and in folders marked case-sensitive), all of them match:
 * a safety check then holds if any spelling exists. DOS 8.3 names match too,
 * as they do on Windows.
 *
 * Each lookup reads the whole index of the folder (ntfs_readdir()): a few
 * milliseconds for a folder of thousands of names; these lookups are few.
 * Not thread-safe, as the rest of libntfs-3g (see above).
 */
struct _ntfs_inode; /* ntfs_inode from <ntfs-3g/inode.h> */

struct ntfsio_match {
	uint64_t mref;    /* the file's MFT reference: record number (low 48 bits) and sequence number */
	bool exact;       /* one of its names in the folder is the name asked for, code unit for code unit */
};

/*
 * Every file in the folder dir (an open inode of the volume, borrowed) whose
 * name equals name (UTF-8, one component)
 * as Windows compares names: one element per file (hard links and the DOS
 * name of a file count once), in the folder's index order, malloc'ed in *ret
 * (NULL when none), their number in *ret_n. A name that is not valid UTF-8
 * or longer than 255 UTF-16 code units matches nothing; "." and ".." match
 * nothing. -ENOTDIR if dir is not a folder, -EIO (or the source's error) if
 * its index cannot be read.
 */
int ntfsio_dir_find(struct _ntfs_inode *dir, const char *name, struct ntfsio_match **ret, size_t *ret_n);

/*
 * Does path ("/Windows/System32", '/' or '\' separated, from the root)
 * exist in some spelling? Every folder that matches a component is followed
 * (in index order, until one leads to the end), so a folder WINDOWS without
 * System32 next to a folder windows with it still counts. *ret false if not.
 * -ELOOP if the volume holds so many spellings that more than 4096 folders
 * would have to be searched (a refusal is the safe answer then), else the
 * errors of ntfsio_dir_find().
 */
int ntfsio_path_exists(struct ntfsio *n, const char *path, bool *ret);

/* The $Bitmap, one bit per cluster (bit i of byte i/8 = cluster i in use), malloc'ed, *ret_len bytes. */
int ntfsio_bitmap_read(struct ntfsio *n, uint8_t **ret, size_t *ret_len);

#endif
