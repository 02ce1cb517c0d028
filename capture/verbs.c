/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Repository verbs: init, sets, verify, gc, delete. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture-internal.h"
#include "capture.h"
#include "core/cli.h"
#include "core/filetime.h"
#include "core/json.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/select.h"


enum { OPT_REPO = OPT_FIRST_VERB_OPTION, OPT_PASSFILE, OPT_ENCRYPT, OPT_CHUNK, OPT_LEVEL, OPT_THREADS };
#define REPO_OPTIONS                                                        \
	{ "repo", required_argument, NULL, OPT_REPO },                      \
	{ "passphrase-file", required_argument, NULL, OPT_PASSFILE }

int cmd_init(int argc, char **argv)
{
	static const struct option opts[] = { CLI_COMMON_LONG_OPTIONS, REPO_OPTIONS,
					      { "encrypt", no_argument, NULL, OPT_ENCRYPT },
					      { "chunk-size", required_argument, NULL, OPT_CHUNK },
					      { "level", required_argument, NULL, OPT_LEVEL },
					      { 0 } };
	struct cli_common c = { 0 };
	struct repo_init_opts io = { 0 };
	const char *dir = NULL, *pass_file = NULL;
	_cleanup_free_ char *def = NULL;
	char *pass = NULL;
	bool encrypt = false;
	int o, ex, r;

	while ((o = cli_getopt(argc, argv, "", opts)) != -1) {
		if (o == '?' || o == ':')
			return cli_bad_option("init", o, argc, argv);
		if (cli_common_option(&c, "init", o, optarg, &ex) < 0)
			return ex;
		switch (o) {
		case OPT_REPO: dir = optarg; break;
		case OPT_PASSFILE: pass_file = optarg; break;
		case OPT_ENCRYPT: encrypt = true; break;
		case OPT_CHUNK: {
			char *e;
			unsigned long v = strtoul(optarg, &e, 0);
			if (*e == 'K' || *e == 'k')
				v <<= 10, e++;
			else if (*e == 'M' || *e == 'm')
				v <<= 20, e++;
			if (*e || v < (64u << 10) || v > (16u << 20) || (v & (v - 1)))
				return cli_usage("init", "'%s' is not a chunk size (64K .. 16M, a power of two)", optarg);
			io.chunk_size = (uint32_t)v;
			break;
		}
		case OPT_LEVEL:
			io.level = atoi(optarg);
			if (io.level < 1 || io.level > 19)
				return cli_usage("init", "--level takes 1 to 19");
			break;
		default: break;
		}
	}
	if (optind < argc)
		return cli_usage("init", "unexpected argument '%s'", argv[optind]);
	if (pass_file && !encrypt)
		return cli_usage("init", "--passphrase-file goes with --encrypt");
	if (!dir) {
		r = repo_default_dir(&def);
		if (r < 0)
			return sr_error(r, "cannot create a repository");
		dir = def;
	}
	if (encrypt) {
		r = crypto_passphrase_get(pass_file, "New passphrase: ", true, &pass);
		if (r < 0)
			return sr_error(r, "cannot create repository '%s'", dir);
		io.passphrase = pass;
	}
	r = repo_init(dir, &io);
	crypto_passphrase_free(pass);
	if (r < 0)
		return sr_error(r, "cannot create repository '%s'", dir);
	if (c.json) {
		struct json j;
		json_init(&j, stdout, false);
		json_obj_begin(&j);
		json_kstr(&j, "repo", dir);
		json_kbool(&j, "encrypted", encrypt);
		json_ku64(&j, "chunk_size", io.chunk_size ? io.chunk_size : REPO_DEFAULT_CHUNK_SIZE);
		json_obj_end(&j);
		json_end(&j);
	} else
		sr_info("created %srepository '%s'", encrypt ? "an encrypted " : "a ", dir);
	return EXIT_OK;
}

/* the common prologue of the verbs below */
static int verb_open(const char *verb, int argc, char **argv, struct cli_common *c, const char **ret_dir,
		     const char **ret_pass, int *ret_exit)
{
	static const struct option opts[] = { CLI_COMMON_LONG_OPTIONS, REPO_OPTIONS, { 0 } };
	int o;

	while ((o = cli_getopt(argc, argv, "", opts)) != -1) {
		if (o == '?' || o == ':') {
			*ret_exit = cli_bad_option(verb, o, argc, argv);
			return -1;
		}
		if (cli_common_option(c, verb, o, optarg, ret_exit) < 0)
			return -1;
		if (o == OPT_REPO)
			*ret_dir = optarg;
		else if (o == OPT_PASSFILE)
			*ret_pass = optarg;
	}
	return 0;
}

static const char *roles_words(unsigned roles)
{
	static const char *w[] = { "", "system", "boot", "system,boot" };
	return w[roles & 3];
}

int cmd_sets(int argc, char **argv)
{
	struct cli_common c = { 0 };
	const char *dir = NULL, *pass = NULL;
	struct repo *repo = NULL;
	struct repo_manifest *sets = NULL;
	size_t n = 0;
	int ex, r;

	if (verb_open("sets", argc, argv, &c, &dir, &pass, &ex) < 0)
		return ex;
	if (optind < argc)
		return cli_usage("sets", "unexpected argument '%s'", argv[optind]);
	r = repo_open_any(dir, pass, &repo);
	if (r >= 0)
		r = repo_sets_load(repo, &sets, &n);
	if (r < 0) {
		repo_free(repo);
		return sr_error(r, "cannot list sets");
	}
	for (size_t s = 0; s < n && !c.json; s++) {
		const struct repo_manifest *m = &sets[s];
		char g[GUID_STRING_MAX], t[FILETIME_STRING_MAX], sz[32];
		{
			printf("Set {%s}\n\tinstance: %s\n\tcreated: %s\n\tconsistency: %s\n",
			       guid_format(&m->set_id, g), m->instance, filetime_format(m->created, t, sizeof(t)),
			       m->consistency);
			for (size_t v = 0; v < m->n_vols; v++) {
				const struct repo_volume *vol = &m->vols[v];
				printf("\t* shadow copy {%s} %s%s%s %s %s%s%s\n", guid_format(&vol->shadow_id, g), vol->name,
				       vol->drive[0] && strcmp(vol->drive, vol->name) ? " " : "",
				       vol->drive[0] && strcmp(vol->drive, vol->name) ? vol->drive : "", vol->fs,
				       format_bytes(vol->size, sz, sizeof(sz)), vol->roles ? " " : "",
				       roles_words(vol->roles));
			}
			for (size_t d = 0; d < m->n_disks; d++)
				printf("\t* disk%u %s %s %s\n", m->disks[d].no, m->disks[d].scheme,
				       format_bytes(m->disks[d].size, sz, sizeof(sz)), m->disks[d].source);
			for (size_t d = 0; d < m->n_docs; d++)
				printf("\t* document %s (%llu bytes)\n", m->docs[d].name, (unsigned long long)m->docs[d].size);
			printf("\n");
		}
	}
	if (c.json) {
		struct json j;
		json_init(&j, stdout, true);
		json_obj_begin(&j);
		json_key(&j, "sets");
		json_arr_begin(&j);
		for (size_t s = 0; s < n; s++) {
			const struct repo_manifest *m = &sets[s];
			char g[GUID_STRING_MAX], t[FILETIME_STRING_MAX];
			json_obj_begin(&j);
			json_kstr(&j, "set_id", guid_format(&m->set_id, g));
			json_kstr(&j, "instance", m->instance);
			json_kstr(&j, "created", filetime_format(m->created, t, sizeof(t)));
			json_kstr(&j, "consistency", m->consistency);
			json_key(&j, "volumes");
			json_arr_begin(&j);
			for (size_t v = 0; v < m->n_vols; v++) {
				const struct repo_volume *vol = &m->vols[v];
				json_obj_begin(&j);
				json_kstr(&j, "shadow_id", guid_format(&vol->shadow_id, g));
				json_kstr(&j, "name", vol->name);
				json_kstr(&j, "drive", vol->drive[0] ? vol->drive : NULL);
				json_kstr(&j, "roles", roles_words(vol->roles));
				json_kstr(&j, "fs", vol->fs);
				json_ku64(&j, "size", vol->size);
				if (vol->disk >= 0) {
					json_ku64(&j, "disk", (uint64_t)vol->disk);
					json_ku64(&j, "partition", vol->partition);
					json_ku64(&j, "offset", vol->offset);
				}
				json_obj_end(&j);
			}
			json_arr_end(&j);
			json_key(&j, "documents");
			json_arr_begin(&j);
			for (size_t d = 0; d < m->n_docs; d++)
				json_str(&j, m->docs[d].name);
			json_arr_end(&j);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_obj_end(&j);
		json_end(&j);
	}
	repo_manifests_free(sets, n);
	repo_free(repo);
	return EXIT_OK;
}

/* verify */

struct vitem {
	uint8_t d[CRYPTO_DIGEST_SIZE];
	uint32_t len;
	bool any_len; /* a chunk a composite references: any length up to len */
	int err;
	char *why;
};

struct vpool {
	const struct repo *repo;
	struct vitem *items;
	size_t n, cap, next, done, bad;
};

static int vpool_add(struct vpool *p, const struct vitem *it)
{
	int r = vec_grow_((void **)&p->items, &p->cap, p->n + 1, sizeof(*p->items));

	if (r < 0)
		return r;
	p->items[p->n++] = *it;
	return 0;
}

static int cmp_item(const void *a, const void *b)
{
	return memcmp(((const struct vitem *)a)->d, ((const struct vitem *)b)->d, CRYPTO_DIGEST_SIZE);
}

/* By ID, and the one whose length is known first (it is the one kept). */
static int cmp_item_len(const void *a, const void *b)
{
	int r = cmp_item(a, b);
	return r ? r : (int)((const struct vitem *)a)->any_len - (int)((const struct vitem *)b)->any_len;
}

static void *vworker(void *arg)
{
	struct vpool *p = arg;
	struct chunk_ctx *ctx = NULL;
	uint8_t *buf = NULL;
	size_t cap = 0;

	if (chunk_ctx_new(1, &ctx) < 0)
		return NULL;
	for (;;) {
		size_t i = __atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED), got;
		struct vitem *it;
		int r;
		if (i >= p->n)
			break;
		it = &p->items[i];
		if (it->len > cap) {
			free(buf);
			cap = it->len;
			buf = malloc(cap);
			if (!buf) {
				cap = 0;
				it->err = -ENOMEM;
				continue;
			}
		}
		r = repo_chunk_load(p->repo, ctx, it->d, buf, it->len, &got);
		if (r >= 0 && got != it->len && !it->any_len)
			r = sr_fail(-EBADMSG, "it has %zu bytes, %u expected", got, it->len);
		if (r < 0) {
			it->err = r;
			it->why = strdup(sr_errmsg(r));
			__atomic_add_fetch(&p->bad, 1, __ATOMIC_RELAXED);
		}
		__atomic_add_fetch(&p->done, 1, __ATOMIC_RELAXED);
	}
	free(buf);
	chunk_ctx_free(ctx);
	return NULL;
}

static const struct vitem *vfind(const struct vpool *p, const uint8_t *d)
{
	struct vitem key;

	memcpy(key.d, d, CRYPTO_DIGEST_SIZE);
	return bsearch(&key, p->items, p->n, sizeof(key), cmp_item);
}

struct vtarget {
	size_t set;
	const char *what;
	char label[160];
	struct repo_index x;
	int err; /* the index itself cannot be read */
	char *why;
	char *size_why; /* the index does not cover the size the manifest says */
};

int cmd_verify(int argc, char **argv)
{
	struct cli_common c = { 0 };
	const char *dir = NULL, *pass = NULL, *only = NULL;
	struct repo *repo = NULL;
	struct repo_manifest *sets = NULL;
	struct vtarget *tg = NULL;
	struct vpool p = { 0 };
	size_t n = 0, nt = 0, sel = SIZE_MAX, bad_ranges = 0, bad_idx = 0;
	pthread_t tids[16];
	unsigned nth = 0;
	struct progress pr;
	struct json j;
	int ex, r, ret = EXIT_FAILED;

	if (verb_open("verify", argc, argv, &c, &dir, &pass, &ex) < 0)
		return ex;
	if (optind < argc)
		only = argv[optind++];
	if (optind < argc)
		return cli_usage("verify", "unexpected argument '%s'", argv[optind]);
	r = repo_open_any(dir, pass, &repo);
	if (r >= 0)
		r = repo_sets_load(repo, &sets, &n);
	if (r >= 0 && only) {
		struct sel sl = { 0 };
		r = sel_resolve(repo, sets, n, only, SEL_SET, &sl);
		sel = sl.set;
		sel_done(&sl);
		if (SEL_IS_USAGE(r)) {
			sr_error(r, "cannot verify");
			ret = EXIT_USAGE;
			goto out;
		}
	}
	if (r < 0) {
		sr_error(r, "cannot verify");
		goto out;
	}
	/* every index of the chosen sets, and every chunk they name, once */
	for (size_t s = 0; s < n; s++)
		nt += sets[s].n_vols + sets[s].n_disks;
	tg = calloc(nt + 1, sizeof(*tg));
	if (!tg) {
		r = -ENOMEM;
		goto fail;
	}
	nt = 0;
	for (size_t s = 0; s < n; s++) {
		const struct repo_manifest *m = &sets[s];
		char g[GUID_STRING_MAX], h[GUID_STRING_MAX];
		if (sel != SIZE_MAX && s != sel)
			continue;
		for (size_t k = 0; k < m->n_vols + m->n_disks; k++) {
			struct vtarget *t = &tg[nt++];
			bool vol = k < m->n_vols;
			uint64_t want;
			t->set = s;
			if (vol)
				snprintf(t->label, sizeof(t->label), "set {%s} volume %s {%s}", guid_format(&m->set_id, g),
					 m->vols[k].name, guid_format(&m->vols[k].shadow_id, h));
			else
				snprintf(t->label, sizeof(t->label), "set {%s} disk%u layout", guid_format(&m->set_id, g),
					 m->disks[k - m->n_vols].no);
			t->err = vol ? repo_index_load(repo, m->vols[k].index, m->vols[k].index_sha256, &t->x)
				     : repo_index_load(repo, m->disks[k - m->n_vols].index,
						       m->disks[k - m->n_vols].index_sha256, &t->x);
			if (t->err < 0) {
				t->why = strdup(sr_errmsg(t->err));
				continue;
			}
			want = vol ? m->vols[k].size : m->disks[k - m->n_vols].size;
			if (t->x.size != want &&
			    asprintf(&t->size_why, "the index covers %llu bytes, the manifest says %llu",
				     (unsigned long long)t->x.size, (unsigned long long)want) < 0) {
				t->size_why = NULL;
				r = -ENOMEM;
				goto fail;
			}
			for (uint64_t i = 0; i < t->x.count; i++) {
				struct vitem it = { .len = (uint32_t)MIN((uint64_t)t->x.chunk_size,
									   t->x.size - i * t->x.chunk_size) };
				if (chunk_digest_is_zero(t->x.digests[i]))
					continue;
				memcpy(it.d, t->x.digests[i], CRYPTO_DIGEST_SIZE);
				if ((r = vpool_add(&p, &it)) < 0)
					goto fail;
			}
			/* the chunks its composites reference: a bad one is named with every composite using it */
			for (size_t k2 = 0; k2 < t->x.n_refs; k2++) {
				struct vitem it = { .len = t->x.chunk_size, .any_len = true };
				memcpy(it.d, t->x.refs[k2], CRYPTO_DIGEST_SIZE);
				if ((r = vpool_add(&p, &it)) < 0)
					goto fail;
			}
		}
		for (size_t k = 0; k < m->n_docs; k++) {
			struct vitem it = { .len = (uint32_t)MIN(m->docs[k].size, (uint64_t)CHUNK_PLAIN_MAX) };
			memcpy(it.d, m->docs[k].digest, CRYPTO_DIGEST_SIZE);
			if ((r = vpool_add(&p, &it)) < 0)
				goto fail;
		}
	}
	if (p.n) {
		size_t o = 0;
		qsort(p.items, p.n, sizeof(*p.items), cmp_item_len);
		for (size_t i = 1; i < p.n; i++)
			if (memcmp(p.items[i].d, p.items[o].d, CRYPTO_DIGEST_SIZE) != 0)
				p.items[++o] = p.items[i];
		p.n = o + 1;
	}
	p.repo = repo;
	progress_begin(&pr, "verify", p.n);
	for (long cpus = sysconf(_SC_NPROCESSORS_ONLN); nth < (unsigned)MAX(1, MIN(cpus + 1, 16)); nth++)
		if (pthread_create(&tids[nth], NULL, vworker, &p) != 0)
			break;
	while (__atomic_load_n(&p.done, __ATOMIC_RELAXED) < p.n && nth) {
		progress_update(&pr, __atomic_load_n(&p.done, __ATOMIC_RELAXED));
		usleep(100000);
	}
	for (unsigned t = 0; t < nth; t++)
		pthread_join(tids[t], NULL);
	progress_end(&pr);

	/* name every set, volume and byte range a bad chunk touches */
	if (c.json) {
		json_init(&j, stdout, true);
		json_obj_begin(&j);
		json_ku64(&j, "chunks", p.n);
		json_ku64(&j, "bad_chunks", p.bad);
		json_key(&j, "bad");
		json_arr_begin(&j);
	}
	for (size_t t = 0; t < nt; t++) {
		struct vtarget *v = &tg[t];
		if (v->err < 0) {
			bad_ranges++;
			bad_idx++;
			if (c.json) {
				json_obj_begin(&j);
				json_kstr(&j, "where", v->label);
				json_kstr(&j, "error", v->why);
				json_obj_end(&j);
			} else
				printf("BAD %s: index: %s\n", v->label, v->why ? v->why : "?");
			continue;
		}
		if (v->size_why) {
			bad_ranges++;
			bad_idx++;
			if (c.json) {
				json_obj_begin(&j);
				json_kstr(&j, "where", v->label);
				json_kstr(&j, "error", v->size_why);
				json_obj_end(&j);
			} else
				printf("BAD %s: %s\n", v->label, v->size_why);
		}
		for (uint64_t i = 0, ci = 0; i < v->x.count; i++) {
			const struct vitem *it, *bad_ref = NULL;
			uint64_t a, b;
			char hx[2 * CRYPTO_DIGEST_SIZE + 1], rx[2 * CRYPTO_DIGEST_SIZE + 1] = "";
			if (chunk_digest_is_zero(v->x.digests[i]) || !(it = vfind(&p, v->x.digests[i])))
				continue;
			/* a composite slot: is a chunk it references bad? */
			while (ci < v->x.n_comps && v->x.comps[ci].slot < i)
				ci++;
			if (ci < v->x.n_comps && v->x.comps[ci].slot == i)
				for (size_t k = 0; k < v->x.comps[ci].n && !bad_ref; k++) {
					const struct vitem *ri = vfind(&p, v->x.refs[v->x.comps[ci].first + k]);
					if (ri && ri->err)
						bad_ref = ri;
				}
			if (!it->err && !bad_ref)
				continue;
			a = i * v->x.chunk_size;
			b = MIN(a + v->x.chunk_size, v->x.size);
			bad_ranges++;
			hex_format(it->d, CRYPTO_DIGEST_SIZE, hx);
			if (bad_ref)
				hex_format(bad_ref->d, CRYPTO_DIGEST_SIZE, rx);
			if (c.json) {
				json_obj_begin(&j);
				json_kstr(&j, "where", v->label);
				json_ku64(&j, "offset", a);
				json_ku64(&j, "length", b - a);
				json_ku64(&j, "chunk_index", i);
				json_kstr(&j, "chunk", hx);
				if (bad_ref)
					json_kstr(&j, "references_bad_chunk", rx);
				json_kstr(&j, "error", it->err ? it->why : bad_ref->why);
				json_obj_end(&j);
			} else if (bad_ref)
				printf("BAD %s: bytes %llu-%llu (offset 0x%llx, chunk %llu, ID %.16s): composite referencing "
				       "bad chunk %.16s: %s\n",
				       v->label, (unsigned long long)a, (unsigned long long)(b - 1), (unsigned long long)a,
				       (unsigned long long)i, hx, rx, bad_ref->why ? bad_ref->why : "?");
			else
				printf("BAD %s: bytes %llu-%llu (offset 0x%llx, chunk %llu, ID %.16s): %s\n", v->label,
				       (unsigned long long)a, (unsigned long long)(b - 1), (unsigned long long)a,
				       (unsigned long long)i, hx, it->why ? it->why : "?");
		}
	}
	for (size_t s = 0; s < n; s++) {
		const struct repo_manifest *m = &sets[s];
		char g[GUID_STRING_MAX];
		if (sel != SIZE_MAX && s != sel)
			continue;
		for (size_t k = 0; k < m->n_docs; k++) {
			const struct vitem *it = vfind(&p, m->docs[k].digest);
			if (!it || !it->err)
				continue;
			bad_ranges++;
			if (c.json) {
				char w[256];
				snprintf(w, sizeof(w), "set {%s} document %s", guid_format(&m->set_id, g), m->docs[k].name);
				json_obj_begin(&j);
				json_kstr(&j, "where", w);
				json_kstr(&j, "error", it->why);
				json_obj_end(&j);
			} else
				printf("BAD set {%s} document %s: %s\n", guid_format(&m->set_id, g), m->docs[k].name,
				       it->why ? it->why : "?");
		}
	}
	if (c.json) {
		json_arr_end(&j);
		json_kbool(&j, "ok", bad_ranges == 0);
		json_obj_end(&j);
		json_end(&j);
	} else if (bad_ranges == 0)
		sr_info("verified %zu chunk(s) of %zu set(s): all good", p.n, sel == SIZE_MAX ? n : 1);
	if (bad_ranges) {
		if (bad_idx)
			sr_warn("verify found %zu index(es) that cannot be read or disagree with their manifest", bad_idx);
		if (bad_ranges > bad_idx)
			sr_warn("verify found %zu bad chunk(s), touching %zu range(s)", p.bad, bad_ranges - bad_idx);
		ret = EXIT_FAILED;
	} else
		ret = EXIT_OK;
	goto out;
fail:
	sr_error(r, "cannot verify");
out:
	for (size_t t = 0; t < nt; t++) {
		repo_index_free(&tg[t].x);
		free(tg[t].why);
		free(tg[t].size_why);
	}
	for (size_t i = 0; i < p.n; i++)
		free(p.items[i].why);
	free(p.items);
	free(tg);
	repo_manifests_free(sets, n);
	repo_free(repo);
	return ret;
}

int cmd_gc(int argc, char **argv)
{
	struct cli_common c = { 0 };
	const char *dir = NULL, *pass = NULL;
	struct repo *repo = NULL;
	struct repo_gc_stats st;
	char b[32];
	int ex, r;

	if (verb_open("gc", argc, argv, &c, &dir, &pass, &ex) < 0)
		return ex;
	if (optind < argc)
		return cli_usage("gc", "unexpected argument '%s'", argv[optind]);
	r = repo_open_any(dir, pass, &repo);
	if (r >= 0)
		r = repo_gc(repo, &st);
	repo_free(repo);
	if (r < 0)
		return sr_error(r, "cannot collect garbage");
	if (c.json) {
		struct json j;
		json_init(&j, stdout, false);
		json_obj_begin(&j);
		json_ku64(&j, "chunks_kept", st.chunks_kept);
		json_ku64(&j, "chunks_removed", st.chunks_removed);
		json_ku64(&j, "bytes_removed", st.bytes_removed);
		json_ku64(&j, "indexes_removed", st.indexes_removed);
		json_ku64(&j, "temporary_removed", st.temp_removed);
		json_obj_end(&j);
		json_end(&j);
	} else
		sr_info("removed %llu chunk(s) (%s), %llu unfinished index set(s), %llu temporary file(s); kept %llu chunk(s)",
			(unsigned long long)st.chunks_removed, format_bytes(st.bytes_removed, b, sizeof(b)),
			(unsigned long long)st.indexes_removed, (unsigned long long)st.temp_removed,
			(unsigned long long)st.chunks_kept);
	return EXIT_OK;
}

int cmd_delete(int argc, char **argv)
{
	struct cli_common c = { 0 };
	const char *dir = NULL, *pass = NULL;
	struct repo *repo = NULL;
	struct repo_manifest *sets = NULL;
	size_t n = 0, s;
	char g[GUID_STRING_MAX];
	int ex, r;

	if (verb_open("delete", argc, argv, &c, &dir, &pass, &ex) < 0)
		return ex;
	if (optind >= argc || strcmp(argv[optind], "set") != 0)
		return cli_usage("delete", "usage: shadowrev delete set SET-ID");
	if (optind + 2 != argc)
		return cli_usage("delete", optind + 1 >= argc ? "no set ID given" : "one set ID at a time");
	r = repo_open_any(dir, pass, &repo);
	if (r >= 0)
		r = repo_sets_load(repo, &sets, &n);
	if (r >= 0) {
		struct sel sl = { 0 };
		r = sel_resolve(repo, sets, n, argv[optind + 1], SEL_SET, &sl);
		s = sl.set;
		sel_done(&sl);
		if (SEL_IS_USAGE(r)) {
			repo_manifests_free(sets, n);
			repo_free(repo);
			sr_error(r, "cannot delete set '%s'", argv[optind + 1]);
			return EXIT_USAGE;
		}
	}
	if (r >= 0)
		r = repo_set_delete(repo, &sets[s]);
	if (r < 0) {
		repo_manifests_free(sets, n);
		repo_free(repo);
		return sr_error(r, "cannot delete set '%s'", argv[optind + 1]);
	}
	if (c.json) {
		struct json j;
		json_init(&j, stdout, false);
		json_obj_begin(&j);
		json_kstr(&j, "deleted", guid_format(&sets[s].set_id, g));
		json_obj_end(&j);
		json_end(&j);
	} else
		sr_info("deleted set {%s}; 'shadowrev gc' frees the chunks no other set uses",
			guid_format(&sets[s].set_id, g));
	repo_manifests_free(sets, n);
	repo_free(repo);
	return EXIT_OK;
}
