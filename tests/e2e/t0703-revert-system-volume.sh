#!/usr/bin/env bash
# A system volume (one with \Windows\System32) is refused without --offline
# and left untouched; with --offline it is reverted and its boot structures
# are checked afterwards.
. "$(dirname "$0")/lib.sh"
need_shared
need_root
need_fuse
need_cmd ntfs-3g ntfs-3g
img=$(vsstest_raw)

cp --sparse=always "$img" "$T/sys.img"
mkdir "$T/m"
ntfs-3g "$T/sys.img" "$T/m" || fail "ntfs-3g mount"
mkdir -p "$T/m/Windows/System32"
echo "not really winload" >"$T/m/Windows/System32/winload.exe"
fusermount3 -u "$T/m" || umount "$T/m"
sum=$(sha256sum <"$T/sys.img")
vshadowinfo "$T/sys.img" | grep -q "Number of stores:.2" || fail "the shadow copies did not survive the set-up"

expect_exit 1 $SR revert 4e3c03c2 "$T/sys.img" --yes
grep -q "is a system volume" "$T/stderr" || fail "no system-volume refusal: $(cat "$T/stderr")"
grep -q -- "--offline" "$T/stderr" || fail "the refusal does not say how: $(cat "$T/stderr")"
[ "$(sha256sum <"$T/sys.img")" = "$sum" ] || fail "the refused system volume was changed"

# offline: reverted, then checked; shadow copy 1 predates the Windows folder, so
# winload is missing and the check says so (exit 3: done, with a finding)
expect_exit 3 $SR revert 4e3c03c2 "$T/sys.img" --yes --offline
grep -q "boot check: error: .*winload" "$T/stderr" || fail "no boot check finding: $(cat "$T/stderr")"
vshadowinfo "$T/sys.img" | grep -q "Number of stores:.0" || fail "the offline revert did not happen"
ntfsls -f "$T/sys.img" 2>/dev/null | grep -qx Windows && fail "the Windows folder survived the revert"
exit 0
