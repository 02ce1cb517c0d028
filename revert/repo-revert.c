/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Revert volumes in place to shadow copies captured in the repository:
 *   shadowrev revert SHADOW-ID --to [NAME=]PATH
 *   shadowrev revert --set SET-ID --to C:=PATH [--to D:=PATH ...]
 * Per chunk of the captured volume's fixed index: hash what the target holds
 * there (restricted to the bytes the capture kept: the clusters in use in the
 * captured volume and in every shadow copy inside it, $Boot and the backup
 * boot sector), compare with the index, and only where it differs fetch the
 * captured chunk and stage the differing bytes in the journal. Unallocated
 * clusters are left as they are, unless --all-blocks. Then the same journal,
 * apply and verify as a revert to a VSS shadow copy.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/bootcheck.h"
#include "core/chunk.h"
#include "core/filetime.h"
#include "core/json.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/repo.h"
#include "core/rmap.h"
#include "core/select.h"
#include "core/target.h"
#include "core/volset.h"
#include "core/vss.h"
#include "revert-internal.h"

struct rvol {
	size_t v;                 /* index into the set's volumes */
	char target[PATH_MAX];
	bool system;
	char skip[256];
	uint64_t chunks, considered, equal, to_write, bytes, masked;
	struct src *view; /* a VSS shadow copy inside the captured volume (its view), or NULL: the volume */
	char shadow[GUID_STRING_MAX];
};

/* The captured volume's NAME in a --to: its drive letter ("C:", case free) or its name. */
static bool name_matches(const struct repo_volume *v, const char *name, size_t len)
{
	if (v->drive[0] && strlen(v->drive) == len && strncasecmp(v->drive, name, len) == 0)
		return true;
	return strlen(v->name) == len && strncmp(v->name, name, len) == 0;
}

static int plan_volume(struct repo *repo, const struct repo_manifest *m, struct rvol *rv, bool all_blocks,
		       struct journal *j, uint32_t tgt)
{
	const struct repo_volume *vol = &m->vols[rv->v];
	_cleanup_src_ struct src *cap = NULL, *t = NULL;
	struct repo_index idx = { 0 };
	struct rmap mask = { 0 };
	uint8_t *tb = NULL, *tm = NULL, *cb = NULL;
	uint64_t cs = 0;
	struct progress pr;
	int r;

	r = repo_volume_src_new(repo, m, rv->v, &cap);
	if (r >= 0)
		r = repo_index_load(repo, vol->index, vol->index_sha256, &idx);
	if (r >= 0)
		r = src_open_file(rv->target, false, &t);
	if (r < 0)
		goto out;
	if (t->size < vol->size) {
		r = sr_fail(-EINVAL, "'%s' (%llu bytes) is smaller than the captured volume %s (%llu bytes)", rv->target,
			    (unsigned long long)t->size, vol->name, (unsigned long long)vol->size);
		goto out;
	}
	if (strcmp(vol->fs, "ntfs") == 0 && !all_blocks) {
		struct volset *vs = NULL;
		r = rmap_ntfs_used(cap, &mask, &cs);
		/* with the set's other volumes: views whose storage is on one of them count too (as capture kept them) */
		if (r >= 0 && volset_open_repo(repo, m, SIZE_MAX, &vs) < 0)
			sr_errclear();
		if (r >= 0)
			r = volset_by_tag(vs, rv->v) ? rmap_add_vss_views_of(volset_by_tag(vs, rv->v)->vss, &mask, NULL)
						     : rmap_add_vss_views(cap, &mask, NULL);
		volset_free(vs);
		if (r < 0) {
			r = sr_fail(r, "cannot read the allocation of captured volume %s: %s (use --all-blocks)", vol->name,
				    sr_errmsg(r));
			goto out;
		}
	} else {
		r = rmap_add(&mask, 0, vol->size);
	}
	if (r < 0)
		goto out;
	tb = malloc(idx.chunk_size);
	tm = malloc(idx.chunk_size);
	cb = malloc(idx.chunk_size);
	if (!tb || !tm || !cb) {
		r = -ENOMEM;
		goto out;
	}
	rv->chunks = idx.count;
	progress_begin(&pr, "comparing", vol->size);
	for (uint64_t i = 0; i < idx.count; i++) {
		uint64_t off = i * idx.chunk_size;
		size_t len = (size_t)MIN((uint64_t)idx.chunk_size, vol->size - off);
		uint8_t d[CRYPTO_DIGEST_SIZE];
		bool same;

		progress_update(&pr, off + len);
		if (!rmap_intersects(&mask, off, len))
			continue; /* unallocated when captured: left as it is */
		rv->considered++;
		r = src_pread(t, tb, len, off);
		if (r < 0) {
			r = sr_fail(r, "cannot read '%s' at offset %llu: %s", rv->target, (unsigned long long)off,
				    strerror(-r));
			break;
		}
		/* what the capture would have stored for these bytes: the kept ranges, zeros elsewhere */
		memset(tm, 0, len);
		for (size_t k = 0; k < mask.n; k++) {
			uint64_t a = MAX(mask.v[k].off, off), b = MIN(mask.v[k].off + mask.v[k].len, off + len);
			if (a < b)
				memcpy(tm + (a - off), tb + (a - off), b - a);
		}
		if (chunk_digest_is_zero(idx.digests[i])) {
			same = mem_is_zero(tm, len);
		} else {
			r = chunk_digest(repo_keys(repo), tm, len, d);
			if (r < 0)
				break;
			same = memcmp(d, idx.digests[i], sizeof(d)) == 0;
		}
		revert_test_delay("SHADOWREV_TEST_READ_DELAY_US");
		if (same) {
			rv->equal++;
			continue;
		}
		r = src_pread(cap, cb, len, off);
		if (r < 0) {
			r = sr_fail(r, "cannot read captured volume %s at offset %llu: %s", vol->name,
				    (unsigned long long)off, sr_errmsg(r));
			break;
		}
		rv->to_write++;
		/* stage each kept range of the chunk that differs */
		for (size_t k = 0; k < mask.n && r >= 0; k++) {
			uint64_t a = MAX(mask.v[k].off, off), b = MIN(mask.v[k].off + mask.v[k].len, off + len);
			if (a >= b || memcmp(cb + (a - off), tb + (a - off), b - a) == 0)
				continue;
			rv->bytes += b - a;
			if (j)
				r = journal_add_write(j, tgt, a, cb + (a - off), NULL, (uint32_t)(b - a));
		}
		if (r < 0)
			break;
	}
	progress_end(&pr);
	rv->masked = rmap_bytes(&mask);
out:
	free(tb);
	free(tm);
	free(cb);
	rmap_free(&mask);
	repo_index_free(&idx);
	return r;
}

#define VIEW_STEP (1u << 20)

/*
 * The plan of a revert to a VSS shadow copy inside a captured volume: no
 * index to compare with, so the view is read and compared byte for byte on
 * the clusters its own $Bitmap marks in use (plus $Boot and the backup boot
 * sector; everything with --all-blocks), and the ranges that differ staged.
 */
static int plan_view(struct rvol *rv, uint64_t size, bool all_blocks, struct journal *j, uint32_t tgt)
{
	_cleanup_src_ struct src *t = NULL;
	struct rmap mask = { 0 };
	uint8_t *tb = NULL, *vb = NULL;
	uint64_t cs = 0;
	struct progress pr;
	int r;

	r = src_open_file(rv->target, false, &t);
	if (r < 0)
		return r;
	if (t->size < size)
		return sr_fail(-EINVAL, "'%s' (%llu bytes) is smaller than the shadow copy (%llu bytes)", rv->target,
			       (unsigned long long)t->size, (unsigned long long)size);
	r = all_blocks ? -EINVAL : rmap_ntfs_used(rv->view, &mask, &cs);
	if (r < 0) {
		if (!all_blocks)
			sr_errclear(); /* a view libntfs-3g cannot read: every block */
		rmap_free(&mask);
		r = rmap_add(&mask, 0, size);
		if (r >= 0)
			r = rmap_finish(&mask);
	}
	tb = malloc(VIEW_STEP);
	vb = malloc(VIEW_STEP);
	if (r >= 0 && (!tb || !vb))
		r = -ENOMEM;
	rv->chunks = (size + VIEW_STEP - 1) / VIEW_STEP;
	progress_begin(&pr, "comparing", size);
	for (uint64_t off = 0; r >= 0 && off < size; off += VIEW_STEP) {
		size_t len = (size_t)MIN((uint64_t)VIEW_STEP, size - off);
		bool differs = false;

		progress_update(&pr, off + len);
		if (!rmap_intersects(&mask, off, len))
			continue;
		rv->considered++;
		r = src_pread(t, tb, len, off);
		if (r >= 0)
			r = src_pread(rv->view, vb, len, off);
		if (r < 0) {
			r = sr_fail(r, "cannot read at offset %llu: %s", (unsigned long long)off, sr_errmsg(r));
			break;
		}
		revert_test_delay("SHADOWREV_TEST_READ_DELAY_US");
		for (size_t k = rmap_find(&mask, off); k < mask.n && r >= 0; k++) {
			uint64_t a = MAX(mask.v[k].off, off), b = MIN(mask.v[k].off + mask.v[k].len, off + len);
			if (mask.v[k].off >= off + len)
				break;
			if (a >= b || memcmp(vb + (a - off), tb + (a - off), b - a) == 0)
				continue;
			differs = true;
			rv->bytes += b - a;
			if (j)
				r = journal_add_write(j, tgt, a, vb + (a - off), NULL, (uint32_t)(b - a));
		}
		if (differs)
			rv->to_write++;
		else
			rv->equal++;
	}
	progress_end(&pr);
	rv->masked = rmap_bytes(&mask);
	free(tb);
	free(vb);
	rmap_free(&mask);
	return r;
}

static void print_result(const struct revert_opts *o, const struct repo_manifest *m, const struct rvol *rv, size_t n,
			 const char *id, bool is_set, bool dry, const char *jpath, uint64_t written, double secs)
{
	char g[GUID_STRING_MAX];

	if (o->c.json) {
		struct json j;
		json_init(&j, stdout, true);
		json_obj_begin(&j);
		json_kstr(&j, is_set ? "set_id" : "shadow_id", id);
		json_kstr(&j, "source", "repository");
		json_kbool(&j, "dry_run", dry);
		json_kstr(&j, "journal", jpath);
		json_key(&j, "volumes");
		json_arr_begin(&j);
		for (size_t i = 0; i < n; i++) {
			const struct repo_volume *v = &m->vols[rv[i].v];
			json_obj_begin(&j);
			json_ku64(&j, "order", i + 1);
			json_kstr(&j, "volume", v->name);
			json_kstr(&j, "shadow_id", rv[i].shadow[0] ? rv[i].shadow : guid_format(&v->shadow_id, g));
			json_kbool(&j, "system", rv[i].system);
			json_kbool(&j, "skipped", rv[i].skip[0] != 0);
			if (rv[i].skip[0]) {
				json_kstr(&j, "reason", rv[i].skip);
			} else {
				json_kstr(&j, "target", rv[i].target);
				json_ku64(&j, "chunks", rv[i].chunks);
				json_ku64(&j, "chunks_considered", rv[i].considered);
				json_ku64(&j, "chunks_equal", rv[i].equal);
				json_ku64(&j, "chunks_to_write", rv[i].to_write);
				json_ku64(&j, "bytes_to_write", rv[i].bytes);
				json_ku64(&j, "bytes_kept_by_capture", rv[i].masked);
			}
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
	printf("%s to captured %s {%s}\n", dry ? "Plan: revert" : "Reverted", is_set ? "snapshot set" : "shadow copy", id);
	for (size_t i = 0; i < n; i++) {
		const struct repo_volume *v = &m->vols[rv[i].v];
		printf("  %zu. %s {%s}%s -> %s\n", i + 1, v->name, rv[i].shadow[0] ? rv[i].shadow : guid_format(&v->shadow_id, g),
		       rv[i].system ? " (system volume)" : "", rv[i].skip[0] ? "(skipped)" : rv[i].target);
		if (rv[i].skip[0]) {
			printf("\t- skipped: %s\n", rv[i].skip);
			continue;
		}
		printf("\t- chunks compared by hash: %llu of %llu (the rest was unallocated when captured)\n",
		       (unsigned long long)rv[i].considered, (unsigned long long)rv[i].chunks);
		printf("\t- chunks that differ: %llu (%llu bytes to write); equal, skipped: %llu\n",
		       (unsigned long long)rv[i].to_write, (unsigned long long)rv[i].bytes,
		       (unsigned long long)rv[i].equal);
	}
	if (dry)
		printf("Journal: %s\n", jpath);
	else
		printf("Written and verified: %llu bytes in %.2f s\n", (unsigned long long)written, secs);
}

int revert_from_repo(struct revert_opts *o, const char *id)
{
	struct repo *repo = NULL;
	struct repo_manifest *sets = NULL;
	struct rvol rv[REVERT_MAX_TO];
	struct journal *j = NULL;
	_cleanup_free_ char *jpath = NULL;
	size_t nsets = 0, s = 0, nv = 0;
	char idtext[GUID_STRING_MAX];
	uint64_t written = 0;
	double t0 = now_seconds();
	int r, ret = EXIT_OK;
	bool usage = false;

	memset(rv, 0, sizeof(rv));
	r = repo_open_any(o->repo, o->pass_file, &repo);
	if (r >= 0)
		r = repo_sets_load(repo, &sets, &nsets);
	if (r < 0)
		goto fail;
	if (o->set) {
		struct sel sl = { 0 };
		r = sel_resolve(repo, sets, nsets, o->set, SEL_SET, &sl);
		s = sl.set;
		sel_done(&sl);
		if (r < 0) {
			usage = SEL_IS_USAGE(r);
			goto fail;
		}
		guid_format(&sets[s].set_id, idtext);
		for (size_t t = 0; t < o->n_to; t++) {
			const char *eq = strchr(o->to[t], '=');
			size_t v;
			if (!eq) {
				r = sr_fail(-EINVAL, "--to %s: with --set, say which volume goes where (C:=PATH)", o->to[t]);
				goto fail;
			}
			for (v = 0; v < sets[s].n_vols; v++)
				if (name_matches(&sets[s].vols[v], o->to[t], (size_t)(eq - o->to[t])))
					break;
			if (v == sets[s].n_vols) {
				r = sr_fail(-ENOENT, "set {%s} has no volume '%.*s'", idtext, (int)(eq - o->to[t]), o->to[t]);
				goto fail;
			}
			rv[nv].v = v;
			snprintf(rv[nv].target, sizeof(rv[nv].target), "%s", eq + 1);
			nv++;
		}
	} else {
		size_t v;
		const char *eq;
		struct sel sl = { 0 };
		r = sel_resolve(repo, sets, nsets, id, SEL_VOLUME | SEL_SHADOW, &sl);
		if (r < 0) {
			usage = SEL_IS_USAGE(r);
			goto fail;
		}
		s = sl.set;
		v = sl.vol;
		if (sl.kind == SEL_SHADOW) {
			guid_format(&vss_volume_store(sel_vss(&sl), sl.store)->copy_id, rv[0].shadow);
			r = sel_open(repo, sets, &sl, &rv[0].view);
		}
		sel_done(&sl);
		if (r < 0)
			goto fail;
		if (o->n_to != 1) {
			r = sr_fail(-EINVAL, "give one --to for one shadow copy");
			goto fail;
		}
		eq = strchr(o->to[0], '=');
		if (eq && !name_matches(&sets[s].vols[v], o->to[0], (size_t)(eq - o->to[0]))) {
			r = sr_fail(-EINVAL, "shadow copy '%s' is of volume %s, not %.*s", id, sets[s].vols[v].name,
				    (int)(eq - o->to[0]), o->to[0]);
			goto fail;
		}
		if (rv[0].shadow[0])
			memcpy(idtext, rv[0].shadow, sizeof(idtext));
		else
			guid_format(&sets[s].vols[v].shadow_id, idtext);
		rv[0].v = v;
		snprintf(rv[0].target, sizeof(rv[0].target), "%s", eq ? eq + 1 : o->to[0]);
		nv = 1;
	}
	/* the system volume only offline; then the others go first */
	for (size_t i = 0; i < nv; i++) {
		const struct repo_volume *v = &sets[s].vols[rv[i].v];
		char real[PATH_MAX];
		rv[i].system = v->roles & REPO_ROLE_SYSTEM;
		if (!rv[i].system && strcmp(v->fs, "ntfs") == 0) {
			_cleanup_src_ struct src *cap = NULL;
			struct winvol_roles roles;
			r = repo_volume_src_new(repo, &sets[s], rv[i].v, &cap);
			if (r >= 0)
				r = winvol_roles(cap, &roles);
			if (r >= 0)
				rv[i].system = roles.system;
			else if (!o->offline) {
				/* unknown is not "not a system volume" */
				r = sr_fail(r, "cannot tell whether %s is a system volume (%s); add --offline if its instance is stopped",
					    v->name, sr_errmsg(r));
				goto fail;
			}
			sr_errclear();
			r = 0;
		}
		if (rv[i].system && !o->offline) {
			if (!o->set) {
				r = sr_fail(-EPERM,
					    "%s is a system volume: revert it only while its instance is stopped (disk attached to another machine), with --offline",
					    v->name);
				goto fail;
			}
			snprintf(rv[i].skip, sizeof(rv[i].skip),
				 "system volume: revert it only while its instance is stopped, with --offline");
		}
		if (!realpath(rv[i].target, real)) {
			r = sr_fail(-errno, "cannot open '%s': %s", rv[i].target, strerror(errno));
			goto fail;
		}
		snprintf(rv[i].target, sizeof(rv[i].target), "%s", real);
		if (!rv[i].skip[0] && (r = target_check(real)) < 0)
			goto fail;
	}
	for (size_t a = 0; a < nv; a++) /* stable: system volumes last */
		for (size_t b = a + 1; b < nv; b++)
			if (rv[a].system && !rv[b].system) {
				struct rvol x = rv[a];
				memmove(&rv[a], &rv[a + 1], (b - a) * sizeof(*rv));
				rv[b] = x;
			}

	{
		size_t first = 0;
		while (first < nv && rv[first].skip[0])
			first++;
		if (first == nv) {
			r = sr_fail(-EPERM, "nothing to revert: every volume was skipped");
			goto fail;
		}
		jpath = journal_path_for(rv[first].target, o->journal_dir);
		if (!jpath) {
			r = -ENOMEM;
			goto fail;
		}
	}
	if (!o->dry_run) {
		/* an interrupted revert of these targets is finished by the same command (cmd_revert checked) */
		r = journal_create(jpath, idtext, &j);
		if (r < 0)
			goto fail;
	}
	for (size_t i = 0; i < nv; i++) {
		uint32_t tgt = 0;
		if (rv[i].skip[0])
			continue;
		if (j && ((r = journal_add_target(j, rv[i].target, &tgt)) < 0 || (r = journal_add_volume(j, tgt, 0)) < 0))
			goto fail;
		r = rv[i].view ? plan_view(&rv[i], rv[i].view->size, o->all_blocks, j, tgt)
			       : plan_volume(repo, &sets[s], &rv[i], o->all_blocks, j, tgt);
		if (r < 0)
			goto fail;
	}
	if (o->dry_run) {
		print_result(o, &sets[s], rv, nv, idtext, o->set != NULL, true, jpath, 0, 0);
		goto done;
	}
	if (!o->yes) {
		r = sr_fail(-ECANCELED, "not reverting without --yes");
		goto fail;
	}
	r = journal_commit(j);
	if (r >= 0)
		r = revert_apply_journal(j, &written);
	if (r == -ESTALE) {
		journal_remove(j); /* a target changed since it was read: nothing was written, the journal is void */
		goto fail;
	}
	if (r >= 0)
		r = journal_remove(j);
	if (r < 0) {
		sr_error(r, "revert to {%s} did not finish (run the same command again to finish it)", idtext);
		ret = EXIT_FAILED;
		goto done;
	}
	print_result(o, &sets[s], rv, nv, idtext, o->set != NULL, false, jpath, written, now_seconds() - t0);
	for (size_t i = 0; i < nv; i++)
		if (rv[i].system && !rv[i].skip[0]) {
			int b = revert_check_boot_after(o, rv[i].target, 0, sets[s].vols[rv[i].v].size);
			if (b != EXIT_OK)
				ret = b;
		}
done:
	journal_free(j);
	src_unref(rv[0].view);
	repo_manifests_free(sets, nsets);
	repo_free(repo);
	return ret;
fail:
	sr_error(r, "cannot revert to %s '%s'", o->set ? "snapshot set" : "shadow copy", o->set ? o->set : id);
	journal_free(j);
	src_unref(rv[0].view);
	repo_manifests_free(sets, nsets);
	repo_free(repo);
	return usage ? EXIT_USAGE : EXIT_FAILED;
}
