#!/usr/bin/env bash
# Runs every test: installs what is missing, then the whole workspace's tests against a real
# nats-server and real redb files, and a bounded coverage-guided fuzzing run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/install-deps.sh
cargo test --workspace --locked
# A bounded coverage-guided run of every fuzz target (the long run is deploy/fuzz.sh alone).
bash deploy/fuzz.sh --runs 20000 --seconds 60
