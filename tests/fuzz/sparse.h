/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SR_FUZZ_SPARSE_H
#define SR_FUZZ_SPARSE_H

/*
 * The sparse encoding of a volume or disk that the fuzz targets read, so that
 * a small input can describe a large volume (a VSS catalog near the end of a
 * big volume, a GPT backup header in the last sector of a large disk):
 *
 *   input  := image [SEPARATOR image]      (fuzz-vss: the second image is a
 *                                           second volume, e.g. shadow storage)
 *   image  := u64le size, record*          (size clamped to SPARSE_MAX_SIZE)
 *   record := u64le offset, u16le length, length bytes
 *   SEPARATOR := u64le 0xffffffffffffffff  (where a record's offset would be)
 *
 * Bytes not covered by a record read as zeros; a later record wins where two
 * overlap; records are cut at the image's end; a truncated last record keeps
 * the bytes present. tests/tools/vss-seed and tests/fuzz/seed.sh write it.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/macro.h"
#include "core/src.h"

#define SPARSE_MAX_SIZE (64ULL << 30)
#define SPARSE_MAX_RECORDS 4096
#define SPARSE_SEPARATOR UINT64_MAX

struct sparse_rec {
	uint64_t off;
	const uint8_t *data;
	size_t len;
};

struct sparse_img {
	struct sparse_rec *r;
	size_t n;
};

static inline int sparse_pread(struct src *s, void *buf, size_t len, uint64_t off)
{
	const struct sparse_img *img = s->priv;
	uint64_t end = off + len; /* src_pread checked off + len <= size */

	memset(buf, 0, len);
	for (size_t i = 0; i < img->n; i++) {
		const struct sparse_rec *r = &img->r[i];
		uint64_t a = MAX(off, r->off), b = MIN(end, r->off + r->len);
		if (a < b)
			memcpy((uint8_t *)buf + (a - off), r->data + (a - r->off), (size_t)(b - a));
	}
	return 0;
}

static inline void sparse_destroy(struct src *s)
{
	struct sparse_img *img = s->priv;

	free(img->r);
	free(img);
}

static const struct src_ops sparse_ops = { sparse_pread, sparse_destroy };

/*
 * Decode one image from p[0..n) into a source that points into p (p must
 * outlive it). *ret_used: bytes consumed, including a separator that ends the
 * image. Returns 0, -EINVAL if there is no size field, or -ENOMEM.
 */
static inline int sparse_src_new(const uint8_t *p, size_t n, const char *name, struct src **ret, size_t *ret_used)
{
	struct sparse_img *img;
	size_t pos = 8;
	uint64_t size;
	int r;

	if (n < 8)
		return -EINVAL;
	size = MIN(le64(p), SPARSE_MAX_SIZE);
	img = calloc(1, sizeof(*img));
	if (!img)
		return -ENOMEM;
	img->r = calloc(SPARSE_MAX_RECORDS, sizeof(*img->r));
	if (!img->r) {
		free(img);
		return -ENOMEM;
	}
	while (pos + 8 <= n) {
		uint64_t off = le64(p + pos);
		size_t len;

		if (off == SPARSE_SEPARATOR) {
			pos += 8;
			break;
		}
		if (pos + 10 > n) {
			pos = n;
			break;
		}
		len = MIN((size_t)le16(p + pos + 8), n - pos - 10);
		if (off < size && img->n < SPARSE_MAX_RECORDS)
			img->r[img->n++] = (struct sparse_rec){ off, p + pos + 10, (size_t)MIN((uint64_t)len, size - off) };
		pos += 10 + len;
	}
	if (pos > n)
		pos = n;
	r = src_new(&sparse_ops, size, name, img, ret);
	if (r < 0) {
		free(img->r);
		free(img);
		return r;
	}
	if (ret_used)
		*ret_used = pos;
	return 0;
}

#endif
