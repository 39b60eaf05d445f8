# Helpers for guest scripts (sourced; runs under busybox sh -e).

LKDTM=/sys/kernel/debug/provoke-crash/DIRECT

fail() { echo "GUEST-FAIL: $*"; exit 1; }

# Provoke an LKDTM crash type from a child shell (an oops kills the writing process).
provoke() {
    echo "provoking LKDTM $1"
    sh -c "echo $1 > $LKDTM" || true
}

# provoke_preempted KIND: provoke KIND on CPU 0 while a real-time task on CPU 0 waits for the
# oops's first line. x86's oops_end() enables interrupts before the kmsg dumpers run: that task
# preempts the oopsing one there and moves it to CPU 1, so its dump runs on another CPU than its
# die notifier did (tests/guest/preempt_on_oops.c).
provoke_preempted() {
    preempt_on_oops 0 1 &
    local hog=$!
    sleep 0.3
    echo "provoking LKDTM $1 on CPU 0, moved to CPU 1 after the oops"
    taskset -c 0 sh -c "echo $1 > $LKDTM" || true
    wait $hog || fail "preempt_on_oops failed"
}

# Wait up to $2 seconds (default 10) for dmesg to match the extended regex $1.
wait_dmesg() {
    local i=0
    while ! dmesg | grep -Eq "$1"; do
        i=$((i + 1))
        [ "$i" -le "$(( ${2:-10} * 10 ))" ] || fail "dmesg never matched /$1/"
        sleep 0.1
    done
}

module_loaded() { grep -q '^netoops ' /proc/modules; }

CFG=/sys/kernel/config/netoops

# Bring eth0 up with the guest's test addresses (IPv6 without duplicate address detection,
# so the address is usable at once).
net_up() {
    dev=${1:-eth0}
    # (a kernel without IPv6: make fleet-check's noipv6 variant)
    if [ -d /proc/sys/net/ipv6 ]; then echo 0 > /proc/sys/net/ipv6/conf/$dev/accept_dad; fi
    ip link set $dev up
    ip addr add 10.0.2.15/24 dev $dev
    if [ -d /proc/sys/net/ipv6 ]; then ip -6 addr add fd00::15/64 dev $dev; fi
}

# eth1_up [MTU]: the second NIC up (at MTU, if given) with the guest's address on the second
# test network, 10.0.3.15/24.
eth1_up() {
    [ -z "${1:-}" ] || ip link set eth1 mtu $1
    ip link set eth1 up
    ip addr add 10.0.3.15/24 dev eth1
}

# mk_target NAME REMOTE_IP REMOTE_PORT [DEV]: a configured, still disabled target.
mk_target() {
    mkdir $CFG/$1
    echo ${4:-eth0} > $CFG/$1/dev_name
    echo $2 > $CFG/$1/remote_ip
    echo $3 > $CFG/$1/remote_port
}

# expect_errno ERRNO-TEXT FILE VALUE: writing VALUE to FILE must fail with that error.
expect_errno() {
    if echo "$3" | dd of="$2" 2>/tmp/err; then fail "writing '$3' to $2 succeeded"; fi
    grep -q "$1" /tmp/err || fail "writing '$3' to $2: expected '$1', got: $(cat /tmp/err)"
}

# Soft dump through SysRq, then wait for the module's report of it.
soft_dump() {
    local n i
    n=$(dmesg | grep -c 'netoops: dump [0-9]*: reason=SOFT' || true)
    echo y > /proc/sysrq-trigger
    i=0
    while [ "$(dmesg | grep -c 'netoops: dump [0-9]*: reason=SOFT' || true)" -le "$n" ]; do
        i=$((i + 1)); [ $i -le 100 ] || fail "no soft dump reported"; sleep 0.1
    done
}

# monitor CMD...: ask the host to run CMD on this VM's QEMU monitor (HMP syntax, e.g.
# `monitor set_link n0 off`, `monitor nmi`; NIC i's netdev id is n<i>). The harness sees the line
# on the serial console within about 20 ms and records the command and its reply; the guest
# waits for the effect itself (e.g. wait_carrier), or, for an NMI that panics it, simply dies.
monitor() {
    echo "NETOOPS-MONITOR: $*"
}

# wait_carrier DEV 0|1 [SECONDS]: wait (default 10 s) until DEV's carrier is down (0) or up (1).
wait_carrier() {
    local i=0
    while [ "$(cat /sys/class/net/$1/carrier 2>/dev/null)" != "$2" ]; do
        i=$((i + 1))
        [ "$i" -le "$(( ${3:-10} * 50 ))" ] || fail "$1: carrier never became $2"
        sleep 0.02
    done
}

# arg NAME: the value of NAME=... on the kernel command line (empty if absent).
arg() {
    sed -n "s/.* $1=\([^ ]*\).*/\1/p; s/^$1=\([^ ]*\).*/\1/p" /proc/cmdline | head -n1
}

# fill_log KIB [LEVEL]: about KIB KiB of records in the kernel log, so that a dump carries a full
# log; at LEVEL (default 7, debug: not on the consoles).
fill_log() {
    local i=0 n=$(( $1 * 1024 / 1000 + 1 ))
    local pad=$(printf '%0900d' 0)
    while [ $i -lt $n ]; do
        printf '<%d>netoops-fill %04d %s\n' ${2:-7} $i "$pad" > /dev/kmsg
        i=$((i + 1))
    done
}

# one_target [INSMOD ARGS...]: eth0 up, netoops loaded (with the arguments), target t to the host's
# 10.0.2.2:6667 enabled, and the boot id printed for the checks.
one_target() {
    net_up
    insmod /netoops.ko "$@"
    mk_target t 10.0.2.2 6667
    echo 1 > $CFG/t/enabled
    echo "BOOTID $(cat $CFG/boot_id)"
}
