# Sealed version-2 dumps: seal_key is write-only and refuses malformed keys (one log line that
# does not show the value); with a key installed, an LKDTM oops and a SysRq soft dump go out
# compressed, with parity, sealed (netoopsd opens them with the key only: see the check).
. /tests/lib.sh
KEY=5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e
net_up
insmod /netoops.ko
echo "SEAL_KEY_MODE $(ls -l $CFG/seal_key | cut -c1-10)"
if cat $CFG/seal_key 2>/tmp/err; then fail "seal_key is readable"; fi
grep -q "Permission denied" /tmp/err || fail "reading seal_key: $(cat /tmp/err)"
expect_errno "Invalid argument" $CFG/seal_key "7 00112233"
expect_errno "Invalid argument" $CFG/seal_key "0x7 $KEY"
expect_errno "Invalid argument" $CFG/seal_key "256 $KEY"
echo "7 $KEY" > $CFG/seal_key
echo 50 > $CFG/fec_percent
expect_errno "Invalid argument" $CFG/fec_percent 401
expect_errno "Invalid argument" $CFG/wire_version 3
mk_target t 10.0.2.2 6667
echo 1 > $CFG/t/enabled
fill_log 40
echo 0 > /proc/sys/kernel/panic_on_oops
provoke BUG
wait_dmesg 'netoops: dump 0: reason=OOPS'
soft_dump
sleep 1
rmdir $CFG/t
rmmod netoops
