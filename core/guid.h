/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SR_GUID_H
#define SR_GUID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A GUID in its on-disk (Microsoft, mixed-endian) byte order. */
struct sr_guid {
	uint8_t b[16];
};

#define GUID_STRING_MAX 39 /* "{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}" + NUL */

/* Parse "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", with or without braces, any case. -EINVAL if malformed. */
int guid_parse(const char *s, struct sr_guid *ret);
/* Lowercase, no braces; buf must hold GUID_STRING_MAX. Returns buf. */
char *guid_format(const struct sr_guid *g, char *buf);
/* With braces, as Windows prints it. */
char *guid_format_braced(const struct sr_guid *g, char *buf);
bool guid_is_null(const struct sr_guid *g);
bool guid_equal(const struct sr_guid *a, const struct sr_guid *b);
/* A new random (version 4) GUID. */
int guid_random(struct sr_guid *ret);

/*
 * Find which of n known GUIDs the text names: a whole GUID or a unique prefix
 * of at least GUID_PREFIX_MIN hex digits (braces, dashes and case ignored).
 * Returns the index, -ENOENT if none matches, -ENOTUNIQ if several do,
 * -EINVAL if the text cannot be part of a GUID.
 */
#define GUID_PREFIX_MIN 4
int guid_match(const char *text, const struct sr_guid *known, size_t n, size_t stride);

#endif
