# Helpers for guest scripts (sourced; runs under busybox sh -e).

LKDTM=/sys/kernel/debug/provoke-crash/DIRECT

fail() { echo "GUEST-FAIL: $*"; exit 1; }

# Provoke an LKDTM crash type from a child shell (an oops kills the writing process).
provoke() {
    echo "provoking LKDTM $1"
    sh -c "echo $1 > $LKDTM" || true
}

# Wait up to $2 seconds (default 10) for dmesg to match the extended regex $1.
wait_dmesg() {
    i=0
    while ! dmesg | grep -Eq "$1"; do
        i=$((i + 1))
        [ "$i" -le "$(( ${2:-10} * 10 ))" ] || fail "dmesg never matched /$1/"
        sleep 0.1
    done
}

module_loaded() { grep -q '^netoops ' /proc/modules; }
