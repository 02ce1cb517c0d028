#!/usr/bin/env bash
# Revert, against writing the whole view over the volume (the exported image
# copied over it), in the same run; and the bytes written against the bytes
# that really changed (the generator's saved state compared with the live
# volume on the blocks in use at the shadow copy). Two volumes:
#   1. a generated 8 GiB volume with one shadow copy, about 1% of its blocks
#      changed since;
#   2. (issue #15) a generated 4 GiB volume with 6 shadow copies whose store
#      files are trimmed to what they use and reused (mkvss --trim-stores),
#      about 1% changed in each interval, reverted to its 5th shadow copy
#      (REVERT_TO), which keeps the 4 older ones.
# PARTS="one trimmed" (default) picks the volumes.
. "$(dirname "$0")/lib.sh"
SIZE=${SIZE:-8G}
TRIM_SIZE=${TRIM_SIZE:-4G}
REVERT_TO=${REVERT_TO:-5}
PARTS=${PARTS:-one trimmed}

# make_fixture DIR SIZE MKVSS-OPTS...: generate once (again when SIZE or the options change)
make_fixture() {
	local w=$1 size=$2
	shift 2
	if [ ! -f "$w/v/manifest.json" ] || [ "$(cat "$w/size" 2>/dev/null)" != "$size $*" ]; then
		rm -rf "$w"
		mkdir -p "$w"
		echo "generating a $size volume: mkvss $*..." >&2
		"$MKVSS" --out "$w/v" --size "$size" --quiet "$@"
		echo "$size $*" >"$w/size"
	fi
}

# bench_one W K: revert W's volume to its shadow copy K, RUNS times, against dd of the exported view
bench_one() {
	local w=$1 k=$2 img=$1/v/volume.img id changed_blocks changed written=0 i t0 t1 mo mf
	local t_ours=() t_full=()
	id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["stores"][int(sys.argv[2]) - 1]["shadow_id"])' "$w/v/manifest.json" "$k")
	changed_blocks=$("$BUILD/tests/tools/vsscmp" "$img" "$w/v/state-$k.img" "$w/v/state-$k.used" | awk '/compared/ { print $4 }' || true)
	changed=$((changed_blocks * 16384))
	"$SR" export "$id" "$img" --to "$w/view.img" --force --quiet
	for i in $(seq "$RUNS"); do
		cp --sparse=always "$img" "$w/t.img"
		sync
		t0=$(date +%s.%N)
		"$SR" revert "$id" "$w/t.img" --yes --json --quiet >"$w/out.json"
		t1=$(date +%s.%N)
		t_ours+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')")
		written=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["bytes_written"])' "$w/out.json")
		cp --sparse=always "$img" "$w/t.img"
		sync
		t_full+=("$(seconds dd if="$w/view.img" of="$w/t.img" bs=4M conv=notrunc,fsync status=none)")
	done
	mo=$(med "${t_ours[@]}")
	mf=$(med "${t_full[@]}")
	echo "== revert of a $(cat "$w/size" | cut -d' ' -f1) volume to shadow copy $k {$id}, median of $RUNS"
	echo "   ($(cut -d' ' -f2- "$w/size"); $(python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))["volumes"][0]; print("%d blocks considered, %d older shadow copies kept, %d dropped" % (v["blocks_considered"], v["stores_kept"], v["stores_dropped"] + v["older_shadow_copies_dropped"]))' "$w/out.json"))"
	printf "%-44s %10s\n" "method" "seconds"
	printf "%-44s %10s\n" "shadowrev revert (journal, write, verify)" "$mo"
	printf "%-44s %10s\n" "exported view copied over (dd conv=fsync)" "$mf"
	echo "speed-up: $(ratio "$mf" "$mo")x (target >= 20x)"
	echo "changed since the shadow copy: $changed bytes ($changed_blocks blocks of 16 KiB in use); written: $written bytes"
	echo "written / changed: $(ratio "$written" "$changed") (target <= 1.1)"
}
med() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

case " $PARTS " in *" one "*)
	make_fixture "$BENCH_DIR/revert" "$SIZE" --stores 1 --fill 50 --change-pct 1 --seed 11
	bench_one "$BENCH_DIR/revert" 1
esac
case " $PARTS " in *" trimmed "*)
	make_fixture "$BENCH_DIR/revert-trimmed" "$TRIM_SIZE" --stores 6 --fill 50 --change-pct 1 --seed 12 --trim-stores --forwarders
	bench_one "$BENCH_DIR/revert-trimmed" "$REVERT_TO"
esac
