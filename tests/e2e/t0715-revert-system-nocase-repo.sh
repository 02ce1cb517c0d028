#!/usr/bin/env bash
# As t0713 and t0714, reverting from the repository: the captured volume
# holds \Windows\System32 spelled WINDOWS\system32 (POSIX names, with
# WINLOAD.EXE, BOOTMGR and boot\bcd), windows\SYSTEM32 (Win32 & DOS names,
# with winload.efi), or has a folder WINDOWS without System32 next to
# windows\System32 (POSIX). `revert --to` onto a modified copy is refused
# without --offline, not a byte changed; with --offline the copy is reverted
# (equal to the captured volume on its clusters in use: alloc_cmp over
# ntfscat's $Bitmap) and the boot check after it finds the boot files
# whatever their case.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nocase-fixture.sh"
need_cmd ntfscat ntfs-3g

# revert_repo NAME BOOT-EXIT: capture $T/NAME.img, revert a modified copy of it from the repository
revert_repo() {
	local img=$T/$1.img tgt=$T/$1-t.img id sum
	$SR init --repo "$T/r-$1" --quiet || fail "init"
	$SR capture --repo "$T/r-$1" --instance "$1" --quiet C:="$img" >/dev/null || fail "capture $1"
	id=$($SR sets --repo "$T/r-$1" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["sets"][0]["volumes"][0]["shadow_id"])')
	cp --sparse=always "$img" "$tgt"
	nc_mount "$tgt"
	head -c 300000 /dev/urandom >"$T/m/after-capture.bin"
	nc_umount "$tgt"
	sum=$(sha256sum <"$tgt")
	expect_exit 1 $SR revert "$id" --repo "$T/r-$1" --to C:="$tgt" --yes
	grep -q "is a system volume" "$T/stderr" || fail "$1: no system-volume refusal: $(cat "$T/stderr")"
	[ "$(sha256sum <"$tgt")" = "$sum" ] || fail "$1: the refused system volume was changed"
	expect_exit "$2" $SR revert "$id" --repo "$T/r-$1" --to C:="$tgt" --yes --offline
	alloc_cmp "$img" "$tgt" 0 0 >/dev/null || fail "$1: the offline revert did not make the copy the captured volume"
	ntfsls -f "$tgt" 2>/dev/null | grep -qx after-capture.bin && fail "$1: the file written after the capture survived"
	return 0
}

nc_volume "$T/a.img"
nc_mount "$T/a.img"
mkdir -p "$T/m/WINDOWS/system32" "$T/m/boot"
echo "not really winload" >"$T/m/WINDOWS/system32/WINLOAD.EXE"
echo "not really bootmgr" >"$T/m/BOOTMGR"
echo "not really a BCD" >"$T/m/boot/bcd"
nc_umount "$T/a.img"
assert_eq "$(nc_names "$T/a.img" /WINDOWS/system32/WINLOAD.EXE)" "POSIX:WINLOAD.EXE" "names of WINLOAD.EXE"
assert_eq "$(nc_names "$T/a.img" /boot/bcd)" "POSIX:bcd" "names of bcd"
revert_repo a 0
grep -q "boot check: boot sector, backup boot sector, bootmgr, BCD and winload are in order" "$T/stderr" ||
	fail "a: the boot check did not find the boot files: $(cat "$T/stderr")"

nc_volume "$T/b.img"
nc_mount "$T/b.img"
mkdir -p "$T/m/windows/SYSTEM32"
echo "not really winload" >"$T/m/windows/SYSTEM32/winload.efi"
nc_dos windows/SYSTEM32 SYSTEM32
nc_dos windows WINDOWS
nc_umount "$T/b.img"
assert_eq "$(nc_names "$T/b.img" /windows)" "Win32 & DOS:windows" "names of windows"
assert_eq "$(nc_names "$T/b.img" /windows/SYSTEM32)" "Win32 & DOS:SYSTEM32" "names of SYSTEM32"
revert_repo b 0
grep -q "boot check: warning: no bootmgr" "$T/stderr" || fail "b: no boot check: $(cat "$T/stderr")"
grep -q "boot check: error" "$T/stderr" && fail "b: the boot check did not find winload.efi: $(cat "$T/stderr")"

nc_volume "$T/c.img"
nc_mount "$T/c.img"
mkdir -p "$T/m/windows/System32" "$T/m/WINDOWS"
nc_umount "$T/c.img"
[ "$(nc_inode "$T/c.img" /WINDOWS)" != "$(nc_inode "$T/c.img" /windows)" ] || fail "WINDOWS and windows are one folder"
assert_eq "$(nc_names "$T/c.img" /WINDOWS)$(nc_names "$T/c.img" /windows)" "POSIX:WINDOWSPOSIX:windows" "names of WINDOWS, windows"
revert_repo c 3
grep -q "boot check: error: .*winload" "$T/stderr" || fail "c: no boot check finding: $(cat "$T/stderr")"
exit 0
