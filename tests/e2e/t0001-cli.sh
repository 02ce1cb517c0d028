#!/usr/bin/env bash
# The command line: help, version, usage errors (exit 2, one line and a hint).
. "$(dirname "$0")/lib.sh"

# --help lists every verb of the table, and each has its own help
$SR --help >"$T/help" || fail "--help failed"
verbs=$(sed -n '/^Verbs:/,/^$/p' "$T/help" | awk 'NF && !/^Verbs:/ {print $1}')
[ -n "$verbs" ] || fail "--help lists no verbs"
for v in $verbs; do
	$SR help "$v" >"$T/vhelp" || fail "help $v failed"
	grep -q "usage: shadowrev $v" "$T/vhelp" || fail "help $v does not show its usage"
	$SR "$v" --help >"$T/vhelp2" || fail "$v --help failed"
	cmp -s "$T/vhelp" "$T/vhelp2" || fail "$v --help differs from help $v"
done
# the README's verb reference stays current: every verb is in it
for v in $verbs; do
	case "$v" in help | version) continue ;; esac
	grep -q "shadowrev $v" "$ROOT/README.md" || fail "README.md does not describe '$v'"
done
for v in list export help version; do
	echo "$verbs" | grep -qx "$v" || fail "--help does not list '$v'"
done

$SR --version | grep -Eq '^shadowrev [0-9]+\.[0-9]+\.[0-9]+$' || fail "--version"

# usage errors: exit 2, one line naming the problem, then a hint
usage_case() {
	expect_exit 2 "$@"
	[ "$(wc -l <"$T/stderr")" -eq 2 ] || fail "'$*': expected 2 lines on stderr, got: $(cat "$T/stderr")"
	grep -q '^hint: see ' "$T/stderr" || fail "'$*': no hint"
}
usage_case $SR
usage_case $SR frobnicate
usage_case $SR list --no-such-option shadows x
usage_case $SR list
usage_case $SR list bananas
usage_case $SR export
usage_case $SR export 4e3c03c2 --to
usage_case $SR export 4e3c03c2 x.img
usage_case $SR list shadows --progress=sideways x
usage_case $SR help no-such-verb
grep -q "no-such-verb" "$T/stderr" || fail "the unknown verb is not named"

usage_case $SR list shadows "$T/does-not-exist.img"
grep -q "does-not-exist.img" "$T/stderr" || fail "the missing image is not named"

# a failure (not a usage error) exits 1 with one line naming the subject
head -c 65536 /dev/urandom >"$T/not-a-volume.img"
expect_exit 1 $SR list shadows "$T/not-a-volume.img"
grep -q "not-a-volume.img" "$T/stderr" || fail "the image is not named"
[ "$(wc -l <"$T/stderr")" -eq 1 ] || fail "expected one line: $(cat "$T/stderr")"
exit 0
