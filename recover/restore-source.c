/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Sources of `restore`: which volume view SOURCE names, and name safety. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/macro.h"
#include "restore-internal.h"

void rs_source_close(struct rs_source *s)
{
	src_unref(s->view);
	vss_volume_free(s->vss);
	src_unref(s->vss_base);
	volset_free(s->vs);
	repo_manifests_free(s->sets, s->n_sets);
	repo_free(s->repo);
	memset(s, 0, sizeof(*s));
}

static int from_images(const char *spec, char *const *images, size_t n, struct rs_source *s)
{
	char g[GUID_STRING_MAX];
	size_t vi;
	unsigned k;
	int r;

	r = volset_open(images, n, &s->vs);
	if (r < 0)
		return r;
	if (strcmp(spec, "live") == 0) {
		if (s->vs->n != 1)
			return sr_fail(-ENOTUNIQ, "the images hold %zu NTFS volumes; 'live' needs exactly one "
						  "(give one volume image)", s->vs->n);
		s->view = src_ref(s->vs->vols[0].src);
		snprintf(s->label, sizeof(s->label), "live %s", s->vs->vols[0].name);
		return 0;
	}
	r = volset_find_shadow(s->vs, spec, &vi, &k);
	if (r < 0)
		return r;
	r = vss_view_src_new(s->vs->vols[vi].vss, k, &s->view);
	if (r < 0)
		return r;
	s->time = vss_volume_store(s->vs->vols[vi].vss, k)->creation_time;
	snprintf(s->label, sizeof(s->label), "%s", guid_format(&vss_volume_store(s->vs->vols[vi].vss, k)->copy_id, g));
	return 0;
}

/* "SET-ID:C:" or "SET-ID:C" */
static int split_set_drive(const char *spec, char *set, size_t size, char *ret_drive)
{
	const char *c = strchr(spec, ':');
	size_t l;

	if (!c)
		return -ENOENT;
	l = (size_t)(c - spec);
	if (l == 0 || l >= size || !((c[1] >= 'A' && c[1] <= 'Z') || (c[1] >= 'a' && c[1] <= 'z')) ||
	    !(c[2] == 0 || (c[2] == ':' && c[3] == 0)))
		return -ENOENT;
	memcpy(set, spec, l);
	set[l] = 0;
	*ret_drive = (char)(c[1] & ~0x20);
	return 0;
}

static int from_repo(const char *spec, const char *repo_dir, const char *pass_file, struct rs_source *s)
{
	char setid[64], drive, g[GUID_STRING_MAX];
	size_t si, vi;
	int r;

	r = repo_open_any(repo_dir, pass_file, &s->repo);
	if (r < 0)
		return r;
	r = repo_sets_load(s->repo, &s->sets, &s->n_sets);
	if (r < 0)
		return r;
	if (split_set_drive(spec, setid, sizeof(setid), &drive) == 0) {
		const struct repo_manifest *m;
		r = repo_set_match(s->sets, s->n_sets, setid, &si);
		if (r < 0)
			return r;
		m = &s->sets[si];
		for (vi = 0; vi < m->n_vols; vi++)
			if ((m->vols[vi].drive[0] & ~0x20) == drive)
				break;
		if (vi == m->n_vols)
			return sr_fail(-ENOENT, "set '%s' has no volume %c:", setid, drive);
		r = repo_volume_src_new(s->repo, m, vi, &s->view);
		if (r < 0)
			return r;
		s->drive = drive;
		s->time = m->created;
		snprintf(s->label, sizeof(s->label), "%s:%c:", guid_format(&m->set_id, g), drive);
		return 0;
	}
	r = repo_volume_match(s->sets, s->n_sets, spec, &si, &vi);
	if (r >= 0) {
		const struct repo_manifest *m = &s->sets[si];
		r = repo_volume_src_new(s->repo, m, vi, &s->view);
		if (r < 0)
			return r;
		s->drive = m->vols[vi].drive[0];
		s->time = m->created;
		snprintf(s->label, sizeof(s->label), "%s", guid_format(&m->vols[vi].shadow_id, g));
		return 0;
	}
	if (r != -ENOENT)
		return r;
	sr_errclear();
	/* a VSS shadow copy inside a captured volume */
	for (si = 0; si < s->n_sets; si++)
		for (vi = 0; vi < s->sets[si].n_vols; vi++) {
			struct src *base = NULL;
			struct vss_volume *vss = NULL;
			unsigned nk;
			int found = -ENOENT;

			if (strcmp(s->sets[si].vols[vi].fs, "ntfs") != 0)
				continue;
			r = repo_volume_src_new(s->repo, &s->sets[si], vi, &base);
			if (r >= 0)
				r = vss_volume_open(base, &vss);
			if (r < 0) {
				src_unref(base);
				sr_errclear();
				continue;
			}
			nk = vss_volume_store_count(vss);
			if (nk > 0) {
				struct sr_guid *ids = calloc(nk, sizeof(*ids));
				if (!ids) {
					vss_volume_free(vss);
					src_unref(base);
					return -ENOMEM;
				}
				for (unsigned k = 0; k < nk; k++)
					ids[k] = vss_volume_store(vss, k)->copy_id;
				found = guid_match(spec, ids, nk, sizeof(*ids));
				free(ids);
			}
			if (found >= 0) {
				const struct vss_store_info *st = vss_volume_store(vss, (unsigned)found);
				r = vss_view_src_new(vss, (unsigned)found, &s->view);
				if (r < 0) {
					vss_volume_free(vss);
					src_unref(base);
					return r;
				}
				s->vss = vss;
				s->vss_base = base;
				s->drive = s->sets[si].vols[vi].drive[0];
				s->time = st->creation_time;
				snprintf(s->label, sizeof(s->label), "%s", guid_format(&st->copy_id, g));
				return 0;
			}
			vss_volume_free(vss);
			src_unref(base);
			if (found == -ENOTUNIQ)
				return sr_fail(found, "shadow copy ID '%s' is ambiguous", spec);
		}
	return sr_fail(-ENOENT, "no captured volume, set volume or shadow copy '%s' in the repository", spec);
}

int rs_source_open(const char *spec, char *const *images, size_t n_images, const char *repo_dir,
		   const char *passphrase_file, struct rs_source *ret)
{
	struct rs_source s = { 0 };
	int r;

	if (n_images > 0)
		r = from_images(spec, images, n_images, &s);
	else if (strcmp(spec, "live") == 0)
		r = sr_fail(-EINVAL, "'live' needs --image IMAGE");
	else
		r = from_repo(spec, repo_dir, passphrase_file, &s);
	if (r < 0) {
		rs_source_close(&s);
		return r;
	}
	*ret = s;
	return 0;
}

bool rs_name_is_safe(const char *name, const char **ret_why)
{
	const char *why = NULL;

	if (!name[0])
		why = "empty name";
	else if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		why = "name is '.' or '..'";
	else if (strlen(name) > 255)
		why = "name longer than 255 bytes";
	else
		for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
			if (*p == '/' || *p == '\\') {
				why = "name contains a path separator";
				break;
			}
			if (*p < 0x20 || *p == 0x7f) {
				why = "name contains a control character";
				break;
			}
		}
	if (ret_why)
		*ret_why = why;
	return why == NULL;
}

/* Lower-case one code point: ASCII, Latin-1, Latin Extended-A (pairs), Greek and Cyrillic capitals. */
static uint32_t fold_cp(uint32_t c)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 0xC0 && c <= 0xDE && c != 0xD7) || (c >= 0x391 && c <= 0x3AB && c != 0x3A2) ||
	    (c >= 0x410 && c <= 0x42F))
		return c + 32;
	if (c >= 0x400 && c <= 0x40F)
		return c + 80;
	if (c >= 0x100 && c <= 0x17F && c != 0x130 && c != 0x131 && c != 0x138 && c != 0x149 && c != 0x17F) {
		bool pair_even = (c < 0x138) || (c >= 0x14A);
		if (pair_even ? (c % 2 == 0) : (c % 2 == 1))
			return c + 1;
	}
	return c;
}

char *rs_fold(const char *name)
{
	size_t n = strlen(name);
	char *out = malloc(n * 2 + 1), *o = out;
	const unsigned char *p = (const unsigned char *)name;

	if (!out)
		return NULL;
	while (*p) {
		uint32_t c;
		int len;
		if (*p < 0x80) {
			c = *p;
			len = 1;
		} else if ((*p & 0xE0) == 0xC0 && (p[1] & 0xC0) == 0x80) {
			c = (uint32_t)(*p & 0x1F) << 6 | (p[1] & 0x3F);
			len = 2;
		} else {
			*o++ = (char)*p++;
			continue;
		}
		c = fold_cp(c);
		if (c < 0x80)
			*o++ = (char)c;
		else {
			*o++ = (char)(0xC0 | (c >> 6));
			*o++ = (char)(0x80 | (c & 0x3F));
		}
		p += len;
	}
	*o = 0;
	return out;
}

