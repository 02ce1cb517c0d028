/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "metadata.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/macro.h"
#include "metadata-internal.h"

struct md_limits md_limits = { MD_DOC_MAX, MD_MEMBER_MAX, MD_ARCHIVE_TOTAL, MD_MEMBERS_MAX, MD_XML_DEPTH };

void md_limits_reset(void)
{
	md_limits = (struct md_limits){ MD_DOC_MAX, MD_MEMBER_MAX, MD_ARCHIVE_TOTAL, MD_MEMBERS_MAX, MD_XML_DEPTH };
}

static const char *const level_names[] = {
	[MD_LEVEL_UNKNOWN] = "unknown",
	[MD_LEVEL_CRASH] = "crash-consistent",
	[MD_LEVEL_FS] = "file-system-consistent",
	[MD_LEVEL_APP] = "application-consistent",
};

const char *md_level_name(enum md_level l)
{
	return (unsigned)l < ARRAY_SIZE(level_names) ? level_names[l] : "unknown";
}

enum md_level md_level_from_name(const char *s)
{
	for (size_t i = 1; s && i < ARRAY_SIZE(level_names); i++)
		if (strcmp(s, level_names[i]) == 0)
			return (enum md_level)i;
	return MD_LEVEL_UNKNOWN;
}

const char *md_doc_kind_name(enum md_doc_kind k)
{
	static const char *const names[] = {
		[MD_DOC_UNKNOWN] = "unknown",    [MD_DOC_BCD] = "bcd",   [MD_DOC_WM] = "writer-metadata",
		[MD_DOC_MANIFEST] = "cab-manifest", [MD_DOC_LISTING] = "listing", [MD_DOC_CAB] = "cab",
		[MD_DOC_ZIP] = "zip",
	};
	return (unsigned)k < ARRAY_SIZE(names) ? names[k] : "unknown";
}

void md_init(struct md *m)
{
	memset(m, 0, sizeof(*m));
}

static void shadow_free(struct md_shadow *s)
{
	free(s->volume_path);
	free(s->volume_name);
	free(s->device);
	free(s->originating_machine);
	free(s->service_machine);
	free(s->provider);
	free(s->created_text);
	free(s->type);
	free(s->exposure);
	free(s->alias);
	free(s->attr_text);
}

static void writer_free(struct md_writer *w)
{
	free(w->name);
	free(w->instance_name);
	free(w->usage);
	free(w->data_source);
	free(w->restore_method);
	for (size_t i = 0; i < w->comps.n; i++) {
		free(w->comps.v[i].logical_path);
		free(w->comps.v[i].name);
		free(w->comps.v[i].caption);
		free(w->comps.v[i].type);
	}
	free(w->comps.v);
}

void md_free(struct md *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->sets.n; i++) {
		free(m->sets.v[i].machine);
		free(m->sets.v[i].created_text);
		free(m->sets.v[i].backup_type);
	}
	for (size_t i = 0; i < m->shadows.n; i++)
		shadow_free(&m->shadows.v[i]);
	for (size_t i = 0; i < m->writers.n; i++)
		writer_free(&m->writers.v[i]);
	for (size_t i = 0; i < m->storage.n; i++) {
		struct md_storage *s = &m->storage.v[i];
		free(s->for_path);
		free(s->for_name);
		free(s->storage_path);
		free(s->storage_name);
		free(s->used);
		free(s->allocated);
		free(s->maximum);
	}
	for (size_t i = 0; i < m->evidence.n; i++)
		free(m->evidence.v[i].text);
	free(m->sets.v);
	free(m->shadows.v);
	free(m->writers.v);
	free(m->storage.v);
	free(m->evidence.v);
	md_init(m);
}

/* ---- building blocks used by the parsers ---- */

int md_strdup(const char *s, char **ret)
{
	return md_strndup(s, s ? strlen(s) : 0, ret);
}

int md_strndup(const char *s, size_t len, char **ret)
{
	char *p;

	if (!s) {
		*ret = NULL;
		return 0;
	}
	p = strndup(s, len);
	if (!p)
		return -ENOMEM;
	free(*ret);
	*ret = p;
	return 0;
}

int md_set_get(struct md *m, const struct sr_guid *id, struct md_set **ret)
{
	struct md_set s = { .id = *id, .bootable = -1, .shadow_count = -1, .context = -1 };
	int r;

	for (size_t i = 0; i < m->sets.n; i++)
		if (guid_equal(&m->sets.v[i].id, id)) {
			*ret = &m->sets.v[i];
			return 0;
		}
	r = vec_push(&m->sets, s);
	if (r < 0)
		return r;
	*ret = &m->sets.v[m->sets.n - 1];
	return 0;
}

int md_shadow_get(struct md *m, const struct sr_guid *id, struct md_shadow **ret)
{
	struct md_shadow s = { .id = *id, .context = -1 };
	int r;

	for (size_t i = 0; i < m->shadows.n; i++)
		if (guid_equal(&m->shadows.v[i].id, id)) {
			*ret = &m->shadows.v[i];
			return 0;
		}
	r = vec_push(&m->shadows, s);
	if (r < 0)
		return r;
	*ret = &m->shadows.v[m->shadows.n - 1];
	return 0;
}

int md_writer_get(struct md *m, const struct sr_guid *writer, const struct sr_guid *instance,
		  const struct sr_guid *set, struct md_writer **ret)
{
	struct md_writer w = { .writer_id = *writer, .instance_id = *instance, .reboot_required = -1 };
	int r;

	for (size_t i = 0; i < m->writers.n; i++) {
		struct md_writer *x = &m->writers.v[i];
		if (x->named_only || !guid_equal(&x->writer_id, writer) || !guid_equal(&x->instance_id, instance))
			continue;
		if ((set != NULL) != x->has_set || (set && !guid_equal(set, &x->set_id)))
			continue;
		*ret = x;
		return 0;
	}
	if (set) {
		w.set_id = *set;
		w.has_set = true;
	}
	r = vec_push(&m->writers, w);
	if (r < 0)
		return r;
	*ret = &m->writers.v[m->writers.n - 1];
	return 0;
}

int md_writer_get_named(struct md *m, const char *name, struct md_writer **ret)
{
	struct md_writer w = { .reboot_required = -1, .named_only = true };
	int r;

	for (size_t i = 0; i < m->writers.n; i++)
		if (m->writers.v[i].named_only && m->writers.v[i].name && strcmp(m->writers.v[i].name, name) == 0) {
			*ret = &m->writers.v[i];
			return 0;
		}
	r = md_strdup(name, &w.name);
	if (r >= 0)
		r = vec_push(&m->writers, w);
	if (r < 0) {
		free(w.name);
		return r;
	}
	*ret = &m->writers.v[m->writers.n - 1];
	return 0;
}

int md_component_add(struct md_writer *w, const char *logical_path, const char *name, const char *caption,
		     const char *type, bool selected)
{
	struct md_component c = { 0 };
	int r;

	if (!logical_path)
		logical_path = "";
	for (size_t i = 0; i < w->comps.n; i++) {
		struct md_component *x = &w->comps.v[i];
		if (strcmp(x->logical_path, logical_path) != 0 || strcmp(x->name, name) != 0)
			continue;
		x->selected |= selected;
		if (!x->caption && caption && (r = md_strdup(caption, &x->caption)) < 0)
			return r;
		/* the writer's own description (WM, not selected) names the type over the BCD's */
		if ((!x->type || !selected) && type && (r = md_strdup(type, &x->type)) < 0)
			return r;
		return 0;
	}
	c.selected = selected;
	if (md_strdup(logical_path, &c.logical_path) < 0 || md_strdup(name, &c.name) < 0 ||
	    md_strdup(caption, &c.caption) < 0 || md_strdup(type, &c.type) < 0 || (r = vec_push(&w->comps, c)) < 0) {
		free(c.logical_path);
		free(c.name);
		free(c.caption);
		free(c.type);
		return -ENOMEM;
	}
	return 0;
}

int md_evidence_add(struct md *m, const struct sr_guid *set, enum md_level level, bool strong, const char *text)
{
	struct md_evidence e = { .level = level, .strong = strong };
	int r;

	if (set) {
		e.set_id = *set;
		e.has_set = true;
	}
	r = md_strdup(text, &e.text);
	if (r < 0)
		return r;
	r = vec_push(&m->evidence, e);
	if (r < 0)
		free(e.text);
	return r;
}

/* ---- text decoding ---- */

static int put_utf8(struct buf *b, uint32_t cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | cp >> 18);
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return buf_append(b, u, n);
}

static bool control_refused(uint32_t cp)
{
	return (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') || cp == 0x7f;
}

static int decode_utf16(const uint8_t *p, size_t len, bool be, struct buf *out)
{
	size_t n;
	int r;

	if (len % 2)
		return sr_fail(-EBADMSG, "UTF-16 text with an odd number of bytes (%zu)", len);
	n = len / 2;
	/* the BSTR's terminating NUL (vshadow writes it), and any padding */
	while (n > 0 && p[2 * (n - 1)] == 0 && p[2 * (n - 1) + 1] == 0)
		n--;
	r = buf_reserve(out, n * 3 + 1);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		uint32_t u = be ? (uint32_t)(p[2 * i] << 8 | p[2 * i + 1]) : le16(p + 2 * i);

		if (u >= 0xd800 && u <= 0xdbff) {
			uint32_t lo;
			if (i + 1 >= n)
				return sr_fail(-EBADMSG, "UTF-16 text ends inside a surrogate pair (byte %zu)", 2 * i);
			lo = be ? (uint32_t)(p[2 * i + 2] << 8 | p[2 * i + 3]) : le16(p + 2 * i + 2);
			if (lo < 0xdc00 || lo > 0xdfff)
				return sr_fail(-EBADMSG, "unpaired UTF-16 surrogate at byte %zu", 2 * i);
			u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
			i++;
		} else if (u >= 0xdc00 && u <= 0xdfff) {
			return sr_fail(-EBADMSG, "unpaired UTF-16 surrogate at byte %zu", 2 * i);
		} else if (control_refused(u)) {
			return sr_fail(-EBADMSG, "control character 0x%02x at byte %zu of UTF-16 text (not text?)", u,
				       2 * i);
		}
		r = put_utf8(out, u);
		if (r < 0)
			return r;
	}
	return 0;
}

static int decode_utf8(const uint8_t *p, size_t len, struct buf *out)
{
	size_t i = 0;
	int r;

	while (len > 0 && p[len - 1] == 0)
		len--;
	while (i < len) {
		uint8_t c = p[i];
		uint32_t cp;
		size_t k;

		if (c < 0x80) {
			if (control_refused(c))
				return sr_fail(-EBADMSG, "control character 0x%02x at byte %zu (not UTF-8 or UTF-16 text)",
					       c, i);
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			k = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			k = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			k = 3, cp = c & 0x07;
		else
			return sr_fail(-EBADMSG, "invalid UTF-8 byte 0x%02x at byte %zu (convert the file to UTF-8 "
						 "or UTF-16, e.g. with iconv)", c, i);
		if (i + k >= len)
			return sr_fail(-EBADMSG, "UTF-8 text ends inside a character (byte %zu)", i);
		for (size_t j = 1; j <= k; j++) {
			if ((p[i + j] & 0xc0) != 0x80)
				return sr_fail(-EBADMSG, "invalid UTF-8 sequence at byte %zu (convert the file to UTF-8 "
							 "or UTF-16, e.g. with iconv)", i);
			cp = cp << 6 | (p[i + j] & 0x3f);
		}
		if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return sr_fail(-EBADMSG, "invalid UTF-8 sequence at byte %zu", i);
		i += k + 1;
	}
	r = buf_append(out, p, len);
	return r;
}

int md_decode_text(const void *buf, size_t len, char **ret, size_t *ret_len)
{
	const uint8_t *p = buf;
	struct buf out = BUF_INIT;
	int r;

	if (len > md_limits.doc_max)
		return sr_fail(-EFBIG, "document of %zu bytes is over the limit of %zu bytes", len, md_limits.doc_max);
	if (len >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
		r = decode_utf8(p + 3, len - 3, &out);
	else if (len >= 2 && p[0] == 0xff && p[1] == 0xfe)
		r = decode_utf16(p + 2, len - 2, false, &out);
	else if (len >= 2 && p[0] == 0xfe && p[1] == 0xff)
		r = decode_utf16(p + 2, len - 2, true, &out);
	else if (len >= 2 && p[0] != 0 && p[1] == 0)
		/* UTF-16LE without BOM: vshadow's BCD, diskshadow's Manifest.xml, PowerShell redirections */
		r = decode_utf16(p, len, false, &out);
	else
		r = decode_utf8(p, len, &out);
	if (r >= 0)
		r = buf_reserve(&out, 1); /* a NUL-terminated buffer even when empty */
	if (r < 0) {
		buf_free(&out);
		return r;
	}
	*ret_len = out.len;
	*ret = buf_steal(&out);
	return 0;
}

/* ---- vocabularies ---- */

bool md_attr_word(const char *word, size_t len, uint32_t *ret)
{
	/* letters only, lower case: diskshadow's No_Auto_Release and vssadmin's "No auto release" meet */
	static const struct {
		const char *key;
		uint32_t bit;
	} words[] = {
		{ "persistent", 0x1 },        { "noautorecovery", 0x2 },    { "clientaccessible", 0x4 },
		{ "noautorelease", 0x8 },     { "autorelease", 0 },         { "nowriters", 0x10 },
		{ "transportable", 0x20 },    { "notsurfaced", 0x40 },      { "nottransacted", 0x80 },
		{ "hardware", 0x10000 },      { "hardwareassisted", 0x10000 }, { "differential", 0x20000 },
		{ "plex", 0x40000 },          { "imported", 0x80000 },      { "exposedlocally", 0x100000 },
		{ "exposedremotely", 0x200000 }, { "autorecovered", 0x400000 }, { "autorecover", 0x400000 },
		{ "rollbackrecovery", 0x800000 }, { "delayedpostsnapshot", 0x1000000 },
		{ "txfrecovery", 0x2000000 }, { "fileshare", 0x4000000 },
	};
	char key[32];
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)word[i];
		if (c == '_' || c == '-' || c == ' ' || c == '\t')
			continue;
		if (!isalpha(c) || n + 1 >= sizeof(key))
			return false;
		key[n++] = (char)tolower(c);
	}
	key[n] = 0;
	for (size_t i = 0; i < ARRAY_SIZE(words); i++)
		if (strcmp(key, words[i].key) == 0) {
			*ret = words[i].bit;
			return true;
		}
	return false;
}

int64_t md_type_context(const char *type)
{
	static const struct {
		const char *name;
		uint32_t ctx;
	} types[] = {
		{ "Backup", 0x00 },          { "FileShareBackup", 0x10 },      { "ApplicationRollback", 0x09 },
		{ "DataVolumeRollback", 0x19 }, { "ClientAccessibleWriters", 0x0d }, { "ClientAccessible", 0x1d },
	};
	for (size_t i = 0; type && i < ARRAY_SIZE(types); i++)
		if (strcasecmp(type, types[i].name) == 0)
			return types[i].ctx;
	return -1;
}

enum md_level md_context_level(uint32_t ctx)
{
	if (ctx == 0xffffffffu)
		return MD_LEVEL_UNKNOWN;
	/* TRANSPORTABLE 0x20, DIFFERENTIAL 0x20000 and PLEX 0x40000 may be or-ed in */
	switch (ctx & ~(0x20u | 0x20000u | 0x40000u)) {
	case 0x00:
	case 0x09:
	case 0x0d:
		return MD_LEVEL_APP;
	case 0x10:
	case 0x19:
	case 0x1d:
		return MD_LEVEL_FS;
	default:
		return MD_LEVEL_UNKNOWN;
	}
}

/* ---- after parsing ---- */

static int writer_merge(struct md_writer *into, struct md_writer *from)
{
	int r = 0;

	into->in_bcd |= from->in_bcd;
	into->has_wm |= from->has_wm;
	if (!into->name && from->name)
		into->name = TAKE_PTR(from->name);
	if (!into->instance_name && from->instance_name)
		into->instance_name = TAKE_PTR(from->instance_name);
	if (!into->usage && from->usage)
		into->usage = TAKE_PTR(from->usage);
	if (!into->data_source && from->data_source)
		into->data_source = TAKE_PTR(from->data_source);
	if (!into->restore_method && from->restore_method)
		into->restore_method = TAKE_PTR(from->restore_method);
	if (into->reboot_required < 0)
		into->reboot_required = from->reboot_required;
	for (size_t i = 0; i < from->comps.n && r >= 0; i++) {
		struct md_component *c = &from->comps.v[i];
		r = md_component_add(into, c->logical_path, c->name, c->caption, c->type, c->selected);
	}
	return r;
}

int md_finish(struct md *m, const struct sr_guid *default_set)
{
	int r;

	/* a document (or archive) that describes a single set: what names no set belongs to it */
	if (!default_set && m->sets.n == 1)
		default_set = &m->sets.v[0].id;
	if (default_set) {
		for (size_t i = 0; i < m->writers.n; i++)
			if (!m->writers.v[i].has_set) {
				m->writers.v[i].set_id = *default_set;
				m->writers.v[i].has_set = true;
			}
		for (size_t i = 0; i < m->evidence.n; i++)
			if (!m->evidence.v[i].has_set) {
				m->evidence.v[i].set_id = *default_set;
				m->evidence.v[i].has_set = true;
			}
		for (size_t i = 0; i < m->shadows.n; i++)
			if (!m->shadows.v[i].has_set) {
				m->shadows.v[i].set_id = *default_set;
				m->shadows.v[i].has_set = true;
			}
	}
	/*
	 * The same writer instance seen in a BCD and in its WM document: one
	 * writer. A writer a listing names without IDs joins the writer of the
	 * same set and name whose IDs are known (the one that comes first).
	 */
	for (size_t i = 0; i < m->writers.n; i++) {
		for (size_t j = i + 1; j < m->writers.n;) {
			struct md_writer *a = &m->writers.v[i], *b = &m->writers.v[j];
			bool same;

			if (a->has_set != b->has_set || (a->has_set && !guid_equal(&a->set_id, &b->set_id)))
				same = false;
			else if (a->named_only || b->named_only)
				same = a->name && b->name && strcmp(a->name, b->name) == 0;
			else
				same = guid_equal(&a->writer_id, &b->writer_id) && guid_equal(&a->instance_id, &b->instance_id);
			if (!same) {
				j++;
				continue;
			}
			if (a->named_only && !b->named_only) {
				struct md_writer t = *a;
				*a = *b;
				*b = t;
			}
			r = writer_merge(a, b);
			if (r < 0)
				return r;
			writer_free(b);
			memmove(b, b + 1, (m->writers.n - j - 1) * sizeof(*b));
			m->writers.n--;
		}
	}
	return 0;
}

/* ---- dispatch ---- */

static bool has_prefix(const void *buf, size_t len, const char *magic, size_t n)
{
	return len >= n && memcmp(buf, magic, n) == 0;
}

int md_parse_document(struct md *m, const char *name, const void *buf, size_t len)
{
	char *text = NULL;
	size_t tlen = 0, i = 0;
	bool is_xml;
	int r;

	(void)name;
	if (has_prefix(buf, len, "MSCF", 4) || has_prefix(buf, len, "PK\003\004", 4) ||
	    has_prefix(buf, len, "PK\005\006", 4))
		return md_parse_archive(m, buf, len);
	r = md_decode_text(buf, len, &text, &tlen);
	if (r < 0)
		return r;
	while (i < tlen && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n'))
		i++;
	is_xml = i < tlen && text[i] == '<';
	if (is_xml)
		r = md_parse_xml_text(m, text, tlen, NULL);
	else
		r = md_parse_listing_text(m, text, tlen);
	free(text);
	return r;
}

int md_parse_xml(struct md *m, const void *buf, size_t len)
{
	char *text = NULL;
	size_t tlen = 0;
	int r;

	r = md_decode_text(buf, len, &text, &tlen);
	if (r < 0)
		return r;
	r = md_parse_xml_text(m, text, tlen, NULL);
	free(text);
	return r;
}

int md_parse_listing(struct md *m, const void *buf, size_t len)
{
	char *text = NULL;
	size_t tlen = 0;
	int r;

	r = md_decode_text(buf, len, &text, &tlen);
	if (r < 0)
		return r;
	r = md_parse_listing_text(m, text, tlen);
	free(text);
	return r;
}
