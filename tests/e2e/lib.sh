# Sourced by every tests/e2e/t*.sh. Exit status of a test: 0 pass, 77 skip
# (with "SKIP: reason" printed), anything else fail.
#
#   SR            the shadowrev binary ($BUILD/shadowrev, absolute)
#   BUILD, ROOT   the build directory and the repository root (absolute)
#   T             a fresh temporary directory, removed on exit
#   SHARED        ../shared (or $SHADOWREV_SHARED)
#   skip REASON, fail MESSAGE
#   need_root, need_cmd CMD [DEBIAN-PACKAGE], need_fuse, need_shared
#   vsstest_raw   path of ../shared's vsstest.qcow2 converted to raw (cached in $BUILD/cache)
#   expect_exit CODE CMD...   run CMD, stdout to $T/stdout, stderr to $T/stderr; fail unless it exits CODE
#   assert_eq GOT WANT [WHAT], assert_contains FILE TEXT [WHAT]
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
SR=$BUILD/shadowrev
SHARED=${SHADOWREV_SHARED:-$(cd "$ROOT/.." && pwd)/shared}
T=$(mktemp -d "${TMPDIR:-/tmp}/srtest.XXXXXX")
# unmount anything a failed test left under $T before removing it
cleanup_T() {
	if [ -n "${T:-}" ] && [ -d "$T" ]; then
		awk -v t="$T" '$2 ~ "^"t { print $2 }' /proc/self/mounts | sort -r | while read -r m; do
			fusermount3 -u "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
		done
		rm -rf "$T"
	fi
}
trap cleanup_T EXIT
export SHADOWREV_REPO=$T/default-repo

skip() {
	echo "SKIP: $*"
	exit 77
}
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
need_root() { [ "$(id -u)" = 0 ] || skip "needs root"; }
need_cmd() {
	command -v "$1" >/dev/null 2>&1 || skip "needs $1${2:+ (Debian package $2)}"
}
need_fuse() {
	[ -c /dev/fuse ] || skip "needs /dev/fuse"
	command -v fusermount3 >/dev/null 2>&1 || skip "needs fusermount3 (Debian package fuse3)"
	[ "$(id -u)" = 0 ] || skip "FUSE tests run as root"
}
need_shared() {
	[ -f "$SHARED/data/vss/vsstest.qcow2" ] ||
		skip "needs the test data in ../shared ($SHARED/data/vss/vsstest.qcow2 is absent)"
}

VSSTEST_SHA256=5cba558cfac0916cae697d2231dc1e17874aa262f2890f5236fb9c90b9610d0a
vsstest_raw() {
	local out=$BUILD/cache/vsstest.raw
	need_shared
	need_cmd qemu-img qemu-utils
	if [ ! -f "$out" ]; then
		mkdir -p "$BUILD/cache"
		qemu-img convert -O raw "$SHARED/data/vss/vsstest.qcow2" "$out.tmp.$$" || fail "qemu-img convert"
		[ "$(sha256sum <"$out.tmp.$$" | cut -d' ' -f1)" = "$VSSTEST_SHA256" ] ||
			fail "vsstest.raw does not have the expected sha256"
		mv "$out.tmp.$$" "$out"
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
