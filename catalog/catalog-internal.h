/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SR_CATALOG_INTERNAL_H
#define SR_CATALOG_INTERNAL_H

/* Shared by the files of catalog/ only. */

#include <sqlite3.h>

#include "catalog.h"

struct catalog {
	sqlite3 *db;
	char *dir;
	char *path;
	int in_tx;
	bool created; /* made by this open: the first sync rebuilds (kept documents too) */
	char *pass_file; /* --passphrase-file, for an encrypted repository's sync */
};

/* An SQLite result code as -errno, with a detail naming the catalog and what was done. */
int catalog_sqlite_error(struct catalog *c, int rc, const char *what);
int catalog_exec(struct catalog *c, const char *sql);
int catalog_prepare(struct catalog *c, const char *sql, sqlite3_stmt **ret);
/* Step a statement that returns no rows; resets it. */
int catalog_step_done(struct catalog *c, sqlite3_stmt *st, const char *what);
/* Bind NULL for a NULL string. */
int catalog_bind_text(sqlite3_stmt *st, int i, const char *s);
/* Bind a GUID as lowercase text without braces. */
int catalog_bind_guid(sqlite3_stmt *st, int i, const struct sr_guid *g);
/* A column as text, "" for NULL (borrowed until the next step). */
const char *catalog_col(sqlite3_stmt *st, int i);

/*
 * SQL: writer row t took part in its set (it prepared its data): its
 * components were selected for the backup, in a BCD or a verbose listing.
 */
#define CATALOG_WRITER_TOOK_PART(t)                                                                   \
	"(" t ".in_bcd AND EXISTS (SELECT 1 FROM components k WHERE k.set_id = " t ".set_id AND k.writer_id = " t \
	".writer_id AND k.instance_id = " t ".instance_id AND k.selected))"

/* Derive the consistency of a set (and its writers) from everything the catalog holds. */
int catalog_refresh_set(struct catalog *c, const struct sr_guid *set);
/* Empty every table (rebuild). */
int catalog_clear(struct catalog *c);
/* Ensure a set row exists with at least this origin (repository > vss-store > document). */
int catalog_set_touch(struct catalog *c, const struct sr_guid *set, const char *origin);

/* Repository sets (sync.c). */
int catalog_import_repo_set(struct catalog *c, const struct sr_guid *set, const char *instance, uint64_t created,
			    const char *consistency, const char *manifest_file);
int catalog_import_repo_volume(struct catalog *c, const struct sr_guid *set, const struct sr_guid *shadow,
			       const char *name, const char *drive, const char *fs, uint64_t size, int disk,
			       unsigned partition, uint64_t offset, bool is_system, bool is_boot);
/* Parse and import files (documents, volume images) into a known set, in one transaction. */
int catalog_import_files(struct catalog *c, const struct sr_guid *set, char *const *paths, size_t n);

/* Command layer: the repository directory (--repo, $SHADOWREV_REPO, the default), malloc'ed. */
int catalog_cli_repo_dir(const char *opt, char **ret);
/* Open and sync the catalog; prints the error and returns the exit code on failure. */
int catalog_cli_open(const char *repo_opt, const char *pass_file, struct catalog **ret);

static inline void sqlite3_finalizep(sqlite3_stmt **st)
{
	sqlite3_finalize(*st);
}
#define _cleanup_stmt_ __attribute__((cleanup(sqlite3_finalizep)))

#endif
