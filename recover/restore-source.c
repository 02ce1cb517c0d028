/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Sources of `restore`: which volume view SOURCE names, and name safety. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/macro.h"
#include "core/select.h"
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
	if (r < 0) {
		s->usage = SEL_IS_USAGE(r);
		return r;
	}
	r = vss_view_src_new(s->vs->vols[vi].vss, k, &s->view);
	if (r < 0)
		return r;
	s->time = vss_volume_store(s->vs->vols[vi].vss, k)->creation_time;
	snprintf(s->label, sizeof(s->label), "%s", guid_format(&vss_volume_store(s->vs->vols[vi].vss, k)->copy_id, g));
	return 0;
}

static int from_repo(const char *spec, const char *repo_dir, const char *pass_file, struct rs_source *s)
{
	struct sel sl = { 0 };
	const struct repo_manifest *m;
	int r;

	r = repo_open_any(repo_dir, pass_file, &s->repo);
	if (r < 0)
		return r;
	r = repo_sets_load(s->repo, &s->sets, &s->n_sets);
	if (r < 0)
		return r;
	r = sel_resolve(s->repo, s->sets, s->n_sets, spec, SEL_VOLUME | SEL_SHADOW, &sl);
	if (r < 0) {
		s->usage = SEL_IS_USAGE(r);
		return r;
	}
	m = &s->sets[sl.set];
	s->drive = m->vols[sl.vol].drive[0];
	s->time = sl.kind == SEL_SHADOW ? vss_volume_store(sel_vss(&sl), sl.store)->creation_time : m->created;
	snprintf(s->label, sizeof(s->label), "%s", sl.label);
	r = sel_open(s->repo, s->sets, &sl, &s->view);
	sel_done(&sl);
	return r;
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
		bool usage = s.usage;
		rs_source_close(&s);
		memset(ret, 0, sizeof(*ret));
		ret->usage = usage; /* the only field set on failure */
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

