#!/usr/bin/env bash
# A capture of an image that another process writes to meanwhile: piece dedup
# must reference the bytes the capture stored, not what the source holds when
# it looks again. The image holds 8 copies of 20 MiB of random data off the
# 1 MiB grid (so that piece dedup fires); a writer overwrites random regions
# of the first copy (the one the others reference) and puts the bytes back,
# again and again. After each capture: either it succeeded and the set
# verifies, and every chunk of its export has the SHA-256 its index names
# (python's hashlib against the .fidx, docs/FORMAT.md §5), or it failed with
# exit 1 and committed nothing. Also with --no-piece-dedup. Last, with the
# writer stopped (every region put back: the image's sha256 is the one it was
# made with), a capture exports equal to the image.
. "$(dirname "$0")/lib.sh"
need_cmd python3 python3
MiB=1048576

cat >"$T/mk.py" <<'PY'
import os, sys
MiB = 1 << 20
u = os.urandom(20 * MiB)
with open(sys.argv[1], "wb") as f:
    f.truncate(168 * MiB)
    for k in range(8):
        f.seek(k * 21 * MiB + k * 12345); f.write(u)
PY
# damage and repair the first copy until $1.stop exists; $1.ready once it has begun
cat >"$T/writer.py" <<'PY'
import os, random, sys, time
MiB = 1 << 20
f = open(sys.argv[1], "r+b", buffering=0)
u = f.read(20 * MiB)
r = random.Random(); junk = os.urandom(2 * MiB); first = True
while not os.path.exists(sys.argv[1] + ".stop"):
    regions = []
    for _ in range(3):
        n = r.randrange(4096, 2 * MiB); a = r.randrange(0, 20 * MiB - n)
        f.seek(a); f.write(junk[:n]); regions.append((a, n))
    if first:
        open(sys.argv[1] + ".ready", "w").close(); first = False
    time.sleep(r.uniform(0, 0.03))
    for a, n in regions:
        f.seek(a); f.write(u[a:a + n])
    time.sleep(r.uniform(0, 0.01))
PY
# chunk_sums EXPORT FIDX: every chunk of the export has the ID (SHA-256, unencrypted) the index names
cat >"$T/sums.py" <<'PY'
import hashlib, struct, sys
e = open(sys.argv[1], "rb").read(); x = open(sys.argv[2], "rb").read()
assert x[:8] == b"SRFIDX\0\0", "not an index"
cs, = struct.unpack_from("<I", x, 16); size, count = struct.unpack_from("<QQ", x, 24)
assert size == len(e), ("export size", len(e), size)
bad = 0
for i in range(count):
    d = x[4096 + 32 * i: 4096 + 32 * i + 32]; c = e[i * cs:(i + 1) * cs]
    want = bytes(32) if c.count(0) == len(c) else hashlib.sha256(c).digest()
    bad += d != want
sys.exit("%d of %d chunks differ from their IDs" % (bad, count) if bad else 0)
PY

$SR init --repo "$T/r" --quiet || fail "init"
nsets=0
for round in 1 2 3 4; do
	opt=
	[ "$round" -le 3 ] || opt=--no-piece-dedup
	python3 "$T/mk.py" "$T/v.img" || fail "making the image"
	rm -f "$T/v.img.ready" "$T/v.img.stop"
	python3 "$T/writer.py" "$T/v.img" &
	wpid=$!
	for _ in $(seq 200); do [ -e "$T/v.img.ready" ] && break; sleep 0.05; done
	[ -e "$T/v.img.ready" ] || fail "round $round: the writer did not start"
	$SR capture --repo "$T/r" --instance live $opt C:="$T/v.img" --json >"$T/c.json" 2>"$T/c.err"
	rc=$?
	touch "$T/v.img.stop"
	wait $wpid || fail "round $round: writer failed"
	n=$($SR sets --repo "$T/r" --json | grep -c '"set_id"')
	if [ $rc = 1 ]; then
		assert_eq "$n" "$nsets" "round $round: sets after a failed capture"
		echo "round $round ${opt:-piece-dedup}: capture failed: $(cat "$T/c.err")" >&2
		continue
	fi
	[ $rc = 0 ] || fail "round $round: capture exited $rc: $(cat "$T/c.err")"
	nsets=$((nsets + 1))
	assert_eq "$n" "$nsets" "round $round: sets after a capture"
	set_id=$(sed -n 's/.*"set_id": "\([0-9a-f-]*\)".*/\1/p' "$T/c.json" | head -1)
	id=$(sed -n 's/.*"shadow_id": "\([0-9a-f-]*\)".*/\1/p' "$T/c.json" | head -1)
	comps=$(sed -n 's/.*"composite_chunks": \([0-9]*\).*/\1/p' "$T/c.json" | head -1)
	echo "round $round ${opt:-piece-dedup}: $comps composite chunks" >&2
	[ -n "$opt" ] || [ "$comps" -ge 50 ] || fail "round $round: only $comps composite chunks: piece dedup did not fire"
	$SR verify --repo "$T/r" "$set_id" >"$T/verify.out" 2>&1 ||
		fail "round $round: verify of the set captured under a writer: $(head -c 3000 "$T/verify.out")"
	$SR export "$id" --repo "$T/r" --to "$T/e.img" --quiet || fail "round $round: export"
	python3 "$T/sums.py" "$T/e.img" "$T/r/indexes/$set_id/0.fidx" || fail "round $round: export against the index"
	rm -f "$T/e.img"
done
[ "$nsets" -ge 3 ] || fail "only $nsets of 4 captures under a writer succeeded"

# quiescent: the writer put every region back
want=$(python3 -c "
import hashlib, sys
MiB = 1 << 20
f = open(sys.argv[1], 'rb'); u = f.read(20 * MiB); f.seek(0)
print(hashlib.sha256(f.read()).hexdigest() if all((f.seek(k * 21 * MiB + k * 12345), f.read(20 * MiB))[1] == u for k in range(8)) else 'damaged')" "$T/v.img")
[ "$want" != damaged ] || fail "the writer left the image damaged"
$SR capture --repo "$T/r" --instance still C:="$T/v.img" --json >"$T/c.json" || fail "capture of the still image"
id=$(sed -n 's/.*"shadow_id": "\([0-9a-f-]*\)".*/\1/p' "$T/c.json" | head -1)
assert_eq "$($SR export "$id" --repo "$T/r" --to - | sha256sum | cut -d' ' -f1)" "$(sha256sum <"$T/v.img" | cut -d' ' -f1)" \
	"export of the still image"
$SR verify --repo "$T/r" --quiet || fail "final verify"
exit 0
