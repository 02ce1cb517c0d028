#!/usr/bin/env bash
# The catalog: `list sets --json` on a catalog of 10,000 sets with 4 volumes
# each (target: median under 100 ms), the import that builds it (one vssadmin
# listing of 40,000 shadow copies, one transaction), and the import of the
# 2 MB System Writer document WM3.xml from ../shared (target: under 1 s).
. "$(dirname "$0")/lib.sh"
need python3
RUNS=${CATALOG_RUNS:-9}
SETS=${SETS:-10000}
D=$BENCH_DIR/catalog
rm -rf "$D"
mkdir -p "$D/repo"
export SHADOWREV_REPO=$D/repo

python3 - "$D/listing.txt" "$SETS" <<'PY'
import sys, uuid, random
random.seed(1)
out, n = open(sys.argv[1], "w"), int(sys.argv[2])
g = lambda: str(uuid.UUID(int=random.getrandbits(128), version=4))
vols = [(d, g()) for d in "CDEF"]
for i in range(n):
    out.write("Contents of shadow copy set ID: {%s}\n" % g())
    out.write("   Contained 4 shadow copies at creation time: 1/%d/2024 1:00:00 AM\n" % (i % 28 + 1))
    for k, (d, v) in enumerate(vols):
        out.write("      Shadow Copy ID: {%s}\n" % g())
        out.write("         Original Volume: (%s:)\\\\?\\Volume{%s}\\\n" % (d, v))
        out.write("         Shadow Copy Volume: \\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy%d\n" % (4 * i + k + 1))
        out.write("         Originating Machine: srv1\n         Service Machine: srv1\n")
        out.write("         Provider: 'Microsoft Software Shadow Copy provider 1.0'\n         Type: ClientAccessibleWriters\n")
        out.write("         Attributes: Persistent, Client-accessible, No auto release, Differential\n\n")
PY
first=$(grep -m1 -o '[0-9a-f-]\{36\}' "$D/listing.txt")
echo "listing: $(du -h "$D/listing.txt" | cut -f1), $SETS sets, $((4 * SETS)) shadow copies"
t=$(seconds "$SR" catalog import "$first" "$D/listing.txt")
echo "import of the listing (one transaction): $t s"
n=$("$SR" list sets --json | python3 -c 'import json,sys; s=json.load(sys.stdin)["sets"]; print(len(s), sum(len(x["volumes"]) for x in s))')
echo "catalog: $n (sets, volumes)"
m=$(median_of "$SR" list sets --json)
echo "list sets --json, median of $RUNS: $m s (target < 0.100)"
m=$(median_of "$SR" list sets)
echo "list sets (text), median of $RUNS: $m s"

SHARED=${SHARED:-$ROOT/../shared}
wm3=$SHARED/data/metadata/diskshadow-cab-nosql/WM3.xml
if [ -f "$wm3" ]; then
	bcd=$SHARED/data/metadata/diskshadow-cab-nosql/BCDocument.xml
	set_id=$(grep -o 'snapshotSetId="[^"]*"' "$bcd" | cut -d'"' -f2)
	"$SR" catalog import "$set_id" "$bcd" >/dev/null
	m=$(median_of "$SR" catalog import "$set_id" "$wm3")
	echo "import of WM3.xml ($(du -h "$wm3" | cut -f1)), median of $RUNS: $m s (target < 1)"
else
	echo "WM3.xml: ../shared is absent, skipped"
fi
