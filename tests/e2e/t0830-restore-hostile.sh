#!/usr/bin/env bash
# restore files is safe with hostile volumes, and keeps going past bad data:
#  - names with '\', control characters, and (patched into the index and the
#    MFT record) names containing '/' and named '..' are refused and reported,
#    nothing is written outside DIR, exit 3;
#  - names that collide on a case-insensitive target are reported;
#  - a symlink pointing outside the volume is not restored as a symlink, one
#    inside is; nothing is ever written through a symlink;
#  - a corrupt chunk in the repository: the files it touches are reported and
#    absent, every other file is restored intact (oracle: ntfscat), exit 3.
. "$(dirname "$0")/lib.sh"
need_root
need_fuse
need_cmd ntfs-3g ntfs-3g
need_cmd mkntfs ntfs-3g
need_cmd python3 python3

need_cmd setfattr attr
rp() { # a relative symlink reparse buffer for target $1, as hex for setfattr
	python3 - "$1" <<'PY'
import struct, sys
t = sys.argv[1].encode("utf-16le")
data = struct.pack("<HHHHI", 0, len(t), len(t), len(t), 1) + t + t
print("0x" + (struct.pack("<IHH", 0xA000000C, len(data), 0) + data).hex())
PY
}
img=$T/h.img
truncate -s 64M "$img"
mkntfs -q -F -f "$img" >/dev/null 2>&1 || fail "mkntfs"
mkdir "$T/mnt"
ntfs-3g "$img" "$T/mnt" || fail "mount"
(
	set -e
	cd "$T/mnt"
	echo backslash >'a\b'
	echo ctl >"$(printf 'ctl\001x')"
	echo upper >Case
	echo lower >case
	echo slash >'sl#sh'
	echo dots >'q#'
	mkdir -p dir/sub
	echo fine >dir/sub/fine.txt
	mkdir inlink esc   # NTFS symlinks (reparse points, tag 0xA000000C), set through ntfs-3g's xattr
	setfattr -n system.ntfs_reparse_data -v "$(rp 'dir')" inlink
	setfattr -n system.ntfs_reparse_data -v "$(rp '..\..\..\..\..\..\tmp\sr-t0830-escape')" esc
	for i in $(seq 1 30); do seq 1 $((i * 1000)) >"dir/t$i.txt"; done
	head -c 6000000 /dev/urandom >dir/big.bin
) || { fusermount3 -u "$T/mnt"; fail "fixture"; }
fusermount3 -u "$T/mnt" || fail "unmount"
# 'sl#sh' becomes 'sl/sh' and 'q#' becomes '..', in the index entry and in the MFT record's $FILE_NAME
python3 - "$img" <<'PY' || fail "patching names"
import re, sys
d = bytearray(open(sys.argv[1], "rb").read())
n = 0
for pat, new in ((rb"\x05[\x00-\x03]s\x00l\x00#\x00s\x00h\x00", "sl/sh"), (rb"\x02[\x00-\x03]q\x00#\x00", "..")):
    for m in list(re.finditer(pat, bytes(d))):
        d[m.start() + 2:m.end()] = new.encode("utf-16le"); n += 1
open(sys.argv[1], "wb").write(d)
sys.exit(0 if n >= 4 else 1)
PY
rm -rf /tmp/sr-t0830-escape
mkdir "$T/jail"
expect_exit 3 $SR restore files live / --image "$img" --to "$T/jail/D"
# nothing outside DIR
assert_eq "$(ls -A "$T/jail")" "D" "entries beside DIR"
[ ! -e /tmp/sr-t0830-escape ] || fail "something was written through the outside symlink"
[ -z "$(find "$T/jail/D" -name '*\\*' -o -name "$(printf '*\001*')")" ] || fail "a refused name was created"
# libntfs-3g's directory walk never hands out a name '..' (the patched entry): 3 refused here
[ "$(grep -c "refusing the entry" "$T/stderr")" -ge 3 ] || fail "hostile names not refused: $(cat "$T/stderr")"
assert_contains "$T/stderr" "separator"
assert_contains "$T/stderr" "control character"
assert_contains "$T/stderr" "collide on a case-insensitive target"
assert_eq "$(cat "$T/jail/D/Case") $(cat "$T/jail/D/case")" "upper lower" "case-distinct names on a case-sensitive target"
[ -L "$T/jail/D/inlink" ] && [ "$(readlink "$T/jail/D/inlink")" = dir ] || fail "the inside symlink is not a symlink to dir"
[ ! -L "$T/jail/D/esc" ] || fail "the outside symlink was restored as a symlink"
cmp "$T/jail/D/dir/sub/fine.txt" <(ntfscat -f "$img" /dir/sub/fine.txt) || fail "fine.txt"
# the same into archives: refused names are not in them
expect_exit 3 $SR restore files live / --image "$img" --archive "$T/h.tar"
bsdtar -tf "$T/h.tar" | grep -q -e '\.\./' -e '^/' -e 'sl/sh' && fail "a hostile name is in the tar"

# a corrupt chunk: flip a byte in the largest chunk file (random data: part of big.bin)
$SR init --repo "$T/r" --quiet || fail "init"
$SR capture --repo "$T/r" --instance h C:="$img" --quiet || fail "capture"
setid=$($SR sets --repo "$T/r" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["sets"][-1]["set_id"])')
chunk=$(find "$T/r/chunks" -type f -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2)
python3 - "$chunk" <<'PY'
import sys
p = sys.argv[1]; d = bytearray(open(p, "rb").read()); d[len(d) // 2] ^= 0x55; open(p, "wb").write(bytes(d))
PY
expect_exit 3 $SR restore files "$setid:C:" /dir --repo "$T/r" --to "$T/c"
assert_contains "$T/stderr" "big.bin"
[ ! -e "$T/c/dir/big.bin" ] || fail "a damaged file was left in DIR"
ok=0
for i in $(seq 1 30); do
	if grep -q "t$i.txt" "$T/stderr"; then continue; fi
	cmp -s "$T/c/dir/t$i.txt" <(ntfscat -f "$img" "/dir/t$i.txt") || fail "t$i.txt differs"
	ok=$((ok + 1))
done
[ "$ok" -ge 25 ] || fail "only $ok of 30 undamaged files restored"
cmp "$T/c/dir/sub/fine.txt" <(ntfscat -f "$img" /dir/sub/fine.txt) || fail "fine.txt after the corrupt chunk"
# as a stream: reported, exit 3, the archive is still readable
expect_exit 3 $SR restore files "$setid:C:" /dir --repo "$T/r" --archive "$T/c.tar"
assert_contains "$T/stderr" "big.bin"
bsdtar -tf "$T/c.tar" | grep -q "dir/sub/fine.txt" || fail "the tar lost the good files"
exit 0
