/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
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

static void test_config(void)
{
	struct repo_config c;
	const char good[] = "shadowrev-repository 1\nid 11111111-2222-3333-4444-555555555555\nchunk-size 1048576\n"
			    "encryption none\nfuture-key whatever\n";
	const char v2[] = "shadowrev-repository 2\n";

	is_int(repo_config_parse(good, sizeof(good) - 1, &c), 0, "config with an unknown key");
	is_int(c.chunk_size, 1 << 20, "chunk size");
	is_int(repo_config_parse(v2, sizeof(v2) - 1, &c), -EPROTONOSUPPORT, "config version 2");
	is_int(repo_config_parse(good, sizeof(good) - 3, &c), -EBADMSG, "cut config");
}

int main(void)
{
	test_config();
	test_index();
	test_manifest();
	test_repo();
	return tap_done();
}
