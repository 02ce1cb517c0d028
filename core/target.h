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

#endif
