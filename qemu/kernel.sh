#!/usr/bin/env bash
# The netoops test kernels: Rust-enabled kernel trees built from Debian's linux-source-7.N,
# cached outside the repository. Two variants:
#   test   (default) tinyconfig + qemu/kernel.config, built with gcc
#   debug  tinyconfig + qemu/kernel.config + qemu/kernel-debug.config (lockdep, KASAN, buddy
#          hard-lockup detector, fault injection, DWARF), built with clang and the LLVM tools
#          (LLVM=$DEBUG_LLVM, qemu/toolchain.env): the kernel allows Rust with KASAN only with clang
#   NAME   (make fleet-check) tinyconfig + qemu/kernel.config + qemu/fleet/NAME.config, with gcc
#
#   qemu/kernel.sh [--variant V] [--source 7.N] dir        print the cache directory of the tree
#   qemu/kernel.sh [--variant V] [--source 7.N] build      build it unless already built (progress on
#                                                          stderr), then print the dir
#   qemu/kernel.sh [--variant V] [--source 7.N] make-vars  print the make variables (VAR=value words)
#                                                          that module builds against the tree must
#                                                          pass (and export)
# --source picks /usr/src/linux-source-7.N.tar.xz (default: the newest installed).
#
# Cache: ${NETOOPS_CACHE:-/var/cache/netoops}/kernel/linux-<version>[-<variant>]-<key>, where <key>
# hashes the config fragments, the build recipe version below and the toolchain versions. A
# finished tree has .netoops-complete; an interrupted build is resumed (make is incremental).
# Builds of one tree take a lock (<tree>.lock beside it): a second build of the same tree waits
# for the first and then reuses its result.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/toolchain.env"

# Bump when a change to the build steps below must invalidate cached trees.
recipe=1
cache_root=${NETOOPS_CACHE:-/var/cache/netoops}

die() { echo "kernel.sh: $*" >&2; exit 1; }
say() { echo "[kernel] $*" >&2; }

usage="usage: $0 [--variant test|debug|FLEET] [--source 7.N] dir|build|make-vars"
variant=test
source_version=
while [ $# -gt 1 ]; do
    case "$1" in
        --variant) variant=${2:-}; shift 2 || die "$usage" ;;
        --source) source_version=${2:-}; shift 2 || die "$usage" ;;
        *) break ;;
    esac
done
case "$variant" in
    test)
        fragments=("$here/kernel.config")
        kmake_vars=("${KMAKE_VARS[@]}")
        minutes=6
        ;;
    debug)
        fragments=("$here/kernel.config" "$here/kernel-debug.config")
        kmake_vars=("${KMAKE_VARS[@]}" LLVM="$DEBUG_LLVM")
        minutes=25
        ;;
    *)
        [ -f "$here/fleet/$variant.config" ] \
            || die "unknown variant '$variant' (test, debug, or one of qemu/fleet/*.config)"
        fragments=("$here/kernel.config" "$here/fleet/$variant.config")
        kmake_vars=("${KMAKE_VARS[@]}")
        minutes=7
        ;;
esac

src_tarball() {
    if [ -n "$source_version" ]; then
        [ -f "/usr/src/linux-source-$source_version.tar.xz" ] \
            || die "no /usr/src/linux-source-$source_version.tar.xz (scripts/setup-host.sh --fleet installs the previous one)"
        echo "/usr/src/linux-source-$source_version.tar.xz"
    else
        ls /usr/src/linux-source-7.*.tar.xz 2>/dev/null | sort -V | tail -n1
    fi
}

tree_dir() {
    local tarball ver key
    tarball=$(src_tarball)
    [ -n "$tarball" ] || die "no /usr/src/linux-source-7.N.tar.xz: run scripts/setup-host.sh"
    pkg=$(basename "$tarball" .tar.xz)
    ver=$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null || echo unknown)
    if [ "$variant" = test ]; then
        # The test tree's key as it always was (a change would rebuild every cached tree).
        key=$( { cat "${fragments[0]}"; echo "recipe $recipe"; echo "$ver";
                 "$RUSTC" --version; "$BINDGEN" --version 2>/dev/null || true; gcc --version | head -1; } \
               | sha256sum | cut -c1-12)
        echo "$cache_root/kernel/linux-${ver//[^A-Za-z0-9.+]/_}-$key"
    else
        key=$( { echo "variant $variant"; for f in "${fragments[@]}"; do echo "== $(basename "$f")"; cat "$f"; done
                 echo "recipe $recipe"; echo "$ver";
                 "$RUSTC" --version; "$BINDGEN" --version 2>/dev/null || true;
                 if [ "$variant" = debug ]; then "clang$DEBUG_LLVM" --version 2>/dev/null | head -1 || true
                 else gcc --version | head -1; fi; } \
               | sha256sum | cut -c1-12)
        echo "$cache_root/kernel/linux-${ver//[^A-Za-z0-9.+]/_}-$variant-$key"
    fi
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

# verify_config CONFIG FRAGMENT...: every option the fragments set has, in CONFIG, the value the
# last fragment that mentions it gives (`CONFIG_X=v`, or `# CONFIG_X is not set`: no CONFIG_X=
# line). merge_config and olddefconfig only warn when an option does not take.
verify_config() {
    local config=$1 f line opt bad=0
    shift
    local -A want=()
    local order=()
    for f in "$@"; do
        while IFS= read -r line; do
            case "$line" in
                CONFIG_*=*) opt=${line%%=*} ;;
                "# CONFIG_"*" is not set") opt=${line#"# "}; opt=${opt%" is not set"} ;;
                *) continue ;;
            esac
            [ -n "${want[$opt]+set}" ] || order+=("$opt")
            want[$opt]=$line
        done <"$f"
    done
    for opt in "${order[@]}"; do
        line=${want[$opt]}
        case "$line" in
            CONFIG_*) grep -qxF "$line" "$config" && continue ;;
            *) grep -q "^$opt=" "$config" || continue ;;
        esac
        echo "kernel.sh: option did not take: $line (.config has: $(grep -E "^(# )?$opt[= ]" "$config" || echo nothing))" >&2
        bad=1
    done
    return "$bad"
}

build() {
    local dir log lock f names
    dir=$(tree_dir)
    if [ -f "$dir/.netoops-complete" ]; then
        say "reusing cached kernel tree $dir"
        echo "$dir"
        return
    fi
    if [ "$variant" = debug ]; then
        for f in clang ld.lld llvm-ar llvm-nm llvm-objcopy; do
            command -v "$f$DEBUG_LLVM" >/dev/null \
                || die "$f$DEBUG_LLVM not found (the debug kernel is built with LLVM=$DEBUG_LLVM): run scripts/setup-host.sh"
        done
    fi
    mkdir -p "$(dirname "$dir")"
    lock="$dir.lock"
    exec 9>"$lock"
    if ! flock -n 9; then
        say "another build of $(basename "$dir") is running: waiting for it (lock $lock)"
        flock 9
        if [ -f "$dir/.netoops-complete" ]; then
            say "reusing the kernel tree the other build finished: $dir"
            echo "$dir"
            return
        fi
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
    local mk=(make -C "$dir" -j"$(( $(nproc) + 1 ))" "${kmake_vars[@]}")
    say "checking the Rust toolchain (make rustavailable)"
    "${mk[@]}" rustavailable >"$log" 2>&1 || { tail -n 20 "$log" >&2; die "Rust is not available to the kernel build (see $log)"; }
    if [ ! -f "$dir/.netoops-configured" ]; then
        names=tinyconfig
        for f in "${fragments[@]}"; do names+=" + $(basename "$f")"; done
        say "configuring ($variant): $names"
        "${mk[@]}" tinyconfig >>"$log" 2>&1
        (cd "$dir" && KCONFIG_CONFIG=.config scripts/kconfig/merge_config.sh -m .config "${fragments[@]}") >>"$log" 2>&1
        "${mk[@]}" olddefconfig >>"$log" 2>&1
        verify_config "$dir/.config" "${fragments[@]}" || die "the config fragments do not apply (see $log)"
        touch "$dir/.netoops-configured"
    fi
    say "building bzImage and modules ($variant kernel, $(nproc) cores, about $minutes minutes; log: $log)"
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
    make-vars) echo "${kmake_vars[*]} LIBCLANG_PATH=$LIBCLANG_PATH" ;;
    *) die "$usage" ;;
esac
