/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The exposures table: which shadow copy `shadowrev expose` shows under which
 * drive-letter folder, served by which daemon. One row per exposure; the
 * parts that only the exposure needs back (letter, FUSE mount, loop device,
 * source) are a JSON object in `detail`, so that the schema stays as it is.
 * Rows are deleted, not marked removed: a removed exposure leaves nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog-internal.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/macro.h"

int catalog_exposure_add(struct catalog *c, struct catalog_exposure *e)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	char letter[2] = { e->letter, 0 };
	int r;

	if (!e->drive[0] || !e->mount[0])
		return -EINVAL;
	r = catalog_prepare(c,
			    "INSERT INTO exposures (shadow_id, set_id, kind, target, created_at, pid, detail)"
			    " VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
			    " json_object('letter', ?7, 'mount', ?8, 'loop', ?9, 'source', ?10))",
			    &st);
	if (r < 0)
		return r;
	if (catalog_bind_guid(st, 1, &e->shadow_id) < 0 || catalog_bind_guid(st, 2, e->has_set ? &e->set_id : NULL) < 0 ||
	    catalog_bind_text(st, 3, e->loop[0] ? "block" : "drive") < 0 || catalog_bind_text(st, 4, e->drive) < 0 ||
	    sqlite3_bind_int64(st, 5, e->created) != SQLITE_OK || sqlite3_bind_int64(st, 6, e->pid) != SQLITE_OK ||
	    catalog_bind_text(st, 7, letter) < 0 || catalog_bind_text(st, 8, e->mount) < 0 ||
	    catalog_bind_text(st, 9, e->loop[0] ? e->loop : NULL) < 0 ||
	    catalog_bind_text(st, 10, e->source[0] ? e->source : NULL) < 0)
		return -ENOMEM;
	r = catalog_step_done(c, st, "cannot record an exposure");
	if (r < 0)
		return r;
	e->id = sqlite3_last_insert_rowid(c->db);
	return 0;
}

int catalog_exposure_remove(struct catalog *c, int64_t id)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	r = catalog_prepare(c, "DELETE FROM exposures WHERE id = ?1", &st);
	if (r < 0)
		return r;
	if (sqlite3_bind_int64(st, 1, id) != SQLITE_OK)
		return -ENOMEM;
	r = catalog_step_done(c, st, "cannot remove an exposure");
	return r < 0 ? r : sqlite3_changes(c->db);
}

static void copy_col(sqlite3_stmt *st, int i, char *out, size_t size)
{
	snprintf(out, size, "%s", catalog_col(st, i));
}

int catalog_exposure_list(struct catalog *c, const char *root, struct catalog_exposure **ret, size_t *ret_n)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	VEC(struct catalog_exposure) x = { 0 };
	int r, rc;

	/* under root: the drive folder is root/<letter> (no LIKE: root may hold % or _) */
	r = catalog_prepare(c,
			    "SELECT shadow_id, set_id, target, created_at, pid, json_extract(detail, '$.letter'),"
			    " json_extract(detail, '$.mount'), json_extract(detail, '$.loop'),"
			    " json_extract(detail, '$.source'), id FROM exposures"
			    " WHERE ?1 IS NULL OR substr(target, 1, length(?1) + 1) = ?1 || '/'"
			    " ORDER BY created_at, id",
			    &st);
	if (r < 0)
		return r;
	if (catalog_bind_text(st, 1, root) < 0)
		return -ENOMEM;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct catalog_exposure e = { 0 };

		if (guid_parse(catalog_col(st, 0), &e.shadow_id) < 0)
			continue; /* not written by us */
		e.has_set = guid_parse(catalog_col(st, 1), &e.set_id) >= 0;
		copy_col(st, 2, e.drive, sizeof(e.drive));
		e.created = sqlite3_column_int64(st, 3);
		e.pid = sqlite3_column_int(st, 4);
		e.letter = catalog_col(st, 5)[0];
		copy_col(st, 6, e.mount, sizeof(e.mount));
		copy_col(st, 7, e.loop, sizeof(e.loop));
		copy_col(st, 8, e.source, sizeof(e.source));
		e.id = sqlite3_column_int64(st, 9);
		if (vec_push(&x, e) < 0) {
			free(x.v);
			return -ENOMEM;
		}
	}
	if (rc != SQLITE_DONE) {
		free(x.v);
		return catalog_sqlite_error(c, rc, "cannot list exposures");
	}
	*ret = x.v;
	*ret_n = x.n;
	return 0;
}
