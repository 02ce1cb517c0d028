#!/usr/bin/env bash
# The system volume is found whatever the case of \Windows\System32 (names
# compare through the volume's $UpCase, as on Windows), here with POSIX-
# namespace names (ntfsinfo shows the namespace): WINDOWS\system32,
# windows\SYSTEM32, and a folder WINDOWS without System32 next to a folder
# windows with it (any spelling counts). Each volume (tests/tools/mkvss) has a
# shadow copy older than the folders: reverting it in place is refused
# without --offline, not a byte changed; with --offline it is reverted.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nocase-fixture.sh"

nc_volume "$T/a.img"
nc_mount "$T/a.img"
mkdir -p "$T/m/WINDOWS/system32"
nc_umount "$T/a.img"
assert_eq "$(nc_names "$T/a.img" /WINDOWS)" "POSIX:WINDOWS" "namespace of WINDOWS"
assert_eq "$(nc_names "$T/a.img" /WINDOWS/system32)" "POSIX:system32" "namespace of system32"
nc_revert_image "$T/a.img"

nc_volume "$T/b.img"
nc_mount "$T/b.img"
mkdir -p "$T/m/windows/SYSTEM32"
nc_umount "$T/b.img"
assert_eq "$(nc_names "$T/b.img" /windows)" "POSIX:windows" "namespace of windows"
assert_eq "$(nc_names "$T/b.img" /windows/SYSTEM32)" "POSIX:SYSTEM32" "namespace of SYSTEM32"
nc_revert_image "$T/b.img"

# two folders whose names differ only in case; the one that sorts first (WINDOWS) has no System32
nc_volume "$T/c.img"
nc_mount "$T/c.img"
mkdir -p "$T/m/windows/System32" "$T/m/WINDOWS"
echo "not the system" >"$T/m/WINDOWS/readme.txt"
nc_umount "$T/c.img"
assert_eq "$(nc_names "$T/c.img" /WINDOWS)" "POSIX:WINDOWS" "namespace of WINDOWS"
assert_eq "$(nc_names "$T/c.img" /windows)" "POSIX:windows" "namespace of windows"
[ "$(nc_inode "$T/c.img" /WINDOWS)" != "$(nc_inode "$T/c.img" /windows)" ] || fail "WINDOWS and windows are one folder"
[ -z "$(nc_names "$T/c.img" /WINDOWS/System32)" ] || fail "WINDOWS holds System32"
nc_revert_image "$T/c.img"
exit 0
