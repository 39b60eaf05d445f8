//! The description file (`expected.json`) of a golden vector, derived from the dump that
//! is encoded and from the encoded packets. Shared by the generator
//! (`examples/gen_golden.rs`) and the golden test.
#![allow(dead_code)]

use netoops_codec::wire::golden::{self, Vector};
use netoops_codec::wire::*;
use serde_json::{json, Map, Value};

/// Formats a boot id like `/proc/sys/kernel/random/boot_id`.
pub fn uuid(id: &[u8; 16]) -> String {
    let h: Vec<String> = id.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        h[0..4].concat(),
        h[4..6].concat(),
        h[6..8].concat(),
        h[8..10].concat(),
        h[10..16].concat()
    )
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

fn text(b: &[u8]) -> Value {
    Value::String(String::from_utf8(b.to_vec()).expect("golden strings are UTF-8"))
}

/// File name of packet `i`.
pub fn packet_file(i: usize) -> String {
    format!("packet-{i:03}.bin")
}

/// The description of `v`, whose encoded packets are `packets`.
pub fn describe(v: &Vector, packets: &[Vec<u8>]) -> Value {
    let d = &v.dump;
    let f = &d.facts;
    let mut facts = Map::new();
    let strings: [(&str, Option<&[u8]>); 11] = [
        ("kernel_release", f.kernel_release),
        ("kernel_version", f.kernel_version),
        ("hostname", f.hostname),
        ("arch", f.arch),
        ("cpu_vendor", f.cpu_vendor),
        ("dmi_bios_vendor", f.dmi_bios_vendor),
        ("dmi_bios_version", f.dmi_bios_version),
        ("dmi_bios_date", f.dmi_bios_date),
        ("dmi_board_vendor", f.dmi_board_vendor),
        ("dmi_board_name", f.dmi_board_name),
        ("dmi_product_name", f.dmi_product_name),
    ];
    for (k, s) in strings {
        if let Some(s) = s {
            facts.insert(k.into(), text(s));
        }
    }
    if let Some(c) = f.cpu_id {
        facts.insert(
            "cpu_id".into(),
            json!({"family": c.family, "model": c.model, "stepping": c.stepping, "microcode": c.microcode}),
        );
    }
    if let Some(b) = f.user_blob {
        facts.insert("user_blob".into(), Value::String(hex(b)));
    }
    if let Some(t) = f.taint {
        facts.insert("taint".into(), json!(t));
    }
    if let Some(t) = f.time {
        facts.insert(
            "time".into(),
            json!({"uptime_ns": t.uptime_ns, "wall_sec": t.wall_sec, "wall_nsec": t.wall_nsec}),
        );
    }
    let regs = match f.regs {
        None => Value::Null,
        Some(Regs {
            source,
            regs: ArchRegs::X86_64(r),
        }) => {
            let mut values = Map::new();
            for (name, val) in RegsX86_64::NAMES.iter().zip(r.to_array()) {
                values.insert((*name).into(), Value::String(format!("{val:#018x}")));
            }
            json!({"arch": "x86_64", "source": source.name(), "values": values})
        }
        Some(Regs { .. }) => panic!("golden vectors use x86_64 registers"),
    };
    let pk: Vec<Value> = packets
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let h = parse_packet(p).expect("golden packet parses").header;
            json!({
                "file": packet_file(i),
                "index": h.index,
                "len": p.len(),
                "packet_offset": h.packet_offset,
                "crc32c": format!("{:#010x}", h.crc),
            })
        })
        .collect();
    let info = d.dump_info();
    let first = parse_packet(&packets[0]).unwrap().header;
    json!({
        "name": v.name,
        "max_packet_size": v.max_packet,
        "boot_id": uuid(&d.boot_id),
        "seq": d.seq,
        "reason": d.reason.name(),
        "packet_count": packets.len(),
        "dump_len": first.dump_len,
        "log_len": info.log_len,
        "log_truncated": info.log_truncated(),
        "regs_source": info.regs_source.name(),
        "facts": facts,
        "regs": regs,
        "log": text(d.log),
        "packets": pk,
    })
}

/// `offset: 16 hex bytes  |ascii|` lines, as shown in PROTOCOL.md.
pub fn hexdump(b: &[u8]) -> String {
    let mut out = String::new();
    for (n, line) in b.chunks(16).enumerate() {
        let hexes: Vec<String> = line.iter().map(|b| format!("{b:02x}")).collect();
        let ascii: String = line
            .iter()
            .map(|&b| {
                if (0x20..0x7f).contains(&b) {
                    b as char
                } else {
                    '.'
                }
            })
            .collect();
        out.push_str(&format!(
            "{:04x}  {:<47}  |{}|\n",
            n * 16,
            hexes.join(" "),
            ascii
        ));
    }
    out
}

/// Parses the byte columns of a [`hexdump`] back into bytes.
pub fn parse_hexdump(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((_, rest)) = line.split_once("  ") else {
            continue;
        };
        let hex = rest.split("  |").next().unwrap_or("");
        for h in hex.split_whitespace() {
            out.push(u8::from_str_radix(h, 16).expect("hex byte"));
        }
    }
    out
}

/// The description of version-2 vector `v`, whose datagrams are `packets`.
pub fn describe_v2(v: &golden::VectorV2, packets: &[Vec<u8>]) -> Value {
    use netoops_codec::sender::compress;
    let (pieces, z) = compress(v.dump.log).expect("compress");
    let files: Vec<Value> = packets
        .iter()
        .enumerate()
        .map(|(i, p)| {
            json!({
                "file": packet_file(i),
                "len": p.len(),
                "packet_type": if p[5] == 2 { "parity" } else { "data" },
                "index": u16::from_le_bytes([p[36], p[37]]),
                "sealed": p[7] & FLAG_SEALED != 0,
                "key_id": p[11],
            })
        })
        .collect();
    let data = packets.iter().filter(|p| p[5] == 1).count();
    json!({
        "name": v.name,
        "version": 2,
        "boot_id": uuid(&v.dump.boot_id),
        "seq": v.dump.seq,
        "reason": v.dump.reason.name(),
        "max_packet": v.max_packet,
        "parity_percent": v.parity_percent,
        "data_packets": data,
        "parity_packets": packets.len() - data,
        "log_len": v.dump.log.len(),
        "log_tail_hex": hex(&v.dump.log[v.dump.log.len() - 16..]),
        "compressed_len": z.len(),
        "pieces": pieces.iter().map(|p| json!({
            "log_start": p.log_start, "log_len": p.log_len, "z_len": p.z_len,
        })).collect::<Vec<_>>(),
        "sealed": v.sealed.then(|| json!({
            "key_id": golden::TEST_KEY_ID,
            "key_ascii": String::from_utf8(golden::TEST_KEY.to_vec()).unwrap(),
            "salt_ascii": String::from_utf8(golden::TEST_SALT.to_vec()).unwrap(),
            "first_counter": 0,
        })),
        "packets": files,
    })
}
