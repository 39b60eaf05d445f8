"""QEMU test scenarios for netoops, run by qemu/harness.py.

Each scenario boots a fresh VM whose /init runs tests/guest/<guest>.sh, then is judged from the
serial console: `expect` patterns must appear, `reject` patterns must not, `verdict` says
whether the guest must reach the end of its script (PASS) or is expected to die in a panic, and
`check` is an optional function of the serial text returning a list of problems.
"""

import re
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

# The console line the dumper prints (only the kernel's own, not a guest echoing dmesg): sequence, reason, bytes read and the newest line it read.
DUMP_RE = re.compile(
    r"^\[\s*\d+\.\d+\] netoops: dump (\d+): reason=(\w+), read (\d+) bytes of log, newest line: (.*)$", re.M)


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
    qemu_args: List[str] = field(default_factory=list)


def dumps(serial):
    """The dumps netoops reported, as (seq, reason, bytes, newest line) tuples."""
    return [(int(s), r, int(n), line.strip()) for s, r, n, line in DUMP_RE.findall(serial)]


TS_RE = re.compile(r"^\[\s*(\d+\.\d+)\]")


def timestamp_of(line):
    m = TS_RE.search(line)
    return float(m.group(1)) if m else None


def expect_one_dump(reason, crash_line, newest_line_pattern=None):
    """A check: exactly one dump, with `reason` and a non-trivial log that reaches at least the
    console line matching `crash_line` (the newest line netoops read is no older than it), and
    whose newest line matches `newest_line_pattern` if given."""
    def check(serial):
        got = dumps(serial)
        if len(got) != 1:
            return [f"expected exactly one dump, saw {len(got)}: {got}"]
        seq, r, n, newest = got[0]
        problems = []
        if seq != 1:
            problems.append(f"dump sequence {seq}, expected 1")
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
        expect=[r"netoops: loading: capturing up to 64 KiB", r"netoops: unloaded",
                r"netoops: log_kib=1 is out of range 4\.\.=4096"],
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

# `make demo`: an oops the machine survives, and what netoops saw of it.
DEMO = Scenario(
    name="demo",
    description="load netoops, provoke an oops with LKDTM, show the dump",
    guest="demo",
    expect=[r"kernel BUG at"],
    check=expect_one_dump("OOPS", r"kernel BUG at", r"---\[ end trace [0-9a-f]+ \]---"),
)
