#!/usr/bin/env bash
# A target mapped writable (MAP_SHARED, PROT_WRITE) by another process whose
# descriptor is closed is in use: revert in place refuses it (exit 1, naming
# the process by pid and name) and leaves it unchanged (sha256); once the
# process is gone the revert proceeds (oracle: vshadowinfo shows no store
# left, ntfsfix -n, ntfsls lists what vshadowmount's shadow copy 1 lists).
# The same for a block device (a loop device over a copy) mapped and closed.
. "$(dirname "$0")/lib.sh"
need_shared
need_root
need_cmd python3 python3
need_cmd vshadowinfo libvshadow-utils
need_cmd ntfsfix ntfs-3g
img=$(vsstest_raw)
cp --sparse=always "$img" "$T/t.img"
sum=$(sha256sum <"$T/t.img")

# mapper FILE: map FILE shared and writable, close the descriptor, say so on $T/ready, sleep until killed
mapper() {
	rm -f "$T/ready"
	python3 - "$1" "$T/ready" <<'PY' &
import ctypes, mmap, os, sys, time
# libc's mmap: Python's mmap module keeps a duplicate of the descriptor open
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
fd = os.open(sys.argv[1], os.O_RDWR)
addr = libc.mmap(None, 1 << 20, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED, fd, 0)
assert addr not in (None, ctypes.c_void_p(-1).value), os.strerror(ctypes.get_errno())
os.close(fd)
assert not any(os.path.realpath("/proc/self/fd/" + f) == os.path.realpath(sys.argv[1]) for f in os.listdir("/proc/self/fd"))
open(sys.argv[2], "w").close()
time.sleep(120)
PY
	mpid=$!
	for _ in $(seq 100); do [ -e "$T/ready" ] && break; sleep 0.1; done
	[ -e "$T/ready" ] || fail "the mapping process did not start"
}

mapper "$T/t.img"
expect_exit 1 $SR revert 4e3c03c2 "$T/t.img" --yes
grep -q "is mapped writable by process $mpid (python3)" "$T/stderr" || fail "mapped: $(cat "$T/stderr")"
expect_exit 1 $SR revert 4e3c03c2 "$T/t.img" --dry-run
grep -q "is mapped writable by process $mpid (python3)" "$T/stderr" || fail "mapped, dry run: $(cat "$T/stderr")"
kill "$mpid"
wait "$mpid" 2>/dev/null
[ "$(sha256sum <"$T/t.img")" = "$sum" ] || fail "the refused revert changed the target"

$SR revert 4e3c03c2 "$T/t.img" --yes >/dev/null 2>"$T/err" || fail "revert once the process is gone: $(cat "$T/err")"
vshadowinfo "$T/t.img" | grep -q "Number of stores:.0" || fail "the revert did not drop the stores"
ntfsfix -n "$T/t.img" >/dev/null || fail "ntfsfix -n after the revert"
if need_cmd vshadowmount libvshadow-utils 2>/dev/null && [ -e /dev/fuse ]; then
	mkdir "$T/orig"
	vshadowmount "$img" "$T/orig" >/dev/null || fail "vshadowmount"
	ntfsls -R -f "$T/t.img" >"$T/ls.r" 2>/dev/null || fail "ntfsls of the reverted volume"
	ntfsls -R -f "$T/orig/vss1" >"$T/ls.v" 2>/dev/null || fail "ntfsls of vss1"
	fusermount3 -u "$T/orig"
	cmp -s "$T/ls.r" "$T/ls.v" || fail "the reverted volume does not list what shadow copy 1 listed"
fi

# a block device: mapped through its node, the descriptor closed
if command -v losetup >/dev/null && cp --sparse=always "$img" "$T/b.img" && loop=$(losetup -f --show "$T/b.img" 2>/dev/null); then
	mapper "$loop"
	expect_exit 1 $SR revert 4e3c03c2 "$loop" --yes
	kill "$mpid"
	wait "$mpid" 2>/dev/null
	losetup -d "$loop"
	grep -q "is mapped writable by process $mpid (python3)" "$T/stderr" || fail "device mapped: $(cat "$T/stderr")"
	[ "$(sha256sum <"$T/b.img")" = "$sum" ] || fail "the refused revert changed the device"
else
	echo "# no loop devices here: block device case not run"
fi
exit 0
