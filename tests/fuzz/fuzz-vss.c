/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz the VSS engine (core/vss.h): open a volume described by a sparse
 * input (sparse.h), read every store's view where the metadata points (the
 * first and last bytes, around the blocks the descriptors name, unaligned
 * and across block boundaries, with and without zero fill), read it again
 * through vss_view_src_new(), compute the revert block set, and, when the input holds a second volume,
 * attach it as shadow storage in both directions.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/vss.h"
#include "sparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_STORES 32
#define MAX_DESC 8
#define READ_MAX (VSS_BLOCK_SIZE + 2048)

static uint8_t rbuf[READ_MAX];

/* Read [off, off+len) of store k's view, clamped to the view's size, both ways. */
static void view_read(struct vss_volume *v, unsigned k, uint64_t vsize, uint64_t off, size_t len)
{
	if (off >= vsize)
		return;
	len = (size_t)MIN((uint64_t)MIN(len, sizeof(rbuf)), vsize - off);
	(void)vss_view_pread(v, k, rbuf, len, off, 0);
	(void)vss_view_pread(v, k, rbuf, len, off, VSS_READ_NO_ZERO_FILL);
}

/* The original offsets of the first few descriptors of the store's block list, read as the engine does. */
static size_t descriptor_offsets(struct src *storage, uint64_t list, uint64_t *ret, size_t max)
{
	static uint8_t blk[VSS_BLOCK_SIZE];
	size_t n = 0;

	if (!storage || !list || src_pread(storage, blk, sizeof(blk), list) < 0)
		return 0;
	for (size_t i = 128; i + 32 <= sizeof(blk) && n < max; i += 32) {
		uint64_t orig = le64(blk + i), rel = le64(blk + i + 8);
		if (!orig && !rel && !le64(blk + i + 16))
			continue;
		ret[n++] = orig;
		if (n < max && rel > 1)
			ret[n++] = rel; /* a forwarder's target */
	}
	return n;
}

static void exercise(struct vss_volume *v, struct src *self, struct src *other)
{
	unsigned n = vss_volume_store_count(v);
	char buf[512];

	(void)vss_volume_name(v);
	(void)vss_volume_has_header(v);
	(void)vss_volume_catalog_offset(v);
	(void)vss_volume_foreign_count(v);
	(void)guid_format(vss_volume_id(v), buf);
	(void)guid_format(vss_volume_storage_id(v), buf);
	for (unsigned k = 0; k < n && k < MAX_STORES; k++) {
		const struct vss_store_info *s = vss_volume_store(v, k);
		const char *sname = vss_store_storage_name(v, k);
		struct src *storage = NULL, *view = NULL;
		uint64_t offs[MAX_DESC], vsize = s->volume_size;
		size_t nd;

		vss_attr_names(s->attributes, buf, sizeof(buf));
		vss_attr_names(s->attributes, buf, 7);
		(void)vss_context_name(s->context);
		(void)vss_volume_find_copy(v, &s->copy_id);
		if (vss_view_check(v, k) < 0) {
			sr_errclear();
			(void)vss_view_pread(v, k, rbuf, 1, 0, 0);
			continue;
		}
		view_read(v, k, vsize, 0, 4096);
		view_read(v, k, vsize, vsize > 4096 ? vsize - 4096 : 0, 4096);
		view_read(v, k, vsize, 0x1e00, 512);
		if (sname && self && strcmp(sname, self->name) == 0)
			storage = self;
		else if (sname && other && strcmp(sname, other->name) == 0)
			storage = other;
		nd = descriptor_offsets(storage, s->block_list_offset, offs, MAX_DESC);
		for (size_t i = 0; i < nd; i++) {
			uint64_t o = offs[i] - offs[i] % 512;
			view_read(v, k, vsize, o >= 1024 ? o - 1024 : 0, READ_MAX);
			view_read(v, k, vsize, o + 300, 1000);
			view_read(v, k, vsize, o + VSS_BLOCK_SIZE - 7, 14);
		}
		/* out of range: must fail cleanly */
		(void)vss_view_pread(v, k, rbuf, 2, vsize - 1, 0);
		(void)vss_view_pread(v, k, rbuf, 1, UINT64_MAX, 0);
		{
			uint64_t *blocks = NULL;
			size_t nb = 0;
			if (vss_revert_block_set(v, k, &blocks, &nb) >= 0)
				for (size_t i = 0; i < nb && i < MAX_DESC; i++)
					view_read(v, k, vsize, blocks[i], VSS_BLOCK_SIZE);
			free(blocks);
		}
		if (vss_view_src_new(v, k, &view) >= 0) {
			(void)src_pread(view, rbuf, 4096, 0);
			if (nd)
				(void)src_pread(view, rbuf, 512, MIN(offs[0], vsize - 512));
			src_unref(view);
		}
		sr_errclear();
	}
	(void)vss_view_check(v, n);
	(void)vss_volume_store(v, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct src *a = NULL, *b = NULL;
	struct vss_volume *va = NULL, *vb = NULL;
	size_t used = 0;

	if (sparse_src_new(data, size, "a", &a, &used) < 0)
		return 0;
	if (used < size)
		(void)sparse_src_new(data + used, size - used, "b", &b, NULL);
	(void)vss_volume_open(a, &va);
	if (b)
		(void)vss_volume_open(b, &vb);
	if (va && vb) {
		(void)vss_volume_attach_storage(va, vb);
		(void)vss_volume_attach_storage(vb, va);
		(void)vss_volume_attach_storage(va, va);
	}
	if (va)
		exercise(va, a, b);
	if (vb)
		exercise(vb, b, a);
	vss_volume_free(va);
	vss_volume_free(vb);
	src_unref(a);
	src_unref(b);
	sr_errclear();
	return 0;
}
