#!/usr/bin/env bash
# mount --repo DIR NAME and expose of an encrypted repository, the passphrase
# typed at the prompt (a terminal made by script(1)): the daemon opens the
# repository again after fork() and setsid(), with no terminal, and must use
# what was typed. Oracle: the exported shadow copy (--passphrase-file) against
# the mount's volume.img, byte for byte.
. "$(dirname "$0")/lib.sh"
need_root
need_fuse
need_cmd script bsdutils
"$BUILD/tests/tools/mkvss" --out "$T/g" --size 64M --stores 2 --seed 3 --quiet >/dev/null || fail "mkvss"
printf 'typed secret\n' >"$T/pf"
$SR init --repo "$T/r" --encrypt --passphrase-file "$T/pf" --quiet || fail "init"
$SR capture --repo "$T/r" --passphrase-file "$T/pf" --instance srv C:="$T/g/volume.img" --quiet || fail "capture"
$SR export srv:C:vss1 --repo "$T/r" --passphrase-file "$T/pf" --to "$T/want.img" || fail "export"
mkdir "$T/mp"
(sleep 2; printf 'typed secret\n') | script -qec "$SR mount --repo $T/r srv:C:vss1 $T/mp" /dev/null >"$T/out" 2>&1 ||
	fail "mount with a typed passphrase: $(cat "$T/out")"
cmp "$T/mp/volume.img" "$T/want.img" || fail "the mount's volume.img differs from the export"
$SR unmount "$T/mp" || fail "unmount"
exit 0
