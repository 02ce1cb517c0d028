#!/usr/bin/env bash
# catalog import of files no parser understands (text that is no listing, XML
# of another kind, an empty file): exit 1, one line that names each file not
# understood and what was understood, and nothing written to the catalog
# (its rows, dumped by sqlite3, read the same before and after). A recognised
# answer with nothing in it (vssadmin's empty listing) still imports nothing
# with exit 0. Oracle: sqlite3's dump of the catalog and its sha256.
. "$(dirname "$0")/lib.sh"
need_cmd sqlite3 sqlite3
need_cmd python3 python3
mkdir -p "$T/repo"
export SHADOWREV_REPO="$T/repo"
C="$(cd "$(dirname "$0")/../fuzz/corpus" && pwd)"
set_id=5a1e0c2d-7b3f-4e21-9d8a-0f6b2c4d8e10 # named by the hand-made documents of the corpus

$SR catalog import $set_id "$C/listing/diskshadow-2vol.txt" >/dev/null || fail "good listing"
dump() { sqlite3 "$T/repo/catalog.sqlite" .dump | sha256sum; }
before=$(dump)
kept=$(find "$T/repo/catalog-documents" -type f | sort)
[ -n "$kept" ] || fail "fixture: the good listing is not kept"
printf 'Hello,\nthis is a shopping list, not a listing.\n\tmilk\n\teggs\n' >"$T/junk.txt"
printf '<?xml version="1.0"?>\n<html><body>no VSS here</body></html>\n' >"$T/page.xml"
: >"$T/empty.txt"

for f in junk.txt page.xml empty.txt; do
	expect_exit 1 $SR catalog import $set_id "$T/$f"
	grep -q "not understood, nothing imported: '$T/$f'" "$T/stderr" || { cat "$T/stderr"; fail "$f: message"; }
	assert_eq "$(wc -l <"$T/stderr")" 1 "$f: one error line"
	assert_eq "$(dump)" "$before" "$f: catalog rows"
done
# among good documents: they are named as understood, and nothing of them is imported either
expect_exit 1 $SR catalog import $set_id "$C/archive/writers.cab" "$T/junk.txt" "$C/listing/vssadmin-shadows-de.txt"
grep -q "not understood, nothing imported: '$T/junk.txt' (.*not a listing); understood: '$C/archive/writers.cab' (diskshadow .cab: .*), '$C/listing/vssadmin-shadows-de.txt' (diskshadow or vssadmin listing: " "$T/stderr" ||
	{ cat "$T/stderr"; fail "mixed: message"; }
assert_eq "$(dump)" "$before" "mixed: catalog rows"
# a new set by prefix with only junk: refused the same way
expect_exit 1 $SR catalog import 7777 "$T/junk.txt"
grep -q "not understood" "$T/stderr" || fail "prefix and junk: message"
assert_eq "$(dump)" "$before" "prefix and junk: catalog rows"
assert_eq "$(find "$T/repo/catalog-documents" -type f | sort)" "$kept" "documents kept"

# vssadmin's empty answer is understood: exit 0, nothing imported
expect_exit 0 $SR catalog import $set_id "$C/listing/vssadmin-empty.txt"
assert_eq "$(dump)" "$before" "empty answer: catalog rows"
exit 0
