/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `shadowrev catalog import SET-ID FILE...` and `shadowrev catalog rebuild`. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "catalog-internal.h"
#include "core/cli.h"
#include "core/crypto.h"
#include "core/io.h"
#include "core/json.h"
#include "core/log.h"
#include "core/macro.h"
#include "core/repo.h"
#include "core/volset.h"
#include "metadata.h"

#define INPUT_MAX (64u << 20)

struct input {
	const char *path;
	void *data;
	size_t len;
	bool image;
};

/* An NTFS volume or a disk with a partition table: its shadow copies, not a document. */
static int read_input(const char *path, struct input *in)
{
	_cleanup_close_ int fd = -1;
	uint8_t sec[512];
	struct stat st;
	ssize_t n;
	int r;

	in->path = path;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		return sr_fail(-errno, "cannot open '%s': %s", path, strerror(errno));
	if (S_ISBLK(st.st_mode)) {
		in->image = true;
		return 0;
	}
	if (!S_ISREG(st.st_mode))
		return sr_fail(-EINVAL, "'%s' is not a file", path);
	n = read_full_eof(fd, sec, sizeof(sec));
	if (n < 0)
		return sr_fail((int)n, "cannot read '%s'", path);
	if (n == (ssize_t)sizeof(sec) &&
	    (memcmp(sec + 3, "NTFS    ", 8) == 0 || (st.st_size >= (1 << 20) && sec[510] == 0x55 && sec[511] == 0xaa))) {
		in->image = true;
		return 0;
	}
	if ((uint64_t)st.st_size > INPUT_MAX)
		return sr_fail(-EFBIG, "'%s' is larger than %u MiB: not a metadata document", path, INPUT_MAX >> 20);
	r = read_file(path, INPUT_MAX, &in->data, &in->len);
	if (r < 0)
		return sr_fail(r, "cannot read '%s': %s", path, strerror(-r));
	return 0;
}

static bool md_is_empty(const struct md *m)
{
	return !m->sets.n && !m->shadows.n && !m->writers.n && !m->storage.n && !m->evidence.n;
}

static bool md_names_set(const struct md *m, const struct sr_guid *set)
{
	for (size_t i = 0; i < m->sets.n; i++)
		if (guid_equal(&m->sets.v[i].id, set))
			return true;
	for (size_t i = 0; i < m->shadows.n; i++)
		if (m->shadows.v[i].has_set && guid_equal(&m->shadows.v[i].set_id, set))
			return true;
	return false;
}

static bool volset_names_set(const struct volset *vs, const struct sr_guid *set)
{
	for (size_t i = 0; vs && i < vs->n; i++)
		for (unsigned k = 0; k < vss_volume_store_count(vs->vols[i].vss); k++) {
			const struct vss_store_info *s = vss_volume_store(vs->vols[i].vss, k);
			if (s->has_data && guid_equal(&s->set_id, set))
				return true;
		}
	return false;
}

struct import_job {
	struct input *in;
	size_t n;
	struct md m;
	struct volset *vs;
	struct sr_guid set;
	bool set_known;
	unsigned n_docs, n_images;
};

static void job_free(struct import_job *j)
{
	for (size_t i = 0; i < j->n; i++)
		free(j->in[i].data);
	free(j->in);
	md_free(&j->m);
	volset_free(j->vs);
}

/* What one input added to m, in words: "diskshadow .cab: 1 set, 1 shadow copy, 11 writers". */
static void describe_input(const struct md *before, const struct md *m, char *buf, size_t size)
{
	static const struct {
		enum md_doc_kind k;
		const char *name;
	} kinds[] = {
		{ MD_DOC_CAB, "diskshadow .cab" },      { MD_DOC_ZIP, "VMware vss-manifest zip" },
		{ MD_DOC_BCD, "backup components document" }, { MD_DOC_WM, "writer metadata" },
		{ MD_DOC_MANIFEST, "diskshadow cab manifest" }, { MD_DOC_LISTING, "diskshadow or vssadmin listing" },
	};
	const char *kind = "document";

	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (m->n_docs[kinds[i].k] > before->n_docs[kinds[i].k]) {
			kind = kinds[i].name;
			break;
		}
	snprintf(buf, size, "%s: %zu set(s), %zu shadow copies, %zu writer(s), %zu storage association(s)", kind,
		 m->sets.n - before->sets.n, m->shadows.n - before->shadows.n, m->writers.n - before->writers.n,
		 m->storage.n - before->storage.n);
}

/*
 * Read and parse everything first: one bad input and nothing is imported. A
 * file no parser understands (-EMEDIUMTYPE) does not stop the others from
 * being read, so that the error can say what was understood and what not.
 */
static int job_load(struct import_job *j, char *const *paths, size_t n)
{
	VEC(char *) images = { 0 };
	struct buf understood = BUF_INIT, not_understood = BUF_INIT;
	int r = 0, first_unknown = 0;

	md_init(&j->m);
	j->in = calloc(n ? n : 1, sizeof(*j->in));
	if (!j->in)
		return -ENOMEM;
	j->n = n;
	for (size_t i = 0; r >= 0 && i < n; i++) {
		struct md before;
		char what[200];

		r = read_input(paths[i], &j->in[i]);
		if (r < 0)
			break;
		if (j->in[i].image) {
			r = vec_push(&images, (char *)paths[i]);
			j->n_images++;
			if (r >= 0)
				r = buf_printf(&understood, "%s'%s' (a volume image)", understood.len ? ", " : "", paths[i]);
			continue;
		}
		/* only the counts are read from before: no pointer into it is kept */
		before = j->m;
		r = md_parse_document(&j->m, paths[i], j->in[i].data, j->in[i].len);
		j->n_docs++;
		if (r == -EMEDIUMTYPE) {
			if (!first_unknown)
				first_unknown = r;
			r = buf_printf(&not_understood, "%s'%s' (%s)", not_understood.len ? ", " : "", paths[i],
				       sr_errmsg(-EMEDIUMTYPE));
			sr_errclear();
			continue;
		}
		if (r < 0) {
			char detail[512];
			snprintf(detail, sizeof(detail), "%s", sr_errmsg(r));
			r = sr_fail(r, "'%s': %s", paths[i], detail);
			break;
		}
		describe_input(&before, &j->m, what, sizeof(what));
		r = buf_printf(&understood, "%s'%s' (%s)", understood.len ? ", " : "", paths[i], what);
	}
	if (r >= 0 && first_unknown)
		r = sr_fail(first_unknown, "not understood, nothing imported: %s; understood: %s",
			    (const char *)not_understood.data, understood.len ? (const char *)understood.data : "nothing");
	if (r >= 0 && images.n)
		r = volset_open(images.v, images.n, &j->vs);
	free(images.v);
	buf_free(&understood);
	buf_free(&not_understood);
	return r;
}

static int job_run(struct catalog *c, struct import_job *j, bool keep_copies)
{
	VEC(struct catalog_doc) docs = { 0 };
	char g[GUID_STRING_MAX], h[GUID_STRING_MAX];
	int r;

	if (j->m.sets.n && !md_names_set(&j->m, &j->set))
		return sr_fail(-EINVAL, "the documents describe set {%s}, not {%s}", guid_format(&j->m.sets.v[0].id, g),
			       guid_format(&j->set, h));
	if (!j->set_known && !md_names_set(&j->m, &j->set) && !volset_names_set(j->vs, &j->set))
		return sr_fail(-ENOENT,
			       "no set {%s} in the catalog, and the documents do not name it (a BCD, a diskshadow .cab "
			       "or a listing names its set; writer metadata does not)",
			       guid_format(&j->set, g));
	r = md_finish(&j->m, &j->set);
	for (size_t i = 0; r >= 0 && i < j->n; i++)
		if (!j->in[i].image) {
			const char *b = strrchr(j->in[i].path, '/');
			struct catalog_doc d = { b ? b + 1 : j->in[i].path, j->in[i].data, j->in[i].len };
			r = vec_push(&docs, d);
		}
	if (r >= 0)
		r = catalog_begin(c);
	if (r < 0) {
		free(docs.v);
		return r;
	}
	r = catalog_import_md(c, &j->set, &j->m, docs.v, docs.n);
	for (size_t i = 0; r >= 0 && j->vs && i < j->vs->n; i++)
		r = catalog_import_vss(c, &j->set, j->vs->vols[i].name, NULL, j->vs->vols[i].vss);
	if (r >= 0)
		r = catalog_refresh_set(c, &j->set);
	if (r >= 0)
		r = catalog_commit(c);
	else
		catalog_rollback(c);
	/* kept beside the catalog so that `catalog rebuild` finds them again */
	for (size_t i = 0; r >= 0 && keep_copies && i < docs.n; i++) {
		uint8_t d[CRYPTO_DIGEST_SIZE];
		char dir[4096], path[4096 + 400];
		int e;

		crypto_sha256(docs.v[i].data, docs.v[i].len, d);
		snprintf(dir, sizeof(dir), "%s/%s/%s", c->dir, CATALOG_DOCS_DIR, guid_format(&j->set, g));
		snprintf(path, sizeof(path), "%s/%02x%02x%02x%02x%02x%02x%02x%02x-%s", dir, d[0], d[1], d[2], d[3], d[4],
			 d[5], d[6], d[7], docs.v[i].name);
		e = mkdir_p(dir, 0755);
		if (e >= 0)
			e = atomic_replace(path, docs.v[i].data, docs.v[i].len, 0644);
		if (e < 0)
			sr_warn("document '%s' is in the catalog but could not be kept in '%s' (catalog rebuild would "
				"lose it): %s", docs.v[i].name, dir, strerror(-e));
	}
	free(docs.v);
	return r;
}

int catalog_import_files(struct catalog *c, const struct sr_guid *set, char *const *paths, size_t n)
{
	struct import_job j = { .set = *set, .set_known = true };
	int r;

	r = job_load(&j, paths, n);
	if (r >= 0 && !md_is_empty(&j.m))
		r = job_run(c, &j, false);
	job_free(&j);
	return r;
}

/* ---- the verb ---- */

int catalog_cli_repo_dir(const char *opt, char **ret)
{
	const char *env = getenv("SHADOWREV_REPO");

	if (opt)
		return (*ret = strdup(opt)) ? 0 : -ENOMEM;
	if (env && *env)
		return (*ret = strdup(env)) ? 0 : -ENOMEM;
	return repo_default_dir(ret);
}

int catalog_cli_open(const char *repo_opt, const char *pass_file, struct catalog **ret)
{
	_cleanup_free_ char *dir = NULL;
	struct catalog *c = NULL;
	int r;

	r = catalog_cli_repo_dir(repo_opt, &dir);
	if (r < 0)
		return sr_error(r, "cannot find the repository");
	r = catalog_open(dir, &c);
	if (r < 0)
		return sr_error(r, "cannot open the catalog of '%s'", dir);
	r = catalog_set_passphrase_file(c, pass_file);
	if (r >= 0)
		r = catalog_sync(c, false, NULL);
	if (r < 0) {
		sr_error(r, "cannot bring the catalog of '%s' up to date", dir);
		catalog_free(c);
		return EXIT_FAILED;
	}
	*ret = c;
	return EXIT_OK;
}

enum { OPT_REPO = OPT_FIRST_VERB_OPTION, OPT_PASSFILE };

/* Add g to the IDs unless it is there already or is skip. */
static int id_add_new(struct sr_guid **v, size_t *n, size_t *cap, const struct sr_guid *skip, const struct sr_guid *g)
{
	int r;

	if (skip && guid_equal(skip, g))
		return 0;
	for (size_t i = 0; i < *n; i++)
		if (guid_equal(&(*v)[i], g))
			return 0;
	r = vec_grow_((void **)v, cap, *n + 1, sizeof(**v));
	if (r < 0)
		return r;
	(*v)[(*n)++] = *g;
	return 0;
}

/*
 * The sets the documents (and images) name, against text: when the catalog
 * knows no set of that prefix (ret != NULL), the one set of the documents it
 * names; when the catalog knows one (known != NULL), no other set of the
 * documents may match it too.
 */
static int doc_set_match(const struct import_job *j, const char *text, const struct sr_guid *known,
			 struct sr_guid *ret)
{
	VEC(struct sr_guid) ids = { 0 };
	char a[GUID_STRING_MAX], b[GUID_STRING_MAX];
	int r = 0;

	if (!known && !ret)
		return 0;
	for (size_t i = 0; r >= 0 && i < j->m.sets.n; i++)
		r = id_add_new(&ids.v, &ids.n, &ids.cap, known, &j->m.sets.v[i].id);
	for (size_t i = 0; r >= 0 && i < j->m.shadows.n; i++)
		if (j->m.shadows.v[i].has_set)
			r = id_add_new(&ids.v, &ids.n, &ids.cap, known, &j->m.shadows.v[i].set_id);
	for (size_t i = 0; r >= 0 && j->vs && i < j->vs->n; i++)
		for (unsigned k = 0; r >= 0 && k < vss_volume_store_count(j->vs->vols[i].vss); k++) {
			const struct vss_store_info *s = vss_volume_store(j->vs->vols[i].vss, k);
			if (s->has_data)
				r = id_add_new(&ids.v, &ids.n, &ids.cap, known, &s->set_id);
		}
	if (r < 0)
		goto out;
	r = guid_match(text, ids.v, ids.n, sizeof(struct sr_guid));
	if (known) {
		if (r >= 0)
			r = sr_fail(-ENOTUNIQ, "'%s' is the prefix of more than one set, {%s} in the catalog and {%s} in "
					       "the documents: give more digits", text, guid_format(known, a),
				    guid_format(&ids.v[r], b));
		else
			r = 0;
	} else if (r == -ENOENT)
		r = sr_fail(-ENOENT, "no set '%s' in the catalog, and the documents name none of that prefix (a BCD, "
				     "a diskshadow .cab or a listing names its set; writer metadata does not)", text);
	else if (r == -ENOTUNIQ)
		r = sr_fail(-ENOTUNIQ, "'%s' is the prefix of more than one set the documents name: give more digits",
			    text);
	else if (r == -EINVAL)
		r = sr_fail(-EINVAL, "'%s' is not a set ID or a prefix of one (at least %d hex digits)", text,
			    GUID_PREFIX_MIN);
	else if (r >= 0) {
		*ret = ids.v[r];
		r = 0;
	}
out:
	free(ids.v);
	return r;
}

static int import_verb(struct cli_common *cc, const char *repo_opt, const char *pass_file, char **args, int n)
{
	struct import_job j = { 0 };
	struct catalog *c = NULL;
	char g[GUID_STRING_MAX];
	bool by_prefix = false;
	int r, ex;

	if (n < 1)
		return cli_usage("catalog", "import: the set ID is missing");
	if (n < 2)
		return cli_usage("catalog", "import: no document given");
	ex = catalog_cli_open(repo_opt, pass_file, &c);
	if (ex != EXIT_OK)
		return ex;
	r = catalog_set_find(c, args[0], &j.set);
	if (r >= 0)
		j.set_known = true;
	else if (r == -ENOENT) {
		/* a whole ID, or the prefix of the set the documents name (resolved once they are read) */
		sr_errclear();
		by_prefix = guid_parse(args[0], &j.set) < 0;
		j.set_known = false;
	} else {
		catalog_free(c);
		return sr_error(r, "cannot import into set '%s'", args[0]);
	}
	r = job_load(&j, args + 1, (size_t)(n - 1));
	if (r < 0) {
		ex = sr_error(r, "cannot import");
		goto out;
	}
	r = doc_set_match(&j, args[0], j.set_known ? &j.set : NULL, by_prefix ? &j.set : NULL);
	if (r < 0) {
		ex = sr_error(r, "cannot import into set '%s'", args[0]);
		goto out;
	}
	if (md_is_empty(&j.m) && !j.vs) {
		if (cc->json) {
			struct json js;
			json_init(&js, stdout, true);
			json_obj_begin(&js);
			json_kstr(&js, "set_id", guid_format(&j.set, g));
			json_ku64(&js, "documents", j.n_docs);
			json_kbool(&js, "imported", false);
			json_obj_end(&js);
			json_end(&js);
		} else if (sr_verbosity)
			printf("Nothing to import: the documents hold no set, shadow copy, writer or storage association.\n");
		ex = EXIT_OK;
		goto out;
	}
	r = job_run(c, &j, true);
	if (r < 0) {
		ex = sr_error(r, "cannot import into set '%s'", args[0]);
		goto out;
	}
	if (cc->json) {
		struct json js;
		json_init(&js, stdout, true);
		json_obj_begin(&js);
		json_kstr(&js, "set_id", guid_format(&j.set, g));
		json_ku64(&js, "documents", j.n_docs);
		json_ku64(&js, "images", j.n_images);
		json_ku64(&js, "sets", j.m.sets.n);
		json_ku64(&js, "shadows", j.m.shadows.n);
		json_ku64(&js, "writers", j.m.writers.n);
		json_ku64(&js, "storage_associations", j.m.storage.n);
		json_kbool(&js, "imported", true);
		json_obj_end(&js);
		json_end(&js);
	} else if (sr_verbosity) {
		printf("Imported %u document(s)%s into set {%s}: %zu set(s), %zu shadow copies, %zu writer(s), %zu shadow "
		       "storage association(s).\n",
		       j.n_docs, j.n_images ? " and image(s)" : "", guid_format(&j.set, g), j.m.sets.n, j.m.shadows.n,
		       j.m.writers.n, j.m.storage.n);
	}
	ex = EXIT_OK;
out:
	job_free(&j);
	catalog_free(c);
	return ex;
}

static int rebuild_verb(struct cli_common *cc, const char *repo_opt, const char *pass_file, int n)
{
	_cleanup_free_ char *dir = NULL;
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct catalog *c = NULL;
	unsigned sets = 0;
	long long n_sets = 0, n_shadows = 0;
	int r;

	if (n > 0)
		return cli_usage("catalog", "rebuild takes no arguments");
	r = catalog_cli_repo_dir(repo_opt, &dir);
	if (r < 0)
		return sr_error(r, "cannot find the repository");
	r = catalog_open(dir, &c);
	if (r < 0)
		return sr_error(r, "cannot open the catalog of '%s'", dir);
	r = catalog_set_passphrase_file(c, pass_file);
	if (r >= 0)
		r = catalog_sync(c, true, &sets);
	if (r >= 0)
		r = catalog_prepare(c, "SELECT (SELECT count(*) FROM sets), (SELECT count(*) FROM shadows)", &st);
	if (r >= 0 && sqlite3_step(st) == SQLITE_ROW) {
		n_sets = sqlite3_column_int64(st, 0);
		n_shadows = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(TAKE_PTR(st));
	catalog_free(c);
	if (r < 0)
		return sr_error(r, "cannot rebuild the catalog of '%s'", dir);
	if (cc->json) {
		struct json js;
		json_init(&js, stdout, true);
		json_obj_begin(&js);
		json_kstr(&js, "repo", dir);
		json_ku64(&js, "repository_sets", sets);
		json_ku64(&js, "sets", (uint64_t)n_sets);
		json_ku64(&js, "shadows", (uint64_t)n_shadows);
		json_obj_end(&js);
		json_end(&js);
	} else if (sr_verbosity)
		printf("Catalog rebuilt from %u repository set(s): %lld set(s), %lld shadow copies.\n", sets, n_sets,
		       n_shadows);
	return EXIT_OK;
}

int cmd_catalog(int argc, char **argv)
{
	static const struct option opts[] = { CLI_COMMON_LONG_OPTIONS, { "repo", required_argument, NULL, OPT_REPO },
					      { "passphrase-file", required_argument, NULL, OPT_PASSFILE },
					      { 0 } };
	struct cli_common c = { 0 };
	const char *repo_opt = NULL, *pass_file = NULL;
	int o, ex;

	while ((o = cli_getopt(argc, argv, "", opts)) != -1) {
		if (o == '?' || o == ':')
			return cli_bad_option("catalog", o, argc, argv);
		if (o == OPT_REPO) {
			repo_opt = optarg;
			continue;
		}
		if (o == OPT_PASSFILE) {
			pass_file = optarg;
			continue;
		}
		if (cli_common_option(&c, "catalog", o, optarg, &ex) < 0)
			return ex;
	}
	if (optind >= argc)
		return cli_usage("catalog", "what to do is missing (import, rebuild)");
	if (strcmp(argv[optind], "import") == 0)
		return import_verb(&c, repo_opt, pass_file, argv + optind + 1, argc - optind - 1);
	if (strcmp(argv[optind], "rebuild") == 0)
		return rebuild_verb(&c, repo_opt, pass_file, argc - optind - 1);
	return cli_usage("catalog", "cannot '%s' (known: import, rebuild)", argv[optind]);
}
