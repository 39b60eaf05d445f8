#!/usr/bin/env bash
# The kernel's own Rust checks on the module (`make lint`; `make check` runs each as a test):
#
#   scripts/lint.sh rustfmt   the module's files (the *.rs at the top but bindings_generated.rs,
#                             and the codec/ and frame/ sources netoops.rs includes by #[path],
#                             which rustfmt follows) formatted as the kernel tree's .rustfmt.toml
#                             wants, by the rustfmt of the kernel's rustc (Debian's rustfmt-web,
#                             not rustup's first on PATH; RUSTFMT= to override). cargo fmt, with
#                             the workspace's defaults, agrees on the codec/ and frame/ files.
#   scripts/lint.sh clippy    the module built with `make CLIPPY=1` (the kernel's clippy lints and
#                             its .clippy.toml, Debian's clippy-driver: CLIPPY_DRIVER in the
#                             Makefile): fails on any warning, which it prints (the generated
#                             bindings are silenced by their allow-list in bindings.rs). The
#                             module is then built again without clippy (clippy-driver's code is
#                             not rustc's: it turns MIR optimisations off).
#   scripts/lint.sh           both
#
# Against the test kernel, or the tree KDIR names (from the environment, as `make lint KDIR=...`
# passes it).
set -uo pipefail
cd "$(dirname "$0")/.."

RUSTFMT=${RUSTFMT:-/usr/bin/rustfmt}

kdir() {
    if [ -n "${KDIR:-}" ]; then echo "$KDIR"; else qemu/kernel.sh build; fi
}

lint_rustfmt() {
    local tree config files
    tree=$(kdir) || return 1
    config=$tree/.rustfmt.toml
    # An O= build tree has the sources behind its `source` link.
    [ -f "$config" ] || config=$tree/source/.rustfmt.toml
    if [ ! -f "$config" ]; then
        echo "lint: no .rustfmt.toml in $tree"
        return 1
    fi
    "$RUSTFMT" --version >/dev/null 2>&1 || { echo "lint: $RUSTFMT does not run"; return 1; }
    mapfile -t files < <(ls *.rs | grep -vx bindings_generated.rs)
    echo "$($RUSTFMT --version) --check --config-path $config: ${files[*]}"
    if "$RUSTFMT" --check --config-path "$config" "${files[@]}"; then
        echo "rustfmt: ${#files[@]} files (and the modules they include) as the kernel's .rustfmt.toml wants"
    else
        echo "rustfmt: the files above differ; format them with:"
        echo "  $RUSTFMT --config-path $config ${files[*]}"
        return 1
    fi
}

lint_clippy() {
    local log rc warnings
    log=$(mktemp)
    # Compile (and lint) the crate again even if nothing changed since the last clippy build.
    rm -f netoops_rust.o
    make --no-print-directory CLIPPY=1 module 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    # Every warning the build prints (rustc and clippy: `warning: ...` with its location and
    # notes up to the next blank line; the C compiler: `FILE:LINE:COL: warning: ...`), but not
    # rustc's closing count.
    warnings=$(awk '
        /^warning: [0-9]+ warnings? emitted/ { next }
        /^warning(\[[^]]*\])?: / { block = 1; n++ }
        /^[^ :]+\.(rs|c|h):[0-9]+:[0-9]+: warning: / { print; n++; next }
        block && /^$/ { block = 0; print; next }
        block { print }
        END { exit (n > 0) }' "$log")
    local found=$?
    local ran=1
    grep -q 'CLIPPY \[M\] *netoops_rust.o' "$log" || ran=0
    rm -f "$log"
    echo
    if [ "$rc" != 0 ]; then
        echo "clippy: make CLIPPY=1 failed (exit $rc)"
    elif [ "$ran" = 0 ]; then
        echo "clippy: make CLIPPY=1 did not run clippy on netoops_rust.o"
    elif [ "$found" != 0 ]; then
        echo "clippy: warnings in the module build:"
        echo
        echo "$warnings"
    else
        echo "clippy: no warnings"
    fi
    # The module as rustc builds it, for what runs it next (stack check, QEMU).
    echo "rebuilding netoops.ko without clippy"
    log=$(mktemp)
    if ! make --no-print-directory module >"$log" 2>&1; then
        cat "$log"
        rm -f "$log"
        echo "clippy: the rebuild without clippy failed (make module)"
        return 1
    fi
    rm -f "$log"
    [ "$rc" = 0 ] && [ "$ran" = 1 ] && [ "$found" = 0 ]
}

case "${1:-all}" in
    rustfmt) lint_rustfmt ;;
    clippy) lint_clippy ;;
    all)
        ok=0
        echo "=== rustfmt (the kernel tree's .rustfmt.toml) ==="
        lint_rustfmt || ok=1
        echo
        echo "=== clippy (make CLIPPY=1) ==="
        lint_clippy || ok=1
        exit $ok
        ;;
    *) echo "usage: $0 [rustfmt|clippy]" >&2; exit 2 ;;
esac
