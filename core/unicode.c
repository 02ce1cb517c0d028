/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "unicode.h"

#include "macro.h"

static size_t put_utf8(uint32_t cp, char *o)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

size_t utf16le_to_utf8(const uint8_t *p, size_t n, char *out, size_t outsz)
{
	size_t used = 0;

	if (outsz == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t cp = le16(p + 2 * i);
		char tmp[4];
		size_t l;

		if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < n) {
			uint32_t lo = le16(p + 2 * (i + 1));
			if (lo >= 0xdc00 && lo <= 0xdfff) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				i++;
			} else {
				cp = 0xfffd;
			}
		} else if (cp >= 0xd800 && cp <= 0xdfff) {
			cp = 0xfffd;
		}
		if (cp == 0)
			break;
		l = put_utf8(cp, tmp);
		if (used + l + 1 > outsz)
			break;
		for (size_t j = 0; j < l; j++)
			out[used++] = tmp[j];
	}
	out[used] = 0;
	return used;
}

static uint16_t upcase_unit(const uint8_t *upcase, size_t upcase_len, uint16_t c)
{
	return c < upcase_len ? le16(upcase + 2 * (size_t)c) : c;
}

bool utf16le_upcase_equal(const void *upcase, size_t upcase_len, const void *a, size_t alen, const void *b,
			  size_t blen)
{
	const uint8_t *u = upcase, *x = a, *y = b;

	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++) {
		uint16_t ca = le16(x + 2 * i), cb = le16(y + 2 * i);
		if (ca != cb && upcase_unit(u, upcase_len, ca) != upcase_unit(u, upcase_len, cb))
			return false;
	}
	return true;
}
