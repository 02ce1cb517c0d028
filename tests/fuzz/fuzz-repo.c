/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz every parser of repository bytes (docs/FORMAT.md): the config, the
 * manifest text, the fixed index, the chunk envelope (without a key, and with
 * a fixed key so that the AEAD and zstd paths are reached), and the
 * changed-blocks ranges are not here (capture's own). The first byte picks
 * the parser, the rest is its input; every parser also sees the whole input.
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

static void one(unsigned which, const uint8_t *p, size_t n)
{
	static const struct crypto_keys key = { .enc = { 1, 2, 3 }, .id = { 4, 5, 6 } };

	switch (which % 4) {
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
			for (uint64_t i = 0; i < x.count; i++)
				sum += x.digests[i][0];
			repo_index_free(&x);
		}
		break;
	}
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
	for (unsigned k = 0; k < 4; k++)
		if (k != data[0] % 4)
			one(k, data, size);
	sr_errclear();
	return 0;
}
