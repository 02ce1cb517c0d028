#!/usr/bin/env bash
# A revert journal left by kill -9 during the revert of a loop device is not
# replayed onto another disk that shows up under the same name (an unrelated
# NTFS volume of the same size): exit 1, nothing written, the message names
# the device it was made for and how to discard the journal. With the right
# volume back under that name the revert finishes, byte-identical to an
# uninterrupted one. Oracles: sha256 of the backing files.
. "$(dirname "$0")/lib.sh"
need_shared
need_root
need_cmd losetup mount
need_cmd mkntfs ntfs-3g
img=$(vsstest_raw)
J=$T/j

cp --sparse=always "$img" "$T/ref.img"
$SR revert 4e3c03c2 "$T/ref.img" --yes --quiet >/dev/null || fail "reference revert"
want=$(sha256sum <"$T/ref.img")

cp --sparse=always "$img" "$T/a.img"
truncate -s "$(stat -L -c %s "$img")" "$T/b.img"
mkntfs -q -F -Q "$T/b.img" >/dev/null 2>&1 || fail "mkntfs"
bsum=$(sha256sum <"$T/b.img")
mkdir "$J"
L=$(losetup -f --show "$T/a.img") || skip "no free loop device"
SHADOWREV_TEST_WRITE_DELAY_US=100000 $SR revert 4e3c03c2 "$L" --yes --journal "$J" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 200); do [ -e "$J/${L#/dev/}.shadowrev-journal" ] && break; sleep 0.05; done
sleep 0.5
kill -9 $pid
wait $pid 2>/dev/null
[ -e "$J/${L#/dev/}.shadowrev-journal" ] || fail "no journal left by the killed revert"
losetup -d "$L"
cmp -s "$img" "$T/a.img" && fail "the killed revert wrote nothing: the kill came too early"

# the same device name, another disk (retry: another test may take the name for a moment)
attach() {
	local i
	for i in $(seq 20); do losetup "$L" "$1" 2>/dev/null && return 0; sleep 0.2; done
	skip "$L could not be attached again"
}
attach "$T/b.img"
expect_exit 1 $SR revert 4e3c03c2 "$L" --yes --journal "$J"
losetup -d "$L"
assert_contains "$T/stderr" "'$L' is not the volume journal '$J/${L#/dev/}.shadowrev-journal' was made for (block device '$L'"
assert_contains "$T/stderr" "NTFS volume serial"
assert_contains "$T/stderr" "nothing was written"
assert_contains "$T/stderr" "revert --discard-journal $L"
assert_eq "$(sha256sum <"$T/b.img")" "$bsum" "the other disk was written"
[ -e "$J/${L#/dev/}.shadowrev-journal" ] || fail "the journal was removed"

# the disk it was made for, back under its name: finished
attach "$T/a.img"
$SR revert 4e3c03c2 "$L" --yes --quiet --journal "$J" >/dev/null 2>"$T/err"
r=$?
losetup -d "$L"
[ $r = 0 ] || fail "finishing: $(cat "$T/err")"
assert_eq "$(sha256sum <"$T/a.img")" "$want" "the finished revert differs from an uninterrupted one"
[ ! -e "$J/${L#/dev/}.shadowrev-journal" ] || fail "journal left behind"
exit 0
