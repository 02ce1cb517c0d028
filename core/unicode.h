/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SR_UNICODE_H
#define SR_UNICODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * UTF-16LE (n code units at p, unaligned) to NUL-terminated UTF-8 in out,
 * truncated at a character boundary to fit outsz. Unpaired surrogates become
 * U+FFFD. Returns the number of bytes written (without the NUL).
 */
size_t utf16le_to_utf8(const uint8_t *p, size_t n, char *out, size_t outsz);

/*
 * Are two NTFS names equal as Windows compares them in a lookup? Same number
 * of UTF-16 code units, and each pair of code units equal once both are
 * mapped through the volume's $UpCase table (upcase: upcase_len code units,
 * UTF-16LE, as read from the volume; a code unit >= upcase_len maps to
 * itself). Nothing else: no locale, no normalization, no special casing ('ß'
 * is not "SS"; $UpCase maps it to itself), surrogates compared unit by unit
 * as NTFS does. a and b are UTF-16LE, alen and blen in code units; none of
 * the three needs alignment.
 */
bool utf16le_upcase_equal(const void *upcase, size_t upcase_len, const void *a, size_t alen, const void *b,
			  size_t blen);

#endif
