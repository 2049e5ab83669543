#!/usr/bin/env bash
# Old name of `cargo xtask flamegraph` (seed 001's profile_perf.sh: perf record + report; the report is top-functions.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo xtask flamegraph "$@"
