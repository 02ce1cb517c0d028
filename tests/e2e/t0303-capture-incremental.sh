#!/usr/bin/env bash
# A second capture of the same instance after ~2% of the volume changed stores
# only the changed chunks (the report counts new and reused bytes); with
# --changed-blocks it reads only those ranges; every set exports correctly.
. "$(dirname "$0")/lib.sh"
need_cmd mkntfs ntfs-3g
need_cmd ntfscp ntfs-3g
need_cmd python3 python3

num() { sed -n "s/.*\"$1\": \([0-9]*\).*/\1/p" "$2" | tail -1; }
truncate -s 128M "$T/v.img"
mkntfs -q -F -f "$T/v.img" >/dev/null 2>&1 || fail "mkntfs"
for i in 1 2 3 4 5 6; do
	head -c $((12 * 1048576)) /dev/urandom >"$T/f$i"
	ntfscp -f "$T/v.img" "$T/f$i" "f$i.bin" >/dev/null 2>&1 || fail "ntfscp"
done
$SR init --repo "$T/r" --quiet || fail "init"
$SR capture --repo "$T/r" --instance srv C:="$T/v.img" --json >"$T/a.json" || fail "first capture"
cp --sparse=always "$T/v.img" "$T/v1.img"
new1=$(num new_bytes "$T/a.json")
[ "$new1" -gt $((60 * 1048576)) ] || fail "first capture stored only $new1 bytes"

# change ~2.5 MiB (2% of 128 MiB) inside file f3's clusters, in place
python3 - "$T/v.img" "$T/f3" <<'PY' || fail "cannot find f3 in the image"
import os, sys
img = open(sys.argv[1], "r+b"); data = open(sys.argv[2], "rb").read(1 << 20)
blob = img.read()
at = blob.find(data)
assert at > 0
img.seek(at + (4 << 20)); img.write(os.urandom(2621440))
print(at + (4 << 20), 2621440, file=open(sys.argv[1] + ".ranges", "w"))
PY
$SR capture --repo "$T/r" --instance srv C:="$T/v.img" --json >"$T/b.json" || fail "second capture"
grep -q '"incremental": true' "$T/b.json" || fail "not incremental"
new2=$(num new_bytes "$T/b.json")
reused2=$(num reused_bytes "$T/b.json")
# 2.5 MiB touches at most 4 chunks of 1 MiB, plus NTFS metadata that did not change here
[ "$new2" -le $((5 * 1048576)) ] || fail "incremental stored $new2 new bytes"
[ "$new2" -ge $((2 * 1048576)) ] || fail "incremental missed the change ($new2 new bytes)"
[ "$reused2" -ge $((60 * 1048576)) ] || fail "incremental reused only $reused2 bytes"
echo "incremental: new $new2 bytes, reused $reused2 bytes" >&2

# --changed-blocks: read only the changed ranges
python3 - "$T/v.img" <<'PY'
import os, sys
img = open(sys.argv[1], "r+b")
at, n = map(int, open(sys.argv[1] + ".ranges").read().split())
img.seek(at); img.write(os.urandom(n))
PY
$SR capture --repo "$T/r" --instance srv C:="$T/v.img" --changed-blocks "$T/v.img.ranges" --json >"$T/c.json" ||
	fail "capture --changed-blocks"
read3=$(num read_bytes "$T/c.json")
[ "$read3" -le $((5 * 1048576)) ] || fail "--changed-blocks read $read3 bytes"
[ "$(num new_bytes "$T/c.json")" -ge $((2 * 1048576)) ] || fail "--changed-blocks missed the change"
expect_exit 2 $SR capture --repo "$T/r" --instance srv C:="$T/v.img" D:="$T/v1.img" --changed-blocks "$T/v.img.ranges"
printf 'bogus\n' >"$T/bad.ranges"
expect_exit 1 $SR capture --repo "$T/r" --instance srv C:="$T/v.img" --changed-blocks "$T/bad.ranges"

# every set exports its own state
$SR sets --repo "$T/r" --json | sed -n 's/.*"shadow_id": "\([0-9a-f-]*\)".*/\1/p' >"$T/ids"
[ "$(wc -l <"$T/ids")" = 3 ] || fail "expected 3 sets"
$SR export "$(sed -n 1p "$T/ids")" --repo "$T/r" --to "$T/e1.img" || fail "export 1"
$SR export "$(sed -n 3p "$T/ids")" --repo "$T/r" --to "$T/e3.img" || fail "export 3"
for i in 1 2 3 4 5 6; do
	ntfscat "$T/e1.img" /f$i.bin 2>/dev/null | cmp -s - "$T/f$i" || fail "f$i.bin of set 1 differs"
done
ntfscat "$T/e3.img" /f3.bin 2>/dev/null | cmp -s - "$T/f3" && fail "set 3 does not have the change"
cmp <(ntfscat "$T/e3.img" /f3.bin 2>/dev/null) <(ntfscat "$T/v.img" /f3.bin 2>/dev/null) || fail "f3.bin of set 3 differs"
$SR verify --repo "$T/r" || fail "verify"
exit 0
