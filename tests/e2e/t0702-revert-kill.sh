#!/usr/bin/env bash
# kill -9 at random moments of a revert: running the same command again
# finishes it, and the result is byte-identical to an uninterrupted revert.
# (3 kills here; tests/stress/t0702-revert-kill-20.sh does 20.)
. "$(dirname "$0")/lib.sh"
need_shared
img=$(vsstest_raw)
KILLS=${KILLS:-3}

cp --sparse=always "$img" "$T/ref.img"
$SR revert 4e3c03c2 "$T/ref.img" --yes --quiet >/dev/null || fail "reference revert"
want=$(sha256sum <"$T/ref.img")

for i in $(seq "$KILLS"); do
	cp --sparse=always "$img" "$T/t.img"
	# 468 blocks read at 1 ms, then 30 writes at 20 ms: kill somewhere in 0..1.2 s
	delay=$(awk -v s="$RANDOM" 'BEGIN { srand(s); printf "%.3f", rand() * 1.2 }')
	SHADOWREV_TEST_READ_DELAY_US=1000 SHADOWREV_TEST_WRITE_DELAY_US=20000 $SR revert 4e3c03c2 "$T/t.img" --yes --quiet >/dev/null 2>&1 &
	pid=$!
	sleep "$delay"
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	state="untouched"
	cmp -s "$img" "$T/t.img" || state="partly written"
	[ -e "$T/t.img.shadowrev-journal" ] && state="$state, journal"
	if [ ! -e "$T/t.img.shadowrev-journal" ] && [ "$(sha256sum <"$T/t.img")" = "$want" ]; then
		echo "# kill $i after ${delay}s: the revert had already finished"
		continue
	fi
	$SR revert 4e3c03c2 "$T/t.img" --yes --quiet >/dev/null 2>"$T/err" ||
		fail "kill $i (after ${delay}s, $state): rerun failed: $(cat "$T/err")"
	[ "$(sha256sum <"$T/t.img")" = "$want" ] || fail "kill $i (after ${delay}s, $state): result differs"
	[ ! -e "$T/t.img.shadowrev-journal" ] || fail "kill $i: journal left behind"
	echo "# kill $i after ${delay}s ($state): finished, identical"
done
exit 0
