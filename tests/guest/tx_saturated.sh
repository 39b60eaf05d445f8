# A full log and a transmit queue saturated by a UDP flood on the same NIC when the panic comes:
# the panic dump must still arrive complete. The flood and the panic run on CPU 0, so the
# queue is full (stopped) but no stopped CPU holds its lock.
. /tests/lib.sh
one_target
timeout 1 ping -c 1 10.0.2.3 >/dev/null 2>&1 || true
fill_log 64
for i in 1 2 3; do taskset -c 0 flood 10.0.2.3 9 60 1400 & done
sleep 2
echo "TX $(grep eth0 /proc/net/dev)"
taskset -c 0 sh -c "echo PANIC > $LKDTM"
