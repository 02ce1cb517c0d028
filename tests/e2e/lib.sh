# Sourced by every tests/e2e/t*.sh. Exit status of a test: 0 pass, 77 skip
# (with "SKIP: reason" printed), anything else fail. tests/run-tests.sh runs
# each script with BUILD set (build, or build/asan for make asan).
#
#   SR            the shadowrev binary ($BUILD/shadowrev, absolute)
#   BUILD, ROOT   the build directory and the repository root (absolute)
#   T             a fresh temporary directory, removed on exit (after
#                 unmounting what a failed test left mounted under it and
#                 detaching loop devices over its files)
#   SHARED        ${SHADOWREV_SHARED:-ROOT/../shared}, the shared test data
#   skip REASON, fail MESSAGE
#                 end the test; they work from inside $(...) too, e.g.
#                 img=$(vsstest_raw) skips the whole test when the data is absent
#   need_root, need_cmd CMD [DEBIAN-PACKAGE], need_fuse, need_shared [PATH...]
#   vsstest_raw   path of ../shared's vsstest.qcow2 converted to raw once
#                 (cached in $BUILD/cache, sha256 checked when converted)
#   expect_exit CODE CMD...
#                 run CMD, stdout to $T/stdout, stderr to $T/stderr; fail
#                 unless it exits CODE
#   assert_eq GOT WANT [WHAT], assert_contains FILE TEXT [WHAT]
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
SR=$BUILD/shadowrev
SHARED=${SHADOWREV_SHARED:-$(cd "$ROOT/.." && pwd)/shared}
T=$(mktemp -d "${TMPDIR:-/tmp}/srtest.XXXXXX")

cleanup_T() {
	if [ -n "${T:-}" ] && [ -d "$T" ]; then
		awk -v t="$T" 'index($2, t) == 1 { print $2 }' /proc/self/mounts | sort -r | while read -r m; do
			fusermount3 -u "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
		done
		if command -v losetup >/dev/null 2>&1; then
			losetup -n -O NAME,BACK-FILE 2>/dev/null | awk -v t="$T" 'index($2, t) == 1 { print $1 }' |
				while read -r dev; do losetup -d "$dev" 2>/dev/null || true; done
		fi
		rm -rf "$T"
	fi
}
trap cleanup_T EXIT
# skip and fail called in a subshell ($(...)) signal the test's own shell
trap 'exit 77' USR1
trap 'exit 1' USR2
export SHADOWREV_REPO=$T/default-repo

skip() {
	if [ "$BASHPID" != "$$" ]; then
		echo "SKIP: $*" >&2
		kill -USR1 $$
		exit 77
	fi
	echo "SKIP: $*"
	exit 77
}
fail() {
	echo "FAIL: $*" >&2
	if [ "$BASHPID" != "$$" ]; then
		kill -USR2 $$
	fi
	exit 1
}
need_root() { [ "$(id -u)" = 0 ] || skip "needs root"; }
need_cmd() {
	command -v "$1" >/dev/null 2>&1 || skip "needs $1${2:+ (Debian package $2)}"
}
need_fuse() {
	[ -c /dev/fuse ] || skip "needs /dev/fuse"
	{ : <>/dev/fuse; } 2>/dev/null || skip "/dev/fuse cannot be opened here"
	command -v fusermount3 >/dev/null 2>&1 || skip "needs fusermount3 (Debian package fuse3)"
}
# need_shared [PATH...]: PATHs are relative to $SHARED; without one, $SHARED/data must be there
need_shared() {
	local p
	[ $# -gt 0 ] || set -- data
	for p in "$@"; do
		[ -e "$SHARED/$p" ] || skip "needs the shared test data: $SHARED/$p is absent (set SHADOWREV_SHARED)"
	done
}

VSSTEST_SHA256=5cba558cfac0916cae697d2231dc1e17874aa262f2890f5236fb9c90b9610d0a
vsstest_raw() {
	local out=$BUILD/cache/vsstest.raw tmp
	need_shared data/vss/vsstest.qcow2
	if [ ! -f "$out" ]; then
		need_cmd qemu-img qemu-utils
		mkdir -p "$BUILD/cache"
		tmp=$(mktemp "$out.tmp.XXXXXX")
		qemu-img convert -O raw "$SHARED/data/vss/vsstest.qcow2" "$tmp" >&2 ||
			{ rm -f "$tmp"; fail "qemu-img convert $SHARED/data/vss/vsstest.qcow2"; }
		if [ "$(sha256sum <"$tmp" | cut -d' ' -f1)" != "$VSSTEST_SHA256" ]; then
			rm -f "$tmp"
			fail "$SHARED/data/vss/vsstest.qcow2 does not convert to the expected raw image (sha256 $VSSTEST_SHA256)"
		fi
		mv "$tmp" "$out"
	fi
	echo "$out"
}

expect_exit() {
	local want=$1 got
	shift
	"$@" >"$T/stdout" 2>"$T/stderr"
	got=$?
	[ "$got" = "$want" ] || fail "'$*' exited $got, expected $want: $(head -c 2000 "$T/stderr")"
}
assert_eq() {
	[ "$1" = "$2" ] || fail "${3:-values differ}: got '$1', want '$2'"
}
assert_contains() {
	grep -qF -- "$2" "$1" || fail "${3:-text missing}: '$2' not in $1: $(head -c 2000 "$1")"
}

# alloc_cmp SOURCE COPY [FREE [HEAD]]: succeeds when COPY equals the NTFS volume SOURCE on every cluster
# SOURCE's $Bitmap marks in use, on its last 512 bytes (the backup boot sector) and on its first HEAD bytes
# (default 16384: $Boot and the VSS header; 0: none), and, with FREE=1 (the default), holds zeros or
# SOURCE's bytes on every other cluster (FREE=0: not looked at, as in a revert target). Prints the counts.
alloc_cmp() {
	local cs
	ntfscat -f "$1" '$Bitmap' >"$T/bitmap" 2>/dev/null || { echo "ntfscat \$Bitmap of $1 failed" >&2; return 1; }
	cs=$(ntfsinfo -f -m "$1" 2>/dev/null | sed -n 's/.*Cluster Size: *\([0-9]*\).*/\1/p')
	[ -n "$cs" ] || { echo "no cluster size from ntfsinfo of $1" >&2; return 1; }
	python3 - "$1" "$2" "$T/bitmap" "$cs" "${3:-1}" "${4:-16384}" <<'PY'
import sys
src, cp, bm = open(sys.argv[1], "rb"), open(sys.argv[2], "rb"), open(sys.argv[3], "rb").read()
cs, free, head = int(sys.argv[4]), sys.argv[5] == "1", int(sys.argv[6])
size = src.seek(0, 2)
bad = used = 0
for c in range(size // cs):
    inuse = bm[c // 8] >> (c % 8) & 1
    if not inuse and not free:
        continue
    src.seek(c * cs); cp.seek(c * cs)
    a, b = src.read(cs), cp.read(cs)
    if inuse:
        used += 1
        bad += a != b
    elif b != a and b.count(0) != len(b):
        bad += 1
for off, n in ((0, head), (size - 512, 512)):
    src.seek(off); cp.seek(off)
    bad += src.read(n) != cp.read(n)
print("allocated clusters compared: %d, differing: %d" % (used, bad), file=sys.stderr)
sys.exit(1 if bad or not used else 0)
PY
}

# fuse_passthrough: does this kernel have FUSE passthrough (Linux >= 6.9, CONFIG_FUSE_PASSTHROUGH)?
fuse_passthrough() {
	local kmaj kmin
	read -r kmaj kmin _ < <(uname -r | tr '.-' '  ')
	[ "$kmaj" -gt 6 ] || { [ "$kmaj" = 6 ] && [ "$kmin" -ge 9 ]; } || return 1
	! { [ -r /proc/config.gz ] && ! zcat /proc/config.gz | grep -q '^CONFIG_FUSE_PASSTHROUGH=y'; }
}

# mount_pid MOUNTPOINT: the pid of the shadowrev daemon serving it
mount_pid() { getfattr --only-values -n user.shadowrev.pid "$1" 2>/dev/null; }

# stop_daemon PID: SIGSTOP, and wait until every thread has stopped (a thread still running could take a
# request, and the reader would wait for its answer unkillably); kill -CONT PID after
stop_daemon() {
	local i s
	kill -STOP "$1"
	for i in $(seq 200); do
		s=$(cat /proc/"$1"/task/*/stat | awk '{ print $3 }' | sort -u)
		[ "$s" = T ] && return 0
		sleep 0.05
	done
	kill -CONT "$1"
	fail "the daemon did not stop"
}

# corrupt_chunk FILE: flip 64 bytes in the middle of a chunk file
corrupt_chunk() {
	python3 - "$1" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
for i in range(len(b) // 2, len(b) // 2 + 64):
    b[i] ^= 0xff
open(p, "wb").write(b)
PY
}
