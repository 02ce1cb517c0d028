/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz the .cab / .zip reader (catalog/metadata.h): libarchive from memory,
 * member selection by name, the bomb limits (lowered here so that a run stays
 * fast), and the parsers of the members chosen.
 */
#define MD_PARSE md_parse_archive
#include "fuzz-md.h"
