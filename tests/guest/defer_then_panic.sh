# An oops whose dump left a frame in netpoll's own queue (the test kernels' fault hook,
# test_fault=defer-in-dump: as netpoll defers a frame when the device stays busy past its
# retries), then its panic (panic_on_oops=1). netpoll's work that sends deferred frames cannot
# run once the panic stopped the other CPUs, and netpoll queues every later frame behind them:
# the panic dump must send the deferred frame itself and then its own. Version 1, one copy: the
# oops dump is complete only if its deferred frame left too.
. /tests/lib.sh
one_target test_fault=defer-in-dump
echo 1 > $CFG/wire_version
echo 1 > $CFG/copies
echo 1 > /proc/sys/kernel/panic_on_oops
provoke EXCEPTION
sleep 20
fail "no panic"
