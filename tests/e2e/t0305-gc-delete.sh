#!/usr/bin/env bash
# delete set, then gc frees exactly the chunks no other set uses; gc while a
# capture runs leaves the capture whole; exit codes pinned.
. "$(dirname "$0")/lib.sh"
need_cmd python3 python3

head -c $((48 * 1048576)) /dev/urandom >"$T/a.img"
cp "$T/a.img" "$T/b.img"
python3 -c "
import os, sys
f = open(sys.argv[1], 'r+b'); f.seek(8 << 20); f.write(os.urandom(8 << 20))" "$T/b.img"
$SR init --repo "$T/r" --quiet || fail "init"
$SR capture --repo "$T/r" --instance srv --set-id 00000000-0000-0000-0000-00000000000a C:="$T/a.img" --quiet || fail "capture a"
$SR capture --repo "$T/r" --instance srv --set-id 00000000-0000-0000-0000-00000000000b C:="$T/b.img,shadow=bbbbbbbb-0000-0000-0000-000000000000" --quiet ||
	fail "capture b"
n0=$(find "$T/r/chunks" -type f | wc -l)
[ "$n0" = 56 ] || fail "expected 48 + 8 chunks, found $n0"
expect_exit 2 $SR delete --repo "$T/r"
expect_exit 2 $SR delete --repo "$T/r" set
expect_exit 2 $SR delete --repo "$T/r" set 99999999 # an unknown name is a usage error (core/select.h)
$SR delete --repo "$T/r" set 0000000000000000000000000000000a --quiet || fail "delete by ID without dashes"
$SR sets --repo "$T/r" | grep -q 0000000a && fail "deleted set still listed"
[ -d "$T/r/indexes/00000000-0000-0000-0000-00000000000a" ] && fail "indexes of the deleted set left"
# chunks just written are younger than gc's margin: nothing goes yet
$SR gc --repo "$T/r" --json >"$T/gc1" || fail "gc"
grep -q '"chunks_removed":0' "$T/gc1" || fail "gc removed fresh chunks: $(cat "$T/gc1")"
# age every chunk by an hour: now the 8 only set a used go
find "$T/r/chunks" -type f -exec touch -d '-1 hour' {} +
$SR gc --repo "$T/r" --json >"$T/gc2" || fail "gc"
grep -q '"chunks_removed":8' "$T/gc2" || fail "gc should remove 8 chunks: $(cat "$T/gc2")"
$SR verify --repo "$T/r" --quiet || fail "verify after gc"
$SR export bbbbbbbb --repo "$T/r" --to - | cmp - "$T/b.img" || fail "set b after gc"

# gc while a capture runs: the capture registers as a writer; its chunks survive
find "$T/r/chunks" -type f -exec touch -d '-1 hour' {} +
head -c $((96 * 1048576)) /dev/urandom >"$T/c.img"
$SR capture --repo "$T/r" --instance other --threads 1 C:="$T/c.img,shadow=cccccccc-0000-0000-0000-000000000000" --quiet &
pid=$!
for i in 1 2 3 4 5; do $SR gc --repo "$T/r" --quiet || fail "gc during capture"; done
wait $pid || fail "capture during gc failed"
$SR gc --repo "$T/r" --quiet || fail "gc after"
$SR verify --repo "$T/r" --quiet || fail "verify after gc during capture"
$SR export cccccccc --repo "$T/r" --to - | cmp - "$T/c.img" || fail "set c after gc"
# delete refuses the base set of a running incremental capture
head -c $((64 * 1048576)) /dev/urandom >>"$T/c.img"
$SR capture --repo "$T/r" --instance other --threads 1 C:="$T/c.img" --quiet &
pid=$!
sleep 0.3
base=$($SR sets --repo "$T/r" --json | grep -B2 '"instance": "other"' | sed -n 's/.*"set_id": "\([0-9a-f-]*\)".*/\1/p' | head -1)
if kill -0 $pid 2>/dev/null; then
	$SR delete --repo "$T/r" set "$base" 2>"$T/err" && running=$(kill -0 $pid 2>/dev/null && echo yes)
	[ "${running:-}" = yes ] && fail "deleted the base set of a running capture"
fi
wait $pid || fail "incremental capture failed"
$SR verify --repo "$T/r" --quiet || fail "verify after delete during capture"
exit 0
