#!/usr/bin/env bash
# one listing of sets says where each set comes from: after the real vsstest
# volume is captured and a diskshadow listing imported, `list sets` (text and
# JSON) marks the captured set "captured", the two sets of the VSS shadow
# copies inside the captured volume "shadow-copy-in-capture" held in the
# captured set, and the listing's set "imported"; its count line adds them up.
# Oracle: the set IDs vshadowinfo reads from the image, the --set-id given to
# capture, the set ID grepped from the listing.
. "$(dirname "$0")/lib.sh"
need_shared
need_cmd vshadowinfo libvshadow-utils
need_cmd python3 python3
img=$(vsstest_raw)
L="$SHARED/data/listings/diskshadow-create-nowriters.txt"
cap=11111111-2222-3333-4444-555555555555

vshadowinfo "$img" | sed -n 's/^\tShadow copy set ID\t*: //p' | sort -u >"$T/inside.txt"
assert_eq "$(wc -l <"$T/inside.txt")" 2 "sets inside the image (vshadowinfo)"
doc=$(grep -o 'Shadow copy set: {[0-9a-f-]*}' "$L" | head -1 | grep -o '[0-9a-f-]\{36\}')
$SR init --repo "$T/r" --quiet >/dev/null 2>&1 || fail "init failed"
$SR capture --repo "$T/r" --instance vsstest --set-id $cap --quiet "C:=$img" >/dev/null || fail "capture failed"
export SHADOWREV_REPO="$T/r"
$SR catalog import "${doc:0:8}" "$L" >/dev/null || fail "import of the listing"
$SR list sets --json >"$T/sets.json" || fail "list sets --json"
$SR list sets >"$T/sets.txt" || fail "list sets"

python3 - "$T" "$cap" "$doc" <<'PY' || fail "sources of the sets"
import json, sys
T, cap, doc = sys.argv[1:]
inside = open(T + "/inside.txt").read().split()
s = {x["set_id"]: x for x in json.load(open(T + "/sets.json"))["sets"]}
assert sorted(s) == sorted(inside + [cap, doc]), sorted(s)
assert (s[cap]["source"], s[cap]["held_in"]) == ("captured", cap), s[cap]
for i in inside:
    assert (s[i]["source"], s[i]["held_in"]) == ("shadow-copy-in-capture", cap), s[i]
assert (s[doc]["source"], s[doc]["held_in"]) == ("imported", None), s[doc]
PY
grep -q "^Number of snapshot sets listed: 4 (1 captured, .*; 2 shadow copies inside .*; 1 imported from documents)" \
	"$T/sets.txt" || fail "text: count line"
for i in $(cat "$T/inside.txt"); do
	grep -A2 "^\* Snapshot set ID = {$i}" "$T/sets.txt" |
		grep -q "Source: a shadow copy inside a volume of captured set {$cap}" || fail "text: source of $i"
done
grep -A2 "^\* Snapshot set ID = {$cap}" "$T/sets.txt" | grep -q "Source: captured" || fail "text: captured"
grep -A2 "^\* Snapshot set ID = {$doc}" "$T/sets.txt" | grep -q "Source: imported" || fail "text: imported"
exit 0
