# A soft dump whose first frame goes to netpoll's own queue (the test kernels' fault hook,
# test_fault=defer-first-in-dump: as netpoll defers a frame when the device stays busy past its
# retries). netpoll's work that sends deferred frames is queued on this CPU, which the dump
# holds, and netpoll queues every later frame behind them: the dump must send the deferred frame
# itself and go on, not wait for the work until its budget is gone. Version 1, one copy: the
# dump is complete only if every frame left, the deferred one too.
. /tests/lib.sh
one_target test_fault=defer-first-in-dump
echo 1 > $CFG/wire_version
echo 1 > $CFG/copies
soft_dump
dmesg | grep 'netoops: dump 0:'
