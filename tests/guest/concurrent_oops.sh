# Oopses on two CPUs at once with panic_on_oops=1 (a 4-CPU guest): the panic dump must arrive
# complete, whichever CPU panics and whatever the other one was doing (e.g. its own oops dump).
. /tests/lib.sh
one_target
echo "CPUS $(nproc)"
# Long dumps (a full log, 2 ms between frames): the first CPU is still dumping its oops when
# the second one gets to its own dump and panic.
fill_log 64
echo 2000 > $CFG/gap_us
echo 1 > /proc/sys/kernel/panic_on_oops
for cpu in 1 2; do
    taskset -c $cpu sh -c "while [ ! -e /tmp/go ]; do :; done; echo EXCEPTION > $LKDTM" &
done
sleep 0.5
touch /tmp/go
sleep 20
fail "no panic"
