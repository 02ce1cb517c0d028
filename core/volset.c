/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "volset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static int add_volume(struct volvec *vv, struct src *src, const char *image, unsigned partition, uint64_t offset)
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
		return add_volume(vv, img, path, 0, 0);
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
		r = add_volume(vv, slice, path, t.parts[i].number, t.parts[i].offset);
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

int volset_open(char *const *paths, size_t n, struct volset **ret)
{
	struct volvec vv = { 0 };
	struct volset *vs;
	int r = 0;

	for (size_t i = 0; i < n && r >= 0; i++)
		r = open_image(&vv, paths[i]);
	vs = calloc(1, sizeof(*vs));
	if (!vs && r >= 0)
		r = -ENOMEM;
	if (vs) {
		vs->vols = vv.v;
		vs->n = vv.n;
	}
	if (r < 0) {
		if (vs)
			volset_free(vs);
		else
			free(vv.v);
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

int volset_find_shadow(struct volset *vs, const char *text, size_t *ret_vol, unsigned *ret_store)
{
	struct sr_guid *ids = NULL;
	size_t n = 0, *vol = NULL;
	unsigned *sto = NULL;
	int r, found;

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
			vol[n] = i;
			sto[n] = k;
			n++;
		}
	found = guid_match(text, ids, n, sizeof(*ids));
	if (found == -ENOENT)
		r = sr_fail(-ENOENT, "no shadow copy '%s' in the images given", text);
	else if (found == -ENOTUNIQ)
		r = sr_fail(-ENOTUNIQ, "shadow copy ID prefix '%s' is ambiguous", text);
	else if (found < 0)
		r = sr_fail(-EINVAL, "'%s' is not a shadow copy ID (a GUID or at least %d of its leading hex digits)",
			    text, GUID_PREFIX_MIN);
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
