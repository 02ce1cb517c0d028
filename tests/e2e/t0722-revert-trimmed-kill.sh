#!/usr/bin/env bash
# kill -9 during a revert of a volume with trimmed, reused store files (issue
# #15), at moments picked from the revert's own progress (--progress=json): a
# phase (reading the blocks, or writing them: every other kill), a fraction of
# it taken from a report that is not the phase's last, then a random delay
# under 0.3 s (reports come every second, so the kill lands inside the phase).
# Running the same command again finishes the job, byte-identical to an
# uninterrupted revert. (3 kills here; tests/stress/t0722-revert-trimmed-kill-20.sh
# does 20.) Prints where the kills landed: before the journal (image untouched)
# or with a journal; every kill must land during the revert.
. "$(dirname "$0")/lib.sh"
need_cmd python3 python3
KILLS=${KILLS:-3}
G=$T/g
"$BUILD/tests/tools/mkvss" --out "$G" --size 256M --stores 8 --seed 51 --trim-stores --forwarders --no-states --quiet ||
	fail "mkvss"
id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["stores"][1]["shadow_id"])' "$G/manifest.json")
cp --sparse=always "$G/volume.img" "$T/ref.img"
$SR revert "$id" "$T/ref.img" --yes --quiet >/dev/null || fail "reference revert"
want=$(sha256sum <"$T/ref.img")
orig=$(sha256sum <"$G/volume.img")
mkfifo "$T/p"
before=0 journal=0 after=0
for i in $(seq "$KILLS"); do
	cp --sparse=always "$G/volume.img" "$T/t.img"
	phase=$([ $((i % 2)) = 1 ] && echo reading || echo writing)
	pct=$((RANDOM % 90))
	jitter=$(awk -v s="$RANDOM" 'BEGIN { srand(s); printf "%.3f", rand() * 0.3 }')
	SHADOWREV_TEST_READ_DELAY_US=3000 SHADOWREV_TEST_WRITE_DELAY_US=5000 \
		$SR revert "$id" "$T/t.img" --yes --progress=json >/dev/null 2>"$T/p" &
	pid=$!
	# the first progress report of that phase at or past pct % (not its last one), then the delay
	while read -r line; do
		case $line in
		*"\"progress\":\"$phase\""*'"final":false'*)
			d=$(sed 's/.*"done":\([0-9]*\).*/\1/' <<<"$line")
			t=$(sed 's/.*"total":\([0-9]*\).*/\1/' <<<"$line")
			if [ $((d * 100)) -ge $((t * pct)) ]; then
				sleep "$jitter"
				kill -9 $pid 2>/dev/null
				break
			fi
			;;
		esac
	done <"$T/p"
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	at="$phase $pct% + ${jitter}s"
	if [ -e "$T/t.img.shadowrev-journal" ]; then
		journal=$((journal + 1))
		state="journal"
	elif [ "$(sha256sum <"$T/t.img")" = "$orig" ]; then
		before=$((before + 1))
		state="untouched"
	else
		[ "$(sha256sum <"$T/t.img")" = "$want" ] || fail "kill $i ($at): no journal, and neither untouched nor reverted"
		after=$((after + 1))
		echo "# kill $i at $at: the revert had already finished"
		continue
	fi
	$SR revert "$id" "$T/t.img" --yes --quiet >/dev/null 2>"$T/err" ||
		fail "kill $i ($at, $state): rerun failed: $(cat "$T/err")"
	[ "$(sha256sum <"$T/t.img")" = "$want" ] || fail "kill $i ($at, $state): result differs from the uninterrupted revert"
	[ ! -e "$T/t.img.shadowrev-journal" ] || fail "kill $i: journal left behind"
	echo "# kill $i at $at ($state): finished, identical"
done
echo "# landed: $before before the journal was committed, $journal with a committed journal, $after after the end"
echo "# landed during the revert: $((before + journal)) of $KILLS"
[ "$after" = 0 ] || fail "$after of $KILLS kills came after the revert had finished"
[ "$KILLS" -lt 2 ] || [ "$journal" -ge 1 ] || fail "no kill landed while the revert was writing"
exit 0
