#!/usr/bin/env bash
# Old name of `cargo xtask flamegraph` (seed 001's profile_flamegraph.sh --subs 50000).
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo xtask flamegraph "$@"
