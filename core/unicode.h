/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SR_UNICODE_H
#define SR_UNICODE_H

#include <stddef.h>
#include <stdint.h>

/*
 * UTF-16LE (n code units at p, unaligned) to NUL-terminated UTF-8 in out,
 * truncated at a character boundary to fit outsz. Unpaired surrogates become
 * U+FFFD. Returns the number of bytes written (without the NUL).
 */
size_t utf16le_to_utf8(const uint8_t *p, size_t n, char *out, size_t outsz);

#endif
