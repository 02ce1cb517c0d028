#!/usr/bin/env bash
# the list and catalog verbs: exit codes pinned (0 ok, 1 failed, 2 usage), IDs
# with or without braces, in any case, or as a unique prefix, an ambiguous
# prefix named as such, `list shadows IMAGE...` without a repository, the
# revert order and cycles of `list storage`, and JSON for every list.
. "$(dirname "$0")/lib.sh"
need_cmd python3 python3
mkdir -p "$T/repo"
export SHADOWREV_REPO="$T/repo"
C="$(cd "$(dirname "$0")/../fuzz/corpus" && pwd)"

# usage errors: exit 2
expect_exit 2 $SR list
expect_exit 2 $SR list bogus
expect_exit 2 $SR list sets --set 1234
expect_exit 2 $SR list storage --set 1234
expect_exit 2 $SR list sets extra
expect_exit 2 $SR list shadows "$T/no-such-image"
expect_exit 2 $SR list volumes --image
expect_exit 2 $SR list shadows --image
expect_exit 2 $SR list writers --bogus
expect_exit 2 $SR catalog
expect_exit 2 $SR catalog bogus
expect_exit 2 $SR catalog import
expect_exit 2 $SR catalog import 5a1e0c2d
expect_exit 2 $SR catalog rebuild extra
expect_exit 0 $SR list --help
grep -q 'list shadows \[--image\] IMAGE' "$T/stdout" || fail "usage text: image form"
expect_exit 0 $SR help catalog

# an empty catalog lists nothing, successfully
expect_exit 0 $SR list sets
grep -q 'Number of snapshot sets listed: 0' "$T/stdout" || fail "empty catalog"
# no repository directory: exit 1, named
expect_exit 1 $SR list sets --repo "$T/nowhere"
grep -q "no repository at '$T/nowhere'" "$T/stderr" || fail "missing repository: message"

# two sets whose IDs share the prefix "5a1e0c2d-7b3f-4e21-9" and "c0ffee00": import them
$SR catalog import 5a1e0c2d-7b3f-4e21-9d8a-0f6b2c4d8e10 "$C/listing/vssadmin-shadows-de.txt" \
	"$C/listing/vssadmin-storage-cycle.txt" >/dev/null || fail "import"
$SR catalog import 5a1e0c2d-7b3f-4e21-9d8a-0f6b2c4d8e10 "$C/archive/writers.cab" >/dev/null || fail "import of the cab"
sed 's/5a1e0c2d-7b3f-4e21-9d8a-0f6b2c4d8e10/5a1e0c2d-7b3f-4e21-9d8a-0f6b2c4d8e99/; s/a3c4e5f6-1b2d/a3c4e5f6-9999/' \
	"$C/listing/diskshadow-2vol.txt" >"$T/near.txt"
$SR catalog import 5a1e0c2d-7b3f-4e21-9d8a-0f6b2c4d8e99 "$T/near.txt" >/dev/null || fail "import of the near set"

expect_exit 1 $SR list shadows --set 5a1e0c2d
grep -q "more than one" "$T/stderr" || fail "ambiguous prefix: message"
expect_exit 1 $SR list shadows --set 99999999
grep -q "no set '99999999'" "$T/stderr" || fail "unknown set: message"
expect_exit 1 $SR list shadows --set xyz
expect_exit 1 $SR list shadows --set 5a1
for id in 5a1e0c2d-7b3f-4e21-9d8a-0f6b2c4d8e10 '{5A1E0C2D-7B3F-4E21-9D8A-0F6B2C4D8E10}' 5A1E0C2D-7B3F-4E21-9D8A-0F6b2c4d8e1 c0ffee; do
	expect_exit 0 $SR list shadows --set "$id" --json
done
python3 - "$T/stdout" <<'PY' || fail "list shadows --set c0ffee"
import json, sys
sh = json.load(open(sys.argv[1]))["shadows"]
assert "0badf00d-5678-4bcd-9ef0-123456789abc" in [x["shadow_id"] for x in sh], sh
assert all(x["set_id"] == "c0ffee00-1234-4abc-8def-0123456789ab" for x in sh)
PY

# every list has JSON
for w in sets shadows volumes writers storage; do
	$SR list $w --json >"$T/$w.json" || fail "list $w --json"
	python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/$w.json" || fail "list $w: not JSON"
	$SR list $w >"$T/$w.txt" || fail "list $w"
done
# C: stores on D: and D: on C:: a cycle, named
grep -q '^Cycle: C: -> D: -> C:\|^Cycle: D: -> C: -> D:' "$T/storage.txt" || { cat "$T/storage.txt"; fail "storage cycle"; }
python3 - "$T/storage.json" <<'PY' || fail "storage JSON"
import json, sys
s = json.load(open(sys.argv[1]))
assert len(s["associations"]) == 2 and s["revert_order"] == [] and len(s["cycles"]) == 1, s
PY
# writers: Gamma has metadata only, so crash-consistent; Alpha participates
python3 - "$T/writers.json" <<'PY' || fail "writers JSON"
import json, sys
w = {x["name"]: x for x in json.load(open(sys.argv[1]))["writers"]}
assert w["Gamma Writer"]["participating"] is False and w["Gamma Writer"]["consistency"] == "crash-consistent"
assert w["Alpha Writer"]["participating"] is True and w["Alpha Writer"]["consistency"] == "application-consistent"
PY

# list shadows IMAGE... keeps working with no repository at all
if [ -d "${SHARED:-/nonexistent}/data" ] && command -v qemu-img >/dev/null; then
	img=$(vsstest_raw)
	SHADOWREV_REPO="$T/nowhere" $SR list shadows "$img" >"$T/img.txt" || fail "list shadows IMAGE"
	grep -q 'Number of shadow copies listed: 2' "$T/img.txt" || fail "list shadows IMAGE: count"
	SHADOWREV_REPO="$T/nowhere" $SR list shadows --image "$img" --json >/dev/null || fail "list shadows --image"
fi
expect_exit 1 $SR list shadows --image "$T/no-such-image"
exit 0
