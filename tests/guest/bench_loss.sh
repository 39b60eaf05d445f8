# Many soft dumps through one target with copies=K (netoops_copies= on the command line).
. /tests/lib.sh
net_up
insmod /netoops.ko
mk_target t 10.0.2.2 6667
echo 1 > $CFG/t/enabled
k=$(sed -n 's/.*netoops_copies=\([0-9]*\).*/\1/p' /proc/cmdline)
n=$(sed -n 's/.*netoops_dumps=\([0-9]*\).*/\1/p' /proc/cmdline)
echo $k > $CFG/copies
i=0
while [ $i -lt $n ]; do soft_dump; i=$((i + 1)); done
sleep 1
echo "COUNTERS t $(cat $CFG/t/dumps_sent) $(cat $CFG/t/packets_sent) $(cat $CFG/t/send_errors)"
