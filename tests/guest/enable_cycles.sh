# 100 enable/disable cycles while soft dumps fire from another process.
. /tests/lib.sh
net_up
insmod /netoops.ko
mk_target t 10.0.2.2 6667
( i=0; while [ $i -lt 60 ]; do echo y > /proc/sysrq-trigger; i=$((i + 1)); sleep 0.05; done ) &
dumper=$!
i=0
while [ $i -lt 100 ]; do
    echo 1 > $CFG/t/enabled
    echo 0 > $CFG/t/enabled
    i=$((i + 1))
done
wait $dumper
echo "CYCLES done: $(dmesg | grep -c 'netoops: dump [0-9]*: reason=SOFT') soft dumps, $(cat $CFG/t/dumps_sent) sent while enabled"
echo 1 > $CFG/t/enabled
soft_dump
rmdir $CFG/t
rmmod netoops
