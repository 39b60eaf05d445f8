# Two targets: t1 on eth1, whose transmit ring the host drains only 4 s after a kick, filled by a flood
# first, so that its queue stays stopped; then t0 on eth0. A panic: t1 must be abandoned once its
# share of the 2 s budget (1 s) is spent, t0's dump must complete, and the whole dump stay within
# the budget (a per-frame wait would add up to many seconds).
. /tests/lib.sh
net_up eth0
eth1_up
timeout 1 ping -c 1 -I eth1 10.0.3.3 >/dev/null 2>&1 || true
insmod /netoops.ko dump_budget_ms=2000
mk_target t1 10.0.3.2 6668 eth1
mk_target t0 10.0.2.2 6667 eth0
echo 1 > $CFG/t1/enabled
echo 1 > $CFG/t0/enabled
echo "BOOTID $(cat $CFG/boot_id)"
fill_log 64
sleep 4
flood 10.0.3.3 9 1 1400
echo "TX $(grep eth1 /proc/net/dev)"
provoke PANIC
