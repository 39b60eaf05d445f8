#!/bin/sh
# Check that KDIR is a kernel tree netoops can be built against, with the toolchain it was built
# with (RUSTC and CC from the environment, as the Makefile passes them); on failure print one line
# naming what is missing or differs, and exit 1.
kdir=$1
fail() { echo "netoops: KDIR=$kdir: $*" >&2; exit 1; }

[ -n "$kdir" ] || fail "no kernel tree given"
[ -d "$kdir" ] || fail "no such directory"
[ -f "$kdir/Makefile" ] || fail "not a kernel build tree (no Makefile)"
[ -f "$kdir/.config" ] || fail "not a configured kernel build tree (no .config)"
has() { grep -q "^$1=[ym]" "$kdir/.config"; }
has CONFIG_RUST || fail "kernel built without Rust support (CONFIG_RUST is not set)"
[ -f "$kdir/rust/libkernel.rmeta" ] \
    || fail "no Rust metadata (rust/libkernel.rmeta): build the tree itself (make), distribution header packages do not carry it"
has CONFIG_NETPOLL || fail "kernel built without CONFIG_NETPOLL (enable CONFIG_NETCONSOLE or another user of it)"
has CONFIG_CONFIGFS_FS || fail "kernel built without CONFIG_CONFIGFS_FS"
has CONFIG_PRINTK || fail "kernel built without CONFIG_PRINTK (there would be no log to send)"
has CONFIG_MODULES || fail "kernel built without loadable module support (CONFIG_MODULES)"
[ -f "$kdir/Module.symvers" ] || fail "no Module.symvers: the tree has not been built (make modules)"
# Rust has no stable ABI and the kernel crate's symbol names hash the compiler's version: a module
# built by another rustc does not link (modpost) or, worse, does. Same for the C compiler's flags.
config_text() { sed -n "s/^$1=\"\(.*\)\"\$/\1/p" "$kdir/.config"; }
want=$(config_text CONFIG_RUSTC_VERSION_TEXT)
rustc=${RUSTC:-rustc}
have=$("$rustc" --version 2>/dev/null) || fail "the Rust compiler $rustc does not run"
[ -z "$want" ] || [ "$want" = "$have" ] \
    || fail "tree built with '$want', but $rustc is '$have' (give the tree's compiler: make KRUSTC=<path>)"
want=$(config_text CONFIG_CC_VERSION_TEXT)
cc=${CC:-gcc}
if grep -q '^CONFIG_CC_IS_GCC=y' "$kdir/.config"; then
    command -v "$cc" >/dev/null 2>&1 || fail "the C compiler $cc is not found"
    have=$("$cc" --version 2>/dev/null | head -n1)
    [ -z "$want" ] || [ "$want" = "$have" ] \
        || fail "tree built with C compiler '$want', but $cc is '$have' (give the tree's: make CC=<path>)"
fi
exit 0
