#!/usr/bin/env bash
# mount --repo of a captured set of the real image: volume.img equals the source
# on every allocated cluster ($Bitmap from ntfscat), every file of files/ has
# the sha256 ntfscat gives on the source, each shadow copy inside the captured
# volume equals vshadowmount's view of the source; a corrupt chunk gives EIO for
# the ranges it covers while the rest stays readable and correct.
. "$(dirname "$0")/lib.sh"
need_shared
need_root
need_fuse
need_cmd vshadowmount libvshadow-utils
need_cmd vshadowinfo libvshadow-utils
need_cmd ntfscat ntfs-3g
need_cmd ntfsls ntfs-3g
need_cmd python3 python3
$SR help capture >/dev/null 2>&1 || skip "no 'shadowrev capture' yet"
img=$(vsstest_raw)
mkdir "$T/mnt" "$T/vs"
cleanup() {
	$SR unmount "$T/mnt" 2>/dev/null
	fusermount3 -u "$T/vs" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
$SR init --repo "$T/r" --quiet || fail "init"
$SR capture --repo "$T/r" --instance vsstest --set-id 11111111-2222-3333-4444-555555555555 \
	C:=$img,shadow=aaaaaaaa-0000-0000-0000-000000000001 --quiet || fail "capture"
vshadowmount "$img" "$T/vs" >/dev/null || fail "vshadowmount failed"
# a relative --repo: the daemon changes to / once it runs, and must still find the chunks
(cd "$T" && $SR mount --repo r "$T/mnt") || fail "mount --repo failed"
set_dir=$(ls "$T/mnt" | grep '_11111111-2222-3333-4444-555555555555$') || fail "no folder for the set: $(ls "$T/mnt")"
V="$T/mnt/$set_dir/C"
[ -f "$V/volume.img" ] || fail "no C/volume.img"
[ "$(readlink "$T/mnt/by-shadow-id/aaaaaaaa-0000-0000-0000-000000000001")" = "../$set_dir/C" ] || fail "by-shadow-id link"

ntfscat "$img" '$Bitmap' >"$T/bitmap" 2>/dev/null || fail "ntfscat \$Bitmap"
cs=$(ntfsinfo -m "$img" 2>/dev/null | sed -n 's/.*Cluster Size: *\([0-9]*\).*/\1/p')
python3 - "$img" "$V/volume.img" "$T/bitmap" "$cs" <<'PY' || fail "volume.img differs from the source on allocated clusters"
import sys
src, got, bm, cs = open(sys.argv[1], "rb"), open(sys.argv[2], "rb"), open(sys.argv[3], "rb").read(), int(sys.argv[4])
size = src.seek(0, 2)
if got.seek(0, 2) != size:
    sys.exit("size differs")
bad = used = 0
for c in range(size // cs):
    if bm[c // 8] >> (c % 8) & 1:
        used += 1
        src.seek(c * cs); got.seek(c * cs)
        bad += src.read(cs) != got.read(cs)
print("allocated clusters: %d, differing: %d" % (used, bad), file=sys.stderr)
sys.exit(1 if bad or not used else 0)
PY
python3 - "$img" "$V/files" <<'PY' || fail "files/ differs from ntfscat on the source"
import hashlib, os, subprocess, sys
image, tree = sys.argv[1], sys.argv[2]
n = 0
for root, dirs, files in os.walk(tree):
    for f in files:
        p = os.path.join(root, f)
        rel = "/" + os.path.relpath(p, tree)
        want = subprocess.run(["ntfscat", image, rel], capture_output=True, check=True).stdout
        if hashlib.sha256(open(p, "rb").read()).digest() != hashlib.sha256(want).digest():
            sys.exit("%s differs" % rel)
        n += 1
if n < 3:
    sys.exit("only %d files" % n)
PY
i=0
for id in $(vshadowinfo "$img" | sed -n 's/^\tShadow copy ID\t*: *//p'); do
	i=$((i + 1))
	cmp "$V/shadows/$id/volume.img" "$T/vs/vss$i" || fail "shadows/$id/volume.img differs from vshadowmount's vss$i"
	[ -f "$T/mnt/by-shadow-id/$id/volume.img" ] || fail "by-shadow-id/$id"
done
[ $i = 2 ] || fail "vshadowinfo listed $i shadow copies"
$SR unmount "$T/mnt" || fail "unmount"

# a corrupt chunk: EIO where it is used, everything else readable and right
chunk=$(find "$T/r/chunks" -type f -size +100k | sort | head -1)
[ -n "$chunk" ] || fail "no chunk file"
corrupt_chunk "$chunk"
$SR mount --repo "$T/r" "$T/mnt" || fail "mount --repo after corruption"
python3 - "$img" "$V/volume.img" "$T/bitmap" "$cs" <<'PY' || fail "corrupt chunk"
import errno, os, sys
src, bm, cs = open(sys.argv[1], "rb"), open(sys.argv[3], "rb").read(), int(sys.argv[4])
fd = os.open(sys.argv[2], os.O_RDONLY)
size = os.fstat(fd).st_size
step, bad, good = 64 << 10, 0, 0
for off in range(0, size, step):
    try:
        data = os.pread(fd, step, off)
    except OSError as e:
        if e.errno != errno.EIO:
            sys.exit("offset %d: %s, not EIO" % (off, e))
        bad += 1
        continue
    good += 1
    src.seek(off)
    want = src.read(step)
    for c in range(step // cs):
        cl = (off // cs) + c
        if bm[cl // 8] >> (cl % 8) & 1 and data[c * cs:(c + 1) * cs] != want[c * cs:(c + 1) * cs]:
            sys.exit("offset %d: wrong bytes next to a corrupt chunk" % (off + c * cs))
print("%d ranges of 64 KiB gave EIO, %d read right" % (bad, good), file=sys.stderr)
if bad == 0 or good < (bad + good) * 0.9:
    sys.exit("expected a few EIO ranges, got %d of %d" % (bad, bad + good))
PY
exit 0
