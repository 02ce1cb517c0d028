#!/usr/bin/env bash
# The passphrase does not leak: a mount daemon started with
# $SHADOWREV_PASSPHRASE has no trace of it in /proc/PID/environ (the kernel's
# copy of its first environment, which unsetenv alone does not clear); a
# qemu-img child (restore instance --format qcow2) gets no SHADOWREV_PASSPHRASE;
# "--passphrase SECRET" (an abbreviation of --passphrase-file that getopt_long
# would take) is a usage error (exit 2) for every verb, and SECRET is printed
# nowhere. Oracles: /proc/PID/environ, the environment a stand-in qemu-img
# records, grep on every output.
. "$(dirname "$0")/lib.sh"
need_root
need_fuse
need_cmd mkntfs ntfs-3g
need_cmd qemu-img qemu-utils

secret="s3cr3t-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
img=$T/vol.img
truncate -s 8M "$img"
mkntfs -q -F -f "$img" >/dev/null 2>&1 || fail "mkntfs"
export SHADOWREV_PASSPHRASE=$secret
$SR init --repo "$T/r" --encrypt --quiet || fail "init"
$SR capture --repo "$T/r" --instance srv C:="$img" --quiet || fail "capture"
setid=$($SR sets --repo "$T/r" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["sets"][0]["set_id"])') ||
	fail "sets"

# the mount daemon
mkdir "$T/m"
$SR mount --repo "$T/r" "$T/m" --json >"$T/mount.json" || fail "mount"
pid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$T/mount.json")
[ -r "/proc/$pid/environ" ] || fail "no daemon at pid $pid"
ls "$T/m" >/dev/null || fail "the mount does not serve"
grep -qaF -- "$secret" "/proc/$pid/environ" && fail "the daemon's /proc/$pid/environ holds the passphrase"
tr '\0' '\n' <"/proc/$pid/environ" | grep -q '^SHADOWREV_PASSPHRASE=' &&
	fail "the daemon's environment still has SHADOWREV_PASSPHRASE"
grep -qa SHADOWREV_REPO= "/proc/$pid/environ" || fail "oracle: the daemon's environ does not show the environment at all"
$SR unmount "$T/m" || fail "unmount"

# a child: qemu-img, replaced by one that records its environment first
mkdir "$T/bin"
real=$(command -v qemu-img)
printf '#!/bin/sh\nenv >"%s"\nexec "%s" "$@"\n' "$T/child.env" "$real" >"$T/bin/qemu-img"
chmod +x "$T/bin/qemu-img"
PATH=$T/bin:$PATH $SR restore instance "$setid" --repo "$T/r" --to "$T/q" --format qcow2 --no-boot-check \
	--quiet >/dev/null || fail "restore instance --format qcow2"
[ -s "$T/child.env" ] || fail "the stand-in qemu-img did not run"
grep -q '^SHADOWREV_REPO=' "$T/child.env" || fail "oracle: the child's environment was not recorded"
grep -qF -- "$secret" "$T/child.env" && fail "qemu-img got the passphrase in its environment"
qemu-img check -q "$T/q/C.qcow2" || fail "qemu-img check of the qcow2 made"

# --passphrase SECRET: an unknown option, and the secret is never printed
unset SHADOWREV_PASSPHRASE
for cmd in "sets --repo $T/r" "verify --repo $T/r" "gc --repo $T/r" "list sets --repo $T/r" \
	"export 0000 --repo $T/r --to $T/x.img" "catalog rebuild --repo $T/r" "mount --repo $T/r $T/m" \
	"capture --repo $T/r --instance srv C:=$img" "restore instance $setid --repo $T/r --to $T/y" \
	"restore files 0000 / --repo $T/r --to $T/y" "delete set $setid --repo $T/r" "init --repo $T/n --encrypt"; do
	for form in "--passphrase $secret" "--passphrase=$secret" "--pass $secret"; do
		# shellcheck disable=SC2086
		expect_exit 2 $SR $cmd $form
		grep -qF -- "$secret" "$T/stdout" "$T/stderr" && fail "'$cmd $form' printed the secret: $(cat "$T/stderr")"
		assert_contains "$T/stderr" "unknown option"
	done
	# in front of a verb's words too
	# shellcheck disable=SC2086
	expect_exit 2 $SR ${cmd%% *} --passphrase "$secret" ${cmd#* }
	grep -qF -- "$secret" "$T/stdout" "$T/stderr" && fail "'${cmd%% *} --passphrase SECRET' printed it"
done
[ -e "$T/n" ] && fail "init ran with an abbreviated option"
$SR sets --repo "$T/r" --passphrase-file /dev/null 2>/dev/null && fail "oracle: an empty passphrase file was accepted"
exit 0
