/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SR_CHUNK_H
#define SR_CHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
#define CHUNK_PLAIN_MAX (64u << 20) /* largest plaintext: chunks and attached documents */

/* Per-thread work space for encoding and decoding (zstd contexts, a scratch buffer). */
struct chunk_ctx;
int chunk_ctx_new(int level, struct chunk_ctx **ret);
void chunk_ctx_free(struct chunk_ctx *c);
DEFINE_CLEANUP(struct chunk_ctx, chunk_ctx_free)

/* The chunk ID of plain data: keys NULL for an unencrypted repository. */
int chunk_digest(const struct crypto_keys *keys, const void *buf, size_t len, uint8_t out[CRYPTO_DIGEST_SIZE]);
/* The all-zero digest marks a range that reads as zeros (never stored). */
bool chunk_digest_is_zero(const uint8_t d[CRYPTO_DIGEST_SIZE]);

/* Room needed for an envelope of len plain bytes. */
size_t chunk_encode_bound(size_t len);
/*
 * Encode len bytes into out (capacity chunk_encode_bound(len)): compress with
 * zstd if that makes it smaller, encrypt when keys is not NULL.
 */
int chunk_encode(struct chunk_ctx *c, const struct crypto_keys *keys, const void *plain, size_t len, void *out,
		 size_t *ret_len);

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

#endif
