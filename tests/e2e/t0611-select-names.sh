#!/usr/bin/env bash
# One grammar names sets, volumes, disks and shadow copies (README
# "Selectors"), through export, restore files and mount: INSTANCE,
# INSTANCE@latest, INSTANCE@TIME, set ID prefixes, SET:C:, SET:disk0,
# SET:disk0:p1, SET:C:vssN, and vssN / NAME:vssN among images. Oracles: the
# source images on allocated clusters (alloc_cmp), the partition table
# (sfdisk --dump), and exports by full shadow copy ID. Ambiguous and unknown
# names: exit 2, with the candidates or a hint.
. "$(dirname "$0")/lib.sh"
need_cmd python3 python3
need_cmd ntfscat ntfs-3g
need_cmd ntfsinfo ntfs-3g
need_cmd sfdisk fdisk
MKVSS=$BUILD/tests/tools/mkvss
[ -x "$MKVSS" ] || skip "needs $MKVSS (make tests)"
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]][int(sys.argv[3]) - 1][sys.argv[4]])' "$G/manifest.json" "$1" "$2" "$3"; }
created() { $SR sets --repo "$T/r" --json | python3 -c 'import json,sys; print([s["created"] for s in json.load(sys.stdin)["sets"] if s["set_id"].startswith(sys.argv[1])][0])' "$1"; }

G=$T/g
"$MKVSS" --out "$G" --size 64M --stores 3 --seed 11 --remote-storage --storage-stores 2 --quiet || fail "mkvss"
$SR init --repo "$T/r" --quiet || fail "init"
$SR capture --repo "$T/r" --instance srv1 --set-id 11110000-0000-0000-0000-000000000001 \
	C:="$G/volume.img" D:="$G/storage.img" --quiet || fail "capture srv1"
$SR capture --repo "$T/r" --instance web --set-id 11119999-0000-0000-0000-000000000002 C:="$G/state-1.img" --quiet ||
	fail "capture web 1"
sleep 1.2
$SR capture --repo "$T/r" --instance web C:="$G/state-2.img" --quiet || fail "capture web 2"
truncate -s 80M "$T/disk.img"
sfdisk -q "$T/disk.img" >/dev/null <<'SF' || fail "sfdisk"
label: gpt
start=2048, size=131072, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7
SF
dd if="$G/storage.img" of="$T/disk.img" bs=1M seek=1 conv=notrunc,sparse status=none
$SR capture --repo "$T/r" --instance dsk disk0="$T/disk.img" --quiet || fail "capture disk"
ex() { $SR export "$1" --repo "$T/r" --to "$2" --quiet || fail "export $1: $(cat "$T/err" 2>/dev/null)"; }

# INSTANCE, INSTANCE@latest: web's second set
ex web "$T/w.img"
alloc_cmp "$G/state-2.img" "$T/w.img" || fail "'web' is not web's latest set's volume"
ex web@latest:C: "$T/wl.img"
cmp "$T/w.img" "$T/wl.img" || fail "web@latest:C: differs from web"
# INSTANCE@TIME: the newest set at or before it; before the first one: unknown
t1=$(created 11119999)
ex "web@$t1" "$T/w1.img"
alloc_cmp "$G/state-1.img" "$T/w1.img" || fail "web@$t1 is not web's first set"
expect_exit 2 $SR export web@2001-01-01 --repo "$T/r" --to "$T/x.img"
assert_contains "$T/stderr" "at or before"
# a set ID prefix: unique, or ambiguous (exit 2, both listed)
ex 11119999 "$T/p.img"
cmp "$T/p.img" "$T/w1.img" || fail "set prefix 11119999 is not web's first set"
expect_exit 2 $SR export 1111 --repo "$T/r" --to "$T/x.img"
assert_contains "$T/stderr" "11110000-0000-0000-0000-000000000001"
assert_contains "$T/stderr" "11119999-0000-0000-0000-000000000002"
# a set of two volumes where one is wanted: ambiguous, naming SET:C: and SET:D:
expect_exit 2 $SR export srv1 --repo "$T/r" --to "$T/x.img"
assert_contains "$T/stderr" "11110000-0000-0000-0000-000000000001:C:"
assert_contains "$T/stderr" "11110000-0000-0000-0000-000000000001:D:"
expect_exit 2 $SR restore files srv1 / --repo "$T/r" --to "$T/x"
assert_contains "$T/stderr" ":D:"
# unknown: exit 2 with a hint
expect_exit 2 $SR export srv9 --repo "$T/r" --to "$T/x.img"
assert_contains "$T/stderr" "shadowrev sets"
expect_exit 2 $SR export srv1:E: --repo "$T/r" --to "$T/x.img"
assert_contains "$T/stderr" "C:, D:"
[ ! -e "$T/x.img" ] || fail "a refused export wrote a file"
echo "# INSTANCE, @latest, @TIME, set prefixes; ambiguous and unknown names"

# SET:C:vssN and by ID; SET:disk0:p1, SET:disk0
id2=$(field stores 2 shadow_id)
$SR export "$id2" "$G/volume.img" "$G/storage.img" --to "$T/i2.img" --quiet || fail "export $id2 from the images"
ex srv1:C:vss2 "$T/s2.img"
cmp "$T/s2.img" "$T/i2.img" || fail "srv1:C:vss2 differs from shadow copy $id2"
ex 11110000:c:VSS2 "$T/s2b.img"
cmp "$T/s2b.img" "$T/i2.img" || fail "11110000:c:VSS2 differs"
expect_exit 2 $SR export srv1:D:vss3 --repo "$T/r" --to "$T/x.img"
assert_contains "$T/stderr" "no vss3"
ex dsk:disk0:p1 "$T/p1.img"
alloc_cmp "$G/storage.img" "$T/p1.img" || fail "dsk:disk0:p1 is not the partition"
ex dsk:disk0 "$T/d0.img"
sfdisk --dump "$T/disk.img" | sed "s|$T/disk.img|D|" >"$T/t1"
sfdisk --dump "$T/d0.img" | sed "s|$T/d0.img|D|" >"$T/t2"
diff "$T/t1" "$T/t2" || fail "dsk:disk0 has another partition table"
echo "# SET:C:vssN, SET:disk0:p1, SET:disk0"

# restore files: a disk's only NTFS partition, and SET:C:vssN, against the images
$SR restore files dsk:disk0 / --repo "$T/r" --to "$T/fd" --quiet || fail "restore files dsk:disk0"
$SR restore files live / --image "$T/disk.img" --to "$T/fl" --quiet || fail "restore files live"
diff -r "$T/fd" "$T/fl" >"$T/diff" || fail "restore files dsk:disk0 differs: $(head -c 500 "$T/diff")"
$SR restore files srv1@latest:C:vss2 / --repo "$T/r" --to "$T/fs" --quiet || fail "restore files srv1@latest:C:vss2"
$SR restore files "$id2" / --image "$G/volume.img" --image "$G/storage.img" --to "$T/fi" --quiet ||
	fail "restore files $id2 from the images"
diff -r "$T/fs" "$T/fi" >"$T/diff" || fail "restore files srv1@latest:C:vss2 differs: $(head -c 500 "$T/diff")"

# images: vssN (unique among the volumes given) and NAME:vssN; ambiguous vss1
id3=$(field stores 3 shadow_id)
$SR export "$id3" "$G/volume.img" "$G/storage.img" --to "$T/i3.img" --quiet || fail "export $id3"
$SR export vss3 "$G/volume.img" "$G/storage.img" --to "$T/v3.img" --quiet || fail "export vss3"
cmp "$T/v3.img" "$T/i3.img" || fail "vss3 differs from $id3"
$SR export volume.img:vss2 "$G/volume.img" "$G/storage.img" --to "$T/v2.img" --quiet || fail "export volume.img:vss2"
cmp "$T/v2.img" "$T/i2.img" || fail "volume.img:vss2 differs from $id2"
expect_exit 2 $SR export vss1 "$G/volume.img" "$G/storage.img" --to "$T/x.img"
assert_contains "$T/stderr" "volume.img:vss1"
assert_contains "$T/stderr" "storage.img:vss1"
expect_exit 2 $SR export vss7 "$G/volume.img" "$G/storage.img" --to "$T/x.img"
echo "# restore files and images' vssN"

# mount --repo DIR NAME MOUNTPOINT
need_fuse
mkdir "$T/m1" "$T/m2"
trap '$SR unmount "$T/m1" 2>/dev/null; $SR unmount "$T/m2" 2>/dev/null; cleanup_T' EXIT
$SR mount --repo "$T/r" web@latest:C: "$T/m1" || fail "mount web@latest:C:"
cmp "$T/m1/volume.img" "$T/w.img" || fail "mounted web@latest:C: differs"
$SR mount --repo "$T/r" srv1:C:vss2 "$T/m2" || fail "mount srv1:C:vss2"
cmp "$T/m2/volume.img" "$T/i2.img" || fail "mounted srv1:C:vss2 differs"
$SR unmount "$T/m1" && $SR unmount "$T/m2" || fail "unmount"
expect_exit 2 $SR mount --repo "$T/r" srv1 "$T/m1"
assert_contains "$T/stderr" ":C:"
exit 0
