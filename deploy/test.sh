#!/usr/bin/env bash
# Runs every test: installs what is missing, then the whole workspace's tests against a real
# nats-server and real redb files.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/install-deps.sh
cargo test --workspace --locked
