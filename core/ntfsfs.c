/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ntfsfs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <limits.h>
#include <time.h>

/* libntfs-3g's endian typedefs (le16, le32, le64) collide with macro.h's loaders: rename them here */
#define HAVE_STDINT_H 1
#define le16 ntfs_le16
#define le32 ntfs_le32
#define le64 ntfs_le64
#include <ntfs-3g/types.h>
#include <ntfs-3g/attrib.h>
#include <ntfs-3g/dir.h>
#include <ntfs-3g/inode.h>
#include <ntfs-3g/layout.h>
#include <ntfs-3g/security.h>
#include <ntfs-3g/unistr.h>
#include <ntfs-3g/volume.h>
#undef le16
#undef le32
#undef le64

#include "log.h"
#include "macro.h"
#include "buf.h"
#include "ntfsio.h"
#include "unicode.h"

/*
 * A few inodes stay open between calls: reading a file in 128 KiB..1 MiB
 * pieces would otherwise re-read its MFT record and re-map its runlist for
 * every piece. Small on purpose: libntfs-3g keeps a runlist per open attribute.
 */
#define ICACHE_SLOTS 32

struct icache {
	uint64_t ino;
	ntfs_inode *ni;
	ntfs_attr *na;    /* the unnamed $DATA, opened on first read */
	bool na_tried;    /* na == NULL and na_tried: the file has none */
	uint64_t used;
};

struct ntfsfs {
	struct ntfsio *io;
	ntfs_volume *vol;
	char *name;
	char drive;
	struct icache cache[ICACHE_SLOTS];
	uint64_t tick;
};

static int errno_or(int fallback)
{
	return errno > 0 ? -errno : -fallback;
}

static void icache_drop(struct icache *c)
{
	if (c->na)
		ntfs_attr_close(c->na);
	if (c->ni)
		ntfs_inode_close(c->ni);
	memset(c, 0, sizeof(*c));
}

int ntfsfs_open(struct src *s, struct ntfsfs **ret)
{
	struct ntfsfs *fs = calloc(1, sizeof(*fs));
	int r;

	if (!fs)
		return -ENOMEM;
	fs->name = strdup(s->name);
	if (!fs->name) {
		free(fs);
		return -ENOMEM;
	}
	r = ntfsio_open(s, &fs->io);
	if (r < 0) {
		free(fs->name);
		free(fs);
		return r;
	}
	fs->vol = ntfsio_volume(fs->io);
	/* list everything; which system files to hide is decided here, not in libntfs-3g */
	ntfs_set_shown_files(fs->vol, TRUE, TRUE, FALSE);
	*ret = fs;
	return 0;
}

void ntfsfs_close(struct ntfsfs *fs)
{
	if (!fs)
		return;
	for (unsigned i = 0; i < ICACHE_SLOTS; i++)
		icache_drop(&fs->cache[i]);
	ntfsio_close(fs->io);
	free(fs->name);
	free(fs);
}

void ntfsfs_set_drive_letter(struct ntfsfs *fs, char letter)
{
	fs->drive = (letter >= 'a' && letter <= 'z') ? (char)(letter - 'a' + 'A') : letter;
}

static int inode_get(struct ntfsfs *fs, uint64_t ino, struct icache **ret)
{
	struct icache *victim = &fs->cache[0];
	ntfs_inode *ni;

	for (unsigned i = 0; i < ICACHE_SLOTS; i++) {
		struct icache *c = &fs->cache[i];
		if (c->ni && c->ino == ino) {
			c->used = ++fs->tick;
			*ret = c;
			return 0;
		}
		if (!c->ni || (victim->ni && c->used < victim->used))
			victim = c;
	}
	if (ino >= (uint64_t)1 << 48)
		return -ENOENT;
	errno = 0;
	ni = ntfs_inode_open(fs->vol, (MFT_REF)ino);
	if (!ni) {
		int r = errno_or(EIO);
		/* a record that is not in use, or the extent of another file */
		if (r == -ENOENT || r == -EINVAL)
			return sr_fail(-ENOENT, "%s: no inode %llu", fs->name, (unsigned long long)ino);
		return sr_fail(r, "%s: cannot read inode %llu: %s", fs->name, (unsigned long long)ino, strerror(-r));
	}
	icache_drop(victim);
	victim->ino = ino;
	victim->ni = ni;
	victim->used = ++fs->tick;
	*ret = victim;
	return 0;
}

static bool inode_is_dir(ntfs_inode *ni)
{
	return (ni->mrec->flags & MFT_RECORD_IS_DIRECTORY) != 0;
}

/* The unnamed $DATA of a cached inode, or NULL (with *ret 0) if it has none. */
static int data_attr(struct ntfsfs *fs, struct icache *c, ntfs_attr **ret)
{
	if (!c->na && !c->na_tried) {
		errno = 0;
		c->na = ntfs_attr_open(c->ni, AT_DATA, AT_UNNAMED, 0);
		c->na_tried = true;
		if (!c->na && errno != ENOENT) {
			int r = errno_or(EIO);
			c->na_tried = false;
			return sr_fail(r, "%s: inode %llu: cannot open its data: %s", fs->name,
				       (unsigned long long)c->ino, strerror(-r));
		}
	}
	*ret = c->na;
	return 0;
}

/* UTF-8 to a malloc'ed ntfschar string; *ret_len in characters. */
static int name_to_ucs(const char *name, ntfschar **ret, int *ret_len)
{
	ntfschar *u = NULL;
	int n;

	errno = 0;
	n = ntfs_mbstoucs(name, &u);
	if (n < 0)
		return errno_or(EINVAL) == -ENOMEM ? -ENOMEM : -EILSEQ;
	*ret = u;
	*ret_len = n;
	return 0;
}

int ntfsfs_lookup(struct ntfsfs *fs, uint64_t dir, const char *name, uint64_t *ret_ino)
{
	struct icache *c;
	ntfschar *u = NULL;
	int r, ulen;
	u64 mref;

	if (!name[0] || strlen(name) > 255 * 4)
		return -ENOENT;
	r = inode_get(fs, dir, &c);
	if (r < 0)
		return r;
	if (!inode_is_dir(c->ni))
		return -ENOTDIR;
	/*
	 * Not ntfs_inode_lookup_by_mbsname(): without a lookup cache on a
	 * case-sensitive volume (ours) it passes NULL on and fails with EINVAL.
	 */
	r = name_to_ucs(name, &u, &ulen);
	if (r < 0)
		return r == -ENOMEM ? r : -ENOENT;
	errno = 0;
	mref = ntfs_inode_lookup_by_name(c->ni, u, ulen);
	free(u);
	if (mref == (u64)-1) {
		r = errno_or(ENOENT);
		if (r == -ENOENT || r == -EILSEQ)
			return -ENOENT;
		return sr_fail(r, "%s: cannot look up '%s' in directory %llu: %s", fs->name, name,
			       (unsigned long long)dir, strerror(-r));
	}
	*ret_ino = MREF(mref);
	return 0;
}

int ntfsfs_lookup_nocase(struct ntfsfs *fs, uint64_t dir, const char *name, uint64_t *ret_ino)
{
	_cleanup_free_ struct ntfsio_match *m = NULL;
	struct icache *c;
	size_t n = 0;
	int r;

	if (strcmp(name, ".") == 0)
		return ntfsfs_lookup(fs, dir, name, ret_ino);
	r = inode_get(fs, dir, &c);
	if (r < 0)
		return r;
	r = ntfsio_dir_find(c->ni, name, &m, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		if (m[i].exact) {
			*ret_ino = MREF(m[i].mref);
			return 0;
		}
	if (n == 0)
		return -ENOENT;
	if (n > 1)
		return -ENOTUNIQ;
	*ret_ino = MREF(m[0].mref);
	return 0;
}

int ntfsfs_resolve(struct ntfsfs *fs, const char *path, uint64_t *ret_ino)
{
	_cleanup_free_ char *p = strdup(path);
	uint64_t ino = NTFSFS_ROOT;
	char *save = NULL;

	if (!p)
		return -ENOMEM;
	for (char *q = p; *q; q++)
		if (*q == '\\')
			*q = '/';
	for (char *comp = strtok_r(p, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
		if (strcmp(comp, ".") == 0)
			continue;
		int r = ntfsfs_lookup(fs, ino, comp, &ino);
		if (r < 0)
			return r;
	}
	*ret_ino = ino;
	return 0;
}

/* Count the non-DOS names and the named data streams of an inode. */
static int count_names_streams(ntfs_inode *ni, unsigned *ret_names, unsigned *ret_streams)
{
	ntfs_attr_search_ctx *ctx = ntfs_attr_get_search_ctx(ni, NULL);
	unsigned names = 0, streams = 0;

	if (!ctx)
		return -ENOMEM;
	while (!ntfs_attr_lookup(AT_UNUSED, NULL, 0, CASE_SENSITIVE, 0, NULL, 0, ctx)) {
		ATTR_RECORD *a = ctx->attr;
		if (a->type == AT_FILE_NAME && !a->non_resident) {
			FILE_NAME_ATTR *fn = (FILE_NAME_ATTR *)((u8 *)a + le16_to_cpu(a->value_offset));
			if (fn->file_name_type != FILE_NAME_DOS)
				names++;
		} else if (a->type == AT_DATA && a->name_length &&
			   (!a->non_resident || sle64_to_cpu(a->lowest_vcn) == 0)) {
			streams++;
		}
	}
	ntfs_attr_put_search_ctx(ctx);
	*ret_names = names;
	*ret_streams = streams;
	return 0;
}

static int reparse_tag(ntfs_inode *ni, uint32_t *ret)
{
	s64 len = 0;
	REPARSE_POINT *rp = ntfs_attr_readall(ni, AT_REPARSE_POINT, AT_UNNAMED, 0, &len);

	if (!rp)
		return -ENODATA;
	if (len < 8) {
		free(rp);
		return -ENODATA;
	}
	*ret = le32_to_cpu(rp->reparse_tag);
	free(rp);
	return 0;
}

int ntfsfs_stat(struct ntfsfs *fs, uint64_t ino, struct ntfsfs_stat *ret)
{
	struct ntfsfs_stat st = { 0 };
	struct icache *c;
	ntfs_attr *na;
	uint32_t flags;
	int r;

	r = inode_get(fs, ino, &c);
	if (r < 0)
		return r;
	st.ino = ino;
	flags = le32_to_cpu(c->ni->flags);
	if (inode_is_dir(c->ni)) {
		st.type = NTFSFS_DIR;
		st.attributes = (flags & ~(uint32_t)0x10000000u) | NTFSFS_ATTR_DIRECTORY;
		/* the size of the index, as ntfs-3g shows it */
		errno = 0;
		na = ntfs_attr_open(c->ni, AT_INDEX_ALLOCATION, NTFS_INDEX_I30, 4);
		if (na) {
			st.size = (uint64_t)na->data_size;
			st.allocated = (uint64_t)na->allocated_size;
			ntfs_attr_close(na);
		}
	} else {
		st.type = NTFSFS_FILE;
		st.attributes = flags & ~(uint32_t)0x10000000u;
		r = data_attr(fs, c, &na);
		if (r < 0)
			return r;
		if (na) {
			st.size = (uint64_t)na->data_size;
			if (na->data_flags & (ATTR_COMPRESSION_MASK | ATTR_IS_SPARSE))
				st.allocated = (uint64_t)na->compressed_size;
			else
				st.allocated = (uint64_t)na->allocated_size;
		}
	}
	if (flags & FILE_ATTR_REPARSE_POINT)
		(void)reparse_tag(c->ni, &st.reparse_tag);
	r = count_names_streams(c->ni, &st.nlink, &st.n_streams);
	if (r < 0)
		return r;
	st.creation_time = (uint64_t)sle64_to_cpu(c->ni->creation_time);
	st.write_time = (uint64_t)sle64_to_cpu(c->ni->last_data_change_time);
	st.access_time = (uint64_t)sle64_to_cpu(c->ni->last_access_time);
	st.change_time = (uint64_t)sle64_to_cpu(c->ni->last_mft_change_time);
	*ret = st;
	return 0;
}

struct dir_ctx {
	struct ntfsfs *fs;
	uint64_t dir;
	unsigned flags;
	ntfsfs_dir_fn fn;
	void *userdata;
	int r;
};

static int filldir(void *dirent, const ntfschar *name, const int name_len, const int name_type,
		   const s64 pos, const MFT_REF mref, const unsigned dt_type)
{
	struct dir_ctx *d = dirent;
	uint64_t ino = MREF(mref);
	enum ntfsfs_type t;
	char u[1024];

	if (name_type == FILE_NAME_DOS || ino < 2)
		return 0;
	utf16le_to_utf8((const uint8_t *)name, (size_t)name_len, u, sizeof(u));
	/* libntfs-3g's own "." and ".." come first (positions 0 and 1); an index entry so named is listed */
	if (pos < 2 && (strcmp(u, ".") == 0 || strcmp(u, "..") == 0))
		return 0;
	if (!(d->flags & NTFSFS_LIST_SYSTEM) && d->dir == NTFSFS_ROOT && ino < FILE_first_user && u[0] == '$')
		return 0;
	t = dt_type == NTFS_DT_DIR ? NTFSFS_DIR : dt_type == NTFS_DT_REG ? NTFSFS_FILE : NTFSFS_UNKNOWN;
	d->r = d->fn(d->userdata, u, ino, t);
	return d->r < 0 ? -1 : 0;
}

int ntfsfs_readdir(struct ntfsfs *fs, uint64_t dir, unsigned flags, ntfsfs_dir_fn fn, void *userdata)
{
	struct dir_ctx d = { fs, dir, flags, fn, userdata, 0 };
	struct icache *c;
	s64 pos = 0;
	int r;

	r = inode_get(fs, dir, &c);
	if (r < 0)
		return r;
	if (!inode_is_dir(c->ni))
		return -ENOTDIR;
	errno = 0;
	if (ntfs_readdir(c->ni, &pos, &d, filldir) < 0 && d.r >= 0) {
		r = errno_or(EIO);
		return sr_fail(r, "%s: cannot list directory %llu: %s", fs->name, (unsigned long long)dir,
			       strerror(-r));
	}
	return d.r < 0 ? d.r : 0;
}

static ssize_t attr_read(struct ntfsfs *fs, uint64_t ino, ntfs_attr *na, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	if (off >= (uint64_t)na->data_size)
		return 0;
	len = (size_t)MIN((uint64_t)len, (uint64_t)na->data_size - off);
	while (done < len) {
		s64 n;
		errno = 0;
		n = ntfs_attr_pread(na, (s64)(off + done), (s64)(len - done), (u8 *)buf + done);
		if (n < 0) {
			int r = errno_or(EIO);
			return sr_fail(r, "%s: inode %llu: cannot read bytes %llu-%llu: %s", fs->name,
				       (unsigned long long)ino, (unsigned long long)(off + done),
				       (unsigned long long)(off + len - 1), strerror(-r));
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

static int stream_open(struct ntfsfs *fs, struct icache *c, const char *stream, ntfs_attr **ret)
{
	ntfschar *u = NULL;
	ntfs_attr *na;
	int n, r;

	r = name_to_ucs(stream, &u, &n);
	if (r < 0)
		return r == -ENOMEM ? r : -ENOENT;
	errno = 0;
	na = ntfs_attr_open(c->ni, AT_DATA, u, (u32)n);
	free(u);
	if (!na) {
		r = errno_or(ENOENT);
		if (r == -ENOENT)
			return r;
		return sr_fail(r, "%s: inode %llu: cannot open stream '%s': %s", fs->name, (unsigned long long)c->ino,
			       stream, strerror(-r));
	}
	*ret = na;
	return 0;
}

ssize_t ntfsfs_read(struct ntfsfs *fs, uint64_t ino, const char *stream, void *buf, size_t len, uint64_t off)
{
	struct icache *c;
	ntfs_attr *na;
	ssize_t n;
	int r;

	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	r = inode_get(fs, ino, &c);
	if (r < 0)
		return r;
	if (stream && stream[0]) {
		r = stream_open(fs, c, stream, &na);
		if (r < 0)
			return r;
		n = attr_read(fs, ino, na, buf, len, off);
		ntfs_attr_close(na);
		return n;
	}
	if (inode_is_dir(c->ni))
		return -EISDIR;
	r = data_attr(fs, c, &na);
	if (r < 0)
		return r;
	if (!na)
		return 0;
	return attr_read(fs, ino, na, buf, len, off);
}

int ntfsfs_data_offset(struct ntfsfs *fs, uint64_t ino, uint64_t *ret)
{
	ntfs_volume *v = fs->vol;
	struct icache *c;
	ntfs_attr *na;
	LCN lcn;
	s64 vcn;
	int r;

	r = inode_get(fs, ino, &c);
	if (r < 0)
		return r;
	r = inode_is_dir(c->ni) ? 0 : data_attr(fs, c, &na);
	if (r < 0)
		return r;
	if (!inode_is_dir(c->ni) && na && NAttrNonResident(na)) {
		errno = 0;
		lcn = ntfs_attr_vcn_to_lcn(na, 0);
		if (lcn < 0)
			return -ENODATA; /* starts with a hole, or a runlist that cannot be mapped */
		*ret = (uint64_t)lcn << v->cluster_size_bits;
		return 0;
	}
	/* resident (or no data): the MFT record */
	vcn = (s64)((ino << v->mft_record_size_bits) >> v->cluster_size_bits);
	errno = 0;
	lcn = v->mft_na ? ntfs_attr_vcn_to_lcn(v->mft_na, vcn) : -1;
	if (lcn < 0)
		return -ENODATA;
	*ret = ((uint64_t)lcn << v->cluster_size_bits) + ((ino << v->mft_record_size_bits) & ((uint64_t)v->cluster_size - 1));
	return 0;
}

int ntfsfs_streams(struct ntfsfs *fs, uint64_t ino, ntfsfs_stream_fn fn, void *userdata)
{
	ntfs_attr_search_ctx *ctx;
	struct icache *c;
	int r;

	r = inode_get(fs, ino, &c);
	if (r < 0)
		return r;
	ctx = ntfs_attr_get_search_ctx(c->ni, NULL);
	if (!ctx)
		return -ENOMEM;
	r = 0;
	while (r >= 0 && !ntfs_attr_lookup(AT_DATA, NULL, 0, CASE_SENSITIVE, 0, NULL, 0, ctx)) {
		ATTR_RECORD *a = ctx->attr;
		char u[1024];
		uint64_t size;

		if (!a->name_length || (a->non_resident && sle64_to_cpu(a->lowest_vcn) != 0))
			continue;
		utf16le_to_utf8((const uint8_t *)a + le16_to_cpu(a->name_offset), a->name_length, u, sizeof(u));
		size = a->non_resident ? (uint64_t)sle64_to_cpu(a->data_size) : le32_to_cpu(a->value_length);
		r = fn(userdata, u, size);
	}
	ntfs_attr_put_search_ctx(ctx);
	return r < 0 ? r : 0;
}

int ntfsfs_stream_size(struct ntfsfs *fs, uint64_t ino, const char *stream, uint64_t *ret_size)
{
	struct icache *c;
	ntfs_attr *na;
	int r;

	r = inode_get(fs, ino, &c);
	if (r < 0)
		return r;
	if (stream && stream[0]) {
		r = stream_open(fs, c, stream, &na);
		if (r < 0)
			return r;
		*ret_size = (uint64_t)na->data_size;
		ntfs_attr_close(na);
		return 0;
	}
	r = data_attr(fs, c, &na);
	if (r < 0)
		return r;
	if (!na)
		return -ENOENT;
	*ret_size = (uint64_t)na->data_size;
	return 0;
}

int ntfsfs_reparse_data(struct ntfsfs *fs, uint64_t ino, void **ret, size_t *ret_len)
{
	struct icache *c;
	s64 len = 0;
	void *p;
	int r;

	r = inode_get(fs, ino, &c);
	if (r < 0)
		return r;
	if (!(c->ni->flags & FILE_ATTR_REPARSE_POINT))
		return -ENODATA;
	errno = 0;
	p = ntfs_attr_readall(c->ni, AT_REPARSE_POINT, AT_UNNAMED, 0, &len);
	if (!p) {
		r = errno_or(EIO);
		if (r == -ENOENT)
			return -ENODATA;
		return sr_fail(r, "%s: inode %llu: cannot read its reparse point: %s", fs->name,
			       (unsigned long long)ino, strerror(-r));
	}
	*ret = p;
	*ret_len = (size_t)len;
	return 0;
}

int ntfsfs_security(struct ntfsfs *fs, uint64_t ino, void **ret, size_t *ret_len)
{
	struct SECURITY_CONTEXT scx;
	struct icache *c;
	size_t cap = 4096;
	int r, n;

	r = inode_get(fs, ino, &c);
	if (r < 0)
		return r;
	memset(&scx, 0, sizeof(scx));
	scx.vol = fs->vol;
	for (;;) {
		char *buf = malloc(cap);
		if (!buf)
			return -ENOMEM;
		errno = 0;
		n = ntfs_get_ntfs_acl(&scx, c->ni, buf, cap);
		if (n <= 0) {
			free(buf);
			r = n < 0 ? n : -ENODATA;
			if (r == -ENOENT || r == -ENODATA)
				return -ENODATA;
			return sr_fail(r, "%s: inode %llu: cannot read its security descriptor: %s", fs->name,
				       (unsigned long long)ino, strerror(-r));
		}
		if ((size_t)n <= cap) {
			*ret = buf;
			*ret_len = (size_t)n;
			return 0;
		}
		free(buf);
		cap = (size_t)n;
	}
}

/* One path of ino: follow the first non-DOS name's parent up to the root. */
int ntfsfs_path(struct ntfsfs *fs, uint64_t ino, char **ret)
{
	char *path = strdup("");
	uint64_t cur = ino;
	int depth = 0, r = 0;

	if (!path)
		return -ENOMEM;
	while (cur != NTFSFS_ROOT) {
		ntfs_attr_search_ctx *ctx;
		ntfs_inode *ni;
		uint64_t parent = 0;
		char u[1024] = "";
		bool found = false;

		if (++depth > 4096) {
			r = sr_fail(-ELOOP, "%s: inode %llu: its parent folders loop", fs->name, (unsigned long long)ino);
			break;
		}
		errno = 0;
		ni = ntfs_inode_open(fs->vol, (MFT_REF)cur);
		if (!ni) {
			r = errno_or(EIO);
			break;
		}
		ctx = ntfs_attr_get_search_ctx(ni, NULL);
		if (!ctx) {
			ntfs_inode_close(ni);
			r = -ENOMEM;
			break;
		}
		while (!ntfs_attr_lookup(AT_FILE_NAME, NULL, 0, CASE_SENSITIVE, 0, NULL, 0, ctx)) {
			ATTR_RECORD *a = ctx->attr;
			FILE_NAME_ATTR *fn;
			if (a->non_resident)
				continue;
			fn = (FILE_NAME_ATTR *)((u8 *)a + le16_to_cpu(a->value_offset));
			if (fn->file_name_type == FILE_NAME_DOS)
				continue;
			utf16le_to_utf8((const uint8_t *)fn->file_name, fn->file_name_length, u, sizeof(u));
			parent = MREF_LE(fn->parent_directory);
			found = true;
			break;
		}
		ntfs_attr_put_search_ctx(ctx);
		ntfs_inode_close(ni);
		if (!found) {
			r = sr_fail(-ENOENT, "%s: inode %llu has no name", fs->name, (unsigned long long)cur);
			break;
		}
		char *np;
		if (asprintf(&np, "/%s%s", u, path) < 0) {
			r = -ENOMEM;
			break;
		}
		free(path);
		path = np;
		cur = parent;
	}
	if (r < 0) {
		free(path);
		return r;
	}
	if (!path[0]) {
		free(path);
		path = strdup("/");
		if (!path)
			return -ENOMEM;
	}
	*ret = path;
	return 0;
}

/* reparse points */

void ntfsfs_reparse_done(struct ntfsfs_reparse *r)
{
	if (!r)
		return;
	free(r->print_name);
	free(r->target);
	free(r->relative);
	memset(r, 0, sizeof(*r));
}

static char *utf16_dup(const uint8_t *p, size_t units)
{
	size_t cap = units * 3 + 1;
	char *s = malloc(cap);

	if (s)
		utf16le_to_utf8(p, units, s, cap);
	return s;
}

int ntfsfs_reparse_parse(const void *buf, size_t len, struct ntfsfs_reparse *ret, char **ret_substitute)
{
	const uint8_t *b = buf, *data, *pathbuf;
	struct ntfsfs_reparse r = { 0 };
	size_t dlen, hdr, so, sl, po, pl;
	char *sub;

	if (len < 8)
		return -EINVAL;
	r.tag = le32(b);
	dlen = le16(b + 4);
	if (8 + dlen > len)
		return -EINVAL;
	data = b + 8;
	if (r.tag == NTFSFS_TAG_MOUNT_POINT)
		hdr = 8;
	else if (r.tag == NTFSFS_TAG_SYMLINK)
		hdr = 12;
	else
		return -EINVAL;
	if (dlen < hdr)
		return -EINVAL;
	so = le16(data);
	sl = le16(data + 2);
	po = le16(data + 4);
	pl = le16(data + 6);
	if (r.tag == NTFSFS_TAG_SYMLINK)
		r.is_relative = (le32(data + 8) & 1) != 0;
	pathbuf = data + hdr;
	if ((so | sl | po | pl) & 1 || so + sl > dlen - hdr || po + pl > dlen - hdr)
		return -EINVAL;
	sub = utf16_dup(pathbuf + so, sl / 2);
	r.print_name = utf16_dup(pathbuf + po, pl / 2);
	if (!sub || !r.print_name) {
		free(sub);
		ntfsfs_reparse_done(&r);
		return -ENOMEM;
	}
	*ret = r;
	*ret_substitute = sub;
	return 0;
}

/*
 * Normalize a '/'-separated path against base (a volume folder, "/a/b"):
 * "." and ".." are resolved; -EXDEV if ".." would leave the volume.
 */
static int path_normalize(const char *base, const char *rel, char **ret)
{
	_cleanup_free_ char *all = NULL;
	_cleanup_free_ char **comp = NULL;
	size_t n = 0, cap;
	char *save = NULL, *out, *o;

	if (asprintf(&all, "%s/%s", rel[0] == '/' ? "" : base, rel) < 0)
		return -ENOMEM;
	cap = strlen(all) / 2 + 2;
	comp = calloc(cap, sizeof(*comp));
	if (!comp)
		return -ENOMEM;
	for (char *c = strtok_r(all, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (strcmp(c, ".") == 0)
			continue;
		if (strcmp(c, "..") == 0) {
			if (n == 0)
				return -EXDEV;
			n--;
			continue;
		}
		comp[n++] = c;
	}
	out = malloc(strlen(base) + strlen(rel) + 3);
	if (!out)
		return -ENOMEM;
	o = out;
	for (size_t i = 0; i < n; i++)
		o += sprintf(o, "/%s", comp[i]);
	if (o == out)
		strcpy(out, "/");
	*ret = out;
	return 0;
}

/* Split a '/'-separated path in place into its components. */
static size_t path_split(char *p, char **comp, size_t cap)
{
	char *save = NULL;
	size_t n = 0;

	for (char *c = strtok_r(p, "/", &save); c && n < cap; c = strtok_r(NULL, "/", &save))
		comp[n++] = c;
	return n;
}

/* to (absolute volume path) relative to the folder from ("/a/b"). */
static int path_relative(const char *from, const char *to, char **ret)
{
	_cleanup_free_ char *f = strdup(from), *t = strdup(to);
	_cleanup_free_ char **fc = NULL, **tc = NULL;
	struct buf b = BUF_INIT;
	size_t nf, nt, k = 0;

	if (!f || !t)
		return -ENOMEM;
	fc = calloc(strlen(from) + 1, sizeof(*fc));
	tc = calloc(strlen(to) + 1, sizeof(*tc));
	if (!fc || !tc)
		return -ENOMEM;
	nf = path_split(f, fc, strlen(from) + 1);
	nt = path_split(t, tc, strlen(to) + 1);
	while (k < nf && k < nt && strcmp(fc[k], tc[k]) == 0)
		k++;
	for (size_t i = k; i < nf; i++)
		if (buf_printf(&b, "%s..", b.len ? "/" : "") < 0)
			goto oom;
	for (size_t i = k; i < nt; i++)
		if (buf_printf(&b, "%s%s", b.len ? "/" : "", tc[i]) < 0)
			goto oom;
	if (b.len == 0 && buf_append(&b, ".", 1) < 0)
		goto oom;
	*ret = buf_steal(&b);
	return *ret ? 0 : -ENOMEM;
oom:
	buf_free(&b);
	return -ENOMEM;
}

int ntfsfs_reparse(struct ntfsfs *fs, uint64_t ino, struct ntfsfs_reparse *ret)
{
	_cleanup_free_ void *data = NULL;
	_cleanup_free_ char *sub = NULL, *self = NULL, *dir = NULL;
	struct ntfsfs_reparse rp = { 0 };
	size_t len;
	char *p, *slash;
	int r;

	r = ntfsfs_reparse_data(fs, ino, &data, &len);
	if (r < 0)
		return r;
	if (len < 8)
		return sr_fail(-EBADMSG, "%s: inode %llu: reparse point of %zu bytes", fs->name,
			       (unsigned long long)ino, len);
	r = ntfsfs_reparse_parse(data, len, &rp, &sub);
	if (r == -EINVAL) {
		/* another kind (dedup, WOF, cloud files...): the tag only */
		memset(&rp, 0, sizeof(rp));
		rp.tag = le32(data);
		*ret = rp;
		return 0;
	}
	if (r < 0)
		return r;
	for (p = sub; *p; p++)
		if (*p == '\\')
			*p = '/';
	r = ntfsfs_path(fs, ino, &self);
	if (r < 0)
		goto fail;
	dir = strdup(self);
	if (!dir) {
		r = -ENOMEM;
		goto fail;
	}
	slash = strrchr(dir, '/');
	if (slash == dir)
		dir[1] = 0;
	else if (slash)
		*slash = 0;

	if (rp.is_relative) {
		r = path_normalize(dir, sub, &rp.target);
		if (r == -EXDEV) {
			r = 0; /* climbs out of the volume */
		} else if (r < 0) {
			goto fail;
		} else {
			rp.inside = true;
			r = path_relative(dir, rp.target, &rp.relative);
			if (r < 0)
				goto fail;
		}
	} else {
		/* "\\??\\C:\\dir" (NT form), "\\\\?\\C:\\dir" or "C:\\dir"; volume GUID paths and UNC paths stay outside */
		p = sub;
		if (strncmp(p, "/?" "?/", 4) == 0 || strncmp(p, "//?/", 4) == 0)
			p += 4;
		if (((p[0] >= 'A' && p[0] <= 'Z') || (p[0] >= 'a' && p[0] <= 'z')) && p[1] == ':' &&
		    (p[2] == '/' || p[2] == 0)) {
			char letter = (char)(p[0] & ~0x20);
			char *abs = NULL;
			r = path_normalize("/", p[2] ? p + 3 : "", &abs);
			if (r == -EXDEV)
				r = 0;
			else if (r < 0)
				goto fail;
			if (abs) {
				uint64_t t;
				bool in = fs->drive ? letter == fs->drive : ntfsfs_resolve(fs, abs, &t) >= 0;
				if (in) {
					rp.inside = true;
					rp.target = abs;
					r = path_relative(dir, abs, &rp.relative);
					if (r < 0)
						goto fail;
				} else {
					free(abs);
				}
			}
		}
	}
	*ret = rp;
	return 0;
fail:
	ntfsfs_reparse_done(&rp);
	return r;
}
