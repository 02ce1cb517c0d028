#!/usr/bin/env bash
# kill -9 of a capture at random moments: each time verify is clean, no
# partial set is listed, and the next capture succeeds and exports right.
# KILLS=n (default 3; the stress version runs 20).
. "$(dirname "$0")/lib.sh"
need_cmd python3 python3
KILLS=${KILLS:-3}

head -c $((160 * 1048576)) /dev/urandom >"$T/v.img"
$SR init --repo "$T/r" --quiet || fail "init"
good=0
for k in $(seq 1 "$KILLS"); do
	# new data each round, so that the capture writes chunks when it is killed, and a copy of 8 MiB of it
	# at an offset off the chunk grid, so that it writes composite chunks too (piece dedup)
	python3 -c "
import os, random, sys
f = open(sys.argv[1], 'r+b'); d = os.urandom(64 << 20)
f.seek(random.randrange(0, 96) << 20); f.write(d)
f.seek(random.randrange(0, 150 << 20)); f.write(d[:8 << 20])" "$T/v.img"
	$SR capture --repo "$T/r" --instance srv C:="$T/v.img" --quiet &
	pid=$!
	sleep "$(python3 -c 'import random; print(random.uniform(0, 0.8))')"
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null && good=$((good + 1))
	$SR verify --repo "$T/r" --quiet || fail "round $k: verify after kill -9"
	n=$($SR sets --repo "$T/r" --json | grep -c '"set_id"')
	[ "$n" = "$good" ] || fail "round $k: $n sets listed, $good captures finished"
	$SR capture --repo "$T/r" --instance srv C:="$T/v.img" --json >"$T/cap.json" || fail "round $k: capture after kill"
	good=$((good + 1))
	id=$(sed -n 's/.*"shadow_id": "\([0-9a-f-]*\)".*/\1/p' "$T/cap.json" | head -1)
	$SR export "$id" --repo "$T/r" --to - | cmp - "$T/v.img" || fail "round $k: export after kill differs"
done
# composite chunks in the store (envelope flag 0x04, docs/FORMAT.md §4): the kills met piece dedup
comps=$(python3 -c "
import os, sys
n = 0
for d, _, fs in os.walk(sys.argv[1]):
    for x in fs:
        if not x.startswith('.'):
            with open(os.path.join(d, x), 'rb') as f: h = f.read(6)
            n += len(h) == 6 and h[5] & 4 != 0
print(n)" "$T/r/chunks")
[ "$comps" -gt 0 ] || fail "no composite chunk in the repository: the kills never met piece dedup"
$SR gc --repo "$T/r" --quiet || fail "gc"
$SR verify --repo "$T/r" --quiet || fail "final verify"
exit 0
