#!/usr/bin/env bash
# restore instance --consistent: every volume with VSS shadow copies inside is
# written as the view of the shadow copy the set names (capture shadow=ID),
# else of the newest one at or before the set's time. Oracle: mkvss's
# state-K.img on the blocks state-K.used lists (what the view must equal),
# compared with python; the choice is checked in the --json summary against
# mkvss's manifest.json, not against our own listing.
. "$(dirname "$0")/lib.sh"
need_cmd sfdisk fdisk
need_cmd python3 python3
MKVSS=$BUILD/tests/tools/mkvss
[ -x "$MKVSS" ] || skip "needs $MKVSS (make tests)"

"$MKVSS" --out "$T/mk" --size 128M --stores 3 --seed 11 --quiet || fail "mkvss"
sid() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["stores"][int(sys.argv[2])]["shadow_id"])' "$T/mk/manifest.json" "$1"; }
view_cmp() { # IMAGE OFFSET K: the volume at OFFSET in IMAGE equals state-K.img on state-K.used
	python3 - "$1" "$2" "$T/mk/state-$3.img" "$T/mk/state-$3.used" <<'PY' || fail "$1 differs from state-$3 on blocks in use"
import sys
img, off, st, used = open(sys.argv[1], "rb"), int(sys.argv[2]), open(sys.argv[3], "rb"), sys.argv[4]
n = bad = 0
for line in open(used):
    first, count = map(int, line.split())
    for b in range(first, first + count):
        img.seek(off + b * 16384); st.seek(b * 16384)
        n += 1; bad += img.read(16384) != st.read(16384)
print("blocks compared:", n, "differing:", bad, file=sys.stderr)
sys.exit(1 if bad or n == 0 else 0)
PY
}
choice() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))["volumes"]; print(v[0]["shadow_id"] or "")' "$T/stdout"; }

$SR init --repo "$T/r" --quiet || fail "init"
# 1. a bare volume whose set names the middle shadow copy
$SR capture --repo "$T/r" --instance vss-srv C:="$T/mk/volume.img",system,boot,shadow="$(sid 1)" --quiet || fail "capture named"
set1=$($SR sets --repo "$T/r" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["sets"][-1]["set_id"])')
expect_exit 0 $SR restore instance "$set1" --repo "$T/r" --to "$T/o1" --consistent --json --no-boot-check
assert_eq "$(choice)" "$(sid 1)" "the shadow copy the set names"
[ -f "$T/o1/C.img" ] || fail "no C.img for a bare volume"
view_cmp "$T/o1/C.img" 0 2
# without --consistent: the captured (live) volume, which differs from that view
expect_exit 0 $SR restore instance "$set1" --repo "$T/r" --to "$T/o1b" --no-boot-check
cmp -s "$T/o1b/C.img" "$T/o1/C.img" && fail "--consistent made no difference"

# 2. the volume inside a GPT disk, no shadow named: the newest one before the set's time (store 3)
truncate -s 160M "$T/disk.img"
sfdisk -q "$T/disk.img" >/dev/null <<'SF' || fail "sfdisk"
label: gpt
start=2048, size=262144, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7
SF
dd if="$T/mk/volume.img" of="$T/disk.img" bs=1M seek=1 conv=notrunc,sparse status=none
$SR capture --repo "$T/r" --instance vss-disk disk0="$T/disk.img",C:=p1 --quiet || fail "capture disk"
set2=$($SR sets --repo "$T/r" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["sets"][-1]["set_id"])')
expect_exit 0 $SR restore instance "$set2" --repo "$T/r" --to "$T/o2" --consistent --json --no-boot-check
assert_eq "$(choice)" "$(sid 2)" "the newest shadow copy"
view_cmp "$T/o2/disk0.img" 1048576 3
sfdisk --dump "$T/disk.img" | sed "s|$T/disk.img|D|" >"$T/t1"
sfdisk --dump "$T/o2/disk0.img" | sed "s|$T/o2/disk0.img|D|" >"$T/t2"
diff "$T/t1" "$T/t2" || fail "partition table differs"
# the text output says which shadow copy it chose
expect_exit 0 $SR restore instance "$set2" --repo "$T/r" --to "$T/o3" --consistent --no-boot-check
assert_contains "$T/stdout" "$(sid 2)"
exit 0
