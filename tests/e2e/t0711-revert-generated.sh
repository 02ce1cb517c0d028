#!/usr/bin/env bash
# Revert on generated volumes (tests/tools/mkvss): five stores with overlays
# and forwarders, reverted to each in turn on fresh copies: the volume equals
# the state saved at that shadow copy on every block then in use, and every
# older shadow copy still reads as its own saved state. Then shadow storage on
# another volume: --set reverts the volume using the storage volume's stores,
# drops them from both catalogs, and the older shadow copies stay readable.
. "$(dirname "$0")/lib.sh"
need_cmd python3 python3
MKVSS=$BUILD/tests/tools/mkvss
VSSCMP=$BUILD/tests/tools/vsscmp
ids() { python3 -c 'import json,sys; [print(s["shadow_id"]) for s in json.load(open(sys.argv[1]))["stores"]]' "$1/manifest.json"; }
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["stores"][int(sys.argv[2]) - 1][sys.argv[3]])' "$1/manifest.json" "$2" "$3"; }

for fixture in forwarders overlays; do
rm -rf "$T/g"
opts=(--forwarders)
[ "$fixture" = overlays ] && opts+=(--overlays)
"$MKVSS" --out "$T/g" --size 256M --stores 5 --seed 31 "${opts[@]}" --quiet || fail "mkvss"
mapfile -t id < <(ids "$T/g")
for k in 1 2 3 4 5; do
	cp --sparse=always "$T/g/volume.img" "$T/t.img"
	$SR revert "${id[k - 1]}" "$T/t.img" --yes --json >"$T/r.json" || fail "revert to store $k"
	"$VSSCMP" "$T/t.img" "$T/g/state-$k.img" "$T/g/state-$k.used" >"$T/cmp" || fail "after revert to store $k: $(cat "$T/cmp")"
	# older shadow copies that would read store k's own overlay writes through the volume are dropped too
	dropped=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["volumes"][0]["older_shadow_copies_dropped"])' "$T/r.json")
	n=$($SR list shadows --json "$T/t.img" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["volumes"][0]["shadows"]))')
	[ "$n" = $((k - 1 - dropped)) ] || fail "after revert to store $k, $n shadow copies are left (want $((k - 1 - dropped)))"
	for j in $(seq $((dropped + 1)) $((k - 1))); do
		$SR export "${id[j - 1]}" "$T/t.img" --to - --quiet >"$T/x.img" || fail "store $j after revert to $k"
		"$VSSCMP" "$T/x.img" "$T/g/state-$j.img" "$T/g/state-$j.used" >"$T/cmp" ||
			fail "older store $j no longer reads as its state after revert to $k: $(cat "$T/cmp")"
	done
	# without overlays nothing older needs to go
	[ "$fixture" = overlays ] || [ "$dropped" = 0 ] || fail "$dropped older shadow copies dropped without overlays"
	echo "# $fixture: revert to store $k: equal to its state; $dropped older dropped; stores $((dropped + 1))..$((k - 1)) intact"
done
done
if command -v ntfsfix >/dev/null; then
	ntfsfix -n "$T/t.img" >/dev/null || fail "ntfsfix -n after revert to store 5"
fi

# shadow storage on another volume
"$MKVSS" --out "$T/r" --size 256M --stores 3 --seed 32 --remote-storage --forwarders --quiet || fail "mkvss --remote-storage"
mapfile -t rid < <(ids "$T/r")
cp --sparse=always "$T/r/volume.img" "$T/x.img"
cp --sparse=always "$T/r/storage.img" "$T/y.img"
# without the storage volume: refused, naming what is missing
expect_exit 1 $SR revert "${rid[1]}" "$T/x.img" --yes
grep -q "no shadow copy" "$T/stderr" || fail "no storage volume: $(cat "$T/stderr")"
set2=$(field "$T/r" 2 set_id)
$SR revert --set "$set2" "$T/x.img" "$T/y.img" --dry-run --json >"$T/plan.json" || fail "--set --dry-run"
python3 -c 'import json,sys; p=json.load(open(sys.argv[1])); v=p["volumes"]; assert len(v)==1 and v[0]["volume"].endswith("x.img"), v' "$T/plan.json" ||
	fail "plan: $(cat "$T/plan.json")"
$SR revert --set "$set2" "$T/x.img" "$T/y.img" --yes --quiet >/dev/null || fail "--set revert"
"$VSSCMP" "$T/x.img" "$T/r/state-2.img" "$T/r/state-2.used" >"$T/cmp" || fail "X after --set: $(cat "$T/cmp")"
$SR list shadows --json "$T/x.img" "$T/y.img" >"$T/l.json" || fail "list after"
python3 - "$T/l.json" <<'PY' || fail "catalogs after the revert: $(cat "$T/l.json")"
import json, sys
v = json.load(open(sys.argv[1]))["volumes"]
assert len(v[0]["shadows"]) == 1, v[0]          # store 1 left on X
assert v[1]["foreign_stores"] == 1, v[1]        # and its type-3 entry on Y; 2 and 3 dropped from both
PY
$SR export "${rid[0]}" "$T/x.img" "$T/y.img" --to - --quiet >"$T/v1.img" || fail "store 1 after"
"$VSSCMP" "$T/v1.img" "$T/r/state-1.img" "$T/r/state-1.used" >"$T/cmp" || fail "store 1 after the revert: $(cat "$T/cmp")"
exit 0
