/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Offline in-place revert of a volume to one of the VSS shadow copies inside
 * it (vss-format.md section 6):
 *   1. plan: U = the blocks with a descriptor in stores k..n-1; the shadow
 *      copies dropped (k..n-1, older ones whose view store k's overlays would
 *      change, other volumes' whose storage is overwritten), each with why;
 *      refuse when U would change what a kept store still reads, or the
 *      catalog (check_protected());
 *   2. read everything first: view k of every block of U (never zero-filled),
 *      compared with what is there; the differing blocks, then the catalog
 *      entries of stores k..n-1 (marked unused) go into a journal, which is
 *      committed (fsync, rename) before the first write;
 *   3. apply the journal in order: data blocks, then the catalog; fsync;
 *   4. verify: re-read every written range, re-open the VSS catalog.
 * Running the same command again while the journal exists replays it, so an
 * interrupted revert ends with the same bytes as an uninterrupted one.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/bootcheck.h"
#include "core/buf.h"
#include "core/cli.h"
#include "core/filetime.h"
#include "core/io.h"
#include "core/json.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/target.h"
#include "core/volset.h"
#include "revert-internal.h"
#include "revert.h"

#define BLK VSS_BLOCK_SIZE


/* A shadow copy a revert removes from a catalog. */
struct dropped {
	size_t vi; /* the volume whose shadow copy it is */
	unsigned store;
	char why[256];
};

/* One volume of a revert. */
struct vplan {
	size_t vi;    /* index in the volset */
	unsigned k;   /* store to revert to */
	bool system;
	char skip[512]; /* non-empty: not reverted, and why */
	char target[PATH_MAX];
	uint64_t vol_offset;
	size_t considered, to_write, equal, entries;
	uint64_t bytes;
	unsigned extra_dropped; /* shadow copies dropped besides k..n-1 (below) */
	unsigned overlay_dropped; /* older ones of this volume, because store k's overlays change what they read */
	/* every shadow copy this revert removes from a catalog, and why (said before anything is written) */
	VEC(struct dropped) dropped;
};

struct plan {
	char id[GUID_STRING_MAX]; /* the shadow copy, or the set */
	bool is_set;
	struct vplan *v; /* in the order the volumes are reverted */
	size_t n;
	char order_note[1024];
};

static void plan_free(struct plan *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i].dropped.v);
	free(p->v);
	p->v = NULL;
	p->n = 0;
}

/*
 * Tests widen the windows in which a revert can be killed (tests/e2e,
 * tests/stress): SHADOWREV_TEST_READ_DELAY_US and SHADOWREV_TEST_WRITE_DELAY_US
 * sleep that long after each block read while planning, or written.
 */
void revert_test_delay(const char *var)
{
	const char *e = getenv(var);
	long us = e ? atol(e) : 0;

	if (us > 0)
		usleep((useconds_t)us);
}

/* The first range of r[0..n) that overlaps [off, off+len), skipping one range (skip may be NULL). */
static const struct vss_range *overlaps(const struct vss_range *r, size_t n, uint64_t off, uint64_t len,
					const struct vss_range *skip)
{
	for (size_t i = 0; i < n; i++)
		if (&r[i] != skip && r[i].off < off + len && off < r[i].off + r[i].len)
			return &r[i];
	return NULL;
}

static bool any_overlap(const struct vss_range *a, size_t na, const uint64_t *blocks, size_t nb)
{
	for (size_t i = 0; i < nb; i++)
		if (overlaps(a, na, blocks[i], BLK, NULL))
			return true;
	return false;
}

struct targets {
	char path[8][PATH_MAX];
	size_t n;
};

/* The journal's target index for the image that holds src (a volume of vs). */
static int target_of(struct volset *vs, struct src *src, struct journal *j, struct targets *t, uint32_t *ret,
		     uint64_t *ret_off)
{
	for (size_t i = 0; i < vs->n; i++) {
		char real[PATH_MAX];
		if (vs->vols[i].src != src)
			continue;
		if (!realpath(vs->vols[i].image, real))
			return -errno;
		*ret_off = vs->vols[i].offset;
		for (size_t x = 0; x < t->n; x++)
			if (strcmp(t->path[x], real) == 0) {
				*ret = (uint32_t)x;
				return j ? journal_add_volume(j, *ret, *ret_off) : 0;
			}
		if (t->n >= ARRAY_SIZE(t->path))
			return -E2BIG;
		snprintf(t->path[t->n], PATH_MAX, "%s", real);
		if (j) {
			int r = journal_add_target(j, real, ret);
			if (r >= 0)
				r = journal_add_volume(j, *ret, *ret_off);
			if (r < 0)
				return r;
		} else {
			*ret = (uint32_t)t->n;
		}
		t->n++;
		return 0;
	}
	return -ENOENT;
}

/* The store of volume vi that this plan reverts to, or UINT_MAX when the volume is not reverted. */
static unsigned planned_k(const struct plan *p, size_t vi)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].vi == vi && !p->v[i].skip[0])
			return p->v[i].k;
	return UINT_MAX;
}

/*
 * Reverting volume y (to store ky) rewrites the blocks ublocks. Other volumes'
 * shadow copies that keep their storage on y and stay after this plan must
 * survive: their store files must not be overwritten and must still exist in
 * y's reverted file system (vss-format.md 7.3). Those that would not survive
 * are dropped when their volume is part of this plan, else the revert is
 * refused. *ret_extra collects (volume, store) pairs to drop.
 */
struct drop {
	size_t vi;
	unsigned store;
};
struct drops {
	struct drop *v;
	size_t n, cap;
};

static int check_foreign(struct volset *vs, const struct plan *p, size_t yi, unsigned ky, const uint64_t *ublocks,
			 size_t nu, struct drops *extra)
{
	struct volset_volume *y = &vs->vols[yi];
	_cleanup_src_ struct src *yview = NULL;
	unsigned attached = 0;
	int r;

	for (size_t xi = 0; xi < vs->n; xi++) {
		struct vss_volume *x = vs->vols[xi].vss;
		unsigned keep = MIN(planned_k(p, xi), vss_volume_store_count(x));

		for (unsigned j = 0; j < vss_volume_store_count(x); j++) {
			const struct vss_store_info *si = vss_volume_store(x, j);
			_cleanup_free_ struct vss_range *rg = NULL;
			size_t nrg;
			bool survives = true, covered;
			char id[GUID_STRING_MAX];

			if (xi == yi || vss_store_storage(x, j) != y->src)
				continue;
			attached++;
			if (j >= keep)
				continue; /* dropped by its own volume's revert */
			/* what the store really uses: not overwritten, and still its own in y's reverted file system */
			r = vss_store_data_ranges(x, j, &rg, &nrg);
			if (r < 0)
				return r;
			if (any_overlap(rg, nrg, ublocks, nu))
				survives = false;
			if (survives) {
				if (!yview && (r = vss_view_src_new(y->vss, ky, &yview)) < 0)
					return r;
				r = winvol_file_covers(yview, si->file_reference, rg, nrg, &covered);
				if (r < 0)
					return r;
				if (!covered)
					survives = false;
			}
			if (survives)
				continue;
			if (planned_k(p, xi) == UINT_MAX)
				return sr_fail(-EBUSY,
					       "reverting %s would destroy shadow copy {%s} of %s, whose shadow storage is on %s: revert %s first, or both with --set",
					       y->name, guid_format(&si->copy_id, id), vs->vols[xi].name, y->name,
					       vs->vols[xi].name);
			r = vec_push(extra, ((struct drop){ xi, j }));
			if (r < 0)
				return r;
		}
	}
	if (vss_volume_foreign_count(y->vss) > attached)
		return sr_fail(-EBUSY,
			       "%s holds the shadow storage of %u shadow copies of another volume that was not given: give that volume's image too (it must be reverted first)",
			       y->name, vss_volume_foreign_count(y->vss) - attached);
	return 0;
}

static int add_dropped(struct vplan *vp, size_t vi, unsigned store, const char *why)
{
	struct dropped d = { vi, store, "" };

	snprintf(d.why, sizeof(d.why), "%s", why);
	return vec_push(&vp->dropped, d);
}

static int cmp_prot(const void *a, const void *b)
{
	const struct vss_protected *x = a, *y = b;
	return x->off < y->off ? -1 : x->off > y->off;
}

/*
 * vss-format.md 6.1 step 4: a block of the write set is refused only when
 * writing it would change bytes that a store the revert keeps (lo..hi-1)
 * still reads: its header, block lists, range lists, bitmaps, the blocks its
 * descriptors point at, its store file's runs in the MFT now; or the catalog
 * and the VSS header. Not the extents its range list once reserved: Windows
 * trims an older store's file to what it uses, and the freed tail is reused
 * (and copied by newer stores) like any other block.
 */
static int check_protected(struct vss_volume *v, struct src *vol, unsigned lo, unsigned hi, const uint64_t *blocks,
			   size_t nblocks)
{
	_cleanup_free_ struct vss_protected *core = NULL;
	_cleanup_free_ uint64_t *maxend = NULL;
	VEC(struct vss_protected) prot = { 0 };
	size_t ncore;
	int r;

	r = vss_revert_protected(v, lo, hi, &core, &ncore);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ncore && r >= 0; i++)
		r = vec_push(&prot, core[i]);
	for (unsigned s = lo; s < hi && r >= 0; s++) {
		_cleanup_free_ struct vss_range *runs = NULL;
		size_t nruns;
		if (vss_store_storage(v, s) != vol)
			continue;
		r = winvol_file_runs(vol, vss_volume_store(v, s)->file_reference, &runs, &nruns);
		for (size_t i = 0; i < nruns && r >= 0; i++)
			r = vec_push(&prot, ((struct vss_protected){ runs[i].off, runs[i].len, (int)s, "store file" }));
	}
	if (r >= 0 && prot.n && !(maxend = malloc(prot.n * sizeof(*maxend))))
		r = -ENOMEM;
	if (r < 0)
		goto out;
	qsort(prot.v, prot.n, sizeof(*prot.v), cmp_prot);
	for (size_t i = 0; i < prot.n; i++)
		maxend[i] = MAX(i ? maxend[i - 1] : 0, prot.v[i].off + prot.v[i].len);
	for (size_t i = 0; i < nblocks; i++) {
		uint64_t b = blocks[i];
		size_t lo_i = 0, hi_i = prot.n; /* ranges [0, hi_i) start before the block ends */
		const struct vss_protected *o = NULL;
		while (lo_i < hi_i) {
			size_t mid = lo_i + (hi_i - lo_i) / 2;
			if (prot.v[mid].off < b + BLK)
				lo_i = mid + 1;
			else
				hi_i = mid;
		}
		if (!hi_i || maxend[hi_i - 1] <= b)
			continue;
		/* the narrowest structure it hits (a data block rather than the store file around it) */
		for (size_t x = hi_i; x-- > 0;) {
			const struct vss_protected *c = &prot.v[x];
			/* block 0 holds the VSS header sector: allowed, the current header is kept (spliced in) */
			if (c->off + c->len > b && !(b == 0 && c->store < 0 && c->off == VSS_HEADER_OFFSET) &&
			    (!o || c->len < o->len))
				o = c;
		}
		if (!o)
			continue;
		if (o->store < 0) {
			r = sr_fail(-EBADMSG,
				    "%s: refusing to revert: block at offset 0x%llx that the shadow copies restore would overwrite the VSS %s (0x%llx+0x%llx)",
				    vol->name, (unsigned long long)b, o->what, (unsigned long long)o->off,
				    (unsigned long long)o->len);
		} else {
			char id[GUID_STRING_MAX];
			r = sr_fail(-EBADMSG,
				    "%s: refusing to revert: block at offset 0x%llx that the shadow copies restore would overwrite the %s of shadow copy {%s} (store %d of %u), which the revert keeps (0x%llx+0x%llx)",
				    vol->name, (unsigned long long)b, o->what,
				    guid_format(&vss_volume_store(v, (unsigned)o->store)->copy_id, id), o->store + 1,
				    vss_volume_store_count(v), (unsigned long long)o->off, (unsigned long long)o->len);
		}
		goto out;
	}
	r = 0;
out:
	free(prot.v);
	return r;
}

/* Plan (and stage in j, unless j is NULL) the revert of one volume. */
static int plan_volume(struct volset *vs, struct plan *p, struct vplan *vp, struct journal *j, struct targets *t)
{
	struct volset_volume *vv = &vs->vols[vp->vi];
	struct vss_volume *v = vv->vss;
	struct src *vol = vv->src;
	_cleanup_free_ uint64_t *blocks = NULL;
	_cleanup_free_ struct vss_entry_ref *ents = NULL;
	_cleanup_free_ uint8_t *nb = malloc(BLK), *ob = malloc(BLK);
	uint8_t hdr[VSS_HEADER_SIZE];
	struct drops extra = { 0 };
	size_t nblocks, nents;
	int victim = -1;
	uint64_t victim_block = 0;
	struct progress pr;
	uint32_t tgt;
	uint64_t toff;
	int r;

	if (!nb || !ob)
		return -ENOMEM;
	for (unsigned s = vp->k; s < vss_volume_store_count(v); s++) {
		const struct vss_store_info *si = vss_volume_store(v, s);
		char id[GUID_STRING_MAX];
		if (si->volume_size != vol->size)
			return sr_fail(-EBADMSG, "%s: shadow copy {%s} is of a %llu-byte volume, the volume has %llu bytes",
				       vol->name, guid_format(&si->copy_id, id), (unsigned long long)si->volume_size,
				       (unsigned long long)vol->size);
	}
	r = vss_revert_block_set(v, vp->k, &blocks, &nblocks);
	if (r >= 0)
		r = vss_drop_entries(v, vp->k, &ents, &nents);
	if (r >= 0 && vss_volume_has_header(v))
		r = src_pread(vol, hdr, sizeof(hdr), VSS_HEADER_OFFSET);
	/* older shadow copies that would read store k's overlay sectors from the volume: dropped too */
	if (r >= 0)
		r = vss_revert_overlay_victim(v, vp->k, &victim, &victim_block);
	if (r >= 0)
		r = check_protected(v, vol, (unsigned)(victim + 1), vp->k, blocks, nblocks);
	if (r < 0)
		return r;
	for (unsigned s = vp->k; s < vss_volume_store_count(v) && r >= 0; s++)
		r = add_dropped(vp, vp->vi, s, s == vp->k ? "the shadow copy reverted to: the volume becomes it"
							: "newer than the shadow copy reverted to");
	for (int o = 0; o <= victim && r >= 0; o++) {
		char why[256], id[GUID_STRING_MAX];
		if (o == victim)
			snprintf(why, sizeof(why),
				 "older, and would read block 0x%llx differently: the writes made to shadow copy {%s} itself (overlays, e.g. auto-recovery) become part of the volume",
				 (unsigned long long)victim_block, guid_format(&vss_volume_store(v, vp->k)->copy_id, id));
		else
			snprintf(why, sizeof(why), "older than {%s}, which is dropped: it reads through it",
				 guid_format(&vss_volume_store(v, (unsigned)victim)->copy_id, id));
		r = vec_push(&extra, ((struct drop){ vp->vi, (unsigned)o }));
		if (r >= 0)
			r = add_dropped(vp, vp->vi, (unsigned)o, why);
		vp->overlay_dropped++;
	}
	if (r < 0)
		goto out;
	r = check_foreign(vs, p, vp->vi, vp->k, blocks, nblocks, &extra);
	if (r < 0)
		goto out;
	for (size_t e = vp->overlay_dropped; e < extra.n && r >= 0; e++) {
		char why[256];
		snprintf(why, sizeof(why),
			 "its shadow storage on %s would be overwritten, or no longer be its own, once %s is reverted",
			 vol->name, vol->name);
		r = add_dropped(vp, extra.v[e].vi, extra.v[e].store, why);
	}
	if (r < 0)
		goto out;

	r = target_of(vs, vol, j, t, &tgt, &toff);
	if (r < 0)
		goto out;
	snprintf(vp->target, sizeof(vp->target), "%s", t->path[tgt]);
	vp->vol_offset = toff;
	vp->considered = nblocks;
	progress_begin(&pr, "reading", (uint64_t)nblocks * BLK);
	for (size_t i = 0; i < nblocks; i++) {
		uint64_t off = blocks[i];
		uint32_t len = (uint32_t)MIN((uint64_t)BLK, vol->size - off);

		r = vss_view_pread(v, vp->k, nb, len, off, VSS_READ_NO_ZERO_FILL);
		if (r >= 0)
			r = src_pread(vol, ob, len, off);
		if (r < 0) {
			r = sr_fail(r, "%s: cannot read block at offset 0x%llx: %s", vol->name, (unsigned long long)off,
				    sr_errmsg(r));
			goto out;
		}
		if (off == 0 && vss_volume_has_header(v))
			memcpy(nb + VSS_HEADER_OFFSET, hdr, sizeof(hdr));
		progress_update(&pr, (uint64_t)(i + 1) * BLK);
		revert_test_delay("SHADOWREV_TEST_READ_DELAY_US");
		if (memcmp(nb, ob, len) == 0) {
			vp->equal++;
			continue;
		}
		vp->to_write++;
		vp->bytes += len;
		if (j && (r = journal_add_write(j, tgt, toff + off, nb, NULL, len)) < 0)
			goto out;
	}
	progress_end(&pr);

	/* then the catalogs: stores k..n-1 (and shadow copies whose storage does not survive) become unused entries */
	for (size_t e = 0; e <= extra.n; e++) {
		_cleanup_free_ struct vss_entry_ref *xe = NULL;
		struct vss_entry_ref *list = ents;
		size_t nl = nents;

		if (e < extra.n) {
			struct vss_entry_ref *all;
			size_t na, m = 0;
			r = vss_drop_entries(vs->vols[extra.v[e].vi].vss, extra.v[e].store, &all, &na);
			if (r < 0)
				goto out;
			for (size_t i = 0; i < na; i++)
				if (all[i].store == extra.v[e].store)
					all[m++] = all[i];
			xe = all;
			list = all;
			nl = m;
			vp->extra_dropped++;
		}
		for (size_t i = 0; i < nl; i++) {
			uint8_t cur[128], unused[128] = { 1 };
			r = target_of(vs, list[i].src, j, t, &tgt, &toff);
			if (r >= 0)
				r = src_pread(list[i].src, cur, sizeof(cur), list[i].off);
			if (r < 0)
				goto out;
			vp->entries++;
			if (j && (r = journal_add_write(j, tgt, toff + list[i].off, unused, cur, sizeof(unused))) < 0)
				goto out;
		}
	}
	r = 0;
out:
	free(extra.v);
	return r;
}

/* Plan every volume, in order, into one journal (or only count, when ret_j is NULL). */
static int plan_all(struct volset *vs, struct plan *p, const char *journal_path, struct journal **ret_j)
{
	struct journal *j = NULL;
	struct targets t = { 0 };
	int r;

	if (ret_j && (r = journal_create(journal_path, p->id, &j)) < 0)
		return r;
	for (size_t i = 0; i < p->n; i++) {
		struct vplan *vp = &p->v[i];
		vp->considered = vp->to_write = vp->equal = vp->entries = 0;
		vp->bytes = 0;
		vp->extra_dropped = 0;
		vp->overlay_dropped = 0;
		vp->dropped.n = 0;
		if (vp->skip[0])
			continue;
		r = plan_volume(vs, p, vp, j, &t);
		if (r < 0) {
			journal_free(j);
			return r;
		}
	}
	if (ret_j)
		*ret_j = j;
	return 0;
}

/* Apply a committed journal to its targets, fsync, verify by reading back. */
int revert_apply_journal(struct journal *j, uint64_t *ret_bytes)
{
	int fds[8];
	size_t nt = journal_n_targets(j);
	_cleanup_free_ uint8_t *nb = malloc(16u << 20), *rb = malloc(16u << 20);
	struct progress pr;
	uint64_t bytes = 0;
	int r = 0;

	if (!nb || !rb)
		return -ENOMEM;
	if (nt > ARRAY_SIZE(fds))
		return -E2BIG;
	for (size_t t = 0; t < nt; t++)
		fds[t] = -1;
	for (size_t t = 0; t < nt && r >= 0; t++) {
		r = target_open(journal_target(j, t), &fds[t]);
		if (r < 0)
			r = sr_fail(r, "%s", sr_errmsg(r));
	}
	/* every target is the one the journal was made for, before the first write (a name can change hands) */
	for (size_t t = 0; t < nt && r >= 0; t++)
		r = journal_check_target(j, t, fds[t], NULL);
	progress_begin(&pr, "writing", journal_bytes(j));
	for (size_t i = 0; i < journal_n_writes(j) && r >= 0; i++) {
		struct journal_write w;
		r = journal_read_write(j, i, &w, nb, NULL);
		if (r >= 0)
			r = pwrite_full(fds[w.target], nb, w.len, w.off);
		if (r < 0)
			r = sr_fail(r, "cannot write '%s' at offset %llu: %s", journal_target(j, w.target),
				    (unsigned long long)w.off, strerror(-r));
		bytes += w.len;
		progress_update(&pr, bytes);
		revert_test_delay("SHADOWREV_TEST_WRITE_DELAY_US");
	}
	progress_end(&pr);
	for (size_t t = 0; t < nt && r >= 0; t++)
		if (fsync(fds[t]) < 0)
			r = sr_fail(-errno, "cannot flush '%s': %s", journal_target(j, t), strerror(errno));
	/* verify: what is on the targets now is what the journal says */
	for (size_t i = 0; i < journal_n_writes(j) && r >= 0; i++) {
		struct journal_write w;
		r = journal_read_write(j, i, &w, nb, NULL);
		if (r >= 0)
			r = pread_full(fds[w.target], rb, w.len, w.off);
		if (r >= 0 && memcmp(nb, rb, w.len) != 0)
			r = sr_fail(-EIO, "verification failed: '%s' at offset %llu does not hold what was written",
				    journal_target(j, w.target), (unsigned long long)w.off);
	}
	for (size_t t = 0; t < nt; t++)
		if (fds[t] >= 0)
			close(fds[t]);
	if (r >= 0)
		*ret_bytes = bytes;
	return r;
}

/*
 * The system volume (\Windows\System32) cannot be reverted while Windows runs
 * from it; offline it can, when the user says the instance is stopped.
 */
static int check_system(const struct revert_opts *o, const struct volset_volume *vol, bool *ret_system)
{
	struct winvol_roles roles;
	int r = winvol_roles(vol->src, &roles);

	if (r < 0)
		return sr_fail(r, "cannot tell whether %s is a system volume (%s); add --offline if its instance is stopped",
			       vol->name, sr_errmsg(r));
	*ret_system = roles.system;
	if (roles.system && !o->offline)
		return sr_fail(-EPERM,
			       "%s is a system volume (it holds \\Windows\\System32): revert it only while its instance is stopped, "
			       "with the disk attached to another machine, and say so with --offline (the boot structures are checked afterwards)",
			       vol->name);
	return 0;
}

/* After an offline revert of a system volume: will it boot? Exit 3 when it will not. */
int revert_check_boot_after(const struct revert_opts *o, const char *image, uint64_t offset, uint64_t size)
{
	_cleanup_src_ struct src *img = NULL, *vol = NULL;
	struct boot_report rep = { 0 };
	struct winvol_roles roles = { 0 };
	int r;

	r = src_open_file(image, false, &img);
	if (r >= 0)
		r = src_slice_new(img, offset, size, image, &vol);
	if (r >= 0)
		r = boot_check_ntfs(vol, offset ? (int64_t)(offset / 512) : -1, &rep);
	if (r >= 0)
		r = winvol_roles(vol, &roles);
	if (r < 0) {
		boot_report_free(&rep);
		return sr_error(r, "cannot check the boot structures of '%s'", image);
	}
	if (!roles.winload)
		boot_report_add(&rep, BOOT_FATAL, "winload", "\\Windows\\System32\\winload.exe (or .efi) is missing");
	if (!roles.bootmgr || !roles.bcd)
		boot_report_add(&rep, BOOT_WARN, "bootmgr",
				"no bootmgr and \\Boot\\BCD on this volume: the instance boots only if a System Reserved or EFI system partition holds them");
	for (size_t i = 0; i < rep.n; i++)
		if (!o->c.json && (sr_verbosity > 0 || rep.v[i].severity == BOOT_FATAL))
			fprintf(stderr, "boot check: %s: %s\n", rep.v[i].severity == BOOT_FATAL ? "error" : "warning",
				rep.v[i].text);
	r = rep.worst == BOOT_FATAL ? EXIT_PARTIAL : EXIT_OK;
	if (!o->c.json && rep.n == 0 && sr_verbosity > 0)
		fprintf(stderr, "boot check: boot sector, backup boot sector, bootmgr, BCD and winload are in order\n");
	boot_report_free(&rep);
	return r;
}

static uint64_t plan_bytes(const struct plan *p, size_t *ret_blocks)
{
	uint64_t b = 0;
	size_t n = 0;

	for (size_t i = 0; i < p->n; i++) {
		b += p->v[i].bytes;
		n += p->v[i].to_write;
	}
	if (ret_blocks)
		*ret_blocks = n;
	return b;
}

/* Which shadow copies go, and why: said before anything is written (dropping one cannot be undone). */
static void print_dropped(FILE *f, const struct volset *vs, const struct vplan *v, const char *indent)
{
	for (size_t d = 0; d < v->dropped.n; d++) {
		const struct dropped *x = &v->dropped.v[d];
		struct vss_volume *xv = vs->vols[x->vi].vss;
		char id[GUID_STRING_MAX];
		fprintf(f, "%sdropped: {%s} (shadow copy %u of %u of %s): %s\n", indent,
			guid_format(&vss_volume_store(xv, x->store)->copy_id, id), x->store + 1, vss_volume_store_count(xv),
			vs->vols[x->vi].name, x->why);
	}
}

static bool confirm(const struct volset *vs, const struct plan *p)
{
	char line[64];
	size_t n;
	uint64_t b = plan_bytes(p, &n);

	if (!isatty(STDIN_FILENO) || !isatty(STDERR_FILENO))
		return false;
	fprintf(stderr, "Revert to %s {%s}: %zu blocks (%llu bytes) will be overwritten in place on:\n",
		p->is_set ? "snapshot set" : "shadow copy", p->id, n, (unsigned long long)b);
	for (size_t i = 0; i < p->n; i++)
		if (!p->v[i].skip[0])
			fprintf(stderr, "  %s\n", p->v[i].target);
	fprintf(stderr, "These shadow copies will be dropped from the catalogs (this cannot be undone):\n");
	for (size_t i = 0; i < p->n; i++)
		if (!p->v[i].skip[0])
			print_dropped(stderr, vs, &p->v[i], "  ");
	fprintf(stderr, "Type 'revert' to go on: ");
	if (!fgets(line, sizeof(line), stdin))
		return false;
	line[strcspn(line, "\n")] = 0;
	return strcmp(line, "revert") == 0;
}

static void print_plan(const struct revert_opts *o, const struct volset *vs, const struct plan *p, const char *journal,
		       bool dry, uint64_t written, double secs)
{
	if (o->c.json) {
		struct json j;
		json_init(&j, stdout, true);
		json_obj_begin(&j);
		json_kstr(&j, p->is_set ? "set_id" : "shadow_id", p->id);
		json_kbool(&j, "dry_run", dry);
		json_kstr(&j, "journal", journal);
		if (p->order_note[0])
			json_kstr(&j, "order_note", p->order_note);
		json_key(&j, "volumes");
		json_arr_begin(&j);
		for (size_t i = 0; i < p->n; i++) {
			const struct vplan *v = &p->v[i];
			const struct vss_store_info *si = vss_volume_store(vs->vols[v->vi].vss, v->k);
			char id[GUID_STRING_MAX];
			json_obj_begin(&j);
			json_ku64(&j, "order", i + 1);
			json_kstr(&j, "volume", vs->vols[v->vi].name);
			json_kstr(&j, "shadow_id", guid_format(&si->copy_id, id));
			json_kbool(&j, "system", v->system);
			json_kbool(&j, "skipped", v->skip[0] != 0);
			if (v->skip[0]) {
				json_kstr(&j, "reason", v->skip);
				json_obj_end(&j);
				continue;
			}
			json_kstr(&j, "target", v->target);
			json_ku64(&j, "volume_offset", v->vol_offset);
			json_ku64(&j, "store_index", v->k + 1);
			json_ku64(&j, "stores_dropped", vss_volume_store_count(vs->vols[v->vi].vss) - v->k);
			json_ku64(&j, "stores_kept", v->k - v->overlay_dropped);
			json_ku64(&j, "other_volumes_shadow_copies_dropped", v->extra_dropped - v->overlay_dropped);
			json_ku64(&j, "older_shadow_copies_dropped", v->overlay_dropped);
			json_ku64(&j, "blocks_considered", v->considered);
			json_ku64(&j, "blocks_to_write", v->to_write);
			json_ku64(&j, "blocks_equal", v->equal);
			json_ku64(&j, "bytes_to_write", v->bytes);
			json_ku64(&j, "catalog_entries", v->entries);
			json_key(&j, "dropped_shadow_copies");
			json_arr_begin(&j);
			for (size_t d = 0; d < v->dropped.n; d++) {
				const struct dropped *x = &v->dropped.v[d];
				json_obj_begin(&j);
				json_kstr(&j, "volume", vs->vols[x->vi].name);
				json_kstr(&j, "shadow_id", guid_format(&vss_volume_store(vs->vols[x->vi].vss, x->store)->copy_id, id));
				json_ku64(&j, "store_index", x->store + 1);
				json_kstr(&j, "reason", x->why);
				json_obj_end(&j);
			}
			json_arr_end(&j);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		if (!dry) {
			json_ku64(&j, "bytes_written", written);
			json_key(&j, "seconds");
			fprintf(stdout, "%.3f", secs);
		}
		json_obj_end(&j);
		json_end(&j);
		return;
	}
	if (sr_verbosity == 0) /* --quiet */
		return;
	printf("%s to %s {%s}\n", dry ? "Plan: revert" : "Reverted", p->is_set ? "snapshot set" : "shadow copy", p->id);
	if (p->order_note[0])
		printf("%s\n", p->order_note);
	for (size_t i = 0; i < p->n; i++) {
		const struct vplan *v = &p->v[i];
		char id[GUID_STRING_MAX];
		printf("  %zu. %s to {%s}%s\n", i + 1, vs->vols[v->vi].name,
		       guid_format(&vss_volume_store(vs->vols[v->vi].vss, v->k)->copy_id, id),
		       v->system ? " (system volume)" : "");
		if (v->skip[0]) {
			printf("\t- skipped: %s\n", v->skip);
			continue;
		}
		printf("\t- blocks with copies in the shadow copies: %zu\n", v->considered);
		printf("\t- blocks to write: %zu (%llu bytes); already equal, skipped: %zu\n", v->to_write,
		       (unsigned long long)v->bytes, v->equal);
		printf("\t- shadow copies dropped from the catalog: %u (this one and every newer one); kept: %u\n",
		       vss_volume_store_count(vs->vols[v->vi].vss) - v->k, v->k - v->overlay_dropped);
		if (v->extra_dropped > v->overlay_dropped)
			printf("\t- shadow copies of other volumes dropped (their storage here is reverted): %u\n",
			       v->extra_dropped - v->overlay_dropped);
		if (v->overlay_dropped)
			printf("\t- older shadow copies dropped too: %u (this shadow copy's own writes, such as auto-recovery, change blocks they read)\n",
			       v->overlay_dropped);
		print_dropped(stdout, vs, v, "\t  ");
	}
	if (!dry)
		printf("Written and verified: %llu bytes in %.2f s\n", (unsigned long long)written, secs);
	else
		printf("Journal: %s\n", journal);
}

/* After a refusal to use a journal: how to get rid of it. Returns EXIT_FAILED. */
static int discard_hint(const char *image)
{
	fprintf(stderr, "hint: if the revert is not to be finished (the volume it was made for is gone, or was put back another way),\n"
			"hint: discard the journal, which writes nothing: %s revert --discard-journal %s\n",
		sr_progname, image);
	return EXIT_FAILED;
}

/* A journal's targets opened read-only and checked (a dry run). */
static int check_targets(struct journal *j)
{
	int r = 0;

	for (size_t t = 0; t < journal_n_targets(j) && r >= 0; t++) {
		_cleanup_close_ int fd = open(journal_target(j, t), O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return sr_fail(-errno, "cannot open '%s', a target of the journal: %s", journal_target(j, t),
				       strerror(errno));
		r = journal_check_target(j, t, fd, NULL);
	}
	return r;
}

static int resume(struct revert_opts *o, struct journal *j, const char *target)
{
	uint64_t written = 0;
	double t0 = now_seconds();
	int r;

	sr_info("finishing the interrupted revert to {%s} from its journal", journal_shadow_id(j));
	r = revert_apply_journal(j, &written);
	if (r == -ESTALE) {
		sr_error(r, "refusing to finish the interrupted revert to {%s}", journal_shadow_id(j));
		return discard_hint(target);
	}
	if (r >= 0)
		r = journal_remove(j);
	if (r < 0)
		return sr_error(r, "cannot finish the revert to {%s}", journal_shadow_id(j));
	if (o->c.json) {
		struct json js;
		json_init(&js, stdout, true);
		json_obj_begin(&js);
		json_kstr(&js, "id", journal_shadow_id(j));
		json_kbool(&js, "resumed", true);
		json_ku64(&js, "bytes_written", written);
		json_obj_end(&js);
		json_end(&js);
	} else if (sr_verbosity > 0) {
		printf("Finished the interrupted revert to {%s}: %llu bytes written and verified in %.2f s\n",
		       journal_shadow_id(j), (unsigned long long)written, now_seconds() - t0);
	}
	return EXIT_OK;
}

/* A pending journal of one of these images: finish it (same ID), or refuse. Returns -1 when none. */
static int pending_journal(struct revert_opts *o, const char *id, char **images, int n)
{
	for (int i = 0; i < n; i++) {
		char real[PATH_MAX];
		_cleanup_free_ char *jp = NULL;
		struct journal *j = NULL;
		struct sr_guid have;
		int r;

		if (!realpath(images[i], real))
			return sr_error(-errno, "cannot open '%s'", images[i]);
		jp = journal_path_for(real, o->journal_dir);
		if (!jp)
			return sr_error(-ENOMEM, "cannot revert");
		r = journal_open(jp, &j);
		if (r == -ENOENT)
			continue;
		if (r < 0) {
			sr_error(r, "cannot revert '%s'", images[i]);
			return discard_hint(images[i]);
		}
		if (guid_parse(journal_shadow_id(j), &have) < 0 || guid_match(id, &have, 1, sizeof(have)) != 0) {
			r = sr_error(0,
				     "'%s' has an interrupted revert to {%s}: finish it first with the command that started it (shadowrev revert %s%s ...)",
				     images[i], journal_shadow_id(j), o->set ? "--set " : "", journal_shadow_id(j));
			journal_free(j);
			return discard_hint(images[i]);
		}
		if (o->dry_run) {
			r = check_targets(j);
			if (r < 0) {
				sr_error(r, "the interrupted revert to {%s} cannot be finished", journal_shadow_id(j));
				journal_free(j);
				return discard_hint(images[i]);
			}
			if (sr_verbosity > 0)
				printf("An interrupted revert of '%s' to {%s} will be finished from its journal %s (%zu writes)\n",
				       images[i], journal_shadow_id(j), jp, journal_n_writes(j));
			journal_free(j);
			return EXIT_OK;
		}
		r = resume(o, j, images[i]);
		journal_free(j);
		return r;
	}
	return -1;
}

/* revert --discard-journal IMAGE...: remove their journals; nothing is written to any volume. */
static int discard_journals(struct revert_opts *o, char **images, int n)
{
	int ret = EXIT_OK;

	for (int i = 0; i < n; i++) {
		char real[PATH_MAX];
		_cleanup_free_ char *jp = NULL;
		struct journal *j = NULL;
		struct stat st;
		char id[80] = "?";
		int r;

		/* the volume may be gone: its journal is still found by the name it had */
		if (!realpath(images[i], real)) {
			if (errno != ENOENT || strlen(images[i]) >= sizeof(real))
				return sr_error(-errno, "cannot discard the journal of '%s'", images[i]);
			snprintf(real, sizeof(real), "%s", images[i]);
		}
		jp = journal_path_for(real, o->journal_dir);
		if (!jp)
			return sr_error(-ENOMEM, "cannot discard the journal of '%s'", images[i]);
		if (lstat(jp, &st) < 0) {
			ret = sr_error(errno == ENOENT ? 0 : -errno, "no revert journal of '%s' to discard (looked for '%s')",
				       images[i], jp);
			continue;
		}
		if (journal_open(jp, &j) >= 0)
			snprintf(id, sizeof(id), "%s", journal_shadow_id(j));
		journal_free(j);
		sr_errclear();
		if (unlink(jp) < 0) {
			ret = sr_error(-errno, "cannot discard the journal '%s'", jp);
			continue;
		}
		r = fsync_parent(jp);
		if (r < 0)
			ret = sr_error(r, "cannot flush the folder of '%s'", jp);
		if (sr_verbosity > 0)
			printf("Discarded the journal '%s' of the interrupted revert of '%s' to {%s}: nothing was written; the volume stays as it is now\n",
			       jp, images[i], id);
	}
	return ret;
}

/* The volumes to revert for --set, in dependency order: every volume whose shadow storage is on another goes first. */
static int plan_set(struct revert_opts *o, struct volset *vs, struct plan *p)
{
	VEC(struct sr_guid) sets = { 0 };
	struct sr_guid set;
	size_t n = 0;
	bool *done = NULL;
	int m, r = 0;

	for (size_t i = 0; i < vs->n && r >= 0; i++)
		for (unsigned k = 0; k < vss_volume_store_count(vs->vols[i].vss) && r >= 0; k++)
			if (vss_volume_store(vs->vols[i].vss, k)->has_data)
				r = vec_push(&sets, vss_volume_store(vs->vols[i].vss, k)->set_id);
	if (r < 0)
		return r;
	m = guid_match(o->set, sets.v, sets.n, sizeof(*sets.v));
	if (m >= 0)
		set = sets.v[m];
	free(sets.v);
	if (m == -ENOTUNIQ)
		return sr_fail(m, "snapshot set ID prefix '%s' is ambiguous", o->set);
	if (m < 0)
		return sr_fail(m == -EINVAL ? -EINVAL : -ENOENT, "no snapshot set '%s' in the images given", o->set);
	guid_format(&set, p->id);
	p->is_set = true;

	p->v = calloc(vs->n, sizeof(*p->v));
	done = calloc(vs->n, sizeof(*done));
	if (!p->v || !done) {
		free(done);
		return -ENOMEM;
	}
	/* the members: at most one shadow copy of the set per volume */
	struct vplan *cand = calloc(vs->n, sizeof(*cand));
	size_t nc = 0;
	if (!cand) {
		free(done);
		return -ENOMEM;
	}
	for (size_t i = 0; i < vs->n; i++)
		for (unsigned k = 0; k < vss_volume_store_count(vs->vols[i].vss); k++)
			if (guid_equal(&vss_volume_store(vs->vols[i].vss, k)->set_id, &set)) {
				cand[nc].vi = i;
				cand[nc].k = k;
				nc++;
				break;
			}
	/* order: Kahn's algorithm over "x's storage (stores k..n-1) is on y" edges */
	for (size_t placed = 0; placed < nc;) {
		size_t before = placed;
		for (size_t c = 0; c < nc; c++) {
			bool blocked = false;
			if (done[c])
				continue;
			/* c is blocked while another unplaced member keeps storage on c */
			for (size_t d = 0; d < nc && !blocked; d++) {
				struct vss_volume *x = vs->vols[cand[d].vi].vss;
				if (d == c || done[d])
					continue;
				for (unsigned j = cand[d].k; j < vss_volume_store_count(x); j++)
					if (vss_store_storage(x, j) == vs->vols[cand[c].vi].src)
						blocked = true;
			}
			if (blocked)
				continue;
			p->v[n++] = cand[c];
			done[c] = true;
			placed++;
		}
		if (placed == before) {
			/* a cycle: every read is staged in the journal before any write, so any order is safe */
			size_t len = (size_t)snprintf(p->order_note, sizeof(p->order_note),
						      "Shadow storage cycle between");
			for (size_t c = 0; c < nc; c++)
				if (!done[c]) {
					len += (size_t)snprintf(p->order_note + MIN(len, sizeof(p->order_note)),
								len < sizeof(p->order_note) ? sizeof(p->order_note) - len : 0,
								" %s", vs->vols[cand[c].vi].name);
					p->v[n++] = cand[c];
					done[c] = true;
					placed++;
				}
			snprintf(p->order_note + MIN(len, sizeof(p->order_note)),
				 len < sizeof(p->order_note) ? sizeof(p->order_note) - len : 0,
				 ": everything all reverts need is read before any of them writes");
		}
	}
	p->n = n;
	free(cand);
	free(done);
	/* the system volume only offline */
	for (size_t i = 0; i < p->n; i++) {
		struct winvol_roles roles;
		r = winvol_roles(vs->vols[p->v[i].vi].src, &roles);
		if (r < 0)
			return sr_fail(r, "cannot tell whether %s is a system volume: %s", vs->vols[p->v[i].vi].name,
				       sr_errmsg(r));
		p->v[i].system = roles.system;
		if (roles.system && !o->offline)
			snprintf(p->v[i].skip, sizeof(p->v[i].skip),
				 "system volume: revert it only while its instance is stopped (disk attached to another machine) with --offline");
	}
	return 0;
}

int cmd_revert(int argc, char **argv)
{
	enum { OPT_YES = OPT_FIRST_VERB_OPTION, OPT_DRY, OPT_JOURNAL, OPT_OFFLINE, OPT_SET, OPT_TO, OPT_REPO,
	       OPT_PASSFILE, OPT_ALL, OPT_DISCARD };
	static const struct option opts[] = { CLI_COMMON_LONG_OPTIONS,
					      { "yes", no_argument, NULL, OPT_YES },
					      { "dry-run", no_argument, NULL, OPT_DRY },
					      { "journal", required_argument, NULL, OPT_JOURNAL },
					      { "offline", no_argument, NULL, OPT_OFFLINE },
					      { "set", required_argument, NULL, OPT_SET },
					      { "to", required_argument, NULL, OPT_TO },
					      { "repo", required_argument, NULL, OPT_REPO },
					      { "passphrase-file", required_argument, NULL, OPT_PASSFILE },
					      { "all-blocks", no_argument, NULL, OPT_ALL },
					      { "discard-journal", no_argument, NULL, OPT_DISCARD },
					      { 0 } };
	struct revert_opts o = { 0 };
	struct volset *vs = NULL;
	struct journal *j = NULL;
	struct plan p = { 0 };
	_cleanup_free_ char *jpath = NULL;
	const char *id;
	uint64_t written = 0;
	double t0 = now_seconds();
	int opt, ex, r, ret = EXIT_OK;

	while ((opt = cli_getopt(argc, argv, "y", opts)) != -1) {
		if (opt == '?' || opt == ':')
			return cli_bad_option("revert", opt, argc, argv);
		if (cli_common_option(&o.c, "revert", opt, optarg, &ex) < 0)
			return ex;
		if (opt == OPT_YES || opt == 'y')
			o.yes = true;
		else if (opt == OPT_DRY)
			o.dry_run = true;
		else if (opt == OPT_JOURNAL)
			o.journal_dir = optarg;
		else if (opt == OPT_OFFLINE)
			o.offline = true;
		else if (opt == OPT_SET)
			o.set = optarg;
		else if (opt == OPT_TO) {
			if (o.n_to >= REVERT_MAX_TO)
				return cli_usage("revert", "at most %d --to", REVERT_MAX_TO);
			o.to[o.n_to++] = optarg;
		} else if (opt == OPT_REPO)
			o.repo = optarg;
		else if (opt == OPT_PASSFILE)
			o.pass_file = optarg;
		else if (opt == OPT_ALL)
			o.all_blocks = true;
		else if (opt == OPT_DISCARD)
			o.discard_journal = true;
	}
	if (o.discard_journal) {
		if (o.set || o.n_to || o.repo || o.all_blocks || o.dry_run || o.offline)
			return cli_usage("revert", "--discard-journal takes only IMAGE... (and --journal DIR)");
		if (optind >= argc)
			return cli_usage("revert", "--discard-journal: no image or block device given");
		return discard_journals(&o, argv + optind, argc - optind);
	}
	if (o.set) {
		id = o.set;
	} else {
		if (optind >= argc)
			return cli_usage("revert", "no shadow copy ID given (or --set SET-ID)");
		id = argv[optind++];
	}
	if (o.n_to) {
		/* a captured shadow copy or set from the repository onto the --to targets */
		char *targets[REVERT_MAX_TO];
		if (optind < argc)
			return cli_usage("revert", "give either IMAGE... (shadow copies inside them) or --to (captured ones)");
		for (size_t i = 0; i < o.n_to; i++) {
			const char *eq = strchr(o.to[i], '=');
			targets[i] = (char *)(eq ? eq + 1 : o.to[i]);
		}
		r = pending_journal(&o, id, targets, (int)o.n_to);
		if (r >= 0)
			return r;
		return revert_from_repo(&o, id);
	}
	if (o.repo || o.all_blocks)
		return cli_usage("revert", "--repo and --all-blocks go with --to");
	if (optind >= argc)
		return cli_usage("revert", "no image given (the volume or disk images that hold the shadow copies)");

	/* an interrupted revert of one of these images is finished first, and only by the same command */
	r = pending_journal(&o, id, argv + optind, argc - optind);
	if (r >= 0)
		return r;

	r = volset_open(argv + optind, (size_t)(argc - optind), &vs);
	if (r < 0)
		goto fail_msg;
	if (o.set) {
		r = plan_set(&o, vs, &p);
	} else {
		size_t vi;
		unsigned k;
		r = volset_find_shadow(vs, id, &vi, &k);
		if (r == -ENOENT || r == -ENOTUNIQ) {
			/* names nothing, or more than one shadow copy: a usage error (core/volset.h) */
			sr_error(r, "cannot revert to shadow copy '%s'", id);
			volset_free(vs);
			return EXIT_USAGE;
		}
		if (r >= 0) {
			p.v = calloc(1, sizeof(*p.v));
			r = p.v ? 0 : -ENOMEM;
		}
		if (r >= 0) {
			p.n = 1;
			p.v[0].vi = vi;
			p.v[0].k = k;
			guid_format(&vss_volume_store(vs->vols[vi].vss, k)->copy_id, p.id);
			r = check_system(&o, &vs->vols[vi], &p.v[0].system);
		}
	}
	if (r < 0)
		goto fail_msg;
	{
		char real[PATH_MAX];
		size_t first = 0;
		while (first < p.n && p.v[first].skip[0])
			first++;
		if (first == p.n) {
			print_plan(&o, vs, &p, "", true, 0, 0);
			sr_error(0, "nothing to revert: every volume of the set was skipped");
			goto fail;
		}
		/* the journal lives beside the first volume reverted */
		if (!realpath(vs->vols[p.v[first].vi].image, real)) {
			r = -errno;
			goto fail_msg;
		}
		jpath = journal_path_for(real, o.journal_dir);
		if (!jpath) {
			r = -ENOMEM;
			goto fail_msg;
		}
		for (size_t i = 0; i < p.n && r >= 0; i++)
			if (!p.v[i].skip[0] && realpath(vs->vols[p.v[i].vi].image, real))
				r = target_check(real);
		if (r < 0)
			goto fail_msg;
	}
	/* read everything first: a dry run only counts, a revert stages it all in the journal */
	r = plan_all(vs, &p, jpath, o.dry_run ? NULL : &j);
	if (r < 0)
		goto fail_msg;
	if (o.dry_run) {
		print_plan(&o, vs, &p, jpath, true, 0, 0);
		goto done;
	}
	if (!o.yes && !confirm(vs, &p)) {
		sr_error(0, "not reverting without confirmation (use --yes)");
		journal_free(j); /* never committed: removed */
		goto fail;
	}
	/* committed before the first write: from here on, a rerun finishes the job */
	r = journal_commit(j);
	if (r >= 0)
		r = revert_apply_journal(j, &written);
	if (r == -ESTALE)
		journal_remove(j); /* a target changed since it was read: nothing was written, the journal is void */
	else if (r >= 0)
		r = journal_remove(j);
	journal_free(j);
	if (r == -ESTALE) {
		sr_error(r, "cannot revert to {%s}", p.id);
		goto fail;
	}
	if (r < 0) {
		sr_error(r, "revert to {%s} did not finish (run the same command again to finish it)", p.id);
		goto fail;
	}
	print_plan(&o, vs, &p, jpath, false, written, now_seconds() - t0);
	for (size_t i = 0; i < p.n; i++)
		if (p.v[i].system && !p.v[i].skip[0]) {
			int b = revert_check_boot_after(&o, p.v[i].target, p.v[i].vol_offset, vs->vols[p.v[i].vi].src->size);
			if (b != EXIT_OK)
				ret = b;
		}
	for (size_t i = 0; i < p.n; i++)
		if (p.v[i].skip[0] && !o.c.json)
			sr_warn("%s was not reverted: %s", vs->vols[p.v[i].vi].name, p.v[i].skip);
done:
	plan_free(&p);
	volset_free(vs);
	return ret;
fail_msg:
	sr_error(r, "cannot revert to %s '%s'", o.set ? "snapshot set" : "shadow copy", id);
fail:
	plan_free(&p);
	volset_free(vs);
	return EXIT_FAILED;
}
