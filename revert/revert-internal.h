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
	bool yes, dry_run, offline, all_blocks;
	const char *journal_dir;
	const char *set;
	const char *repo, *pass_file;
	const char *to[REVERT_MAX_TO]; /* NAME=PATH or PATH */
	size_t n_to;
};

struct journal;
/* Apply a committed journal to its targets (opened with target_open), fsync, read every write back. */
int revert_apply_journal(struct journal *j, uint64_t *ret_bytes);
/* After an offline revert of a system volume: will it boot? Prints findings; EXIT_PARTIAL when it will not. */
int revert_check_boot_after(const struct revert_opts *o, const char *image, uint64_t offset, uint64_t size);
/* Tests widen the kill windows with SHADOWREV_TEST_{READ,WRITE}_DELAY_US. */
void revert_test_delay(const char *var);
/* Revert volumes to shadow copies captured in the repository (the --to forms). */
int revert_from_repo(struct revert_opts *o, const char *id);

/*
 * The journal: a file that holds every write a revert will make, in order,
 * with the new and the old bytes, made complete (fsync, rename) before the
 * first write to a target. Running the same revert again while it exists
 * replays it: writes are idempotent, so an interrupted revert finishes with
 * the same bytes as an uninterrupted one.
 */
struct journal;

struct journal_write {
	uint32_t target; /* index into the journal's targets */
	uint32_t len;
	uint64_t off; /* byte offset in the target */
	uint8_t *new_data, *old_data; /* old_data NULL when the journal did not keep it */
};

/* Start a new journal at path (written to a temporary name until journal_commit). */
int journal_create(const char *path, const char *shadow_id, struct journal **ret);
int journal_add_target(struct journal *j, const char *path, uint32_t *ret_idx);
/* old_data (the bytes replaced) is kept only when not NULL: catalog entries keep it, data blocks do not. */
int journal_add_write(struct journal *j, uint32_t target, uint64_t off, const void *new_data, const void *old_data,
		      uint32_t len);
/* fsync and rename into place: from now on the revert is committed. */
int journal_commit(struct journal *j);
/* Read a committed journal; -ENOENT if there is none. Every record is checked (CRC). */
int journal_open(const char *path, struct journal **ret);
void journal_free(struct journal *j);
/* Remove the journal file after a verified revert. */
int journal_remove(struct journal *j);

const char *journal_shadow_id(const struct journal *j);
size_t journal_n_targets(const struct journal *j);
const char *journal_target(const struct journal *j, size_t idx);
size_t journal_n_writes(const struct journal *j);
/* The i-th write, data loaded into the caller's buffers (len bytes each). */
int journal_read_write(struct journal *j, size_t i, struct journal_write *w, uint8_t *new_buf, uint8_t *old_buf);
uint64_t journal_bytes(const struct journal *j);

/* Where the journal of a target lives: DIR/<name>.shadowrev-journal, beside an image by default. */
char *journal_path_for(const char *target, const char *journal_dir);

#endif
