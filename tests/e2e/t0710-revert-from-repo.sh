#!/usr/bin/env bash
# Revert a modified copy of a volume in place to its captured shadow copy in
# the repository: only the chunks that differ are written; afterwards the
# volume equals the source on every cluster the source's $Bitmap marks in use
# (oracle: ntfscat '$Bitmap', python), and both VSS shadow copies inside it
# read exactly as the source's (vshadowmount). Then --all-blocks, a rerun
# that finds nothing to do, a kill -9 in the middle, and the refusals.
. "$(dirname "$0")/lib.sh"
need_shared
need_root
need_fuse
need_cmd ntfscat ntfs-3g
need_cmd vshadowmount libvshadow-utils
need_cmd python3 python3
img=$(vsstest_raw)

# unmount an ntfs-3g mount and wait until its daemon has let go of the image
ntfs_umount() { # MOUNTPOINT IMAGE
	fusermount3 -u "$1" || umount "$1"
	for _ in $(seq 100); do pgrep -f "ntfs-3g $2 " >/dev/null || return 0; sleep 0.1; done
	fail "ntfs-3g did not let go of $2"
}


$SR init --repo "$T/r" --quiet || fail "init"
$SR capture --repo "$T/r" --instance srv --quiet C:="$img" >/dev/null || fail "capture"
id=$($SR sets --repo "$T/r" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["sets"][0]["volumes"][0]["shadow_id"])')

# the modified copy: a new file, an overwritten file, a deleted file (through ntfs-3g)
cp --sparse=always "$img" "$T/t.img"
mkdir "$T/m"
ntfs-3g "$T/t.img" "$T/m" || fail "ntfs-3g"
head -c 3000000 /dev/urandom >"$T/m/new.bin"
head -c 5000 /dev/urandom >"$T/m/password.txt"
rm -f "$T/m/syslog.gz"
ntfs_umount "$T/m" "$T/t.img"
alloc_cmp "$img" "$T/t.img" 0 0 2>/dev/null && fail "the modification did not change allocated clusters"

sum=$(sha256sum <"$T/t.img")
$SR revert "$id" --repo "$T/r" --to C:="$T/t.img" --dry-run --json >"$T/plan.json" || fail "dry run"
[ "$(sha256sum <"$T/t.img")" = "$sum" ] || fail "--dry-run wrote"
expect_exit 1 $SR revert "$id" --repo "$T/r" --to C:="$T/t.img"
grep -q -- "--yes" "$T/stderr" || fail "no --yes refusal: $(cat "$T/stderr")"
$SR revert "$id" --repo "$T/r" --to C:="$T/t.img" --yes --json >"$T/done.json" || fail "revert"
python3 - "$T/done.json" <<'PY' || fail "revert wrote more than the changed chunks"
import json, sys
v = json.load(open(sys.argv[1]))["volumes"][0]
print(v, file=sys.stderr)
assert 0 < v["chunks_to_write"] <= 8, v            # MFT, $Bitmap, the overwritten file: a few 1 MiB chunks
assert v["chunks_equal"] >= v["chunks_considered"] - 8, v
PY
alloc_cmp "$img" "$T/t.img" 0 0 || fail "the reverted volume differs from the source on allocated clusters"
mkdir "$T/a" "$T/b"
vshadowmount "$img" "$T/a" >/dev/null && vshadowmount "$T/t.img" "$T/b" >/dev/null || fail "vshadowmount"
# on every cluster in use in each shadow copy (free ones read whatever the live volume holds there)
alloc_cmp "$T/a/vss1" "$T/b/vss1" 0 0 || fail "shadow copy 1 inside differs from the source's on its clusters in use"
alloc_cmp "$T/a/vss2" "$T/b/vss2" 0 0 || fail "shadow copy 2 inside differs from the source's on its clusters in use"
fusermount3 -u "$T/a"
fusermount3 -u "$T/b"
ntfsfix -n "$T/t.img" >/dev/null || fail "ntfsfix -n"

# nothing left to do
$SR revert "$id" --repo "$T/r" --to C:="$T/t.img" --yes --json >"$T/again.json" || fail "second revert"
python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))["volumes"][0]; assert v["chunks_to_write"]==0, v' "$T/again.json" ||
	fail "a second revert still found differences"

# --all-blocks: the whole volume as captured (free clusters read as zeros)
$SR revert "$id" --repo "$T/r" --to C:="$T/t.img" --yes --all-blocks --quiet >/dev/null || fail "--all-blocks"
$SR export "$id" --repo "$T/r" --to "$T/exp.img" --quiet || fail "export"
cmp -s "$T/t.img" "$T/exp.img" || fail "after --all-blocks the volume differs from the captured one"

# kill -9 in the middle, then the same command finishes; same bytes as an uninterrupted run
cp --sparse=always "$img" "$T/k.img"
cp --sparse=always "$img" "$T/ref.img"
for f in k ref; do
	ntfs-3g "$T/$f.img" "$T/m" && head -c 3000000 /dev/zero >"$T/m/z.bin" && ntfs_umount "$T/m" "$T/$f.img"
done
$SR revert "$id" --repo "$T/r" --to C:="$T/ref.img" --yes --quiet >/dev/null || fail "reference revert"
SHADOWREV_TEST_WRITE_DELAY_US=300000 $SR revert "$id" --repo "$T/r" --to C:="$T/k.img" --yes --quiet >/dev/null 2>&1 &
pid=$!
for _ in $(seq 200); do [ -e "$T/k.img.shadowrev-journal" ] && break; sleep 0.05; done
sleep 0.2
kill -9 $pid
wait $pid 2>/dev/null
[ -e "$T/k.img.shadowrev-journal" ] || fail "no journal after the kill"
$SR revert "$id" --repo "$T/r" --to C:="$T/k.img" --yes --quiet >/dev/null || fail "finishing after the kill"
cmp -s "$T/k.img" "$T/ref.img" || fail "the interrupted revert ended with other bytes"

# --all-blocks then makes even the free clusters equal, and the views with them
mkdir -p "$T/b"
vshadowmount "$T/t.img" "$T/b" >/dev/null && vshadowmount "$T/exp.img" "$T/a" >/dev/null || fail "vshadowmount"
cmp -s "$T/a/vss1" "$T/b/vss1" || fail "after --all-blocks shadow copy 1 differs from the export's"
fusermount3 -u "$T/a"
fusermount3 -u "$T/b"

# refusals: a target in use; a volume name the set does not have
sleep 30 <"$T/t.img" &
holder=$!
sleep 0.2
expect_exit 1 $SR revert "$id" --repo "$T/r" --to C:="$T/t.img" --yes
kill $holder
grep -q "is open in process" "$T/stderr" || fail "busy target: $(cat "$T/stderr")"
expect_exit 1 $SR revert "$id" --repo "$T/r" --to D:="$T/t.img" --yes
grep -q "not D:" "$T/stderr" || fail "wrong volume: $(cat "$T/stderr")"
expect_exit 2 $SR revert "$id" "$img" --to C:="$T/t.img"
exit 0
