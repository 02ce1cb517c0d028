/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mount/tree.c: the escaping of NTFS names the kernel cannot take (README,
 * Mount). Oracles: the examples the README gives, and properties checked over
 * every name of up to 4 characters from an alphabet of the characters that
 * matter ('/', '%', '.', hex digits, others): escaped names never hold '/' and
 * are never "." or "..", unescaping gives the name back, and two names never
 * escape to the same text.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mount/mount-internal.h"
#include "tap.h"

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
	static const struct {
		const char *raw, *shown;
	} ex[] = {
		{ "a/b", "a%2Fb" }, { "a%2Fb", "a%252Fb" }, { "100%", "100%" }, { ".", "%2E" }, { "..", "%2E%2E" },
		{ "...", "..." }, { "%2E", "%252E" }, { "/", "%2F" }, { "%zz%4", "%zz%4" }, { "%%41", "%%2541" },
		{ "%2/", "%2%2F" }, { "plain", "plain" }, { "\xe2\x88\x95", "\xe2\x88\x95" },
	};
	static const char *not_names[] = { "a%2fb", "%41", "%2E.", ".%2E", "%2e", "%00", "%2F%2f" };
	static const char alpha[] = "/%.2EaF";
	char out[64], back[64];
	char **all;
	size_t n = 0, cap = 1 + 7 + 49 + 343 + 2401;
	bool props = true;

	for (size_t i = 0; i < ARRAY_SIZE(ex); i++) {
		is_int(mnt_name_escape(ex[i].raw, out, sizeof(out)), 0, "escape '%s'", ex[i].raw);
		is_str(out, ex[i].shown, "'%s' is shown as '%s'", ex[i].raw, ex[i].shown);
		is_int(mnt_name_unescape(ex[i].shown, back, sizeof(back)), 0, "unescape '%s'", ex[i].shown);
		is_str(back, ex[i].raw, "'%s' is found as '%s'", ex[i].shown, ex[i].raw);
	}
	for (size_t i = 0; i < ARRAY_SIZE(not_names); i++)
		is_int(mnt_name_unescape(not_names[i], back, sizeof(back)), -ENOENT, "'%s' is no listed name",
		       not_names[i]);
	is_int(mnt_name_escape("", out, sizeof(out)), -EINVAL, "an empty name is refused");
	is_int(mnt_name_escape("a/b", out, 5), -ENAMETOOLONG, "too small a buffer");
	is_int(mnt_name_escape("a/b", out, 6), 0, "just large enough");

	/* every name of 1..4 characters of alpha */
	all = calloc(cap, sizeof(*all));
	if (!ok(all != NULL, "allocation"))
		return tap_done();
	for (size_t len = 1; len <= 4; len++) {
		size_t total = 1;
		for (size_t k = 0; k < len; k++)
			total *= sizeof(alpha) - 1;
		for (size_t v = 0; v < total; v++) {
			char raw[8];
			size_t x = v;
			for (size_t k = 0; k < len; k++, x /= sizeof(alpha) - 1)
				raw[k] = alpha[x % (sizeof(alpha) - 1)];
			raw[len] = 0;
			if (mnt_name_escape(raw, out, sizeof(out)) < 0 || strchr(out, '/') || strcmp(out, ".") == 0 ||
			    strcmp(out, "..") == 0 || mnt_name_unescape(out, back, sizeof(back)) < 0 ||
			    strcmp(back, raw) != 0) {
				diag("'%s' -> '%s' -> '%s'", raw, out, back);
				props = false;
			}
			all[n++] = strdup(out);
		}
	}
	ok(props, "%zu names: escaped names are names Linux takes, and unescape back", n);
	qsort(all, n, sizeof(*all), cmp_str);
	size_t dup = 0;
	for (size_t i = 1; i < n; i++)
		dup += strcmp(all[i - 1], all[i]) == 0;
	is_int(dup, 0, "no two names escape to the same text");
	for (size_t i = 0; i < n; i++)
		free(all[i]);
	free(all);
	return tap_done();
}
