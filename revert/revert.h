/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SR_REVERT_H
#define SR_REVERT_H

/* `shadowrev revert SHADOW-ID IMAGE... [--yes] [--dry-run]`: put a volume back to a shadow copy in place. */
int cmd_revert(int argc, char **argv);

#endif
