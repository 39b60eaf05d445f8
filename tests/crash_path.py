"""Scenarios for the crash path at the machine's worst moment (issue 9): a full log and an oops
with its panic, targets of different MTUs, a link that dies during a dump, a saturated transmit
queue, oopses on two CPUs at once, panics in NMI and hard-lockup context, an oops inside the dump
path, allocation failures while enabling. scenarios.py adds them to SCENARIOS.

Each is judged from what crossed the virtual wire (netoopsd decodes each NIC's frames apart),
from the host's clock on those frames, and from the kernel's console.
"""

import re
import struct

import wire
from scenarios import Scenario, check_crash, guest_lines

# The module's per-dump timing line.
TIMING_RE = re.compile(r"netoops: dump (\d+): (\d+) us of its (\d+) ms budget, (\d+) us waiting "
                       r"for busy devices(, taken over from another dump)?")


def nic_dumps(run, nic):
    """The dumps netoopsd decodes from the frames of NIC `nic` alone, by sequence number."""
    pcap = run.pcap.with_name(f"{run.sc.name}.nic{nic}.pcap")
    wire.write_pcap(pcap, run.frames[nic])
    return {d["seq"]: d for d in wire.decode(pcap)}


def netoops_frames(frames, port):
    """(host time, frame length, dump seq, packet index) of each netoops packet to `port` among
    `frames` (one NIC's (time, bytes) list)."""
    for ts, frame in frames:
        p = wire.udp_payload_of(frame, port)
        if p is not None and len(p) >= 48 and p[:4] == b"NtOp":
            seq, index = struct.unpack_from("<IH", p, 32)
            yield ts, len(frame), seq, index


def frame_times(run, port):
    """{seq: [host time of each frame of that dump to `port`]}, over every NIC."""
    out = {}
    for nic in run.frames:
        for ts, _len, seq, _index in netoops_frames(nic, port):
            out.setdefault(seq, []).append(ts)
    return out


def copies_seen(run, nic, port):
    """{(seq, index): number of frames} on NIC `nic` to `port`."""
    out = {}
    for _ts, _len, seq, index in netoops_frames(run.frames[nic], port):
        out[(seq, index)] = out.get((seq, index), 0) + 1
    return out


def timings(serial):
    """{seq: (elapsed us, budget ms, busy us, taken over)} from the module's timing lines."""
    return {int(m[0]): (int(m[1]), int(m[2]), int(m[3]), bool(m[4]))
            for m in TIMING_RE.findall(serial)}


def note(run, text):
    """A measurement, printed with the scenario's result."""
    print(f"[qemu]   {run.sc.name}: {text}", flush=True)


def check_full_log_oops_panic(copies):
    base = check_crash("OOPS_PANIC", ["oops", "panic"], 2, "fault", "lkdtm_EXCEPTION")

    def check(run):
        problems = base(run)
        for d in wire.decode(run.pcap):
            if d["log_len"] < 60 * 1024:
                problems.append(f"dump {d['seq']}: log of {d['log_len']} bytes; the test needs "
                                "a full 64 KiB log")
        got = copies_seen(run, 0, 6667)
        if got and set(got.values()) != {copies}:
            problems.append(f"copies per packet {sorted(set(got.values()))}, expected {copies}")
        return problems
    return check


def check_mtu_mixed(run):
    """Five dumps (soft at copies 1-3, then oops and panic at copies 4, full log) complete
    through both targets, each packet `copies` times, in packets that fit MTU 576."""
    problems = []
    want = {0: ("soft", 1), 1: ("soft", 2), 2: ("soft", 3), 3: ("oops", 4), 4: ("panic", 4)}
    for nic, port in ((0, 6667), (1, 6668)):
        dumps = nic_dumps(run, nic)
        counts = copies_seen(run, nic, port)
        for seq, (reason, copies) in want.items():
            d = dumps.get(seq)
            if not d or d["reason"] != reason or not d["complete"]:
                problems.append(f"NIC {nic}: dump {seq} ({reason}) "
                                f"{'complete' if d and d['complete'] else 'incomplete or missing'}"
                                f"{'' if not d else ', reason ' + d['reason']}")
                continue
            seen = {n for (s, _i), n in counts.items() if s == seq}
            if seen != {copies}:
                problems.append(f"NIC {nic}: dump {seq}: copies per packet {sorted(seen)}, "
                                f"expected {copies}")
    frames = wire.tshark_udp(run.pcap, 6668)
    big = [f for f in frames if int(f["frame.len"]) > 576 + 14]
    if big:
        problems.append(f"{len(big)} frames on the MTU 576 NIC are longer than 576 + 14 bytes")
    if not problems:
        d = nic_dumps(run, 0)[3]
        note(run, f"oops dump {d['log_len']} bytes of log; "
                  f"{sum(n for (s, _i), n in copies_seen(run, 1, 6668).items() if s in (3, 4))} "
                  "frames for the oops and its panic through the MTU 576 target")
    return problems


def seen_at(run, pattern):
    """Host time the first serial line matching `pattern` was seen, or None."""
    rx = re.compile(pattern)
    return next((t for t, line in run.lines if rx.search(line)), None)


def stall(run, start, end):
    """Host seconds from the serial line matching `start` to the one matching `end`."""
    a, b = seen_at(run, start), seen_at(run, end)
    return None if a is None or b is None else b - a


def span(times):
    return max(times) - min(times) if times else 0.0


def check_dead_link(run):
    """t0's soft and panic dumps complete; each dump over within its 5 s budget though t1's link
    died during the first: by the host's clock, from the line that starts the dump to the
    module's summary line (sent right after its last frame), and from the dump's first frame on
    either NIC to its last."""
    problems = []
    dumps = nic_dumps(run, 0)
    for seq, reason in ((0, "soft"), (1, "panic")):
        d = dumps.get(seq)
        if not d or d["reason"] != reason or not d["complete"]:
            problems.append(f"t0 (eth0): dump {seq} ({reason}) not complete: "
                            f"{d and (d['reason'], d['complete'])}")
    times = frame_times(run, 6667)
    t1 = frame_times(run, 6668)
    if not run.monitor:
        problems.append("the host never set the link down")
    elif len(t1.get(0, [])) < 10:
        problems.append(f"t1 sent {len(t1.get(0, []))} frames of the soft dump; the link was to "
                        "go down at its 10th")
    spans = {}
    for seq in (0, 1):
        every = times.get(seq, []) + t1.get(seq, [])
        spans[seq] = span(every)
        if spans[seq] > 5.0:
            problems.append(f"dump {seq}: {spans[seq]:.1f} s from its first frame to its last, "
                            "past the 5 s budget")
    stalls = {0: stall(run, r"sysrq: netoops: soft dump", r"netoops: dump 0: reason="),
              1: stall(run, r"Kernel panic - not syncing", r"netoops: dump 1: reason=")}
    for seq, s in stalls.items():
        if s is None:
            problems.append(f"dump {seq}: start or summary line not seen on the console")
        elif s > 5.0:
            problems.append(f"dump {seq}: {s:.1f} s from its start to its summary line, past "
                            "the 5 s budget")
    sent_t1 = {seq: len(ts) for seq, ts in t1.items()}
    if sent_t1.get(1):
        problems.append(f"t1 sent {sent_t1[1]} frames of the panic dump with its link down")
    if not re.search(r"netoops: dump 0: target t1: \d+ of \d+ frames sent: device down", run.serial):
        said = re.findall(r"netoops: dump 0: target t1: .*", run.serial)
        t0 = seen_at(run, r"sysrq: netoops: soft dump") or 0.0
        cut = [f"{cmd} sent {sent - t0:+.2f} s after the SysRq line, done {done - t0:+.2f} s"
               for sent, done, cmd, _ in run.monitor]
        irqs = {f[0]: [int(c) for c in f[2:4]] for f in guest_lines(run.serial, "INTERRUPTS")}
        during = [a - b for a, b in zip(irqs.get("after", [0, 0]), irqs.get("before", [0, 0]))]
        counters = {f[0]: [int(c) for c in f[1:4]] for f in guest_lines(run.serial, "COUNTERS")}
        sent = counters.get("t1", [0, 0, 0])[1]
        wired = len(t1.get(0, []))
        # QEMU drops what a NIC sends once its link is down: if every frame t1 sent reached the
        # host, QEMU took the link down only after t1's last frame (a monitor command that waited
        # on a loaded host), too late for any guest to notice. And the guest learns of a link
        # change from eth1's config interrupt, sent to CPU 1 (the dump holds CPU 0): if it had
        # none by the dump's end, or only on CPU 0, the guest never knew the link was down while
        # t1 sent. Both are the host's timing, not the module's.
        late = sent > 0 and wired >= sent
        pre = "precondition: " if late or during in ([0, 0], [1, 0]) else ""
        problems.append(f"{pre}the soft dump did not give t1 up as dead (t1: "
                        f"{said or 'no line'}; {sent} frames sent by t1, {wired} reached the "
                        f"host; host: {cut or 'no command'}; eth1's link interrupts during the "
                        f"dump on CPUs 0, 1: {during})")
    if not problems:
        tm = timings(run.serial)
        note(run, f"soft dump: {stalls[0]:.2f} s from the SysRq line to its summary, "
                  f"{spans[0]:.2f} s on the wire (t1 sent {sent_t1.get(0, 0)} frames before its "
                  f"link died), module's count {tm.get(0, (0,))[0] / 1e6:.2f} s; panic dump: "
                  f"{stalls[1]:.2f} s from the panic line to its summary, {spans[1]:.2f} s on "
                  f"the wire, module's count {tm.get(1, (0,))[0] / 1e6:.2f} s, t1 skipped")
    return problems


def check_stuck_queue(run):
    """t0's panic dump complete; t1 given up as busy; over within the 2 s budget."""
    problems = []
    d = nic_dumps(run, 0).get(0)
    if not d or d["reason"] != "panic" or not d["complete"]:
        problems.append(f"t0 (eth0): no complete panic dump: {d and (d['reason'], d['complete'])}")
    if not re.search(r"netoops: dump 0: target t1: \d+ of \d+ frames sent: device busy", run.serial):
        problems.append("the panic dump did not give t1 up as busy")
    s = stall(run, r"Kernel panic - not syncing", r"netoops: dump 0: reason=")
    if s is None or s > 2.0:
        problems.append(f"panic dump: {s if s is None else f'{s:.1f}'} s from the panic line to "
                        "its summary line; the budget is 2 s")
    if not problems:
        tm = timings(run.serial)
        note(run, f"panic dump: {s:.2f} s from the panic line to its summary (module's count "
                  f"{tm.get(0, (0,))[0] / 1e6:.2f} s, {tm.get(0, (0, 0, 0))[2] / 1e6:.2f} s "
                  "waiting for the stuck queue)")
    return problems


def check_device_changes(run):
    """Three soft dumps through boot0 (eth0) after its address came, the last two in packets
    that fit eth0's new MTU of 576; the third through t (eth1) too."""
    problems = []
    eth0, eth1 = nic_dumps(run, 0), nic_dumps(run, 1)
    for seq in (0, 1, 2):
        d = eth0.get(seq)
        if not d or d["reason"] != "soft" or not d["complete"]:
            problems.append(f"eth0: soft dump {seq} not complete: {d and d['complete']}")
    d = eth1.get(2)
    if not d or not d["complete"]:
        problems.append(f"eth1: soft dump 2 not complete: {d and d['complete']}")
    big = [(ts, n) for ts, n, seq, _index in netoops_frames(run.frames[0], 6667)
           if seq >= 1 and n > 576 + 14]
    if big:
        problems.append(f"{len(big)} frames of dumps 1-2 on eth0 longer than its MTU of 576")
    return problems


# The static limit of the dump path's own frames (tests/check.sh, scripts/stack_usage.py) and
# what the kernel's transmit path below the send loop (netpoll, the driver) may take.
STACK_LIMIT = 1535
DRIVER_ALLOWANCE = 1024
NMI_STACK = 4096


def check_panic_nmi(run):
    """A complete panic dump, and on the test kernel (one 4 KiB NMI stack page; KASAN's debug
    kernel has two) room on the NMI stack: what was in use when the dumper was called, plus
    the dump path's static limit, plus an allowance for the driver, fits in the page."""
    problems = check_panic_complete("panic-cpu")(run)
    m = re.search(r"netoops: dump: NMI stack: (\d+) bytes of its page in use", run.serial)
    if run.sc.kernel == "test":
        if not m:
            problems.append("no NMI stack line from the dumper (test kernels print it)")
        else:
            used = int(m.group(1))
            note(run, f"{used} bytes of the NMI stack in use at the dumper; + {STACK_LIMIT} "
                      f"(dump path limit) + {DRIVER_ALLOWANCE} (driver) = "
                      f"{used + STACK_LIMIT + DRIVER_ALLOWANCE} of {NMI_STACK}")
            if used + STACK_LIMIT + DRIVER_ALLOWANCE > NMI_STACK:
                problems.append(f"NMI stack: {used} bytes in use at the dumper leave less than "
                                f"{STACK_LIMIT + DRIVER_ALLOWANCE} for the dump path and driver")
    return problems


def check_panic_complete(regs_source=None, count=1, reasons=None):
    """Exactly the dumps `reasons` names, in sequence order (else `count` panic dumps), all
    complete."""
    def check(run):
        dumps = sorted(wire.decode(run.pcap), key=lambda d: d["seq"])
        got = [(d["reason"], d["complete"]) for d in dumps]
        want = [(r, True) for r in (reasons or ["panic"] * count)]
        problems = []
        if got != want:
            problems.append(f"dumps on the wire {got}, expected {want}")
        elif regs_source and (dumps[-1].get("regs") or {}).get("source") != regs_source:
            problems.append(f"panic dump registers {(dumps[-1].get('regs') or {}).get('source')},"
                            f" expected {regs_source}")
        return problems
    return check


def check_tx_saturated(run):
    problems = check_panic_complete("panic-cpu")(run)
    tm = timings(run.serial)
    flood = [f for f in wire.tshark_udp(run.pcap, 9)]
    if len(flood) < 1000:
        problems.append(f"precondition: only {len(flood)} flood frames on the wire: the queue "
                        "was not busy")
    busy = tm.get(0, (0, 0, 0))[2]
    if busy == 0:
        problems.append("precondition: the panic dump never found the queue busy: the flood did "
                        "not saturate it")
    if not problems:
        note(run, f"{len(flood)} flood frames; the panic dump waited {busy} us for room "
                  f"in the queue, {tm.get(0, (0,))[0]} us in all")
    return problems


def check_concurrent(run):
    """The panic dump complete; before it, the oops dumps (one or two) complete."""
    problems = []
    cpus = guest_lines(run.serial, "CPUS")
    if not cpus or cpus[0][0] != "4":
        problems.append(f"guest CPUs {cpus}, expected 4")
    dumps = sorted(wire.decode(run.pcap), key=lambda d: d["seq"])
    if not dumps or dumps[-1]["reason"] != "panic" or not dumps[-1]["complete"]:
        problems.append(f"no complete panic dump: {[(d['reason'], d['complete']) for d in dumps]}")
    incomplete = [(d["seq"], d["reason"]) for d in dumps if not d["complete"]]
    if incomplete:
        problems.append(f"incomplete dumps {incomplete}")
    oopses = len(re.findall(r"Oops: ", run.serial))
    if oopses < 2:
        problems.append(f"{oopses} oopses on the console; the test needs two at once")
    if not problems:
        tm = timings(run.serial)
        note(run, f"dumps {[(d['seq'], d['reason']) for d in dumps]}, "
                  f"taken over: {[s for s, t in tm.items() if t[3]]}")
    return problems


def check_oops_in_dump(run):
    problems = check_panic_complete(reasons=["soft", "oops", "panic"])(run)
    if "test fault: oopsing inside the dump path" not in run.serial:
        problems.append("the fault hook did not fire")
    if not re.search(r"invalid opcode", run.serial):
        problems.append("no oops from inside the dump path on the console")
    return problems


def check_defer_then_panic(run):
    problems = check_panic_complete(reasons=["oops", "panic"])(run)
    if "test fault: the dump's last frame deferred to netpoll's queue" not in run.serial:
        problems.append("the fault hook did not fire")
    return problems


def check_defer_in_soft_dump(run):
    """The soft dump complete on the wire though its first frame went to netpoll's queue, and
    no target given up."""
    problems = check_panic_complete(reasons=["soft"])(run)
    if "test fault: the dump's first frame deferred to netpoll's queue" not in run.serial:
        problems.append("the fault hook did not fire")
    given_up = re.findall(r"netoops: dump \d+: target .*", run.serial)
    if given_up:
        problems.append(f"a target was given up: {given_up[0]!r}")
    return problems


def check_enomem(run):
    res = guest_lines(run.serial, "ENOMEM-RESULTS")
    if res:
        note(run, " ".join(res[0]))
    return []


def crash_path_scenarios():
    out = []
    for copies in (1, 2, 3, 4):
        out.append(Scenario(
            name=f"full-log-oops-panic-c{copies}",
            description=f"64 KiB log, oops with panic_on_oops=1, copies={copies}: both dumps "
                        "complete",
            guest="crash", nics=1, verdict=False,
            cmdline=f"netoops_crash=OOPS_PANIC netoops_copies={copies} netoops_fill=64",
            check=check_full_log_oops_panic(copies), timeout=120))
    out.append(Scenario(
        name="mtu-mixed", guest="mtu_mixed", nics=2, verdict=False, timeout=150,
        description="targets at MTU 1500 and 576: soft dumps at copies 1-3, oops and panic at 4 "
                    "with a full log, all complete through both",
        check=check_mtu_mixed))
    out.append(Scenario(
        name="dead-link", guest="dead_link", nics=2, verdict=False, timeout=150,
        link_down_after=(1, 10),
        description="eth1's link taken down (QEMU set_link) during a dump, then a panic: t0 "
                    "complete, each dump within its 5 s budget",
        check=check_dead_link))
    out.append(Scenario(
        name="stuck-queue", guest="stuck_queue", nics=2, verdict=False, timeout=150,
        # QEMU takes eth1's transmit ring only every 4 s (a kick arms the timer): once full, its queue stays stopped longer than t1's share.
        nic_models=["virtio-net-pci", "virtio-net-pci,tx=timer,x-txtimer=4000000000"],
        neighbours={"10.0.3.3": "52:54:00:aa:bb:03"},
        description="eth1's queue full and never drained when the panic comes: t1 abandoned "
                    "after its share of the 2 s budget, t0 complete, within the budget",
        check=check_stuck_queue))
    out.append(Scenario(
        name="tx-saturated", guest="tx_saturated", nics=1, verdict=False, timeout=150,
        neighbours={"10.0.2.3": "52:54:00:aa:bb:03"},
        # QEMU takes the transmit ring every 100 ms only: the flood keeps the queue full.
        nic_models=["virtio-net-pci,tx=timer,x-txtimer=100000000"],
        description="a UDP flood saturates the NIC's queue when the panic comes: complete dump",
        check=check_tx_saturated))
    for i in (1, 2, 3):
        out.append(Scenario(
            name=f"concurrent-oops-{i}", guest="concurrent_oops", nics=1, verdict=False,
            smp=4, timeout=150,
            description=f"oopses on two CPUs at once, panic_on_oops=1, 4 CPUs (run {i} of 3): "
                        "complete panic dump",
            check=check_concurrent))
    out.append(Scenario(
        name="panic-nmi", guest="panic_nmi", nics=1, verdict=False,
        description="a panic in NMI context (QEMU nmi, unknown_nmi_panic=1): complete dump; "
                    "the NMI stack has room for the dump path's frames",
        check=check_panic_nmi))
    out.append(Scenario(
        name="device-changes", guest="device_changes", nics=2, timeout=120,
        description="a boot target waits for its device's address; an MTU change binds it "
                    "again; enabling on a down device brings it up and waits for its carrier",
        reject=[r"^.*WARNING: .*$", r"^.*BUG: .*$"],
        check=check_device_changes))
    out.append(Scenario(
        name="emerg-after-panic", guest="crash", nics=1, verdict=False,
        cmdline="netoops_crash=PANIC netoops_insmod=dump_emerg=1",
        description="dump_emerg=1, a panic with panic_timeout set (emergency restart after it): "
                    "one dump, not a second EMERG one",
        check=check_panic_complete("panic-cpu")))
    out.append(Scenario(
        name="oops-in-dump", guest="oops_in_dump", nics=1, verdict=False,
        description="an oops inside the dump path (test_fault), panic_on_oops=1: the dumps of "
                    "the oops and of its panic complete",
        check=check_oops_in_dump))
    out.append(Scenario(
        name="defer-then-panic", guest="defer_then_panic", nics=1, verdict=False,
        description="an oops dump leaves a frame in netpoll's queue (test_fault), then its panic: "
                    "the panic dump sends that frame and its own, both dumps complete",
        check=check_defer_then_panic))
    out.append(Scenario(
        name="defer-in-soft-dump", guest="defer_in_soft_dump", nics=1,
        description="a soft dump's first frame goes to netpoll's queue (test_fault), whose work "
                    "waits behind the dump: the dump sends it itself and goes on, complete",
        check=check_defer_in_soft_dump))
    return out


# The crash-path scenarios that also run on the debug kernel (lockdep, KASAN, atomic sleep):
# those whose checks do not time the dump (the debug kernel is several times slower).
ON_DEBUG = ["full-log-oops-panic-c4", "mtu-mixed", "concurrent-oops-1", "panic-nmi",
            "oops-in-dump", "defer-then-panic", "defer-in-soft-dump", "device-changes",
            "emerg-after-panic", "dead-link"]


def debug_only_scenarios():
    """Scenarios that need the debug kernel (buddy hard-lockup detector, failslab)."""
    return [
        Scenario(
            name="hardlockup", guest="hardlockup", nics=1, verdict=False, timeout=200,
            kernel="debug",
            description="a hard-lockup panic (buddy detector): complete dump",
            check=check_panic_complete("panic-cpu")),
        Scenario(
            name="enable-enomem", guest="enable_enomem", nics=1, timeout=400, kernel="debug",
            description="failslab in every step of enabling: ENOMEM or success, no hang, rtnl "
                        "usable, then a working dump",
            check=check_enomem),
    ]

