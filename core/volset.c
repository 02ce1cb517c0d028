/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "volset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "log.h"
#include "part.h"

struct volvec {
	struct volset_volume *v;
	size_t n, cap;
};

void volset_free(struct volset *vs)
{
	if (!vs)
		return;
	/* views reference storage volumes: free every vss state before any source */
	for (size_t i = 0; i < vs->n; i++)
		vss_volume_free(vs->vols[i].vss);
	for (size_t i = 0; i < vs->n; i++) {
		src_unref(vs->vols[i].src);
		free(vs->vols[i].name);
		free(vs->vols[i].image);
	}
	free(vs->vols);
	free(vs);
}

static int add_volume(struct volvec *vv, struct src *src, const char *image, unsigned partition, uint64_t offset,
		      size_t tag)
{
	struct volset_volume x = { 0 };
	int r;

	x.name = strdup(src->name);
	x.image = strdup(image);
	if (!x.name || !x.image) {
		r = -ENOMEM;
		goto fail;
	}
	x.partition = partition;
	x.offset = offset;
	x.tag = tag;
	x.src = src_ref(src);
	r = vss_volume_open(src, &x.vss);
	if (r < 0)
		goto fail;
	r = vec_push(vv, x);
	if (r < 0)
		goto fail;
	return 0;
fail:
	vss_volume_free(x.vss);
	src_unref(x.src);
	free(x.name);
	free(x.image);
	return r;
}

static int open_image(struct volvec *vv, const char *path)
{
	_cleanup_src_ struct src *img = NULL;
	struct part_table t = { 0 };
	size_t before = vv->n;
	int r;

	r = src_open_file(path, false, &img);
	if (r < 0)
		return sr_fail(r, "cannot open '%s': %s", path, sr_errmsg(r));
	if (src_is_ntfs(img))
		return add_volume(vv, img, path, 0, 0, vv->n);
	r = part_table_read(img, &t);
	if (r < 0)
		return r;
	for (size_t i = 0; i < t.n; i++) {
		_cleanup_src_ struct src *slice = NULL;
		char name[4096];

		snprintf(name, sizeof(name), "%s:p%u", path, t.parts[i].number);
		r = src_slice_new(img, t.parts[i].offset, t.parts[i].size, name, &slice);
		if (r < 0)
			break;
		if (!src_is_ntfs(slice))
			continue;
		r = add_volume(vv, slice, path, t.parts[i].number, t.parts[i].offset, vv->n);
		if (r < 0)
			break;
	}
	part_table_free(&t);
	if (r < 0)
		return r;
	if (vv->n == before)
		return sr_fail(-EMEDIUMTYPE, "'%s' holds no NTFS volume (neither an NTFS boot sector nor an NTFS partition)",
			       path);
	return 0;
}

static int finish(struct volvec *vv, int r, struct volset **ret);

int volset_open(char *const *paths, size_t n, struct volset **ret)
{
	struct volvec vv = { 0 };
	int r = 0;

	for (size_t i = 0; i < n && r >= 0; i++)
		r = open_image(&vv, paths[i]);
	return finish(&vv, r, ret);
}

/* Make the set of vv (freed on failure) and attach shadow storage across its volumes. */
static int finish(struct volvec *vv, int r, struct volset **ret)
{
	struct volset *vs;

	vs = calloc(1, sizeof(*vs));
	if (!vs && r >= 0)
		r = -ENOMEM;
	if (vs) {
		vs->vols = vv->v;
		vs->n = vv->n;
	}
	if (r < 0) {
		if (vs)
			volset_free(vs);
		else {
			for (size_t i = 0; i < vv->n; i++)
				vss_volume_free(vv->v[i].vss);
			for (size_t i = 0; i < vv->n; i++) {
				src_unref(vv->v[i].src);
				free(vv->v[i].name);
				free(vv->v[i].image);
			}
			free(vv->v);
		}
		return r;
	}
	/* shadow storage on another volume: look for each store's data on the other volumes */
	for (size_t i = 0; i < vs->n; i++)
		for (size_t j = 0; j < vs->n; j++) {
			if (i == j || vss_volume_foreign_count(vs->vols[j].vss) == 0)
				continue;
			r = vss_volume_attach_storage(vs->vols[i].vss, vs->vols[j].vss);
			if (r < 0) {
				volset_free(vs);
				return r;
			}
		}
	*ret = vs;
	return 0;
}

int volset_from_srcs(struct src *const *srcs, const size_t *tags, size_t n, size_t must, struct volset **ret)
{
	struct volvec vv = { 0 };
	int r = 0;

	for (size_t i = 0; i < n && r >= 0; i++) {
		if (!srcs[i])
			continue;
		r = add_volume(&vv, srcs[i], srcs[i]->name, 0, 0, tags[i]);
		if (r < 0 && r != -ENOMEM && tags[i] != must) {
			sr_errclear(); /* a volume whose VSS state cannot be read holds no storage we can use */
			r = 0;
		}
	}
	return finish(&vv, r, ret);
}

int volset_open_repo(const struct repo *repo, const struct repo_manifest *m, size_t must, struct volset **ret)
{
	struct src **srcs = calloc(m->n_vols + 1, sizeof(*srcs));
	size_t *tags = calloc(m->n_vols + 1, sizeof(*tags));
	int r = 0;

	if (!srcs || !tags)
		r = -ENOMEM;
	for (size_t i = 0; r >= 0 && i < m->n_vols; i++) {
		tags[i] = i;
		if (strcmp(m->vols[i].fs, "ntfs") != 0)
			continue;
		r = repo_volume_src_new(repo, m, i, &srcs[i]);
		if (r < 0 && r != -ENOMEM && i != must) {
			sr_errclear();
			srcs[i] = NULL;
			r = 0;
		}
	}
	if (r >= 0)
		r = volset_from_srcs(srcs, tags, m->n_vols, must, ret);
	for (size_t i = 0; srcs && i < m->n_vols; i++)
		src_unref(srcs[i]);
	free(srcs);
	free(tags);
	return r;
}

struct volset_volume *volset_by_tag(struct volset *vs, size_t tag)
{
	for (size_t i = 0; vs && i < vs->n; i++)
		if (vs->vols[i].tag == tag)
			return &vs->vols[i];
	return NULL;
}

/* "vssN" at the end of text (after ':' or alone): N >= 1 into *ret_n, the length before it (without ':') */
int volset_parse_vss(const char *text, unsigned *ret_n, size_t *ret_prefix)
{
	size_t len = strlen(text), i = len;
	unsigned long n;
	char *end;

	while (i > 0 && text[i - 1] >= '0' && text[i - 1] <= '9')
		i--;
	if (i == len || i < 3 || strncasecmp(text + i - 3, "vss", 3) != 0)
		return -EINVAL;
	if (i > 3 && text[i - 4] != ':')
		return -EINVAL;
	n = strtoul(text + i, &end, 10);
	if (n < 1 || n > 100000)
		return -EINVAL;
	*ret_n = (unsigned)n;
	*ret_prefix = i > 3 ? i - 4 : 0;
	return 0;
}

static bool volume_named(const struct volset_volume *v, const char *name, size_t len)
{
	const char *base = strrchr(v->name, '/');

	if (strlen(v->name) == len && strncmp(v->name, name, len) == 0)
		return true;
	base = base ? base + 1 : v->name;
	return strlen(base) == len && strncmp(base, name, len) == 0;
}

static int find_by_index(struct volset *vs, const char *text, unsigned n, size_t prefix, size_t *ret_vol,
			 unsigned *ret_store)
{
	struct buf cand = BUF_INIT;
	size_t found = SIZE_MAX, count = 0, named = 0;
	int r;

	for (size_t i = 0; i < vs->n; i++) {
		if (prefix && !volume_named(&vs->vols[i], text, prefix))
			continue;
		named++;
		if (vss_volume_store_count(vs->vols[i].vss) < n)
			continue;
		found = i;
		count++;
		buf_printf(&cand, "%s%s:vss%u", count > 1 ? ", " : "", vs->vols[i].name, n);
	}
	if (count == 1) {
		buf_free(&cand);
		*ret_vol = found;
		*ret_store = n - 1;
		return 0;
	}
	if (count > 1)
		r = sr_fail(-ENOTUNIQ, "'%s' is ambiguous: %s", text, cand.data ? (const char *)cand.data : "");
	else if (prefix && !named)
		r = sr_fail(-ENOENT, "no volume '%.*s' in the images given (name it as 'list shadows' does)", (int)prefix,
			    text);
	else
		r = sr_fail(-ENOENT, "no shadow copy '%s' in the images given (vss1 is the oldest of a volume; see "
				     "'shadowrev list shadows IMAGE...')", text);
	buf_free(&cand);
	return r;
}

int volset_find_shadow(struct volset *vs, const char *text, size_t *ret_vol, unsigned *ret_store)
{
	struct sr_guid *ids = NULL;
	size_t n = 0, *vol = NULL, prefix;
	unsigned *sto = NULL, idx, no_data = 0;
	int r, found;

	if (volset_parse_vss(text, &idx, &prefix) == 0)
		return find_by_index(vs, text, idx, prefix, ret_vol, ret_store);
	for (size_t i = 0; i < vs->n; i++)
		n += vss_volume_store_count(vs->vols[i].vss);
	ids = calloc(n + 1, sizeof(*ids));
	vol = calloc(n + 1, sizeof(*vol));
	sto = calloc(n + 1, sizeof(*sto));
	if (!ids || !vol || !sto) {
		r = -ENOMEM;
		goto out;
	}
	n = 0;
	for (size_t i = 0; i < vs->n; i++)
		for (unsigned k = 0; k < vss_volume_store_count(vs->vols[i].vss); k++) {
			const struct vss_store_info *s = vss_volume_store(vs->vols[i].vss, k);
			/* a store without data has no known shadow copy ID: match its store ID instead */
			ids[n] = s->has_data ? s->copy_id : s->store_id;
			no_data += !s->has_data;
			vol[n] = i;
			sto[n] = k;
			n++;
		}
	found = guid_match(text, ids, n, sizeof(*ids));
	if (found == -ENOENT && no_data)
		/* not a usage error: it may be one of the stores whose storage volume was not given */
		r = sr_fail(-ENOMEDIUM, "no shadow copy '%s' in the images given (%u store%s %s storage on a volume "
					"not given: give that image too)", text, no_data, no_data == 1 ? "" : "s",
			    no_data == 1 ? "has its" : "have their");
	else if (found == -ENOENT)
		r = sr_fail(-ENOENT, "no shadow copy '%s' in the images given (see 'shadowrev list shadows IMAGE...')",
			    text);
	else if (found == -ENOTUNIQ) {
		struct buf cand = BUF_INIT;
		char g[GUID_STRING_MAX];
		for (size_t i = 0; i < n; i++)
			if (guid_match(text, &ids[i], 1, sizeof(*ids)) == 0)
				buf_printf(&cand, "%s{%s} (%s:vss%u)", cand.len ? ", " : "", guid_format(&ids[i], g),
					   vs->vols[vol[i]].name, sto[i] + 1);
		r = sr_fail(-ENOTUNIQ, "shadow copy ID prefix '%s' is ambiguous: %s", text, cand.data ? (const char *)cand.data : "");
		buf_free(&cand);
	} else if (found < 0)
		r = sr_fail(-ENOENT, "'%s' is not a shadow copy ID (a GUID or at least %d of its leading hex digits) "
				     "nor vssN (a store index, oldest first)", text, GUID_PREFIX_MIN);
	else {
		*ret_vol = vol[found];
		*ret_store = sto[found];
		r = 0;
	}
out:
	free(ids);
	free(vol);
	free(sto);
	return r;
}
