#!/usr/bin/env bash
# catalog import of bad input: malformed XML, an external entity, a billion
# laughs document, a zip bomb, a cab bomb, listings cut in the middle, wrong
# encodings, a set the documents contradict: each one a clear error, exit 1,
# and nothing imported (the catalog reads the same before and after; one bad
# file among good ones spoils the whole import).
. "$(dirname "$0")/lib.sh"
need_cmd python3 python3
mkdir -p "$T/repo"
export SHADOWREV_REPO="$T/repo"
C="$(cd "$(dirname "$0")/../fuzz/corpus" && pwd)"
set_id=5a1e0c2d-7b3f-4e21-9d8a-0f6b2c4d8e10 # named by the hand-made documents of the corpus

$SR catalog import $set_id "$C/listing/diskshadow-2vol.txt" >/dev/null || fail "good listing"
snapshot() { for w in sets shadows volumes writers; do $SR list $w --json; done; $SR list storage --json; }
snapshot >"$T/before.json" || fail "list"

bad() { # bad FILE WORDS: exit 1, a message with WORDS, nothing changed
	expect_exit 1 $SR catalog import $set_id "$1"
	grep -qi -- "$2" "$T/stderr" || { cat "$T/stderr"; fail "$(basename "$1"): message lacks '$2'"; }
	[ "$(wc -l <"$T/stderr")" -le 2 ] || fail "$(basename "$1"): more than one error line"
	expect_exit 1 $SR catalog import $set_id "$C/archive/writers.cab" "$1"
	snapshot >"$T/after.json"
	cmp -s "$T/before.json" "$T/after.json" || fail "$(basename "$1") changed the catalog"
}

bad "$C/metaxml/malformed.xml" "malformed XML"
bad "$C/metaxml/laughs.xml" "entities"
bad "$C/metaxml/xxe.xml" "entities"
bad "$C/metaxml/deep.xml" "nested"
bad "$C/listing/cut-guid.txt" "cut"
bad "$C/listing/cut-block.txt" "cut"
bad "$C/listing/latin1.txt" "UTF-8"
bad "$C/archive/bomb-member.zip" "bomb"
bad "$C/archive/bomb-count.zip" "bomb"

# a cab bomb: 48 MiB of zeros, MSZIP-compressed by gcab
if command -v gcab >/dev/null; then
	mkdir -p "$T/cab"
	cp "$C/metaxml/bcd-utf8.xml" "$T/cab/BCDocument.xml"
	head -c $((48 << 20)) /dev/zero >"$T/cab/WM0.xml"
	(cd "$T/cab" && gcab -c -z -n "$T/bomb.cab" BCDocument.xml WM0.xml) || fail "gcab"
	[ "$(stat -c %s "$T/bomb.cab")" -lt $((1 << 20)) ] || fail "fixture: the cab bomb is not small"
	bad "$T/bomb.cab" "bomb"
fi
# wrong encodings: UTF-16 with an odd length, UTF-16BE without BOM, binary
python3 - "$T" <<'PY'
import sys
T = sys.argv[1]

bcd = '<BACKUP_COMPONENTS snapshotSetId="5a1e0c2d-7b3f-4e21-9d8a-0f6b2c4d8e10"/>'
open(T + "/odd.xml", "wb").write(bcd.encode("utf-16-le") + b"<")
open(T + "/be.xml", "wb").write(bcd.encode("utf-16-be"))
open(T + "/bin.dat", "wb").write(bytes(range(256)) * 4)
open(T + "/surrogate.txt", "wb").write(b"\xff\xfe" + "a\n".encode("utf-16-le") + b"\x00\xd8a\x00")
PY
bad "$T/odd.xml" "odd number of bytes"
bad "$T/be.xml" "control character"
bad "$T/bin.dat" "control character"
bad "$T/surrogate.txt" "surrogate"
# a document that names another set than the one given
expect_exit 1 $SR catalog import c0ffee00-1234-4abc-8def-0123456789ab "$C/metaxml/bcd-utf8.xml"
grep -q "describe set {$set_id}" "$T/stderr" || fail "wrong set: message"
# a missing file, a directory
expect_exit 1 $SR catalog import $set_id "$T/missing.xml"
expect_exit 1 $SR catalog import $set_id "$T"
snapshot >"$T/after.json"
cmp -s "$T/before.json" "$T/after.json" || fail "the catalog changed"
exit 0
