#!/usr/bin/env bash
# A revert journal left by kill -9 is replayed only onto the image file it was
# made for: an image file put in its place (another NTFS volume of another
# size, or a fresh copy of the same volume: another inode) is refused, exit 1,
# its bytes and size unchanged; the original put back finishes byte-identical
# to an uninterrupted revert. Oracles: sha256 and stat of the files.
. "$(dirname "$0")/lib.sh"
need_shared
need_cmd mkntfs ntfs-3g
img=$(vsstest_raw)
J=$T/a.img.shadowrev-journal

cp --sparse=always "$img" "$T/ref.img"
$SR revert 4e3c03c2 "$T/ref.img" --yes --quiet >/dev/null || fail "reference revert"
want=$(sha256sum <"$T/ref.img")

cp --sparse=always "$img" "$T/a.img"
SHADOWREV_TEST_WRITE_DELAY_US=100000 $SR revert 4e3c03c2 "$T/a.img" --yes >/dev/null 2>&1 &
pid=$!
for _ in $(seq 200); do [ -e "$J" ] && break; sleep 0.05; done
sleep 0.5
kill -9 $pid
wait $pid 2>/dev/null
[ -e "$J" ] || fail "no journal left by the killed revert"
cmp -s "$img" "$T/a.img" && fail "the killed revert wrote nothing: the kill came too early"
mv "$T/a.img" "$T/orig.img"

# another NTFS volume (128 MiB) at the same path
truncate -s 128M "$T/b.img"
mkntfs -q -F -Q "$T/b.img" >/dev/null 2>&1 || fail "mkntfs"
for b in "$T/b.img" fresh; do
	if [ "$b" = fresh ]; then cp --sparse=always "$img" "$T/a.img"; else cp --sparse=always "$b" "$T/a.img"; fi
	sum=$(sha256sum <"$T/a.img")
	size=$(stat -c %s "$T/a.img")
	expect_exit 1 $SR revert 4e3c03c2 "$T/a.img" --yes
	assert_contains "$T/stderr" "is not the volume journal '$J' was made for (image file '$T/a.img' (device"
	assert_contains "$T/stderr" "nothing was written"
	assert_contains "$T/stderr" "revert --discard-journal $T/a.img"
	assert_eq "$(sha256sum <"$T/a.img")" "$sum" "$b: the other image was changed"
	assert_eq "$(stat -c %s "$T/a.img")" "$size" "$b: the other image changed size"
	[ -e "$J" ] || fail "$b: the journal was removed"
	# a dry run says the same
	expect_exit 1 $SR revert 4e3c03c2 "$T/a.img" --dry-run
	assert_contains "$T/stderr" "is not the volume journal"
done

# the original back at its path (same inode): the revert finishes
mv "$T/orig.img" "$T/a.img"
$SR revert 4e3c03c2 "$T/a.img" --yes --quiet >/dev/null 2>"$T/err" || fail "finishing: $(cat "$T/err")"
assert_eq "$(sha256sum <"$T/a.img")" "$want" "the finished revert differs from an uninterrupted one"
[ ! -e "$J" ] || fail "journal left behind"
exit 0
