#!/usr/bin/env bash
# Installs what the project needs beyond the Rust toolchain, on Debian as root: nats-server from
# Debian's packages and nats-py for the Python client test. Safe to run again.
set -euo pipefail

if ! command -v nats-server >/dev/null 2>&1 && [ -z "${NATS_SERVER_BIN:-}" ]; then
  echo "installing nats-server (Debian package)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq nats-server >/dev/null
fi

if ! python3 -c 'import nats' >/dev/null 2>&1; then
  echo "installing nats-py (PyPI)" >&2
  python3 -m pip install --quiet nats-py 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages nats-py
fi
