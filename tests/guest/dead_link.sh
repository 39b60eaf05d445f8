# Two targets: t1 on eth1, whose link the host takes down in the middle of a soft dump, then t0 on
# eth0. The soft dump must go on to t0 at once and complete there; then a panic with eth1's link
# still down: t1 is skipped at once, t0's dump completes. A 64 KiB log, 4 copies, 8 ms between
# frames (about 1.5 s per target), the default 5 s budget.
. /tests/lib.sh
net_up eth0
eth1_up
insmod /netoops.ko
mk_target t1 10.0.3.2 6668 eth1
mk_target t0 10.0.2.2 6667 eth0
echo 1 > $CFG/t1/enabled
echo 1 > $CFG/t0/enabled
echo 8000 > $CFG/gap_us
echo 4 > $CFG/copies
# Version 1: the padding fill_log writes compresses to a handful of version-2 packets, and the
# link must go down while the dump still has frames to send (about 200 per target here).
echo 1 > $CFG/wire_version
echo "BOOTID $(cat $CFG/boot_id)"
fill_log 64
# The host sets eth1's link down as t1's 10th frame reaches it (link_down_after): during the
# dump. The driver learns of it in deferred work on the CPU its interrupt went to; a SysRq
# handler runs under rcu_read_lock, not preemptible in this kernel, so eth1's link interrupt is
# sent to CPU 1 and the dump runs on CPU 0.
irq=$(grep -E " virtio1-config$" /proc/interrupts | cut -d: -f1 | tr -d ' ')
echo 2 > /proc/irq/$irq/smp_affinity
cpu=0
# eth1's interrupt counts per CPU before and right after the dump: whether the guest had its
# link interrupt during the dump, and on which CPU (the check names them if t1 was not given up).
grep -E " virtio1-config$" /proc/interrupts | sed 's/^ */INTERRUPTS before /'
taskset -c $cpu sh -c 'echo y > /proc/sysrq-trigger; grep -E " virtio1-config$" /proc/interrupts' |
    sed 's/^ */INTERRUPTS after /'
wait_dmesg 'netoops: dump 0: reason=SOFT'
wait_carrier eth1 0
for t in t0 t1; do
    echo "COUNTERS $t $(cat $CFG/$t/dumps_sent) $(cat $CFG/$t/packets_sent) $(cat $CFG/$t/send_errors)"
done
sleep 1
provoke PANIC
