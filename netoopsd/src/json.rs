//! JSON output of reassembled dumps. Field names match the golden vectors' `expected.json`.

use serde_json::{json, Map, Value};

use netoops_codec::wire::RegsX86_64;

use crate::display::{hex, lossy, uptime, uuid, wall_clock};
use crate::reassembly::{DumpState, OwnedRegs, Reassembler};

fn facts(d: &DumpState) -> Value {
    let f = &d.facts;
    let mut m = Map::new();
    let strings: [(&str, &Option<Vec<u8>>); 11] = [
        ("kernel_release", &f.kernel_release),
        ("kernel_version", &f.kernel_version),
        ("hostname", &f.hostname),
        ("arch", &f.arch),
        ("cpu_vendor", &f.cpu_vendor),
        ("dmi_bios_vendor", &f.dmi_bios_vendor),
        ("dmi_bios_version", &f.dmi_bios_version),
        ("dmi_bios_date", &f.dmi_bios_date),
        ("dmi_board_vendor", &f.dmi_board_vendor),
        ("dmi_board_name", &f.dmi_board_name),
        ("dmi_product_name", &f.dmi_product_name),
    ];
    for (k, v) in strings {
        if let Some(v) = v {
            m.insert(k.into(), Value::String(lossy(v)));
        }
    }
    if let Some(c) = &f.cpu_id {
        m.insert(
            "cpu_id".into(),
            json!({"family": c.family, "model": c.model, "stepping": c.stepping, "microcode": c.microcode}),
        );
    }
    if let Some(b) = &f.build_id {
        m.insert("build_id".into(), Value::String(hex(b)));
    }
    if let Some(b) = &f.user_blob {
        m.insert("user_blob".into(), Value::String(hex(b)));
    }
    if let Some(t) = f.taint {
        m.insert("taint".into(), json!(t));
    }
    if let Some(t) = &f.time {
        m.insert(
            "time".into(),
            json!({
                "uptime_ns": t.uptime_ns,
                "wall_sec": t.wall_sec,
                "wall_nsec": t.wall_nsec,
                "wall_clock": wall_clock(t),
                "uptime": uptime(t),
            }),
        );
    }
    Value::Object(m)
}

fn regs(d: &DumpState) -> Value {
    match &d.regs {
        None => Value::Null,
        Some((source, OwnedRegs::X86_64(r))) => {
            let mut values = Map::new();
            for (name, v) in RegsX86_64::NAMES.iter().zip(r.to_array()) {
                values.insert((*name).into(), Value::String(format!("{v:#018x}")));
            }
            json!({"arch": "x86_64", "source": source.name(), "values": values})
        }
        Some((source, OwnedRegs::Other { arch, payload })) => {
            json!({"arch": arch, "source": source.name(), "payload": hex(payload)})
        }
    }
}

/// One dump as a JSON object.
pub fn dump(d: &DumpState) -> Value {
    let packets: Vec<Value> = d
        .packets
        .values()
        .map(|p| {
            json!({
                "index": p.index,
                "len": p.len,
                "packet_offset": p.packet_offset,
                "crc32c": format!("{:#010x}", p.crc),
                "source": &*p.origin.source,
                "source_offset": p.origin.offset,
            })
        })
        .collect();
    let segments: Vec<Value> = d
        .log_segments()
        .iter()
        .map(|s| json!({"offset": s.offset, "len": s.bytes.len(), "text": lossy(&s.bytes)}))
        .collect();
    let unknown: Vec<Value> = d
        .unknown
        .iter()
        .map(|u| json!({"packet": u.packet, "type": u.ty, "len": u.len}))
        .collect();
    json!({
        "boot_id": uuid(&d.key.boot_id),
        "seq": d.key.seq,
        "reason": d.reason.name(),
        "reason_code": d.reason.to_u8(),
        "packet_count": d.count,
        "packets_received": d.packets.len(),
        "complete": d.is_complete(),
        "missing_packets": d.missing_packets().iter().map(|(a, b)| json!([a, b])).collect::<Vec<_>>(),
        "duplicates": d.duplicates,
        "inconsistent": d.inconsistent,
        "dump_len": d.dump_len,
        "log_len": d.info.log_len,
        "log_truncated": d.info.log_truncated(),
        "regs_source": d.info.regs_source.name(),
        "facts": facts(d),
        "regs": regs(d),
        "log": d.full_log().map(|l| Value::String(lossy(&l))).unwrap_or(Value::Null),
        "log_missing": d.missing_log().iter().map(|(a, b)| json!([a, b])).collect::<Vec<_>>(),
        "log_segments": segments,
        "unknown_records": unknown,
        "packets": packets,
    })
}

/// The whole result: dumps, rejected packets and counters.
pub fn render(r: &Reassembler, files: &[Value]) -> Value {
    json!({
        "dumps": r.dumps().map(dump).collect::<Vec<_>>(),
        "rejected": r.rejected.iter().map(|x| json!({
            "source": &*x.origin.source,
            "offset": x.origin.offset,
            "reason": x.reason,
        })).collect::<Vec<_>>(),
        "stats": {
            "packets": r.stats.packets,
            "added": r.stats.added,
            "duplicates": r.stats.duplicates,
            "inconsistent": r.stats.inconsistent,
            "malformed": r.stats.malformed,
        },
        "files": files,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reassembly::Origin;
    use netoops_codec::wire::golden::OOPS;
    use netoops_codec::wire::Packetizer;

    #[test]
    fn oops_dump_as_json() {
        let p = Packetizer::new(&OOPS, 1460).unwrap();
        let mut r = Reassembler::new();
        for i in [0u16, 2] {
            let mut b = vec![0; 1460];
            let n = p.write_packet(i, &mut b).unwrap();
            r.push(
                &b[..n],
                Origin {
                    source: "cap".into(),
                    offset: 100,
                },
            );
        }
        let v = render(&r, &[]);
        let d = &v["dumps"][0];
        assert_eq!(d["complete"], false);
        assert_eq!(d["missing_packets"], json!([[1, 1]]));
        assert_eq!(d["regs"]["values"]["ip"], "0xffffffffc0a12034");
        assert_eq!(d["regs"]["source"], "fault");
        assert_eq!(d["facts"]["cpu_id"]["microcode"], 0x0500_0036);
        assert_eq!(
            d["facts"]["time"]["wall_clock"],
            "2026-01-01T00:00:55.123456789Z"
        );
        assert_eq!(d["log"], Value::Null);
        assert_eq!(d["log_segments"].as_array().unwrap().len(), 2);
        assert_eq!(d["packets"][1]["source"], "cap");
        assert_eq!(v["stats"]["added"], 2);
    }
}
