#!/usr/bin/env python3
"""Benchmark (prints figures, not a test): how fast a full 64 KiB log leaves the machine,
netoops in a panic against netconsole, and what a dead link adds.

Every run boots the test kernel under TCG with two virtio NICs and fills the log with 64 KiB.
netconsole (the kernel's own, extended format, one message per record) is loaded with a target
on eth0 and replays the whole log through its printer thread; then it is unloaded, netoops is
loaded with a target on eth0 (one copy of every packet) and the machine panics (LKDTM PANIC).
With `deadlink`, each also has a first target on eth1, whose link is down. Figures, by the host's
clock on the frames that reach the host side of eth0:

- netconsole: first to last frame of its replay, frames, KiB of payload, KiB/s;
- netoops: from the host seeing "Kernel panic - not syncing" on the serial console to the dump's
  last frame, first to last frame, frames, KiB, KiB/s, and whether the dump arrived complete.

Both senders run in the same VM, one after the other; N rounds alternate live and dead links in
one invocation; medians are shown.

  tests/bench_dump.py [--rounds N]      (make bench-dump)
"""

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "qemu"))
sys.path.insert(0, str(ROOT / "tests"))

import harness  # noqa: E402
import wire  # noqa: E402
from crash_path import seen_at  # noqa: E402
from scenarios import Scenario  # noqa: E402

def sender_frames(run, port):
    frames = [(ts, wire.udp_payload_of(f, port)) for ts, f in run.frames[0]]
    return [(ts, p) for ts, p in frames if p is not None]


def figures(frames):
    first, last = frames[0][0], frames[-1][0]
    kib = sum(len(p) for _ts, p in frames) / 1024
    return {"wire": last - first, "frames": len(frames), "kib": kib,
            "kib_s": kib / max(last - first, 1e-6), "last": last}


def one(kdir, initrd, deadlink, i):
    sc = Scenario(name=f"bench-dump-{'dead' if deadlink else 'live'}-{i}",
                  description="", guest="bench_dump", nics=2, verdict=False, timeout=180,
                  cmdline=f"bench_deadlink={int(deadlink)}")
    log = harness.BUILD / f"{sc.name}.serial.log"
    log.unlink(missing_ok=True)
    run = harness.run_vm(kdir, initrd, sc, log)
    nc, no = sender_frames(run, 6666), sender_frames(run, 6667)
    panic = seen_at(run, r"Kernel panic - not syncing")
    if not nc or not no or panic is None:
        harness.log(f"{sc.name}: frames {len(nc)}/{len(no)}, panic line {panic} (see {log})")
        return None
    netoops = figures(no)
    netoops["to_last"] = netoops["last"] - panic
    dumps = wire.decode(run.pcap)
    netoops["complete"] = bool(dumps) and all(d["complete"] for d in dumps)
    return {"netconsole": figures(nc), "netoops": netoops}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    wire.build_netoopsd()
    kdir = harness.kernel_dir()
    netconsole = kdir / "drivers" / "net" / "netconsole.ko"
    initrd = harness.build_initramfs(ROOT / "netoops.ko",
                                     extra={"netconsole.ko": netconsole})
    results = {}
    for i in range(args.rounds):
        for deadlink in (False, True):
            r = one(kdir, initrd, deadlink, i)
            harness.log(f"round {i + 1}, dead link {deadlink}: {r}")
            if r:
                results.setdefault(deadlink, []).append(r)
    print()
    print(f"{'sender':10} {'dead link':9} {'runs':>4} {'panic->last frame':>17} "
          f"{'first->last frame':>17} {'frames':>6} {'KiB':>6} {'KiB/s':>7} {'complete':>8}")
    for deadlink, rs in sorted(results.items()):
        for sender in ("netconsole", "netoops"):
            xs = [r[sender] for r in rs]
            med = {k: statistics.median(x[k] for x in xs) for k in ("wire", "frames", "kib",
                                                                    "kib_s")}
            to_last = (f"{statistics.median(x['to_last'] for x in xs) * 1000:>14.0f} ms"
                       if sender == "netoops" else f"{'-':>17}")
            complete = (f"{sum(x['complete'] for x in xs)}/{len(xs)}" if sender == "netoops"
                        else "-")
            print(f"{sender:10} {'yes' if deadlink else 'no':9} {len(xs):>4} {to_last} "
                  f"{med['wire'] * 1000:>14.0f} ms {med['frames']:>6.0f} {med['kib']:>6.1f} "
                  f"{med['kib_s']:>7.0f} {complete:>8}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
