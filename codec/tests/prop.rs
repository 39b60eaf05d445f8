//! Property tests: encode/decode round trips, size limits, robustness on arbitrary input.

mod common;

use common::{decode_all, encode_all, expected};
use netoops_codec::wire::*;
use proptest::prelude::*;

/// An owned dump description that proptest can generate; `dump()` borrows it.
#[derive(Debug, Clone)]
struct Gen {
    boot_id: [u8; 16],
    seq: u32,
    reason: Reason,
    strings: [Option<Vec<u8>>; 11],
    cpu_id: Option<CpuId>,
    user_blob: Option<Vec<u8>>,
    build_id: Option<Vec<u8>>,
    regs: Option<(RegsSource, GenRegs)>,
    taint: Option<u64>,
    time: Option<Time>,
    log: Vec<u8>,
    log_truncated: bool,
}

#[derive(Debug, Clone)]
enum GenRegs {
    X86([u64; 21]),
    Other(u16, Vec<u8>),
}

impl Gen {
    /// The registers, kept by the caller for `dump` to borrow.
    fn regs(&self) -> Option<Regs<'_>> {
        self.regs.as_ref().map(|(source, r)| Regs {
            source: *source,
            regs: match r {
                GenRegs::X86(a) => ArchRegs::X86_64(RegsX86_64::from_array(*a)),
                GenRegs::Other(arch, p) => ArchRegs::Other {
                    arch: *arch,
                    payload: p,
                },
            },
        })
    }

    fn dump<'a>(&'a self, regs: &'a Option<Regs<'a>>) -> Dump<'a> {
        let st = |i: usize| self.strings[i].as_deref();
        Dump {
            boot_id: self.boot_id,
            seq: self.seq,
            reason: self.reason,
            facts: DumpFacts {
                kernel_release: st(0),
                kernel_version: st(1),
                build_id: self.build_id.as_deref(),
                hostname: st(2),
                arch: st(3),
                cpu_vendor: st(4),
                cpu_id: self.cpu_id,
                dmi_bios_vendor: st(5),
                dmi_bios_version: st(6),
                dmi_bios_date: st(7),
                dmi_board_vendor: st(8),
                dmi_board_name: st(9),
                dmi_product_name: st(10),
                user_blob: self.user_blob.as_deref(),
                regs: regs.as_ref(),
                taint: self.taint,
                time: self.time,
            },
            log: &self.log,
            log_truncated: self.log_truncated,
        }
    }
}

fn reason() -> impl Strategy<Value = Reason> {
    prop_oneof![
        Just(Reason::Oops),
        Just(Reason::Panic),
        Just(Reason::Soft),
        Just(Reason::Emerg),
        (5u8..).prop_map(Reason::Unknown),
        Just(Reason::Unknown(0)),
    ]
}

fn source() -> impl Strategy<Value = RegsSource> {
    prop_oneof![
        Just(RegsSource::Fault),
        Just(RegsSource::PanicCpu),
        Just(RegsSource::SysrqCpu),
        (4u8..).prop_map(RegsSource::Unknown),
    ]
}

fn string() -> impl Strategy<Value = Option<Vec<u8>>> {
    // Includes empty strings (sent as absent) and over-long ones (cut to 128).
    proptest::option::of(prop_oneof![
        8 => proptest::collection::vec(any::<u8>(), 1..=MAX_STRING_LEN),
        1 => Just(Vec::new()),
        1 => proptest::collection::vec(any::<u8>(), MAX_STRING_LEN + 1..300),
    ])
}

fn regs() -> impl Strategy<Value = GenRegs> {
    prop_oneof![
        any::<[u64; 21]>().prop_map(GenRegs::X86),
        (
            (2u16..),
            proptest::collection::vec(any::<u8>(), 0..=MAX_REGS_PAYLOAD_LEN)
        )
            .prop_map(|(a, p)| GenRegs::Other(a, p)),
        proptest::collection::vec(any::<u8>(), 0..=MAX_REGS_PAYLOAD_LEN)
            .prop_map(|p| GenRegs::Other(0, p)),
    ]
}

fn time() -> impl Strategy<Value = Time> {
    (any::<u64>(), any::<i64>(), 0u32..1_000_000_000).prop_map(
        |(uptime_ns, wall_sec, wall_nsec)| Time {
            uptime_ns,
            wall_sec,
            wall_nsec,
        },
    )
}

fn log() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => Just(Vec::new()),
        4 => proptest::collection::vec(any::<u8>(), 1..3000),
        2 => proptest::collection::vec(any::<u8>(), 3000..40_000),
    ]
}

fn gen() -> impl Strategy<Value = Gen> {
    let ids = (any::<[u8; 16]>(), any::<u32>(), reason());
    let strings = proptest::array::uniform11(string());
    let facts = (
        proptest::option::of(
            any::<(u32, u32, u32, u32)>().prop_map(|(f, m, s, u)| CpuId {
                family: f,
                model: m,
                stepping: s,
                microcode: u,
            }),
        ),
        proptest::option::of(proptest::collection::vec(
            any::<u8>(),
            0..=MAX_USER_BLOB_LEN,
        )),
        proptest::option::of((source(), regs())),
        proptest::option::of(any::<u64>()),
        proptest::option::of(time()),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..=MAX_BUILD_ID_LEN)),
    );
    (ids, strings, facts, log(), any::<bool>()).prop_map(
        |(
            (boot_id, seq, reason),
            strings,
            (cpu_id, user_blob, regs, taint, time, build_id),
            log,
            log_truncated,
        )| Gen {
            boot_id,
            seq,
            reason,
            strings,
            cpu_id,
            user_blob,
            build_id,
            regs,
            taint,
            time,
            log,
            log_truncated,
        },
    )
}

fn max_size() -> impl Strategy<Value = usize> {
    prop_oneof![
        8 => MIN_PACKET_SIZE..=MAX_PACKET_SIZE,
        1 => Just(MIN_PACKET_SIZE),
        1 => Just(MAX_PACKET_SIZE),
        1 => MAX_PACKET_SIZE..70_000,
    ]
}

/// Reasons 1..=4 always decode to the named variants, so `Unknown(1..=4)` is never
/// generated; `Unknown(0)` and `Unknown(5..)` come back unchanged.
fn normalize(mut e: common::Owned) -> common::Owned {
    e.reason = e.reason.map(|r| Reason::from_u8(r.to_u8()));
    e
}

/// 400 cases per property unless `PROPTEST_CASES` says otherwise.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    /// `max_packet_count` bounds every dump of that log size (the module sizes its skb pools
    /// with it).
    #[test]
    fn max_packet_count_bounds_every_dump(g in gen(), max in max_size()) {
        let r = g.regs();
        let d = g.dump(&r);
        let bound = Packetizer::max_packet_count(d.log.len(), max).unwrap();
        let p = Packetizer::new(&d, max).unwrap();
        prop_assert!(p.packet_count() <= bound, "{} packets > bound {}", p.packet_count(), bound);
    }

    #[test]
    fn decode_of_encode_is_identity(g in gen(), max in max_size(), seed in any::<u64>()) {
        let r = g.regs();
        let d = g.dump(&r);
        let mut packets = encode_all(d, max);
        let p = Packetizer::new(&d, max).unwrap();
        prop_assert_eq!(packets.len(), usize::from(p.packet_count()));
        let mut total = 0usize;
        for pk in &packets {
            prop_assert!(pk.len() <= max.min(MAX_PACKET_SIZE));
            prop_assert!(pk.len() <= 1460);
            total += pk.len() - HEADER_LEN;
        }
        prop_assert_eq!(total, p.dump_len() as usize);
        // Any order, with a duplicated packet: same result.
        let n = packets.len();
        let dup = packets[(seed as usize) % n].clone();
        packets.push(dup);
        let k = packets.len();
        packets.swap(0, (seed as usize >> 8) % k);
        prop_assert_eq!(decode_all(&packets), normalize(expected(&d)));
    }

    #[test]
    fn lost_packets_leave_exactly_their_log_ranges_missing(
        g in gen(), max in max_size(), lost in proptest::collection::vec(any::<bool>(), 1..200)
    ) {
        let r = g.regs();
        let d = g.dump(&r);
        let packets = encode_all(d, max);
        let mut have = vec![false; d.log.len()];
        let mut lost_ranges = vec![false; d.log.len()];
        for (i, pk) in packets.iter().enumerate() {
            let gone = lost[i % lost.len()];
            let p = parse_packet(pk).unwrap();
            prop_assert_eq!(p.dump_info.log_len as usize, d.log.len());
            for r in p.records() {
                if let Record::LogChunk { offset, data } = r {
                    let o = offset as usize;
                    prop_assert_eq!(data, &d.log[o..o + data.len()]);
                    for k in o..o + data.len() {
                        let mark = if gone { &mut lost_ranges[k] } else { &mut have[k] };
                        prop_assert!(!*mark);
                        *mark = true;
                    }
                }
            }
        }
        // Every log byte is in exactly one packet.
        for k in 0..d.log.len() {
            prop_assert!(have[k] != lost_ranges[k]);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let _ = parse_packet(&bytes);
    }

    #[test]
    fn arbitrary_bytes_with_valid_header_never_panic(
        body in proptest::collection::vec(any::<u8>(), 0..1500), hdr in any::<[u8; 48]>(),
        hlen in 48u8.., fix_len in any::<bool>(),
    ) {
        // Valid magic/version/lengths/CRC so that the record parser is reached.
        let mut b = hdr.to_vec();
        b.extend_from_slice(&body);
        b[..4].copy_from_slice(&MAGIC);
        b[4] = VERSION;
        b[5] = 1;
        b[6] = hlen.min(b.len() as u8);
        if fix_len {
            let n = b.len() as u16;
            b[8..10].copy_from_slice(&n.to_le_bytes());
        }
        let c = packet_crc(&b);
        b[12..16].copy_from_slice(&c.to_le_bytes());
        if let Ok(p) = parse_packet(&b) {
            // Whatever parses, its records iterate and its errors have offsets in range.
            let _ = p.records().count();
        } else if let Err(e) = parse_packet(&b) {
            prop_assert!(e.offset() <= b.len());
        }
    }

    #[test]
    fn mutated_valid_packets_never_panic(
        g in gen(), max in max_size(), edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        fix in any::<bool>(),
    ) {
        let r = g.regs();
        let packets = encode_all(g.dump(&r), max);
        for mut pk in packets {
            for (pos, v) in &edits {
                let n = pk.len();
                pk[pos % n] = *v;
            }
            if fix {
                let c = packet_crc(&pk);
                pk[12..16].copy_from_slice(&c.to_le_bytes());
            }
            match parse_packet(&pk) {
                Ok(p) => { let _ = p.records().count(); }
                Err(e) => prop_assert!(e.offset() <= pk.len()),
            }
        }
    }

    #[test]
    fn any_single_bit_flip_is_detected(g in gen(), max in max_size(), bit in any::<usize>()) {
        let r = g.regs();
        let packets = encode_all(g.dump(&r), max);
        for mut pk in packets {
            let nbits = pk.len() * 8;
            let b = bit % nbits;
            pk[b / 8] ^= 1 << (b % 8);
            let err = parse_packet(&pk);
            prop_assert!(err.is_err(), "flip of bit {} undetected", b);
            // Outside the fields checked before the CRC (magic, version, header and packet
            // length), it is the CRC that catches it.
            let byte = b / 8;
            if !matches!(byte, 0..=4 | 6 | 8 | 9) {
                prop_assert!(
                    matches!(err, Err(DecodeError::BadCrc { .. })),
                    "bit {}: {:?}", b, err
                );
            }
        }
    }
}
