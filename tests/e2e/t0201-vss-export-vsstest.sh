#!/usr/bin/env bash
# export of each shadow copy of the real image is byte-identical to
# vshadowmount's file for it, over the whole 1 GiB; to a file (sparse) and to
# standard output.
. "$(dirname "$0")/lib.sh"
need_shared
need_root
need_fuse
need_cmd vshadowmount libvshadow-utils
img=$(vsstest_raw)

mkdir "$T/mnt"
vshadowmount "$img" "$T/mnt" >/dev/null || fail "vshadowmount failed"
trap 'fusermount3 -u "$T/mnt" 2>/dev/null || umount "$T/mnt" 2>/dev/null; rm -rf "$T"' EXIT

i=0
for id in 4e3c03c2-7bc6-4288-ad96-c1eac1a55f71 {18F1AC6E-959D-436F-BDCC-E797A729E290}; do
	i=$((i + 1))
	$SR export "$id" "$img" --to "$T/s$i.img" || fail "export $id failed"
	cmp "$T/s$i.img" "$T/mnt/vss$i" || fail "export of $id differs from vshadowmount's vss$i"
	# a second path: the stream to standard output
	a=$($SR export "$id" "$img" --to - | sha256sum | cut -d' ' -f1)
	b=$(sha256sum <"$T/mnt/vss$i" | cut -d' ' -f1)
	[ "$a" = "$b" ] || fail "export of $id to stdout: $a, vshadowmount: $b"
	# sparse where the view is zero
	used=$(du -k "$T/s$i.img" | cut -f1)
	[ "$used" -lt 524288 ] || fail "export of $id is not sparse ($used KiB allocated)"
	rm -f "$T/s$i.img"
done

# a unique prefix works, an existing file is not replaced without --force
$SR export 18f1 "$img" --to "$T/p.img" || fail "export by prefix"
expect_exit 1 $SR export 18f1 "$img" --to "$T/p.img"
grep -q -- "--force" "$T/stderr" || fail "no hint at --force"
$SR export 18f1 "$img" --to "$T/p.img" --force || fail "export --force"
cmp "$T/p.img" "$T/mnt/vss2" || fail "export by prefix differs"
ls "$T" | grep -q shadowrev-tmp && fail "temporary file left behind"
exit 0
