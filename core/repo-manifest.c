/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The manifest text (docs/FORMAT.md §6): one record per line, values %-escaped, "end" last. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filetime.h"
#include "macro.h"
#include "repo-internal.h"
#include "repo.h"

static void volume_free(struct repo_volume *v)
{
	free(v->name);
	free(v->source);
	free(v->index);
}

void repo_manifest_free(struct repo_manifest *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n_vols; i++)
		volume_free(&m->vols[i]);
	for (size_t i = 0; i < m->n_disks; i++) {
		free(m->disks[i].source);
		free(m->disks[i].index);
	}
	for (size_t i = 0; i < m->n_docs; i++)
		free(m->docs[i].name);
	free(m->vols);
	free(m->disks);
	free(m->docs);
	free(m->instance);
	free(m->file);
	memset(m, 0, sizeof(*m));
}

void repo_manifests_free(struct repo_manifest *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		repo_manifest_free(&v[i]);
	free(v);
}

static const char *roles_text(unsigned roles, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s%s", roles & REPO_ROLE_SYSTEM ? "system" : "",
		 (roles & REPO_ROLE_SYSTEM) && (roles & REPO_ROLE_BOOT) ? "," : "", roles & REPO_ROLE_BOOT ? "boot" : "");
	return buf;
}

/* " index=NAME index-sha256=HEX" and the end of a disk or volume line */
static int put_index(struct buf *b, const char *index, const uint8_t *sha)
{
	char hx[2 * CRYPTO_DIGEST_SIZE + 1];
	int r = buf_printf(b, " index=");

	if (r >= 0)
		r = repo_escape(b, index);
	if (r >= 0)
		r = buf_printf(b, " index-sha256=%s\n", hex_format(sha, CRYPTO_DIGEST_SIZE, hx));
	return r;
}

int repo_manifest_format(const struct repo_manifest *m, struct buf *b)
{
	char g[GUID_STRING_MAX], t[FILETIME_STRING_MAX], hx[2 * CRYPTO_DIGEST_SIZE + 1], rl[32];
	int r;

	r = buf_printf(b, "shadowrev-manifest %u\nset %s\ninstance ", REPO_MANIFEST_VERSION, guid_format(&m->set_id, g));
	if (r >= 0)
		r = repo_escape(b, m->instance ? m->instance : "");
	if (r >= 0)
		r = buf_printf(b, "\ncreated %s\n", filetime_format(m->created, t, sizeof(t)));
	if (r >= 0)
		r = buf_printf(b, "finished %s\nconsistency %s\nchunk-size %u\n", filetime_format(m->finished, t, sizeof(t)),
			       m->consistency[0] ? m->consistency : "crash", m->chunk_size);
	for (size_t i = 0; r >= 0 && i < m->n_disks; i++) {
		const struct repo_disk *d = &m->disks[i];
		r = buf_printf(b, "disk %u source=", d->no);
		if (r >= 0)
			r = repo_escape(b, d->source ? d->source : "");
		if (r >= 0)
			r = buf_printf(b, " size=%llu scheme=%s sector-size=%u", (unsigned long long)d->size, d->scheme,
				       d->sector_size);
		if (r >= 0 && !guid_is_null(&d->guid))
			r = buf_printf(b, " guid=%s", guid_format(&d->guid, g));
		if (r >= 0 && d->signature)
			r = buf_printf(b, " signature=%08x", d->signature);
		if (r >= 0)
			r = put_index(b, d->index, d->index_sha256);
	}
	for (size_t i = 0; r >= 0 && i < m->n_vols; i++) {
		const struct repo_volume *v = &m->vols[i];
		r = buf_printf(b, "volume %s name=", guid_format(&v->shadow_id, g));
		if (r >= 0)
			r = repo_escape(b, v->name);
		if (r >= 0 && v->source) {
			r = buf_printf(b, " source=");
			if (r >= 0)
				r = repo_escape(b, v->source);
		}
		if (r >= 0)
			r = buf_printf(b, " size=%llu fs=%s", (unsigned long long)v->size, v->fs[0] ? v->fs : "raw");
		if (r >= 0 && v->drive[0])
			r = buf_printf(b, " drive=%s", v->drive);
		if (r >= 0 && v->roles)
			r = buf_printf(b, " roles=%s", roles_text(v->roles, rl, sizeof(rl)));
		if (r >= 0 && v->disk >= 0)
			r = buf_printf(b, " disk=%d partition=%u offset=%llu", v->disk, v->partition,
				       (unsigned long long)v->offset);
		if (r >= 0)
			r = put_index(b, v->index, v->index_sha256);
	}
	for (size_t i = 0; r >= 0 && i < m->n_docs; i++) {
		const struct repo_document *d = &m->docs[i];
		r = buf_printf(b, "document ");
		if (r >= 0)
			r = repo_escape(b, d->name);
		if (r >= 0)
			r = buf_printf(b, " digest=%s size=%llu\n", hex_format(d->digest, CRYPTO_DIGEST_SIZE, hx),
				       (unsigned long long)d->size);
	}
	if (r >= 0)
		r = buf_printf(b, "end\n");
	return r;
}

/* parsing */

static int num(const char *s, uint64_t *ret)
{
	char *e;
	unsigned long long v;

	if (!*s || *s < '0' || *s > '9')
		return -EBADMSG;
	errno = 0;
	v = strtoull(s, &e, 10);
	if (errno || *e)
		return -EBADMSG;
	*ret = v;
	return 0;
}

static int dup_val(const char *v, char **ret)
{
	char *s = strdup(v);
	if (!s)
		return -ENOMEM;
	free(*ret);
	*ret = s;
	return 0;
}

static bool safe_rel(const char *s)
{
	return *s && s[0] != '/' && !strstr(s, "..");
}

/* the keys disk and volume lines share; 0 for any other key (skipped) */
static int index_kv(char **index, uint8_t *sha, const char *k, const char *v)
{
	if (strcmp(k, "index") == 0)
		return safe_rel(v) ? dup_val(v, index) : -EBADMSG;
	if (strcmp(k, "index-sha256") == 0)
		return hex_parse(v, strlen(v), sha, CRYPTO_DIGEST_SIZE) < 0 ? -EBADMSG : 0;
	return 0;
}

/* a number no larger than max */
static int num_max(const char *s, uint64_t max, uint64_t *ret)
{
	return num(s, ret) < 0 || *ret > max ? -EBADMSG : 0;
}

static int disk_kv(struct repo_disk *d, const char *k, const char *v)
{
	uint64_t n;

	if (strcmp(k, "source") == 0)
		return dup_val(v, &d->source);
	if (strcmp(k, "size") == 0)
		return num(v, &d->size);
	if (strcmp(k, "scheme") == 0) {
		if (strcmp(v, "gpt") && strcmp(v, "mbr") && strcmp(v, "none"))
			return -EBADMSG;
		snprintf(d->scheme, sizeof(d->scheme), "%s", v);
		return 0;
	}
	if (strcmp(k, "sector-size") == 0) {
		if (num(v, &n) < 0 || n < 512 || n > 65536)
			return -EBADMSG;
		d->sector_size = (unsigned)n;
		return 0;
	}
	if (strcmp(k, "guid") == 0)
		return guid_parse(v, &d->guid) < 0 ? -EBADMSG : 0;
	if (strcmp(k, "signature") == 0) {
		uint8_t s[4];
		if (hex_parse(v, strlen(v), s, 4) < 0)
			return -EBADMSG;
		d->signature = (uint32_t)s[0] << 24 | (uint32_t)s[1] << 16 | (uint32_t)s[2] << 8 | s[3];
		return 0;
	}
	return index_kv(&d->index, d->index_sha256, k, v); /* unknown keys: skipped */
}

static int vol_kv(struct repo_volume *o, const char *k, const char *v)
{
	uint64_t n;

	if (strcmp(k, "name") == 0)
		return dup_val(v, &o->name);
	if (strcmp(k, "source") == 0)
		return dup_val(v, &o->source);
	if (strcmp(k, "size") == 0)
		return num(v, &o->size);
	if (strcmp(k, "fs") == 0) {
		if (strlen(v) >= sizeof(o->fs))
			return -EBADMSG;
		snprintf(o->fs, sizeof(o->fs), "%s", v);
		return 0;
	}
	if (strcmp(k, "drive") == 0) {
		if (strlen(v) != 2 || v[1] != ':' || !((v[0] >= 'A' && v[0] <= 'Z') || (v[0] >= 'a' && v[0] <= 'z')))
			return -EBADMSG;
		snprintf(o->drive, sizeof(o->drive), "%s", v);
		return 0;
	}
	if (strcmp(k, "roles") == 0) {
		_cleanup_free_ char *c = strdup(v);
		char *save = NULL;
		if (!c)
			return -ENOMEM;
		for (char *t = strtok_r(c, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			if (strcmp(t, "system") == 0)
				o->roles |= REPO_ROLE_SYSTEM;
			else if (strcmp(t, "boot") == 0)
				o->roles |= REPO_ROLE_BOOT;
		}
		return 0;
	}
	if (strcmp(k, "disk") == 0) {
		if (num_max(v, 1024, &n) < 0)
			return -EBADMSG;
		o->disk = (int)n;
		return 0;
	}
	if (strcmp(k, "partition") == 0) {
		if (num_max(v, 65535, &n) < 0)
			return -EBADMSG;
		o->partition = (unsigned)n;
		return 0;
	}
	if (strcmp(k, "offset") == 0)
		return num(v, &o->offset);
	return index_kv(&o->index, o->index_sha256, k, v);
}

static int doc_kv(struct repo_document *d, const char *k, const char *v)
{
	if (strcmp(k, "digest") == 0)
		return hex_parse(v, strlen(v), d->digest, CRYPTO_DIGEST_SIZE) < 0 ? -EBADMSG : 0;
	if (strcmp(k, "size") == 0)
		return num(v, &d->size);
	return 0;
}

#define GROW(arr, n)                                                                  \
	({                                                                            \
		void *_p = realloc((arr), ((n) + 1) * sizeof(*(arr)));                \
		if (_p) {                                                             \
			(arr) = _p;                                                   \
			memset(&(arr)[(n)], 0, sizeof(*(arr)));                        \
		}                                                                     \
		_p ? 0 : -ENOMEM;                                                     \
	})

static int parse_line(struct repo_manifest *m, char *line, unsigned no, bool *ended)
{
	char *save = NULL, *kw, *pos, *tok;
	int r = 0;
	uint64_t n;

	if (*ended)
		return -EBADMSG; /* nothing after "end" */
	kw = strtok_r(line, " ", &save);
	if (!kw)
		return -EBADMSG;
	if (no == 1) {
		if (strcmp(kw, "shadowrev-manifest") != 0 || !(pos = strtok_r(NULL, " ", &save)) || num(pos, &n) < 0)
			return -EBADMSG;
		if (n != REPO_MANIFEST_VERSION)
			return -EPROTONOSUPPORT;
		m->version = (unsigned)n;
		return 0;
	}
	if (strcmp(kw, "end") == 0) {
		*ended = true;
		return 0;
	}
	pos = strtok_r(NULL, " ", &save);
	if (!pos) {
		if (strcmp(kw, "instance") == 0)
			return dup_val("", &m->instance);
		return -EBADMSG;
	}
	if (strcmp(kw, "set") == 0)
		return guid_parse(pos, &m->set_id) < 0 ? -EBADMSG : 0;
	if (strcmp(kw, "instance") == 0) {
		r = repo_unescape(pos);
		return r < 0 ? r : dup_val(pos, &m->instance);
	}
	if (strcmp(kw, "created") == 0)
		return filetime_parse(pos, &m->created) < 0 ? -EBADMSG : 0;
	if (strcmp(kw, "finished") == 0)
		return filetime_parse(pos, &m->finished) < 0 ? -EBADMSG : 0;
	if (strcmp(kw, "consistency") == 0) {
		if (strcmp(pos, "crash") && strcmp(pos, "filesystem") && strcmp(pos, "application"))
			return -EBADMSG;
		snprintf(m->consistency, sizeof(m->consistency), "%s", pos);
		return 0;
	}
	if (strcmp(kw, "chunk-size") == 0) {
		if (num(pos, &n) < 0 || n < 4096 || n > (16u << 20) || (n & (n - 1)))
			return -EBADMSG;
		m->chunk_size = (uint32_t)n;
		return 0;
	}
	if (strcmp(kw, "disk") == 0) {
		struct repo_disk *d;
		if (m->n_disks >= 1024 || num(pos, &n) < 0 || n != m->n_disks || GROW(m->disks, m->n_disks) < 0)
			return -EBADMSG;
		d = &m->disks[m->n_disks++];
		d->no = (unsigned)n;
		d->sector_size = 512;
		snprintf(d->scheme, sizeof(d->scheme), "none");
		while (r >= 0 && (tok = strtok_r(NULL, " ", &save))) {
			char *eq = strchr(tok, '=');
			if (!eq)
				return -EBADMSG;
			*eq = 0;
			r = repo_unescape(eq + 1);
			if (r >= 0)
				r = disk_kv(d, tok, eq + 1);
		}
		if (r >= 0 && !d->index)
			r = -EBADMSG;
		return r;
	}
	if (strcmp(kw, "volume") == 0) {
		struct repo_volume *v;
		if (m->n_vols >= 65536 || GROW(m->vols, m->n_vols) < 0)
			return -ENOMEM;
		v = &m->vols[m->n_vols++];
		v->disk = -1;
		if (guid_parse(pos, &v->shadow_id) < 0)
			return -EBADMSG;
		while (r >= 0 && (tok = strtok_r(NULL, " ", &save))) {
			char *eq = strchr(tok, '=');
			if (!eq)
				return -EBADMSG;
			*eq = 0;
			r = repo_unescape(eq + 1);
			if (r >= 0)
				r = vol_kv(v, tok, eq + 1);
		}
		if (r >= 0 && (!v->index || !v->name))
			r = -EBADMSG;
		return r;
	}
	if (strcmp(kw, "document") == 0) {
		struct repo_document *d;
		if (m->n_docs >= 4096 || GROW(m->docs, m->n_docs) < 0)
			return -ENOMEM;
		d = &m->docs[m->n_docs++];
		r = repo_unescape(pos);
		if (r >= 0)
			r = dup_val(pos, &d->name);
		while (r >= 0 && (tok = strtok_r(NULL, " ", &save))) {
			char *eq = strchr(tok, '=');
			if (!eq)
				return -EBADMSG;
			*eq = 0;
			r = repo_unescape(eq + 1);
			if (r >= 0)
				r = doc_kv(d, tok, eq + 1);
		}
		return r;
	}
	return 0; /* unknown record: skipped */
}

int repo_manifest_parse(const void *buf, size_t len, struct repo_manifest *ret)
{
	_cleanup_free_ char *copy = NULL;
	struct repo_manifest m = { 0 };
	bool ended = false;
	unsigned no = 0;
	char *p, *end;
	int r = 0;

	if (memchr(buf, 0, len))
		return -EBADMSG;
	copy = malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, buf, len);
	copy[len] = 0;
	for (p = copy; *p && r >= 0; p = end + 1) {
		end = strchr(p, '\n');
		if (!end) {
			r = -EBADMSG;
			break;
		}
		*end = 0;
		r = parse_line(&m, p, ++no, &ended);
	}
	if (r >= 0 && (!ended || !m.version || guid_is_null(&m.set_id) || !m.chunk_size || !m.instance))
		r = -EBADMSG;
	for (size_t i = 0; r >= 0 && i < m.n_vols; i++)
		if (m.vols[i].disk >= (int)m.n_disks)
			r = -EBADMSG;
	if (r < 0) {
		repo_manifest_free(&m);
		return r;
	}
	if (!m.consistency[0])
		snprintf(m.consistency, sizeof(m.consistency), "crash");
	*ret = m;
	return 0;
}
