#!/bin/sh
# Print the kernel's own bindgen flag adjustments for a tree, read from its rust/Makefile,
# so that the module's bindgen run treats C flags exactly as the kernel's does:
#   bindgen-flags.sh skip   <srctree>          the GCC-only C flags bindgen must not see
#   bindgen-flags.sh target <srctree> <SRCARCH> the clang --target for this architecture
set -eu
mk="$2/rust/Makefile"
[ -r "$mk" ] || { echo "bindgen-flags.sh: cannot read $mk" >&2; exit 1; }
case "$1" in
skip)
    # The multi-line 'bindgen_skip_c_flags := ... \' assignment, joined.
    awk '/^bindgen_skip_c_flags[ \t]*:=/ { on = 1; sub(/^[^=]*=/, "") }
         on { line = $0; cont = sub(/\\[ \t]*$/, "", line); printf "%s ", line; if (!cont) exit }' "$mk"
    echo
    ;;
target)
    sed -n "s/^BINDGEN_TARGET_$3[ \t]*:=[ \t]*//p" "$mk" | head -n1
    ;;
*)
    echo "usage: $0 skip|target <srctree> [SRCARCH]" >&2; exit 2 ;;
esac
