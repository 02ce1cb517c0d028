#!/usr/bin/env bash
# revert --discard-journal: the journal of an interrupted revert is removed and
# nothing is written to the volume; a journal of the old format (version 1,
# which did not record its target's identity) is refused, never replayed, and
# can be discarded too. Oracles: sha256 of the image, the journal file.
. "$(dirname "$0")/lib.sh"
need_shared
img=$(vsstest_raw)
J=$T/a.img.shadowrev-journal

cp --sparse=always "$img" "$T/a.img"
SHADOWREV_TEST_WRITE_DELAY_US=100000 $SR revert 4e3c03c2 "$T/a.img" --yes >/dev/null 2>&1 &
pid=$!
for _ in $(seq 200); do [ -e "$J" ] && break; sleep 0.05; done
sleep 0.4
kill -9 $pid
wait $pid 2>/dev/null
[ -e "$J" ] || fail "no journal left by the killed revert"
cp "$J" "$T/journal.copy"
sum=$(sha256sum <"$T/a.img")

# usage: no shadow ID, no other forms
expect_exit 2 $SR revert --discard-journal
expect_exit 2 $SR revert --discard-journal --set 0a4e3901 "$T/a.img"

expect_exit 0 $SR revert --discard-journal "$T/a.img"
assert_contains "$T/stdout" "Discarded the journal '$J' of the interrupted revert of '$T/a.img' to {4e3c03c2-7bc6-4288-ad96-c1eac1a55f71}"
[ ! -e "$J" ] || fail "the journal is still there"
assert_eq "$(sha256sum <"$T/a.img")" "$sum" "discarding wrote to the volume"
expect_exit 1 $SR revert --discard-journal "$T/a.img"
assert_contains "$T/stderr" "no revert journal of '$T/a.img' to discard"

# a version 1 journal: its version field (bytes 8..11) says 1
cp "$T/journal.copy" "$J"
printf '\001\000\000\000' | dd of="$J" bs=1 seek=8 conv=notrunc status=none
expect_exit 1 $SR revert 4e3c03c2 "$T/a.img" --yes
assert_contains "$T/stderr" "written by an older shadowrev (version 1)"
assert_contains "$T/stderr" "revert --discard-journal $T/a.img"
assert_eq "$(sha256sum <"$T/a.img")" "$sum" "a version 1 journal was replayed"
expect_exit 0 $SR revert --discard-journal "$T/a.img" --quiet
[ ! -s "$T/stdout" ] || fail "--quiet printed: $(cat "$T/stdout")"
[ ! -e "$J" ] || fail "the version 1 journal is still there"
assert_eq "$(sha256sum <"$T/a.img")" "$sum" "discarding wrote to the volume"
exit 0
