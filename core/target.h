/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SR_TARGET_H
#define SR_TARGET_H

/*
 * A user's volume is sacred. Before anything writes to an image file or a
 * block device in place (revert, boot fix, restore to a disk), it is opened
 * here, which refuses anything in use: a mounted or otherwise claimed block
 * device (O_EXCL), an image file attached to a loop device, mounted (e.g. by
 * ntfs-3g or FUSE), held by device-mapper/md, opened or mmap()ed by another
 * process (the fd closed: a shared mapping still writes), or
 * locked by another shadowrev. The returned fd holds an exclusive OFD lock on
 * the target until closed. -EBUSY with a detail saying who uses it.
 */
int target_open(const char *path, int *ret_fd);
/* The same checks without opening for writing (for --dry-run and planning). */
int target_check(const char *path);

/*
 * Revert journals (revert/journal.c holds the format). A revert that was
 * interrupted leaves its journal at a fixed place per target: beside an image
 * file (IMAGE.shadowrev-journal), or for a block device in the journal folder:
 * $SHADOWREV_JOURNAL_DIR, else /var/lib/shadowrev/journal (made 0700 when
 * first needed), or in journal_dir when not NULL (revert --journal DIR).
 */
const char *target_journal_default_dir(void);
/* The journal path of target (a canonical path); malloc'ed, NULL on ENOMEM. */
char *target_journal_path(const char *target, const char *journal_dir);
/*
 * Is a revert of image (any path to it) pending, i.e. does its journal exist
 * at the default place? 0: no; 1: yes, with *ret_journal (malloc'ed) and
 * *ret_id (malloc'ed: the shadow copy or set ID the journal reverts to, "?"
 * when its header cannot be read); -errno when image cannot be resolved.
 * Only the header is read: whether the journal matches the volume is for
 * revert to decide.
 */
int target_journal_pending(const char *image, char **ret_journal, char **ret_id);

#endif
