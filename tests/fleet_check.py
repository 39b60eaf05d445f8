#!/usr/bin/env python3
"""make fleet-check: netoops built against a matrix of kernels and configs, and booted where the
matrix has a bootable image.

  tests/fleet_check.py              every entry of the matrix
  tests/fleet_check.py NAME...      the named entries (see --list)
  tests/fleet_check.py --list       the matrix

Each entry: the kernel tree (qemu/kernel.sh, cached by version, config and toolchain, built with
progress shown), netoops built against it in build/fleet/<entry>/module (`make module-at`; the
warnings counted), and, where the entry boots, the smoke set under QEMU (tests/guest/
fleet_smoke.sh: load, a target, a SysRq soft dump and an LKDTM oops stored complete by netoopsd on
the host, unload). The signed-module entry installs netoops with `make install` (signed at install
with the tree's key; the kernel refuses unsigned modules) and boots the installed file; the dkms
entry builds and installs through dkms (dkms.conf) and boots that. Debian's kernel entries are
qemu/debian.sh's. A failed entry names its first error line; the others still run. One table at
the end, then `N passed, N failed`.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "qemu"))
sys.path.insert(0, str(ROOT / "tests"))

import harness  # noqa: E402
import scenarios  # noqa: E402
import wire  # noqa: E402

BUILD = ROOT / "build" / "fleet"
KERNEL_SH = ROOT / "qemu" / "kernel.sh"
DEBIAN_SH = ROOT / "qemu" / "debian.sh"


@dataclass
class Entry:
    name: str
    config: str  # what the table says of the config
    source: str = ""  # linux-source-7.N ("": the newest)
    variant: str = "test"  # qemu/kernel.sh --variant
    boot: bool = True
    smp: int = 2
    install: str = ""  # "make": boot the module `make install` put in place; "dkms": dkms's
    debian: str = ""  # "host-build" / "smoke": qemu/debian.sh does the entry


def previous_source():
    """The linux-source-7.N before the newest installed (scripts/setup-host.sh --fleet)."""
    versions = sorted((int(m.group(1)) for p in Path("/usr/src").glob("linux-source-7.*.tar.xz")
                       if (m := re.match(r"linux-source-7\.(\d+)\.tar\.xz", p.name))))
    return f"7.{versions[-2]}" if len(versions) >= 2 else "7.older-not-installed"


MATRIX = [
    Entry("7.3-test", "tinyconfig + test fragment"),
    Entry("7.2-test", "tinyconfig + test fragment", source=previous_source()),
    Entry("7.3-noipv6", "test fragment, IPv6 off", variant="noipv6"),
    Entry("7.3-up", "test fragment, SMP off", variant="up", smp=1),
    Entry("7.3-rt", "test fragment, PREEMPT_RT", variant="rt"),
    Entry("7.3-modular", "test fragment, CONFIGFS_FS=m, NETCONSOLE=y", variant="modular"),
    Entry("7.3-sig", "test fragment, MODULE_SIG_FORCE; make install", variant="sig",
          install="make"),
    Entry("7.3-sig-dkms", "test fragment, MODULE_SIG_FORCE; dkms", variant="sig",
          install="dkms"),
    Entry("7.3-debian-cloud", "Debian cloud-amd64 (olddefconfig), host toolchain",
          boot=False, debian="host-build"),
    Entry("7.3-debian-own", "Debian's own cloud-amd64 kernel and toolchain",
          debian="smoke"),
]


@dataclass
class Result:
    entry: Entry
    kernel: str = "?"
    toolchain: str = "?"
    build: str = "not run"
    warnings: str = "-"
    smoke: str = "-"
    ok: bool = False
    seconds: float = 0.0


def say(msg):
    print(f"[fleet] {msg}", flush=True)


def first_error(text, default="(no error line found)"):
    for line in text.splitlines():
        if re.search(r"(^|[\s:])(error|Error|ERROR)(\[E\d+\])?[:\s!]|\*\*\*|die:|netoops: KDIR=",
                     line):
            return line.strip()[:160]
    return default


def config_text(kdir, name):
    m = re.search(rf'^{name}="(.*)"$', (kdir / ".config").read_text(), re.M)
    return m.group(1) if m else "?"


def toolchain_of(kdir):
    rustc = re.sub(r"^rustc (\S+).*", r"rustc \1", config_text(kdir, "CONFIG_RUSTC_VERSION_TEXT"))
    bindgen = config_text(kdir, "CONFIG_BINDGEN_VERSION_TEXT")
    cc = config_text(kdir, "CONFIG_CC_VERSION_TEXT")
    m = re.match(r"(\S*gcc)\S* \(.*\) (\S+)", cc)
    cc = f"gcc {m.group(2)}" if m else cc.split(" (")[0]
    return f"{rustc}, {bindgen}, {cc}"


def kernel_args(entry):
    args = ["--variant", entry.variant]
    if entry.source:
        args += ["--source", entry.source]
    return args


def build_kernel(entry, res):
    """The entry's tree (built now if not cached; kernel.sh shows progress and takes the tree's
    lock), or None with res.build saying why."""
    say(f"{entry.name}: kernel tree ({' '.join(kernel_args(entry))})")
    proc = subprocess.run([str(KERNEL_SH), *kernel_args(entry), "build"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    sys.stderr.write(proc.stderr)
    if proc.returncode != 0:
        kdir = subprocess.run([str(KERNEL_SH), *kernel_args(entry), "dir"], capture_output=True,
                              text=True).stdout.strip()
        log = Path(kdir) / "build.log" if kdir else None
        text = log.read_text(errors="replace") if log and log.exists() else proc.stderr
        res.build = "kernel failed: " + first_error(text, first_error(proc.stderr))
        return None
    kdir = Path(proc.stdout.strip().splitlines()[-1])
    version = (kdir / "include/config/kernel.release").read_text().strip()
    res.kernel = version
    res.toolchain = toolchain_of(kdir)
    return kdir


def make(args, log):
    """Run make with args, output to log (and its tail to the terminal on failure)."""
    proc = subprocess.run(["make", "--no-print-directory", *args], cwd=ROOT,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log.write_text(proc.stdout)
    return proc.returncode, proc.stdout


def count_warnings(text):
    """Warnings from the module's own build: rustc's, clippy's, the C compiler's and modpost's."""
    return len([line for line in text.splitlines() if re.match(r"^(warning|WARNING)[:\[]|.*: warning:", line)])


def build_module(entry, kdir, res):
    """netoops.ko built against kdir in build/fleet/<entry>/module, or None. Built twice: with
    CLIPPY=1 (the kernel's own lints; its warnings count) and then as it ships."""
    mdir = BUILD / entry.name / "module"
    warnings = 0
    for label, extra in (("clippy", ["CLIPPY=1"]), ("module", [])):
        (mdir / "netoops_rust.o").unlink(missing_ok=True)
        code, out = make(["module-at", f"KDIR={kdir}", f"MODULE_DIR={mdir}", *extra],
                         BUILD / entry.name / f"{label}.log")
        warnings += count_warnings(out)
        if code != 0 or not (mdir / "netoops.ko").exists():
            res.warnings = str(warnings)
            res.build = f"{label} build failed: " + first_error(out)
            return None
    res.warnings = str(warnings)
    res.build = "ok"
    return mdir / "netoops.ko"


def signed(path):
    return Path(path).read_bytes().endswith(b"~Module signature appended~\n")


def signs_modules(kdir):
    return "\nCONFIG_MODULE_SIG=y\n" in (kdir / ".config").read_text()


def install_with_make(entry, kdir, res):
    """`make install` from a copy of the project (the module directory, with the Makefile) into a
    staging root: the installed file must be signed and listed by depmod."""
    mdir = BUILD / entry.name / "module"
    shutil.copy2(ROOT / "Makefile", mdir / "Makefile")
    stage = BUILD / entry.name / "root"
    shutil.rmtree(stage, ignore_errors=True)
    proc = subprocess.run(["make", "--no-print-directory", "-C", str(mdir), "install",
                           f"KDIR={kdir}", f"INSTALL_MOD_PATH={stage}"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    (BUILD / entry.name / "install.log").write_text(proc.stdout)
    installed = stage / "lib/modules" / res.kernel / "updates/netoops.ko"
    if proc.returncode != 0:
        res.build = "make install failed: " + first_error(proc.stdout)
        return None
    problems = []
    if not installed.exists():
        problems.append(f"nothing at {installed.relative_to(stage)}")
    elif signs_modules(kdir) and not signed(installed):
        problems.append("installed module not signed")
    dep = stage / "lib/modules" / res.kernel / "modules.dep"
    if not dep.exists() or "updates/netoops.ko:" not in dep.read_text():
        problems.append("depmod did not list updates/netoops.ko")
    if problems:
        res.build = "make install: " + "; ".join(problems)
        return None
    res.build = "ok (make install" + (", signed)" if signed(installed) else ")")
    return installed


def install_with_dkms(entry, kdir, res):
    """dkms add/build/install of this checkout against kdir, in trees under build/fleet/: the
    module dkms installed, or None."""
    base = BUILD / entry.name / "dkms"
    shutil.rmtree(base, ignore_errors=True)
    # The install tree as a root's /lib/modules, so that depmod -b can index it (dkms's own
    # depmod would index the host's /lib/modules/<release>: --no-depmod).
    trees = {"--dkmstree": base / "var", "--sourcetree": base / "src",
             "--installtree": base / "root/lib/modules"}
    for d in trees.values():
        d.mkdir(parents=True)
    version = re.search(r'^PACKAGE_VERSION="?([^"\n]+)', (ROOT / "dkms.conf").read_text(), re.M)[1]
    # dkms builds from <sourcetree>/netoops-<version>: the project's files as a release has them.
    src = trees["--sourcetree"] / f"netoops-{version}"
    files = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-co", "--exclude-standard"],
                           check=True, capture_output=True, text=True).stdout.split()
    for f in files:
        if (ROOT / f).is_file():
            (src / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, src / f)
    opts = [a for k, v in trees.items() for a in (k, str(v))]
    kargs = ["-k", res.kernel, "--kernelsourcedir", str(kdir)]
    # dkms installs only onto a kernel "installed" in its install tree.
    (trees["--installtree"] / res.kernel).mkdir()
    log = []
    for step in (["add", f"netoops/{version}"], ["build", f"netoops/{version}", *kargs],
                 ["install", f"netoops/{version}", *kargs, "--force", "--no-depmod"]):
        proc = subprocess.run(["dkms", *step, *opts], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
        log.append(f"$ dkms {' '.join(step)}\n{proc.stdout}")
        if proc.returncode != 0:
            (BUILD / entry.name / "dkms.log").write_text("\n".join(log))
            res.build = f"dkms {step[0]} failed: " + first_error(proc.stdout)
            return None
    proc = subprocess.run(["depmod", "-b", str(base / "root"), res.kernel],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log.append(f"$ depmod -b {base / 'root'} {res.kernel}\n{proc.stdout}")
    (BUILD / entry.name / "dkms.log").write_text("\n".join(log))
    dep = trees["--installtree"] / res.kernel / "modules.dep"
    if proc.returncode != 0 or not dep.exists() or "updates/dkms/netoops.ko" not in dep.read_text():
        res.build = "depmod did not index dkms's netoops.ko: " + first_error(proc.stdout)
        return None
    found = sorted(trees["--installtree"].rglob("netoops.ko*"))
    if not found:
        res.build = "dkms install put no netoops.ko in its install tree"
        return None
    installed = found[0]
    if installed.suffix != ".ko":
        res.build = f"dkms installed {installed.name}: compressed, not booted here"
        return None
    if signs_modules(kdir) and not signed(installed):
        res.build = "dkms installed an unsigned module"
        return None
    res.build = "ok (dkms" + (", signed)" if signed(installed) else ")")
    return installed


STORED_RE = scenarios.STORED_RE


def check_smoke(run):
    got = sorted((int(m[2]), m[3], m[4]) for m in (STORED_RE.match(line) for line in run.stored)
                 if m)
    want_reasons = ["oops", "soft"]
    problems = []
    if run.collector_status != 0:
        problems.append(f"netoopsd listen exited with {run.collector_status} (not 2 reports)")
    if sorted(r for _s, r, _st in got) != want_reasons or any(st != "complete" for *_x, st in got):
        problems.append(f"stored {got}, expected a soft dump and an oops, both complete")
    if "netoops taint flags: 'E'" in run.serial:
        problems.append("the kernel took netoops as unsigned (taint E)")
    return problems


def unsigned_refused(entry, kdir, module):
    """On a kernel that enforces signatures, the module as built (before `make install` signed
    it) must be refused: else a passing smoke would prove nothing about the signature. Problems
    (empty: refused as it should be)."""
    sc = smoke_scenario(entry, collector=0)
    sc.name += "-unsigned"
    sc.expect = [r"Loading of unsigned module is rejected", r"GUEST-FAIL: insmod netoops.ko failed"]
    sc.verdict = True
    sc.check = None
    logpath = BUILD / entry.name / "unsigned.serial.log"
    run = harness.run_vm(kdir, initramfs(entry, kdir, module, "-unsigned"), sc, logpath)
    problems = [p for p in harness.judge(run) if "guest verdict" not in p]
    return [f"{p} (serial log: {logpath})" for p in problems]


def initramfs(entry, kdir, module, suffix=""):
    extra = {}
    configfs = kdir / "fs/configfs/configfs.ko"
    if configfs.exists():
        extra["configfs.ko"] = configfs
    return harness.build_initramfs(module, f"fleet-{entry.name}{suffix}", extra)


def smoke_scenario(entry, collector=2):
    return scenarios.Scenario(
        name=f"fleet-{entry.name}",
        description=f"fleet smoke on {entry.name}",
        guest="fleet_smoke",
        expect=[r"SMOKE: unloaded"],
        reject=[r"^.*netoops: .*skipped.*$", r"^.*general protection fault.*$",
                r"^.*BUG: (?!.*lkdtm).*$"],
        cmdline="panic=3",
        smp=entry.smp,
        qemu_args=["-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0"],
        timeout=180,
        collector=collector,
        check=check_smoke,
    )


def smoke(entry, kdir, module, res):
    """The smoke set in a VM of kdir with `module`; res.smoke says how it went."""
    initrd = initramfs(entry, kdir, module)
    sc = smoke_scenario(entry)
    logpath = BUILD / entry.name / "smoke.serial.log"
    run = harness.run_vm(kdir, initrd, sc, logpath)
    problems = harness.judge(run)
    res.smoke = "ok" if not problems else "FAILED: " + problems[0][:150]
    if problems:
        say(f"{entry.name}: smoke failed: {'; '.join(problems)} (serial log: {logpath})")
    return not problems


def run_debian(entry, res):
    """An entry qemu/debian.sh does: `host-build` (Debian's config, the host toolchain, build
    only) or `smoke` (Debian's exact toolchain in a trixie chroot, Debian's own kernel booted)."""
    if not DEBIAN_SH.exists():
        res.build = "qemu/debian.sh missing"
        return
    proc = subprocess.run([str(DEBIAN_SH), entry.debian], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    sys.stderr.write("".join(f"{line}\n" for line in proc.stderr.splitlines()
                             if line.startswith(("[debian]", "debian.sh:", "[kernel]"))))
    (BUILD / entry.name).mkdir(parents=True, exist_ok=True)
    (BUILD / entry.name / "debian.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        fails = [line for line in proc.stderr.splitlines() if line.startswith("debian.sh:")]
        what = fails[-1] if fails else first_error(proc.stderr + proc.stdout)
        if entry.debian == "smoke" and "PASS" not in proc.stdout and "netoops built" in proc.stderr:
            res.build = "ok"
            res.smoke = "FAILED: " + what[:150]
        else:
            res.build = "failed: " + what[:150]
        return
    module_dir = ROOT / "build" / ("debian-host" if entry.debian == "host-build" else "debian-exact")
    log = module_dir / "build.log"
    res.warnings = str(count_warnings(log.read_text(errors="replace"))) if log.exists() else "?"
    if entry.debian == "host-build":
        tree = Path(proc.stdout.strip().splitlines()[-1])
        res.kernel = (tree / "include/config/kernel.release").read_text().strip()
        res.toolchain = toolchain_of(tree)
        m = re.search(r"modules_prepare rust/ (\d+)s, netoops (\d+)s", proc.stdout)
        res.build = "ok, build only" + (f" (prepare+rust {m[1]} s, module {m[2]} s)" if m else "")
        res.ok = True
        return
    m = re.search(r"chroot toolchain: .*", proc.stderr)
    tools = dict(re.findall(r"(\S+?)=(\S+)", m[0])) if m else {}
    short = lambda v: re.sub(r"[+~-].*", "", v.split(":")[-1])  # noqa: E731
    res.toolchain = (f"rustc {short(tools.get('rustc', '?'))}, bindgen {short(tools.get('bindgen', '?'))}, "
                     f"gcc {short(tools.get('gcc-14', '?'))} (Debian's)")
    m = re.search(r"Debian's unmodified (\S+) kernel.*?\((taint [^)]*\))", proc.stdout)
    res.kernel = m[1] if m else "?"
    res.build = "ok (Debian's Module.symvers)"
    res.smoke = "ok" + (f", {m[2]}" if m else "")
    res.ok = True


def run_entry(entry):
    res = Result(entry)
    start = time.monotonic()
    (BUILD / entry.name).mkdir(parents=True, exist_ok=True)
    try:
        if entry.debian:
            run_debian(entry, res)
            return res
        kdir = build_kernel(entry, res)
        if not kdir:
            return res
        module = build_module(entry, kdir, res)
        if not module:
            return res
        if entry.install == "make" and signs_modules(kdir) and "SIG_FORCE=y" in (kdir / ".config").read_text():
            problems = unsigned_refused(entry, kdir, module)
            if problems:
                res.build = "the unsigned module was not refused: " + problems[0][:150]
                return res
        if entry.install == "make":
            module = install_with_make(entry, kdir, res)
        elif entry.install == "dkms":
            module = install_with_dkms(entry, kdir, res)
        if not module:
            return res
        res.ok = smoke(entry, kdir, module, res) if entry.boot else True
        return res
    except Exception as e:  # one entry's surprise must not stop the others
        res.build = f"{res.build} / harness error: {type(e).__name__}: {e}"[:200]
        res.ok = False
        return res
    finally:
        res.seconds = time.monotonic() - start
        say(f"{entry.name}: {'PASSED' if res.ok else 'FAILED'} in {res.seconds:.0f} s "
            f"(build: {res.build}; smoke: {res.smoke})")


def table(results):
    cols = ["entry", "kernel", "config", "toolchain", "build", "warnings", "smoke", "time"]
    rows = [[r.entry.name, r.kernel, r.entry.config, r.toolchain, r.build, r.warnings, r.smoke,
             f"{r.seconds:.0f} s"] for r in results]
    widths = [max(len(c), *(len(row[i]) for row in rows)) for i, c in enumerate(cols)]
    line = " | ".join(c.ljust(w) for c, w in zip(cols, widths))
    print(line)
    print("-+-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(v.ljust(w) for v, w in zip(row, widths)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="entries to run (default: all)")
    ap.add_argument("--list", action="store_true", help="list the matrix")
    args = ap.parse_args()
    if args.list:
        for e in MATRIX:
            print(f"{e.name:18} {e.config}")
        return 0
    by_name = {e.name: e for e in MATRIX}
    unknown = [n for n in args.names if n not in by_name]
    if unknown:
        sys.exit(f"fleet_check: unknown entr{'y' if len(unknown) == 1 else 'ies'}: "
                 f"{', '.join(unknown)} (see --list)")
    selected = [by_name[n] for n in args.names] if args.names else MATRIX
    BUILD.mkdir(parents=True, exist_ok=True)
    if any(e.boot and not e.debian for e in selected):
        wire.build_netoopsd()
    results = [run_entry(e) for e in selected]
    print()
    table(results)
    passed = sum(r.ok for r in results)
    print(f"{passed} passed, {len(results) - passed} failed")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
