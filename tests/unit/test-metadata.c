/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * catalog/metadata.h: the BCD, writer metadata, diskshadow manifest, listing
 * and archive parsers. Oracles: the IDs, names and counts read off the real
 * samples in ../shared/data (by grep, written down here), and hand-made
 * documents whose contents are spelled out below or in
 * tests/fuzz/corpus/{metaxml,listing,archive}/ (made by hand, see their names).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "catalog/metadata.h"
#include "core/io.h"
#include "core/log.h"
#include "core/progress.h"
#include "tap.h"

static const char *shared_dir(void)
{
	static char buf[4096];
	const char *s = getenv("SHARED");
	struct stat st;

	snprintf(buf, sizeof(buf), "%s", s && *s ? s : "../shared");
	return stat(buf, &st) == 0 ? buf : NULL;
}

static int load(const char *path, void **ret, size_t *len)
{
	return read_file(path, 64u << 20, ret, len);
}

static int parse_file(struct md *m, const char *path)
{
	void *b = NULL;
	size_t n = 0;
	int r = load(path, &b, &n);

	if (r < 0) {
		diag("cannot read %s: %s", path, strerror(-r));
		return r;
	}
	r = md_parse_document(m, path, b, n);
	free(b);
	return r;
}

static int parse_str(struct md *m, const char *s)
{
	return md_parse_document(m, "test", s, strlen(s));
}

static struct md_writer *find_writer(struct md *m, const char *wid)
{
	struct sr_guid g;

	if (guid_parse(wid, &g) < 0)
		return NULL;
	for (size_t i = 0; i < m->writers.n; i++)
		if (guid_equal(&m->writers.v[i].writer_id, &g))
			return &m->writers.v[i];
	return NULL;
}

static struct md_shadow *find_shadow(struct md *m, const char *id)
{
	struct sr_guid g;

	if (guid_parse(id, &g) < 0)
		return NULL;
	for (size_t i = 0; i < m->shadows.n; i++)
		if (guid_equal(&m->shadows.v[i].id, &g))
			return &m->shadows.v[i];
	return NULL;
}

static const char *gs(const struct sr_guid *g)
{
	static char buf[4][GUID_STRING_MAX];
	static int k;
	return guid_format(g, buf[k++ % 4]);
}

/* ---- real samples ---- */

static void test_real_bcd(const char *dir)
{
	char p[4096];
	struct md m;
	/* writer IDs and the component count of each, read off BCDocument.xml with grep */
	static const struct {
		const char *wid;
		unsigned comps;
	} w[] = {
		{ "d61d61c8-d73a-4eee-8cdd-f6f9786b7124", 1 }, { "75dfb225-e2e4-4d39-9ac9-ffaff65ddf06", 1 },
		{ "0bada1de-01a9-4625-8278-69e735f39dd2", 1 }, { "e8132975-6f93-4464-a53e-1050253ae220", 2 },
		{ "a6ad56c2-b509-4e6c-bb19-49d8f43532f0", 1 }, { "afbab4a2-367d-4d15-a586-71dbb18f8485", 1 },
		{ "542da469-d3e1-473c-9f4f-7847f01fc64f", 1 },
	};

	md_init(&m);
	snprintf(p, sizeof(p), "%s/data/metadata/diskshadow-cab-nosql/BCDocument.xml", dir);
	is_int(parse_file(&m, p), 0, "real BCD parses");
	is_int(m.sets.n, 1, "real BCD: one set");
	if (m.sets.n)
		is_str(gs(&m.sets.v[0].id), "e109943b-232e-4b52-8dc4-62b7de94761b", "real BCD: snapshotSetId");
	is_int(m.writers.n, 7, "real BCD: 7 WRITER_COMPONENTS");
	for (size_t i = 0; i < ARRAY_SIZE(w); i++) {
		struct md_writer *x = find_writer(&m, w[i].wid);
		ok(x && x->in_bcd && x->comps.n == w[i].comps, "real BCD: writer %s with %u component(s)", w[i].wid,
		   w[i].comps);
	}
	ok(m.evidence.n == 1 && m.evidence.v[0].level == MD_LEVEL_APP, "real BCD: application-consistent evidence");
	md_free(&m);
}

static void test_real_manifest(const char *dir)
{
	char p[4096];
	struct md m;
	struct md_shadow *s;

	md_init(&m);
	snprintf(p, sizeof(p), "%s/data/metadata/diskshadow-cab-nosql/Manifest.xml", dir);
	is_int(parse_file(&m, p), 0, "real Manifest.xml (UTF-16LE, no BOM) parses");
	s = find_shadow(&m, "c1749777-4753-44f0-a078-05c23c8771fa");
	ok(s && s->volume_name && strcmp(s->volume_name, "C:\\") == 0, "manifest: shadow c1749777 for C:\\");
	ok(s && s->has_set && strcmp(gs(&s->set_id), "e109943b-232e-4b52-8dc4-62b7de94761b") == 0,
	   "manifest: the shadow's set");
	ok(m.sets.n == 1 && m.sets.v[0].machine && strcmp(m.sets.v[0].machine, "WIN2012-SQL17-2") == 0,
	   "manifest: machine name");
	md_free(&m);
}

static void test_real_wm(const char *dir)
{
	/* friendlyName of WM0..WM10, read off the files with grep */
	static const char *const names[] = {
		"Task Scheduler Writer", "VSS Metadata Store Writer", "Performance Counters Writer", "System Writer",
		"ASR Writer", "SqlServerWriter", "Shadow Copy Optimization Writer", "BITS Writer", "WMI Writer",
		"Registry Writer", "COM+ REGDB Writer",
	};
	char p[4096];

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		struct md m;
		double t0;
		int r;

		md_init(&m);
		snprintf(p, sizeof(p), "%s/data/metadata/diskshadow-cab-nosql/WM%zu.xml", dir, i);
		t0 = now_seconds();
		r = parse_file(&m, p);
		ok(r == 0 && m.writers.n == 1 && m.writers.v[0].has_wm && m.writers.v[0].name &&
			   strcmp(m.writers.v[0].name, names[i]) == 0,
		   "WM%zu.xml: writer \"%s\"", i, names[i]);
		/* a figure, not an assertion: timings belong in bench/, and this machine is shared */
		if (i == 3)
			diag("WM3.xml (2 MB, one line) parsed in %.3f s", now_seconds() - t0);
		md_free(&m);
	}
}

static void test_real_listings(const char *dir)
{
	char p[4096];
	struct md m;
	struct md_shadow *s;

	md_init(&m);
	snprintf(p, sizeof(p), "%s/data/listings/diskshadow-create-nowriters.txt", dir);
	is_int(parse_file(&m, p), 0, "diskshadow nowriters listing parses");
	s = find_shadow(&m, "613f6c43-7139-4153-9687-91ecb550c31d");
	ok(s && strcmp(gs(&s->set_id), "3f14ee17-9231-4b76-ae74-59cd1ab7da64") == 0, "nowriters: shadow and set");
	ok(s && s->volume_path && strcmp(s->volume_path, "\\\\?\\Volume{66a659a9-0000-0000-0000-602200000000}\\") == 0,
	   "nowriters: volume GUID path");
	ok(s && s->has_attributes && (s->attributes & 0x10), "nowriters: No_Writers attribute");
	ok(s && s->alias && strcmp(s->alias, "someAlias") == 0, "nowriters: alias");
	md_free(&m);

	md_init(&m);
	snprintf(p, sizeof(p), "%s/data/listings/diskshadow-create-writers-verbose.txt", dir);
	is_int(parse_file(&m, p), 0, "diskshadow verbose listing parses");
	s = find_shadow(&m, "eae173b4-7571-4da2-999a-16fc4681e9c2");
	ok(s && strcmp(gs(&s->set_id), "d39ea1b2-2225-4f82-b2f6-fdf0c2dbff8e") == 0, "verbose: shadow and set");
	ok(s && s->volume_path && strstr(s->volume_path, "711fc68a-0000-0000-0000-100000000000"), "verbose: volume");
	ok(s && s->has_attributes && !(s->attributes & 0x10), "verbose: no No_Writers");
	is_int(m.shadows.n, 1, "verbose: one shadow copy");
	md_free(&m);

	md_init(&m);
	snprintf(p, sizeof(p), "%s/data/listings/vssadmin-shadows-and-storage.txt", dir);
	is_int(parse_file(&m, p), 0, "vssadmin listing parses");
	s = find_shadow(&m, "7c13d002-0627-4c14-9e7d-682f93ea9d32");
	ok(s && strcmp(gs(&s->set_id), "da4b9974-8ca0-4602-ac7e-d1c5f23fd25d") == 0, "vssadmin: shadow and set");
	ok(s && s->volume_path && strstr(s->volume_path, "cbd6257a-71bb-4473-b800-498f0a8e380c") && s->volume_name &&
		   strcmp(s->volume_name, "C:") == 0,
	   "vssadmin: volume GUID path and drive");
	ok(s && s->context == 0x0d, "vssadmin: Type ClientAccessibleWriters is context 0xd");
	is_int(m.storage.n, 2, "vssadmin: two storage blocks");
	ok(m.storage.n && m.storage.v[0].used && strcmp(m.storage.v[0].used, "1.93 GB (1%)") == 0,
	   "vssadmin: used space verbatim");
	md_free(&m);
}

/* ---- hand-made ---- */

static const char bcd_hand[] =
	"<BACKUP_COMPONENTS xmlns=\"x-schema:#VssComponentMetadata\" snapshotSetId=\"AAAAAAAA-1111-4222-8333-444444444444\""
	" backupType=\"copy\" bootableSystemStateBackup=\"no\">"
	"<WRITER_COMPONENTS writerId=\"{bbbbbbbb-1111-4222-8333-444444444444}\" instanceId=\"cccccccc-1111-4222-8333-444444444444\">"
	"<COMPONENT logicalPath=\"Srv\" componentName=\"db\" componentType=\"database\"/></WRITER_COMPONENTS>"
	"</BACKUP_COMPONENTS>";

static void utf16(const char *s, int bom, int nul, void **ret, size_t *len)
{
	size_t n = strlen(s), o = 0;
	uint8_t *b = malloc(2 * n + 4);

	if (bom) {
		b[o++] = 0xff;
		b[o++] = 0xfe;
	}
	for (size_t i = 0; i < n; i++) {
		b[o++] = (uint8_t)s[i];
		b[o++] = 0;
	}
	if (nul) {
		b[o++] = 0;
		b[o++] = 0;
	}
	*ret = b;
	*len = o;
}

static void test_encodings(void)
{
	for (int variant = 0; variant < 4; variant++) {
		struct md m;
		void *b = NULL;
		size_t n;
		int r;

		md_init(&m);
		if (variant == 3)
			r = parse_str(&m, bcd_hand);
		else {
			utf16(bcd_hand, variant == 1, variant != 1, &b, &n);
			r = md_parse_document(&m, "t", b, n);
		}
		ok(r == 0 && m.sets.n == 1 && strcmp(gs(&m.sets.v[0].id), "aaaaaaaa-1111-4222-8333-444444444444") == 0 &&
			   m.writers.n == 1 && m.writers.v[0].comps.n == 1,
		   "hand BCD, %s", (const char *[]){ "UTF-16LE no BOM + NUL", "UTF-16LE BOM", "UTF-16LE NUL", "UTF-8" }[variant]);
		ok(m.sets.n && m.sets.v[0].bootable == 0 && m.sets.v[0].backup_type &&
			   !strcmp(m.sets.v[0].backup_type, "copy"),
		   "hand BCD attributes (variant %d)", variant);
		free(b);
		md_free(&m);
	}
	{
		struct md m;
		static const char bad[] = { '<', 0, 'a', 0, '>' }; /* odd UTF-16 */
		md_init(&m);
		is_int(md_parse_document(&m, "t", bad, sizeof(bad)), -EBADMSG, "odd-length UTF-16 refused");
		sr_errclear();
		is_int(parse_str(&m, "<a>\xfc</a>"), -EBADMSG, "Latin-1 byte refused (not UTF-8)");
		sr_errclear();
		is_int(parse_str(&m, "<a>\x01</a>"), -EBADMSG, "control character refused");
		sr_errclear();
		md_free(&m);
	}
}

static void test_refused_xml(void)
{
	static const struct {
		const char *doc;
		int want;
		const char *what;
	} t[] = {
		{ "<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY x \"xx\"><!ENTITY y \"&x;&x;&x;&x;\">]>"
		  "<BACKUP_COMPONENTS snapshotSetId=\"aaaaaaaa-1111-4222-8333-444444444444\">&y;</BACKUP_COMPONENTS>",
		  -EBADMSG, "billion laughs" },
		{ "<!DOCTYPE a [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><WRITER_METADATA>&e;</WRITER_METADATA>", -EBADMSG,
		  "external entity" },
		{ "<!DOCTYPE a SYSTEM \"http://example.invalid/x.dtd\"><BACKUP_COMPONENTS/>", -EBADMSG, "external DTD" },
		{ "<BACKUP_COMPONENTS snapshotSetId=\"aaaa\"", -EBADMSG, "cut in the middle" },
		{ "<BACKUP_COMPONENTS snapshotSetId=\"not-a-guid\"/>", -EBADMSG, "malformed set ID" },
		{ "<html><body/></html>", -EMEDIUMTYPE, "unknown root element" },
		{ "<BACKUP_COMPONENTS snapshotSetId=\"aaaaaaaa-1111-4222-8333-444444444444\"><SNAPSHOT_SET_DESCRIPTION "
		  "snapshotSetId=\"bbbbbbbb-1111-4222-8333-444444444444\"/></BACKUP_COMPONENTS>",
		  -EBADMSG, "two set IDs that disagree" },
		{ "<WRITER_METADATA><IDENTIFICATION friendlyName=\"x\"/></WRITER_METADATA>", -EBADMSG, "WM without writerId" },
	};
	char deep[8192] = "<BACKUP_COMPONENTS>";
	struct md m;

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		md_init(&m);
		is_int(parse_str(&m, t[i].doc), t[i].want, "refused: %s", t[i].what);
		sr_errclear();
		md_free(&m);
	}
	for (int i = 0; i < 200; i++)
		strcat(deep, "<a>");
	for (int i = 0; i < 200; i++)
		strcat(deep, "</a>");
	strcat(deep, "</BACKUP_COMPONENTS>");
	md_init(&m);
	is_int(parse_str(&m, deep), -EBADMSG, "refused: nesting 200 deep");
	sr_errclear();
	md_free(&m);
}

static void test_transportable_bcd(void)
{
	struct md m;
	struct md_shadow *s;

	md_init(&m);
	is_int(parse_file(&m, "tests/fuzz/corpus/metaxml/bcd-transportable.xml"), 0, "transportable BCD parses");
	s = find_shadow(&m, "a3c4e5f6-1b2d-4c3e-8f9a-0b1c2d3e4f50");
	ok(s && s->has_attributes && s->attributes == 0x420029 && s->created_ft == 130306425097363787ULL && s->context == 0x29,
	   "SNAPSHOT_DESCRIPTION: attributes, timestamp, context");
	ok(s && s->volume_path && strstr(s->volume_path, "0a0b0c0d-1111-2222-3333-444455556666"),
	   "SNAPSHOT_DESCRIPTION: originalVolumeName");
	md_free(&m);
}

static void test_hand_listings(void)
{
	struct md m;
	struct md_shadow *s;

	md_init(&m);
	is_int(parse_file(&m, "tests/fuzz/corpus/listing/vssadmin-shadows-de.txt"), 0, "German vssadmin listing parses");
	is_int(m.sets.n, 2, "German: two sets");
	is_int(m.shadows.n, 3, "German: three shadow copies");
	s = find_shadow(&m, "0badf00d-5678-4bcd-9ef0-123456789abc");
	ok(s && s->volume_name && strcmp(s->volume_name, "E:\\Mount\\Data\\") == 0, "German: mount-point volume name");
	ok(s && (s->attributes & 0x10) && s->has_attributes, "German: 'No writers' recognized");
	s = find_shadow(&m, "a3c4e5f6-1b2d-4c3e-8f9a-0b1c2d3e4f50");
	ok(s && (s->attributes & 0x400000) && s->created_text && strcmp(s->created_text, "03.12.2013 07:35:09") == 0,
	   "German: Auto recovered, time verbatim");
	md_free(&m);

	md_init(&m);
	is_int(parse_file(&m, "tests/fuzz/corpus/listing/vssadmin-shadows-utf16.txt"), 0, "UTF-16LE (BOM, CRLF) listing");
	is_int(m.shadows.n, 3, "UTF-16 listing: three shadow copies");
	md_free(&m);

	md_init(&m);
	is_int(parse_file(&m, "tests/fuzz/corpus/listing/diskshadow-2vol.txt"), 0, "diskshadow two volumes");
	is_int(m.shadows.n, 2, "diskshadow: two shadow copies");
	ok(m.sets.n == 1 && m.sets.v[0].shadow_count == 2, "diskshadow: original count 2");
	s = find_shadow(&m, "b4d5e6f7-2c3e-4d4f-9a0b-1c2d3e4f5a61");
	ok(s && s->exposure && strstr(s->exposure, "X:\\") && (s->attributes & 0x100000), "diskshadow: exposed");
	md_free(&m);

	md_init(&m);
	is_int(parse_file(&m, "tests/fuzz/corpus/listing/vssadmin-storage-cycle.txt"), 0, "storage listing parses");
	ok(m.storage.n == 2 && m.storage.v[0].maximum && strcmp(m.storage.v[0].maximum, "UNBOUNDED (100%)") == 0,
	   "storage: two associations, UNBOUNDED kept");
	md_free(&m);

	md_init(&m);
	is_int(parse_file(&m, "tests/fuzz/corpus/listing/vssadmin-empty.txt"), 0, "empty vssadmin answer: no error");
	ok(!m.sets.n && !m.shadows.n && !m.storage.n, "empty vssadmin answer: nothing");
	md_free(&m);

	static const char *const bad[] = { "tests/fuzz/corpus/listing/cut-guid.txt", "tests/fuzz/corpus/listing/cut-block.txt",
					   "tests/fuzz/corpus/listing/latin1.txt" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		md_init(&m);
		is_int(parse_file(&m, bad[i]), -EBADMSG, "refused: %s", bad[i]);
		sr_errclear();
		md_free(&m);
	}
	/* a vssadmin set that announces two shadow copies and lists one */
	md_init(&m);
	is_int(parse_str(&m, "Contents of shadow copy set ID: {aaaaaaaa-1111-4222-8333-444444444444}\n"
			      "   Contained 2 shadow copies at creation time: 1/1/2020 1:00:00 AM\n"
			      "      Shadow Copy ID: {bbbbbbbb-1111-4222-8333-444444444444}\n"
			      "         Original Volume: (C:)\\\\?\\Volume{cccccccc-1111-4222-8333-444444444444}\\\n"
			      "         Shadow Copy Volume: \\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy1\n"
			      "         Originating Machine: a\n         Service Machine: a\n"
			      "         Provider: 'p'\n         Type: Backup\n"),
	       -EBADMSG, "refused: fewer shadow copies than announced");
	sr_errclear();
	md_free(&m);
}

static void test_words(void)
{
	uint32_t b = 0;

	ok(md_attr_word("No_Writers", 10, &b) && b == 0x10, "No_Writers");
	ok(md_attr_word("No writers", 10, &b) && b == 0x10, "No writers");
	ok(md_attr_word("Client-accessible", 17, &b) && b == 0x4, "Client-accessible");
	ok(!md_attr_word("Keine Schreiber", 15, &b), "unknown word");
	is_int(md_type_context("ClientAccessible"), 0x1d, "ClientAccessible");
	is_int(md_type_context("Sicherung"), -1, "unknown type");
	is_int(md_context_level(0x19), MD_LEVEL_FS, "NAS_ROLLBACK is FS");
	is_int(md_context_level(0x0d | 0x20), MD_LEVEL_APP, "CLIENT_ACCESSIBLE_WRITERS|TRANSPORTABLE is app");
}

static void test_archives(void)
{
	struct md m;

	md_init(&m);
	is_int(parse_file(&m, "tests/fuzz/corpus/archive/writers.cab"), 0, "gcab .cab (uncompressed) parses");
	is_int(m.writers.n, 3, "cab: three writers after the merge");
	{
		struct md_writer *w = find_writer(&m, "12121212-3434-4565-8787-909090909090");
		ok(w && w->in_bcd && w->has_wm && w->comps.n == 3 && w->name && !strcmp(w->name, "Beta Writer"),
		   "cab: BCD and WM merged (2 selected + 1 more component)");
		w = find_writer(&m, "deadbeef-0000-4000-8000-00000000beef");
		ok(w && !w->in_bcd && w->has_wm && w->has_set, "cab: a writer with metadata only, in the set");
	}
	is_int(m.shadows.n, 2, "cab: manifest shadows (and the Dis*.tmp log's)");
	md_free(&m);

	md_init(&m);
	is_int(parse_file(&m, "tests/fuzz/corpus/archive/writers-mszip.cab"), 0, "gcab -z .cab (MSZIP) parses");
	md_free(&m);

	md_init(&m);
	is_int(parse_file(&m, "tests/fuzz/corpus/archive/nowriters.cab"), 0, "nowriters .cab parses");
	ok(m.evidence.n >= 1 && m.evidence.v[m.evidence.n - 1].level == MD_LEVEL_FS, "nowriters cab: FS evidence");
	md_free(&m);

	md_init(&m);
	is_int(parse_file(&m, "tests/fuzz/corpus/archive/vmware-fs.zip"), 0, "VMware zip, backup.xml only");
	ok(m.evidence.n == 2 && m.evidence.v[1].level == MD_LEVEL_FS, "VMware 1 file: FS evidence");
	md_free(&m);

	md_init(&m);
	is_int(parse_file(&m, "tests/fuzz/corpus/archive/vmware-app.zip"), 0, "VMware zip with writer manifests");
	ok(m.evidence.n == 2 && m.evidence.v[1].level == MD_LEVEL_APP, "VMware 3 files: app evidence");
	is_int(m.writers.n, 2, "VMware zip: writers merged");
	md_free(&m);

	md_init(&m);
	is_int(parse_file(&m, "tests/fuzz/corpus/archive/bomb-member.zip"), -EFBIG, "member bomb (40 MB of spaces) refused");
	sr_errclear();
	md_free(&m);
	md_init(&m);
	is_int(parse_file(&m, "tests/fuzz/corpus/archive/bomb-count.zip"), -EFBIG, "2000 members refused");
	sr_errclear();
	md_free(&m);
	md_limits.archive_total = 4096;
	md_init(&m);
	is_int(parse_file(&m, "tests/fuzz/corpus/archive/writers.cab"), -EFBIG, "total uncompressed size capped");
	sr_errclear();
	md_free(&m);
	md_limits_reset();
	md_init(&m);
	is_int(md_parse_document(&m, "t", "PK\003\004garbage", sizeof("PK\003\004garbage") - 1), -EBADMSG, "damaged zip refused");
	sr_errclear();
	md_free(&m);
}

int main(void)
{
	const char *dir = shared_dir();

	if (dir) {
		test_real_bcd(dir);
		test_real_manifest(dir);
		test_real_wm(dir);
		test_real_listings(dir);
	} else
		skip("../shared is absent (set SHARED=DIR): the real samples are not tested");
	test_encodings();
	test_refused_xml();
	test_transportable_bcd();
	test_hand_listings();
	test_words();
	test_archives();
	return tap_done();
}
