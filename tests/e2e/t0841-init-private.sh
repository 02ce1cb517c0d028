#!/usr/bin/env bash
# The repository is private whatever folder it is made in: init --encrypt into
# an existing 0755 folder leaves the folder 0700 and config (wrapped key,
# scrypt salt) 0600; every file a capture and the catalog add is unreadable by
# others; a catalog opened in a 0755 repository folder (made by an older
# shadowrev) makes it 0700. Oracle: stat and find -perm.
. "$(dirname "$0")/lib.sh"
need_cmd mkntfs ntfs-3g

mkdir -m 0755 "$T/r"
echo "correct horse" >"$T/pass"
expect_exit 0 $SR init --repo "$T/r" --encrypt --passphrase-file "$T/pass" --quiet
assert_eq "$(stat -c %a "$T/r")" 700 "mode of the repository folder"
assert_eq "$(stat -c %a "$T/r/config")" 600 "mode of config"

img=$T/vol.img
truncate -s 8M "$img"
mkntfs -q -F -f "$img" >/dev/null 2>&1 || fail "mkntfs"
expect_exit 0 $SR capture --repo "$T/r" --instance srv C:="$img" --passphrase-file "$T/pass" --quiet
expect_exit 0 $SR list sets --repo "$T/r" --passphrase-file "$T/pass"
[ -f "$T/r/catalog.sqlite" ] || fail "no catalog was made"
open=$(find "$T/r" -perm /077 -printf '%m %p\n')
[ -z "$open" ] || fail "files others can read or write in the repository: $open"

# a repository folder left 0755 (an older shadowrev): opening its catalog makes it private
chmod 0755 "$T/r"
expect_exit 0 $SR list sets --repo "$T/r" --passphrase-file "$T/pass"
assert_eq "$(stat -c %a "$T/r")" 700 "mode of the repository folder after list"

# a plain repository too
mkdir -m 0777 "$T/p"
expect_exit 0 $SR init --repo "$T/p" --quiet
assert_eq "$(stat -c %a "$T/p")" 700 "mode of a plain repository folder"
assert_eq "$(stat -c %a "$T/p/config")" 600 "mode of a plain config"
# a folder that is not empty is refused and left as it was
mkdir -m 0755 "$T/q"
touch "$T/q/x"
expect_exit 1 $SR init --repo "$T/q"
assert_eq "$(stat -c %a "$T/q")" 755 "mode of a refused folder"
exit 0
