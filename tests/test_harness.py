#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Self-test of the QEMU harness's log checks (no pytest): `python3 tests/test_harness.py`.
Ends with `N passed, N failed`; exits non-zero on a failure."""

import os
import sys
import tempfile
from pathlib import Path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(ROOT, "qemu"))
import harness  # noqa: E402

PASSED, FAILED = [], []


def check(name, got, want):
    (PASSED if got == want else FAILED).append(name)
    if got != want:
        print(f"FAIL {name}: got {got!r}, expected {want!r}")
    else:
        print(f"ok   {name}")


# From a CI run of mtu-mixed@debug: the console was taken over in the middle of KASAN's line
# about the scenario's own crash, then printed it whole.
CUT = """\
[   28.033974] lkdtm: Performing direct entry EXCEPTION
[   28.034404] ==================================================================
[   28.034752] BUG: KASAN: null-ptr-deref in lkdtm
** replaying previous printk message **
[   28.034752] BUG: KASAN: null-ptr-deref in lkdtm_EXCEPTION+0xb/0x20
[   28.035946] Write of size 4 at addr 0000000000000000 by task sh/82
"""
quiet = lambda _m: None  # noqa: E731
check("a line the console cut and printed again is judged whole",
      harness.debug_splats(CUT, quiet), [])
other = CUT.replace("lkdtm_EXCEPTION+0xb/0x20", "netoops_send+0x1/0x2")
check("a cut line whose whole form is a splat still fails",
      [p.split(":", 1)[0] for p in harness.debug_splats(other, quiet)], ["debug kernel splat /^.*BUG"])
check("a KASAN report in another function fails",
      len(harness.debug_splats("[ 1.0] BUG: KASAN: use-after-free in foo+0x1/0x2\n", quiet)), 1)
check("a line cut without being printed again stays",
      harness.whole_lines("[ 1.0] BUG: KASAN: x in lkdtm\n[ 1.1] next\n"),
      "[ 1.0] BUG: KASAN: x in lkdtm\n[ 1.1] next\n")

# A VM that timed out: where it stood, from its serial log and the vCPU states QMP gave.
with tempfile.TemporaryDirectory() as kdir:
    Path(kdir, "System.map").write_text(
        "ffffffff81000000 T _stext\nffffffff81000100 T default_idle\n"
        "ffffffff81000200 t do_idle\nffffffff81000300 D some_data\n"
        "ffffffff81000400 T _etext\n")
    serial = ("[ 13.9] netoops: dump 1: reason=OOPS\nDEMO: the same bug again\n"
              "provoking LKDTM BUG\n[ 14.0] lkdtm: Performing direct entry BUG\n\n")
    stack = [0, 0xffffffff81000209, 0xffffffff81000109, 0xffffffff81000209, 0xffffffffa0000000]
    run = harness.Run(None, None, serial, "", 600.0, kdir=kdir,
                      cpus=[(0, 0xffffffff81000109, True, stack), (1, 0x401000, False, [])])
    check("a timed-out VM: the guest's last line, the kernel's, and each vCPU",
          harness.where_stuck(run),
          "the guest's last own line 'provoking LKDTM BUG'; "
          "the kernel's last '[ 14.0] lkdtm: Performing direct entry BUG'; "
          "cpu 0 halted at default_idle+0x9 (stack: do_idle+0x9, default_idle+0x9); "
          "cpu 1 running at 0x401000")
    run.cpus = []
    check("a timed-out VM whose QEMU did not answer",
          harness.where_stuck(run).endswith("; QEMU did not say where its CPUs were"), True)

print(f"{len(PASSED)} passed, {len(FAILED)} failed")
sys.exit(1 if FAILED else 0)
