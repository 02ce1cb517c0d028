/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Offline in-place revert of a volume to one of the VSS shadow copies inside
 * it (vss-format.md section 6):
 *   1. plan: U = the blocks with a descriptor in stores k..n-1; refuse when U
 *      touches VSS metadata or store files;
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
#include <unistd.h>

#include "core/bootcheck.h"
#include "core/cli.h"
#include "core/filetime.h"
#include "core/io.h"
#include "core/json.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/volset.h"
#include "revert-internal.h"
#include "revert.h"

#define BLK VSS_BLOCK_SIZE

struct opts {
	struct cli_common c;
	bool yes, dry_run, offline;
	const char *journal_dir;
};

struct plan {
	char shadow_id[GUID_STRING_MAX];
	char target[PATH_MAX];
	uint64_t vol_offset;
	unsigned k, n_stores;
	size_t considered, to_write, equal, entries;
	uint64_t bytes;
};

/*
 * Tests widen the windows in which a revert can be killed (tests/e2e,
 * tests/stress): SHADOWREV_TEST_READ_DELAY_US and SHADOWREV_TEST_WRITE_DELAY_US
 * sleep that long after each block read while planning, or written.
 */
static void test_delay(const char *var)
{
	const char *e = getenv(var);
	long us = e ? atol(e) : 0;

	if (us > 0)
		usleep((useconds_t)us);
}

/* Does [off, off+len) overlap any of the ranges? */
static const struct vss_range *overlaps(const struct vss_range *r, size_t n, uint64_t off, uint64_t len)
{
	for (size_t i = 0; i < n; i++)
		if (r[i].off < off + len && off < r[i].off + r[i].len)
			return &r[i];
	return NULL;
}

/* The journal's target index for the image that holds src (a volume of vs). */
static int target_of(struct volset *vs, struct src *src, struct journal *j, char (*paths)[PATH_MAX], size_t *n,
		     uint32_t *ret, uint64_t *ret_off)
{
	for (size_t i = 0; i < vs->n; i++) {
		char real[PATH_MAX];
		if (vs->vols[i].src != src)
			continue;
		if (!realpath(vs->vols[i].image, real))
			return -errno;
		*ret_off = vs->vols[i].offset;
		for (size_t t = 0; t < *n; t++)
			if (strcmp(paths[t], real) == 0) {
				*ret = (uint32_t)t;
				return 0;
			}
		if (*n >= 8)
			return -E2BIG;
		snprintf(paths[*n], PATH_MAX, "%s", real);
		if (j) {
			int r = journal_add_target(j, real, ret);
			if (r < 0)
				return r;
		} else {
			*ret = (uint32_t)*n;
		}
		(*n)++;
		return 0;
	}
	return -ENOENT;
}

/* Build the journal (or only count, for a dry run). */
static int plan_revert(struct volset *vs, size_t vi, unsigned k, const char *journal_path, bool dry_run,
		       struct plan *p, struct journal **ret_j)
{
	struct vss_volume *v = vs->vols[vi].vss;
	struct src *vol = vs->vols[vi].src;
	_cleanup_free_ uint64_t *blocks = NULL;
	_cleanup_free_ struct vss_range *prot = NULL;
	_cleanup_free_ struct vss_entry_ref *ents = NULL;
	_cleanup_free_ uint8_t *nb = malloc(BLK), *ob = malloc(BLK);
	uint8_t hdr[VSS_HEADER_SIZE];
	char paths[8][PATH_MAX];
	size_t nblocks, nprot, nents, npaths = 0;
	struct journal *j = NULL;
	struct progress pr;
	uint32_t tgt;
	uint64_t toff;
	int r;

	if (!nb || !ob)
		return -ENOMEM;
	for (unsigned s = k; s < vss_volume_store_count(v); s++) {
		const struct vss_store_info *si = vss_volume_store(v, s);
		char id[GUID_STRING_MAX];
		if (si->storage_remote)
			return sr_fail(-EOPNOTSUPP,
				       "shadow copy {%s} keeps its shadow storage on %s: revert it with the whole set (revert --set) so that the order is right",
				       guid_format(&si->copy_id, id), vss_store_storage_name(v, s));
		if (si->volume_size != vol->size)
			return sr_fail(-EBADMSG, "%s: shadow copy {%s} is of a %llu-byte volume, the volume has %llu bytes",
				       vol->name, guid_format(&si->copy_id, id), (unsigned long long)si->volume_size,
				       (unsigned long long)vol->size);
	}
	r = vss_revert_block_set(v, k, &blocks, &nblocks);
	if (r >= 0)
		r = vss_protected_ranges(v, &prot, &nprot);
	if (r >= 0)
		r = vss_drop_entries(v, k, &ents, &nents);
	if (r >= 0)
		r = src_pread(vol, hdr, sizeof(hdr), VSS_HEADER_OFFSET);
	if (r < 0)
		return r;
	for (size_t i = 0; i < nblocks; i++) {
		const struct vss_range *o = overlaps(prot, nprot, blocks[i], BLK);
		/* block 0 holds the VSS header sector: allowed, the current header is kept (spliced in) */
		if (o && !(blocks[i] == 0 && !overlaps(prot + 1, nprot - 1, 0, BLK) && o->off == VSS_HEADER_OFFSET))
			return sr_fail(-EBADMSG,
				       "%s: refusing to revert: block at offset 0x%llx that the shadow copies restore lies in VSS metadata or a store file (0x%llx+0x%llx)",
				       vol->name, (unsigned long long)blocks[i], (unsigned long long)o->off,
				       (unsigned long long)o->len);
	}

	if (!dry_run) {
		r = journal_create(journal_path, p->shadow_id, &j);
		if (r < 0)
			return r;
	}
	r = target_of(vs, vol, j, paths, &npaths, &tgt, &toff);
	if (r < 0)
		goto fail;
	snprintf(p->target, sizeof(p->target), "%s", paths[tgt]);
	p->vol_offset = toff;
	p->k = k;
	p->n_stores = vss_volume_store_count(v);
	p->considered = nblocks;
	progress_begin(&pr, "reading", (uint64_t)nblocks * BLK);
	for (size_t i = 0; i < nblocks; i++) {
		uint64_t off = blocks[i];
		uint32_t len = (uint32_t)MIN((uint64_t)BLK, vol->size - off);

		r = vss_view_pread(v, k, nb, len, off, VSS_READ_NO_ZERO_FILL);
		if (r >= 0)
			r = src_pread(vol, ob, len, off);
		if (r < 0) {
			r = sr_fail(r, "%s: cannot read block at offset 0x%llx: %s", vol->name, (unsigned long long)off,
				    sr_errmsg(r));
			goto fail;
		}
		if (off == 0 && vss_volume_has_header(v))
			memcpy(nb + VSS_HEADER_OFFSET, hdr, sizeof(hdr));
		progress_update(&pr, (uint64_t)(i + 1) * BLK);
		test_delay("SHADOWREV_TEST_READ_DELAY_US");
		if (memcmp(nb, ob, len) == 0) {
			p->equal++;
			continue;
		}
		p->to_write++;
		p->bytes += len;
		if (j && (r = journal_add_write(j, tgt, toff + off, nb, ob, len)) < 0)
			goto fail;
	}
	progress_end(&pr);
	/* then the catalog: stores k..n-1 become unused entries (type 1, the rest zero) */
	for (size_t i = 0; i < nents; i++) {
		uint8_t cur[128], unused[128] = { 1 };
		r = target_of(vs, ents[i].src, j, paths, &npaths, &tgt, &toff);
		if (r >= 0)
			r = src_pread(ents[i].src, cur, sizeof(cur), ents[i].off);
		if (r < 0)
			goto fail;
		p->entries++;
		if (j && (r = journal_add_write(j, tgt, toff + ents[i].off, unused, cur, sizeof(unused))) < 0)
			goto fail;
	}
	if (ret_j)
		*ret_j = j;
	return 0;
fail:
	journal_free(j);
	return r;
}

/* Apply a committed journal to its targets, fsync, verify by reading back. */
static int apply_journal(struct journal *j, uint64_t *ret_bytes)
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
		r = revert_target_open(journal_target(j, t), &fds[t]);
		if (r < 0)
			r = sr_fail(r, "%s", sr_errmsg(r));
	}
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
		test_delay("SHADOWREV_TEST_WRITE_DELAY_US");
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
static int check_system(const struct opts *o, const struct volset_volume *vol, bool *ret_system)
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
static int check_boot_after(const struct opts *o, const char *image, uint64_t offset, uint64_t size)
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
		if (!o->c.json)
			fprintf(stderr, "boot check: %s: %s\n", rep.v[i].severity == BOOT_FATAL ? "error" : "warning",
				rep.v[i].text);
	r = rep.worst == BOOT_FATAL ? EXIT_PARTIAL : EXIT_OK;
	if (!o->c.json && rep.n == 0)
		fprintf(stderr, "boot check: boot sector, backup boot sector, bootmgr, BCD and winload are in order\n");
	boot_report_free(&rep);
	return r;
}

static bool confirm(const struct plan *p)
{
	char line[64];

	if (!isatty(STDIN_FILENO) || !isatty(STDERR_FILENO))
		return false;
	fprintf(stderr, "Revert '%s' to shadow copy {%s}: %zu blocks (%llu bytes) will be overwritten in place.\n"
			"Type 'revert' to go on: ",
		p->target, p->shadow_id, p->to_write, (unsigned long long)p->bytes);
	if (!fgets(line, sizeof(line), stdin))
		return false;
	line[strcspn(line, "\n")] = 0;
	return strcmp(line, "revert") == 0;
}

static void print_plan(const struct opts *o, const struct plan *p, const char *journal, bool dry, uint64_t written,
		       double secs)
{
	if (o->c.json) {
		struct json j;
		json_init(&j, stdout, true);
		json_obj_begin(&j);
		json_kstr(&j, "shadow_id", p->shadow_id);
		json_kstr(&j, "target", p->target);
		json_ku64(&j, "volume_offset", p->vol_offset);
		json_kbool(&j, "dry_run", dry);
		json_ku64(&j, "store_index", p->k + 1);
		json_ku64(&j, "stores_dropped", p->n_stores - p->k);
		json_ku64(&j, "stores_kept", p->k);
		json_ku64(&j, "blocks_considered", p->considered);
		json_ku64(&j, "blocks_to_write", p->to_write);
		json_ku64(&j, "blocks_equal", p->equal);
		json_ku64(&j, "bytes_to_write", p->bytes);
		json_ku64(&j, "catalog_entries", p->entries);
		json_kstr(&j, "journal", journal);
		if (!dry) {
			json_ku64(&j, "bytes_written", written);
			json_key(&j, "seconds");
			fprintf(stdout, "%.3f", secs);
		}
		json_obj_end(&j);
		json_end(&j);
		return;
	}
	printf("%s %s to shadow copy {%s}\n", dry ? "Plan: revert" : "Reverted", p->target, p->shadow_id);
	printf("\t- blocks with copies in the shadow copies: %zu\n", p->considered);
	printf("\t- blocks to write: %zu (%llu bytes); already equal, skipped: %zu\n", p->to_write,
	       (unsigned long long)p->bytes, p->equal);
	printf("\t- shadow copies dropped from the catalog: %u (this one and every newer one); kept: %u\n",
	       p->n_stores - p->k, p->k);
	if (!dry)
		printf("\t- written and verified: %llu bytes in %.2f s\n", (unsigned long long)written, secs);
	else
		printf("\t- journal: %s\n", journal);
}

static int resume(struct opts *o, struct journal *j)
{
	uint64_t written = 0;
	double t0 = now_seconds();
	int r;

	sr_info("finishing the interrupted revert to {%s} from its journal", journal_shadow_id(j));
	r = apply_journal(j, &written);
	if (r >= 0)
		r = journal_remove(j);
	if (r < 0)
		return sr_error(r, "cannot finish the revert to {%s}", journal_shadow_id(j));
	if (o->c.json) {
		struct json js;
		json_init(&js, stdout, true);
		json_obj_begin(&js);
		json_kstr(&js, "shadow_id", journal_shadow_id(j));
		json_kbool(&js, "resumed", true);
		json_ku64(&js, "bytes_written", written);
		json_obj_end(&js);
		json_end(&js);
	} else {
		printf("Finished the interrupted revert to {%s}: %llu bytes written and verified in %.2f s\n",
		       journal_shadow_id(j), (unsigned long long)written, now_seconds() - t0);
	}
	return EXIT_OK;
}

int cmd_revert(int argc, char **argv)
{
	enum { OPT_YES = OPT_FIRST_VERB_OPTION, OPT_DRY, OPT_JOURNAL, OPT_OFFLINE };
	static const struct option opts[] = { CLI_COMMON_LONG_OPTIONS,
					      { "yes", no_argument, NULL, OPT_YES },
					      { "dry-run", no_argument, NULL, OPT_DRY },
					      { "journal", required_argument, NULL, OPT_JOURNAL },
					      { "offline", no_argument, NULL, OPT_OFFLINE },
					      { 0 } };
	struct opts o = { 0 };
	struct volset *vs = NULL;
	struct journal *j = NULL;
	struct plan p = { 0 };
	_cleanup_free_ char *jpath = NULL;
	const char *id;
	size_t vi;
	unsigned k;
	uint64_t written = 0, vol_size = 0;
	bool system = false;
	double t0 = now_seconds();
	int opt, ex, r;

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
	}
	if (optind >= argc)
		return cli_usage("revert", "no shadow copy ID given");
	id = argv[optind++];
	if (optind >= argc)
		return cli_usage("revert", "no image given (the volume or disk image that holds the shadow copy)");

	/* an interrupted revert of one of these images is finished first, and only by the same command */
	for (int i = optind; i < argc; i++) {
		char real[PATH_MAX];
		_cleanup_free_ char *jp = NULL;
		if (!realpath(argv[i], real))
			return sr_error(-errno, "cannot open '%s'", argv[i]);
		jp = journal_path_for(real, o.journal_dir);
		if (!jp)
			return sr_error(-ENOMEM, "cannot revert");
		r = journal_open(jp, &j);
		if (r == -ENOENT)
			continue;
		if (r < 0)
			return sr_error(r, "cannot revert '%s'", argv[i]);
		{
			struct sr_guid want, have;
			if (guid_parse(journal_shadow_id(j), &have) < 0 ||
			    guid_match(id, &have, 1, sizeof(have)) != 0) {
				r = sr_error(0,
					     "'%s' has an interrupted revert to {%s}: finish it first with 'shadowrev revert %s %s'",
					     argv[i], journal_shadow_id(j), journal_shadow_id(j), argv[i]);
				journal_free(j);
				return r;
			}
			(void)want;
		}
		if (o.dry_run) {
			printf("An interrupted revert of '%s' to {%s} will be finished from its journal %s (%zu writes)\n",
			       argv[i], journal_shadow_id(j), jp, journal_n_writes(j));
			journal_free(j);
			return EXIT_OK;
		}
		r = resume(&o, j);
		journal_free(j);
		return r;
	}

	r = volset_open(argv + optind, (size_t)(argc - optind), &vs);
	if (r >= 0)
		r = volset_find_shadow(vs, id, &vi, &k);
	if (r < 0) {
		sr_error(r, "cannot revert to shadow copy '%s'", id);
		goto fail;
	}
	guid_format(&vss_volume_store(vs->vols[vi].vss, k)->copy_id, p.shadow_id);
	r = check_system(&o, &vs->vols[vi], &system);
	if (r < 0) {
		sr_error(r, "cannot revert to shadow copy '%s'", id);
		goto fail;
	}
	{
		char real[PATH_MAX];
		if (!realpath(vs->vols[vi].image, real)) {
			sr_error(-errno, "cannot open '%s'", vs->vols[vi].image);
			goto fail;
		}
		jpath = journal_path_for(real, o.journal_dir);
		r = jpath ? revert_target_check(real) : -ENOMEM;
	}
	/* read everything first: a dry run only counts, a revert stages it all in the journal */
	if (r >= 0)
		r = plan_revert(vs, vi, k, jpath, o.dry_run, &p, o.dry_run ? NULL : &j);
	vol_size = vs->vols[vi].src->size;
	if (r < 0) {
		sr_error(r, "cannot revert to shadow copy '%s'", id);
		goto fail;
	}
	volset_free(vs);
	vs = NULL;
	if (o.dry_run) {
		print_plan(&o, &p, jpath, true, 0, 0);
		return EXIT_OK;
	}
	if (!o.yes && !confirm(&p)) {
		sr_error(0, "not reverting '%s' without confirmation (use --yes)", p.target);
		journal_free(j); /* never committed: removed */
		return EXIT_FAILED;
	}
	/* committed before the first write: from here on, a rerun finishes the job */
	r = journal_commit(j);
	if (r >= 0)
		r = apply_journal(j, &written);
	if (r >= 0)
		r = journal_remove(j);
	journal_free(j);
	if (r < 0) {
		sr_error(r, "revert to shadow copy {%s} did not finish (run the same command again to finish it)",
			 p.shadow_id);
		return EXIT_FAILED;
	}
	print_plan(&o, &p, jpath, false, written, now_seconds() - t0);
	if (system)
		return check_boot_after(&o, p.target, p.vol_offset, vol_size);
	return EXIT_OK;
fail:
	volset_free(vs);
	return EXIT_FAILED;
}
