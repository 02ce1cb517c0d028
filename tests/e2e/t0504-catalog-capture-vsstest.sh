#!/usr/bin/env bash
# after the real vsstest volume is captured into a repository, `list shadows`
# shows its two VSS shadow copies with the IDs, sets, store IDs, times and
# attributes libvshadow's vshadowinfo reads from the source image, and the
# captured volume itself; `catalog rebuild` (also after the catalog file is
# deleted) gives the same answer.
. "$(dirname "$0")/lib.sh"
need_shared
need_cmd vshadowinfo libvshadow-utils
need_cmd python3 python3
$SR help capture >/dev/null 2>&1 || skip "shadowrev capture does not exist yet (repository engineer's verb)"
img=$(vsstest_raw)

vshadowinfo "$img" >"$T/vi.txt" || fail "vshadowinfo failed"
$SR init --repo "$T/r" --quiet >/dev/null 2>&1 || fail "init failed"
$SR capture --repo "$T/r" --instance vsstest --set-id 11111111-2222-3333-4444-555555555555 --quiet \
	"C:=$img,system,boot" >/dev/null || fail "capture failed"
export SHADOWREV_REPO="$T/r"
$SR list shadows --json >"$T/sh.json" || fail "list shadows"
$SR list sets --json >"$T/sets.json" || fail "list sets"
$SR list volumes --set 11111111 --json >"$T/vols.json" || fail "list volumes --set"

check() {
	python3 - "$T/vi.txt" "$1" "$2" "$3" <<'PY' || fail "catalog disagrees with vshadowinfo ($1)"
import json, re, sys, datetime
vi = open(sys.argv[1]).read()
sh = json.load(open(sys.argv[2]))["shadows"]
sets = {s["set_id"]: s for s in json.load(open(sys.argv[3]))["sets"]}
vols = json.load(open(sys.argv[4]))["volumes"]
stores = [dict(re.findall(r'^\t(\S[^:\t]*?)\s*:\s*(.*)$', b, re.M)) for b in re.split(r'\n(?=Store: \d+)', vi)[1:]]
assert len(stores) == 2, stores
inside = [x for x in sh if x["origin"] == "vss-store"]
assert len(inside) == 2, inside
for a in stores:
    b = [x for x in inside if x["shadow_id"] == a["Shadow copy ID"]]
    assert len(b) == 1, (a, inside)
    b = b[0]
    assert b["set_id"] == a["Shadow copy set ID"] and b["store_id"] == a["Identifier"], (a, b)
    assert b["attributes"] == int(a["Attribute flags"], 16), (a, b)
    assert b["captured_in"] == "11111111-2222-3333-4444-555555555555" and b["volume_name"] == "C:", b
    m = re.match(r'(\w+ \d+, \d+ \d+:\d+:\d+)\.(\d{9}) UTC', a["Creation time"])
    t = datetime.datetime.strptime(m.group(1), "%b %d, %Y %H:%M:%S")
    ft = int((t - datetime.datetime(1601, 1, 1)).total_seconds()) * 10**7 + int(m.group(2)[:7])
    assert b["creation_filetime"] == ft, (b, ft)
    s = sets[a["Shadow copy set ID"]]
    assert s["origin"] == "vss-store" and s["found_in"] == "11111111-2222-3333-4444-555555555555", s
cap = [x for x in sh if x["origin"] == "captured-volume"]
assert len(cap) == 1 and cap[0]["set_id"] == "11111111-2222-3333-4444-555555555555", cap
r = sets["11111111-2222-3333-4444-555555555555"]
assert r["origin"] == "repository" and r["instance"] == "vsstest" and r["in_repository"], r
assert [(v["drive"], v["system"], v["boot"], v["filesystem"]) for v in vols] == [("C:", True, True, "ntfs")], vols
print("ok: %d shadow copies" % len(sh))
PY
}
check "$T/sh.json" "$T/sets.json" "$T/vols.json"
# the text form
$SR list shadows >"$T/sh.txt"
for id in $(grep -o 'Shadow copy ID[^:]*: [0-9a-f-]*' "$T/vi.txt" | grep -o '[0-9a-f-]\{36\}'); do
	grep -q "^\* Shadow copy ID = {$id}" "$T/sh.txt" || fail "text: shadow copy $id"
done
# rebuild, and rebuild after the catalog is lost: the same answer
$SR catalog rebuild --quiet || fail "catalog rebuild"
$SR list shadows --json | cmp -s - "$T/sh.json" || fail "rebuild changed list shadows"
rm -f "$T/r/catalog.sqlite" "$T/r/catalog.sqlite-wal" "$T/r/catalog.sqlite-shm"
$SR list sets --json | cmp -s - "$T/sets.json" || fail "a lost catalog does not come back the same"
$SR list shadows --json | cmp -s - "$T/sh.json" || fail "a lost catalog: list shadows differs"
exit 0
