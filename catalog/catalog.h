/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SR_CATALOG_H
#define SR_CATALOG_H

/*
 * The catalog: what is known about snapshot sets, shadow copies, volumes,
 * writers and shadow storage, from the repository's manifests, the VSS
 * stores inside captured volumes, and the metadata documents Windows wrote
 * (catalog/metadata.h). An SQLite database beside the repository,
 * <repo>/catalog.sqlite, that `shadowrev catalog rebuild` can make again from
 * the repository at any time (documents imported later are kept in
 * <repo>/catalog-documents/ for that). Schema versioned (PRAGMA
 * user_version), migrated on open; every import is one transaction.
 *
 * Errors: -ENOENT unknown set/shadow or no repository; -ENOTUNIQ ambiguous
 * prefix; -EPROTONOSUPPORT a catalog from a newer shadowrev; -EBADMSG a
 * damaged catalog or document; -EBUSY the catalog is locked by another
 * writer. A detail is recorded with sr_fail(). A struct catalog is for one
 * thread.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/guid.h"
#include "core/vss.h"

#define CATALOG_FILE "catalog.sqlite"
#define CATALOG_DOCS_DIR "catalog-documents"
#define CATALOG_SCHEMA_VERSION 1

struct catalog;
struct md;

/* Verbs. */
int cmd_list(int argc, char **argv);
int cmd_catalog(int argc, char **argv);

/* Open (creating and migrating as needed) the catalog in directory dir (which must exist). */
int catalog_open(const char *dir, struct catalog **ret);
void catalog_free(struct catalog *c);
/* The directory the catalog lives in (borrowed). */
const char *catalog_dir(const struct catalog *c);

/* The set or shadow copy named by text: a whole ID (braces and case free) or a unique prefix. */
int catalog_set_find(struct catalog *c, const char *text, struct sr_guid *ret);
int catalog_shadow_find(struct catalog *c, const char *text, struct sr_guid *ret);
/* 1 if the set is known, 0 if not. */
int catalog_set_exists(struct catalog *c, const struct sr_guid *set);

/* One document as imported (kept verbatim in the catalog). */
struct catalog_doc {
	const char *name;
	const void *data;
	size_t len;
};

/*
 * Import what the documents said (m, after md_finish()) into set, in one
 * transaction; the documents are kept verbatim. Consistency of every set
 * touched is derived again from all the evidence the catalog holds.
 */
int catalog_import_md(struct catalog *c, const struct sr_guid *set, const struct md *m, const struct catalog_doc *docs,
		      size_t n_docs);

/*
 * Import the VSS stores of volume v (opened on a captured volume of set
 * found_in, named volume_name there): each store's set and shadow copy, with
 * origin "vss-store". Not a transaction of its own: call inside
 * catalog_begin()/catalog_commit() or alone.
 */
int catalog_import_vss(struct catalog *c, const struct sr_guid *found_in, const char *volume_name,
		       const char *volume_path, struct vss_volume *v);

/* Transactions for callers that import several things at once. */
int catalog_begin(struct catalog *c);
int catalog_commit(struct catalog *c);
void catalog_rollback(struct catalog *c);

/*
 * Bring the catalog up to date with the repository in its directory: import
 * the sets whose manifests it has not seen (manifest, attached documents,
 * VSS stores inside the captured volumes). rebuild: empty the catalog first
 * and import everything again, with the documents kept in catalog-documents/.
 * A directory without a repository is fine (nothing to sync). *ret_new: sets
 * imported.
 */
int catalog_sync(struct catalog *c, bool rebuild, unsigned *ret_new);
/* The passphrase file catalog_sync() reads an encrypted repository's passphrase from (NULL: the environment, a prompt). */
int catalog_set_passphrase_file(struct catalog *c, const char *file);

/*
 * Exposures: which shadow copy `shadowrev expose` shows under which
 * drive-letter folder (mount/ keeps them: recorded on expose, removed on
 * unexpose and when an exposure whose daemon died is cleaned up). A rebuild
 * keeps them. In SQL: exposures.kind is "drive" or "block" (with a loop
 * device), target the drive folder, detail a JSON object with letter, mount,
 * loop and source.
 */
struct catalog_exposure {
	int64_t id;         /* the row (set by catalog_exposure_add() and _list()) */
	struct sr_guid shadow_id;
	struct sr_guid set_id;
	bool has_set;
	char letter;        /* 'A'..'Z' */
	char drive[4096];   /* the drive-letter folder (root/E): identifies the exposure */
	char mount[4096];   /* the FUSE mount that serves it */
	char loop[64];      /* the read-only loop device, "" if none */
	char source[1024];  /* the images or the repository, for listings ("" if unknown) */
	int pid;            /* the daemon */
	int64_t created;    /* Unix time */
};
/* Record e; sets e->id. */
int catalog_exposure_add(struct catalog *c, struct catalog_exposure *e);
/* Remove the exposure recorded as row id; returns 1 if it was there, 0 if not. */
int catalog_exposure_remove(struct catalog *c, int64_t id);
/* The exposures whose drive folder is directly under root (NULL: all), oldest first; *ret is malloc'ed. */
int catalog_exposure_list(struct catalog *c, const char *root, struct catalog_exposure **ret, size_t *ret_n);

#endif
