/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The fixed index (docs/FORMAT.md §5): a 4096-byte header, then one 32-byte chunk ID per chunk; version 2
 * adds the table of composite slots and the chunks they reference, after the IDs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc32.h"
#include "log.h"
#include "macro.h"
#include "repo-internal.h"
#include "repo.h"

#define FIDX_MAGIC "SRFIDX\0\0"
#define FIDX_HEADER 4096
#define FIDX_F_KEYED 0x1
#define FIDX_COMP_ENTRY 16
#define FIDX_MAX_REFS 65536 /* references of one composite slot (a 16 MiB chunk of 256-byte pieces) */

void repo_index_free(struct repo_index *x)
{
	if (!x)
		return;
	free(x->digests);
	free(x->comps);
	free(x->refs);
	x->digests = NULL;
	x->comps = NULL;
	x->refs = NULL;
	x->n_comps = x->n_refs = 0;
}

/* Version 2's table: n_comps entries (slot u64, refs u32, reserved u32), then n_refs IDs. */
static int parse_comps(const uint8_t *t, size_t len, uint64_t n_comps, uint64_t n_refs, struct repo_index *x)
{
	size_t at = 0;

	if (n_comps > x->count || n_comps > len / FIDX_COMP_ENTRY ||
	    n_refs > (len - n_comps * FIDX_COMP_ENTRY) / CRYPTO_DIGEST_SIZE ||
	    n_comps * FIDX_COMP_ENTRY + n_refs * CRYPTO_DIGEST_SIZE != len || (n_comps == 0) != (n_refs == 0))
		return -EBADMSG;
	x->comps = calloc(n_comps ? n_comps : 1, sizeof(*x->comps));
	x->refs = malloc(n_refs ? n_refs * CRYPTO_DIGEST_SIZE : 1);
	if (!x->comps || !x->refs)
		return -ENOMEM;
	memcpy(x->refs, t + n_comps * FIDX_COMP_ENTRY, n_refs * CRYPTO_DIGEST_SIZE);
	for (uint64_t k = 0; k < n_comps; k++) {
		const uint8_t *e = t + k * FIDX_COMP_ENTRY;
		struct repo_index_comp *c = &x->comps[k];
		c->slot = le64(e);
		c->n = le32(e + 8);
		c->first = at;
		if (le32(e + 12) != 0 || c->slot >= x->count || (k > 0 && c->slot <= x->comps[k - 1].slot) ||
		    chunk_digest_is_zero(x->digests[c->slot]) || c->n == 0 || c->n > FIDX_MAX_REFS ||
		    c->n > n_refs - at)
			return -EBADMSG;
		at += c->n;
	}
	if (at != n_refs)
		return -EBADMSG;
	for (uint64_t k = 0; k < n_refs; k++)
		if (chunk_digest_is_zero(x->refs[k]))
			return -EBADMSG;
	x->n_comps = n_comps;
	x->n_refs = n_refs;
	return 0;
}

int repo_index_parse(const void *buf, size_t len, struct repo_index *ret)
{
	const uint8_t *b = buf;
	struct repo_index x = { 0 };
	uint8_t sha[CRYPTO_DIGEST_SIZE];
	uint32_t flags, version;
	uint64_t want, n_comps = 0, n_refs = 0;
	int e;

	if (len < FIDX_HEADER || memcmp(b, FIDX_MAGIC, 8) != 0)
		return -EBADMSG;
	if (crc32_le(0, b, FIDX_HEADER - 4) != le32(b + FIDX_HEADER - 4))
		return -EBADMSG;
	version = le32(b + 8);
	if (version < 1 || version > REPO_INDEX_VERSION)
		return -EPROTONOSUPPORT;
	flags = le32(b + 12);
	if (flags & ~(uint32_t)FIDX_F_KEYED)
		return -EBADMSG;
	x.keyed = flags & FIDX_F_KEYED;
	x.chunk_size = le32(b + 16);
	x.size = le64(b + 24);
	x.count = le64(b + 32);
	if (x.chunk_size < 4096 || (x.chunk_size & (x.chunk_size - 1)) || le32(b + 20) != 0)
		return -EBADMSG;
	if (x.count != x.size / x.chunk_size + (x.size % x.chunk_size != 0))
		return -EBADMSG;
	if (x.count > (len - FIDX_HEADER) / CRYPTO_DIGEST_SIZE)
		return -EBADMSG;
	want = FIDX_HEADER + x.count * CRYPTO_DIGEST_SIZE;
	if (version >= 2) {
		n_comps = le64(b + 72);
		n_refs = le64(b + 80);
		if (want > len)
			return -EBADMSG;
	} else if (want != len)
		return -EBADMSG;
	crypto_sha256(b + FIDX_HEADER, len - FIDX_HEADER, sha);
	if (memcmp(sha, b + 40, sizeof(sha)) != 0)
		return -EBADMSG;
	x.digests = malloc(x.count ? x.count * CRYPTO_DIGEST_SIZE : 1);
	if (!x.digests)
		return -ENOMEM;
	memcpy(x.digests, b + FIDX_HEADER, x.count * CRYPTO_DIGEST_SIZE);
	if (version >= 2) {
		e = parse_comps(b + want, len - want, n_comps, n_refs, &x);
		if (e < 0) {
			repo_index_free(&x);
			return e;
		}
	}
	*ret = x;
	return 0;
}

int repo_index_format(const struct repo_index *x, void **ret, size_t *ret_len)
{
	size_t table = FIDX_HEADER + x->count * CRYPTO_DIGEST_SIZE;
	size_t len = table + x->n_comps * FIDX_COMP_ENTRY + x->n_refs * CRYPTO_DIGEST_SIZE;
	uint8_t *b;

	/* version 1 when there is no composite slot: readers of version 1 keep reading those */
	for (size_t k = 0; k < x->n_comps; k++)
		if (x->comps[k].n == 0 || x->comps[k].n > FIDX_MAX_REFS || x->comps[k].first + x->comps[k].n > x->n_refs ||
		    x->comps[k].slot >= x->count || (k > 0 && x->comps[k].slot <= x->comps[k - 1].slot))
			return -EINVAL;
	b = calloc(1, len);
	if (!b)
		return -ENOMEM;
	memcpy(b, FIDX_MAGIC, 8);
	put_le32(b + 8, x->n_comps ? 2 : 1);
	put_le32(b + 12, x->keyed ? FIDX_F_KEYED : 0);
	put_le32(b + 16, x->chunk_size);
	put_le64(b + 24, x->size);
	put_le64(b + 32, x->count);
	memcpy(b + FIDX_HEADER, x->digests, x->count * CRYPTO_DIGEST_SIZE);
	if (x->n_comps) {
		uint8_t *t = b + table, *ids = t + x->n_comps * FIDX_COMP_ENTRY;
		size_t at = 0;
		put_le64(b + 72, x->n_comps);
		for (size_t k = 0; k < x->n_comps; k++) {
			put_le64(t + k * FIDX_COMP_ENTRY, x->comps[k].slot);
			put_le32(t + k * FIDX_COMP_ENTRY + 8, (uint32_t)x->comps[k].n);
			memcpy(ids + at * CRYPTO_DIGEST_SIZE, x->refs[x->comps[k].first], x->comps[k].n * CRYPTO_DIGEST_SIZE);
			at += x->comps[k].n;
		}
		put_le64(b + 80, at);
		len = table + x->n_comps * FIDX_COMP_ENTRY + at * CRYPTO_DIGEST_SIZE;
	}
	crypto_sha256(b + FIDX_HEADER, len - FIDX_HEADER, b + 40);
	put_le32(b + FIDX_HEADER - 4, crc32_le(0, b, FIDX_HEADER - 4));
	*ret = b;
	*ret_len = len;
	return 0;
}

int repo_index_write(const struct repo *r, const char *rel, const struct repo_index *x,
		     uint8_t ret_sha[CRYPTO_DIGEST_SIZE])
{
	_cleanup_free_ void *data = NULL;
	_cleanup_free_ char *path = NULL;
	size_t len;
	int e;

	e = repo_index_format(x, &data, &len);
	if (e < 0)
		return e;
	if (asprintf(&path, "indexes/%s", rel) < 0)
		return -ENOMEM;
	e = repo_write_file(r, path, data, len, false);
	if (e < 0)
		return sr_fail(e, "cannot write index '%s': %s", path, strerror(-e));
	crypto_sha256(data, len, ret_sha);
	return 0;
}

int repo_index_load(const struct repo *r, const char *rel, const uint8_t *sha, struct repo_index *ret)
{
	_cleanup_free_ void *data = NULL;
	_cleanup_free_ char *path = NULL;
	uint8_t got[CRYPTO_DIGEST_SIZE];
	size_t len;
	int e;

	if (strstr(rel, "..") || rel[0] == '/')
		return sr_fail(-EBADMSG, "index name '%s' leaves the repository", rel);
	if (asprintf(&path, "indexes/%s", rel) < 0)
		return -ENOMEM;
	e = repo_read_file(r, path, (size_t)1 << 34, &data, &len);
	if (e < 0)
		return sr_fail(e == -ENOENT ? -EBADMSG : e, "cannot read index '%s': %s", path, strerror(-e));
	if (sha) {
		crypto_sha256(data, len, got);
		if (memcmp(got, sha, sizeof(got)) != 0)
			return sr_fail(-EBADMSG, "index '%s' does not match its manifest", path);
	}
	e = repo_index_parse(data, len, ret);
	if (e < 0)
		return sr_fail(e, "index '%s' is %s", path, e == -EPROTONOSUPPORT ? "of an unknown version" : "corrupt");
	if (ret->keyed != repo_is_encrypted(r)) {
		repo_index_free(ret);
		return sr_fail(-EBADMSG, "index '%s' does not belong to this repository", path);
	}
	return 0;
}
