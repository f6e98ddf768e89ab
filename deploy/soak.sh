#!/usr/bin/env bash
# The SIGKILL durability test with many more kill cycles than the test suite runs.
# Usage: deploy/soak.sh [CYCLES]   (default 200)
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/install-deps.sh
OVERSIGHT_KILL_CYCLES="${1:-200}" cargo test --locked -p oversight --test system durability -- --nocapture
