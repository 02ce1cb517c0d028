/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The SQLite catalog: schema and migrations, imports, consistency. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "catalog-internal.h"
#include "core/buf.h"
#include "core/crypto.h"
#include "core/io.h"
#include "core/log.h"
#include "core/macro.h"
#include "metadata.h"

/*
 * Schema. IDs are stored as lowercase text without braces. Origins, most
 * authoritative first: sets "repository" > "vss-store" > "document";
 * shadows "captured-volume" > "vss-store" > "document". When a row is seen
 * again, a more authoritative source overwrites, a lesser one only fills in
 * what is missing.
 */
static const char *const migrations[] = {
	/* 0 -> 1 */
	"CREATE TABLE sets ("
	"  set_id TEXT PRIMARY KEY, origin TEXT NOT NULL, instance TEXT, machine TEXT,"
	"  created_ft INTEGER, created_text TEXT, backup_type TEXT, context INTEGER, bootable INTEGER,"
	"  shadow_count INTEGER, consistency TEXT NOT NULL DEFAULT 'crash-consistent', consistency_reason TEXT,"
	"  repo_consistency TEXT, in_repository INTEGER NOT NULL DEFAULT 0, found_in TEXT, manifest_file TEXT,"
	"  n_shadows INTEGER NOT NULL DEFAULT 0, volume_list TEXT);"
	"CREATE INDEX sets_order ON sets(coalesce(created_ft, 0), set_id);"
	"CREATE TABLE volumes ("
	"  id INTEGER PRIMARY KEY, set_id TEXT NOT NULL, volume_key TEXT NOT NULL, guid_path TEXT, name TEXT,"
	"  drive TEXT, label TEXT, filesystem TEXT, size INTEGER, disk INTEGER, partition INTEGER, offset INTEGER,"
	"  is_system INTEGER, is_boot INTEGER, shadow_id TEXT, origin TEXT, UNIQUE(set_id, volume_key));"
	"CREATE INDEX volumes_set ON volumes(set_id);"
	"CREATE TABLE shadows ("
	"  shadow_id TEXT PRIMARY KEY, set_id TEXT NOT NULL, origin TEXT NOT NULL, volume_guid_path TEXT,"
	"  volume_name TEXT, captured_in TEXT, store_id TEXT, store_index INTEGER, created_ft INTEGER,"
	"  created_text TEXT, context INTEGER, attributes INTEGER, attributes_known INTEGER, attribute_text TEXT,"
	"  originating_machine TEXT, service_machine TEXT, device TEXT, provider TEXT, type TEXT, exposure TEXT,"
	"  alias TEXT, volume_size INTEGER, storage TEXT);"
	"CREATE INDEX shadows_set ON shadows(set_id);"
	"CREATE TABLE writers ("
	"  set_id TEXT NOT NULL, writer_id TEXT NOT NULL, instance_id TEXT NOT NULL, name TEXT, instance_name TEXT,"
	"  usage TEXT, data_source TEXT, restore_method TEXT, reboot_required INTEGER, in_bcd INTEGER NOT NULL,"
	"  has_metadata INTEGER NOT NULL, consistency TEXT, consistency_reason TEXT,"
	"  PRIMARY KEY(set_id, writer_id, instance_id));"
	"CREATE TABLE components ("
	"  set_id TEXT NOT NULL, writer_id TEXT NOT NULL, instance_id TEXT NOT NULL, logical_path TEXT NOT NULL,"
	"  name TEXT NOT NULL, caption TEXT, type TEXT, selected INTEGER NOT NULL,"
	"  PRIMARY KEY(set_id, writer_id, instance_id, logical_path, name));"
	"CREATE TABLE storage ("
	"  id INTEGER PRIMARY KEY, for_volume TEXT NOT NULL, for_name TEXT, storage_volume TEXT NOT NULL,"
	"  storage_name TEXT, used TEXT, allocated TEXT, maximum TEXT, set_id TEXT, source TEXT,"
	"  UNIQUE(for_volume, storage_volume));"
	"CREATE TABLE evidence ("
	"  id INTEGER PRIMARY KEY, set_id TEXT NOT NULL, level TEXT NOT NULL, strong INTEGER NOT NULL, text TEXT NOT NULL,"
	"  UNIQUE(set_id, text));"
	"CREATE TABLE documents ("
	"  id INTEGER PRIMARY KEY, set_id TEXT NOT NULL, name TEXT, size INTEGER, sha256 TEXT NOT NULL,"
	"  imported_at INTEGER, data BLOB, UNIQUE(set_id, sha256));"
	"CREATE TABLE exposures ("
	"  id INTEGER PRIMARY KEY, shadow_id TEXT NOT NULL, set_id TEXT, kind TEXT NOT NULL, target TEXT,"
	"  created_at INTEGER, removed_at INTEGER, pid INTEGER, detail TEXT);"
	"CREATE INDEX exposures_shadow ON exposures(shadow_id);"
	"CREATE TABLE repo_manifests (file TEXT PRIMARY KEY, set_id TEXT NOT NULL);",
};

int catalog_sqlite_error(struct catalog *c, int rc, const char *what)
{
	int e;

	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		e = -EBUSY;
		break;
	case SQLITE_NOMEM:
		e = -ENOMEM;
		break;
	case SQLITE_READONLY:
		e = -EROFS;
		break;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		e = -EBADMSG;
		break;
	case SQLITE_FULL:
		e = -ENOSPC;
		break;
	case SQLITE_CANTOPEN:
	case SQLITE_PERM:
		e = -EACCES;
		break;
	default:
		e = -EIO;
	}
	return sr_fail(e, "catalog '%s': %s: %s", c->path, what, c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
}

int catalog_exec(struct catalog *c, const char *sql)
{
	int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : catalog_sqlite_error(c, rc, "query failed");
}

int catalog_prepare(struct catalog *c, const char *sql, sqlite3_stmt **ret)
{
	int rc = sqlite3_prepare_v2(c->db, sql, -1, ret, NULL);
	return rc == SQLITE_OK ? 0 : catalog_sqlite_error(c, rc, "cannot prepare a query");
}

int catalog_step_done(struct catalog *c, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return catalog_sqlite_error(c, rc, what);
	return 0;
}

int catalog_bind_text(sqlite3_stmt *st, int i, const char *s)
{
	return sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT) == SQLITE_OK ? 0 : -ENOMEM;
}

int catalog_bind_guid(sqlite3_stmt *st, int i, const struct sr_guid *g)
{
	char t[GUID_STRING_MAX];
	return catalog_bind_text(st, i, g ? guid_format(g, t) : NULL);
}

const char *catalog_col(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? (const char *)t : "";
}

static int schema_version(struct catalog *c, int *ret)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	r = catalog_prepare(c, "PRAGMA user_version", &st);
	if (r < 0)
		return r;
	if (sqlite3_step(st) != SQLITE_ROW)
		return catalog_sqlite_error(c, sqlite3_errcode(c->db), "cannot read the schema version");
	*ret = sqlite3_column_int(st, 0);
	return 0;
}

static int migrate(struct catalog *c)
{
	int version, r;

	r = schema_version(c, &version);
	if (r >= 0 && version < CATALOG_SCHEMA_VERSION) {
		/* under the write lock, and read again: another process may have just done it */
		r = catalog_exec(c, "BEGIN IMMEDIATE");
		if (r >= 0)
			r = schema_version(c, &version);
		if (r < 0) {
			sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
			return r;
		}
	}
	if (r < 0)
		return r;
	if (version > CATALOG_SCHEMA_VERSION)
		return sr_fail(-EPROTONOSUPPORT, "catalog '%s' has schema version %d; this shadowrev knows up to %d",
			       c->path, version, CATALOG_SCHEMA_VERSION);
	if (version == CATALOG_SCHEMA_VERSION)
		return sqlite3_get_autocommit(c->db) ? 0 : catalog_exec(c, "COMMIT");
	c->created = version == 0;
	for (int v = version; v < CATALOG_SCHEMA_VERSION; v++) {
		char pragma[64];
		r = catalog_exec(c, migrations[v]);
		if (r >= 0) {
			snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", v + 1);
			r = catalog_exec(c, pragma);
		}
		if (r < 0) {
			sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
			return r;
		}
	}
	return catalog_exec(c, "COMMIT");
}

/*
 * SQLite opens the database (and its -wal and -shm files) by name, with O_CREAT and through
 * symlinks: the folder is made ours alone (0700) and the database is created here, 0600, never
 * through a symlink; one planted there is refused.
 */
static int catalog_place(const char *dir, const char *path)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct io_new n;
	struct stat st;
	int r;

	if (fd < 0 || fstat(fd, &st) < 0)
		return sr_fail(-errno, "cannot open '%s': %s", dir, strerror(errno));
	if (st.st_uid == geteuid() && (st.st_mode & 07777) != 0700 && fchmod(fd, 0700) < 0 && (st.st_mode & 022))
		return sr_fail(-errno, "cannot make '%s' private: %s", dir, strerror(errno));
	if (st.st_uid != geteuid() && (st.st_mode & 022))
		return sr_fail(-EPERM, "'%s' is writable by other users: no catalog there", dir);
	if (fstatat(fd, CATALOG_FILE, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!S_ISREG(st.st_mode))
			return sr_fail(-ELOOP, "'%s' is not a regular file", path);
		return 0;
	}
	if (errno != ENOENT)
		return sr_fail(-errno, "cannot open '%s': %s", path, strerror(errno));
	r = io_new_open(&n, path);
	if (r >= 0)
		r = io_new_commit(&n, 0600, 0);
	io_new_done(&n);
	if (r < 0 && r != -EEXIST) /* -EEXIST: another process made it meanwhile */
		return sr_fail(r, "cannot create '%s': %s", path, strerror(-r));
	return 0;
}

int catalog_set_passphrase_file(struct catalog *c, const char *file)
{
	char *p = NULL;

	if (file && !(p = strdup(file)))
		return -ENOMEM;
	free(c->pass_file);
	c->pass_file = p;
	return 0;
}

int catalog_open(const char *dir, struct catalog **ret)
{
	struct catalog *c;
	struct stat st;
	int rc, r;

	if (stat(dir, &st) < 0)
		return sr_fail(-errno, "no repository at '%s' (give --repo DIR or set SHADOWREV_REPO): %s", dir,
			       strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return sr_fail(-ENOTDIR, "repository '%s' is not a directory", dir);
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->dir = strdup(dir);
	if (!c->dir || asprintf(&c->path, "%s/%s", dir, CATALOG_FILE) < 0) {
		c->path = NULL;
		catalog_free(c);
		return -ENOMEM;
	}
	r = catalog_place(dir, c->path);
	if (r < 0) {
		catalog_free(c);
		return r;
	}
#ifndef SQLITE_OPEN_NOFOLLOW
#define SQLITE_OPEN_NOFOLLOW 0
#endif
	rc = sqlite3_open_v2(c->path, &c->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW, NULL);
	if (rc != SQLITE_OK) {
		r = catalog_sqlite_error(c, rc, "cannot open");
		catalog_free(c);
		return r;
	}
	sqlite3_busy_timeout(c->db, 10000);
	r = catalog_exec(c, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
				   " PRAGMA mmap_size=1073741824; PRAGMA cache_size=-16384");
	if (r >= 0)
		r = migrate(c);
	if (r < 0) {
		catalog_free(c);
		return r;
	}
	*ret = c;
	return 0;
}

void catalog_free(struct catalog *c)
{
	if (!c)
		return;
	if (c->db)
		sqlite3_close(c->db);
	free(c->dir);
	free(c->path);
	free(c->pass_file);
	free(c);
}

const char *catalog_dir(const struct catalog *c)
{
	return c->dir;
}

int catalog_begin(struct catalog *c)
{
	int r;

	if (c->in_tx++)
		return 0;
	r = catalog_exec(c, "BEGIN IMMEDIATE");
	if (r < 0)
		c->in_tx = 0;
	return r;
}

int catalog_commit(struct catalog *c)
{
	if (c->in_tx == 0 || --c->in_tx > 0)
		return 0;
	return catalog_exec(c, "COMMIT");
}

void catalog_rollback(struct catalog *c)
{
	if (c->in_tx == 0)
		return;
	c->in_tx = 0;
	sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
}

int catalog_clear(struct catalog *c)
{
	return catalog_exec(c, "DELETE FROM sets; DELETE FROM volumes; DELETE FROM shadows; DELETE FROM writers;"
			       "DELETE FROM components; DELETE FROM storage; DELETE FROM evidence; DELETE FROM documents;"
			       "DELETE FROM repo_manifests;");
}

/* ---- finding IDs ---- */

static int find_id(struct catalog *c, const char *sql, const char *what, const char *text, struct sr_guid *ret)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	VEC(struct sr_guid) ids = { 0 };
	int r, rc;

	r = catalog_prepare(c, sql, &st);
	if (r < 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct sr_guid g;
		if (guid_parse(catalog_col(st, 0), &g) < 0)
			continue;
		r = vec_push(&ids, g);
		if (r < 0)
			goto out;
	}
	if (rc != SQLITE_DONE) {
		r = catalog_sqlite_error(c, rc, "cannot list IDs");
		goto out;
	}
	r = guid_match(text, ids.v, ids.n, sizeof(struct sr_guid));
	if (r == -EINVAL)
		r = sr_fail(-EINVAL, "'%s' is not a %s ID or a prefix of one (at least %d hex digits)", text, what,
			    GUID_PREFIX_MIN);
	else if (r == -ENOENT)
		r = sr_fail(-ENOENT, "no %s '%s' in the catalog", what, text);
	else if (r == -ENOTUNIQ)
		r = sr_fail(-ENOTUNIQ, "'%s' is the prefix of more than one %s ID: give more digits", text, what);
	else {
		*ret = ids.v[r];
		r = 0;
	}
out:
	free(ids.v);
	return r;
}

int catalog_set_find(struct catalog *c, const char *text, struct sr_guid *ret)
{
	return find_id(c, "SELECT set_id FROM sets", "set", text, ret);
}

int catalog_shadow_find(struct catalog *c, const char *text, struct sr_guid *ret)
{
	return find_id(c, "SELECT shadow_id FROM shadows", "shadow copy", text, ret);
}

int catalog_set_exists(struct catalog *c, const struct sr_guid *set)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	r = catalog_prepare(c, "SELECT 1 FROM sets WHERE set_id = ?", &st);
	if (r < 0)
		return r;
	catalog_bind_guid(st, 1, set);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return catalog_sqlite_error(c, rc, "cannot look up a set");
}

/* ---- upserts ---- */

#define RANK_SET(col) \
	"(CASE " col " WHEN 'repository' THEN 3 WHEN 'vss-store' THEN 2 ELSE 1 END)"
#define RANK_SHADOW(col) \
	"(CASE " col " WHEN 'captured-volume' THEN 3 WHEN 'vss-store' THEN 2 ELSE 1 END)"

/*
 * "INSERT INTO t (cols) VALUES (?...) ON CONFLICT(key) DO UPDATE SET col = <merge>":
 * a more authoritative origin overwrites, a lesser one fills gaps.
 */
static int upsert_sql(struct buf *b, const char *table, const char *key, const char *const *cols, size_t n,
		      const char *rank_new, const char *rank_old)
{
	int r = buf_printf(b, "INSERT INTO %s (", table);

	for (size_t i = 0; r >= 0 && i < n; i++)
		r = buf_printf(b, "%s%s", i ? ", " : "", cols[i]);
	r = r < 0 ? r : buf_printf(b, ") VALUES (");
	for (size_t i = 0; r >= 0 && i < n; i++)
		r = buf_printf(b, "%s?", i ? ", " : "");
	r = r < 0 ? r : buf_printf(b, ") ON CONFLICT(%s) DO UPDATE SET ", key);
	for (size_t i = 0, first = 1; r >= 0 && i < n; i++) {
		if (strstr(key, cols[i]) && strcmp(cols[i], "origin") != 0)
			continue;
		if (strcmp(cols[i], "origin") == 0)
			r = buf_printf(b, "%sorigin = CASE WHEN %s > %s THEN excluded.origin ELSE origin END",
				       first ? "" : ", ", rank_new, rank_old);
		else
			r = buf_printf(b, "%s%s = CASE WHEN %s > %s THEN coalesce(excluded.%s, %s) ELSE coalesce(%s, "
					  "excluded.%s) END",
				       first ? "" : ", ", cols[i], rank_new, rank_old, cols[i], cols[i], cols[i], cols[i]);
		first = 0;
	}
	return r;
}

enum {
	S_SET_ID = 1, S_ORIGIN, S_INSTANCE, S_MACHINE, S_CREATED_FT, S_CREATED_TEXT, S_BACKUP_TYPE, S_CONTEXT,
	S_BOOTABLE, S_SHADOW_COUNT, S_REPO_CONSISTENCY, S_IN_REPOSITORY, S_FOUND_IN, S_MANIFEST_FILE,
};
static const char *const set_cols[] = {
	"set_id", "origin", "instance", "machine", "created_ft", "created_text", "backup_type", "context",
	"bootable", "shadow_count", "repo_consistency", "in_repository", "found_in", "manifest_file",
};

enum {
	H_SHADOW_ID = 1, H_SET_ID, H_ORIGIN, H_VOLUME_GUID_PATH, H_VOLUME_NAME, H_CAPTURED_IN, H_STORE_ID,
	H_STORE_INDEX, H_CREATED_FT, H_CREATED_TEXT, H_CONTEXT, H_ATTRIBUTES, H_ATTRIBUTES_KNOWN, H_ATTRIBUTE_TEXT,
	H_ORIGINATING, H_SERVICE, H_DEVICE, H_PROVIDER, H_TYPE, H_EXPOSURE, H_ALIAS, H_VOLUME_SIZE, H_STORAGE,
};
static const char *const shadow_cols[] = {
	"shadow_id", "set_id", "origin", "volume_guid_path", "volume_name", "captured_in", "store_id",
	"store_index", "created_ft", "created_text", "context", "attributes", "attributes_known", "attribute_text",
	"originating_machine", "service_machine", "device", "provider", "type", "exposure", "alias", "volume_size",
	"storage",
};

enum {
	V_SET_ID = 1, V_KEY, V_GUID_PATH, V_NAME, V_DRIVE, V_LABEL, V_FS, V_SIZE, V_DISK, V_PARTITION, V_OFFSET,
	V_SYSTEM, V_BOOT, V_SHADOW_ID, V_ORIGIN,
};
static const char *const volume_cols[] = {
	"set_id", "volume_key", "guid_path", "name", "drive", "label", "filesystem", "size", "disk", "partition",
	"offset", "is_system", "is_boot", "shadow_id", "origin",
};

struct stmts {
	sqlite3_stmt *set, *shadow, *volume, *writer, *comp, *storage, *evidence, *doc, *touch;
};

static void stmts_free(struct stmts *s)
{
	sqlite3_finalize(s->set);
	sqlite3_finalize(s->shadow);
	sqlite3_finalize(s->volume);
	sqlite3_finalize(s->writer);
	sqlite3_finalize(s->comp);
	sqlite3_finalize(s->storage);
	sqlite3_finalize(s->evidence);
	sqlite3_finalize(s->doc);
	sqlite3_finalize(s->touch);
}

static int prepare_upsert(struct catalog *c, const char *table, const char *key, const char *const *cols, size_t n,
			  const char *rank_new, const char *rank_old, sqlite3_stmt **ret)
{
	struct buf b = BUF_INIT;
	int r = upsert_sql(&b, table, key, cols, n, rank_new, rank_old);

	if (r >= 0)
		r = catalog_prepare(c, (const char *)b.data, ret);
	buf_free(&b);
	return r;
}

static int stmts_prepare(struct catalog *c, struct stmts *s)
{
	int r;

	r = prepare_upsert(c, "sets", "set_id", set_cols, ARRAY_SIZE(set_cols), RANK_SET("excluded.origin"),
			   RANK_SET("origin"), &s->set);
	if (r >= 0)
		r = prepare_upsert(c, "sets", "set_id", set_cols, 2, RANK_SET("excluded.origin"), RANK_SET("origin"),
				   &s->touch);
	if (r >= 0)
		r = prepare_upsert(c, "shadows", "shadow_id", shadow_cols, ARRAY_SIZE(shadow_cols),
				   RANK_SHADOW("excluded.origin"), RANK_SHADOW("origin"), &s->shadow);
	if (r >= 0)
		r = prepare_upsert(c, "volumes", "set_id, volume_key", volume_cols, ARRAY_SIZE(volume_cols),
				   RANK_SHADOW("excluded.origin"), RANK_SHADOW("origin"), &s->volume);
	if (r >= 0)
		r = catalog_prepare(c,
				    "INSERT INTO writers (set_id, writer_id, instance_id, name, instance_name, usage,"
				    " data_source, restore_method, reboot_required, in_bcd, has_metadata)"
				    " VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(set_id, writer_id, instance_id) DO UPDATE SET"
				    " name = coalesce(name, excluded.name),"
				    " instance_name = coalesce(instance_name, excluded.instance_name),"
				    " usage = coalesce(usage, excluded.usage),"
				    " data_source = coalesce(data_source, excluded.data_source),"
				    " restore_method = coalesce(restore_method, excluded.restore_method),"
				    " reboot_required = coalesce(reboot_required, excluded.reboot_required),"
				    " in_bcd = max(in_bcd, excluded.in_bcd), has_metadata = max(has_metadata, excluded.has_metadata)",
				    &s->writer);
	if (r >= 0)
		r = catalog_prepare(c,
				    "INSERT INTO components (set_id, writer_id, instance_id, logical_path, name, caption, type,"
				    " selected) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT DO UPDATE SET"
				    " caption = coalesce(caption, excluded.caption),"
				    " type = CASE WHEN excluded.selected THEN coalesce(type, excluded.type)"
				    "   ELSE coalesce(excluded.type, type) END,"
				    " selected = max(selected, excluded.selected)",
				    &s->comp);
	if (r >= 0)
		r = catalog_prepare(c,
				    "INSERT INTO storage (for_volume, for_name, storage_volume, storage_name, used, allocated,"
				    " maximum, set_id, source) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT DO UPDATE SET"
				    " for_name = coalesce(excluded.for_name, for_name),"
				    " storage_name = coalesce(excluded.storage_name, storage_name), used = excluded.used,"
				    " allocated = excluded.allocated, maximum = excluded.maximum, set_id = excluded.set_id,"
				    " source = excluded.source",
				    &s->storage);
	if (r >= 0)
		r = catalog_prepare(c, "INSERT OR IGNORE INTO evidence (set_id, level, strong, text) VALUES (?,?,?,?)",
				    &s->evidence);
	if (r >= 0)
		r = catalog_prepare(c,
				    "INSERT OR IGNORE INTO documents (set_id, name, size, sha256, imported_at, data)"
				    " VALUES (?,?,?,?,?,?)",
				    &s->doc);
	return r;
}

int catalog_set_touch(struct catalog *c, const struct sr_guid *set, const char *origin)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct buf b = BUF_INIT;
	static const char *const cols[] = { "set_id", "origin" };
	int r;

	r = upsert_sql(&b, "sets", "set_id", cols, 2, RANK_SET("excluded.origin"), RANK_SET("origin"));
	if (r >= 0)
		r = catalog_prepare(c, (const char *)b.data, &st);
	buf_free(&b);
	if (r < 0)
		return r;
	catalog_bind_guid(st, 1, set);
	catalog_bind_text(st, 2, origin);
	return catalog_step_done(c, st, "cannot add a set");
}

static void bind_int_or_null(sqlite3_stmt *st, int i, int64_t v, bool known)
{
	if (known)
		sqlite3_bind_int64(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

/* "C:\", "C:" or "(C:)" -> "C:"; anything else: no drive. */
static void drive_of(const char *name, char out[4])
{
	out[0] = 0;
	if (name && ((name[0] >= 'A' && name[0] <= 'Z') || (name[0] >= 'a' && name[0] <= 'z')) && name[1] == ':' &&
	    (name[2] == 0 || (name[2] == '\\' && name[3] == 0))) {
		out[0] = (char)(name[0] & ~0x20);
		out[1] = ':';
		out[2] = 0;
	}
}

static int import_doc_shadow(struct catalog *c, struct stmts *s, const struct md_shadow *h)
{
	char drive[4];
	const char *key;
	int r;

	catalog_bind_guid(s->touch, 1, &h->set_id);
	catalog_bind_text(s->touch, 2, "document");
	r = catalog_step_done(c, s->touch, "cannot add a set");
	if (r < 0)
		return r;
	catalog_bind_guid(s->shadow, H_SHADOW_ID, &h->id);
	catalog_bind_guid(s->shadow, H_SET_ID, &h->set_id);
	catalog_bind_text(s->shadow, H_ORIGIN, "document");
	catalog_bind_text(s->shadow, H_VOLUME_GUID_PATH, h->volume_path);
	catalog_bind_text(s->shadow, H_VOLUME_NAME, h->volume_name);
	bind_int_or_null(s->shadow, H_CREATED_FT, (int64_t)h->created_ft, h->created_ft != 0);
	catalog_bind_text(s->shadow, H_CREATED_TEXT, h->created_text);
	bind_int_or_null(s->shadow, H_CONTEXT, h->context, h->context >= 0);
	bind_int_or_null(s->shadow, H_ATTRIBUTES, h->attributes, h->attr_text || h->has_attributes);
	bind_int_or_null(s->shadow, H_ATTRIBUTES_KNOWN, h->has_attributes, h->attr_text || h->has_attributes);
	catalog_bind_text(s->shadow, H_ATTRIBUTE_TEXT, h->attr_text);
	catalog_bind_text(s->shadow, H_ORIGINATING, h->originating_machine);
	catalog_bind_text(s->shadow, H_SERVICE, h->service_machine);
	catalog_bind_text(s->shadow, H_DEVICE, h->device);
	catalog_bind_text(s->shadow, H_PROVIDER, h->provider);
	catalog_bind_text(s->shadow, H_TYPE, h->type);
	catalog_bind_text(s->shadow, H_EXPOSURE, h->exposure);
	catalog_bind_text(s->shadow, H_ALIAS, h->alias);
	r = catalog_step_done(c, s->shadow, "cannot add a shadow copy");
	if (r < 0)
		return r;
	key = h->volume_path ? h->volume_path : h->volume_name;
	if (!key)
		return 0;
	drive_of(h->volume_name, drive);
	catalog_bind_guid(s->volume, V_SET_ID, &h->set_id);
	catalog_bind_text(s->volume, V_KEY, key);
	catalog_bind_text(s->volume, V_GUID_PATH, h->volume_path);
	catalog_bind_text(s->volume, V_NAME, h->volume_name);
	catalog_bind_text(s->volume, V_DRIVE, drive[0] ? drive : NULL);
	catalog_bind_guid(s->volume, V_SHADOW_ID, &h->id);
	catalog_bind_text(s->volume, V_ORIGIN, "document");
	return catalog_step_done(c, s->volume, "cannot add a volume");
}

/*
 * A writer a listing names without IDs is kept with writer_id '' and its name
 * as instance_id, until a document with its IDs comes: then its row joins
 * that writer's (what the listing said about taking part is kept).
 */
static int writer_named_row(struct catalog *c, const struct md_writer *w, char *ret_wid, char *ret_iid)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	r = catalog_prepare(c, "SELECT writer_id, instance_id FROM writers WHERE set_id = ?1 AND writer_id <> ''"
			       " AND name = ?2 ORDER BY writer_id, instance_id LIMIT 1", &st);
	if (r < 0)
		return r;
	catalog_bind_guid(st, 1, &w->set_id);
	catalog_bind_text(st, 2, w->name);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(ret_wid, GUID_STRING_MAX, "%s", catalog_col(st, 0));
		snprintf(ret_iid, GUID_STRING_MAX, "%s", catalog_col(st, 1));
		return 1;
	}
	return rc == SQLITE_DONE ? 0 : catalog_sqlite_error(c, rc, "cannot look up a writer");
}

static int writer_adopt_named(struct catalog *c, const struct md_writer *w)
{
	static const char *const sql[] = {
		"UPDATE writers SET in_bcd = max(in_bcd, (SELECT in_bcd FROM writers WHERE set_id = ?1 AND writer_id = ''"
		" AND instance_id = ?4)) WHERE set_id = ?1 AND writer_id = ?2 AND instance_id = ?3"
		" AND EXISTS (SELECT 1 FROM writers WHERE set_id = ?1 AND writer_id = '' AND instance_id = ?4)",
		"UPDATE components SET selected = 1 WHERE set_id = ?1 AND writer_id = ?2 AND instance_id = ?3 AND"
		" (logical_path, name) IN (SELECT logical_path, name FROM components WHERE set_id = ?1 AND writer_id = ''"
		" AND instance_id = ?4 AND selected)",
		"UPDATE OR IGNORE components SET writer_id = ?2, instance_id = ?3 WHERE set_id = ?1 AND writer_id = ''"
		" AND instance_id = ?4",
		"DELETE FROM components WHERE set_id = ?1 AND writer_id = '' AND instance_id = ?4",
		"DELETE FROM writers WHERE set_id = ?1 AND writer_id = '' AND instance_id = ?4",
	};
	int r = 0;

	for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(sql); i++) {
		_cleanup_stmt_ sqlite3_stmt *st = NULL;
		r = catalog_prepare(c, sql[i], &st);
		if (r < 0)
			break;
		catalog_bind_guid(st, 1, &w->set_id);
		catalog_bind_guid(st, 2, &w->writer_id);
		catalog_bind_guid(st, 3, &w->instance_id);
		catalog_bind_text(st, 4, w->name);
		r = catalog_step_done(c, st, "cannot merge a writer named by a listing");
	}
	return r;
}

static int import_writer(struct catalog *c, struct stmts *s, const struct md_writer *w)
{
	char wid[GUID_STRING_MAX] = "", iid[GUID_STRING_MAX] = "";
	int r;

	if (w->named_only) {
		if (!w->name)
			return 0;
		r = writer_named_row(c, w, wid, iid);
		if (r < 0)
			return r;
	}
	catalog_bind_guid(s->writer, 1, &w->set_id);
	if (w->named_only) {
		catalog_bind_text(s->writer, 2, wid);
		catalog_bind_text(s->writer, 3, wid[0] ? iid : w->name);
	} else {
		catalog_bind_guid(s->writer, 2, &w->writer_id);
		catalog_bind_guid(s->writer, 3, &w->instance_id);
	}
	catalog_bind_text(s->writer, 4, w->name);
	catalog_bind_text(s->writer, 5, w->instance_name);
	catalog_bind_text(s->writer, 6, w->usage);
	catalog_bind_text(s->writer, 7, w->data_source);
	catalog_bind_text(s->writer, 8, w->restore_method);
	bind_int_or_null(s->writer, 9, w->reboot_required, w->reboot_required >= 0);
	sqlite3_bind_int(s->writer, 10, w->in_bcd);
	sqlite3_bind_int(s->writer, 11, w->has_wm);
	r = catalog_step_done(c, s->writer, "cannot add a writer");
	for (size_t i = 0; r >= 0 && i < w->comps.n; i++) {
		const struct md_component *k = &w->comps.v[i];
		catalog_bind_guid(s->comp, 1, &w->set_id);
		if (w->named_only) {
			catalog_bind_text(s->comp, 2, wid);
			catalog_bind_text(s->comp, 3, wid[0] ? iid : w->name);
		} else {
			catalog_bind_guid(s->comp, 2, &w->writer_id);
			catalog_bind_guid(s->comp, 3, &w->instance_id);
		}
		catalog_bind_text(s->comp, 4, k->logical_path ? k->logical_path : "");
		catalog_bind_text(s->comp, 5, k->name);
		catalog_bind_text(s->comp, 6, k->caption);
		catalog_bind_text(s->comp, 7, k->type);
		sqlite3_bind_int(s->comp, 8, k->selected);
		r = catalog_step_done(c, s->comp, "cannot add a component");
	}
	if (r >= 0 && !w->named_only && w->name)
		r = writer_adopt_named(c, w);
	return r;
}

static int import_md_tx(struct catalog *c, struct stmts *s, const struct sr_guid *set, const struct md *m,
			const struct catalog_doc *docs, size_t n_docs)
{
	int r;

	r = catalog_set_touch(c, set, "document");
	for (size_t i = 0; r >= 0 && i < m->sets.n; i++) {
		const struct md_set *x = &m->sets.v[i];
		catalog_bind_guid(s->set, S_SET_ID, &x->id);
		catalog_bind_text(s->set, S_ORIGIN, "document");
		catalog_bind_text(s->set, S_MACHINE, x->machine);
		catalog_bind_text(s->set, S_CREATED_TEXT, x->created_text);
		catalog_bind_text(s->set, S_BACKUP_TYPE, x->backup_type);
		bind_int_or_null(s->set, S_CONTEXT, x->context, x->context >= 0);
		bind_int_or_null(s->set, S_BOOTABLE, x->bootable, x->bootable >= 0);
		bind_int_or_null(s->set, S_SHADOW_COUNT, x->shadow_count, x->shadow_count >= 0);
		sqlite3_bind_int(s->set, S_IN_REPOSITORY, 0);
		r = catalog_step_done(c, s->set, "cannot add a set");
	}
	for (size_t i = 0; r >= 0 && i < m->shadows.n; i++)
		if (m->shadows.v[i].has_set)
			r = import_doc_shadow(c, s, &m->shadows.v[i]);
	for (size_t i = 0; r >= 0 && i < m->writers.n; i++) {
		const struct md_writer *w = &m->writers.v[i];
		if (!w->has_set)
			continue;
		r = catalog_set_touch(c, &w->set_id, "document");
		if (r >= 0)
			r = import_writer(c, s, w);
	}
	for (size_t i = 0; r >= 0 && i < m->storage.n; i++) {
		const struct md_storage *x = &m->storage.v[i];
		catalog_bind_text(s->storage, 1, x->for_path);
		catalog_bind_text(s->storage, 2, x->for_name);
		catalog_bind_text(s->storage, 3, x->storage_path);
		catalog_bind_text(s->storage, 4, x->storage_name);
		catalog_bind_text(s->storage, 5, x->used);
		catalog_bind_text(s->storage, 6, x->allocated);
		catalog_bind_text(s->storage, 7, x->maximum);
		catalog_bind_guid(s->storage, 8, set);
		catalog_bind_text(s->storage, 9, "listing");
		r = catalog_step_done(c, s->storage, "cannot add a shadow storage association");
	}
	for (size_t i = 0; r >= 0 && i < m->evidence.n; i++) {
		const struct md_evidence *e = &m->evidence.v[i];
		catalog_bind_guid(s->evidence, 1, e->has_set ? &e->set_id : set);
		catalog_bind_text(s->evidence, 2, md_level_name(e->level));
		sqlite3_bind_int(s->evidence, 3, e->strong);
		catalog_bind_text(s->evidence, 4, e->text);
		r = catalog_step_done(c, s->evidence, "cannot add evidence");
	}
	for (size_t i = 0; r >= 0 && i < n_docs; i++) {
		uint8_t d[CRYPTO_DIGEST_SIZE];
		char hex[2 * CRYPTO_DIGEST_SIZE + 1];

		crypto_sha256(docs[i].data, docs[i].len, d);
		for (size_t k = 0; k < sizeof(d); k++)
			snprintf(hex + 2 * k, 3, "%02x", d[k]);
		catalog_bind_guid(s->doc, 1, set);
		catalog_bind_text(s->doc, 2, docs[i].name);
		sqlite3_bind_int64(s->doc, 3, (sqlite3_int64)docs[i].len);
		catalog_bind_text(s->doc, 4, hex);
		sqlite3_bind_int64(s->doc, 5, (sqlite3_int64)time(NULL));
		sqlite3_bind_blob64(s->doc, 6, docs[i].data, docs[i].len, SQLITE_STATIC);
		r = catalog_step_done(c, s->doc, "cannot keep a document");
	}
	/* consistency of every set this import touched, once each */
	if (r >= 0)
		r = catalog_refresh_set(c, set);
	for (size_t i = 0; r >= 0 && i < m->sets.n; i++)
		if (!guid_equal(&m->sets.v[i].id, set))
			r = catalog_refresh_set(c, &m->sets.v[i].id);
	for (size_t i = 0; r >= 0 && i < m->shadows.n; i++) {
		const struct md_shadow *h = &m->shadows.v[i];
		bool seen = !h->has_set || guid_equal(&h->set_id, set);
		for (size_t k = 0; !seen && k < m->sets.n; k++)
			seen = guid_equal(&m->sets.v[k].id, &h->set_id);
		for (size_t k = 0; !seen && k < i; k++)
			seen = m->shadows.v[k].has_set && guid_equal(&m->shadows.v[k].set_id, &h->set_id);
		if (!seen)
			r = catalog_refresh_set(c, &h->set_id);
	}
	return r;
}

int catalog_import_md(struct catalog *c, const struct sr_guid *set, const struct md *m, const struct catalog_doc *docs,
		      size_t n_docs)
{
	struct stmts s = { 0 };
	int r;

	r = stmts_prepare(c, &s);
	if (r >= 0)
		r = catalog_begin(c);
	if (r >= 0) {
		r = import_md_tx(c, &s, set, m, docs, n_docs);
		if (r >= 0)
			r = catalog_commit(c);
		else
			catalog_rollback(c);
	}
	stmts_free(&s);
	return r;
}

int catalog_import_vss(struct catalog *c, const struct sr_guid *found_in, const char *volume_name,
		       const char *volume_path, struct vss_volume *v)
{
	struct stmts s = { 0 };
	char drive[4];
	int r;

	drive_of(volume_name, drive);
	r = stmts_prepare(c, &s);
	for (unsigned k = 0; r >= 0 && k < vss_volume_store_count(v); k++) {
		const struct vss_store_info *x = vss_volume_store(v, k);
		char names[512], where[300];

		/* a store whose data is on a volume not captured: its IDs are unknown */
		if (!x->has_data)
			continue;
		catalog_bind_guid(s.set, S_SET_ID, &x->set_id);
		catalog_bind_text(s.set, S_ORIGIN, "vss-store");
		catalog_bind_text(s.set, S_MACHINE, x->operating_machine);
		sqlite3_bind_int64(s.set, S_CREATED_FT, (sqlite3_int64)x->creation_time);
		sqlite3_bind_int64(s.set, S_CONTEXT, x->context);
		sqlite3_bind_int(s.set, S_IN_REPOSITORY, 0);
		catalog_bind_guid(s.set, S_FOUND_IN, found_in);
		r = catalog_step_done(c, s.set, "cannot add a set");
		if (r < 0)
			break;
		vss_attr_names(x->attributes, names, sizeof(names));
		snprintf(where, sizeof(where), "%s", x->storage_remote ? vss_store_storage_name(v, k) : "local");
		catalog_bind_guid(s.shadow, H_SHADOW_ID, &x->copy_id);
		catalog_bind_guid(s.shadow, H_SET_ID, &x->set_id);
		catalog_bind_text(s.shadow, H_ORIGIN, "vss-store");
		catalog_bind_text(s.shadow, H_VOLUME_GUID_PATH, volume_path);
		catalog_bind_text(s.shadow, H_VOLUME_NAME, volume_name);
		catalog_bind_guid(s.shadow, H_CAPTURED_IN, found_in);
		catalog_bind_guid(s.shadow, H_STORE_ID, &x->store_id);
		sqlite3_bind_int(s.shadow, H_STORE_INDEX, (int)k + 1);
		sqlite3_bind_int64(s.shadow, H_CREATED_FT, (sqlite3_int64)x->creation_time);
		sqlite3_bind_int64(s.shadow, H_CONTEXT, x->context);
		sqlite3_bind_int64(s.shadow, H_ATTRIBUTES, x->attributes);
		sqlite3_bind_int(s.shadow, H_ATTRIBUTES_KNOWN, 1);
		catalog_bind_text(s.shadow, H_ATTRIBUTE_TEXT, names);
		catalog_bind_text(s.shadow, H_ORIGINATING, x->operating_machine);
		catalog_bind_text(s.shadow, H_SERVICE, x->service_machine);
		sqlite3_bind_int64(s.shadow, H_VOLUME_SIZE, (sqlite3_int64)x->volume_size);
		catalog_bind_text(s.shadow, H_STORAGE, where);
		r = catalog_step_done(c, s.shadow, "cannot add a shadow copy");
		if (r < 0)
			break;
		catalog_bind_guid(s.volume, V_SET_ID, &x->set_id);
		catalog_bind_text(s.volume, V_KEY, volume_path ? volume_path : volume_name);
		catalog_bind_text(s.volume, V_GUID_PATH, volume_path);
		catalog_bind_text(s.volume, V_NAME, volume_name);
		catalog_bind_text(s.volume, V_DRIVE, drive[0] ? drive : NULL);
		catalog_bind_text(s.volume, V_FS, "ntfs");
		sqlite3_bind_int64(s.volume, V_SIZE, (sqlite3_int64)x->volume_size);
		catalog_bind_guid(s.volume, V_SHADOW_ID, &x->copy_id);
		catalog_bind_text(s.volume, V_ORIGIN, "vss-store");
		r = catalog_step_done(c, s.volume, "cannot add a volume");
		if (r >= 0)
			r = catalog_refresh_set(c, &x->set_id);
	}
	stmts_free(&s);
	return r;
}

/* Insert the rows of one repository set; used by sync.c. */
int catalog_import_repo_set(struct catalog *c, const struct sr_guid *set, const char *instance, uint64_t created,
			    const char *consistency, const char *manifest_file)
{
	struct stmts s = { 0 };
	int r;

	r = stmts_prepare(c, &s);
	if (r >= 0) {
		catalog_bind_guid(s.set, S_SET_ID, set);
		catalog_bind_text(s.set, S_ORIGIN, "repository");
		catalog_bind_text(s.set, S_INSTANCE, instance);
		bind_int_or_null(s.set, S_CREATED_FT, (int64_t)created, created != 0);
		catalog_bind_text(s.set, S_REPO_CONSISTENCY, consistency && consistency[0] ? consistency : NULL);
		sqlite3_bind_int(s.set, S_IN_REPOSITORY, 1);
		catalog_bind_text(s.set, S_MANIFEST_FILE, manifest_file);
		r = catalog_step_done(c, s.set, "cannot add a set");
	}
	stmts_free(&s);
	return r;
}

/* One captured volume of a repository set. */
int catalog_import_repo_volume(struct catalog *c, const struct sr_guid *set, const struct sr_guid *shadow,
			       const char *name, const char *drive, const char *fs, uint64_t size, int disk,
			       unsigned partition, uint64_t offset, bool is_system, bool is_boot)
{
	struct stmts s = { 0 };
	int r;

	r = stmts_prepare(c, &s);
	if (r >= 0) {
		catalog_bind_guid(s.volume, V_SET_ID, set);
		catalog_bind_text(s.volume, V_KEY, name);
		catalog_bind_text(s.volume, V_NAME, name);
		catalog_bind_text(s.volume, V_DRIVE, drive && drive[0] ? drive : NULL);
		catalog_bind_text(s.volume, V_FS, fs);
		sqlite3_bind_int64(s.volume, V_SIZE, (sqlite3_int64)size);
		bind_int_or_null(s.volume, V_DISK, disk, disk >= 0);
		bind_int_or_null(s.volume, V_PARTITION, partition, disk >= 0);
		sqlite3_bind_int64(s.volume, V_OFFSET, (sqlite3_int64)offset);
		sqlite3_bind_int(s.volume, V_SYSTEM, is_system);
		sqlite3_bind_int(s.volume, V_BOOT, is_boot);
		catalog_bind_guid(s.volume, V_SHADOW_ID, shadow);
		catalog_bind_text(s.volume, V_ORIGIN, "captured-volume");
		r = catalog_step_done(c, s.volume, "cannot add a volume");
	}
	if (r >= 0 && !guid_is_null(shadow)) {
		catalog_bind_guid(s.shadow, H_SHADOW_ID, shadow);
		catalog_bind_guid(s.shadow, H_SET_ID, set);
		catalog_bind_text(s.shadow, H_ORIGIN, "captured-volume");
		catalog_bind_text(s.shadow, H_VOLUME_NAME, name);
		catalog_bind_guid(s.shadow, H_CAPTURED_IN, set);
		sqlite3_bind_int64(s.shadow, H_VOLUME_SIZE, (sqlite3_int64)size);
		r = catalog_step_done(c, s.shadow, "cannot add a shadow copy");
	}
	stmts_free(&s);
	return r;
}

/* ---- consistency (metadata-formats.md §5) ---- */

static int add_reason(struct buf *b, const char *text)
{
	return buf_printf(b, "%s%s", b->len ? "; " : "", text);
}

int catalog_refresh_set(struct catalog *c, const struct sr_guid *set)
{
	_cleanup_stmt_ sqlite3_stmt *ev = NULL, *sh = NULL, *wr = NULL, *up = NULL, *upw = NULL, *upn = NULL;
	struct buf strong_fs = BUF_INIT, app = BUF_INIT, weak_fs = BUF_INIT, reason = BUF_INIT;
	enum md_level level;
	char repo_level[32] = "";
	int r, rc;

	r = catalog_prepare(c, "SELECT level, strong, text FROM evidence WHERE set_id = ?1 ORDER BY id", &ev);
	if (r >= 0)
		r = catalog_prepare(c,
				    "SELECT shadow_id, attributes, attributes_known, context, origin, volume_name FROM shadows"
				    " WHERE set_id = ?1 ORDER BY shadow_id",
				    &sh);
	if (r >= 0)
		r = catalog_prepare(c, "SELECT repo_consistency FROM sets WHERE set_id = ?1", &wr);
	if (r < 0)
		goto out;
	catalog_bind_guid(ev, 1, set);
	catalog_bind_guid(sh, 1, set);
	catalog_bind_guid(wr, 1, set);
	if (sqlite3_step(wr) == SQLITE_ROW)
		snprintf(repo_level, sizeof(repo_level), "%s", catalog_col(wr, 0));
	while ((rc = sqlite3_step(ev)) == SQLITE_ROW) {
		enum md_level l = md_level_from_name(catalog_col(ev, 0));
		struct buf *into = l == MD_LEVEL_APP ? &app : sqlite3_column_int(ev, 1) ? &strong_fs : &weak_fs;
		if (l == MD_LEVEL_APP || l == MD_LEVEL_FS)
			r = add_reason(into, catalog_col(ev, 2));
		if (r < 0)
			goto out;
	}
	while ((rc = sqlite3_step(sh)) == SQLITE_ROW) {
		const char *id = catalog_col(sh, 0);
		bool has_attr = sqlite3_column_type(sh, 1) != SQLITE_NULL;
		uint32_t attr = (uint32_t)sqlite3_column_int64(sh, 1);
		bool known = sqlite3_column_int(sh, 2) != 0;
		bool has_ctx = sqlite3_column_type(sh, 3) != SQLITE_NULL;
		uint32_t ctx = (uint32_t)sqlite3_column_int64(sh, 3);
		char t[200];

		if (has_attr && (attr & VSS_ATTR_NO_WRITERS)) {
			snprintf(t, sizeof(t), "shadow copy {%.36s} has the No_Writers attribute", id);
			r = add_reason(&strong_fs, t);
		} else if (has_ctx && md_context_level(ctx) == MD_LEVEL_FS) {
			snprintf(t, sizeof(t), "shadow copy {%.36s} has context 0x%x (%s), without writers", id, ctx,
				 vss_context_name(ctx) ? vss_context_name(ctx) : "?");
			r = add_reason(&strong_fs, t);
		} else if (has_ctx && md_context_level(ctx) == MD_LEVEL_APP) {
			snprintf(t, sizeof(t), "shadow copy {%.36s} has context 0x%x (%s), with writers", id, ctx,
				 vss_context_name(ctx) ? vss_context_name(ctx) : "?");
			r = add_reason(&app, t);
		} else if (has_attr && known) {
			snprintf(t, sizeof(t), "shadow copy {%.36s} was made with writers (no No_Writers attribute)", id);
			r = add_reason(&app, t);
		}
		if (r < 0)
			goto out;
	}
	if (strong_fs.len) {
		level = MD_LEVEL_FS;
		r = add_reason(&reason, (const char *)strong_fs.data);
		if (r >= 0 && app.len)
			r = buf_printf(&reason, "; but: %s", (const char *)app.data);
	} else if (app.len) {
		level = MD_LEVEL_APP;
		r = add_reason(&reason, (const char *)app.data);
		if (r >= 0 && weak_fs.len)
			r = buf_printf(&reason, "; but: %s", (const char *)weak_fs.data);
	} else if (weak_fs.len) {
		level = MD_LEVEL_FS;
		r = add_reason(&reason, (const char *)weak_fs.data);
	} else if (strcmp(repo_level, "application") == 0 || strcmp(repo_level, "filesystem") == 0) {
		level = repo_level[0] == 'a' ? MD_LEVEL_APP : MD_LEVEL_FS;
		r = add_reason(&reason, "as recorded at capture (no VSS metadata in the catalog)");
	} else {
		level = MD_LEVEL_CRASH;
		r = add_reason(&reason, "no VSS metadata and no shadow copy attributes for this set");
	}
	if (r < 0)
		goto out;
	/* n_shadows and volume_list are kept here so that `list sets` is one scan of sets */
	r = catalog_prepare(c,
			    "UPDATE sets SET consistency = ?2, consistency_reason = ?3,"
			    " n_shadows = (SELECT count(*) FROM shadows h WHERE h.set_id = ?1),"
			    " volume_list = (SELECT group_concat(x, char(30)) FROM (SELECT coalesce(v.drive, '') || char(31)"
			    "   || coalesce(v.guid_path, '') || char(31) || coalesce(v.name, '') AS x FROM volumes v"
			    "   WHERE v.set_id = ?1 ORDER BY coalesce(v.drive, v.name, v.guid_path)))"
			    " WHERE set_id = ?1",
			    &up);
	if (r < 0)
		goto out;
	catalog_bind_guid(up, 1, set);
	catalog_bind_text(up, 2, md_level_name(level));
	catalog_bind_text(up, 3, (const char *)reason.data);
	r = catalog_step_done(c, up, "cannot record a consistency level");
	if (r < 0)
		goto out;
	/*
	 * Per writer: only a writer whose components were selected for the backup
	 * (in the BCD, or in diskshadow's verbose listing) prepared its data; the
	 * data of the others is in the set as it was on disk, crash-consistent.
	 */
	r = catalog_prepare(c,
			    "UPDATE writers SET"
			    " consistency = CASE WHEN " CATALOG_WRITER_TOOK_PART("writers") " THEN ?2 ELSE 'crash-consistent' END,"
			    " consistency_reason = CASE WHEN " CATALOG_WRITER_TOOK_PART("writers") " THEN ?3"
			    "   ELSE 'it did not take part in the set, none of its components was selected for the backup: the"
			    " data of ' || coalesce(name, 'writer {' || writer_id || '}') ||"
			    "   coalesce(' (' || instance_name || ')', '') || ' is crash-consistent only' END"
			    " WHERE set_id = ?1",
			    &upw);
	if (r < 0)
		goto out;
	catalog_bind_guid(upw, 1, set);
	catalog_bind_text(upw, 2, md_level_name(level == MD_LEVEL_APP ? MD_LEVEL_APP : level));
	catalog_bind_text(upw, 3,
			  level == MD_LEVEL_APP ? "it took part in the set: its components were selected for the backup"
						: "it took part (its components were selected), but the set is not "
						  "application-consistent");
	r = catalog_step_done(c, upw, "cannot record writer consistency");
	if (r < 0)
		goto out;
	/* the set's reason names the writers that did not take part: their applications' data is not consistent */
	r = catalog_prepare(c,
			    "UPDATE sets SET consistency_reason = consistency_reason || '; ' ||"
			    " (SELECT count(*) FROM writers w WHERE w.set_id = ?1 AND NOT " CATALOG_WRITER_TOOK_PART("w") ")"
			    " || ' writer(s) did not take part, their data is crash-consistent only: ' ||"
			    " (SELECT group_concat(x, ', ') FROM (SELECT coalesce(w.name, 'writer {' || w.writer_id || '}') ||"
			    "   coalesce(' (' || w.instance_name || ')', '') AS x FROM writers w WHERE w.set_id = ?1 AND NOT "
			    CATALOG_WRITER_TOOK_PART("w") " ORDER BY x))"
			    " WHERE set_id = ?1 AND EXISTS (SELECT 1 FROM writers w WHERE w.set_id = ?1 AND NOT "
			    CATALOG_WRITER_TOOK_PART("w") ")",
			    &upn);
	if (r < 0)
		goto out;
	catalog_bind_guid(upn, 1, set);
	r = catalog_step_done(c, upn, "cannot record writer consistency");
out:
	buf_free(&strong_fs);
	buf_free(&app);
	buf_free(&weak_fs);
	buf_free(&reason);
	return r;
}
