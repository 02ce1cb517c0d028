/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SR_RESTORE_INTERNAL_H
#define SR_RESTORE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/repo.h"
#include "core/src.h"
#include "core/volset.h"
#include "core/vss.h"

/*
 * What `restore files` reads from: one volume's view (a captured volume, a
 * shadow copy inside a captured volume or inside images, or the live volume of
 * images). Owns everything the view depends on.
 */
struct rs_source {
	struct src *view;
	char drive;            /* 'C' or 0 */
	char label[200];       /* for messages: the shadow ID or "SET:C:" */
	bool usage;            /* SOURCE names nothing, or more than one thing (exit 2) */
	uint64_t time;         /* FILETIME of the point in time, 0 if unknown */
	struct volset *vs;
	struct repo *repo;
	struct repo_manifest *sets;
	size_t n_sets;
	struct vss_volume *vss;
	struct src *vss_base;
};

/* Open the repository dir (NULL: the default one), asking for a passphrase when it is encrypted. */

/*
 * Resolve SOURCE: "live" (with images), a shadow copy of images (ID or vssN),
 * or anything core/select.h names in the repository that is a volume or a
 * shadow copy. On failure, ret->usage says whether SOURCE named nothing (or
 * too much): a usage error.
 */
int rs_source_open(const char *spec, char *const *images, size_t n_images, const char *repo_dir,
		   const char *passphrase_file, struct rs_source *ret);
void rs_source_close(struct rs_source *s);

/* Case-fold a UTF-8 name for collision checks (ASCII, Latin-1, Greek, Cyrillic). Malloc'ed. */
char *rs_fold(const char *name);
/* Is one name (a single component from an untrusted volume) safe to create in a folder? */
bool rs_name_is_safe(const char *name, const char **ret_why);


int rs_cmd_files(int argc, char **argv);
int rs_cmd_instance(int argc, char **argv);

#endif
