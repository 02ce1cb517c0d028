#!/usr/bin/env bash
# expose/unexpose of the real image's shadow copies: by letter and by ID, with
# and without --block; afterwards no mount, loop device or catalog entry is
# left. The exposed files and block device equal vshadowmount's view; a letter
# in use is refused; a daemon killed with -9 is reported and cleaned by the
# next command, its catalog entry included. The catalog is read with the
# sqlite3 CLI: without a repository the exposures are recorded in the root's
# own catalog, with one in the repository's (and a catalog rebuild keeps
# them); `list exposed` says what the catalog says.
. "$(dirname "$0")/lib.sh"
need_shared
need_root
need_fuse
need_cmd vshadowmount libvshadow-utils
need_cmd ntfscat ntfs-3g
need_cmd python3 python3
need_cmd sqlite3 sqlite3
img=$(vsstest_raw)
R="$T/drives"
s1=4e3c03c2-7bc6-4288-ad96-c1eac1a55f71
s2=18f1ac6e-959d-436f-bdcc-e797a729e290
set1=0a4e3901-6abb-48fc-95c2-6ab9e38e9e71
mkdir "$T/vs"
cleanup() {
	for l in E F G; do $SR unexpose $l: --root "$R" >/dev/null 2>&1; done
	fusermount3 -u "$T/vs" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
vshadowmount "$img" "$T/vs" >/dev/null || fail "vshadowmount failed"

# the catalog's exposures, one line each: letter kind target shadow set loop pid (sorted)
DB="$R/.shadowrev/catalog.sqlite"
rows() {
	[ -f "$1" ] || return 0
	sqlite3 -separator ' ' "$1" "SELECT json_extract(detail, '\$.letter'), kind, target, shadow_id,
		ifnull(set_id, '-'), ifnull(json_extract(detail, '\$.loop'), '-'), pid FROM exposures ORDER BY 1" ||
		fail "sqlite3 cannot read $1"
}
# the same from `shadowrev list exposed --json`
listed() {
	$SR list exposed --root "$R" --json | python3 -c '
import json, sys
for e in sorted(json.load(sys.stdin)["exposures"], key=lambda e: e["letter"]):
    kind = "block" if e["loop"] else "drive"
    print(e["letter"], kind, e["drive"], e["shadow_id"], e["set_id"] or "-", e["loop"] or "-", e["pid"])' ||
		fail "list exposed --json"
}
agree() { # what: list exposed and the catalog (sqlite3) show the same exposures
	[ "$(listed)" = "$(rows "$DB")" ] || fail "$1: list exposed and the catalog differ: $(listed) / $(rows "$DB")"
}
nothing_left() {
	grep -q "$R" /proc/mounts && fail "$1: a mount is left: $(grep "$R" /proc/mounts)"
	losetup -a | grep -q "$R" && fail "$1: a loop device is left"
	[ -z "$(rows "$DB")" ] || fail "$1: a catalog entry is left: $(rows "$DB")"
	[ -z "$(listed)" ] || fail "$1: list exposed still shows: $(listed)"
	[ -e "$R/E" ] || [ -e "$R/F" ] && fail "$1: a drive folder is left"
	true
}

# no repository: the root's own catalog. By letter, with --block
$SR expose "{${s1^^}}" E: --root "$R" --block "$img" >"$T/out" || fail "expose E: failed"
dev=$(sed -n 's/^block device \(\/dev\/loop[0-9]*\).*/\1/p' "$T/out")
[ -b "$dev" ] || fail "no block device printed: $(cat "$T/out")"
[ "$(blockdev --getro "$dev")" = 1 ] || fail "$dev is not read-only"
cmp "$dev" "$T/vs/vss1" || fail "$dev differs from vshadowmount's vss1"
[ "$(ntfscat "$T/vs/vss1" /syslog | sha256sum)" = "$(sha256sum <"$R/E/syslog")" ] || fail "E:/syslog differs from ntfscat"
grep " $R/E " /proc/mounts | grep -q '[ ,]ro[ ,]' || fail "E: is not mounted read-only"
expect_exit 1 touch "$R/E/new"
grep -q "Read-only" "$T/stderr" || fail "a write to E: did not fail with EROFS"
pid=$(mount_pid "$R/.shadowrev/mnt/E") || fail "no daemon pid on E:'s mount"
assert_eq "$(rows "$DB")" "E block $R/E $s1 $set1 $dev $pid" "the catalog entry of E:"
agree "expose E:"
[ -e "$SHADOWREV_REPO" ] && fail "expose created the default repository folder"
# a letter in use is refused
expect_exit 1 $SR expose $s2 e: --root "$R" "$img"
grep -q "in use" "$T/stderr" || fail "letter in use: $(cat "$T/stderr")"
[ "$(rows "$DB" | wc -l)" = 1 ] || fail "a refused expose changed the catalog: $(rows "$DB")"
$SR unexpose --list --root "$R" | grep -q "^E: .*$s1.*alive" || fail "unexpose --list does not show E:"
$SR unexpose E: --root "$R" || fail "unexpose E: failed"
nothing_left "unexpose E:"

# by ID, without --block
$SR expose 18f1 F: --root "$R" "$img" >/dev/null || fail "expose F: failed"
[ "$(ntfscat "$T/vs/vss2" /another_file | sha256sum)" = "$(sha256sum <"$R/F/another_file")" ] || fail "F:/another_file"
rows "$DB" | grep -q "^F drive $R/F $s2 8438a0ee-0f06-443b-ac0c-2905647ca5d6 - [0-9]*$" ||
	fail "the catalog entry of F: $(rows "$DB")"
agree "expose F:"
$SR unexpose "$s2" --root "$R" || fail "unexpose by ID failed"
nothing_left "unexpose by ID"

# a killed daemon: reported as dead, cleaned by the next expose (its loop device and catalog entry too)
$SR expose $s1 E: --root "$R" --block "$img" >/dev/null || fail "expose E: again"
pid=$(sqlite3 "$DB" "SELECT pid FROM exposures WHERE target = '$R/E'") || fail "no pid in the catalog"
kill -9 "$pid"
for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
$SR unexpose --list --root "$R" | grep -q "^E: .*dead" || fail "a killed daemon is not shown as dead"
agree "a dead exposure"
$SR expose $s2 F: --root "$R" "$img" 2>"$T/err" >/dev/null || fail "expose after kill -9"
grep -q "lost its daemon" "$T/err" || fail "the dead exposure was not reported"
grep -q " $R/E " /proc/mounts && fail "the dead exposure's mount is left"
losetup -a | grep -q "$R/.shadowrev/mnt/E" && fail "the dead exposure's loop device is left"
rows "$DB" | grep -q "^E " && fail "the dead exposure's catalog entry is left: $(rows "$DB")"
agree "after cleaning E:"
# and a killed daemon cleaned by unexpose
pid=$(sqlite3 "$DB" "SELECT pid FROM exposures WHERE target = '$R/F'") || fail "no pid for F: in the catalog"
kill -9 "$pid"
for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
$SR unexpose F: --root "$R" 2>/dev/null || fail "unexpose of a dead exposure"
nothing_left "unexpose after kill -9"

# with a repository: its catalog records the exposures (of images too), and a rebuild keeps them
$SR init --quiet || fail "init of the default repository"
REPODB="$SHADOWREV_REPO/catalog.sqlite"
$SR expose $s1 G: --root "$R" --block "$img" >"$T/out" || fail "expose G: with a repository"
dev=$(sed -n 's/^block device \(\/dev\/loop[0-9]*\).*/\1/p' "$T/out")
pid=$(mount_pid "$R/.shadowrev/mnt/G") || fail "no daemon pid on G:'s mount"
assert_eq "$(rows "$REPODB")" "G block $R/G $s1 $set1 $dev $pid" "the repository catalog's entry of G:"
[ -z "$(rows "$DB")" ] || fail "G: was recorded in the root's catalog too: $(rows "$DB")"
[ "$(listed)" = "$(rows "$REPODB")" ] || fail "list exposed and the repository catalog differ"
$SR catalog rebuild --quiet || fail "catalog rebuild"
[ -n "$(rows "$REPODB")" ] || fail "a catalog rebuild dropped the exposure"
kill -9 "$pid"
for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
$SR unexpose $s1 --root "$R" 2>"$T/err" || fail "unexpose by ID of a dead exposure"
grep -q "lost its daemon" "$T/err" || fail "the dead exposure G: was not reported"
[ -z "$(rows "$REPODB")" ] || fail "the repository catalog keeps G:: $(rows "$REPODB")"
nothing_left "unexpose G:"
grep -q " $R/G " /proc/mounts && fail "G:'s mount is left"
exit 0
