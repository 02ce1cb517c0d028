#!/usr/bin/env bash
# bench/mount.sh: shadowrev mount against its peers, side by side in one run, medians of $RUNS (3).
#   1. the 4 GiB NTFS image of the capture bench ($BENCH_DIR/vol.img; made here if absent): sequential
#      read of volume.img from
#        shadowrev mount IMAGE, shadowrev mount --repo (the image captured), restic mount and borg mount
#        (restic and borg back up the raw image file; their FUSE file is read)
#      against reading the image file itself. Two reads after each mount: the first (the image and the
#      repositories in the page cache, nothing in the FUSE file's cache: what the tool itself does) and
#      the second (warm: what the kernel kept of the FUSE file). The tools take turns in each round.
#   2. a shadow copy's volume.img on the real VSS image (fresh mount each run, the image warm) against
#      vshadowmount's file of the same shadow copy (vssN), for each shadow copy, alternating
#   3. reading every file of an NTFS tree (fresh mount each run) against ntfs-3g on the raw image
# Usage: bench/mount.sh [VSS-IMAGE]   (default: build/cache/vsstest.raw)
# Needs root, FUSE, libvshadow-utils, ntfs-3g, restic, borgbackup (scripts/install-deps --bench).
# Repositories and a copy of the image are kept in $BENCH_DIR/mount and reused. Prints a Markdown
# report (also to $OUT, default build/bench/mount.md); ratios > 1 mean shadowrev is faster.
. "$(dirname "$0")/lib.sh"
need vshadowmount
need ntfs-3g
need restic
need borg
[ "$(id -u)" = 0 ] || { echo "bench: mount.sh needs root (FUSE, ntfs-3g mounts)" >&2; exit 1; }
img=${1:-$BUILD/cache/vsstest.raw}
[ -f "$img" ] || img=$ROOT/build/cache/vsstest.raw
[ -f "$img" ] || { echo "bench: no VSS image $img (make check makes build/cache/vsstest.raw)" >&2; exit 1; }
OUT=${OUT:-$BUILD/bench/mount.md}
K=$BENCH_DIR/mount
mkdir -p "$K" "$(dirname "$OUT")"
export RESTIC_PASSWORD=bench RESTIC_CACHE_DIR=$K/restic-cache BORG_PASSPHRASE=bench
export BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes BORG_RELOCATED_REPO_ACCESS_IS_OK=yes
W=$(mktemp -d /tmp/bench-mount.XXXXXX)
restic_pid=
cleanup() {
	set +e
	[ -n "$restic_pid" ] && kill "$restic_pid" 2>/dev/null && wait "$restic_pid" 2>/dev/null
	for m in "$W"/m*; do
		mountpoint -q "$m" || continue
		"$SR" unmount "$m" 2>/dev/null || borg umount "$m" 2>/dev/null || fusermount3 -u "$m" 2>/dev/null ||
			umount "$m" 2>/dev/null || umount -l "$m"
	done
	rm -rf "$W"
}
trap cleanup EXIT
mkdir "$W/m1" "$W/m2" "$W/rw"

readall() { cat "$1" >/dev/null; }
readtree() { find "$1" -type f -print0 | xargs -0 cat >/dev/null; }
med() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
wait_for() { # FILE: up to 60 s
	local i
	for i in $(seq 600); do [ -e "$1" ] && return 0; sleep 0.1; done
	echo "bench: $1 did not appear" >&2
	return 1
}

# --- 1. the 4 GiB image --------------------------------------------------------
big=$K/vol.img
if [ ! -f "$big" ]; then
	if [ ! -f "$BENCH_DIR/vol.img" ]; then
		# the image of bench/capture.sh (its make_image, first half), made in $BENCH_DIR
		(
			W=$BENCH_DIR
			eval "$(sed -n '/^make_image() {/,/^}/p' "$ROOT/bench/capture.sh" |
				sed '/# the copy with ~2 % changed/,/^}/c\}')"
			make_image
		)
	fi
	# a copy: capture.sh moves its image around while it runs
	cp --sparse=always "$BENCH_DIR/vol.img" "$big.tmp"
	mv "$big.tmp" "$big"
	rm -rf "$K/repo-"*
fi
bigsize=$(stat -c %s "$big")
# the same image with every block allocated: what reading a block device or a cloud volume costs
# (reading the holes of the sparse image gives zeros without touching any page)
full=$K/vol-full.img
if [ ! -f "$full" ] || [ "$(stat -c %s "$full")" != "$bigsize" ]; then
	cp --sparse=never "$big" "$full.tmp" && mv "$full.tmp" "$full"
fi
# the repositories, made once (the image's path is part of what restic and borg store); shadowrev's
# again by another shadowrev binary: the bench measures what this one writes (its format, its chunks)
srstamp=$(sha256sum <"$SR" | cut -c1-16)
if [ ! -f "$K/repo-shadowrev/config" ] || [ "$(cat "$K/repo-shadowrev.stamp" 2>/dev/null)" != "$srstamp" ]; then
	rm -rf "$K/repo-shadowrev"
	"$SR" init --repo "$K/repo-shadowrev" --quiet
	"$SR" capture --repo "$K/repo-shadowrev" --instance bench C:="$big" --quiet
	echo "$srstamp" >"$K/repo-shadowrev.stamp"
fi
if [ ! -f "$K/repo-restic/config" ]; then
	rm -rf "$K/repo-restic"
	restic init --repo "$K/repo-restic" -q
	restic --repo "$K/repo-restic" -q backup --host bench "$big"
fi
if [ ! -f "$K/repo-borg/config" ]; then
	rm -rf "$K/repo-borg"
	borg init -e none "$K/repo-borg"
	borg create "$K/repo-borg::a" "$big"
fi

# the inputs in the page cache (again: other jobs may drop caches): we measure the tools, not the disk
prime() { cat "$big" >/dev/null; [ $# -eq 0 ] || find "$@" -type f -exec cat {} + >/dev/null; }
# two timed reads of FILE: "first second"
reads() { echo "$(seconds readall "$1") $(seconds readall "$1")"; }
m1=$W/m1
t_direct() {
	prime
	reads "$big"
}
t_full() {
	cat "$full" >/dev/null
	reads "$full"
}
t_image() {
	prime
	"$SR" mount "$big" "$m1" >/dev/null
	reads "$m1/vol.img/volume.img"
	"$SR" unmount "$m1" >/dev/null
}
t_repo() {
	local f
	prime "$K/repo-shadowrev"
	"$SR" mount --repo "$K/repo-shadowrev" "$m1" >/dev/null
	f=$(ls -d "$m1"/*/C/volume.img | head -1)
	reads "$f"
	"$SR" unmount "$m1" >/dev/null
}
t_restic() {
	prime "$K/repo-restic" "$K/restic-cache"
	restic --repo "$K/repo-restic" mount "$m1" >/dev/null 2>&1 &
	restic_pid=$!
	wait_for "$m1/snapshots/latest$big"
	reads "$m1/snapshots/latest$big"
	fusermount3 -u "$m1"
	wait "$restic_pid" || true
	restic_pid=
}
t_borg() {
	prime "$K/repo-borg"
	borg mount "$K/repo-borg::a" "$m1" >/dev/null
	wait_for "$m1${big}"
	reads "$m1${big}"
	borg umount "$m1" >/dev/null
}
declare -A T1 T2
kinds="direct full image repo restic borg"
for i in $(seq "$RUNS"); do
	for k in $kinds; do
		read -r x y < <("t_$k")
		T1[$k]+=" $x"
		T2[$k]+=" $y"
	done
done
for k in $kinds; do
	eval "f_$k=\$(med ${T1[$k]}) w_$k=\$(med ${T2[$k]})"
done

# --- 2. shadow copies on the real VSS image --------------------------------------
ids=$("$SR" list shadows --json "$img" | python3 -c '
import json, sys
print(" ".join(s["shadow_id"] for v in json.load(sys.stdin)["volumes"] for s in v["shadows"]))')
cat "$img" >/dev/null
shadow_rows=()
n=0
for id in $ids; do
	n=$((n + 1))
	a=() b=()
	for i in $(seq "$RUNS"); do
		vshadowmount "$img" "$W/m2" >/dev/null
		a+=("$(seconds readall "$W/m2/vss$n")")
		fusermount3 -u "$W/m2"
		"$SR" mount "$img" "$m1" >/dev/null
		b+=("$(seconds readall "$m1/by-shadow-id/$id/volume.img")")
		"$SR" unmount "$m1" >/dev/null
	done
	ma=$(med "${a[@]}") mb=$(med "${b[@]}")
	shadow_rows+=("| vss$n {$id} | $(awk -v s="$ma" 'BEGIN { printf "%.3f", s }') | $(awk -v s="$mb" 'BEGIN { printf "%.3f", s }') | $(ratio "$ma" "$mb")x |")
done
imgsize=$(stat -c %s "$img")

# --- 3. every file of an NTFS tree -----------------------------------------------
tree="$W/tree.img"
truncate -s 1G "$tree"
mkntfs -q -F -f "$tree" >/dev/null 2>&1
ntfs-3g "$tree" "$W/rw"
python3 - "$W/rw" <<'PY'
import os, random, sys
r = random.Random(1)
root = sys.argv[1]
for d in range(40):
    os.makedirs(os.path.join(root, "d%02d" % d, "sub"), exist_ok=True)
    for f in range(50):
        n = r.choice([100, 3000, 20000, 150000, 1500000])
        with open(os.path.join(root, "d%02d" % d, "sub" if f % 2 else "", "f%03d" % f), "wb") as fh:
            fh.write(os.urandom(n))
PY
umount "$W/rw"
files=$(ntfsls -R "$tree" | grep -c '^f' || true)
a=() b=()
for i in $(seq "$RUNS"); do
	ntfs-3g -o ro "$tree" "$W/m2"
	a+=("$(seconds readtree "$W/m2")")
	umount "$W/m2"
	"$SR" mount "$tree" "$m1" >/dev/null
	b+=("$(seconds readtree "$m1/tree.img/files")")
	"$SR" unmount "$m1" >/dev/null
done
ta=$(med "${a[@]}") tb=$(med "${b[@]}")

# --- report ----------------------------------------------------------------------
{
	echo "## Mount benchmark ($(date -u +%Y-%m-%d), $(nproc) cores, medians of $RUNS runs)"
	echo
	echo "### 1. Sequential read of volume.img, $((bigsize >> 20)) MiB NTFS image"
	echo
	echo "First read after mounting (the image and the repositories in the page cache), and second (warm)."
	echo
	echo "vs sparse / vs allocated: the speed against reading the (sparse) image file and the same image with every"
	echo "block allocated, as a block device or a cloud volume would be read."
	echo
	echo "| reader | first (s) | MB/s | vs sparse | vs allocated | --repo faster by | second (s) | MB/s | vs sparse | vs allocated | --repo faster by |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|"
	row() {
		local f w
		eval "f=\$f_$1 w=\$w_$1"
		printf '| %s | %.3f | %s | %s | %s | %s | %.3f | %s | %s | %s | %s |\n' "$2" "$f" "$(rate "$bigsize" "$f")" \
			"$(ratio "$f_direct" "$f")" "$(ratio "$f_full" "$f")" "$(ratio "$f" "$f_repo")x" "$w" "$(rate "$bigsize" "$w")" \
			"$(ratio "$w_direct" "$w")" "$(ratio "$w_full" "$w")" "$(ratio "$w" "$w_repo")x"
	}
	row direct "the image file, sparse (cat)"
	row full "the image, every block allocated (cat)"
	row image "shadowrev mount IMAGE"
	row repo "shadowrev mount --repo"
	row restic "restic mount"
	row borg "borg mount"
	echo
	echo "All runs (s, first/second):"
	for k in $kinds; do echo "- $k: ${T1[$k]} / ${T2[$k]}"; done
	echo
	echo "### 2. A shadow copy's volume.img, fresh mount (the image in the page cache), $((imgsize >> 20)) MiB"
	echo
	echo "| shadow copy | vshadowmount (s) | shadowrev (s) | shadowrev vs vshadowmount |"
	echo "|---|---|---|---|"
	printf '%s\n' "${shadow_rows[@]}"
	echo
	echo "### 3. Every file of an NTFS tree ($files files), fresh mount"
	echo
	echo "| ntfs-3g (s) | shadowrev (s) | shadowrev vs ntfs-3g |"
	echo "|---|---|---|"
	printf '| %.3f | %.3f | %sx |\n' "$ta" "$tb" "$(ratio "$ta" "$tb")"
} | tee "$OUT"
