#!/usr/bin/env bash
# boot check/fix on generated disks: a GPT disk with an EFI system partition,
# an MSR and a Windows system volume, and an MBR disk with a System Reserved
# partition. Oracles: sfdisk --dump, the boot sector bytes read with python,
# cmp of the backup boot sector, ntfsfix -n.
. "$(dirname "$0")/lib.sh"
need_root
need_fuse
need_cmd sfdisk fdisk
need_cmd mkntfs ntfs-3g
need_cmd mkfs.fat dosfstools
need_cmd mcopy mtools

# ntfs_volume FILE SECTORS HIDDEN DIRS...: an NTFS volume with the given folders and files
ntfs_volume() {
	local f=$1 sectors=$2 hidden=$3
	shift 3
	truncate -s $((sectors * 512)) "$f"
	mkntfs -F -q -Q -s 512 -p "$hidden" -H 255 -S 63 "$f" >/dev/null || fail "mkntfs"
	mkdir -p "$T/m"
	ntfs-3g "$f" "$T/m" || fail "ntfs-3g mount"
	for p in "$@"; do
		case "$p" in
		*/) mkdir -p "$T/m/$p" ;;
		*) mkdir -p "$(dirname "$T/m/$p")" && echo "$p" >"$T/m/$p" ;;
		esac
	done
	fusermount3 -u "$T/m" || umount "$T/m"
}
place() { dd if="$2" of="$1" bs=1M seek=$(($3 * 512)) oflag=seek_bytes conv=notrunc,sparse status=none; }
hidden_of() { python3 -c 'import struct,sys; f=open(sys.argv[1],"rb"); f.seek(int(sys.argv[2])*512+28); print(struct.unpack("<I", f.read(4))[0])' "$1" "$2"; }

# --- GPT: ESP (FAT32) at 2048, MSR at 206848, Windows at 239616
truncate -s 600M "$T/gpt.img"
sfdisk -q "$T/gpt.img" <<EOS
label: gpt
start=2048, size=204800, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B
start=206848, size=32768, type=E3C9E316-0B5C-4DB8-817D-F92DF00215AE
start=239616, size=960000, type=EBD0A0A2-B9E5-4433-87C0-68B6B726A99C
EOS
truncate -s $((204800 * 512)) "$T/esp.img"
mkfs.fat -F 32 "$T/esp.img" >/dev/null
mmd -i "$T/esp.img" ::/EFI ::/EFI/Microsoft ::/EFI/Microsoft/Boot
echo bcd >"$T/BCD"
echo efi >"$T/bootmgfw.efi"
mcopy -i "$T/esp.img" "$T/BCD" "$T/bootmgfw.efi" ::/EFI/Microsoft/Boot/
place "$T/gpt.img" "$T/esp.img" 2048
ntfs_volume "$T/win.img" 960000 239616 Windows/System32/winload.efi Users/
place "$T/gpt.img" "$T/win.img" 239616

$SR boot check "$T/gpt.img" >"$T/out" || fail "a good GPT disk does not pass: $(cat "$T/out")"
grep -q "nothing found that would stop it" "$T/out" || fail "verdict: $(cat "$T/out")"
$SR boot check --json "$T/gpt.img" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["bootable"] and d["scheme"]=="gpt"; p=d["partitions"]; assert p[0]["bootmgfw"] and p[0]["bcd"] and p[2]["system"] and p[2]["winload"], p' ||
	fail "json report"

# the ESP without its BCD: will not boot, and the check says why
cp --sparse=always "$T/gpt.img" "$T/nobcd.img"
cp "$T/esp.img" "$T/esp2.img"
mdel -i "$T/esp2.img" ::/EFI/Microsoft/Boot/BCD
place "$T/nobcd.img" "$T/esp2.img" 2048
expect_exit 3 $SR boot check "$T/nobcd.img"
grep -q 'no \\EFI\\Microsoft\\Boot\\BCD' "$T/stdout" || fail "missing BCD not reported: $(cat "$T/stdout")"

# the volume moved: hidden sectors wrong and the backup boot sector lost
cp --sparse=always "$T/gpt.img" "$T/moved.img"
ntfs_volume "$T/win2.img" 960000 2048 Windows/System32/winload.efi
dd if=/dev/zero of="$T/win2.img" bs=512 seek=$((960000 - 1)) count=1 conv=notrunc status=none
place "$T/moved.img" "$T/win2.img" 239616
expect_exit 3 $SR boot check "$T/moved.img"
grep -q "starts at sector 2048, but its partition starts at sector 239616" "$T/stdout" || fail "hidden sectors: $(cat "$T/stdout")"
grep -q "backup boot sector" "$T/stdout" || fail "backup boot sector: $(cat "$T/stdout")"
sum=$(sha256sum <"$T/moved.img")
$SR boot fix "$T/moved.img" --dry-run >"$T/dry" || fail "fix --dry-run"
[ "$(sha256sum <"$T/moved.img")" = "$sum" ] || fail "--dry-run wrote"
expect_exit 1 $SR boot fix "$T/moved.img"
$SR boot fix "$T/moved.img" --yes >"$T/fix" || fail "fix: $(cat "$T/fix")"
[ "$(hidden_of "$T/moved.img" 239616)" = 239616 ] || fail "hidden sectors not fixed"
cmp -s <(dd if="$T/moved.img" bs=512 skip=239616 count=1 status=none) \
	<(dd if="$T/moved.img" bs=512 skip=$((239616 + 960000 - 1)) count=1 status=none) || fail "backup boot sector not restored"
dd if="$T/moved.img" of="$T/part.img" bs=512 skip=239616 count=960000 status=none
ntfsfix -n "$T/part.img" >/dev/null || fail "ntfsfix -n after the fix"
$SR boot check "$T/moved.img" >/dev/null || fail "still not bootable after the fix"

# --- MBR: System Reserved (bootmgr, Boot\BCD) then Windows; boot code present
truncate -s 400M "$T/mbr.img"
sfdisk -q "$T/mbr.img" <<EOS
label: dos
start=2048, size=204800, type=7
start=206848, size=500000, type=7
EOS
printf '\xfa\x33\xc0\x8e\xd0\xbc\x00\x7c' | dd of="$T/mbr.img" conv=notrunc status=none
ntfs_volume "$T/sr.img" 204800 2048 bootmgr Boot/BCD
ntfs_volume "$T/w.img" 500000 206848 Windows/System32/winload.exe
place "$T/mbr.img" "$T/sr.img" 2048
place "$T/mbr.img" "$T/w.img" 206848
expect_exit 3 $SR boot check "$T/mbr.img"
grep -q "no partition is marked active" "$T/stdout" || fail "no active: $(cat "$T/stdout")"
$SR boot fix "$T/mbr.img" --yes >/dev/null || fail "fix of the active flag"
sfdisk --dump "$T/mbr.img" | grep -q "start=        2048, size=      204800, type=7, bootable" || fail "partition 1 not active: $(sfdisk --dump "$T/mbr.img")"
$SR boot check "$T/mbr.img" >/dev/null || fail "MBR disk still not bootable"

# a volume image alone is checked as a volume, with a note
$SR boot check "$T/w.img" >"$T/vol" || true
grep -q "volume image" "$T/vol" || fail "volume image: $(cat "$T/vol")"
# a target in use is refused and left as it was
cp --sparse=always "$T/nobcd.img" "$T/busy.img"
ntfs_volume "$T/win3.img" 960000 4096 Windows/System32/winload.efi
place "$T/busy.img" "$T/win3.img" 239616
sum=$(sha256sum <"$T/busy.img")
sleep 30 <"$T/busy.img" &
holder=$!
sleep 0.2
expect_exit 1 $SR boot fix "$T/busy.img" --yes
kill $holder
grep -q "is open in process $holder" "$T/stderr" || fail "busy target: $(cat "$T/stderr")"
[ "$(sha256sum <"$T/busy.img")" = "$sum" ] || fail "a refused fix wrote"
exit 0
