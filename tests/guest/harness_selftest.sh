# The harness's own helpers: QEMU monitor commands asked for from the guest (set_link, seen as
# each NIC's carrier going down and up again; eth0 is virtio-net, the other NIC an e1000) and
# /bin/flood (its datagrams must reach the host side of the NIC).
. /tests/lib.sh
net_up
e1000=$(grep -l '52:54:00:12:34:57' /sys/class/net/*/address | cut -d/ -f5)
[ -n "$e1000" ] || fail "no NIC with the second MAC"
ip link set $e1000 up
wait_carrier eth0 1
wait_carrier $e1000 1
monitor set_link n0 off
wait_carrier eth0 0
echo "CARRIER eth0 0"
monitor set_link n0 on
wait_carrier eth0 1
echo "CARRIER eth0 1"
monitor set_link n1 off
wait_carrier $e1000 0
echo "CARRIER e1000 0"
monitor set_link n1 on
wait_carrier $e1000 1
echo "CARRIER e1000 1"
flood 10.0.2.2 7777 1 200
