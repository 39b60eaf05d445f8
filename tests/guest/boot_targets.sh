# Boot-time targets from the kernel command line, passed to the module as modprobe does
# (it reads netoops.* options from /proc/cmdline).
. /tests/lib.sh
net_up
for ip in 10.0.2.2 fd00::2; do timeout 1 ping -c 1 $ip >/dev/null 2>&1 || true; done
opts=$(tr ' ' '\n' < /proc/cmdline | sed -n 's/^netoops\.//p')
echo "module options from the command line: $opts"
insmod /netoops.ko $opts
for t in boot0 boot1 boot2; do
    [ -d $CFG/$t ] || fail "$t not in configfs"
    echo "TARGET $t enabled=$(cat $CFG/$t/enabled) dev=$(cat $CFG/$t/dev_name) remote=$(cat $CFG/$t/remote_ip):$(cat $CFG/$t/remote_port) local=$(cat $CFG/$t/local_ip):$(cat $CFG/$t/local_port)"
done
[ "$(cat $CFG/boot0/enabled)" = 1 ] || fail "boot0 not enabled"
[ "$(cat $CFG/boot1/enabled)" = 1 ] || fail "boot1 not enabled"
[ "$(cat $CFG/boot2/enabled)" = 0 ] || fail "boot2 enabled before its device exists"
dmesg | grep -q 'netoops: target boot2: waiting for its device to appear' || fail "boot2 not waiting"
ip link add d9 type dummy
wait_dmesg 'netoops: target boot2: resumed'
soft_dump
sleep 0.5
for t in boot0 boot1 boot2; do
    echo "COUNTERS $t $(cat $CFG/$t/dumps_sent) $(cat $CFG/$t/packets_sent) $(cat $CFG/$t/send_errors)"
done
if rmdir $CFG/boot0 2>/dev/null; then fail "a boot-time target was removed with rmdir"; fi
# rmmod with enabled targets tears everything down.
rmmod netoops
! module_loaded || fail "still loaded"
dmesg | grep -q 'netoops: target boot0: disabled' || fail "boot0 not torn down"
dmesg | grep -q 'netoops: target boot2: disabled' || fail "boot2 not torn down"
[ ! -d $CFG ] || fail "configfs tree left behind"
insmod /netoops.ko $opts
rmmod netoops
