#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The test runner of `make check`, `make asan` and `make stress`:
#   BUILD=build tests/run-tests.sh
# runs, in order: the layer check, every unit test binary, every end-to-end
# script tests/e2e/tNNNN-*.sh, every fuzz target's corpus through its replay
# driver, and with STRESS=1 the scripts in tests/stress/. One line per test
# ("PASS name", "FAIL name", "SKIP name: reason"), then the details of each
# failure, and last exactly one line "N passed, N failed, N skipped". Exits
# 1 if anything failed. Each test's full output is kept in $BUILD/test-logs/.
#
# Environment:
#   BUILD             the build directory (default build)
#   JOBS              e2e scripts run at once (default 1: some use loop
#                     devices, mounts and timings that do not bear a
#                     neighbour)
#   E2E_TIMEOUT       seconds per e2e script (default 300)
#   UNIT_TIMEOUT      seconds per unit test binary and corpus replay (120)
#   STRESS_TIMEOUT    seconds per stress script (1800; always one at a time)
#   SHADOWREV_SHARED  the shared test data (default ../shared)
#   TESTS             a shell pattern: run only the tests whose name matches,
#                     e.g. TESTS='e2e/t01*' or TESTS='unit/*'
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
export BUILD=${BUILD:-build}
JOBS=${JOBS:-1}
E2E_TIMEOUT=${E2E_TIMEOUT:-300}
UNIT_TIMEOUT=${UNIT_TIMEOUT:-120}
STRESS_TIMEOUT=${STRESS_TIMEOUT:-1800}
TESTS=${TESTS:-*}
logs=$BUILD/test-logs
mkdir -p "$logs"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

passed=0 failed=0 skipped=0
failures=()
start=$SECONDS

log_of() { echo "$logs/${1//\//_}.log"; }

# seconds each test took, for finding slow ones: $BUILD/test-logs/times
: >"$logs/times"
t0=$SECONDS
took() { echo "$((SECONDS - t0)) $1" >>"$logs/times"; t0=$SECONDS; }

pass() { echo "PASS $1"; passed=$((passed + 1)); took "$1"; }
skip() { echo "SKIP $1: $2"; skipped=$((skipped + 1)); took "$1"; }
# fail NAME WHY [DETAILS...]: details are shown after the summary of lines
fail() {
	local name=$1 why=$2
	shift 2
	echo "FAIL $name${why:+ ($why)}"
	failed=$((failed + 1))
	took "$name"
	failures+=("$name" "$(printf '%s\n' "$@")")
}

selected() { [[ $1 == $TESTS ]]; }

# start_script NAME TIMEOUT SCRIPT: run it in the background (at most $JOBS at
# once); report_script NAME TIMEOUT, in order, once it is done: exit 0 pass,
# 77 skip (the reason: its last "SKIP: ..." line), anything else fail.
start_script() {
	local name=$1 limit=$2 script=$3 log
	log=$(log_of "$name")
	while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n 2>/dev/null || true; done
	(
		s=$SECONDS
		local san=$log.san
		[[ $san == /* ]] || san=$repo/$san
		rm -f "$san".*
		# sanitizer reports of every process the test starts (mount daemons send stderr to /dev/null)
		# go to files beside its log; any such file fails the test
		ASAN_OPTIONS="$ASAN_OPTIONS:log_path=$san" UBSAN_OPTIONS="$UBSAN_OPTIONS:log_path=$san" \
			timeout --kill-after=10 "$limit" bash "$script" </dev/null >"$log" 2>&1
		echo "$? $((SECONDS - s))" >"$log.rc"
	) &
}
report_script() {
	local name=$1 limit=$2 log rc secs reason
	log=$(log_of "$name")
	read -r rc secs <"$log.rc" || rc=255 secs=0
	rm -f "$log.rc"
	if compgen -G "$log.san.*" >/dev/null; then
		fail "$name" "sanitizer report" "$(cat "$log".san.* | head -n 60)"
		sed -i '$ s/^[0-9]* /'"$secs"' /' "$logs/times"
		return
	fi
	case $rc in
	0) pass "$name" ;;
	77)
		reason=$(grep -a '^SKIP: ' "$log" | tail -n 1 | cut -c7-)
		skip "$name" "${reason:-no reason given}"
		;;
	124 | 137) fail "$name" "timed out after $limit s" "$(tail -n 30 "$log")" ;;
	*) fail "$name" "exit $rc" "$(tail -n 30 "$log")" ;;
	esac
	sed -i '$ s/^[0-9]* /'"$secs"' /' "$logs/times"
}
# run_scripts TIMEOUT PREFIX SCRIPT...: all of them, $JOBS at a time, each
# reported (in order) as soon as it and those before it are done
run_scripts() {
	local limit=$1 prefix=$2 script name names=() next=0
	shift 2
	for script in "$@"; do
		[ -e "$script" ] || continue
		name=$prefix/$(basename "$script" .sh)
		selected "$name" || continue
		names+=("$name")
		start_script "$name" "$limit" "$script"
		[ "$JOBS" -gt 1 ] || wait
		while [ $next -lt ${#names[@]} ] && [ -e "$(log_of "${names[next]}").rc" ]; do
			report_script "${names[next]}" "$limit"
			next=$((next + 1))
		done
	done
	wait
	while [ $next -lt ${#names[@]} ]; do
		report_script "${names[next]}" "$limit"
		next=$((next + 1))
	done
}

# 1. the module graph
if selected layers; then
	log=$(log_of layers)
	t0=$SECONDS
	if tests/check-layers.sh >"$log" 2>&1; then
		pass layers
	else
		fail layers "" "$(cat "$log")"
	fi
fi

# 1b. files are created safely (O_EXCL/O_NOFOLLOW, io_new_open)
if selected creat; then
	log=$(log_of creat)
	if tests/check-creat.sh >"$log" 2>&1; then
		pass creat
	else
		fail creat "" "$(cat "$log")"
	fi
fi

# 2. unit tests: one test per binary; a binary passes with exit 0, a plan,
# and no "not ok" line other than a TODO.
for src in tests/unit/test-*.c; do
	[ -e "$src" ] || continue
	t=$(basename "$src" .c)
	name=unit/$t
	selected "$name" || continue
	bin=$BUILD/tests/unit/$t
	log=$(log_of "$name")
	t0=$SECONDS
	if ! [ -x "$bin" ]; then
		fail "$name" "not built: $bin"
		continue
	fi
	timeout --kill-after=10 "$UNIT_TIMEOUT" "$bin" </dev/null >"$log" 2>&1
	rc=$?
	notok=$(awk '/^not ok / && !/# TODO/ { show = 1; print; next } show && /^#/ { print; next } { show = 0 }' "$log")
	if [ $rc -eq 0 ] && [ -z "$notok" ] && grep -qE '^1\.\.[0-9]+' "$log"; then
		pass "$name"
	elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
		fail "$name" "timed out after $UNIT_TIMEOUT s" "$(tail -n 20 "$log")"
	elif [ -n "$notok" ]; then
		fail "$name" "exit $rc" "$notok"
	else
		fail "$name" "exit $rc, no complete TAP output" "$(tail -n 20 "$log")"
	fi
done

# 3. end-to-end scripts
run_scripts "$E2E_TIMEOUT" e2e tests/e2e/t[0-9]*.sh

# 4. each fuzz target's corpus, replayed through the target (sanitized under make asan)
for src in tests/fuzz/fuzz-*.c; do
	[ -e "$src" ] || continue
	t=$(basename "$src" .c)
	t=${t#fuzz-}
	name=fuzz/$t
	selected "$name" || continue
	bin=$BUILD/tests/fuzz/replay-$t
	corpus=tests/fuzz/corpus/$t
	log=$(log_of "$name")
	t0=$SECONDS
	if ! [ -d "$corpus" ]; then
		skip "$name" "no corpus in $corpus"
	elif ! [ -x "$bin" ]; then
		fail "$name" "not built: $bin"
	elif REPLAY_VERBOSE=1 timeout --kill-after=10 "$UNIT_TIMEOUT" "$bin" "$corpus" </dev/null >"$log" 2>&1; then
		pass "$name"
	else
		fail "$name" "exit $?" "$(grep -a -v '^replay: .*bytes)$' "$log" | tail -n 30)" \
			"last input: $(grep -a '^replay: .*bytes)$' "$log" | tail -n 1)"
	fi
done

# 5. stress (make stress)
if [ "${STRESS:-0}" = 1 ]; then
	JOBS=1 run_scripts "$STRESS_TIMEOUT" stress tests/stress/*.sh
fi

if [ ${#failures[@]} -gt 0 ]; then
	echo
	for ((i = 0; i < ${#failures[@]}; i += 2)); do
		echo "--- ${failures[i]} (full output: $(log_of "${failures[i]}"))"
		[ -n "${failures[i + 1]}" ] && printf '%s\n' "${failures[i + 1]}" | sed 's/^/    /'
	done
	echo
fi
echo "# $((SECONDS - start)) s, BUILD=$BUILD"
echo "$passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
