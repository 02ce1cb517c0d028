#!/usr/bin/env bash
# bench/mount.sh: shadowrev mount against its peers, side by side, medians of 3.
#   1. sequential read of volume.img, warm, vs reading the image file directly
#   2. a shadow copy's volume.img (fresh mount each run) vs vshadowmount's file
#   3. reading every file of an NTFS tree (fresh mount each run) vs ntfs-3g on the raw image
# Usage: bench/mount.sh [VSS-IMAGE]   (default: build/cache/vsstest.raw). Needs root, FUSE,
# libvshadow-utils, ntfs-3g. Prints ratios; > 1 means shadowrev is faster.
set -u
SR=${SR:-$(dirname "$0")/../build/shadowrev}
img=${1:-$(dirname "$0")/../build/cache/vsstest.raw}
W=$(mktemp -d /tmp/bench-mount.XXXXXX)
trap 'for m in "$W"/m*; do $SR unmount "$m" 2>/dev/null; fusermount3 -u "$m" 2>/dev/null; umount "$m" 2>/dev/null; done; rm -rf "$W"' EXIT
mkdir "$W/m1" "$W/m2"

t() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc; }
median() { printf '%s\n' "$@" | sort -g | sed -n 2p; }
readall() { cat "$1" >/dev/null; }
readtree() { find "$1" -type f -print0 | xargs -0 cat >/dev/null; }

size=$(stat -c %s "$img")
echo "image: $img ($((size >> 20)) MiB)"

# 1. warm sequential read
$SR mount "$img" "$W/m1" || exit 1
v=$(ls "$W/m1" | grep -v by-shadow-id | head -1)
readall "$img"; readall "$W/m1/$v/volume.img"
a=(); b=()
for i in 1 2 3; do a+=("$(t readall "$img")"); b+=("$(t readall "$W/m1/$v/volume.img")"); done
ma=$(median "${a[@]}"); mb=$(median "${b[@]}")
printf '1. volume.img warm: source %.3fs, shadowrev %.3fs: %.2fx of direct (%.0f MB/s)\n' "$ma" "$mb" \
	"$(echo "$ma / $mb" | bc -l)" "$(echo "$size / $mb / 1000000" | bc -l)"
id=$(ls "$W/m1/$v/shadows" | head -1)
$SR unmount "$W/m1"

# 2. a shadow copy's volume.img, fresh mounts
a=(); b=()
for i in 1 2 3; do
	vshadowmount "$img" "$W/m2" >/dev/null
	a+=("$(t readall "$W/m2/vss1")")
	fusermount3 -u "$W/m2"
	$SR mount "$img" "$W/m1"
	b+=("$(t readall "$W/m1/$v/shadows/$id/volume.img")")
	$SR unmount "$W/m1"
done
ma=$(median "${a[@]}"); mb=$(median "${b[@]}")
printf '2. shadow volume.img: vshadowmount %.3fs, shadowrev %.3fs: %.2fx\n' "$ma" "$mb" "$(echo "$ma / $mb" | bc -l)"

# 3. every file of an NTFS tree: a generated volume with many files of mixed sizes
tree="$W/tree.img"
truncate -s 1G "$tree"
mkntfs -q -F -f "$tree" >/dev/null 2>&1
mkdir "$W/rw"
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
files=$(ntfsls -R "$tree" | grep -c '^f')
a=(); b=()
for i in 1 2 3; do
	ntfs-3g -o ro "$tree" "$W/m2"
	a+=("$(t readtree "$W/m2")")
	umount "$W/m2"
	$SR mount "$tree" "$W/m1"
	b+=("$(t readtree "$W/m1/tree.img/files")")
	$SR unmount "$W/m1"
done
ma=$(median "${a[@]}"); mb=$(median "${b[@]}")
printf '3. every file (%s files): ntfs-3g %.3fs, shadowrev %.3fs: %.2fx\n' "$files" "$ma" "$mb" "$(echo "$ma / $mb" | bc -l)"
echo "4. restic/borg mount of a captured 4 GiB image: not measured by this script yet"
