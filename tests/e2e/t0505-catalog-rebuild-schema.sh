#!/usr/bin/env bash
# the catalog is rebuildable: documents imported with `catalog import` are kept
# beside it and come back after `catalog rebuild` or after the catalog file is
# lost; documents attached at capture (--metadata) are imported when the set is
# synced. The schema is versioned: a catalog from a newer shadowrev is refused
# (exit 1, named), not damaged.
. "$(dirname "$0")/lib.sh"
need_cmd python3 python3
need_cmd sqlite3 sqlite3
C="$(cd "$(dirname "$0")/../fuzz/corpus" && pwd)"
mkdir -p "$T/plain"
export SHADOWREV_REPO="$T/plain"
set_id=5a1e0c2d-7b3f-4e21-9d8a-0f6b2c4d8e10

$SR catalog import $set_id "$C/archive/writers.cab" "$C/listing/vssadmin-storage-cycle.txt" >/dev/null || fail "import"
$SR catalog import 5a1e "$C/metaxml/wm-beta.xml" >/dev/null || fail "import by prefix"
snap() { for w in sets shadows volumes writers storage; do $SR list $w --json || return 1; done; }
snap >"$T/before.json" || fail "list"
assert_eq "$(sqlite3 "$T/plain/catalog.sqlite" 'PRAGMA user_version')" 1 "schema version"
expect_exit 0 $SR catalog rebuild
snap | cmp -s - "$T/before.json" || fail "rebuild changed the catalog"
rm -f "$T/plain/catalog.sqlite"*
snap | cmp -s - "$T/before.json" || fail "a lost catalog did not come back from the kept documents"

# a catalog from the future
sqlite3 "$T/plain/catalog.sqlite" 'PRAGMA user_version = 99'
expect_exit 1 $SR list sets
grep -q "schema version 99" "$T/stderr" || fail "newer schema: message"
expect_exit 1 $SR catalog import $set_id "$C/metaxml/bcd-utf8.xml"
assert_eq "$(sqlite3 "$T/plain/catalog.sqlite" 'PRAGMA user_version')" 99 "the newer catalog is left alone"
# not a database at all
rm -f "$T/plain/catalog.sqlite"*
echo "not sqlite" >"$T/plain/catalog.sqlite"
expect_exit 1 $SR list sets

# documents attached at capture
if $SR help capture >/dev/null 2>&1 && command -v mkntfs >/dev/null; then
	truncate -s 16M "$T/vol.img"
	mkntfs -F -f -q "$T/vol.img" >/dev/null 2>&1 || fail "mkntfs"
	$SR init --repo "$T/r" >/dev/null 2>&1 || fail "init"
	$SR capture --repo "$T/r" --instance srv1 --metadata "$C/metaxml/bcd-utf8.xml" --quiet "C:=$T/vol.img" \
		>/dev/null || fail "capture --metadata"
	SHADOWREV_REPO="$T/r" $SR list writers --set $set_id --json >"$T/w.json" || fail "writers of the captured set"
	python3 - "$T/w.json" <<'PY' || fail "documents attached at capture are not in the catalog"
import json, sys
w = json.load(open(sys.argv[1]))["writers"]
assert sorted(x["writer_id"] for x in w) == ["11111111-2222-4333-8444-555555555555", "12121212-3434-4565-8787-909090909090"], w
assert all(x["participating"] for x in w)
PY
	SHADOWREV_REPO="$T/r" $SR list sets --json >"$T/s.json"
	python3 - "$T/s.json" <<'PY' || fail "captured set"
import json, sys
s = json.load(open(sys.argv[1]))["sets"]
x = [a for a in s if a["set_id"] == "5a1e0c2d-7b3f-4e21-9d8a-0f6b2c4d8e10"][0]
assert x["origin"] == "repository" and x["instance"] == "srv1" and x["consistency"] == "application-consistent", x
PY
fi
exit 0
