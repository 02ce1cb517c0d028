/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "macro.h"

/* The OpenSSL error queue is per thread; drop what a failed call left there. */
static int ossl_fail(int r)
{
	ERR_clear_error();
	return r;
}

int crypto_random(void *buf, size_t len)
{
	if (len > INT32_MAX || RAND_bytes(buf, (int)len) != 1)
		return ossl_fail(-EIO);
	return 0;
}

void crypto_sha256(const void *buf, size_t len, uint8_t out[CRYPTO_DIGEST_SIZE])
{
	SHA256(buf, len, out);
}

int crypto_hmac_sha256(const uint8_t key[CRYPTO_KEY_SIZE], const void *buf, size_t len,
		       uint8_t out[CRYPTO_DIGEST_SIZE])
{
	unsigned int olen = 0;

	if (!HMAC(EVP_sha256(), key, CRYPTO_KEY_SIZE, buf, len, out, &olen) || olen != CRYPTO_DIGEST_SIZE)
		return ossl_fail(-EIO);
	return 0;
}

static int gcm(bool enc, const uint8_t *key, const uint8_t *iv, const void *aad, size_t aad_len, const void *in,
	       size_t len, void *out, uint8_t *tag)
{
	EVP_CIPHER_CTX *c;
	int n, r = -EIO;

	if (len > INT32_MAX || aad_len > INT32_MAX)
		return -EFBIG;
	c = EVP_CIPHER_CTX_new();
	if (!c)
		return ossl_fail(-ENOMEM);
	if (EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, CRYPTO_IV_SIZE, NULL) != 1 ||
	    EVP_CipherInit_ex(c, NULL, NULL, key, iv, enc) != 1)
		goto out;
	if (aad_len && EVP_CipherUpdate(c, NULL, &n, aad, (int)aad_len) != 1)
		goto out;
	if (len && EVP_CipherUpdate(c, out, &n, in, (int)len) != 1)
		goto out;
	if (enc) {
		if (EVP_CipherFinal_ex(c, (uint8_t *)out + len, &n) != 1 ||
		    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, CRYPTO_TAG_SIZE, tag) != 1)
			goto out;
	} else {
		if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, CRYPTO_TAG_SIZE, tag) != 1)
			goto out;
		if (EVP_CipherFinal_ex(c, (uint8_t *)out + len, &n) != 1) {
			r = -EBADMSG;
			goto out;
		}
	}
	r = 0;
out:
	EVP_CIPHER_CTX_free(c);
	return r < 0 ? ossl_fail(r) : 0;
}

int crypto_gcm_seal(const uint8_t key[CRYPTO_KEY_SIZE], const uint8_t iv[CRYPTO_IV_SIZE], const void *aad,
		    size_t aad_len, const void *pt, size_t len, void *ct, uint8_t tag[CRYPTO_TAG_SIZE])
{
	return gcm(true, key, iv, aad, aad_len, pt, len, ct, tag);
}

int crypto_gcm_open(const uint8_t key[CRYPTO_KEY_SIZE], const uint8_t iv[CRYPTO_IV_SIZE], const void *aad,
		    size_t aad_len, const void *ct, size_t len, void *pt, const uint8_t tag[CRYPTO_TAG_SIZE])
{
	uint8_t t[CRYPTO_TAG_SIZE];

	memcpy(t, tag, sizeof(t));
	return gcm(false, key, iv, aad, aad_len, ct, len, pt, t);
}

int crypto_scrypt(const char *pass, size_t pass_len, const uint8_t *salt, size_t salt_len, uint64_t n, uint32_t r,
		  uint32_t p, uint8_t *out, size_t len)
{
	/* maxmem: 128 * n * r * p plus slack; n <= 2^20 and r*p <= 128 keep it under 16 GiB */
	if (n < 2 || (n & (n - 1)) || n > (1u << 20) || r == 0 || p == 0 || (uint64_t)r * p > 128)
		return -EINVAL;
	if (EVP_PBE_scrypt(pass, pass_len, salt, salt_len, n, r, p, 128 * n * r * p + (1u << 20), out, len) != 1)
		return ossl_fail(-EIO);
	return 0;
}

static const char wrap_aad[] = "shadowrev master key v1";

int crypto_key_wrap(const uint8_t kek[CRYPTO_KEY_SIZE], const struct crypto_keys *k, uint8_t out[CRYPTO_WRAPPED_SIZE])
{
	uint8_t plain[2 * CRYPTO_KEY_SIZE];
	int r;

	r = crypto_random(out, CRYPTO_IV_SIZE);
	if (r < 0)
		return r;
	memcpy(plain, k->enc, CRYPTO_KEY_SIZE);
	memcpy(plain + CRYPTO_KEY_SIZE, k->id, CRYPTO_KEY_SIZE);
	r = crypto_gcm_seal(kek, out, wrap_aad, sizeof(wrap_aad) - 1, plain, sizeof(plain),
			    out + CRYPTO_IV_SIZE + CRYPTO_TAG_SIZE, out + CRYPTO_IV_SIZE);
	crypto_wipe(plain, sizeof(plain));
	return r;
}

int crypto_key_unwrap(const uint8_t kek[CRYPTO_KEY_SIZE], const uint8_t in[CRYPTO_WRAPPED_SIZE],
		      struct crypto_keys *ret)
{
	uint8_t plain[2 * CRYPTO_KEY_SIZE];
	int r;

	r = crypto_gcm_open(kek, in, wrap_aad, sizeof(wrap_aad) - 1, in + CRYPTO_IV_SIZE + CRYPTO_TAG_SIZE,
			    sizeof(plain), plain, in + CRYPTO_IV_SIZE);
	if (r == -EBADMSG)
		r = -EKEYREJECTED;
	if (r >= 0) {
		memcpy(ret->enc, plain, CRYPTO_KEY_SIZE);
		memcpy(ret->id, plain + CRYPTO_KEY_SIZE, CRYPTO_KEY_SIZE);
	}
	crypto_wipe(plain, sizeof(plain));
	return r;
}

void crypto_wipe(void *p, size_t len)
{
	if (p)
		OPENSSL_cleanse(p, len);
}

char *hex_format(const uint8_t *b, size_t len, char *out)
{
	static const char hx[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = hx[b[i] >> 4];
		out[2 * i + 1] = hx[b[i] & 15];
	}
	out[2 * len] = 0;
	return out;
}

static int hexdig(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hex_parse(const char *s, size_t slen, uint8_t *out, size_t len)
{
	if (slen != 2 * len)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		int a = hexdig(s[2 * i]), b = hexdig(s[2 * i + 1]);
		if (a < 0 || b < 0)
			return -EINVAL;
		out[i] = (uint8_t)(a << 4 | b);
	}
	return 0;
}

void crypto_passphrase_free(char *p)
{
	if (p) {
		crypto_wipe(p, strlen(p));
		free(p);
	}
}

static int pass_from_file(const char *path, char **ret)
{
	void *data = NULL;
	size_t len = 0;
	char *s;
	int r;

	r = read_file(path, 4096, &data, &len);
	if (r < 0)
		return sr_fail(r, "cannot read passphrase file '%s': %s", path, strerror(-r));
	s = data;
	s[strcspn(s, "\r\n")] = 0;
	if (!*s) {
		crypto_passphrase_free(s);
		return sr_fail(-EKEYREJECTED, "passphrase file '%s' is empty", path);
	}
	*ret = s;
	return 0;
}

static int prompt_tty(const char *prompt, char **ret)
{
	struct termios old, quiet;
	char line[1024];
	FILE *f;
	int fd, r = 0;

	fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -ENOKEY;
	f = fdopen(fd, "r+");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	if (tcgetattr(fd, &old) < 0) {
		fclose(f);
		return -ENOKEY;
	}
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	quiet.c_lflag |= ECHONL;
	fprintf(f, "%s", prompt);
	fflush(f);
	(void)tcsetattr(fd, TCSAFLUSH, &quiet);
	if (!fgets(line, sizeof(line), f))
		r = -ENOKEY;
	(void)tcsetattr(fd, TCSAFLUSH, &old);
	fclose(f);
	if (r < 0)
		return r;
	line[strcspn(line, "\r\n")] = 0;
	*ret = strdup(line);
	crypto_wipe(line, sizeof(line));
	return *ret ? 0 : -ENOMEM;
}

static char *env_pass; /* $SHADOWREV_PASSPHRASE, taken out of the environment */
/*
 * The passphrase typed at the prompt, kept for this process's later asks: a
 * mount or expose daemon opens the repository again after fork() and setsid(),
 * with no terminal to ask on.
 */
static char *typed_pass;

void crypto_passphrase_env_take(void)
{
	static const char name[] = "SHADOWREV_PASSPHRASE=";
	extern char **environ;
	char *entry = NULL;

	for (char **e = environ; e && *e; e++)
		if (strncmp(*e, name, sizeof(name) - 1) == 0) {
			entry = *e;
			break;
		}
	if (!entry)
		return;
	crypto_passphrase_free(env_pass); /* set again since (setenv): the newer one */
	env_pass = strdup(entry + sizeof(name) - 1);
	/* the pointer out of environ first (unsetenv matches by name), then the bytes, in place */
	(void)unsetenv("SHADOWREV_PASSPHRASE");
	crypto_wipe(entry, strlen(entry));
	if (!env_pass) /* out of memory: ask as if it were not set rather than use a half */
		sr_warn("cannot keep SHADOWREV_PASSPHRASE: out of memory");
}

int crypto_passphrase_get(const char *file, const char *prompt, bool confirm, char **ret)
{
	const char *env;
	char *a = NULL, *b = NULL;
	int r;

	if (file)
		return pass_from_file(file, ret);
	crypto_passphrase_env_take(); /* a caller that is not main() */
	env = env_pass;
	if (env) {
		if (!*env)
			return sr_fail(-EKEYREJECTED, "SHADOWREV_PASSPHRASE is empty");
		*ret = strdup(env);
		return *ret ? 0 : -ENOMEM;
	}
	env = getenv("SHADOWREV_PASSPHRASE_FILE");
	if (env && *env)
		return pass_from_file(env, ret);
	if (typed_pass && !confirm) {
		*ret = strdup(typed_pass);
		return *ret ? 0 : -ENOMEM;
	}
	if (!isatty(STDIN_FILENO))
		return sr_fail(-ENOKEY, "no passphrase: use --passphrase-file or SHADOWREV_PASSPHRASE");
	r = prompt_tty(prompt ? prompt : "Passphrase: ", &a);
	if (r < 0)
		return sr_fail(r, "no passphrase: use --passphrase-file or SHADOWREV_PASSPHRASE");
	if (!*a) {
		crypto_passphrase_free(a);
		return sr_fail(-EKEYREJECTED, "the passphrase is empty");
	}
	if (confirm) {
		r = prompt_tty("Repeat passphrase: ", &b);
		if (r < 0 || strcmp(a, b) != 0) {
			crypto_passphrase_free(a);
			crypto_passphrase_free(b);
			return sr_fail(r < 0 ? r : -EKEYREJECTED, "the passphrases differ");
		}
		crypto_passphrase_free(b);
	}
	if (!confirm && !typed_pass)
		typed_pass = strdup(a); /* out of memory: ask again next time */
	*ret = a;
	return 0;
}
