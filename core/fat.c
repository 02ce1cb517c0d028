/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "fat.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "macro.h"
#include "unicode.h"

#define MAX_DIR_ENTRIES 65536

struct fat_fs {
	struct src *src;
	int bits; /* 12, 16, 32 */
	uint32_t bps, spc, cluster_size;
	uint64_t fat_off, fat_bytes, root_off, root_bytes, data_off;
	uint32_t root_cluster, n_clusters;
};

const char *fat_type(const struct fat_fs *f)
{
	return f->bits == 12 ? "FAT12" : f->bits == 16 ? "FAT16" : "FAT32";
}

void fat_close(struct fat_fs *f)
{
	if (!f)
		return;
	src_unref(f->src);
	free(f);
}

int fat_open(struct src *s, struct fat_fs **ret)
{
	uint8_t b[512];
	struct fat_fs *f;
	uint32_t rsv, nfats, root_entries, total, fatsz, data_sectors;
	int r;

	r = src_pread(s, b, sizeof(b), 0);
	if (r < 0)
		return r == -EINVAL ? sr_fail(-EMEDIUMTYPE, "%s: too small for a FAT file system", s->name) : r;
	if (b[510] != 0x55 || b[511] != 0xaa || (b[0] != 0xeb && b[0] != 0xe9) || memcmp(b + 3, "NTFS", 4) == 0)
		return sr_fail(-EMEDIUMTYPE, "%s: no FAT boot sector", s->name);
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->bps = le16(b + 11);
	f->spc = b[13];
	rsv = le16(b + 14);
	nfats = b[16];
	root_entries = le16(b + 17);
	total = le16(b + 19) ? le16(b + 19) : le32(b + 32);
	fatsz = le16(b + 22) ? le16(b + 22) : le32(b + 36);
	if (f->bps < 512 || f->bps > 4096 || (f->bps & (f->bps - 1)) || !f->spc || (f->spc & (f->spc - 1)) ||
	    !rsv || !nfats || nfats > 4 || !fatsz || !total) {
		free(f);
		return sr_fail(-EMEDIUMTYPE, "%s: no valid FAT boot sector", s->name);
	}
	f->cluster_size = f->bps * f->spc;
	f->fat_off = (uint64_t)rsv * f->bps;
	f->fat_bytes = (uint64_t)fatsz * f->bps;
	f->root_off = f->fat_off + (uint64_t)nfats * f->fat_bytes;
	f->root_bytes = (uint64_t)root_entries * 32;
	f->data_off = f->root_off + (f->root_bytes + f->bps - 1) / f->bps * f->bps;
	if ((uint64_t)total * f->bps > s->size || f->data_off >= (uint64_t)total * f->bps) {
		free(f);
		return sr_fail(-EBADMSG, "%s: the FAT boot sector describes more than the volume holds", s->name);
	}
	data_sectors = total - (uint32_t)(f->data_off / f->bps);
	f->n_clusters = data_sectors / f->spc;
	f->bits = f->n_clusters < 4085 ? 12 : f->n_clusters < 65525 ? 16 : 32;
	if (f->bits == 32) {
		f->root_cluster = le32(b + 44);
		if (root_entries) {
			free(f);
			return sr_fail(-EBADMSG, "%s: FAT32 with a fixed root directory", s->name);
		}
	}
	/* the FAT must hold an entry per cluster */
	if (f->fat_bytes * 8 / (uint64_t)f->bits < (uint64_t)f->n_clusters + 2) {
		free(f);
		return sr_fail(-EBADMSG, "%s: the FAT is smaller than its cluster count", s->name);
	}
	f->src = src_ref(s);
	*ret = f;
	return 0;
}

static int next_cluster(struct fat_fs *f, uint32_t c, uint32_t *ret)
{
	uint8_t b[4] = { 0 };
	uint64_t off;
	uint32_t v;
	int r;

	if (f->bits == 12) {
		off = f->fat_off + c + c / 2;
		r = src_pread(f->src, b, 2, off);
		v = le16(b);
		v = (c & 1) ? v >> 4 : v & 0xfff;
		if (v >= 0xff8)
			v = UINT32_MAX;
	} else if (f->bits == 16) {
		r = src_pread(f->src, b, 2, f->fat_off + (uint64_t)c * 2);
		v = le16(b);
		if (v >= 0xfff8)
			v = UINT32_MAX;
	} else {
		r = src_pread(f->src, b, 4, f->fat_off + (uint64_t)c * 4);
		v = le32(b) & 0x0fffffff;
		if (v >= 0x0ffffff8)
			v = UINT32_MAX;
	}
	if (r < 0)
		return r;
	*ret = v;
	return 0;
}

static bool cluster_ok(const struct fat_fs *f, uint32_t c)
{
	return c >= 2 && c < f->n_clusters + 2;
}

/* Read a whole directory (a cluster chain, or the fixed root when cluster is 0 on FAT12/16). */
static int read_dir(struct fat_fs *f, uint32_t cluster, uint8_t **ret, size_t *ret_len)
{
	uint8_t *d = NULL;
	size_t len = 0;
	int r;

	if (cluster == 0 && f->bits != 32) {
		if (f->root_bytes > (uint64_t)MAX_DIR_ENTRIES * 32)
			return -EBADMSG;
		d = malloc(f->root_bytes ? f->root_bytes : 1);
		if (!d)
			return -ENOMEM;
		r = src_pread(f->src, d, f->root_bytes, f->root_off);
		if (r < 0) {
			free(d);
			return r;
		}
		*ret = d;
		*ret_len = f->root_bytes;
		return 0;
	}
	if (cluster == 0)
		cluster = f->root_cluster;
	for (uint32_t c = cluster, n = 0; c != UINT32_MAX; n++) {
		uint8_t *nd;
		if (!cluster_ok(f, c) || n > f->n_clusters || len + f->cluster_size > (size_t)MAX_DIR_ENTRIES * 32) {
			free(d);
			return sr_fail(-EBADMSG, "%s: a FAT directory chain is broken or loops", f->src->name);
		}
		nd = realloc(d, len + f->cluster_size);
		if (!nd) {
			free(d);
			return -ENOMEM;
		}
		d = nd;
		r = src_pread(f->src, d + len, f->cluster_size, f->data_off + (uint64_t)(c - 2) * f->cluster_size);
		if (r >= 0)
			r = next_cluster(f, c, &c);
		if (r < 0) {
			free(d);
			return r;
		}
		len += f->cluster_size;
	}
	*ret = d;
	*ret_len = len;
	return 0;
}

static bool name_eq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
			return false;
	return *a == *b;
}

/* Find name in directory cluster; ret filled. */
static int find(struct fat_fs *f, uint32_t cluster, const char *name, struct fat_stat *ret)
{
	_cleanup_free_ uint8_t *d = NULL;
	size_t len = 0;
	uint8_t lfn[20 * 26 + 2];
	int lfn_n = 0;
	int r;

	r = read_dir(f, cluster, &d, &len);
	if (r < 0)
		return r;
	memset(lfn, 0, sizeof(lfn));
	for (size_t i = 0; i + 32 <= len; i += 32) {
		const uint8_t *e = d + i;
		char shortname[13], longname[256 * 3];
		size_t k = 0;

		if (e[0] == 0)
			break;
		if (e[0] == 0xe5) {
			lfn_n = 0;
			continue;
		}
		if (e[11] == 0x0f) { /* a long-name piece; pieces come last-first */
			unsigned seq = e[0] & 0x1f;
			if (seq < 1 || seq > 20) {
				lfn_n = 0;
				continue;
			}
			if (e[0] & 0x40) {
				memset(lfn, 0, sizeof(lfn));
				lfn_n = (int)seq;
			}
			memcpy(lfn + (seq - 1) * 26, e + 1, 10);
			memcpy(lfn + (seq - 1) * 26 + 10, e + 14, 12);
			memcpy(lfn + (seq - 1) * 26 + 22, e + 28, 4);
			continue;
		}
		if (e[11] & 0x08) { /* volume label */
			lfn_n = 0;
			continue;
		}
		for (int j = 0; j < 8 && e[j] != ' '; j++)
			shortname[k++] = (char)(j == 0 && e[j] == 0x05 ? 0xe5 : e[j]);
		if (e[8] != ' ') {
			shortname[k++] = '.';
			for (int j = 8; j < 11 && e[j] != ' '; j++)
				shortname[k++] = (char)e[j];
		}
		shortname[k] = 0;
		longname[0] = 0;
		if (lfn_n)
			utf16le_to_utf8(lfn, (size_t)lfn_n * 13, longname, sizeof(longname));
		lfn_n = 0;
		if (name_eq(shortname, name) || (longname[0] && name_eq(longname, name))) {
			ret->dir = e[11] & 0x10;
			ret->size = ret->dir ? 0 : le32(e + 28);
			ret->first_cluster = (uint32_t)le16(e + 20) << 16 | le16(e + 26);
			if (f->bits != 32)
				ret->first_cluster &= 0xffff;
			return 0;
		}
	}
	return -ENOENT;
}

int fat_lookup(struct fat_fs *f, const char *path, struct fat_stat *ret)
{
	struct fat_stat cur = { .dir = true, .first_cluster = 0 };
	char part[256];

	while (*path) {
		size_t n;
		int r;
		while (*path == '/' || *path == '\\')
			path++;
		if (!*path)
			break;
		n = strcspn(path, "/\\");
		if (n >= sizeof(part))
			return -ENAMETOOLONG;
		if (!cur.dir)
			return -ENOTDIR;
		memcpy(part, path, n);
		part[n] = 0;
		path += n;
		r = find(f, cur.first_cluster, part, &cur);
		if (r < 0)
			return r;
		if (cur.dir && cur.first_cluster == 0 && f->bits == 32)
			cur.first_cluster = f->root_cluster; /* ".." to the root */
	}
	*ret = cur;
	return 0;
}

int fat_read(struct fat_fs *f, const struct fat_stat *st, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;
	uint32_t c = st->first_cluster, n = 0;
	uint64_t pos = 0;
	int r;

	if (st->dir || off + len > st->size)
		return -EINVAL;
	while (len > 0) {
		if (!cluster_ok(f, c) || n++ > f->n_clusters)
			return sr_fail(-EBADMSG, "%s: a FAT file's cluster chain is broken or loops", f->src->name);
		if (off < pos + f->cluster_size) {
			uint64_t in = off - pos;
			size_t m = (size_t)MIN((uint64_t)len, f->cluster_size - in);
			r = src_pread(f->src, p, m, f->data_off + (uint64_t)(c - 2) * f->cluster_size + in);
			if (r < 0)
				return r;
			p += m;
			off += m;
			len -= m;
		}
		pos += f->cluster_size;
		if (len && (r = next_cluster(f, c, &c)) < 0)
			return r;
	}
	return 0;
}

int fat_probe_buffer(const void *buf, size_t len)
{
	static const char *paths[] = { "/EFI/Microsoft/Boot/BCD", "/EFI/Boot/bootx64.efi", "/a/b/c/d", "/" };
	_cleanup_src_ struct src *s = NULL;
	struct fat_fs *f = NULL;
	int r = src_mem_new(buf, len, "buffer", &s);

	if (r < 0)
		return r;
	r = fat_open(s, &f);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		struct fat_stat st;
		uint8_t b[64];
		if (fat_lookup(f, paths[i], &st) == 0 && !st.dir && st.size)
			(void)fat_read(f, &st, b, (size_t)MIN(st.size, sizeof(b)), 0);
	}
	fat_close(f);
	return 0;
}
