#!/usr/bin/env python3
"""QEMU harness for netoops: builds an initramfs, boots the test kernel under TCG, runs
test scenarios and judges them from the serial console log.

  qemu/harness.py                 run every scenario in tests/scenarios.py
  qemu/harness.py NAME...         run the named scenarios
  qemu/harness.py --list          list scenarios
  qemu/harness.py --demo          the demo: boot, load netoops, crash, show what netoops saw

Each scenario boots a fresh VM whose /init runs tests/guest/<guest>.sh. A guest that reaches the
end of its script prints its verdict and reboots, which makes QEMU exit (-no-reboot); a guest
that panics makes QEMU exit too (panic=1: one second after the panic). Every scenario has a
timeout. On failure the tail of
the serial log is printed; full logs stay under build/qemu/.

A check may report that the run did not set up what the scenario tests (a problem starting
"precondition: ", e.g. a flood that never filled a queue on a loaded host): only then is the
scenario run again, at most twice.

Kernels: a scenario's `kernel` names the variant it boots (qemu/kernel.sh --variant): "test"
(netoops.ko in the project root) or "debug" (lockdep, KASAN, ...; build/module-debug/netoops.ko,
`make module-debug`). Each variant gets its own initramfs with its own module. On the debug
kernel any of scenarios.DEBUG_SPLATS in the serial log fails the scenario.

Monitor: every VM has a QMP socket. A guest line `NETOOPS-MONITOR: <HMP command>` on the serial
console (tests/guest/lib.sh: `monitor CMD`) makes the harness run that command on the VM's
monitor (e.g. `set_link n0 off`, `nmi`; NIC netdev ids are n0, n1, ...); each one is recorded
in `Run.monitor` as (host time sent, host time replied, command, reply). The guest waits for
the effect itself.

/bin/flood in the guest (tests/guest/flood.c, built here with the host's gcc, static): `flood
DEST_IP DEST_PORT SECONDS [PAYLOAD_BYTES]` sends UDP datagrams as fast as it can;
/bin/preempt_on_oops (tests/guest/preempt_on_oops.c) `CPU TO_CPU`: a real-time task on CPU that
moves an oopsing task to TO_CPU as the oops ends, before its dump.
"""

import argparse
import bisect
import gzip
import io
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import scenarios as scenario_defs  # noqa: E402
import wire  # noqa: E402

BUILD = ROOT / "build" / "qemu"
VERDICT_RE = re.compile(r"NETOOPS-TEST: (PASS|FAIL.*)")
MONITOR_RE = re.compile(rb"NETOOPS-MONITOR: ([^\r\n]*)\r?\n")

# The module built against each kernel variant (Makefile: `make` and `make module-debug`).
MODULES = {"test": ROOT / "netoops.ko", "debug": ROOT / "build" / "module-debug" / "netoops.ko"}
MAKE_TARGET = {"test": "make", "debug": "make module-debug"}


def log(msg):
    print(f"[qemu] {msg}", flush=True)


def kernel_dir(variant="test"):
    """The kernel tree of `variant`: the cached one, or NETOOPS_<VARIANT>_KDIR if set (a tree
    built elsewhere, e.g. while the cached one rebuilds)."""
    override = os.environ.get(f"NETOOPS_{variant.upper()}_KDIR")
    if override:
        return Path(override)
    out = subprocess.run([str(ROOT / "qemu" / "kernel.sh"), "--variant", variant, "dir"],
                         check=True, capture_output=True, text=True)
    kdir = Path(out.stdout.strip())
    if not (kdir / ".netoops-complete").exists():
        sys.exit(f"harness: {variant} kernel not built at {kdir}: run '{MAKE_TARGET[variant]}' "
                 "first")
    return kdir


def module_for(variant):
    module = MODULES[variant]
    if not module.exists():
        sys.exit(f"harness: {module.relative_to(ROOT)} not built: run '{MAKE_TARGET[variant]}' "
                 "first")
    return module


GUEST_TOOLS = ("flood", "preempt_on_oops")


def build_guest_tool(name):
    """tests/guest/NAME.c as a static binary (rebuilt when the source is newer)."""
    src = ROOT / "tests" / "guest" / f"{name}.c"
    out = BUILD / name
    if not out.exists() or out.stat().st_mtime < src.stat().st_mtime:
        BUILD.mkdir(parents=True, exist_ok=True)
        subprocess.run(["gcc", "-static", "-O2", "-Wall", "-o", str(out), str(src)], check=True)
    return out


_TSC_KHZ = []
_TSC_LOCK = threading.Lock()


def host_tsc_khz():
    """The host's TSC frequency (qemu/tsc_khz.c, measured once per run; any thread)."""
    with _TSC_LOCK:
        return _host_tsc_khz()


def _host_tsc_khz():
    if not _TSC_KHZ:
        src = ROOT / "qemu" / "tsc_khz.c"
        out = BUILD / "tsc_khz"
        BUILD.mkdir(parents=True, exist_ok=True)
        subprocess.run(["gcc", "-O2", "-Wall", "-o", str(out), str(src)], check=True)
        _TSC_KHZ.append(int(subprocess.run([str(out)], check=True, capture_output=True,
                                           text=True).stdout))
    return _TSC_KHZ[0]


def busybox_applets(busybox):
    out = subprocess.run([busybox, "--list"], check=True, capture_output=True, text=True)
    return out.stdout.split()


class Cpio:
    """A minimal newc cpio writer (what the kernel's initramfs unpacker reads)."""

    def __init__(self):
        self.buf = io.BytesIO()
        self.ino = 1

    def _entry(self, name, mode, data=b"", nlink=1):
        name_b = name.encode() + b"\0"
        hdr = "070701" + "".join(f"{v:08x}" for v in (
            self.ino, mode, 0, 0, nlink, 0, len(data), 0, 0, 0, 0, len(name_b), 0))
        self.ino += 1
        self.buf.write(hdr.encode() + name_b)
        self.buf.write(b"\0" * (-(110 + len(name_b)) % 4))
        self.buf.write(data)
        self.buf.write(b"\0" * (-len(data) % 4))

    def dir(self, name):
        self._entry(name, 0o040755, nlink=2)

    def file(self, name, data, mode=0o644):
        self._entry(name, 0o100000 | mode, data)

    def symlink(self, name, target):
        self._entry(name, 0o120777, target.encode())

    def finish(self):
        self._entry("TRAILER!!!", 0)
        return self.buf.getvalue()


INIT = r"""#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t debugfs debugfs /sys/kernel/debug
mount -t configfs configfs /sys/kernel/config
scenario=$(sed -n 's/.*netoops_test=\([^ ]*\).*/\1/p' /proc/cmdline)
echo "NETOOPS-TEST-START: $scenario"
if [ -f "/tests/$scenario.sh" ]; then
    sh -e "/tests/$scenario.sh"
    rc=$?
else
    echo "no such guest script: /tests/$scenario.sh"
    rc=127
fi
if [ "$rc" = 0 ]; then echo "NETOOPS-TEST: PASS"; else echo "NETOOPS-TEST: FAIL (exit $rc)"; fi
sync
reboot -f
"""


def build_initramfs(module, variant="test", extra=None):
    """The guest's initramfs: busybox, the test scripts, `module` as /netoops.ko, and `extra`
    ({name in the root: host path}, e.g. a kernel module to compare with)."""
    busybox = shutil.which("busybox") or "/bin/busybox"
    c = Cpio()
    for d in ("bin", "sbin", "dev", "proc", "sys", "tmp", "etc", "tests", "lib", "mnt"):
        c.dir(d)
    c.file("bin/busybox", Path(busybox).read_bytes(), 0o755)
    for applet in busybox_applets(busybox):
        if applet != "busybox":
            c.symlink(f"bin/{applet}", "busybox")
    for tool in GUEST_TOOLS:
        c.file(f"bin/{tool}", build_guest_tool(tool).read_bytes(), 0o755)
    c.file("init", INIT.encode(), 0o755)
    c.file("netoops.ko", Path(module).read_bytes())
    for name, path in (extra or {}).items():
        c.file(name, Path(path).read_bytes())
    c.file("tests/lib.sh", (ROOT / "tests" / "guest" / "lib.sh").read_bytes(), 0o644)
    for script in sorted((ROOT / "tests" / "guest").glob("*.sh")):
        c.file(f"tests/{script.name}", script.read_bytes(), 0o755)
    BUILD.mkdir(parents=True, exist_ok=True)
    path = BUILD / f"initramfs-{variant}.cpio.gz"
    path.write_bytes(gzip.compress(c.finish(), compresslevel=1))
    return path


def _csum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _mac(text):
    return bytes(int(x, 16) for x in text.split(":"))


def neighbour_reply(frame, neighbours):
    """If `frame` asks for the MAC of an address in `neighbours` ({ip text: mac text}) by ARP
    or IPv6 neighbour solicitation, the reply frame; else None."""
    import ipaddress
    if len(frame) < 42:
        return None
    guest_mac, etype = frame[6:12], int.from_bytes(frame[12:14], "big")
    if etype == 0x0806 and frame[20:22] == b"\0\1":  # ARP request
        spa, tpa = frame[28:32], frame[38:42]
        mac = neighbours.get(str(ipaddress.IPv4Address(tpa)))
        if not mac:
            return None
        m = _mac(mac)
        arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 2) + m + tpa + guest_mac + spa
        return guest_mac + m + b"\x08\x06" + arp
    if etype == 0x86DD and len(frame) >= 14 + 40 + 24 and frame[20] == 58 and frame[54] == 135:
        src_ip, target = frame[22:38], frame[62:78]
        mac = neighbours.get(str(ipaddress.IPv6Address(target)))
        if not mac:
            return None
        m = _mac(mac)
        icmp = struct.pack("!BBHI", 136, 0, 0, 0x60000000) + target + b"\x02\x01" + m
        pseudo = target + src_ip + struct.pack("!I", len(icmp)) + b"\0\0\0\x3a"
        icmp = icmp[:2] + struct.pack("!H", _csum(pseudo + icmp)) + icmp[4:]
        ip6 = struct.pack("!IHBB", 0x60000000, len(icmp), 58, 255) + target + src_ip
        return guest_mac + m + b"\x86\xdd" + ip6 + icmp
    return None


class Capture:
    """The host side of one virtual NIC: QEMU's dgram netdev hands every Ethernet frame the
    guest sends to this UDP socket, whole. The only frames sent back to the guest answer
    its ARP and neighbour solicitations for the scenario's `neighbours`."""

    def __init__(self, index, neighbours=None, model="virtio-net-pci"):
        self.index = index
        self.model = model
        self.neighbours = neighbours or {}
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.qemu_port = free_port()
        self.frames = []  # (seconds since epoch, bytes)
        # Called (in this thread) with the running count of netoops frames seen, if set.
        self.on_netoops_frame = None
        self.netoops_frames = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def qemu_args(self):
        mac = f"52:54:00:12:34:{0x56 + self.index:02x}"
        return ["-netdev", f"dgram,id=n{self.index},remote.type=inet,remote.host=127.0.0.1,"
                f"remote.port={self.port},local.type=inet,local.host=127.0.0.1,"
                f"local.port={self.qemu_port}",
                "-device", f"{self.model},netdev=n{self.index},mac={mac}"]

    def _run(self):
        # Ends only on an empty socket after `stop`: frames still queued are never left behind.
        while True:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                if self.stop.is_set():
                    break
                continue
            self.frames.append((time.time(), data))
            if self.on_netoops_frame and b"NtOp" in (data[42:46], data[62:66]):
                self.netoops_frames += 1
                self.on_netoops_frame(self.netoops_frames)
            reply = neighbour_reply(data, self.neighbours)
            if reply:
                self.sock.sendto(reply, ("127.0.0.1", self.qemu_port))

    def finish(self):
        time.sleep(0.3)
        self.stop.set()
        self.thread.join()
        self.sock.close()


class Monitor:
    """The VM's QMP socket, and a thread that tails the serial log (every 20 ms) for the guest's
    `NETOOPS-MONITOR: <command>` lines and runs each as a human monitor (HMP) command through
    QMP. `done` lists (host time sent, host time replied, command, reply) in the order they
    ran; a reply that starts with "error:" means QMP refused the command or the VM was gone."""

    def __init__(self, logpath):
        self.logpath = logpath
        # A unix socket path must be short (108 bytes): not under the project directory.
        self.dir = tempfile.mkdtemp(prefix="netoops-qmp-")
        self.path = os.path.join(self.dir, "qmp.sock")
        self.done = []
        self.lock = threading.Lock()
        # Every serial line with the host time it was seen (within the 20 ms poll): a clock
        # for what the guest cannot time itself (a panic stands its jiffies clock still).
        self.lines = []
        self.events = []  # QMP events seen while waiting for replies
        self.sock = None
        self.rfile = None
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def qemu_args(self):
        return ["-qmp", f"unix:{self.path},server=on,wait=off"]

    def _request(self, obj):
        self.sock.sendall(json.dumps(obj).encode() + b"\n")
        while True:
            line = self.rfile.readline()
            if not line:
                raise ConnectionError("QMP connection closed")
            msg = json.loads(line)
            if "event" in msg:
                self.events.append(msg)
                continue
            return msg

    def _connect(self):
        deadline = time.monotonic() + 10
        while True:
            try:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.connect(self.path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        sock.settimeout(30)
        self.sock, self.rfile = sock, sock.makefile("rb")
        json.loads(self.rfile.readline())  # the greeting
        self._request({"execute": "qmp_capabilities"})

    def command(self, hmp):
        """Run one HMP command; returns its output (or "error: ..."). Any thread."""
        with self.lock:
            return self._command(hmp)

    def run(self, hmp):
        """Run one HMP command and record it in `done`. Any thread."""
        sent = time.time()
        reply = self.command(hmp).strip()
        self.done.append((sent, time.time(), hmp, reply))

    def _command(self, hmp):
        try:
            if self.sock is None:
                self._connect()
            reply = self._request({"execute": "human-monitor-command",
                                   "arguments": {"command-line": hmp}})
        except (OSError, ValueError) as e:
            return f"error: {e}"
        if "error" in reply:
            return f"error: {reply['error'].get('desc', reply['error'])}"
        return reply.get("return", "")

    def _run(self):
        # Connect at once, so that a command timed to the guest's frames (link_down_after)
        # does not also wait for QMP's greeting and capabilities.
        with self.lock:
            try:
                self._connect()
            except (OSError, ValueError):
                pass  # the first command tries again and records the error
        pos, partial = 0, b""
        while True:
            stopping = self.stop.is_set()
            try:
                with open(self.logpath, "rb") as f:
                    f.seek(pos)
                    data = f.read()
            except FileNotFoundError:
                data = b""
            pos += len(data)
            partial += data
            for m in MONITOR_RE.finditer(partial):
                self.run(m.group(1).decode(errors="replace").strip())
            cut = partial.rfind(b"\n")
            if cut >= 0:
                now = time.time()
                self.lines += [(now, line.decode(errors="replace"))
                               for line in partial[:cut].split(b"\n")]
                partial = partial[cut + 1:]
            if stopping:
                break
            time.sleep(0.02)

    def cpu_states(self, stack_bytes=2048):
        """Where each vCPU of a VM that is still running stands, read through QMP (for a run
        about to be killed for its timeout): [(cpu, rip, halted, stack)], `stack` the words of
        the top `stack_bytes` of its stack (memsave through that CPU's page tables); [] if QMP
        did not answer."""
        if self.sock is not None:
            self.sock.settimeout(5)  # a wedged QEMU costs seconds here, not minutes
        regs = self.command("info registers -a")
        if regs.startswith("error:"):
            return []
        states = []
        for block in re.split(r"^CPU#", regs, flags=re.M)[1:]:
            cpu = int(block.split(None, 1)[0])
            rip = re.search(r"\bRIP=([0-9a-f]+)", block)
            rsp = re.search(r"\bRSP=([0-9a-f]+)", block)
            halted = re.search(r"\bHLT=1\b", block) is not None
            if not rip or not rsp:
                continue
            stack = self._read_stack(cpu, int(rsp.group(1), 16), stack_bytes)
            states.append((cpu, int(rip.group(1), 16), halted, stack))
        return states

    def _read_stack(self, cpu, top, size):
        """The 64-bit words from `top` up to `size` bytes on, through `cpu`'s page tables, a
        page at a time: a stack ends at an unmapped guard page."""
        words, addr = [], top
        path = os.path.join(self.dir, f"stack{cpu}")
        while addr < top + size:
            n = min(top + size, (addr | 0xfff) + 1) - addr
            # QMP takes the address as a signed 64-bit integer.
            with self.lock:
                try:
                    reply = self._request({"execute": "memsave", "arguments": {
                        "val": addr - (1 << 64) if addr >= 1 << 63 else addr, "size": n,
                        "filename": path, "cpu-index": cpu}})
                except (OSError, ValueError):
                    break
            if "error" in reply:
                break
            data = Path(path).read_bytes()
            words += struct.unpack(f"<{len(data) // 8}Q", data[:len(data) // 8 * 8])
            addr += n
        return words

    def finish(self):
        self.stop.set()
        self.thread.join()
        if self.sock:
            self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@dataclass
class Run:
    """What one VM run left behind, for the checks."""
    sc: object
    status: object
    serial: str
    qemu_out: str
    elapsed: float
    frames: list = field(default_factory=list)  # per NIC: list of (ts, bytes)
    pcap: object = None  # all NICs' frames, in time order
    stored: list = field(default_factory=list)  # netoopsd's "stored ..." lines
    collector_status: object = None
    monitor: list = field(default_factory=list)  # (host time, command, reply) the guest asked for
    lines: list = field(default_factory=list)  # (host time, serial line) as the host saw them
    kdir: object = None  # the kernel tree the VM booted (its vmlinux, System.map, sources)
    cpus: list = field(default_factory=list)  # a timed-out VM's Monitor.cpu_states()
    db: object = None  # the collector's database, for scenarios with a collector


def start_collector(db, port, dumps):
    """`netoopsd listen` on 127.0.0.1:port storing into `db`, exiting after `dumps` reports."""
    for f in db.parent.glob(db.name + "*"):
        f.unlink()
    return subprocess.Popen(
        [str(wire.NETOOPSD), "--db", str(db), "listen", "-l", f"127.0.0.1:{port}",
         "--exit-after-dumps", str(dumps), "--timeout", "150"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish_collector(listener):
    """The collector's stored-report lines and exit status."""
    try:
        out, _ = listener.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        listener.kill()
        out, _ = listener.communicate()
    return out.splitlines(), listener.returncode


def run_vm(kdir, initrd, sc, logpath):
    """Boot one VM for scenario `sc` and return a Run. A scenario with `collector` set gets
    `netoopsd listen` on the host (QEMU's user network forwards the guest's 10.0.2.2:PORT to
    it; PORT is on the command line as netoops_port=) and the stored lines in `run.stored`."""
    listener = None
    extra = ""
    if sc.collector:
        port = free_port()
        db = logpath.with_name(f"{sc.name}.db")
        listener = start_collector(db, port, sc.collector)
        extra = f" netoops_port={port}"
    # panic=1: a panicking guest reboots (and QEMU, with -no-reboot, exits) one second after
    # the panic, so that QEMU has put every frame netpoll sent on the wire first.
    # The guest's TSC is the host's under TCG: give it the frequency, which it cannot calibrate
    # on a busy host (it would fall back to a jiffies clock that stands still with interrupts
    # off, as in a panic, and printk timestamps with it).
    clock = f"tsc_early_khz={host_tsc_khz()} tsc=reliable"
    cmdline = f"console=ttyS0 panic=1 {clock} netoops_test={sc.guest} {sc.cmdline}{extra}".strip()
    models = [sc.nic_models[i] if i < len(sc.nic_models) else "virtio-net-pci"
              for i in range(sc.nics)]
    captures = [Capture(i, sc.neighbours, model) for i, model in enumerate(models)]
    nic_args = [a for c in captures for a in c.qemu_args()] or ["-nic", "none"]
    monitor = Monitor(logpath)
    if sc.link_down_after:
        # Set a NIC's link down from the host as its Nth netoops frame arrives: during a dump.
        nic, nth = sc.link_down_after

        def cut(count, nic=nic, nth=nth):
            if count == nth:
                monitor.run(f"set_link n{nic} off")
        captures[nic].on_netoops_frame = cut
    # The debug kernel gets no 5-level paging (la57=off): with it, a KASAN kernel reports a
    # false "wild-memory-access" (in rcu_is_watching) when an interrupt comes while
    # identify_cpu() has cleared the boot CPU's feature bits (LA57 among them) during boot:
    # KASAN's shadow bounds then follow 4-level paging while every address is a 5-level one.
    # The report taints the kernel, which turns lockdep off for the whole test.
    cpu = sc.cpu + (",la57=off" if sc.kernel == "debug" else "")
    # One CPU per socket: the test kernels have no ACPI, and the BIOS's MP table lists one CPU
    # per socket (with -smp N alone the guest sees one CPU).
    cmd = ["qemu-system-x86_64", "-accel", "tcg", "-cpu", cpu,
           "-smp", f"{sc.smp},sockets={sc.smp},cores=1,threads=1",
           "-m", str(sc.memory), "-display", "none", "-monitor", "none", *monitor.qemu_args(),
           "-no-reboot", "-serial", f"file:{logpath}",
           "-kernel", str(kdir / "arch/x86/boot/bzImage"),
           "-initrd", str(initrd), "-append", cmdline, *nic_args, *sc.qemu_args]
    for c in captures:
        c.thread.start()
    start = time.monotonic()
    cpus = []
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    monitor.thread.start()
    try:
        out, _ = proc.communicate(timeout=sc.timeout)
        status = proc.returncode
    except subprocess.TimeoutExpired:
        cpus = monitor.cpu_states()
        proc.kill()
        out, _ = proc.communicate()
        status = None
    elapsed = time.monotonic() - start
    monitor.finish()
    for c in captures:
        c.finish()
    serial = logpath.read_text(errors="replace") if logpath.exists() else ""
    run = Run(sc, status, serial, out.decode(errors="replace").strip(), elapsed,
              [c.frames for c in captures], monitor=monitor.done, lines=monitor.lines,
              kdir=kdir, cpus=cpus)
    if listener:
        run.stored, run.collector_status = finish_collector(listener)
        run.db = db
    if captures:
        run.pcap = logpath.with_name(f"{sc.name}.pcap")
        wire.write_pcap(run.pcap, sorted((f for c in captures for f in c.frames), key=lambda f: f[0]))
    return run


def judge(run):
    """Return a list of failure reasons (empty: passed)."""
    sc, status, serial, qemu_out = run.sc, run.status, run.serial, run.qemu_out
    problems = []
    if status is None:
        problems.append(f"timed out after {sc.timeout}s; {where_stuck(run)}")
    elif status != 0:
        problems.append(f"qemu exited with status {status}: {qemu_out}")
    verdicts = VERDICT_RE.findall(serial)
    if sc.verdict:
        if verdicts != ["PASS"]:
            problems.append(f"guest verdict {verdicts or 'missing'}, expected PASS")
    elif verdicts:
        problems.append(f"guest reached its end ({verdicts}) but was expected to panic")
    for pat in sc.expect:
        if not re.search(pat, serial, re.M):
            problems.append(f"serial log lacks /{pat}/")
    for pat in sc.reject:
        m = re.search(pat, serial, re.M)
        if m:
            problems.append(f"serial log has forbidden /{pat}/: {m.group(0)!r}")
    if sc.kernel == "debug":
        # The whole log: a report while the kernel boots taints it, which turns lockdep off for
        # the test (the one seen, KASAN's on 5-level paging, is avoided with la57=off).
        problems.extend(debug_splats(serial, lambda m: log(f"  {sc.name}: {m}")))
    if sc.check and not problems:
        try:
            problems.extend(sc.check(run))
        except Exception as e:  # a broken check fails its scenario, not the whole run
            problems.append(f"check raised {type(e).__name__}: {e}")
    return problems


class KernelSymbols:
    """A kernel's text symbols from its System.map: `name(addr)` gives `func+0xoff`."""

    def __init__(self, kdir):
        self.addrs, self.names, self.start, self.end = [], [], 0, 0
        try:
            text = (Path(kdir) / "System.map").read_text()
        except (OSError, TypeError):
            return
        for line in text.splitlines():
            parts = line.split()
            if len(parts) != 3 or parts[1] not in "tTwW":
                continue
            addr = int(parts[0], 16)
            self.addrs.append(addr)
            self.names.append(parts[2])
            if parts[2] == "_stext":
                self.start = addr
            elif parts[2] == "_etext":
                self.end = addr

    def name(self, addr):
        """`func+0xoff` for an address in the kernel's text, else None."""
        if not self.start <= addr < self.end:
            return None
        i = bisect.bisect_right(self.addrs, addr) - 1
        return f"{self.names[i]}+{addr - self.addrs[i]:#x}" if i >= 0 else None


def where_stuck(run, max_frames=8):
    """For a VM that timed out: the guest's last line of its own (not the kernel's), the
    kernel's last line, and where each vCPU stood (its instruction and the kernel functions
    whose addresses its stack holds, newest first) when the host gave up."""
    lines = [l for l in run.serial.splitlines() if l.strip()]
    own = [l for l in lines if not l.startswith("[")]
    kernel = [l for l in lines if l.startswith("[")]
    said = [f"the guest's last own line {own[-1]!r}" if own else "no line from the guest",
            f"the kernel's last {kernel[-1][:120]!r}" if kernel else "no kernel line"]
    syms = KernelSymbols(run.kdir)
    for cpu, rip, halted, stack in run.cpus:
        at = syms.name(rip) or f"{rip:#x}"
        frames = [n for n in (syms.name(w) for w in stack) if n]
        frames = [n for i, n in enumerate(frames) if n not in frames[:i]][:max_frames]
        said.append(f"cpu {cpu} {'halted' if halted else 'running'} at {at}"
                    + (f" (stack: {', '.join(frames)})" if frames else ""))
    if not run.cpus:
        said.append("QEMU did not say where its CPUs were")
    return "; ".join(said)


def report_block(serial, start, max_lines=120):
    """The kernel report starting at `start`: up to the end of its call trace (the first
    line after `Call Trace:` that is not part of a trace), at most `max_lines` lines."""
    lines = serial[start:].splitlines()[:max_lines]
    out, in_trace = [], False
    for line in lines:
        text = re.sub(r"^\[\s*\d+\.\d+\]\s?", "", line)
        if in_trace and not re.match(r"^\s|^<|^\?|^RIP|^Code|^R[SBA-Z0-9]+:|^\s*$", text):
            break
        if "Call Trace:" in text:
            in_trace = True
        out.append(line)
    return "\n".join(out)


# A console line cut short, then printed whole again: when printk hands the console over in the
# middle of a line, the new owner prints this marker and the whole message again.
CUT_LINE = re.compile(r"^.*\n(?=\*\* replaying previous printk message \*\*$)", re.M)


def whole_lines(serial):
    """The serial log without the lines a console cut short and printed again (CUT_LINE): a
    cut line can match what its whole form does not (`BUG: KASAN: null-ptr-deref in lkdtm`,
    whose whole form names `lkdtm_EXCEPTION`, the scenario's own crash)."""
    return CUT_LINE.sub("", serial)


def debug_splats(serial, log=print):
    """The problems scenarios.DEBUG_SPLATS find in a debug kernel's serial log: one per
    pattern, a known kernel report (said through `log`) aside."""
    serial = whole_lines(serial)
    problems = []
    for pat in scenario_defs.DEBUG_SPLATS:
        for m in re.finditer(pat, serial, re.M):
            known = known_kernel_report(serial, m.start())
            if known:
                log(f"ignored the kernel's own report ({known}): {m.group(0)!r}")
                continue
            problems.append(f"debug kernel splat /{pat}/: {m.group(0)!r}")
            break
    return problems


def known_kernel_report(serial, start):
    """The name of the known kernel report (scenarios.KNOWN_KERNEL_REPORTS) at `start`, or
    None: all its patterns in the report, and no netoops function in it."""
    block = report_block(serial, start)
    if "netoops" in block:
        return None
    for name, pats in scenario_defs.KNOWN_KERNEL_REPORTS.items():
        if all(re.search(p, block) for p in pats):
            return name
    return None


# A check's problem that starts with this says the run did not set up what the scenario tests
# (e.g. a flood that never filled the queue on a loaded host): the harness runs it again, up to
# PRECONDITION_RETRIES times, and fails it if it never does.
PRECONDITION = "precondition: "
PRECONDITION_RETRIES = 2


def run_scenarios(selected, jobs=2, tail_lines=40):
    variants = sorted({sc.kernel for sc in selected})
    kdirs = {v: kernel_dir(v) for v in variants}
    modules = {v: module_for(v) for v in variants}
    wire.build_netoopsd()
    initrds = {v: build_initramfs(modules[v], v) for v in variants}
    results = {"passed": 0, "failed": 0, "failures": []}
    out_lock = threading.Lock()

    def one(sc):
        logpath = BUILD / f"{sc.name}.serial.log"
        for attempt in range(1 + PRECONDITION_RETRIES):
            logpath.unlink(missing_ok=True)
            run = run_vm(kdirs[sc.kernel], initrds[sc.kernel], sc, logpath)
            problems = judge(run)
            # Run again only when the run did not set up what the scenario tests (a check's
            # "precondition:" problems, and nothing else), never for a failed assertion.
            if not problems or not all(p.startswith(PRECONDITION) for p in problems):
                break
            with out_lock:
                log(f"again {sc.name}: {'; '.join(problems)}")
        with out_lock:
            if problems:
                results["failed"] += 1
                results["failures"].append(f"{sc.name}: {problems[0]}")
                log(f"FAIL {sc.name} ({run.elapsed:.1f}s): {sc.description}")
                for p in problems:
                    log(f"  - {p}")
                log(f"  last {tail_lines} lines of {logpath}:")
                for line in run.serial.splitlines()[-tail_lines:]:
                    print(f"    | {line}")
            else:
                results["passed"] += 1
                log(f"ok   {sc.name} ({run.elapsed:.1f}s): {sc.description}")
            sys.stdout.flush()

    per_kernel = ", ".join(f"{sum(sc.kernel == v for sc in selected)} on the {v} kernel"
                           for v in variants)
    log(f"{len(selected)} scenarios ({per_kernel}), {jobs} at a time")
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(one, selected))
    # The failures again at the end, where a truncated CI log still shows them.
    for f in results["failures"]:
        log(f"failed {f}")
    print(f"qemu: {results['passed']} passed, {results['failed']} failed", flush=True)
    return results["failed"] == 0


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def demo():
    """The end-to-end path: netoopsd on the host, a VM with netoops pointed at it (QEMU's user
    network forwards the guest's 10.0.2.2:PORT to the host's 127.0.0.1:PORT), two LKDTM oopses
    and a panic, then `netoopsd top` and `netoopsd show` of the crash."""
    sc = scenario_defs.DEMO
    kdir = kernel_dir(sc.kernel)
    wire.build_netoopsd()
    initrd = build_initramfs(module_for(sc.kernel), sc.kernel)
    logpath = BUILD / "demo.serial.log"
    logpath.unlink(missing_ok=True)
    db = logpath.with_name("demo.db")
    log(f"starting the collector (netoopsd --db {db} listen) and booting {kdir.name} under "
        "TCG with netoops pointed at it; the guest oopses twice (LKDTM BUG) and panics "
        "(LKDTM PANIC)")
    run = run_vm(kdir, initrd, sc, logpath)
    print()
    for line in run.serial.splitlines():
        if re.search(r"netoops: (target|dump)|DEMO:|kernel BUG at|Kernel panic", line):
            print(f"  guest| {line}")
    print()
    for line in run.stored:
        print(f"  netoopsd| {line}")
    stored = "\n".join(run.stored)
    netoopsd = [str(wire.NETOOPSD), "--db", str(db)]
    problems = judge(run)
    if problems:
        for p in problems:
            log(f"demo problem: {p}")
        return False
    print()
    log(f"netoopsd --db {db} top")
    subprocess.run(netoopsd + ["top"], check=True)
    bug_id = next(line.split()[1].split("=")[1] for line in stored.splitlines()
                  if "lkdtm_BUG" in line)
    print()
    log(f"netoopsd --db {db} show {bug_id}")
    shown = subprocess.run(netoopsd + ["show", bug_id], check=True, capture_output=True,
                           text=True).stdout.splitlines()
    for line in shown[:60]:
        print(line)
    if len(shown) > 60:
        print(f"... ({len(shown) - 60} more lines: netoopsd --db {db} show {bug_id})")
    print()
    log(f"demo done in {run.elapsed:.1f}s of VM time; the reports stay in {db}")
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="scenarios to run (default: all)")
    ap.add_argument("--list", action="store_true", help="list the scenarios")
    ap.add_argument("--demo", action="store_true", help="run the demo")
    ap.add_argument("-j", "--jobs", type=int, default=2, help="VMs at a time (default 2)")
    args = ap.parse_args()
    if args.list:
        for sc in scenario_defs.SCENARIOS:
            print(f"{sc.name:28} {sc.kernel:6} {sc.timeout:4}s  {sc.description}")
        return 0
    if args.demo:
        return 0 if demo() else 1
    by_name = {sc.name: sc for sc in scenario_defs.SCENARIOS}
    unknown = [n for n in args.names if n not in by_name]
    if unknown:
        sys.exit(f"harness: unknown scenario(s): {', '.join(unknown)} (see --list)")
    selected = [by_name[n] for n in args.names] if args.names else scenario_defs.SCENARIOS
    return 0 if run_scenarios(selected, args.jobs) else 1


if __name__ == "__main__":
    sys.exit(main())
