/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * catalog/catalog.h: the SQLite catalog. Oracles: the hand-made documents in
 * tests/fuzz/corpus/ (their IDs written down here), SQLite itself read with
 * plain queries, and the rules of metadata-formats.md §5 for consistency.
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "catalog/metadata.h"
#include "core/io.h"
#include "core/log.h"
#include "tap.h"

#define SET_A "5a1e0c2d-7b3f-4e21-9d8a-0f6b2c4d8e10"
#define SET_B "c0ffee00-1234-4abc-8def-0123456789ab"

static char dir[] = "/tmp/test-catalog.XXXXXX";

static int import_file(struct catalog *c, const char *set_text, const char *path)
{
	struct sr_guid set;
	struct md m;
	void *b = NULL;
	size_t n = 0;
	int r;

	if (guid_parse(set_text, &set) < 0)
		return -EINVAL;
	r = read_file(path, 64u << 20, &b, &n);
	if (r < 0)
		return r;
	md_init(&m);
	r = md_parse_document(&m, path, b, n);
	if (r >= 0)
		r = md_finish(&m, &set);
	if (r >= 0) {
		struct catalog_doc d = { path, b, n };
		r = catalog_import_md(c, &set, &m, &d, 1);
	}
	md_free(&m);
	free(b);
	return r;
}

static long long query_int(const char *sql)
{
	char path[256];
	sqlite3 *db;
	sqlite3_stmt *st;
	long long v = -1;

	snprintf(path, sizeof(path), "%s/%s", dir, CATALOG_FILE);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		return -2;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static char *query_str(const char *sql)
{
	char path[256];
	sqlite3 *db;
	sqlite3_stmt *st;
	char *v = NULL;

	snprintf(path, sizeof(path), "%s/%s", dir, CATALOG_FILE);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		return NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_text(st, 0))
		v = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void is_query(const char *sql, const char *want, const char *what)
{
	char *v = query_str(sql);
	is_str(v, want, "%s", what);
	free(v);
}

int main(void)
{
	struct catalog *c = NULL;
	struct sr_guid g;
	char buf[GUID_STRING_MAX];
	int r;

	if (!mkdtemp(dir)) {
		diag("mkdtemp: %s", strerror(errno));
		return 1;
	}
	is_int(catalog_open("/nonexistent/dir", &c), -ENOENT, "no directory: -ENOENT");
	sr_errclear();
	is_int(catalog_open(dir, &c), 0, "open creates the catalog");
	is_int(query_int("PRAGMA user_version"), CATALOG_SCHEMA_VERSION, "schema version recorded");
	is_int(catalog_sync(c, false, NULL), 0, "sync of a directory without a repository");

	/* a listing with two sets, then a cab for one of them */
	is_int(import_file(c, SET_A, "tests/fuzz/corpus/listing/vssadmin-shadows-de.txt"), 0, "import listing");
	is_int(query_int("SELECT count(*) FROM sets"), 2, "two sets");
	is_int(query_int("SELECT count(*) FROM shadows"), 3, "three shadow copies");
	is_query("SELECT consistency FROM sets WHERE set_id = '" SET_B "'", "file-system-consistent",
		 "set B: No writers -> file-system-consistent");
	is_query("SELECT consistency FROM sets WHERE set_id = '" SET_A "'", "application-consistent",
		 "set A: ClientAccessibleWriters -> application-consistent");
	is_int(query_int("SELECT count(*) FROM volumes WHERE set_id = '" SET_B "'"), 2, "set B: two volumes");

	is_int(import_file(c, SET_A, "tests/fuzz/corpus/archive/writers.cab"), 0, "import cab");
	is_int(query_int("SELECT count(*) FROM writers WHERE set_id = '" SET_A "'"), 3, "set A: three writers");
	is_query("SELECT consistency FROM writers WHERE writer_id = 'deadbeef-0000-4000-8000-00000000beef'",
		 "crash-consistent", "a writer with metadata only is crash-consistent");
	is_query("SELECT consistency FROM writers WHERE writer_id = '11111111-2222-4333-8444-555555555555'",
		 "application-consistent", "a participating writer is application-consistent");
	is_int(query_int("SELECT count(*) FROM components WHERE selected"), 3, "three selected components");
	is_query("SELECT type FROM components WHERE name = 'db1'", "filegroup", "the writer's own component type wins");
	/* the manifest's shadow b4d5e6f7 was first listed in set B: a lesser source does not move it */
	is_query("SELECT set_id FROM shadows WHERE shadow_id = 'b4d5e6f7-2c3e-4d4f-9a0b-1c2d3e4f5a61'", SET_B,
		 "a shadow copy keeps its first set");
	is_int(query_int("SELECT count(*) FROM documents"), 2, "both documents kept verbatim");
	/* the same document again: idempotent */
	is_int(import_file(c, SET_A, "tests/fuzz/corpus/archive/writers.cab"), 0, "import cab again");
	is_int(query_int("SELECT count(*) FROM documents"), 2, "documents are not duplicated");
	is_int(query_int("SELECT count(*) FROM writers"), 3, "writers are not duplicated");

	/* IDs */
	is_int(catalog_set_find(c, "{5A1E0C2D-7B3F-4E21-9D8A-0F6B2C4D8E10}", &g), 0, "set by braced upper-case ID");
	is_str(guid_format(&g, buf), SET_A, "the set found");
	is_int(catalog_set_find(c, "c0ff", &g), 0, "set by 4-digit prefix");
	is_int(catalog_set_find(c, "c0f", &g), -EINVAL, "3 digits are too few");
	sr_errclear();
	is_int(catalog_set_find(c, "99999999", &g), -ENOENT, "unknown set");
	sr_errclear();
	is_int(catalog_shadow_find(c, "0badf00d", &g), 0, "shadow by prefix");
	is_int(import_file(c, "5a1e0c2d-0000-4000-8000-000000000000",
			   "tests/fuzz/corpus/listing/vssadmin-empty.txt"),
	       0, "an empty listing imports");
	is_int(query_int("SELECT count(*) FROM sets WHERE set_id LIKE '5a1e0c2d%'"), 2,
	       "(the set given is created: the command layer refuses unnamed sets)");
	is_int(catalog_set_find(c, "5a1e0c2d", &g), -ENOTUNIQ, "ambiguous prefix");
	sr_errclear();

	/* storage */
	is_int(import_file(c, SET_A, "tests/fuzz/corpus/listing/vssadmin-storage-cycle.txt"), 0, "import storage");
	is_int(query_int("SELECT count(*) FROM storage"), 2, "two associations");
	is_int(import_file(c, SET_A, "tests/fuzz/corpus/listing/vssadmin-storage-cycle.txt"), 0, "storage again");
	is_int(query_int("SELECT count(*) FROM storage"), 2, "associations are not duplicated");

	/* a newer schema is refused, not touched */
	catalog_free(c);
	c = NULL;
	{
		char path[256];
		sqlite3 *db;
		snprintf(path, sizeof(path), "%s/%s", dir, CATALOG_FILE);
		if (sqlite3_open(path, &db) == SQLITE_OK) {
			sqlite3_exec(db, "PRAGMA user_version = 7", NULL, NULL, NULL);
			sqlite3_close(db);
		}
	}
	r = catalog_open(dir, &c);
	is_int(r, -EPROTONOSUPPORT, "schema version 7 refused");
	sr_errclear();
	is_int(query_int("PRAGMA user_version"), 7, "and left as it was");
	catalog_free(c);

	{
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			diag("cannot remove %s", dir);
	}
	return tap_done();
}
