/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The fixed index (docs/FORMAT.md §5): a 4096-byte header, then one 32-byte chunk ID per chunk. */
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

void repo_index_free(struct repo_index *x)
{
	if (!x)
		return;
	free(x->digests);
	x->digests = NULL;
}

int repo_index_parse(const void *buf, size_t len, struct repo_index *ret)
{
	const uint8_t *b = buf;
	struct repo_index x = { 0 };
	uint8_t sha[CRYPTO_DIGEST_SIZE];
	uint32_t flags;
	uint64_t want;

	if (len < FIDX_HEADER || memcmp(b, FIDX_MAGIC, 8) != 0)
		return -EBADMSG;
	if (crc32_le(0, b, FIDX_HEADER - 4) != le32(b + FIDX_HEADER - 4))
		return -EBADMSG;
	if (le32(b + 8) != REPO_INDEX_VERSION)
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
	if (want != len)
		return -EBADMSG;
	crypto_sha256(b + FIDX_HEADER, len - FIDX_HEADER, sha);
	if (memcmp(sha, b + 40, sizeof(sha)) != 0)
		return -EBADMSG;
	x.digests = malloc(x.count ? x.count * CRYPTO_DIGEST_SIZE : 1);
	if (!x.digests)
		return -ENOMEM;
	memcpy(x.digests, b + FIDX_HEADER, x.count * CRYPTO_DIGEST_SIZE);
	*ret = x;
	return 0;
}

int repo_index_format(const struct repo_index *x, void **ret, size_t *ret_len)
{
	size_t len = FIDX_HEADER + x->count * CRYPTO_DIGEST_SIZE;
	uint8_t *b = calloc(1, len);

	if (!b)
		return -ENOMEM;
	memcpy(b, FIDX_MAGIC, 8);
	put_le32(b + 8, REPO_INDEX_VERSION);
	put_le32(b + 12, x->keyed ? FIDX_F_KEYED : 0);
	put_le32(b + 16, x->chunk_size);
	put_le64(b + 24, x->size);
	put_le64(b + 32, x->count);
	memcpy(b + FIDX_HEADER, x->digests, x->count * CRYPTO_DIGEST_SIZE);
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
