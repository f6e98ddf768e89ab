#!/usr/bin/env bash
# Installs what the project needs beyond the Rust toolchain, on Debian as root: nats-server,
# prometheus (with promtool), openssl and chromium from Debian's packages, nats-py for the Python
# client test and Playwright for the browser test (PyPI; it drives the system chromium, no browser
# is downloaded). Safe to run again.
set -euo pipefail

missing=()
if ! command -v nats-server >/dev/null 2>&1 && [ -z "${NATS_SERVER_BIN:-}" ]; then
  missing+=(nats-server)
fi
if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
  missing+=(prometheus)
fi
# openssl makes the certificates of the TLS test.
if ! command -v openssl >/dev/null 2>&1; then
  missing+=(openssl)
fi
# e2fsprogs and mount make the small ext4 file system of the storage-fault test.
if ! command -v mkfs.ext4 >/dev/null 2>&1; then
  missing+=(e2fsprogs)
fi
if ! command -v losetup >/dev/null 2>&1; then
  missing+=(mount)
fi
# g++: libFuzzer, built from source for the coverage-guided fuzzing run (deploy/fuzz.sh).
if ! command -v c++ >/dev/null 2>&1; then
  missing+=(g++)
fi
# chromium: the browser test of the web pages.
if ! command -v chromium >/dev/null 2>&1; then
  missing+=(chromium)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} (Debian packages)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # --no-install-recommends: the prometheus package recommends exporters the tests do not need.
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! python3 -c 'import nats' >/dev/null 2>&1; then
  echo "installing nats-py (PyPI)" >&2
  python3 -m pip install --quiet nats-py 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages nats-py
fi

if ! python3 -c 'import playwright.sync_api' >/dev/null 2>&1; then
  echo "installing playwright (PyPI)" >&2
  python3 -m pip install --quiet playwright 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages playwright
fi
