#!/usr/bin/env bash
# restore instance of whole captured disks: a GPT disk (EFI system partition
# with FAT, MSR, NTFS system volume with \Windows\System32 and bootmgr, NTFS
# data volume) and an MBR disk (active System Reserved, C:, a logical volume in
# an extended partition). Oracles: sfdisk --dump (the table), ntfs-3g's
# $Bitmap (every allocated cluster identical), ntfsls + ntfscat (every file's
# sha256), cmp (the ESP), du (holes).
. "$(dirname "$0")/lib.sh"
E=$(dirname "$0")
need_root
need_fuse
need_cmd sfdisk fdisk
need_cmd mkntfs ntfs-3g
need_cmd mkfs.fat dosfstools
need_cmd mcopy mtools
need_cmd python3 python3



mkntfs_part() { # FILE SECTORS START LABEL KIND(system|boot|data)
	truncate -s $(($2 * 512)) "$1"
	mkntfs -q -F -f -p "$3" -H 255 -S 63 -L "$4" "$1" >/dev/null 2>&1 || fail "mkntfs $4"
	mkdir -p "$T/mnt"
	ntfs-3g "$1" "$T/mnt" || fail "mount $4"
	(
		set -e
		cd "$T/mnt"
		case $5 in
		system)
			mkdir -p Windows/System32/drivers/etc Windows/System32/config Users/Public
			head -c 3000000 /dev/urandom >Windows/System32/winload.efi
			head -c 2000000 /dev/urandom >Windows/System32/winload.exe
			head -c 4000000 /dev/urandom >Windows/System32/ntoskrnl.exe
			head -c 9000000 /dev/urandom >Windows/System32/config/SYSTEM
			printf '127.0.0.1 localhost\r\n' >Windows/System32/drivers/etc/hosts
			head -c 400000 /dev/urandom >bootmgr
			for i in $(seq 1 40); do head -c $((i * 997)) /dev/urandom >"Users/Public/f$i.dat"; done ;;
		boot)
			mkdir -p Boot; head -c 400000 /dev/urandom >bootmgr; head -c 28672 /dev/urandom >Boot/BCD ;;
		data)
			mkdir -p Shares/Data
			for i in $(seq 1 20); do head -c $((i * 65536 + 17)) /dev/urandom >"Shares/Data/d$i.bin"; done ;;
		esac
	) || { fusermount3 -u "$T/mnt"; fail "filling $4"; }
	fusermount3 -u "$T/mnt" || fail "unmount $4"
}

check_disk() { # ORIGINAL RESTORED: table, every NTFS partition, the rest byte for byte
	sfdisk --dump "$1" | sed "s|$1|DISK|" >"$T/t1"
	sfdisk --dump "$2" | sed "s|$2|DISK|" >"$T/t2"
	diff "$T/t1" "$T/t2" >&2 || fail "sfdisk --dump differs"
	[ "$(stat -c %s "$1")" = "$(stat -c %s "$2")" ] || fail "disk sizes differ"
	sfdisk -J "$1" | python3 -c '
import json, sys
for p in json.load(sys.stdin)["partitiontable"]["partitions"]:
    print(p["start"], p["size"], p.get("type", ""))' >"$T/parts"
	n=0
	while read -r start size type; do
		n=$((n + 1))
		case $type in 5|f|85) continue ;; esac   # extended: its EBRs are checked below with the gaps
		dd if="$1" of="$T/o$n.img" bs=512 skip="$start" count="$size" conv=sparse status=none
		dd if="$2" of="$T/r$n.img" bs=512 skip="$start" count="$size" conv=sparse status=none
		if [ "$(dd if="$T/o$n.img" bs=1 skip=3 count=4 status=none)" = "NTFS" ]; then
			alloc_cmp "$T/o$n.img" "$T/r$n.img" 0 8192 || fail "$T/r$n.img differs from $T/o$n.img on allocated clusters"
			python3 "$E/ntfs-oracle.py" "$T/o$n.img" / >"$T/wo$n"
			python3 "$E/ntfs-oracle.py" "$T/r$n.img" / >"$T/wr$n"
			[ -s "$T/wo$n" ] || fail "the oracle lists nothing on partition $n"
			diff "$T/wo$n" "$T/wr$n" >&2 || fail "files of partition $n differ"
		else
			cmp "$T/o$n.img" "$T/r$n.img" || fail "partition $n (not NTFS) differs"
		fi
		rm -f "$T/o$n.img" "$T/r$n.img"
	done <"$T/parts"
	# outside the partitions (MBR, GPT headers and entries, EBRs, backup GPT): byte for byte
	python3 - "$1" "$2" "$T/parts" <<'PY' || fail "the bytes outside the partitions differ"
import sys
a, b = open(sys.argv[1], "rb"), open(sys.argv[2], "rb")
size = a.seek(0, 2)
parts = sorted((int(s) * 512, int(n) * 512) for s, n, *t in (l.split() for l in open(sys.argv[3])) if (t or [""])[0] not in ("5", "f", "85"))
pos = 0
for off, n in parts + [(size, 0)]:
    a.seek(pos); b.seek(pos)
    while pos < off:
        k = min(off - pos, 1 << 20)
        if a.read(k) != b.read(k): sys.exit(1)
        pos += k
    pos = max(pos, off + n)
PY
}

# --- GPT: ESP 1..65 MiB, MSR 65..81 MiB, C: 81..241 MiB, D: 241..319 MiB, on 320 MiB
truncate -s 320M "$T/gpt.img"
sfdisk -q "$T/gpt.img" >/dev/null <<'SF' || fail "sfdisk gpt"
label: gpt
start=2048, size=131072, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="EFI system partition"
start=133120, size=32768, type=E3C9E316-0B5C-4DB8-817D-F92DF00215AE, name="Microsoft reserved partition"
start=165888, size=327680, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, name="Basic data partition"
start=493568, size=159744, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, name="Basic data partition"
SF
truncate -s 64M "$T/esp.img"
mkfs.fat -F 32 -n SYSTEM "$T/esp.img" >/dev/null 2>&1 || mkfs.fat -n SYSTEM "$T/esp.img" >/dev/null || fail "mkfs.fat"
head -c 1500000 /dev/urandom >"$T/bootmgfw.efi"; head -c 32768 /dev/urandom >"$T/BCD"
mmd -i "$T/esp.img" ::/EFI ::/EFI/Microsoft ::/EFI/Microsoft/Boot ::/EFI/Boot || fail "mmd"
mcopy -i "$T/esp.img" "$T/bootmgfw.efi" ::/EFI/Microsoft/Boot/bootmgfw.efi || fail "mcopy"
mcopy -i "$T/esp.img" "$T/bootmgfw.efi" ::/EFI/Boot/bootx64.efi || fail "mcopy"
mcopy -i "$T/esp.img" "$T/BCD" ::/EFI/Microsoft/Boot/BCD || fail "mcopy"
dd if="$T/esp.img" of="$T/gpt.img" bs=512 seek=2048 conv=notrunc,sparse status=none
mkntfs_part "$T/c.img" 327680 165888 Windows system
dd if="$T/c.img" of="$T/gpt.img" bs=512 seek=165888 conv=notrunc,sparse status=none
mkntfs_part "$T/d.img" 159744 493568 Data data
dd if="$T/d.img" of="$T/gpt.img" bs=512 seek=493568 conv=notrunc,sparse status=none
rm -f "$T/esp.img" "$T/c.img" "$T/d.img"

$SR init --repo "$T/r" --quiet || fail "init"
$SR capture --repo "$T/r" --instance gpt-srv disk0="$T/gpt.img" --quiet || fail "capture gpt"
$SR capture --repo "$T/r" --instance gpt-srv disk0="$T/gpt.img" --quiet || fail "capture gpt (incremental)"
setid=$($SR sets --repo "$T/r" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["sets"][-1]["set_id"])')
expect_exit 0 $SR restore instance "$setid" --repo "$T/r" --to "$T/out" --json
python3 - "$T/stdout" <<'PY' || fail "the --json summary: $(cat "$T/stdout")"
import json, sys
j = json.loads(open(sys.argv[1]).read())
assert len(j["disks"]) == 1 and j["disks"][0]["scheme"] == "gpt", j
assert len(j["volumes"]) == 4, j
assert j["hole_bytes"] > 0 and j["bytes_written"] > 0, j
PY
check_disk "$T/gpt.img" "$T/out/disk0.img"
# unallocated space stays holes: far fewer blocks than the disk's size
alloc=$(($(stat -c %b "$T/out/disk0.img") * 512))
[ "$alloc" -lt $((200 * 1048576)) ] || fail "disk0.img allocates $alloc bytes: zeros were written"
# the boot check ran on the rebuilt disk
expect_exit 0 $SR restore instance "$setid" --repo "$T/r" --to "$T/out2"
assert_contains "$T/stdout" "boot check of"
cmp "$T/out/disk0.img" "$T/out2/disk0.img" || fail "two restores differ"
# an existing image is not overwritten without --yes; with --yes it is
expect_exit 1 $SR restore instance "$setid" --repo "$T/r" --disk disk0="$T/out2/disk0.img"
expect_exit 0 $SR restore instance "$setid" --repo "$T/r" --disk disk0="$T/out2/disk0.img" --yes
cmp "$T/out/disk0.img" "$T/out2/disk0.img" || fail "restore over an existing image differs"
rm -rf "$T/out" "$T/out2"

# --- MBR: System Reserved (active) 1..65 MiB, C: 65..225 MiB, extended 225..319 MiB with D: inside
truncate -s 320M "$T/mbr.img"
sfdisk -q "$T/mbr.img" >/dev/null <<'SF' || fail "sfdisk mbr"
label: dos
start=2048, size=131072, type=7, bootable
start=133120, size=327680, type=7
start=460800, size=192512, type=5
start=462848, size=188416, type=7
SF
mkntfs_part "$T/p1.img" 131072 2048 "System Reserved" boot
dd if="$T/p1.img" of="$T/mbr.img" bs=512 seek=2048 conv=notrunc,sparse status=none
mkntfs_part "$T/p2.img" 327680 133120 Windows system
dd if="$T/p2.img" of="$T/mbr.img" bs=512 seek=133120 conv=notrunc,sparse status=none
mkntfs_part "$T/p5.img" 188416 462848 Data data
dd if="$T/p5.img" of="$T/mbr.img" bs=512 seek=462848 conv=notrunc,sparse status=none
rm -f "$T/p1.img" "$T/p2.img" "$T/p5.img"
$SR capture --repo "$T/r" --instance mbr-srv disk0="$T/mbr.img",C:=p2,system=p1,boot=p2 --quiet || fail "capture mbr"
setid=$($SR sets --repo "$T/r" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["sets"][-1]["set_id"])')
expect_exit 0 $SR restore instance "$setid" --repo "$T/r" --to "$T/out"
check_disk "$T/mbr.img" "$T/out/disk0.img"
# qcow2 through qemu-img, when installed: the same bytes
if command -v qemu-img >/dev/null 2>&1; then
	expect_exit 0 $SR restore instance "$setid" --repo "$T/r" --to "$T/q" --format qcow2 --no-boot-check
	qemu-img compare -q "$T/q/disk0.qcow2" "$T/out/disk0.img" || fail "qcow2 differs from raw"
fi
exit 0
