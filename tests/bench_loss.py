#!/usr/bin/env python3
"""Benchmark (prints figures, not a test): how many dumps arrive complete when the network
drops frames, for 2 and 3 copies of every packet.

For each K in (2, 3) one VM sends N soft dumps (real frames, captured on the host side of its
virtual NIC). Each captured frame is then dropped with probability p (1 % and 10 %, a fixed
random seed per run), the survivors are written to a pcap and decoded by `netoopsd decode`,
and the dumps that arrive complete are counted out of N.

  tests/bench_loss.py [--dumps N] [--seed S]      (make bench-loss)
"""

import argparse
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "qemu"))
sys.path.insert(0, str(ROOT / "tests"))

import harness  # noqa: E402
import wire  # noqa: E402
from scenarios import Scenario, guest_lines  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dumps", type=int, default=60, help="dumps per VM (at least 50)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    wire.build_netoopsd()
    kdir = harness.kernel_dir()
    initrd = harness.build_initramfs(ROOT / "netoops.ko")
    rows = []
    for k in (2, 3):
        sc = Scenario(name=f"bench-loss-k{k}", description="", guest="bench_loss", nics=1,
                      timeout=600, cmdline=f"netoops_copies={k} netoops_dumps={args.dumps}")
        log = harness.BUILD / f"{sc.name}.serial.log"
        harness.log(f"K={k}: {args.dumps} soft dumps in one VM ...")
        run = harness.run_vm(kdir, initrd, sc, log)
        counters = guest_lines(run.serial, "COUNTERS")
        frames = sorted(run.frames[0], key=lambda f: f[0])
        ours = [f for f in frames if wire.udp_payload_of(f[1], 6667) is not None]
        sent = wire.decode(run.pcap)
        harness.log(f"K={k}: {len(ours)} frames captured, {len(sent)} dumps decoded "
                    f"without loss ({sum(d['complete'] for d in sent)} complete), "
                    f"module counters {counters}")
        for p in (0.01, 0.10):
            rng = random.Random(args.seed * 1000 + k * 10 + int(p * 100))
            kept = [f for f in ours if rng.random() >= p]
            pcap = harness.BUILD / f"{sc.name}-loss{int(p * 100)}.pcap"
            wire.write_pcap(pcap, kept)
            dumps = wire.decode(pcap) if kept else []
            complete = sum(1 for d in dumps if d["complete"])
            rows.append((k, p, len(ours), len(ours) - len(kept), args.dumps, complete))
    print()
    print(f"{'copies':>6} {'drop':>5} {'frames':>7} {'dropped':>8} {'dumps':>6} {'complete':>9}")
    for k, p, n, dropped, dumps, complete in rows:
        print(f"{k:>6} {p:>5.0%} {n:>7} {dropped:>8} {dumps:>6} {complete:>6} ({complete / dumps:.0%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
