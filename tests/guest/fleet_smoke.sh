# make fleet-check's smoke set on one kernel of the matrix (tests/fleet_check.py): netoops
# loaded (after configfs.ko where configfs is a module), one target to netoopsd on the host
# (QEMU's user network: the host is 10.0.2.2), a SysRq soft dump, an LKDTM oops the machine
# survives, then the target removed and netoops unloaded.
. /tests/lib.sh
port=$(sed -n 's/.*netoops_port=\([0-9]*\).*/\1/p' /proc/cmdline)
if [ -f /configfs.ko ]; then
    echo "SMOKE: configfs is a module here: loading it first"
    insmod /configfs.ko
    mount -t configfs configfs /sys/kernel/config
fi
net_up
timeout 2 ping -c 1 10.0.2.2 >/dev/null 2>&1 || true
echo "SMOKE: loading netoops ($(uname -r), $(nproc) CPUs)"
insmod /netoops.ko || fail "insmod netoops.ko failed"
echo "SMOKE: netoops taint flags: '$(cat /sys/module/netoops/taint)'"
if [ ! -d /proc/sys/net/ipv6 ]; then
    echo "SMOKE: no IPv6 here: an IPv6 address is refused"
    mkdir $CFG/v6
    expect_errno "Invalid argument" $CFG/v6/remote_ip fd00::2
    rmdir $CFG/v6
    dmesg | grep -q 'remote_ip.*fd00::2.*no IPv6' || fail "no kernel line naming remote_ip and fd00::2"
fi
mk_target collector 10.0.2.2 $port
echo 1 > $CFG/collector/enabled
echo "SMOKE: a SysRq soft dump"
soft_dump
echo 0 > /proc/sys/kernel/panic_on_oops
echo "SMOKE: an oops (LKDTM BUG); the machine carries on"
provoke BUG
wait_dmesg 'netoops: dump [0-9]+: reason=OOPS'
echo 0 > $CFG/collector/enabled
rmdir $CFG/collector
rmmod netoops || fail "rmmod netoops failed"
if module_loaded; then fail "netoops still loaded after rmmod"; fi
echo "SMOKE: unloaded"
