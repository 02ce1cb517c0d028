/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SR_REPO_INTERNAL_H
#define SR_REPO_INTERNAL_H

#include "repo.h"

struct repo {
	char *dir;
	int dirfd;
	struct repo_config cfg;
	bool has_keys;
	struct crypto_keys keys;
};

/* Write rel (relative to the repository) through a temporary file: fsync, then rename (or link when
 * exclusive, -EEXIST if present), fsync the directory. */
int repo_write_file(const struct repo *r, const char *rel, const void *data, size_t len, bool exclusive);
/* Read rel into a malloc'ed buffer (at most max bytes). */
int repo_read_file(const struct repo *r, const char *rel, size_t max, void **ret, size_t *ret_len);

/* Value escaping for the text formats: bytes <= 0x20, 0x7f, '%', '=' become %XX. */
int repo_escape(struct buf *b, const char *s);
/* Unescape in place; -EBADMSG if malformed or it would contain a NUL. */
int repo_unescape(char *s);

#endif
