/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * diskshadow `set metadata` .cab files and VMware `*vss_manifests*.zip`
 * files, read from memory with libarchive.
 *
 * Against archive bombs: at most md_limits.members_max members; a member is
 * read in chunks and refused once it passes md_limits.member_max bytes,
 * whatever its header claims; the members read and the sizes the skipped
 * ones claim may not pass md_limits.archive_total together.
 *
 * Members are chosen by name (metadata-formats.md §3, §4): Manifest.xml, the
 * BCD (BCDocument.xml, VMware's backup.xml), writer metadata (WMn.xml, other
 * .xml members of a VMware zip), and the diskshadow log Dis*.tmp (parsed as a
 * listing when it is one; it is the console text of the run). The level the
 * archive's make-up implies is recorded as evidence: a cab with a BCD and WM
 * documents or a zip with more than one file are application-consistent;
 * a cab of Manifest.xml alone or a zip of backup.xml alone are
 * file-system-consistent.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <archive.h>
#include <archive_entry.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/macro.h"
#include "metadata-internal.h"

enum member_kind { MEMBER_SKIP, MEMBER_MANIFEST, MEMBER_BCD, MEMBER_WM, MEMBER_XML, MEMBER_LOG };

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/'), *b = strrchr(path, '\\');

	if (b && (!s || b > s))
		s = b;
	return s ? s + 1 : path;
}

static bool ends_with_ci(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcasecmp(s + a - b, suffix) == 0;
}

static enum member_kind member_kind(const char *name)
{
	const char *b = base_name(name);

	if (strcasecmp(b, "Manifest.xml") == 0)
		return MEMBER_MANIFEST;
	if (strcasecmp(b, "BCDocument.xml") == 0 || strcasecmp(b, "backup.xml") == 0)
		return MEMBER_BCD;
	if (strncasecmp(b, "WM", 2) == 0 && ends_with_ci(b, ".xml"))
		return MEMBER_WM;
	if (ends_with_ci(b, ".xml"))
		return MEMBER_XML;
	if (strncasecmp(b, "Dis", 3) == 0 && ends_with_ci(b, ".tmp"))
		return MEMBER_LOG;
	return MEMBER_SKIP;
}

static int read_member(struct archive *a, const char *name, size_t *total, struct buf *out)
{
	char chunk[16384];

	for (;;) {
		la_ssize_t n = archive_read_data(a, chunk, sizeof(chunk));
		if (n == 0)
			return 0;
		if (n < 0)
			return sr_fail(-EBADMSG, "archive member '%s': %s", name,
				       archive_error_string(a) ? archive_error_string(a) : "read error");
		if (out->len + (size_t)n > md_limits.member_max)
			return sr_fail(-EFBIG, "archive member '%s' expands beyond %zu bytes (an archive bomb?)", name,
				       md_limits.member_max);
		if (*total + (size_t)n > md_limits.archive_total)
			return sr_fail(-EFBIG, "archive expands beyond %zu bytes (an archive bomb?)",
				       md_limits.archive_total);
		*total += (size_t)n;
		if (buf_append(out, chunk, (size_t)n) < 0)
			return -ENOMEM;
	}
}

int md_parse_archive(struct md *m, const void *buf, size_t len)
{
	struct archive *a;
	struct archive_entry *e;
	struct buf data = BUF_INIT;
	size_t total = 0;
	unsigned n_members = 0, n_files = 0, n_bcd = 0, n_wm = 0, n_manifest = 0, n_backup_xml = 0;
	bool is_zip = false, is_cab = false;
	struct sr_guid set_id;
	bool has_set = false;
	char text[200];
	int r = 0;

	a = archive_read_new();
	if (!a)
		return -ENOMEM;
	archive_read_support_format_cab(a);
	archive_read_support_format_zip(a);
	if (archive_read_open_memory(a, buf, len) != ARCHIVE_OK) {
		r = sr_fail(-EBADMSG, "not a readable .cab or .zip: %s",
			    archive_error_string(a) ? archive_error_string(a) : "unknown format");
		goto out;
	}
	for (;;) {
		const char *path;
		enum member_kind kind;
		int x = archive_read_next_header(a, &e);

		if (x == ARCHIVE_EOF)
			break;
		if (x != ARCHIVE_OK && x != ARCHIVE_WARN) {
			r = sr_fail(-EBADMSG, "damaged archive: %s",
				    archive_error_string(a) ? archive_error_string(a) : "bad member header");
			goto out;
		}
		if (++n_members > md_limits.members_max) {
			r = sr_fail(-EFBIG, "archive with more than %u members (an archive bomb?)", md_limits.members_max);
			goto out;
		}
		if (archive_format(a) == ARCHIVE_FORMAT_CAB)
			is_cab = true;
		else if ((archive_format(a) & ARCHIVE_FORMAT_BASE_MASK) == ARCHIVE_FORMAT_ZIP)
			is_zip = true;
		if (archive_entry_filetype(e) != AE_IFREG)
			continue;
		n_files++;
		path = archive_entry_pathname(e);
		if (!path)
			path = "";
		kind = member_kind(path);
		if (kind == MEMBER_SKIP) {
			int64_t sz = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
			if (sz < 0 || (uint64_t)sz > md_limits.archive_total - total) {
				r = sr_fail(-EFBIG, "archive member '%s' claims %lld bytes (an archive bomb?)", path,
					    (long long)sz);
				goto out;
			}
			total += (size_t)sz;
			continue;
		}
		buf_reset(&data);
		r = read_member(a, path, &total, &data);
		if (r < 0)
			goto out;
		if (kind == MEMBER_LOG) {
			/* the diskshadow log: its shadow copy records if it reads as a listing, else nothing */
			struct md tmp;
			md_init(&tmp);
			if (md_parse_listing(&tmp, data.data, data.len) >= 0 && tmp.shadows.n) {
				md_free(&tmp);
				r = md_parse_listing(m, data.data, data.len);
				if (r < 0)
					goto out;
			} else {
				md_free(&tmp);
				sr_errclear();
			}
			continue;
		}
		{
			char *t = NULL;
			size_t tlen = 0;
			enum md_doc_kind dk = MD_DOC_UNKNOWN;

			r = md_decode_text(data.data, data.len, &t, &tlen);
			if (r >= 0)
				r = md_parse_xml_text(m, t, tlen, &dk);
			free(t);
			if (r == -EMEDIUMTYPE && kind == MEMBER_XML) {
				/* some other XML in a VMware zip: not ours */
				sr_errclear();
				r = 0;
				continue;
			}
			if (r < 0) {
				char detail[400];
				snprintf(detail, sizeof(detail), "%s", sr_errmsg(r));
				r = sr_fail(r, "archive member '%s': %s", path, detail);
				goto out;
			}
			if (dk == MD_DOC_BCD)
				n_bcd++;
			else if (dk == MD_DOC_WM)
				n_wm++;
			else if (dk == MD_DOC_MANIFEST)
				n_manifest++;
			if (strcasecmp(base_name(path), "backup.xml") == 0)
				n_backup_xml++;
		}
	}
	if (!is_cab && !is_zip) {
		r = sr_fail(-EBADMSG, "not a .cab or .zip archive");
		goto out;
	}
	/* the set the archive describes: the BCD's, else the manifest's */
	for (size_t i = 0; i < m->sets.n && !has_set; i++) {
		set_id = m->sets.v[i].id;
		has_set = true;
	}
	if (has_set) {
		/* WM documents name no set: they belong to the set of the archive's BCD or manifest */
		r = md_finish(m, &set_id);
		if (r < 0)
			goto out;
	}
	if (is_cab) {
		if (!n_manifest && !n_bcd) {
			r = sr_fail(-EMEDIUMTYPE, "a .cab without Manifest.xml or BCDocument.xml: not diskshadow metadata");
			goto out;
		}
		if (n_bcd && n_wm)
			snprintf(text, sizeof(text), "the diskshadow .cab holds a backup components document and %u "
						     "writer metadata documents", n_wm);
		else if (n_bcd)
			snprintf(text, sizeof(text), "the diskshadow .cab holds a backup components document");
		else
			snprintf(text, sizeof(text), "the diskshadow .cab holds no backup components document (created "
						     "with nowriters or clientaccessible)");
		r = md_evidence_add(m, has_set ? &set_id : NULL, n_bcd && n_wm ? MD_LEVEL_APP : MD_LEVEL_FS, false,
				    text);
		m->n_docs[MD_DOC_CAB]++;
	} else {
		if (!n_bcd) {
			r = sr_fail(-EMEDIUMTYPE, "a .zip without backup.xml: not a VMware vss-manifest zip");
			goto out;
		}
		snprintf(text, sizeof(text), "the VMware vss-manifest zip holds %u file(s)%s", n_files,
			 n_files == 1 && n_backup_xml ? " (backup.xml only: file-system quiescing)"
						      : " (writer manifests: application quiescing)");
		r = md_evidence_add(m, has_set ? &set_id : NULL, n_files > 1 ? MD_LEVEL_APP : MD_LEVEL_FS, false, text);
		m->n_docs[MD_DOC_ZIP]++;
	}
out:
	buf_free(&data);
	archive_read_free(a);
	return r;
}
