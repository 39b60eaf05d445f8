# A hard-lockup panic: LKDTM HARDLOCKUP spins with interrupts off on one CPU; the buddy detector
# on another CPU (debug kernel) panics with kernel.hardlockup_panic=1.
. /tests/lib.sh
net_up
insmod /netoops.ko
mk_target t 10.0.2.2 6667
echo 1 > $CFG/t/enabled
echo "BOOTID $(cat $CFG/boot_id)"
echo 1 > /proc/sys/kernel/hardlockup_panic
echo 2 > /proc/sys/kernel/watchdog_thresh
taskset -c 1 sh -c "echo HARDLOCKUP > $LKDTM" &
sleep 40
fail "no panic"
