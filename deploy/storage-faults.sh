#!/usr/bin/env bash
# Real storage faults under a running service: a small ext4 file system on a loop device filled
# to ENOSPC, then turned read-only by an ext4 error. Needs root, loop devices, e2fsprogs and
# nats-server (deploy/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
    echo "error: run as root (it mounts a loop device)" >&2
    exit 3
fi
cargo test -p oversight --test system storage_faults -- --nocapture
