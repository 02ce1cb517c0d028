#!/usr/bin/env bash
# Targets in use are refused and left untouched: mounted, loop-attached, open
# in another process, or with an unfinished revert to another shadow copy.
. "$(dirname "$0")/lib.sh"
need_shared
need_root
img=$(vsstest_raw)
cp --sparse=always "$img" "$T/t.img"
sum=$(sha256sum <"$T/t.img")
untouched() { [ "$(sha256sum <"$T/t.img")" = "$sum" ] || fail "$1: the target was changed"; }

if command -v losetup >/dev/null && loop=$(losetup -f --show "$T/t.img" 2>/dev/null); then
	expect_exit 1 $SR revert 4e3c03c2 "$T/t.img" --yes
	losetup -d "$loop"
	grep -q "attached to $loop" "$T/stderr" || fail "loop: $(cat "$T/stderr")"
	untouched loop
else
	echo "# no loop devices here: loop case not run"
fi

if [ -e /dev/fuse ] && command -v ntfs-3g >/dev/null; then
	mkdir "$T/m"
	ntfs-3g -o ro "$T/t.img" "$T/m"
	expect_exit 1 $SR revert 4e3c03c2 "$T/t.img" --yes
	fusermount3 -u "$T/m" || umount "$T/m"
	grep -q "is mounted on $T/m" "$T/stderr" || fail "mounted: $(cat "$T/stderr")"
	untouched mounted
fi

sleep 30 <"$T/t.img" &
holder=$!
sleep 0.2
expect_exit 1 $SR revert 4e3c03c2 "$T/t.img" --yes
kill $holder
grep -q "is open in process $holder (sleep)" "$T/stderr" || fail "open: $(cat "$T/stderr")"
untouched open

# an interrupted revert blocks every other revert of that target until finished
SHADOWREV_TEST_WRITE_DELAY_US=200000 $SR revert 4e3c03c2 "$T/t.img" --yes >/dev/null 2>&1 &
pid=$!
for _ in $(seq 100); do [ -e "$T/t.img.shadowrev-journal" ] && break; sleep 0.1; done
[ -e "$T/t.img.shadowrev-journal" ] || fail "no journal appeared"
kill -9 $pid
wait $pid 2>/dev/null
expect_exit 1 $SR revert 18f1ac6e "$T/t.img" --yes
grep -q "interrupted revert to {4e3c03c2-7bc6-4288-ad96-c1eac1a55f71}" "$T/stderr" || fail "other revert: $(cat "$T/stderr")"
$SR revert 4e3c03c2 "$T/t.img" --yes >/dev/null || fail "finishing the interrupted revert"
[ ! -e "$T/t.img.shadowrev-journal" ] || fail "journal left behind"
vshadowinfo "$T/t.img" | grep -q "Number of stores:.0" || fail "the finished revert did not drop the stores"
exit 0
