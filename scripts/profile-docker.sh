#!/usr/bin/env bash
# Old name (seed 003): profile-docker.sh [SECONDS] [LABEL] — a profiled baseline
# with a label. SECONDS was the sampling duration; the workload's own length
# decides it now, so it is accepted and ignored.
set -euo pipefail
cd "$(dirname "$0")/.."
label="${2:-baseline}"
exec cargo xtask profile-baseline --label "$label"
