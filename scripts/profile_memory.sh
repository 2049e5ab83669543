#!/usr/bin/env bash
# Old name of `cargo xtask memory` (seed 001's profile_memory.sh --subs 50000).
# RUN_MEMCHECK=1 adds valgrind memcheck's leak check, as before.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${RUN_MEMCHECK:-0}" = "1" ]; then
  exec cargo xtask memory --leak-check "$@"
fi
exec cargo xtask memory "$@"
