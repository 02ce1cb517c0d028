#!/usr/bin/env bash
# A pair captured into one set (tests/tools/mkvss --remote-storage: C: with 3
# shadow copies whose storage is on D:, D: with 2 of its own): every shadow
# copy of C: read from the repository (export, restore files, mount --repo)
# equals the same shadow copy read from the images (export IMAGE...), and
# mkvss's expected view (vsscmp: state-K.img on the blocks state-K.used lists);
# list storage shows the association C: -> D: and the revert order it implies.
. "$(dirname "$0")/lib.sh"
need_cmd python3 python3
MKVSS=$BUILD/tests/tools/mkvss
VSSCMP=$BUILD/tests/tools/vsscmp
[ -x "$MKVSS" ] || skip "needs $MKVSS (make tests)"
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]][int(sys.argv[3]) - 1][sys.argv[4]])' "$G/manifest.json" "$1" "$2" "$3"; }

G=$T/g
"$MKVSS" --out "$G" --size 128M --stores 3 --seed 61 --remote-storage --storage-stores 2 --quiet || fail "mkvss"
$SR init --repo "$T/r" --quiet || fail "init"
$SR capture --repo "$T/r" --instance srv1 C:="$G/volume.img" D:="$G/storage.img" --quiet || fail "capture"

for k in 1 2 3; do
	id=$(field stores $k shadow_id)
	$SR export "$id" "$G/volume.img" "$G/storage.img" --to "$T/i$k.img" --quiet || fail "export $k from the images"
	$SR export "$id" --repo "$T/r" --to "$T/r$k.img" --quiet || fail "export $k from the repository: $(cat "$T/stderr" 2>/dev/null)"
	cmp "$T/i$k.img" "$T/r$k.img" || fail "store $k: the repository's export differs from the images'"
	"$VSSCMP" "$T/r$k.img" "$G/state-$k.img" "$G/state-$k.used" >"$T/cmp" || fail "store $k differs from state-$k: $(cat "$T/cmp")"
done
echo "# C:'s 3 shadow copies exported from the repository equal the images' exports and mkvss's states"

# list storage: the association C: -> D: of the captured set (mkvss put C:'s storage on D:) and the revert order
$SR list storage --repo "$T/r" --json >"$T/s.json" || fail "list storage"
python3 - "$T/s.json" <<'PY' || fail "list storage: $(cat "$T/s.json")"
import json, sys
v = json.load(open(sys.argv[1]))
a = v["associations"]
assert len(a) == 1 and a[0]["for_name"] == "C:" and a[0]["storage_name"] == "D:", a
assert v["revert_order"] == ["C:", "D:"] and v["cycles"] == [], v
PY

# restore files: the whole tree of shadow copy 2, from the repository and from the images
id2=$(field stores 2 shadow_id)
$SR restore files "$id2" / --repo "$T/r" --to "$T/fr" --quiet || fail "restore files from the repository"
$SR restore files "$id2" / --image "$G/volume.img" --image "$G/storage.img" --to "$T/fi" --quiet ||
	fail "restore files from the images"
diff -r "$T/fr" "$T/fi" >"$T/diff" || fail "restored trees differ: $(head -c 600 "$T/diff")"
[ "$(find "$T/fr" -type f | wc -l)" -gt 10 ] || fail "too few files restored: $(find "$T/fr" | head)"
echo "# restore files of store 2: the same tree from the repository and from the images"

# mount --repo: C/shadows/vssK and by-shadow-id/<id>
need_fuse
mkdir "$T/mnt"
$SR mount --repo "$T/r" "$T/mnt" || fail "mount --repo"
trap '$SR unmount "$T/mnt" 2>/dev/null; cleanup_T' EXIT
S=$(ls "$T/mnt" | grep -v by-shadow-id)
for k in 1 2 3; do
	id=$(field stores $k shadow_id)
	cmp "$T/mnt/$S/C/shadows/vss$k/volume.img" "$T/i$k.img" || fail "C/shadows/vss$k/volume.img differs"
	[ "$(readlink "$T/mnt/$S/C/shadows/$id")" = "vss$k" ] || fail "C/shadows/$id is not a link to vss$k"
	cmp "$T/mnt/by-shadow-id/$id/volume.img" "$T/i$k.img" || fail "by-shadow-id/$id/volume.img differs"
done
[ "$(find "$T/mnt/$S/D/shadows" -mindepth 1 -maxdepth 1 -type d | wc -l)" = 2 ] || fail "D/shadows does not hold 2"
$SR unmount "$T/mnt" || fail "unmount"
echo "# mount --repo shows C:'s shadow copies as vss1..3 and by ID, read as the images' exports"
exit 0
