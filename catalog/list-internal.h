/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SR_CATALOG_LIST_INTERNAL_H
#define SR_CATALOG_LIST_INTERNAL_H

#include "core/cli.h"

/* `list sets|shadows|volumes|writers|storage` from the catalog (list-catalog.c); returns the exit code. */
int list_catalog(struct cli_common *c, const char *what, const char *repo_opt, const char *pass_file,
		 const char *set_text);

#endif
