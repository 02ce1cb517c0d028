/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SR_CATALOG_METADATA_INTERNAL_H
#define SR_CATALOG_METADATA_INTERNAL_H

/* Shared by the parsers in catalog/; not part of the module's interface. */

#include "metadata.h"

/* strdup/strndup into *ret (freeing what was there); NULL s gives NULL. -ENOMEM. */
int md_strdup(const char *s, char **ret);
int md_strndup(const char *s, size_t len, char **ret);

/* Find or add (returned pointers are valid until the next add of the same kind). */
int md_set_get(struct md *m, const struct sr_guid *id, struct md_set **ret);
int md_shadow_get(struct md *m, const struct sr_guid *id, struct md_shadow **ret);
int md_writer_get(struct md *m, const struct sr_guid *writer, const struct sr_guid *instance,
		  const struct sr_guid *set, struct md_writer **ret);
/* A writer a listing names without IDs (named_only), found or added by name. */
int md_writer_get_named(struct md *m, const char *name, struct md_writer **ret);
int md_component_add(struct md_writer *w, const char *logical_path, const char *name, const char *caption,
		     const char *type, bool selected);
int md_evidence_add(struct md *m, const struct sr_guid *set, enum md_level level, bool strong, const char *text);

/* The parsers on text already decoded by md_decode_text() (NUL-terminated, len bytes). */
int md_parse_xml_text(struct md *m, const char *text, size_t len, enum md_doc_kind *ret_kind);
int md_parse_listing_text(struct md *m, const char *text, size_t len);

#endif
