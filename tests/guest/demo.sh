# make demo: netoops pointed at netoopsd on the host (QEMU's user network: the host is
# 10.0.2.2), two oopses the machine survives, then a panic.
. /tests/lib.sh
port=$(sed -n 's/.*netoops_port=\([0-9]*\).*/\1/p' /proc/cmdline)
net_up
timeout 2 ping -c 1 10.0.2.2 >/dev/null 2>&1 || true
echo "DEMO: loading netoops, target 10.0.2.2:$port"
insmod /netoops.ko
mk_target collector 10.0.2.2 $port
echo 1 > $CFG/collector/enabled
echo 0 > /proc/sys/kernel/panic_on_oops
echo "DEMO: an oops (LKDTM BUG); the machine carries on"
provoke BUG
wait_dmesg 'netoops: dump 0: reason=OOPS'
echo "DEMO: the same bug again"
provoke BUG
wait_dmesg 'netoops: dump 1: reason=OOPS'
sleep 1
echo "DEMO: a panic (LKDTM PANIC)"
provoke PANIC
