/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/crc32.h"
#include "core/io.h"
#include "core/repo.h"
#include "tap.h"

static void test_index(void)
{
	struct repo_index x = { .chunk_size = 65536, .size = 3 * 65536 + 100, .count = 4 }, y;
	void *data;
	size_t len;

	x.digests = calloc(4, 32);
	memset(x.digests[1], 0xab, 32);
	is_int(repo_index_format(&x, &data, &len), 0, "index format");
	is_int(len, 4096 + 4 * 32, "index length");
	is_int(repo_index_parse(data, len, &y), 0, "index parse");
	is_int(y.count, 4, "count");
	is_int(y.size, x.size, "size");
	ok(memcmp(y.digests, x.digests, 4 * 32) == 0, "digests");
	ok(chunk_digest_is_zero(y.digests[0]) && !chunk_digest_is_zero(y.digests[1]), "zero marker kept");
	repo_index_free(&y);
	((uint8_t *)data)[4096 + 40] ^= 1;
	is_int(repo_index_parse(data, len, &y), -EBADMSG, "flipped digest: table hash");
	((uint8_t *)data)[4096 + 40] ^= 1;
	((uint8_t *)data)[24] ^= 1;
	is_int(repo_index_parse(data, len, &y), -EBADMSG, "flipped header: CRC");
	((uint8_t *)data)[24] ^= 1;
	is_int(repo_index_parse(data, len - 32, &y), -EBADMSG, "cut index");
	free(data);
	free(x.digests);
}

static void test_index_v2(void)
{
	struct repo_index x = { .chunk_size = 65536, .size = 5 * 65536, .count = 5 }, y;
	struct repo_index_comp comps[2] = { { .slot = 1, .first = 0, .n = 2 }, { .slot = 3, .first = 2, .n = 1 } };
	uint8_t refs[3][32];
	uint8_t *b;
	void *data;
	size_t len, t;

	x.digests = calloc(5, 32);
	for (int i = 0; i < 5; i++)
		memset(x.digests[i], 0x10 + i, 32);
	memset(x.digests[4], 0, 32);
	memset(refs[0], 0xa0, 32);
	memset(refs[1], 0xa1, 32);
	memset(refs[2], 0xa2, 32);
	x.comps = comps;
	x.n_comps = 2;
	x.refs = refs;
	x.n_refs = 3;
	is_int(repo_index_format(&x, &data, &len), 0, "v2 format");
	b = data;
	t = 4096 + 5 * 32;
	is_int(le32(b + 8), 2, "version 2 with composites");
	is_int(len, t + 2 * 16 + 3 * 32, "v2 length");
	is_int(repo_index_parse(data, len, &y), 0, "v2 parse");
	is_int(y.n_comps, 2, "composite slots");
	is_int(y.n_refs, 3, "references");
	ok(y.comps[0].slot == 1 && y.comps[0].n == 2 && y.comps[1].slot == 3 && y.comps[1].first == 2, "slots");
	ok(memcmp(y.refs, refs, sizeof(refs)) == 0, "reference IDs");
	repo_index_free(&y);
#define BADX(what, stmt, undo, want)                                                                   \
	do {                                                                                           \
		stmt;                                                                                  \
		crypto_sha256(b + 4096, len - 4096, b + 40);                                           \
		put_le32(b + 4092, crc32_le(0, b, 4092));                                              \
		is_int(repo_index_parse(data, len, &y), want, "v2 corrupt: %s", what);                 \
		if (want == 0)                                                                         \
			repo_index_free(&y);                                                           \
		undo;                                                                                  \
	} while (0)
	/* each with a valid CRC and table hash, so that the check itself is what fails */
	BADX("version 3", put_le32(b + 8, 3), put_le32(b + 8, 2), -EPROTONOSUPPORT);
	BADX("composite count too large", put_le64(b + 72, 3), put_le64(b + 72, 2), -EBADMSG);
	BADX("composite count 0, refs left", put_le64(b + 72, 0), put_le64(b + 72, 2), -EBADMSG);
	BADX("reference count too large", put_le64(b + 80, 4), put_le64(b + 80, 3), -EBADMSG);
	BADX("reference count huge", put_le64(b + 80, UINT64_MAX / 16), put_le64(b + 80, 3), -EBADMSG);
	BADX("slot beyond the index", put_le64(b + t + 16, 5), put_le64(b + t + 16, 3), -EBADMSG);
	BADX("slots out of order", put_le64(b + t + 16, 1), put_le64(b + t + 16, 3), -EBADMSG);
	BADX("slot of a zero chunk", put_le64(b + t + 16, 4), put_le64(b + t + 16, 3), -EBADMSG);
	BADX("slot with no references", put_le32(b + t + 8, 0), put_le32(b + t + 8, 2), -EBADMSG);
	BADX("references beyond the table", put_le32(b + t + 8, 3), put_le32(b + t + 8, 2), -EBADMSG);
	BADX("too few references used", put_le32(b + t + 16 + 8, 0), put_le32(b + t + 16 + 8, 1), -EBADMSG);
	BADX("reserved field", b[t + 12] = 1, b[t + 12] = 0, -EBADMSG);
	BADX("zero reference ID", memset(b + t + 32 + 32, 0, 32), memset(b + t + 32 + 32, 0xa1, 32), -EBADMSG);
	BADX("nothing changed", (void)0, (void)0, 0);
	b[len - 1] ^= 1;
	is_int(repo_index_parse(data, len, &y), -EBADMSG, "v2: flipped reference, table hash");
	b[len - 1] ^= 1;
	is_int(repo_index_parse(data, len - 32, &y), -EBADMSG, "v2: cut");
	free(data);
	/* no composites: version 1, as before */
	x.n_comps = x.n_refs = 0;
	is_int(repo_index_format(&x, &data, &len), 0, "format without composites");
	is_int(le32((uint8_t *)data + 8), 1, "version 1 without composites");
	free(data);
	/* a bad table is refused by the writer */
	comps[1].n = 5;
	x.n_comps = 2;
	x.n_refs = 3;
	is_int(repo_index_format(&x, &data, &len), -EINVAL, "format: references beyond the table");
	free(x.digests);
}

static void put_plain(struct repo *r, struct chunk_ctx *c, const void *p, size_t n, uint8_t id[32])
{
	uint8_t *env = malloc(chunk_encode_bound(n));
	size_t len;

	chunk_digest(repo_keys(r), p, n, id);
	chunk_encode(c, repo_keys(r), p, n, env, &len);
	repo_chunk_put(r, id, env, len);
	free(env);
}

static int put_composite(struct repo *r, struct chunk_ctx *c, const struct buf *recipe, const uint8_t id[32])
{
	uint8_t *env = malloc(chunk_encode_bound(recipe->len));
	size_t len;
	int e = chunk_encode_flags(c, repo_keys(r), recipe->data, recipe->len, CHUNK_F_COMPOSITE, env, &len);

	if (e >= 0)
		e = repo_chunk_put_new(r, id, env, len);
	free(env);
	return e;
}

static void test_composite(const char *pass)
{
	char dir[] = "/tmp/test-repo.XXXXXX", path[4200];
	struct repo_init_opts o = { .chunk_size = 65536, .passphrase = pass, .scrypt_n = 1024 };
	struct repo *r = NULL;
	struct chunk_ctx *c;
	struct buf table = BUF_INIT, lits = BUF_INIT, rec = BUF_INIT, rec2 = BUF_INIT;
	struct chunk_recipe_builder b;
	uint8_t rnd[65536], text[65536], want[65536], got[65536], id_r[32], id_t[32], id_c[32], id_cc[32];
	uint8_t (*refs)[32] = NULL;
	size_t n = 0, gl;
	void *cfg;
	size_t cfg_len;

	ok(mkdtemp(dir) != NULL, "tmp dir");
	is_int(repo_init(dir, &o), 0, "init (%s)", pass ? "encrypted" : "plain");
	is_int(repo_open(dir, pass, &r), 0, "open");
	chunk_ctx_new(3, &c);
	crypto_random(rnd, sizeof(rnd));
	for (size_t i = 0; i < sizeof(text); i++)
		text[i] = (uint8_t)"composite "[i % 10];
	put_plain(r, c, rnd, sizeof(rnd), id_r);   /* stored raw when not encrypted */
	put_plain(r, c, text, sizeof(text), id_t); /* zstd */
	/* want = rnd[1000..21000) + literal + text[5..30005) + zeros */
	memcpy(want, rnd + 1000, 20000);
	for (size_t i = 0; i < 5000; i++)
		want[20000 + i] = (uint8_t)(i * 31);
	memcpy(want + 25000, text + 5, 30000);
	memset(want + 55000, 0, sizeof(want) - 55000);
	chunk_recipe_begin(&b, &table, &lits);
	chunk_recipe_add(&b, CHUNK_PIECE_REF, NULL, 20000, id_r, 1000);
	chunk_recipe_add(&b, CHUNK_PIECE_LITERAL, want + 20000, 5000, NULL, 0);
	chunk_recipe_add(&b, CHUNK_PIECE_REF, NULL, 30000, id_t, 5);
	chunk_recipe_add(&b, CHUNK_PIECE_ZERO, NULL, sizeof(want) - 55000, NULL, 0);
	is_int(chunk_recipe_finish(&b, &rec), 0, "recipe");
	chunk_digest(repo_keys(r), want, sizeof(want), id_c);
	is_int(repo_enable_composites(r), 0, "enable composites");
	snprintf(path, sizeof(path), "config");
	is_int(put_composite(r, c, &rec, id_c), 0, "put composite");
	is_int(put_composite(r, c, &rec, id_c), -EEXIST, "a composite never replaces a chunk");
	is_int(repo_chunk_load(r, c, id_c, got, sizeof(got), &gl), 0, "load composite");
	is_int(gl, sizeof(want), "expanded length");
	is_mem(got, want, sizeof(want), "expanded bytes");
	is_int(repo_chunk_refs(r, c, id_c, &refs, &n), 0, "refs of the composite");
	is_int(n, 2, "two distinct references");
	ok(n == 2 && ((!memcmp(refs[0], id_r, 32) && !memcmp(refs[1], id_t, 32)) ||
		      (!memcmp(refs[1], id_r, 32) && !memcmp(refs[0], id_t, 32))), "the referenced IDs");
	free(refs);
	is_int(repo_chunk_refs(r, c, id_r, &refs, &n), 0, "refs of a plain chunk");
	is_int(n, 0, "none");
	is_int(repo_chunk_load(r, c, id_c, got, sizeof(got) - 1, &gl), -EBADMSG, "expanding past the buffer");

	/* two at once (repo_chunk_load2): the same bytes as one by one, each result its own */
	{
		static uint8_t a[65536], b2[65536];
		uint8_t id_s[32], id_f[32];
		int ra = 1, rb = 1;
		repo_chunk_load2(r, c, id_c, id_t, a, b2, sizeof(a), &ra, &rb, NULL, NULL);
		ok(ra == 0 && rb == 0, "load2 of a composite and a plain chunk");
		is_mem(a, want, sizeof(want), "load2: the composite's bytes");
		is_mem(b2, text, sizeof(text), "load2: the plain chunk's bytes");
		repo_chunk_load2(r, c, id_r, id_c, a, b2, sizeof(a), &ra, &rb, NULL, NULL);
		ok(ra == 0 && rb == 0 && !memcmp(a, rnd, sizeof(rnd)) && !memcmp(b2, want, sizeof(want)),
		   "load2 of a raw chunk and a composite");
		put_plain(r, c, text, 1000, id_s);
		repo_chunk_load2(r, c, id_s, id_t, a, b2, sizeof(a), &ra, &rb, NULL, NULL);
		ok(ra == -EBADMSG && rb == 0 && !memcmp(b2, text, sizeof(text)), "load2: a chunk of another length fails alone");
		/* text's envelope under another ID: only the ID check can tell */
		{
			uint8_t *env = malloc(chunk_encode_bound(sizeof(text)));
			size_t len;
			memcpy(id_f, id_r, 32);
			id_f[31] ^= 0x5a;
			chunk_encode(c, repo_keys(r), text, sizeof(text), env, &len);
			repo_chunk_put(r, id_f, env, len);
			free(env);
		}
		repo_chunk_load2(r, c, id_t, id_f, a, b2, sizeof(a), &ra, &rb, NULL, NULL);
		ok(ra == 0 && rb == -EBADMSG, "load2: a chunk that does not match its ID fails alone");
		is_int(repo_chunk_load(r, c, id_f, a, sizeof(a), &gl), -EBADMSG, "the same chunk one by one");
		repo_chunk_load2(r, c, id_f, id_f, a, b2, sizeof(a), &ra, &rb, NULL, NULL);
		ok(ra == -EBADMSG && rb == -EBADMSG, "load2: both bad");
	}

	/* a composite that references a composite is corrupt */
	chunk_recipe_begin(&b, &table, &lits);
	chunk_recipe_add(&b, CHUNK_PIECE_REF, NULL, 100, id_c, 0);
	chunk_recipe_finish(&b, &rec2);
	chunk_digest(repo_keys(r), want, 100, id_cc);
	is_int(put_composite(r, c, &rec2, id_cc), 0, "put a composite of a composite");
	is_int(repo_chunk_load(r, c, id_cc, got, sizeof(got), &gl), -EBADMSG, "a reference to a composite: -EBADMSG");

	/* a corrupt referenced chunk: the composite's ID check fails */
	{
		FILE *f;
		int ch;
		repo_chunk_path(r, id_r, path, sizeof(path));
		f = fopen(path, "r+b");
		fseek(f, 60 + 2000, SEEK_SET);
		ch = fgetc(f);
		fseek(f, 60 + 2000, SEEK_SET);
		fputc(ch ^ 1, f);
		fclose(f);
		is_int(repo_chunk_load(r, c, id_c, got, sizeof(got), &gl), -EBADMSG, "flipped byte in a reference");
		{
			static uint8_t a[65536], b2[65536];
			int ra = 1, rb = 1;
			repo_chunk_load2(r, c, id_t, id_c, a, b2, sizeof(a), &ra, &rb, NULL, NULL);
			ok(ra == 0 && rb == -EBADMSG && !memcmp(a, text, sizeof(text)),
			   "load2: a composite with a flipped byte in a reference fails alone");
		}
		f = fopen(path, "r+b");
		fseek(f, 60 + 2000, SEEK_SET);
		fputc(ch, f);
		fclose(f);
		is_int(repo_chunk_load(r, c, id_c, got, sizeof(got), &gl), 0, "repaired");
		repo_chunk_path(r, id_t, path, sizeof(path));
		unlink(path);
		is_int(repo_chunk_load(r, c, id_c, got, sizeof(got), &gl), -EBADMSG, "missing reference");
	}
	/* the config says version 2 now, and kept its other lines */
	snprintf(path, sizeof(path), "%s/config", dir);
	is_int(read_file(path, 65536, &cfg, &cfg_len), 0, "read config");
	ok(strncmp(cfg, "shadowrev-repository 2\n", 23) == 0, "config version 2 after the first composite");
	ok(strstr(cfg, "chunk-size 65536\n") != NULL, "other lines kept");
	free(cfg);
	repo_free(r);
	is_int(repo_open(dir, pass, &r), 0, "a version 2 repository opens");
	repo_free(r);
	chunk_ctx_free(c);
	buf_free(&table);
	buf_free(&lits);
	buf_free(&rec);
	buf_free(&rec2);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	(void)!system(path);
}

static void test_manifest(void)
{
	struct repo_manifest m = { 0 }, p;
	struct repo_volume v = { .name = "C:", .source = "/tmp/a b=c%.img", .drive = "C:", .roles = 3, .disk = -1,
				 .size = 123, .fs = "ntfs", .index = "s/0.fidx" };
	struct repo_document d = { .name = "BC Document.xml", .size = 5 };
	struct buf b = BUF_INIT;

	guid_parse("11111111-2222-3333-4444-555555555555", &m.set_id);
	guid_parse("aaaaaaaa-2222-3333-4444-555555555555", &v.shadow_id);
	m.instance = "SQL 01";
	m.chunk_size = 1 << 20;
	snprintf(m.consistency, sizeof(m.consistency), "application");
	m.vols = &v;
	m.n_vols = 1;
	m.docs = &d;
	m.n_docs = 1;
	is_int(repo_manifest_format(&m, &b), 0, "manifest format");
	is_int(repo_manifest_parse(b.data, b.len, &p), 0, "manifest parse");
	is_str(p.instance, "SQL 01", "instance with a space");
	is_str(p.vols[0].source, "/tmp/a b=c%.img", "escaped source");
	is_int(p.vols[0].roles, 3, "roles");
	is_str(p.docs[0].name, "BC Document.xml", "document name");
	is_str(p.consistency, "application", "consistency");
	repo_manifest_free(&p);
	/* a manifest cut anywhere is not whole */
	for (size_t cut = 0; cut < b.len; cut += 7)
		ok(repo_manifest_parse(b.data, cut, &p) < 0, "cut at %zu rejected", cut);
	b.data[19] = '9'; /* "shadowrev-manifest 9" */
	is_int(repo_manifest_parse(b.data, b.len, &p), -EPROTONOSUPPORT, "unknown manifest version");
	buf_free(&b);
	is_int(repo_manifest_parse("shadowrev-manifest 1\nset x\nend\n", 30, &p), -EBADMSG, "bad set ID");
}

static void test_repo(void)
{
	char dir[] = "/tmp/test-repo.XXXXXX", path[512];
	struct repo_init_opts o = { .chunk_size = 65536, .passphrase = "pw", .scrypt_n = 1024 };
	struct repo *r = NULL;
	struct repo_manifest m = { 0 }, *sets = NULL;
	struct repo_volume v = { .name = "C:", .disk = -1, .size = 65536, .fs = "raw" };
	struct repo_index x = { .chunk_size = 65536, .size = 65536, .count = 1, .keyed = true };
	size_t n = 0, si, vi;
	uint8_t data[65536], env[70000], got[65536];
	size_t len, gl;
	struct src *s = NULL;

	ok(mkdtemp(dir) != NULL, "tmp dir");
	is_int(repo_init(dir, &o), 0, "init encrypted");
	is_int(repo_init(dir, &o), -EEXIST, "init twice");
	is_int(repo_open(dir, NULL, &r), -ENOKEY, "no passphrase: -ENOKEY");
	is_int(repo_open(dir, "wrong", &r), -EKEYREJECTED, "wrong passphrase: -EKEYREJECTED");
	is_int(repo_open(dir, "pw", &r), 0, "open");
	ok(repo_is_encrypted(r), "encrypted");

	/* a chunk, an index, a set */
	memset(data, 0x5a, sizeof(data));
	{
		struct chunk_ctx *c;
		chunk_ctx_new(3, &c);
		chunk_digest(repo_keys(r), data, sizeof(data), (uint8_t *)v.index_sha256);
		x.digests = malloc(32);
		memcpy(x.digests[0], v.index_sha256, 32);
		is_int(chunk_encode(c, repo_keys(r), data, sizeof(data), env, &len), 0, "encode");
		is_int(repo_chunk_put(r, x.digests[0], env, len), 0, "put");
		is_int(repo_chunk_touch(r, x.digests[0]), 0, "touch an existing chunk");
		is_int(repo_chunk_load(r, c, x.digests[0], got, sizeof(got), &gl), 0, "load");
		ok(gl == sizeof(data) && memcmp(got, data, gl) == 0, "loaded bytes");
		chunk_ctx_free(c);
	}
	guid_parse("11111111-2222-3333-4444-555555555555", &m.set_id);
	guid_parse("aaaaaaaa-2222-3333-4444-555555555555", &v.shadow_id);
	{
		char name[65];
		repo_set_name(r, &m.set_id, name);
		ok(strstr(name, "1111") == NULL && strlen(name) == 32, "keyed set name");
		snprintf(path, sizeof(path), "%s/indexes/%s", dir, name);
		mkdir(path, 0700);
		snprintf(path, sizeof(path), "%s/0.fidx", name);
		v.index = path;
	}
	is_int(repo_index_write(r, v.index, &x, v.index_sha256), 0, "index write");
	m.instance = "i";
	m.chunk_size = 65536;
	m.vols = &v;
	m.n_vols = 1;
	/* before the commit the set does not exist */
	is_int(repo_sets_load(r, &sets, &n), 0, "load sets");
	is_int(n, 0, "no set before the manifest");
	repo_manifests_free(sets, n);
	is_int(repo_set_commit(r, &m), 0, "commit");
	is_int(repo_set_commit(r, &m), -EEXIST, "commit twice: -EEXIST");
	is_int(repo_sets_load(r, &sets, &n), 0, "load sets");
	is_int(n, 1, "one set");
	is_int(repo_volume_match(sets, n, "{AAAAAAAA", &si, &vi), 0, "volume by prefix");
	is_int(repo_volume_match(sets, n, "bbbb", &si, &vi), -ENOENT, "unknown volume");
	is_int(repo_volume_src_new(r, &sets[0], 0, &s), 0, "volume source");
	is_int(src_pread(s, got, 100, 65500), -EINVAL, "read past the end");
	is_int(src_pread(s, got, 500, 65000), 0, "read");
	ok(got[0] == 0x5a && got[499] == 0x5a, "read bytes");
	src_unref(s);
	repo_manifests_free(sets, n);
	/* a corrupt manifest is an error, not an absent set */
	{
		char name[65];
		FILE *f;
		repo_set_name(r, &m.set_id, name);
		snprintf(path, sizeof(path), "%s/sets/%s.manifest", dir, name);
		f = fopen(path, "r+b");
		fseek(f, 30, SEEK_SET);
		fputc('!', f);
		fclose(f);
		is_int(repo_sets_load(r, &sets, &n), -EBADMSG, "tampered manifest: -EBADMSG");
	}
	free(x.digests);
	repo_free(r);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	(void)!system(path);
}

/*
 * Keeping (repo_src_keep): against the bytes the volume was made of. A kept
 * volume reads the same from 4 threads at once; src_map() gives extents of
 * the memfd, and the whole volume as one once every stored chunk was read;
 * with too little room it reads the same through the slots; a corrupt chunk
 * fails its range every time and the volume never becomes whole.
 */
#define KCS 65536
#define KN 48

struct kread {
	struct src *s;
	const uint8_t *want;
	unsigned seed;
	int bad;
};

static void *keep_reader(void *u)
{
	struct kread *k = u;
	uint8_t *buf = malloc(3 * KCS);

	for (int i = 0; buf && i < 400; i++) {
		size_t off, len;
		k->seed = k->seed * 1103515245 + 12345;
		off = (k->seed >> 4) % (KN * KCS);
		len = 1 + (k->seed >> 7) % (3 * KCS);
		len = off + len > KN * KCS ? KN * KCS - off : len;
		if (src_pread(k->s, buf, len, off) < 0 || memcmp(buf, k->want + off, len) != 0)
			k->bad++;
	}
	free(buf);
	return NULL;
}

static void test_keep(void)
{
	char dir[] = "/tmp/test-keep.XXXXXX", path[600];
	struct repo_init_opts o = { .chunk_size = KCS };
	struct repo *r = NULL;
	struct repo_manifest m = { 0 }, *sets = NULL;
	struct repo_volume v = { .name = "C:", .disk = -1, .size = KN * KCS, .fs = "raw" };
	struct repo_index x = { .chunk_size = KCS, .size = KN * KCS, .count = KN };
	uint8_t *want = calloc(KN, KCS), *env = malloc(chunk_encode_bound(KCS)), *got = malloc(KN * KCS);
	struct chunk_ctx *c;
	struct repo_keep *big, *small;
	struct src *s;
	struct src_extent e;
	size_t n = 0, len;
	uint8_t bad_id[32];

	ok(mkdtemp(dir) != NULL, "tmp dir");
	is_int(repo_init(dir, &o), 0, "init");
	is_int(repo_open(dir, NULL, &r), 0, "open");
	chunk_ctx_new(3, &c);
	x.digests = calloc(KN, 32);
	/* chunks: every 5th all zeros (never stored), text, random, and two repeats */
	for (size_t i = 0; i < KN; i++) {
		uint8_t *p = want + i * KCS;
		if (i % 5 == 4)
			continue;
		if (i % 3 == 0)
			for (size_t j = 0; j < KCS; j++)
				p[j] = (uint8_t)"keep me "[(i + j) % 8];
		else
			crypto_random(p, KCS);
		if (i == 40 || i == 41)
			memcpy(p, want + KCS, KCS);
		chunk_digest(NULL, p, KCS, x.digests[i]);
		chunk_encode(c, NULL, p, KCS, env, &len);
		repo_chunk_put(r, x.digests[i], env, len);
	}
	memcpy(bad_id, x.digests[7], 32);
	snprintf(path, sizeof(path), "%s/indexes/k", dir);
	mkdir(path, 0700);
	v.index = "k/0.fidx";
	is_int(repo_index_write(r, v.index, &x, v.index_sha256), 0, "index");
	guid_parse("11111111-2222-3333-4444-5555555555ee", &m.set_id);
	m.instance = "k";
	m.chunk_size = KCS;
	m.vols = &v;
	m.n_vols = 1;
	is_int(repo_set_commit(r, &m), 0, "commit");
	is_int(repo_sets_load(r, &sets, &n), 0, "sets");

	/* room for all of it */
	is_int(repo_keep_new(64u << 20, &big), 0, "keep budget");
	is_int(repo_volume_src_new(r, &sets[0], 0, &s), 0, "source");
	is_int(repo_src_keep(s, big), 0, "keep");
	ok(repo_src_keeps_all(s, big), "fits");
	is_int(src_map(s, 0, KN * KCS, &e), 0, "map before any read");
	ok(!(e.kind == SRC_EXTENT_FD && e.len == KN * KCS), "not whole before it was read");
	{
		struct kread k[4];
		pthread_t t[4];
		for (int i = 0; i < 4; i++) {
			k[i] = (struct kread){ .s = s, .want = want, .seed = 7u + (unsigned)i };
			pthread_create(&t[i], NULL, keep_reader, &k[i]);
		}
		for (int i = 0; i < 4; i++)
			pthread_join(t[i], NULL);
		ok(!k[0].bad && !k[1].bad && !k[2].bad && !k[3].bad, "4 threads at random places read the bytes");
	}
	is_int(src_map(s, 2 * KCS + 100, KCS, &e), 0, "map of a kept chunk");
	ok(e.kind == SRC_EXTENT_FD && e.fd_off == 2 * KCS + 100 && e.len >= 1, "an extent of the memfd");
	is_int(src_map(s, 4 * KCS, KCS, &e), 0, "map of a chunk never stored");
	ok(e.kind == SRC_EXTENT_ZERO || e.kind == SRC_EXTENT_FD, "zeros (or the memfd's hole)");
	is_int(src_pread(s, got, KN * KCS, 0), 0, "read it all");
	ok(memcmp(got, want, KN * KCS) == 0, "all of it right");
	is_int(src_map(s, 0, KN * KCS, &e), 0, "map once whole");
	ok(e.kind == SRC_EXTENT_FD && e.fd_off == 0 && e.len == KN * KCS, "the whole volume is one extent of the memfd");
	memset(got, 0xee, KN * KCS);
	ok(e.kind == SRC_EXTENT_FD && pread_full(e.fd, got, KN * KCS, 0) == 0 && memcmp(got, want, KN * KCS) == 0,
	   "the memfd holds the volume, zeros in its holes");
	src_unref(s);
	repo_keep_free(big);

	/* room for 3 chunks: the rest through the slots, never whole */
	is_int(repo_keep_new(3 * KCS, &small), 0, "small budget");
	is_int(repo_volume_src_new(r, &sets[0], 0, &s), 0, "source");
	is_int(repo_src_keep(s, small), 0, "keep");
	ok(!repo_src_keeps_all(s, small), "does not fit");
	is_int(src_pread(s, got, KN * KCS, 0), 0, "read it all");
	ok(memcmp(got, want, KN * KCS) == 0, "all of it right, through the slots");
	is_int(src_map(s, 0, KN * KCS, &e), 0, "map");
	ok(!(e.kind == SRC_EXTENT_FD && e.len == KN * KCS), "never whole");
	src_unref(s);
	repo_keep_free(small);

	/* chunk 7 corrupt: its range fails, every time; the rest reads; never whole */
	{
		FILE *f;
		repo_chunk_path(r, bad_id, path, sizeof(path));
		f = fopen(path, "r+b");
		fseek(f, 40000, SEEK_SET);
		fputc(fgetc(f) ^ 0x40, f);
		fclose(f);
	}
	is_int(repo_keep_new(64u << 20, &big), 0, "keep budget");
	is_int(repo_volume_src_new(r, &sets[0], 0, &s), 0, "source");
	is_int(repo_src_keep(s, big), 0, "keep");
	for (int round = 0; round < 2; round++) {
		int fails = 0, wrong = 0;
		for (size_t i = 0; i < KN; i++) {
			int e2 = src_pread(s, got, KCS, i * KCS);
			if (e2 < 0)
				fails += i == 7 ? 1 : 100;
			else if (memcmp(got, want + i * KCS, KCS) != 0)
				wrong++;
		}
		ok(fails == 1 && wrong == 0, "round %d: only the corrupt chunk fails", round);
	}
	is_int(src_map(s, 7 * KCS, KCS, &e), -EBADMSG, "map of the corrupt chunk fails as a read does");
	is_int(src_map(s, 0, KN * KCS, &e), 0, "map");
	ok(!(e.kind == SRC_EXTENT_FD && e.len == KN * KCS), "a volume with a corrupt chunk is never whole");
	src_unref(s);
	repo_keep_free(big);

	repo_manifests_free(sets, n);
	chunk_ctx_free(c);
	free(x.digests);
	free(want);
	free(env);
	free(got);
	repo_free(r);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	(void)!system(path);
}

static void test_config(void)
{
	struct repo_config c;
	const char good[] = "shadowrev-repository 1\nid 11111111-2222-3333-4444-555555555555\nchunk-size 1048576\n"
			    "encryption none\nfuture-key whatever\n";
	const char v2[] = "shadowrev-repository 2\nid 11111111-2222-3333-4444-555555555555\nchunk-size 1048576\n"
			  "encryption none\n";
	const char v3[] = "shadowrev-repository 3\n";

	is_int(repo_config_parse(good, sizeof(good) - 1, &c), 0, "config with an unknown key");
	is_int(c.chunk_size, 1 << 20, "chunk size");
	is_int(repo_config_parse(v2, sizeof(v2) - 1, &c), 0, "config version 2 (composites)");
	is_int(c.version, 2, "version 2");
	is_int(repo_config_parse(v3, sizeof(v3) - 1, &c), -EPROTONOSUPPORT, "config version 3");
	is_int(repo_config_parse(good, sizeof(good) - 3, &c), -EBADMSG, "cut config");
}

int main(void)
{
	test_config();
	test_index();
	test_index_v2();
	test_composite(NULL);
	test_composite("pw");
	test_manifest();
	test_repo();
	test_keep();
	return tap_done();
}
