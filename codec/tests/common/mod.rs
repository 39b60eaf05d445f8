//! Test helpers: a straightforward reassembler used to compare decoded dumps with the
//! dumps that were encoded. (The collector has its own, richer one.)
#![allow(dead_code)]

use netoops_codec::wire::*;

/// Owned copy of everything a dump carries, for comparisons.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Owned {
    pub boot_id: [u8; 16],
    pub seq: u32,
    pub reason: Option<Reason>,
    pub kernel_release: Option<Vec<u8>>,
    pub kernel_version: Option<Vec<u8>>,
    pub hostname: Option<Vec<u8>>,
    pub arch: Option<Vec<u8>>,
    pub cpu_vendor: Option<Vec<u8>>,
    pub cpu_id: Option<CpuId>,
    pub dmi_bios_vendor: Option<Vec<u8>>,
    pub dmi_bios_version: Option<Vec<u8>>,
    pub dmi_bios_date: Option<Vec<u8>>,
    pub dmi_board_vendor: Option<Vec<u8>>,
    pub dmi_board_name: Option<Vec<u8>>,
    pub dmi_product_name: Option<Vec<u8>>,
    pub user_blob: Option<Vec<u8>>,
    pub build_id: Option<Vec<u8>>,
    pub regs: Option<(RegsSource, u16, Vec<u64>, Vec<u8>)>,
    pub taint: Option<u64>,
    pub time: Option<Time>,
    pub log: Vec<u8>,
    pub log_truncated: bool,
}

fn s(v: Option<&[u8]>) -> Option<Vec<u8>> {
    v.filter(|v| !v.is_empty())
        .map(|v| v[..v.len().min(MAX_STRING_LEN)].to_vec())
}

fn regs(r: &Regs<'_>) -> (RegsSource, u16, Vec<u64>, Vec<u8>) {
    match r.regs {
        ArchRegs::X86_64(x) => (r.source, 1, x.to_array().to_vec(), Vec::new()),
        ArchRegs::Other { arch, payload } => (r.source, arch, Vec::new(), payload.to_vec()),
    }
}

/// What decoding `d` should give back.
pub fn expected(d: &Dump<'_>) -> Owned {
    let f = &d.facts;
    Owned {
        boot_id: d.boot_id,
        seq: d.seq,
        reason: Some(d.reason),
        kernel_release: s(f.kernel_release),
        kernel_version: s(f.kernel_version),
        hostname: s(f.hostname),
        arch: s(f.arch),
        cpu_vendor: s(f.cpu_vendor),
        cpu_id: f.cpu_id,
        dmi_bios_vendor: s(f.dmi_bios_vendor),
        dmi_bios_version: s(f.dmi_bios_version),
        dmi_bios_date: s(f.dmi_bios_date),
        dmi_board_vendor: s(f.dmi_board_vendor),
        dmi_board_name: s(f.dmi_board_name),
        dmi_product_name: s(f.dmi_product_name),
        user_blob: f.user_blob.map(|b| b.to_vec()),
        build_id: f.build_id.filter(|b| !b.is_empty()).map(|b| b.to_vec()),
        regs: f.regs.map(regs),
        taint: f.taint,
        time: f.time,
        log: d.log.to_vec(),
        log_truncated: d.log_truncated,
    }
}

/// Encodes every packet of `d`.
pub fn encode_all(d: Dump<'_>, max: usize) -> Vec<Vec<u8>> {
    let p = Packetizer::new(&d, max).expect("packetizer");
    (0..p.packet_count())
        .map(|i| {
            let mut buf = vec![0u8; MAX_PACKET_SIZE];
            let n = p.write_packet(i, &mut buf).expect("write_packet");
            assert_eq!(n, p.packet_len(i).unwrap());
            buf.truncate(n);
            buf
        })
        .collect()
}

/// Decodes a complete set of packets (any order, copies allowed) back into one dump.
/// Panics on anything inconsistent.
pub fn decode_all(packets: &[Vec<u8>]) -> Owned {
    let parsed: Vec<Packet<'_>> = packets
        .iter()
        .map(|p| parse_packet(p).expect("parse_packet"))
        .collect();
    let first = parsed[0];
    for p in &parsed {
        relate(&first, p).expect("packets relate");
        assert_ne!(relate(&first, p), Ok(Relation::OtherDump));
    }
    let mut out = Owned {
        boot_id: first.header.boot_id,
        seq: first.header.seq,
        reason: Some(first.header.reason),
        log_truncated: first.dump_info.log_truncated(),
        ..Owned::default()
    };
    let mut log: Vec<Option<u8>> = vec![None; first.dump_info.log_len as usize];
    let mut seen = vec![false; first.header.count as usize];
    for p in &parsed {
        seen[p.header.index as usize] = true;
        for r in p.records() {
            match r {
                Record::DumpInfo(i) => assert_eq!(i, first.dump_info),
                Record::BootId(id) => assert_eq!(id, out.boot_id),
                Record::Time(t) => out.time = Some(t),
                Record::Taint(t) => out.taint = Some(t),
                Record::Regs(r) => out.regs = Some(regs(&r)),
                Record::UserBlob(b) => out.user_blob = Some(b.to_vec()),
                Record::BuildId(b) => out.build_id = Some(b.to_vec()),
                Record::KernelRelease(v) => out.kernel_release = Some(v.to_vec()),
                Record::KernelVersion(v) => out.kernel_version = Some(v.to_vec()),
                Record::Hostname(v) => out.hostname = Some(v.to_vec()),
                Record::Arch(v) => out.arch = Some(v.to_vec()),
                Record::CpuVendor(v) => out.cpu_vendor = Some(v.to_vec()),
                Record::CpuId(c) => out.cpu_id = Some(c),
                Record::DmiBiosVendor(v) => out.dmi_bios_vendor = Some(v.to_vec()),
                Record::DmiBiosVersion(v) => out.dmi_bios_version = Some(v.to_vec()),
                Record::DmiBiosDate(v) => out.dmi_bios_date = Some(v.to_vec()),
                Record::DmiBoardVendor(v) => out.dmi_board_vendor = Some(v.to_vec()),
                Record::DmiBoardName(v) => out.dmi_board_name = Some(v.to_vec()),
                Record::DmiProductName(v) => out.dmi_product_name = Some(v.to_vec()),
                Record::LogChunk { offset, data } => {
                    for (k, b) in data.iter().enumerate() {
                        let slot = &mut log[offset as usize + k];
                        assert!(slot.is_none() || *slot == Some(*b), "overlapping chunks");
                        *slot = Some(*b);
                    }
                }
                Record::LogZChunk { .. } => panic!("LOG_ZCHUNK in a version-1 dump"),
                Record::Unknown { ty, .. } => panic!("unknown record {ty:#x}"),
            }
        }
    }
    assert!(seen.iter().all(|s| *s), "missing packets");
    out.log = log
        .into_iter()
        .map(|b| b.expect("log byte missing"))
        .collect();
    out
}

/// The datagrams of version-2 golden vector `v`, in send order.
pub fn encode_v2_vector(v: &netoops_codec::wire::golden::VectorV2) -> Vec<Vec<u8>> {
    use netoops_codec::sender::{encode_v2, Options};
    use netoops_codec::wire::golden::{TEST_KEY, TEST_KEY_ID, TEST_SALT};
    use netoops_codec::wire::SealingKey;
    let opts = Options {
        max_packet: v.max_packet,
        parity_percent: v.parity_percent,
        seal: v
            .sealed
            .then(|| (SealingKey::new(TEST_KEY_ID, &TEST_KEY, TEST_SALT), 0)),
    };
    encode_v2(&v.dump, &opts).expect("encode_v2")
}
