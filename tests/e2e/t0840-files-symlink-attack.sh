#!/usr/bin/env bash
# A local user who can write the output folder (a 1777 folder, as /tmp) plants
# symlinks to a root-owned victim, and files of their own, at the names
# shadowrev would write (the old fixed FILE.shadowrev-tmp names, the final
# names, the output folder): export --to, restore instance --to --yes, restore
# files --archive (--overwrite) and --to DIR --overwrite, and init. The
# victim's sha256 never changes, the planted files are never written into, and
# what shadowrev writes is its own file (root's, not world-writable) with the
# right bytes. Oracles: sha256sum, stat, ntfs-3g's
# $Bitmap (alloc_cmp) for the volume, ntfscat against bsdtar for the archive.
# (With fs.protected_symlinks=1 the kernel itself stops root following another
# user's link in a sticky folder; the test holds either way.)
. "$(dirname "$0")/lib.sh"
need_root
need_cmd mkntfs ntfs-3g
need_cmd ntfscp ntfs-3g
need_cmd bsdtar libarchive-tools
need_cmd setpriv util-linux

img=$T/vol.img
truncate -s 16M "$img"
mkntfs -q -F -f -L DATA "$img" >/dev/null 2>&1 || fail "mkntfs"
head -c 300000 /dev/urandom >"$T/doc.bin"
ntfscp -f "$img" "$T/doc.bin" doc.bin >/dev/null 2>&1 || fail "ntfscp"
$SR init --repo "$T/r" --quiet || fail "init"
$SR capture --repo "$T/r" --instance srv C:="$img" --quiet || fail "capture"
$SR sets --repo "$T/r" --json >"$T/sets.json" || fail "sets"
read -r setid volid < <(python3 -c '
import json,sys; s=json.load(open(sys.argv[1]))["sets"][0]; print(s["set_id"], s["volumes"][0]["shadow_id"])' "$T/sets.json") ||
	fail "no set in sets --json"

echo "root's precious file" >"$T/victim"
chmod 0644 "$T/victim"
want=$(sha256sum <"$T/victim")
D=$T/pub
chmod 0711 "$T" # the attacker reaches $D, nothing else
mkdir -m 1777 "$D"
as_user() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
plant_link() { as_user ln -s "$T/victim" "$1" || fail "cannot plant $1"; }
plant_file() { as_user sh -c 'echo mine >"$1" && chmod 0666 "$1"' sh "$1" || fail "cannot plant $1"; }
victim_ok() { [ "$(sha256sum <"$T/victim")" = "$want" ] || fail "$1: the victim was written through a symlink"; }
mine() { # FILE WHAT: a regular file of root's, not writable by others
	[ -f "$1" ] && [ ! -L "$1" ] || fail "$2: '$1' is not a regular file"
	[ "$(stat -c %u "$1")" = 0 ] || fail "$2: '$1' belongs to uid $(stat -c %u "$1"), not root"
	[ $(( 0$(stat -c %a "$1") & 022 )) = 0 ] || fail "$2: '$1' is writable by others ($(stat -c %a "$1"))"
}

# export: links at the old temporary name and at the final name
plant_link "$D/e.img.shadowrev-tmp"
plant_link "$D/e.img"
expect_exit 1 $SR export "$volid" --repo "$T/r" --to "$D/e.img"
assert_contains "$T/stderr" "exists"
victim_ok "export"
[ -L "$D/e.img" ] || fail "export: the link at the final name was removed without --force"
expect_exit 0 $SR export "$volid" --repo "$T/r" --to "$D/e.img" --force
victim_ok "export --force"
mine "$D/e.img" "export --force"
alloc_cmp "$img" "$D/e.img" || fail "export: the volume differs from the image captured"
# a file of the attacker's at the old temporary name is not written into
plant_file "$D/f.img.shadowrev-tmp"
expect_exit 0 $SR export "$volid" --repo "$T/r" --to "$D/f.img"
assert_eq "$(cat "$D/f.img.shadowrev-tmp")" mine "export: the planted file"
mine "$D/f.img" "export"

# restore instance --to DIR: the bare volume goes to DIR/C.img
mkdir -m 1777 "$D/inst"
plant_link "$D/inst/C.img.shadowrev-tmp"
plant_link "$D/inst/C.img"
expect_exit 1 $SR restore instance "$setid" --repo "$T/r" --to "$D/inst" --yes --no-boot-check
victim_ok "restore instance --yes"
rm -f "$D/inst/C.img"
plant_file "$D/inst/C.img.raw"
expect_exit 0 $SR restore instance "$setid" --repo "$T/r" --to "$D/inst" --no-boot-check
victim_ok "restore instance"
mine "$D/inst/C.img" "restore instance"
alloc_cmp "$img" "$D/inst/C.img" || fail "restore instance: the volume differs from the image captured"

# restore files --archive: links at both names, a planted file at the old temporary name
plant_link "$D/a.tar"
expect_exit 1 $SR restore files "$volid" /doc.bin --repo "$T/r" --archive "$D/a.tar"
victim_ok "restore files --archive"
rm -f "$D/a.tar"
plant_file "$D/a.tar.shadowrev-tmp"
expect_exit 0 $SR restore files "$volid" /doc.bin --repo "$T/r" --archive "$D/a.tar"
victim_ok "restore files --archive"
assert_eq "$(cat "$D/a.tar.shadowrev-tmp")" mine "restore files: the planted file"
mine "$D/a.tar" "restore files --archive"
a=$(bsdtar -xOf "$D/a.tar" doc.bin | sha256sum)
b=$(ntfscat -f "$img" doc.bin | sha256sum)
assert_eq "$a" "$b" "restore files: doc.bin in the archive"
plant_link "$D/b.tar.shadowrev-tmp"
plant_link "$D/b.tar"
expect_exit 0 $SR restore files "$volid" /doc.bin --repo "$T/r" --archive "$D/b.tar" --overwrite
victim_ok "restore files --archive --overwrite"
mine "$D/b.tar" "restore files --archive --overwrite"

# restore files --to DIR / restore instance --to DIR: DIR a link to a folder of root's is not followed
mkdir "$T/vdir"
echo "root's config" >"$T/vdir/doc.bin"
as_user ln -s "$T/vdir" "$D/out" || fail "cannot plant $D/out"
ln -s "$T/vdir" "$D/out2" # root's own link: refused as well
for d in "$D/out" "$D/out2"; do
	expect_exit 1 $SR restore files "$volid" /doc.bin --repo "$T/r" --to "$d" --overwrite
	assert_contains "$T/stderr" "symlink"
	expect_exit 1 $SR restore instance "$setid" --repo "$T/r" --to "$d" --no-boot-check
	assert_contains "$T/stderr" "symlink"
done
assert_eq "$(cat "$T/vdir/doc.bin")" "root's config" "restore --to a link: the folder it points to"
assert_eq "$(ls "$T/vdir")" doc.bin "restore --to a link: the folder it points to"

# init: a link where the repository folder would be, and into a folder of someone else's
plant_link "$D/repo"
expect_exit 1 $SR init --repo "$D/repo"
victim_ok "init"
as_user mkdir "$D/theirs" || fail "cannot make a folder as nobody"
expect_exit 1 $SR init --repo "$D/theirs"
assert_contains "$T/stderr" "another user"
[ -z "$(ls -A "$D/theirs")" ] || fail "init wrote into a folder of another user"
[ "$(stat -c %u "$D/theirs")" = 65534 ] || fail "init took over a folder of another user"

# nothing else was left in the folders
left=$(cd "$D" && find . -name '*.tmp*' -o -name '.*tmp*' | grep -v shadowrev-tmp || true)
[ -z "$left" ] || fail "temporary files left: $left"
exit 0
