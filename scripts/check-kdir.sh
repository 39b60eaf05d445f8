#!/bin/sh
# Check that KDIR is a kernel tree netoops can be built against; on failure print one line
# naming what is missing and exit 1.
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
exit 0
