. /tests/lib.sh
echo 0 > /proc/sys/kernel/panic_on_oops
insmod /netoops.ko
provoke BUG
wait_dmesg 'netoops: dump 0: reason=OOPS'
echo "guest still running after the oops"
