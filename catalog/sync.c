/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The catalog follows the repository: each committed set's manifest, the
 * documents attached at capture, and the VSS stores inside its captured
 * volumes. Which manifests were seen is kept by file name (sets/<name>.manifest),
 * so that finding nothing new needs no key, even for an encrypted repository.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "catalog-internal.h"
#include "core/chunk.h"
#include "core/crypto.h"
#include "core/io.h"
#include "core/log.h"
#include "core/macro.h"
#include "core/repo.h"
#include "core/vss.h"
#include "metadata.h"


struct names {
	char **v;
	size_t n, cap;
};

static void names_free(struct names *x)
{
	for (size_t i = 0; i < x->n; i++)
		free(x->v[i]);
	free(x->v);
}

static bool names_has(const struct names *x, const char *s)
{
	for (size_t i = 0; i < x->n; i++)
		if (strcmp(x->v[i], s) == 0)
			return true;
	return false;
}

static int names_add(struct names *x, const char *s, size_t len)
{
	char *d = strndup(s, len);
	int r;

	if (!d)
		return -ENOMEM;
	r = vec_grow_((void **)&x->v, &x->cap, x->n + 1, sizeof(char *));
	if (r < 0) {
		free(d);
		return r;
	}
	x->v[x->n++] = d;
	return 0;
}

/* The manifest names in <dir>/sets/. */
static int repo_manifest_names(const char *dir, struct names *ret)
{
	char path[4096];
	DIR *d;
	int r = 0;

	snprintf(path, sizeof(path), "%s/sets", dir);
	d = opendir(path);
	if (!d)
		return sr_fail(-errno, "cannot open '%s': %s", path, strerror(errno));
	for (struct dirent *de; r >= 0 && (de = readdir(d));) {
		size_t l = strlen(de->d_name);
		if (de->d_name[0] == '.' || l <= 9 || strcmp(de->d_name + l - 9, ".manifest") != 0)
			continue;
		r = names_add(ret, de->d_name, l - 9);
	}
	closedir(d);
	return r;
}

static int catalog_manifest_names(struct catalog *c, struct names *ret)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	r = catalog_prepare(c, "SELECT file FROM repo_manifests", &st);
	if (r < 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *f = catalog_col(st, 0);
		r = names_add(ret, f, strlen(f));
		if (r < 0)
			return r;
	}
	return rc == SQLITE_DONE ? 0 : catalog_sqlite_error(c, rc, "cannot list the manifests seen");
}

static int import_documents(struct catalog *c, struct repo *repo, const struct repo_manifest *m)
{
	_cleanup_(chunk_ctx_freep) struct chunk_ctx *cc = NULL;
	char g[GUID_STRING_MAX];
	int r;

	if (!m->n_docs)
		return 0;
	r = chunk_ctx_new(repo_level(repo), &cc);
	if (r < 0)
		return r;
	for (size_t i = 0; i < m->n_docs; i++) {
		const struct repo_document *d = &m->docs[i];
		_cleanup_free_ void *data = NULL;
		struct catalog_doc doc;
		struct md md;
		size_t len = 0;

		if (d->size > CHUNK_PLAIN_MAX)
			continue;
		data = malloc(d->size ? d->size : 1);
		if (!data)
			return -ENOMEM;
		r = repo_chunk_load(repo, cc, d->digest, data, d->size ? d->size : 1, &len);
		if (r < 0) {
			sr_warn("set {%s}: cannot read attached document '%s': %s", guid_format(&m->set_id, g), d->name,
				sr_errmsg(r));
			continue;
		}
		md_init(&md);
		r = md_parse_document(&md, d->name, data, len);
		if (r >= 0)
			r = md_finish(&md, &m->set_id);
		if (r >= 0) {
			doc = (struct catalog_doc){ d->name, data, len };
			r = catalog_import_md(c, &m->set_id, &md, &doc, 1);
			md_free(&md);
			if (r < 0)
				return r;
			continue;
		}
		md_free(&md);
		if (r == -ENOMEM)
			return r;
		/* a document the capture kept but that does not parse must not hide the set */
		sr_warn("set {%s}: attached document '%s' not imported: %s", guid_format(&m->set_id, g), d->name,
			sr_errmsg(r));
	}
	return 0;
}

/* Volume i of set m keeps its shadow storage on volume k (both captured): a row of the storage table. */
static int add_association(struct catalog *c, const struct repo_manifest *m, size_t i, size_t k)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	char a[300], b[300], g[GUID_STRING_MAX], h[GUID_STRING_MAX];
	int r;

	/* keyed as the captured volumes' sources name themselves ("Shadow storage:" of list shadows) */
	guid_format(&m->set_id, g);
	snprintf(a, sizeof(a), "set {%s} volume %s {%s}", g, m->vols[i].name, guid_format(&m->vols[i].shadow_id, h));
	snprintf(b, sizeof(b), "set {%s} volume %s {%s}", g, m->vols[k].name, guid_format(&m->vols[k].shadow_id, h));
	r = catalog_prepare(c,
			    "INSERT INTO storage (for_volume, for_name, storage_volume, storage_name, set_id, source)"
			    " VALUES (?,?,?,?,?,?) ON CONFLICT DO UPDATE SET set_id = excluded.set_id,"
			    " source = excluded.source",
			    &st);
	if (r < 0)
		return r;
	catalog_bind_text(st, 1, a);
	catalog_bind_text(st, 2, m->vols[i].drive[0] ? m->vols[i].drive : m->vols[i].name);
	catalog_bind_text(st, 3, b);
	catalog_bind_text(st, 4, m->vols[k].drive[0] ? m->vols[k].drive : m->vols[k].name);
	catalog_bind_guid(st, 5, &m->set_id);
	catalog_bind_text(st, 6, "vss-store");
	return catalog_step_done(c, st, "cannot add a shadow storage association");
}

static int import_stores(struct catalog *c, struct repo *repo, const struct repo_manifest *m)
{
	struct vss_volume **vv;
	char g[GUID_STRING_MAX];
	int r = 0;

	vv = calloc(m->n_vols ? m->n_vols : 1, sizeof(*vv));
	if (!vv)
		return -ENOMEM;
	for (size_t i = 0; i < m->n_vols; i++) {
		struct src *s = NULL;

		if (strcmp(m->vols[i].fs, "ntfs") != 0)
			continue;
		r = repo_volume_src_new(repo, m, i, &s);
		if (r >= 0) {
			r = vss_volume_open(s, &vv[i]);
			src_unref(s);
		}
		if (r < 0) {
			if (r == -ENOMEM)
				goto out;
			sr_warn("set {%s}: volume %s: cannot read its shadow copies: %s", guid_format(&m->set_id, g),
				m->vols[i].name, sr_errmsg(r));
			vv[i] = NULL;
			r = 0;
		}
	}
	/* shadow storage on another volume of the same set: attached, and recorded as an association */
	for (size_t i = 0; i < m->n_vols; i++)
		for (size_t k = 0; vv[i] && k < m->n_vols && r >= 0; k++) {
			int n;
			if (k == i || !vv[k])
				continue;
			n = vss_volume_attach_storage(vv[i], vv[k]);
			if (n < 0)
				sr_errclear();
			else if (n > 0)
				r = add_association(c, m, i, k);
		}
	if (r < 0)
		goto out;
	for (size_t i = 0; r >= 0 && i < m->n_vols; i++)
		if (vv[i])
			r = catalog_import_vss(c, &m->set_id, m->vols[i].name, NULL, vv[i]);
out:
	for (size_t i = 0; i < m->n_vols; i++)
		vss_volume_free(vv[i]);
	free(vv);
	return r;
}

static int import_manifest(struct catalog *c, struct repo *repo, const struct repo_manifest *m)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	r = catalog_import_repo_set(c, &m->set_id, m->instance, m->created, m->consistency, m->file);
	for (size_t i = 0; r >= 0 && i < m->n_vols; i++) {
		const struct repo_volume *v = &m->vols[i];
		r = catalog_import_repo_volume(c, &m->set_id, &v->shadow_id, v->name, v->drive, v->fs, v->size, v->disk,
					       v->partition, v->offset, v->roles & REPO_ROLE_SYSTEM,
					       v->roles & REPO_ROLE_BOOT);
	}
	if (r >= 0)
		r = import_documents(c, repo, m);
	if (r >= 0)
		r = import_stores(c, repo, m);
	if (r >= 0)
		r = catalog_prepare(c, "INSERT OR REPLACE INTO repo_manifests (file, set_id) VALUES (?, ?)", &st);
	if (r >= 0) {
		catalog_bind_text(st, 1, m->file);
		catalog_bind_guid(st, 2, &m->set_id);
		r = catalog_step_done(c, st, "cannot record a manifest");
	}
	if (r >= 0)
		r = catalog_refresh_set(c, &m->set_id);
	return r;
}

/* Documents imported with `catalog import`, kept in catalog-documents/<set>/ for rebuild. */
static int reimport_documents(struct catalog *c)
{
	char path[4096];
	DIR *d;
	int r = 0;

	snprintf(path, sizeof(path), "%s/%s", c->dir, CATALOG_DOCS_DIR);
	d = opendir(path);
	if (!d)
		return errno == ENOENT ? 0 : sr_fail(-errno, "cannot open '%s': %s", path, strerror(errno));
	for (struct dirent *de; r >= 0 && (de = readdir(d));) {
		struct sr_guid set;
		struct names files = { 0 };
		char sub[4096 + 300];
		DIR *s;

		if (guid_parse(de->d_name, &set) < 0)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		s = opendir(sub);
		if (!s)
			continue;
		for (struct dirent *fe; r >= 0 && (fe = readdir(s));) {
			char full[4096 + 600];
			if (fe->d_name[0] == '.')
				continue;
			snprintf(full, sizeof(full), "%s/%s", sub, fe->d_name);
			r = names_add(&files, full, strlen(full));
		}
		closedir(s);
		if (r >= 0 && files.n)
			r = catalog_import_files(c, &set, files.v, files.n);
		names_free(&files);
	}
	closedir(d);
	return r;
}

int catalog_sync(struct catalog *c, bool rebuild, unsigned *ret_new)
{
	struct names in_repo = { 0 }, seen = { 0 };
	struct repo *repo = NULL;
	struct repo_manifest *sets = NULL;
	size_t n_sets = 0;
	unsigned n_new = 0;
	bool enc = false, gone = false, news = false;
	char *pass = NULL;
	int r;

	/* a new (or lost and made again) catalog: everything, kept documents included */
	if (c->created) {
		rebuild = true;
		c->created = false;
	}
	r = repo_config_probe(c->dir, &enc);
	if (r == -ENOENT) {
		/* a directory without a repository: a catalog of documents only */
		sr_errclear();
		r = 0;
		if (rebuild) {
			r = catalog_begin(c);
			if (r >= 0)
				r = catalog_clear(c);
			if (r >= 0)
				r = reimport_documents(c);
			if (r >= 0)
				r = catalog_commit(c);
			else
				catalog_rollback(c);
		}
		goto out;
	}
	if (r < 0)
		goto out;
	r = repo_manifest_names(c->dir, &in_repo);
	if (r >= 0)
		r = catalog_manifest_names(c, &seen);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < seen.n; i++)
		gone |= !names_has(&in_repo, seen.v[i]);
	for (size_t i = 0; i < in_repo.n; i++)
		news |= !names_has(&seen, in_repo.v[i]);
	if (!rebuild && !gone && !news)
		goto out;
	/* a set deleted from the repository: build the catalog again rather than guess what to drop */
	if (gone)
		rebuild = true;
	if (enc) {
		r = crypto_passphrase_get(c->pass_file, "Repository passphrase: ", false, &pass);
		if (r < 0)
			goto out;
	}
	r = repo_open(c->dir, pass, &repo);
	crypto_passphrase_free(pass);
	if (r >= 0)
		r = repo_sets_load(repo, &sets, &n_sets);
	if (r < 0)
		goto out;
	r = catalog_begin(c);
	if (r < 0)
		goto out;
	if (rebuild)
		r = catalog_clear(c);
	for (size_t i = 0; r >= 0 && i < n_sets; i++) {
		if (!rebuild && names_has(&seen, sets[i].file))
			continue;
		r = import_manifest(c, repo, &sets[i]);
		n_new++;
	}
	if (r >= 0 && rebuild)
		r = reimport_documents(c);
	if (r >= 0)
		r = catalog_commit(c);
	else
		catalog_rollback(c);
out:
	names_free(&in_repo);
	names_free(&seen);
	repo_manifests_free(sets, n_sets);
	repo_free(repo);
	if (r >= 0 && ret_new)
		*ret_new = n_new;
	return r;
}
