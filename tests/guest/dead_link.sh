# Two targets: t1 on eth1, whose link the host takes down in the middle of a soft dump, then t0 on
# eth0. The soft dump must go on to t0 at once and complete there; then a panic with eth1's link
# still down: t1 is skipped at once, t0's dump completes. A 64 KiB log, 10 ms between frames, a
# 3 s budget (dump_budget_ms=3000).
. /tests/lib.sh
net_up eth0
ip link set eth1 up
ip addr add 10.0.3.15/24 dev eth1
insmod /netoops.ko dump_budget_ms=3000
mk_target t1 10.0.3.2 6668 eth1
mk_target t0 10.0.2.2 6667 eth0
echo 1 > $CFG/t1/enabled
echo 1 > $CFG/t0/enabled
echo 10000 > $CFG/gap_us
echo "BOOTID $(cat $CFG/boot_id)"
fill_log 64
# The host sets the link down about 20-50 ms after it reads this line: t1 is sending by then.
monitor set_link n1 off
echo y > /proc/sysrq-trigger
wait_dmesg 'netoops: dump 0: reason=SOFT'
wait_carrier eth1 0
for t in t0 t1; do
    echo "COUNTERS $t $(cat $CFG/$t/dumps_sent) $(cat $CFG/$t/packets_sent) $(cat $CFG/$t/send_errors)"
done
sleep 1
provoke PANIC
