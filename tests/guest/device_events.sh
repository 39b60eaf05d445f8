# A target's device goes away (the target stops, cleanly) and comes back (it resumes).
. /tests/lib.sh
ip link add d0 type dummy
ip link set d0 up
ip addr add 192.0.2.1/24 dev d0
insmod /netoops.ko
mk_target t 192.0.2.2 6667 d0
echo 1 > $CFG/t/enabled
soft_dump
[ "$(cat $CFG/t/dumps_sent)" = 1 ] || fail "first dump not sent (dumps_sent=$(cat $CFG/t/dumps_sent))"
ip link del d0
wait_dmesg 'netoops: target t: device d0 went away'
[ "$(cat $CFG/t/enabled)" = 0 ] || fail "enabled while its device is gone"
soft_dump
[ "$(cat $CFG/t/dumps_sent)" = 1 ] || fail "sent while its device is gone"
ip link add d0 type dummy
wait_dmesg 'netoops: target t: resumed'
[ "$(cat $CFG/t/enabled)" = 1 ] || fail "not enabled after resuming"
soft_dump
[ "$(cat $CFG/t/dumps_sent)" = 2 ] || fail "not sending after resuming (dumps_sent=$(cat $CFG/t/dumps_sent))"
rmdir $CFG/t
rmmod netoops
