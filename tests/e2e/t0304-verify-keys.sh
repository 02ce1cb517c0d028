#!/usr/bin/env bash
# verify finds one flipped byte in any chunk and names set, volume and offset;
# a wrong passphrase, a missing key or an unknown format version: a clear
# error, exit 1, nothing written.
. "$(dirname "$0")/lib.sh"
need_cmd mkntfs ntfs-3g
need_cmd ntfscp ntfs-3g
need_cmd python3 python3

truncate -s 64M "$T/v.img"
mkntfs -q -F -f "$T/v.img" >/dev/null 2>&1 || fail "mkntfs"
head -c $((20 * 1048576)) /dev/urandom >"$T/f" && ntfscp -f "$T/v.img" "$T/f" f.bin >/dev/null 2>&1 || fail "ntfscp"
printf 'pw\n' >"$T/pass"
for enc in plain encrypted; do
	r="$T/$enc"
	if [ $enc = plain ]; then
		$SR init --repo "$r" --quiet || fail "init"
	else
		$SR init --repo "$r" --encrypt --passphrase-file "$T/pass" --quiet || fail "init"
	fi
	$SR capture --repo "$r" --passphrase-file "$T/pass" --instance srv \
		--set-id 0badc0de-0000-0000-0000-000000000001 C:="$T/v.img,shadow=5ad0c0de-0000-0000-0000-000000000001" \
		--quiet || fail "$enc: capture"
	$SR verify --repo "$r" --passphrase-file "$T/pass" --quiet || fail "$enc: verify of a good repository"
	# flip one byte in three different chunks, one at a time
	for f in $(find "$r/chunks" -type f | sort | sed -n '1p;7p;$p'); do
		cp "$f" "$T/saved"
		len=$(stat -c %s "$f")
		python3 -c "
import sys
f = open(sys.argv[1], 'r+b'); o = int(sys.argv[2]); f.seek(o); b = f.read(1); f.seek(o); f.write(bytes([b[0] ^ 0x10]))
" "$f" $((len / 2))
		expect_exit 1 $SR verify --repo "$r" --passphrase-file "$T/pass"
		grep -q "^BAD set {0badc0de-0000-0000-0000-000000000001} volume C: {5ad0c0de-0000-0000-0000-000000000001}: bytes [0-9]*-[0-9]* (offset 0x" \
			"$T/stdout" || fail "$enc: verify does not name set, volume and offset: $(cat "$T/stdout")"
		cp "$T/saved" "$f"
	done
	$SR verify --repo "$r" --passphrase-file "$T/pass" --quiet || fail "$enc: verify after repair"
done

# keys: nothing is written on failure
snap() { find "$T/encrypted" -printf '%p %s %T@\n' | sort; }
snap >"$T/before"
printf 'wrong\n' >"$T/wrong"
expect_exit 1 $SR capture --repo "$T/encrypted" --passphrase-file "$T/wrong" --instance srv C:="$T/v.img"
grep -q "wrong passphrase" "$T/stderr" || fail "no clear error for a wrong passphrase: $(cat "$T/stderr")"
expect_exit 1 $SR verify --repo "$T/encrypted" </dev/null
grep -q "encrypted" "$T/stderr" || fail "no clear error for a missing key: $(cat "$T/stderr")"
expect_exit 1 $SR export 5ad0c0de --repo "$T/encrypted" --to "$T/out.img" </dev/null
[ ! -e "$T/out.img" ] || fail "export without a key wrote a file"
SHADOWREV_PASSPHRASE=wrong expect_exit 1 $SR sets --repo "$T/encrypted"
snap >"$T/after"
cmp -s "$T/before" "$T/after" || fail "a failed open changed the repository"
sed -i 's/^shadowrev-repository 1$/shadowrev-repository 9/' "$T/plain/config"
expect_exit 1 $SR capture --repo "$T/plain" --instance srv C:="$T/v.img"
grep -q "format version" "$T/stderr" || fail "no clear error for an unknown version: $(cat "$T/stderr")"
[ -z "$(ls "$T/plain/locks")" ] || fail "an unknown version left a lock behind"
# encrypted repositories hide IDs in file names
ls "$T/encrypted/sets" | grep -qi 0badc0de && fail "the set ID shows in a file name"
expect_exit 2 $SR verify --repo "$T/plain" a b
exit 0
