/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * core/json. Oracle: Python's json module (python3 run through popen) parses
 * what the writer produced, strictly (the file must be valid UTF-8 and valid
 * JSON), and prints it back in a canonical form that is compared with text
 * written by hand; random strings are decoded by Python and compared with the
 * bytes they came from.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/json.h"
#include "tap.h"

static char dir[] = "/tmp/test-json.XXXXXX";
static char script[64], doc[64];

static const char python[] =
	"import json, sys\n"
	"mode, path = sys.argv[1], sys.argv[2]\n"
	"text = open(path, 'rb').read().decode('utf-8')  # strict: invalid UTF-8 fails\n"
	"if not text.endswith('\\n'):\n"
	"    sys.exit('no final newline')\n"
	"d = json.loads(text)\n"
	"if mode == 'dump':\n"
	"    print(json.dumps(d, sort_keys=True, ensure_ascii=True, separators=(',', ':')))\n"
	"elif mode == 'valid':\n"
	"    bad = [i for i, (s, h) in enumerate(d) if s != bytes.fromhex(h).decode('utf-8')]\n"
	"    print('mismatches', len(bad), bad[:5])\n"
	"else:\n"
	"    bad = []\n"
	"    for i, (s, h) in enumerate(d):\n"
	"        py = bytes.fromhex(h).decode('utf-8', 'replace')\n"
	"        if s.replace('\\ufffd', '') != py.replace('\\ufffd', '') or s.count('\\ufffd') < py.count('\\ufffd'):\n"
	"            bad.append(i)\n"
	"    print('mismatches', len(bad), bad[:5])\n";

static uint64_t rng_state = 0x3f84d5b5b5470917ULL;
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

/* Run the Python oracle on doc; its output (one line) in out. -1 if it failed. */
static int oracle(const char *mode, char *out, size_t size)
{
	char cmd[256];
	FILE *p;
	size_t n;

	snprintf(cmd, sizeof(cmd), "python3 %s %s %s 2>&1", script, mode, doc);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	n = fread(out, 1, size - 1, p);
	out[n] = 0;
	if (n && out[n - 1] == '\n')
		out[n - 1] = 0;
	return pclose(p) == 0 ? 0 : -1;
}

static FILE *open_doc(void)
{
	FILE *f = fopen(doc, "w");
	if (!f)
		ok(0, "cannot create %s: %s", doc, strerror(errno));
	return f;
}

static void write_document(FILE *f, bool pretty)
{
	struct json j;

	json_init(&j, f, pretty);
	json_obj_begin(&j);
	json_kstr(&j, "s", "plain");
	json_kstr(&j, "esc", "a\"b\\c/d\n\r\t\x01\x1f\x7f");
	json_kstr(&j, "utf8", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	json_kstr(&j, "bad", "\xff x \xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80 \xe2\x82");
	json_key(&j, "strn");
	json_strn(&j, "a\0bIGNORED", 3);
	json_ku64(&j, "n", UINT64_MAX);
	json_key(&j, "i");
	json_i64(&j, INT64_MIN);
	json_kbool(&j, "t", true);
	json_kbool(&j, "f", false);
	json_key(&j, "z");
	json_null(&j);
	json_kstr(&j, "nullstr", NULL);
	json_kstr(&j, "key \"quoted\"\n", "");
	json_key(&j, "arr");
	json_arr_begin(&j);
	json_u64(&j, 1);
	json_arr_begin(&j);
	json_arr_end(&j);
	json_obj_begin(&j);
	json_obj_end(&j);
	json_arr_begin(&j);
	json_arr_begin(&j);
	json_obj_begin(&j);
	json_kstr(&j, "k", "v");
	json_obj_end(&j);
	json_arr_end(&j);
	json_i64(&j, -5);
	json_arr_end(&j);
	json_arr_end(&j);
	json_obj_end(&j);
	json_end(&j);
}

static const char want_document[] =
	"{\"arr\":[1,[],{},[[{\"k\":\"v\"}],-5]],"
	"\"bad\":\"\\ufffd x \\ufffd\\ufffd \\ufffd\\ufffd\\ufffd \\ufffd\\ufffd\\ufffd\\ufffd \\ufffd\\ufffd\","
	"\"esc\":\"a\\\"b\\\\c/d\\n\\r\\t\\u0001\\u001f\\u007f\","
	"\"f\":false,\"i\":-9223372036854775808,\"key \\\"quoted\\\"\\n\":\"\",\"n\":18446744073709551615,"
	"\"nullstr\":null,\"s\":\"plain\",\"strn\":\"a\\u0000b\",\"t\":true,"
	"\"utf8\":\"\\u00e9\\u20ac\\ud83d\\ude00\",\"z\":null}";

static void test_document(void)
{
	char out[4096];

	for (int pretty = 0; pretty <= 1; pretty++) {
		FILE *f = open_doc();
		if (!f)
			return;
		write_document(f, pretty);
		fclose(f);
		if (!ok(oracle("dump", out, sizeof(out)) == 0, "%s document: Python parses it", pretty ? "pretty" : "compact"))
			diag("python: %s", out);
		is_str(out, want_document, "%s document: the values written", pretty ? "pretty" : "compact");
	}
	/* the compact form has no whitespace at all; the pretty one has newlines */
	{
		char buf[4096];
		size_t n;
		FILE *f = open_doc();
		if (!f)
			return;
		write_document(f, false);
		fclose(f);
		f = fopen(doc, "r");
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = 0;
		ok(n > 0 && buf[n - 1] == '\n' && !strchr(buf, '\n')[1], "compact: one line, ending in a newline");
		ok(!strstr(buf, ": ") && !strstr(buf, ", "), "compact: no blanks between tokens");
	}
}

static void test_nesting(void)
{
	static char out[32768];
	char want[8192];
	size_t wl = 0;
	struct json j;
	FILE *f = open_doc();
	int depth = JSON_MAX_DEPTH - 1;

	if (!f)
		return;
	/* depth levels alternating objects and arrays, each with siblings before and after */
	json_init(&j, f, true);
	for (int d = 0; d < depth; d++) {
		if (d % 2 == 0) {
			json_obj_begin(&j);
			json_ku64(&j, "a", (uint64_t)d);
			json_key(&j, "b");
			wl += (size_t)snprintf(want + wl, sizeof(want) - wl, "{\"a\":%d,\"b\":", d);
		} else {
			json_arr_begin(&j);
			json_u64(&j, (uint64_t)d);
			wl += (size_t)snprintf(want + wl, sizeof(want) - wl, "[%d,", d);
		}
	}
	json_str(&j, "deep");
	wl += (size_t)snprintf(want + wl, sizeof(want) - wl, "\"deep\"");
	for (int d = depth - 1; d >= 0; d--) {
		if (d % 2 == 0) {
			json_kbool(&j, "c", true);
			json_obj_end(&j);
			wl += (size_t)snprintf(want + wl, sizeof(want) - wl, ",\"c\":true}");
		} else {
			json_null(&j);
			json_arr_end(&j);
			wl += (size_t)snprintf(want + wl, sizeof(want) - wl, ",null]");
		}
	}
	json_end(&j);
	fclose(f);
	if (!ok(oracle("dump", out, sizeof(out)) == 0, "nesting %d deep: Python parses it", depth))
		diag("python: %s", out);
	is_str(out, want, "nesting %d deep: structure and values", depth);

	/* many siblings */
	f = open_doc();
	json_init(&j, f, false);
	json_arr_begin(&j);
	for (int i = 0; i < 1000; i++) {
		json_obj_begin(&j);
		json_ku64(&j, "i", (uint64_t)i);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_end(&j);
	fclose(f);
	ok(oracle("dump", out, sizeof(out)) == 0 && !strncmp(out, "[{\"i\":0},{\"i\":1},", 17) &&
		   strstr(out, "{\"i\":999}]"),
	   "1000 objects in an array");
}

/* A random string of valid UTF-8 (no U+FFFD), with quotes, backslashes and control characters. */
static size_t random_valid(uint8_t *p)
{
	size_t n = 0, len = (size_t)(rnd() % 40);

	for (size_t i = 0; i < len; i++) {
		uint32_t cp;
		switch (rnd() % 6) {
		case 0: cp = (uint32_t)(rnd() % 0x20) + 1; break; /* controls, no NUL (json_str stops there) */
		case 1: cp = "\"\\/\x7f"[rnd() % 4]; break;
		case 2: cp = (uint32_t)(rnd() % 0x5f) + 0x20; break;
		case 3: cp = (uint32_t)(rnd() % 0x780) + 0x80; break;
		case 4: cp = (uint32_t)(rnd() % 0xf800) + 0x800; break;
		default: cp = (uint32_t)(rnd() % 0x100000) + 0x10000; break;
		}
		if ((cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffd)
			cp = 'x';
		if (cp < 0x80) {
			p[n++] = (uint8_t)cp;
		} else if (cp < 0x800) {
			p[n++] = (uint8_t)(0xc0 | cp >> 6);
			p[n++] = (uint8_t)(0x80 | (cp & 0x3f));
		} else if (cp < 0x10000) {
			p[n++] = (uint8_t)(0xe0 | cp >> 12);
			p[n++] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
			p[n++] = (uint8_t)(0x80 | (cp & 0x3f));
		} else {
			p[n++] = (uint8_t)(0xf0 | cp >> 18);
			p[n++] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
			p[n++] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
			p[n++] = (uint8_t)(0x80 | (cp & 0x3f));
		}
	}
	return n;
}

static void put_pair(struct json *j, const uint8_t *s, size_t n)
{
	char hex[1024];

	for (size_t i = 0; i < n; i++)
		sprintf(hex + 2 * i, "%02x", s[i]);
	hex[2 * n] = 0;
	json_arr_begin(j);
	json_strn(j, (const char *)s, n);
	json_str(j, hex);
	json_arr_end(j);
}

static void test_random_strings(void)
{
	char out[4096];
	uint8_t s[256];
	struct json j;
	FILE *f;

	f = open_doc();
	json_init(&j, f, false);
	json_arr_begin(&j);
	for (int i = 0; i < 3000; i++)
		put_pair(&j, s, random_valid(s));
	json_arr_end(&j);
	json_end(&j);
	fclose(f);
	ok(oracle("valid", out, sizeof(out)) == 0, "3000 random valid strings: Python parses them");
	is_str(out, "mismatches 0 []", "each decodes to the bytes written");

	/* random bytes: valid parts kept, every invalid byte replaced by U+FFFD */
	f = open_doc();
	json_init(&j, f, true);
	json_arr_begin(&j);
	for (int i = 0; i < 3000; i++) {
		size_t n = random_valid(s);
		for (size_t k = (size_t)(rnd() % 4); k > 0 && n > 0; k--)
			s[rnd() % n] = (uint8_t)(rnd() % 255 + 1);
		put_pair(&j, s, n);
	}
	json_arr_end(&j);
	json_end(&j);
	fclose(f);
	ok(oracle("invalid", out, sizeof(out)) == 0, "3000 strings with random bytes: valid UTF-8 and JSON");
	is_str(out, "mismatches 0 []", "the valid parts kept, invalid bytes each U+FFFD");
}

static void cleanup(void)
{
	unlink(script);
	unlink(doc);
	rmdir(dir);
}

int main(void)
{
	FILE *f;

	if (system("python3 -c 'import json' 2>/dev/null") != 0) {
		skip("python3 is not available (Debian package python3)");
		return tap_done();
	}
	if (!mkdtemp(dir))
		return 1;
	snprintf(script, sizeof(script), "%s/oracle.py", dir);
	snprintf(doc, sizeof(doc), "%s/doc.json", dir);
	atexit(cleanup);
	f = fopen(script, "w");
	if (!f || fputs(python, f) < 0 || fclose(f) != 0)
		return 1;
	test_document();
	test_nesting();
	test_random_strings();
	return tap_done();
}
