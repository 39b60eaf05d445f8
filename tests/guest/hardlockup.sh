# A hard-lockup panic: LKDTM HARDLOCKUP spins with interrupts off on one CPU; the buddy detector
# on another CPU (debug kernel) panics with kernel.hardlockup_panic=1.
. /tests/lib.sh
one_target
echo 1 > /proc/sys/kernel/hardlockup_panic
echo 2 > /proc/sys/kernel/watchdog_thresh
taskset -c 1 sh -c "echo HARDLOCKUP > $LKDTM" &
sleep 40
fail "no panic"
