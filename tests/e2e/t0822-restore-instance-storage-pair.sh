#!/usr/bin/env bash
# restore instance --consistent of a set holding C: and D:, C:'s shadow
# storage on D: (mkvss --remote-storage): both volumes are written at the
# newest VSS snapshot set they share (the choice checked against mkvss's
# manifest.json), C: equal to mkvss's state (vsscmp) and to the images' export
# on every allocated cluster. A set where C:'s storage was not captured: the
# application-consistent point cannot be reached, exit 1 and nothing written;
# with --allow-crash-consistent C: is written as captured and said so (exit 3).
. "$(dirname "$0")/lib.sh"
need_cmd python3 python3
need_cmd ntfscat ntfs-3g
need_cmd ntfsinfo ntfs-3g
MKVSS=$BUILD/tests/tools/mkvss
VSSCMP=$BUILD/tests/tools/vsscmp
[ -x "$MKVSS" ] || skip "needs $MKVSS (make tests)"
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]][int(sys.argv[3]) - 1][sys.argv[4]])' "$G/manifest.json" "$1" "$2" "$3"; }
vol() { python3 -c 'import json,sys; v=[x for x in json.load(open(sys.argv[1]))["volumes"] if x["drive"]==sys.argv[2]][0]; print(v.get(sys.argv[3]) or "")' "$T/stdout" "$1" "$2"; }

G=$T/g
"$MKVSS" --out "$G" --size 128M --stores 3 --seed 82 --remote-storage --storage-stores 2 --quiet || fail "mkvss"
$SR init --repo "$T/r" --quiet || fail "init"
$SR capture --repo "$T/r" --instance srv1 C:="$G/volume.img" D:="$G/storage.img" --quiet || fail "capture"

expect_exit 0 $SR restore instance srv1 --repo "$T/r" --to "$T/o" --consistent --json --no-boot-check
# C:'s store 3 has no D: counterpart: snapshot set 2 is the newest on both volumes
assert_eq "$(vol C: shadow_id)" "$(field stores 2 shadow_id)" "C:'s shadow copy"
assert_eq "$(vol D: shadow_id)" "$(field storage_stores 2 shadow_id)" "D:'s shadow copy"
assert_eq "$(vol C: point)" "application" "C:'s point"
"$VSSCMP" "$T/o/C.img" "$G/state-2.img" "$G/state-2.used" >"$T/cmp" || fail "C.img differs from state-2: $(cat "$T/cmp")"
"$VSSCMP" "$T/o/D.img" "$G/storage-state-2.img" "$G/storage-state-2.used" >"$T/cmp" ||
	fail "D.img differs from storage-state-2: $(cat "$T/cmp")"
$SR export "$(field stores 2 shadow_id)" "$G/volume.img" "$G/storage.img" --to "$T/c2.img" --quiet || fail "export C: 2"
$SR export "$(field storage_stores 2 shadow_id)" "$G/volume.img" "$G/storage.img" --to "$T/d2.img" --quiet ||
	fail "export D: 2"
alloc_cmp "$T/c2.img" "$T/o/C.img" || fail "C.img differs from the images' export on allocated clusters"
alloc_cmp "$T/d2.img" "$T/o/D.img" || fail "D.img differs from the images' export on allocated clusters"
echo "# C: and D: at snapshot set 2"

# C: captured without D:: its shadow copies cannot be read; never a silent downgrade
$SR capture --repo "$T/r" --instance srv2 C:="$G/volume.img" --quiet || fail "capture C: alone"
expect_exit 1 $SR restore instance srv2 --repo "$T/r" --to "$T/o2" --consistent --no-boot-check
assert_contains "$T/stderr" "--allow-crash-consistent"
grep -q "C:" "$T/stderr" || fail "the refusal does not name C:: $(cat "$T/stderr")"
[ ! -e "$T/o2/C.img" ] || fail "a refused restore wrote C.img"
expect_exit 3 $SR restore instance srv2 --repo "$T/r" --to "$T/o2" --consistent --allow-crash-consistent --json --no-boot-check
assert_eq "$(vol C: point)" "crash" "C:'s point with --allow-crash-consistent"
assert_eq "$(vol C: shadow_id)" "" "no shadow copy for C:"
alloc_cmp "$G/volume.img" "$T/o2/C.img" || fail "the crash-consistent C.img is not the captured volume"
expect_exit 2 $SR restore instance srv2 --repo "$T/r" --to "$T/o3" --allow-crash-consistent
exit 0
