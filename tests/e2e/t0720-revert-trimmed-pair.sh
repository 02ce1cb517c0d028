#!/usr/bin/env bash
# Issue #15 with shadow storage on another volume (as t0712): X keeps its
# stores on Y, Y has shadow copies of its own taken with X's, and the store
# files on Y are trimmed, their tails reused by Y's files (which Y's shadow
# copies then copy) and by later store files. --set reverts X then Y to every
# snapshot set, each on fresh copies: both equal their saved states, pass
# ntfsfix -n, and every shadow copy left reads as its state.
. "$(dirname "$0")/lib.sh"
need_cmd python3 python3
need_cmd ntfsfix ntfs-3g
MKVSS=$BUILD/tests/tools/mkvss
VSSCMP=$BUILD/tests/tools/vsscmp
G=$T/g
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]][int(sys.argv[3]) - 1][sys.argv[4]])' "$G/manifest.json" "$@"; }
"$MKVSS" --out "$G" --size 256M --stores 4 --seed 44 --remote-storage --storage-stores 4 --trim-stores --forwarders --quiet ||
	fail "mkvss"
python3 "$(dirname "$0")/range-hits.py" "$G/storage.img" "$G/volume.img" >"$T/hits" || fail "range-hits.py"
awk '$2 > 0 { n++ } END { exit !(n > 0) }' "$T/hits" || fail "no revert of Y writes into a range-list extent: $(cat "$T/hits")"
echo "# Y: blocks in range-list extents per revert: $(awk '{ printf "%s ", $2 }' "$T/hits")"

# check IMG-X IMG-Y WHEN: every shadow copy of X and of Y still listed reads as its saved state
check_left() {
	$SR list shadows --json "$1" "$2" >"$T/l.json" || fail "list shadows $3"
	python3 - "$T/l.json" "$G/manifest.json" >"$T/left" <<'PY' || fail "list $3: $(cat "$T/l.json")"
import json, sys
vols = json.load(open(sys.argv[1]))["volumes"]
m = json.load(open(sys.argv[2]))
for vol, key, state in ((vols[0], "stores", "state"), (vols[1], "storage_stores", "storage-state")):
    for s in vol["shadows"]:
        k = [x["shadow_id"] for x in m[key]].index(s["shadow_id"]) + 1
        print(s["shadow_id"], "%s-%d" % (state, k))
PY
	while read -r sid st; do
		$SR export "$sid" "$1" "$2" --to "$T/e.img" --force --quiet || fail "export $sid $3"
		"$VSSCMP" "$T/e.img" "$G/$st.img" "$G/$st.used" >"$T/cmp" || fail "$sid ($st) $3: $(cat "$T/cmp")"
	done <"$T/left"
	echo "# $3: $(wc -l <"$T/left") shadow copies listed, each equal to its state"
}
check_left "$G/volume.img" "$G/storage.img" "before"
for k in 1 2 3 4; do
	cp --sparse=always "$G/volume.img" "$T/x.img"
	cp --sparse=always "$G/storage.img" "$T/y.img"
	$SR revert --set "$(field stores "$k" set_id)" "$T/x.img" "$T/y.img" --yes --json >"$T/r.json" ||
		fail "--set revert to snapshot $k: $(cat "$T/stderr" 2>/dev/null)"
	"$VSSCMP" "$T/x.img" "$G/state-$k.img" "$G/state-$k.used" >"$T/cmp" || fail "X after revert to $k: $(cat "$T/cmp")"
	"$VSSCMP" "$T/y.img" "$G/storage-state-$k.img" "$G/storage-state-$k.used" >"$T/cmp" ||
		fail "Y after revert to $k: $(cat "$T/cmp")"
	ntfsfix -n "$T/x.img" >/dev/null || fail "ntfsfix -n X after revert to $k"
	ntfsfix -n "$T/y.img" >/dev/null || fail "ntfsfix -n Y after revert to $k"
	check_left "$T/x.img" "$T/y.img" "after revert to snapshot $k"
done
exit 0
