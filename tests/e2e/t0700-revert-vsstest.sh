#!/usr/bin/env bash
# Revert copies of the real image to each of its shadow copies, checked with
# libvshadow and ntfs-3g's tools (vss-format.md section 6 gives what to expect).
. "$(dirname "$0")/lib.sh"
need_shared
need_root
need_fuse
need_cmd vshadowmount libvshadow-utils
need_cmd ntfsfix ntfs-3g
img=$(vsstest_raw)

mkdir "$T/orig"
vshadowmount "$img" "$T/orig" >/dev/null || fail "vshadowmount"
mounts=("$T/orig")
trap 'for m in "${mounts[@]}"; do fusermount3 -u "$m" 2>/dev/null; done; rm -rf "$T"' EXIT

# 16 KiB blocks where two files differ
diff_blocks() { cmp -l "$1" "$2" | awk '{ print int(($1 - 1) / 16384) }' | uniq; }

# --- revert to the older shadow copy: no shadow copy is left
cp --sparse=always "$img" "$T/r1.img"
$SR revert 4e3c03c2-7bc6-4288-ad96-c1eac1a55f71 "$T/r1.img" --dry-run --json >"$T/plan.json" || fail "dry run"
cmp -s "$img" "$T/r1.img" || fail "--dry-run changed the image"
python3 -c 'import json,sys; p=json.load(open(sys.argv[1]))["volumes"][0]; assert p["blocks_considered"]==468 and p["blocks_to_write"]==26, p' "$T/plan.json" ||
	fail "plan: expected 26 of 468 blocks (vss-format.md section 2)"
expect_exit 1 $SR revert 4e3c03c2 "$T/r1.img" </dev/null
grep -q -- "--yes" "$T/stderr" || fail "no confirmation refusal: $(cat "$T/stderr")"
cmp -s "$img" "$T/r1.img" || fail "a refused revert changed the image"
$SR revert 4e3c03c2 "$T/r1.img" --yes --json >"$T/r1.json" || fail "revert to 4e3c03c2"
vshadowinfo "$T/r1.img" | grep -q "Number of stores:.0" || fail "vshadowinfo still lists stores after revert to the oldest"
ntfsfix -n "$T/r1.img" >/dev/null || fail "ntfsfix -n after revert"
ntfsls -R -f "$T/r1.img" >"$T/ls.r1" 2>/dev/null || fail "ntfsls on the reverted volume"
ntfsls -R -f "$T/orig/vss1" >"$T/ls.vss1" 2>/dev/null || fail "ntfsls on vss1"
cmp -s "$T/ls.r1" "$T/ls.vss1" || fail "the reverted volume does not list what shadow copy 1 listed"
# outside the catalog (4 blocks at 0x6e30000) the volume now equals vshadowmount's view
for b in $(diff_blocks "$T/r1.img" "$T/orig/vss1"); do
	[ "$b" -ge $((0x6e30000 / 16384)) ] && [ "$b" -lt $((0x6e40000 / 16384)) ] ||
		fail "block $b differs from shadow copy 1 outside the catalog"
done
[ ! -e "$T/r1.img.shadowrev-journal" ] || fail "journal left behind"

# --- revert to the newer one: one shadow copy left, its view unchanged on every block in use
cp --sparse=always "$img" "$T/r2.img"
$SR revert 18f1ac6e "$T/r2.img" --yes >/dev/null || fail "revert to 18f1ac6e"
vshadowinfo "$T/r2.img" >"$T/vi2"
grep -q "Number of stores:.1" "$T/vi2" || fail "expected one store left"
grep -q "Shadow copy ID.*4e3c03c2-7bc6-4288-ad96-c1eac1a55f71" "$T/vi2" || fail "the older shadow copy is not the one left"
ntfsfix -n "$T/r2.img" >/dev/null || fail "ntfsfix -n after revert to 18f1ac6e"
mkdir "$T/new"
vshadowmount "$T/r2.img" "$T/new" >/dev/null || fail "vshadowmount of the reverted volume"
mounts+=("$T/new")
# every block where shadow copy 1 now reads differently is one libvshadow zero-fills as not in use
n=0
for b in $(diff_blocks "$T/new/vss1" "$T/orig/vss1"); do
	n=$((n + 1))
	cmp -s <(dd if="$T/new/vss1" bs=16384 skip="$b" count=1 status=none) <(head -c 16384 /dev/zero) ||
		fail "block $b of shadow copy 1 changed and is not a zero-filled free block"
done
[ "$n" -eq 964 ] || fail "expected the 964 diff-area/catalog blocks to differ (vss-format.md 6.4), got $n"
exit 0
