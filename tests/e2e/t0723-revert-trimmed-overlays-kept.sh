#!/usr/bin/env bash
# Issue #15 with overlays in every store, but only on blocks the previous
# store copied (mkvss --overlays-kept): no older shadow copy reads them through
# the volume, so a revert keeps every older one, and each reads as its state
# afterwards (shadowrev and vshadowmount, tests/e2e/revert-trimmed.sh).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/revert-trimmed.sh"
revert_each "$T/g" --stores 4 --seed 55 --overlays-kept --forwarders
python3 -c 'import json,sys; assert all(s["overlays"] for s in json.load(open(sys.argv[1]))["stores"])' "$T/g/manifest.json" ||
	fail "--overlays-kept made stores without overlays"
$SR revert "${id[3]}" "$T/g/volume.img" --dry-run --json >"$T/plan.json" || fail "--dry-run"
python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))["volumes"][0]; assert v["stores_kept"] == 3, v' "$T/plan.json" ||
	fail "revert to store 4 with overlays on copied blocks does not keep the 3 older: $(cat "$T/plan.json")"
exit 0
