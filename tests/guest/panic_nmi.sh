# A panic in NMI context: the host injects an NMI (QEMU monitor `nmi`) that the kernel does not
# recognise, with kernel.unknown_nmi_panic=1.
. /tests/lib.sh
net_up
insmod /netoops.ko
mk_target t 10.0.2.2 6667
echo 1 > $CFG/t/enabled
echo "BOOTID $(cat $CFG/boot_id)"
echo 1 > /proc/sys/kernel/unknown_nmi_panic
monitor nmi
sleep 20
fail "no panic"
