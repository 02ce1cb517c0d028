#!/usr/bin/env bash
# 20 kills of a revert at random moments (make stress).
KILLS=20 exec "$(dirname "$0")/../e2e/t0702-revert-kill.sh"
