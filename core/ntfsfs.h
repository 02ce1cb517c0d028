/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SR_NTFSFS_H
#define SR_NTFSFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "src.h"

/*
 * The file tree of an NTFS volume, read-only, over libntfs-3g on a struct src
 * (core/ntfsio.h): path lookup, directory listings, stat, file and stream
 * data, reparse points, DOS attributes, security descriptors. Shared by
 * `mount` and file restore.
 *
 * Files are named by inode: the MFT record number (without sequence number);
 * the root directory is NTFSFS_ROOT. Hard links of a file have the same
 * inode. Names are UTF-8; DOS 8.3 names are never listed (a lookup by one
 * still finds the file, as Windows does).
 *
 * Errors are -errno with a detail recorded by sr_fail(): -ENOENT no such
 * name, inode or stream; -ENOTDIR / -EISDIR; -EIO (or -EBADMSG where the
 * source says so) when the bytes cannot be read; -ENODATA no such attribute
 * (reparse data, security descriptor); -EINVAL for a bad argument.
 *
 * NOT thread-safe: libntfs-3g keeps per-volume state, so one thread at a time
 * may call into one struct ntfsfs (the caller serializes, e.g. with a mutex
 * per volume). Different volumes are independent and may be used from
 * different threads at once.
 */

struct ntfsfs;

#define NTFSFS_ROOT 5u

/* FILE_ATTRIBUTE_* (DOS attributes), as Windows defines them. */
enum {
	NTFSFS_ATTR_READONLY = 0x1,
	NTFSFS_ATTR_HIDDEN = 0x2,
	NTFSFS_ATTR_SYSTEM = 0x4,
	NTFSFS_ATTR_DIRECTORY = 0x10,
	NTFSFS_ATTR_ARCHIVE = 0x20,
	NTFSFS_ATTR_NORMAL = 0x80,
	NTFSFS_ATTR_TEMPORARY = 0x100,
	NTFSFS_ATTR_SPARSE_FILE = 0x200,
	NTFSFS_ATTR_REPARSE_POINT = 0x400,
	NTFSFS_ATTR_COMPRESSED = 0x800,
	NTFSFS_ATTR_OFFLINE = 0x1000,
	NTFSFS_ATTR_NOT_CONTENT_INDEXED = 0x2000,
	NTFSFS_ATTR_ENCRYPTED = 0x4000,
};

/* Reparse tags that name a target path. */
#define NTFSFS_TAG_MOUNT_POINT 0xA0000003u /* junction or volume mount point */
#define NTFSFS_TAG_SYMLINK 0xA000000Cu

enum ntfsfs_type {
	NTFSFS_UNKNOWN = 0, /* ntfsfs_readdir only: a reparse point or special file, stat it */
	NTFSFS_FILE = 1,
	NTFSFS_DIR = 2,
};

struct ntfsfs_stat {
	uint64_t ino;          /* MFT record number */
	enum ntfsfs_type type; /* a reparse point is a file or a directory too; see reparse_tag */
	uint32_t reparse_tag;  /* 0: not a reparse point */
	uint32_t attributes;   /* FILE_ATTRIBUTE_*, with DIRECTORY set for directories */
	uint64_t size;         /* files: the unnamed data stream; directories: the index size */
	uint64_t allocated;    /* bytes allocated on the volume (compressed/sparse: really allocated) */
	unsigned nlink;        /* names of the file, DOS 8.3 names not counted */
	unsigned n_streams;    /* named data streams */
	/* FILETIME (100 ns since 1601, UTC) from $STANDARD_INFORMATION */
	uint64_t creation_time, write_time, access_time, change_time; /* change: the MFT record */
};

/* Open the NTFS volume in s read-only (a reference on s is taken). -EMEDIUMTYPE if it is not NTFS. */
int ntfsfs_open(struct src *s, struct ntfsfs **ret);
void ntfsfs_close(struct ntfsfs *fs);

/*
 * The drive letter the volume had on Windows ('C'), or 0 if unknown (the
 * default). It decides whether an absolute symlink or junction target
 * ("C:\dir") lies inside this volume; when unknown, a target counts as inside
 * if the path exists on this volume.
 */
void ntfsfs_set_drive_letter(struct ntfsfs *fs, char letter);

/*
 * Find name (UTF-8, one entry's name, literally: it may hold '/', "." is no
 * alias of dir) in directory dir, exactly as spelled (a POSIX view: `mount`
 * lists and looks up names as they are, which is what a Linux file system
 * must do; it decides nothing).
 */
int ntfsfs_lookup(struct ntfsfs *fs, uint64_t dir, const char *name, uint64_t *ret_ino);
/*
 * Find name in directory dir as Windows does (ntfsio_dir_find(): ignoring
 * case through the volume's $UpCase, in every namespace, DOS names too), for
 * paths given by users: the file spelled exactly so if there is one, else
 * the one file whose name matches. -ENOTUNIQ if several files match, none
 * exactly (names that differ only in case); -ENOENT if none.
 */
int ntfsfs_lookup_nocase(struct ntfsfs *fs, uint64_t dir, const char *name, uint64_t *ret_ino);
/* Resolve a volume path ("/a/b", '/' or '\' separated; reparse points are not followed). */
int ntfsfs_resolve(struct ntfsfs *fs, const char *path, uint64_t *ret_ino);
int ntfsfs_stat(struct ntfsfs *fs, uint64_t ino, struct ntfsfs_stat *ret);
/* One path of ino from the root ("/a/b"; "/" for the root), following its first non-DOS name. Malloc'ed. */
int ntfsfs_path(struct ntfsfs *fs, uint64_t ino, char **ret);

/*
 * List directory dir: fn is called for every entry (not the "." and ".." of
 * every folder; an index entry so named, as other tools write, is listed), with
 * the UTF-8 name, the inode and its type as the index says. Files of the
 * root whose name starts with '$' and whose inode is below 16 ($MFT,
 * $Bitmap...) are skipped unless NTFSFS_LIST_SYSTEM is given. A negative
 * return from fn stops the listing and is returned.
 */
enum { NTFSFS_LIST_SYSTEM = 1 };
typedef int (*ntfsfs_dir_fn)(void *userdata, const char *name, uint64_t ino, enum ntfsfs_type type);
int ntfsfs_readdir(struct ntfsfs *fs, uint64_t dir, unsigned flags, ntfsfs_dir_fn fn, void *userdata);

/*
 * Read up to len bytes at off of a data stream of ino: stream NULL or "" is
 * the unnamed one (the file's contents), else a named stream. Resident,
 * non-resident, sparse and compressed streams are all read by libntfs-3g.
 * Returns the number of bytes read: len, less only at the end of the stream,
 * 0 at or after it; or -errno (-EISDIR for a directory's unnamed stream).
 */
ssize_t ntfsfs_read(struct ntfsfs *fs, uint64_t ino, const char *stream, void *buf, size_t len, uint64_t off);

/*
 * Where ino's contents start on the volume, as a byte offset: the first
 * cluster of its unnamed stream, or the place of its MFT record when the data
 * is resident (or a folder, or no data). For reading many files in the order
 * their bytes lie on the volume. -ENODATA when unknown (the stream starts
 * with a hole).
 */
int ntfsfs_data_offset(struct ntfsfs *fs, uint64_t ino, uint64_t *ret);

/* Named data streams of ino: fn is called with each name (UTF-8) and size. */
typedef int (*ntfsfs_stream_fn)(void *userdata, const char *name, uint64_t size);
int ntfsfs_streams(struct ntfsfs *fs, uint64_t ino, ntfsfs_stream_fn fn, void *userdata);
/* Size of a data stream (NULL or "": the unnamed one). -ENOENT if there is no such stream. */
int ntfsfs_stream_size(struct ntfsfs *fs, uint64_t ino, const char *stream, uint64_t *ret_size);

struct ntfsfs_reparse {
	uint32_t tag;
	/* symlinks and junctions only (else NULL): */
	char *print_name; /* the target as Windows shows it ("C:\Users\x", "..\x") */
	char *target;     /* inside: the target's volume path ("/Users/x"), else NULL */
	char *relative;   /* inside: the target relative to the link's folder ("../Users/x"), else NULL */
	bool is_relative; /* a relative symlink (SYMLINK_FLAG_RELATIVE) */
	bool inside;      /* the target lies inside this volume */
};
/* Decode ino's reparse point. -ENODATA if it has none. Free with ntfsfs_reparse_done(). */
int ntfsfs_reparse(struct ntfsfs *fs, uint64_t ino, struct ntfsfs_reparse *ret);
void ntfsfs_reparse_done(struct ntfsfs_reparse *r);

/* The raw $REPARSE_POINT bytes (tag, length, data), malloc'ed. -ENODATA if none. */
int ntfsfs_reparse_data(struct ntfsfs *fs, uint64_t ino, void **ret, size_t *ret_len);
/* The self-relative security descriptor of ino (from $Secure or its own attribute), malloc'ed. */
int ntfsfs_security(struct ntfsfs *fs, uint64_t ino, void **ret, size_t *ret_len);

/* Parse a reparse buffer (tag, length, data) of a symlink or junction; fuzzable. -EINVAL if malformed. */
int ntfsfs_reparse_parse(const void *buf, size_t len, struct ntfsfs_reparse *ret, char **ret_substitute);

#endif
