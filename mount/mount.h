/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SR_MOUNT_H
#define SR_MOUNT_H

#include <stdbool.h>

/*
 * `shadowrev mount`, `unmount`, `expose`, `unexpose`: backups and the VSS
 * shadow copies inside them as a read-only FUSE tree (raw volume images and
 * NTFS file trees through libntfs-3g), and shadow copies under drive-letter
 * folders.
 */
int cmd_mount(int argc, char **argv);
int cmd_unmount(int argc, char **argv);
int cmd_expose(int argc, char **argv);
int cmd_unexpose(int argc, char **argv);

/*
 * Print the exposed shadow copies under root (NULL: the default,
 * /run/shadowrev/drives), as text or JSON on stdout, as the catalogs record
 * them (the one of repo_dir, NULL: the default repository, and those the
 * root's exposures were recorded in); an exposure whose daemon died is shown
 * as "dead" (`shadowrev unexpose` or the next `expose` cleans it up, record
 * included). Returns an exit code (EXIT_OK, EXIT_FAILED).
 */
int mnt_list_exposed(const char *root, const char *repo_dir, bool json);
/* `shadowrev list exposed [--root DIR] [--repo DIR] [--json]`. */
int cmd_list_exposed(int argc, char **argv);

#endif
