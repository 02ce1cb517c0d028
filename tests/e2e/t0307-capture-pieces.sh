#!/usr/bin/env bash
# Piece dedup (docs/FORMAT.md §4.1): duplicated files at offsets that are not
# aligned to the 1 MiB chunks are stored once, as plain chunks and composites
# that reference them. Oracles: the repository's size against the unique bytes
# and against a capture with --no-piece-dedup; export against the source on
# every allocated cluster (ntfscat $Bitmap, as t0301); every file through
# ntfscat; verify of a flipped byte in a referenced chunk names the composite's
# set, volume and range too; delete + gc keep what another set's composites and
# an incremental capture's reused composites reference.
. "$(dirname "$0")/lib.sh"
need_cmd mkntfs ntfs-3g
need_cmd ntfscp ntfs-3g
need_cmd ntfscat ntfs-3g
need_cmd ntfsinfo ntfs-3g
need_cmd python3 python3

num() { sed -n "s/.*\"$1\": *\([0-9]*\).*/\1/p" "$2" | tail -1; }
ids() { $SR sets --repo "$1" --json | sed -n 's/.*"shadow_id": "\([0-9a-f-]*\)".*/\1/p'; }
MiB=1048576

# files_cmp IMAGE: every file of the source equals the image's, through ntfscat
files_cmp() {
	for f in u1 d1 d2 t1 t2 pad1 pad2; do
		ntfscat "$1" "/$f.bin" 2>/dev/null | cmp -s - "$T/$f" || fail "$f.bin of $1 differs from the source"
	done
}

# the volume: random u1, its copies d1 and d2 behind odd-sized files, text t1 and its copy t2
truncate -s 96M "$T/v.img"
mkntfs -q -F -f "$T/v.img" >/dev/null 2>&1 || fail "mkntfs"
head -c $((6 * MiB)) /dev/urandom >"$T/u1"
head -c 20480 /dev/urandom >"$T/pad1"
head -c 36864 /dev/urandom >"$T/pad2"
python3 -c "
import random, sys
r = random.Random(3); w = ['shadow', 'copy', 'volume', 'backup', 'chunk', 'piece', 'index']
sys.stdout.write(''.join('%08d %s %s %d\n' % (i, r.choice(w), r.choice(w), r.randrange(1 << 30)) for i in range(120000)))" >"$T/t1"
cp "$T/u1" "$T/d1"
cp "$T/u1" "$T/d2"
cp "$T/t1" "$T/t2"
for f in u1 pad1 d1 pad2 d2 t1 t2; do
	ntfscp -f "$T/v.img" "$T/$f" "$f.bin" >/dev/null 2>&1 || fail "ntfscp $f"
done
python3 - "$T/v.img" "$T/u1" <<'PY' || fail "the copies are not where this test needs them"
import sys
img = open(sys.argv[1], "rb").read(); head = open(sys.argv[2], "rb").read(4096)
at = []
i = img.find(head)
while i >= 0:
    at.append(i); i = img.find(head, i + 1)
print("u1 and its copies at", at, file=sys.stderr)
assert len(at) == 3, at
assert all((a - at[0]) % (1 << 20) for a in at[1:]), "copies aligned to the chunk size"
PY
unique=$((6 * MiB + $(stat -c %s "$T/t1")))

# without piece dedup: the copies are stored again
$SR init --repo "$T/r0" --quiet || fail "init"
$SR capture --repo "$T/r0" --instance x --no-piece-dedup C:="$T/v.img" --json >"$T/c0.json" || fail "capture --no-piece-dedup"
[ "$(num composite_chunks "$T/c0.json")" = 0 ] || fail "--no-piece-dedup wrote composites"
head -1 "$T/r0/config" | grep -qx "shadowrev-repository 1" || fail "a repository without composites changed version"
size0=$(du -sb "$T/r0/chunks" | cut -f1)

# with it (the default)
$SR init --repo "$T/r" --quiet || fail "init"
$SR capture --repo "$T/r" --instance x --set-id 00000000-0000-0000-0000-00000000000a \
	C:="$T/v.img,shadow=aaaaaaaa-0000-0000-0000-000000000000" --json >"$T/c1.json" || fail "capture"
dedup=$(num dedup_bytes "$T/c1.json")
comps=$(num composite_chunks "$T/c1.json")
size1=$(du -sb "$T/r/chunks" | cut -f1)
echo "piece dedup: $dedup bytes in $comps composites; chunks $size1 bytes (without: $size0; unique data $unique)" >&2

# two copies of u1 (12 MiB), less the pieces at their edges; t1 (processed alongside t2 by other threads) may add
[ "$dedup" -ge $((11 * MiB)) ] || fail "piece dedup saved only $dedup bytes"
[ "$comps" -ge 8 ] || fail "only $comps composite chunks"
[ "$size1" -lt $((unique + 3 * MiB)) ] || fail "repository holds $size1 bytes of chunks for $unique unique bytes"
[ "$size0" -gt $((size1 + 10 * MiB)) ] || fail "dedup saved too little: $size0 without, $size1 with"
head -1 "$T/r/config" | grep -qx "shadowrev-repository 2" || fail "composites written but the config version is not 2"
$SR capture --repo "$T/r" --instance x2 C:="$T/v.img" >"$T/text" || fail "capture (text report)"
grep -q "reused" "$T/text" || fail "the text report of capture names no reused bytes: $(cat "$T/text")"

$SR export aaaaaaaa --repo "$T/r" --to "$T/e1.img" || fail "export"
alloc_cmp "$T/v.img" "$T/e1.img" || fail "the export differs from the source on allocated clusters"
files_cmp "$T/e1.img"
$SR verify --repo "$T/r" --quiet || fail "verify of a good repository"

# the index is version 2 and lists the composites' references. Which copy of u1 is stored plain and which
# as composites depends on the order the capture's threads get to them: take a composite whose reference is
# a plain chunk lying wholly inside a copy of u1 (its slot: where set B overwrites it below)
refs=$(python3 - "$T/r/indexes/00000000-0000-0000-0000-00000000000a/0.fidx" "$T/v.img" "$T/u1" <<'PY'
import struct, sys
MiB = 1 << 20
b = open(sys.argv[1], "rb").read()
img = open(sys.argv[2], "rb").read(); head = open(sys.argv[3], "rb").read(4096)
copies = []
i = img.find(head)
while i >= 0:
    copies.append(i); i = img.find(head, i + 1)
ver, = struct.unpack_from("<I", b, 8); count, = struct.unpack_from("<Q", b, 32)
nc, nr = struct.unpack_from("<QQ", b, 72)
assert ver == 2 and nc > 0 and nr > 0, (ver, nc, nr)
slots = [b[4096 + 32 * k: 4096 + 32 * k + 32] for k in range(count)]
t = 4096 + 32 * count
at = t + 16 * nc
for c in range(nc):
    slot, n = struct.unpack_from("<QI", b, t + 16 * c)
    for k in range(n):
        ref = b[at + 32 * k: at + 32 * k + 32]
        plain = [s for s in range(count) if slots[s] == ref]
        if len(plain) == 1 and any(a <= plain[0] * MiB and (plain[0] + 1) * MiB <= a + 6 * MiB for a in copies):
            print(slot, ref.hex(), plain[0])
            sys.exit(0)
    at += 32 * n
sys.exit("no composite references a plain chunk inside a copy of u1")
PY
) || fail "index is not version 2 with references to u1's plain chunks"
set -- $refs
cslot=$1 ref=$2 rslot=$3
chunk="$T/r/chunks/${ref:0:2}/$ref"
[ -f "$chunk" ] || fail "referenced chunk $ref missing"

# a flipped byte in the referenced plain chunk: verify names it and the composite's set, volume and range
cp "$chunk" "$T/saved-chunk"
python3 -c "
import sys
f = open(sys.argv[1], 'r+b'); f.seek(5000); b = f.read(1); f.seek(5000); f.write(bytes([b[0] ^ 0x20]))" "$chunk"
expect_exit 1 $SR verify --repo "$T/r"
assert_contains "$T/stdout" "composite referencing bad chunk ${ref:0:16}" "verify names the composite"
assert_contains "$T/stdout" "offset 0x$(printf %x $((cslot * MiB))), chunk $cslot" "verify names the composite's range"
assert_contains "$T/stdout" "set {00000000-0000-0000-0000-00000000000a} volume C:" "verify names the set and volume"
grep -q "ID ${ref:0:16}): " "$T/stdout" || fail "verify does not name the bad plain chunk itself: $(cat "$T/stdout")"
expect_exit 1 $SR export aaaaaaaa --repo "$T/r" --to "$T/bad.img"
cp "$T/saved-chunk" "$chunk"
$SR verify --repo "$T/r" --quiet || fail "verify after repair"

# set B (another instance): the image with the referenced plain chunk's bytes overwritten (inside one copy of
# u1); the composites that referenced it are the same, found by ID, and B must keep its references alive on its own
cp --sparse=always "$T/v.img" "$T/v2.img"
python3 - "$T/v2.img" "$rslot" <<'PY'
import os, sys
img = open(sys.argv[1], "r+b")
img.seek(int(sys.argv[2]) << 20); img.write(os.urandom(1 << 20))
PY
changed=0
for f in u1 d1 d2; do
	ntfscat "$T/v2.img" /$f.bin 2>/dev/null | cmp -s - "$T/$f" || changed=$((changed + 1))
done
[ "$changed" = 1 ] || fail "overwrote $changed of the three copies, not one"
$SR capture --repo "$T/r" --instance y --set-id 00000000-0000-0000-0000-00000000000b \
	C:="$T/v2.img,shadow=bbbbbbbb-0000-0000-0000-000000000000" --json >"$T/c2.json" || fail "capture B"
[ "$(num reused_bytes "$T/c2.json")" -ge $((12 * MiB)) ] || fail "B did not reuse the composites"
# C: incremental on B, a small change in t2; the composites of d1 and d2 are reused in place
cp --sparse=always "$T/v2.img" "$T/v3.img"
python3 - "$T/v3.img" "$T/t1" <<'PY'
import sys
img = open(sys.argv[1], "r+b"); data = img.read(); t = open(sys.argv[2], "rb").read()
at = data.find(t[:4096], data.find(t[:4096]) + 1)   # t2, the copy
img.seek(at + 100000); img.write(b"CHANGED!" * 512)
PY
$SR capture --repo "$T/r" --instance y --set-id 00000000-0000-0000-0000-00000000000c \
	C:="$T/v3.img,shadow=cccccccc-0000-0000-0000-000000000000" --json >"$T/c3.json" || fail "capture C"
grep -q '"incremental": true' "$T/c3.json" || fail "C is not incremental"

# delete A (which stored the referenced plain chunks) and B (C's base), age everything, gc
$SR delete --repo "$T/r" set 00000000-0000-0000-0000-00000000000a --quiet || fail "delete A"
$SR delete --repo "$T/r" set 00000000-0000-0000-0000-00000000000b --quiet || fail "delete B"
$SR delete --repo "$T/r" set "$($SR sets --repo "$T/r" --json | grep -A1 '"set_id"' | grep -B1 '"instance": "x2"' | sed -n 's/.*"set_id": "\([0-9a-f-]*\)".*/\1/p')" --quiet ||
	fail "delete x2"
find "$T/r/chunks" -type f -exec touch -d '-1 hour' {} +
$SR gc --repo "$T/r" --json >"$T/gc.json" || fail "gc"
[ -n "$(num chunks_kept "$T/gc.json")" ] || fail "gc said nothing: $(cat "$T/gc.json")"
# C's index does not name the referenced chunk among its slots: only its reference table keeps it
python3 - "$T/r/indexes/00000000-0000-0000-0000-00000000000c/0.fidx" "$ref" <<'PY' || fail "C's index does not list $ref as a reference only"
import struct, sys
b = open(sys.argv[1], "rb").read(); ref = bytes.fromhex(sys.argv[2])
count, = struct.unpack_from("<Q", b, 32); nc, nr = struct.unpack_from("<QQ", b, 72)
slots = {b[4096 + 32 * i: 4096 + 32 * i + 32] for i in range(count)}
t = 4096 + 32 * count + 16 * nc
refs = {b[t + 32 * i: t + 32 * i + 32] for i in range(nr)}
sys.exit(0 if ref in refs and ref not in slots else 1)
PY
[ -f "$chunk" ] || fail "gc removed chunk $ref, which C's composites reference"
$SR verify --repo "$T/r" --quiet || fail "verify after delete + gc"
$SR export cccccccc --repo "$T/r" --to "$T/e3.img" || fail "export C after gc"
alloc_cmp "$T/v3.img" "$T/e3.img" || fail "the incremental export differs on allocated clusters"
for f in u1 d1 d2 t1 t2 pad1 pad2; do
	ntfscat "$T/v3.img" "/$f.bin" >"$T/want" 2>/dev/null || fail "ntfscat $f of the source"
	ntfscat "$T/e3.img" "/$f.bin" 2>/dev/null | cmp -s - "$T/want" || fail "$f.bin of C differs from the source"
done
exit 0
