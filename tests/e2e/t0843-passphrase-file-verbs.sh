#!/usr/bin/env bash
# Every verb that opens an encrypted repository takes --passphrase-file: export,
# list, catalog, delete (and sets, verify, gc), with no $SHADOWREV_PASSPHRASE
# and no terminal; without it they fail for want of the passphrase (exit 1).
# Oracles: sha256 of the volume captured (export), the set ID capture printed
# (list, catalog, delete), and sets after the delete.
. "$(dirname "$0")/lib.sh"
need_cmd mkntfs ntfs-3g

unset SHADOWREV_PASSPHRASE SHADOWREV_PASSPHRASE_FILE
echo "tr0ub4dor" >"$T/pass"
P=(--passphrase-file "$T/pass")
img=$T/vol.img
truncate -s 8M "$img"
mkntfs -q -F -f "$img" >/dev/null 2>&1 || fail "mkntfs"
$SR init --repo "$T/r" --encrypt "${P[@]}" --quiet || fail "init"
$SR capture --repo "$T/r" --instance srv C:="$img" "${P[@]}" --json >"$T/cap.json" </dev/null || fail "capture"
read -r setid volid < <(python3 -c '
import json,sys; s=json.load(open(sys.argv[1])); print(s["set_id"], s["volumes"][0]["shadow_id"])' "$T/cap.json") ||
	fail "no set_id in capture --json: $(cat "$T/cap.json")"

# without the option: no passphrase anywhere
expect_exit 1 $SR list sets --repo "$T/r" </dev/null
expect_exit 1 $SR export "$volid" --repo "$T/r" --to "$T/no.img" </dev/null
[ -e "$T/no.img" ] && fail "export without the passphrase left a file"
# a wrong one is refused
echo wrong >"$T/bad"
expect_exit 1 $SR list sets --repo "$T/r" --passphrase-file "$T/bad" </dev/null
expect_exit 1 $SR export "$volid" --repo "$T/r" --passphrase-file "$T/bad" --to "$T/no.img" </dev/null

expect_exit 0 $SR export "$volid" --repo "$T/r" "${P[@]}" --to "$T/e.img" </dev/null
a=$(sha256sum <"$T/e.img")
b=$(sha256sum <"$img")
assert_eq "$a" "$b" "export --passphrase-file: the volume captured"
expect_exit 0 $SR list sets --repo "$T/r" "${P[@]}" --json </dev/null
assert_contains "$T/stdout" "$setid" "list sets"
expect_exit 0 $SR catalog rebuild --repo "$T/r" "${P[@]}" --json </dev/null
assert_contains "$T/stdout" '"sets": 1' "catalog rebuild"
expect_exit 0 $SR sets --repo "$T/r" "${P[@]}" --json </dev/null
assert_contains "$T/stdout" "$setid" "sets"
expect_exit 0 $SR verify --repo "$T/r" "${P[@]}" </dev/null
expect_exit 0 $SR delete set "$setid" --repo "$T/r" "${P[@]}" </dev/null
expect_exit 0 $SR sets --repo "$T/r" "${P[@]}" --json </dev/null
grep -qF "$setid" "$T/stdout" && fail "the set is still there after delete"
expect_exit 0 $SR gc --repo "$T/r" "${P[@]}" </dev/null
expect_exit 0 $SR list sets --repo "$T/r" "${P[@]}" --json </dev/null
grep -qF "$setid" "$T/stdout" && fail "list sets still shows the deleted set"
exit 0
