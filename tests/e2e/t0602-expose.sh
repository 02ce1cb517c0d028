#!/usr/bin/env bash
# expose/unexpose of the real image's shadow copies: by letter and by ID, with
# and without --block; afterwards no mount, loop device or record is left. The
# exposed files and block device equal vshadowmount's view; a letter in use is
# refused; a daemon killed with -9 is reported and cleaned by the next command.
. "$(dirname "$0")/lib.sh"
need_shared
need_root
need_fuse
need_cmd vshadowmount libvshadow-utils
need_cmd ntfscat ntfs-3g
need_cmd python3 python3
img=$(vsstest_raw)
R="$T/drives"
s1=4e3c03c2-7bc6-4288-ad96-c1eac1a55f71
s2=18f1ac6e-959d-436f-bdcc-e797a729e290
mkdir "$T/vs"
cleanup() {
	for l in E F G; do $SR unexpose $l: --root "$R" >/dev/null 2>&1; done
	fusermount3 -u "$T/vs" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
vshadowmount "$img" "$T/vs" >/dev/null || fail "vshadowmount failed"

nothing_left() {
	grep -q "$R" /proc/mounts && fail "$1: a mount is left: $(grep "$R" /proc/mounts)"
	losetup -a | grep -q "$R" && fail "$1: a loop device is left"
	python3 -c 'import json,sys; sys.exit(len(json.load(open(sys.argv[1]))["exposures"]))' \
		"$R/.shadowrev/exposures.json" || fail "$1: an exposure record is left"
	[ -e "$R/E" ] || [ -e "$R/F" ] && fail "$1: a drive folder is left"
	true
}

# by letter, with --block
$SR expose "{${s1^^}}" E: --root "$R" --block "$img" >"$T/out" || fail "expose E: failed"
dev=$(sed -n 's/^block device \(\/dev\/loop[0-9]*\).*/\1/p' "$T/out")
[ -b "$dev" ] || fail "no block device printed: $(cat "$T/out")"
[ "$(blockdev --getro "$dev")" = 1 ] || fail "$dev is not read-only"
cmp "$dev" "$T/vs/vss1" || fail "$dev differs from vshadowmount's vss1"
[ "$(ntfscat "$T/vs/vss1" /syslog | sha256sum)" = "$(sha256sum <"$R/E/syslog")" ] || fail "E:/syslog differs from ntfscat"
grep " $R/E " /proc/mounts | grep -q '[ ,]ro[ ,]' || fail "E: is not mounted read-only"
expect_exit 1 touch "$R/E/new"
grep -q "Read-only" "$T/stderr" || fail "a write to E: did not fail with EROFS"
# a letter in use is refused
expect_exit 1 $SR expose $s2 e: --root "$R" "$img"
grep -q "in use" "$T/stderr" || fail "letter in use: $(cat "$T/stderr")"
$SR unexpose --list --root "$R" | grep -q "^E: .*$s1.*alive" || fail "unexpose --list does not show E:"
$SR unexpose E: --root "$R" || fail "unexpose E: failed"
nothing_left "unexpose E:"

# by ID, without --block
$SR expose 18f1 F: --root "$R" "$img" >/dev/null || fail "expose F: failed"
[ "$(ntfscat "$T/vs/vss2" /another_file | sha256sum)" = "$(sha256sum <"$R/F/another_file")" ] || fail "F:/another_file"
$SR unexpose "$s2" --root "$R" || fail "unexpose by ID failed"
nothing_left "unexpose by ID"

# a killed daemon: reported as dead, cleaned by the next expose (and its loop device detached)
$SR expose $s1 E: --root "$R" --block "$img" >/dev/null || fail "expose E: again"
pid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["exposures"][0]["pid"])' "$R/.shadowrev/exposures.json")
kill -9 "$pid"
for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
$SR unexpose --list --root "$R" | grep -q "^E: .*dead" || fail "a killed daemon is not shown as dead"
$SR expose $s2 F: --root "$R" "$img" 2>"$T/err" >/dev/null || fail "expose after kill -9"
grep -q "lost its daemon" "$T/err" || fail "the dead exposure was not reported"
grep -q " $R/E " /proc/mounts && fail "the dead exposure's mount is left"
losetup -a | grep -q "$R/.shadowrev/mnt/E" && fail "the dead exposure's loop device is left"
# and a killed daemon cleaned by unexpose
pid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["exposures"][0]["pid"])' "$R/.shadowrev/exposures.json")
kill -9 "$pid"
for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
$SR unexpose F: --root "$R" 2>/dev/null || fail "unexpose of a dead exposure"
nothing_left "unexpose after kill -9"
exit 0
