#!/usr/bin/env bash
# kill -9 of a capture in the middle of its work, for plain (--no-piece-dedup),
# encrypted and piece-dedup captures: the kill is triggered by the capture's
# progress (SHADOWREV_TEST_KILL_AFTER_BYTES: the process SIGKILLs itself once
# its workers have handled that many bytes, a random point of the volume), so
# that every kill lands inside a capture; the test counts them. After each
# kill: no partial set is listed; the next capture
# succeeds; with every file aged past gc's margin, gc removes the dead
# writer's lock, temporary files, index directory and unreferenced chunks;
# every committed set still verifies and exports equal to its source (sha256).
# KILLS=n per variant (default 1; the stress version runs 20).
. "$(dirname "$0")/lib.sh"
need_cmd python3 python3
KILLS=${KILLS:-1}
size=$((160 * 1048576))
export SHADOWREV_PASSPHRASE=kill-test

head -c $size /dev/urandom >"$T/v.img"
for variant in plain encrypted piece-dedup; do
	r=$T/r-$variant
	opt=
	case $variant in
	plain) $SR init --repo "$r" --quiet && opt=--no-piece-dedup ;;
	encrypted) $SR init --repo "$r" --encrypt --quiet ;;
	piece-dedup) $SR init --repo "$r" --quiet ;;
	esac || fail "init $variant"
	good=0 landed=0 prev=
	for k in $(seq 1 "$KILLS"); do
		# new data each round, so that the capture writes chunks when it is killed, and a copy of 8 MiB of it
		# at an offset off the chunk grid, so that it writes composite chunks too (piece dedup)
		python3 -c "
import os, random, sys
f = open(sys.argv[1], 'r+b'); d = os.urandom(64 << 20)
f.seek(random.randrange(0, 96) << 20); f.write(d)
f.seek(random.randrange(0, 150 << 20)); f.write(d[:8 << 20])" "$T/v.img"
		at=$(python3 -c "import random; print(random.randrange(1, $size))")
		SHADOWREV_TEST_KILL_AFTER_BYTES=$at $SR capture --repo "$r" --instance srv $opt C:="$T/v.img" --quiet \
			>/dev/null 2>&1
		rc=$?
		case $rc in
		137) landed=$((landed + 1)) ;;
		0) good=$((good + 1)) ;;
		*) fail "$variant round $k: capture killed after $at bytes exited $rc" ;;
		esac
		n=$($SR sets --repo "$r" --json | grep -c '"set_id"')
		[ "$n" = "$good" ] || fail "$variant round $k: $n sets listed, $good captures finished"
		[ -n "$(ls "$r/locks" | grep '^writer-')" ] || fail "$variant round $k: the killed capture left no writer lock"

		# and 8 MiB that no capture has seen yet, twice: this capture writes composites whatever the kill reached
		python3 -c "
import os, random, sys
f = open(sys.argv[1], 'r+b'); d = os.urandom(8 << 20)
f.seek(random.randrange(0, 70 << 20)); f.write(d)
f.seek(random.randrange(80 << 20, 150 << 20)); f.write(d)" "$T/v.img"
		$SR capture --repo "$r" --instance srv $opt C:="$T/v.img" --json >"$T/cap.json" ||
			fail "$variant round $k: capture after kill"
		good=$((good + 1))
		set_id=$(sed -n 's/.*"set_id": "\([0-9a-f-]*\)".*/\1/p' "$T/cap.json" | head -1)
		id=$(sed -n 's/.*"shadow_id": "\([0-9a-f-]*\)".*/\1/p' "$T/cap.json" | head -1)
		sha=$(sha256sum <"$T/v.img" | cut -d' ' -f1)
		# keep the repository small: only this set and the one before
		if [ -n "$prev" ]; then
			$SR delete --repo "$r" set "$prev" --quiet || fail "$variant round $k: delete"
			good=$((good - 1))
		fi
		prev=$set_id

		# gc, everything aged past its margin: the dead writer's leftovers go, the sets' chunks stay
		find "$r" -exec touch -h -d '-1 hour' {} +
		$SR gc --repo "$r" --quiet || fail "$variant round $k: gc"
		[ -z "$(ls "$r/locks" | grep '^writer-')" ] || fail "$variant round $k: gc left a writer lock: $(ls "$r/locks")"
		left=$(find "$r" -name '.*' -o -name '*.tmp.*')
		[ -z "$left" ] || fail "$variant round $k: gc left temporary files: $left"
		for x in "$r"/indexes/*; do
			[ -e "$r/sets/$(basename "$x").manifest" ] || fail "$variant round $k: gc left index directory $x"
		done
		$SR verify --repo "$r" --quiet || fail "$variant round $k: verify after gc"
		assert_eq "$($SR export "$id" --repo "$r" --to - | sha256sum | cut -d' ' -f1)" "$sha" \
			"$variant round $k: export after kill and gc"
	done
	echo "$variant: $landed of $KILLS kills landed inside a capture" >&2
	assert_eq "$landed" "$KILLS" "$variant: kills that landed inside a capture"
	if [ $variant != plain ]; then
		# composite chunks in the store (envelope flag 0x04, docs/FORMAT.md §4; the flags are not encrypted)
		comps=$(python3 -c "
import os, sys
n = 0
for d, _, fs in os.walk(sys.argv[1]):
    for x in fs:
        with open(os.path.join(d, x), 'rb') as f: h = f.read(6)
        n += len(h) == 6 and h[5] & 4 != 0
print(n)" "$r/chunks")
		[ "$comps" -gt 0 ] || fail "$variant: no composite chunk in the repository: the kills never met piece dedup"
	fi
done
exit 0
