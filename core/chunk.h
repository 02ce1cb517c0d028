/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SR_CHUNK_H
#define SR_CHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "crypto.h"
#include "macro.h"

/*
 * The chunk envelope (docs/FORMAT.md §4): every chunk and blob in a repository
 * is stored as
 *
 *   magic "SRCK" | version 1 | flags | reserved(2) | plain_len u32 | crc32 u32
 *   [| iv(12) | tag(16)] | payload
 *
 * flags: CHUNK_F_ZSTD (payload is a zstd frame, used only when smaller),
 * CHUNK_F_AES_GCM (payload is AES-256-GCM ciphertext, header bytes 0..11 as
 * additional data). The CRC-32 covers header bytes 0..11 and everything after
 * the 16-byte header, so a verifier without the key still detects bit rot.
 *
 * The chunk ID (digest) is SHA-256 of the plaintext, or HMAC-SHA-256 under the
 * repository's id key when it is encrypted.
 */

#define CHUNK_MAGIC "SRCK"
#define CHUNK_VERSION 2 /* 2: CRC-32C (1, never released, used CRC-32) */
#define CHUNK_HEADER_SIZE 16
#define CHUNK_F_ZSTD 0x01
#define CHUNK_F_AES_GCM 0x02
#define CHUNK_F_COMPOSITE 0x04 /* the plaintext is a recipe (below), not the chunk's bytes */
#define CHUNK_PLAIN_MAX (64u << 20) /* largest plaintext: chunks and attached documents */

/* Per-thread work space for encoding and decoding (zstd contexts, a scratch buffer). */
struct chunk_ctx;
int chunk_ctx_new(int level, struct chunk_ctx **ret);
void chunk_ctx_free(struct chunk_ctx *c);
DEFINE_CLEANUP(struct chunk_ctx, chunk_ctx_free)

/* The chunk ID of plain data: keys NULL for an unencrypted repository. */
int chunk_digest(const struct crypto_keys *keys, const void *buf, size_t len, uint8_t out[CRYPTO_DIGEST_SIZE]);
/* The all-zero digest marks a range that reads as zeros (never stored). */
/* The IDs of two chunks of the same length at once (SHA-256 streams interleaved where the CPU can). */
int chunk_digest2(const struct crypto_keys *keys, const void *a, const void *b, size_t len,
		  uint8_t out_a[CRYPTO_DIGEST_SIZE], uint8_t out_b[CRYPTO_DIGEST_SIZE]);
bool chunk_digest_is_zero(const uint8_t d[CRYPTO_DIGEST_SIZE]);

/* Room needed for an envelope of len plain bytes. */
size_t chunk_encode_bound(size_t len);
/*
 * Encode len bytes into out (capacity chunk_encode_bound(len)): compress with
 * zstd if that makes it smaller, encrypt when keys is not NULL.
 */
int chunk_encode(struct chunk_ctx *c, const struct crypto_keys *keys, const void *plain, size_t len, void *out,
		 size_t *ret_len);
/* The same with extra flags in the header (CHUNK_F_COMPOSITE: plain is a recipe). */
int chunk_encode_flags(struct chunk_ctx *c, const struct crypto_keys *keys, const void *plain, size_t len,
		       uint8_t flags, void *out, size_t *ret_len);

/* Read the header: -EBADMSG (bad magic, lengths), -EPROTONOSUPPORT (version). */
int chunk_header_parse(const void *env, size_t len, uint8_t *ret_flags, uint32_t *ret_plain_len);
/* Header and CRC only (needs no key): 0 or -EBADMSG / -EPROTONOSUPPORT. */
int chunk_check(const void *env, size_t len);
/*
 * Decode an envelope into out (capacity cap >= its plain length). c may be NULL.
 * -EBADMSG: corrupt (CRC, AEAD tag, zstd, length); -ENOKEY: encrypted but keys NULL;
 * -EPROTONOSUPPORT: unknown version; -ENOBUFS: cap too small.
 */
int chunk_decode(struct chunk_ctx *c, const struct crypto_keys *keys, const void *env, size_t len, void *out,
		 size_t cap, size_t *ret_len);

/*
 * Composite chunks (docs/FORMAT.md §4.1): the plaintext of an envelope with
 * CHUNK_F_COMPOSITE is a recipe that expands to the chunk's bytes, whose ID
 * (as always) is the digest of the expanded bytes:
 *
 *   magic "SRRC" | version 1 | reserved(3) | expanded u32 | count u32
 *   | count x entry (48 bytes) | literal bytes
 *   entry: kind u8 | reserved(3) | length u32 | offset u64 | chunk ID (32)
 *
 * kinds: literal (the next length literal bytes), zero (length zeros), ref
 * (length bytes at offset of the plaintext of a plain chunk). Entries cover the
 * expanded bytes in order, each at least one byte long.
 */
#define CHUNK_RECIPE_MAGIC "SRRC"
#define CHUNK_RECIPE_VERSION 1
#define CHUNK_RECIPE_HEADER 16
#define CHUNK_RECIPE_ENTRY 48
enum { CHUNK_PIECE_LITERAL = 1, CHUNK_PIECE_ZERO = 2, CHUNK_PIECE_REF = 3 };

struct chunk_recipe_entry {
	uint8_t kind;
	uint32_t len;
	uint64_t off;       /* ref: in the referenced chunk */
	const uint8_t *id;  /* ref: borrowed from the recipe's buffer */
	const uint8_t *lit; /* literal: borrowed from the recipe's buffer */
};
struct chunk_recipe {
	uint32_t expanded;
	uint32_t n;
	struct chunk_recipe_entry *v; /* malloc'ed; pointers into the parsed buffer */
};
/*
 * Parse and check a recipe (untrusted bytes; fuzzed): magic, version, reserved
 * bytes, kinds, lengths (>= 1, summing to expanded <= CHUNK_PLAIN_MAX), literal
 * bytes exactly filling the rest, refs with a non-zero ID. -EBADMSG if not.
 * The result borrows buf.
 */
int chunk_recipe_parse(const void *buf, size_t len, struct chunk_recipe *ret);
void chunk_recipe_free(struct chunk_recipe *rc);
/*
 * Expand into out (cap bytes): literals and zeros from the recipe, refs through
 * ref(u, id, off, len, dst), which must fill dst or fail. -ENOBUFS if cap is
 * too small. The caller checks the expanded bytes against the chunk ID.
 */
typedef int (*chunk_ref_fn)(void *u, const uint8_t id[CRYPTO_DIGEST_SIZE], uint64_t off, size_t len, void *dst);
int chunk_recipe_expand(const struct chunk_recipe *rc, void *out, size_t cap, chunk_ref_fn ref, void *u);

/* Writing a recipe: pieces in order; adjacent pieces of the same kind (refs: contiguous) are merged. */
struct chunk_recipe_builder {
	struct buf *table, *lits; /* caller-owned, emptied by begin */
	uint32_t expanded, n;
	uint8_t *last; /* the last entry, for merging */
	uint64_t refs;  /* bytes in ref entries */
};
void chunk_recipe_begin(struct chunk_recipe_builder *b, struct buf *table, struct buf *lits);
int chunk_recipe_add(struct chunk_recipe_builder *b, uint8_t kind, const void *data, uint32_t len,
		     const uint8_t *id, uint64_t off);
/* The recipe's bytes (header, table, literals) into out (emptied first). */
int chunk_recipe_finish(struct chunk_recipe_builder *b, struct buf *out);

#endif
