#!/usr/bin/env bash
# mount --repo keeps the chunks it decodes (a memfd per volume, --cache-size): a
# volume.img read once equals the source on every allocated cluster; opened again
# it reads with the daemon stopped (kernel passthrough to the kept copy, Linux >=
# 6.9) and gives the same bytes, by read and by mmap; before it was whole it could
# not. A volume that does not fit (--cache-size 2M) or with keeping off (0) gives
# the same bytes; so do 8 concurrent readers while it is being kept. `expose
# --block` of the captured volume keeps it too (loop device, files, passthrough
# once read whole). A corrupt chunk gives EIO on every read of its range, the rest
# is right, and the volume is never handed to the kernel with a hole in its place.
. "$(dirname "$0")/lib.sh"
need_root
need_fuse
need_cmd mkntfs ntfs-3g
need_cmd ntfs-3g ntfs-3g
need_cmd ntfscat ntfs-3g
need_cmd timeout coreutils
need_cmd getfattr attr
need_cmd python3 python3
pt=1
fuse_passthrough || pt=0
[ $pt = 1 ] || echo "note: no FUSE passthrough on this kernel: its checks are left out" >&2

img="$T/vol.img"
mkdir "$T/rw" "$T/mnt"
pid=
cleanup() {
	[ -n "$pid" ] && kill -CONT "$pid" 2>/dev/null
	exec 3<&- 2>/dev/null
	$SR unmount "$T/mnt" 2>/dev/null
	$SR unexpose K: --root "$T/drives" >/dev/null 2>&1
	umount "$T/rw" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
truncate -s 96M "$img"
mkntfs -q -F -f -L keep "$img" >/dev/null 2>&1 || fail "mkntfs"
ntfs-3g "$img" "$T/rw" || fail "ntfs-3g rw mount"
head -c 24000000 /dev/urandom >"$T/rw/random.bin"
seq 1 3000000 >"$T/rw/numbers.txt"
# the same numbers 777 bytes further on: composite chunks whose references are compressed chunks, read from
# the kept copy once those are kept
{ head -c 777 /dev/zero | tr '\0' x; seq 1 3000000; } >"$T/rw/shifted.txt"
umount "$T/rw" || fail "umount"
$SR init --repo "$T/r" --quiet || fail "init"
shadow=aaaaaaaa-0000-0000-0000-00000000000c
$SR capture --repo "$T/r" --instance keep C:="$img",shadow=$shadow --json >"$T/cap.json" || fail "capture"
comps=$(sed -n 's/.*"composite_chunks": *\([0-9]*\).*/\1/p' "$T/cap.json" | tail -1)
[ "${comps:-0}" -gt 0 ] || fail "the shifted copy gave no composite chunks: $(cat "$T/cap.json")"

# read_stopped FILE: what reading FILE gives with the daemon stopped ("timeout" if it waits for the daemon)
read_stopped() {
	local got
	# what the kernel keeps of FUSE files goes (a memfd stays): only passthrough can read it now
	sync
	echo 1 >/proc/sys/vm/drop_caches
	exec 3<"$1" || fail "cannot open $1"
	stop_daemon "$pid"
	got=$(timeout 3 sha256sum <&3) && got=${got%% *} || got=timeout
	kill -CONT "$pid"
	exec 3<&-
	echo "$got"
}
vol() { echo "$T/mnt/$(ls "$T/mnt" | grep -v by-shadow-id | head -1)/C/volume.img"; }

# kept: whole after one read, then handed to the kernel
$SR mount --repo "$T/r" --json "$T/mnt" >"$T/mount.json" || fail "mount --repo"
pid=$(mount_pid "$T/mnt")
[ -n "$pid" ] || fail "no daemon pid on the mount"
python3 - "$T/mount.json" "$T/mnt" "$pid" <<'PY' || fail "mount --json: $(cat "$T/mount.json")"
import json, os, sys
j = json.load(open(sys.argv[1]))
sys.exit(0 if j["mountpoint"] == os.path.realpath(sys.argv[2]) and j["pid"] == int(sys.argv[3]) and
         j["source"] == "repository" and j["cache_size"] > 0 else 1)
PY
V=$(vol)
[ -f "$V" ] || fail "no volume.img"
if [ $pt = 1 ]; then
	assert_eq "$(read_stopped "$V")" timeout "volume.img read with the daemon stopped before it was read whole"
fi
alloc_cmp "$img" "$V" || fail "volume.img differs from the source (first read)"
cp "$V" "$T/clean.img"
want=$(sha256sum <"$T/clean.img" | cut -d' ' -f1)
if [ $pt = 1 ]; then
	assert_eq "$(read_stopped "$V")" "$want" "volume.img read whole once, then read with the daemon stopped"
fi
assert_eq "$(sha256sum <"$V" | cut -d' ' -f1)" "$want" "volume.img read again"
python3 - "$V" "$want" <<'PY' || fail "mmap of the kept volume.img differs"
import hashlib, mmap, sys
f = open(sys.argv[1], "rb")
m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
sys.exit(0 if hashlib.sha256(m[:]).hexdigest() == sys.argv[2] else 1)
PY
python3 - "$V" <<'PY' || fail "the kept volume.img opened for writing"
import errno, os, sys
for flags in (os.O_WRONLY, os.O_RDWR):
    try:
        os.close(os.open(sys.argv[1], flags))
        sys.exit(1)
    except OSError as e:
        if e.errno != errno.EROFS:
            sys.exit(1)
PY
[ "$(ntfscat -f "$T/clean.img" /numbers.txt | sha256sum)" = "$(seq 1 3000000 | sha256sum)" ] ||
	fail "numbers.txt differs in the kept volume"
[ "$(ntfscat -f "$T/clean.img" /shifted.txt | sha256sum)" = "$(ntfscat -f "$img" /shifted.txt | sha256sum)" ] ||
	fail "shifted.txt (composite chunks) differs in the kept volume"
$SR unmount "$T/mnt" || fail "unmount"
pid=

# too little room, or keeping off: the same bytes through the slots and the page cache
for size in 2M 0; do
	$SR mount --repo "$T/r" --cache-size $size "$T/mnt" || fail "mount --repo --cache-size $size"
	V=$(vol)
	assert_eq "$(sha256sum <"$V" | cut -d' ' -f1)" "$want" "volume.img with --cache-size $size"
	assert_eq "$(sha256sum <"$V" | cut -d' ' -f1)" "$want" "volume.img read again with --cache-size $size"
	$SR unmount "$T/mnt" || fail "unmount"
done

# 8 concurrent readers on a fresh mount while the chunks are being kept: 4 sequential from different
# places (decoding ahead, taken over by readers), 4 at random places and lengths; then whole, it passes through
$SR mount --repo "$T/r" "$T/mnt" || fail "mount --repo (concurrent readers)"
pid=$(mount_pid "$T/mnt")
V=$(vol)
python3 - "$V" "$T/clean.img" <<'PY' || fail "concurrent reads of a repository volume.img"
import os, random, sys, threading
path, clean = sys.argv[1], open(sys.argv[2], "rb").read()
size, errors = len(clean), []
def seq(k):
    fd = os.open(path, os.O_RDONLY)
    off, n = k * size // 4, (64 << 10) << k % 3
    while off < size:
        if os.pread(fd, n, off) != clean[off:off + n]:
            errors.append("sequential reader %d at %d" % (k, off))
            return
        off += n
    os.close(fd)
def rnd(k):
    fd, r = os.open(path, os.O_RDONLY), random.Random(k)
    for _ in range(300):
        off, n = r.randrange(size), r.choice((1, 511, 4096, 70000, 1 << 20, 3 << 20))
        if os.pread(fd, n, off) != clean[off:off + n]:
            errors.append("random reader %d at %d+%d" % (k, off, n))
            return
    os.close(fd)
ts = [threading.Thread(target=seq, args=(i,)) for i in range(4)] + \
     [threading.Thread(target=rnd, args=(i,)) for i in range(4)]
for t in ts: t.start()
for t in ts: t.join()
sys.exit("; ".join(errors) if errors else 0)
PY
assert_eq "$(sha256sum <"$V" | cut -d' ' -f1)" "$want" "volume.img after the concurrent readers"
if [ $pt = 1 ]; then
	assert_eq "$(read_stopped "$V")" "$want" "volume.img read with the daemon stopped after the concurrent readers"
fi
$SR unmount "$T/mnt" || fail "unmount"
pid=

# expose of the captured volume: decoded once as well; its loop device gives the same bytes, and once read
# whole its volume.img is handed to the kernel
R="$T/drives"
$SR expose $shadow K: --repo "$T/r" --root "$R" --block >"$T/out" || fail "expose of the captured volume"
dev=$(sed -n 's/^block device \(\/dev\/loop[0-9]*\).*/\1/p' "$T/out")
[ -b "$dev" ] || fail "no block device printed: $(cat "$T/out")"
assert_eq "$(sha256sum <"$dev" | cut -d' ' -f1)" "$want" "the loop device of the exposed captured volume"
[ "$(sha256sum <"$R/K/numbers.txt")" = "$(seq 1 3000000 | sha256sum)" ] || fail "K:/numbers.txt differs"
pid=$(mount_pid "$R/.shadowrev/mnt/K") || fail "no daemon pid on K:'s mount"
if [ $pt = 1 ]; then
	assert_eq "$(read_stopped "$R/.shadowrev/mnt/K/volume.img")" "$want" \
		"the exposed volume.img, read whole once, then read with the daemon stopped"
fi
$SR unexpose K: --root "$R" || fail "unexpose K:"
pid=
grep -q " $R/" /proc/mounts && fail "a mount of K: is left"
losetup -a | grep -q "$R/" && fail "K:'s loop device is left"

# a corrupt chunk: EIO on every read of its range, never a hole of zeros handed to the kernel
chunk=$(find "$T/r/chunks" -type f -size +100k | sort | head -1)
[ -n "$chunk" ] || fail "no chunk file"
corrupt_chunk "$chunk"
# kept (default) and through the slots (--cache-size 0, decoded ahead in pairs): the same ranges fail
for cache in "" 0; do
	$SR mount --repo "$T/r" ${cache:+--cache-size $cache} "$T/mnt" || fail "mount --repo after corruption"
	pid=$(mount_pid "$T/mnt")
	V=$(vol)
	python3 - "$V" "$T/clean.img" "$T/eio${cache:-keep}" <<'PY' || fail "corrupt chunk (--cache-size ${cache:-default})"
import errno, os, sys
fd, clean = os.open(sys.argv[1], os.O_RDONLY), open(sys.argv[2], "rb")
size = os.fstat(fd).st_size
step = 64 << 10
bad = []
for rnd in range(2):
    got = []
    for off in range(0, size, step):
        try:
            data = os.pread(fd, step, off)
        except OSError as e:
            if e.errno != errno.EIO:
                sys.exit("offset %d: %s, not EIO" % (off, e))
            got.append(off)
            continue
        clean.seek(off)
        if data != clean.read(step):
            sys.exit("offset %d: wrong bytes next to a corrupt chunk (round %d)" % (off, rnd))
    if not got or len(got) > size // step // 4:
        sys.exit("round %d: %d ranges of 64 KiB gave EIO" % (rnd, len(got)))
    if rnd and got != bad:
        sys.exit("the ranges that give EIO changed on the second read")
    bad = got
open(sys.argv[3], "w").write(" ".join(map(str, bad)))
print("%d ranges of 64 KiB gave EIO on both reads" % len(bad), file=sys.stderr)
PY
	if [ $pt = 1 ] && [ -z "$cache" ]; then
		assert_eq "$(read_stopped "$V")" timeout "a volume with a corrupt chunk read with the daemon stopped"
	fi
	$SR unmount "$T/mnt" || fail "unmount"
	pid=
done
assert_eq "$(cat "$T/eio0")" "$(cat "$T/eiokeep")" "the ranges that fail, kept and not kept"
exit 0
