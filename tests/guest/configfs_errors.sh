# Every bad configfs input yields its errno and a kernel line naming the attribute; nothing
# is lost; EBUSY while enabled; rmmod refused while a target exists, clean after rmdir.
. /tests/lib.sh
net_up
insmod /netoops.ko
mkdir $CFG/t
T=$CFG/t
EINVAL="Invalid argument"; EBUSY="busy"; ENODEV="No such device"

expect_errno "$EINVAL" $T/remote_ip 300.1.1.1
dmesg | grep -q 'netoops: target t: remote_ip: invalid value "300.1.1.1"' || fail "no message naming remote_ip"
expect_errno "$EINVAL" $T/remote_ip 10.0.2.2.1
expect_errno "$EINVAL" $T/local_ip "fd00::1::2"
expect_errno "$EINVAL" $T/local_port 0
expect_errno "$EINVAL" $T/remote_port 65536
expect_errno "$EINVAL" $T/remote_port abc
dmesg | grep -q 'netoops: target t: remote_port: invalid value "abc"' || fail "no message naming remote_port"
expect_errno "$EINVAL" $T/remote_mac 52:54:00:zz:00:01
expect_errno "$EINVAL" $T/dev_name averyveryverylongname
expect_errno "$EINVAL" $T/enabled maybe
dmesg | grep -q 'netoops: target t: enabled: invalid value "maybe"' || fail "no message naming enabled"
expect_errno "Permission denied" $T/local_mac 52:54:00:00:00:01

# Families may not mix.
echo 10.0.2.2 > $T/remote_ip
expect_errno "$EINVAL" $T/local_ip fd00::15
dmesg | grep -q 'netoops: target t: local_ip: invalid value "fd00::15": local_ip and remote_ip must be the same family' || fail "no family message"
[ "$(cat $T/local_ip)" = "" ] || fail "local_ip changed by a refused write"

# Enabling without a device that exists.
echo nosuch0 > $T/dev_name
expect_errno "$ENODEV" $T/enabled 1
dmesg | grep -q 'netoops: target t: enabled: device nosuch0 does not exist' || fail "no ENODEV message"
[ "$(cat $T/enabled)" = 0 ] || fail "enabled after ENODEV"

# Enabled: addresses, ports, device and MAC are EBUSY; values are kept.
echo eth0 > $T/dev_name
echo 1 > $T/enabled
[ "$(cat $T/enabled)" = 1 ] || fail "not enabled"
expect_errno "$EBUSY" $T/remote_ip 10.0.2.9
expect_errno "$EBUSY" $T/local_ip 10.0.2.15
expect_errno "$EBUSY" $T/remote_port 7000
expect_errno "$EBUSY" $T/local_port 7001
expect_errno "$EBUSY" $T/dev_name lo
expect_errno "$EBUSY" $T/remote_mac 52:54:00:00:00:09
dmesg | grep -q 'netoops: target t: remote_port: cannot change while enabled' || fail "no EBUSY message"
[ "$(cat $T/remote_ip)" = 10.0.2.2 ] || fail "remote_ip changed while enabled"
[ "$(cat $T/remote_port)" = 6667 ] || fail "remote_port changed while enabled"
expect_errno "$EINVAL" $T/enabled 1

# Global attributes.
G=$CFG
expect_errno "$EINVAL" $G/boot_id not-a-uuid
echo 0F5A2C1E-7B3D-4E8F-9A6B-1C2D3E4F5A6B > $G/boot_id
[ "$(cat $G/boot_id)" = 0f5a2c1e-7b3d-4e8f-9a6b-1c2d3e4f5a6b ] || fail "boot_id did not round-trip: $(cat $G/boot_id)"
head -c 128 /dev/urandom > /tmp/blob128
cat /tmp/blob128 > $G/user_blob
cmp /tmp/blob128 $G/user_blob || fail "128-byte user_blob did not round-trip"
head -c 129 /dev/urandom > /tmp/blob129
if dd if=/tmp/blob129 of=$G/user_blob bs=129 2>/tmp/err; then fail "129-byte user_blob accepted"; fi
grep -q "$EINVAL" /tmp/err || fail "129-byte user_blob: $(cat /tmp/err)"
dmesg | grep -q 'netoops: user_blob: 129 bytes is too long (at most 128)' || fail "no user_blob message"
cmp /tmp/blob128 $G/user_blob || fail "a refused user_blob changed the stored one"
expect_errno "$EINVAL" $G/copies 0
expect_errno "$EINVAL" $G/copies 5
expect_errno "$EINVAL" $G/gap_us 100001
echo 3 > $G/copies; [ "$(cat $G/copies)" = 3 ] || fail "copies"
echo 250 > $G/gap_us; [ "$(cat $G/gap_us)" = 250 ] || fail "gap_us"

# The module is pinned while a target exists; removing an enabled target tears it down.
if rmmod netoops 2>/dev/null; then fail "rmmod succeeded with a target directory present"; fi
rmdir $T
dmesg | grep -q 'netoops: target t: disabled' || fail "rmdir did not disable the target"
rmmod netoops
! module_loaded || fail "still loaded"
insmod /netoops.ko
rmmod netoops
