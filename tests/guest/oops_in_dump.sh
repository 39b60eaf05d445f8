# An oops inside netoops's own dump path (the test kernels' fault hook, test_fault=oops-in-dump),
# with panic_on_oops=1: the soft dump that oopses, the dump of that oops and the panic's dump
# must all arrive complete (each nested dump takes the dump over on the same CPU).
. /tests/lib.sh
one_target test_fault=oops-in-dump
echo 1 > /proc/sys/kernel/panic_on_oops
echo y > /proc/sysrq-trigger
sleep 20
fail "no panic"
