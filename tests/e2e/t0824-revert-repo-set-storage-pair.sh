#!/usr/bin/env bash
# revert --set --to C:=X --to D:=Y of a captured pair whose C: keeps its
# shadow storage on D:, onto blank targets: what C:'s shadow copies read from
# C: itself (clusters free now but in use when they were taken) is written
# too, so every shadow copy of C: read from the reverted pair (export X Y)
# equals mkvss's state (vsscmp); before, those clusters were left out (C:'s
# views could not be opened without D:) and read as zeros.
. "$(dirname "$0")/lib.sh"
need_cmd python3 python3
MKVSS=$BUILD/tests/tools/mkvss
VSSCMP=$BUILD/tests/tools/vsscmp
[ -x "$MKVSS" ] || skip "needs $MKVSS (make tests)"
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]][int(sys.argv[3]) - 1][sys.argv[4]])' "$G/manifest.json" "$1" "$2" "$3"; }

G=$T/g
"$MKVSS" --out "$G" --size 128M --stores 3 --seed 84 --remote-storage --storage-stores 2 --quiet || fail "mkvss"
$SR init --repo "$T/r" --quiet || fail "init"
$SR capture --repo "$T/r" --instance srv1 C:="$G/volume.img" D:="$G/storage.img" --quiet || fail "capture"
truncate -s "$(stat -c %s "$G/volume.img")" "$T/x.img"
truncate -s "$(stat -c %s "$G/storage.img")" "$T/y.img"
$SR revert --set srv1 --to C:="$T/x.img" --to D:="$T/y.img" --repo "$T/r" --yes --quiet || fail "revert --set"
for k in 1 2 3; do
	$SR export "$(field stores $k shadow_id)" "$T/x.img" "$T/y.img" --to "$T/v$k.img" --quiet ||
		fail "export $k from the reverted pair"
	"$VSSCMP" "$T/v$k.img" "$G/state-$k.img" "$G/state-$k.used" >"$T/cmp" ||
		fail "C:'s shadow copy $k after the revert differs from state-$k: $(cat "$T/cmp")"
done
exit 0
