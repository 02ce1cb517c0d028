/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * BCD, writer metadata and diskshadow Manifest.xml, with libxml2.
 *
 * Safety: these documents come from backups of machines that may have been
 * compromised. Windows never writes a DTD into them, so a document with
 * <!DOCTYPE or <!ENTITY is refused before libxml2 sees it (no billion
 * laughs, no external entities); the parser runs with XML_PARSE_NONET and
 * without XML_PARSE_NOENT, XML_PARSE_DTDLOAD and XML_PARSE_HUGE (libxml2's
 * own limits on text nodes and nesting stay on), and the document was
 * decoded to UTF-8 and size-capped by md_decode_text(). Nesting is capped
 * again here (md_limits.xml_depth) because the walkers recurse.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "core/log.h"
#include "core/macro.h"
#include "metadata-internal.h"

static void xml_silent(void *ctx _unused_, xmlErrorPtr err _unused_)
{
}

static void xml_init_once(void)
{
	static bool done;

	if (done)
		return;
	xmlInitParser();
	xmlSetStructuredErrorFunc(NULL, xml_silent);
	done = true;
}

static bool name_is(const xmlNode *n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE && n->name && strcasecmp((const char *)n->name, name) == 0;
}

/* The attribute's value (any case of its name), malloc'ed; NULL if absent. *ret_oom on allocation failure. */
static char *xattr(const xmlNode *n, const char *name)
{
	for (const xmlAttr *a = n->properties; a; a = a->next) {
		xmlChar *v;
		char *s;

		if (!a->name || strcasecmp((const char *)a->name, name) != 0)
			continue;
		v = xmlNodeListGetString(n->doc, a->children, 1);
		s = strdup(v ? (const char *)v : "");
		xmlFree(v);
		return s;
	}
	return NULL;
}

static void freestrp(char **p)
{
	free(*p);
}
#define _cleanup_str_ _cleanup_(freestrp)

/* A GUID attribute: 1 and *ret if present and well-formed, 0 if absent, -EBADMSG if malformed. */
static int xattr_guid(const xmlNode *n, const char *name, struct sr_guid *ret)
{
	_cleanup_str_ char *v = xattr(n, name);
	const char *p = v;

	if (!v)
		return 0;
	while (*p == ' ')
		p++;
	if (guid_parse(p, ret) < 0)
		return sr_fail(-EBADMSG, "<%s %s='%.60s'> is not a GUID (line %d)", (const char *)n->name, name, v,
			       (int)xmlGetLineNo(n));
	return 1;
}

/* A numeric attribute (decimal or 0x hex): 1 if present and numeric, else 0. */
static int xattr_u64(const xmlNode *n, const char *name, uint64_t *ret)
{
	_cleanup_str_ char *v = xattr(n, name);
	char *end;
	unsigned long long x;

	if (!v || !*v)
		return 0;
	errno = 0;
	x = strtoull(v, &end, 0);
	if (errno || *end || v[0] == '-')
		return 0;
	*ret = x;
	return 1;
}

static int xattr_bool(const xmlNode *n, const char *name)
{
	_cleanup_str_ char *v = xattr(n, name);

	if (!v)
		return -1;
	if (strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0)
		return 1;
	if (strcasecmp(v, "no") == 0 || strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0)
		return 0;
	return -1;
}

/* Copy attribute name into *dst unless *dst is set already. */
static int xattr_into(const xmlNode *n, const char *name, char **dst)
{
	char *v;

	if (*dst)
		return 0;
	errno = 0;
	v = xattr(n, name);
	if (!v && errno == ENOMEM)
		return -ENOMEM;
	*dst = v;
	return 0;
}

static int check_depth(const xmlNode *root)
{
	const xmlNode *n = root;
	unsigned depth = 0;

	/* iterative walk: the check must not recurse as deep as the document */
	while (n) {
		if (n->children && n->type == XML_ELEMENT_NODE) {
			if (++depth > md_limits.xml_depth)
				return sr_fail(-EBADMSG, "elements nested more than %u deep (line %d)",
					       md_limits.xml_depth, (int)xmlGetLineNo(n));
			n = n->children;
			continue;
		}
		while (n && !n->next && n != root) {
			n = n->parent;
			depth--;
		}
		if (!n || n == root)
			break;
		n = n->next;
	}
	return 0;
}

static int xml_read(const char *text, size_t len, xmlDoc **ret)
{
	xmlParserCtxt *ctxt;
	xmlDoc *doc;
	int r;

	xml_init_once();
	if (memmem(text, len, "<!DOCTYPE", 9) || memmem(text, len, "<!ENTITY", 8))
		return sr_fail(-EBADMSG, "refused: the document declares a DTD or entities (Windows never writes "
					 "them; entity expansion and external entities are not allowed)");
	if (len > INT_MAX)
		return sr_fail(-EFBIG, "document too large");
	ctxt = xmlNewParserCtxt();
	if (!ctxt)
		return -ENOMEM;
	doc = xmlCtxtReadMemory(ctxt, text, (int)len, "metadata.xml", "UTF-8",
				XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_IGNORE_ENC);
	if (!doc || !ctxt->wellFormed) {
		const xmlError *e = xmlCtxtGetLastError(ctxt);
		char msg[160] = "";

		if (e && e->message) {
			snprintf(msg, sizeof(msg), "%s", e->message);
			msg[strcspn(msg, "\n")] = 0;
		}
		r = sr_fail(-EBADMSG, "malformed XML at line %d: %s", e ? e->line : 0, msg[0] ? msg : "parse error");
		xmlFreeDoc(doc);
		xmlFreeParserCtxt(ctxt);
		return r;
	}
	xmlFreeParserCtxt(ctxt);
	if (doc->intSubset || doc->extSubset) {
		xmlFreeDoc(doc);
		return sr_fail(-EBADMSG, "refused: the document has a DTD");
	}
	if (!xmlDocGetRootElement(doc)) {
		xmlFreeDoc(doc);
		return sr_fail(-EBADMSG, "malformed XML: no root element");
	}
	r = check_depth(xmlDocGetRootElement(doc));
	if (r < 0) {
		xmlFreeDoc(doc);
		return r;
	}
	*ret = doc;
	return 0;
}

/* ---- BACKUP_COMPONENTS ---- */

static int bcd_snapshot(struct md *m, const xmlNode *n, const struct sr_guid *set, int64_t context)
{
	struct sr_guid id;
	struct md_shadow *s;
	uint64_t v;
	int r;

	r = xattr_guid(n, "snapshotId", &id);
	if (r <= 0)
		return r < 0 ? r : sr_fail(-EBADMSG, "<SNAPSHOT_DESCRIPTION> without snapshotId (line %d)",
					  (int)xmlGetLineNo(n));
	r = md_shadow_get(m, &id, &s);
	if (r < 0)
		return r;
	if (set) {
		s->set_id = *set;
		s->has_set = true;
	}
	if (xattr_u64(n, "attributes", &v) && v <= UINT32_MAX) {
		s->attributes = (uint32_t)v;
		s->has_attributes = true;
	}
	if (xattr_u64(n, "timestamp", &v))
		s->created_ft = v;
	if (context >= 0)
		s->context = context;
	if ((r = xattr_into(n, "providerId", &s->provider)) < 0 ||
	    (r = xattr_into(n, "originatingMachine", &s->originating_machine)) < 0 ||
	    (r = xattr_into(n, "serviceMachine", &s->service_machine)) < 0 ||
	    (r = xattr_into(n, "deviceName", &s->device)) < 0 ||
	    (r = xattr_into(n, "originalVolumeName", &s->volume_path)) < 0)
		return r;
	return 0;
}

static int parse_bcd(struct md *m, const xmlNode *root)
{
	struct sr_guid set_id, id2;
	bool has_set;
	struct md_set *set = NULL;
	unsigned n_writers = 0, n_app = 0;
	char text[160];
	int r;

	r = xattr_guid(root, "snapshotSetId", &set_id);
	if (r < 0)
		return r;
	has_set = r > 0;
	/* a transportable set repeats the set ID in SNAPSHOT_SET_DESCRIPTION: they must agree */
	for (const xmlNode *c = root->children; c; c = c->next) {
		if (!name_is(c, "SNAPSHOT_SET_DESCRIPTION"))
			continue;
		r = xattr_guid(c, "snapshotSetId", &id2);
		if (r < 0)
			return r;
		if (r > 0 && has_set && !guid_equal(&id2, &set_id)) {
			char a[GUID_STRING_MAX], b[GUID_STRING_MAX];
			return sr_fail(-EBADMSG, "the document names two snapshot sets, {%s} and {%s}",
				       guid_format(&set_id, a), guid_format(&id2, b));
		}
		if (r > 0 && !has_set) {
			set_id = id2;
			has_set = true;
		}
	}
	if (has_set) {
		r = md_set_get(m, &set_id, &set);
		if (r < 0)
			return r;
		if ((r = xattr_into(root, "backupType", &set->backup_type)) < 0)
			return r;
		if (set->bootable < 0)
			set->bootable = xattr_bool(root, "bootableSystemStateBackup");
	}
	for (const xmlNode *c = root->children; c; c = c->next) {
		if (name_is(c, "WRITER_COMPONENTS")) {
			struct sr_guid wid, iid = { { 0 } };
			struct md_writer *w;
			unsigned n_comps = 0;

			r = xattr_guid(c, "writerId", &wid);
			if (r <= 0)
				return r < 0 ? r : sr_fail(-EBADMSG, "<WRITER_COMPONENTS> without writerId (line %d)",
							  (int)xmlGetLineNo(c));
			r = xattr_guid(c, "instanceId", &iid);
			if (r < 0)
				return r;
			r = md_writer_get(m, &wid, &iid, has_set ? &set_id : NULL, &w);
			if (r < 0)
				return r;
			w->in_bcd = true;
			if ((r = xattr_into(c, "instanceName", &w->instance_name)) < 0)
				return r;
			for (const xmlNode *k = c->children; k; k = k->next) {
				_cleanup_str_ char *name = NULL, *path = NULL, *type = NULL;

				if (!name_is(k, "COMPONENT"))
					continue;
				name = xattr(k, "componentName");
				if (!name)
					return sr_fail(-EBADMSG, "<COMPONENT> without componentName (line %d)",
						       (int)xmlGetLineNo(k));
				path = xattr(k, "logicalPath");
				type = xattr(k, "componentType");
				r = md_component_add(w, path, name, NULL, type, true);
				if (r < 0)
					return r;
				n_comps++;
			}
			n_writers++;
			if (n_comps)
				n_app++;
		} else if (name_is(c, "SNAPSHOT_SET_DESCRIPTION")) {
			uint64_t ctx;
			int64_t context = -1;

			if (xattr_u64(c, "context", &ctx) && ctx <= UINT32_MAX) {
				context = (int64_t)ctx;
				if (set)
					set->context = context;
			}
			for (const xmlNode *k = c->children; k; k = k->next)
				if (name_is(k, "SNAPSHOT_DESCRIPTION")) {
					r = bcd_snapshot(m, k, has_set ? &set_id : NULL, context);
					if (r < 0)
						return r;
				}
		}
	}
	if (n_app)
		snprintf(text, sizeof(text), "the backup components document selects components of %u writer(s)",
			 n_app);
	else
		snprintf(text, sizeof(text), "the backup components document selects no writer components");
	return md_evidence_add(m, has_set ? &set_id : NULL, n_app ? MD_LEVEL_APP : MD_LEVEL_FS, false, text);
}

/* ---- WRITER_METADATA ---- */

static int parse_wm(struct md *m, const xmlNode *root)
{
	const xmlNode *ident = NULL;
	struct sr_guid wid, iid = { { 0 } };
	struct md_writer *w;
	int r;

	for (const xmlNode *c = root->children; c; c = c->next)
		if (name_is(c, "IDENTIFICATION")) {
			ident = c;
			break;
		}
	if (!ident)
		return sr_fail(-EBADMSG, "writer metadata without <IDENTIFICATION>");
	r = xattr_guid(ident, "writerId", &wid);
	if (r <= 0)
		return r < 0 ? r : sr_fail(-EBADMSG, "<IDENTIFICATION> without writerId");
	r = xattr_guid(ident, "instanceId", &iid);
	if (r < 0)
		return r;
	r = md_writer_get(m, &wid, &iid, NULL, &w);
	if (r < 0)
		return r;
	w->has_wm = true;
	if ((r = xattr_into(ident, "friendlyName", &w->name)) < 0 ||
	    (r = xattr_into(ident, "instanceName", &w->instance_name)) < 0 ||
	    (r = xattr_into(ident, "usage", &w->usage)) < 0 || (r = xattr_into(ident, "dataSource", &w->data_source)) < 0)
		return r;
	for (const xmlNode *c = root->children; c; c = c->next) {
		if (name_is(c, "RESTORE_METHOD")) {
			if ((r = xattr_into(c, "method", &w->restore_method)) < 0)
				return r;
			if (w->reboot_required < 0)
				w->reboot_required = xattr_bool(c, "rebootRequired");
		} else if (name_is(c, "BACKUP_LOCATIONS")) {
			for (const xmlNode *k = c->children; k; k = k->next) {
				_cleanup_str_ char *name = NULL, *path = NULL, *caption = NULL;
				const char *type;

				if (name_is(k, "FILE_GROUP"))
					type = "filegroup";
				else if (name_is(k, "DATABASE"))
					type = "database";
				else
					continue;
				name = xattr(k, "componentName");
				if (!name)
					return sr_fail(-EBADMSG, "<%s> without componentName (line %d)",
						       (const char *)k->name, (int)xmlGetLineNo(k));
				path = xattr(k, "logicalPath");
				caption = xattr(k, "caption");
				r = md_component_add(w, path, name, caption, type, false);
				if (r < 0)
					return r;
			}
		}
	}
	return 0;
}

/* ---- diskshadow Manifest.xml ---- */

static int parse_manifest(struct md *m, const xmlNode *root)
{
	unsigned n_sets = 0;
	int r;

	for (const xmlNode *c = root->children; c; c = c->next) {
		struct sr_guid set_id;
		struct md_set *set;

		if (!name_is(c, "ShadowCopySet"))
			continue;
		r = xattr_guid(c, "GUID", &set_id);
		if (r <= 0)
			return r < 0 ? r : sr_fail(-EBADMSG, "<ShadowCopySet> without GUID (line %d)", (int)xmlGetLineNo(c));
		r = md_set_get(m, &set_id, &set);
		if (r < 0)
			return r;
		if ((r = xattr_into(c, "MachineName", &set->machine)) < 0)
			return r;
		n_sets++;
		for (const xmlNode *k = c->children; k; k = k->next) {
			struct sr_guid id;
			struct md_shadow *s;

			if (!name_is(k, "ShadowCopy"))
				continue;
			r = xattr_guid(k, "GUID", &id);
			if (r <= 0)
				return r < 0 ? r : sr_fail(-EBADMSG, "<ShadowCopy> without GUID (line %d)", (int)xmlGetLineNo(k));
			r = md_shadow_get(m, &id, &s);
			if (r < 0)
				return r;
			s->set_id = set_id;
			s->has_set = true;
			if ((r = xattr_into(k, "Alias", &s->alias)) < 0 ||
			    (r = xattr_into(k, "OriginalVolume", &s->volume_name)) < 0 ||
			    (r = xattr_into(k, "Provider", &s->provider)) < 0)
				return r;
			/* the provider GUID_NULL means "none forced"; the VSS store will say which */
			if (s->provider && strcmp(s->provider, "{00000000-0000-0000-0000-000000000000}") == 0) {
				free(s->provider);
				s->provider = NULL;
			}
		}
	}
	if (!n_sets)
		return sr_fail(-EBADMSG, "diskshadow manifest without <ShadowCopySet>");
	return 0;
}

int md_parse_xml_text(struct md *m, const char *text, size_t len, enum md_doc_kind *ret_kind)
{
	xmlDoc *doc = NULL;
	const xmlNode *root;
	enum md_doc_kind kind;
	int r;

	r = xml_read(text, len, &doc);
	if (r < 0)
		return r;
	root = xmlDocGetRootElement(doc);
	if (name_is(root, "BACKUP_COMPONENTS")) {
		kind = MD_DOC_BCD;
		r = parse_bcd(m, root);
	} else if (name_is(root, "WRITER_METADATA")) {
		kind = MD_DOC_WM;
		r = parse_wm(m, root);
	} else if (name_is(root, "Manifest")) {
		kind = MD_DOC_MANIFEST;
		r = parse_manifest(m, root);
	} else {
		char name[64];
		snprintf(name, sizeof(name), "%s", root->name ? (const char *)root->name : "");
		kind = MD_DOC_UNKNOWN;
		r = sr_fail(-EMEDIUMTYPE,
			    "not a backup components document, writer metadata or diskshadow manifest (root element <%s>)",
			    name);
	}
	xmlFreeDoc(doc);
	if (r < 0)
		return r;
	m->n_docs[kind]++;
	if (ret_kind)
		*ret_kind = kind;
	return 0;
}
