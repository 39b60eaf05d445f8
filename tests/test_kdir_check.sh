#!/usr/bin/env bash
# make KDIR= with a tree netoops cannot be built against, or with another toolchain than the
# tree's, is refused before anything is built, with one line naming what is wrong
# (scripts/check-kdir.sh). Prints `N passed, N failed`.
set -uo pipefail
cd "$(dirname "$0")/.."
passed=0
failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
kdir=$(qemu/kernel.sh dir)

# refused DESCRIPTION EXPECTED-REGEX MAKE-ARGS...: make must fail at once, printing exactly one
# netoops: line that matches.
refused() {
    local what=$1 want=$2 out lines
    shift 2
    out=$(make --no-print-directory -s "$@" 2>&1)
    local rc=$?
    lines=$(grep -c 'netoops: KDIR=' <<<"$out")
    if [ "$rc" -ne 0 ] && [ "$lines" = 1 ] && grep -Eq "$want" <<<"$out" \
        && ! grep -Eq '^ *(RUSTC|CC) \[M\]' <<<"$out"; then
        echo "ok   $what: $(grep 'netoops: KDIR=' <<<"$out" | sed 's/.*\*\*\* //')"
        passed=$((passed + 1))
    else
        echo "FAIL $what (exit $rc, expected one line matching /$want/): $out"
        failed=$((failed + 1))
    fi
}

refused "no such tree" "no such directory" KDIR="$tmp/none"
mkdir -p "$tmp/bare" && touch "$tmp/bare/Makefile"
refused "an unconfigured tree" "no \.config" KDIR="$tmp/bare"
printf 'CONFIG_MODULES=y\nCONFIG_PRINTK=y\n' >"$tmp/bare/.config"
refused "a tree without Rust" "CONFIG_RUST is not set" KDIR="$tmp/bare"
printf 'CONFIG_RUST=y\nCONFIG_MODULES=y\n' >"$tmp/bare/.config"
refused "a headers-like tree (no Rust metadata)" "no Rust metadata" KDIR="$tmp/bare"
if [ -f "$kdir/.netoops-complete" ]; then
    other=$(command -v rustc)  # rustup's: not the tree's /usr/bin/rustc
    refused "another rustc than the tree's" "tree built with 'rustc .*', but $other is 'rustc" \
        KDIR="$kdir" KRUSTC="$other"
    printf '#!/bin/sh\necho "gcc (Other) 99.1.0"\n' >"$tmp/gcc" && chmod +x "$tmp/gcc"
    refused "another C compiler than the tree's" "tree built with C compiler '.*', but $tmp/gcc is 'gcc \(Other\) 99.1.0'" \
        KDIR="$kdir" CC="$tmp/gcc"
else
    echo "FAIL the test kernel is not built ($kdir)"
    failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
