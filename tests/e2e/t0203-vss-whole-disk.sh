#!/usr/bin/env bash
# Whole-disk images: the vsstest volume placed as a partition of a GPT disk
# and of an MBR disk (a logical partition) is found, listed as IMAGE:pN, and
# its shadow copies export exactly as from the bare volume.
. "$(dirname "$0")/lib.sh"
need_shared
need_cmd sfdisk fdisk
need_cmd python3 python3
img=$(vsstest_raw)
vol_sectors=$(($(stat -c %s "$img") / 512))

# the oracle: the exports of the bare volume
$SR export 4e3c03c2 "$img" --to - | sha256sum >"$T/want1"
$SR export 18f1ac6e "$img" --to - | sha256sum >"$T/want2"

place() { # DISK START-SECTOR
	dd if="$img" of="$1" bs=1M seek=$(($2 * 512)) oflag=seek_bytes conv=notrunc,sparse status=none
}

# GPT: an ESP-like partition, then the NTFS volume as partition 2
truncate -s $((vol_sectors * 512 + 64 * 1048576)) "$T/gpt.img"
sfdisk -q "$T/gpt.img" <<EOS
label: gpt
start=2048, size=32768, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B
start=34816, size=$vol_sectors, type=EBD0A0A2-B9E5-4433-87C0-68B6B726A99C
EOS
place "$T/gpt.img" 34816

# MBR: a primary partition, then an extended one with the volume as logical partition 5
truncate -s $((vol_sectors * 512 + 64 * 1048576)) "$T/mbr.img"
sfdisk -q "$T/mbr.img" <<EOS
label: dos
start=2048, size=32768, type=83
start=36864, type=5
start=38912, size=$vol_sectors, type=7
EOS
place "$T/mbr.img" 38912

for d in gpt:p2 mbr:p5; do
	disk=$T/${d%%:*}.img
	$SR list shadows --json "$disk" >"$T/l.json" || fail "$d: list failed"
	python3 - "$T/l.json" "$disk:${d#*:}" <<'PY' || fail "$d: list is wrong"
import json, sys
v = json.load(open(sys.argv[1]))["volumes"]
assert len(v) == 1, v
assert v[0]["name"] == sys.argv[2], (v[0]["name"], sys.argv[2])
ids = [s["shadow_id"] for s in v[0]["shadows"]]
assert ids == ["4e3c03c2-7bc6-4288-ad96-c1eac1a55f71", "18f1ac6e-959d-436f-bdcc-e797a729e290"], ids
PY
	$SR export 4e3c03c2 "$disk" --to - | sha256sum | cmp -s - "$T/want1" || fail "$d: shadow 1 differs"
	$SR export 18f1ac6e "$disk" --to - | sha256sum | cmp -s - "$T/want2" || fail "$d: shadow 2 differs"
done

# a disk with no NTFS partition is refused clearly
truncate -s 64M "$T/empty-gpt.img"
printf 'label: gpt\nstart=2048, size=4096\n' | sfdisk -q "$T/empty-gpt.img"
expect_exit 1 $SR list shadows "$T/empty-gpt.img"
grep -q "holds no NTFS volume" "$T/stderr" || fail "empty disk: $(cat "$T/stderr")"
exit 0
