#!/usr/bin/env bash
# Old name (seed 003): profile-docker.sh [SECONDS] [LABEL] — a profiled baseline
# with a label, each run sampled for SECONDS and then stopped on purpose
# (`--run-for`: the workload's stop_signal, then SIGTERM, then SIGKILL). Without
# SECONDS, or with 0, the workload's own length (or its `run_for`) decides.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-0}"
label="${2:-baseline}"
if [ "$seconds" = "0" ]; then
    exec cargo xtask profile-baseline --label "$label"
fi
exec cargo xtask profile-baseline --label "$label" --run-for "$seconds"
