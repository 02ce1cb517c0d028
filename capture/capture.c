/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* shadowrev capture: volumes and whole disks into the repository. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "capture-internal.h"
#include "capture.h"
#include "core/cli.h"
#include "core/filetime.h"
#include "core/io.h"
#include "core/json.h"
#include "core/log.h"
#include "core/part.h"
#include "core/progress.h"
#include "core/volset.h"

struct cvol {
	char *name;
	const char *path;
	struct src *src;
	char drive[4];
	unsigned roles;
	int disk;
	unsigned partition;
	uint64_t offset;
	bool ntfs;
	bool has_shadow;
	struct sr_guid shadow;
	struct rmap read;
	struct rmap *changed;
	struct capture_stats st;
	char index[96];
	uint8_t index_sha[CRYPTO_DIGEST_SIZE];
	uint64_t cluster_size;
};

struct cdisk {
	const char *path;
	unsigned no;
	struct src *src;
	struct part_table pt;
	/* roles and letters asked for its partitions */
	struct {
		unsigned part;
		char drive[4];
		unsigned roles;
	} asks[32];
	size_t n_asks;
	struct capture_stats st;
	char index[96];
	uint8_t index_sha[CRYPTO_DIGEST_SIZE];
};

struct changed_opt {
	const char *vol; /* NULL: the only volume */
	const char *file;
	struct rmap map;
};

static bool is_drive(const char *s)
{
	return ((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')) && s[1] == ':' && s[2] == 0;
}

static int parse_part(const char *s, unsigned *ret)
{
	char *e;
	unsigned long v;

	if (s[0] != 'p')
		return -EINVAL;
	v = strtoul(s + 1, &e, 10);
	if (e == s + 1 || *e || v == 0 || v > 256)
		return -EINVAL;
	*ret = (unsigned)v;
	return 0;
}

/* "C:=PATH[,system][,boot][,shadow=ID]" or "diskN=PATH[,C:=pM][,system=pM][,boot=pM]" */
static int parse_volspec(char *spec, struct cvol *vols, size_t *n_vols, struct cdisk *disks, size_t *n_disks)
{
	char *eq = strchr(spec, '='), *save = NULL, *path, *opt;

	if (!eq || eq == spec)
		return cli_usage("capture", "'%s' is not a volume spec (C:=PATH or disk0=PATH)", spec);
	*eq = 0;
	path = strtok_r(eq + 1, ",", &save);
	if (!path)
		return cli_usage("capture", "no path in volume spec '%s'", spec);
	if (is_drive(spec)) {
		struct cvol *v = &vols[(*n_vols)++];
		v->disk = -1;
		v->path = path;
		snprintf(v->drive, sizeof(v->drive), "%c:", spec[0] & ~0x20);
		v->name = strdup(v->drive);
		if (!v->name)
			return sr_error(-ENOMEM, "cannot parse arguments");
		while ((opt = strtok_r(NULL, ",", &save))) {
			if (strcmp(opt, "system") == 0)
				v->roles |= REPO_ROLE_SYSTEM;
			else if (strcmp(opt, "boot") == 0)
				v->roles |= REPO_ROLE_BOOT;
			else if (strncmp(opt, "shadow=", 7) == 0 && guid_parse(opt + 7, &v->shadow) >= 0)
				v->has_shadow = true;
			else
				return cli_usage("capture", "unknown volume option '%s' (system, boot, shadow=ID)", opt);
		}
		return 0;
	}
	if (strncmp(spec, "disk", 4) == 0 && spec[4] >= '0' && spec[4] <= '9') {
		struct cdisk *d = &disks[(*n_disks)++];
		char *e;
		d->no = (unsigned)strtoul(spec + 4, &e, 10);
		if (*e)
			return cli_usage("capture", "'%s' is not a disk name (disk0, disk1, ...)", spec);
		d->path = path;
		while ((opt = strtok_r(NULL, ",", &save))) {
			char *oeq = strchr(opt, '=');
			unsigned part;
			if (!oeq || d->n_asks >= ARRAY_SIZE(d->asks))
				return cli_usage("capture", "unknown disk option '%s' (C:=p2, system=p1, boot=p2)", opt);
			*oeq = 0;
			if (parse_part(oeq + 1, &part) < 0)
				return cli_usage("capture", "'%s' is not a partition (p1, p2, ...)", oeq + 1);
			d->asks[d->n_asks].part = part;
			if (is_drive(opt))
				snprintf(d->asks[d->n_asks].drive, 4, "%c:", opt[0] & ~0x20);
			else if (strcmp(opt, "system") == 0)
				d->asks[d->n_asks].roles = REPO_ROLE_SYSTEM;
			else if (strcmp(opt, "boot") == 0)
				d->asks[d->n_asks].roles = REPO_ROLE_BOOT;
			else
				return cli_usage("capture", "unknown disk option '%s' (C:=p2, system=p1, boot=p2)", opt);
			d->n_asks++;
		}
		return 0;
	}
	return cli_usage("capture", "'%s' is neither a drive letter (C:) nor a disk (disk0)", spec);
}

static void print_stats_text(const char *what, const struct capture_stats *s)
{
	char a[32], b[32], c[32], d[32], e[32], f[32], g[32];

	printf("  %-12s %s: read %s, new %s (stored %s), reused %s, zero/unallocated %s", what,
	       format_bytes(s->size, a, sizeof(a)), format_bytes(s->read, b, sizeof(b)),
	       format_bytes(s->new_plain, c, sizeof(c)), format_bytes(s->new_stored, d, sizeof(d)),
	       format_bytes(s->reused, e, sizeof(e)), format_bytes(s->zero, f, sizeof(f)));
	if (s->composites)
		printf(", piece dedup %s in %llu composite chunk(s)", format_bytes(s->dedup, g, sizeof(g)),
		       (unsigned long long)s->composites);
	printf("\n");
}

static void json_stats(struct json *j, const struct capture_stats *s)
{
	json_ku64(j, "size", s->size);
	json_ku64(j, "read_bytes", s->read);
	json_ku64(j, "new_bytes", s->new_plain);
	json_ku64(j, "stored_bytes", s->new_stored);
	json_ku64(j, "reused_bytes", s->reused);
	json_ku64(j, "zero_bytes", s->zero);
	json_ku64(j, "skipped_bytes", s->skipped);
	json_ku64(j, "chunks", s->chunks);
	json_ku64(j, "new_chunks", s->new_chunks);
	json_ku64(j, "dedup_bytes", s->dedup);
	json_ku64(j, "composite_chunks", s->composites);
}

static void stats_add(struct capture_stats *t, const struct capture_stats *s)
{
	t->size += s->size;
	t->read += s->read;
	t->zero += s->zero;
	t->new_plain += s->new_plain;
	t->new_stored += s->new_stored;
	t->reused += s->reused;
	t->skipped += s->skipped;
	t->chunks += s->chunks;
	t->new_chunks += s->new_chunks;
	t->dedup += s->dedup;
	t->composites += s->composites;
}

static unsigned n_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 2 : (unsigned)MIN(n + 1, 16);
}

static int find_prev(const struct repo *r, const struct repo_manifest *prev, const char *name,
		     struct repo_index *ret)
{
	if (!prev)
		return 0;
	for (size_t i = 0; i < prev->n_vols; i++)
		if (strcmp(prev->vols[i].name, name) == 0)
			return repo_index_load(r, prev->vols[i].index, prev->vols[i].index_sha256, ret) >= 0 ? 1 : 0;
	return 0;
}

int cmd_capture(int argc, char **argv)
{
	enum {
		OPT_REPO = OPT_FIRST_VERB_OPTION,
		OPT_PASSFILE,
		OPT_INSTANCE,
		OPT_SETID,
		OPT_METADATA,
		OPT_ALL,
		OPT_CHANGED,
		OPT_CONSISTENCY,
		OPT_THREADS,
		OPT_NO_PIECES,
	};
	static const struct option opts[] = { CLI_COMMON_LONG_OPTIONS,
					      { "repo", required_argument, NULL, OPT_REPO },
					      { "passphrase-file", required_argument, NULL, OPT_PASSFILE },
					      { "instance", required_argument, NULL, OPT_INSTANCE },
					      { "set-id", required_argument, NULL, OPT_SETID },
					      { "metadata", required_argument, NULL, OPT_METADATA },
					      { "all-blocks", no_argument, NULL, OPT_ALL },
					      { "changed-blocks", required_argument, NULL, OPT_CHANGED },
					      { "consistency", required_argument, NULL, OPT_CONSISTENCY },
					      { "threads", required_argument, NULL, OPT_THREADS },
					      { "no-piece-dedup", no_argument, NULL, OPT_NO_PIECES },
					      { 0 } };
	struct cli_common c = { 0 };
	const char *rdir = NULL, *pass_file = NULL, *instance = NULL, *set_text = NULL, *consistency = NULL;
	const char *metas[64];
	size_t n_metas = 0, n_vols = 0, n_disks = 0, n_changed = 0;
	struct changed_opt changed[16];
	struct cvol vols[128];
	struct cdisk disks[16];
	struct repo *repo = NULL;
	struct repo_manifest *sets = NULL, m = { 0 };
	const struct repo_manifest *prev = NULL;
	struct capture_meta meta = { 0 };
	struct capture_stats total = { 0 };
	bool all_blocks = false, pieces = true;
	struct capture_dedup *dedup = NULL;
	struct volset *pair = NULL;
	unsigned threads = n_threads();
	size_t n_sets = 0;
	char setname[65], path[PATH_MAX], g[GUID_STRING_MAX];
	int o, ex, r = 0, writer = -1, ret = EXIT_FAILED;
	struct timespec now;
	double t0 = now_seconds();

	memset(vols, 0, sizeof(vols));
	memset(disks, 0, sizeof(disks));
	memset(changed, 0, sizeof(changed));
	while ((o = cli_getopt(argc, argv, "", opts)) != -1) {
		if (o == '?' || o == ':')
			return cli_bad_option("capture", o, argc, argv);
		if (cli_common_option(&c, "capture", o, optarg, &ex) < 0)
			return ex;
		switch (o) {
		case OPT_REPO: rdir = optarg; break;
		case OPT_PASSFILE: pass_file = optarg; break;
		case OPT_INSTANCE: instance = optarg; break;
		case OPT_SETID: set_text = optarg; break;
		case OPT_ALL: all_blocks = true; break;
		case OPT_NO_PIECES: pieces = false; break;
		case OPT_CONSISTENCY: consistency = optarg; break;
		case OPT_THREADS:
			threads = (unsigned)atoi(optarg);
			if (threads < 1 || threads > 64)
				return cli_usage("capture", "--threads takes 1 to 64");
			break;
		case OPT_METADATA:
			if (n_metas >= ARRAY_SIZE(metas))
				return cli_usage("capture", "too many --metadata documents");
			metas[n_metas++] = optarg;
			break;
		case OPT_CHANGED: {
			char *eq = strchr(optarg, '=');
			if (n_changed >= ARRAY_SIZE(changed))
				return cli_usage("capture", "too many --changed-blocks");
			if (eq && eq - optarg <= 12 && strcspn(optarg, "/") > (size_t)(eq - optarg)) {
				*eq = 0;
				changed[n_changed].vol = optarg;
				changed[n_changed].file = eq + 1;
			} else
				changed[n_changed].file = optarg;
			n_changed++;
			break;
		}
		default: break;
		}
	}
	if (!instance || !*instance)
		return cli_usage("capture", "--instance NAME is required");
	if (consistency && strcmp(consistency, "crash") && strcmp(consistency, "filesystem") &&
	    strcmp(consistency, "application"))
		return cli_usage("capture", "--consistency takes crash, filesystem or application");
	if (set_text && guid_parse(set_text, &m.set_id) < 0)
		return cli_usage("capture", "'%s' is not a set ID (a GUID)", set_text);
	if (optind >= argc)
		return cli_usage("capture", "no volume given (C:=PATH or disk0=PATH)");
	for (; optind < argc; optind++) {
		if (n_vols >= 100 || n_disks >= ARRAY_SIZE(disks))
			return cli_usage("capture", "too many volumes");
		ex = parse_volspec(argv[optind], vols, &n_vols, disks, &n_disks);
		if (ex != 0)
			goto out_usage;
	}
	for (size_t i = 0; i < n_changed; i++)
		if (!changed[i].vol && n_vols + n_disks != 1) {
			ex = cli_usage("capture", "--changed-blocks FILE needs VOLUME=FILE when several volumes are given");
			goto out_usage;
		}

	r = repo_open_any(rdir, pass_file, &repo);
	if (r < 0) {
		sr_error(r, "cannot capture");
		goto out;
	}
	/* the documents: IDs and consistency first, stored later */
	for (size_t i = 0; i < n_metas; i++) {
		_cleanup_free_ void *data = NULL;
		size_t len;
		r = read_file(metas[i], CHUNK_PLAIN_MAX, &data, &len);
		if (r < 0) {
			sr_error(r, "cannot read metadata document '%s'", metas[i]);
			goto out;
		}
		capture_meta_scan(data, len, &meta);
	}
	if (!set_text && meta.has_set)
		m.set_id = meta.set_id;
	if (guid_is_null(&m.set_id) && (r = guid_random(&m.set_id)) < 0)
		goto fail;
	r = repo_set_name(repo, &m.set_id, setname);
	if (r < 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/sets/%s.manifest", repo_dir(repo), setname);
	if (access(path, F_OK) == 0) {
		r = sr_fail(-EEXIST, "set {%s} is in the repository already", guid_format(&m.set_id, g));
		goto fail;
	}
	for (size_t i = 0; i < n_changed; i++) {
		_cleanup_free_ void *data = NULL;
		size_t len;
		r = read_file(changed[i].file, 1u << 30, &data, &len);
		if (r >= 0)
			r = rmap_parse_ranges(data, len, &changed[i].map);
		if (r < 0) {
			sr_error(r, "cannot read changed blocks '%s'", changed[i].file);
			goto out;
		}
	}

	/* sources */
	for (size_t i = 0; i < n_vols; i++) {
		r = src_open_file(vols[i].path, false, &vols[i].src);
		if (r < 0) {
			sr_error(r, "cannot open '%s'", vols[i].path);
			goto out;
		}
	}
	for (size_t k = 0; k < n_disks; k++) {
		struct cdisk *d = &disks[k];
		r = src_open_file(d->path, false, &d->src);
		if (r >= 0)
			r = part_table_read(d->src, &d->pt);
		if (r >= 0 && d->pt.scheme == PART_NONE)
			r = sr_fail(-EMEDIUMTYPE, "no MBR or GPT partition table");
		if (r < 0) {
			sr_error(r, "cannot open disk '%s'", d->path);
			goto out;
		}
		for (size_t p = 0; p < d->pt.n; p++) {
			struct cvol *v = &vols[n_vols];
			char nm[64];
			if (n_vols >= ARRAY_SIZE(vols)) {
				sr_error(-E2BIG, "too many partitions");
				goto out;
			}
			snprintf(nm, sizeof(nm), "disk%u:p%u", d->no, d->pt.parts[p].number);
			v->name = strdup(nm);
			if (!v->name) {
				r = -ENOMEM;
				goto fail;
			}
			v->path = d->path;
			v->disk = (int)k;
			v->partition = d->pt.parts[p].number;
			v->offset = d->pt.parts[p].offset;
			for (size_t a = 0; a < d->n_asks; a++)
				if (d->asks[a].part == v->partition) {
					v->roles |= d->asks[a].roles;
					if (d->asks[a].drive[0])
						memcpy(v->drive, d->asks[a].drive, 4);
				}
			r = src_slice_new(d->src, v->offset, d->pt.parts[p].size, nm, &v->src);
			if (r < 0)
				goto fail;
			n_vols++;
		}
	}
	for (size_t i = 0; i < n_changed; i++) {
		bool found = false;
		for (size_t v = 0; v < n_vols; v++)
			if (!changed[i].vol || strcasecmp(changed[i].vol, vols[v].name) == 0 ||
			    strcasecmp(changed[i].vol, vols[v].drive) == 0) {
				vols[v].changed = &changed[i].map;
				found = true;
			}
		if (!found) {
			ex = cli_usage("capture", "--changed-blocks names no volume given: '%s'", changed[i].vol);
			goto out_usage;
		}
	}
	/* shadow IDs: given, else from the metadata by drive letter, else new */
	for (size_t v = 0; v < n_vols; v++) {
		if (!vols[v].has_shadow)
			for (size_t k = 0; k < meta.n; k++)
				if (vols[v].drive[0] && strcasecmp(meta.shadows[k].drive, vols[v].drive) == 0) {
					vols[v].shadow = meta.shadows[k].id;
					vols[v].has_shadow = true;
				}
		if (!vols[v].has_shadow && (r = guid_random(&vols[v].shadow)) < 0)
			goto fail;
		for (size_t w = 0; w < v; w++)
			if (guid_equal(&vols[w].shadow, &vols[v].shadow)) {
				r = sr_fail(-EINVAL, "volumes %s and %s have the same shadow ID", vols[w].name,
					    vols[v].name);
				goto fail;
			}
	}

	/* the instance's previous set makes this capture incremental */
	r = repo_sets_load(repo, &sets, &n_sets);
	if (r < 0)
		goto fail;
	for (size_t s = 0; s < n_sets; s++) {
		if (strcmp(sets[s].instance, instance) == 0)
			prev = &sets[s];
		for (size_t v = 0; v < sets[s].n_vols; v++)
			for (size_t w = 0; w < n_vols; w++)
				if (guid_equal(&sets[s].vols[v].shadow_id, &vols[w].shadow)) {
					r = sr_fail(-EEXIST, "shadow copy {%s} is in the repository already",
						    guid_format(&vols[w].shadow, g));
					goto fail;
				}
	}

	r = repo_writer_begin(repo, prev ? prev->file : NULL, &writer);
	if (r < 0)
		goto fail;
	if (prev) {
		/* deleted between our look and our registration: mark everything after all */
		snprintf(path, sizeof(path), "%s/sets/%s.manifest", repo_dir(repo), prev->file);
		if (access(path, F_OK) < 0)
			prev = NULL;
	}
	if (pieces && (r = capture_dedup_new(DEDUP_MAX_PIECES, &dedup)) < 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/indexes/%s", repo_dir(repo), setname);
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		r = sr_fail(-errno, "cannot create '%s': %s", path, strerror(errno));
		goto fail;
	}

	/*
	 * The volumes' VSS states together: a view whose shadow storage is on
	 * another volume of this capture reads clusters of its own volume that
	 * are free now (kept below) as much as one whose storage is local.
	 */
	if (!all_blocks) {
		struct src **srcs = calloc(n_vols + 1, sizeof(*srcs));
		size_t *tags = calloc(n_vols + 1, sizeof(*tags));
		if (!srcs || !tags)
			r = -ENOMEM;
		for (size_t v = 0; r >= 0 && v < n_vols; v++) {
			tags[v] = v;
			srcs[v] = src_is_ntfs(vols[v].src) ? vols[v].src : NULL;
		}
		if (r >= 0 && volset_from_srcs(srcs, tags, n_vols, SIZE_MAX, &pair) < 0) {
			sr_errclear(); /* each volume's own views are still read below */
			pair = NULL;
		}
		free(srcs);
		free(tags);
		if (r < 0)
			goto fail;
	}
	for (size_t v = 0; v < n_vols; v++) {
		struct cvol *cv = &vols[v];
		struct capture_job j = { .repo = repo, .src = cv->src, .read = &cv->read, .changed = cv->changed,
					 .dedup = dedup };
		struct repo_index pidx = { 0 };
		char label[80];

		cv->ntfs = src_is_ntfs(cv->src);
		if (cv->ntfs && !all_blocks) {
			struct volset_volume *pv = volset_by_tag(pair, v);
			r = rmap_ntfs_used(cv->src, &cv->read, &cv->cluster_size);
			if (r >= 0)
				r = pv ? rmap_add_vss_views_of(pv->vss, &cv->read, NULL)
				       : rmap_add_vss_views(cv->src, &cv->read, NULL);
			if (r < 0) {
				sr_warn("%s: cannot read the NTFS allocation (%s); reading every block", cv->name,
					sr_errmsg(r));
				rmap_free(&cv->read);
				r = 0;
			}
		}
		if (cv->read.n == 0 && (r = rmap_add(&cv->read, 0, cv->src->size)) < 0)
			goto fail;
		if (find_prev(repo, prev, cv->name, &pidx) > 0)
			j.prev = &pidx;
		snprintf(label, sizeof(label), "capture %s", cv->name);
		r = capture_run(&j, threads, label);
		repo_index_free(&pidx);
		if (r < 0) {
			sr_error(r, "cannot capture %s ('%s')", cv->name, cv->path);
			goto out;
		}
		cv->st = j.st;
		snprintf(cv->index, sizeof(cv->index), "%s/%zu.fidx", setname, v);
		r = repo_index_write(repo, cv->index, &j.out, cv->index_sha);
		repo_index_free(&j.out);
		if (r < 0)
			goto fail;
		stats_add(&total, &cv->st);
	}
	for (size_t k = 0; k < n_disks; k++) {
		struct cdisk *d = &disks[k];
		struct rmap gaps = { 0 }, parts = { 0 };
		struct capture_job j = { .repo = repo, .src = d->src, .read = &gaps };
		uint64_t at = 0;

		/* the partition table, boot area and every gap between partitions; partitions read as zeros */
		for (size_t p = 0; p < d->pt.n; p++)
			rmap_add(&parts, d->pt.parts[p].offset, d->pt.parts[p].size);
		rmap_finish(&parts);
		for (size_t p = 0; p < parts.n; p++) {
			rmap_add(&gaps, at, parts.v[p].off > at ? parts.v[p].off - at : 0);
			at = MAX(at, parts.v[p].off + parts.v[p].len);
		}
		if (at < d->src->size)
			rmap_add(&gaps, at, d->src->size - at);
		rmap_free(&parts);
		r = rmap_finish(&gaps);
		if (r >= 0)
			r = capture_run(&j, threads, "capture disk layout");
		rmap_free(&gaps);
		if (r < 0) {
			sr_error(r, "cannot capture the layout of disk '%s'", d->path);
			goto out;
		}
		d->st = j.st;
		snprintf(d->index, sizeof(d->index), "%s/disk%zu.fidx", setname, k);
		r = repo_index_write(repo, d->index, &j.out, d->index_sha);
		repo_index_free(&j.out);
		if (r < 0)
			goto fail;
		stats_add(&total, &d->st);
	}

	/* the manifest */
	m.instance = (char *)instance;
	clock_gettime(CLOCK_REALTIME, &now);
	(void)filetime_from_timespec(now, &m.finished);
	m.created = m.finished; /* capture start would do as well; the set's time is when it became whole */
	snprintf(m.consistency, sizeof(m.consistency), "%s",
		 consistency ? consistency : meta.writers ? "application" : "crash");
	m.chunk_size = repo_chunk_size(repo);
	m.vols = calloc(n_vols, sizeof(*m.vols));
	m.disks = calloc(n_disks + 1, sizeof(*m.disks));
	m.docs = calloc(n_metas + 1, sizeof(*m.docs));
	if (!m.vols || !m.disks || !m.docs) {
		r = -ENOMEM;
		goto fail;
	}
	for (size_t k = 0; k < n_disks; k++) {
		struct repo_disk *d = &m.disks[m.n_disks++];
		d->no = (unsigned)k;
		d->source = (char *)disks[k].path;
		d->size = disks[k].src->size;
		snprintf(d->scheme, sizeof(d->scheme), "%s", disks[k].pt.scheme == PART_GPT ? "gpt" : "mbr");
		d->sector_size = disks[k].pt.sector_size ? disks[k].pt.sector_size : 512;
		d->guid = disks[k].pt.disk_guid;
		d->signature = disks[k].pt.disk_signature;
		d->index = disks[k].index;
		memcpy(d->index_sha256, disks[k].index_sha, CRYPTO_DIGEST_SIZE);
	}
	for (size_t v = 0; v < n_vols; v++) {
		struct repo_volume *ov = &m.vols[m.n_vols++];
		ov->shadow_id = vols[v].shadow;
		ov->name = vols[v].name;
		ov->source = (char *)vols[v].path;
		memcpy(ov->drive, vols[v].drive, sizeof(ov->drive));
		ov->roles = vols[v].roles;
		ov->disk = vols[v].disk;
		ov->partition = vols[v].partition;
		ov->offset = vols[v].offset;
		ov->size = vols[v].src->size;
		snprintf(ov->fs, sizeof(ov->fs), "%s", vols[v].ntfs ? "ntfs" : "raw");
		ov->index = vols[v].index;
		memcpy(ov->index_sha256, vols[v].index_sha, CRYPTO_DIGEST_SIZE);
	}
	for (size_t i = 0; i < n_metas; i++) {
		_cleanup_free_ void *data = NULL;
		_cleanup_free_ uint8_t *env = NULL;
		_cleanup_(chunk_ctx_freep) struct chunk_ctx *cc = NULL;
		struct repo_document *d = &m.docs[m.n_docs++];
		const char *base = strrchr(metas[i], '/');
		size_t len, elen;

		d->name = (char *)(base ? base + 1 : metas[i]);
		r = read_file(metas[i], CHUNK_PLAIN_MAX, &data, &len);
		if (r >= 0)
			r = chunk_digest(repo_keys(repo), data, len, d->digest);
		d->size = len;
		if (r >= 0 && repo_chunk_touch(repo, d->digest) < 0) {
			r = chunk_ctx_new(repo_level(repo), &cc);
			if (r >= 0 && !(env = malloc(chunk_encode_bound(len))))
				r = -ENOMEM;
			if (r >= 0)
				r = chunk_encode(cc, repo_keys(repo), data, len, env, &elen);
			if (r >= 0)
				r = repo_chunk_put(repo, d->digest, env, elen);
		}
		if (r < 0) {
			sr_error(r, "cannot store metadata document '%s'", metas[i]);
			goto out;
		}
	}
	r = repo_set_commit(repo, &m);
	if (r < 0)
		goto fail;

	if (c.json) {
		struct json j;
		json_init(&j, stdout, true);
		json_obj_begin(&j);
		json_kstr(&j, "set_id", guid_format(&m.set_id, g));
		json_kstr(&j, "instance", instance);
		json_kbool(&j, "incremental", prev != NULL);
		if (prev)
			json_kstr(&j, "previous_set_id", guid_format(&prev->set_id, g));
		json_kstr(&j, "consistency", m.consistency);
		json_key(&j, "volumes");
		json_arr_begin(&j);
		for (size_t v = 0; v < n_vols; v++) {
			json_obj_begin(&j);
			json_kstr(&j, "name", vols[v].name);
			json_kstr(&j, "shadow_id", guid_format(&vols[v].shadow, g));
			json_kstr(&j, "source", vols[v].path);
			json_kstr(&j, "fs", vols[v].ntfs ? "ntfs" : "raw");
			json_stats(&j, &vols[v].st);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_key(&j, "disks");
		json_arr_begin(&j);
		for (size_t k = 0; k < n_disks; k++) {
			json_obj_begin(&j);
			json_kstr(&j, "source", disks[k].path);
			json_stats(&j, &disks[k].st);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_key(&j, "total");
		json_obj_begin(&j);
		json_stats(&j, &total);
		json_obj_end(&j);
		json_key(&j, "seconds");
		fprintf(j.f, "%.3f", now_seconds() - t0);
		json_obj_end(&j);
		json_end(&j);
	} else if (sr_verbosity > 0) {
		char a[32], b[32], cc[32];
		printf("set {%s} instance '%s'%s: %zu volume(s), %s\n", guid_format(&m.set_id, g), instance,
		       prev ? " (incremental)" : "", n_vols, m.consistency);
		for (size_t v = 0; v < n_vols; v++) {
			char what[96];
			snprintf(what, sizeof(what), "%s {%.8s}", vols[v].name, guid_format(&vols[v].shadow, g));
			print_stats_text(what, &vols[v].st);
		}
		for (size_t k = 0; k < n_disks; k++) {
			char what[64];
			snprintf(what, sizeof(what), "disk%u layout", disks[k].no);
			print_stats_text(what, &disks[k].st);
		}
		printf("new %s (stored %s), reused %s", format_bytes(total.new_plain, a, sizeof(a)),
		       format_bytes(total.new_stored, b, sizeof(b)), format_bytes(total.reused, cc, sizeof(cc)));
		if (total.composites)
			printf(", saved %s by piece dedup", format_bytes(total.dedup, a, sizeof(a)));
		printf(", in %.1f s\n", now_seconds() - t0);
	}
	ret = EXIT_OK;
	goto out;
fail:
	sr_error(r, "cannot capture");
out:
	if (0) {
out_usage:
		ret = ex;
	}
	capture_dedup_free(dedup);
	volset_free(pair);
	if (repo)
		repo_writer_end(repo, writer);
	m.instance = NULL;
	free(m.vols);
	free(m.disks);
	free(m.docs);
	repo_manifests_free(sets, n_sets);
	for (size_t v = 0; v < n_vols; v++) {
		src_unref(vols[v].src);
		rmap_free(&vols[v].read);
		free(vols[v].name);
	}
	for (size_t k = 0; k < n_disks; k++) {
		src_unref(disks[k].src);
		part_table_free(&disks[k].pt);
	}
	for (size_t i = 0; i < n_changed; i++)
		rmap_free(&changed[i].map);
	repo_free(repo);
	return ret;
}
