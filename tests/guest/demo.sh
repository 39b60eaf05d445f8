. /tests/lib.sh
echo 0 > /proc/sys/kernel/panic_on_oops
echo "DEMO: loading netoops"
insmod /netoops.ko
echo "DEMO: provoking an oops with LKDTM BUG"
provoke BUG
wait_dmesg 'netoops: dump 0:'
echo "DEMO: the machine survived the oops; netoops reported:"
dmesg | grep 'netoops: dump' | sed 's/^/DEMO>   /'
