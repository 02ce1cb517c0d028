/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SR_CAPTURE_INTERNAL_H
#define SR_CAPTURE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/guid.h"
#include "core/repo.h"
#include "core/rmap.h"
#include "core/src.h"

struct capture_stats {
	uint64_t size, read, zero, new_plain, new_stored, reused, skipped;
	uint64_t chunks, new_chunks;
};

struct capture_job {
	const struct repo *repo;
	struct src *src;
	const struct rmap *read;       /* what to read (the rest is zero) */
	const struct rmap *changed;    /* NULL: everything may have changed */
	const struct repo_index *prev; /* the same volume in the instance's previous set, or NULL */
	struct repo_index out;         /* filled by capture_run */
	struct capture_stats st;
};
/* Read, hash, compress, encrypt and store src with a pool of threads; bounded memory (threads x 2 chunks). */
int capture_run(struct capture_job *j, unsigned threads, const char *label);

/* Scan attached metadata documents (UTF-8 or UTF-16LE, BCD or diskshadow Manifest.xml) for IDs. */
struct capture_meta {
	bool has_set;
	struct sr_guid set_id;
	size_t n;
	struct {
		char drive[4];
		struct sr_guid id;
	} shadows[64];
	bool writers; /* writer components present: application-consistent */
};
void capture_meta_scan(const void *buf, size_t len, struct capture_meta *m);

#endif
