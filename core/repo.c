/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "repo.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "filetime.h"
#include "io.h"
#include "log.h"
#include "macro.h"
#include "repo-internal.h"

int repo_default_dir(char **ret)
{
	const char *e = getenv("SHADOWREV_REPO"), *home;
	char *s = NULL;

	if (e && *e)
		s = strdup(e);
	else if (geteuid() == 0)
		s = strdup("/var/lib/shadowrev/repo");
	else if ((e = getenv("XDG_DATA_HOME")) && *e == '/') {
		if (asprintf(&s, "%s/shadowrev/repo", e) < 0)
			s = NULL;
	} else if ((home = getenv("HOME")) && *home) {
		if (asprintf(&s, "%s/.local/share/shadowrev/repo", home) < 0)
			s = NULL;
	} else
		return sr_fail(-ENOENT, "no repository given and neither SHADOWREV_REPO nor HOME is set");
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

/* text helpers */

int repo_escape(struct buf *b, const char *s)
{
	int r = 0;

	for (; *s && r >= 0; s++) {
		unsigned char c = (unsigned char)*s;
		if (c <= 0x20 || c == 0x7f || c == '%' || c == '=')
			r = buf_printf(b, "%%%02X", c);
		else
			r = buf_putc(b, (char)c);
	}
	return r;
}

static int hexv(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int repo_unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (*s == '%') {
			int a = hexv(s[1]), b = a >= 0 ? hexv(s[2]) : -1;
			if (a < 0 || b < 0 || (a == 0 && b == 0))
				return -EBADMSG;
			*o++ = (char)(a << 4 | b);
			s += 2;
		} else
			*o++ = *s;
	}
	*o = 0;
	return 0;
}

/* config (§2) */

int repo_config_format(const struct repo_config *c, struct buf *out)
{
	char id[GUID_STRING_MAX], t[FILETIME_STRING_MAX], hx[2 * CRYPTO_WRAPPED_SIZE + 1];
	int r;

	r = buf_printf(out,
		       "shadowrev-repository %u\n"
		       "id %s\n"
		       "created %s\n"
		       "chunk-size %u\n"
		       "compression zstd:%d\n",
		       c->version, guid_format(&c->id, id), filetime_format(c->created, t, sizeof(t)), c->chunk_size,
		       c->level);
	if (r >= 0 && !c->encrypted)
		r = buf_printf(out, "encryption none\n");
	if (r >= 0 && c->encrypted) {
		r = buf_printf(out, "encryption aes-256-gcm\nkdf scrypt n=%llu r=%u p=%u salt=%s\n",
			       (unsigned long long)c->scrypt_n, c->scrypt_r, c->scrypt_p,
			       hex_format(c->salt, sizeof(c->salt), hx));
		if (r >= 0)
			r = buf_printf(out, "key %s\n", hex_format(c->wrapped, sizeof(c->wrapped), hx));
	}
	return r;
}

/* Split buf into lines; calls fn for each with a NUL-terminated copy. Rejects NUL bytes. */
static int for_lines(const void *buf, size_t len, int (*fn)(char *line, unsigned no, void *u), void *u)
{
	_cleanup_free_ char *copy = NULL;
	char *p, *end;
	unsigned no = 0;
	int r;

	if (memchr(buf, 0, len))
		return -EBADMSG;
	copy = malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, buf, len);
	copy[len] = 0;
	for (p = copy; *p; p = end + 1) {
		end = strchr(p, '\n');
		if (!end)
			return -EBADMSG; /* every line ends with a newline: a cut file is detected */
		*end = 0;
		r = fn(p, ++no, u);
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_u64(const char *s, uint64_t *ret)
{
	char *e;
	unsigned long long v;

	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return -EBADMSG;
	errno = 0;
	v = strtoull(s, &e, 10);
	if (errno || *e)
		return -EBADMSG;
	*ret = v;
	return 0;
}

struct cfg_parse {
	struct repo_config c;
	unsigned seen;
};

static int cfg_line(char *line, unsigned no, void *u)
{
	struct cfg_parse *p = u;
	struct repo_config *c = &p->c;
	char *val = strchr(line, ' ');
	uint64_t v;

	if (!val)
		return -EBADMSG;
	*val++ = 0;
	if (no == 1) {
		if (strcmp(line, "shadowrev-repository") != 0 || parse_u64(val, &v) < 0)
			return -EBADMSG;
		if (v < 1 || v > REPO_FORMAT_VERSION)
			return -EPROTONOSUPPORT;
		c->version = (unsigned)v;
		p->seen |= 1;
		return 0;
	}
	if (strcmp(line, "id") == 0) {
		if (guid_parse(val, &c->id) < 0)
			return -EBADMSG;
		p->seen |= 2;
	} else if (strcmp(line, "created") == 0) {
		if (filetime_parse(val, &c->created) < 0)
			return -EBADMSG;
	} else if (strcmp(line, "chunk-size") == 0) {
		if (parse_u64(val, &v) < 0 || v < 4096 || v > (16u << 20) || (v & (v - 1)))
			return -EBADMSG;
		c->chunk_size = (uint32_t)v;
		p->seen |= 4;
	} else if (strcmp(line, "compression") == 0) {
		if (strncmp(val, "zstd:", 5) != 0 || parse_u64(val + 5, &v) < 0 || v < 1 || v > 19)
			return -EBADMSG;
		c->level = (int)v;
	} else if (strcmp(line, "encryption") == 0) {
		if (strcmp(val, "none") == 0)
			c->encrypted = false;
		else if (strcmp(val, "aes-256-gcm") == 0)
			c->encrypted = true;
		else
			return -EPROTONOSUPPORT;
		p->seen |= 8;
	} else if (strcmp(line, "kdf") == 0) {
		char *save = NULL, *tok = strtok_r(val, " ", &save);
		if (!tok || strcmp(tok, "scrypt") != 0)
			return -EPROTONOSUPPORT;
		while ((tok = strtok_r(NULL, " ", &save))) {
			if (strncmp(tok, "n=", 2) == 0) {
				if (parse_u64(tok + 2, &c->scrypt_n) < 0)
					return -EBADMSG;
			} else if (strncmp(tok, "r=", 2) == 0) {
				if (parse_u64(tok + 2, &v) < 0 || v > 64)
					return -EBADMSG;
				c->scrypt_r = (uint32_t)v;
			} else if (strncmp(tok, "p=", 2) == 0) {
				if (parse_u64(tok + 2, &v) < 0 || v > 64)
					return -EBADMSG;
				c->scrypt_p = (uint32_t)v;
			} else if (strncmp(tok, "salt=", 5) == 0) {
				if (hex_parse(tok + 5, strlen(tok + 5), c->salt, sizeof(c->salt)) < 0)
					return -EBADMSG;
			} else
				return -EBADMSG;
		}
		p->seen |= 16;
	} else if (strcmp(line, "key") == 0) {
		if (hex_parse(val, strlen(val), c->wrapped, sizeof(c->wrapped)) < 0)
			return -EBADMSG;
		p->seen |= 32;
	}
	/* other keys: ignored (additions that old readers may skip; anything else bumps the version) */
	return 0;
}

int repo_config_parse(const void *buf, size_t len, struct repo_config *ret)
{
	struct cfg_parse p = { .c = { .level = REPO_DEFAULT_LEVEL } };
	int r;

	r = for_lines(buf, len, cfg_line, &p);
	if (r < 0)
		return r;
	if ((p.seen & 15) != 15)
		return -EBADMSG;
	if (p.c.encrypted && ((p.seen & 48) != 48 || p.c.scrypt_n < 2 || (p.c.scrypt_n & (p.c.scrypt_n - 1)) ||
			      p.c.scrypt_n > (1u << 20) || !p.c.scrypt_r || !p.c.scrypt_p))
		return -EBADMSG;
	*ret = p.c;
	return 0;
}

/* files */

int repo_write_file(const struct repo *r, const char *rel, const void *data, size_t len, bool exclusive)
{
	_cleanup_free_ char *path = NULL;
	struct io_new n;
	int e;

	if (asprintf(&path, "%s/%s", r->dir, rel) < 0)
		return -ENOMEM;
	e = io_new_open(&n, path);
	if (e < 0)
		return e;
	e = write_full(n.fd, data, len);
	if (e >= 0)
		e = io_new_commit(&n, 0600, exclusive ? 0 : IO_NEW_REPLACE);
	io_new_done(&n);
	return e;
}

int repo_read_file(const struct repo *r, const char *rel, size_t max, void **ret, size_t *ret_len)
{
	_cleanup_free_ char *path = NULL;

	if (asprintf(&path, "%s/%s", r->dir, rel) < 0)
		return -ENOMEM;
	return read_file(path, max, ret, ret_len);
}

/* init and open */

static int read_config(const char *dir, struct repo_config *ret)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_free_ void *data = NULL;
	size_t len;
	int r;

	if (asprintf(&path, "%s/config", dir) < 0)
		return -ENOMEM;
	r = read_file(path, 65536, &data, &len);
	if (r == -ENOENT) {
		struct stat st;
		if (stat(dir, &st) < 0)
			return sr_fail(-ENOENT, "no repository at '%s' (run 'shadowrev init')", dir);
		return sr_fail(-ENOENT, "'%s' is not a shadowrev repository (no config)", dir);
	}
	if (r < 0)
		return sr_fail(r, "cannot read '%s': %s", path, strerror(-r));
	r = repo_config_parse(data, len, ret);
	if (r == -EPROTONOSUPPORT)
		return sr_fail(r, "'%s' has a format version this shadowrev (format %d) does not read", path,
			       REPO_FORMAT_VERSION);
	if (r < 0)
		return sr_fail(r, "'%s' is corrupt", path);
	return 0;
}

int repo_config_probe(const char *dir, bool *ret_encrypted)
{
	struct repo_config c;
	int r = read_config(dir, &c);

	if (r >= 0 && ret_encrypted)
		*ret_encrypted = c.encrypted;
	return r;
}

static int derive_kek(const struct repo_config *c, const char *pass, uint8_t kek[CRYPTO_KEY_SIZE])
{
	return crypto_scrypt(pass, strlen(pass), c->salt, sizeof(c->salt), c->scrypt_n, c->scrypt_r, c->scrypt_p, kek,
			     CRYPTO_KEY_SIZE);
}

int repo_init(const char *dir, const struct repo_init_opts *o)
{
	static const char *subdirs[] = { "chunks", "indexes", "sets", "locks" };
	struct repo_config c = { .version = REPO_FORMAT_INIT };
	struct buf text = BUF_INIT;
	struct repo tmp = { 0 };
	struct crypto_keys keys;
	struct timespec now;
	uint8_t kek[CRYPTO_KEY_SIZE];
	char path[PATH_MAX];
	DIR *d;
	int r;

	c.chunk_size = o->chunk_size ? o->chunk_size : REPO_DEFAULT_CHUNK_SIZE;
	c.level = o->level ? o->level : REPO_DEFAULT_LEVEL;
	if (c.chunk_size < (64u << 10) || c.chunk_size > (16u << 20) || (c.chunk_size & (c.chunk_size - 1)))
		return sr_fail(-EINVAL, "chunk size %u is not a power of two between 64 KiB and 16 MiB", c.chunk_size);
	if (c.level < 1 || c.level > 19)
		return sr_fail(-EINVAL, "zstd level %d is not between 1 and 19", c.level);
	r = mkdir_p(dir, 0700);
	if (r < 0)
		return sr_fail(r, "cannot create '%s': %s", dir, strerror(-r));
	d = opendir(dir);
	if (!d)
		return sr_fail(-errno, "cannot open '%s': %s", dir, strerror(errno));
	for (struct dirent *de; (de = readdir(d));) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			closedir(d);
			snprintf(path, sizeof(path), "%s/config", dir);
			if (access(path, F_OK) == 0)
				return sr_fail(-EEXIST, "'%s' is a repository already", dir);
			return sr_fail(-EEXIST, "'%s' is not empty", dir);
		}
	}
	/*
	 * The config holds the wrapped key and its salt: the folder is ours and 0700 whatever existed
	 * before; an empty folder of another user is refused, not taken over (and nothing is changed in a
	 * folder that is refused).
	 */
	{
		struct stat st;
		if (fstat(dirfd(d), &st) < 0) {
			r = -errno;
			closedir(d);
			return sr_fail(r, "cannot open '%s': %s", dir, strerror(-r));
		}
		if (st.st_uid != geteuid()) {
			closedir(d);
			return sr_fail(-EPERM, "'%s' belongs to another user (uid %u)", dir, (unsigned)st.st_uid);
		}
		if ((st.st_mode & 07777) != 0700 && fchmod(dirfd(d), 0700) < 0) {
			r = -errno;
			closedir(d);
			return sr_fail(r, "cannot make '%s' private: %s", dir, strerror(-r));
		}
	}
	closedir(d);
	r = guid_random(&c.id);
	if (r < 0)
		return r;
	clock_gettime(CLOCK_REALTIME, &now);
	(void)filetime_from_timespec(now, &c.created);
	if (o->passphrase) {
		c.encrypted = true;
		c.scrypt_n = o->scrypt_n ? o->scrypt_n : REPO_SCRYPT_N;
		c.scrypt_r = REPO_SCRYPT_R;
		c.scrypt_p = REPO_SCRYPT_P;
		r = crypto_random(c.salt, sizeof(c.salt));
		if (r >= 0)
			r = crypto_random(&keys, sizeof(keys));
		if (r >= 0)
			r = derive_kek(&c, o->passphrase, kek);
		if (r >= 0)
			r = crypto_key_wrap(kek, &keys, c.wrapped);
		crypto_wipe(kek, sizeof(kek));
		crypto_wipe(&keys, sizeof(keys));
		if (r < 0)
			return sr_fail(r, "cannot make the master key");
	}
	for (size_t i = 0; i < ARRAY_SIZE(subdirs); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, subdirs[i]);
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return sr_fail(-errno, "cannot create '%s': %s", path, strerror(errno));
	}
	for (unsigned i = 0; i < 256; i++) {
		snprintf(path, sizeof(path), "%s/chunks/%02x", dir, i);
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return sr_fail(-errno, "cannot create '%s': %s", path, strerror(errno));
	}
	r = repo_config_format(&c, &text);
	if (r >= 0) {
		tmp.dir = (char *)dir;
		/* the config is written last: a directory without it is no repository */
		r = repo_write_file(&tmp, "config", text.data, text.len, true);
	}
	buf_free(&text);
	if (r < 0)
		return sr_fail(r, "cannot write '%s/config': %s", dir, strerror(-r));
	return 0;
}

int repo_open(const char *dir, const char *passphrase, struct repo **ret)
{
	struct repo *r;
	int e;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->dirfd = -1;
	e = read_config(dir, &r->cfg);
	if (e < 0)
		goto fail;
	/* absolute: a mount daemon changes to / after opening, and every path is built from r->dir */
	r->dir = realpath(dir, NULL);
	if (!r->dir) {
		e = sr_fail(-errno, "cannot open '%s': %s", dir, strerror(errno));
		goto fail;
	}
	r->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->dirfd < 0) {
		e = sr_fail(-errno, "cannot open '%s': %s", dir, strerror(errno));
		goto fail;
	}
	if (r->cfg.encrypted) {
		uint8_t kek[CRYPTO_KEY_SIZE];
		if (!passphrase) {
			e = sr_fail(-ENOKEY, "repository '%s' is encrypted: give its passphrase", dir);
			goto fail;
		}
		e = derive_kek(&r->cfg, passphrase, kek);
		if (e >= 0)
			e = crypto_key_unwrap(kek, r->cfg.wrapped, &r->keys);
		crypto_wipe(kek, sizeof(kek));
		if (e == -EKEYREJECTED)
			e = sr_fail(e, "wrong passphrase for repository '%s'", dir);
		if (e < 0)
			goto fail;
		r->has_keys = true;
	}
	*ret = r;
	return 0;
fail:
	repo_free(r);
	return e;
}

void repo_free(struct repo *r)
{
	if (!r)
		return;
	if (r->dirfd >= 0)
		close(r->dirfd);
	crypto_wipe(&r->keys, sizeof(r->keys));
	free(r->dir);
	free(r);
}

const char *repo_dir(const struct repo *r) { return r->dir; }
bool repo_is_encrypted(const struct repo *r) { return r->cfg.encrypted; }
uint32_t repo_chunk_size(const struct repo *r) { return r->cfg.chunk_size; }
int repo_level(const struct repo *r) { return r->cfg.level; }
const struct crypto_keys *repo_keys(const struct repo *r) { return r->has_keys ? &r->keys : NULL; }

/* chunks (§4) */

void repo_chunk_path(const struct repo *r, const uint8_t d[CRYPTO_DIGEST_SIZE], char *buf, size_t size)
{
	char hx[2 * CRYPTO_DIGEST_SIZE + 1];

	hex_format(d, CRYPTO_DIGEST_SIZE, hx);
	snprintf(buf, size, "%s/chunks/%.2s/%s", r->dir, hx, hx);
}

int repo_chunk_touch(const struct repo *r, const uint8_t d[CRYPTO_DIGEST_SIZE])
{
	struct timespec ts[2] = { { .tv_nsec = UTIME_NOW }, { .tv_nsec = UTIME_OMIT } };
	char path[PATH_MAX];

	repo_chunk_path(r, d, path, sizeof(path));
	if (utimensat(AT_FDCWD, path, ts, 0) < 0)
		return -errno;
	return 0;
}

/*
 * Write an envelope into a new file. Its whole REPO_IO_ALIGN blocks go with O_DIRECT: a capture writes
 * gigabytes it does not read again, and through the page cache they cost a copy each, then the syncfs
 * before the manifest waits for their writeback (on the bench machine buffered writes and syncfs reach
 * 333 MB/s, direct writes 1.4 GB/s). The tail (len % REPO_IO_ALIGN bytes) goes first, buffered, so that
 * the file gets its exact length without padding and ftruncate (which reads the last block back to zero
 * it). Durability is unchanged: nothing counts before repo_sync(). A file system that refuses O_DIRECT
 * or its alignment (EINVAL) gets the whole envelope buffered. (Unlike pwrite_direct(), one descriptor,
 * switched to O_DIRECT with fcntl after the tail: a second open per chunk file costs more than that.)
 */
static int chunk_write(int fd, const uint8_t *env, size_t len)
{
	size_t body = len & ~(size_t)(REPO_IO_ALIGN - 1);
	int fl, e;

	if (body == 0 || (uintptr_t)env % REPO_IO_ALIGN)
		return write_full(fd, env, len);
	e = pwrite_full(fd, env + body, len - body, body);
	if (e < 0)
		return e;
	fl = fcntl(fd, F_GETFL);
	if (fl >= 0 && fcntl(fd, F_SETFL, fl | O_DIRECT) == 0) {
		e = pwrite_full(fd, env, body, 0);
		if (e != -EINVAL)
			return e;
		(void)fcntl(fd, F_SETFL, fl);
	}
	return pwrite_full(fd, env, body, 0);
}

static int chunk_put(const struct repo *r, const uint8_t d[CRYPTO_DIGEST_SIZE], const void *env, size_t len,
		     bool exclusive);

int repo_chunk_put(const struct repo *r, const uint8_t d[CRYPTO_DIGEST_SIZE], const void *env, size_t len)
{
	return chunk_put(r, d, env, len, false);
}

int repo_chunk_put_new(const struct repo *r, const uint8_t d[CRYPTO_DIGEST_SIZE], const void *env, size_t len)
{
	return chunk_put(r, d, env, len, true);
}

static int chunk_put(const struct repo *r, const uint8_t d[CRYPTO_DIGEST_SIZE], const void *env, size_t len,
		     bool exclusive)
{
	char path[PATH_MAX];
	struct io_new n;
	int e;

	repo_chunk_path(r, d, path, sizeof(path));
	/* unnamed, or a dot name: readers and gc's sweep of chunk names skip it; gc removes stale ones */
	e = io_new_open(&n, path);
	if (e < 0)
		return e;
	e = chunk_write(n.fd, env, len);
	/* not exclusive: replace (plain chunks may be referenced); a composite never replaces a chunk that is there */
	if (e >= 0)
		e = io_new_commit(&n, 0600, IO_NEW_NOSYNC | (exclusive ? 0 : IO_NEW_REPLACE));
	io_new_done(&n);
	return e;
}

/* The header of the chunk file fd: its flags and plaintext length. */
static int chunk_head(int fd, uint8_t *ret_flags, uint32_t *ret_plain)
{
	uint8_t h[CHUNK_HEADER_SIZE + CRYPTO_IV_SIZE + CRYPTO_TAG_SIZE];
	ssize_t n = pread(fd, h, sizeof(h), 0);

	if (n < 0)
		return -errno;
	if (n < CHUNK_HEADER_SIZE)
		return -EBADMSG;
	return chunk_header_parse(h, (size_t)n, ret_flags, ret_plain);
}

/* The error of chunk_decode() e on chunk hx, said once. */
static int decode_fail(int e, const char *hx)
{
	if (e == -ENOKEY)
		return sr_fail(e, "chunk %.16s is encrypted and no key was given", hx);
	return sr_fail(e == -ENOBUFS ? -EBADMSG : e, "chunk %.16s is corrupt (%s)", hx,
		       e == -EBADMSG ? "CRC, authentication or compression check failed" : strerror(-e));
}

/* Reading the chunks a composite references (§4.1). */
struct ref_reader {
	const struct repo *r;
	struct chunk_ctx *c;
	chunk_ref_fn via;
	void *u;
	uint8_t id[CRYPTO_DIGEST_SIZE]; /* the last one decoded whole, in buf */
	uint8_t *buf;
	size_t len;
	bool have;
};

static int ref_read(void *userdata, const uint8_t id[CRYPTO_DIGEST_SIZE], uint64_t off, size_t len, void *dst)
{
	struct ref_reader *rr = userdata;
	char path[PATH_MAX], hx[2 * CRYPTO_DIGEST_SIZE + 1];
	_cleanup_close_ int fd = -1;
	_cleanup_free_ void *env = NULL;
	uint8_t flags;
	uint32_t plain;
	struct stat st;
	size_t n;
	int e;

	hex_format(id, CRYPTO_DIGEST_SIZE, hx);
	if (rr->have && memcmp(rr->id, id, CRYPTO_DIGEST_SIZE) == 0) {
		if (off > rr->len || len > rr->len - off)
			return sr_fail(-EBADMSG, "a reference to chunk %.16s lies outside it", hx);
		memcpy(dst, rr->buf + off, len);
		return 0;
	}
	if (rr->via) {
		e = rr->via(rr->u, id, off, len, dst);
		if (e != -ENOENT)
			return e;
	}
	repo_chunk_path(rr->r, id, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sr_fail(errno == ENOENT ? -EBADMSG : -errno, "referenced chunk %.16s is %s", hx,
			       errno == ENOENT ? "missing" : strerror(errno));
	e = chunk_head(fd, &flags, &plain);
	if (e < 0)
		return sr_fail(e, "referenced chunk %.16s is corrupt", hx);
	if (flags & CHUNK_F_COMPOSITE)
		return sr_fail(-EBADMSG, "chunk %.16s is composite: a composite may reference plain chunks only", hx);
	if (off > plain || len > plain - off)
		return sr_fail(-EBADMSG, "a reference to chunk %.16s lies outside it", hx);
	if (flags == 0) {
		/* stored raw: just the bytes used (the composite's ID covers them) */
		e = pread_full(fd, dst, len, CHUNK_HEADER_SIZE + off);
		if (e < 0)
			return sr_fail(e == -EIO ? -EBADMSG : e, "referenced chunk %.16s is cut short", hx);
		return 0;
	}
	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size > (off_t)CHUNK_PLAIN_MAX + 4096)
		return sr_fail(-EBADMSG, "referenced chunk %.16s is too large", hx);
	env = malloc((size_t)st.st_size + 1);
	if (!env)
		return -ENOMEM;
	e = pread_full(fd, env, (size_t)st.st_size, 0);
	if (e < 0)
		return sr_fail(e == -EIO ? -EBADMSG : e, "cannot read referenced chunk %.16s", hx);
	if (!rr->buf || rr->len < plain) {
		free(rr->buf);
		rr->have = false;
		rr->buf = malloc(plain ? plain : 1);
		if (!rr->buf)
			return -ENOMEM;
	}
	rr->have = false;
	e = chunk_decode(rr->c, repo_keys(rr->r), env, (size_t)st.st_size, rr->buf, plain, &n);
	if (e == -ENOKEY)
		return decode_fail(e, hx);
	if (e < 0)
		return sr_fail(-EBADMSG, "referenced chunk %.16s is corrupt", hx);
	memcpy(rr->id, id, CRYPTO_DIGEST_SIZE);
	rr->len = n;
	rr->have = true;
	memcpy(dst, rr->buf + off, len);
	return 0;
}

/* Decode a composite's envelope and expand its recipe into out. */
static int composite_expand(const struct repo *r, struct chunk_ctx *c, const char *hx, const void *env, size_t len,
			    uint32_t plain, void *out, size_t cap, size_t *ret_len, chunk_ref_fn via, void *u)
{
	_cleanup_free_ uint8_t *recipe = malloc(plain ? plain : 1);
	struct ref_reader rr = { .r = r, .c = c, .via = via, .u = u };
	struct chunk_recipe rc;
	size_t n;
	int e;

	if (!recipe)
		return -ENOMEM;
	e = chunk_decode(c, repo_keys(r), env, len, recipe, plain, &n);
	if (e < 0)
		return decode_fail(e, hx);
	e = chunk_recipe_parse(recipe, n, &rc);
	if (e < 0)
		return sr_fail(e, "chunk %.16s is corrupt (its recipe)", hx);
	e = chunk_recipe_expand(&rc, out, cap, ref_read, &rr);
	if (e == -ENOBUFS)
		e = sr_fail(-EBADMSG, "chunk %.16s expands to %u bytes, more than its place holds", hx, rc.expanded);
	else if (e < 0)
		e = sr_fail(e, "composite chunk %.16s: %s", hx, sr_errmsg(e));
	if (e >= 0)
		*ret_len = rc.expanded;
	chunk_recipe_free(&rc);
	free(rr.buf);
	return e;
}

/* Read and decode chunk d (hx: its hex) into out, without checking its ID; *ret_flags: its envelope's flags. */
static int load_unchecked(const struct repo *r, struct chunk_ctx *c, const uint8_t d[CRYPTO_DIGEST_SIZE],
			  const char *hx, void *out, size_t cap, size_t *ret_len, uint8_t *ret_flags, chunk_ref_fn via,
			  void *u)
{
	char path[PATH_MAX];
	_cleanup_free_ void *env = NULL;
	uint32_t plain = 0;
	size_t len;
	int e;

	*ret_flags = 0;
	repo_chunk_path(r, d, path, sizeof(path));
	e = read_file(path, CHUNK_PLAIN_MAX + 4096, &env, &len);
	if (e == -ENOENT)
		return sr_fail(-EBADMSG, "chunk %.16s is missing", hx);
	if (e < 0)
		return sr_fail(e, "cannot read chunk %.16s: %s", hx, strerror(-e));
	if (chunk_header_parse(env, len, ret_flags, &plain) >= 0 && (*ret_flags & CHUNK_F_COMPOSITE))
		return composite_expand(r, c, hx, env, len, plain, out, cap, ret_len, via, u);
	e = chunk_decode(c, repo_keys(r), env, len, out, cap, ret_len);
	return e < 0 ? decode_fail(e, hx) : 0;
}

static int id_mismatch(const char *hx, uint8_t flags)
{
	return sr_fail(-EBADMSG, "chunk %.16s does not match its ID%s", hx,
		       (flags & CHUNK_F_COMPOSITE) ? " (composite: it or a chunk it references is corrupt)" : "");
}

int repo_chunk_load_via(const struct repo *r, struct chunk_ctx *c, const uint8_t d[CRYPTO_DIGEST_SIZE], void *out,
			size_t cap, size_t *ret_len, chunk_ref_fn via, void *u)
{
	char hx[2 * CRYPTO_DIGEST_SIZE + 1];
	uint8_t got[CRYPTO_DIGEST_SIZE], flags;
	size_t n;
	int e;

	hex_format(d, CRYPTO_DIGEST_SIZE, hx);
	e = load_unchecked(r, c, d, hx, out, cap, &n, &flags, via, u);
	if (e < 0)
		return e;
	e = chunk_digest(repo_keys(r), out, n, got);
	if (e < 0)
		return e;
	if (memcmp(got, d, CRYPTO_DIGEST_SIZE) != 0)
		return id_mismatch(hx, flags);
	*ret_len = n;
	return 0;
}

void repo_chunk_load2(const struct repo *r, struct chunk_ctx *c, const uint8_t da[CRYPTO_DIGEST_SIZE],
		      const uint8_t db[CRYPTO_DIGEST_SIZE], void *out_a, void *out_b, size_t len, int *ret_a, int *ret_b,
		      chunk_ref_fn via, void *u)
{
	char ha[2 * CRYPTO_DIGEST_SIZE + 1], hb[2 * CRYPTO_DIGEST_SIZE + 1];
	uint8_t ga[CRYPTO_DIGEST_SIZE], gb[CRYPTO_DIGEST_SIZE], fa, fb;
	size_t na = 0, nb = 0;
	int e;

	hex_format(da, CRYPTO_DIGEST_SIZE, ha);
	hex_format(db, CRYPTO_DIGEST_SIZE, hb);
	*ret_a = load_unchecked(r, c, da, ha, out_a, len, &na, &fa, via, u);
	if (*ret_a >= 0 && na != len)
		*ret_a = sr_fail(-EBADMSG, "chunk %.16s has %zu bytes, %zu wanted", ha, na, len);
	*ret_b = load_unchecked(r, c, db, hb, out_b, len, &nb, &fb, via, u);
	if (*ret_b >= 0 && nb != len)
		*ret_b = sr_fail(-EBADMSG, "chunk %.16s has %zu bytes, %zu wanted", hb, nb, len);
	if (*ret_a >= 0 && *ret_b >= 0)
		e = chunk_digest2(repo_keys(r), out_a, out_b, len, ga, gb);
	else if (*ret_a >= 0)
		e = chunk_digest(repo_keys(r), out_a, len, ga);
	else if (*ret_b >= 0)
		e = chunk_digest(repo_keys(r), out_b, len, gb);
	else
		return;
	if (e < 0) {
		*ret_a = *ret_a < 0 ? *ret_a : e;
		*ret_b = *ret_b < 0 ? *ret_b : e;
		return;
	}
	if (*ret_a >= 0 && memcmp(ga, da, CRYPTO_DIGEST_SIZE) != 0)
		*ret_a = id_mismatch(ha, fa);
	if (*ret_b >= 0 && memcmp(gb, db, CRYPTO_DIGEST_SIZE) != 0)
		*ret_b = id_mismatch(hb, fb);
}

int repo_chunk_load(const struct repo *r, struct chunk_ctx *c, const uint8_t d[CRYPTO_DIGEST_SIZE], void *out,
		    size_t cap, size_t *ret_len)
{
	return repo_chunk_load_via(r, c, d, out, cap, ret_len, NULL, NULL);
}

static int cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, CRYPTO_DIGEST_SIZE);
}

int repo_chunk_refs(const struct repo *r, struct chunk_ctx *c, const uint8_t d[CRYPTO_DIGEST_SIZE],
		    uint8_t (**ret)[CRYPTO_DIGEST_SIZE], size_t *ret_n)
{
	char path[PATH_MAX];
	_cleanup_close_ int fd = -1;
	_cleanup_free_ void *env = NULL;
	_cleanup_free_ uint8_t *recipe = NULL;
	uint8_t flags, (*v)[CRYPTO_DIGEST_SIZE];
	struct chunk_recipe rc;
	uint32_t plain;
	size_t len, n, k = 0;
	int e;

	repo_chunk_path(r, d, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	e = chunk_head(fd, &flags, &plain);
	if (e < 0)
		return e;
	if (!(flags & CHUNK_F_COMPOSITE)) {
		*ret = NULL;
		*ret_n = 0;
		return 0;
	}
	e = read_file(path, CHUNK_PLAIN_MAX + 4096, &env, &len);
	if (e < 0)
		return e;
	recipe = malloc(plain ? plain : 1);
	if (!recipe)
		return -ENOMEM;
	e = chunk_decode(c, repo_keys(r), env, len, recipe, plain, &n);
	if (e >= 0)
		e = chunk_recipe_parse(recipe, n, &rc);
	if (e < 0)
		return e == -ENOBUFS ? -EBADMSG : e;
	v = malloc(rc.n * sizeof(*v));
	if (!v) {
		chunk_recipe_free(&rc);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < rc.n; i++)
		if (rc.v[i].kind == CHUNK_PIECE_REF)
			memcpy(v[k++], rc.v[i].id, CRYPTO_DIGEST_SIZE);
	chunk_recipe_free(&rc);
	if (k > 1) {
		size_t o = 0;
		qsort(v, k, sizeof(*v), cmp_id);
		for (size_t i = 1; i < k; i++)
			if (memcmp(v[i], v[o], CRYPTO_DIGEST_SIZE) != 0)
				memcpy(v[++o], v[i], CRYPTO_DIGEST_SIZE);
		k = o + 1;
	}
	*ret = v;
	*ret_n = k;
	return 0;
}

int repo_enable_composites(const struct repo *r)
{
	_cleanup_free_ void *data = NULL;
	static const char v1[] = "shadowrev-repository 1\n";
	size_t len;
	char *p;
	int e;

	if (r->cfg.version >= REPO_FORMAT_COMPOSITE)
		return 0;
	e = repo_read_file(r, "config", 65536, &data, &len);
	if (e < 0)
		return e;
	p = data;
	if (len >= sizeof(v1) - 1 && memcmp(p, v1, sizeof(v1) - 1) == 0) {
		/* the first line only: keys this build does not know stay as they are */
		p[sizeof(v1) - 3] = '0' + REPO_FORMAT_COMPOSITE;
		e = repo_write_file(r, "config", data, len, false);
		if (e < 0)
			return e;
	} else if (len < sizeof(v1) - 1 || memcmp(p, v1, sizeof(v1) - 3) != 0)
		return -EBADMSG;
	((struct repo *)r)->cfg.version = REPO_FORMAT_COMPOSITE;
	return 0;
}

int repo_sync(const struct repo *r)
{
	if (syncfs(r->dirfd) < 0)
		return -errno;
	return 0;
}

/* writers (§7) */

int repo_writer_begin(const struct repo *r, const char *base, int *ret_fd)
{
	char path[PATH_MAX];
	unsigned rnd = 0;
	int fd;

	(void)crypto_random(&rnd, sizeof(rnd));
	snprintf(path, sizeof(path), "%s/locks/writer-%d-%08x.lock", r->dir, (int)getpid(), rnd);
	fd = lockfile_take(path, 0, 1);
	if (fd < 0)
		return sr_fail(fd, "cannot create '%s': %s", path, strerror(-fd));
	/* its mtime is the writer's start: gc keeps every chunk marked since */
	(void)futimens(fd, NULL);
	if (base && write_full(fd, base, strlen(base)) < 0) {
		unlink(path);
		close(fd);
		return sr_fail(-EIO, "cannot write '%s'", path);
	}
	*ret_fd = fd;
	return 0;
}

void repo_writer_end(const struct repo *r, int fd)
{
	char link[64], path[PATH_MAX];
	ssize_t n;

	if (fd < 0)
		return;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n > 0) {
		path[n] = 0;
		if (strncmp(path, r->dir, strlen(r->dir)) == 0 || path[0] == '/')
			unlink(path);
	}
	close(fd);
}
