#!/usr/bin/env bash
# Fuzzes netoopsd's receive path (live reassembly, signature, storage) for a bounded time.
#
#   netoopsd/fuzz/run.sh SECONDS
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`); RUSTC_BOOTSTRAP=1 lets a stable
# rustc take the sanitizer flags. FUZZ_SANITIZER=none builds without AddressSanitizer.
# The working corpus (netoopsd/fuzz/corpus/receive, not committed; regressions/receive and
# seeds/receive are) is seeded with the codec's golden
# packets in this target's input format. Exits non-zero on a crash (input saved under
# netoopsd/fuzz/artifacts/receive/).
set -euo pipefail

secs=${1:?usage: $0 SECONDS}
target=receive
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
# Seeds: each golden dump as one input, [mode][flags=0][len u16][packet] per packet, plus a
# shuffled copy with duplicates; mode 1 (the collector holds the test key) for the sealed ones.
python3 - "$corpus" ../../codec/golden <<'PY'
import glob, os, random, struct, sys
out, golden = sys.argv[1], sys.argv[2]
for d in sorted(glob.glob(os.path.join(golden, "*"))):
    pk = [open(f, "rb").read() for f in sorted(glob.glob(os.path.join(d, "*.bin")))]
    if not pk:
        continue
    name = os.path.basename(d)
    extra = pk + pk[:2]
    for tag, seq in (("inorder", pk), ("shuffled", random.Random(1).sample(extra, len(extra)))):
        with open(os.path.join(out, f"golden-{name}-{tag}"), "wb") as f:
            f.write(bytes([1 if "sealed" in name else 0]))
            for p in seq:
                f.write(struct.pack("<BH", 0, len(p)) + p)
PY

echo "run.sh: building fuzz target '$target' (sanitizer: $sanitizer)"
cargo fuzz build --sanitizer "$sanitizer" "$target"

echo "run.sh: fuzzing '$target' for $secs s"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
# regressions/$target (committed): inputs that once failed, run first and kept as seeds;
# seeds/$target (committed): the corpus grown by long runs (make fuzz), minimised.
cargo fuzz run --sanitizer "$sanitizer" "$target" "$corpus" "regressions/$target" "seeds/$target" -- \
    -max_total_time="$secs" -max_len=65536 -print_final_stats=1 >"$log" 2>&1 || status=$?
if [ "$status" -ne 0 ]; then
    grep -v -E '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse|INITED)' "$log" || true
    echo "run.sh: fuzz target '$target' FAILED (exit $status); see artifacts/$target/" >&2
    exit "$status"
fi
grep -E '^INFO: Seed|seed corpus|DONE|^Done |^stat::' "$log" || true
echo "run.sh: fuzz target '$target' ran $secs s without a crash"
