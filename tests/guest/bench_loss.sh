# Benchmark guest (tests/bench_loss.py): N soft dumps through one target, each after about 80 KiB
# of fresh, realistic text went into the kernel log (so that every dump carries a full 64 KiB
# log). Command line: bench_version=1|2, bench_copies=K, bench_fec=P (version 2), bench_dumps=N,
# and printk.devkmsg=on (the fill writes hundreds of lines through one open /dev/kmsg).
. /tests/lib.sh
net_up
insmod /netoops.ko
mk_target t 10.0.2.2 6667
echo 1 > $CFG/t/enabled
version=$(arg bench_version)
echo "$(arg bench_copies)" > $CFG/copies
echo "$version" > $CFG/wire_version
if [ "$version" = 2 ]; then echo "$(arg bench_fec)" > $CFG/fec_percent; fi
n=$(arg bench_dumps)

# This machine's own boot log, without the timestamps (the kernel stamps each line again).
dmesg | sed -n 's/^\[[ 0-9.]*\] //p' > /tmp/boot.txt

# synthetic COUNT: COUNT lines of the kinds a busy machine's log is full of (AppArmor audit,
# firewall, NVMe timeouts, USB, OOM kills, segfaults, thermal throttling, container veths), with
# varying pids, addresses, ports and counters.
synthetic() {
    local i=0 r pid a b s
    while [ $i -lt $1 ]; do
        r=$RANDOM; pid=$((RANDOM % 30000 + 1000)); a=$RANDOM; b=$RANDOM
        case $((r % 9)) in
        0) printf '<7>audit: type=1400 audit(1764%06d.%03d:%d): apparmor="DENIED" operation="open" class="file" profile="snap.firefox.firefox" name="/proc/%d/cgroup" pid=%d comm="firefox" requested_mask="r" denied_mask="r" fsuid=1000 ouid=1000\n' \
               $((a * 7 % 1000000)) $((b % 1000)) $((a + b)) $pid $pid ;;
        1) printf '<7>[UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:12:34:56:52:55:0a:00:02:02:08:00 SRC=198.51.%d.%d DST=10.0.2.15 LEN=60 TOS=0x00 PREC=0x00 TTL=%d ID=%d DF PROTO=TCP SPT=%d DPT=%d WINDOW=64240 RES=0x00 SYN URGP=0\n' \
               $((a % 256)) $((b % 256)) $((40 + r % 24)) $((a * 2 % 65536)) $((32768 + b)) $((r % 3 * 1000 + 22)) ;;
        2) printf '<7>nvme nvme0: I/O tag %d (%04x) opcode 0x2 (I/O Cmd) QID %d timeout, aborting req_op:READ(0) size:%d\n' \
               $((a % 1024)) $((a % 1024 + 0x1000 * (b % 16))) $((b % 8 + 1)) $((4096 * (r % 32 + 1))) ;;
        3) printf '<7>usb 1-%d.%d: new high-speed USB device number %d using xhci_hcd\n' $((a % 4 + 1)) $((b % 4 + 1)) $((r % 127))
           printf '<7>usb 1-%d.%d: New USB device found, idVendor=%04x, idProduct=%04x, bcdDevice= %d.%02d\n' \
               $((a % 4 + 1)) $((b % 4 + 1)) $((a * 3 % 65536)) $b $((r % 4)) $((r % 100)) ;;
        4) printf '<7>Out of memory: Killed process %d (java) total-vm:%dkB, anon-rss:%dkB, file-rss:%dkB, shmem-rss:0kB, UID:%d pgtables:%dkB oom_score_adj:0\n' \
               $pid $((a * 300)) $((a * 120 + b)) $((b * 3)) $((1000 + r % 8)) $((a % 20000)) ;;
        5) printf '<7>python3[%d]: segfault at %x ip 00007f%06x sp 00007ffd%08x error 4 in libc.so.6[%x+%x] likely on CPU %d (core %d, socket 0)\n' \
               $pid $((a * 8)) $((a * 256 + b % 256)) $((b * 65536 + a)) $((0x7f0000000 + a * 4096)) $((0x16d000 + b % 4096)) $((r % 8)) $((r % 4)) ;;
        6) printf '<7>mce: CPU%d: Core temperature above threshold, cpu clock throttled (total events = %d)\n' $((r % 8)) $((a + b))
           printf '<7>mce: CPU%d: Package temperature/speed normal\n' $((r % 8)) ;;
        7) case $((b % 3)) in 0) s=blocking ;; 1) s=forwarding ;; *) s=disabled ;; esac
           printf '<7>docker0: port %d(veth%07x) entered %s state\n' $((a % 12 + 1)) $((a * 131 + b)) $s ;;
        *) printf '<7>TCP: request_sock_TCP: Possible SYN flooding on port 10.0.2.15:%d. Sending cookies.  Check SNMP counters.\n' $((r % 2 * 8000 + 443)) ;;
        esac
        i=$((i + 1))
    done
}

# About 80 KiB: synthetic lines, the boot log, synthetic lines; one write per line.
fill() {
    synthetic 200
    while IFS= read -r line; do
        if [ -n "$line" ]; then printf '<7>%s\n' "$line"; fi
    done < /tmp/boot.txt
    synthetic 200
}

i=0
while [ $i -lt $n ]; do
    fill > /dev/kmsg
    soft_dump
    # A full log: kmsg_dump_get_buffer() gives whole records and at most 65535 bytes of the
    # module's 65536, so at least 64 KiB less one (long) line.
    read_bytes=$(dmesg | sed -n 's/.*netoops: dump [0-9]*: reason=SOFT, read \([0-9]*\) bytes.*/\1/p' |
        tail -n1)
    [ "$read_bytes" -ge 64512 ] || fail "dump $i read only $read_bytes bytes of log"
    i=$((i + 1))
done
sleep 1
echo "COUNTERS t $(cat $CFG/t/dumps_sent) $(cat $CFG/t/packets_sent) $(cat $CFG/t/send_errors)"
