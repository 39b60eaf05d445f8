#!/usr/bin/env python3
"""Benchmark (prints figures, not a test): how many dumps of a full 64 KiB log arrive complete
when the network drops frames, version 1 (whole copies) against version 2 (compressed log,
parity packets), side by side.

Configurations: version 1 with copies=2 (the default before version 2) and copies=3; version 2 with
fec_percent=50 and copies=1 or 2, and with fec_percent=150 and copies=1. For each, one VM
sends N SysRq soft dumps (default 50; module defaults otherwise, log_kib=64, MTU 1500). Before
every dump the guest (tests/guest/bench_loss.sh) writes about 80 KiB of fresh text into the
kernel log through /dev/kmsg, one record per line: 200 synthetic lines, then the VM's own boot
log (its `dmesg` at that point, every line with its original text), then 200 synthetic lines
again. The synthetic lines are of the kinds a busy server's log is full of (AppArmor audit
denials, firewall blocks, NVMe I/O timeouts, USB devices appearing, OOM kills, segfaults,
thermal throttling, container veth state changes, SYN flood warnings), with varying pids,
addresses, ports and counters. The guest checks that every dump read a full log (the module
reads whole records, at most 65535 bytes: see the figures). The frames are captured on the host
side of the VM's NIC.

Loss is simulated on the host. Each captured dump is replayed R times (default 40, so N·R =
2000 trials per condition), each replay ("trial") through its own draw of the loss process, which
runs over the dump's frames in capture (= send) order:
- random loss: every frame is lost with probability p (1 %, 10 %, 30 %);
- bursty loss: a Gilbert–Elliott channel of two states, every frame lost in the bad state and
  none in the good one, P(bad→good) = 1/4 (bursts of 4 frames on average) and
  P(good→bad) = 0.25·0.1/0.9 (10 % of the frames lost on average); the first frame's state is
  drawn from the stationary distribution.
Every trial gets a dump identity of its own: its packets' sequence number becomes d·1000 + t
(dump d, trial t) and their CRC32C is recomputed. `seq` is in the header only, never in a
record, so parity (computed over record areas) still rebuilds the same packets; the boot id is
left alone (its BOOT_ID record is in a record area). One `netoopsd decode --json` per condition
then reassembles all trials as distinct dumps, and a trial counts if its dump is reported
complete. With no loss every trial must come out complete (checked first). Sealed dumps are not
measured: their header is authenticated. The trials are decoded by netoopsd's release build
(built here: about 3 min the first time); a whole run takes about 6 min on 2 cores.

Printed: frames and UDP payload bytes per dump (from the capture), complete trials per
condition, the version-2 issue's goals met or not per configuration, and what the dump path
costs as the module reports it per dump (compression, parity, whole dump; medians; under TCG,
an emulated CPU's microseconds).

  tests/bench_loss.py [--dumps N] [--replays R] [--seed S]      (make bench-loss)
"""

import argparse
import functools
import math
import random
import re
import statistics
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "qemu"))
sys.path.insert(0, str(ROOT / "tests"))

import harness  # noqa: E402
import wire  # noqa: E402
from scenarios import DUMP_RE, KERNEL_TROUBLE, Scenario, guest_lines  # noqa: E402

PORT = 6667
# The trials' decoder: netoopsd built with optimisations (the debug build takes 6 times longer
# over a thousand dumps).
NETOOPSD_RELEASE = ROOT / "target" / "release" / "netoopsd"


@dataclass
class Config:
    label: str
    version: int
    copies: int
    fec: int = 0  # fec_percent (version 2)


CONFIGS = [
    Config("v1, copies 2", 1, 2),
    Config("v1, copies 3", 1, 3),
    Config("v2, fec 50 %, copies 1", 2, 1, 50),
    Config("v2, fec 50 %, copies 2", 2, 2, 50),
    Config("v2, fec 150 %, copies 1", 2, 1, 150),
]
BASELINE = CONFIGS[0]  # the bytes goal is relative to it


# ---- Loss processes: for a trial of n frames, which are lost (in send order).

def random_loss(p):
    def lost(rng, n):
        return [rng.random() < p for _ in range(n)]
    return lost


def gilbert_elliott(rng, n, to_good=1 / 4, to_bad=0.25 * 0.1 / 0.9):
    """Two states: every frame lost in the bad one, none in the good one."""
    bad = rng.random() < to_bad / (to_bad + to_good)  # stationary: 10 % bad
    lost = []
    for _ in range(n):
        lost.append(bad)
        bad = (rng.random() >= to_good) if bad else (rng.random() < to_bad)
    return lost


CONDITIONS = [("1 %", random_loss(0.01)), ("10 %", random_loss(0.10)),
              ("30 %", random_loss(0.30)), ("bursty", gilbert_elliott)]


# ---- A trial's own dump identity: another seq, the CRC32C updated.

def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


CRC_TABLE = _crc32c_table()


def crc_update(crc, data):
    """CRC-32C register after `data` (reflected), without initial value or final XOR."""
    for b in data:
        crc = CRC_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc


def crc32c(data):
    return crc_update(0xFFFFFFFF, data) ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283

SEQ = slice(32, 36)  # header: per-boot dump sequence number
CRC = slice(12, 16)  # header: CRC32C of the packet with these bytes as zero


@functools.lru_cache(maxsize=None)
def seq_bit_crcs(after):
    """What flipping each bit of `seq` does to the CRC of a packet with `after` bytes behind
    `seq`. A CRC is linear: for two packets of equal length, crc(a) ^ crc(b) is the CRC register
    (no initial value, no final XOR) of a ^ b, here zeros but for the flipped seq bits."""
    return [crc_update(0, (1 << bit).to_bytes(4, "little") + bytes(after)) for bit in range(32)]


def with_seq(packet, seq):
    """`packet` (unsealed, CRC valid) as the packet of dump `seq`, its CRC32C updated."""
    flipped = int.from_bytes(packet[SEQ], "little") ^ seq
    crc = int.from_bytes(packet[CRC], "little")
    for bit, change in enumerate(seq_bit_crcs(len(packet) - SEQ.stop)):
        if flipped >> bit & 1:
            crc ^= change
    out = bytearray(packet)
    out[SEQ] = seq.to_bytes(4, "little")
    out[CRC] = crc.to_bytes(4, "little")
    return bytes(out)


def frame_with_seq(frame, payload_at, seq):
    """An Ethernet/IPv4/UDP frame whose netoops payload starts at `payload_at`, for dump `seq`
    (the UDP checksum set to 0: none, which IPv4 allows)."""
    return frame[:payload_at - 2] + b"\0\0" + with_seq(frame[payload_at:], seq)


# ---- One configuration: the VM, the captured dumps, the trials.

@dataclass
class Dump:
    seq: int
    frames: list  # (timestamp, Ethernet frame, payload offset), in capture order
    payload_bytes: int


def captured_dumps(run):
    """The dumps in the capture, each with its frames in capture order."""
    by_seq = {}
    for ts, frame in sorted(run.frames[0], key=lambda f: f[0]):
        payload = wire.udp_payload_of(frame, PORT)
        if payload is None:
            continue
        seq = int.from_bytes(payload[SEQ], "little")
        d = by_seq.setdefault(seq, Dump(seq, [], 0))
        d.frames.append((ts, frame, len(frame) - len(payload)))
        d.payload_bytes += len(payload)
    return [by_seq[s] for s in sorted(by_seq)]


def trial_frames(dumps, replays, loss, rng):
    """Every trial's surviving frames (dump d, trial t as dump d·1000 + t), in order."""
    for d in dumps:
        for t in range(replays):
            lost = loss(rng, len(d.frames))
            for (ts, frame, at), gone in zip(d.frames, lost):
                if not gone:
                    yield ts, frame_with_seq(frame, at, d.seq * 1000 + t)


def complete_trials(pcap, dumps, replays):
    """How many of the trials in `pcap` netoopsd decodes as complete dumps."""
    trials = {d.seq * 1000 + t for d in dumps for t in range(replays)}
    decoded = wire.decode(pcap, NETOOPSD_RELEASE) if pcap.stat().st_size > 24 else []
    return sum(1 for x in decoded if x["complete"] and x["seq"] in trials)


V2_RE = re.compile(r"netoops: dump \d+: version 2: log (?P<log>\d+) bytes compressed to (?P<z>\d+) "
                   r"in (?P<compress_us>\d+) us, (?P<data>\d+) data \+ (?P<parity>\d+) parity "
                   r"packets \((?P<parity_us>\d+) us\)")
TIME_RE = re.compile(r"netoops: dump \d+: (\d+) us of its \d+ ms budget")


def dump_path_costs(serial):
    """Medians of what the module reports per dump."""
    costs = {"total_us": statistics.median(int(t) for t in TIME_RE.findall(serial))}
    v2 = [{k: int(v) for k, v in m.groupdict().items()} for m in V2_RE.finditer(serial)]
    if v2:
        for key in ("compress_us", "parity_us", "data", "parity"):
            costs[key] = statistics.median(d[key] for d in v2)
        costs["ratio"] = statistics.median(d["log"] / d["z"] for d in v2)
    return costs


class Stop(Exception):
    """Something is wrong with what the module sent: no figures."""


def measure(cfg, args, kdir, initrd):
    cmdline = (f"printk.devkmsg=on bench_version={cfg.version} bench_copies={cfg.copies} "
               f"bench_fec={cfg.fec} bench_dumps={args.dumps}")
    name = f"bench-loss-v{cfg.version}-k{cfg.copies}-fec{cfg.fec}"
    sc = Scenario(name=name, description="", guest="bench_loss", nics=1, timeout=900,
                  reject=KERNEL_TROUBLE, cmdline=cmdline)
    log = harness.BUILD / f"{name}.serial.log"
    harness.log(f"{cfg.label}: {args.dumps} soft dumps in one VM ...")
    run = harness.run_vm(kdir, initrd, sc, log)
    problems = harness.judge(run)
    if problems:
        raise Stop(f"{cfg.label}: {'; '.join(problems)} (see {log})")
    read = [int(n) for _s, reason, n, *_rest in DUMP_RE.findall(run.serial) if reason == "SOFT"]
    dumps = captured_dumps(run)
    sent = wire.decode(run.pcap)
    complete = sum(1 for d in sent if d["complete"])
    counters = guest_lines(run.serial, "COUNTERS")
    v2 = len(V2_RE.findall(run.serial))
    harness.log(f"{cfg.label}: {len(dumps)} dumps captured in {run.elapsed:.0f} s, {complete} "
                f"complete without loss, {v2} version 2, module counters {counters}, log read "
                f"{min(read)}..{max(read)} bytes")
    if len(dumps) != args.dumps or complete != args.dumps or len(read) != args.dumps:
        raise Stop(f"{cfg.label}: {args.dumps} dumps asked, {len(read)} reported, {len(dumps)} "
                   f"captured, {complete} complete without loss (see {log}, {run.pcap})")
    if v2 != (args.dumps if cfg.version == 2 else 0):
        raise Stop(f"{cfg.label}: {v2} of {args.dumps} dumps reported as version 2 (see {log})")
    result = {
        "frames": [len(d.frames) for d in dumps],
        "bytes": [d.payload_bytes for d in dumps],
        "read": read,
        "costs": dump_path_costs(run.serial),
        "complete": {},
    }
    trials = args.dumps * args.replays
    pcap = harness.BUILD / f"{name}-trials.pcap"
    for i, (cond, loss) in enumerate([("0 %", random_loss(0.0))] + CONDITIONS):
        began = time.monotonic()
        rng = random.Random(f"{args.seed}/{name}/{cond}")
        wire.write_pcap(pcap, trial_frames(dumps, args.replays, loss, rng))
        n = complete_trials(pcap, dumps, args.replays)
        harness.log(f"{cfg.label}: {cond} loss: {n}/{trials} complete "
                    f"({time.monotonic() - began:.0f} s)")
        if i == 0 and n != trials:
            raise Stop(f"{cfg.label}: without loss only {n} of {trials} trials decode complete: "
                       f"the seq rewrite is wrong ({pcap})")
        result["complete"][cond] = n
    pcap.unlink()
    return result


# ---- The table.

GOALS = ("goal: 64 KiB log in ≤ 24 frames at the defaults (v2, fec 50 %, copies 1); ≥ 99.9 % "
         "complete at 10 % random loss and ≥ 99 % under the bursty model at no more than half "
         "the bytes of v1 copies=2")


def percent(n, total):
    """n/total as a percentage, rounded down (so never 100.0 % unless all)."""
    return f"{math.floor(1000 * n / total) / 10:.1f} %"


def mark(ok, text):
    return f"{'✓' if ok else '✗'} {text}"


def print_figures(results, args, elapsed):
    trials = args.dumps * args.replays
    conds = [c for c, _ in CONDITIONS]
    read = [n for r in results.values() for n in r["read"]]
    minutes, seconds = divmod(round(elapsed), 60)
    print()
    print(textwrap.fill(
        f"{args.dumps} soft dumps per configuration, each replayed through {args.replays} loss "
        f"draws per condition (seed {args.seed}): {trials} trials per cell; log per dump "
        f"{min(read)} to {max(read)} bytes; run time {minutes} min {seconds} s", 100))
    print()
    print(f"{'config':<24} {'frames/dump':>11} {'bytes/dump':>10}"
          + "".join(f" {c + ' loss' if c != 'bursty' else c:>19}" for c in conds))
    for cfg in CONFIGS:
        r = results[cfg.label]
        cells = "".join(f" {percent(r['complete'][c], trials):>8} {r['complete'][c]:>4}/{trials}"
                        for c in conds)
        print(f"{cfg.label:<24} {statistics.mean(r['frames']):>11.1f} "
              f"{statistics.mean(r['bytes']):>10.0f}{cells}")
    print()
    print(textwrap.fill(GOALS, 100))
    base_bytes = statistics.mean(results[BASELINE.label]["bytes"])
    print(f"{'config':<24} {'≤ 24 frames':>14} {'10 %: ≥ 99.9 %':>16} {'bursty: ≥ 99 %':>16} "
          f"{'bytes ≤ ½ v1 copies 2':>22}")
    for cfg in CONFIGS:
        r = results[cfg.label]
        most = max(r["frames"])
        ten, bursty = r["complete"]["10 %"], r["complete"]["bursty"]
        share = statistics.mean(r["bytes"]) / base_bytes
        print(f"{cfg.label:<24} {mark(most <= 24, f'(max {most})'):>14} "
              f"{mark(1000 * ten >= 999 * trials, percent(ten, trials)):>16} "
              f"{mark(100 * bursty >= 99 * trials, percent(bursty, trials)):>16} "
              f"{mark(share <= 0.5, f'({100 * share:.0f} %)'):>22}")
    print()
    print(f"dump path as the module reports it (medians over {args.dumps} dumps; TCG):")
    print(f"{'config':<24} {'dump':>9} {'compression':>12} {'log ratio':>10} {'parity':>9}"
          "  packets")
    for cfg in CONFIGS:
        c = results[cfg.label]["costs"]
        line = f"{cfg.label:<24} {c['total_us']:>6.0f} us"
        if "ratio" in c:
            line += (f" {c['compress_us']:>9.0f} us {c['ratio']:>9.2f}× {c['parity_us']:>6.0f} us"
                     f"  {c['data']:.0f} data + {c['parity']:.0f} parity")
        print(line)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dumps", type=int, default=50, help="dumps per VM (default 50)")
    ap.add_argument("--replays", type=int, default=40,
                    help="loss draws per dump and condition (default 40)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if not 1 <= args.replays <= 1000:
        ap.error("--replays: 1 to 1000 (trial t of dump d is dump d·1000 + t)")
    start = time.monotonic()
    wire.build_netoopsd()
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "netoopsd"], cwd=ROOT, check=True)
    kdir = harness.kernel_dir()
    initrd = harness.build_initramfs(ROOT / "netoops.ko")
    results = {}
    try:
        for cfg in CONFIGS:
            results[cfg.label] = measure(cfg, args, kdir, initrd)
    except Stop as e:
        print(f"bench-loss: stopped: {e}", file=sys.stderr)
        return 1
    print_figures(results, args, time.monotonic() - start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
