#!/usr/bin/env bash
# mount: a volume.img that is an image file byte for byte is read through the
# kernel's FUSE passthrough (Linux >= 6.9, root): once open, it reads with the
# daemon stopped, and gives the image's sha256 (read and mmap). A partition of
# a disk image (other offsets) is served by the daemon (direct I/O; mmap still
# works), as is every volume.img with SHADOWREV_NO_PASSTHROUGH=1 (same bytes).
# Writes stay refused.
. "$(dirname "$0")/lib.sh"
need_root
need_fuse
need_cmd mkntfs ntfs-3g
need_cmd ntfs-3g ntfs-3g
need_cmd sfdisk fdisk
need_cmd timeout coreutils
need_cmd getfattr attr
fuse_passthrough || skip "no FUSE passthrough (Linux >= 6.9 with CONFIG_FUSE_PASSTHROUGH)"

img="$T/vol.img"
disk="$T/disk.img"
mkdir "$T/rw" "$T/mnt"
pid=
cleanup() {
	[ -n "$pid" ] && kill -CONT "$pid" 2>/dev/null
	exec 3<&- 2>/dev/null
	$SR unmount "$T/mnt" 2>/dev/null
	umount "$T/rw" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
truncate -s 64M "$img"
mkntfs -q -F -f -L pt "$img" >/dev/null 2>&1 || fail "mkntfs"
ntfs-3g "$img" "$T/rw" || fail "ntfs-3g rw mount"
head -c 20000000 /dev/urandom >"$T/rw/random.bin"
umount "$T/rw" || fail "umount"
want=$(sha256sum <"$img" | cut -d' ' -f1)
# the same volume as the second partition of a disk image: served by the daemon (offset 3 MiB)
truncate -s 70M "$disk"
printf 'start=2048, size=2048, type=7\nstart=6144, size=131072, type=7\n' | sfdisk -q "$disk" >/dev/null ||
	fail "sfdisk"
dd if="$img" of="$disk" bs=1M seek=3 conv=notrunc status=none || fail "dd into the disk image"

# passthrough: the open file reads without the daemon
$SR mount "$img" "$T/mnt" || fail "mount failed"
pid=$(mount_pid "$T/mnt")
[ -n "$pid" ] || fail "no daemon pid on the mount"
exec 3<"$T/mnt/vol.img/volume.img" || fail "cannot open volume.img"
stop_daemon "$pid"
got=$(timeout 20 sha256sum <&3 | cut -d' ' -f1) || true
kill -CONT "$pid"
exec 3<&-
assert_eq "$got" "$want" "volume.img read with the daemon stopped (passthrough)"
cmp "$T/mnt/vol.img/volume.img" "$img" || fail "volume.img differs from the image"
python3 - "$T/mnt/vol.img/volume.img" "$img" <<'PY' || fail "mmap of volume.img differs from the image"
import mmap, sys
a, b = (open(p, "rb") for p in sys.argv[1:3])
ma = mmap.mmap(a.fileno(), 0, prot=mmap.PROT_READ)
sys.exit(0 if ma[:] == b.read() else 1)
PY
python3 - "$T/mnt/vol.img/volume.img" <<'PY' || fail "volume.img opened for writing"
import errno, os, sys
for flags in (os.O_WRONLY, os.O_RDWR, os.O_WRONLY | os.O_APPEND):
    try:
        os.close(os.open(sys.argv[1], flags))
        sys.exit(1)
    except OSError as e:
        if e.errno != errno.EROFS:
            sys.exit(1)
PY
cmp "$T/mnt/vol.img/volume.img" "$img" || fail "volume.img changed after refused writes"
$SR unmount "$T/mnt" || fail "unmount"
pid=

# a partition (the bytes sit at another offset of the file): through the daemon, same bytes
$SR mount "$disk" "$T/mnt" || fail "mount of the disk image failed"
part=$(ls -d "$T/mnt"/disk.img-p* | tail -1)
[ "$(sha256sum <"$part/volume.img" | cut -d' ' -f1)" = "$want" ] || fail "the partition's volume.img differs"
# direct I/O (an image's volume that is not the whole file): a shared mapping still works
python3 - "$part/volume.img" "$img" <<'PY' || fail "mmap of the partition's volume.img differs"
import mmap, sys
a, b = (open(p, "rb") for p in sys.argv[1:3])
ma = mmap.mmap(a.fileno(), 0, prot=mmap.PROT_READ)
sys.exit(0 if ma[:] == b.read() else 1)
PY
pid=$(mount_pid "$T/mnt")
exec 3<"$part/volume.img"
stop_daemon "$pid"
rc=0
timeout 2 cat <&3 >/dev/null || rc=$?
kill -CONT "$pid"
exec 3<&-
assert_eq "$rc" 124 "a partition's volume.img must be read through the daemon (read with it stopped)"
$SR unmount "$T/mnt" || fail "unmount"
pid=

# turned off: through the daemon, same bytes
SHADOWREV_NO_PASSTHROUGH=1 $SR mount "$img" "$T/mnt" || fail "mount without passthrough failed"
cmp "$T/mnt/vol.img/volume.img" "$img" || fail "volume.img differs without passthrough"
$SR unmount "$T/mnt" || fail "unmount"
exit 0
