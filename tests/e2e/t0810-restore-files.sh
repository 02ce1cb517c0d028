#!/usr/bin/env bash
# restore files of a folder tree with alternate data streams, hard links, a
# sparse file, long Unicode names and set timestamps, from a captured set
# (by shadow ID and by SET-ID:C:) and from the live volume of an image, to a
# folder and to tar, pax and zip archives. Oracles: ntfs-3g's ntfsls (names,
# inodes), ntfscat (contents and streams), ntfsinfo (times), bsdtar (archives),
# sha256 and du. The fixture is written through an ntfs-3g FUSE mount; the
# restore itself never uses FUSE.
. "$(dirname "$0")/lib.sh"
E=$(dirname "$0")
need_root
need_fuse
need_cmd ntfs-3g ntfs-3g
need_cmd mkntfs ntfs-3g
need_cmd bsdtar libarchive-tools
need_cmd getfattr attr
need_cmd setfattr attr
need_cmd python3 python3

img=$T/vol.img
truncate -s 96M "$img"
mkntfs -q -F -f "$img" >/dev/null 2>&1 || fail "mkntfs"
mkdir "$T/mnt"
ntfs-3g -o streams_interface=xattr "$img" "$T/mnt" || fail "ntfs-3g mount"
# long, and within Linux's 255-byte name limit (longer NTFS names are refused and reported, see t0830)
long=$(python3 -c '
s = "Ünïcødé-файл-文件-ελληνικά-" * 8
while len(s.encode()) > 240: s = s[:-1]
print(s)')
(
	set -e
	cd "$T/mnt"
	mkdir -p Users/x/Docs "Users/x/$long" Users/y
	head -c 1234567 /dev/urandom >Users/x/Docs/report.bin
	head -c 12000000 /dev/urandom >Users/x/Docs/big.bin   # larger than the in-memory threshold
	seq 1 50000 >"Users/x/$long/$long.txt"
	echo hello >Users/x/Docs/empty-ish.txt
	: >Users/x/Docs/zero.txt
	setfattr -n user.secret -v "the hidden stream" Users/x/Docs/report.bin
	head -c 100000 /dev/urandom >"$T/ads"
	setfattr -n user.Zone.Identifier -v "0sAAAA" Users/x/Docs/empty-ish.txt
	ln Users/x/Docs/report.bin Users/y/report-link.bin
	truncate -s 40M Users/x/sparse.bin
	head -c 65536 /dev/urandom | dd of=Users/x/sparse.bin bs=64k seek=300 conv=notrunc status=none
	head -c 65536 /dev/urandom | dd of=Users/x/sparse.bin bs=64k seek=10 conv=notrunc status=none
	touch -m -d '2019-05-06 07:08:09.123456700 UTC' Users/x/Docs/report.bin
	touch -a -d '2020-01-02 03:04:05.5 UTC' Users/x/Docs/report.bin
	touch -m -d '2001-02-03 04:05:06 UTC' "Users/x/$long/$long.txt"
	touch -m -d '2011-11-11 11:11:11 UTC' Users/x/Docs
) || { fusermount3 -u "$T/mnt"; fail "making the fixture"; }
getfattr -n system.ntfs_attrib_be --only-values "$T/mnt/Users/x/sparse.bin" 2>/dev/null | od -An -tx1 >"$T/attrib" || true
fusermount3 -u "$T/mnt" || umount "$T/mnt" || fail "unmount"


python3 "$E/ntfs-oracle.py" "$img" /Users >"$T/want" || fail "oracle"
grep -q "report-link.bin" "$T/want" || fail "the fixture lacks its hard link"

$SR init --repo "$T/r" --quiet || fail "init"
$SR capture --repo "$T/r" --instance srv C:="$img" --quiet || fail "capture"
$SR sets --repo "$T/r" --json >"$T/sets.json" || fail "sets"
read -r setid volid < <(python3 -c '
import json,sys; s=json.load(open(sys.argv[1]))["sets"][0]; print(s["set_id"], s["volumes"][0]["shadow_id"])' "$T/sets.json") ||
	fail "no set"

# 1. to a folder, by shadow ID, with the NTFS metadata
expect_exit 0 $SR restore files "$volid" /users --to "$T/d1" --repo "$T/r" --ntfs-metadata --json
# atime first: reading the files below updates it
assert_eq "$(stat -c %x "$T/d1/Users/x/Docs/report.bin")" "2020-01-02 03:04:05.500000000 +0000" "atime"
python3 "$E/restored-tree.py" "$T/d1" >"$T/got1"
python3 "$E/tree-cmp.py" "$T/want" "$T/got1" 0 dirs || fail "folder restore differs: $(python3 "$E/tree-cmp.py" "$T/want" "$T/got1" 0 dirs)"
assert_eq "$(getfattr --absolute-names -n user.secret --only-values "$T/d1/Users/x/Docs/report.bin")" \
	"$(ntfscat -f -a 0x80 -n secret "$img" /Users/x/Docs/report.bin)" "stream secret"
[ "$(stat -c %h "$T/d1/Users/x/Docs/report.bin")" = 2 ] || fail "the hard link is not a hard link"
# sub-second times: the oracle is ntfs-3g's own view (system.ntfs_times through FUSE is not needed here:
# touch set these exact values above)
assert_eq "$(stat -c %y "$T/d1/Users/x/Docs/report.bin")" "2019-05-06 07:08:09.123456700 +0000" "mtime"
# holes kept: 40 MiB with 128 KiB of data
blocks=$(stat -c %b "$T/d1/Users/x/sparse.bin")
[ "$blocks" -lt 4096 ] || fail "sparse.bin takes $blocks blocks: holes not kept"
getfattr --absolute-names -n trusted.ntfs_attrib --only-values "$T/d1/Users/x/sparse.bin" | od -An -tx1 | grep -q "^ .. 02" ||
	fail "trusted.ntfs_attrib of sparse.bin lacks FILE_ATTRIBUTE_SPARSE_FILE"
getfattr --absolute-names -n trusted.ntfs_acl --only-values "$T/d1/Users/x/sparse.bin" | head -c 1 | od -An -tx1 | grep -q 01 ||
	fail "no security descriptor in trusted.ntfs_acl"
getfattr --absolute-names -n trusted.ntfs_crtime --only-values "$T/d1/Users/x/sparse.bin" | wc -c | grep -qx 8 || fail "no crtime xattr"

# 2. again: nothing is overwritten, exit 3; with --overwrite, exit 0
expect_exit 3 $SR restore files "$volid" /Users --to "$T/d1" --repo "$T/r"
assert_contains "$T/stderr" "exists"
expect_exit 0 $SR restore files "$volid" /Users --to "$T/d1" --repo "$T/r" --overwrite

# 3. by SET-ID:C:, as tar to stdout, then pax and zip files; bsdtar is the oracle
$SR restore files "$setid:C:" '\USERS' --repo "$T/r" --archive - >"$T/a.tar" 2>"$T/err" || fail "tar: $(cat "$T/err")"
$SR restore files "$setid:c" /Users --repo "$T/r" --archive "$T/a.pax" --format pax || fail "pax"
$SR restore files "$volid" /Users --repo "$T/r" --archive "$T/a.zip" --format zip || fail "zip"
for a in tar pax zip; do
	mkdir "$T/x$a"
	bsdtar -xpf "$T/a.$a" -C "$T/x$a" || fail "bsdtar cannot read the $a archive"
	python3 "$E/restored-tree.py" "$T/x$a" >"$T/got-$a"
	slack=0; [ $a = zip ] && slack=2
	if [ $a = zip ]; then
		python3 "$E/tree-cmp.py" "$T/want" "$T/got-$a" $slack "" nolinks || fail "$a differs: $(python3 "$E/tree-cmp.py" "$T/want" "$T/got-$a" 2 "" nolinks)"
	else
		python3 "$E/tree-cmp.py" "$T/want" "$T/got-$a" $slack || fail "$a differs: $(python3 "$E/tree-cmp.py" "$T/want" "$T/got-$a" 0)"
	fi
done
bsdtar -tvf "$T/a.tar" | grep -q "link to Users/x/Docs/report.bin" || bsdtar -tvf "$T/a.tar" | grep -q "report.bin link to" ||
	fail "the tar has no hard link entry"
# pax: holes are not stored (the archive is far smaller than the 40 MiB sparse file)
[ "$(stat -c %s "$T/a.pax")" -lt $((30 * 1048576)) ] || fail "pax archive stores the holes of sparse.bin"
# with --ntfs-metadata the pax archive carries the streams and ntfs-3g's attribute names
$SR restore files "$volid" /Users/x/Docs --repo "$T/r" --archive "$T/m.pax" --format pax --ntfs-metadata || fail "pax --ntfs-metadata"
grep -a -q "SCHILY.xattr.user.secret=the hidden stream" "$T/m.pax" || fail "no stream in the pax archive"
grep -a -q "SCHILY.xattr.system.ntfs_acl" "$T/m.pax" || fail "no ACL in the pax archive"
grep -a -q "SCHILY.xattr.system.ntfs_attrib" "$T/m.pax" || fail "no DOS attributes in the pax archive"
# the creation time: system.ntfs_crtime (libarchive writes LIBARCHIVE.creationtime only when it is older than mtime)
grep -a -q "SCHILY.xattr.system.ntfs_crtime" "$T/m.pax" || fail "no creation time in the pax archive"

# 4. one file by a Windows path, from the live volume of the image (no repository)
expect_exit 0 $SR restore files live 'Users\X\DOCS\report.BIN' --image "$img" --to "$T/d4"
ntfscat -f "$img" /Users/x/Docs/report.bin | cmp - "$T/d4/report.bin" || fail "single file differs"
# a path that is not there: exit 3 and a message
expect_exit 3 $SR restore files live /nope --image "$img" --to "$T/d5"
assert_contains "$T/stderr" "nope"
exit 0
