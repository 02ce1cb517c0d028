#!/usr/bin/env bash
# The revert's safety rule (vss-format.md 6.1 step 4, issue #15), one refusal
# per structure: the newest store of a generated volume is given a descriptor
# whose block lies in what a kept shadow copy still reads (its block list,
# range list, bitmap, store header, a data block, its store file now) or in the
# catalog. Reverting to it is refused naming the structure, the shadow copy and
# the offset, and the image is untouched (sha256). Block 0, which holds the VSS
# header, is reverted with the current header sector kept.
. "$(dirname "$0")/lib.sh"
need_cmd python3 python3
MKVSS=$BUILD/tests/tools/mkvss
G=$T/g
"$MKVSS" --out "$G" --size 128M --stores 3 --seed 61 --quiet || fail "mkvss"
mapfile -t id < <(python3 -c 'import json,sys; [print(s["shadow_id"]) for s in json.load(open(sys.argv[1]))["stores"]]' "$G/manifest.json")

# craft IMAGE WHAT: point the first descriptor of the newest store at WHAT (parsed from the raw
# volume, not by shadowrev); prints the block's offset and the shadow copy (1-based, 0: none)
craft() {
	python3 - "$@" <<'PY'
import struct, sys
BLK = 0x4000
f = open(sys.argv[1], "r+b")
what = sys.argv[2]
def rd(off, n=BLK):
    f.seek(off); return f.read(n)
cat = struct.unpack_from("<Q", rd(0x1e00, 512), 48)[0]
t2, t3 = {}, {}
b = rd(cat)
for i in range(128, BLK - 127, 128):
    typ, = struct.unpack_from("<Q", b, i)
    g = b[i + 16:i + 32]
    if typ == 2:
        t2[g] = struct.unpack_from("<Q", b, i + 48)[0]
    elif typ == 3:
        lst, = struct.unpack_from("<Q", b, i + 8)
        hdr, rng, bm = struct.unpack_from("<QQQ", b, i + 32)
        t3[g] = dict(list=lst, header=hdr, range=rng, bitmap=bm)
st = [t3[g] for g in sorted(t2, key=lambda g: t2[g])]
def descs(s):
    d = rd(s["list"])
    return [struct.unpack_from("<QQQI", d, i) for i in range(128, BLK - 31, 32) if any(d[i:i + 28])]
def extents(s):
    d = rd(s["range"])
    return [struct.unpack_from("<QQQ", d, i) for i in range(128, BLK - 23, 24) if any(d[i:i + 24])]
old, kept = st[0], 1
if what == "list":      target = old["list"]
elif what == "range":   target, kept = st[1]["range"], 2
elif what == "bitmap":  target = old["bitmap"]
elif what == "header":  target, kept = st[1]["header"], 2
elif what == "data":    target = descs(old)[0][2]
elif what == "catalog": target, kept = cat, 0
elif what == "file":
    # a block of store 1's file (untrimmed here: its range list is its file) that it does not use
    used = {old[k] for k in ("list", "header", "range", "bitmap")} | {d[2] for d in descs(old)}
    target = next(o for vo, _, n in extents(old) for o in range(vo, vo + n, BLK) if o not in used)
elif what == "boot":
    target, kept = 0, 0
new = st[-1]
e = bytearray(rd(new["list"]))
struct.pack_into("<Q", e, 128, target)
f.seek(new["list"]); f.write(e)
if what == "boot":
    # its copy: block 0 as it is, but another VSS header sector, which the revert must not write
    d = bytearray(rd(0))
    d[0x1e00:0x2000] = b"\xee" * 512
    f.seek(struct.unpack_from("<Q", e, 128 + 16)[0]); f.write(d)
print("0x%x %d" % (target, kept))
PY
}

for what in list range bitmap header data file catalog; do
	cp --sparse=always "$G/volume.img" "$T/t.img"
	read -r off kept < <(craft "$T/t.img" "$what") || fail "craft $what"
	sum=$(sha256sum <"$T/t.img")
	expect_exit 1 $SR revert "${id[2]}" "$T/t.img" --yes
	assert_eq "$(sha256sum <"$T/t.img")" "$sum" "the image after the refused revert ($what)"
	[ ! -e "$T/t.img.shadowrev-journal" ] || fail "$what: a journal was left"
	case $what in
	list) want="block descriptor list" ;; range) want="range list" ;; bitmap) want="bitmap" ;;
	header) want="store header" ;; data) want="store data block" ;; file) want="store file" ;; catalog) want="VSS catalog" ;;
	esac
	grep -q "refusing to revert: block at offset $off .* would overwrite the $want" "$T/stderr" ||
		fail "$what: $(cat "$T/stderr")"
	if [ "$kept" != 0 ]; then
		grep -q "of shadow copy {${id[kept - 1]}} (store $kept of 3), which the revert keeps" "$T/stderr" ||
			fail "$what: the refusal does not name shadow copy $kept: $(cat "$T/stderr")"
	fi
	echo "# $what: $(sed 's/^shadowrev: //' "$T/stderr" | head -c 400)"
done

# block 0 (with the VSS header sector) in the write set: reverted, the header sector kept as it is
cp --sparse=always "$G/volume.img" "$T/t.img"
craft "$T/t.img" boot >/dev/null || fail "craft boot"
hdr=$(dd if="$T/t.img" bs=512 skip=15 count=1 status=none | sha256sum)
$SR revert "${id[2]}" "$T/t.img" --yes --quiet >/dev/null || fail "revert with block 0 in the write set: $(cat "$T/stderr")"
assert_eq "$(dd if="$T/t.img" bs=512 skip=15 count=1 status=none | sha256sum)" "$hdr" "the VSS header sector after the revert"
exit 0
