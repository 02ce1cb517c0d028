/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SR_REVERT_INTERNAL_H
#define SR_REVERT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cli.h"

#define REVERT_MAX_TO 16

struct revert_opts {
	struct cli_common c;
	bool yes, dry_run, offline, all_blocks, discard_journal;
	const char *journal_dir;
	const char *set;
	const char *repo, *pass_file;
	const char *to[REVERT_MAX_TO]; /* NAME=PATH or PATH */
	size_t n_to;
};

struct journal;
/*
 * Apply a committed journal to its targets (opened with target_open, then
 * journal_check_target: -ESTALE and nothing written when one is not the volume
 * it was made for), fsync, read every write back.
 */
int revert_apply_journal(struct journal *j, uint64_t *ret_bytes);
/* After an offline revert of a system volume: will it boot? Prints findings; EXIT_PARTIAL when it will not. */
int revert_check_boot_after(const struct revert_opts *o, const char *image, uint64_t offset, uint64_t size);
/* Tests widen the kill windows with SHADOWREV_TEST_{READ,WRITE}_DELAY_US. */
void revert_test_delay(const char *var);
/* Revert volumes to shadow copies captured in the repository (the --to forms). */
int revert_from_repo(struct revert_opts *o, const char *id);

/*
 * The journal: a file that holds every write a revert will make, in order,
 * with the new bytes and the SHA-256 of the bytes each write replaces, and
 * the identity of every target (image file: device and inode; block device:
 * size; both: the NTFS serial and size of each volume), made complete (fsync,
 * rename) before the first write to a target. Running the same revert again
 * while it exists replays it: writes are idempotent, so an interrupted revert
 * finishes with the same bytes as an uninterrupted one.
 *
 * A journal is found by its target's name (journal_path_for), and a name can
 * come to mean another volume. It is replayed only onto the targets it was
 * made for: journal_check_target() before the first write (-ESTALE, nothing
 * written, otherwise). `revert --discard-journal` removes a journal without
 * writing anything. Journals of version 1 (no identity) are refused
 * (-EPROTONOSUPPORT), never replayed.
 *
 * Single-threaded; one struct journal per file. Errors are -errno with a
 * detail recorded by sr_fail().
 */
struct journal;

struct journal_write {
	uint32_t target; /* index into the journal's targets */
	uint32_t len;
	uint64_t off; /* byte offset in the target */
	uint8_t *new_data, *old_data; /* old_data NULL when the journal did not keep it */
};

/*
 * Start a new journal at path: written to an unpredictable temporary name
 * beside it (O_EXCL|O_NOFOLLOW, 0600) until journal_commit. The default
 * journal folder (target.h) is made 0700 when missing and refused when it is a
 * symbolic link or writable by others.
 */
int journal_create(const char *path, const char *shadow_id, struct journal **ret);
/* A target (canonical path): opened read-only until the commit, its identity recorded. */
int journal_add_target(struct journal *j, const char *path, uint32_t *ret_idx);
/* A volume at byte offset off of a target: its NTFS serial and size are recorded (nothing when not NTFS). */
int journal_add_volume(struct journal *j, uint32_t target, uint64_t off);
/*
 * A write of len bytes (1 .. 8 MiB) at off. The bytes there now are read from
 * the target and their SHA-256 recorded. old_data (the bytes replaced) is kept
 * in the journal only when not NULL: catalog entries keep it, data blocks do not.
 */
int journal_add_write(struct journal *j, uint32_t target, uint64_t off, const void *new_data, const void *old_data,
		      uint32_t len);
/* Check that no two writes overlap, fsync, and rename into place (never over an existing file): committed. */
int journal_commit(struct journal *j);
/*
 * Read a committed journal; -ENOENT if there is none. Every record is checked
 * (CRC); -EBADMSG when damaged (or a symbolic link), -EPROTONOSUPPORT for
 * another version.
 */
int journal_open(const char *path, struct journal **ret);
void journal_free(struct journal *j);
/* Remove the journal file after a verified revert. */
int journal_remove(struct journal *j);

const char *journal_shadow_id(const struct journal *j);
size_t journal_n_targets(const struct journal *j);
const char *journal_target(const struct journal *j, size_t idx);
/* "image file '/x.img' (device 8:1, inode 12, N bytes), NTFS volume serial ... at offset 0" */
void journal_describe_target(const struct journal *j, size_t idx, char *buf, size_t n);
/*
 * Is the file open as fd the target idx the journal was made for, in a state
 * the journal can finish? Same kind, device and inode (image files), size,
 * NTFS serial and size, and every range it writes holds either the bytes that
 * were there (their SHA-256) or the new ones (*ret_done counts those, may be
 * NULL). 0 yes; -ESTALE no, with a detail naming what it was made for.
 */
int journal_check_target(struct journal *j, size_t idx, int fd, size_t *ret_done);
size_t journal_n_writes(const struct journal *j);
/* The i-th write, data loaded into the caller's buffers (len bytes each). */
int journal_read_write(struct journal *j, size_t i, struct journal_write *w, uint8_t *new_buf, uint8_t *old_buf);
uint64_t journal_bytes(const struct journal *j);

/* Where the journal of a target lives (target_journal_path in core/target.h). */
char *journal_path_for(const char *target, const char *journal_dir);

#endif
