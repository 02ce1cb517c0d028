/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "guid.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "macro.h"

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Text order of the 16 bytes: Data1..Data3 are little-endian on disk. */
static const uint8_t text_to_disk[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };

int guid_parse(const char *s, struct sr_guid *ret)
{
	struct sr_guid g;
	size_t len = strlen(s);
	int nib = 0;

	if (len == 38 && s[0] == '{' && s[37] == '}') {
		s++;
		len = 36;
	}
	if (len != 36)
		return -EINVAL;
	for (size_t i = 0; i < 36; i++) {
		int v;
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -EINVAL;
			continue;
		}
		v = hexval((unsigned char)s[i]);
		if (v < 0)
			return -EINVAL;
		if (nib % 2 == 0)
			g.b[text_to_disk[nib / 2]] = (uint8_t)(v << 4);
		else
			g.b[text_to_disk[nib / 2]] |= (uint8_t)v;
		nib++;
	}
	*ret = g;
	return 0;
}

char *guid_format(const struct sr_guid *g, char *buf)
{
	const uint8_t *b = g->b;

	snprintf(buf, GUID_STRING_MAX, "%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x", le32(b), le16(b + 4),
		 le16(b + 6), b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
	return buf;
}

char *guid_format_braced(const struct sr_guid *g, char *buf)
{
	char tmp[GUID_STRING_MAX];

	snprintf(buf, GUID_STRING_MAX, "{%s}", guid_format(g, tmp));
	return buf;
}

bool guid_is_null(const struct sr_guid *g)
{
	static const struct sr_guid null;
	return memcmp(g, &null, sizeof(null)) == 0;
}

bool guid_equal(const struct sr_guid *a, const struct sr_guid *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

int guid_random(struct sr_guid *ret)
{
	struct sr_guid g;
	size_t got = 0;

	while (got < sizeof(g)) {
		ssize_t n = getrandom(g.b + got, sizeof(g) - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	g.b[7] = (uint8_t)((g.b[7] & 0x0f) | 0x40); /* version 4 (Data3's high nibble) */
	g.b[8] = (uint8_t)((g.b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	*ret = g;
	return 0;
}

/* Reduce text to lowercase hex digits; -EINVAL on any other character than braces and dashes. */
static int normalize(const char *text, char *out, size_t outsz)
{
	size_t n = 0, len = strlen(text);

	if (len > 0 && text[0] == '{') {
		text++;
		len--;
		if (len > 0 && text[len - 1] == '}')
			len--;
	}
	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)text[i];
		if (c == '-')
			continue;
		if (hexval(c) < 0 || n + 1 >= outsz)
			return -EINVAL;
		out[n++] = (char)tolower(c);
	}
	out[n] = 0;
	return (int)n;
}

int guid_match(const char *text, const struct sr_guid *known, size_t n, size_t stride)
{
	char want[40], have[GUID_STRING_MAX], flat[40];
	int len, found = -ENOENT;

	len = normalize(text, want, sizeof(want));
	if (len < 0 || len > 32)
		return -EINVAL;
	if (len < GUID_PREFIX_MIN)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		const struct sr_guid *g = (const struct sr_guid *)((const char *)known + i * stride);
		if (normalize(guid_format(g, have), flat, sizeof(flat)) < 0)
			continue;
		if (strncmp(flat, want, (size_t)len) != 0)
			continue;
		if (found >= 0) {
			if (guid_equal(g, (const struct sr_guid *)((const char *)known + (size_t)found * stride)))
				continue; /* the same GUID listed twice is not ambiguous */
			return -ENOTUNIQ;
		}
		found = (int)i;
	}
	return found;
}
