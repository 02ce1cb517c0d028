#!/usr/bin/env bash
# 20 kills of a revert of a trimmed-store volume, at moments picked from its progress (make stress).
KILLS=20 exec "$(dirname "$0")/../e2e/t0722-revert-trimmed-kill.sh"
