/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * recover/restore: which names from an untrusted volume may become a file
 * name in DIR, and case folding for collision reports. Oracles: the POSIX
 * rules (no '/', not "." or "..", NAME_MAX 255 bytes) plus our documented
 * refusals ('\\', control characters), and Unicode's simple case mappings for
 * the scripts folded (from the Unicode tables, typed in here).
 */
#include <stdlib.h>
#include <string.h>

#include "recover/restore-internal.h"
#include "tap.h"

static void fold_is(const char *in, const char *want)
{
	char *f = rs_fold(in);
	is_str(f, want, "fold '%s'", in);
	free(f);
}

int main(void)
{
	static const char *const bad[] = { "", ".", "..", "a/b", "/", "a\\b", "..\\..\\x", "x\n", "\x01", "tab\tname",
					   "del\x7f", "../etc" };
	static const char *const good[] = { "a", "...", ".hidden", "a b", "Ünïcødé", "文件.txt", "a:b", "-rf", "..a" };
	char long256[257];
	const char *why;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		ok(!rs_name_is_safe(bad[i], &why), "refused: bad name %zu", i);
		ok(why != NULL, "a reason for bad name %zu", i);
	}
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		ok(rs_name_is_safe(good[i], &why), "accepted: '%s'", good[i]);
		ok(why == NULL, "no reason for '%s'", good[i]);
	}
	memset(long256, 'x', 256);
	long256[256] = 0;
	ok(!rs_name_is_safe(long256, NULL), "256 bytes refused");
	long256[255] = 0;
	ok(rs_name_is_safe(long256, NULL), "255 bytes accepted");

	fold_is("Case", "case");
	fold_is("ABC.TXT", "abc.txt");
	fold_is("ÄÖÜ", "äöü");             /* U+00C4 -> U+00E4 ... */
	fold_is("ΑΒΓ", "αβγ");             /* Greek capitals */
	fold_is("ДОКУМЕНТ", "документ");   /* Cyrillic */
	fold_is("Ёж", "ёж");               /* U+0401 -> U+0451 */
	fold_is("Ā", "ā");                 /* Latin Extended-A pair */
	fold_is("×", "×");                 /* U+00D7 has no lower case */
	fold_is("文件", "文件");
	{
		char *a = rs_fold("Report.DOCX"), *b = rs_fold("report.docx");
		is_str(a, b, "names that collide on a case-insensitive target fold equal");
		free(a);
		free(b);
	}
	ok(mem_is_zero((const char[8192]){ 0 }, 8192), "zeros");
	{
		char buf[8192] = { 0 };
		buf[8191] = 1;
		ok(!mem_is_zero(buf, sizeof(buf)), "a last non-zero byte");
	}
	return tap_done();
}
