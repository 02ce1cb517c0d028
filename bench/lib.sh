# Shared helpers for bench/*.sh (sourced). Benchmarks run side by side with
# the peers in one run and report medians and ratios, never pass/fail on time.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
SR=$BUILD/shadowrev
MKVSS=$BUILD/tests/tools/mkvss
BENCH_DIR=${BENCH_DIR:-/var/tmp/shadowrev-bench}
RUNS=${RUNS:-3}
mkdir -p "$BENCH_DIR"

# seconds CMD...: wall time of one run (stdout of CMD discarded)
seconds() {
	local t0 t1
	t0=$(date +%s.%N)
	"$@" >/dev/null
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}

# median_of CMD...: runs CMD $RUNS times, prints the median wall time
median_of() {
	local i
	for i in $(seq "$RUNS"); do seconds "$@"; done | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}

# rate BYTES SECONDS: MB/s
rate() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.0f", (s > 0 ? b / s / 1e6 : 0) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

need() { command -v "$1" >/dev/null || { echo "bench: $1 is missing (scripts/install-deps --bench)" >&2; exit 1; }; }
