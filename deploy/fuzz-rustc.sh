#!/usr/bin/env bash
# RUSTC_WRAPPER for deploy/fuzz.sh: compiles the CSV tokenizer (csv-core) without coverage
# instrumentation. Every csv::Reader builds csv-core's DFA afresh, and instrumented, that build was
# two thirds of an importer's time per input while telling libFuzzer nothing (it is the same
# every time). The parsers that read the fields stay instrumented.
rustc="$1"
shift
case " $* " in
  *" --crate-name csv_core "*)
    args=()
    for arg in "$@"; do
      case "$arg" in
        -Cpasses=sancov-module | -Cllvm-args=-sanitizer-coverage-*) ;;
        *) args+=("$arg") ;;
      esac
    done
    exec "$rustc" "${args[@]}"
    ;;
esac
exec "$rustc" "$@"
