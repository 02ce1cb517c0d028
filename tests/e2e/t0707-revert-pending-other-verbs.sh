#!/usr/bin/env bash
# A half-reverted image (the journal of an interrupted revert beside it) is
# named as such by the verbs given it: list shadows warns; export, mount,
# restore files and restore instance (onto it) refuse (exit 1); each gives the
# exact command that finishes the revert and the one that discards it, and
# nothing is written. The command given finishes the revert. Oracles: sha256
# of the images, vshadowinfo.
. "$(dirname "$0")/lib.sh"
need_shared
need_cmd vshadowinfo libvshadow-utils
need_cmd mkntfs ntfs-3g
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
sum=$(sha256sum <"$T/a.img")
finish="shadowrev revert 4e3c03c2-7bc6-4288-ad96-c1eac1a55f71 $T/a.img --yes"
discard="shadowrev revert --discard-journal $T/a.img"

hints() { # WHAT
	assert_contains "$T/stderr" "'$T/a.img'" "$1"
	assert_contains "$T/stderr" "is half-reverted (an interrupted revert to {4e3c03c2-7bc6-4288-ad96-c1eac1a55f71} is pending in '$J')" "$1"
	assert_contains "$T/stderr" "hint: finish the revert with: $finish" "$1"
	assert_contains "$T/stderr" "hint: or discard its journal (the volume stays as it is now) with: $discard" "$1"
}

expect_exit 0 $SR list shadows "$T/a.img"
hints "list shadows"
assert_contains "$T/stderr" "warning:" "list shadows"
assert_contains "$T/stdout" "4e3c03c2-7bc6-4288-ad96-c1eac1a55f71" "list shadows"

expect_exit 1 $SR export 4e3c03c2 "$T/a.img" --to "$T/out.img"
hints export
[ ! -e "$T/out.img" ] || fail "export wrote its output"

mkdir "$T/m"
expect_exit 1 $SR mount "$T/a.img" "$T/m"
hints mount
mountpoint -q "$T/m" && fail "mounted"

expect_exit 1 $SR restore files 4e3c03c2 / --to "$T/files" --image "$T/a.img"
hints "restore files"
[ -z "$(ls -A "$T/files" 2>/dev/null)" ] || fail "restore files wrote files"

# restore instance onto a half-reverted image (the journal copied beside a volume of a captured set)
truncate -s 64M "$T/c.img"
mkntfs -q -F -Q "$T/c.img" >/dev/null 2>&1 || fail "mkntfs"
$SR init --repo "$T/r" --quiet || fail "init"
$SR capture --repo "$T/r" --instance small --set-id 11111111-2222-3333-4444-555555555555 C:="$T/c.img" --quiet >/dev/null ||
	fail "capture"
mkdir "$T/out"
cp "$T/c.img" "$T/out/C.img"
cp "$J" "$T/out/C.img.shadowrev-journal"
csum=$(sha256sum <"$T/out/C.img")
expect_exit 1 $SR restore instance 11111111 --repo "$T/r" --to "$T/out" --yes
assert_contains "$T/stderr" "'$T/out/C.img': it is half-reverted (an interrupted revert to {4e3c03c2-7bc6-4288-ad96-c1eac1a55f71}"
assert_contains "$T/stderr" "shadowrev revert --discard-journal $T/out/C.img"
assert_eq "$(sha256sum <"$T/out/C.img")" "$csum" "restore instance wrote over the half-reverted image"

assert_eq "$(sha256sum <"$T/a.img")" "$sum" "the half-reverted image was changed"

# the command given finishes it; then nobody warns
${finish/#shadowrev/$SR} --quiet >/dev/null 2>"$T/err" || fail "the finish command failed: $(cat "$T/err")"
[ ! -e "$J" ] || fail "journal left behind"
vshadowinfo "$T/a.img" | grep -q "Number of stores:.0" || fail "the finished revert did not drop the stores"
expect_exit 0 $SR list shadows "$T/a.img"
grep -q "half-reverted" "$T/stderr" && fail "a warning after the revert finished: $(cat "$T/stderr")"
exit 0
