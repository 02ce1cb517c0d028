/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SR_VOLSET_H
#define SR_VOLSET_H

#include <stddef.h>
#include <stdint.h>

#include "src.h"
#include "vss.h"

/*
 * The volumes inside a list of images given on the command line: an image
 * that is an NTFS volume is one volume; a whole disk (MBR or GPT) gives one
 * volume per NTFS partition. Each volume's VSS state is opened, and stores
 * whose shadow storage is on another volume of the set are attached to it.
 */
struct volset_volume {
	char *name;        /* "image" or "image:p2" */
	char *image;       /* the path given */
	unsigned partition; /* 0 for a bare volume */
	uint64_t offset;   /* of the volume in the image */
	struct src *src;
	struct vss_volume *vss;
};

struct volset {
	struct volset_volume *vols;
	size_t n;
};

/* Open every image; -EMEDIUMTYPE (with a detail) for an image without any NTFS volume. */
int volset_open(char *const *paths, size_t n, struct volset **ret);
void volset_free(struct volset *vs);

/*
 * Find the shadow copy named by text (a shadow copy ID, braces and case
 * free, or a unique prefix). -ENOENT / -ENOTUNIQ with a detail.
 */
int volset_find_shadow(struct volset *vs, const char *text, size_t *ret_vol, unsigned *ret_store);

#endif
