# A panic in NMI context: the host injects an NMI (QEMU monitor `nmi`) that the kernel does not
# recognise, with kernel.unknown_nmi_panic=1.
. /tests/lib.sh
one_target
echo 1 > /proc/sys/kernel/unknown_nmi_panic
monitor nmi
sleep 20
fail "no panic"
