#!/usr/bin/env bash
# init: plain and encrypted repositories, the default location, exit codes 0/1/2.
. "$(dirname "$0")/lib.sh"

$SR init --repo "$T/r" || fail "init failed"
head -1 "$T/r/config" | grep -qx "shadowrev-repository 1" || fail "config has no version line"
grep -qx "encryption none" "$T/r/config" || fail "plain repository says otherwise"
for d in chunks/00 chunks/ff indexes sets locks; do [ -d "$T/r/$d" ] || fail "no $d"; done
expect_exit 1 $SR init --repo "$T/r"
grep -q "is a repository already" "$T/stderr" || fail "no clear error for an existing repository: $(cat "$T/stderr")"
mkdir "$T/full" && touch "$T/full/x"
expect_exit 1 $SR init --repo "$T/full"
expect_exit 2 $SR init --repo "$T/x" --bogus
expect_exit 2 $SR init --repo "$T/x" --chunk-size 3000
expect_exit 2 $SR init --repo "$T/x" --passphrase-file /dev/null
[ ! -e "$T/x" ] || fail "a usage error created something"

# encrypted: the passphrase never on the command line
printf 'correct horse\n' >"$T/pass"
$SR init --repo "$T/e" --encrypt --passphrase-file "$T/pass" || fail "encrypted init failed"
grep -q "^encryption aes-256-gcm" "$T/e/config" || fail "not encrypted"
grep -q "^kdf scrypt n=" "$T/e/config" || fail "no kdf line"
grep -q "correct" "$T/e/config" && fail "the passphrase is in the config"
SHADOWREV_PASSPHRASE=x $SR init --repo "$T/e2" --encrypt </dev/null || fail "passphrase from the environment"
expect_exit 1 $SR init --repo "$T/e3" --encrypt </dev/null
grep -q "no passphrase" "$T/stderr" || fail "no clear error without a passphrase: $(cat "$T/stderr")"

# default location: $SHADOWREV_REPO, then XDG (not as root)
SHADOWREV_REPO="$T/envrepo" $SR init --quiet || fail "init at \$SHADOWREV_REPO"
[ -f "$T/envrepo/config" ] || fail "no repository at \$SHADOWREV_REPO"
if [ "$(id -u)" != 0 ]; then
	XDG_DATA_HOME="$T/xdg" $SR init --quiet || fail "init at XDG_DATA_HOME"
	[ -f "$T/xdg/shadowrev/repo/config" ] || fail "no repository under XDG_DATA_HOME"
fi
$SR init --repo "$T/j" --json | grep -q '"encrypted":false' || fail "init --json"
exit 0
