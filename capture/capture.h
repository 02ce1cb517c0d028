/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SR_CAPTURE_H
#define SR_CAPTURE_H

/* The capture side and the repository verbs. */
int cmd_init(int argc, char **argv);
int cmd_capture(int argc, char **argv);
int cmd_sets(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_gc(int argc, char **argv);
int cmd_delete(int argc, char **argv);

#endif
