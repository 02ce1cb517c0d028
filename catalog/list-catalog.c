/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `shadowrev list sets|shadows|volumes|writers|storage`: the catalog, in diskshadow's words or as JSON. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <string.h>

#include "catalog-internal.h"
#include "core/buf.h"
#include "core/filetime.h"
#include "core/json.h"
#include "core/log.h"
#include "core/macro.h"
#include "core/progress.h"
#include "list-internal.h"

/* A nullable text column: NULL when the column is NULL (borrowed until the next step). */
static const char *col_or_null(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? NULL : (const char *)sqlite3_column_text(st, i);
}

static bool col_is_null(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL;
}

static void jstr_col(struct json *j, const char *key, sqlite3_stmt *st, int i)
{
	json_key(j, key);
	if (col_is_null(st, i))
		json_null(j);
	else
		json_str(j, (const char *)sqlite3_column_text(st, i));
}

static void jint_col(struct json *j, const char *key, sqlite3_stmt *st, int i)
{
	json_key(j, key);
	if (col_is_null(st, i))
		json_null(j);
	else
		json_i64(j, sqlite3_column_int64(st, i));
}

static void jbool_col(struct json *j, const char *key, sqlite3_stmt *st, int i)
{
	json_key(j, key);
	if (col_is_null(st, i))
		json_null(j);
	else
		json_bool(j, sqlite3_column_int(st, i) != 0);
}

static void jtime_col(struct json *j, const char *key, sqlite3_stmt *st, int i)
{
	char t[FILETIME_STRING_MAX];

	json_key(j, key);
	if (col_is_null(st, i))
		json_null(j);
	else
		json_str(j, filetime_format((uint64_t)sqlite3_column_int64(st, i), t, sizeof(t)));
}

/* A row's columns as JSON members, in the order given. */
enum jkind { J_STR, J_INT, J_BOOL, J_TIME };
struct jcol {
	const char *key;
	int col;
	enum jkind kind;
};

static void json_cols(struct json *j, sqlite3_stmt *st, const struct jcol *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		switch (v[i].kind) {
		case J_STR: jstr_col(j, v[i].key, st, v[i].col); break;
		case J_INT: jint_col(j, v[i].key, st, v[i].col); break;
		case J_BOOL: jbool_col(j, v[i].key, st, v[i].col); break;
		case J_TIME: jtime_col(j, v[i].key, st, v[i].col); break;
		}
}

/* The start of a listing as JSON: {"<key>": [ */
static void json_list_begin(struct json *j, const char *key)
{
	json_init(j, stdout, true);
	json_obj_begin(j);
	json_key(j, key);
	json_arr_begin(j);
}

static void text_line(const char *label, const char *value)
{
	if (value && *value)
		printf("\t- %s: %s\n", label, value);
}

/* "2013-12-03T06:35:09.7363787Z", or the listing's own words "(as printed) ...". */
static const char *time_words(sqlite3_stmt *st, int ft, int text, char *buf, size_t size)
{
	if (!col_is_null(st, ft))
		return filetime_format((uint64_t)sqlite3_column_int64(st, ft), buf, size);
	if (!col_is_null(st, text)) {
		snprintf(buf, size, "%s (local time, as printed)", catalog_col(st, text));
		return buf;
	}
	return NULL;
}


/*
 * Where a set comes from: "captured" (in the repository), a VSS shadow copy
 * inside a captured volume ("shadow-copy-in-capture") or inside a volume image
 * given to `catalog import` ("shadow-copy-in-image"), or "imported" (documents).
 */
static const char *set_source(sqlite3_stmt *st)
{
	const char *o = catalog_col(st, 1);

	if (strcmp(o, "repository") == 0)
		return "captured";
	if (strcmp(o, "vss-store") == 0)
		return sqlite3_column_int(st, 18) ? "shadow-copy-in-capture" : "shadow-copy-in-image";
	return "imported";
}

/* The set that holds it: itself when captured, the set whose volume holds its VSS store. */
static const char *set_held_in(sqlite3_stmt *st)
{
	if (strcmp(catalog_col(st, 1), "repository") == 0)
		return catalog_col(st, 0);
	return col_or_null(st, 13);
}

/* A list of names separated by char(30) as a JSON array ([] for NULL). */
static void json_names(struct json *j, const char *key, const char *list)
{
	json_key(j, key);
	json_arr_begin(j);
	for (const char *p = list; p && *p;) {
		const char *e = strchr(p, 30);
		size_t len = e ? (size_t)(e - p) : strlen(p);
		json_strn(j, p, len);
		p += len + (e ? 1 : 0);
	}
	json_arr_end(j);
}

static void text_names(const char *label, const char *list)
{
	if (!list)
		return;
	printf("\t- %s: ", label);
	for (const char *p = list; *p;) {
		const char *e = strchr(p, 30);
		size_t len = e ? (size_t)(e - p) : strlen(p);
		printf("%s%.*s", p != list ? ", " : "", (int)len, p);
		p += len + (e ? 1 : 0);
	}
	printf("\n");
}

/* One set as a compact JSON object (`list sets --json` prints one per line). */
static void json_set(struct json *j, sqlite3_stmt *st)
{
	static const struct jcol a[] = {
		{ "instance", 2, J_STR },         { "machine", 3, J_STR },
		{ "creation_time", 4, J_TIME },   { "creation_filetime", 4, J_INT },
		{ "creation_time_text", 5, J_STR }, { "backup_type", 6, J_STR },
		{ "context", 7, J_INT },          { "bootable_system_state", 8, J_BOOL },
		{ "shadow_count_at_creation", 9, J_INT }, { "shadows", 14, J_INT },
		{ "consistency", 10, J_STR },     { "consistency_reason", 11, J_STR },
	}, b[] = {
		{ "in_repository", 12, J_BOOL }, { "found_in", 13, J_STR },
	};
	const char *vols = col_or_null(st, 15);

	json_obj_begin(j);
	jstr_col(j, "set_id", st, 0);
	jstr_col(j, "origin", st, 1);
	json_kstr(j, "source", set_source(st));
	json_kstr(j, "held_in", set_held_in(st));
	json_cols(j, st, a, ARRAY_SIZE(a));
	json_names(j, "writers_taking_part", col_or_null(st, 16));
	json_names(j, "writers_not_taking_part", col_or_null(st, 17));
	json_cols(j, st, b, ARRAY_SIZE(b));
	json_key(j, "volumes");
	json_arr_begin(j);
	for (const char *p = vols; p && *p;) {
		const char *end = strchr(p, 30), *f1, *f2;
		size_t len = end ? (size_t)(end - p) : strlen(p);

		f1 = memchr(p, 31, len);
		f2 = f1 ? memchr(f1 + 1, 31, len - (size_t)(f1 + 1 - p)) : NULL;
		json_obj_begin(j);
		if (f1 && f2) {
			json_key(j, "drive");
			if (f1 > p)
				json_strn(j, p, (size_t)(f1 - p));
			else
				json_null(j);
			json_key(j, "guid_path");
			if (f2 > f1 + 1)
				json_strn(j, f1 + 1, (size_t)(f2 - f1 - 1));
			else
				json_null(j);
			json_key(j, "name");
			json_strn(j, f2 + 1, len - (size_t)(f2 + 1 - p));
		}
		json_obj_end(j);
		p = end ? end + 1 : p + len;
	}
	json_arr_end(j);
	json_obj_end(j);
}

/* ---- sets ---- */

static int list_sets(struct catalog *c, bool json)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	unsigned n = 0, n_src[3] = { 0, 0, 0 };
	int r, rc = SQLITE_DONE;

	r = catalog_prepare(c,
			    "SELECT s.set_id, s.origin, s.instance, s.machine, s.created_ft, s.created_text, s.backup_type,"
			    " s.context, s.bootable, s.shadow_count, s.consistency, s.consistency_reason, s.in_repository,"
			    " s.found_in,"
			    " s.n_shadows, s.volume_list,"
			    " (SELECT group_concat(x, char(30)) FROM (SELECT coalesce(w.name, 'writer {' || w.writer_id || '}') ||"
			    "   coalesce(' (' || w.instance_name || ')', '') AS x FROM writers w WHERE w.set_id = s.set_id AND "
			    CATALOG_WRITER_TOOK_PART("w") " ORDER BY x)),"
			    " (SELECT group_concat(x, char(30)) FROM (SELECT coalesce(w.name, 'writer {' || w.writer_id || '}') ||"
			    "   coalesce(' (' || w.instance_name || ')', '') AS x FROM writers w WHERE w.set_id = s.set_id AND NOT "
			    CATALOG_WRITER_TOOK_PART("w") " ORDER BY x)),"
			    " (SELECT f.in_repository FROM sets f WHERE f.set_id = s.found_in)"
			    " FROM sets s ORDER BY coalesce(s.created_ft, 0), s.set_id",
			    &st);
	if (r < 0)
		return r;
	if (json)
		fputs("{\"sets\": [\n", stdout);
	while (r >= 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *vols = col_or_null(st, 15);
		char t[FILETIME_STRING_MAX + 64];

		n++;
		n_src[strcmp(set_source(st), "captured") == 0 ? 0 : strcmp(set_source(st), "imported") == 0 ? 2 : 1]++;
		if (json) {
			struct json j;

			/* one compact object per line: a file of 10,000 sets stays readable with grep */
			if (n > 1)
				fputs(",\n", stdout);
			json_init(&j, stdout, false);
			json_set(&j, st);
			continue;
		}
		printf("* Snapshot set ID = {%s}\n", catalog_col(st, 0));
		text_line("Origin", catalog_col(st, 1));
		if (strcmp(set_source(st), "captured") == 0)
			printf("\t- Source: captured (in the repository)\n");
		else if (strcmp(set_source(st), "shadow-copy-in-capture") == 0)
			printf("\t- Source: a shadow copy inside a volume of captured set {%s}\n", set_held_in(st));
		else if (set_held_in(st))
			printf("\t- Source: a shadow copy inside a volume image imported into set {%s}\n", set_held_in(st));
		else
			printf("\t- Source: imported (metadata documents)\n");
		text_line("Instance", col_or_null(st, 2));
		text_line("Machine", col_or_null(st, 3));
		text_line("Creation time", time_words(st, 4, 5, t, sizeof(t)));
		text_line("Backup type", col_or_null(st, 6));
		if (!col_is_null(st, 9))
			printf("\t- Shadow copies: %lld (%d at creation)\n", (long long)sqlite3_column_int64(st, 14),
			       sqlite3_column_int(st, 9));
		else
			printf("\t- Shadow copies: %lld\n", (long long)sqlite3_column_int64(st, 14));
		if (vols) {
			printf("\t- Volumes:");
			for (const char *p = vols, *sep = " "; *p; sep = ", ") {
				const char *end = strchr(p, 30), *f1;
				size_t len = end ? (size_t)(end - p) : strlen(p);
				f1 = memchr(p, 31, len);
				if (f1 && f1 > p)
					printf("%s%.*s", sep, (int)(f1 - p), p);
				else if (f1) {
					const char *f2 = memchr(f1 + 1, 31, len - (size_t)(f1 + 1 - p));
					if (f2 && f2 > f1 + 1)
						printf("%s%.*s", sep, (int)(f2 - f1 - 1), f1 + 1);
					else if (f2)
						printf("%s%.*s", sep, (int)(len - (size_t)(f2 + 1 - p)), f2 + 1);
				}
				p = end ? end + 1 : p + len;
			}
			printf("\n");
		}
		printf("\t- Consistency: %s (%s)\n", catalog_col(st, 10), catalog_col(st, 11));
		text_names("Writers taking part", col_or_null(st, 16));
		text_names("Writers not taking part (their data is crash-consistent only)", col_or_null(st, 17));
		printf("\n");
	}
	if (r >= 0 && rc != SQLITE_DONE)
		r = catalog_sqlite_error(c, rc, "cannot list sets");
	if (r >= 0 && json) {
		fputs(n ? "\n]}\n" : "]}\n", stdout);
		fflush(stdout);
	} else if (r >= 0 && n == 0)
		printf("Number of snapshot sets listed: 0\n");
	else if (r >= 0)
		printf("Number of snapshot sets listed: %u (%u captured, the ones `shadowrev sets` lists; %u shadow "
		       "copies inside captured volumes or images; %u imported from documents)\n",
		       n, n_src[0], n_src[1], n_src[2]);
	return r;
}

/* ---- shadows ---- */

/* The end of a listing: a SQLite error, or the JSON closed, or diskshadow's count line. */
static int list_finish(struct catalog *c, int rc, bool json, struct json *j, const char *what, unsigned n)
{
	char msg[64];

	if (rc != SQLITE_DONE) {
		snprintf(msg, sizeof(msg), "cannot list %s", what);
		return catalog_sqlite_error(c, rc, msg);
	}
	if (json) {
		json_arr_end(j);
		json_obj_end(j);
		json_end(j);
	} else
		printf("Number of %s listed: %u\n", what, n);
	return 0;
}

static int list_shadows(struct catalog *c, bool json, const char *set)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct json j;
	unsigned n = 0;
	int r, rc;

	r = catalog_prepare(c,
			    "SELECT h.shadow_id, h.set_id, h.origin, h.volume_guid_path, h.volume_name, h.captured_in,"
			    " h.store_id, h.store_index, h.created_ft, h.created_text, h.context, h.attributes,"
			    " h.attributes_known, h.attribute_text, h.originating_machine, h.service_machine, h.device,"
			    " h.provider, h.type, h.exposure, h.alias, h.volume_size, h.storage, s.consistency"
			    " FROM shadows h LEFT JOIN sets s ON s.set_id = h.set_id"
			    " WHERE ?1 IS NULL OR h.set_id = ?1"
			    " ORDER BY coalesce(h.created_ft, s.created_ft, 0), h.set_id, h.volume_name, h.shadow_id",
			    &st);
	if (r < 0)
		return r;
	catalog_bind_text(st, 1, set);
	if (json)
		json_list_begin(&j, "shadows");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char t[FILETIME_STRING_MAX + 64], buf[600];

		n++;
		if (json) {
			static const struct jcol a[] = {
				{ "shadow_id", 0, J_STR },       { "set_id", 1, J_STR },
				{ "origin", 2, J_STR },          { "volume_guid_path", 3, J_STR },
				{ "volume_name", 4, J_STR },     { "captured_in", 5, J_STR },
				{ "store_id", 6, J_STR },        { "store_index", 7, J_INT },
				{ "creation_time", 8, J_TIME },  { "creation_filetime", 8, J_INT },
				{ "creation_time_text", 9, J_STR }, { "context", 10, J_INT },
			}, b[] = {
				{ "attributes", 11, J_INT },     { "attributes_complete", 12, J_BOOL },
				{ "attribute_names", 13, J_STR }, { "originating_machine", 14, J_STR },
				{ "service_machine", 15, J_STR }, { "device", 16, J_STR },
				{ "provider", 17, J_STR },       { "type", 18, J_STR },
				{ "exposure", 19, J_STR },       { "alias", 20, J_STR },
				{ "volume_size", 21, J_INT },    { "storage", 22, J_STR },
				{ "set_consistency", 23, J_STR },
			};
			const char *ctx = col_is_null(st, 10) ? NULL : vss_context_name((uint32_t)sqlite3_column_int64(st, 10));
			json_obj_begin(&j);
			json_cols(&j, st, a, ARRAY_SIZE(a));
			json_key(&j, "context_name");
			if (ctx)
				json_str(&j, ctx);
			else
				json_null(&j);
			json_cols(&j, st, b, ARRAY_SIZE(b));
			json_obj_end(&j);
			continue;
		}
		printf("* Shadow copy ID = {%s}", catalog_col(st, 0));
		if (!col_is_null(st, 20))
			printf("\t%%%s%%", catalog_col(st, 20));
		printf("\n");
		printf("\t- Shadow copy set: {%s}\n", catalog_col(st, 1));
		if (!col_is_null(st, 3) && !col_is_null(st, 4))
			snprintf(buf, sizeof(buf), "%s [%s]", catalog_col(st, 3), catalog_col(st, 4));
		else
			snprintf(buf, sizeof(buf), "%s", !col_is_null(st, 3) ? catalog_col(st, 3) : catalog_col(st, 4));
		text_line("Original volume name", buf);
		text_line("Creation time", time_words(st, 8, 9, t, sizeof(t)));
		text_line("Shadow copy device name", col_or_null(st, 16));
		text_line("Originating machine", col_or_null(st, 14));
		text_line("Service machine", col_or_null(st, 15));
		text_line("Exposure", col_or_null(st, 19));
		text_line("Provider", col_or_null(st, 17));
		if (!col_is_null(st, 10)) {
			uint32_t ctx = (uint32_t)sqlite3_column_int64(st, 10);
			const char *name = vss_context_name(ctx);
			printf("\t- Context: 0x%x%s%s%s\n", ctx, name ? " (" : "", name ? name : "", name ? ")" : "");
		}
		text_line("Type", col_or_null(st, 18));
		if (!col_is_null(st, 11)) {
			printf("\t- Attributes: 0x%08" PRIx32 " %s\n", (uint32_t)sqlite3_column_int64(st, 11),
			       catalog_col(st, 13));
		}
		if (!strcmp(catalog_col(st, 2), "vss-store")) {
			printf("\t- Origin: VSS store %d inside captured volume %s of set {%s}\n", sqlite3_column_int(st, 7),
			       catalog_col(st, 4), catalog_col(st, 5));
			printf("\t- Store ID: {%s}\n", catalog_col(st, 6));
			text_line("Shadow storage", col_or_null(st, 22));
		} else if (!strcmp(catalog_col(st, 2), "captured-volume"))
			printf("\t- Origin: captured volume %s in the repository\n", catalog_col(st, 4));
		else
			printf("\t- Origin: metadata documents\n");
		text_line("Set consistency", col_or_null(st, 23));
		printf("\n");
	}
	return list_finish(c, rc, json, &j, "shadow copies", n);
}

/* ---- volumes ---- */

static int list_volumes(struct catalog *c, bool json, const char *set)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct json j;
	unsigned n = 0;
	int r, rc;

	r = catalog_prepare(c,
			    "SELECT v.set_id, v.volume_key, v.guid_path, v.name, v.drive, v.label, v.filesystem, v.size,"
			    " v.disk, v.partition, v.offset, v.is_system, v.is_boot, v.shadow_id, v.origin"
			    " FROM volumes v LEFT JOIN sets s ON s.set_id = v.set_id WHERE ?1 IS NULL OR v.set_id = ?1"
			    " ORDER BY coalesce(s.created_ft, 0), v.set_id, coalesce(v.drive, v.name, v.guid_path)",
			    &st);
	if (r < 0)
		return r;
	catalog_bind_text(st, 1, set);
	if (json)
		json_list_begin(&j, "volumes");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		n++;
		if (json) {
			static const struct jcol a[] = {
				{ "set_id", 0, J_STR },     { "drive", 4, J_STR },      { "guid_path", 2, J_STR },
				{ "name", 3, J_STR },       { "label", 5, J_STR },      { "filesystem", 6, J_STR },
				{ "size", 7, J_INT },       { "disk", 8, J_INT },       { "partition", 9, J_INT },
				{ "offset", 10, J_INT },    { "system", 11, J_BOOL },   { "boot", 12, J_BOOL },
				{ "shadow_id", 13, J_STR }, { "origin", 14, J_STR },
			};
			json_obj_begin(&j);
			json_cols(&j, st, a, ARRAY_SIZE(a));
			json_obj_end(&j);
			continue;
		}
		printf("* Volume %s in set {%s}\n",
		       !col_is_null(st, 4) ? catalog_col(st, 4) : !col_is_null(st, 3) ? catalog_col(st, 3) : catalog_col(st, 2),
		       catalog_col(st, 0));
		text_line("Volume name", col_or_null(st, 2));
		text_line("Name", col_or_null(st, 3));
		text_line("Label", col_or_null(st, 5));
		text_line("File system", col_or_null(st, 6));
		if (!col_is_null(st, 7)) {
			char sz[32];
			format_bytes((uint64_t)sqlite3_column_int64(st, 7), sz, sizeof(sz));
			printf("\t- Size: %s (%lld bytes)\n", sz, (long long)sqlite3_column_int64(st, 7));
		}
		if (!col_is_null(st, 8))
			printf("\t- Disk: %d, partition %d, offset %lld\n", sqlite3_column_int(st, 8),
			       sqlite3_column_int(st, 9), (long long)sqlite3_column_int64(st, 10));
		if (sqlite3_column_int(st, 11) || sqlite3_column_int(st, 12))
			printf("\t- Roles:%s%s\n", sqlite3_column_int(st, 11) ? " system" : "",
			       sqlite3_column_int(st, 12) ? " boot" : "");
		if (!col_is_null(st, 13))
			printf("\t- Shadow copy ID: {%s}\n", catalog_col(st, 13));
		text_line("Origin", col_or_null(st, 14));
		printf("\n");
	}
	return list_finish(c, rc, json, &j, "volumes", n);
}

/* ---- writers ---- */

static int list_writers(struct catalog *c, bool json, const char *set)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL, *ks = NULL;
	struct json j;
	unsigned n = 0;
	int r, rc;

	r = catalog_prepare(c,
			    "SELECT w.set_id, nullif(w.writer_id, ''), CASE WHEN w.writer_id = '' THEN NULL ELSE w.instance_id END,"
			    " w.name, w.instance_name, w.usage, w.data_source,"
			    " w.restore_method, w.reboot_required, w.in_bcd, w.has_metadata, w.consistency,"
			    " w.consistency_reason,"
			    " " CATALOG_WRITER_TOOK_PART("w") ", w.writer_id, w.instance_id"
			    " FROM writers w LEFT JOIN sets s ON s.set_id = w.set_id WHERE ?1 IS NULL OR w.set_id = ?1"
			    " ORDER BY coalesce(s.created_ft, 0), w.set_id, w.in_bcd DESC, w.name, w.writer_id",
			    &st);
	if (r >= 0)
		r = catalog_prepare(c,
				    "SELECT logical_path, name, caption, type, selected FROM components WHERE set_id = ?1 AND"
				    " writer_id = ?2 AND instance_id = ?3 ORDER BY selected DESC, logical_path, name",
				    &ks);
	if (r < 0)
		return r;
	catalog_bind_text(st, 1, set);
	if (json)
		json_list_begin(&j, "writers");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		bool participating = sqlite3_column_int(st, 13) > 0;

		n++;
		sqlite3_reset(ks);
		catalog_bind_text(ks, 1, catalog_col(st, 0));
		catalog_bind_text(ks, 2, catalog_col(st, 14));
		catalog_bind_text(ks, 3, catalog_col(st, 15));
		if (json) {
			static const struct jcol a[] = {
				{ "set_id", 0, J_STR },         { "writer_id", 1, J_STR },
				{ "instance_id", 2, J_STR },    { "name", 3, J_STR },
				{ "instance_name", 4, J_STR },  { "usage", 5, J_STR },
				{ "data_source", 6, J_STR },    { "restore_method", 7, J_STR },
				{ "reboot_required", 8, J_BOOL },
			}, b[] = {
				{ "in_backup_components", 9, J_BOOL }, { "has_metadata", 10, J_BOOL },
				{ "consistency", 11, J_STR },          { "consistency_reason", 12, J_STR },
			}, k[] = {
				{ "logical_path", 0, J_STR }, { "name", 1, J_STR }, { "caption", 2, J_STR },
				{ "type", 3, J_STR },         { "selected", 4, J_BOOL },
			};
			json_obj_begin(&j);
			json_cols(&j, st, a, ARRAY_SIZE(a));
			json_kbool(&j, "participating", participating);
			json_cols(&j, st, b, ARRAY_SIZE(b));
			json_key(&j, "components");
			json_arr_begin(&j);
			while (sqlite3_step(ks) == SQLITE_ROW) {
				json_obj_begin(&j);
				json_cols(&j, ks, k, ARRAY_SIZE(k));
				json_obj_end(&j);
			}
			json_arr_end(&j);
			json_obj_end(&j);
			continue;
		}
		printf("* Writer name: \"%s\"\n", col_is_null(st, 3) ? "(unknown: no writer metadata)" : catalog_col(st, 3));
		printf("\t- Snapshot set: {%s}\n", catalog_col(st, 0));
		if (col_is_null(st, 1))
			printf("\t- Writer Id: (unknown: named by a listing)\n");
		else {
			printf("\t- Writer Id: {%s}\n", catalog_col(st, 1));
			printf("\t- Writer Instance Id: {%s}\n", catalog_col(st, 2));
		}
		text_line("Writer Instance Name", col_or_null(st, 4));
		text_line("Usage type", col_or_null(st, 5));
		text_line("Data source type", col_or_null(st, 6));
		text_line("Restore method", col_or_null(st, 7));
		printf("\t- Participating: %s\n", participating ? "yes (its components were selected for the backup)"
								: "no (its data is crash-consistent only)");
		printf("\t- Consistency: %s (%s)\n", catalog_col(st, 11), catalog_col(st, 12));
		while (sqlite3_step(ks) == SQLITE_ROW) {
			const char *lp = catalog_col(ks, 0);
			printf("\t\t+ Component \"%s%s%s\"%s\n", lp, *lp ? "\\" : "", catalog_col(ks, 1),
			       sqlite3_column_int(ks, 4) ? " (selected)" : "");
		}
		printf("\n");
	}
	return list_finish(c, rc, json, &j, "writers", n);
}

/* ---- storage and the revert order it implies ---- */

struct node {
	char *path, *name;
	size_t *out; /* indices of the volumes holding its shadow storage (not itself) */
	size_t n_out;
	unsigned indeg;
	bool done;
};

static const char *node_label(const struct node *x, char *buf, size_t size)
{
	if (x->name && *x->name)
		snprintf(buf, size, "%s", x->name);
	else
		snprintf(buf, size, "%s", x->path);
	return buf;
}

struct nodes {
	struct node *v;
	size_t n, cap;
};

static int node_index(struct nodes *nodes, const char *path, const char *name, size_t *ret)
{
	struct node x = { 0 };
	int r;

	for (size_t i = 0; i < nodes->n; i++)
		if (strcmp(nodes->v[i].path, path) == 0) {
			*ret = i;
			return 0;
		}
	x.path = strdup(path);
	x.name = name ? strdup(name) : NULL;
	if (!x.path) {
		free(x.name);
		return -ENOMEM;
	}
	r = vec_push(nodes, x);
	if (r < 0) {
		free(x.path);
		free(x.name);
		return r;
	}
	*ret = nodes->n - 1;
	return 0;
}

static int list_storage(struct catalog *c, bool json)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct nodes nodes = { 0 };
	VEC(size_t) order = { 0 };
	struct buf cycles = BUF_INIT;
	struct json j;
	unsigned n = 0;
	int r, rc;

	r = catalog_prepare(c,
			    "SELECT for_volume, for_name, storage_volume, storage_name, used, allocated, maximum, set_id"
			    " FROM storage ORDER BY id",
			    &st);
	if (r < 0)
		return r;
	if (json)
		json_list_begin(&j, "associations");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		size_t a, b;

		n++;
		r = node_index(&nodes, catalog_col(st, 0), col_or_null(st, 1), &a);
		if (r >= 0)
			r = node_index(&nodes, catalog_col(st, 2), col_or_null(st, 3), &b);
		if (r < 0)
			goto out;
		if (a != b) {
			struct node *x = &nodes.v[a];
			size_t *p = realloc(x->out, (x->n_out + 1) * sizeof(*p));
			if (!p) {
				r = -ENOMEM;
				goto out;
			}
			x->out = p;
			x->out[x->n_out++] = b;
			nodes.v[b].indeg++;
		}
		if (json) {
			static const struct jcol cols[] = {
				{ "for_volume", 0, J_STR },     { "for_name", 1, J_STR }, { "storage_volume", 2, J_STR },
				{ "storage_name", 3, J_STR },   { "used", 4, J_STR },     { "allocated", 5, J_STR },
				{ "maximum", 6, J_STR },        { "set_id", 7, J_STR },
			};
			json_obj_begin(&j);
			json_cols(&j, st, cols, ARRAY_SIZE(cols));
			json_obj_end(&j);
			continue;
		}
		printf("Shadow Copy Storage association\n");
		printf("   For volume: (%s)%s\n", catalog_col(st, 1), catalog_col(st, 0));
		printf("   Shadow Copy Storage volume: (%s)%s\n", catalog_col(st, 3), catalog_col(st, 2));
		printf("   Used Shadow Copy Storage space: %s\n", catalog_col(st, 4));
		printf("   Allocated Shadow Copy Storage space: %s\n", catalog_col(st, 5));
		printf("   Maximum Shadow Copy Storage space: %s\n\n", catalog_col(st, 6));
	}
	if (rc != SQLITE_DONE) {
		r = catalog_sqlite_error(c, rc, "cannot list shadow storage");
		goto out;
	}
	/*
	 * A volume whose shadow storage is on another volume is reverted first:
	 * reverting the storage volume would change the diff area the other
	 * volume's shadow copies are read from. Kahn's algorithm; what is left
	 * lies on or behind a cycle.
	 */
	for (bool progress = true; progress;) {
		progress = false;
		for (size_t i = 0; i < nodes.n; i++) {
			if (nodes.v[i].done || nodes.v[i].indeg)
				continue;
			nodes.v[i].done = true;
			progress = true;
			r = vec_push(&order, i);
			if (r < 0)
				goto out;
			for (size_t k = 0; k < nodes.v[i].n_out; k++)
				nodes.v[nodes.v[i].out[k]].indeg--;
		}
	}
	for (size_t i = 0; i < nodes.n; i++) {
		/* name each cycle once: walk from a node left over until a node repeats */
		size_t cur = i, steps = 0;
		char lbl[300];
		size_t start;

		if (nodes.v[i].done)
			continue;
		while (steps++ < nodes.n) {
			size_t next = nodes.n;
			for (size_t k = 0; k < nodes.v[cur].n_out; k++)
				if (!nodes.v[nodes.v[cur].out[k]].done) {
					next = nodes.v[cur].out[k];
					break;
				}
			if (next == nodes.n)
				break;
			cur = next;
		}
		start = cur;
		r = buf_printf(&cycles, "%s%s", cycles.len ? "\n" : "", node_label(&nodes.v[start], lbl, sizeof(lbl)));
		do {
			size_t next = start;
			nodes.v[cur].done = true;
			for (size_t k = 0; k < nodes.v[cur].n_out; k++)
				if (nodes.v[cur].out[k] == start || !nodes.v[nodes.v[cur].out[k]].done) {
					next = nodes.v[cur].out[k];
					break;
				}
			cur = next;
			if (r >= 0)
				r = buf_printf(&cycles, " -> %s", node_label(&nodes.v[cur], lbl, sizeof(lbl)));
		} while (cur != start && r >= 0);
		if (r < 0)
			goto out;
	}
	if (json) {
		json_arr_end(&j);
		json_key(&j, "revert_order");
		json_arr_begin(&j);
		for (size_t i = 0; i < order.n; i++) {
			char lbl[300];
			json_str(&j, node_label(&nodes.v[order.v[i]], lbl, sizeof(lbl)));
		}
		json_arr_end(&j);
		json_key(&j, "cycles");
		json_arr_begin(&j);
		for (const char *p = (const char *)cycles.data; p && *p;) {
			const char *e = strchr(p, '\n');
			size_t len = e ? (size_t)(e - p) : strlen(p);
			json_strn(&j, p, len);
			p += len + (e ? 1 : 0);
		}
		json_arr_end(&j);
		json_obj_end(&j);
		json_end(&j);
	} else {
		printf("Number of shadow storage associations listed: %u\n", n);
		if (order.n) {
			char lbl[300];
			printf("Revert order (a volume before the volume that holds its shadow storage):");
			for (size_t i = 0; i < order.n; i++)
				printf("%s%s", i ? " -> " : " ", node_label(&nodes.v[order.v[i]], lbl, sizeof(lbl)));
			printf("\n");
		}
		for (const char *p = (const char *)cycles.data; p && *p;) {
			const char *e = strchr(p, '\n');
			size_t len = e ? (size_t)(e - p) : strlen(p);
			printf("Cycle: %.*s (each volume's shadow storage is on the next: copy one diff area elsewhere "
			       "before reverting any of them)\n", (int)len, p);
			p += len + (e ? 1 : 0);
		}
	}
	r = 0;
out:
	for (size_t i = 0; i < nodes.n; i++) {
		free(nodes.v[i].path);
		free(nodes.v[i].name);
		free(nodes.v[i].out);
	}
	free(nodes.v);
	free(order.v);
	buf_free(&cycles);
	return r;
}

int list_catalog(struct cli_common *cc, const char *what, const char *repo_opt, const char *pass_file,
		 const char *set_text)
{
	struct catalog *c = NULL;
	char setbuf[GUID_STRING_MAX];
	const char *set = NULL;
	int r, ex;

	ex = catalog_cli_open(repo_opt, pass_file, &c);
	if (ex != EXIT_OK)
		return ex;
	/* one thread writes stdout: stdio need not lock per character (the JSON writer's cost at 10,000 sets) */
	__fsetlocking(stdout, FSETLOCKING_BYCALLER);
	if (set_text) {
		struct sr_guid g;
		r = catalog_set_find(c, set_text, &g);
		if (r < 0) {
			catalog_free(c);
			return sr_error(r, "cannot list %s of set '%s'", what, set_text);
		}
		set = guid_format(&g, setbuf);
	}
	if (strcmp(what, "sets") == 0)
		r = list_sets(c, cc->json);
	else if (strcmp(what, "shadows") == 0)
		r = list_shadows(c, cc->json, set);
	else if (strcmp(what, "volumes") == 0)
		r = list_volumes(c, cc->json, set);
	else if (strcmp(what, "writers") == 0)
		r = list_writers(c, cc->json, set);
	else
		r = list_storage(c, cc->json);
	catalog_free(c);
	if (r < 0)
		return sr_error(r, "cannot list %s", what);
	return EXIT_OK;
}
