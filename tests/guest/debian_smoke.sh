# Debian's own kernel (qemu/debian.sh smoke, tests/fleet_debian.py): Debian's modules from the
# initramfs (/modules.load, in dependency order), netoops (built with Debian's exact toolchain)
# pointed at netoopsd on the host (QEMU's user network: 10.0.2.2:netoops_port), a SysRq soft dump,
# then a panic through SysRq c.
. /tests/lib.sh
port=$(arg netoops_port)
[ -n "$port" ] || fail "no netoops_port= on the kernel command line"
echo "DEBIAN: kernel $(uname -r), $(uname -v)"
for m in $(cat /modules.load); do
    insmod "/lib/modules/$m" || fail "insmod $m"
done
echo "DEBIAN: loaded Debian's $(cat /modules.load | tr '\n' ' ')"
mount -t configfs configfs /sys/kernel/config || fail "mount configfs"
[ -d /sys/class/net/eth0 ] || fail "no eth0 after virtio_net"
net_up
timeout 2 ping -c 1 10.0.2.2 >/dev/null 2>&1 || true
echo "DEBIAN: taint before netoops: $(cat /proc/sys/kernel/tainted)"
insmod /netoops.ko || fail "insmod netoops.ko"
echo "DEBIAN: taint after netoops: $(cat /proc/sys/kernel/tainted)"
echo "DEBIAN: /proc/modules: $(grep '^netoops ' /proc/modules)"
if [ -e /sys/kernel/btf/netoops ]; then echo "DEBIAN: module BTF: loaded"; else echo "DEBIAN: module BTF: none"; fi
dmesg | grep -E 'netoops:|module verification|taint' | sed 's/^/DEBIAN: dmesg: /'
mk_target t 10.0.2.2 $port
echo 1 > $CFG/t/enabled
echo "BOOTID $(cat $CFG/boot_id)"
echo "DEBIAN: soft dump (SysRq y)"
soft_dump
dmesg | grep 'netoops: dump 0' | sed 's/^/DEBIAN: dmesg: /'
echo "DEBIAN: packets_sent $(cat $CFG/t/packets_sent), send_errors $(cat $CFG/t/send_errors)"
# QEMU's user network forwards asynchronously: let the soft dump's frames reach the host before
# the panic (panic=3 gives the panic's own frames their time).
sleep 2
echo "DEBIAN: panic (SysRq c)"
echo c > /proc/sysrq-trigger
fail "still alive after SysRq c"
