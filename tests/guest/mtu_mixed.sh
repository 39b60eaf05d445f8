# Two targets on two NICs: eth0 at MTU 1500, eth1 at MTU 576. Soft dumps at copies 1, 2 and 3,
# then, at copies 4 with a full 64 KiB log, an oops and the panic it causes (panic_on_oops=1):
# every dump must arrive complete through both targets (one packet plan, cut for MTU 576).
. /tests/lib.sh
net_up eth0
echo 0 > /proc/sys/net/ipv6/conf/eth1/accept_dad
eth1_up 576
insmod /netoops.ko
mk_target t0 10.0.2.2 6667 eth0
mk_target t1 10.0.3.2 6668 eth1
echo 1 > $CFG/t0/enabled
echo 1 > $CFG/t1/enabled
echo "BOOTID $(cat $CFG/boot_id)"
for c in 1 2 3; do
    echo $c > $CFG/copies
    soft_dump
    # The pools are topped up after a dump the machine survives.
    sleep 1
done
echo 4 > $CFG/copies
fill_log 64
echo 1 > /proc/sys/kernel/panic_on_oops
provoke EXCEPTION
