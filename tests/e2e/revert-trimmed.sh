# Sourced by t0718-t0720 (after lib.sh): revert a generated volume whose store
# files are trimmed and reused (mkvss --trim-stores, issue #15) to each of its
# shadow copies, each on a fresh copy, against independent oracles: the state
# mkvss saved at that snapshot (vsscmp), vshadowmount's views of the shadow
# copies left (before and after), ntfsfix -n.
need_root
need_fuse
need_cmd python3 python3
need_cmd vshadowmount libvshadow-utils
need_cmd ntfsfix ntfs-3g
MKVSS=$BUILD/tests/tools/mkvss
VSSCMP=$BUILD/tests/tools/vsscmp
RANGE_HITS=$(dirname "${BASH_SOURCE[0]}")/range-hits.py
MOUNTS=()
trap 'for m in "${MOUNTS[@]}"; do fusermount3 -u "$m" 2>/dev/null; done; rm -rf "$T"' EXIT

manifest_ids() { python3 -c 'import json,sys; [print(s["shadow_id"]) for s in json.load(open(sys.argv[1]))["stores"]]' "$1/manifest.json"; }

# vmount IMAGE DIR: vshadowmount IMAGE on DIR
vmount() {
	mkdir -p "$2"
	vshadowmount "$1" "$2" >/dev/null || fail "vshadowmount $1"
	MOUNTS+=("$2")
}
vumount() { fusermount3 -u "$1" || fail "fusermount3 -u $1"; }

# same_as_state G IMAGE J WHAT: IMAGE equals G's state J on every block in use at J
same_as_state() {
	"$VSSCMP" "$2" "$1/state-$3.img" "$1/state-$3.used" >"$T/cmp" || fail "$4: $(cat "$T/cmp")"
}

# revert_each G OPTS...: make G with mkvss OPTS, then revert to every shadow copy on fresh copies
revert_each() {
	local g=$1 k j n dropped left v
	shift
	rm -rf "$g"
	"$MKVSS" --out "$g" --size 256M --trim-stores --quiet "$@" || fail "mkvss $*"
	mapfile -t id < <(manifest_ids "$g")
	n=${#id[@]}
	# the fixture is what issue #15 is about: older store files trimmed, and reverts
	# whose write set lies in range-list extents (which the old rule refused)
	python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["stores"]; assert all(x["trimmed"] for x in s[:-1]) and any(x["store_file_blocks"] < x["range_list_blocks"] for x in s), s' \
		"$g/manifest.json" || fail "mkvss $*: store files not trimmed"
	python3 "$RANGE_HITS" "$g/volume.img" >"$T/hits" || fail "range-hits.py"
	awk '$2 > 0 { n++ } END { exit !(n > 0) }' "$T/hits" || fail "mkvss $*: no revert writes into a range-list extent: $(cat "$T/hits")"
	echo "# mkvss $*: $n shadow copies; blocks in range-list extents per revert: $(awk '{ printf "%s ", $2 }' "$T/hits")"
	# before: every shadow copy reads as its state, through shadowrev and vshadowmount
	vmount "$g/volume.img" "$T/m0"
	for j in $(seq "$n"); do
		same_as_state "$g" "$T/m0/vss$j" "$j" "vshadowmount's store $j before"
		$SR export "${id[j - 1]}" "$g/volume.img" --to "$T/e.img" --force --quiet || fail "export $j before"
		same_as_state "$g" "$T/e.img" "$j" "store $j before"
	done
	vumount "$T/m0"
	for k in $(seq "$n"); do
		cp --sparse=always "$g/volume.img" "$T/t.img"
		$SR revert "${id[k - 1]}" "$T/t.img" --yes --json >"$T/r.json" || fail "revert to store $k: $(cat "$T/stderr" 2>/dev/null)"
		same_as_state "$g" "$T/t.img" "$k" "after revert to store $k"
		ntfsfix -n "$T/t.img" >/dev/null || fail "ntfsfix -n after revert to store $k"
		dropped=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["volumes"][0]["older_shadow_copies_dropped"])' "$T/r.json")
		left=$((k - 1 - dropped))
		vshadowinfo "$T/t.img" | grep -q "Number of stores:.$left\$" ||
			fail "after revert to store $k: vshadowinfo does not list $left stores: $(vshadowinfo "$T/t.img" | grep 'Number of stores')"
		# every older shadow copy kept reads as before, through shadowrev and vshadowmount
		vmount "$T/t.img" "$T/m"
		for j in $(seq $((dropped + 1)) $((k - 1))); do
			v=$((j - dropped))
			same_as_state "$g" "$T/m/vss$v" "$j" "vshadowmount's store $j after revert to $k"
			$SR export "${id[j - 1]}" "$T/t.img" --to "$T/e.img" --force --quiet || fail "export $j after revert to $k"
			same_as_state "$g" "$T/e.img" "$j" "store $j after revert to $k"
		done
		vumount "$T/m"
		echo "# revert to store $k: equals state $k; $dropped older dropped, $left kept and unchanged"
	done
}

# check_drops G: for a revert of G's volume that drops older shadow copies, --dry-run (text and
# --json) and the typed confirmation name every shadow copy dropped, with a reason, before any write
check_drops() {
	local g=$1 k n sum plan found=
	mapfile -t id < <(manifest_ids "$g")
	n=${#id[@]}
	for k in $(seq 2 "$n"); do
		$SR revert "${id[k - 1]}" "$g/volume.img" --dry-run --json >"$T/plan.json" || fail "--dry-run --json to $k"
		python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["volumes"][0]["older_shadow_copies_dropped"] == 0)' "$T/plan.json" &&
			found=1 && break
	done
	[ -n "$found" ] || fail "no revert of $g drops an older shadow copy"
	python3 - "$T/plan.json" "$g/manifest.json" "$k" <<'PY' || fail "--json plan: $(cat "$T/plan.json")"
import json, sys
v = json.load(open(sys.argv[1]))["volumes"][0]
ids = [s["shadow_id"] for s in json.load(open(sys.argv[2]))["stores"]]
k, older = int(sys.argv[3]), v["older_shadow_copies_dropped"]
d = {x["shadow_id"]: x for x in v["dropped_shadow_copies"]}
want = ids[k - 1:] + ids[:older]            # k..n, and the older ones from the oldest
assert sorted(d) == sorted(want), (sorted(d), sorted(want))
assert all(d[i]["reason"] for i in want)
assert "overlays" in d[ids[older - 1]]["reason"], d[ids[older - 1]]
assert v["stores_kept"] == k - 1 - older
PY
	$SR revert "${id[k - 1]}" "$g/volume.img" --dry-run >"$T/plan.txt" || fail "--dry-run to $k"
	for i in $(python3 -c 'import json,sys; [print(x["shadow_id"]) for x in json.load(open(sys.argv[1]))["volumes"][0]["dropped_shadow_copies"]]' "$T/plan.json"); do
		grep -q "dropped: {$i}" "$T/plan.txt" || fail "--dry-run does not name $i: $(cat "$T/plan.txt")"
		plan+=" $i"
	done
	if command -v script >/dev/null; then
		cp --sparse=always "$g/volume.img" "$T/t.img"
		sum=$(sha256sum <"$T/t.img")
		printf 'no\n' | script -qec "$SR revert ${id[k - 1]} $T/t.img" /dev/null >"$T/tty" && fail "answering 'no' reverted"
		assert_eq "$(sha256sum <"$T/t.img")" "$sum" "the image after answering 'no'"
		grep -q "will be dropped from the catalogs (this cannot be undone)" "$T/tty" || fail "confirmation: $(cat "$T/tty")"
		for i in $plan; do grep -q "dropped: {$i}" "$T/tty" || fail "the confirmation does not name $i: $(cat "$T/tty")"; done
	fi
	echo "# revert to store $k: the plan and the confirmation name the $(wc -w <<<"$plan") shadow copies dropped"
}
