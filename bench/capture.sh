#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Capture benchmark, side by side with restic, borg and casync (Debian packages
# restic, borgbackup, casync), on a generated 4 GiB NTFS image with ~2.5 GiB in
# use (binaries, text, random data, duplicates, many small files) and a copy
# with ~2 % changed. Medians of RUNS runs (default 3), peak RSS from
# /usr/bin/time -v, repository sizes from du. Then the chunk-size sweep and
# the zstd level sweep (wall and CPU seconds: on a shared machine the CPU
# seconds are the steadier measure).
#
#   bench/capture.sh [WORKDIR]      (WORKDIR default /var/tmp/shadowrev-bench; needs ~20 GB, root for the
#                                    ntfs-3g mount used to fill the image)
#   RUNS=3 SIZES="64K 256K 1M 4M" LEVELS="1 2 3 4" BUILD=build
#
# Writes a Markdown table to stdout and to bench/RESULTS-capture.md.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$top/$BUILD ;; esac
SR=$BUILD/shadowrev
W=${1:-/var/tmp/shadowrev-bench}
RUNS=${RUNS:-3}
SIZES=${SIZES:-64K 256K 1M 4M}
LEVELS=${LEVELS:-1 2 3 4}
OUT=${OUT:-$here/RESULTS-capture.md}
export RESTIC_PASSWORD=bench BORG_PASSPHRASE=bench BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes
export BORG_RELOCATED_REPO_ACCESS_IS_OK=yes RESTIC_CACHE_DIR=$W/restic-cache

die() { echo "capture.sh: $*" >&2; exit 1; }
have() { command -v "$1" >/dev/null; }
[ -x "$SR" ] || die "build first ($SR missing)"
[ -x /usr/bin/time ] || die "needs /usr/bin/time (Debian package time)"
mkdir -p "$W"

# --- the images --------------------------------------------------------------
make_image() {
	local img=$W/vol.img mnt=$W/mnt
	[ -f "$img" ] && [ -f "$W/vol2.img" ] && return 0
	[ "$(id -u)" = 0 ] || die "making the image needs root (ntfs-3g mount)"
	rm -f "$img"
	truncate -s 4G "$img"
	mkntfs -q -F -f -L bench "$img" >/dev/null
	mkdir -p "$mnt"
	ntfs-3g "$img" "$mnt"
	trap 'umount "$mnt" 2>/dev/null || true' EXIT
	python3 - "$mnt" <<'PY'
import os, random, sys, shutil
root = sys.argv[1]; rnd = random.Random(42)
def w(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f: f.write(data)
# binaries: copies of real executables and libraries, ~700 MiB
bindir = os.path.join(root, "bin"); os.makedirs(bindir, exist_ok=True)
total = k = 0
for base in ("/usr/lib", "/usr/bin", "/usr/libexec", "/usr/share"):
    for d, _, fs in os.walk(base):
        for n in fs:
            p = os.path.join(d, n)
            if total > 700 << 20 or os.path.islink(p) or not os.path.isfile(p): continue
            try:
                sz = os.path.getsize(p)
                if sz < 4096 or sz > 64 << 20: continue
                shutil.copyfile(p, os.path.join(bindir, "%06d_%s" % (k, n)))
                total += sz; k += 1
            except OSError: pass
# text: generated logs and CSV, ~500 MiB
words = [l.strip() for l in open("/usr/share/dict/words")] if os.path.exists("/usr/share/dict/words") else ["alpha", "beta", "gamma", "delta", "server", "backup", "volume", "shadow", "copy", "error", "warning", "info"]
for i in range(50):
    lines = []
    for j in range(120000):
        lines.append("%08d %s %s %d %s\n" % (j, rnd.choice(words), rnd.choice(words), rnd.randrange(1 << 30), rnd.choice(words)))
    w(os.path.join(root, "text", "log%02d.txt" % i), "".join(lines).encode())
# random data (incompressible), ~800 MiB
for i in range(16):
    w(os.path.join(root, "random", "r%02d.bin" % i), os.urandom(50 << 20))
# duplicates: copies of some random and binary files, ~400 MiB
for i in range(8):
    shutil.copyfile(os.path.join(root, "random", "r%02d.bin" % i), os.path.join(root, "random", "dup%02d.bin" % i))
# many small files, ~100 MiB in 40000 files
for i in range(40000):
    w(os.path.join(root, "small", "d%03d" % (i // 400), "f%05d.dat" % i), os.urandom(rnd.randrange(100, 5000)))
PY
	sync
	umount "$mnt"
	trap - EXIT
	# the copy with ~2 % changed: rewrite parts of ~80 MiB of files in place, through ntfs-3g
	cp --sparse=always "$img" "$W/vol2.img"
	ntfs-3g "$W/vol2.img" "$mnt"
	python3 - "$mnt" <<'PY'
import os, random, sys
root = sys.argv[1]; rnd = random.Random(7)
files = sorted(os.path.join(d, n) for d, _, fs in os.walk(root) for n in fs)
changed = 0
while changed < 82 << 20:
    p = rnd.choice(files); sz = os.path.getsize(p)
    if sz < 65536: continue
    n = min(sz // 4, 2 << 20)
    with open(p, "r+b") as f:
        f.seek(rnd.randrange(0, sz - n)); f.write(os.urandom(n))
    changed += n
PY
	sync
	umount "$mnt"
}

# --- measuring ---------------------------------------------------------------
# run NAME CMD...: wall seconds and peak RSS (KiB) into $W/m.NAME.N
run() {
	local name=$1; shift
	sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
	# keep the source images in the page cache: we measure the tools, not the disk
	cat "$W/vol.img" "$W/vol2.img" >/dev/null
	/usr/bin/time -v -o "$W/time.txt" "$@" >"$W/out.txt" 2>&1 || { cat "$W/out.txt" >&2; die "$name failed"; }
	wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$W/time.txt" |
		awk -F: '{ if (NF == 3) print $1 * 3600 + $2 * 60 + $3; else print $1 * 60 + $2 }')
	rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$W/time.txt")
	echo "$wall $rss" >>"$W/m.$name"
}
# timed CMD...: "wall cpu" seconds (cpu = user + system) of one run, caches prepared as by run
timed() {
	sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
	cat "$W/vol.img" "$W/vol2.img" >/dev/null
	/usr/bin/time -f '%e %U %S' -o "$W/time1.txt" "$@" >"$W/out.txt" 2>&1 || { cat "$W/out.txt" >&2; die "$1 failed"; }
	awk '{ printf "%.2f %.2f\n", $1, $2 + $3 }' "$W/time1.txt"
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
col() { awk -v c="$2" '{ print $c }' "$W/m.$1" | median; }
dusize() { du -sb "$1" | cut -f1; }

tools=(shadowrev)
have restic && tools+=(restic)
have borg && tools+=(borg)
have casync && tools+=(casync)

make_image
# the changed ranges (64 KiB granularity), from a diff of the two images, outside any timing
[ -f "$W/changed.ranges" ] || python3 - "$W" <<'PY'
import sys
w = sys.argv[1]
a, b = open(w + "/vol.img", "rb"), open(w + "/vol2.img", "rb")
with open(w + "/changed.ranges", "w") as out:
    off = 0
    while True:
        x, y = a.read(1 << 16), b.read(1 << 16)
        if not x: break
        if x != y: out.write("%d %d\n" % (off, len(x)))
        off += len(x)
PY
rm -f "$W"/m.*
for i in $(seq 1 "$RUNS"); do
	for t in "${tools[@]}"; do
		rm -rf "$W/repo-$t" "$W/restic-cache"
		case $t in
		shadowrev)
			"$SR" init --repo "$W/repo-$t" --quiet
			run "$t-full" "$SR" capture --repo "$W/repo-$t" --instance bench C:="$W/vol.img" --quiet
			run "$t-incr" "$SR" capture --repo "$W/repo-$t" --instance bench C:="$W/vol2.img" --quiet
			# as a caller that tracks changes (CBT) would: only the changed ranges are read
			rm -rf "$W/repo-cbt"
			"$SR" init --repo "$W/repo-cbt" --quiet
			"$SR" capture --repo "$W/repo-cbt" --instance bench C:="$W/vol.img" --quiet
			run "$t-cbt" "$SR" capture --repo "$W/repo-cbt" --instance bench C:="$W/vol2.img" \
				--changed-blocks "$W/changed.ranges" --quiet
			;;
		restic)
			restic init --repo "$W/repo-$t" -q
			# --compression auto: restic's default, the fastest sensible one (max is several times slower)
			run "$t-full" restic --repo "$W/repo-$t" -q backup --compression auto --host bench "$W/vol.img"
			cp "$W/vol2.img" "$W/vol.img.new" && mv "$W/vol.img" "$W/vol1.keep" && mv "$W/vol.img.new" "$W/vol.img"
			run "$t-incr" restic --repo "$W/repo-$t" -q backup --compression auto --host bench "$W/vol.img"
			mv "$W/vol1.keep" "$W/vol.img"
			;;
		borg)
			borg init -e none "$W/repo-$t"
			# borg's default chunker (buzhash) and default compression (lz4)
			run "$t-full" borg create "$W/repo-$t::a" "$W/vol.img"
			run "$t-incr" borg create "$W/repo-$t::b" "$W/vol2.img"
			;;
		casync)
			mkdir -p "$W/repo-$t"
			run "$t-full" casync make --store="$W/repo-$t/store" "$W/repo-$t/a.caibx" "$W/vol.img"
			run "$t-incr" casync make --store="$W/repo-$t/store" "$W/repo-$t/b.caibx" "$W/vol2.img"
			;;
		esac
		dusize "$W/repo-$t" >>"$W/m.$t-size"
	done
done

{
	echo "## Capture benchmark ($(date -u +%Y-%m-%d), $(nproc) cores, medians of $RUNS runs)"
	echo
	echo "4 GiB NTFS image, ~2.5 GiB in use; incremental: a copy with ~2 % changed (of the used data)."
	echo
	echo "| tool | full (s) | incremental (s) | repository after both (MB) | peak RSS full (MiB) | full vs shadowrev | incremental vs shadowrev |"
	echo "|---|---|---|---|---|---|---|"
	sf=$(col shadowrev-full 1); si=$(col shadowrev-incr 1)
	for t in "${tools[@]}"; do
		f=$(col "$t-full" 1); inc=$(col "$t-incr" 1); r=$(col "$t-full" 2); s=$(median <"$W/m.$t-size")
		printf '| %s | %.1f | %.1f | %d | %d | %.1fx | %.1fx |\n' "$t" "$f" "$inc" $((s / 1000000)) $((r / 1024)) \
			"$(echo "$f / $sf" | bc -l)" "$(echo "$inc / $si" | bc -l)"
	done
	c=$(col shadowrev-cbt 1)
	printf '\nshadowrev incremental with --changed-blocks (ranges as CBT would give them): %.1f s; restic incremental / this: %.1fx\n' \
		"$c" "$(echo "$(col restic-incr 1) / $c" | bc -l 2>/dev/null || echo 0)"
	echo
	echo "### shadowrev chunk sizes (one run each)"
	echo
	echo "| chunk size | full (s) | repository after full (MB) | incremental (s) | incremental new bytes stored (MB) | new plain (MB) | dedup in full (MB reused) |"
	echo "|---|---|---|---|---|---|---|"
	for cs in $SIZES; do
		rm -rf "$W/repo-cs"
		"$SR" init --repo "$W/repo-cs" --chunk-size "$cs" --quiet
		t0=$(date +%s.%N)
		"$SR" capture --repo "$W/repo-cs" --instance b C:="$W/vol.img" --quiet --json >"$W/cs-full.json"
		t1=$(date +%s.%N)
		s1=$(dusize "$W/repo-cs")
		"$SR" capture --repo "$W/repo-cs" --instance b C:="$W/vol2.img" --quiet --json >"$W/cs-incr.json"
		t2=$(date +%s.%N)
		g() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['total'][sys.argv[2]])" "$1" "$2"; }
		printf '| %s | %.1f | %d | %.1f | %d | %d | %d |\n' "$cs" "$(echo "$t1 - $t0" | bc -l)" $((s1 / 1000000)) \
			"$(echo "$t2 - $t1" | bc -l)" $(($(g "$W/cs-incr.json" stored_bytes) / 1000000)) \
			$(($(g "$W/cs-incr.json" new_bytes) / 1000000)) $(($(g "$W/cs-full.json" reused_bytes) / 1000000))
	done
	echo
	echo "### shadowrev zstd levels (init --level; one run each, chunk size 1M)"
	echo
	echo "| level | full (s) | full CPU (s) | repository after full (MB) | incremental (s) | incremental CPU (s) | repository after both (MB) |"
	echo "|---|---|---|---|---|---|---|"
	for l in $LEVELS; do
		rm -rf "$W/repo-lv"
		"$SR" init --repo "$W/repo-lv" --level "$l" --quiet
		full=$(timed "$SR" capture --repo "$W/repo-lv" --instance b C:="$W/vol.img" --quiet)
		s1=$(dusize "$W/repo-lv")
		incr=$(timed "$SR" capture --repo "$W/repo-lv" --instance b C:="$W/vol2.img" --quiet)
		printf '| %s | %.1f | %.1f | %d | %.1f | %.1f | %d |\n' "$l" $full $((s1 / 1000000)) $incr \
			$(($(dusize "$W/repo-lv") / 1000000))
	done
	rm -rf "$W/repo-lv"
} | tee "$OUT"
