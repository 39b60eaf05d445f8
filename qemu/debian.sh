#!/usr/bin/env bash
# netoops on Debian's own kernel (linux-image-<release>-<flavour> from trixie-backports, default
# flavour cloud-amd64, release matching the installed /usr/src/linux-source-7.N.tar.xz).
#
#   qemu/debian.sh host-build   Debian's .config on linux-source-7.N, olddefconfig, only
#                               `make modules_prepare rust/`, with the host toolchain (qemu/toolchain.env),
#                               a Module.symvers of Debian's C symbols plus this tree's own Rust
#                               exports, then netoops against it (in build/debian-host/). Build
#                               only: the Rust symbols are this compiler's, not Debian's kernel's.
#                               Prints one result line, then the tree's directory.
#   qemu/debian.sh exact-build  A trixie chroot with the toolchain Debian's .config records (rustc,
#                               rust-src, bindgen, gcc-14 from trixie), the Rust metadata Debian's
#                               headers lack regenerated there from linux-source with Debian's
#                               .config and KERNELRELEASE, Debian's own Module.symvers, and netoops
#                               built against it (build/debian-exact/). modpost must resolve every
#                               symbol. Prints the path of netoops.ko.
#   qemu/debian.sh smoke        exact-build, then Debian's unmodified vmlinuz under QEMU (TCG) with
#                               an initramfs of Debian's modules (virtio_net and its dependencies,
#                               configfs) and netoops; a SysRq soft dump and a panic must arrive
#                               complete at netoopsd on the host (tests/fleet_debian.py). Exit 0
#                               only then; the last line is a one-line summary.
#   qemu/debian.sh fetch        only download and unpack Debian's packages; prints their root.
#
# Environment: DEBIAN_FLAVOUR (cloud-amd64), DEBIAN_KRELEASE (e.g. 7.3.4+deb13-cloud-amd64;
# default: the one apt offers for the linux-source version installed), NETOOPS_CACHE.
#
# Cache: ${NETOOPS_CACHE:-/var/cache/netoops}/debian/
#   debs-<version>/          Debian's packages (.deb) and root/ (them unpacked)
#   host-<release>-<key>/    row A's tree (key: Debian package version, host toolchain, recipe)
#   chroot-trixie-<key>/     the trixie chroot (key: its package list, recipe)
#       build/linux-<release>-<key>/  the exact tree inside it (key: tool versions, recipe)
# Every cache directory is built under a flock (<dir>.lock beside it), marked complete with a
# .netoops-* file per step, so an interrupted run resumes and a concurrent one waits.
# Every failure prints one line naming what failed (`debian.sh: ...`).
#
# Measured on 2 cores (another kernel build running beside): exact-build from an empty cache
# 7 min 54 s (mmdebstrap 199 s, modules_prepare rust/ 204 s, netoops 21 s); smoke with the
# cache warm about 40 s (the VM about 15-25 s under TCG).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
. "$here/toolchain.env"

recipe=1
cache=${NETOOPS_CACHE:-/var/cache/netoops}/debian
flavour=${DEBIAN_FLAVOUR:-cloud-amd64}
# What the exact chroot holds: the toolchain Debian's kernel .config records, and the kernel
# build's own needs. (libclang-dev: bindgen loads libclang at run time; the -dev package brings
# clang's resource headers; openssl: Kconfig asks `openssl list -key-managers` whether ML-DSA
# module-signing keys are possible.)
chroot_suite=trixie
chroot_mirror=http://deb.debian.org/debian
chroot_pkgs="openssl,rustc,rust-src,bindgen,gcc-14,libclang-dev,make,flex,bison,bc,libelf-dev,libssl-dev,cpio,kmod,xz-utils,perl,python3,libc6-dev,dwarves"
# The module's sources a build reads (as the Makefile's MODULE_SOURCES).
module_sources() {
    (cd "$root" && ls *.rs | grep -vx bindings_generated.rs; echo Kbuild bindings scripts codec/src frame/src)
}

die() { echo "debian.sh: $*" >&2; exit 1; }
say() { echo "[debian] $*" >&2; }

# lock DIR: take DIR.lock (waiting for another run that holds it) on a new descriptor, kept in
# lock_fd until unlock. A step holds its lock only while it builds that cache directory.
lock() {
    mkdir -p "$(dirname "$1")"
    exec {lock_fd}>"$1.lock"
    if ! flock -n "$lock_fd"; then
        say "another run holds $1.lock: waiting for it"
        flock "$lock_fd"
    fi
}
unlock() { exec {lock_fd}>&-; }

# first_error LOG: the first line of a build log that names an error (else its last line).
first_error() {
    local l
    l=$(grep -m1 -E '(^|[ :])(error|ERROR)(\[E[0-9]+\])?:|Error [0-9]+|undefined!|No such file|not found' "$1" || true)
    [ -n "$l" ] || l=$(tail -n1 "$1")
    echo "$l"
}

# --- Debian's packages --------------------------------------------------------------------
src_tarball() {
    local t
    t=$(ls /usr/src/linux-source-7.*.tar.xz 2>/dev/null | sort -V | tail -n1)
    [ -n "$t" ] || die "no /usr/src/linux-source-7.N.tar.xz: run scripts/setup-host.sh"
    echo "$t"
}

# Sets src (tarball), src_ver (Debian version of linux-source), krelease, debver (the version
# of Debian's kernel packages: the same source package as linux-source).
versions() {
    src=$(src_tarball)
    src_ver=$(dpkg-query -W -f='${Version}' "$(basename "$src" .tar.xz)" 2>/dev/null) \
        || die "$(basename "$src" .tar.xz) is not an installed package"
    local upstream=${src_ver%%-*}
    if [ -n "${DEBIAN_KRELEASE:-}" ]; then
        krelease=$DEBIAN_KRELEASE
    else
        krelease=$(apt-cache pkgnames "linux-headers-$upstream+" 2>/dev/null \
                   | sed -n "s/^linux-headers-\(.*-$flavour\)\$/\1/p" | sort -V | tail -n1)
        [ -n "$krelease" ] \
            || die "apt offers no linux-headers-$upstream+*-$flavour (is trixie-backports in apt's sources? apt-get update?)"
    fi
    debver=$(apt-cache show "linux-headers-$krelease" 2>/dev/null | sed -n 's/^Version: //p' \
             | grep -xF "$src_ver" | head -n1 || true)
    [ -n "$debver" ] \
        || die "apt has no linux-headers-$krelease at $src_ver, the installed linux-source's version (no such release, or the suite moved on: install the newest linux-source-7.N)"
}

deb_packages() {
    local abi=${krelease%-"$flavour"}
    echo "linux-headers-$krelease linux-headers-$abi-common linux-kbuild-$abi" \
         "linux-image-$krelease linux-binary-$krelease linux-modules-$krelease linux-base-$krelease"
}

# fetch: Debian's packages downloaded and unpacked into $debroot; sets debroot, hdr.
fetch() {
    versions
    local dir="$cache/debs-${debver//[^A-Za-z0-9.+-]/_}" p
    debroot="$dir/root"
    hdr="$debroot/usr/src/linux-headers-$krelease"
    [ -f "$dir/.netoops-$krelease" ] && return
    lock "$dir"
    [ -f "$dir/.netoops-$krelease" ] && { unlock; return; }
    mkdir -p "$dir/root"
    say "downloading Debian's $krelease packages ($debver) into $dir"
    for p in $(deb_packages); do
        ls "$dir/${p}_"*.deb >/dev/null 2>&1 && continue
        (cd "$dir" && apt-get download "$p=$debver" >"$dir/download.log" 2>&1) \
            || die "apt-get download $p=$debver failed: $(grep -m1 -E '^E:' "$dir/download.log" || tail -n1 "$dir/download.log")"
    done
    for p in "$dir"/*.deb; do dpkg-deb -x "$p" "$dir/root"; done
    [ -f "$hdr/.config" ] || die "linux-headers-$krelease has no .config"
    [ -f "$hdr/Module.symvers" ] || die "linux-headers-$krelease has no Module.symvers"
    [ -f "$debroot/usr/lib/modules/$krelease/vmlinuz" ] || die "linux-binary-$krelease has no /usr/lib/modules/$krelease/vmlinuz"
    # modules.dep is made at install time (depmod): make it here, for the guest's module list.
    depmod -b "$debroot/usr" "$krelease" 2>"$dir/depmod.log" \
        && [ -f "$debroot/usr/lib/modules/$krelease/modules.dep" ] \
        || die "depmod of Debian's $krelease modules failed: $(head -n1 "$dir/depmod.log")"
    touch "$dir/.netoops-$krelease"
    unlock
}

# config_value CONFIG NAME: the value of CONFIG_NAME (quotes removed).
config_value() { sed -n "s/^CONFIG_$2=\"\{0,1\}\([^\"]*\)\"\{0,1\}\$/\1/p" "$1"; }

# config_diff OLD NEW OUT: the kernel's diffconfig of Debian's .config against the one olddefconfig
# left, into OUT; prints "N options changed" or "none".
config_diff() {
    python3 "$4/scripts/diffconfig" "$1" "$2" >"$3" 2>/dev/null || diff "$1" "$2" >"$3" || true
    if [ -s "$3" ]; then echo "$(wc -l <"$3") options changed"; else echo "none"; fi
}

# copy_module_sources DIR: the module's sources copied into DIR with their mtimes (incremental).
copy_module_sources() {
    mkdir -p "$1"
    (cd "$root" && cp -a --parents $(module_sources) "$1/")
}

# modpost_check LOG: fails with one line if modpost left symbols unresolved.
modpost_check() {
    local n
    n=$(grep -c 'undefined!' "$1" || true)
    [ "$n" = 0 ] || die "modpost: $n symbols unresolved, first: $(grep -m1 'undefined!' "$1")"
}

# --- Row A: Debian's config, the host toolchain, build only -----------------------------------
host_build() {
    fetch
    local key dir tree log t0 t1 t_prep t_mod mvars mod
    key=$( { echo "recipe $recipe"; echo "$src_ver $debver $krelease"; "$RUSTC" --version;
             "$BINDGEN" --version 2>/dev/null || true; gcc --version | head -1; } | sha256sum | cut -c1-12)
    dir="$cache/host-$krelease-$key"
    tree="$dir/linux"
    log="$dir/build.log"
    mvars=("${KMAKE_VARS[@]}" KERNELRELEASE="$krelease")
    lock "$dir"
    if [ ! -f "$dir/.netoops-prepared" ]; then
        mkdir -p "$tree"
        if [ ! -f "$dir/.netoops-extracted" ]; then
            say "extracting $src into $tree"
            tar -C "$tree" --strip-components=1 -xf "$src"
            touch "$dir/.netoops-extracted"
        fi
        if [ ! -f "$dir/.netoops-configured" ]; then
            cp "$hdr/.config" "$dir/config.debian"
            cp "$hdr/.config" "$tree/.config"
            make -C "$tree" "${mvars[@]}" olddefconfig >"$log" 2>&1 || die "olddefconfig failed: $(first_error "$log")"
            grep -q '^CONFIG_RUST=y' "$tree/.config" \
                || die "Rust dropped out of Debian's config with the host toolchain (make rustavailable: $(make -C "$tree" "${mvars[@]}" rustavailable 2>&1 | tail -n1))"
            say "config after olddefconfig: $(config_diff "$dir/config.debian" "$tree/.config" "$dir/config.diff" "$tree") ($dir/config.diff)"
            touch "$dir/.netoops-configured"
        fi
        say "make modules_prepare rust/ with the host toolchain ($($RUSTC --version)); log $log"
        t0=$(date +%s)
        make -C "$tree" -j"$(( $(nproc) + 1 ))" "${mvars[@]}" modules_prepare rust/ >>"$log" 2>&1 \
            || die "make modules_prepare rust/ failed: $(first_error "$log")"
        t1=$(date +%s)
        # Seconds of make, summed over resumed runs.
        echo "$(( $(cat "$dir/prepare-seconds" 2>/dev/null || echo 0) + t1 - t0 ))" >"$dir/prepare-seconds.new"
        mv "$dir/prepare-seconds.new" "$dir/prepare-seconds"
        # Module.symvers: Debian's C exports, and instead of Debian's Rust exports (hashed by
        # Debian's compiler) the ones this tree's Rust objects export.
        {
            grep -vP '^0x[0-9a-f]+\t_R' "$hdr/Module.symvers"
            sed -n 's/^EXPORT_SYMBOL_RUST_GPL(\(_R[^)]*\));$/\1/p' "$tree"/rust/exports_*_generated.h \
                | sort -u | awk '{ printf "0x00000000\t%s\tvmlinux\tEXPORT_SYMBOL_GPL\t\n", $1 }'
        } >"$tree/Module.symvers"
        touch "$dir/.netoops-prepared"
    fi
    t_prep=$(cat "$dir/prepare-seconds")
    RUSTC="$RUSTC" CC=gcc "$root/scripts/check-kdir.sh" "$tree" || exit 1
    mod="$root/build/debian-host"
    copy_module_sources "$mod"
    say "building netoops against $tree (in $mod)"
    t0=$(date +%s)
    env "${mvars[@]}" flock "$mod/.netoops-build.lock" make -C "$tree" M="$mod" "${mvars[@]}" modules >"$mod/build.log" 2>&1 \
        || die "netoops build against $tree failed: $(first_error "$mod/build.log")"
    t_mod=$(( $(date +%s) - t0 ))
    modpost_check "$mod/build.log"
    unlock
    local nrust
    nrust=$(grep -cP '\t_R' "$tree/Module.symvers")
    echo "host-build: OK: Debian $krelease config ($(wc -l <"$dir/config.diff") options changed by olddefconfig), $($RUSTC --version | cut -d' ' -f1-2), modules_prepare rust/ ${t_prep}s, netoops ${t_mod}s, modpost resolved every symbol (Module.symvers: Debian's C exports + this tree's $nrust Rust exports; build only, not loadable into Debian's kernel)"
    echo "$tree"
}

# --- Row B: the exact toolchain in a trixie chroot ----------------------------------------
chroot_dir() {
    echo "$cache/chroot-$chroot_suite-$(echo "$chroot_suite ${chroot_pkgs} recipe $recipe" | sha256sum | cut -c1-12)"
}

make_chroot() {
    chroot=$(chroot_dir)
    [ -f "$chroot/.netoops-complete" ] && return
    lock "$chroot"
    [ -f "$chroot/.netoops-complete" ] && { unlock; return; }
    command -v mmdebstrap >/dev/null || die "mmdebstrap is not installed (apt-get install mmdebstrap)"
    rm -rf "$chroot.tmp"
    say "creating the $chroot_suite chroot $chroot (mmdebstrap; a few minutes)"
    mmdebstrap --variant=apt --include="$chroot_pkgs" "$chroot_suite" "$chroot.tmp" "$chroot_mirror" \
        >"$chroot.log" 2>&1 || die "mmdebstrap failed: $(grep -m1 -E '^E:' "$chroot.log" || tail -n1 "$chroot.log")"
    mkdir -p "$chroot.tmp/build" "$chroot.tmp/host-src" "$chroot.tmp/module"
    touch "$chroot.tmp/.netoops-complete"
    mv "$chroot.tmp" "$chroot"
    unlock
}

# in_chroot [MODULE_DIR] -- CMD...: CMD in the chroot, in a private mount namespace (proc, dev,
# /usr/src of the host read-only at /host-src, MODULE_DIR at /module), so nothing stays mounted.
in_chroot() {
    local moddir=$1
    shift 2
    unshare -m -- bash -c '
        set -e
        r=$1 m=$2; shift 2
        mount --make-rprivate /
        mount -t proc proc "$r/proc"
        mount --rbind /dev "$r/dev"
        mount --bind /usr/src "$r/host-src"; mount -o remount,bind,ro "$r/host-src"
        [ -z "$m" ] || mount --bind "$m" "$r/module"
        exec chroot "$r" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"
    ' in_chroot "$chroot" "$moddir" "$@"
}

exact_build() {
    fetch
    make_chroot
    local want_rustc want_bindgen want_cc got_rustc got_bindgen got_cc tools key tdir tree log
    local mvars t0 mod
    want_rustc=$(config_value "$hdr/.config" RUSTC_VERSION_TEXT)
    want_bindgen=$(config_value "$hdr/.config" BINDGEN_VERSION_TEXT)
    want_cc=$(config_value "$hdr/.config" CC_VERSION_TEXT)
    got_rustc=$(in_chroot "" -- rustc --version) || die "rustc does not run in the chroot $chroot"
    got_bindgen=$(in_chroot "" -- bindgen --version | head -n1) || die "bindgen does not run in the chroot $chroot"
    got_cc=$(in_chroot "" -- x86_64-linux-gnu-gcc-14 --version | head -n1) || die "x86_64-linux-gnu-gcc-14 does not run in the chroot $chroot"
    tools=$(in_chroot "" -- dpkg-query -W rustc rust-src bindgen gcc-14 libclang-dev binutils dwarves openssl | tr '\t' '=' | tr '\n' ' ') \
        || die "a package is missing in the chroot $chroot (dpkg-query: rustc rust-src bindgen gcc-14 libclang-dev binutils dwarves openssl)"
    say "chroot toolchain: $tools"
    [ "$got_rustc" = "$want_rustc" ] || die "the chroot's rustc is '$got_rustc', Debian's kernel was built with '$want_rustc'"
    [ "$got_bindgen" = "$want_bindgen" ] || die "the chroot's bindgen is '$got_bindgen', Debian's kernel was built with '$want_bindgen'"
    [ "$got_cc" = "$want_cc" ] || die "the chroot's gcc is '$got_cc', Debian's kernel was built with '$want_cc'"
    key=$( { echo "recipe $recipe"; echo "$src_ver $debver $krelease"; echo "$tools"; } | sha256sum | cut -c1-12)
    tdir="build/linux-$krelease-$key"
    tree="$chroot/$tdir"
    log="$tree.log"
    # Debian's own make variables (the headers' .kernelvariables): gcc-14 with the target prefix,
    # and the release string.
    mvars=(ARCH=x86 CROSS_COMPILE=x86_64-linux-gnu- CC=x86_64-linux-gnu-gcc-14 HOSTCC=x86_64-linux-gnu-gcc-14
           KERNELRELEASE="$krelease" RUSTC=rustc HOSTRUSTC=rustc BINDGEN=bindgen)
    lock "$tree"
    if [ ! -f "$tree/.netoops-prepared" ]; then
        mkdir -p "$tree"
        if [ ! -f "$tree/.netoops-extracted" ]; then
            say "extracting $src into $tree"
            tar -C "$tree" --strip-components=1 -xf "$src"
            touch "$tree/.netoops-extracted"
        fi
        if [ ! -f "$tree/.netoops-configured" ]; then
            cp "$hdr/.config" "$tree.config.debian"
            cp "$hdr/.config" "$tree/.config"
            in_chroot "" -- make -C "/$tdir" "${mvars[@]}" olddefconfig >"$log" 2>&1 \
                || die "olddefconfig in the chroot failed: $(first_error "$log")"
            say "config after olddefconfig: $(config_diff "$tree.config.debian" "$tree/.config" "$tree.config.diff" "$tree") ($tree.config.diff)"
            touch "$tree/.netoops-configured"
        fi
        say "make modules_prepare rust/ in the chroot ($got_rustc); log $log"
        t0=$(date +%s)
        in_chroot "" -- make -C "/$tdir" -j"$(( $(nproc) + 1 ))" "${mvars[@]}" modules_prepare rust/ >>"$log" 2>&1 \
            || die "make modules_prepare rust/ in the chroot failed: $(first_error "$log")"
        echo "$(( $(cat "$tree.prepare-seconds" 2>/dev/null || echo 0) + $(date +%s) - t0 ))" >"$tree.prepare-seconds.new"
        mv "$tree.prepare-seconds.new" "$tree.prepare-seconds"
        cp "$hdr/Module.symvers" "$tree/Module.symvers"
        touch "$tree/.netoops-prepared"
    fi
    # Debian's headers carry vmlinux (for its BTF) so that module builds get BTF, as a DKMS build
    # on a Debian machine does: the same here (without it the module simply has no BTF).
    if [ -f "$hdr/vmlinux" ] && ! cmp -s "$hdr/vmlinux" "$tree/vmlinux"; then cp "$hdr/vmlinux" "$tree/vmlinux"; fi
    [ "$(cat "$tree/include/config/kernel.release")" = "$krelease" ] \
        || die "the tree's kernel.release is $(cat "$tree/include/config/kernel.release"), not $krelease"
    # The tree's Rust exports against Debian's: the same names iff the crate hashes match.
    sed -n 's/^EXPORT_SYMBOL_RUST_GPL(\(_R[^)]*\));$/\1/p' "$tree"/rust/exports_*_generated.h | sort -u >"$tree.rust-exports"
    grep -oP '^0x[0-9a-f]+\t\K_R[^\t]*' "$hdr/Module.symvers" | sort -u >"$tree.debian-rust-exports"
    say "Rust exports: this tree $(wc -l <"$tree.rust-exports"), Debian's $(wc -l <"$tree.debian-rust-exports"), in both $(comm -12 "$tree.rust-exports" "$tree.debian-rust-exports" | wc -l)"
    mod="$root/build/debian-exact"
    copy_module_sources "$mod"
    in_chroot "$mod" -- env RUSTC=rustc CC=x86_64-linux-gnu-gcc-14 sh /module/scripts/check-kdir.sh "/$tdir" || exit 1
    say "building netoops in the chroot against Debian's $krelease (Module.symvers: Debian's own)"
    t0=$(date +%s)
    in_chroot "$mod" -- flock /module/.netoops-build.lock make -C "/$tdir" M=/module "${mvars[@]}" modules >"$mod/build.log" 2>&1 \
        || die "netoops build in the chroot failed: $(first_error "$mod/build.log")"
    modpost_check "$mod/build.log"
    unlock
    local btf=without
    readelf -S "$mod/netoops.ko" 2>/dev/null | grep -q '[.]BTF ' && btf=with
    say "netoops built in $(( $(date +%s) - t0 ))s, $btf BTF; modpost resolved every symbol; vermagic: $(modinfo -F vermagic "$mod/netoops.ko")"
    echo "$mod/netoops.ko"
}

smoke() {
    local ko
    ko=$(exact_build)
    fetch
    (cd "$root" && cargo build -q -p netoopsd) || die "cargo build -p netoopsd failed"
    exec python3 "$root/tests/fleet_debian.py" --modules "$debroot/usr/lib/modules/$krelease" --release "$krelease" --module "$ko"
}

main() {
    case "${1:-}" in
        fetch) fetch; echo "$debroot" ;;
        host-build) host_build ;;
        exact-build) exact_build ;;
        smoke) smoke ;;
        *) die "usage: $0 host-build|exact-build|smoke|fetch" ;;
    esac
}

# One line: bash has read the whole script before anything runs (an edit during a run is safe).
main "$@"; exit $?
