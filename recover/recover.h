/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SR_RECOVER_H
#define SR_RECOVER_H

/* `shadowrev export SHADOW-ID IMAGE... --to FILE|-`: the raw view of one shadow copy. */
int cmd_export(int argc, char **argv);
/* `shadowrev boot check|fix TARGET`: will a disk boot, and fix what depends on where volumes sit. */
int cmd_boot(int argc, char **argv);
/* `shadowrev restore files|instance`: files and folders of a volume view; whole instances from a captured set. */
int cmd_restore(int argc, char **argv);

#endif
