# Six targets: IPv4 with no known neighbour (broadcast), IPv4 with a resolved neighbour, one
# left disabled, IPv6 with a resolved neighbour, IPv4 and IPv6 through a gateway. One soft dump.
. /tests/lib.sh
net_up
ip route add 198.51.100.0/24 via 10.0.2.4
ip -6 route add 2001:db8:77::/64 via fd00::4
# Let the neighbour tables learn the host side's answers (the pings get no echo reply).
for ip in 10.0.2.3 10.0.2.4 fd00::2 fd00::4; do echo "resolving $ip"; timeout 1 ping -c 1 $ip >/dev/null 2>&1 || true; done
insmod /netoops.ko
# Two copies of every packet: the check counts them.
echo 2 > $CFG/copies
mk_target t1 10.0.2.2 6667
mk_target t2 10.0.2.3 6668
mk_target t3 10.0.2.2 6669
mk_target t4 fd00::2 6670
mk_target t5 198.51.100.7 6671
mk_target t6 2001:db8:77::9 6672
for t in t1 t2 t4 t5 t6; do echo 1 > $CFG/$t/enabled; done
for t in t1 t2 t3 t4 t5 t6; do
    echo "TARGET $t enabled=$(cat $CFG/$t/enabled) local_ip=$(cat $CFG/$t/local_ip) remote_mac=$(cat $CFG/$t/remote_mac) local_mac=$(cat $CFG/$t/local_mac)"
done
echo "BOOTID $(cat $CFG/boot_id)"
soft_dump
sleep 0.5
for t in t1 t2 t3 t4 t5 t6; do
    echo "COUNTERS $t $(cat $CFG/$t/dumps_sent) $(cat $CFG/$t/packets_sent) $(cat $CFG/$t/send_errors)"
done
