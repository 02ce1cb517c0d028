/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The VSS engine. Format facts: ../shared/docs/vss-format.md (sections 3, 4
 * and 7). Everything here is parsed from untrusted bytes: every offset is
 * bounds-checked against the source it points into, every chain is guarded
 * against loops (a metadata block read twice is an error, as in libvshadow),
 * and nothing is trusted to be in order.
 */
#include "vss.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "filetime.h"
#include "hashmap.h"
#include "log.h"
#include "macro.h"
#include "unicode.h"

#define BLK VSS_BLOCK_SIZE
#define HDR_OFFSET 0x1e00
#define REC_HEADER 128
#define ENTRY_SIZE 128
#define DESC_SIZE 32
#define RANGE_SIZE 24
#define BITMAP_BITS ((BLK - REC_HEADER) * 8)

enum { REC_VOLUME = 1, REC_CATALOG = 2, REC_BLOCK_LIST = 3, REC_STORE_HEADER = 4, REC_RANGE_LIST = 5, REC_BITMAP = 6 };
enum { D_FORWARDER = 0x1, D_OVERLAY = 0x2, D_NOT_USED = 0x4 };

/* {3808876b-c176-4e48-b7ae-04046e6cc752} as on disk */
static const uint8_t vss_guid[16] = { 0x6b, 0x87, 0x08, 0x38, 0x76, 0xc1, 0x48, 0x4e,
				      0xb7, 0xae, 0x04, 0x04, 0x6e, 0x6c, 0xc7, 0x52 };

struct desc {
	uint64_t orig, rel, store_off;
	uint32_t flags, bitmap;
	int32_t overlay; /* index of the overlay descriptor that applies on top of this full copy, or -1 */
};

struct cat3 {
	struct sr_guid id;
	uint64_t list, header, range, bitmap, prev_bitmap, file_ref, alloc;
	uint64_t entry_off; /* volume offset of this type-3 entry in its catalog */
};

struct store {
	struct vss_store_info info;
	uint64_t t2_entry_off; /* volume offset of the type-2 entry in v's catalog */
	struct cat3 c3;
	struct src *c3_src; /* the volume whose catalog holds the type-3 entry */
	struct src *storage; /* where header/lists/data are: the volume itself or the storage volume */
	struct desc *d;
	size_t nd;
	struct u64map fwd; /* block number -> index in d */
	struct u64map rev; /* forwarder target block -> index in d */
	uint8_t *bitmap, *prev_bitmap; /* bit set = block not in use */
	size_t bitmap_bytes;
	struct range {
		uint64_t vol_off, rel_off, size;
	} *ranges;
	size_t n_ranges;
	VEC(uint64_t) meta; /* this store's metadata blocks (on its storage volume) */
	VEC(const char *) meta_what; /* what each of them is ("block descriptor list", ...) */
};

struct vss_volume {
	struct src *src;
	bool has_header;
	uint32_t version;
	uint64_t catalog_off, max_size;
	struct sr_guid volume_id, storage_id;
	struct store *stores;
	unsigned n;
	struct cat3 *foreign; /* type-3 entries whose type-2 entry is elsewhere */
	unsigned n_foreign;
	struct u64map seen; /* metadata blocks read on this volume (loop guard), in 512-byte units */
	VEC(uint64_t) meta; /* offsets of the 16 KiB metadata blocks read on this volume */
	VEC(uint64_t) catalog; /* offsets of this volume's catalog blocks */
};

static int store_meta_push(struct store *s, uint64_t off, const char *what)
{
	int r = vec_push(&s->meta, off);

	if (r >= 0)
		r = vec_push(&s->meta_what, what);
	return r;
}

static int bad(const struct vss_volume *v, const char *fmt, ...) _printf_(2, 3);
static int bad(const struct vss_volume *v, const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return sr_fail(-EBADMSG, "%s: %s", v->src->name, msg);
}

/*
 * Read a 16 KiB metadata block at off on src and check its record header.
 * seen guards loops; what names the structure for messages.
 */
static int read_record(struct vss_volume *v, struct src *src, struct u64map *seen, uint64_t off, uint32_t type,
		       const char *what, uint8_t *buf)
{
	uint64_t end;
	int r;

	if (off % 512 || !add_ok(off, BLK, &end) || end > src->size)
		return bad(v, "%s block at offset 0x%llx lies outside the volume '%s'", what, (unsigned long long)off,
			   src->name);
	if (u64map_get(seen, off / 512, NULL))
		return bad(v, "%s chain loops (block at offset 0x%llx read twice)", what, (unsigned long long)off);
	r = u64map_put(seen, off / 512, 1);
	if (r < 0)
		return r;
	if (src == v->src) {
		r = vec_push(&v->meta, off);
		if (r < 0)
			return r;
	}
	r = src_pread(src, buf, BLK, off);
	if (r < 0)
		return sr_fail(r, "%s: cannot read %s block at offset 0x%llx: %s", v->src->name, what,
			       (unsigned long long)off, strerror(-r));
	if (memcmp(buf, vss_guid, 16) != 0)
		return bad(v, "%s block at offset 0x%llx has no VSS signature", what, (unsigned long long)off);
	if (le32(buf + 16) != 1)
		return sr_fail(-EPROTONOSUPPORT, "%s: %s block at offset 0x%llx has unknown version %u", v->src->name,
			       what, (unsigned long long)off, le32(buf + 16));
	if (le32(buf + 20) != type)
		return bad(v, "%s block at offset 0x%llx has record type %u, expected %u", what,
			   (unsigned long long)off, le32(buf + 20), type);
	if (le64(buf + 32) != off)
		return bad(v, "%s block at offset 0x%llx says it is at offset 0x%llx", what, (unsigned long long)off,
			   (unsigned long long)le64(buf + 32));
	return 0;
}

/* A UTF-16LE string with a u16 byte count at *pos within [0, len) into out (UTF-8). */
static int read_machine(const uint8_t *p, size_t len, size_t *pos, char *out, size_t outsz)
{
	size_t n;

	out[0] = 0;
	if (*pos + 2 > len)
		return -EBADMSG;
	n = le16(p + *pos);
	*pos += 2;
	if (n % 2 || *pos + n > len)
		return -EBADMSG;
	utf16le_to_utf8(p + *pos, n / 2, out, outsz);
	*pos += n;
	return 0;
}

static int load_store_header(struct vss_volume *v, struct store *s, struct u64map *seen, uint8_t *buf)
{
	size_t info_len, pos;
	const uint8_t *p = buf + REC_HEADER;
	int r;

	r = read_record(v, s->storage, seen, s->c3.header, REC_STORE_HEADER, "store header", buf);
	if (r >= 0)
		r = store_meta_push(s, s->c3.header, "store header");
	if (r < 0)
		return r;
	info_len = le64(buf + 48);
	if (info_len < 64 || info_len > BLK - REC_HEADER)
		return bad(v, "store header at 0x%llx: store information size %zu out of range",
			   (unsigned long long)s->c3.header, info_len);
	memcpy(&s->info.copy_id, p + 16, 16);
	memcpy(&s->info.set_id, p + 32, 16);
	s->info.context = le32(p + 48);
	s->info.provider = le32(p + 52);
	s->info.attributes = le32(p + 56);
	/*
	 * The machine strings: tolerated when they do not parse (libvshadow PR#14
	 * reports a Windows Server 2012 R2 layout that differs here).
	 */
	pos = 64;
	if (read_machine(p, info_len, &pos, s->info.operating_machine, sizeof(s->info.operating_machine)) == 0)
		(void)read_machine(p, info_len, &pos, s->info.service_machine, sizeof(s->info.service_machine));
	return 0;
}

static int load_block_list(struct vss_volume *v, struct store *s, struct u64map *seen, uint8_t *buf)
{
	uint64_t off = s->c3.list;
	VEC(struct desc) d = { 0 };
	int r;

	while (off) {
		r = read_record(v, s->storage, seen, off, REC_BLOCK_LIST, "block descriptor list", buf);
		if (r >= 0)
			r = store_meta_push(s, off, "block descriptor list");
		if (r < 0)
			goto fail;
		for (size_t i = REC_HEADER; i + DESC_SIZE <= BLK; i += DESC_SIZE) {
			const uint8_t *e = buf + i;
			struct desc x = { le64(e), le64(e + 8), le64(e + 16), le32(e + 24), le32(e + 28), -1 };
			uint64_t end;

			if (!x.orig && !x.rel && !x.store_off && !x.flags && !x.bitmap)
				continue;
			if (x.flags & D_NOT_USED) {
				s->info.n_not_used++;
				continue;
			}
			if (x.orig % BLK || x.orig >= s->info.volume_size) {
				r = bad(v, "store %u: block descriptor for offset 0x%llx lies outside the volume",
					(unsigned)(s - v->stores), (unsigned long long)x.orig);
				goto fail;
			}
			if ((x.flags & D_FORWARDER) && !(x.flags & D_OVERLAY)) {
				if (x.rel % BLK || x.rel >= s->info.volume_size) {
					r = bad(v, "store %u: forwarder for offset 0x%llx points outside the volume",
						(unsigned)(s - v->stores), (unsigned long long)x.orig);
					goto fail;
				}
			} else if (!add_ok(x.store_off, BLK, &end) || end > s->storage->size) {
				r = bad(v, "store %u: block descriptor for offset 0x%llx has data outside the volume '%s'",
					(unsigned)(s - v->stores), (unsigned long long)x.orig, s->storage->name);
				goto fail;
			}
			if (d.n >= INT32_MAX) {
				r = bad(v, "store %u: too many block descriptors", (unsigned)(s - v->stores));
				goto fail;
			}
			r = vec_push(&d, x);
			if (r < 0)
				goto fail;
		}
		off = le64(buf + 40);
	}
	s->d = d.v;
	s->nd = d.n;
	s->info.n_descriptors = (uint32_t)d.n;
	return 0;
fail:
	free(d.v);
	return r;
}

static int load_range_list(struct vss_volume *v, struct store *s, struct u64map *seen, uint8_t *buf)
{
	uint64_t off = s->c3.range;
	VEC(struct range) rl = { 0 };
	int r;

	while (off) {
		r = read_record(v, s->storage, seen, off, REC_RANGE_LIST, "range list", buf);
		if (r >= 0)
			r = store_meta_push(s, off, "range list");
		if (r < 0)
			goto fail;
		for (size_t i = REC_HEADER; i + RANGE_SIZE <= BLK; i += RANGE_SIZE) {
			struct range x = { le64(buf + i), le64(buf + i + 8), le64(buf + i + 16) };
			if (!x.vol_off && !x.rel_off && !x.size)
				continue;
			r = vec_push(&rl, x);
			if (r < 0)
				goto fail;
		}
		off = le64(buf + 40);
	}
	s->ranges = rl.v;
	s->n_ranges = rl.n;
	return 0;
fail:
	free(rl.v);
	return r;
}

static int load_bitmap(struct vss_volume *v, struct store *s, struct u64map *seen, uint64_t off, const char *what,
		       uint8_t **ret, uint8_t *buf)
{
	size_t need = s->bitmap_bytes, got = 0;
	uint8_t *bm = calloc(1, need ? need : 1);
	int r;

	if (!bm)
		return -ENOMEM;
	while (off) {
		r = read_record(v, s->storage, seen, off, REC_BITMAP, what, buf);
		if (r >= 0)
			r = store_meta_push(s, off, what);
		if (r < 0) {
			free(bm);
			return r;
		}
		if (got < need) {
			size_t n = MIN(need - got, (size_t)(BLK - REC_HEADER));
			memcpy(bm + got, buf + REC_HEADER, n);
			got += n;
		}
		off = le64(buf + 40);
	}
	*ret = bm;
	return 0;
}

/* vss-format.md §4.1: the forward map F and reverse map R, in on-disk descriptor order. */
static int build_maps(struct vss_volume *v, struct store *s)
{
	unsigned idx = (unsigned)(s - v->stores);
	int r;

	for (size_t i = 0; i < s->nd; i++) {
		struct desc *d = &s->d[i];
		uint64_t orig = d->orig;
		uint32_t ei, ri;

		if (!(d->flags & D_OVERLAY) && u64map_get(&s->rev, orig / BLK, &ri)) {
			/* a chained move: this descriptor continues an earlier forwarder */
			orig = s->d[ri].orig;
			u64map_remove(&s->rev, d->orig / BLK);
		}
		if ((d->flags & D_FORWARDER) && !(d->flags & D_OVERLAY) && orig == d->rel)
			continue;
		if (u64map_get(&s->fwd, orig / BLK, &ei)) {
			struct desc *e = &s->d[ei];
			if (d->flags & D_OVERLAY) {
				int32_t ov = (e->flags & D_OVERLAY) ? (int32_t)ei : e->overlay;
				if (ov >= 0)
					s->d[ov].bitmap |= d->bitmap;
				else
					e->overlay = (int32_t)i;
				continue;
			}
			d->overlay = (e->flags & D_OVERLAY) ? (int32_t)ei : e->overlay;
		}
		/* the effective original offset of a chained move */
		d->orig = orig;
		r = u64map_put(&s->fwd, orig / BLK, (uint32_t)i);
		if (r < 0)
			return r;
		if ((d->flags & D_FORWARDER) && !(d->flags & D_OVERLAY)) {
			r = u64map_put(&s->rev, d->rel / BLK, (uint32_t)i);
			if (r < 0)
				return r;
		}
	}
	s->info.n_mapped_blocks = (uint32_t)s->fwd.n;
	for (size_t i = 0; i < s->nd; i++) {
		if (s->d[i].flags & D_OVERLAY)
			s->info.n_overlays++;
		else if (s->d[i].flags & D_FORWARDER)
			s->info.n_forwarders++;
	}
	(void)idx;
	return 0;
}

static int load_store(struct vss_volume *v, struct store *s, struct src *storage, struct u64map *seen)
{
	_cleanup_free_ uint8_t *buf = malloc(BLK);
	int r;

	if (!buf)
		return -ENOMEM;
	s->storage = src_ref(storage);
	s->info.header_offset = s->c3.header;
	s->info.block_list_offset = s->c3.list;
	s->info.range_list_offset = s->c3.range;
	s->info.bitmap_offset = s->c3.bitmap;
	s->info.previous_bitmap_offset = s->c3.prev_bitmap;
	s->info.file_reference = s->c3.file_ref;
	s->bitmap_bytes = (size_t)((s->info.volume_size / BLK + 7) / 8);
	r = load_store_header(v, s, seen, buf);
	if (r >= 0)
		r = load_block_list(v, s, seen, buf);
	if (r >= 0)
		r = load_range_list(v, s, seen, buf);
	if (r >= 0 && s->c3.bitmap)
		r = load_bitmap(v, s, seen, s->c3.bitmap, "bitmap", &s->bitmap, buf);
	if (r >= 0 && s->c3.prev_bitmap)
		r = load_bitmap(v, s, seen, s->c3.prev_bitmap, "previous bitmap", &s->prev_bitmap, buf);
	if (r >= 0)
		r = build_maps(v, s);
	if (r < 0)
		return r;
	s->info.has_data = true;
	return 0;
}

static void store_clear(struct store *s)
{
	free(s->d);
	free(s->bitmap);
	free(s->prev_bitmap);
	free(s->ranges);
	free(s->meta.v);
	free(s->meta_what.v);
	u64map_free(&s->fwd);
	u64map_free(&s->rev);
	src_unref(s->storage);
}

/* Forget what load_store() found, keeping the catalog's facts. */
static void store_reset_data(struct store *s)
{
	struct vss_store_info keep = s->info;

	store_clear(s);
	s->d = NULL;
	s->nd = 0;
	u64map_init(&s->fwd);
	u64map_init(&s->rev);
	s->bitmap = s->prev_bitmap = NULL;
	s->ranges = NULL;
	s->n_ranges = 0;
	memset(&s->meta, 0, sizeof(s->meta));
	memset(&s->meta_what, 0, sizeof(s->meta_what));
	s->storage = NULL;
	memset(&s->info, 0, sizeof(s->info));
	s->info.store_id = keep.store_id;
	s->info.volume_size = keep.volume_size;
	s->info.sequence = keep.sequence;
	s->info.catalog_flags = keep.catalog_flags;
	s->info.creation_time = keep.creation_time;
	memset(&s->c3, 0, sizeof(s->c3));
	s->c3_src = NULL;
}

void vss_volume_free(struct vss_volume *v)
{
	if (!v)
		return;
	for (unsigned i = 0; i < v->n; i++)
		store_clear(&v->stores[i]);
	free(v->stores);
	free(v->foreign);
	free(v->meta.v);
	free(v->catalog.v);
	u64map_free(&v->seen);
	src_unref(v->src);
	free(v);
}

static int cmp_store_time(const void *a, const void *b)
{
	const struct store *x = a, *y = b;

	if (x->info.creation_time != y->info.creation_time)
		return x->info.creation_time < y->info.creation_time ? -1 : 1;
	/* equal times: keep the catalog order (sequence, then position) */
	if (x->info.sequence != y->info.sequence)
		return x->info.sequence < y->info.sequence ? -1 : 1;
	return 0;
}

static int check_ntfs(struct vss_volume *v, bool need_backup)
{
	uint8_t boot[512], backup[512];
	uint64_t total, bps, off;
	int r;

	r = src_pread(v->src, boot, sizeof(boot), 0);
	if (r < 0)
		return sr_fail(r == -EINVAL ? -EMEDIUMTYPE : r, "%s: cannot read the boot sector%s", v->src->name,
			       r == -EINVAL ? " (the image is too small)" : "");
	if (memcmp(boot + 3, "NTFS    ", 8) != 0)
		return sr_fail(-EMEDIUMTYPE, "%s: not an NTFS volume (no NTFS boot sector)", v->src->name);
	if (!need_backup)
		return 0;
	bps = le16(boot + 11);
	total = le64(boot + 40);
	if (bps < 256 || bps > 4096 || (bps & (bps - 1)))
		return bad(v, "NTFS boot sector: bad sector size %llu", (unsigned long long)bps);
	if (total > UINT64_MAX / bps || total * bps + 512 > v->src->size)
		return bad(v, "backup boot sector missing: the volume is shorter than its boot sector says");
	off = total * bps;
	r = src_pread(v->src, backup, sizeof(backup), off);
	if (r < 0)
		return r;
	if (memcmp(backup + 3, "NTFS    ", 8) != 0)
		return bad(v, "backup boot sector missing (no NTFS boot sector at offset 0x%llx)",
			   (unsigned long long)off);
	return 0;
}

static int parse(struct src *src, struct vss_volume **ret)
{
	struct vss_volume *v;
	_cleanup_free_ uint8_t *buf = NULL;
	uint8_t hdr[512];
	VEC(struct store) st = { 0 };
	VEC(struct cat3) c3 = { 0 };
	uint64_t off;
	int r;

	v = calloc(1, sizeof(*v));
	buf = malloc(BLK);
	if (!v || !buf) {
		free(v);
		return -ENOMEM;
	}
	v->src = src_ref(src);
	u64map_init(&v->seen);

	r = check_ntfs(v, false);
	if (r < 0)
		goto fail;
	r = src_pread(src, hdr, sizeof(hdr), HDR_OFFSET);
	if (r < 0)
		goto done_noheader;
	if (memcmp(hdr, vss_guid, 16) != 0)
		goto done_noheader;
	v->has_header = true;
	v->version = le32(hdr + 16);
	if (v->version != 1 && v->version != 2) {
		r = sr_fail(-EPROTONOSUPPORT, "%s: VSS volume header has unknown version %u", src->name, v->version);
		goto fail;
	}
	if (le32(hdr + 20) != REC_VOLUME) {
		r = bad(v, "VSS volume header has record type %u, expected 1", le32(hdr + 20));
		goto fail;
	}
	v->catalog_off = le64(hdr + 48);
	v->max_size = le64(hdr + 56);
	memcpy(&v->volume_id, hdr + 64, 16);
	memcpy(&v->storage_id, hdr + 80, 16);

	/* the catalog: type-2 and type-3 entries, in any order, across the chain */
	for (off = v->catalog_off; off;) {
		r = read_record(v, src, &v->seen, off, REC_CATALOG, "catalog", buf);
		if (r >= 0)
			r = vec_push(&v->catalog, off);
		if (r < 0)
			goto fail;
		for (size_t i = REC_HEADER; i + ENTRY_SIZE <= BLK; i += ENTRY_SIZE) {
			const uint8_t *e = buf + i;
			uint64_t type = le64(e);

			if (type == 0 || type == 1)
				continue;
			if (type == 2) {
				struct store s = { 0 };
				s.info.volume_size = le64(e + 8);
				memcpy(&s.info.store_id, e + 16, 16);
				s.info.sequence = le64(e + 32);
				s.info.catalog_flags = le64(e + 40);
				s.info.creation_time = le64(e + 48);
				s.t2_entry_off = off + i;
				if (s.info.volume_size == 0 || s.info.volume_size > src->size) {
					r = bad(v, "catalog entry for store {%s}: volume size %llu does not fit the volume (%llu bytes)",
						guid_format(&s.info.store_id, (char[GUID_STRING_MAX]){ 0 }),
						(unsigned long long)s.info.volume_size, (unsigned long long)src->size);
					goto fail;
				}
				for (size_t j = 0; j < st.n; j++)
					if (guid_equal(&st.v[j].info.store_id, &s.info.store_id)) {
						r = bad(v, "catalog lists store {%s} twice",
							guid_format(&s.info.store_id, (char[GUID_STRING_MAX]){ 0 }));
						goto fail;
					}
				r = vec_push(&st, s);
			} else if (type == 3) {
				struct cat3 x;
				x.list = le64(e + 8);
				memcpy(&x.id, e + 16, 16);
				x.header = le64(e + 32);
				x.range = le64(e + 40);
				x.bitmap = le64(e + 48);
				x.file_ref = le64(e + 56);
				x.alloc = le64(e + 64);
				x.prev_bitmap = le64(e + 72);
				x.entry_off = off + i;
				r = vec_push(&c3, x);
			} else {
				r = bad(v, "catalog block at 0x%llx: entry of unknown type %llu", (unsigned long long)off,
					(unsigned long long)type);
				goto fail;
			}
			if (r < 0)
				goto fail;
		}
		off = le64(buf + 40);
	}

	/* match type-3 entries to type-2 entries by store GUID (never by position) */
	for (size_t i = 0; i < c3.n; i++) {
		size_t j;
		for (j = 0; j < st.n; j++)
			if (guid_equal(&st.v[j].info.store_id, &c3.v[i].id))
				break;
		if (j == st.n) {
			c3.v[v->n_foreign++] = c3.v[i];
			continue;
		}
		if (st.v[j].c3.header) {
			r = bad(v, "catalog has two store entries for {%s}",
				guid_format(&c3.v[i].id, (char[GUID_STRING_MAX]){ 0 }));
			goto fail;
		}
		st.v[j].c3 = c3.v[i];
		st.v[j].c3_src = src;
		if (!st.v[j].c3.header) {
			r = bad(v, "catalog entry for store {%s} has no store header offset",
				guid_format(&c3.v[i].id, (char[GUID_STRING_MAX]){ 0 }));
			goto fail;
		}
	}
	v->foreign = c3.v;
	c3.v = NULL;

	if (st.n > 1)
		qsort(st.v, st.n, sizeof(*st.v), cmp_store_time);
	v->stores = st.v;
	v->n = (unsigned)st.n;
	st.v = NULL;
	for (unsigned i = 0; i < v->n; i++) {
		if (!v->stores[i].c3.header)
			continue; /* its data is on another volume */
		r = load_store(v, &v->stores[i], src, &v->seen);
		if (r < 0)
			goto fail;
	}
	if (v->n > 0) {
		r = check_ntfs(v, true);
		if (r < 0)
			goto fail;
	}
	*ret = v;
	return 0;

done_noheader:
	*ret = v;
	return 0;
fail:
	free(st.v);
	free(c3.v);
	vss_volume_free(v);
	return r;
}

int vss_volume_open(struct src *vol, struct vss_volume **ret)
{
	return parse(vol, ret);
}

int vss_parse_buffer(const void *buf, size_t len, struct vss_volume **ret)
{
	_cleanup_src_ struct src *s = NULL;
	int r = src_mem_new(buf, len, "buffer", &s);

	if (r < 0)
		return r;
	return parse(s, ret);
}

const char *vss_volume_name(const struct vss_volume *v) { return v->src->name; }
struct src *vss_volume_src(const struct vss_volume *v) { return v->src; }
bool vss_volume_has_header(const struct vss_volume *v) { return v->has_header; }
const struct sr_guid *vss_volume_id(const struct vss_volume *v) { return &v->volume_id; }
const struct sr_guid *vss_volume_storage_id(const struct vss_volume *v) { return &v->storage_id; }
uint64_t vss_volume_catalog_offset(const struct vss_volume *v) { return v->catalog_off; }
unsigned vss_volume_store_count(const struct vss_volume *v) { return v->n; }
unsigned vss_volume_foreign_count(const struct vss_volume *v) { return v->n_foreign; }

const struct vss_store_info *vss_volume_store(const struct vss_volume *v, unsigned idx)
{
	return idx < v->n ? &v->stores[idx].info : NULL;
}

const char *vss_store_storage_name(const struct vss_volume *v, unsigned idx)
{
	if (idx >= v->n || !v->stores[idx].storage)
		return NULL;
	return v->stores[idx].storage->name;
}

int vss_volume_find_copy(const struct vss_volume *v, const struct sr_guid *copy_id)
{
	for (unsigned i = 0; i < v->n; i++)
		if (v->stores[i].info.has_data && guid_equal(&v->stores[i].info.copy_id, copy_id))
			return (int)i;
	return -ENOENT;
}

int vss_volume_attach_storage(struct vss_volume *v, struct vss_volume *y)
{
	struct u64map seen;
	int attached = 0, r = 0;

	if (v == y)
		return 0;
	u64map_init(&seen);
	/* the blocks y's own stores use must not be reused by the foreign stores */
	for (size_t i = 0; i < y->seen.cap; i++)
		if (y->seen.keys[i] < UINT64_MAX - 1 && (r = u64map_put(&seen, y->seen.keys[i], 1)) < 0)
			goto out;
	for (unsigned i = 0; i < v->n; i++) {
		struct store *s = &v->stores[i];
		if (s->info.has_data)
			continue;
		for (unsigned j = 0; j < y->n_foreign; j++) {
			if (!guid_equal(&y->foreign[j].id, &s->info.store_id))
				continue;
			if (!y->foreign[j].header) {
				r = sr_fail(-EBADMSG, "%s: catalog entry for store {%s} has no store header offset",
					    y->src->name, guid_format(&s->info.store_id, (char[GUID_STRING_MAX]){ 0 }));
				goto out;
			}
			s->c3 = y->foreign[j];
			s->c3_src = y->src;
			/* messages about this store's metadata name the storage volume */
			r = load_store(y, s, y->src, &seen);
			if (r < 0) {
				store_reset_data(s);
				goto out;
			}
			s->info.storage_remote = true;
			attached++;
			break;
		}
	}
out:
	u64map_free(&seen);
	return r < 0 ? r : attached;
}

int vss_view_check(const struct vss_volume *v, unsigned k)
{
	if (k >= v->n)
		return -ENOENT;
	for (unsigned j = k; j < v->n; j++)
		if (!v->stores[j].info.has_data) {
			char id[GUID_STRING_MAX], vid[GUID_STRING_MAX];
			return sr_fail(-ENOMEDIUM,
				       "%s: the data of shadow copy store {%s} is on another volume (shadow storage volume id {%s}): give that volume's image too",
				       v->src->name, guid_format(&v->stores[j].info.store_id, id),
				       guid_format(&v->storage_id, vid));
		}
	return 0;
}

/*
 * Where the bytes of [off, off+len) (inside one 16 KiB block) of the view of
 * store s come from, with a the store being viewed (vss-format.md §4.2).
 */
enum seg_kind { SEG_LIVE, SEG_STORE, SEG_ZERO, SEG_OVERLAY };
struct seg {
	enum seg_kind kind;
	struct src *src;
	uint64_t off;
	unsigned store; /* SEG_OVERLAY: the store whose overlay applies */
	uint32_t desc;
};

static bool bit_set(const uint8_t *bm, size_t bytes, uint64_t b)
{
	return b / 8 < bytes && (bm[b / 8] >> (b % 8)) & 1;
}

/* Resolution at store s, when store s itself has no descriptor that applies. */
static void resolve(const struct vss_volume *v, unsigned s, unsigned a, uint64_t off, unsigned flags,
		    struct seg *ret);

static void resolve_past(const struct vss_volume *v, unsigned s, unsigned a, uint64_t off, unsigned flags,
			 struct seg *ret)
{
	const struct store *st = &v->stores[s];
	uint64_t b = off / BLK;

	if (s + 1 < v->n) {
		resolve(v, s + 1, a, off, flags, ret);
		return;
	}
	/* libvshadow zero-fills blocks of the newest store, viewed directly, that were not in use */
	if (s == a && !(flags & VSS_READ_NO_ZERO_FILL) && st->bitmap && !u64map_get(&st->rev, b, NULL) &&
	    bit_set(st->bitmap, st->bitmap_bytes, b) &&
	    (!st->prev_bitmap || bit_set(st->prev_bitmap, st->bitmap_bytes, b))) {
		ret->kind = SEG_ZERO;
		return;
	}
	ret->kind = SEG_LIVE;
	ret->src = v->src;
	ret->off = off;
}

/* Use full-copy or forwarder descriptor d of store s. */
static void resolve_desc(const struct vss_volume *v, unsigned s, unsigned a, const struct desc *d, uint64_t off,
			 unsigned flags, struct seg *ret)
{
	uint64_t in = off % BLK;

	if (d->flags & D_FORWARDER) {
		if (s + 1 < v->n) {
			resolve(v, s + 1, a, d->rel + in, flags, ret);
		} else {
			ret->kind = SEG_LIVE;
			ret->src = v->src;
			ret->off = d->rel + in;
		}
		return;
	}
	ret->kind = SEG_STORE;
	ret->src = v->stores[s].storage;
	ret->off = d->store_off + in;
}

static void resolve(const struct vss_volume *v, unsigned s, unsigned a, uint64_t off, unsigned flags,
		    struct seg *ret)
{
	for (;;) {
		const struct store *st = &v->stores[s];
		const struct desc *d, *ov;
		uint32_t di;

		if (!u64map_get(&st->fwd, off / BLK, &di)) {
			if (s + 1 < v->n) {
				s++;
				continue;
			}
			resolve_past(v, s, a, off, flags, ret);
			return;
		}
		d = &st->d[di];
		ov = (d->flags & D_OVERLAY) ? d : (d->overlay >= 0 ? &st->d[d->overlay] : NULL);
		if (ov && s == a) {
			ret->kind = SEG_OVERLAY;
			ret->store = s;
			ret->desc = di;
			return;
		}
		if (d == ov) { /* a foreign overlay-only entry: not part of this view */
			if (s + 1 < v->n) {
				s++;
				continue;
			}
			resolve_past(v, s, a, off, flags, ret);
			return;
		}
		resolve_desc(v, s, a, d, off, flags, ret);
		return;
	}
}

static int read_seg(const struct seg *g, void *buf, size_t len)
{
	if (g->kind == SEG_ZERO) {
		memset(buf, 0, len);
		return 0;
	}
	return src_pread(g->src, buf, len, g->off);
}

/* [off, off+len) within one block of store a's view, where store a has an overlay on that block. */
static int read_overlay(const struct vss_volume *v, const struct seg *g, uint8_t *buf, size_t len, uint64_t off,
			unsigned flags)
{
	const struct store *st = &v->stores[g->store];
	const struct desc *d = &st->d[g->desc];
	const struct desc *ov = (d->flags & D_OVERLAY) ? d : &st->d[d->overlay];
	unsigned a = g->store;

	while (len > 0) {
		uint64_t in = off % BLK;
		unsigned sector = (unsigned)(in / 512);
		size_t n = MIN(len, (size_t)(512 - in % 512));
		bool on = (ov->bitmap >> sector) & 1;
		struct seg sub;
		int r;

		/* extend over following sectors with the same overlay bit */
		while (n < len && (((ov->bitmap >> ((in + n) / 512)) & 1) == on))
			n = MIN(len, n + 512);
		if (on) {
			sub.kind = SEG_STORE;
			sub.src = st->storage;
			sub.off = ov->store_off + in;
		} else if (d == ov) {
			resolve_past(v, a, a, off, flags, &sub);
		} else {
			resolve_desc(v, a, a, d, off, flags, &sub);
		}
		r = read_seg(&sub, buf, n);
		if (r < 0)
			return r;
		buf += n;
		off += n;
		len -= n;
	}
	return 0;
}

/*
 * Read the view of store k as seen by store a: a == k is the view itself; a
 * reader that is no store (a >= n) sees it without store k's own overlays.
 */
static int view_read(struct vss_volume *v, unsigned k, unsigned a, void *buf, size_t len, uint64_t off,
		     unsigned flags);

int vss_view_pread(struct vss_volume *v, unsigned k, void *buf, size_t len, uint64_t off, unsigned flags)
{
	return view_read(v, k, k, buf, len, off, flags);
}

static int view_read(struct vss_volume *v, unsigned k, unsigned a, void *buf, size_t len, uint64_t off,
		     unsigned flags)
{
	uint8_t *p = buf;
	uint64_t end;
	struct seg run = { 0 };
	size_t run_len = 0;
	uint8_t *run_buf = NULL;
	int r;

	if (k >= v->n)
		return -ENOENT;
	if (!add_ok(off, len, &end) || end > v->stores[k].info.volume_size)
		return -EINVAL;
	r = vss_view_check(v, k);
	if (r < 0)
		return r;

	/* coalesce neighbouring pieces that come from one contiguous range of one source */
	while (len > 0) {
		size_t n = MIN(len, (size_t)(BLK - off % BLK));
		struct seg g;

		resolve(v, k, a, off, flags, &g);
		if (run_len && g.kind == run.kind && g.kind != SEG_OVERLAY &&
		    (g.kind == SEG_ZERO || (g.src == run.src && g.off == run.off + run_len))) {
			run_len += n;
		} else {
			if (run_len) {
				r = read_seg(&run, run_buf, run_len);
				if (r < 0)
					return r;
				run_len = 0;
			}
			if (g.kind == SEG_OVERLAY) {
				r = read_overlay(v, &g, p, n, off, flags);
				if (r < 0)
					return r;
			} else {
				run = g;
				run_buf = p;
				run_len = n;
			}
		}
		p += n;
		off += n;
		len -= n;
	}
	if (run_len)
		return read_seg(&run, run_buf, run_len);
	return 0;
}

struct view_priv {
	struct vss_volume *v;
	unsigned k;
};

static int view_src_pread(struct src *s, void *buf, size_t len, uint64_t off)
{
	struct view_priv *p = s->priv;

	return vss_view_pread(p->v, p->k, buf, len, off, 0);
}

/*
 * The first extent of [off, off+len) of the view: the run of blocks that
 * resolve to one contiguous range of one source (then mapped through that
 * source), or to zeros; a block with overlay sectors is SRC_EXTENT_READ.
 */
static int view_src_map(struct src *s, uint64_t off, size_t len, struct src_extent *ret)
{
	struct view_priv *p = s->priv;
	struct vss_volume *v = p->v;
	struct seg run = { 0 };
	size_t run_len = 0;
	int r;

	r = vss_view_check(v, p->k);
	if (r < 0)
		return r;
	while (run_len < len) {
		size_t n = MIN(len - run_len, (size_t)(BLK - (off + run_len) % BLK));
		struct seg g;

		resolve(v, p->k, p->k, off + run_len, 0, &g);
		if (run_len == 0) {
			if (g.kind == SEG_OVERLAY) {
				*ret = (struct src_extent){ .kind = SRC_EXTENT_READ, .fd = -1, .len = n };
				return 0;
			}
			run = g;
		} else if (g.kind != run.kind || g.kind == SEG_OVERLAY ||
			   (g.kind != SEG_ZERO && (g.src != run.src || g.off != run.off + run_len))) {
			break;
		}
		run_len += n;
	}
	if (run.kind == SEG_ZERO) {
		*ret = (struct src_extent){ .kind = SRC_EXTENT_ZERO, .fd = -1, .len = run_len };
		return 0;
	}
	return src_map(run.src, run.off, run_len, ret);
}

static void view_src_destroy(struct src *s)
{
	free(s->priv);
}

static const struct src_ops view_ops = { view_src_pread, view_src_destroy };

int vss_view_src_new(struct vss_volume *v, unsigned k, struct src **ret)
{
	struct view_priv *p;
	char name[512], id[GUID_STRING_MAX];
	int r;

	r = vss_view_check(v, k);
	if (r < 0)
		return r;
	p = malloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->v = v;
	p->k = k;
	snprintf(name, sizeof(name), "%s@{%s}", v->src->name, guid_format(&v->stores[k].info.copy_id, id));
	r = src_new(&view_ops, v->stores[k].info.volume_size, name, p, ret);
	if (r < 0) {
		free(p);
		return r;
	}
	(*ret)->map = view_src_map;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int vss_revert_block_set(const struct vss_volume *v, unsigned k, uint64_t **ret, size_t *ret_n)
{
	struct u64map set;
	VEC(uint64_t) out = { 0 };
	int r;

	r = vss_view_check(v, k);
	if (r < 0)
		return r;
	u64map_init(&set);
	for (unsigned j = k; j < v->n; j++) {
		const struct store *st = &v->stores[j];
		for (size_t i = 0; i < st->fwd.cap; i++) {
			uint64_t b = st->fwd.keys[i];
			const struct desc *d;
			if (b >= UINT64_MAX - 1)
				continue; /* empty slot or tombstone */
			d = &st->d[st->fwd.vals[i]];
			if (j > k && (d->flags & D_OVERLAY))
				continue; /* a later store's overlay-only entry is not part of view k */
			if (u64map_get(&set, b, NULL))
				continue;
			r = u64map_put(&set, b, 1);
			if (r >= 0)
				r = vec_push(&out, b * BLK);
			if (r < 0)
				goto fail;
		}
	}
	u64map_free(&set);
	if (out.n > 1)
		qsort(out.v, out.n, sizeof(*out.v), cmp_u64);
	*ret = out.v;
	*ret_n = out.n;
	return 0;
fail:
	u64map_free(&set);
	free(out.v);
	return r;
}

static int cmp_range(const void *a, const void *b)
{
	const struct vss_range *x = a, *y = b;
	return x->off < y->off ? -1 : x->off > y->off;
}

static int cmp_protected(const void *a, const void *b)
{
	const struct vss_protected *x = a, *y = b;
	return x->off < y->off ? -1 : x->off > y->off;
}

int vss_revert_protected(const struct vss_volume *v, unsigned lo, unsigned hi, struct vss_protected **ret,
			 size_t *ret_n)
{
	VEC(struct vss_protected) out = { 0 };
	int r = 0;

	if (v->has_header)
		r = vec_push(&out, ((struct vss_protected){ VSS_HEADER_OFFSET, VSS_HEADER_SIZE, -1, "volume header" }));
	for (size_t i = 0; i < v->catalog.n && r >= 0; i++)
		r = vec_push(&out, ((struct vss_protected){ v->catalog.v[i], BLK, -1, "catalog" }));
	for (unsigned j = lo; j < MIN(hi, v->n) && r >= 0; j++) {
		const struct store *st = &v->stores[j];
		if (st->storage != v->src)
			continue; /* kept on another volume: writing this one cannot touch it */
		for (size_t i = 0; i < st->meta.n && r >= 0; i++)
			r = vec_push(&out, ((struct vss_protected){ st->meta.v[i], BLK, (int)j, st->meta_what.v[i] }));
		/* the copies its descriptors point at (forwarders point into the view, not into the store) */
		for (size_t i = 0; i < st->nd && r >= 0; i++)
			if (!(st->d[i].flags & D_FORWARDER) || (st->d[i].flags & D_OVERLAY))
				r = vec_push(&out, ((struct vss_protected){ st->d[i].store_off, BLK, (int)j,
									    (st->d[i].flags & D_OVERLAY) ? "overlay data block"
													 : "store data block" }));
	}
	if (r < 0) {
		free(out.v);
		return r;
	}
	if (out.n > 1)
		qsort(out.v, out.n, sizeof(*out.v), cmp_protected);
	*ret = out.v;
	*ret_n = out.n;
	return 0;
}

/* The sectors of store k's overlay ov on block b that differ from view k without its overlays (a bitmask). */
static uint32_t overlay_changes(struct vss_volume *v, unsigned k, const struct desc *ov, uint64_t b)
{
	uint8_t base[512], over[512];
	uint32_t changed = 0;

	for (unsigned sct = 0; sct < 32; sct++) {
		uint64_t off = b * BLK + sct * 512u;
		if (!((ov->bitmap >> sct) & 1) || off + 512 > v->stores[k].info.volume_size)
			continue;
		if (view_read(v, k, v->n, base, sizeof(base), off, VSS_READ_NO_ZERO_FILL) < 0 ||
		    src_pread(v->stores[k].storage, over, sizeof(over), ov->store_off + sct * 512u) < 0 ||
		    memcmp(base, over, sizeof(base)) != 0)
			changed |= 1u << sct; /* differs, or cannot tell */
	}
	return changed;
}

/*
 * Where sector off of store j's own view comes from (one 512-byte sector,
 * read as store j sees it). With v->n lowered to k this is where it comes
 * from once stores k..n-1 are gone.
 */
static void resolve_sector(const struct vss_volume *v, unsigned j, uint64_t off, struct seg *ret)
{
	const unsigned flags = VSS_READ_NO_ZERO_FILL;

	resolve(v, j, j, off, flags, ret);
	if (ret->kind == SEG_OVERLAY) {
		const struct store *st = &v->stores[ret->store];
		const struct desc *d = &st->d[ret->desc];
		const struct desc *ov = (d->flags & D_OVERLAY) ? d : &st->d[d->overlay];

		if ((ov->bitmap >> (off % BLK / 512)) & 1) {
			ret->kind = SEG_STORE;
			ret->src = st->storage;
			ret->off = ov->store_off + off % BLK;
		} else if (d == ov) {
			resolve_past(v, j, j, off, flags, ret);
		} else {
			resolve_desc(v, j, j, d, off, flags, ret);
		}
	}
}

int vss_revert_overlay_victim(struct vss_volume *v, unsigned k, int *ret_victim, uint64_t *ret_block)
{
	const struct store *sk;
	struct u64map changed; /* block -> sectors of store k's overlays that differ from what older stores read */
	VEC(uint64_t) cand = { 0 };
	unsigned n = v->n;
	int worst = -1, r = 0;

	*ret_victim = -1;
	if (k >= v->n || k == 0)
		return 0;
	u64map_init(&changed);
	sk = &v->stores[k];
	for (size_t i = 0; i < sk->fwd.cap && r >= 0; i++) {
		uint64_t b = sk->fwd.keys[i];
		const struct desc *d, *ov;
		uint32_t mask;
		if (b >= UINT64_MAX - 1)
			continue;
		d = &sk->d[sk->fwd.vals[i]];
		ov = (d->flags & D_OVERLAY) ? d : (d->overlay >= 0 ? &sk->d[d->overlay] : NULL);
		if (!ov || !ov->bitmap)
			continue;
		mask = overlay_changes(v, k, ov, b);
		if (mask && (r = u64map_put(&changed, b, mask)) >= 0)
			r = vec_push(&cand, b);
	}
	/*
	 * Store j < k reads block X from the volume once stores k..n-1 are gone,
	 * where it read the view of store k without its overlays before: either
	 * X itself or, through forwarders of stores j..k-1, another block. Only
	 * the overlay sectors that differ can change what it reads; they are
	 * followed for X in the changed blocks and every forwarder's block.
	 */
	v->n = k;
	for (int j = (int)k - 1; j >= 0 && worst < 0 && r >= 0 && changed.n; j--) {
		const struct store *st = &v->stores[j];
		for (size_t i = 0; i < st->nd && r >= 0; i++)
			if ((st->d[i].flags & (D_FORWARDER | D_OVERLAY)) == D_FORWARDER)
				r = vec_push(&cand, st->d[i].orig / BLK);
		for (size_t c = 0; c < cand.n && worst < 0 && r >= 0; c++) {
			uint64_t x = cand.v[c];
			if (st->bitmap && bit_set(st->bitmap, st->bitmap_bytes, x))
				continue; /* not in use when j was taken: nothing to keep */
			for (unsigned sct = 0; sct < BLK / 512 && x * BLK + sct * 512u < st->info.volume_size; sct++) {
				struct seg g;
				uint32_t mask;
				resolve_sector(v, (unsigned)j, x * BLK + sct * 512u, &g);
				if (g.kind == SEG_LIVE && u64map_get(&changed, g.off / BLK, &mask) &&
				    ((mask >> (g.off % BLK / 512)) & 1)) {
					worst = j;
					if (ret_block)
						*ret_block = x * BLK;
					break;
				}
			}
		}
	}
	v->n = n;
	u64map_free(&changed);
	free(cand.v);
	if (r < 0)
		return r;
	*ret_victim = worst;
	return 0;
}

struct src *vss_store_storage(const struct vss_volume *v, unsigned idx)
{
	return idx < v->n ? v->stores[idx].storage : NULL;
}

int vss_store_data_ranges(const struct vss_volume *v, unsigned idx, struct vss_range **ret, size_t *ret_n)
{
	VEC(struct vss_range) out = { 0 };
	const struct store *st;
	int r = 0;

	if (idx >= v->n || !v->stores[idx].info.has_data)
		return -ENOENT;
	st = &v->stores[idx];
	for (size_t i = 0; i < st->meta.n && r >= 0; i++)
		r = vec_push(&out, ((struct vss_range){ st->meta.v[i], BLK }));
	for (size_t i = 0; i < st->nd && r >= 0; i++)
		if (!(st->d[i].flags & D_FORWARDER) || (st->d[i].flags & D_OVERLAY))
			r = vec_push(&out, ((struct vss_range){ st->d[i].store_off, BLK }));
	if (r < 0) {
		free(out.v);
		return r;
	}
	if (out.n > 1)
		qsort(out.v, out.n, sizeof(*out.v), cmp_range);
	*ret = out.v;
	*ret_n = out.n;
	return 0;
}

int vss_drop_entries(const struct vss_volume *v, unsigned k, struct vss_entry_ref **ret, size_t *ret_n)
{
	VEC(struct vss_entry_ref) out = { 0 };
	int r = 0;

	for (unsigned j = k; j < v->n && r >= 0; j++) {
		const struct store *st = &v->stores[j];
		r = vec_push(&out, ((struct vss_entry_ref){ v->src, st->t2_entry_off, j, 2 }));
		if (r >= 0 && st->c3_src)
			r = vec_push(&out, ((struct vss_entry_ref){ st->c3_src, st->c3.entry_off, j, 3 }));
	}
	if (r < 0) {
		free(out.v);
		return r;
	}
	*ret = out.v;
	*ret_n = out.n;
	return 0;
}

void vss_attr_names(uint32_t attr, char *buf, size_t size)
{
	/* in the order and spelling diskshadow prints them */
	static const struct {
		uint32_t bit;
		const char *name;
	} names[] = {
		{ VSS_ATTR_NO_AUTO_RELEASE, "No_Auto_Release" },
		{ VSS_ATTR_PERSISTENT, "Persistent" },
		{ VSS_ATTR_CLIENT_ACCESSIBLE, "Client_accessible" },
		{ VSS_ATTR_NO_AUTORECOVERY, "No_Auto_Recovery" },
		{ VSS_ATTR_NO_WRITERS, "No_Writers" },
		{ VSS_ATTR_TRANSPORTABLE, "Transportable" },
		{ VSS_ATTR_NOT_SURFACED, "Not_Surfaced" },
		{ VSS_ATTR_NOT_TRANSACTED, "Not_Transacted" },
		{ VSS_ATTR_HARDWARE_ASSISTED, "Hardware_Assisted" },
		{ VSS_ATTR_DIFFERENTIAL, "Differential" },
		{ VSS_ATTR_PLEX, "Plex" },
		{ VSS_ATTR_IMPORTED, "Imported" },
		{ VSS_ATTR_EXPOSED_LOCALLY, "Exposed_locally" },
		{ VSS_ATTR_EXPOSED_REMOTELY, "Exposed_remotely" },
		{ VSS_ATTR_AUTORECOVER, "Auto_Recovered" },
		{ VSS_ATTR_ROLLBACK_RECOVERY, "Rollback_Recovery" },
		{ VSS_ATTR_DELAYED_POSTSNAPSHOT, "Delayed_Postsnapshot" },
		{ VSS_ATTR_TXF_RECOVERY, "TxF_Recovery" },
		{ VSS_ATTR_FILE_SHARE, "File_Share" },
	};
	size_t used = 0;
	uint32_t rest = attr;

	if (size)
		buf[0] = 0;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (!(attr & names[i].bit))
			continue;
		rest &= ~names[i].bit;
		used += (size_t)snprintf(buf + MIN(used, size), size > used ? size - used : 0, "%s%s", used ? " " : "",
					 names[i].name);
	}
	if (rest)
		snprintf(buf + MIN(used, size), size > used ? size - used : 0, "%s0x%x", used ? " " : "", rest);
}

const char *vss_context_name(uint32_t ctx)
{
	switch (ctx) {
	case 0x0: return "volatile";
	case 0x10: return "volatile nowriters";
	case 0x9: return "persistent";
	case 0x19: return "persistent nowriters";
	case 0x1d: return "clientaccessible";
	case 0xd: return "clientaccessible writers";
	case 0xffffffff: return "all";
	default: return NULL;
	}
}
