/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SR_REPO_H
#define SR_REPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "chunk.h"
#include "crypto.h"
#include "guid.h"
#include "src.h"

/*
 * The shadowrev repository: a local directory holding content-addressed
 * chunks, a fixed index per captured volume and one manifest per snapshot
 * set. The format is docs/FORMAT.md, version REPO_FORMAT_VERSION.
 *
 *   config                      §2  text, versioned; the wrapped master key
 *   chunks/<2 hex>/<64 hex>     §4  chunk envelopes, named by chunk ID
 *   indexes/<set name>/<k>.fidx §5  fixed indexes, one per volume or disk
 *   sets/<set name>.manifest    §6  the set's manifest (envelope), written last
 *   locks/                      §7  gc.lock, writer-*.lock
 *
 * Errors: -ENOENT no repository / set / volume; -EPROTONOSUPPORT unknown
 * version; -ENOKEY encrypted and no passphrase; -EKEYREJECTED wrong
 * passphrase; -EBADMSG corrupt bytes; -EEXIST the set exists already;
 * -EBUSY another gc or delete runs. A detail is recorded with sr_fail().
 *
 * A struct repo is safe to share between threads for the chunk functions
 * (repo_chunk_*); the rest is for one thread.
 */

/*
 * Config versions (§2): 1 as init writes it; 2 once a capture has stored a
 * composite chunk (§4.1), which a reader of version 1 must not meet. This
 * build reads both.
 */
#define REPO_FORMAT_VERSION 2
#define REPO_FORMAT_INIT 1
#define REPO_FORMAT_COMPOSITE 2
#define REPO_MANIFEST_VERSION 1
/* Index versions (§5): 1, or 2 when the index has composite slots (their reference table). */
#define REPO_INDEX_VERSION 2
#define REPO_DEFAULT_CHUNK_SIZE (1u << 20)
#define REPO_DEFAULT_LEVEL 2 /* docs/FORMAT.md §8 */
#define REPO_IO_ALIGN 4096 /* of envelope buffers for direct writes (repo_chunk_put) */
#define REPO_SCRYPT_N (1u << 15)
#define REPO_SCRYPT_R 8
#define REPO_SCRYPT_P 1

struct repo;

/* The repository to use when none is given: $SHADOWREV_REPO, /var/lib/shadowrev/repo as root, else
 * $XDG_DATA_HOME/shadowrev/repo (~/.local/share/shadowrev/repo). Malloc'ed. */
int repo_default_dir(char **ret);

struct repo_init_opts {
	uint32_t chunk_size; /* power of two, 64 KiB .. 16 MiB; 0 = REPO_DEFAULT_CHUNK_SIZE */
	int level;           /* zstd level; 0 = REPO_DEFAULT_LEVEL */
	const char *passphrase; /* NULL: not encrypted */
	uint64_t scrypt_n;   /* 0 = REPO_SCRYPT_N (tests use less) */
};
/* Create a repository in dir (created if missing; must be empty or absent). -EEXIST if one is there. */
int repo_init(const char *dir, const struct repo_init_opts *o);

/*
 * Open a repository. passphrase may be NULL for an unencrypted one. Nothing is
 * written. -ENOKEY: encrypted and no passphrase given.
 */
int repo_open(const char *dir, const char *passphrase, struct repo **ret);
void repo_free(struct repo *r);
const char *repo_dir(const struct repo *r);
bool repo_is_encrypted(const struct repo *r);
uint32_t repo_chunk_size(const struct repo *r);
int repo_level(const struct repo *r);
/* NULL when not encrypted; borrowed, valid until repo_free(). */
const struct crypto_keys *repo_keys(const struct repo *r);
/* Does dir hold a config whose version this build reads? (no key needed) */
int repo_config_probe(const char *dir, bool *ret_encrypted);

/* Parsed config (fuzzable). */
struct repo_config {
	unsigned version;
	struct sr_guid id;
	uint64_t created;
	uint32_t chunk_size;
	int level;
	bool encrypted;
	uint64_t scrypt_n;
	uint32_t scrypt_r, scrypt_p;
	uint8_t salt[32];
	uint8_t wrapped[CRYPTO_WRAPPED_SIZE];
};
int repo_config_parse(const void *buf, size_t len, struct repo_config *ret);
int repo_config_format(const struct repo_config *c, struct buf *out);

/* Chunks. Thread-safe. */
/* chunks/<2 hex>/<64 hex> under the repository; buf holds PATH_MAX. */
void repo_chunk_path(const struct repo *r, const uint8_t d[CRYPTO_DIGEST_SIZE], char *buf, size_t size);
/* Mark an existing chunk as in use (its atime, the gc mark): 0, or -ENOENT if it is not there. */
int repo_chunk_touch(const struct repo *r, const uint8_t d[CRYPTO_DIGEST_SIZE]);
/*
 * Store an envelope under its ID (temporary name, rename; no fsync, see repo_sync()). When env is aligned
 * to REPO_IO_ALIGN (posix_memalign), its whole blocks are written with O_DIRECT, past the page cache;
 * callers that store many chunks should align their envelope buffers.
 */
int repo_chunk_put(const struct repo *r, const uint8_t d[CRYPTO_DIGEST_SIZE], const void *env, size_t len);
/*
 * Read, decode and check a chunk: its plain bytes into out (cap bytes). -EBADMSG if it does not match its ID.
 * A composite chunk (§4.1) is expanded: its references are read from their chunks (only the bytes used when
 * a referenced chunk is stored raw, else decoded whole), and the expanded bytes are checked against the ID.
 */
int repo_chunk_load(const struct repo *r, struct chunk_ctx *c, const uint8_t d[CRYPTO_DIGEST_SIZE], void *out,
		    size_t cap, size_t *ret_len);
/*
 * The same, with a reader for the chunks a composite references (it fills dst with len bytes of chunk id
 * at off, or returns -ENOENT to let repo_chunk_load read the chunk itself); ref may be NULL.
 */
int repo_chunk_load_via(const struct repo *r, struct chunk_ctx *c, const uint8_t d[CRYPTO_DIGEST_SIZE], void *out,
			size_t cap, size_t *ret_len, chunk_ref_fn ref, void *u);
/*
 * Two chunks that both expand to len bytes (two whole chunks of a volume),
 * loaded at once: their IDs are checked with two SHA-256 streams interleaved.
 * *ret_a and *ret_b get what repo_chunk_load_via() would return for each (a
 * chunk of another length fails); the error detail left is the last failure's.
 */
void repo_chunk_load2(const struct repo *r, struct chunk_ctx *c, const uint8_t da[CRYPTO_DIGEST_SIZE],
		      const uint8_t db[CRYPTO_DIGEST_SIZE], void *out_a, void *out_b, size_t len, int *ret_a, int *ret_b,
		      chunk_ref_fn ref, void *u);
/*
 * The chunks a stored chunk references: none (*ret_n = 0) for a plain chunk, the distinct IDs of its recipe
 * for a composite (malloc'ed into *ret). -ENOENT if the chunk is not there, -EBADMSG if it is corrupt.
 */
int repo_chunk_refs(const struct repo *r, struct chunk_ctx *c, const uint8_t d[CRYPTO_DIGEST_SIZE],
		    uint8_t (**ret)[CRYPTO_DIGEST_SIZE], size_t *ret_n);
/* Like repo_chunk_put, but never replaces a chunk that is there (-EEXIST): how composites are stored. */
int repo_chunk_put_new(const struct repo *r, const uint8_t d[CRYPTO_DIGEST_SIZE], const void *env, size_t len);
/*
 * Before the first composite chunk is stored: raise the config's version to REPO_FORMAT_COMPOSITE (only
 * its first line is rewritten, atomically), so that shadowrev builds that do not know composites refuse
 * the repository cleanly. A no-op when it is there already. Not thread-safe (callers serialize).
 */
int repo_enable_composites(const struct repo *r);
/* Make everything written so far durable (syncfs). */
int repo_sync(const struct repo *r);

/* Fixed index (§5). */
struct repo_index_comp {
	uint64_t slot;      /* the composite chunk's place in digests */
	size_t first, n;    /* its references: refs[first .. first + n) */
};
struct repo_index {
	uint32_t chunk_size;
	bool keyed;
	uint64_t size;  /* bytes covered */
	uint64_t count; /* ceil(size / chunk_size) */
	uint8_t (*digests)[CRYPTO_DIGEST_SIZE];
	/* version 2: the composite slots (by slot, ascending) and the chunks they reference (§5) */
	struct repo_index_comp *comps;
	size_t n_comps;
	uint8_t (*refs)[CRYPTO_DIGEST_SIZE];
	size_t n_refs;
};
/* Parse and check a whole .fidx file (header, CRC, table hash; version 1 or 2) from a buffer. */
int repo_index_parse(const void *buf, size_t len, struct repo_index *ret);
int repo_index_format(const struct repo_index *x, void **ret, size_t *ret_len);
void repo_index_free(struct repo_index *x);
/* Write indexes/<rel> atomically; its SHA-256 into ret_sha. */
int repo_index_write(const struct repo *r, const char *rel, const struct repo_index *x,
		     uint8_t ret_sha[CRYPTO_DIGEST_SIZE]);
/* Load indexes/<rel>; -EBADMSG unless its SHA-256 equals sha (when sha is not NULL). */
int repo_index_load(const struct repo *r, const char *rel, const uint8_t *sha, struct repo_index *ret);

/* Manifests (§6). */
enum { REPO_ROLE_SYSTEM = 1, REPO_ROLE_BOOT = 2 };

struct repo_volume {
	struct sr_guid shadow_id;
	char *name;   /* "C:", "disk0:p2", or the source path: matches volumes between sets */
	char *source; /* what was read (informational) */
	char drive[4]; /* "C:" or "" */
	unsigned roles;
	int disk;           /* index into disks, -1 for a bare volume */
	unsigned partition; /* 1-based, with disk */
	uint64_t offset;    /* of the volume on its disk */
	uint64_t size;
	char fs[8];         /* "ntfs" or "raw" */
	char *index;        /* relative to indexes/ */
	uint8_t index_sha256[CRYPTO_DIGEST_SIZE];
};

struct repo_disk {
	unsigned no;
	char *source;
	uint64_t size;
	char scheme[8]; /* "gpt", "mbr", "none" */
	unsigned sector_size;
	struct sr_guid guid;
	uint32_t signature;
	char *index;
	uint8_t index_sha256[CRYPTO_DIGEST_SIZE];
};

struct repo_document {
	char *name;
	uint8_t digest[CRYPTO_DIGEST_SIZE];
	uint64_t size;
};

struct repo_manifest {
	unsigned version;
	struct sr_guid set_id;
	char *instance;
	uint64_t created, finished; /* FILETIME */
	char consistency[16];       /* "crash", "filesystem", "application" */
	uint32_t chunk_size;
	struct repo_volume *vols;
	size_t n_vols;
	struct repo_disk *disks;
	size_t n_disks;
	struct repo_document *docs;
	size_t n_docs;
	char *file; /* the set's name in sets/ and indexes/ (not in the text) */
};

int repo_manifest_parse(const void *buf, size_t len, struct repo_manifest *ret);
int repo_manifest_format(const struct repo_manifest *m, struct buf *out);
void repo_manifest_free(struct repo_manifest *m);
/* Free an array of n manifests. */
void repo_manifests_free(struct repo_manifest *v, size_t n);

/* The name of set id in sets/ and indexes/ (keyed when encrypted, so names reveal nothing). */
int repo_set_name(const struct repo *r, const struct sr_guid *id, char buf[65]);
/* Commit a set: make chunks and indexes durable, then write the manifest, last, atomically. -EEXIST if present. */
int repo_set_commit(const struct repo *r, const struct repo_manifest *m);
/* Every committed set, oldest first. A manifest that cannot be read is an error (-EBADMSG, named). */
int repo_sets_load(const struct repo *r, struct repo_manifest **ret, size_t *ret_n);
/* Find a set by ID or unique prefix among sets. */
int repo_set_match(const struct repo_manifest *sets, size_t n, const char *text, size_t *ret);
/* Remove a committed set: its manifest first, then its indexes. Takes the gc lock (-EBUSY). */
int repo_set_delete(const struct repo *r, const struct repo_manifest *m);

/*
 * Find a captured volume by shadow ID (whole, braces and case free, or a unique
 * prefix) among sets: *ret_set and *ret_vol index into them.
 */
int repo_volume_match(const struct repo_manifest *sets, size_t n, const char *text, size_t *ret_set,
		      size_t *ret_vol);

/*
 * A source reading captured volume v of set m (or disk d with repo_disk_src_new: the
 * partition table and gaps, partitions read as zeros). Decodes chunks into a
 * cache of up to 128 MiB per source, each chunk once, and decodes ahead of
 * sequential readers on its own threads (one per CPU, at most 4); every load
 * checks the chunk's ID. Thread-safe; a chunk that is missing or corrupt gives
 * -EBADMSG (with a detail naming it) for the ranges it covers only. The source
 * is independent of r (r may be freed).
 */
int repo_volume_src_new(const struct repo *r, const struct repo_manifest *m, size_t v, struct src **ret);
int repo_disk_src_new(const struct repo *r, const struct repo_manifest *m, size_t d, struct src **ret);

/*
 * Keeping decoded chunks (mount): a source made to keep (repo_src_keep(), a
 * volume or disk source from above) keeps every chunk it decodes, at its own
 * offset, in a memfd the size of the volume, as long as k allows (max_bytes
 * decoded bytes for all the sources sharing k; nothing kept is dropped before
 * the source is). Reads of kept chunks are copies out of it, and src_map()
 * gives them as extents of the memfd (spliced); once every stored chunk of a
 * volume is kept, src_map() gives the whole volume as one extent of it (a
 * file the kernel can read on its own). Without room, chunks are read as
 * without keeping. k outlives the sources.
 */
struct repo_keep;
int repo_keep_new(uint64_t max_bytes, struct repo_keep **ret);
void repo_keep_free(struct repo_keep *k);
int repo_src_keep(struct src *s, struct repo_keep *k);
/* Is every stored chunk of s kept already, or is there room in k to keep those that are not? */
bool repo_src_keeps_all(struct src *s, const struct repo_keep *k);
/* Is every stored chunk of s kept already (src_map() gives a volume whole)? */
bool repo_src_kept_whole(struct src *s);

/*
 * Open the repository in dir (NULL: repo_default_dir()), asking for the
 * passphrase when it is encrypted: pass_file, $SHADOWREV_PASSPHRASE,
 * $SHADOWREV_PASSPHRASE_FILE or a prompt on a terminal (-ENOKEY with a detail
 * when there is none).
 */
int repo_open_any(const char *dir, const char *pass_file, struct repo **ret);

/*
 * One call for other modules: open the repository (repo_dir NULL: the default
 * one; passphrase as repo_open_any() with pass_file), find the volume by
 * shadow ID, return a source reading it.
 */
int repo_find_volume_src(const char *repo_dir, const char *pass_file, const char *shadow_id_text, struct src **ret);

/*
 * Writers (captures) register while they run, so gc knows how old their marks
 * can be. base: the name (repo_manifest.file) of the set the capture is
 * incremental against, or NULL; delete refuses that set (-EBUSY) while the
 * writer runs, so the writer need not mark the chunks it reuses from it.
 */
int repo_writer_begin(const struct repo *r, const char *base, int *ret_fd);
void repo_writer_end(const struct repo *r, int fd);

struct repo_gc_stats {
	uint64_t chunks_kept, chunks_removed, bytes_removed, indexes_removed, temp_removed;
	double cutoff; /* Unix time */
};
/*
 * Remove chunks that no set references and that were not marked since the
 * cutoff (the oldest running writer's start, and never later than now minus
 * a margin). Safe while captures run. -EBUSY if another gc or delete runs.
 */
int repo_gc(const struct repo *r, struct repo_gc_stats *ret);

#endif
