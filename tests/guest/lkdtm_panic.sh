. /tests/lib.sh
insmod /netoops.ko
provoke PANIC
fail "still running after LKDTM PANIC"
