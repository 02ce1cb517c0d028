/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>

#include "core/crypto.h"
#include "tap.h"

int main(void)
{
	uint8_t d[32], key[32] = { 1, 2, 3 }, iv[12] = { 9 }, tag[16], ct[64], pt[64], kek[32];
	char hx[65];
	struct crypto_keys k, k2;
	uint8_t wrapped[CRYPTO_WRAPPED_SIZE];
	const char msg[] = "shadowrev chunk plaintext, 48 bytes long, ok!!";

	/* known answers */
	crypto_sha256("abc", 3, d);
	is_str(hex_format(d, 32, hx), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "sha256(abc)");
	{
		uint8_t k20[32];
		memset(k20, 0, sizeof(k20));
		ok(crypto_hmac_sha256(k20, "", 0, d) == 0, "hmac runs");
		is_str(hex_format(d, 32, hx), "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad",
		       "hmac-sha256(32 zero bytes, empty)");
	}
	/* scrypt RFC 7914 test vector 2 (first 32 bytes) */
	ok(crypto_scrypt("password", 8, (const uint8_t *)"NaCl", 4, 1024, 8, 16, kek, 32) == 0, "scrypt runs");
	is_str(hex_format(kek, 32, hx), "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162",
	       "scrypt RFC 7914 vector");
	is_int(crypto_scrypt("p", 1, kek, 4, 1000, 8, 1, kek, 32), -EINVAL, "scrypt: N not a power of two");

	/* AES-256-GCM round trip, tamper, wrong key */
	is_int(crypto_gcm_seal(key, iv, "aad", 3, msg, sizeof(msg), ct, tag), 0, "seal");
	is_int(crypto_gcm_open(key, iv, "aad", 3, ct, sizeof(msg), pt, tag), 0, "open");
	is_mem(pt, msg, sizeof(msg), "round trip");
	ct[5] ^= 1;
	is_int(crypto_gcm_open(key, iv, "aad", 3, ct, sizeof(msg), pt, tag), -EBADMSG, "tampered ciphertext: -EBADMSG");
	ct[5] ^= 1;
	is_int(crypto_gcm_open(key, iv, "aaD", 3, ct, sizeof(msg), pt, tag), -EBADMSG, "other aad: -EBADMSG");
	key[0] ^= 1;
	is_int(crypto_gcm_open(key, iv, "aad", 3, ct, sizeof(msg), pt, tag), -EBADMSG, "wrong key: -EBADMSG");

	/* key wrapping: wrong KEK -> -EKEYREJECTED */
	ok(crypto_random(&k, sizeof(k)) == 0, "random key");
	memset(kek, 7, sizeof(kek));
	is_int(crypto_key_wrap(kek, &k, wrapped), 0, "wrap");
	is_int(crypto_key_unwrap(kek, wrapped, &k2), 0, "unwrap");
	is_mem(&k2, &k, sizeof(k), "unwrapped key");
	kek[31] ^= 0x80;
	is_int(crypto_key_unwrap(kek, wrapped, &k2), -EKEYREJECTED, "wrong passphrase: -EKEYREJECTED");
	kek[31] ^= 0x80;
	wrapped[40] ^= 1;
	is_int(crypto_key_unwrap(kek, wrapped, &k2), -EKEYREJECTED, "tampered wrapped key: -EKEYREJECTED");

	/* hex */
	is_int(hex_parse("0aFf", 4, d, 2), 0, "hex parse");
	ok(d[0] == 0x0a && d[1] == 0xff, "hex values");
	is_int(hex_parse("0g", 2, d, 1), -EINVAL, "bad hex digit");
	is_int(hex_parse("0a0", 3, d, 2), -EINVAL, "bad hex length");
	return tap_done();
}
