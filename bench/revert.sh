#!/usr/bin/env bash
# Revert: a generated 8 GiB volume with about 1% of its blocks changed since
# its shadow copy, reverted in place, against writing the whole view over the
# volume (the exported image copied over it), in the same run. Also the bytes
# written against the bytes that really changed (the generator's saved state
# compared with the live volume on the blocks in use at the shadow copy).
. "$(dirname "$0")/lib.sh"
SIZE=${SIZE:-8G}
W=$BENCH_DIR/revert
if [ ! -f "$W/v/manifest.json" ] || [ "$(cat "$W/size" 2>/dev/null)" != "$SIZE" ]; then
	rm -rf "$W"
	mkdir -p "$W"
	echo "generating a $SIZE volume with 1 shadow copy (about 1% changed)..." >&2
	"$MKVSS" --out "$W/v" --size "$SIZE" --stores 1 --fill 50 --change-pct 1 --seed 11 --quiet
	echo "$SIZE" >"$W/size"
fi
img=$W/v/volume.img
id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["stores"][0]["shadow_id"])' "$W/v/manifest.json")
changed_blocks=$("$BUILD/tests/tools/vsscmp" "$img" "$W/v/state-1.img" "$W/v/state-1.used" | awk '/compared/ { print $4 }' || true)
changed=$((changed_blocks * 16384))
"$SR" export "$id" "$img" --to "$W/view.img" --force --quiet

t_ours=()
t_full=()
written=0
for i in $(seq "$RUNS"); do
	cp --sparse=always "$img" "$W/t.img"
	sync
	t0=$(date +%s.%N)
	"$SR" revert "$id" "$W/t.img" --yes --json --quiet >"$W/out.json"
	t1=$(date +%s.%N)
	t_ours+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')")
	written=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["bytes_written"])' "$W/out.json")
	cp --sparse=always "$img" "$W/t.img"
	sync
	t_full+=("$(seconds dd if="$W/view.img" of="$W/t.img" bs=4M conv=notrunc,fsync status=none)")
done
med() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
mo=$(med "${t_ours[@]}")
mf=$(med "${t_full[@]}")
echo "== revert of a $SIZE volume to shadow copy {$id}, median of $RUNS"
printf "%-44s %10s\n" "method" "seconds"
printf "%-44s %10s\n" "shadowrev revert (journal, write, verify)" "$mo"
printf "%-44s %10s\n" "exported view copied over (dd conv=fsync)" "$mf"
echo "speed-up: $(ratio "$mf" "$mo")x (target >= 20x)"
echo "changed since the shadow copy: $changed bytes ($changed_blocks blocks of 16 KiB in use); written: $written bytes"
echo "written / changed: $(ratio "$written" "$changed") (target <= 1.1)"
