#!/usr/bin/env python3
"""QEMU harness for netoops: builds an initramfs, boots the test kernel under TCG, runs
test scenarios and judges them from the serial console log.

  qemu/harness.py                 run every scenario in tests/scenarios.py
  qemu/harness.py NAME...         run the named scenarios
  qemu/harness.py --list          list scenarios
  qemu/harness.py --demo          the demo: boot, load netoops, crash, show what netoops saw

Each scenario boots a fresh VM whose /init runs tests/guest/<guest>.sh. A guest that reaches the
end of its script prints its verdict and reboots, which makes QEMU exit (-no-reboot); a guest
that panics makes QEMU exit too (panic=-1). Every scenario has a timeout. On failure the tail of
the serial log is printed; full logs stay under build/qemu/.
"""

import argparse
import gzip
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import scenarios as scenario_defs  # noqa: E402

BUILD = ROOT / "build" / "qemu"
VERDICT_RE = re.compile(r"NETOOPS-TEST: (PASS|FAIL.*)")


def log(msg):
    print(f"[qemu] {msg}", flush=True)


def kernel_dir():
    out = subprocess.run([str(ROOT / "qemu" / "kernel.sh"), "dir"], check=True,
                         capture_output=True, text=True)
    kdir = Path(out.stdout.strip())
    if not (kdir / ".netoops-complete").exists():
        sys.exit(f"harness: test kernel not built at {kdir}: run 'make' first")
    return kdir


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


def build_initramfs(module):
    busybox = shutil.which("busybox") or "/bin/busybox"
    c = Cpio()
    for d in ("bin", "sbin", "dev", "proc", "sys", "tmp", "etc", "tests", "lib", "mnt"):
        c.dir(d)
    c.file("bin/busybox", Path(busybox).read_bytes(), 0o755)
    for applet in busybox_applets(busybox):
        if applet != "busybox":
            c.symlink(f"bin/{applet}", "busybox")
    c.file("init", INIT.encode(), 0o755)
    c.file("netoops.ko", Path(module).read_bytes())
    c.file("tests/lib.sh", (ROOT / "tests" / "guest" / "lib.sh").read_bytes(), 0o644)
    for script in sorted((ROOT / "tests" / "guest").glob("*.sh")):
        c.file(f"tests/{script.name}", script.read_bytes(), 0o755)
    BUILD.mkdir(parents=True, exist_ok=True)
    path = BUILD / "initramfs.cpio.gz"
    path.write_bytes(gzip.compress(c.finish(), compresslevel=1))
    return path


def run_vm(kdir, initrd, sc, logpath):
    """Boot one VM for scenario `sc`; return (exit status or None on timeout, serial text)."""
    cmdline = f"console=ttyS0 panic=-1 netoops_test={sc.guest} {sc.cmdline}".strip()
    cmd = ["qemu-system-x86_64", "-accel", "tcg", "-cpu", sc.cpu, "-smp", str(sc.smp),
           "-m", "256", "-display", "none", "-monitor", "none", "-no-reboot",
           "-serial", f"file:{logpath}", "-kernel", str(kdir / "arch/x86/boot/bzImage"),
           "-initrd", str(initrd), "-append", cmdline, "-nic", "none", *sc.qemu_args]
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        out, _ = proc.communicate(timeout=sc.timeout)
        status = proc.returncode
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        status = None
    elapsed = time.monotonic() - start
    serial = logpath.read_text(errors="replace") if logpath.exists() else ""
    qemu_out = out.decode(errors="replace").strip()
    return status, serial, qemu_out, elapsed


def judge(sc, status, serial, qemu_out):
    """Return a list of failure reasons (empty: passed)."""
    problems = []
    if status is None:
        problems.append(f"timed out after {sc.timeout}s")
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
    if sc.check and not problems:
        problems.extend(sc.check(serial))
    return problems


def run_scenarios(selected, tail_lines=40):
    kdir = kernel_dir()
    module = ROOT / "netoops.ko"
    if not module.exists():
        sys.exit("harness: netoops.ko not built: run 'make' first")
    initrd = build_initramfs(module)
    passed = failed = 0
    for sc in selected:
        logpath = BUILD / f"{sc.name}.serial.log"
        logpath.unlink(missing_ok=True)
        log(f"{sc.name}: {sc.description}")
        status, serial, qemu_out, elapsed = run_vm(kdir, initrd, sc, logpath)
        problems = judge(sc, status, serial, qemu_out)
        if problems:
            failed += 1
            log(f"FAIL {sc.name} ({elapsed:.1f}s)")
            for p in problems:
                log(f"  - {p}")
            log(f"  last {tail_lines} lines of {logpath}:")
            for line in serial.splitlines()[-tail_lines:]:
                print(f"    | {line}")
        else:
            passed += 1
            log(f"ok   {sc.name} ({elapsed:.1f}s)")
    print(f"qemu: {passed} passed, {failed} failed", flush=True)
    return failed == 0


def demo():
    sc = scenario_defs.DEMO
    kdir = kernel_dir()
    initrd = build_initramfs(ROOT / "netoops.ko")
    logpath = BUILD / "demo.serial.log"
    logpath.unlink(missing_ok=True)
    log(f"booting {kdir.name} under TCG; the guest loads netoops and provokes an oops (LKDTM BUG)")
    status, serial, qemu_out, elapsed = run_vm(kdir, initrd, sc, logpath)
    print()
    shown = serial[serial.find("DEMO:"):] if "DEMO:" in serial else serial
    for line in shown.splitlines():
        if re.search(r"netoops|lkdtm|kernel BUG|Oops|RIP|DEMO", line):
            print(f"  {line}")
    print()
    problems = judge(sc, status, serial, qemu_out)
    if problems:
        for p in problems:
            log(f"demo problem: {p}")
        return False
    log(f"demo done in {elapsed:.1f}s; full serial log: {logpath}")
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="scenarios to run (default: all)")
    ap.add_argument("--list", action="store_true", help="list the scenarios")
    ap.add_argument("--demo", action="store_true", help="run the demo")
    args = ap.parse_args()
    if args.list:
        for sc in scenario_defs.SCENARIOS:
            print(f"{sc.name:24} {sc.description}")
        return 0
    if args.demo:
        return 0 if demo() else 1
    by_name = {sc.name: sc for sc in scenario_defs.SCENARIOS}
    unknown = [n for n in args.names if n not in by_name]
    if unknown:
        sys.exit(f"harness: unknown scenario(s): {', '.join(unknown)} (see --list)")
    selected = [by_name[n] for n in args.names] if args.names else scenario_defs.SCENARIOS
    return 0 if run_scenarios(selected) else 1


if __name__ == "__main__":
    sys.exit(main())
