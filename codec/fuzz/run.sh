#!/usr/bin/env bash
# Runs a cargo-fuzz target of the netoops codec for a bounded time.
#
#   codec/fuzz/run.sh SECONDS [TARGET]     (TARGET: decode (default) or roundtrip)
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`). cargo-fuzz wants a nightly
# compiler for -Zsanitizer; with only a stable toolchain, RUSTC_BOOTSTRAP=1 lets stable
# rustc accept those flags (its sanitizer runtimes ship with rust-std). Set
# FUZZ_SANITIZER=none to build without AddressSanitizer.
#
# The corpus is kept in codec/fuzz/corpus/TARGET (not committed) and seeded with the
# golden vectors. Exits non-zero if the fuzzer finds a crash (the input is saved under
# codec/fuzz/artifacts/TARGET/); prints libFuzzer's final statistics either way.
set -euo pipefail

secs=${1:?usage: $0 SECONDS [decode|roundtrip]}
target=${2:-decode}
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "run.sh: cargo-fuzz is not installed; run: cargo install cargo-fuzz --locked" >&2
    exit 2
fi
export RUSTC_BOOTSTRAP=1
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2}
sanitizer=${FUZZ_SANITIZER:-address}

corpus=corpus/$target
mkdir -p "$corpus"
for f in ../golden/*/*.bin; do
    set_name=$(basename "$(dirname "$f")")
    cp -f "$f" "$corpus/golden-$set_name-$(basename "$f")"
done

echo "run.sh: building fuzz target '$target' (sanitizer: $sanitizer)"
cargo fuzz build --sanitizer "$sanitizer" "$target"

echo "run.sh: fuzzing '$target' for $secs s"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo fuzz run --sanitizer "$sanitizer" "$target" "$corpus" -- \
    -max_total_time="$secs" -print_final_stats=1 >"$log" 2>&1 || status=$?
# Progress lines are noise; show the outcome and the statistics (everything on failure).
if [ "$status" -ne 0 ]; then
    grep -v -E '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse|INITED)' "$log" || true
else
    grep -E '^INFO: Seed|seed corpus|DONE|^Done |^stat::' "$log" || true
fi
if [ "$status" -ne 0 ]; then
    echo "run.sh: fuzz target '$target' FAILED (exit $status); see artifacts/$target/" >&2
    exit "$status"
fi
echo "run.sh: fuzz target '$target' ran $secs s without a crash"
