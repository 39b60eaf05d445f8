#!/usr/bin/env bash
# `make check`: every test of the project, then one summary line `N passed, N failed`.
#   1. the userspace crates' cargo tests (unit, property, golden), and their docs without a warning
#   2. bounded fuzz runs of the packet decoder and of netoopsd's receive path
#   3. the kernel's own Rust checks on the module (scripts/lint.sh, also `make lint`): rustfmt with
#      the kernel tree's .rustfmt.toml, and clippy (make CLIPPY=1) without a warning
#   4. the crash path's stack usage (the analyser's self-test, then scripts/stack_usage.py on netoops.ko)
#   5. the QEMU scenarios (tests/scenarios.py): on the test kernel with netoops.ko, and the NAME@debug
#      ones on the debug kernel (lockdep, KASAN, ...) with build/module-debug/netoops.ko
#      (`make check` builds both kernels and both modules first)
# Each step's own output is shown; the counts are summed from what each runner reports.
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0
failed=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT

step() { printf '\n=== %s ===\n' "$*"; }

# Sum cargo's "test result: ok. N passed; M failed" lines.
count_cargo() {
    local p f
    p=$(grep -Eo 'test result: [A-Za-z]+\. [0-9]+ passed' "$out" | awk '{s += $4} END {print s + 0}')
    f=$(grep -Eo '[0-9]+ failed;' "$out" | awk '{s += $1} END {print s + 0}')
    passed=$((passed + p)); failed=$((failed + f))
}

if [ -f Cargo.toml ]; then
    step "cargo test --workspace"
    if cargo test --workspace --color never 2>&1 | tee "$out"; then
        count_cargo
    else
        count_cargo
        # A build failure reports no test results: count it as a failure.
        grep -q 'test result:' "$out" || failed=$((failed + 1))
    fi
fi

# The userspace crates' API documentation builds without a warning (broken or private links).
if [ -f Cargo.toml ]; then
    step "cargo doc (netoopsd, netoops-codec, netoops-frame; warnings are errors)"
    if RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --color never \
            -p netoopsd -p netoops-codec -p netoops-frame; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
    fi
fi

fuzz() {
    step "fuzz: $1 ($2 s)"
    if "$3" "$2"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
}
fuzz "the packet decoder" "${NETOOPS_FUZZ_SECONDS:-30}" codec/fuzz/run.sh
fuzz "netoopsd's receive path" "${NETOOPS_FUZZ_SECONDS:-30}" netoopsd/fuzz/run.sh

# Sum a runner's closing "N passed, N failed" line (none: one failure).
count_plain() {
    local line
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -n1)
    if [ -n "$line" ]; then
        passed=$((passed + $(echo "$line" | awk '{print $1}')))
        failed=$((failed + $(echo "$line" | awk '{print $3}')))
    else
        failed=$((failed + 1))
    fi
}

# The Wireshark dissector (tools/wireshark/netoops.lua) on the golden vectors, with tshark.
step "Wireshark dissector (tshark)"
python3 tests/test_dissector.py 2>&1 | tee "$out"
count_plain

# The kernel's Rust checks, one test each. The clippy step rebuilds netoops.ko without clippy
# after it, for the stack check and the scenarios below.
step "rustfmt (the kernel tree's .rustfmt.toml)"
if scripts/lint.sh rustfmt; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
step "clippy (make CLIPPY=1)"
if scripts/lint.sh clippy; then passed=$((passed + 1)); else failed=$((failed + 1)); fi

step "make KDIR= refuses trees and toolchains it cannot build with"
tests/test_kdir_check.sh 2>&1 | tee "$out"
count_plain

step "QEMU harness: log checks self-test"
python3 tests/test_harness.py 2>&1 | tee "$out"
count_plain

step "stack usage analyser: self-test"
python3 tests/test_stack_usage.py 2>&1 | tee "$out"
count_plain

# The crash path's own frames, from every entry the kernel calls in a crash (kmsg dumper, SysRq
# key, die notifier, irq_work), must stay within 1.5 KiB: a panic in NMI context runs on the
# 4 KiB NMI stack, of which the kernel had used 856 bytes when it called the dumper (measured
# by the panic-nmi scenario, which checks that this, plus this limit, plus 1 KiB for the
# driver's transmit path, fits: tests/crash_path.py).
step "stack usage of the crash path (netoops.ko, limit 1535 bytes)"
if python3 scripts/stack_usage.py netoops.ko --limit 1535 \
        --entry 'kmsg_dumper::dump_callback::<' --entry 'sysrq::call::<' \
        --entry 'sysrq::trampoline$' --entry 'notifier::callback::<.*DieChain' \
        --entry 'deferred_work::kick_callback::<'; then
    passed=$((passed + 1))
else
    failed=$((failed + 1))
fi

step "QEMU scenarios"
qemu/harness.py 2>&1 | tee "$out"
line=$(grep -E '^qemu: [0-9]+ passed, [0-9]+ failed$' "$out" | tail -n1)
if [ -n "$line" ]; then
    passed=$((passed + $(echo "$line" | awk '{print $2}')))
    failed=$((failed + $(echo "$line" | awk '{print $4}')))
else
    echo "QEMU harness ended without a summary"
    failed=$((failed + 1))
fi

echo
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
