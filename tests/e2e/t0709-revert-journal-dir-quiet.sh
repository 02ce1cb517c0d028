#!/usr/bin/env bash
# The default journal folder of block devices ($SHADOWREV_JOURNAL_DIR here,
# /var/lib/shadowrev/journal by default) is made 0700 when missing, and
# refused when it is a symlink or writable by others. revert --quiet prints
# nothing on stdout: the revert, the finishing of an interrupted one, the dry
# run. Oracles: stat, sha256 against an uninterrupted revert, cmp.
. "$(dirname "$0")/lib.sh"
need_shared
need_root
need_cmd losetup mount
img=$(vsstest_raw)
export SHADOWREV_JOURNAL_DIR=$T/state/journal

cp --sparse=always "$img" "$T/ref.img"
expect_exit 0 $SR revert 4e3c03c2 "$T/ref.img" --yes
assert_contains "$T/stdout" "Written and verified"
want=$(sha256sum <"$T/ref.img")

cp --sparse=always "$img" "$T/a.img"
L=$(losetup -f --show "$T/a.img") || skip "no free loop device"
expect_exit 0 $SR revert 4e3c03c2 "$L" --yes --quiet
losetup -d "$L"
[ ! -s "$T/stdout" ] || fail "--quiet printed: $(cat "$T/stdout")"
assert_eq "$(stat -c %a "$SHADOWREV_JOURNAL_DIR")" 700 "the journal folder's mode"
assert_eq "$(ls -A "$SHADOWREV_JOURNAL_DIR")" "" "left in the journal folder"
assert_eq "$(sha256sum <"$T/a.img")" "$want" "the revert of the loop device"

try_refused() { # WHAT TEXT
	cp --sparse=always "$img" "$T/a.img"
	L=$(losetup -f --show "$T/a.img") || skip "no free loop device"
	expect_exit 1 $SR revert 4e3c03c2 "$L" --yes
	losetup -d "$L"
	assert_contains "$T/stderr" "$2" "$1"
	cmp -s "$img" "$T/a.img" || fail "$1: the volume was written"
}
chmod 0777 "$SHADOWREV_JOURNAL_DIR"
try_refused "writable by others" "refusing the journal folder '$SHADOWREV_JOURNAL_DIR': it is writable by others"
rmdir "$SHADOWREV_JOURNAL_DIR"
mkdir -m 0700 "$T/elsewhere"
ln -s "$T/elsewhere" "$SHADOWREV_JOURNAL_DIR"
try_refused "a symlink" "refusing the journal folder '$SHADOWREV_JOURNAL_DIR': it is a symbolic link"
assert_eq "$(ls -A "$T/elsewhere")" "" "written through the symlinked folder"

# --quiet: a dry run, and the finishing of an interrupted revert
cp --sparse=always "$img" "$T/a.img"
expect_exit 0 $SR revert 4e3c03c2 "$T/a.img" --dry-run --quiet
[ ! -s "$T/stdout" ] || fail "--dry-run --quiet printed: $(cat "$T/stdout")"
SHADOWREV_TEST_WRITE_DELAY_US=100000 $SR revert 4e3c03c2 "$T/a.img" --yes >/dev/null 2>&1 &
pid=$!
for _ in $(seq 200); do [ -e "$T/a.img.shadowrev-journal" ] && break; sleep 0.05; done
sleep 0.3
kill -9 $pid
wait $pid 2>/dev/null
[ -e "$T/a.img.shadowrev-journal" ] || fail "no journal left by the killed revert"
expect_exit 0 $SR revert 4e3c03c2 "$T/a.img" --dry-run --quiet
[ ! -s "$T/stdout" ] || fail "--dry-run --quiet of a pending revert printed: $(cat "$T/stdout")"
expect_exit 0 $SR revert 4e3c03c2 "$T/a.img" --yes --quiet
[ ! -s "$T/stdout" ] || fail "finishing with --quiet printed: $(cat "$T/stdout")"
[ ! -s "$T/stderr" ] || fail "finishing with --quiet reported on stderr: $(cat "$T/stderr")"
assert_eq "$(sha256sum <"$T/a.img")" "$want" "the finished revert"
exit 0
