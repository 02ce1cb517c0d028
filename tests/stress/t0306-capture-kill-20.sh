#!/usr/bin/env bash
# 20 kills of a capture at random points of its progress, each for plain, encrypted and piece-dedup
# captures (make stress).
KILLS=20 exec "$(dirname "$0")/../e2e/t0306-capture-kill.sh"
