/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz the parser of diskshadow and vssadmin listings (catalog/metadata.h):
 * records told apart by layout and GUID shape, values by position.
 */
#define MD_PARSE md_parse_listing
#include "fuzz-md.h"
