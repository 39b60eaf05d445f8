"""QEMU test scenarios for netoops, run by qemu/harness.py.

Each scenario boots a fresh VM whose /init runs tests/guest/<guest>.sh, then is judged from the
serial console: `expect` patterns must appear, `reject` patterns must not, `verdict` says
whether the guest must reach the end of its script (PASS) or is expected to die in a panic, and
`check` is an optional function of the serial text returning a list of problems.
`kernel` is the kernel variant the scenario boots ("test", or "debug": lockdep, KASAN, ...; see
on_debug and DEBUG_SPLATS at the end).
"""

import dataclasses
import json
import subprocess
import re
import wire
from dataclasses import dataclass, field
from typing import Callable, List, Optional

# Anything the kernel prints when something is wrong that a test did not ask for.
KERNEL_TROUBLE = [
    r"^.*WARNING: .*$",
    r"^.*BUG: .*$",
    r"^.*Call Trace:.*$",
    r"^.*general protection fault.*$",
    r"^.*netoops: .*skipped.*$",
]

# On the debug kernel, any of these fails a scenario, whatever else it expects (crash scenarios that
# oops on purpose included): the harness applies them as reject patterns to every scenario whose
# kernel is "debug". "INFO: lockdep is turned off" alone is not one (every oops turns lockdep off).
DEBUG_SPLATS = [
    r"^.*WARNING: possible circular locking dependency detected.*$",
    r"^.*WARNING: possible recursive locking detected.*$",
    r"^.*WARNING: inconsistent lock state.*$",
    r"^.*WARNING: possible irq lock inversion dependency detected.*$",
    r"^.*WARNING: \S+-safe -> \S+-unsafe lock order detected.*$",
    r"^.*WARNING: bad unlock balance detected!.*$",
    r"^.*WARNING: held lock freed!.*$",
    r"^.*WARNING: Nested lock was not taken.*$",
    r"^.*WARNING: lock held when returning to user space!.*$",
    r"^.*BUG: Invalid wait context.*$",
    r"^.*WARNING: suspicious RCU usage.*$",
    r"^.*DEBUG_LOCKS_WARN_ON\(.*$",
    r"^.*BUG: (spinlock|rwlock) .*$",
    # KASAN reports the LKDTM crash a scenario provokes on purpose (a NULL dereference in
    # lkdtm_*) like any bad access: those are the test's own, every other one fails it.
    r"^.*BUG: KASAN: \S+ in (?!lkdtm_).*$",
    r"^.*BUG: sleeping function called from invalid context.*$",
    r"^.*BUG: scheduling while atomic.*$",
]

# Reports the kernel makes about its own code, in paths a scenario provokes, that netoops has no
# part in: each is recognised by every pattern of its list within the report (from its WARNING
# line to the end of its call trace), and only if the report names no netoops function. The
# harness then ignores that report (and says so), not the scenario's other splats.
KNOWN_KERNEL_REPORTS = {
    # panic() from NMI context (unknown_nmi_panic): native_stop_other_cpus() registers its NMI
    # handler under nmi_desc's raw spinlock, which lockdep first saw taken at boot outside NMI.
    # The kernel's own panic path, before any dump; seen once in ~20 runs of panic-nmi@debug.
    "lockdep on panic() from NMI (native_stop_other_cpus)": [
        r"inconsistent \{INITIAL USE\} -> \{IN-NMI\} usage",
        r"\(&nmi_desc\[NMI_LOCAL\]\.lock\)",
        r"__register_nmi_handler",
        r"native_stop_other_cpus",
        r"nmi_panic",
    ],
}

# The console line the dumper prints (only the kernel's own, not a guest echoing dmesg): sequence, reason, bytes read and the newest line it read.
DUMP_RE = re.compile(
    r"^\[\s*\d+\.\d+\] netoops: dump (\d+): reason=(\w+), read (\d+) bytes of log, "
    r"sent (\d+) packets to (\d+) targets, newest line: (.*)$", re.M)


@dataclass
class Scenario:
    name: str
    description: str
    guest: str
    verdict: bool = True
    expect: List[str] = field(default_factory=list)
    reject: List[str] = field(default_factory=list)
    check: Optional[Callable[[str], List[str]]] = None
    timeout: int = 90
    cmdline: str = ""
    cpu: str = "max"
    smp: int = 2
    nics: int = 0
    neighbours: dict = field(default_factory=dict)  # ip -> MAC the host side answers for
    collector: int = 0  # >0: run netoopsd listen on the host until it stored this many reports
    qemu_args: List[str] = field(default_factory=list)
    kernel: str = "test"  # kernel variant: "test" or "debug" (qemu/kernel.sh --variant)
    nic_models: List[str] = field(default_factory=list)  # QEMU model of NIC i (virtio-net-pci)
    memory: int = 256  # MiB
    link_down_after: tuple = ()  # (NIC, N): the host sets that NIC's link down at its Nth netoops frame


def dumps(serial):
    """The dumps netoops reported, as (seq, reason, bytes, newest line) tuples."""
    return [(int(s), r, int(n), line.strip()) for s, r, n, _p, _t, line in DUMP_RE.findall(serial)]


TS_RE = re.compile(r"^\[\s*(\d+\.\d+)\]")


def timestamp_of(line):
    m = TS_RE.search(line)
    return float(m.group(1)) if m else None


def expect_one_dump(reason, crash_line, newest_line_pattern=None):
    """A check: exactly one dump, with `reason` and a non-trivial log that reaches at least the
    console line matching `crash_line` (the newest line netoops read is no older than it), and
    whose newest line matches `newest_line_pattern` if given."""
    def check(run):
        serial = run.serial
        got = dumps(serial)
        if len(got) != 1:
            return [f"expected exactly one dump, saw {len(got)}: {got}"]
        seq, r, n, newest = got[0]
        problems = []
        if seq != 0:
            problems.append(f"dump sequence {seq}, expected 0 (the first of the boot)")
        if r != reason:
            problems.append(f"dump reason {r}, expected {reason}")
        if n < 2048:
            problems.append(f"dump read only {n} bytes of log (a booted kernel has more)")
        crash = re.search(r"^.*" + crash_line + r".*$", serial, re.M)
        crash_ts = timestamp_of(crash.group(0)) if crash else None
        newest_ts = timestamp_of(newest)
        if crash_ts is None or newest_ts is None or newest_ts < crash_ts:
            problems.append(f"the newest line netoops read ({newest!r}) is older than the crash "
                            f"line /{crash_line}/ ({crash.group(0) if crash else 'missing'!r})")
        if newest_line_pattern and not re.search(newest_line_pattern, newest):
            problems.append(f"newest log line read {newest!r} does not match "
                            f"/{newest_line_pattern}/")
        return problems
    return check


SCENARIOS = [
    Scenario(
        name="load-unload",
        description="insmod, rmmod, insmod again, bad parameter refused: no warnings",
        guest="load_unload",
        expect=[r"netoops: loading: sending up to 64 KiB of log per dump", r"netoops: unloaded",
                r"netoops: log_kib=1 is out of range 4\.\.=1024"],
        reject=KERNEL_TROUBLE,
    ),
    Scenario(
        name="lkdtm-panic",
        description="LKDTM PANIC: the dumper runs with reason PANIC, then the VM dies",
        guest="lkdtm_panic",
        verdict=False,
        expect=[r"Kernel panic - not syncing"],
        check=expect_one_dump("PANIC", r"Kernel panic - not syncing: dumptest"),
    ),
    Scenario(
        name="lkdtm-bug-oops",
        description="LKDTM BUG with panic_on_oops=0: reason OOPS and the guest keeps running",
        guest="lkdtm_bug_oops",
        expect=[r"kernel BUG at", r"guest still running after the oops"],
        reject=[r"Kernel panic"],
        check=expect_one_dump("OOPS", r"kernel BUG at", r"---\[ end trace [0-9a-f]+ \]---"),
    ),
]

def guest_lines(serial, tag):
    """Lines the guest printed as `TAG ...`, split into fields."""
    return [line.split()[1:] for line in serial.splitlines() if line.startswith(tag + " ")]


def check_targets(run):
    """Five targets, one soft dump: who got what, with which headers, and the payload."""
    problems = []
    serial = run.serial
    reported = [d for d in DUMP_RE.findall(serial)]
    if len(reported) != 1:
        return [f"expected one dump line, saw {len(reported)}"]
    seq, reason, nbytes, npackets, ntargets, _ = reported[0]
    if (reason, ntargets) != ("SOFT", "5"):
        problems.append(f"dump line says reason={reason} targets={ntargets}, expected SOFT and 5")
    counters = {f[0]: [int(x) for x in f[1:]] for f in guest_lines(serial, "COUNTERS")}
    boot_id = guest_lines(serial, "BOOTID")[0][0]
    mac = "52:54:00:12:34:56"
    expected = {  # target: (port, source ip, destination ip, destination MAC)
        "t1": (6667, "10.0.2.15", "10.0.2.2", "ff:ff:ff:ff:ff:ff"),
        "t2": (6668, "10.0.2.15", "10.0.2.3", "52:54:00:aa:bb:03"),
        "t4": (6670, "fd00::15", "fd00::2", "52:54:00:aa:bb:06"),
        "t5": (6671, "10.0.2.15", "198.51.100.7", "52:54:00:aa:bb:04"),
        "t6": (6672, "fd00::15", "2001:db8:77::9", "52:54:00:aa:bb:07"),
    }
    for t, (port, src, dst, dmac) in expected.items():
        frames = wire.tshark_udp(run.pcap, port)
        if not frames:
            problems.append(f"{t}: no frames to port {port}")
            continue
        problems += [f"{t}: {p}" for p in wire.header_problems(
            frames, src_ip=src, dst_ip=dst, src_port=6665, dst_port=port, src_mac=mac,
            dst_mac=dmac)]
        dumps_sent, packets_sent, errors = counters[t]
        if (dumps_sent, packets_sent, errors) != (1, len(frames), 0):
            problems.append(f"{t}: counters dumps/packets/errors {counters[t]}, "
                            f"{len(frames)} frames on the wire")
        # Copies: every distinct payload exactly twice (copies=2), byte-identical.
        payloads = wire.udp_payloads(run, port)
        distinct = {p: payloads.count(p) for p in payloads}
        if set(distinct.values()) != {2}:
            problems.append(f"{t}: copies per packet {sorted(set(distinct.values()))}, expected 2")
    if wire.tshark_udp(run.pcap, 6669):
        problems.append("t3 (disabled) received frames")
    if counters["t3"] != [0, 0, 0]:
        problems.append(f"t3 (disabled) counters {counters['t3']}")
    dumps = wire.decode(run.pcap)
    if len(dumps) != 1:
        return problems + [f"netoopsd decoded {len(dumps)} dumps, expected 1 (one dump, same "
                           "bytes through every target)"]
    d = dumps[0]
    if d["inconsistent"]:
        problems.append(f"{d['inconsistent']} packets differ between targets for the same index")
    if not d["complete"] or d["reason"] != "soft" or d["seq"] != int(seq):
        problems.append(f"decoded dump: complete={d['complete']} reason={d['reason']} "
                        f"seq={d['seq']}")
    if d["boot_id"] != boot_id:
        problems.append(f"decoded boot id {d['boot_id']}, configfs says {boot_id}")
    if d["log_len"] != int(nbytes) or "sysrq: netoops: soft dump" not in d["log"]:
        problems.append(f"decoded log of {d['log_len']} bytes (module read {nbytes}) "
                        "without the SysRq line")
    return problems


def check_boot_targets(run):
    problems = []
    counters = {f[0]: [int(x) for x in f[1:]] for f in guest_lines(run.serial, "COUNTERS")}
    for t, port, src, dst, sport in (("boot0", 6672, "10.0.2.15", "10.0.2.2", 6666),
                                     ("boot1", 6673, "fd00::15", "fd00::2", 6665)):
        frames = wire.tshark_udp(run.pcap, port)
        if not frames:
            problems.append(f"{t}: no frames to port {port}")
            continue
        problems += [f"{t}: {p}" for p in wire.header_problems(
            frames, src_ip=src, dst_ip=dst, src_port=sport, dst_port=port)]
        if counters.get(t, [0, 0, 0])[1] != len(frames):
            problems.append(f"{t}: packets_sent {counters.get(t)} but {len(frames)} frames seen")
    if counters.get("boot2", [0])[0] != 1:
        problems.append(f"boot2 (resumed on d9) counters {counters.get('boot2')}")
    dumps = wire.decode(run.pcap)
    if len(dumps) != 1 or not dumps[0]["complete"] or dumps[0]["reason"] != "soft":
        problems.append(f"decoded {[(d['reason'], d['complete']) for d in dumps]}")
    return problems


def send_order(packets):
    """A dump's packets (in index order) in the order the module sends them: the fact packets
    first, then the log packets from the newest (so that a dump cut short keeps the crash)."""
    import struct

    def is_fact(p):
        pos = 48  # HEADER_LEN; then records: type u16, value length u16, value
        while pos + 4 <= len(p):
            ty, ln = struct.unpack_from("<HH", p, pos)
            if ty not in (0x0001, 0x0040):  # DUMP_INFO, LOG_CHUNK
                return True
            pos += 4 + ln
        return False
    facts = [p for p in packets if is_fact(p)]
    return facts + [p for p in packets if not is_fact(p)][::-1]


SEAL_KEY_HEX = "5e" * 32


def check_sealed_v2(run):
    """A sealed version-2 oops and soft dump: netoopsd opens them with the key (complete, the
    log whole), refuses them without it; the module's report names compression and parity."""
    problems = []
    keys = run.pcap.with_name("sealed-v2.keys")
    keys.write_text(f"7 {SEAL_KEY_HEX}\n")
    out = subprocess.run([str(wire.NETOOPSD), "decode", "--json", "--keys", str(keys),
                          str(run.pcap)], capture_output=True, text=True)
    dumps = json.loads(out.stdout)["dumps"] if out.returncode == 0 else []
    got = [(d["reason"], d["complete"]) for d in dumps]
    if got != [("oops", True), ("soft", True)]:
        problems.append(f"with the key: dumps {got}: {out.stderr.strip()[-300:]}")
    for d in dumps:
        if d["log_len"] < 1000 or d.get("log_missing"):
            problems.append(f"dump {d['seq']}: log {d['log_len']} bytes, missing {d.get('log_missing')}")
    plain = subprocess.run([str(wire.NETOOPSD), "decode", "--json", str(run.pcap)],
                           capture_output=True, text=True)
    if json.loads(plain.stdout)["dumps"]:
        problems.append("without the key netoopsd decoded sealed packets")
    if "sealed packet (key id 7) but no key file given" not in plain.stderr:
        problems.append(f"without the key: {plain.stderr.strip()[-200:]}")
    lines = re.findall(r"netoops: dump \d+: version 2: log (\d+) bytes compressed to (\d+) in "
                       r"\d+ us, (\d+) data \+ (\d+) parity packets \(\d+ us\), sealed", run.serial)
    if len(lines) != 2:
        problems.append(f"{len(lines)} version-2 report lines, expected 2")
    for log, z, k, m in lines:
        if not int(z) < int(log):
            problems.append(f"log {log} bytes compressed to {z}")
        if int(m) != -(-int(k) * 50 // 100):
            problems.append(f"{k} data packets with {m} parity packets at fec_percent 50")
    return problems


def check_golden_wire(run):
    """The UDP payloads on the wire are exactly the golden packet files, in send order."""
    golden = wire.ROOT / "codec" / "golden"
    files = lambda name: [f.read_bytes() for f in sorted((golden / name).glob("packet-*.bin"))]
    # Version 1 in the module's send order; version 2's files are numbered in send order.
    want = [p for name in ("soft-1460", "oops-1460", "oops-512") for p in send_order(files(name))]
    want += [p for name in ("oops-v2-1460", "oops-v2-sealed-512") for p in files(name)]
    got = wire.udp_payloads(run, 6667)
    if got == want:
        return wire.header_problems(wire.tshark_udp(run.pcap, 6667), src_ip="10.0.2.15",
                                    dst_ip="10.0.2.2", src_port=6665, dst_port=6667)
    for i, (g, w) in enumerate(zip(got, want)):
        if g != w:
            at = next(j for j in range(min(len(g), len(w)) + 1) if j >= min(len(g), len(w)) or g[j] != w[j])
            return [f"packet {i}: differs from the golden file at byte {at} "
                    f"({len(g)} bytes on the wire, {len(w)} in the file)"]
    return [f"{len(got)} packets on the wire, {len(want)} golden files"]


SCENARIOS += [
    Scenario(
        name="targets",
        description="6 targets (IPv4, neighbour, disabled, IPv6, v4 and v6 via gateway), one soft dump",
        guest="targets",
        nics=1,
        neighbours={"10.0.2.3": "52:54:00:aa:bb:03", "fd00::2": "52:54:00:aa:bb:06",
                    "10.0.2.4": "52:54:00:aa:bb:04", "fd00::4": "52:54:00:aa:bb:07"},
        expect=[r"netoops: target t1: enabled on eth0: 10\.0\.2\.15:6665 -> 10\.0\.2\.2:6667",
                r"TARGET t3 enabled=0"],
        reject=KERNEL_TROUBLE,
        check=check_targets,
    ),
    Scenario(
        name="golden-wire",
        description="the module sends the codec's golden dumps, versions 1 and 2 (compressed, "
                    "parity, sealed): wire bytes == golden files",
        guest="golden_wire",
        nics=1,
        reject=KERNEL_TROUBLE,
        check=check_golden_wire,
    ),
    Scenario(
        name="sealed-v2",
        description="seal_key (write-only, 0200; malformed keys refused) and wire version 2: a "
                    "sealed, compressed oops and soft dump with parity open under the key only",
        guest="sealed_v2",
        nics=1,
        expect=[r"seal_key: invalid value \(\d+ bytes, not shown\)",
                r"seal_key: key id 7 installed", r"SEAL_KEY_MODE --w-------"],
        check=check_sealed_v2,
    ),
    Scenario(
        name="boot-targets",
        description="boot-time targets (netconsole syntax) from the kernel command line",
        guest="boot_targets",
        nics=1,
        cmdline="netoops.targets=6666@10.0.2.15/eth0,6672@10.0.2.2/;@/eth0,6673@fd00::2/;"
                "@192.0.2.1/d9,6674@192.0.2.2/",
        neighbours={"10.0.2.2": "52:54:00:aa:bb:02", "fd00::2": "52:54:00:aa:bb:06"},
        reject=KERNEL_TROUBLE,
        check=check_boot_targets,
    ),
    Scenario(
        name="configfs-errors",
        description="every bad configfs input: its errno, a line naming the attribute, no loss",
        guest="configfs_errors",
        nics=1,
        reject=KERNEL_TROUBLE,
    ),
    Scenario(
        name="device-events",
        description="the target's device goes away (target stops) and comes back (resumes)",
        guest="device_events",
        reject=KERNEL_TROUBLE,
    ),
    Scenario(
        name="enable-cycles",
        description="100 enable/disable cycles while soft dumps fire: no warnings",
        guest="enable_cycles",
        nics=1,
        timeout=180,
        reject=KERNEL_TROUBLE,
    ),
]

RIP_RE = re.compile(r"RIP: \d+:(\w+)\+0x([0-9a-f]+)/0x([0-9a-f]+)")


def vmlinux_build_id(kdir):
    """The GNU build id of the kernel tree's vmlinux, as `readelf -n` prints it."""
    out = subprocess.run(["readelf", "-n", str(kdir / "vmlinux")], capture_output=True,
                         text=True, check=True).stdout
    return re.search(r"Build ID: ([0-9a-f]+)", out).group(1)


def check_crash(kind, reason, count, regs_source, rip_func=None):
    """A check for the crash scenarios: `count` complete dumps of `reason` on the wire, with
    consecutive sequence numbers, the machine's facts, registers from `regs_source`, and for
    oopses an instruction pointer inside the LKDTM function the oops text names. `reason` may
    be a list (one per dump)."""
    reasons = reason if isinstance(reason, list) else [reason] * count

    def check(run):
        problems = []
        frames = wire.tshark_udp(run.pcap, 6667)
        problems += wire.header_problems(frames, src_ip="10.0.2.15", dst_ip="10.0.2.2",
                                         src_port=6665, dst_port=6667)
        dumps = sorted(wire.decode(run.pcap), key=lambda d: d["seq"])
        if len(dumps) != count:
            return problems + [f"{len(dumps)} dumps on the wire, expected {count}"]
        boot_id = guest_lines(run.serial, "BOOTID")[0][0]
        cpuinfo = dict(f[0].split("=", 1) for f in guest_lines(run.serial, "CPUINFO"))
        kallsyms = {f[2]: int(f[0], 16) for f in guest_lines(run.serial, "KALLSYMS")}
        rips = RIP_RE.findall(run.serial)
        build_id = vmlinux_build_id(run.kdir)
        for i, d in enumerate(dumps):
            where = f"dump {i}"
            if d["seq"] != i or d["reason"] != reasons[i] or not d["complete"]:
                problems.append(f"{where}: seq {d['seq']} reason {d['reason']} complete "
                                f"{d['complete']}, expected seq {i} reason {reasons[i]} complete")
            if d["boot_id"] != boot_id:
                problems.append(f"{where}: boot id {d['boot_id']} != configfs {boot_id}")
            f = d["facts"]
            want = {"arch": "x86_64", "cpu_vendor": cpuinfo.get("vendor_id")}
            for k, v in want.items():
                if f.get(k) != v:
                    problems.append(f"{where}: {k} {f.get(k)!r}, expected {v!r}")
            cid = f.get("cpu_id", {})
            for k, ck in (("family", "cpu_family"), ("model", "model"), ("stepping", "stepping")):
                if str(cid.get(k)) != cpuinfo.get(ck):
                    problems.append(f"{where}: cpu {k} {cid.get(k)}, /proc/cpuinfo {cpuinfo.get(ck)}")
            if f.get("build_id") != build_id:
                problems.append(f"{where}: build id {f.get('build_id')}, the booted vmlinux's "
                                f"is {build_id}")
            if not f.get("kernel_release") or "time" not in f or "taint" not in f:
                problems.append(f"{where}: facts missing: {sorted(f)}")
            regs = d.get("regs")
            if (regs or {}).get("source") != regs_source:
                problems.append(f"{where}: registers {regs and regs.get('source')}, "
                                f"expected {regs_source}")
                continue
            if rip_func:
                named = [r for r in rips if r[0] == rip_func]
                if not named or rip_func not in kallsyms:
                    problems.append(f"{where}: oops text or kallsyms lacks {rip_func}")
                    continue
                start, size = kallsyms[rip_func], int(named[min(i, len(named) - 1)][2], 16)
                ip = int(regs["values"]["ip"], 16)
                if not start <= ip < start + size:
                    problems.append(f"{where}: RIP {ip:#x} outside {rip_func} "
                                    f"[{start:#x}, {start + size:#x})")
        return problems
    return check


def crash_scenario(kind, reason, count, regs_source, rip_func=None, verdict=True, extra="",
                   name=None, cmdline="", **kw):
    return Scenario(
        name=name or f"crash-{kind.lower().replace('_', '-')}",
        description=f"LKDTM {kind}{extra}: {count} complete dump(s), reason {reason}, "
                    f"registers {regs_source}",
        guest="crash",
        cmdline=f"netoops_crash={kind} {cmdline}".strip(),
        nics=1,
        verdict=verdict,
        check=check_crash(kind, reason, count, regs_source, rip_func),
        **kw,
    )


SCENARIOS += [
    crash_scenario("BUG", "oops", 2, "fault", "lkdtm_BUG", extra=" twice"),
    crash_scenario("EXCEPTION", "oops", 2, "fault", "lkdtm_EXCEPTION", extra=" twice"),
    crash_scenario("PANIC", "panic", 1, "panic-cpu", verdict=False),
    crash_scenario("OOPS_PANIC", ["oops", "panic"], 2, "fault", "lkdtm_EXCEPTION", verdict=False,
                   extra=" (EXCEPTION with panic_on_oops=1)"),
    crash_scenario("WARNING", "panic", 1, "panic-cpu", verdict=False,
                   extra=" with panic_on_warn=1"),
    crash_scenario("SOFTLOCKUP", "panic", 1, "panic-cpu", verdict=False,
                   extra=" with softlockup_panic=1"),
    crash_scenario("SOFT", "soft", 1, "sysrq-cpu", extra=" (SysRq soft dump)"),
    # x86's oops_end() restores the interrupt flag of the oopsing context before the kmsg dumpers
    # run (a BUG enables interrupts before it oopses): the oopsing task may be preempted there
    # and go on on another CPU than the one its die notifier ran on. A real-time task
    # (tests/guest/preempt_on_oops.c) makes that happen on every oops.
    crash_scenario("BUG", "oops", 2, "fault", "lkdtm_BUG", name="crash-bug-preempted",
                   cmdline="netoops_preempt=1",
                   extra=" twice, the task moved to another CPU between the oops and its dump"),
    # (Not EXCEPTION: its page fault oopses before interrupts are enabled, so oops_end() leaves
    # them off and nothing can preempt the task before its dump.)
    crash_scenario("BUG_PANIC", ["oops", "panic"], 2, "fault", "lkdtm_BUG", verdict=False,
                   name="crash-bug-panic-preempted", cmdline="netoops_preempt=1",
                   extra=" (BUG with panic_on_oops=1), the task moved to another CPU between "
                         "the oops and its dumps"),
]


def check_emerg(run):
    dumps = wire.decode(run.pcap)
    if [(d["reason"], d["complete"]) for d in dumps] != [("emerg", True)]:
        return [f"expected one complete EMERG dump, got {[(d['reason'], d['complete']) for d in dumps]}"]
    return []


def check_no_dump(run):
    dumps = wire.decode(run.pcap)
    return [f"a shutdown produced {len(dumps)} dump(s)"] if dumps else []


def check_log_size(run):
    """log_kib=4: the newest 4 KiB at most, marked truncated, ending with the SysRq line."""
    dumps = wire.decode(run.pcap)
    if len(dumps) != 1:
        return [f"{len(dumps)} dumps, expected 1"]
    d = dumps[0]
    problems = []
    if not 0 < d["log_len"] <= 4096 or not d["log_truncated"]:
        problems.append(f"log of {d['log_len']} bytes, truncated={d['log_truncated']}; "
                        "expected at most 4096 and truncated")
    if "sysrq: netoops: soft dump" not in d["log"].rstrip().splitlines()[-1]:
        problems.append("the log does not end with the newest line (the SysRq one)")
    return problems


SCENARIOS += [
    Scenario(name="crash-emerg", guest="crash", nics=1, verdict=False,
             description="dump_emerg=1 and an emergency restart (SysRq b): reason EMERG",
             cmdline="netoops_crash=EMERG netoops_insmod=dump_emerg=1", check=check_emerg),
    Scenario(name="shutdown-no-dump", guest="crash", nics=1, verdict=False,
             description="dump_emerg=1 and an orderly reboot: no dump (SHUTDOWN never)",
             cmdline="netoops_crash=SHUTDOWN netoops_insmod=dump_emerg=1",
             expect=[r"reboot: Restarting system"], check=check_no_dump),
    Scenario(name="log-size", guest="crash", nics=1,
             description="log_kib=4: the newest 4 KiB of the log, marked truncated",
             cmdline="netoops_crash=SOFT netoops_insmod=log_kib=4", check=check_log_size),
]

SMBIOS = ["-smbios", "type=0,vendor=Netoops Firmware Inc.,version=NF-9.8.7,date=11/27/2026",
          "-smbios", "type=1,manufacturer=Netoops Systems,product=Crashbox 3000",
          "-smbios", "type=2,manufacturer=Netoops Boards Ltd.,product=NB-42"]


def check_identity(vendor):
    """CPU vendor as QEMU was told, family/model/stepping as the guest's /proc/cpuinfo, DMI
    strings as given with -smbios, and the user blob as written."""
    base = check_crash("SOFT", "soft", 1, "sysrq-cpu")

    def check(run):
        problems = base(run)
        dumps = wire.decode(run.pcap)
        if len(dumps) != 1:
            return problems
        f = dumps[0]["facts"]
        want = {
            "cpu_vendor": vendor,
            "dmi_bios_vendor": "Netoops Firmware Inc.",
            "dmi_bios_version": "NF-9.8.7",
            "dmi_bios_date": "11/27/2026",
            "dmi_product_name": "Crashbox 3000",
            "dmi_board_vendor": "Netoops Boards Ltd.",
            "dmi_board_name": "NB-42",
            "user_blob": (b"fleet=eu-west;rack=42;" + b"0" * 106).hex(),
        }
        for k, v in want.items():
            if f.get(k) != v:
                problems.append(f"{k}: {f.get(k)!r} on the wire, expected {v!r}")
        return problems
    return check


SCENARIOS += [
    Scenario(
        name=f"identity-{name}",
        description=f"CPU vendor {vendor}, DMI from -smbios, user blob: all on the wire",
        guest="crash",
        cmdline="netoops_crash=SOFT",
        nics=1,
        cpu=f"max,vendor={vendor}",
        qemu_args=SMBIOS,
        check=check_identity(vendor),
    )
    for name, vendor in (("intel", "GenuineIntel"), ("amd", "AuthenticAMD"))
]

STORED_RE = re.compile(r'^stored id=(\d+) dump=\S+#(\d+) from=\S+ reason=(\w+) '
                       r'state=(\S+) bucket=([0-9a-f]+) title="(.*)"$')


def check_collector(run):
    """netoopsd stored the three dumps complete, each titled by its own crash, and put the two
    oopses of one bug in one bucket and the panic in another."""
    problems = []
    if run.collector_status != 0:
        problems.append(f"netoopsd listen exited with {run.collector_status} (not 3 reports)")
    got = sorted((int(m[2]), m[3], m[4], m[5], m[6]) for m in
                 (STORED_RE.match(line) for line in run.stored) if m)
    want = [(0, "oops", "complete", "kernel BUG in lkdtm_BUG"),
            (1, "oops", "complete", "kernel BUG in lkdtm_BUG"),
            (2, "panic", "complete", "kernel panic: dumptest")]
    if [(g[0], g[1], g[2], g[4]) for g in got] != want:
        problems.append(f"stored {got}, expected {want}")
    elif not (got[0][3] == got[1][3] != got[2][3]):
        problems.append(f"buckets {[g[3] for g in got]}: the oopses must share one, the panic not")
    return problems


# `make demo`: the collector on the host (QEMU's user network forwards to it), two oopses and a
# panic. The harness sets the port on the command line.
DEMO = Scenario(
    name="demo",
    description="netoops -> netoopsd on the host: two oopses and a panic, stored and bucketed",
    guest="demo",
    verdict=False,
    expect=[r"kernel BUG at", r"Kernel panic - not syncing: dumptest"],
    # panic=3: QEMU's user network forwards the last frames before the VM resets.
    cmdline="panic=3",
    qemu_args=["-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0"],
    timeout=120,
    collector=3,
    check=check_collector,
)
SCENARIOS.append(DEMO)


# --- The harness's own helpers ------------------------------------------------------------------
def check_harness_selftest(run):
    """The monitor ran the guest's four set_link commands (in order, without error) and
    flood's datagrams reached the host side of eth0."""
    problems = []
    want = ["set_link n0 off", "set_link n0 on", "set_link n1 off", "set_link n1 on"]
    got = [(cmd, reply) for _sent, _replied, cmd, reply in run.monitor]
    if got != [(c, "") for c in want]:
        problems.append(f"monitor commands {got}, expected {want} with empty replies")
    flooded = [f for f in run.frames[0] if f[1][12:14] == b"\x08\x00" and f[1][23] == 17
               and f[1][36:38] == (7777).to_bytes(2, "big")]
    if len(flooded) < 100:
        problems.append(f"{len(flooded)} flood datagrams on the wire, expected many")
    return problems


SCENARIOS.append(Scenario(
    name="harness-selftest",
    description="harness helpers: monitor set_link from the guest (virtio-net, e1000), flood",
    guest="harness_selftest",
    nics=2,
    nic_models=["virtio-net-pci", "e1000"],
    neighbours={"10.0.2.2": "52:54:00:aa:bb:02"},
    expect=[r"CARRIER e1000 1", r"flood: done, [1-9]\d* datagrams sent"],
    reject=KERNEL_TROUBLE,
    check=check_harness_selftest,
))

# --- The debug kernel ---------------------------------------------------------------------------
# Measured under TCG on 2 cores: the debug kernel (KASAN, lockdep) reaches /init after 7-10 s of
# guest time (the test kernel after 1.7 s); a crash scenario takes 3.5-3.7 times as long one VM
# at a time (crash-bug 5.8 s -> 20.2 s, lkdtm-panic 4.5 s -> 16.7 s) and 2.7-5.5 times as long
# two VMs at a time, as make check runs them (crash-bug 6.6 s -> 36.3 s, crash-exception
# 7.3 s -> 32.7 s, crash-softlockup 12.7 s -> 34.0 s).
DEBUG_TIMEOUT_FACTOR = 6


def on_debug(sc, timeout_factor=DEBUG_TIMEOUT_FACTOR):
    """A copy of scenario `sc` named NAME@debug that boots the debug kernel (with the module built
    against it), its timeout scaled; DEBUG_SPLATS then fail it too."""
    return dataclasses.replace(sc, name=f"{sc.name}@debug", kernel="debug",
                               timeout=int(sc.timeout * timeout_factor),
                               description=f"{sc.description} [debug kernel]")


# The crash scenarios again on the debug kernel: netoops's dump paths under lockdep and KASAN.
ON_DEBUG = ["lkdtm-panic", "lkdtm-bug-oops", "crash-bug", "crash-exception", "crash-panic",
            "crash-oops-panic", "crash-warning", "crash-softlockup", "crash-soft", "crash-emerg",
            "crash-bug-panic-preempted"]
SCENARIOS += [on_debug(sc) for sc in SCENARIOS if sc.name in ON_DEBUG]


# The crash path at the machine's worst moment (tests/crash_path.py).
import crash_path  # noqa: E402

SCENARIOS += crash_path.crash_path_scenarios()
SCENARIOS += [on_debug(sc) for sc in SCENARIOS if sc.name in crash_path.ON_DEBUG]
SCENARIOS += crash_path.debug_only_scenarios()

# The operator's view of real crashes: symbolized stacks and the web view (tests/operator_view.py).
import operator_view  # noqa: E402

SCENARIOS += operator_view.operator_scenarios()
