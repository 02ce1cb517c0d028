/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SR_SELECT_H
#define SR_SELECT_H

#include <stddef.h>

#include "repo.h"
#include "volset.h"

/*
 * One grammar for what the user names in a repository (README "Selectors"):
 *
 *   SET        a set ID or a unique prefix (4+ hex digits); INSTANCE (its
 *              latest set), INSTANCE@latest, INSTANCE@DATE (the newest set
 *              at or before DATE: YYYY-MM-DD[THH:MM[:SS]][Z], UTC; a day
 *              alone means its end)
 *   SET:C:     a volume by drive letter (or SET:C); SET:disk0 a disk;
 *              SET:disk0:p2 a partition of it
 *   ...:vssN   the N-th VSS shadow copy inside that volume, oldest first
 *              (as vshadowinfo and vshadowmount count them)
 *   ID         a shadow copy ID (or unique prefix): a captured volume's, or
 *              a VSS shadow copy's inside a captured volume
 *
 * The verbs say which kinds they take; a set where a volume is wanted means
 * its only volume, a disk its only NTFS partition. A name that fits two
 * things is -ENOTUNIQ, an unknown one -ENOENT, each with a detail that
 * lists the candidates or gives a hint; the command layer makes both exit 2.
 */
enum sel_kind {
	SEL_SET = 1,
	SEL_DISK = 2,
	SEL_VOLUME = 4, /* a captured volume */
	SEL_SHADOW = 8, /* a VSS shadow copy inside a captured volume */
};

struct sel {
	enum sel_kind kind;
	size_t set;        /* index into the sets */
	size_t disk;       /* SEL_DISK: index into sets[set].disks */
	size_t vol;        /* SEL_VOLUME, SEL_SHADOW: index into sets[set].vols */
	unsigned store;    /* SEL_SHADOW: the store's index in its volume (0: the oldest, vss1) */
	struct volset *vs; /* SEL_SHADOW: the set's captured volumes with their VSS state, storage attached */
	char label[200];   /* for messages: "{shadow id}", "{set id}:C:", ... */
};

/* Resolve text among sets (repo_sets_load() order) to one of the kinds in want. */
int sel_resolve(const struct repo *r, const struct repo_manifest *sets, size_t n, const char *text, unsigned want,
		struct sel *ret);
void sel_done(struct sel *s);
/*
 * The bytes of what s names: a captured volume, a disk, or a shadow copy's
 * view. The source is independent of s, r and sets: a shadow copy's view
 * takes s->vs over (sel_vss(s) is NULL afterwards).
 */
int sel_open(const struct repo *r, const struct repo_manifest *sets, struct sel *s, struct src **ret);
/* The VSS store of a SEL_SHADOW (borrowed from s->vs). */
struct vss_volume *sel_vss(const struct sel *s);

/*
 * Is r an error of resolving a name (unknown or ambiguous: a usage error, exit 2)?
 */
#define SEL_IS_USAGE(r) ((r) == -ENOENT || (r) == -ENOTUNIQ)

#endif
