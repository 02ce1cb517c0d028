#!/usr/bin/env bash
# catalog import of the diskshadow and vssadmin listings in ../shared: every
# set ID, shadow ID, volume GUID path and storage association they contain
# ends up in the catalog; the empty vssadmin answer imports as nothing, without
# error. Oracle: the GUIDs picked out of the files by shape (python regex),
# not by shadowrev.
. "$(dirname "$0")/lib.sh"
need_shared
need_cmd python3 python3
L="$SHARED/data/listings"
mkdir -p "$T/repo"
export SHADOWREV_REPO="$T/repo"

for f in "$L"/*.txt; do
	# the set to import into: the first set ID the listing names
	set_id=$(python3 -c '
import re, sys
t = open(sys.argv[1]).read()
m = re.search(r"(?:set ID:? |set: )\{([0-9a-f-]{36})\}", t)
print(m.group(1) if m else "")' "$f")
	[ -n "$set_id" ] || fail "no set ID in $f"
	$SR catalog import "$set_id" "$f" >"$T/stdout" || fail "import of $(basename "$f") failed"
done

# the empty answer (cut out of the vssadmin file): exit 0, nothing imported
sed -n '/=== SHADOWS_NONE/,$p' "$L/vssadmin-shadows-and-storage.txt" | tail -n +2 >"$T/none.txt"
grep -q "No items found" "$T/none.txt" || fail "fixture: empty answer"
$SR list sets --json >"$T/before.json"
expect_exit 0 $SR catalog import da4b9974-8ca0-4602-ac7e-d1c5f23fd25d "$T/none.txt"
expect_exit 0 $SR catalog import 11111111-2222-3333-4444-555555555555 "$T/none.txt"
$SR list sets --json >"$T/after.json"
cmp -s "$T/before.json" "$T/after.json" || fail "the empty answer changed the catalog"

$SR list shadows --json >"$T/shadows.json" || fail "list shadows"
$SR list storage --json >"$T/storage.json" || fail "list storage"
$SR list volumes --json >"$T/volumes.json" || fail "list volumes"
python3 - "$T" "$L" <<'PY' || fail "the catalog misses something the listings hold"
import glob, json, re, sys
T, L = sys.argv[1:]
sets, shadows, vols, assoc = set(), set(), set(), set()
for f in glob.glob(L + "/*.txt"):
    t = open(f).read()
    sets |= set(re.findall(r"(?:shadow copy set ID:? |Shadow copy set: )\{([0-9a-f-]{36})\}", t))
    shadows |= set(re.findall(r"(?:Shadow copy ID = |Shadow Copy ID: )\{([0-9a-f-]{36})\}", t))
    vols |= set(re.findall(r"\\\\\?\\Volume\{([0-9a-f-]{36})\}\\", t))
    for a, b in re.findall(r"For volume: \(.*?\)\\\\\?\\Volume\{([0-9a-f-]{36})\}\\\n\s*Shadow Copy Storage volume: \(.*?\)\\\\\?\\Volume\{([0-9a-f-]{36})\}", t):
        assoc.add((a, b))
assert len(sets) == 3 and len(shadows) == 3 and len(vols) == 3 and len(assoc) == 1, (sets, shadows, vols, assoc)
sh = json.load(open(T + "/shadows.json"))["shadows"]
assert {x["shadow_id"] for x in sh} == shadows, sh
assert {x["set_id"] for x in sh} == sets, sh
got_vols = {re.search(r"\{(.*)\}", x["volume_guid_path"]).group(1) for x in sh}
assert got_vols >= vols - {a for a, b in assoc}, (got_vols, vols)
st = json.load(open(T + "/storage.json"))
got_assoc = {(re.search(r"\{(.*)\}", a["for_volume"]).group(1), re.search(r"\{(.*)\}", a["storage_volume"]).group(1)) for a in st["associations"]}
assert got_assoc == assoc, (got_assoc, assoc)
# every volume GUID path of the listings is known to the catalog
known = got_vols | {v for a in got_assoc for v in a}
assert known == vols, (known, vols)
v = json.load(open(T + "/volumes.json"))["volumes"]
assert {re.search(r"\{(.*)\}", x["guid_path"]).group(1) for x in v} == got_vols, v
print("ok: %d sets, %d shadow copies, %d volumes, %d associations" % (len(sets), len(shadows), len(vols), len(assoc)))
PY

# consistency: No_Writers -> file system; writers -> application (words read off the files)
$SR list sets --json >"$T/sets.json"
python3 - "$T/sets.json" <<'PY' || fail "consistency per set"
import json, sys
s = {x["set_id"]: x for x in json.load(open(sys.argv[1]))["sets"]}
assert s["3f14ee17-9231-4b76-ae74-59cd1ab7da64"]["consistency"] == "file-system-consistent"
assert "No_Writers" in s["3f14ee17-9231-4b76-ae74-59cd1ab7da64"]["consistency_reason"]
assert s["d39ea1b2-2225-4f82-b2f6-fdf0c2dbff8e"]["consistency"] == "application-consistent"
assert s["da4b9974-8ca0-4602-ac7e-d1c5f23fd25d"]["consistency"] == "application-consistent"
assert s["da4b9974-8ca0-4602-ac7e-d1c5f23fd25d"]["creation_time_text"] == "3/09/2026 1:40:44 AM"
PY
# the text form reads like diskshadow's
$SR list shadows >"$T/shadows.txt"
grep -q '^\* Shadow copy ID = {613f6c43-7139-4153-9687-91ecb550c31d}' "$T/shadows.txt" || fail "text: shadow"
grep -q 'Number of shadow copies listed: 3' "$T/shadows.txt" || fail "text: count"
$SR list storage >"$T/storage.txt"
grep -q '^Revert order' "$T/storage.txt" || fail "text: revert order"
exit 0
