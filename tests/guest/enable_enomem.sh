# Allocation failures injected (failslab, debug kernel) into every step of enabling a target in
# turn: each attempt ends with success or ENOMEM, never a hang, and rtnl stays usable. With
# log_kib=4 the pool is small (about 45 KiB of skbs), so that moving the failure 1 KiB further
# into the enabling task's allocations each time reaches past the pool, into netpoll's set-up.
. /tests/lib.sh
net_up
insmod /netoops.ko log_kib=4
mk_target t 10.0.2.2 6667
F=/sys/kernel/debug/failslab
echo 1 > $F/task-filter
echo 0 > $F/ignore-gfp-wait
echo 100 > $F/probability
echo 1 > $F/interval
echo 0 > $F/verbose
ok=0; nomem=0
n=1
while [ $n -le 60 ]; do
    # Fail the enabling task's first slab allocation past n KiB, once.
    echo $((n * 1024)) > $F/space
    echo 1 > $F/times
    if sh -c "echo 1 > /proc/self/make-it-fail; exec echo 1 > $CFG/t/enabled" 2>/tmp/err; then
        ok=$((ok + 1))
    else
        grep -q "Cannot allocate memory" /tmp/err || fail "attempt $n: $(cat /tmp/err)"
        nomem=$((nomem + 1))
    fi
    echo 0 > $F/times
    # rtnl is usable: a link change goes through at once.
    timeout 5 ip link set eth0 mtu 1500 || fail "attempt $n: rtnl stuck"
    echo 0 > $CFG/t/enabled
    n=$((n + 1))
done
echo "ENOMEM-RESULTS ok=$ok nomem=$nomem"
[ $nomem -gt 0 ] || fail "no enable attempt saw an injected failure"
echo 1 > $CFG/t/enabled
soft_dump
rmdir $CFG/t
rmmod netoops
