"""Checks on the frames a VM put on its virtual wire (host side of the NIC), for the scenarios.

Two independent readings of the same capture:
- tshark (Wireshark's dissectors, from Debian) judges the Ethernet/IP/UDP headers and verifies
  the IPv4 header and UDP checksums itself;
- `netoopsd decode --json` (our collector, on the shared codec) decodes the netoops payloads.
"""

import json
import struct
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NETOOPSD = ROOT / "target" / "debug" / "netoopsd"

FIELDS = ["frame.number", "eth.src", "eth.dst", "eth.type", "ip.src", "ip.dst", "ipv6.src",
          "ipv6.dst", "ip.ttl", "ipv6.hlim", "ip.id", "udp.srcport", "udp.dstport",
          "udp.length", "ip.checksum.status", "udp.checksum.status", "frame.len"]


def build_netoopsd():
    subprocess.run(["cargo", "build", "-q", "-p", "netoopsd"], cwd=ROOT, check=True)


def tshark_udp(pcap, port=None):
    """The UDP frames of `pcap` (to `port` if given) as dicts of FIELDS, checksums verified."""
    cmd = ["tshark", "-r", str(pcap), "-o", "ip.check_checksum:TRUE",
           "-o", "udp.check_checksum:TRUE", "-Y", f"udp.dstport=={port}" if port else "udp",
           "-T", "fields", "-E", "separator=|"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [dict(zip(FIELDS, line.split("|"))) for line in out.splitlines() if line]


def header_problems(frames, *, src_ip, dst_ip, src_port, dst_port, src_mac=None, dst_mac=None):
    """What tshark found wrong with the frames' headers (empty: all right)."""
    problems = []
    v6 = ":" in dst_ip
    for f in frames:
        where = f"frame {f['frame.number']}"
        got_src = f["ipv6.src"] if v6 else f["ip.src"]
        got_dst = f["ipv6.dst"] if v6 else f["ip.dst"]
        if (got_src, got_dst) != (src_ip, dst_ip):
            problems.append(f"{where}: addresses {got_src} -> {got_dst}, expected {src_ip} -> {dst_ip}")
        if (f["udp.srcport"], f["udp.dstport"]) != (str(src_port), str(dst_port)):
            problems.append(f"{where}: ports {f['udp.srcport']} -> {f['udp.dstport']}")
        if f["eth.type"] != ("0x86dd" if v6 else "0x0800"):
            problems.append(f"{where}: ethertype {f['eth.type']}")
        if src_mac and f["eth.src"] != src_mac:
            problems.append(f"{where}: source MAC {f['eth.src']}, expected {src_mac}")
        if dst_mac and f["eth.dst"] != dst_mac:
            problems.append(f"{where}: destination MAC {f['eth.dst']}, expected {dst_mac}")
        # tshark: 1 = good; 0 = bad; 2 = not verified
        if not v6 and f["ip.checksum.status"] != "1":
            problems.append(f"{where}: IPv4 header checksum status {f['ip.checksum.status']}")
        if f["udp.checksum.status"] != "1":
            problems.append(f"{where}: UDP checksum status {f['udp.checksum.status']}")
        if int(f["udp.length"]) - 8 > 1460:
            problems.append(f"{where}: UDP payload {int(f['udp.length']) - 8} > 1460 bytes")
    return problems[:10]


def decode(pcap, netoopsd=NETOOPSD):
    """`netoopsd decode --json` of a capture: the list of dumps."""
    out = subprocess.run([str(netoopsd), "decode", "--json", str(pcap)], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)["dumps"]


def udp_payload_of(frame, port):
    """The UDP payload of an Ethernet frame to `port`, else None (IPv4 or IPv6, parsed here
    only to pick and group frames; tshark does the judging)."""
    if len(frame) < 14:
        return None
    etype = int.from_bytes(frame[12:14], "big")
    if etype == 0x0800 and len(frame) >= 34 and frame[23] == 17:
        udp = 14 + (frame[14] & 15) * 4
    elif etype == 0x86DD and len(frame) >= 62 and frame[20] == 17:
        udp = 14 + 40
    else:
        return None
    if int.from_bytes(frame[udp + 2:udp + 4], "big") != port:
        return None
    return frame[udp + 8:]


def udp_payloads(run, port):
    """The UDP payloads of the captured frames to `port`, in capture order."""
    out = []
    for nic in run.frames:
        for _ts, frame in nic:
            payload = udp_payload_of(frame, port)
            if payload is not None:
                out.append(payload)
    return out


def write_pcap(path, frames):
    """Classic pcap, Ethernet link type, microsecond timestamps."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for ts, data in frames:
            sec = int(ts)
            f.write(struct.pack("<IIII", sec, int((ts - sec) * 1e6), len(data), len(data)))
            f.write(data)
