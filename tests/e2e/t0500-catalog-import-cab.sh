#!/usr/bin/env bash
# catalog import of a real diskshadow `set metadata` .cab, built with gcab from
# the members in ../shared: the set, the shadow copy for C:\, the 11 writers
# with their names, the 7 that participate with their components, consistency
# per writer. Oracle: the IDs and names read off the member files with grep and
# iconv, not from shadowrev.
. "$(dirname "$0")/lib.sh"
need_shared
need_cmd gcab gcab
need_cmd python3 python3
need_cmd iconv libc-bin
src="$SHARED/data/metadata/diskshadow-cab-nosql"
mkdir -p "$T/repo" "$T/m"
cp "$src"/* "$T/m/"
(cd "$T/m" && gcab -c -n "$T/meta.cab" *) || fail "gcab failed"
(cd "$T/m" && gcab -c -z -n "$T/meta-z.cab" *) || fail "gcab -z failed"

# the facts, from the files themselves
set_id=$(grep -o 'snapshotSetId="[^"]*"' "$src/BCDocument.xml" | cut -d'"' -f2)
iconv -f UTF-16LE -t UTF-8 "$src/Manifest.xml" >"$T/manifest.txt" || fail "iconv"
shadow_id=$(grep -o "<ShadowCopy GUID = '{[^}]*}'" "$T/manifest.txt" | grep -o '[0-9a-f-]\{36\}')
volume=$(grep -o "OriginalVolume = '[^']*'" "$T/manifest.txt" | cut -d"'" -f2)
grep -ho 'friendlyName="[^"]*"' "$src"/WM*.xml | cut -d'"' -f2 | sort >"$T/names.txt"
grep -o 'writerId="[^"]*"' "$src/BCDocument.xml" | cut -d'"' -f2 | sort >"$T/participating.txt"
grep -o '<WRITER_COMPONENTS[^>]*writerId="[^"]*"[^>]*>\(<COMPONENT[^>]*>\)*' "$src/BCDocument.xml" |
	python3 -c '
import re, sys
for l in sys.stdin:
    w = re.search(r"writerId=\"([^\"]*)\"", l).group(1)
    for c in re.findall(r"componentName=\"([^\"]*)\"", l):
        print(w + "\t" + c)' | sort >"$T/components.txt"
assert_eq "$(wc -l <"$T/names.txt")" 11 "writer metadata files"
assert_eq "$(wc -l <"$T/participating.txt")" 7 "participating writers"

export SHADOWREV_REPO="$T/repo"
# a new set is created only when the documents name it: a prefix of no set (catalog or documents) is refused
# (a prefix of the set the documents name is accepted: t0506)
[ "${set_id:0:8}" != 0000abcd ] || fail "fixture: prefix"
expect_exit 1 $SR catalog import 0000abcd "$T/meta.cab"
grep -q "no set" "$T/stderr" || fail "unknown prefix: message"
expect_exit 1 $SR catalog import 00000000-0000-0000-0000-000000000001 "$T/meta.cab"
grep -q "describe set {$set_id}" "$T/stderr" || fail "wrong set: message"
$SR catalog import "{${set_id^^}}" "$T/meta.cab" >"$T/import.txt" || fail "import of the cab failed"
# importing again (the MSZIP cab, the same members) changes nothing
$SR catalog import "${set_id:0:8}" "$T/meta-z.cab" >/dev/null || fail "re-import (MSZIP cab, by prefix) failed"

$SR list sets --json >"$T/sets.json" || fail "list sets"
$SR list shadows --set "$set_id" --json >"$T/shadows.json" || fail "list shadows --set"
$SR list writers --set "${set_id:0:6}" --json >"$T/writers.json" || fail "list writers --set prefix"
$SR list volumes --set "$set_id" --json >"$T/volumes.json" || fail "list volumes --set"
$SR list writers --set "$set_id" >"$T/writers.txt" || fail "list writers (text)"

python3 - "$T" "$set_id" "$shadow_id" "$volume" <<'PY' || fail "catalog disagrees with the cab's members"
import json, sys
T, set_id, shadow_id, volume = sys.argv[1:]
sets = json.load(open(T + "/sets.json"))["sets"]
assert [s["set_id"] for s in sets] == [set_id], sets
s = sets[0]
assert s["consistency"] == "application-consistent", s
assert s["machine"] == "WIN2012-SQL17-2" and s["backup_type"] == "full", s
sh = json.load(open(T + "/shadows.json"))["shadows"]
assert [(x["shadow_id"], x["set_id"], x["volume_name"]) for x in sh] == [(shadow_id, set_id, volume)], sh
vols = json.load(open(T + "/volumes.json"))["volumes"]
assert [(v["drive"], v["shadow_id"]) for v in vols] == [("C:", shadow_id)], vols
ws = json.load(open(T + "/writers.json"))["writers"]
names = sorted(open(T + "/names.txt").read().split("\n")[:-1])
assert sorted(w["name"] for w in ws) == names, ws
part = sorted(open(T + "/participating.txt").read().split())
assert sorted(w["writer_id"] for w in ws if w["participating"]) == part
for w in ws:
    want = "application-consistent" if w["participating"] else "crash-consistent"
    assert w["consistency"] == want, w
comps = sorted(l.rstrip("\n") for l in open(T + "/components.txt"))
got = sorted(w["writer_id"] + "\t" + c["name"] for w in ws for c in w["components"] if c["selected"])
assert got == comps, (got, comps)
print("ok: %d writers, %d participating, %d selected components" % (len(ws), len(part), len(comps)))
PY
grep -q '^\* Writer name: "System Writer"' "$T/writers.txt" || fail "text: writer name"
grep -q 'Number of writers listed: 11' "$T/writers.txt" || fail "text: writer count"
exit 0
