#!/usr/bin/env bash
# mount of the real image given directly: every shadows/<id>/volume.img is
# byte-identical to vshadowmount's file for it, volume.img to the image, and
# every file under each files/ tree has the names, inode numbers, sizes and
# sha256 that ntfs-3g's ntfsls/ntfscat give (and as many links as ntfsls lists names) on the same bytes (vshadowmount's
# file for a shadow copy, the image for the live volume). Times, link counts
# and ntfs-3g's extended attributes are compared with an ntfs-3g mount.
. "$(dirname "$0")/lib.sh"
need_shared
need_root
need_fuse
need_cmd vshadowmount libvshadow-utils
need_cmd vshadowinfo libvshadow-utils
need_cmd ntfsls ntfs-3g
need_cmd ntfscat ntfs-3g
need_cmd ntfs-3g ntfs-3g
need_cmd getfattr attr
need_cmd python3 python3
img=$(vsstest_raw)

mkdir "$T/vs" "$T/mnt" "$T/n3g"
cleanup() {
	$SR unmount "$T/mnt" 2>/dev/null
	fusermount3 -u "$T/vs" 2>/dev/null
	fusermount3 -u "$T/n3g" 2>/dev/null || umount "$T/n3g" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
vshadowmount "$img" "$T/vs" >/dev/null || fail "vshadowmount failed"
$SR mount "$img" "$T/mnt" || fail "mount failed"
# it returns once the mount serves
[ -f "$T/mnt/vsstest.raw/volume.img" ] || fail "no vsstest.raw/volume.img right after mount returned"
grep -q " $T/mnt fuse.shadowrev " /proc/mounts || fail "not a fuse.shadowrev mount"
grep " $T/mnt " /proc/mounts | grep -q '[ ,]ro[ ,]' || fail "not mounted read-only"

# raw volumes
cmp "$T/mnt/vsstest.raw/volume.img" "$img" || fail "volume.img differs from the image"
ids=$(vshadowinfo "$img" | sed -n 's/^\tShadow copy ID\t*: *//p')
[ "$(echo "$ids" | wc -l)" = 2 ] || fail "vshadowinfo did not list 2 shadow copies: $ids"
i=0
for id in $ids; do
	i=$((i + 1))
	d="$T/mnt/vsstest.raw/shadows/$id"
	[ -d "$d" ] || fail "no shadows/$id"
	cmp "$d/volume.img" "$T/vs/vss$i" || fail "shadows/$id/volume.img differs from vshadowmount's vss$i"
	[ "$(readlink "$T/mnt/by-shadow-id/$id")" = "../vsstest.raw/shadows/$id" ] || fail "by-shadow-id/$id"
	[ -f "$T/mnt/by-shadow-id/$id/volume.img" ] || fail "by-shadow-id/$id does not lead to the shadow copy"
	# named as vshadowmount names them (vssN, oldest first), the ID a link to it
	[ "$(readlink "$d")" = "vss$i" ] || fail "shadows/$id is not a link to vss$i"
	cmp "$T/mnt/vsstest.raw/shadows/vss$i/volume.img" "$T/vs/vss$i" || fail "shadows/vss$i/volume.img differs"
done
[ "$(find "$T/mnt/vsstest.raw/shadows" -mindepth 1 -maxdepth 1 -type d | wc -l)" = 2 ] ||
	fail "shadows/ does not hold exactly 2 shadow copies"

# file trees: names, types, inode numbers, sizes and contents against ntfsls/ntfscat on the same bytes
treecmp() { # IMAGE TREE
	python3 - "$1" "$2" <<'PY'
import hashlib, os, re, subprocess, sys
image, tree = sys.argv[1], sys.argv[2]
out = subprocess.run(["ntfsls", "-R", "-F", "-i", image], capture_output=True, text=True, check=True).stdout
want, cur = {}, None
for line in out.splitlines():
    if not line.strip():
        continue
    if line.startswith("/") and line.endswith(":"):
        cur = line[:-1].rstrip("/")
        continue
    m = re.match(r"^\s*(\d+)\s(.*)$", line)
    assert m, line
    ino, name = int(m.group(1)), m.group(2)
    isdir = name.endswith("/")
    name = name.rstrip("/*@|=")  # classify suffixes
    if name in (".", ".."):
        continue
    want[cur + "/" + name] = (isdir, ino)
got = {}
for root, dirs, files in os.walk(tree):
    for n in dirs + files:
        p = os.path.join(root, n)
        st = os.lstat(p)
        got["/" + os.path.relpath(p, tree)] = (os.path.isdir(p), st.st_ino & ((1 << 40) - 1))
if want != got:
    for k in sorted(set(want) | set(got)):
        if want.get(k) != got.get(k):
            print("  %s: ntfsls %s, mount %s" % (k, want.get(k), got.get(k)), file=sys.stderr)
    sys.exit("the tree differs from ntfsls -R")
links = {}
for p, (isdir, ino) in want.items():
    links[ino] = links.get(ino, 0) + 1
n = 0
for p, (isdir, ino) in sorted(want.items()):
    if isdir:
        continue
    if os.lstat(tree + p).st_nlink != links[ino]:
        sys.exit("%s: nlink %d, ntfsls lists %d names" % (p, os.lstat(tree + p).st_nlink, links[ino]))
    a = subprocess.run(["ntfscat", image, p], capture_output=True, check=True).stdout
    with open(tree + p, "rb") as f:
        b = f.read()
    if hashlib.sha256(a).digest() != hashlib.sha256(b).digest():
        sys.exit("%s: %d bytes, sha256 differs from ntfscat's (%d bytes)" % (p, len(b), len(a)))
    n += 1
print("%s: %d entries, %d files equal to ntfscat" % (tree, len(want), n), file=sys.stderr)
PY
}
treecmp "$img" "$T/mnt/vsstest.raw/files" || fail "live files/ differs from ntfsls/ntfscat"
i=0
for id in $ids; do
	i=$((i + 1))
	treecmp "$T/vs/vss$i" "$T/mnt/vsstest.raw/shadows/$id/files" || fail "shadows/$id/files differs"
done

# times and extended attributes: an ntfs-3g mount of the same image (its link count counts
# DOS 8.3 names, so nlink is checked against ntfsls above instead)
ntfs-3g -o ro "$img" "$T/n3g" || fail "ntfs-3g mount failed"
python3 - "$T/n3g" "$T/mnt/vsstest.raw/files" <<'PY' || fail "stat or xattrs differ from ntfs-3g's"
import os, subprocess, sys
a_root, b_root = sys.argv[1], sys.argv[2]
names = ["system.ntfs_attrib", "system.ntfs_times", "system.ntfs_crtime", "system.ntfs_acl"]
n = 0
for root, dirs, files in os.walk(b_root):
    for name in dirs + files:
        b = os.path.join(root, name)
        a = os.path.join(a_root, os.path.relpath(b, b_root))
        sa, sb = os.lstat(a), os.lstat(b)
        for f in ("st_size", "st_mtime_ns", "st_atime_ns", "st_ctime_ns", "st_mode"):
            va, vb = getattr(sa, f), getattr(sb, f)
            if f == "st_mode":
                va, vb = va & 0o170000, vb & 0o170000
            if va != vb:
                sys.exit("%s: %s %s (ntfs-3g) != %s" % (b, f, va, vb))
        for x in names:
            # getfattr for ntfs-3g: it answers EIO to a too small buffer where Python starts
            va = subprocess.run(["getfattr", "--only-values", "-n", x, a], capture_output=True, check=True).stdout
            if va != os.getxattr(b, x):
                sys.exit("%s: xattr %s differs from ntfs-3g's" % (b, x))
        n += 1
print("%d entries: stat and xattrs equal to ntfs-3g's" % n, file=sys.stderr)
PY

# read-only at every layer
expect_exit 1 touch "$T/mnt/vsstest.raw/files/new"
grep -q "Read-only file system" "$T/stderr" || fail "create did not fail with EROFS"
expect_exit 1 dd if=/dev/zero of="$T/mnt/vsstest.raw/volume.img" bs=512 count=1 conv=notrunc
grep -q "Read-only file system" "$T/stderr" || fail "write to volume.img did not fail with EROFS"
sum=$(sha256sum <"$img")
$SR unmount "$T/mnt" || fail "unmount failed"
grep -q " $T/mnt " /proc/mounts && fail "still mounted after unmount"
[ "$(sha256sum <"$img")" = "$sum" ] || fail "the image changed"
exit 0
