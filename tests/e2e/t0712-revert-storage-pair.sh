#!/usr/bin/env bash
# Revert a pair of generated volumes (tests/tools/mkvss --remote-storage
# --storage-stores): X keeps its shadow storage on Y, and Y has shadow copies
# of its own, taken with X's (one snapshot set per moment). Reverting Y alone
# is refused while X's shadow copies have their storage on Y, and changes
# nothing; --set reverts X then Y, each to its own state at that snapshot.
. "$(dirname "$0")/lib.sh"
need_cmd python3 python3
MKVSS=$BUILD/tests/tools/mkvss
VSSCMP=$BUILD/tests/tools/vsscmp
# field DIR ARRAY K NAME: NAME of store K (1-based) in manifest.json's ARRAY ("stores" or "storage_stores")
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]][int(sys.argv[3]) - 1][sys.argv[4]])' "$1/manifest.json" "$2" "$3" "$4"; }
sums() { sha256sum "$T/x.img" "$T/y.img" | cut -d' ' -f1; }

G=$T/g
"$MKVSS" --out "$G" --size 256M --stores 2 --seed 33 --remote-storage --storage-stores 2 --quiet || fail "mkvss"
x1=$(field "$G" stores 1 shadow_id)
x2=$(field "$G" stores 2 shadow_id)
y2=$(field "$G" storage_stores 2 shadow_id)
set2=$(field "$G" stores 2 set_id)
assert_eq "$(field "$G" storage_stores 2 set_id)" "$set2" "X's and Y's snapshot 2 share a set"
cp --sparse=always "$G/volume.img" "$T/x.img"
cp --sparse=always "$G/storage.img" "$T/y.img"
before=$(sums)

# 1. Y alone: refused, naming the dependency (X's shadow copies have their storage on Y)
expect_exit 1 $SR revert "$y2" "$T/y.img" "$T/x.img" --yes
grep -q "revert" "$T/stderr" || fail "no 'revert' in the refusal: $(cat "$T/stderr")"
grep -q "x.img" "$T/stderr" || fail "the refusal does not name x.img: $(cat "$T/stderr")"
assert_eq "$(sums)" "$before" "images after the refused revert"
echo "# revert of Y alone refused: $(head -c 300 "$T/stderr")"

# 2. the snapshot set: X first, then Y
$SR revert --set "$set2" "$T/x.img" "$T/y.img" --yes --json >"$T/r.json" || fail "--set revert: $(cat "$T/r.json")"
python3 - "$T/r.json" <<'PY' || fail "--set result: $(cat "$T/r.json")"
import json, sys
v = json.load(open(sys.argv[1]))["volumes"]
assert len(v) == 2 and v[0]["volume"].endswith("x.img") and v[1]["volume"].endswith("y.img"), v
PY
"$VSSCMP" "$T/x.img" "$G/state-2.img" "$G/state-2.used" >"$T/cmp" || fail "X after --set: $(cat "$T/cmp")"
"$VSSCMP" "$T/y.img" "$G/storage-state-2.img" "$G/storage-state-2.used" >"$T/cmp" || fail "Y after --set: $(cat "$T/cmp")"
$SR list shadows --json "$T/x.img" "$T/y.img" >"$T/l.json" || fail "list after the revert"
left=$(python3 - "$T/l.json" "$x1" "$x2" "$y2" <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))["volumes"]
ids = [s["shadow_id"] for vol in v for s in vol["shadows"]]
assert sys.argv[3] not in ids and sys.argv[4] not in ids, ids  # the reverted snapshot set is gone
print(1 if sys.argv[2] in ids else 0)
PY
) || fail "catalogs after the revert: $(cat "$T/l.json")"
if [ "$left" = 1 ]; then
	# X's shadow copy 1 survived Y's revert (its store file existed at Y's snapshot 2): it still reads as state 1
	$SR export "$x1" "$T/x.img" "$T/y.img" --to - --quiet >"$T/v1.img" || fail "X's store 1 after"
	"$VSSCMP" "$T/v1.img" "$G/state-1.img" "$G/state-1.used" >"$T/cmp" ||
		fail "X's store 1 after the revert: $(cat "$T/cmp")"
	echo "# X's shadow copy 1 kept and reads as state 1"
else
	# dropped: its store file on Y did not survive Y's revert to storage-state-2, and list shadows no longer shows it
	echo "# X's shadow copy 1 dropped by Y's revert"
fi
exit 0
