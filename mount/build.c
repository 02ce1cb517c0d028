/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The layouts of a mount: images given directly, a repository, one shadow copy (expose). */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/crypto.h"
#include "core/filetime.h"
#include "core/guid.h"
#include "core/log.h"
#include "core/macro.h"
#include "core/repo.h"
#include "core/select.h"
#include "core/volset.h"
#include "core/vss.h"
#include "mount-internal.h"

/* What a tree keeps alive: the images' volumes, or the repository with its manifests. */
struct owner {
	struct volset *vs;
	struct repo *repo;
	struct repo_manifest *sets;
	size_t n_sets;
	/* VSS states opened on repository volumes, freed after the sources that read them */
	struct vss_volume **vss;
	size_t n_vss, cap_vss;
	struct src **srcs;
	size_t n_srcs, cap_srcs;
	uint64_t cache_size;
	struct repo_keep *keep; /* decoded chunks kept for all repository volumes (cache_size of them) */
	/* per set: its volumes' mnt_vols, and (on first access to a shadows/) their VSS states together */
	struct mnt_vol ***set_vols;
	struct volset **set_vs;
};

static void owner_free(void *p)
{
	struct owner *o = p;

	if (!o)
		return;
	for (size_t i = 0; i < o->n_vss; i++)
		vss_volume_free(o->vss[i]);
	for (size_t i = 0; o->set_vs && i < o->n_sets; i++)
		volset_free(o->set_vs[i]);
	for (size_t i = 0; o->set_vols && i < o->n_sets; i++)
		free(o->set_vols[i]);
	free(o->set_vs);
	free(o->set_vols);
	for (size_t i = 0; i < o->n_srcs; i++)
		src_unref(o->srcs[i]);
	free(o->vss);
	free(o->srcs);
	volset_free(o->vs);
	if (o->sets)
		repo_manifests_free(o->sets, o->n_sets);
	repo_free(o->repo);
	repo_keep_free(o->keep); /* after every source that keeps */
	free(o);
}

static int owner_new(struct mnt_tree *t, struct owner **ret)
{
	struct owner *o = calloc(1, sizeof(*o));

	if (!o)
		return -ENOMEM;
	t->owner = o;
	t->owner_free = owner_free;
	*ret = o;
	return 0;
}

/* Add the shadow copies of vss under dir shadows/ (each: volume.img, files/). */
static int add_shadows(struct mnt_tree *t, struct mnt_node *shadows, struct vss_volume *vss, const char *label,
		       char drive)
{
	for (unsigned k = 0; k < vss_volume_store_count(vss); k++) {
		const struct vss_store_info *s = vss_volume_store(vss, k);
		_cleanup_src_ struct src *view = NULL;
		char id[GUID_STRING_MAX], name[512], vname[32];
		struct mnt_node *d;
		struct mnt_vol *v;
		int r;

		if (!s->has_data || vss_view_check(vss, k) < 0) {
			sr_warn("%s: shadow copy store {%s} cannot be read (its storage is missing); not shown", label,
				guid_format(&s->store_id, id));
			sr_errclear();
			continue;
		}
		guid_format(&s->copy_id, id);
		r = vss_view_src_new(vss, k, &view);
		if (r < 0)
			return r;
		snprintf(name, sizeof(name), "%s@{%s}", label, id);
		v = mnt_vol_new(t, name, view, 0);
		if (!v)
			return -ENOMEM;
		v->created = s->creation_time;
		v->drive = drive;
		/* vssN as vshadowinfo and vshadowmount count stores (oldest first), the ID a link to it */
		snprintf(vname, sizeof(vname), "vss%u", k + 1);
		d = mnt_dir_new(t, shadows, vname, s->creation_time);
		if (!d || !mnt_img_new(t, d, "volume.img", v) || !mnt_files_new(t, d, "files", v))
			return -ENOMEM;
		mnt_unique_name(shadows, id, name, sizeof(name));
		if (!mnt_link_new(t, shadows, name, vname))
			return -ENOMEM;
	}
	return 0;
}

/* by-shadow-id/<id> -> the folder of that shadow copy */
static int add_link(struct mnt_tree *t, struct mnt_node *by, const char *id, const char *target)
{
	char name[256];

	if (mnt_child_find(by, id))
		return 0;
	mnt_unique_name(by, id, name, sizeof(name));
	return mnt_link_new(t, by, name, target) ? 0 : -ENOMEM;
}

/* Links for every shadows/<id> below vol_dir, whose path from the mount root is rel. */
static int link_shadows_of(struct mnt_tree *t, struct mnt_node *by, struct mnt_node *vol_dir, const char *rel)
{
	struct mnt_node *sh = mnt_child_find(vol_dir, "shadows");
	int r;

	if (!sh)
		return 0;
	r = mnt_dir_populate(t, sh);
	if (r < 0)
		return 0; /* reported when it was opened; the other volumes still count */
	for (size_t i = 0; i < sh->n_kids; i++) {
		char target[1024];
		if (sh->kids[i]->kind != MNT_LINK)
			continue; /* vssN: the ID's link names it */
		snprintf(target, sizeof(target), "../%s/shadows/%s", rel, sh->kids[i]->name);
		r = add_link(t, by, sh->kids[i]->name, target);
		if (r < 0)
			return r;
	}
	return 0;
}

static void image_base(const char *image, unsigned part, char *out, size_t size)
{
	_cleanup_free_ char *copy = strdup(image);
	char b[256];

	mnt_sanitize_name(copy ? basename(copy) : image, b, sizeof(b));
	if (part)
		snprintf(out, size, "%s-p%u", b, part);
	else
		snprintf(out, size, "%s", b);
}

int mnt_build_images(struct mnt_tree *t, char *const *images, size_t n)
{
	struct owner *o;
	struct mnt_node *by;
	int r;

	r = owner_new(t, &o);
	if (r < 0)
		return r;
	r = volset_open(images, n, &o->vs);
	if (r < 0)
		return r;
	for (size_t i = 0; i < o->vs->n; i++) {
		struct volset_volume *vol = &o->vs->vols[i];
		char base[300], name[320];
		struct mnt_node *d, *sh;
		struct mnt_vol *v;

		image_base(vol->image, vol->partition, base, sizeof(base));
		mnt_unique_name(t->root, base, name, sizeof(name));
		d = mnt_dir_new(t, t->root, name, 0);
		v = mnt_vol_new(t, vol->name, vol->src, 0);
		if (!d || !v || !mnt_img_new(t, d, "volume.img", v) || !mnt_files_new(t, d, "files", v))
			return -ENOMEM;
		sh = mnt_dir_new(t, d, "shadows", 0);
		if (!sh)
			return -ENOMEM;
		r = add_shadows(t, sh, vol->vss, vol->name, 0);
		if (r < 0)
			return r;
	}
	by = mnt_dir_new(t, t->root, "by-shadow-id", 0);
	if (!by)
		return -ENOMEM;
	for (size_t i = 0; i + 1 < t->root->n_kids; i++) {
		r = link_shadows_of(t, by, t->root->kids[i], t->root->kids[i]->name);
		if (r < 0)
			return r;
	}
	return 0;
}

/* repository */

struct repo_vol_ref {
	struct owner *o;
	size_t set, vol;
	int disk; /* >= 0: the whole disk d instead of a volume */
};

static int repo_src_open(struct mnt_vol *v, struct src **ret)
{
	struct repo_vol_ref *ref = v->open_data;
	struct src *s;
	int r;

	if (ref->disk >= 0)
		r = repo_disk_src_new(ref->o->repo, &ref->o->sets[ref->set], (size_t)ref->disk, &s);
	else
		r = repo_volume_src_new(ref->o->repo, &ref->o->sets[ref->set], ref->vol, &s);
	if (r < 0)
		return r;
	/* the decoded chunks kept in a memfd serve as the cache: no block cache in front (a second copy) */
	if (ref->o->keep && (r = repo_src_keep(s, ref->o->keep)) < 0) {
		src_unref(s);
		return r;
	}
	*ret = s;
	return 0;
}

struct shadows_ctx {
	struct owner *o;
	struct mnt_vol *v;
};

/* shadows/ of a captured volume: its VSS state is read on first access */
static int repo_shadows_populate(struct mnt_tree *t, struct mnt_node *dir)
{
	struct mnt_vol *v = dir->pdata;
	struct owner *o = t->owner;
	struct repo_vol_ref *ref = v->open_data;
	const struct repo_manifest *m = &o->sets[ref->set];
	struct volset_volume *vv;
	int r = 0;

	/* the set's volumes together: a shadow copy's storage may be on another of them (t->lock is held) */
	if (!o->set_vs[ref->set]) {
		struct src **srcs = calloc(m->n_vols + 1, sizeof(*srcs));
		size_t *tags = calloc(m->n_vols + 1, sizeof(*tags));
		if (!srcs || !tags)
			r = -ENOMEM;
		for (size_t j = 0; r >= 0 && j < m->n_vols; j++) {
			struct mnt_vol *w = o->set_vols[ref->set][j];
			tags[j] = j;
			if (!w || strcmp(m->vols[j].fs, "ntfs") != 0)
				continue;
			pthread_mutex_lock(&w->lock);
			r = mnt_vol_src(w, &srcs[j]);
			pthread_mutex_unlock(&w->lock);
			if (r < 0 && j != ref->vol) {
				sr_errclear(); /* another volume that cannot be read holds no storage we can use */
				srcs[j] = NULL;
				r = 0;
			}
		}
		if (r >= 0)
			r = volset_from_srcs(srcs, tags, m->n_vols, ref->vol, &o->set_vs[ref->set]);
		free(srcs); /* borrowed from the mnt_vols; the volset took its references */
		free(tags);
	}
	vv = r >= 0 ? volset_by_tag(o->set_vs[ref->set], ref->vol) : NULL;
	if (r >= 0 && !vv)
		r = sr_fail(-EIO, "its VSS state cannot be read");
	if (r < 0) {
		sr_warn("cannot read the shadow copies of %s: %s", v->label, sr_errmsg(r));
		return r;
	}
	return add_shadows(t, dir, vv->vss, v->label, v->drive);
}

/* by-shadow-id/ of a repository: the captured volumes at once, the shadow copies inside them on first access */
static int repo_by_populate(struct mnt_tree *t, struct mnt_node *by)
{
	int r;

	for (size_t i = 0; i < t->root->n_kids; i++) {
		struct mnt_node *set = t->root->kids[i];
		if (set == by)
			continue;
		for (size_t j = 0; j < set->n_kids; j++) {
			char rel[700];
			snprintf(rel, sizeof(rel), "%s/%s", set->name, set->kids[j]->name);
			r = link_shadows_of(t, by, set->kids[j], rel);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static void set_dir_name(const struct repo_manifest *m, char *out, size_t size)
{
	struct timespec ts = filetime_to_timespec(m->created);
	char id[GUID_STRING_MAX], tbuf[64];
	struct tm tm;
	time_t sec = ts.tv_sec;

	if (!gmtime_r(&sec, &tm) || strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H%M%SZ", &tm) == 0)
		snprintf(tbuf, sizeof(tbuf), "unknown-time");
	snprintf(out, size, "%s_%s", tbuf, guid_format(&m->set_id, id));
}

static void vol_dir_name(const struct repo_volume *rv, char *out, size_t size)
{
	char tmp[256];

	if (rv->drive[0] && rv->drive[1] == ':') {
		snprintf(out, size, "%c", rv->drive[0]);
		return;
	}
	snprintf(tmp, sizeof(tmp), "%s", rv->name ? rv->name : "volume");
	for (char *p = tmp; *p; p++)
		if (*p == ':' || *p == '\\')
			*p = '-';
	mnt_sanitize_name(tmp, out, size);
}


static struct mnt_vol *repo_vol_new(struct mnt_tree *t, struct owner *o, size_t set, size_t vol, int disk)
{
	const struct repo_manifest *m = &o->sets[set];
	struct repo_vol_ref *ref = calloc(1, sizeof(*ref));
	char label[600], id[GUID_STRING_MAX];
	struct mnt_vol *v;

	if (!ref)
		return NULL;
	ref->o = o;
	ref->set = set;
	ref->vol = vol;
	ref->disk = disk;
	if (disk >= 0)
		snprintf(label, sizeof(label), "set {%s} disk %d", guid_format(&m->set_id, id), disk);
	else
		snprintf(label, sizeof(label), "set {%s} volume %s", guid_format(&m->set_id, id), m->vols[vol].name);
	v = mnt_vol_new(t, label, NULL, disk >= 0 ? m->disks[disk].size : m->vols[vol].size);
	if (!v) {
		free(ref);
		return NULL;
	}
	v->open_src = repo_src_open;
	v->open_data = ref;
	v->keep = o->keep;
	v->created = m->created;
	if (disk < 0 && m->vols[vol].drive[0] && m->vols[vol].drive[1] == ':')
		v->drive = m->vols[vol].drive[0];
	return v;
}

int mnt_build_repo(struct mnt_tree *t, const char *repo_dir, const char *passphrase_file, uint64_t cache_size)
{
	struct owner *o;
	struct mnt_node *by;
	int r;

	r = owner_new(t, &o);
	if (r < 0)
		return r;
	o->cache_size = cache_size;
	if (cache_size > 0 && (r = repo_keep_new(cache_size, &o->keep)) < 0)
		return r;
	r = repo_open_any(repo_dir, passphrase_file, &o->repo);
	if (r < 0)
		return r;
	r = repo_sets_load(o->repo, &o->sets, &o->n_sets);
	if (r < 0)
		return r;
	o->set_vols = calloc(o->n_sets + 1, sizeof(*o->set_vols));
	o->set_vs = calloc(o->n_sets + 1, sizeof(*o->set_vs));
	if (!o->set_vols || !o->set_vs)
		return -ENOMEM;
	for (size_t i = 0; i < o->n_sets; i++) {
		const struct repo_manifest *m = &o->sets[i];
		char name[256], uniq[300];
		struct mnt_node *sd;

		o->set_vols[i] = calloc(m->n_vols + 1, sizeof(**o->set_vols));
		if (!o->set_vols[i])
			return -ENOMEM;

		set_dir_name(m, name, sizeof(name));
		mnt_unique_name(t->root, name, uniq, sizeof(uniq));
		sd = mnt_dir_new(t, t->root, uniq, m->created);
		if (!sd)
			return -ENOMEM;
		for (size_t d = 0; d < m->n_disks; d++) {
			struct mnt_vol *v = repo_vol_new(t, o, i, 0, (int)d);
			snprintf(name, sizeof(name), "disk%u.img", m->disks[d].no);
			mnt_unique_name(sd, name, uniq, sizeof(uniq));
			if (!v || !mnt_img_new(t, sd, uniq, v))
				return -ENOMEM;
		}
		for (size_t j = 0; j < m->n_vols; j++) {
			const struct repo_volume *rv = &m->vols[j];
			struct mnt_vol *v = repo_vol_new(t, o, i, j, -1);
			struct mnt_node *vd, *sh;

			vol_dir_name(rv, name, sizeof(name));
			mnt_unique_name(sd, name, uniq, sizeof(uniq));
			vd = mnt_dir_new(t, sd, uniq, m->created);
			if (!v || !vd || !mnt_img_new(t, vd, "volume.img", v))
				return -ENOMEM;
			o->set_vols[i][j] = v;
			if (strcmp(rv->fs, "ntfs") != 0)
				continue;
			if (!mnt_files_new(t, vd, "files", v))
				return -ENOMEM;
			sh = mnt_dir_new(t, vd, "shadows", m->created);
			if (!sh)
				return -ENOMEM;
			sh->populate = repo_shadows_populate;
			sh->pdata = v;
		}
	}
	by = mnt_dir_new(t, t->root, "by-shadow-id", 0);
	if (!by)
		return -ENOMEM;
	/* the captured volumes are shadow copies too (their shadow ID): link them now, no I/O needed */
	for (size_t i = 0; i < o->n_sets; i++) {
		struct mnt_node *sd = t->root->kids[i];
		size_t vi = 0;
		for (size_t j = 0; j < sd->n_kids; j++) {
			char id[GUID_STRING_MAX], target[700];
			if (sd->kids[j]->kind != MNT_DIR)
				continue;
			if (vi >= o->sets[i].n_vols)
				break;
			snprintf(target, sizeof(target), "../%s/%s", sd->name, sd->kids[j]->name);
			r = add_link(t, by, guid_format(&o->sets[i].vols[vi].shadow_id, id), target);
			if (r < 0)
				return r;
			vi++;
		}
	}
	by->populate = repo_by_populate;
	return 0;
}

/* expose: one shadow copy */

/*
 * Decoded repository chunks kept by default: a quarter of the memory available
 * when the daemon starts (MemAvailable; the machine's memory where it cannot
 * be read), at least 128 MiB. Kept chunks are shared memory: they leave only
 * to swap, so several mounts must not each count on all of it.
 */
uint64_t mnt_default_cache(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
	uint64_t mem = pages > 0 && psize > 0 ? (uint64_t)pages * (uint64_t)psize : 0;
	unsigned long long kib;
	char line[128];
	FILE *f = fopen("/proc/meminfo", "re");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1) {
			mem = (uint64_t)kib << 10;
			break;
		}
	if (f)
		fclose(f);
	return mem / 4 > (128ull << 20) ? mem / 4 : 128ull << 20;
}

/* keep: where view keeps its decoded chunks (a captured volume), or NULL */
static int shadow_tree(struct mnt_tree *t, struct src *view, const char *label, char drive, uint64_t created,
		       const struct repo_keep *keep)
{
	struct mnt_vol *v = mnt_vol_new(t, label, view, 0);

	if (!v)
		return -ENOMEM;
	v->keep = keep;
	v->drive = drive;
	v->created = created;
	t->root->time = created ? created : t->root->time;
	if (!mnt_img_new(t, t->root, "volume.img", v) || !mnt_files_new(t, t->root, "files", v))
		return -ENOMEM;
	return 0;
}

int mnt_build_shadow(struct mnt_tree *t, const char *shadow_id, char *const *images, size_t n, const char *repo_dir,
		     const char *passphrase_file, struct sr_guid *ret_shadow_id, struct sr_guid *ret_set_id)
{
	_cleanup_src_ struct src *view = NULL;
	struct owner *o;
	int r;

	r = owner_new(t, &o);
	if (r < 0)
		return r;
	if (n > 0) {
		size_t vi;
		unsigned k;
		const struct vss_store_info *s;
		r = volset_open(images, n, &o->vs);
		if (r < 0)
			return r;
		r = volset_find_shadow(o->vs, shadow_id, &vi, &k);
		if (r < 0)
			return r;
		r = vss_view_src_new(o->vs->vols[vi].vss, k, &view);
		if (r < 0)
			return r;
		s = vss_volume_store(o->vs->vols[vi].vss, k);
		*ret_shadow_id = s->copy_id;
		*ret_set_id = s->set_id;
		return shadow_tree(t, view, view->name, 0, s->creation_time, NULL);
	}

	struct sel sl = { 0 };
	const struct repo_manifest *m;
	uint64_t created;
	char drive;
	r = repo_open_any(repo_dir, passphrase_file, &o->repo);
	if (r < 0)
		return r;
	r = repo_sets_load(o->repo, &o->sets, &o->n_sets);
	if (r < 0)
		return r;
	r = sel_resolve(o->repo, o->sets, o->n_sets, shadow_id, SEL_VOLUME | SEL_SHADOW, &sl);
	if (r < 0)
		return r;
	m = &o->sets[sl.set];
	drive = m->vols[sl.vol].drive[0];
	/* decoded once, as in a mount (the same default room); a whole captured volume is handed to the kernel */
	r = repo_keep_new(mnt_default_cache(), &o->keep);
	if (sl.kind == SEL_SHADOW) {
		const struct vss_store_info *st = vss_volume_store(sel_vss(&sl), sl.store);
		*ret_shadow_id = st->copy_id;
		*ret_set_id = st->set_id;
		created = st->creation_time;
		/* the captured volumes under the view decoded once (the view is read with direct I/O) */
		for (size_t i = 0; r >= 0 && i < sl.vs->n; i++)
			r = repo_src_keep(sl.vs->vols[i].src, o->keep);
	} else {
		*ret_shadow_id = m->vols[sl.vol].shadow_id;
		*ret_set_id = m->set_id;
		created = m->created;
	}
	if (r >= 0)
		r = sel_open(o->repo, o->sets, &sl, &view);
	if (r >= 0 && sl.kind == SEL_VOLUME)
		r = repo_src_keep(view, o->keep);
	if (r >= 0) {
		bool whole = sl.kind == SEL_VOLUME;
		sel_done(&sl);
		return shadow_tree(t, view, view->name, drive, created, whole ? o->keep : NULL);
	}
	sel_done(&sl);
	return r;
}
