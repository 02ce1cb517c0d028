/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SR_CRYPTO_H
#define SR_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Thin wrappers over OpenSSL (EVP) for the repository: SHA-256, HMAC-SHA-256,
 * AES-256-GCM, scrypt, random bytes. OpenSSL errors are converted here:
 * a failed GCM tag check is -EBADMSG, anything else from OpenSSL -EIO
 * (-ENOMEM where it says so). All functions are thread-safe.
 */

#define CRYPTO_KEY_SIZE 32
#define CRYPTO_DIGEST_SIZE 32
#define CRYPTO_IV_SIZE 12
#define CRYPTO_TAG_SIZE 16

/* The repository's master key: enc encrypts chunks and blobs, id keys the chunk IDs. */
struct crypto_keys {
	uint8_t enc[CRYPTO_KEY_SIZE];
	uint8_t id[CRYPTO_KEY_SIZE];
};

int crypto_random(void *buf, size_t len);
void crypto_sha256(const void *buf, size_t len, uint8_t out[CRYPTO_DIGEST_SIZE]);
int crypto_hmac_sha256(const uint8_t key[CRYPTO_KEY_SIZE], const void *buf, size_t len,
		       uint8_t out[CRYPTO_DIGEST_SIZE]);

/* AES-256-GCM; ct and pt may be the same buffer. open: -EBADMSG if the tag does not match. */
int crypto_gcm_seal(const uint8_t key[CRYPTO_KEY_SIZE], const uint8_t iv[CRYPTO_IV_SIZE], const void *aad,
		    size_t aad_len, const void *pt, size_t len, void *ct, uint8_t tag[CRYPTO_TAG_SIZE]);
int crypto_gcm_open(const uint8_t key[CRYPTO_KEY_SIZE], const uint8_t iv[CRYPTO_IV_SIZE], const void *aad,
		    size_t aad_len, const void *ct, size_t len, void *pt, const uint8_t tag[CRYPTO_TAG_SIZE]);

/* scrypt (RFC 7914) into out (len bytes). -EINVAL for parameters OpenSSL refuses. */
int crypto_scrypt(const char *pass, size_t pass_len, const uint8_t *salt, size_t salt_len, uint64_t n, uint32_t r,
		  uint32_t p, uint8_t *out, size_t len);

/*
 * Key wrapping: AES-256-GCM of the 64-byte master key under a key-encryption key,
 * output iv(12) | tag(16) | ciphertext(64) = CRYPTO_WRAPPED_SIZE bytes.
 * unwrap: -EKEYREJECTED when the tag does not match (wrong passphrase or a tampered key).
 */
#define CRYPTO_WRAPPED_SIZE (CRYPTO_IV_SIZE + CRYPTO_TAG_SIZE + 2 * CRYPTO_KEY_SIZE)
int crypto_key_wrap(const uint8_t kek[CRYPTO_KEY_SIZE], const struct crypto_keys *k, uint8_t out[CRYPTO_WRAPPED_SIZE]);
int crypto_key_unwrap(const uint8_t kek[CRYPTO_KEY_SIZE], const uint8_t in[CRYPTO_WRAPPED_SIZE],
		      struct crypto_keys *ret);

/* Wipe key material (OPENSSL_cleanse). */
void crypto_wipe(void *p, size_t len);

/* Hex helpers: out holds 2*len+1; parse returns -EINVAL unless exactly 2*len hex digits. */
char *hex_format(const uint8_t *b, size_t len, char *out);
int hex_parse(const char *s, size_t slen, uint8_t *out, size_t len);

/*
 * Get a passphrase, in this order: the file (first line, without the newline),
 * $SHADOWREV_PASSPHRASE, the file named by $SHADOWREV_PASSPHRASE_FILE, a prompt on
 * the controlling terminal (twice when confirm is set). -ENOKEY if none of
 * them is available, -EKEYREJECTED if the two entries differ or it is empty.
 * *ret is malloc'ed; wipe it with crypto_passphrase_free().
 */
int crypto_passphrase_get(const char *file, const char *prompt, bool confirm, char **ret);
void crypto_passphrase_free(char *p);

/*
 * Take $SHADOWREV_PASSPHRASE out of the environment, into this process's
 * memory only (crypto_passphrase_get() finds it there): the variable is
 * removed and its bytes are overwritten where they are, so that no child (an
 * exec'ed qemu-img, fusermount3) inherits it and /proc/PID/environ of this
 * process and of a forked daemon (which shows the first environment block,
 * not environ) does not show it. main() calls it first; calling it again is
 * harmless. Not thread-safe (environ).
 */
void crypto_passphrase_env_take(void);

#endif
