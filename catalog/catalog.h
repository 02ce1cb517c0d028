/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SR_CATALOG_H
#define SR_CATALOG_H

/* `shadowrev list ...`: shadow copies (and, with a repository, sets, volumes, writers, storage). */
int cmd_list(int argc, char **argv);

#endif
