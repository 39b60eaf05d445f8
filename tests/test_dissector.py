#!/usr/bin/env python3
"""The Wireshark dissector tools/wireshark/netoops.lua, checked with tshark (a `make check` step).

Builds a pcap of Ethernet/IPv4/UDP frames to port 6667 from the golden vectors
codec/golden/*/packet-*.bin (one UDP payload each) and from damaged or crafted packets, dissects
it with `tshark -X lua_script:tools/wireshark/netoops.lua -T pdml`, and checks the fields against
codec/golden/*/expected.json: every packet's header and CRC, every dump's facts, registers and
log. Version-2 vectors (expected.json with "version": 2, another format) are checked for their
headers, parity packets, LOG_ZCHUNK pieces (inflated back to the log) and, sealed, their nonce
and tag. Damaged packets must give expert info, never a Lua error. Prints one line per check,
then `N passed, M failed`; exits non-zero on any failure.

tshark runs with HOME pointing to an empty directory, so neither the user's preferences nor an
installed copy of the dissector in the personal plugins folder interfere.
"""

import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LUA = ROOT / "tools" / "wireshark" / "netoops.lua"
GOLDEN = ROOT / "codec" / "golden"
PORT = 6667
OTHER_PORT = 9999
HEADER_LEN = 48
SEALED_HEADER_LEN = 72
TAG_LEN = 16
FLAG_SEALED = 0x02
LOG_ZCHUNK = 0x0041
PACKET_TYPES = {"data": 1, "parity": 2}
CRC_GOOD, CRC_BAD, CRC_NOT_PRESENT = "1", "0", "3"

REASONS = {"oops": (1, "OOPS"), "panic": (2, "PANIC"), "soft": (3, "SOFT"), "emerg": (4, "EMERG")}
REGS_SOURCES = {"none": 0, "fault": 1, "panic_cpu": 2, "sysrq_cpu": 3}
STRING_FACTS = {
    "kernel_release": "netoops.kernel_release", "kernel_version": "netoops.kernel_version",
    "hostname": "netoops.hostname", "arch": "netoops.arch", "cpu_vendor": "netoops.cpu_vendor",
    "dmi_bios_vendor": "netoops.dmi.bios_vendor", "dmi_bios_version": "netoops.dmi.bios_version",
    "dmi_bios_date": "netoops.dmi.bios_date", "dmi_board_vendor": "netoops.dmi.board_vendor",
    "dmi_board_name": "netoops.dmi.board_name", "dmi_product_name": "netoops.dmi.product_name",
}
X86_64_REGS = ["r15", "r14", "r13", "r12", "bp", "bx", "r11", "r10", "r9", "r8", "ax", "cx",
               "dx", "si", "di", "orig_ax", "ip", "cs", "flags", "sp", "ss"]
LUA_ERROR = re.compile(r"lua", re.IGNORECASE)
LUA_ERROR_IN_OUTPUT = re.compile(r"Lua Error|_ws\.lua\.error|LuaError", re.IGNORECASE)

passed = 0
failed = 0


def check(what, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {what}")
    else:
        failed += 1
        print(f"FAIL {what}" + (f": {detail}" if detail else ""))
    return ok


def finish():
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


# --- packets ------------------------------------------------------------------------------------

def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def packet_crc(pkt):
    return crc32c(bytes(pkt[:12]) + b"\0\0\0\0" + bytes(pkt[16:]))


def with_crc(pkt):
    pkt = bytearray(pkt)
    pkt[12:16] = struct.pack("<I", packet_crc(pkt))
    return bytes(pkt)


def records(pkt):
    """The (type, value) records of a well-formed packet."""
    out, off = [], pkt[6]
    while off < len(pkt):
        rtype, rlen = struct.unpack_from("<HH", pkt, off)
        out.append((rtype, pkt[off + 4:off + 4 + rlen]))
        off += 4 + rlen
    return out


def record_offsets(pkt):
    """The offsets of the records of a well-formed packet."""
    out, off = [], pkt[6]
    while off < len(pkt):
        out.append(off)
        off += 4 + struct.unpack_from("<H", pkt, off + 2)[0]
    return out


def single_packet(header, recs, packet_type=1):
    """A one-packet dump from `header` (its first 48 bytes) and `recs`, lengths and CRC fixed."""
    area = b"".join(struct.pack("<HH", t, len(v)) + v for t, v in recs)
    pkt = bytearray(header[:HEADER_LEN] + area)
    pkt[5] = packet_type
    struct.pack_into("<H", pkt, 8, len(pkt))
    struct.pack_into("<HHII", pkt, 36, 0, 1, len(area), 0)
    return with_crc(pkt)


def ip_checksum(header):
    s = sum(struct.unpack(f"!{len(header) // 2}H", header))
    s = (s >> 16) + (s & 0xFFFF)
    return ~(s + (s >> 16)) & 0xFFFF


def udp_frame(payload, dport):
    udp = struct.pack("!HHHH", 40000, dport, 8 + len(payload), 0) + payload
    ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                               bytes([10, 0, 2, 15]), bytes([10, 0, 2, 2])))
    struct.pack_into("!H", ip, 10, ip_checksum(bytes(ip)))
    eth = bytes.fromhex("525400123402" "525400123456") + b"\x08\x00"
    return eth + bytes(ip) + udp


def write_pcap(path, payloads):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))  # LINKTYPE_ETHERNET
        for i, (payload, dport) in enumerate(payloads):
            frame = udp_frame(payload, dport)
            f.write(struct.pack("<IIII", 1767225600 + i, 0, len(frame), len(frame)) + frame)


# --- tshark -------------------------------------------------------------------------------------

def tshark(env, what, *args):
    cmd = ["tshark", "-X", f"lua_script:{LUA}", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    lua_lines = [l for l in proc.stderr.splitlines() if LUA_ERROR.search(l)]
    check(f"tshark ({what}): exit 0, no Lua error on stderr or in the output",
          proc.returncode == 0 and not lua_lines and not LUA_ERROR_IN_OUTPUT.search(proc.stdout),
          f"exit {proc.returncode}; {lua_lines[:3]}; "
          f"{[l.strip() for l in proc.stdout.splitlines() if LUA_ERROR_IN_OUTPUT.search(l)][:3]}; "
          f"stderr: {proc.stderr.strip()[-600:]}")
    return proc.stdout


class Frame:
    """The netoops tree of one frame in tshark's PDML."""

    def __init__(self, packet):
        self.proto = next((p for p in packet.findall("proto") if p.get("name") == "netoops"), None)
        self.fields = list(self.proto.iter("field")) if self.proto is not None else []

    def all(self, name):
        return [f for f in self.fields if f.get("name") == name]

    def shows(self, name):
        return [f.get("show") for f in self.all(name)]

    def one(self, name):
        found = self.shows(name)
        return found[0] if len(found) == 1 else f"<{len(found)} {name} fields>"

    def int(self, name):
        try:
            return int(self.one(name), 0)
        except ValueError:
            return self.one(name)

    def experts(self):
        return [f.get("name") for f in self.fields if f.get("name", "").startswith("netoops.expert.")]

    def records(self):
        return [r for r in self.proto.iter("field") if r.get("name") == "netoops.record"] \
            if self.proto is not None else []


def raw(field):
    return bytes.fromhex(field.get("value") or "")


# --- checks -------------------------------------------------------------------------------------

def mismatches(pairs):
    return [f"{name}: got {got!r}, expected {want!r}" for name, got, want in pairs if got != want]


def check_facts(name, expected, dump_frames):
    """The facts, BOOT_ID and registers of expected.json (version-1 format) in `dump_frames`."""
    boot_id = expected["boot_id"]

    def across(field):
        return [f for frame in dump_frames for f in frame.all(field)]

    facts = expected["facts"]
    for key, field in STRING_FACTS.items():
        found = [raw(f).decode("utf-8", "replace") for f in across(field)]
        want = [facts[key]] if key in facts else []
        check(f"{name}: {field} {want[0]!r}" if want else f"{name}: no {field} (fact absent)",
              found == want, f"got {found}")
    cpu = facts.get("cpu_id")
    for part in ["family", "model", "stepping", "microcode"]:
        found = [int(f.get("show"), 0) for f in across(f"netoops.cpu.{part}")]
        check(f"{name}: netoops.cpu.{part} {cpu[part] if cpu else '(absent)'}", found == ([cpu[part]] if cpu else []), f"got {found}")
    found = [int(f.get("show"), 0) for f in across("netoops.taint")]
    check(f"{name}: netoops.taint {facts.get('taint', '(absent)')}", found == ([facts["taint"]] if "taint" in facts else []), f"got {found}")
    time = facts.get("time")
    for part in ["uptime_ns", "wall_sec", "wall_nsec"]:
        found = [int(f.get("show"), 0) for f in across(f"netoops.{part}")]
        check(f"{name}: netoops.{part} {time[part] if time else '(absent)'}", found == ([time[part]] if time else []), f"got {found}")
    found = [raw(f).hex() for f in across("netoops.user_blob")]
    want = [facts["user_blob"]] if "user_blob" in facts else []
    check(f"{name}: netoops.user_blob {want[0] if want else '(absent)'}", found == want, f"got {found}")
    boot_records = [f.get("show") for f in across("netoops.record.boot_id")]
    check(f"{name}: one BOOT_ID record, equal to the header's", boot_records == [boot_id], str(boot_records))

    regs = expected.get("regs")
    reg_fields = [f for frame in dump_frames for f in frame.fields
                  if f.get("name", "").startswith("netoops.regs.")]
    if regs:
        bad = mismatches([
            ("regs.arch", [f.get("show") for f in across("netoops.regs.arch")], ["1"]),
            ("regs.source", [int(f.get("show")) for f in across("netoops.regs.source")],
             [REGS_SOURCES[regs["source"]]]),
        ] + [(f"regs.{r}", [f"0x{int(f.get('show'), 16):016x}" for f in across(f"netoops.regs.{r}")],
              [regs["values"][r].lower()]) for r in X86_64_REGS])
        check(f"{name}: REGS x86_64, source {regs['source']}, 21 registers "
              f"(ip {regs['values']['ip']}, sp {regs['values']['sp']}, ...)", not bad, "; ".join(bad))
        order = [f.get("name")[len("netoops.regs."):] for f in reg_fields
                 if f.get("name")[len("netoops.regs."):] in X86_64_REGS]
        check(f"{name}: registers in pt_regs order", order == X86_64_REGS, str(order))
    else:
        check(f"{name}: no netoops.regs.* (no registers)", not reg_fields,
              str([f.get("name") for f in reg_fields]))


def is_sealed(pkt):
    return len(pkt) > 7 and pkt[4] == 2 and pkt[7] & FLAG_SEALED != 0


def check_golden_dump(name, expected, frames, infos):
    """A version-1 vector: expected.json with packet_count, dump_len, facts, regs and log."""
    boot_id, seq, count = expected["boot_id"], expected["seq"], expected["packet_count"]
    reason_number, reason_name = REASONS[expected["reason"]]
    dump_frames = []
    for p in expected["packets"]:
        number, frame = frames[(name, p["file"])]
        dump_frames.append(frame)
        what = f"{name}/{p['file']}"
        if not check(f"{what}: dissected as netoops", frame.proto is not None):
            continue
        bad = mismatches([
            ("version", frame.int("netoops.version"), 1),
            ("type", frame.int("netoops.type"), 1),
            ("header_len", frame.int("netoops.header_len"), HEADER_LEN),
            ("packet_len", frame.int("netoops.packet_len"), p["len"]),
            ("reason", frame.int("netoops.reason"), reason_number),
            ("boot_id", frame.one("netoops.boot_id"), boot_id),
            ("seq", frame.int("netoops.seq"), seq),
            ("index", frame.int("netoops.index"), p["index"]),
            ("count", frame.int("netoops.count"), count),
            ("dump_len", frame.int("netoops.dump_len"), expected["dump_len"]),
            ("packet_offset", frame.int("netoops.packet_offset"), p["packet_offset"]),
        ])
        check(f"{what}: header (version, type, lengths, reason, boot_id, seq, index, count, "
              "dump_len, packet_offset)", not bad, "; ".join(bad))
        bad = mismatches([
            ("crc32c", frame.int("netoops.crc32c"), int(p["crc32c"], 16)),
            ("crc32c.status", frame.one("netoops.crc32c.status"), "1"),
        ])
        check(f"{what}: crc32c {p['crc32c']}, status Good", not bad, "; ".join(bad))
        recs = frame.records()
        first_type = recs[0].find("field[@name='netoops.record.type']").get("show") if recs else None
        bad = mismatches([
            ("first record", first_type, "0x0001"),
            ("log_len", frame.int("netoops.log_len"), expected["log_len"]),
            ("log_truncated", frame.one("netoops.log_truncated"), "1" if expected["log_truncated"] else "0"),
            ("regs_source", frame.int("netoops.regs_source"), REGS_SOURCES[expected["regs_source"]]),
        ])
        check(f"{what}: DUMP_INFO first (log_len, log_truncated, regs_source)", not bad, "; ".join(bad))
        check(f"{what}: no expert info", not frame.experts(), str(frame.experts()))
        info = f"{reason_name} {boot_id[:8]}\u2026#{seq} packet {p['index'] + 1}/{count}"
        check(f"{what}: Info column {info!r}", infos.get(number) == info, repr(infos.get(number)))

    check_facts(name, expected, dump_frames)

    chunks = []
    for frame in dump_frames:
        for rec in frame.records():
            offset, data = rec.find("field[@name='netoops.log.offset']"), rec.find("field[@name='netoops.log.data']")
            if offset is not None and data is not None:
                chunks.append((int(offset.get("show")), raw(data)))
    chunks.sort()
    position, gaps = 0, []
    for offset, data in chunks:
        if offset != position:
            gaps.append(f"chunk at {offset}, expected {position}")
        position = offset + len(data)
    check(f"{name}: {len(chunks)} log chunks tile [0, {expected['log_len']}) "
          f"(offsets {[o for o, _ in chunks]})",
          not gaps and position == expected["log_len"], "; ".join(gaps) + f"; end {position}")
    log = b"".join(d for _, d in chunks)
    check(f"{name}: concatenated netoops.log.data equals the expected log ({len(log)} bytes)",
          log == expected["log"].encode(), f"first difference at byte "
          f"{next((i for i, (a, b) in enumerate(zip(log, expected['log'].encode())) if a != b), min(len(log), len(expected['log'])))}")


def v1_twin(expected, dumps):
    """The version-1 vector of the same dump (PROTOCOL.md 12.6: the v2 vectors encode oops-1460)."""
    return next((n for n, e in dumps.items() if "packet_count" in e and
                 (e["boot_id"], e["seq"], e["reason"], e["log_len"]) ==
                 (expected["boot_id"], expected["seq"], expected["reason"], expected["log_len"])), None)


def check_golden_dump_v2(name, expected, frames, infos, dumps):
    """A version-2 vector: expected.json with data_packets, parity_packets, pieces, sealed."""
    boot_id, seq, count = expected["boot_id"], expected["seq"], expected["data_packets"]
    reason_number, reason_name = REASONS[expected["reason"]]
    sealing = expected["sealed"]
    packets = expected["packets"]
    kinds = [p["packet_type"] for p in packets]
    check(f"{name}: expected.json lists {count} data and {expected['parity_packets']} parity packets",
          kinds.count("data") == count and kinds.count("parity") == expected["parity_packets"]
          and len(kinds) == count + expected["parity_packets"], str(kinds))

    # The record areas of the data packets tile [0, dump_len) in index order; a sealed packet's
    # area is its encrypted body.
    offsets, dump_len = {}, 0
    for p in sorted((p for p in packets if p["packet_type"] == "data"), key=lambda p: p["index"]):
        offsets[p["file"]] = dump_len
        dump_len += p["len"] - (SEALED_HEADER_LEN + TAG_LEN if p["sealed"] else HEADER_LEN)

    data_frames = []
    # The files are numbered in send order: the nonce counter is first_counter + position.
    for position, p in enumerate(sorted(packets, key=lambda p: p["file"])):
        number, frame = frames[(name, p["file"])]
        pkt = (GOLDEN / name / p["file"]).read_bytes()
        what = f"{name}/{p['file']}"
        if not check(f"{what}: dissected as netoops", frame.proto is not None):
            continue
        sealed, parity = p["sealed"], p["packet_type"] == "parity"
        header_len = SEALED_HEADER_LEN if sealed else HEADER_LEN
        bad = mismatches([
            ("version", frame.int("netoops.version"), 2),
            ("type", frame.int("netoops.type"), PACKET_TYPES[p["packet_type"]]),
            ("header_len", frame.int("netoops.header_len"), header_len),
            ("packet_len", frame.int("netoops.packet_len"), p["len"]),
            ("flags.parity_follows", frame.one("netoops.flags.parity_follows"),
             "1" if expected["parity_packets"] else "0"),
            ("flags.sealed", frame.one("netoops.flags.sealed"), "1" if sealed else "0"),
            ("key_id", frame.int("netoops.key_id"), p["key_id"]),
            ("reason", frame.int("netoops.reason"), reason_number),
            ("boot_id", frame.one("netoops.boot_id"), boot_id),
            ("seq", frame.int("netoops.seq"), seq),
            ("index", frame.int("netoops.index"), p["index"]),
            ("count", frame.int("netoops.count"), count),
            ("dump_len", frame.int("netoops.dump_len"), dump_len),
            ("packet_offset", frame.int("netoops.packet_offset"), 0 if parity else offsets[p["file"]]),
        ])
        check(f"{what}: header (version 2, {p['packet_type']}, header_len {header_len}, packet_len "
              f"{p['len']}, flags, key_id {p['key_id']}, reason, boot_id, seq, index {p['index']}, "
              f"count, dump_len {dump_len}, packet_offset)", not bad, "; ".join(bad))

        if sealed:
            salt, counter = sealing["salt_ascii"].encode(), sealing["first_counter"] + position
            bad = mismatches([
                ("crc32c", frame.int("netoops.crc32c"), 0),
                ("crc32c.status", frame.one("netoops.crc32c.status"), CRC_NOT_PRESENT),
                ("key_id", p["key_id"], sealing["key_id"]),
                ("nonce", [raw(f) for f in frame.all("netoops.nonce")], [pkt[HEADER_LEN:SEALED_HEADER_LEN]]),
                ("nonce.salt", [raw(f) for f in frame.all("netoops.nonce.salt")], [salt]),
                ("nonce.counter", frame.int("netoops.nonce.counter"), counter),
            ])
            check(f"{what}: sealed: crc32c 0 (status not present), salt {salt.decode()!r}, "
                  f"counter {counter}", not bad, "; ".join(bad))
            tags = [raw(f) for f in frame.all("netoops.tag")]
            bodies = [raw(f) for f in frame.all("netoops.sealed_body")]
            bad = mismatches([
                ("tag", tags, [pkt[-TAG_LEN:]]),
                ("tag length", [len(t) for t in tags], [TAG_LEN]),
                ("sealed_body", [len(b) for b in bodies], [p["len"] - SEALED_HEADER_LEN - TAG_LEN]),
                ("sealed_body bytes", bodies == [pkt[SEALED_HEADER_LEN:-TAG_LEN]], True),
                ("records", len(frame.records()), 0),
                ("zchunk/shard fields", [f for f in frame.shows("netoops.zchunk.data")]
                 + frame.shows("netoops.parity.shard"), []),
            ])
            check(f"{what}: encrypted body of {p['len'] - SEALED_HEADER_LEN - TAG_LEN} bytes and the "
                  "16-byte tag shown, nothing decoded from the body", not bad, "; ".join(bad))
        else:
            crc = struct.unpack_from("<I", pkt, 12)[0]
            bad = mismatches([
                ("crc32c", frame.int("netoops.crc32c"), packet_crc(pkt)),
                ("crc32c.status", frame.one("netoops.crc32c.status"), CRC_GOOD),
                ("nonce fields", frame.shows("netoops.nonce") + frame.shows("netoops.tag"), []),
            ])
            check(f"{what}: crc32c 0x{crc:08x}, status Good, no nonce or tag", not bad, "; ".join(bad))

        if parity:
            row = p["index"] - count
            shards = [raw(f) for f in frame.all("netoops.parity.shard")]
            bad = mismatches([("parity.row", frame.int("netoops.parity.row"), row),
                              ("records", len(frame.records()), 0)])
            if not sealed:
                bad += mismatches([
                    ("parity.shard length", [len(s) for s in shards], [p["len"] - HEADER_LEN]),
                    ("parity.shard bytes", shards == [pkt[HEADER_LEN:]], True),
                ])
            check(f"{what}: parity row {row}" + ("" if sealed else f", shard of {p['len'] - HEADER_LEN} bytes"),
                  not bad, "; ".join(bad))
        elif not sealed:
            data_frames.append(frame)
            recs = frame.records()
            first_type = recs[0].find("field[@name='netoops.record.type']").get("show") if recs else None
            bad = mismatches([
                ("first record", first_type, "0x0001"),
                ("log_len", frame.int("netoops.log_len"), expected["log_len"]),
                ("parity fields", frame.shows("netoops.parity.row") + frame.shows("netoops.parity.shard"), []),
            ])
            check(f"{what}: DUMP_INFO first (log_len {expected['log_len']})", not bad, "; ".join(bad))

        check(f"{what}: no expert info", not frame.experts(), str(frame.experts()))
        info = f"{reason_name} {boot_id[:8]}\u2026#{seq} v2" + (f" sealed key {p['key_id']}" if sealed else "")
        info += (f" parity {p['index'] - count + 1} (k={min(count, 128)})" if parity
                 else f" packet {p['index'] + 1}/{count}")
        check(f"{what}: Info column {info!r}", infos.get(number) == info, repr(infos.get(number)))

    if sealing:
        return  # the records are encrypted

    # LOG_ZCHUNK: per piece, the chunks cover [0, z_len) exactly once, with the piece's numbers.
    chunks = {}
    for frame in data_frames:
        for rec in frame.records():
            fields = {f.get("name"): f for f in rec.iter("field")}
            if "netoops.zchunk.piece_start" in fields:
                chunks.setdefault(int(fields["netoops.zchunk.piece_start"].get("show")), []).append((
                    int(fields["netoops.zchunk.z_offset"].get("show")),
                    raw(fields["netoops.zchunk.data"]),
                    int(fields["netoops.zchunk.piece_len"].get("show")),
                    int(fields["netoops.zchunk.z_len"].get("show"))))
    pieces = expected["pieces"]
    check(f"{name}: LOG_ZCHUNKs of pieces at {sorted(chunks)}, as expected.json's "
          f"{[q['log_start'] for q in pieces]}",
          sorted(chunks) == sorted(q["log_start"] for q in pieces), str(sorted(chunks)))
    log = b""
    for piece in sorted(pieces, key=lambda q: q["log_start"]):
        start, piece_len, z_len = piece["log_start"], piece["log_len"], piece["z_len"]
        found = sorted(chunks.get(start, []))
        position, bad = 0, []
        for z_offset, data, chunk_piece_len, chunk_z_len in found:
            if (chunk_piece_len, chunk_z_len) != (piece_len, z_len):
                bad.append(f"chunk at {z_offset}: piece_len {chunk_piece_len}, z_len {chunk_z_len}")
            if z_offset != position:
                bad.append(f"chunk at {z_offset}, expected {position}")
            position = z_offset + len(data)
        if position != z_len:
            bad.append(f"chunks end at {position}")
        check(f"{name}: piece {start}..{start + piece_len - 1}: {len(found)} LOG_ZCHUNKs (z_offsets "
              f"{[c[0] for c in found]}) with piece_len {piece_len}, z_len {z_len} cover [0, {z_len}) "
              "exactly once", found and not bad, "; ".join(bad))
        zdata = b"".join(c[1] for c in found)
        try:
            inflater = zlib.decompressobj(-15)
            piece_bytes = inflater.decompress(zdata)[::-1]
            ended = inflater.eof and not inflater.unused_data
        except zlib.error as e:
            piece_bytes, ended = b"", False
        check(f"{name}: piece {start}: netoops.zchunk.data inflates (raw DEFLATE, reversed) to "
              f"{piece_len} bytes, the stream ending at z_len", ended and len(piece_bytes) == piece_len,
              f"{len(piece_bytes)} bytes, stream ended {ended}")
        log += piece_bytes
    check(f"{name}: the inflated log is {expected['log_len']} bytes ending in log_tail_hex",
          len(log) == expected["log_len"] and log.endswith(bytes.fromhex(expected["log_tail_hex"])),
          f"{len(log)} bytes, tail {log[-16:].hex()}")

    twin = v1_twin(expected, dumps)
    if check(f"{name}: a version-1 vector of the same dump exists (boot_id, seq, reason, log_len)",
             twin is not None):
        same = dumps[twin]
        check(f"{name}: the inflated log equals {twin}'s log", log == same["log"].encode())
        bad = mismatches([
            ("log_truncated", [f.get("show") for fr in data_frames for f in fr.all("netoops.log_truncated")],
             ["1" if same["log_truncated"] else "0"] * len(data_frames)),
            ("regs_source", [int(f.get("show")) for fr in data_frames for f in fr.all("netoops.regs_source")],
             [REGS_SOURCES[same["regs_source"]]] * len(data_frames)),
        ])
        check(f"{name}: DUMP_INFO of every data packet as {twin}'s", not bad, "; ".join(bad))
        check_facts(f"{name} (facts of {twin})", same, data_frames)


def expect_expert(frames, label, expert, **more):
    number, frame = frames[("crafted", label)]
    ok = frame.proto is not None and f"netoops.expert.{expert}" in frame.experts()
    check(f"{label}: expert info netoops.expert.{expert}", ok, f"experts {frame.experts()}")
    return frame


def main():
    if shutil.which("tshark") is None:
        check("tshark is installed (apt-get install tshark)", False)
        finish()
    version = subprocess.run(["tshark", "-v"], capture_output=True, text=True).stdout
    if not check("tshark has Lua support (tshark -v: 'with Lua')",
                 re.search(r"\bwith Lua\b", version) is not None,
                 "this tshark cannot run Lua dissectors: " + " ".join(
                     l.strip() for l in version.splitlines() if "Lua" in l or "lua" in l)):
        finish()

    tmp = Path(tempfile.mkdtemp(prefix="netoops-dissector-"))
    try:
        run(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    finish()


def run(tmp):
    env = dict(os.environ, HOME=str(tmp), XDG_CONFIG_HOME=str(tmp / ".config"))
    env.pop("WIRESHARK_CONFIG_DIR", None)

    # `-G` must be tshark's first option.
    proc = subprocess.run(["tshark", "-G", "protocols", "-X", f"lua_script:{LUA}"],
                          capture_output=True, text=True, env=env)
    check("the dissector loads: protocol netoops registered (tshark -G protocols -X lua_script:...)",
          proc.returncode == 0 and re.search(r"^.*\tnetoops$", proc.stdout, re.M) is not None
          and not [l for l in proc.stderr.splitlines() if LUA_ERROR.search(l)],
          proc.stderr.strip()[-600:])

    check("the test's own CRC-32C: crc32c('123456789') = 0xe3069283",
          crc32c(b"123456789") == 0xE3069283)

    # The frames: every golden packet, then damaged and crafted ones.
    payloads, keys = [], []

    def add(key, payload, dport=PORT):
        payloads.append((payload, dport))
        keys.append(key)

    dumps = {}
    for directory in sorted(GOLDEN.iterdir()):
        if not (directory / "expected.json").is_file():
            continue
        expected = json.loads((directory / "expected.json").read_text())
        dumps[directory.name] = expected
        for p in expected["packets"]:
            add((directory.name, p["file"]), (directory / p["file"]).read_bytes())
    check(f"golden vectors found: {', '.join(dumps)}", len(dumps) >= 3, str(list(dumps)))

    soft = (GOLDEN / "soft-1460" / "packet-000.bin").read_bytes()
    oops0 = (GOLDEN / "oops-1460" / "packet-000.bin").read_bytes()
    oops1 = (GOLDEN / "oops-1460" / "packet-001.bin").read_bytes()
    soft_records = records(soft)

    corrupted = bytearray(oops1)
    corrupted[HEADER_LEN + 100] ^= 0x01  # inside the LOG_CHUNK's data
    add(("crafted", "corrupted (one bit flipped in the records)"), bytes(corrupted))
    add(("crafted", "truncated (packet 0 cut to 300 bytes)"), oops0[:300])
    add(("crafted", "truncated header (10 bytes)"), soft[:10])
    add(("crafted", "bad magic on port 6667"), b"NtOq" + soft[4:])
    add(("crafted", "version 3"), soft[:4] + b"\x03" + soft[5:])
    add(("crafted", "heuristic: on port 9999"), soft, OTHER_PORT)
    add(("crafted", "not netoops on port 9999"), b"hello, this is not netoops", OTHER_PORT)
    add(("crafted", "unknown critical record 0x8001"),
        single_packet(soft, soft_records + [(0x8001, b"\x01\x02")]))
    add(("crafted", "unknown record 0x0123"), single_packet(soft, soft_records + [(0x0123, b"abc")]))
    overrun = bytearray(soft)
    last = len(soft) - len(soft_records[-1][1]) - 4  # the LOG_CHUNK record
    struct.pack_into("<H", overrun, last + 2, len(soft_records[-1][1]) + 10)
    add(("crafted", "record overrun (LOG_CHUNK length + 10)"), with_crc(overrun))
    add(("crafted", "longer TIME value (growth rule)"),
        single_packet(soft, [(t, v + b"\xaa\xbb\xcc\xdd" if t == 3 else v) for t, v in soft_records]))
    add(("crafted", "empty HOSTNAME"),
        single_packet(soft, [(t, b"" if t == 0x12 else v) for t, v in soft_records]))
    add(("crafted", "PARITY packet"), single_packet(soft, soft_records, packet_type=2))
    add(("crafted", "version 1 with a LOG_ZCHUNK record (unknown in version 1)"),
        single_packet(soft, soft_records + [(LOG_ZCHUNK, bytes(17))]))

    # Version 2, damaged or crafted.
    v2_dir, sealed_dir = GOLDEN / "oops-v2-1460", GOLDEN / "oops-v2-sealed-512"
    v2_1 = (v2_dir / "packet-001.bin").read_bytes()  # DATA: DUMP_INFO, LOG_ZCHUNK
    v2_parity = (v2_dir / "packet-002.bin").read_bytes()  # PARITY, row 0
    sealed_0 = (sealed_dir / "packet-000.bin").read_bytes()
    zchunk_at = next(off for off, (t, _) in zip(record_offsets(v2_1), records(v2_1)) if t == LOG_ZCHUNK)
    _, piece_len, z_len, z_offset = struct.unpack_from("<IIII", v2_1, zchunk_at + 4)

    corrupted = bytearray(v2_1)
    corrupted[zchunk_at + 4 + 16 + 50] ^= 0x01  # inside the LOG_ZCHUNK's compressed data
    add(("crafted", "v2: corrupted (one bit flipped in the LOG_ZCHUNK data)"), bytes(corrupted))
    beyond = bytearray(v2_1)
    struct.pack_into("<I", beyond, zchunk_at + 4 + 12, z_len)  # z_offset = z_len
    add(("crafted", "v2: LOG_ZCHUNK z_offset beyond z_len (CRC fixed)"), with_crc(beyond))
    outside = bytearray(v2_1)
    struct.pack_into("<I", outside, zchunk_at + 4 + 4, piece_len + 1)  # beyond log_len
    add(("crafted", "v2: LOG_ZCHUNK piece beyond log_len (CRC fixed)"), with_crc(outside))
    low_index = bytearray(v2_parity)
    struct.pack_into("<H", low_index, 36, 0)
    add(("crafted", "v2: parity packet with index 0 < count (CRC fixed)"), with_crc(low_index))
    offset_parity = bytearray(v2_parity)
    struct.pack_into("<I", offset_parity, 44, 8)
    add(("crafted", "v2: parity packet with packet_offset 8 (CRC fixed)"), with_crc(offset_parity))
    relabelled = bytearray(soft)
    relabelled[4] = 2
    add(("crafted", "v2: the soft-1460 packet as version 2 (CRC fixed)"), with_crc(relabelled))
    crc_sealed = bytearray(sealed_0)
    struct.pack_into("<I", crc_sealed, 12, 0x12345678)
    add(("crafted", "v2 sealed: crc32c not 0"), bytes(crc_sealed))
    add(("crafted", "v2 sealed: truncated to 80 bytes"), sealed_0[:80])
    short_header = bytearray(sealed_0)
    short_header[6] = HEADER_LEN
    add(("crafted", "v2 sealed: header_len 48"), bytes(short_header))

    # The test's own packets are right: golden CRCs recompute, crafted ones are valid where meant.
    check("golden packets' stored CRC32C equal the test's CRC-32C of them (unsealed ones)",
          all(packet_crc(p) == struct.unpack_from("<I", p, 12)[0]
              for (k, _), (p, _) in zip(keys, payloads) if k[0] in dumps and not is_sealed(p)))

    pcap = tmp / "netoops.pcap"
    write_pcap(pcap, payloads)
    pdml = tshark(env, "-T pdml, all frames", "-r", str(pcap), "-T", "pdml")
    try:
        packets = ET.fromstring(pdml).findall("packet")
    except ET.ParseError as e:
        check("tshark's PDML parses", False, str(e))
        return
    if not check(f"tshark dissected all {len(payloads)} frames", len(packets) == len(payloads),
                 f"{len(packets)} packets"):
        return
    frames = {key: (i + 1, Frame(packet)) for i, (key, packet) in enumerate(zip(keys, packets))}

    info_out = tshark(env, "Info column", "-r", str(pcap), "-T", "fields", "-e", "frame.number",
                      "-e", "_ws.col.Info")
    infos = {}
    for line in info_out.splitlines():
        number, _, info = line.partition("\t")
        if number.isdigit():
            infos[int(number)] = info

    for name, expected in dumps.items():
        if expected.get("version") == 2:
            check_golden_dump_v2(name, expected, frames, infos, dumps)
        else:
            check_golden_dump(name, expected, frames, infos)

    # Damaged and crafted packets.
    label = "corrupted (one bit flipped in the records)"
    frame = expect_expert(frames, label, "bad_crc")
    check(f"{label}: crc32c.status Bad", frame.one("netoops.crc32c.status") == "0",
          frame.one("netoops.crc32c.status"))
    intact = frames[("oops-1460", "packet-001.bin")][1].shows("netoops.log.offset")
    check(f"{label}: records still shown (log chunk at {intact})",
          frame.shows("netoops.log.offset") == intact, str(frame.shows("netoops.log.offset")))

    label = "truncated (packet 0 cut to 300 bytes)"
    frame = expect_expert(frames, label, "truncated")
    check(f"{label}: crc32c.status Unverified", frame.one("netoops.crc32c.status") == "2",
          frame.one("netoops.crc32c.status"))
    check(f"{label}: the facts that fit still shown (hostname)",
          frame.shows("netoops.hostname") == ["qemu-test"], str(frame.shows("netoops.hostname")))
    expect_expert(frames, label, "record_overrun")

    expect_expert(frames, "truncated header (10 bytes)", "truncated")
    expect_expert(frames, "bad magic on port 6667", "bad_magic")

    label = "version 3"
    number, _ = frames[("crafted", label)]
    expect_expert(frames, label, "unsupported_version")
    check(f"{label}: Info column 'netoops unsupported version 3'",
          infos.get(number) == "netoops unsupported version 3", repr(infos.get(number)))

    label = "heuristic: on port 9999"
    _, frame = frames[("crafted", label)]
    check(f"{label}: dissected by the heuristic (magic NtOp), CRC Good, no expert info",
          frame.proto is not None and frame.one("netoops.crc32c.status") == "1" and not frame.experts(),
          f"netoops {frame.proto is not None}, experts {frame.experts()}")
    label = "not netoops on port 9999"
    _, frame = frames[("crafted", label)]
    check(f"{label}: not claimed by the heuristic", frame.proto is None)

    label = "unknown critical record 0x8001"
    frame = expect_expert(frames, label, "unknown_critical")
    check(f"{label}: CRC Good, record shown with type 0x8001",
          frame.one("netoops.crc32c.status") == "1" and "0x8001" in frame.shows("netoops.record.type"),
          str(frame.shows("netoops.record.type")))

    label = "unknown record 0x0123"
    frame = expect_expert(frames, label, "unknown_record")
    values = [raw(f) for f in frame.all("netoops.record.value")]
    check(f"{label}: shown with its bytes, CRC Good, no other expert info",
          values == [b"abc"] and frame.one("netoops.crc32c.status") == "1"
          and frame.experts() == ["netoops.expert.unknown_record"],
          f"values {values}, experts {frame.experts()}")

    label = "record overrun (LOG_CHUNK length + 10)"
    frame = expect_expert(frames, label, "record_overrun")
    check(f"{label}: CRC Good (the overrun is found by parsing, not by the CRC)",
          frame.one("netoops.crc32c.status") == "1", frame.one("netoops.crc32c.status"))

    label = "longer TIME value (growth rule)"
    _, frame = frames[("crafted", label)]
    extra = [raw(f).hex() for f in frame.all("netoops.record.extra")]
    errors = [e for e in frame.experts() if e != "netoops.expert.extra_bytes"]
    check(f"{label}: known fields read, 4 extra bytes shown, no error",
          frame.int("netoops.wall_nsec") == 500000000 and extra == ["aabbccdd"] and not errors,
          f"wall_nsec {frame.one('netoops.wall_nsec')}, extra {extra}, experts {frame.experts()}")

    expect_expert(frames, "empty HOSTNAME", "bad_record")
    label = "PARITY packet"
    frame = expect_expert(frames, label, "not_data")
    check(f"{label}: no records decoded", not frame.records(), f"{len(frame.records())} records")
    number, _ = frames[("crafted", label)]
    info = "SOFT 6f1c2b7e\u2026#2 PARITY 1/1 [PARITY packet (reserved; version-1 receivers ignore it)]"
    check(f"{label}: version 1 as before: Info column {info!r}, no parity fields",
          infos.get(number) == info and not frame.shows("netoops.parity.row")
          and not frame.shows("netoops.parity.shard"), repr(infos.get(number)))

    label = "version 1 with a LOG_ZCHUNK record (unknown in version 1)"
    frame = expect_expert(frames, label, "unknown_record")
    check(f"{label}: skipped as in version 1: CRC Good, no zchunk fields, no other expert info",
          frame.one("netoops.crc32c.status") == CRC_GOOD and not frame.shows("netoops.zchunk.z_len")
          and frame.experts() == ["netoops.expert.unknown_record"],
          f"zchunk {frame.shows('netoops.zchunk.z_len')}, experts {frame.experts()}")

    # Version 2, damaged or crafted.
    label = "v2: corrupted (one bit flipped in the LOG_ZCHUNK data)"
    frame = expect_expert(frames, label, "bad_crc")
    intact = frames[("oops-v2-1460", "packet-001.bin")][1]
    check(f"{label}: crc32c.status Bad, the LOG_ZCHUNK still shown (z_offset {z_offset})",
          frame.one("netoops.crc32c.status") == CRC_BAD
          and frame.shows("netoops.zchunk.z_offset") == intact.shows("netoops.zchunk.z_offset") == [str(z_offset)],
          f"status {frame.one('netoops.crc32c.status')}, z_offset {frame.shows('netoops.zchunk.z_offset')}")

    label = "v2: LOG_ZCHUNK z_offset beyond z_len (CRC fixed)"
    frame = expect_expert(frames, label, "bad_zchunk")
    check(f"{label}: CRC Good, z_offset {z_len} shown, the only error is bad_zchunk",
          frame.one("netoops.crc32c.status") == CRC_GOOD and frame.int("netoops.zchunk.z_offset") == z_len
          and set(frame.experts()) == {"netoops.expert.bad_zchunk"},
          f"status {frame.one('netoops.crc32c.status')}, experts {frame.experts()}")

    label = "v2: LOG_ZCHUNK piece beyond log_len (CRC fixed)"
    frame = expect_expert(frames, label, "bad_zchunk")
    check(f"{label}: CRC Good, the only error is bad_zchunk",
          frame.one("netoops.crc32c.status") == CRC_GOOD and set(frame.experts()) == {"netoops.expert.bad_zchunk"},
          f"status {frame.one('netoops.crc32c.status')}, experts {frame.experts()}")

    label = "v2: parity packet with index 0 < count (CRC fixed)"
    frame = expect_expert(frames, label, "bad_layout")
    check(f"{label}: CRC Good, no parity row, the shard still shown",
          frame.one("netoops.crc32c.status") == CRC_GOOD and not frame.shows("netoops.parity.row")
          and [len(raw(f)) for f in frame.all("netoops.parity.shard")] == [len(v2_parity) - HEADER_LEN],
          f"status {frame.one('netoops.crc32c.status')}, row {frame.shows('netoops.parity.row')}")

    label = "v2: parity packet with packet_offset 8 (CRC fixed)"
    frame = expect_expert(frames, label, "bad_layout")
    check(f"{label}: CRC Good, parity row 0",
          frame.one("netoops.crc32c.status") == CRC_GOOD and frame.int("netoops.parity.row") == 0,
          f"status {frame.one('netoops.crc32c.status')}, row {frame.shows('netoops.parity.row')}")

    label = "v2: the soft-1460 packet as version 2 (CRC fixed)"
    number, frame = frames[("crafted", label)]
    info = "SOFT 6f1c2b7e\u2026#2 v2 packet 1/1"
    check(f"{label}: dissected as version 2: CRC Good, records shown, no expert info, Info {info!r}",
          frame.int("netoops.version") == 2 and frame.one("netoops.crc32c.status") == CRC_GOOD
          and frame.shows("netoops.hostname") == ["qemu-test"] and not frame.experts()
          and infos.get(number) == info,
          f"experts {frame.experts()}, info {infos.get(number)!r}")

    label = "v2 sealed: crc32c not 0"
    frame = expect_expert(frames, label, "bad_header")
    check(f"{label}: status not present, nonce and tag still shown",
          frame.one("netoops.crc32c.status") == CRC_NOT_PRESENT and frame.int("netoops.nonce.counter") == 0
          and len(frame.shows("netoops.tag")) == 1, f"status {frame.one('netoops.crc32c.status')}")

    label = "v2 sealed: truncated to 80 bytes"
    frame = expect_expert(frames, label, "truncated")
    check(f"{label}: nonce shown (counter 0), 8 body bytes, no tag",
          frame.int("netoops.nonce.counter") == 0 and [len(raw(f)) for f in frame.all("netoops.sealed_body")] == [8]
          and not frame.shows("netoops.tag"), f"counter {frame.shows('netoops.nonce.counter')}")

    expect_expert(frames, "v2 sealed: header_len 48", "bad_header")

    # The port registration and its preference, without the heuristic.
    def netoops_frames(*args):
        out = tshark(env, " ".join(args), "-r", str(pcap), *args, "-T", "fields", "-e", "frame.number", "-e", "frame.protocols")
        return {int(n) for n, _, protos in (l.partition("\t") for l in out.splitlines())
                if n.isdigit() and re.search(r"(^|:)netoops(:|$)", protos)}

    first_golden = frames[(next(iter(dumps)), dumps[next(iter(dumps))]["packets"][0]["file"])][0]
    heuristic_frame = frames[("crafted", "heuristic: on port 9999")][0]
    found = netoops_frames("--disable-heuristic", "netoops_udp")
    check("heuristic disabled: port 6667 frames still netoops, the port 9999 one not",
          first_golden in found and heuristic_frame not in found, f"netoops frames {sorted(found)}")
    found = netoops_frames("--disable-heuristic", "netoops_udp", "-o", f"netoops.udp_port:{OTHER_PORT}")
    check(f"heuristic disabled, -o netoops.udp_port:{OTHER_PORT}: the port 9999 frame netoops, "
          "port 6667 ones not", heuristic_frame in found and first_golden not in found,
          f"netoops frames {sorted(found)}")


if __name__ == "__main__":
    main()
