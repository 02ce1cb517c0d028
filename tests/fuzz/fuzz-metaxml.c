/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz the XML metadata parsers (catalog/metadata.h): BCD, writer metadata and diskshadow's
 * Manifest.xml, in any of the encodings Windows writes (UTF-16LE with or without BOM
 * and trailing NUL, UTF-8), then the merge of writers that md_finish() does.
 */
#define MD_PARSE md_parse_xml
#include "fuzz-md.h"
