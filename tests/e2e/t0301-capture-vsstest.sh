#!/usr/bin/env bash
# capture of the real vsstest volume: export gives back every allocated cluster
# byte for byte, the whole image with --all-blocks, and both shadow copies stay
# readable to libvshadow with views identical to the source's.
#
# Oracle for "allocated": ntfs-3g's own tools, not our libntfs-3g glue: ntfscat
# dumps $Bitmap and ntfsinfo gives the cluster size; every cluster in use must
# match the source, every other cluster must be the source's bytes or zeros
# (the capture also keeps clusters free now that a shadow copy's view still
# reads from the live volume), plus $Boot and the last sector.
. "$(dirname "$0")/lib.sh"
need_shared
need_cmd ntfscat ntfs-3g
need_cmd python3 python3
img=$(vsstest_raw)

$SR init --repo "$T/r" --quiet || fail "init"
$SR capture --repo "$T/r" --instance vsstest --set-id 11111111-2222-3333-4444-555555555555 \
	C:=$img,system,boot,shadow=aaaaaaaa-0000-0000-0000-000000000001 --json >"$T/cap.json" ||
	fail "capture failed"
grep -q '"fs": "ntfs"' "$T/cap.json" || fail "not recognised as NTFS"
read_bytes=$(sed -n 's/.*"read_bytes": \([0-9]*\).*/\1/p' "$T/cap.json" | head -1)
[ "$read_bytes" -lt "$(stat -c %s "$img")" ] || fail "read $read_bytes bytes: every block was read"

$SR sets --repo "$T/r" >"$T/sets" || fail "sets"
grep -q "11111111-2222-3333-4444-555555555555" "$T/sets" || fail "set ID not kept"
grep -q "system,boot" "$T/sets" || fail "roles not kept"

# by full ID with braces and upper case, and by prefix
$SR export "{AAAAAAAA-0000-0000-0000-000000000001}" --repo "$T/r" --to "$T/exp.img" || fail "export"
alloc_cmp "$img" "$T/exp.img" || fail "the export differs from the source on allocated clusters"
# the backup boot sector (last sector, outside every cluster) and the VSS header at 0x1e00
cmp <(tail -c 512 "$img") <(tail -c 512 "$T/exp.img") || fail "backup boot sector lost"
cmp <(head -c 16384 "$img") <(head -c 16384 "$T/exp.img") || fail "\$Boot / VSS header lost"
$SR export aaaaaaaa --repo "$T/r" --to - | cmp - "$T/exp.img" || fail "export by prefix to stdout"

if command -v vshadowinfo >/dev/null; then
	vshadowinfo "$T/exp.img" >"$T/info" 2>&1 || fail "vshadowinfo refuses the export"
	grep -q "Number of stores:.*2" "$T/info" || fail "the export does not show both shadow copies"
	grep -qi 4e3c03c2-7bc6-4288-ad96-c1eac1a55f71 "$T/info" || fail "shadow copy 1 missing"
	grep -qi 18f1ac6e-959d-436f-bdcc-e797a729e290 "$T/info" || fail "shadow copy 2 missing"
fi
if command -v vshadowmount >/dev/null && [ -e /dev/fuse ] && [ "$(id -u)" = 0 ]; then
	mkdir "$T/m1" "$T/m2"
	trap 'fusermount3 -u "$T/m1" 2>/dev/null; fusermount3 -u "$T/m2" 2>/dev/null; rm -rf "$T"' EXIT
	vshadowmount "$img" "$T/m1" >/dev/null 2>&1 || fail "vshadowmount of the source"
	vshadowmount "$T/exp.img" "$T/m2" >/dev/null 2>&1 || fail "vshadowmount of the export"
	for v in vss1 vss2; do
		cmp "$T/m1/$v" "$T/m2/$v" || fail "view $v of the export differs from the source's"
	done
	fusermount3 -u "$T/m1"
	fusermount3 -u "$T/m2"
fi

# --all-blocks: the whole image, byte for byte
$SR capture --repo "$T/r" --instance other --all-blocks C:=$img --json >"$T/all.json" || fail "capture --all-blocks"
id=$(sed -n 's/.*"shadow_id": "\([0-9a-f-]*\)".*/\1/p' "$T/all.json" | head -1)
$SR export "$id" --repo "$T/r" --to "$T/all.img" || fail "export of --all-blocks"
cmp "$T/all.img" "$img" || fail "--all-blocks export differs from the image"
# the same set twice is refused, nothing half-written
expect_exit 1 $SR capture --repo "$T/r" --instance vsstest --set-id 11111111-2222-3333-4444-555555555555 C:=$img
grep -q "already" "$T/stderr" || fail "no clear error for a set ID in use"
expect_exit 2 $SR capture --repo "$T/r" C:=$img
expect_exit 2 $SR capture --repo "$T/r" --instance x Q=$img
expect_exit 1 $SR capture --repo "$T/r" --instance x C:=$T/missing.img
$SR verify --repo "$T/r" || fail "verify after captures"
exit 0
