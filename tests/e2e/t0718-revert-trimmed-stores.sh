#!/usr/bin/env bash
# Issue #15: revert on volumes whose older store files are trimmed to what they
# use and whose freed tails are reused by new files and later store files, as
# on Windows. Eight shadow copies with forwarders (tests/e2e/revert-trimmed.sh):
# every revert succeeds, equals its saved state, keeps every older shadow copy
# reading as its state (shadowrev and vshadowmount), passes ntfsfix -n.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/revert-trimmed.sh"
revert_each "$T/g" --stores 8 --seed 51 --forwarders
exit 0
