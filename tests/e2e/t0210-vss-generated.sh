#!/usr/bin/env bash
# The VSS engine on generated volumes (tests/tools/mkvss): 5 stores with
# overlays, forwarders and not-used descriptors: every export is byte for byte
# vshadowmount's view, and equals the state saved at that shadow copy on every
# block in use; other catalog orders (which libvshadow cannot read) against
# the saved states; shadow storage on another volume: the association, the
# views, and a clear error naming the missing volume.
. "$(dirname "$0")/lib.sh"
need_cmd python3 python3
MKVSS=$BUILD/tests/tools/mkvss
VSSCMP=$BUILD/tests/tools/vsscmp
ids() { python3 -c 'import json,sys; [print(s["shadow_id"]) for s in json.load(open(sys.argv[1]))["stores"]]' "$1/manifest.json"; }

"$MKVSS" --out "$T/g" --size 256M --stores 5 --seed 21 --overlays --forwarders --not-used --quiet || fail "mkvss"
python3 - "$T/g/manifest.json" <<'PY' || fail "the fixture lacks overlays or forwarders"
import json, sys
s = json.load(open(sys.argv[1]))["stores"]
assert sum(x["overlays"] for x in s) > 0 and sum(x["forwarders"] for x in s) > 0 and sum(x["not_used"] for x in s) > 0
PY
# list shadows: the generator's IDs and times
$SR list shadows --json "$T/g/volume.img" >"$T/l.json" || fail "list"
python3 - "$T/l.json" "$T/g/manifest.json" <<'PY' || fail "list shadows disagrees with the generator"
import json, sys
got = json.load(open(sys.argv[1]))["volumes"][0]["shadows"]
want = json.load(open(sys.argv[2]))["stores"]
assert len(got) == len(want) == 5
for g, w in zip(got, want):
    for k in ("shadow_id", "set_id", "store_id", "creation_time", "creation_filetime"):
        assert g[k] == w[k], (k, g[k], w[k])
    assert g["attributes"] == w["attributes_value"]
PY
k=0
for id in $(ids "$T/g"); do
	k=$((k + 1))
	$SR export "$id" "$T/g/volume.img" --to "$T/e$k.img" --quiet || fail "export store $k"
	"$VSSCMP" "$T/e$k.img" "$T/g/state-$k.img" "$T/g/state-$k.used" >/dev/null || fail "store $k differs from its saved state"
done
if [ "$(id -u)" = 0 ] && [ -c /dev/fuse ] && command -v vshadowmount >/dev/null; then
	mkdir "$T/m"
	vshadowmount "$T/g/volume.img" "$T/m" >/dev/null || fail "vshadowmount"
	for k in 1 2 3 4 5; do
		cmp -s "$T/e$k.img" "$T/m/vss$k" || { fusermount3 -u "$T/m"; fail "store $k differs from vshadowmount's vss$k"; }
	done
	fusermount3 -u "$T/m"
else
	echo "# vshadowmount comparison not run (needs root, /dev/fuse and libvshadow-utils)"
fi
rm -f "$T"/e*.img

# catalog orders libvshadow cannot read
for order in reversed scattered; do
	"$MKVSS" --out "$T/$order" --size 128M --stores 3 --seed 22 --catalog-order "$order" --forwarders --quiet || fail "mkvss $order"
	k=0
	for id in $(ids "$T/$order"); do
		k=$((k + 1))
		$SR export "$id" "$T/$order/volume.img" --to - --quiet >"$T/x.img" || fail "$order: export $k"
		"$VSSCMP" "$T/x.img" "$T/$order/state-$k.img" "$T/$order/state-$k.used" >/dev/null || fail "$order: store $k differs"
	done
	rm -rf "$T/$order"
done

# shadow storage on another volume
"$MKVSS" --out "$T/r" --size 256M --stores 3 --seed 23 --remote-storage --overlays --forwarders --quiet || fail "mkvss --remote-storage"
first=$(ids "$T/r" | head -1)
expect_exit 1 $SR export "$first" "$T/r/volume.img" --to "$T/x.img"
grep -q "no shadow copy" "$T/stderr" || fail "a store without its storage: $(cat "$T/stderr")"
$SR list shadows "$T/r/volume.img" >"$T/l.txt" || fail "list without the storage volume"
grep -q "missing: on another volume (shadow storage volume id {$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["storage_volume_id"])' "$T/r/manifest.json")})" "$T/l.txt" ||
	fail "the missing storage volume is not named: $(cat "$T/l.txt")"
$SR list shadows --json "$T/r/volume.img" "$T/r/storage.img" >"$T/l.json" || fail "list with the storage volume"
python3 - "$T/l.json" <<'PY' || fail "storage association"
import json, sys
v = json.load(open(sys.argv[1]))["volumes"]
assert v[0]["name"].endswith("volume.img") and all(s["storage"]["where"] == "other-volume" and s["storage"]["volume"].endswith("storage.img") for s in v[0]["shadows"]), v[0]
assert v[1]["foreign_stores"] == 3, v[1]
PY
k=0
for id in $(ids "$T/r"); do
	k=$((k + 1))
	$SR export "$id" "$T/r/volume.img" "$T/r/storage.img" --to - --quiet >"$T/x.img" || fail "remote: export $k"
	"$VSSCMP" "$T/x.img" "$T/r/state-$k.img" "$T/r/state-$k.used" >/dev/null || fail "remote: store $k differs"
done
exit 0
