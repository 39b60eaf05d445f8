. /tests/lib.sh
insmod /netoops.ko
module_loaded || fail "netoops not in /proc/modules after insmod"
rmmod netoops
! module_loaded || fail "netoops still loaded after rmmod"
insmod /netoops.ko
module_loaded || fail "reload failed"
rmmod netoops
if insmod /netoops.ko log_kib=1 2>/tmp/err; then fail "log_kib=1 was accepted"; fi
grep -q 'Invalid argument' /tmp/err || fail "log_kib=1: expected EINVAL, got: $(cat /tmp/err)"
! module_loaded || fail "netoops loaded despite a bad parameter"
insmod /netoops.ko
rmmod netoops
[ "$(dmesg | grep -c 'netoops: unloaded')" = 3 ] || fail "expected 3 unloads in dmesg"
