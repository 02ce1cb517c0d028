/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SR_RECOVER_H
#define SR_RECOVER_H

/* `shadowrev export SHADOW-ID IMAGE... --to FILE|-`: the raw view of one shadow copy. */
int cmd_export(int argc, char **argv);

#endif
