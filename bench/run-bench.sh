#!/usr/bin/env bash
# make bench: every bench/*.sh but the helpers, one after the other; the
# results also go to build/bench/results-<time>.txt. BENCH=name runs one.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${BUILD:-build}/bench
mkdir -p "$out"
log=$out/results-$(date +%Y%m%d-%H%M%S).txt
status=0
for b in bench/*.sh; do
	name=$(basename "$b" .sh)
	case "$name" in lib | run-bench) continue ;; esac
	[ -n "${BENCH:-}" ] && [ "$BENCH" != "$name" ] && continue
	echo "### $name" | tee -a "$log"
	if ! bash "$b" 2>&1 | tee -a "$log"; then
		echo "### $name failed" | tee -a "$log"
		status=1
	fi
done
echo "results: $log"
exit $status
