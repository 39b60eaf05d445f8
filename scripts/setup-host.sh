#!/usr/bin/env bash
# Idempotent host set-up for building and testing netoops.
#
# Installs (only what is missing):
#   - Debian packages: kernel build deps, Debian's rustc-web + rust-web-src (a rustc with
#     library source, which the kernel's Rust support needs), libclang-19, QEMU, busybox-static,
#     tshark; rustfmt-web and rust-web-clippy (the kernel's `make rustfmtcheck` and CLIPPY=1 with
#     the same compiler); dkms; mmdebstrap (Debian's own toolchain for Debian's own kernel);
#     clang-19, lld-19 and llvm-19 for the debug test kernel (KASAN with Rust needs a
#     clang-built kernel; version 19, the libclang bindgen uses); chromium and chromium-driver
#     (the web view's browser test), debuginfod (the symbolization test's server)
#   - the trixie-backports suite (and nothing else from trixie), for linux-source-7.N
#   - bindgen-cli 0.71.1 (the kernel needs >= 0.71.1; bookworm ships 0.60)
#   - cargo-fuzz, for the bounded fuzz run of the packet decoder
#
# Safe to run again: every step checks first and says what it skips.
set -euo pipefail

log() { printf '[setup] %s\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
else
    SUDO=
fi
export DEBIAN_FRONTEND=noninteractive

PKGS=(
    build-essential flex bison bc libelf-dev libssl-dev cpio kmod python3
    rustc-web rust-web-src libclang-19-dev
    clang-19 lld-19 llvm-19
    qemu-system-x86 busybox-static tshark iproute2
    rustfmt-web rust-web-clippy
    dkms mmdebstrap
    chromium chromium-driver debuginfod
    systemd  # systemd-analyze: netoopsd/tests/service.rs checks the unit
    postgresql
)

BINDGEN_VERSION=0.71.1
BINDGEN_ROOT=${NETOOPS_TOOLS:-/opt/netoops-tools}
BACKPORTS_LIST=/etc/apt/sources.list.d/netoops-trixie-backports.sources

apt_updated=0
apt_update() {
    if [ "$apt_updated" = 0 ]; then
        log "apt-get update"
        $SUDO apt-get update -q >/dev/null
        apt_updated=1
    fi
}

# --- trixie-backports (only this suite; priority 100 so nothing else upgrades) -----------
if [ ! -f "$BACKPORTS_LIST" ]; then
    log "adding the trixie-backports suite ($BACKPORTS_LIST)"
    $SUDO tee "$BACKPORTS_LIST" >/dev/null <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-trixie-automatic.gpg
SRC
    apt_update
else
    log "trixie-backports suite already configured"
fi

# --- Debian packages ---------------------------------------------------------------------
missing=()
for p in "${PKGS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done
if [ "${#missing[@]}" -gt 0 ]; then
    apt_update
    log "installing Debian packages: ${missing[*]}"
    echo 'wireshark-common wireshark-common/install-setuid boolean false' | $SUDO debconf-set-selections
    extra=()
    # The image may carry a newer qemu-utils (from bookworm-backports) that Breaks bookworm's
    # qemu-system-common; take qemu-utils from bookworm with it rather than add another suite.
    if printf '%s\n' "${missing[@]}" | grep -qx qemu-system-x86; then
        extra=(qemu-utils/bookworm --allow-downgrades)
    fi
    $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" "${extra[@]}" >/dev/null
else
    log "Debian packages already installed"
fi

# --- newest linux-source-7.N from trixie-backports ---------------------------------------
# (make fleet-check also takes the one before it: scripts/setup-host.sh --fleet)
if ! ls /usr/src/linux-source-7.*.tar.xz >/dev/null 2>&1; then
    apt_update
    src_pkg=$(apt-cache search --names-only '^linux-source-7\.[0-9]+$' | awk '{print $1}' | sort -V | tail -n1)
    if [ -z "$src_pkg" ]; then
        log "ERROR: no linux-source-7.N package found in trixie-backports" >&2
        exit 1
    fi
    log "installing $src_pkg from trixie-backports"
    $SUDO apt-get install -y -q --no-install-recommends "$src_pkg/trixie-backports" >/dev/null
else
    log "kernel source already installed: $(ls /usr/src/linux-source-7.*.tar.xz | tr '\n' ' ')"
fi

# --- the previous linux-source-7.N too, for make fleet-check -----------------------------
if [ "${1:-}" = --fleet ]; then
    newest=$(ls /usr/src/linux-source-7.*.tar.xz | sort -V | tail -n1 | sed 's/.*linux-source-7\.\([0-9]*\).*/\1/')
    prev_pkg="linux-source-7.$((newest - 1))"
    if [ -f "/usr/src/$prev_pkg.tar.xz" ]; then
        log "previous kernel source already installed: /usr/src/$prev_pkg.tar.xz"
    else
        apt_update
        log "installing $prev_pkg from trixie-backports (make fleet-check)"
        $SUDO apt-get install -y -q --no-install-recommends "$prev_pkg/trixie-backports" >/dev/null \
            || { log "ERROR: $prev_pkg is not in trixie-backports" >&2; exit 1; }
    fi
fi

# --- bindgen-cli -------------------------------------------------------------------------
if [ -x "$BINDGEN_ROOT/bin/bindgen" ] && "$BINDGEN_ROOT/bin/bindgen" --version | grep -q "$BINDGEN_VERSION"; then
    log "bindgen $BINDGEN_VERSION already installed in $BINDGEN_ROOT"
else
    log "building bindgen-cli $BINDGEN_VERSION into $BINDGEN_ROOT (about 2 minutes)"
    cargo install --quiet --locked --root "$BINDGEN_ROOT" bindgen-cli --version "$BINDGEN_VERSION"
fi

# --- cargo-fuzz (the bounded fuzz run of make check) ------------------------------------
if command -v cargo-fuzz >/dev/null 2>&1 || [ -x "$HOME/.cargo/bin/cargo-fuzz" ]; then
    log "cargo-fuzz already installed"
else
    log "installing cargo-fuzz (about 2 minutes)"
    cargo install --quiet --locked cargo-fuzz
fi

log "done"
