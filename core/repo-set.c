/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Snapshot sets: commit (manifest last), list, find, delete; gc (docs/FORMAT.md §6, §7). */
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

#include "io.h"
#include "log.h"
#include "macro.h"
#include "repo-internal.h"
#include "repo.h"

int repo_set_name(const struct repo *r, const struct sr_guid *id, char buf[65])
{
	uint8_t mac[CRYPTO_DIGEST_SIZE], in[19];
	int e;

	if (!r->has_keys) {
		guid_format(id, buf);
		return 0;
	}
	memcpy(in, "set", 3);
	memcpy(in + 3, id->b, 16);
	e = crypto_hmac_sha256(r->keys.id, in, sizeof(in), mac);
	if (e < 0)
		return e;
	hex_format(mac, 16, buf);
	return 0;
}

int repo_set_commit(const struct repo *r, const struct repo_manifest *m)
{
	struct buf text = BUF_INIT;
	_cleanup_free_ uint8_t *env = NULL;
	_cleanup_(chunk_ctx_freep) struct chunk_ctx *c = NULL;
	char name[65], rel[128];
	size_t len;
	int e;

	e = repo_set_name(r, &m->set_id, name);
	if (e < 0)
		return e;
	e = repo_manifest_format(m, &text);
	if (e >= 0 && text.len > CHUNK_PLAIN_MAX)
		e = -EFBIG;
	if (e >= 0)
		e = chunk_ctx_new(r->cfg.level, &c);
	if (e >= 0 && !(env = malloc(chunk_encode_bound(text.len))))
		e = -ENOMEM;
	if (e >= 0)
		e = chunk_encode(c, repo_keys(r), text.data, text.len, env, &len);
	buf_free(&text);
	if (e < 0)
		return e;
	/* chunks and indexes first, durable; then the manifest, which makes the set exist */
	e = repo_sync(r);
	if (e < 0)
		return sr_fail(e, "cannot sync '%s': %s", r->dir, strerror(-e));
	snprintf(rel, sizeof(rel), "sets/%s.manifest", name);
	e = repo_write_file(r, rel, env, len, true);
	if (e == -EEXIST)
		return sr_fail(e, "set %s exists already", name);
	if (e < 0)
		return sr_fail(e, "cannot write '%s/%s': %s", r->dir, rel, strerror(-e));
	return 0;
}

static int load_one(const struct repo *r, const char *file, struct repo_manifest *ret)
{
	_cleanup_free_ void *env = NULL;
	_cleanup_free_ char *plain = NULL;
	char rel[NAME_MAX + 8];
	size_t len, n;
	uint32_t plen;
	int e;

	snprintf(rel, sizeof(rel), "sets/%s", file);
	e = repo_read_file(r, rel, CHUNK_PLAIN_MAX + 4096, &env, &len);
	if (e < 0)
		return sr_fail(e, "cannot read '%s/%s': %s", r->dir, rel, strerror(-e));
	e = chunk_header_parse(env, len, NULL, &plen);
	if (e >= 0 && !(plain = malloc((size_t)plen + 1)))
		e = -ENOMEM;
	if (e >= 0)
		e = chunk_decode(NULL, repo_keys(r), env, len, plain, plen, &n);
	if (e >= 0)
		e = repo_manifest_parse(plain, n, ret);
	if (e == -EPROTONOSUPPORT)
		return sr_fail(e, "manifest '%s' has a format version this shadowrev does not read", rel);
	if (e == -ENOKEY)
		return sr_fail(e, "manifest '%s' is encrypted and no key was given", rel);
	if (e < 0)
		return sr_fail(e, "manifest '%s/%s' is corrupt", r->dir, rel);
	ret->file = strndup(file, strlen(file) - strlen(".manifest"));
	if (!ret->file) {
		repo_manifest_free(ret);
		return -ENOMEM;
	}
	return 0;
}

static int cmp_created(const void *a, const void *b)
{
	const struct repo_manifest *x = a, *y = b;

	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	return memcmp(&x->set_id, &y->set_id, sizeof(x->set_id));
}

static bool is_manifest_name(const char *n)
{
	size_t l = strlen(n);
	return n[0] != '.' && l > 9 && strcmp(n + l - 9, ".manifest") == 0;
}

int repo_sets_load(const struct repo *r, struct repo_manifest **ret, size_t *ret_n)
{
	struct repo_manifest *v = NULL;
	size_t n = 0;
	char path[PATH_MAX];
	DIR *d;
	int e = 0;

	snprintf(path, sizeof(path), "%s/sets", r->dir);
	d = opendir(path);
	if (!d)
		return sr_fail(-errno, "cannot open '%s': %s", path, strerror(errno));
	for (struct dirent *de; (de = readdir(d));) {
		void *p;
		if (!is_manifest_name(de->d_name))
			continue;
		p = realloc(v, (n + 1) * sizeof(*v));
		if (!p) {
			e = -ENOMEM;
			break;
		}
		v = p;
		memset(&v[n], 0, sizeof(v[n]));
		e = load_one(r, de->d_name, &v[n]);
		if (e < 0)
			break;
		n++;
	}
	closedir(d);
	if (e < 0) {
		repo_manifests_free(v, n);
		return e;
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_created);
	*ret = v;
	*ret_n = n;
	return 0;
}

int repo_set_match(const struct repo_manifest *sets, size_t n, const char *text, size_t *ret)
{
	int i;

	if (n == 0)
		return sr_fail(-ENOENT, "the repository has no sets");
	i = guid_match(text, &sets[0].set_id, n, sizeof(sets[0]));
	if (i == -ENOENT)
		return sr_fail(i, "no set '%s' in the repository", text);
	if (i == -ENOTUNIQ)
		return sr_fail(i, "'%s' names more than one set: give more digits", text);
	if (i < 0)
		return sr_fail(i, "'%s' is not a set ID", text);
	*ret = (size_t)i;
	return 0;
}

int repo_volume_match(const struct repo_manifest *sets, size_t n, const char *text, size_t *ret_set,
		      size_t *ret_vol)
{
	_cleanup_free_ struct sr_guid *ids = NULL;
	size_t total = 0, k = 0;
	int i;

	for (size_t s = 0; s < n; s++)
		total += sets[s].n_vols;
	if (total == 0)
		return sr_fail(-ENOENT, "no shadow copy '%s' in the repository (it holds no volumes)", text);
	ids = malloc(total * sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	for (size_t s = 0; s < n; s++)
		for (size_t v = 0; v < sets[s].n_vols; v++)
			ids[k++] = sets[s].vols[v].shadow_id;
	i = guid_match(text, ids, total, sizeof(*ids));
	if (i == -ENOENT)
		return sr_fail(i, "no shadow copy '%s' in the repository", text);
	if (i == -ENOTUNIQ)
		return sr_fail(i, "'%s' names more than one captured volume: give more digits", text);
	if (i < 0)
		return sr_fail(i, "'%s' is not a shadow copy ID", text);
	for (size_t s = 0; s < n; s++) {
		if ((size_t)i < sets[s].n_vols) {
			*ret_set = s;
			*ret_vol = (size_t)i;
			return 0;
		}
		i -= (int)sets[s].n_vols;
	}
	return -ENOENT;
}

static int rm_tree(const char *path)
{
	DIR *d = opendir(path);
	char sub[PATH_MAX];

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	for (struct dirent *de; (de = readdir(d));) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		if (unlink(sub) < 0 && errno == EISDIR)
			rm_tree(sub);
	}
	closedir(d);
	return rmdir(path) < 0 && errno != ENOENT ? -errno : 0;
}

static int gc_lock(const struct repo *r)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/locks/gc.lock", r->dir);
	fd = lockfile_take(path, 0, 0);
	if (fd == -EBUSY)
		return sr_fail(fd, "another gc or delete runs on '%s'", r->dir);
	return fd;
}

int repo_set_delete(const struct repo *r, const struct repo_manifest *m)
{
	char path[PATH_MAX];
	_cleanup_close_ int lock = -1;
	int e;

	lock = gc_lock(r);
	if (lock < 0)
		return lock;
	/* a running capture that is incremental against this set relies on its chunks */
	snprintf(path, sizeof(path), "%s/locks", r->dir);
	{
		DIR *d = opendir(path);
		for (struct dirent *de; d && (de = readdir(d));) {
			char lp[PATH_MAX + 300], base[128] = "";
			int fd;
			ssize_t n;
			if (strncmp(de->d_name, "writer-", 7) != 0)
				continue;
			snprintf(lp, sizeof(lp), "%s/locks/%s", r->dir, de->d_name);
			fd = lockfile_take(lp, 0, 0);
			if (fd >= 0) { /* nobody holds it */
				close(fd);
				continue;
			}
			fd = open(lp, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				continue;
			n = read(fd, base, sizeof(base) - 1);
			close(fd);
			base[n > 0 ? n : 0] = 0;
			if (strcmp(base, m->file) == 0) {
				closedir(d);
				return sr_fail(-EBUSY, "a running capture is incremental against this set");
			}
		}
		if (d)
			closedir(d);
	}
	snprintf(path, sizeof(path), "%s/sets/%s.manifest", r->dir, m->file);
	if (unlink(path) < 0)
		return sr_fail(-errno, "cannot remove '%s': %s", path, strerror(errno));
	e = fsync_parent(path);
	if (e < 0)
		return e;
	snprintf(path, sizeof(path), "%s/indexes/%s", r->dir, m->file);
	return rm_tree(path);
}

int repo_open_any(const char *dir, const char *pass_file, struct repo **ret)
{
	_cleanup_free_ char *def = NULL;
	char *pass = NULL;
	bool enc = false;
	int r;

	if (!dir) {
		r = repo_default_dir(&def);
		if (r < 0)
			return r;
		dir = def;
	}
	r = repo_config_probe(dir, &enc);
	if (r < 0)
		return r;
	if (enc) {
		r = crypto_passphrase_get(pass_file, "Repository passphrase: ", false, &pass);
		if (r == -ENOKEY)
			return sr_fail(r, "repository '%s' is encrypted: give its passphrase (--passphrase-file, "
					  "SHADOWREV_PASSPHRASE)", dir);
		if (r < 0)
			return r;
	}
	r = repo_open(dir, pass, ret);
	crypto_passphrase_free(pass);
	return r;
}

int repo_find_volume_src(const char *repo_dir, const char *pass_file, const char *shadow_id_text, struct src **ret)
{
	struct repo *r = NULL;
	struct repo_manifest *sets = NULL;
	size_t n = 0, s, v;
	int e;

	e = repo_open_any(repo_dir, pass_file, &r);
	if (e >= 0)
		e = repo_sets_load(r, &sets, &n);
	if (e >= 0)
		e = repo_volume_match(sets, n, shadow_id_text, &s, &v);
	if (e >= 0)
		e = repo_volume_src_new(r, &sets[s], v, ret);
	repo_manifests_free(sets, n);
	repo_free(r);
	return e;
}

/* gc (§7) */

#define GC_MARGIN 300.0 /* seconds: clock steps, atime granularity, a writer between its start and its lock */

static int cmp_digest(const void *a, const void *b)
{
	return memcmp(a, b, CRYPTO_DIGEST_SIZE);
}

static double ts_sec(struct timespec t)
{
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int add_index_refs(const struct repo *r, const char *rel, const uint8_t *sha, struct buf *refs)
{
	struct repo_index x;
	int e;

	e = repo_index_load(r, rel, sha, &x);
	if (e < 0)
		return e;
	for (uint64_t i = 0; i < x.count && e >= 0; i++)
		if (!chunk_digest_is_zero(x.digests[i]))
			e = buf_append(refs, x.digests[i], CRYPTO_DIGEST_SIZE);
	/* the plain chunks its composite slots reference (§5 version 2): gc needs no chunk read for them */
	if (e >= 0 && x.n_refs)
		e = buf_append(refs, x.refs, x.n_refs * CRYPTO_DIGEST_SIZE);
	repo_index_free(&x);
	return e;
}

int repo_gc(const struct repo *r, struct repo_gc_stats *ret)
{
	struct repo_gc_stats st = { 0 };
	struct repo_manifest *sets = NULL;
	struct buf refs = BUF_INIT;
	_cleanup_close_ int lock = -1;
	struct timespec now;
	char path[PATH_MAX], path2[PATH_MAX + 8];
	size_t n = 0, nrefs;
	double cutoff;
	DIR *d;
	int e;

	lock = gc_lock(r);
	if (lock < 0)
		return lock;
	clock_gettime(CLOCK_REALTIME, &now);
	cutoff = ts_sec(now) - GC_MARGIN;

	/* running writers: their marks are at least as new as their start */
	snprintf(path, sizeof(path), "%s/locks", r->dir);
	d = opendir(path);
	if (!d)
		return sr_fail(-errno, "cannot open '%s': %s", path, strerror(errno));
	for (struct dirent *de; (de = readdir(d));) {
		struct stat s;
		int fd;
		if (strncmp(de->d_name, "writer-", 7) != 0)
			continue;
		snprintf(path2, sizeof(path2), "%s/locks/%s", r->dir, de->d_name);
		fd = lockfile_take(path2, 0, 0);
		if (fd >= 0) { /* nobody holds it: a writer that died */
			unlink(path2);
			close(fd);
			continue;
		}
		if (stat(path2, &s) == 0 && ts_sec(s.st_mtim) - GC_MARGIN < cutoff)
			cutoff = ts_sec(s.st_mtim) - GC_MARGIN;
	}
	closedir(d);
	st.cutoff = cutoff;

	/* mark: every chunk a committed set references */
	e = repo_sets_load(r, &sets, &n);
	for (size_t s = 0; e >= 0 && s < n; s++) {
		for (size_t v = 0; e >= 0 && v < sets[s].n_vols; v++) {
			char rel[PATH_MAX];
			snprintf(rel, sizeof(rel), "%s", sets[s].vols[v].index);
			e = add_index_refs(r, rel, sets[s].vols[v].index_sha256, &refs);
		}
		for (size_t k = 0; e >= 0 && k < sets[s].n_disks; k++)
			e = add_index_refs(r, sets[s].disks[k].index, sets[s].disks[k].index_sha256, &refs);
		for (size_t k = 0; e >= 0 && k < sets[s].n_docs; k++)
			e = buf_append(&refs, sets[s].docs[k].digest, CRYPTO_DIGEST_SIZE);
	}
	if (e < 0)
		goto out;
	nrefs = refs.len / CRYPTO_DIGEST_SIZE;
	if (nrefs)
		qsort(refs.data, nrefs, CRYPTO_DIGEST_SIZE, cmp_digest);

	/* index directories of sets that were never committed (a capture that died) */
	snprintf(path, sizeof(path), "%s/indexes", r->dir);
	d = opendir(path);
	if (d) {
		for (struct dirent *de; (de = readdir(d));) {
			struct stat s;
			bool live = false;
			if (de->d_name[0] == '.')
				continue;
			for (size_t k = 0; k < n && !live; k++)
				live = strcmp(sets[k].file, de->d_name) == 0;
			snprintf(path2, sizeof(path2), "%s/indexes/%s", r->dir, de->d_name);
			if (live || stat(path2, &s) < 0 || ts_sec(s.st_mtim) >= cutoff)
				continue;
			if (rm_tree(path2) >= 0)
				st.indexes_removed++;
		}
		closedir(d);
	}

	/* sweep */
	for (unsigned b = 0; b < 256; b++) {
		snprintf(path, sizeof(path), "%s/chunks/%02x", r->dir, b);
		d = opendir(path);
		if (!d)
			continue;
		for (struct dirent *de; (de = readdir(d));) {
			uint8_t dg[CRYPTO_DIGEST_SIZE];
			struct stat s;
			if (de->d_name[0] == '.') {
				if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
				    fstatat(dirfd(d), de->d_name, &s, 0) == 0 && ts_sec(s.st_mtim) < cutoff &&
				    unlinkat(dirfd(d), de->d_name, 0) == 0)
					st.temp_removed++;
				continue;
			}
			if (hex_parse(de->d_name, strlen(de->d_name), dg, sizeof(dg)) < 0)
				continue;
			if (nrefs && bsearch(dg, refs.data, nrefs, CRYPTO_DIGEST_SIZE, cmp_digest)) {
				st.chunks_kept++;
				continue;
			}
			if (fstatat(dirfd(d), de->d_name, &s, 0) < 0 || ts_sec(s.st_atim) >= cutoff ||
			    ts_sec(s.st_mtim) >= cutoff) {
				st.chunks_kept++;
				continue;
			}
			/*
			 * A writer may mark it between our stat and the unlink: move it aside, look
			 * again, and put it back if it was marked meanwhile (a mark after the move
			 * finds nothing, so that writer stores the chunk anew).
			 */
			snprintf(path2, sizeof(path2), ".gc.%s", de->d_name);
			if (renameat(dirfd(d), de->d_name, dirfd(d), path2) < 0)
				continue;
			if (fstatat(dirfd(d), path2, &s, 0) == 0 && ts_sec(s.st_atim) >= cutoff) {
				(void)renameat(dirfd(d), path2, dirfd(d), de->d_name);
				st.chunks_kept++;
				continue;
			}
			if (unlinkat(dirfd(d), path2, 0) == 0) {
				st.chunks_removed++;
				st.bytes_removed += (uint64_t)s.st_size;
			}
		}
		closedir(d);
	}
	/* leftovers of manifests that were never linked */
	snprintf(path, sizeof(path), "%s/sets", r->dir);
	d = opendir(path);
	if (d) {
		for (struct dirent *de; (de = readdir(d));) {
			struct stat s;
			if (!strstr(de->d_name, ".tmp.") || fstatat(dirfd(d), de->d_name, &s, 0) < 0 ||
			    ts_sec(s.st_mtim) >= cutoff)
				continue;
			if (unlinkat(dirfd(d), de->d_name, 0) == 0)
				st.temp_removed++;
		}
		closedir(d);
	}
	*ret = st;
out:
	buf_free(&refs);
	repo_manifests_free(sets, n);
	return e;
}
