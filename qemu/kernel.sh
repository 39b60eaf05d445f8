#!/usr/bin/env bash
# The netoops test kernel: a Rust-enabled kernel tree built from Debian's linux-source-7.N,
# configured as tinyconfig + qemu/kernel.config, cached outside the repository.
#
#   qemu/kernel.sh dir     print the cache directory of the tree for the current inputs
#   qemu/kernel.sh build   build it unless already built (progress on stderr), then print the dir
#
# Cache: ${NETOOPS_CACHE:-/var/cache/netoops}/kernel/linux-<version>-<key>, where <key> hashes the
# config fragment, the build recipe version below and the toolchain versions. A finished tree has .netoops-complete;
# an interrupted build is resumed (make is incremental).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/toolchain.env"

fragment="$here/kernel.config"
# Bump when a change to the build steps below must invalidate cached trees.
recipe=1
cache_root=${NETOOPS_CACHE:-/var/cache/netoops}

die() { echo "kernel.sh: $*" >&2; exit 1; }
say() { echo "[kernel] $*" >&2; }

src_tarball() {
    ls /usr/src/linux-source-7.*.tar.xz 2>/dev/null | sort -V | tail -n1
}

tree_dir() {
    local tarball ver key
    tarball=$(src_tarball)
    [ -n "$tarball" ] || die "no /usr/src/linux-source-7.N.tar.xz: run scripts/setup-host.sh"
    pkg=$(basename "$tarball" .tar.xz)
    ver=$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null || echo unknown)
    key=$( { cat "$fragment"; echo "recipe $recipe"; echo "$ver";
             "$RUSTC" --version; "$BINDGEN" --version 2>/dev/null || true; gcc --version | head -1; } \
           | sha256sum | cut -c1-12)
    echo "$cache_root/kernel/linux-${ver//[^A-Za-z0-9.+]/_}-$key"
}

progress_filter() {
    # Print a progress line every 250 build steps or 30 seconds (plus any error or warning), so a
    # long build shows it is alive without flooding the terminal. The full log stays in build.log.
    awk -v start="$(date +%s)" '
        { n++; now = systime() }
        /(^|[ :])(error|warning):|Error [0-9]/ { print "[kernel]   " $0; fflush() }
        n % 250 == 0 || now - last >= 30 {
            printf "[kernel] %d build steps, %ds: %s\n", n, now - start, $NF; fflush(); last = now }
        END { printf "[kernel] %d build steps, %ds, done\n", n, systime() - start }' >&2
}

build() {
    local dir log
    dir=$(tree_dir)
    if [ -f "$dir/.netoops-complete" ]; then
        say "reusing cached kernel tree $dir"
        echo "$dir"
        return
    fi
    mkdir -p "$dir"
    log="$dir/build.log"
    if [ ! -f "$dir/.netoops-extracted" ]; then
        say "extracting $(src_tarball) into $dir"
        tar -C "$dir" --strip-components=1 -xf "$(src_tarball)"
        touch "$dir/.netoops-extracted"
    else
        say "resuming interrupted build in $dir"
    fi
    local mk=(make -C "$dir" -j"$(( $(nproc) + 1 ))" "${KMAKE_VARS[@]}")
    say "checking the Rust toolchain (make rustavailable)"
    "${mk[@]}" rustavailable >"$log" 2>&1 || { tail -n 20 "$log" >&2; die "Rust is not available to the kernel build (see $log)"; }
    if [ ! -f "$dir/.netoops-configured" ]; then
        say "configuring: tinyconfig + $(basename "$fragment")"
        "${mk[@]}" tinyconfig >>"$log" 2>&1
        (cd "$dir" && KCONFIG_CONFIG=.config scripts/kconfig/merge_config.sh -m .config "$fragment") >>"$log" 2>&1
        "${mk[@]}" olddefconfig >>"$log" 2>&1
        # merge_config only warns when an option does not take: fail instead.
        local bad=0
        while IFS= read -r line; do
            case "$line" in CONFIG_*=*) ;; *) continue ;; esac
            grep -qx "$line" "$dir/.config" || { echo "kernel.sh: option did not take: $line" >&2; bad=1; }
        done <"$fragment"
        [ "$bad" = 0 ] || die "the config fragment does not apply (see $log)"
        touch "$dir/.netoops-configured"
    fi
    say "building bzImage and modules ($(nproc) cores, about 6 minutes; log: $log)"
    # pipefail: the pipeline fails when make does.
    if ! "${mk[@]}" bzImage modules 2>&1 | tee -a "$log" | progress_filter \
        || [ ! -f "$dir/arch/x86/boot/bzImage" ] || [ ! -f "$dir/rust/libkernel.rmeta" ]; then
        tail -n 30 "$log" >&2
        die "kernel build failed (see $log)"
    fi
    touch "$dir/.netoops-complete"
    say "kernel ready: $dir"
    echo "$dir"
}

case "${1:-}" in
    dir) tree_dir ;;
    build) build ;;
    *) die "usage: $0 dir|build" ;;
esac
