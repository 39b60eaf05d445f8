"""The operator's view of real crashes (issue 12), on the debug kernel, whose vmlinux carries the
debug info: a VM oopses twice (LKDTM BUG) and panics into netoopsd on the host; Debian's
debuginfod server, started here, serves that vmlinux by its build id; then

- `netoopsd show` names the source line of the BUG (drivers/misc/lkdtm/bugs.c, the line of
  `BUG();` in lkdtm_BUG, read from the kernel's own source), from the build id the dump carried;
- the web view (tests/web_view.py, Debian's chromium through chromedriver) renders every page
  from that store plus generated history, the numbers equal the store's, and the report page
  shows the same source line.

scenarios.py adds the scenario to SCENARIOS.
"""

import os
import re
import shutil
import socket
import sys
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import wire
from scenarios import Scenario, check_collector, vmlinux_build_id

ROOT = Path(__file__).resolve().parent.parent


def free_tcp_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bug_line(kdir):
    """(file, line) of the `BUG();` in lkdtm_BUG, from the kernel tree's source."""
    rel = "drivers/misc/lkdtm/bugs.c"
    lines = (kdir / rel).read_text().splitlines()
    start = next(i for i, l in enumerate(lines) if re.match(r"static void lkdtm_BUG\(void\)", l))
    n = next(i for i in range(start, len(lines)) if lines[i].strip() == "BUG();")
    return rel, n + 1


class Debuginfod:
    """Debian's debuginfod serving one vmlinux (a directory holding only it, so that the scan
    does not walk the whole kernel tree)."""

    def __init__(self, vmlinux, workdir):
        self.dir = workdir / "debuginfod"
        shutil.rmtree(self.dir, ignore_errors=True)
        (self.dir / "files").mkdir(parents=True)
        target = self.dir / "files" / "vmlinux"
        try:
            os.link(vmlinux, target)
        except OSError:
            shutil.copy(vmlinux, target)
        self.port = free_tcp_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(self.dir / "debuginfod.log", "w")
        self.proc = subprocess.Popen(
            ["debuginfod", "-F", str(self.dir / "files"), "-p", str(self.port),
             "-d", str(self.dir / "index.sqlite"), "-t", "0", "-g", "0"],
            stdout=self.log, stderr=subprocess.STDOUT)

    def wait_for(self, build_id, timeout=180):
        """Waits until the server has indexed `build_id`; a problem sentence if it did not."""
        url = f"{self.url}/buildid/{build_id}/debuginfo"
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return f"debuginfod exited with {self.proc.returncode} (see {self.log.name})"
            try:
                # GET only (debuginfod refuses HEAD); the first bytes tell.
                with urllib.request.urlopen(url, timeout=5) as r:
                    if r.status == 200 and r.read(4) == b"\x7fELF":
                        return None
            except urllib.error.HTTPError as e:
                last = f"HTTP {e.code}"
            except OSError as e:
                last = str(e)
            time.sleep(0.5)
        return f"debuginfod did not serve {url} within {timeout} s ({last})"

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def web_view(run, debuginfod_url, where):
    """tests/web_view.py on a copy of the collector's store plus generated history, with the
    report pages symbolized through `debuginfod_url`; its own checks, one problem each."""
    cache = tempfile.mkdtemp(prefix="netoopsd-web-debuginfod-")
    env = dict(os.environ, XDG_CACHE_HOME=cache)
    try:
        r = subprocess.run(
            [sys.executable, str(ROOT / "tests" / "web_view.py"), "--netoopsd",
             str(wire.NETOOPSD), "--db", str(run.db), "--out", str(ROOT / "build" / "web"),
             "--debuginfod", debuginfod_url, "--symbolize-timeout", "240",
             "--expect-location", r"lkdtm_BUG at " + re.escape(where) + r"\b"],
            capture_output=True, text=True, timeout=900, env=env)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    (run.db.parent / f"{run.sc.name}.web.txt").write_text(r.stdout + r.stderr)
    failed = [line for line in r.stdout.splitlines() if line.startswith("FAIL")]
    summary = re.search(r"^(\d+) passed, (\d+) failed$", r.stdout, re.M)
    if not summary:
        return [f"web view test ended without a summary (exit {r.returncode}): "
                f"{(r.stdout + r.stderr).strip()[-400:]}"]
    log_ok = f"web view (chromium): {summary.group(0)}"
    print(f"[qemu]   {run.sc.name}: {log_ok}", flush=True)
    if r.returncode != 0 or failed:
        return [f"web view: {line}" for line in failed] or [f"web view exited {r.returncode}"]
    return []


def check_operator_view(run):
    problems = check_collector(run)
    if problems or run.db is None:
        return problems or ["no collector database"]
    build_id = vmlinux_build_id(run.kdir)
    rel, line = bug_line(run.kdir)
    where = f"{rel}:{line}"
    bug_id = next((m.group(1) for m in (re.match(r"stored id=(\d+) .*lkdtm_BUG", l)
                                         for l in run.stored) if m), None)
    server = Debuginfod(run.kdir / "vmlinux", run.db.parent / f"{run.sc.name}.work")
    try:
        trouble = server.wait_for(build_id)
        if trouble:
            return [trouble]
        netoopsd = [str(wire.NETOOPSD), "--db", str(run.db)]
        cache = tempfile.mkdtemp(prefix="netoopsd-debuginfod-")
        try:
            shown = subprocess.run(
                netoopsd + ["show", bug_id, "--debuginfod", server.url,
                            "--debuginfod-cache", cache],
                capture_output=True, text=True, timeout=300)
        finally:
            shutil.rmtree(cache, ignore_errors=True)
        out = shown.stdout
        (run.db.parent / f"{run.sc.name}.show.txt").write_text(out + shown.stderr)
        if shown.returncode != 0:
            problems.append(f"netoopsd show {bug_id} exited {shown.returncode}: "
                            f"{shown.stderr.strip()[-300:]}")
        if build_id not in out:
            problems.append(f"netoopsd show {bug_id} does not name build id {build_id}")
        if not re.search(r"lkdtm_BUG.*" + re.escape(where) + r"\b", out):
            problems.append(f"netoopsd show {bug_id} does not place lkdtm_BUG at {where} "
                            f"(output in {run.sc.name}.show.txt)")
        problems += web_view(run, server.url, where)
    finally:
        server.stop()
    return problems


def operator_scenarios():
    return [Scenario(
        name="operator-view@debug",
        description="the operator's view: 2 oopses and a panic into netoopsd, symbolized from "
                    "the build id through debuginfod [debug kernel]",
        guest="demo",
        kernel="debug",
        verdict=False,
        expect=[r"kernel BUG at", r"Kernel panic - not syncing: dumptest"],
        cmdline="panic=3",
        qemu_args=["-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0"],
        timeout=600,
        collector=3,
        check=check_operator_view,
    )]
