#!/usr/bin/env bash
# Old name of `cargo xtask profile-baseline --scale all` (seed 001's benchmark.sh over 1K..1M subscribers).
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo xtask profile-baseline --scale all "$@"
