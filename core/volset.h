/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SR_VOLSET_H
#define SR_VOLSET_H

#include <stddef.h>
#include <stdint.h>

#include "repo.h"
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
	size_t tag;        /* volset_from_srcs(): the caller's tag (repository: index in the set's volumes) */
};

struct volset {
	struct volset_volume *vols;
	size_t n;
};

/* Open every image; -EMEDIUMTYPE (with a detail) for an image without any NTFS volume. */
int volset_open(char *const *paths, size_t n, struct volset **ret);
void volset_free(struct volset *vs);

/*
 * A volset over sources that are open already (a reference is taken on
 * each): srcs[i] is a volume named by its src name, tagged tags[i]. Stores
 * whose shadow storage is on another of them are attached to it. A source
 * whose VSS state cannot be read is left out unless its tag is must (an
 * error then); pass SIZE_MAX for none.
 */
int volset_from_srcs(struct src *const *srcs, const size_t *tags, size_t n, size_t must, struct volset **ret);
/*
 * The captured NTFS volumes of set m (tags: their index in m->vols), each
 * with its VSS state and the shadow storage the others of the set hold for
 * it: how a shadow copy inside a captured volume is read. must: as above.
 */
int volset_open_repo(const struct repo *r, const struct repo_manifest *m, size_t must, struct volset **ret);
/* The volume tagged tag, or NULL. */
struct volset_volume *volset_by_tag(struct volset *vs, size_t tag);

/*
 * Find the shadow copy named by text: a shadow copy ID (braces and case
 * free, or a unique prefix), or its store index as vshadowinfo counts it,
 * oldest first: "vss2" (in the only volume that has a store 2) or
 * "NAME:vss2" (NAME: the volume's name, or its image's file name).
 * -ENOENT / -ENOTUNIQ with a detail (the candidates); -ENOMEDIUM when the
 * name is unknown but some stores' storage volume was not given.
 */
int volset_find_shadow(struct volset *vs, const char *text, size_t *ret_vol, unsigned *ret_store);
/* Does text end in "vssN" (alone or after ':')? N into *ret_n, the length of what comes before the ':'. */
int volset_parse_vss(const char *text, unsigned *ret_n, size_t *ret_prefix);

#endif
