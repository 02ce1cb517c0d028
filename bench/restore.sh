#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Restore benchmark, side by side in one run:
#   files:    `shadowrev restore files SET:C: / --to DIR` from the repository against `restic restore` of the
#             same files (restic backup of the ntfs-3g-mounted tree), both followed by sync (we syncfs; restic
#             does not flush), page cache dropped before each run;
#   instance: `shadowrev restore instance SET --to DIR` (the 4 GiB volume, holes where unallocated; it ends
#             with fsync) against a plain sequential write of the same number of bytes it wrote, to the same
#             file system: dd of random bytes (from memory, so that nothing can skip zeros) with
#             conv=fsync, through the page cache and with oflag=direct; the ratio is given against both.
#             The instance restore runs twice: with the repository on the same disk as the target (the
#             restore then reads ~1.7 GB of chunks from the disk it writes to) and with a copy of it on
#             another device (tmpfs here, standing in for the backup storage a restore reads from).
# Medians of RUNS runs (default 3), ratios. The image is bench/capture.sh's 4 GiB NTFS image with ~2.5 GiB
# in use (made here if absent, same generator). Both repositories are made again when the image changed
# since they were; shadowrev's also when the shadowrev binary changed (or cannot read it any more).
#
#   bench/restore.sh [WORKDIR]     (default /var/tmp/shadowrev-bench; needs ~20 GB, 5 GB of /dev/shm and root)
#
# Writes a Markdown table to stdout and to bench/RESULTS-restore.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$top/$BUILD ;; esac
SR=$BUILD/shadowrev
W=${1:-/var/tmp/shadowrev-bench}
RUNS=${RUNS:-3}
OUT=${OUT:-$here/RESULTS-restore.md}
export RESTIC_PASSWORD=bench RESTIC_CACHE_DIR=$W/restic-cache
die() { echo "restore.sh: $*" >&2; exit 1; }
[ -x "$SR" ] || die "build first ($SR missing)"
command -v restic >/dev/null || die "needs restic (Debian package restic)"
[ "$(id -u)" = 0 ] || die "needs root (ntfs-3g mount, drop_caches)"
mkdir -p "$W"
img=$W/vol.img mnt=$W/mnt rnd=/dev/shm/shadowrev-bench-dd.$$ shmrepo=/dev/shm/shadowrev-bench-repo.$$
trap 'rm -rf "$rnd" "$shmrepo"' EXIT

if [ ! -f "$img" ]; then
	# the image of bench/capture.sh (its make_image, first half)
	eval "$(sed -n '/^make_image() {/,/^}/p' "$here/capture.sh" | sed '/# the copy with ~2 % changed/,/^}/c\}')"
	make_image
fi

t() { # seconds of "$@" (its stdout to $W/out)
	local t0 t1
	t0=$(date +%s.%N)
	"$@" >"$W/out" 2>"$W/err" || { cat "$W/err" >&2; die "failed: $*"; }
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}
drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
# after removing a restored tree: ext4 without a journal skips inodes freed in the last 5 s when it
# allocates new ones, so the next tree would pay for the one just removed
settle() { sync; sleep 6; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# --- the repositories (made again when the image is not the one they hold) -----
stamp=$(stat -c '%s %Y' "$img")
# shadowrev's repository is also made again by another shadowrev binary: it measures what this one writes
srstamp="$stamp $(sha256sum <"$SR" | cut -c1-16)"
R=$W/restore-repo
if [ ! -f "$W/restore-set" ] || [ "$(cat "$W/restore-srstamp" 2>/dev/null)" != "$srstamp" ] ||
	! "$SR" sets --repo "$R" >/dev/null 2>&1; then
	rm -rf "$R" "$W/restore-set"
	$SR init --repo "$R" --quiet
	$SR capture --repo "$R" --instance bench C:="$img" --quiet
	$SR sets --repo "$R" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["sets"][-1]["set_id"])' >"$W/restore-set"
	echo "$srstamp" >"$W/restore-srstamp"
fi
set_id=$(cat "$W/restore-set")
RR=$W/restic-restore-repo
if [ ! -f "$RR/config" ] || [ "$(cat "$W/restore-stamp" 2>/dev/null)" != "$stamp" ]; then
	rm -rf "$RR"
	restic init --repo "$RR" -q
	mkdir -p "$mnt"
	ntfs-3g -o ro "$img" "$mnt"
	(cd "$mnt" && restic backup --repo "$RR" -q .) || { umount "$mnt"; die "restic backup"; }
	umount "$mnt"
fi
echo "$stamp" >"$W/restore-stamp"

# --- runs, interleaved --------------------------------------------------------
: >"$W/r.sr" >"$W/r.restic" >"$W/r.inst" >"$W/r.inst2" >"$W/r.dd" >"$W/r.ddd"
cp -a "$R" "$shmrepo"
rm -rf "$W/out-sr" "$W/out-restic" "$W/out-inst" "$W/dd.img"
settle
for i in $(seq "$RUNS"); do
	drop; t sh -c "'$SR' restore files '$set_id:C:' / --repo '$R' --to '$W/out-sr' --quiet --progress=none && sync" >>"$W/r.sr"
	rm -rf "$W/out-sr"
	settle
	drop; t sh -c "restic restore --repo '$RR' -q latest --target '$W/out-restic' && sync" >>"$W/r.restic"
	rm -rf "$W/out-restic"
	drop; t "$SR" restore instance "$set_id" --repo "$R" --to "$W/out-inst" --no-boot-check --json --progress=none >>"$W/r.inst"
	written=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["bytes_written"])' <"$W/out")
	rm -rf "$W/out-inst"
	settle
	drop; t "$SR" restore instance "$set_id" --repo "$shmrepo" --to "$W/out-inst" --no-boot-check --json --progress=none >>"$W/r.inst2"
	rm -rf "$W/out-inst"
	blocks=$(((written + 4194303) / 4194304))
	[ -f "$rnd" ] || head -c $((blocks * 4194304)) /dev/urandom >"$rnd"
	drop; t dd if="$rnd" of="$W/dd.img" bs=4M count=$blocks iflag=fullblock conv=fsync status=none >>"$W/r.dd"
	rm -f "$W/dd.img"
	drop; t dd if="$rnd" of="$W/dd.img" bs=4M count=$blocks iflag=fullblock oflag=direct conv=fsync status=none >>"$W/r.ddd"
	rm -f "$W/dd.img"
	settle
done
sr=$(median <"$W/r.sr"); rs=$(median <"$W/r.restic"); inst=$(median <"$W/r.inst"); inst2=$(median <"$W/r.inst2")
dd=$(median <"$W/r.dd"); ddd=$(median <"$W/r.ddd")
ddbytes=$((blocks * 4194304))
mb() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.0f", (s > 0 ? b / s / 1e6 : 0) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
# throughput ratio: (written / inst) / (ddbytes / dd)
tput() { awk -v w="$written" -v i="${2:-$inst}" -v d="$ddbytes" -v t="$1" 'BEGIN { printf "%.2f", (i > 0 && t > 0 ? (w / i) / (d / t) : 0) }'; }
used=$(ntfsinfo -f -m "$img" 2>/dev/null | awk '/Free Clusters/ { f = $3 } /Cluster Size/ { c = $3 } /Volume Size in Clusters/ { n = $5 } END { print (n - f) * c }')
{
	echo "# Restore benchmark ($(date -u +%Y-%m-%d), $(nproc) cores, medians of $RUNS)"
	echo
	echo "Image: 4 GiB NTFS, $(awk -v u="$used" 'BEGIN { printf "%.2f", u / 2^30 }') GiB in use. Times include sync (files)"
	echo "and fsync (instance, dd); page cache dropped before each run."
	echo
	echo "| job | shadowrev | peer | peer time | ratio |"
	echo "|---|---|---|---|---|"
	echo "| files to a folder | ${sr} s | restic restore | ${rs} s | $(ratio "$rs" "$sr")x (restic / shadowrev; >1: shadowrev faster) |"
	echo "| whole instance, repository on the target's disk | ${inst} s ($(mb "$written" "$inst") MB/s of data written) | dd conv=fsync (page cache), $ddbytes random bytes | ${dd} s ($(mb "$ddbytes" "$dd") MB/s) | $(tput "$dd") of dd's throughput |"
	echo "| | | dd oflag=direct conv=fsync, same bytes | ${ddd} s ($(mb "$ddbytes" "$ddd") MB/s) | $(tput "$ddd") of dd's throughput |"
	echo "| whole instance, repository on another device (tmpfs) | ${inst2} s ($(mb "$written" "$inst2") MB/s) | dd conv=fsync (page cache) | ${dd} s | $(tput "$dd" "$inst2") of dd's throughput |"
	echo "| | | dd oflag=direct conv=fsync | ${ddd} s | $(tput "$ddd" "$inst2") of dd's throughput |"
	echo
	echo "Runs (s): shadowrev files $(tr '\n' ' ' <"$W/r.sr"); restic $(tr '\n' ' ' <"$W/r.restic");"
	echo "instance $(tr '\n' ' ' <"$W/r.inst"); instance, repository on tmpfs $(tr '\n' ' ' <"$W/r.inst2"); dd $(tr '\n' ' ' <"$W/r.dd"); dd direct $(tr '\n' ' ' <"$W/r.ddd")"
} | tee "$OUT"
