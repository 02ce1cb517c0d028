/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz every parser of repository bytes (docs/FORMAT.md): the config, the
 * manifest text, the fixed index (versions 1 and 2), the chunk envelope
 * (without a key, and with a fixed key so that the AEAD and zstd paths are
 * reached), and the recipe of a composite chunk (parsed, expanded against a
 * fake chunk, formatted again); the changed-blocks ranges are not here
 * (capture's own). The first byte picks the parser, the rest is its input;
 * every parser also sees the whole input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/chunk.h"
#include "core/log.h"
#include "core/repo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void touch_manifest(const struct repo_manifest *m)
{
	volatile size_t sum = m->n_vols + m->n_disks + m->n_docs + strlen(m->instance);
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < m->n_vols; i++)
		sum += strlen(m->vols[i].name) + strlen(m->vols[i].index) + m->vols[i].size;
	/* what parses must format and parse again to the same */
	if (repo_manifest_format(m, &b) >= 0) {
		struct repo_manifest again;
		if (repo_manifest_parse(b.data, b.len, &again) < 0)
			abort();
		if (again.n_vols != m->n_vols || again.n_docs != m->n_docs || strcmp(again.instance, m->instance))
			abort();
		repo_manifest_free(&again);
	}
	buf_free(&b);
	(void)sum;
}

/* A fake referenced chunk: 64 KiB of a pattern, any ID. */
static int fake_ref(void *u, const uint8_t id[32], uint64_t off, size_t len, void *dst)
{
	(void)u;
	if (off > 65536 || len > 65536 - off)
		return -EBADMSG;
	for (size_t i = 0; i < len; i++)
		((uint8_t *)dst)[i] = (uint8_t)(id[0] + off + i);
	return 0;
}

static void fuzz_recipe(const uint8_t *p, size_t n)
{
	struct chunk_recipe rc;
	uint8_t *out;

	if (chunk_recipe_parse(p, n, &rc) < 0)
		return;
	/* what parses expands within its stated length, and builds again to the same bytes */
	out = malloc(rc.expanded);
	if (!out)
		abort();
	if (chunk_recipe_expand(&rc, out, rc.expanded, fake_ref, NULL) == 0) {
		struct buf t = BUF_INIT, l = BUF_INIT, again = BUF_INIT;
		struct chunk_recipe_builder b;
		chunk_recipe_begin(&b, &t, &l);
		for (uint32_t k = 0; k < rc.n; k++)
			if (chunk_recipe_add(&b, rc.v[k].kind, rc.v[k].lit, rc.v[k].len, rc.v[k].id, rc.v[k].off) < 0)
				abort();
		if (chunk_recipe_finish(&b, &again) < 0 || b.expanded != rc.expanded || b.n > rc.n)
			abort();
		if (b.n == rc.n && (again.len != n || memcmp(again.data, p, n) != 0))
			abort();
		buf_free(&t);
		buf_free(&l);
		buf_free(&again);
	}
	free(out);
	chunk_recipe_free(&rc);
}

static void one(unsigned which, const uint8_t *p, size_t n)
{
	static const struct crypto_keys key = { .enc = { 1, 2, 3 }, .id = { 4, 5, 6 } };

	switch (which % 5) {
	case 0: {
		struct repo_config c;
		struct buf b = BUF_INIT;
		if (repo_config_parse(p, n, &c) >= 0 && repo_config_format(&c, &b) >= 0) {
			struct repo_config again;
			if (repo_config_parse(b.data, b.len, &again) < 0)
				abort();
		}
		buf_free(&b);
		break;
	}
	case 1: {
		struct repo_manifest m;
		if (repo_manifest_parse(p, n, &m) >= 0) {
			touch_manifest(&m);
			repo_manifest_free(&m);
		}
		break;
	}
	case 2: {
		struct repo_index x;
		if (repo_index_parse(p, n, &x) >= 0) {
			volatile uint64_t sum = 0;
			void *again;
			size_t len;
			for (uint64_t i = 0; i < x.count; i++)
				sum += x.digests[i][0];
			for (size_t k = 0; k < x.n_comps; k++)
				for (size_t i = 0; i < x.comps[k].n; i++)
					sum += x.refs[x.comps[k].first + i][0] + x.digests[x.comps[k].slot][0];
			/* what parses formats and parses again to the same */
			if (repo_index_format(&x, &again, &len) >= 0) {
				struct repo_index y;
				if (repo_index_parse(again, len, &y) < 0 || y.count != x.count || y.size != x.size ||
				    y.n_comps != x.n_comps || y.n_refs != x.n_refs ||
				    memcmp(y.digests, x.digests, x.count * CRYPTO_DIGEST_SIZE) != 0 ||
				    (x.n_refs && memcmp(y.refs, x.refs, x.n_refs * CRYPTO_DIGEST_SIZE) != 0))
					abort();
				repo_index_free(&y);
				free(again);
			} else
				abort();
			repo_index_free(&x);
		}
		break;
	}
	case 4:
		fuzz_recipe(p, n);
		break;
	case 3: {
		uint8_t *out = malloc(1 << 20);
		size_t got;
		if (!out)
			break;
		(void)chunk_check(p, n);
		(void)chunk_decode(NULL, NULL, p, n, out, 1 << 20, &got);
		(void)chunk_decode(NULL, &key, p, n, out, 1 << 20, &got);
		free(out);
		break;
	}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sr_verbosity = 0;
	if (size == 0)
		return 0;
	one(data[0], data + 1, size - 1);
	for (unsigned k = 0; k < 5; k++)
		if (k != data[0] % 5)
			one(k, data, size);
	sr_errclear();
	return 0;
}
