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
# The SysRq key: a key another action holds is refused at load, with a message.
if insmod /netoops.ko sysrq_key=b 2>/tmp/err; then fail "sysrq_key=b (reboot) was accepted"; fi
grep -q 'busy' /tmp/err || fail "sysrq_key=b: expected EBUSY, got: $(cat /tmp/err)"
dmesg | grep -q 'netoops: sysrq_key=b is already taken by another SysRq action' || fail "no sysrq_key message"
if insmod /netoops.ko sysrq_key=ab 2>/tmp/err; then fail "sysrq_key=ab was accepted"; fi
grep -q 'Invalid argument' /tmp/err || fail "sysrq_key=ab: $(cat /tmp/err)"
dmesg | grep -q 'netoops: sysrq_key="ab" is not one letter or digit' || fail "no message for sysrq_key=ab"
# A malformed boot-time target list is refused with the position of the fault.
if insmod /netoops.ko targets=6666@10.0.2.15/eth0,99999@10.0.2.2/ 2>/tmp/err; then fail "bad targets accepted"; fi
grep -q 'Invalid argument' /tmp/err || fail "bad targets: $(cat /tmp/err)"
dmesg | grep -q 'netoops: targets: ' || fail "no message for the bad targets parameter"
! module_loaded || fail "loaded despite bad parameters"
# Without a SysRq key, SysRq y does nothing of ours.
insmod /netoops.ko sysrq_key=
echo y > /proc/sysrq-trigger
! dmesg | grep -q 'reason=SOFT' || fail "a soft dump ran without a SysRq key"
rmmod netoops
