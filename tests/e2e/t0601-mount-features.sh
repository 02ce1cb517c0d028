#!/usr/bin/env bash
# mount of a generated NTFS volume with what Windows volumes hold: hard links,
# sparse and compressed files, alternate data streams, symlinks and junctions
# inside and outside the volume, Unicode names, a large file. Oracle: an
# ntfs-3g mount of the same image (names, sizes, times, ntfs-3g's xattrs),
# ntfscat (contents, streams as FILE:STREAM), sha256 of bytes. Also: 8
# concurrent readers, EROFS for every kind of write, SIGTERM and `unmount`.
. "$(dirname "$0")/lib.sh"
need_root
need_fuse
need_cmd mkntfs ntfs-3g
need_cmd ntfs-3g ntfs-3g
need_cmd ntfscat ntfs-3g
need_cmd setfattr attr
need_cmd getfattr attr
need_cmd python3 python3

img="$T/vol.img"
mkdir "$T/rw" "$T/n3g" "$T/mnt"
cleanup() {
	$SR unmount "$T/mnt" 2>/dev/null
	umount "$T/rw" 2>/dev/null
	umount "$T/n3g" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
truncate -s 256M "$img"
mkntfs -q -F -f -L feat "$img" >/dev/null 2>&1 || fail "mkntfs"
ntfs-3g -o compression,streams_interface=windows "$img" "$T/rw" || fail "ntfs-3g rw mount"
(
	cd "$T/rw" || exit 1
	mkdir -p dir/sub/deep "unicode ünï €" comp
	head -c 3000000 /dev/urandom >dir/big.bin
	echo hello >dir/hello.txt
	ln dir/hello.txt dir/sub/hardlink.txt
	ln dir/hello.txt hardlink2.txt
	truncate -s 100M sparse.bin
	printf 'middle' | dd of=sparse.bin bs=1 seek=50000000 conv=notrunc 2>/dev/null
	echo "€uro" >"unicode ünï €/ünï.txt"
	echo stream-data >"dir/hello.txt:secret"
	head -c 200000 /dev/urandom >"dir/big.bin:bigstream"
	# compressed: files created in a folder with the compressed attribute
	setfattr -h -v 0x00000810 -n system.ntfs_attrib_be comp
	for i in 1 2 3; do yes "compressible line $i" | head -c 500000 >comp/c$i.txt; done
	setfattr -h -v 0x00000002 -n system.ntfs_attrib_be dir/hello.txt # hidden
	for i in $(seq 1 50); do echo "file $i" >dir/sub/deep/f$i; done
) || fail "populating the fixture"
# reparse points, written raw: a relative symlink inside, an absolute symlink and
# a junction to this volume (C: unknown: inside when the target exists here), one to another volume
python3 - "$T/rw" <<'PY' || fail "creating reparse points"
import os, struct, sys
root = sys.argv[1]
def rp(tag, sub, prn, flags=None):
    s, p = sub.encode("utf-16-le"), prn.encode("utf-16-le")
    hdr = struct.pack("<HHHH", 0, len(s), len(s), len(p))
    if flags is not None:
        hdr += struct.pack("<I", flags)
    data = hdr + s + p
    return struct.pack("<IHH", tag, len(data), 0) + data
def make(path, isdir, blob):
    full = os.path.join(root, path)
    if isdir:
        os.mkdir(full)
    else:
        open(full, "w").close()
    os.setxattr(full, "system.ntfs_reparse_data", blob)
make("link-rel", False, rp(0xA000000C, "dir\\hello.txt", "dir\\hello.txt", 1))
make("dir/sub/link-up", False, rp(0xA000000C, "..\\big.bin", "..\\big.bin", 1))
make("link-abs", False, rp(0xA000000C, "\\??\\C:\\dir\\sub", "C:\\dir\\sub", 0))
make("junction", True, rp(0xA0000003, "\\??\\C:\\dir", "C:\\dir"))
make("junction-out", True, rp(0xA0000003, "\\??\\Z:\\elsewhere\\x", "Z:\\elsewhere\\x"))
make("link-escape", False, rp(0xA000000C, "..\\..\\outside", "..\\..\\outside", 1))
PY
umount "$T/rw" || fail "umount rw"
sum=$(sha256sum <"$img")

$SR mount "$img" "$T/mnt" || fail "mount failed"
F="$T/mnt/vol.img/files"
ntfs-3g -o ro,streams_interface=windows "$img" "$T/n3g" || fail "ntfs-3g ro mount"

# symlinks only where the target is inside the volume, relative so that they work in the mount
assert_eq "$(readlink "$F/link-rel")" "dir/hello.txt" "relative symlink"
assert_eq "$(readlink "$F/dir/sub/link-up")" "../big.bin" "symlink to a parent"
assert_eq "$(readlink "$F/link-abs")" "dir/sub" "absolute symlink"
assert_eq "$(readlink "$F/junction")" "dir" "junction"
[ -L "$F/junction-out" ] && fail "a junction to another volume is shown as a symlink"
[ -d "$F/junction-out" ] || fail "a junction to another volume is not a folder"
[ -L "$F/link-escape" ] && fail "a symlink climbing out of the volume is shown as a symlink"
cmp "$F/link-rel" "$T/n3g/dir/hello.txt" || fail "following the relative symlink"
cmp "$F/junction/big.bin" "$T/n3g/dir/big.bin" || fail "following the junction"

python3 - "$T/n3g" "$F" "$img" <<'PY' || fail "the tree differs from ntfs-3g's"
import hashlib, os, stat, subprocess, sys
a_root, b_root, image = sys.argv[1:4]
skip_links = {"link-rel", "dir/sub/link-up", "link-abs", "junction", "junction-out", "link-escape"}
names = ["system.ntfs_attrib", "system.ntfs_times", "system.ntfs_crtime", "system.ntfs_acl"]
def walk(root):
    out = {}
    for r, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(r, n)
            out[os.path.relpath(p, root)] = p
    return out
A, B = walk(a_root), walk(b_root)
# ntfs-3g follows nothing into reparse points: compare everything else
A = {k: v for k, v in A.items() if k.split("/")[0] not in ("junction", "junction-out")}
B = {k: v for k, v in B.items() if k.split("/")[0] not in ("junction", "junction-out")}
if set(A) != set(B):
    sys.exit("names differ: only ntfs-3g %s, only ours %s" % (sorted(set(A) - set(B)), sorted(set(B) - set(A))))
inos = {}
for rel in sorted(B):
    a, b = A[rel], B[rel]
    sa, sb = os.lstat(a), os.lstat(b)
    if rel in skip_links:
        continue
    for f in ("st_size", "st_mtime_ns", "st_atime_ns", "st_ctime_ns"):
        if getattr(sa, f) != getattr(sb, f):
            sys.exit("%s: %s %s (ntfs-3g) != %s" % (rel, f, getattr(sa, f), getattr(sb, f)))
    if stat.S_IFMT(sa.st_mode) != stat.S_IFMT(sb.st_mode):
        sys.exit("%s: type differs" % rel)
    if sb.st_ino & ((1 << 40) - 1) != sa.st_ino:
        sys.exit("%s: inode %d, ntfs-3g %d" % (rel, sb.st_ino, sa.st_ino))
    inos.setdefault(sb.st_ino, []).append(rel)
    for x in names:
        va = subprocess.run(["getfattr", "--only-values", "-n", x, a], capture_output=True, check=True).stdout
        if va != os.getxattr(b, x):
            sys.exit("%s: %s differs from ntfs-3g's" % (rel, x))
    if stat.S_ISREG(sb.st_mode):
        with open(b, "rb") as f:
            got = hashlib.sha256(f.read()).hexdigest()
        want = hashlib.sha256(subprocess.run(["ntfscat", "-f", image, "/" + rel], capture_output=True, check=True).stdout).hexdigest()
        if got != want:
            sys.exit("%s: sha256 differs from ntfscat's" % rel)
# hard links: one inode, three names, nlink 3
h = os.lstat(os.path.join(b_root, "dir/hello.txt"))
if h.st_nlink != 3 or sorted(inos[h.st_ino]) != ["dir/hello.txt", "dir/sub/hardlink.txt", "hardlink2.txt"]:
    sys.exit("hard links: nlink %d, names %s" % (h.st_nlink, inos.get(h.st_ino)))
# sparse: 100 MB with little allocated, the byte in the middle where it belongs
s = os.lstat(os.path.join(b_root, "sparse.bin"))
if s.st_size != 100 << 20 or s.st_blocks * 512 > 1 << 20:
    sys.exit("sparse.bin: size %d, %d bytes allocated" % (s.st_size, s.st_blocks * 512))
with open(os.path.join(b_root, "sparse.bin"), "rb") as f:
    f.seek(50000000)
    if f.read(6) != b"middle":
        sys.exit("sparse.bin: wrong bytes in the middle")
# compressed: flagged so, fewer bytes allocated than its size
attr = int.from_bytes(os.getxattr(os.path.join(b_root, "comp/c1.txt"), "system.ntfs_attrib"), "little")
c = os.lstat(os.path.join(b_root, "comp/c1.txt"))
if not attr & 0x800 or c.st_blocks * 512 >= c.st_size:
    sys.exit("comp/c1.txt: attributes %#x, %d of %d bytes allocated" % (attr, c.st_blocks * 512, c.st_size))
if not int.from_bytes(os.getxattr(os.path.join(b_root, "dir/hello.txt"), "system.ntfs_attrib"), "little") & 2:
    sys.exit("dir/hello.txt: not hidden")
# streams: as FILE:STREAM (against ntfscat -a... no: ntfs-3g's windows interface) and as user.STREAM
for rel, st in (("dir/hello.txt", "secret"), ("dir/big.bin", "bigstream")):
    want = open(os.path.join(a_root, rel) + ":" + st, "rb").read()
    got = open(os.path.join(b_root, rel) + ":" + st, "rb").read()
    if want != got:
        sys.exit("%s:%s differs from ntfs-3g's" % (rel, st))
if os.getxattr(os.path.join(b_root, "dir/hello.txt"), "user.secret") != b"stream-data\n":
    sys.exit("user.secret")
if "user.secret" not in os.listxattr(os.path.join(b_root, "dir/hello.txt")):
    sys.exit("user.secret not listed")
print("%d entries equal to ntfs-3g's and ntfscat's" % len(B), file=sys.stderr)
PY

# 8 concurrent readers of different files and ranges
python3 - "$F" "$T/n3g" <<'PY' || fail "concurrent reads"
import os, random, sys, threading
b_root, a_root = sys.argv[1], sys.argv[2]
files = ["dir/big.bin", "sparse.bin", "comp/c1.txt", "comp/c2.txt", "comp/c3.txt", "dir/big.bin:bigstream",
         "unicode ünï €/ünï.txt", "dir/sub/deep/f7"]
errors = []
def reader(i):
    rnd = random.Random(i)
    rel = files[i]
    want = open(os.path.join(a_root, rel), "rb").read()
    with open(os.path.join(b_root, rel), "rb", buffering=0) as f:
        for _ in range(200):
            off = rnd.randrange(0, max(1, len(want)))
            n = rnd.randrange(1, 300000)
            f.seek(off)
            if f.read(n) != want[off:off + n]:
                errors.append("%s at %d+%d" % (rel, off, n))
                return
ts = [threading.Thread(target=reader, args=(i,)) for i in range(8)]
[t.start() for t in ts]
[t.join() for t in ts]
if errors:
    sys.exit("wrong bytes: %s" % errors)
PY

# every kind of write: EROFS
for cmd in "touch $F/new" "mkdir $F/newdir" "rm -f $F/dir/hello.txt" "mv $F/dir/hello.txt $F/dir/x" \
	"truncate -s 0 $F/dir/big.bin" "ln $F/dir/big.bin $F/dir/l" "ln -s x $F/dir/s" \
	"setfattr -n user.x -v 1 $F/dir/big.bin" "chmod 600 $F/dir/big.bin" \
	"truncate -s 0 $T/mnt/vol.img/volume.img"; do
	expect_exit 1 $cmd
	grep -q "Read-only file system" "$T/stderr" || fail "'$cmd' did not fail with EROFS: $(cat "$T/stderr")"
done
python3 - "$F/dir/big.bin" "$T/mnt/vol.img/volume.img" <<'PY' || fail "open for writing did not fail with EROFS"
import errno, os, sys
for p in sys.argv[1:]:
    for fl in (os.O_WRONLY, os.O_RDWR, os.O_RDONLY | os.O_TRUNC):
        try:
            os.close(os.open(p, fl))
            sys.exit("%s opened with flags %#x" % (p, fl))
        except OSError as e:
            if e.errno != errno.EROFS:
                sys.exit("%s: %s" % (p, e))
PY

# unmount by verb, then a foreground mount stopped by SIGTERM
$SR unmount "$T/mnt" || fail "unmount"
grep -q " $T/mnt " /proc/mounts && fail "still mounted after unmount"
$SR mount "$img" "$T/mnt" --foreground &
pid=$!
for i in $(seq 50); do [ -f "$T/mnt/vol.img/volume.img" ] && break; sleep 0.1; done
[ -f "$T/mnt/vol.img/volume.img" ] || fail "foreground mount did not come up"
kill -TERM $pid
wait $pid || fail "the foreground mount exited $? on SIGTERM"
grep -q " $T/mnt " /proc/mounts && fail "still mounted after SIGTERM"
[ "$(sha256sum <"$img")" = "$sum" ] || fail "the image changed"
exit 0
