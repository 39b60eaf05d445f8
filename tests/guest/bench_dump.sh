# Benchmark guest (tests/bench_dump.py): a full 64 KiB log pushed by netconsole (the kernel's,
# extended format: loaded with a target, it replays the whole log through its printer thread),
# then by netoops in a panic, both on eth0 of the same VM; with bench_deadlink=1 each also has a
# first target on eth1, whose link is down.
. /tests/lib.sh
net_up eth0
eth1_up
dead=$(arg bench_deadlink)
# At notice level, so that netconsole (a console) sends it too.
fill_log 64 5
if [ "$dead" = 1 ]; then
    # Asked again if the guest has not seen the link go down within 3 s (seen once in a few
    # runs: the link change not noticed).
    for try in 1 2 3; do
        monitor set_link n1 off
        i=0
        while [ "$(cat /sys/class/net/eth1/carrier)" != 0 ] && [ $i -lt 150 ]; do
            i=$((i + 1)); sleep 0.02
        done
        [ "$(cat /sys/class/net/eth1/carrier)" = 0 ] && break
        monitor set_link n1 on
        sleep 0.5
    done
    wait_carrier eth1 0
fi
spec="+@/eth0,6666@10.0.2.2/ff:ff:ff:ff:ff:ff"
[ "$dead" = 1 ] && spec="+@/eth1,6668@10.0.3.2/ff:ff:ff:ff:ff:ff;$spec"
echo "BENCH netconsole"
insmod /netconsole.ko netconsole="$spec"
sleep 3
rmmod netconsole
echo "BENCH netoops"
insmod /netoops.ko
if [ "$dead" = 1 ]; then mk_target t1 10.0.3.2 6668 eth1; echo 1 > $CFG/t1/enabled; fi
mk_target t0 10.0.2.2 6667 eth0
echo 1 > $CFG/t0/enabled
echo 1 > $CFG/copies
provoke PANIC
