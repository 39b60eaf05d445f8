# The codec's golden dumps, sent by the module: the bytes on the wire must be the golden files.
. /tests/lib.sh
net_up
# Without test_vectors=1 the attribute refuses (a production machine must not spend its pools).
insmod /netoops.ko
expect_errno "Operation not permitted" $CFG/test_vector soft-1460
rmmod netoops
insmod /netoops.ko test_vectors=1
mk_target t 10.0.2.2 6667
echo 1 > $CFG/t/enabled
echo soft-1460 > $CFG/test_vector
echo oops-1460 > $CFG/test_vector
echo oops-512 > $CFG/test_vector
# Version 2: compressed, with parity; the second sealed under the published test key.
echo oops-v2-1460 > $CFG/test_vector
echo oops-v2-sealed-512 > $CFG/test_vector
expect_errno "Invalid argument" $CFG/test_vector nosuch
rmdir $CFG/t
rmmod netoops
