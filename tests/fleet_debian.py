#!/usr/bin/env python3
"""netoops on Debian's own, unmodified kernel (run by `qemu/debian.sh smoke`).

Boots Debian's vmlinuz (from linux-binary-<release>) under QEMU (TCG) with an initramfs of
busybox, the Debian modules the guest needs (virtio_net with its dependencies from modules.dep,
configfs; decompressed here: Debian ships them xz-compressed, which busybox insmod does not
read), netoops.ko (built by `qemu/debian.sh exact-build` with Debian's toolchain) and
tests/guest/debian_smoke.sh, with netoopsd listening on the host (QEMU's user network forwards
the guest's 10.0.2.2:PORT to it). The guest sends a SysRq soft dump, then panics through SysRq c.
Passes (exit 0) only if netoopsd stored both dumps complete; the last line is a summary.

  tests/fleet_debian.py --modules DIR --release R --module netoops.ko
"""

import argparse
import gzip
import lzma
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "qemu"))

import harness  # noqa: E402
import wire  # noqa: E402

NAME = "debian-smoke"
GUEST = "debian_smoke"
# What the guest loads (with dependencies): the NIC and configfs. Built-in ones are skipped.
WANTED = ["virtio_net", "configfs"]
# netoopsd listen's "stored ..." line, as the test-kernel scenarios read it.
STORED_RE = harness.scenario_defs.STORED_RE
TAINT_FLAGS = "PFSRMBUDAWCIOELKXTN"  # kernel/panic.c taint_flags, bit order

INIT = r"""#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
echo "NETOOPS-TEST-START: debian_smoke"
sh -e /tests/debian_smoke.sh
rc=$?
if [ "$rc" = 0 ]; then echo "NETOOPS-TEST: PASS"; else echo "NETOOPS-TEST: FAIL (exit $rc)"; fi
sync
reboot -f
"""


def log(msg):
    print(f"[debian-smoke] {msg}", flush=True)


def module_name(path):
    return re.sub(r"\.ko(\.(xz|zst|gz))?$", "", Path(path).name).replace("-", "_")


def modules_to_load(moddir):
    """Paths (relative to moddir) of WANTED and their dependencies, in load order, from Debian's
    modules.dep; names that are built in (modules.builtin) are left out."""
    deps, by_name = {}, {}
    for line in (moddir / "modules.dep").read_text().splitlines():
        mod, _, rest = line.partition(":")
        deps[mod] = rest.split()
        by_name[module_name(mod)] = mod
    builtin = {module_name(line) for line in (moddir / "modules.builtin").read_text().split()}
    order = []

    def visit(mod):
        for d in deps[mod]:
            visit(d)
        if mod not in order:
            order.append(mod)

    for name in WANTED:
        if name in builtin:
            continue
        if name not in by_name:
            sys.exit(f"fleet_debian: Debian's modules.dep has no {name}")
        visit(by_name[name])
    return order


def decompressed(path):
    data = path.read_bytes()
    if path.name.endswith(".xz"):
        return lzma.decompress(data)
    if path.name.endswith(".gz"):
        return gzip.decompress(data)
    if path.name.endswith(".zst"):
        return subprocess.run(["zstd", "-dc", str(path)], check=True, capture_output=True).stdout
    return data


def build_initramfs(moddir, module, out):
    busybox = shutil.which("busybox") or "/bin/busybox"
    c = harness.Cpio()
    for d in ("bin", "sbin", "dev", "proc", "sys", "tmp", "etc", "tests", "lib", "lib/modules"):
        c.dir(d)
    c.file("bin/busybox", Path(busybox).read_bytes(), 0o755)
    for applet in harness.busybox_applets(busybox):
        if applet != "busybox":
            c.symlink(f"bin/{applet}", "busybox")
    c.file("init", INIT.encode(), 0o755)
    loads = []
    for rel in modules_to_load(moddir):
        name = module_name(rel) + ".ko"
        c.file(f"lib/modules/{name}", decompressed(moddir / rel))
        loads.append(name)
    c.file("modules.load", ("\n".join(loads) + "\n").encode())
    c.file("netoops.ko", Path(module).read_bytes())
    c.file("tests/lib.sh", (ROOT / "tests" / "guest" / "lib.sh").read_bytes())
    c.file(f"tests/{GUEST}.sh", (ROOT / "tests" / "guest" / f"{GUEST}.sh").read_bytes(), 0o755)
    out.write_bytes(gzip.compress(c.finish(), compresslevel=1))
    return loads


def taint_text(value):
    return "".join(f for i, f in enumerate(TAINT_FLAGS) if value >> i & 1) or "none"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--modules", required=True, type=Path,
                    help="Debian's /usr/lib/modules/<release> (vmlinuz, modules.dep, kernel/)")
    ap.add_argument("--release", required=True)
    ap.add_argument("--module", required=True, type=Path, help="netoops.ko")
    ap.add_argument("--timeout", type=int, default=400)
    args = ap.parse_args()
    moddir = args.modules
    vmlinuz = moddir / "vmlinuz"
    summary_fail = f"debian-smoke: FAIL on Debian's {args.release}"
    for p in (vmlinuz, moddir / "modules.dep", args.module):
        if not p.exists():
            print(f"{summary_fail}: missing {p}")
            return 1

    harness.BUILD.mkdir(parents=True, exist_ok=True)
    initrd = harness.BUILD / "initramfs-debian.cpio.gz"
    loads = build_initramfs(moddir, args.module, initrd)
    log(f"initramfs {initrd}: busybox, Debian's {' '.join(loads)} (decompressed), netoops.ko")
    logpath = harness.BUILD / f"{NAME}.serial.log"
    logpath.unlink(missing_ok=True)
    db = harness.BUILD / f"{NAME}.db"
    port = harness.free_port()
    listener = harness.start_collector(db, port, 2)
    clock = f"tsc_early_khz={harness.host_tsc_khz()} tsc=reliable"
    cmdline = f"console=ttyS0 panic=3 {clock} netoops_port={port}"
    cmd = ["qemu-system-x86_64", "-accel", "tcg", "-cpu", "max", "-smp", "1", "-m", "1024",
           "-display", "none", "-monitor", "none", "-no-reboot", "-serial", f"file:{logpath}",
           "-kernel", str(vmlinuz), "-initrd", str(initrd), "-append", cmdline,
           "-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0"]
    log(f"booting Debian's unmodified {vmlinuz} under TCG; netoopsd --db {db} listen on "
        f"127.0.0.1:{port}")
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=args.timeout)
        status = proc.returncode
    except subprocess.TimeoutExpired:
        status = None
    elapsed = time.monotonic() - start
    stored, collector_status = harness.finish_collector(listener)
    serial = logpath.read_text(errors="replace") if logpath.exists() else ""

    print()
    for line in serial.splitlines():
        if re.search(r"DEBIAN:|GUEST-FAIL|NETOOPS-TEST|netoops: (dump|target)|Kernel panic|"
                     r"module verification|Linux version|sysrq: Trigger a crash", line):
            print(f"  guest| {line.rstrip()}")
    print()
    for line in stored:
        print(f"  netoopsd| {line}")

    problems = []
    if status is None:
        problems.append(f"QEMU timed out after {args.timeout}s")
    elif status != 0:
        problems.append(f"QEMU exited with status {status}")
    m = re.search(r"GUEST-FAIL: (.*)", serial)
    if m:
        problems.append(f"guest: {m.group(1).strip()}")
    if "NETOOPS-TEST: PASS" in serial:
        problems.append("the guest survived SysRq c")
    got = sorted((int(g[2]), g[3], g[4], g[1]) for g in
                 (STORED_RE.match(line) for line in stored) if g)
    reasons = [(r, s) for _, r, s, _ in got]
    if reasons != [("soft", "complete"), ("panic", "complete")]:
        problems.append(f"netoopsd stored {reasons or 'nothing'}, expected a complete soft dump "
                        "and a complete panic")
    taint = re.search(r"DEBIAN: taint after netoops: (\d+)", serial)
    taint_s = f"taint {taint.group(1)} ({taint_text(int(taint.group(1)))})" if taint else "taint ?"

    btf = re.search(r"DEBIAN: module BTF: (\w+)", serial)
    btf_s = f"module BTF {btf.group(1)}" if btf else "module BTF ?"

    netoopsd = [str(wire.NETOOPSD), "--db", str(db)]
    if got:
        print()
        log(f"netoopsd --db {db} ls")
        subprocess.run(netoopsd + ["ls"])
        for _, reason, _, rid in got:
            print()
            log(f"netoopsd --db {db} show {rid}  ({reason})")
            shown = subprocess.run(netoopsd + ["show", rid], capture_output=True,
                                   text=True).stdout.splitlines()
            for line in shown[:40]:
                print(line)
            if len(shown) > 40:
                print(f"... ({len(shown) - 40} more lines)")
    print()
    if problems:
        for p in problems:
            log(f"problem: {p}")
        log(f"serial log: {logpath}")
        print(f"{summary_fail} ({elapsed:.0f}s): {problems[0]}")
        return 1
    print(f"debian-smoke: PASS: Debian's unmodified {args.release} kernel loaded netoops "
          f"({taint_s}, {btf_s}); soft dump and panic stored complete by netoopsd ({elapsed:.0f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
