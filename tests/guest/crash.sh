# One LKDTM crash type (netoops_crash= on the command line) with a target on eth0.
# BUG and EXCEPTION: two oopses in a row, the machine carries on. The others panic.
. /tests/lib.sh
net_up
insmod /netoops.ko $(sed -n 's/.*netoops_insmod=\([^ ]*\).*/\1/p' /proc/cmdline | tr ',' ' ')
mk_target t 10.0.2.2 6667
echo 1 > $CFG/t/enabled
# Optional: copies of every packet (netoops_copies=N) and a full log (netoops_fill=KIB).
copies=$(arg netoops_copies)
[ -z "$copies" ] || echo $copies > $CFG/copies
fill=$(arg netoops_fill)
[ -z "$fill" ] || fill_log $fill
echo "BOOTID $(cat $CFG/boot_id)"
crash=$(sed -n 's/.*netoops_crash=\([^ ]*\).*/\1/p' /proc/cmdline)
grep -E " lkdtm_(BUG|EXCEPTION|WARNING|SOFTLOCKUP|PANIC)$" /proc/kallsyms | sed 's/^/KALLSYMS /'
grep -E '^(vendor_id|cpu family|model|stepping|microcode)' /proc/cpuinfo | head -5 | tr -d '\t' | sed 's/ *: */=/; s/ /_/g; s/^/CPUINFO /'
# With netoops_preempt=1 an oopsing task moves to CPU 1 before its dumps (BUG, BUG_PANIC).
how=provoke
[ "$(arg netoops_preempt)" != 1 ] || how=provoke_preempted
case $crash in
BUG|EXCEPTION)
    echo 0 > /proc/sys/kernel/panic_on_oops
    $how $crash
    wait_dmesg 'netoops: dump 0: reason=OOPS'
    $how $crash
    wait_dmesg 'netoops: dump 1: reason=OOPS'
    sleep 1
    ;;
OOPS_PANIC)
    # An oops with panic_on_oops=1: an OOPS dump, then the PANIC dump of "Fatal exception".
    echo 1 > /proc/sys/kernel/panic_on_oops
    provoke EXCEPTION
    ;;
BUG_PANIC)
    # A BUG with panic_on_oops=1.
    echo 1 > /proc/sys/kernel/panic_on_oops
    $how BUG
    ;;
WARNING)
    echo 1 > /proc/sys/kernel/panic_on_warn
    provoke WARNING
    ;;
SOFTLOCKUP)
    echo 1 > /proc/sys/kernel/softlockup_panic
    echo 1 > /proc/sys/kernel/watchdog_thresh
    provoke SOFTLOCKUP
    ;;
PANIC)
    provoke PANIC
    ;;
SOFT)
    # A 128-byte user blob (the most there may be).
    printf 'fleet=eu-west;rack=42;%0106d' 0 > $CFG/user_blob
    soft_dump
    sleep 1
    ;;
EMERG)
    # An emergency restart (SysRq b): reason EMERG when dump_emerg=1.
    echo b > /proc/sysrq-trigger
    ;;
SHUTDOWN)
    # An orderly restart: never a dump, even with dump_emerg=1.
    reboot -f
    ;;
esac
