/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The body shared by the fuzz targets of catalog/metadata.h's parsers: limits
 * small enough to reach the size checks quickly, one parse, then the merge
 * that md_finish() does. Each target defines MD_PARSE before including this.
 */
#include <stdint.h>
#include <stdlib.h>

#include "catalog/metadata.h"
#include "core/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	md_limits.doc_max = 4u << 20;
	md_limits.member_max = 1u << 20;
	md_limits.archive_total = 4u << 20;
	md_limits.members_max = 64;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct md m;

	md_init(&m);
	if (MD_PARSE(&m, data, size) >= 0)
		(void)md_finish(&m, NULL);
	md_free(&m);
	sr_errclear();
	return 0;
}
