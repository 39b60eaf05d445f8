# A target follows its device: a boot-time target on eth0 before eth0 has an address waits and
# resumes when one is added; an MTU change binds it again with packets that fit; enabling a
# target on a device that is down brings the device up and waits for its carrier first.
. /tests/lib.sh
echo 0 > /proc/sys/net/ipv6/conf/eth0/accept_dad
ip link set eth0 up
insmod /netoops.ko targets=@/eth0,6667@10.0.2.2/
wait_dmesg 'netoops: target boot0: waiting for its device to get an address'
[ "$(cat $CFG/boot0/enabled)" = 0 ] || fail "boot0 enabled without an address"
ip addr add 10.0.2.15/24 dev eth0
wait_dmesg 'netoops: target boot0: resumed'
echo "BOOTID $(cat $CFG/boot_id)"
soft_dump
ip link set eth0 mtu 576
wait_dmesg 'netoops: target boot0: device changed its MTU or address; binding again'
wait_dmesg 'netoops: target boot0: resumed' 10
i=0
while [ "$(dmesg | grep -c 'netoops: target boot0: resumed')" -lt 2 ]; do
    i=$((i + 1)); [ $i -le 100 ] || fail "boot0 did not resume after the MTU change"; sleep 0.1
done
soft_dump
# eth1 is down: enabling brings it up (and waits for its carrier) before binding.
ip addr add 10.0.3.15/24 dev eth1
mk_target t 10.0.3.2 6668 eth1
echo 1 > $CFG/t/enabled
dmesg | grep -q 'netoops: target t: device eth1 is down, bringing it up' || fail "eth1 not brought up"
[ "$(cat /sys/class/net/eth1/carrier)" = 1 ] || fail "enabled before eth1 has its carrier"
soft_dump
sleep 0.5
