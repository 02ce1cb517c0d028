#!/usr/bin/env bash
# VSS engine: sequential read of a shadow copy's view on a generated 8 GiB
# volume with about 5% of its blocks changed since the shadow copy, against
# vshadowmount (libvshadow) reading the same view, in the same run; and the
# time to open a volume with 64 shadow copies.
. "$(dirname "$0")/lib.sh"
need vshadowmount
SIZE=${SIZE:-8G}
W=$BENCH_DIR/vss-read
if [ ! -f "$W/v/manifest.json" ] || [ "$(cat "$W/size" 2>/dev/null)" != "$SIZE" ]; then
	rm -rf "$W"
	mkdir -p "$W"
	echo "generating a $SIZE volume with 1 shadow copy (about 5% changed)..." >&2
	t=$(seconds "$MKVSS" --out "$W/v" --size "$SIZE" --stores 1 --fill 50 --change-pct 5 --seed 7 --quiet)
	echo "$SIZE" >"$W/size"
	echo "generated in ${t}s" >&2
fi
img=$W/v/volume.img
id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["stores"][0]["shadow_id"])' "$W/v/manifest.json")
bytes=$(stat -c %s "$img")
mkdir -p "$W/mnt"
vshadowmount "$img" "$W/mnt" >/dev/null
trap 'fusermount3 -u "$W/mnt" 2>/dev/null || true' EXIT

ours() { "$SR" export "$id" "$img" --to - --quiet; }
theirs() { dd if="$W/mnt/vss1" of=/dev/null bs=1M status=none; }
raw() { dd if="$img" of=/dev/null bs=1M status=none; }
# warm the page cache for all three
ours >/dev/null; theirs; raw
t_ours=$(median_of ours)
t_theirs=$(median_of theirs)
t_raw=$(median_of raw)

# 64 shadow copies: open and list
if [ ! -f "$W/s64/manifest.json" ]; then
	"$MKVSS" --out "$W/s64" --size 1G --stores 64 --files 64 --change-pct 2 --seed 9 --quiet
fi
list64() { "$SR" list shadows --json "$W/s64/volume.img"; }
list64 >/dev/null
t_open=$(RUNS=5 median_of list64)

echo "== VSS view read: $SIZE volume, shadow copy {$id}, warm, median of $RUNS"
printf "%-34s %10s %10s\n" "reader" "seconds" "MB/s"
printf "%-34s %10s %10s\n" "shadowrev export --to -" "$t_ours" "$(rate "$bytes" "$t_ours")"
printf "%-34s %10s %10s\n" "vshadowmount + dd bs=1M" "$t_theirs" "$(rate "$bytes" "$t_theirs")"
printf "%-34s %10s %10s\n" "raw image, dd bs=1M (reference)" "$t_raw" "$(rate "$bytes" "$t_raw")"
echo "shadowrev / vshadowmount throughput: $(ratio "$t_theirs" "$t_ours")x (target >= 2x)"
echo "open + list a volume with 64 shadow copies: ${t_open}s, median of 5 (target < 1 s)"
