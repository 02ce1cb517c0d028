#!/usr/bin/env bash
# Issue #15 with overlays (writes to the shadow copies themselves), forwarders
# and no extras, on other seeds and store counts: as t0718. Where store k's
# overlays change what an older shadow copy reads, that one and all older go
# (--dry-run, --json and the typed confirmation say which and why, before any
# write); every one kept reads as its state.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/revert-trimmed.sh"
revert_each "$T/g" --stores 6 --seed 41 --overlays --forwarders
check_drops "$T/g"
revert_each "$T/g" --stores 4 --seed 53 --change-pct 10
exit 0
