#!/usr/bin/env bash
# revert --to from a VSS shadow copy inside a captured volume whose storage is
# on another captured volume of the set (mkvss --remote-storage pair): the
# target equals the images' export of that shadow copy on every cluster the
# shadow copy uses (alloc_cmp, \$Bitmap from ntfscat), and mkvss's expected
# view (vsscmp, of the export); a second run finds nothing to write. Named by ID and as
# SET:C:vssN.
. "$(dirname "$0")/lib.sh"
need_cmd python3 python3
need_cmd ntfscat ntfs-3g
need_cmd ntfsinfo ntfs-3g
MKVSS=$BUILD/tests/tools/mkvss
VSSCMP=$BUILD/tests/tools/vsscmp
[ -x "$MKVSS" ] || skip "needs $MKVSS (make tests)"
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]][int(sys.argv[3]) - 1][sys.argv[4]])' "$G/manifest.json" "$1" "$2" "$3"; }

G=$T/g
"$MKVSS" --out "$G" --size 128M --stores 3 --seed 83 --remote-storage --storage-stores 2 --quiet || fail "mkvss"
$SR init --repo "$T/r" --quiet || fail "init"
$SR capture --repo "$T/r" --instance srv1 C:="$G/volume.img" D:="$G/storage.img" --quiet || fail "capture"
id1=$(field stores 1 shadow_id)
$SR export "$id1" "$G/volume.img" "$G/storage.img" --to "$T/v1.img" --quiet || fail "export from the images"

cp --sparse=always "$G/volume.img" "$T/c.img"
$SR revert "$id1" --to C:="$T/c.img" --repo "$T/r" --yes --json >"$T/r.json" || fail "revert: $(cat "$T/r.json")"
python3 - "$T/r.json" "$id1" <<'PY' || fail "revert result: $(cat "$T/r.json")"
import json, sys
v = json.load(open(sys.argv[1]))
assert v["volumes"][0]["shadow_id"] == sys.argv[2], v
assert v["bytes_written"] > 0, v
PY
alloc_cmp "$T/v1.img" "$T/c.img" 0 || fail "the target differs from shadow copy 1 on its allocated clusters"
# (blocks the view leaves unallocated, e.g. VSS store files of later stores, keep the target's bytes: not compared)
"$VSSCMP" "$T/v1.img" "$G/state-1.img" "$G/state-1.used" >"$T/cmp" || fail "the export differs from state-1: $(cat "$T/cmp")"
# again: nothing differs any more
$SR revert "$id1" --to C:="$T/c.img" --repo "$T/r" --dry-run --json >"$T/d.json" || fail "dry run"
python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))["volumes"][0]; assert v["bytes_to_write"] == 0, v' "$T/d.json" ||
	fail "a second revert would write: $(cat "$T/d.json")"

# by selector: srv1:C:vss3 onto a fresh copy
id3=$(field stores 3 shadow_id)
$SR export "$id3" "$G/volume.img" "$G/storage.img" --to "$T/v3.img" --quiet || fail "export 3 from the images"
cp --sparse=always "$G/volume.img" "$T/c3.img"
$SR revert srv1:C:vss3 --to "$T/c3.img" --repo "$T/r" --yes --quiet || fail "revert srv1:C:vss3"
alloc_cmp "$T/v3.img" "$T/c3.img" 0 || fail "the target differs from shadow copy 3"
# unknown and ambiguous names: usage errors, nothing written
sum=$(sha256sum <"$T/c3.img")
expect_exit 2 $SR revert srv1:C:vss9 --to "$T/c3.img" --repo "$T/r" --yes
assert_contains "$T/stderr" "vss9"
expect_exit 2 $SR revert srv1 --to "$T/c3.img" --repo "$T/r" --yes
assert_contains "$T/stderr" ":C:"
assert_eq "$(sha256sum <"$T/c3.img")" "$sum" "target after refused reverts"
exit 0
