/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SR_CAPTURE_INTERNAL_H
#define SR_CAPTURE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/guid.h"
#include "core/hashmap.h"
#include "core/repo.h"
#include "core/rmap.h"
#include "core/src.h"

struct capture_stats {
	uint64_t size, read, zero, new_plain, new_stored, reused, skipped;
	uint64_t chunks, new_chunks;
	uint64_t dedup, composites; /* piece dedup: bytes stored as references, composite chunks written */
};

/*
 * Piece dedup (dedup.c, docs/FORMAT.md §4.1). Content-defined pieces: the gear hash's top PIECE_BITS bits
 * zero, at least PIECE_MIN and at most PIECE_MAX bytes (about PIECE_MIN + 2^PIECE_BITS on average); a
 * chunk becomes a composite when its references cover at least DEDUP_MIN_SAVING bytes.
 */
#ifndef PIECE_BITS
#define PIECE_BITS 14
#endif
#define PIECE_MIN ((1u << PIECE_BITS) / 2)
#define PIECE_MAX ((1u << PIECE_BITS) * 4)
#define DEDUP_MIN_SAVING (64u << 10)
#define DEDUP_STEP (64u << 10) /* bytes compared at a time */
#define DEDUP_MAX_PIECES ((size_t)2 << 20) /* ~36 bytes each: ~75 MiB, so a capture stays well under 256 MiB */

struct dedup_src {
	struct src *src;
	const struct rmap *read;
};
struct dedup_chunk { /* a plain chunk this capture stored */
	uint8_t id[CRYPTO_DIGEST_SIZE];
	uint64_t start; /* of its slot in its source */
	uint32_t len, srcno;
};
struct dedup_piece {
	uint32_t chunk, off, len;
};
struct capture_dedup {
	pthread_mutex_t lock;
	struct u64map map; /* piece key -> pieces.v index */
	VEC(struct dedup_chunk) chunks;
	VEC(struct dedup_piece) pieces;
	VEC(struct dedup_src) srcs;
	size_t max_pieces;
	int enabled; /* 0 not yet, 1 the config allows composites, < 0 it cannot be raised */
};
struct dedup_cand {
	bool ok;
	struct dedup_chunk ch;
	struct dedup_src src;
	uint64_t off;
};
struct dedup_ext {
	uint32_t at, len; /* in this chunk */
	uint64_t off;     /* in the referenced one */
	const uint8_t *id;
	const struct dedup_cand *c; /* where the referenced chunk was read from */
};
/*
 * A referenced chunk's bytes, read again from its source and found to have its ID: exactly what the
 * capture stored (the source may have changed since). Kept per worker: consecutive composites mostly
 * reference the same chunks.
 */
#define DEDUP_KEPT 2
struct dedup_kept {
	uint8_t id[CRYPTO_DIGEST_SIZE];
	bool ok;    /* data holds the chunk (else: its source no longer has it) */
	bool valid; /* id is set */
	size_t len;
	uint64_t used;
	uint8_t *data;
};
struct dedup_scratch { /* per worker */
	size_t cap, n, len, n_ext;
	uint32_t *cut; /* piece k ends at cut[k] */
	uint64_t *fp;
	struct dedup_cand *cand;
	struct dedup_ext *ext;
	uint8_t *cmp;
	struct buf table, lits, recipe;
	struct dedup_kept kept[DEDUP_KEPT];
	uint64_t tick;
};
int capture_dedup_new(size_t max_pieces, struct capture_dedup **ret);
void capture_dedup_free(struct capture_dedup *dd);
int capture_dedup_add_src(struct capture_dedup *dd, struct src *s, const struct rmap *read, unsigned *ret);
int capture_dedup_scratch_init(struct dedup_scratch *w, size_t cs);
void capture_dedup_scratch_free(struct dedup_scratch *w);
size_t capture_piece_cut(const uint8_t *p, size_t n);
void capture_dedup_cut(struct dedup_scratch *w, const uint8_t *buf, size_t len);
void capture_dedup_register(struct capture_dedup *dd, const struct dedup_scratch *w, unsigned srcno, uint64_t start,
			    const uint8_t id[CRYPTO_DIGEST_SIZE]);
uint64_t capture_dedup_match(struct capture_dedup *dd, struct dedup_scratch *w, const uint8_t *buf,
			     const uint8_t self[CRYPTO_DIGEST_SIZE]);
uint64_t capture_dedup_check(struct dedup_scratch *w, const struct crypto_keys *keys, const uint8_t *buf);
int capture_dedup_recipe(struct dedup_scratch *w, const uint8_t *buf);
int capture_dedup_recipe_check(struct dedup_scratch *w, const struct crypto_keys *keys, const uint8_t *buf);
int capture_dedup_refs(const struct dedup_scratch *w, uint8_t (**ret)[CRYPTO_DIGEST_SIZE], size_t *ret_n);

struct capture_job {
	const struct repo *repo;
	struct src *src;
	const struct rmap *read;       /* what to read (the rest is zero) */
	const struct rmap *changed;    /* NULL: everything may have changed */
	const struct repo_index *prev; /* the same volume in the instance's previous set, or NULL */
	struct capture_dedup *dedup;   /* piece dedup across the capture's volumes, or NULL; src and read must
					  live as long as it does */
	struct repo_index out;         /* filled by capture_run */
	struct capture_stats st;
};
/* Read, hash, compress, encrypt and store src with a pool of threads; bounded memory (threads x 2 chunks, and
 * with piece dedup DEDUP_KEPT more). */
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
