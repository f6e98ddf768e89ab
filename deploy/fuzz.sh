#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer, SanitizerCoverage on stable Rust) of every decoder that reads
# outside input: the targets of tools/fuzz, each started from its committed corpus.
#
#   bash deploy/fuzz.sh                      # 10,000,000 executions of each target
#   bash deploy/fuzz.sh --runs 200000        # a bounded run (the suite's)
#   bash deploy/fuzz.sh --runs 0 --seconds 600 --target return_json
#
# Prints each target's executions, seconds, executions per second and edges covered. A crash
# stops the run with exit 1 and leaves the input in target/libfuzzer/crashes/<target>/; add it to
# the corpus once fixed.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=10000000
seconds=0
only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --target) only="$2"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: deploy/fuzz.sh [--runs N] [--seconds S] [--target NAME]" >&2; exit 2 ;;
  esac
done
if ! command -v c++ >/dev/null; then
  echo "error: libFuzzer is built from source and needs a C++ compiler: apt-get install -y g++" >&2
  exit 3
fi

root="$(pwd)"
out="${CARGO_TARGET_DIR:-${root}/target}/libfuzzer"
# What cargo-fuzz passes with --sanitizer none: edge counters, the PC table and comparison
# tracing for libFuzzer's feedback, and the checks a debug build has.
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
# With --target, RUSTFLAGS instrument the targets only, not build scripts and proc macros (which
# run without libFuzzer to link against).
export RUSTC_WRAPPER="${root}/deploy/fuzz-rustc.sh"
host=$(rustc -vV | sed -n 's/^host: //p')
echo "== building the fuzz targets with coverage instrumentation (target/libfuzzer)"
cargo build --release --locked --quiet --target "$host" \
  --manifest-path tools/fuzz/libfuzzer/Cargo.toml --target-dir "${out}/build"

targets=$(sed -n 's/^name = "\(.*\)"$/\1/p' tools/fuzz/libfuzzer/Cargo.toml | grep -v '^oversight-libfuzzer$')
printf '%-20s %12s %9s %12s %8s  %s\n' target executions seconds "per second" edges outcome
failed=0
for target in $targets; do
  if [ -n "$only" ] && [ "$only" != "$target" ]; then continue; fi
  work="${out}/corpus/${target}"
  crashes="${out}/crashes/${target}"
  mkdir -p "$work" "$crashes"
  log="${out}/${target}.log"
  start=$(date +%s.%N)
  set +e
  # New inputs go to the working corpus (first directory); the committed one is only read.
  "${out}/build/${host}/release/${target}" "$work" "tools/fuzz/corpus/${target}" \
    -runs="$runs" -max_total_time="$seconds" -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="${crashes}/" >"$log" 2>&1
  status=$?
  set -e
  end=$(date +%s.%N)
  executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  edges=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  elapsed=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
  rate=$(awk -v n="${executions:-0}" -v s="$elapsed" 'BEGIN { printf "%d", (s > 0 ? n / s : 0) }')
  outcome=ok
  if [ "$status" -ne 0 ]; then
    outcome="FAILED (exit ${status}; see ${log}, input in ${crashes}/)"
    failed=1
  fi
  printf '%-20s %12s %9s %12s %8s  %s\n' "$target" "${executions:-0}" "$elapsed" "$rate" "${edges:-?}" "$outcome"
done
exit "$failed"
