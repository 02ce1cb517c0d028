#!/usr/bin/env bash
# capture of a whole GPT disk with two NTFS volumes (made without loop
# devices: mkntfs on separate images, files put in with ntfscp, dd'ed into
# place): every partition is a volume, each exports with every allocated
# cluster intact (oracle: ntfscat $Bitmap + ntfsinfo, see t0301), the
# partition table is kept, and ntfsls lists the files of the export.
. "$(dirname "$0")/lib.sh"
need_cmd sfdisk fdisk
need_cmd mkntfs ntfs-3g
need_cmd ntfscp ntfs-3g
need_cmd python3 python3


# 2 partitions: 1 MiB .. 97 MiB, 97 MiB .. 190 MiB, on a 192 MiB disk
truncate -s 192M "$T/disk.img"
sfdisk -q "$T/disk.img" >/dev/null <<'SF' || fail "sfdisk"
label: gpt
start=2048, size=196608, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, name="data1"
start=198656, size=190464, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, name="data2"
SF
mk() { # mk N START SECTORS
	truncate -s $(($3 * 512)) "$T/p$1.img"
	mkntfs -q -F -f -p "$2" -L "vol$1" "$T/p$1.img" >/dev/null 2>&1 || fail "mkntfs p$1"
	for i in 1 2 3; do
		head -c $((i * 3 * 1048576 + 12345)) /dev/urandom >"$T/f$1$i"
		ntfscp -f "$T/p$1.img" "$T/f$1$i" "file$i.bin" >/dev/null 2>&1 || fail "ntfscp"
	done
	seq 1 20000 >"$T/text" && ntfscp -f "$T/p$1.img" "$T/text" "numbers.txt" >/dev/null 2>&1 || fail "ntfscp"
	dd if="$T/p$1.img" of="$T/disk.img" bs=512 seek="$2" conv=notrunc,sparse status=none || fail "dd"
}
mk 1 2048 196608
mk 2 198656 190464

$SR init --repo "$T/r" --quiet || fail "init"
$SR capture --repo "$T/r" --instance srv disk0="$T/disk.img",C:=p2,system=p1 --json >"$T/cap.json" ||
	fail "capture of the disk"
$SR sets --repo "$T/r" --json >"$T/sets.json" || fail "sets"
python3 - "$T/sets.json" >"$T/ids" <<'PY' || fail "the set does not list two NTFS partitions"
import json, sys
s = json.load(open(sys.argv[1]))["sets"][0]
v = s["volumes"]
assert [x["name"] for x in v] == ["disk0:p1", "disk0:p2"], v
assert all(x["fs"] == "ntfs" for x in v), v
assert v[1]["drive"] == "C:" and v[0]["roles"] == "system", v
assert v[0]["offset"] == 2048 * 512 and v[1]["offset"] == 198656 * 512, v
for x in v: print(x["shadow_id"])
PY
n=0
while read -r id; do
	n=$((n + 1))
	$SR export "$id" --repo "$T/r" --to "$T/e$n.img" || fail "export of p$n"
	alloc_cmp "$T/p$n.img" "$T/e$n.img" || fail "volume $n: the export differs on allocated clusters"
	ntfsls "$T/e$n.img" 2>/dev/null | grep -q numbers.txt || fail "ntfsls does not see the files of p$n"
	ntfscat "$T/e$n.img" /file3.bin 2>/dev/null | cmp - "$T/f${n}3" || fail "file3.bin of p$n differs"
done <"$T/ids"
[ "$n" = 2 ] || fail "$n volumes exported"
grep -q '"disks": \[$' "$T/cap.json" || fail "no disk in the report"
$SR verify --repo "$T/r" || fail "verify"
# a disk without a partition table is refused
truncate -s 8M "$T/blank.img"
expect_exit 1 $SR capture --repo "$T/r" --instance srv disk0="$T/blank.img"
grep -q "partition table" "$T/stderr" || fail "no clear error for a blank disk"
exit 0
