#!/usr/bin/env bash
# The revert journal's temporary file is created under an unpredictable name
# with O_EXCL|O_NOFOLLOW: symlinks planted at the predictable names (the old
# fixed IMAGE.shadowrev-journal.tmp, and the journal's own name) never make
# root write through them. Oracles: sha256 of the victim file, of the image
# against an uninterrupted revert, the folder's listing.
. "$(dirname "$0")/lib.sh"
need_shared
img=$(vsstest_raw)
J=$T/a.img.shadowrev-journal

cp --sparse=always "$img" "$T/ref.img"
$SR revert 4e3c03c2 "$T/ref.img" --yes --quiet >/dev/null || fail "reference revert"
want=$(sha256sum <"$T/ref.img")

echo "precious" >"$T/victim"
vsum=$(sha256sum <"$T/victim")
cp --sparse=always "$img" "$T/a.img"
ln -s "$T/victim" "$J.tmp"
ln -s "$T/victim" "$J.tmp-0000000000000000"
$SR revert 4e3c03c2 "$T/a.img" --yes --quiet >/dev/null 2>"$T/err" || fail "revert: $(cat "$T/err")"
assert_eq "$(sha256sum <"$T/victim")" "$vsum" "the victim behind the temporary name was written"
assert_eq "$(sha256sum <"$T/a.img")" "$want" "the revert's result"
[ -L "$J.tmp" ] || fail "the planted symlink was replaced"
[ ! -e "$J" ] || fail "journal left behind"
assert_eq "$(cd "$T" && ls -A | grep -c shadowrev-journal)" 2 "files beside the image (the two planted symlinks)"

# a symlink at the journal's own name: refused, never read as a journal or written through
cp --sparse=always "$img" "$T/a.img"
ln -s "$T/victim" "$J"
expect_exit 1 $SR revert 4e3c03c2 "$T/a.img" --yes
assert_contains "$T/stderr" "journal '$J' is a symbolic link"
assert_eq "$(sha256sum <"$T/victim")" "$vsum" "the victim behind the journal's name was written"
cmp -s "$img" "$T/a.img" || fail "the image was written"
exit 0
