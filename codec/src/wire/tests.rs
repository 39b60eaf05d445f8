//! Unit tests of the encoder and decoder (core only, like the rest of `wire`).

use super::golden::{OOPS, SOFT};
use super::*;

const BUF: usize = MAX_PACKET_SIZE;

fn packetize<'a>(dump: &'a Dump<'a>, max: usize) -> Packetizer<'a> {
    match Packetizer::new(dump, max) {
        Ok(p) => p,
        Err(e) => panic!("packetizer: {e:?}"),
    }
}

fn write(p: &Packetizer<'_>, index: u16) -> ([u8; BUF], usize) {
    let mut buf = [0u8; BUF];
    let n = p.write_packet(index, &mut buf).expect("write_packet");
    (buf, n)
}

fn minimal() -> Dump<'static> {
    Dump {
        boot_id: [7; 16],
        seq: 1,
        reason: Reason::Panic,
        facts: DumpFacts::empty(),
        log: b"",
        log_truncated: false,
    }
}

/// Rewrites the CRC field so that the packet passes the CRC check.
fn fix_crc(p: &mut [u8]) {
    let c = packet_crc(p);
    p[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&c.to_le_bytes());
}

/// Builds a packet by hand: a valid header for a one-packet dump followed by `records`.
fn craft(records: &[(u16, &[u8])], out: &mut [u8; BUF]) -> usize {
    let mut area = 0;
    for (_, v) in records {
        area += 4 + v.len();
    }
    let len = HEADER_LEN + area;
    out[..4].copy_from_slice(&MAGIC);
    out[4] = VERSION;
    out[5] = 1;
    out[6] = HEADER_LEN as u8;
    out[7] = 0;
    out[8..10].copy_from_slice(&(len as u16).to_le_bytes());
    out[10] = 1;
    out[11] = 0;
    out[16..32].copy_from_slice(&[7; 16]);
    out[32..36].copy_from_slice(&1u32.to_le_bytes());
    out[36..38].copy_from_slice(&0u16.to_le_bytes());
    out[38..40].copy_from_slice(&1u16.to_le_bytes());
    out[40..44].copy_from_slice(&(area as u32).to_le_bytes());
    out[44..48].copy_from_slice(&0u32.to_le_bytes());
    let mut pos = HEADER_LEN;
    for (ty, v) in records {
        out[pos..pos + 2].copy_from_slice(&ty.to_le_bytes());
        out[pos + 2..pos + 4].copy_from_slice(&(v.len() as u16).to_le_bytes());
        out[pos + 4..pos + 4 + v.len()].copy_from_slice(v);
        pos += 4 + v.len();
    }
    fix_crc(&mut out[..len]);
    len
}

/// A `DUMP_INFO` value: log length 10, no flags, no registers.
const INFO: [u8; 8] = [10, 0, 0, 0, 0, 0, 0, 0];

#[test]
fn soft_example_is_one_packet_that_decodes() {
    let p = packetize(&SOFT, 1460);
    assert_eq!(p.packet_count(), 1);
    let (buf, n) = write(&p, 0);
    assert_eq!(n, p.packet_len(0).unwrap());
    assert_eq!(p.dump_len() as usize, n - HEADER_LEN);
    let pkt = parse_packet(&buf[..n]).expect("parse");
    assert_eq!(pkt.header.reason, Reason::Soft);
    assert_eq!(pkt.header.seq, 2);
    assert_eq!(pkt.dump_info.log_len as usize, SOFT.log.len());
    let mut log_seen = false;
    let mut types = [0u16; 16];
    let mut k = 0;
    for r in pkt.records() {
        types[k] = r.ty();
        k += 1;
        match r {
            Record::Hostname(h) => assert_eq!(h, b"qemu-test"),
            Record::UserBlob(b) => assert_eq!(b, b"rack=B7"),
            Record::LogChunk { offset, data } => {
                assert_eq!((offset, data), (0, SOFT.log));
                log_seen = true;
            }
            _ => {}
        }
    }
    assert!(log_seen);
    assert_eq!(
        &types[..k],
        &[
            rt::DUMP_INFO,
            rt::BOOT_ID,
            rt::TIME,
            rt::TAINT,
            rt::KERNEL_RELEASE,
            rt::HOSTNAME,
            rt::ARCH,
            rt::USER_BLOB,
            rt::LOG_CHUNK
        ]
    );
}

#[test]
fn packets_tile_the_dump_and_respect_the_size_limit() {
    for max in [512, 600, 777, 1000, 1459, 1460, 1500, 9000] {
        let p = packetize(&OOPS, max);
        let limit = max.min(MAX_PACKET_SIZE);
        let mut offset = 0u32;
        let mut log_next = 0usize;
        for i in 0..p.packet_count() {
            let (buf, n) = write(&p, i);
            assert!(n <= limit, "packet {i} is {n} bytes, limit {limit}");
            let pkt = parse_packet(&buf[..n]).expect("parse");
            assert_eq!(pkt.header.packet_offset, offset);
            assert_eq!(pkt.header.count, p.packet_count());
            offset += (n - HEADER_LEN) as u32;
            for r in pkt.records() {
                if let Record::LogChunk { offset, data } = r {
                    assert_eq!(offset as usize, log_next);
                    assert_eq!(data, &OOPS.log[log_next..log_next + data.len()]);
                    log_next += data.len();
                }
            }
            // Every packet but the last is full up to what the next record needs: the log
            // packets (after the facts) are exactly at the limit.
            if i + 1 < p.packet_count() && i >= 1 && max >= 1000 {
                assert_eq!(n, limit);
            }
        }
        assert_eq!(offset, p.dump_len());
        assert_eq!(log_next, OOPS.log.len());
    }
}

#[test]
fn writing_is_deterministic_and_leaves_the_rest_of_the_buffer() {
    let p = packetize(&OOPS, 1460);
    for i in 0..p.packet_count() {
        let mut a = [0xAAu8; BUF + 10];
        let mut b = [0x55u8; BUF + 10];
        let na = p.write_packet(i, &mut a).unwrap();
        let nb = p.write_packet(i, &mut b).unwrap();
        assert_eq!(na, nb);
        assert_eq!(a[..na], b[..nb]);
        assert!(a[na..].iter().all(|&x| x == 0xAA));
        assert!(b[nb..].iter().all(|&x| x == 0x55));
    }
}

#[test]
fn minimal_dump_is_one_packet_with_dump_info_and_boot_id() {
    let d = minimal();
    let p = packetize(&d, 512);
    assert_eq!(p.packet_count(), 1);
    let (buf, n) = write(&p, 0);
    assert_eq!(n, HEADER_LEN + 12 + 20);
    let pkt = parse_packet(&buf[..n]).unwrap();
    assert_eq!(
        pkt.dump_info,
        DumpInfo {
            log_len: 0,
            flags: 0,
            regs_source: RegsSource::None
        }
    );
    let mut it = pkt.records();
    assert!(matches!(it.next(), Some(Record::DumpInfo(_))));
    assert_eq!(it.next(), Some(Record::BootId([7; 16])));
    assert_eq!(it.next(), None);
}

#[test]
fn encoder_limits() {
    assert_eq!(
        Packetizer::new(&minimal(), MIN_PACKET_SIZE - 1).err(),
        Some(EncodeError::PacketSizeTooSmall {
            max: MIN_PACKET_SIZE - 1
        })
    );
    assert!(Packetizer::new(&minimal(), MIN_PACKET_SIZE).is_ok());
    assert_eq!(
        packetize(&minimal(), 65535).max_packet_size(),
        MAX_PACKET_SIZE
    );

    let blob = [1u8; 129];
    let mut d = minimal();
    d.facts.user_blob = Some(&blob[..128]);
    assert!(Packetizer::new(&d, 512).is_ok());
    d.facts.user_blob = Some(&blob);
    assert_eq!(
        Packetizer::new(&d, 512).err(),
        Some(EncodeError::UserBlobTooLong { len: 129 })
    );

    let mut d = minimal();
    let none = Regs {
        source: RegsSource::None,
        regs: ArchRegs::X86_64(RegsX86_64::default()),
    };
    d.facts.regs = Some(&none);
    assert_eq!(
        Packetizer::new(&d, 512).err(),
        Some(EncodeError::RegsSourceNone)
    );
    let payload = [0u8; MAX_REGS_PAYLOAD_LEN + 1];
    let long = Regs {
        source: RegsSource::Fault,
        regs: ArchRegs::Other {
            arch: 9,
            payload: &payload,
        },
    };
    d.facts.regs = Some(&long);
    assert_eq!(
        Packetizer::new(&d, 512).err(),
        Some(EncodeError::RegsTooLong { len: 385 })
    );
    let longest = Regs {
        source: RegsSource::Fault,
        regs: ArchRegs::Other {
            arch: 9,
            payload: &payload[..MAX_REGS_PAYLOAD_LEN],
        },
    };
    d.facts.regs = Some(&longest);
    let p = packetize(&d, 512);
    let (buf, n) = write(&p, 0);
    assert!(n <= 512);
    assert!(parse_packet(&buf[..n]).is_ok());

    let mut d = minimal();
    d.facts.time = Some(Time {
        uptime_ns: 1,
        wall_sec: 2,
        wall_nsec: 1_000_000_000,
    });
    assert_eq!(
        Packetizer::new(&d, 512).err(),
        Some(EncodeError::BadWallNsec {
            nsec: 1_000_000_000
        })
    );

    let d = minimal();
    let p = packetize(&d, 512);
    let mut small = [0u8; 10];
    assert_eq!(
        p.write_packet(0, &mut small),
        Err(EncodeError::BufferTooSmall {
            need: HEADER_LEN + 32,
            have: 10
        })
    );
    let mut buf = [0u8; BUF];
    assert_eq!(
        p.write_packet(1, &mut buf),
        Err(EncodeError::IndexOutOfRange { index: 1, count: 1 })
    );
    assert_eq!(
        p.packet_len(1),
        Err(EncodeError::IndexOutOfRange { index: 1, count: 1 })
    );
}

#[test]
fn too_many_packets_is_an_error() {
    // 512-byte packets carry 444 log bytes each: 65535 packets cannot carry 30 MB.
    static BIG: [u8; 30_000_000] = [b'x'; 30_000_000];
    let mut d = minimal();
    d.log = &BIG;
    assert_eq!(
        Packetizer::new(&d, 512).err(),
        Some(EncodeError::TooManyPackets)
    );
    let p = packetize(&d, 1460);
    let last = p.packet_count() - 1;
    let (buf, n) = write(&p, last);
    assert!(parse_packet(&buf[..n]).is_ok());
}

#[test]
fn empty_strings_are_absent_and_long_strings_are_cut() {
    let long = [b'h'; 200];
    let mut d = minimal();
    d.facts.hostname = Some(&long);
    d.facts.arch = Some(b"");
    let p = packetize(&d, 512);
    let (buf, n) = write(&p, 0);
    let pkt = parse_packet(&buf[..n]).unwrap();
    let mut host = None;
    for r in pkt.records() {
        assert!(!matches!(r, Record::Arch(_)));
        if let Record::Hostname(h) = r {
            host = Some(h);
        }
    }
    assert_eq!(host, Some(&long[..MAX_STRING_LEN]));
}

#[test]
fn log_exactly_filling_packets() {
    // The first packet of `minimal()` has room for 1460-48-12-20-8 = 1372 log bytes, the
    // next ones for 1460-48-12-8 = 1392 each.
    static LOG: [u8; 1372 + 1393] = [b'a'; 1372 + 1393];
    for (len, count) in [
        (0, 1),
        (1, 1),
        (1372, 1),
        (1373, 2),
        (1372 + 1392, 2),
        (1372 + 1393, 3),
    ] {
        let mut d = minimal();
        d.log = &LOG[..len];
        let p = packetize(&d, 1460);
        assert_eq!(p.packet_count(), count, "log length {len}");
        let last = p.packet_len(count - 1).unwrap();
        if len == 1372 || len == 1372 + 1392 {
            assert_eq!(last, 1460);
        }
        assert!(last <= 1460);
    }
}

#[test]
fn header_fields_are_where_the_spec_says() {
    let p = packetize(&SOFT, 1460);
    let (buf, n) = write(&p, 0);
    assert_eq!(&buf[0..4], b"NtOp");
    assert_eq!(buf[4], 1);
    assert_eq!(buf[5], 1);
    assert_eq!(buf[6], 48);
    assert_eq!(buf[7], 0);
    assert_eq!(u16::from_le_bytes([buf[8], buf[9]]) as usize, n);
    assert_eq!(buf[10], 3);
    assert_eq!(buf[11], 0);
    let mut zeroed = buf;
    zeroed[12..16].fill(0);
    assert_eq!(
        u32::from_le_bytes(buf[12..16].try_into().unwrap()),
        crc32c(&zeroed[..n])
    );
    assert_eq!(&buf[16..32], &golden::BOOT_ID);
    assert_eq!(&buf[32..36], &2u32.to_le_bytes());
    assert_eq!(&buf[36..40], &[0, 0, 1, 0]);
    assert_eq!(&buf[40..44], &((n - 48) as u32).to_le_bytes());
    assert_eq!(&buf[44..48], &[0, 0, 0, 0]);
}

#[test]
fn decoder_rejects_each_header_defect() {
    let p = packetize(&SOFT, 1460);
    let (good, n) = write(&p, 0);
    let check = |f: &dyn Fn(&mut [u8; BUF]) -> usize, want: DecodeError| {
        let mut b = good;
        let len = f(&mut b);
        assert_eq!(parse_packet(&b[..len]).err(), Some(want));
    };
    check(&|_| 3, DecodeError::Truncated { need: 4, have: 3 });
    check(
        &|b| {
            b[0] = b'X';
            n
        },
        DecodeError::BadMagic { found: *b"XtOp" },
    );
    check(
        &|b| {
            b[4] = 3;
            n
        },
        DecodeError::UnsupportedVersion { version: 3 },
    );
    check(&|_| 47, DecodeError::Truncated { need: 48, have: 47 });
    check(
        &|b| {
            b[6] = 47;
            n
        },
        DecodeError::BadHeaderLen { header_len: 47 },
    );
    check(
        &|b| {
            b[8..10].copy_from_slice(&40u16.to_le_bytes());
            n
        },
        DecodeError::BadPacketLen {
            packet_len: 40,
            header_len: 48,
        },
    );
    check(
        &|_| n - 1,
        DecodeError::Truncated {
            need: n,
            have: n - 1,
        },
    );
    check(
        &|_| n + 1,
        DecodeError::TrailingBytes {
            packet_len: n,
            have: n + 1,
        },
    );
    let stored = u32::from_le_bytes(good[12..16].try_into().unwrap());
    let mut flipped = good;
    flipped[n - 1] ^= 0x80;
    let computed = packet_crc(&flipped[..n]);
    assert_eq!(
        parse_packet(&flipped[..n]).err(),
        Some(DecodeError::BadCrc {
            expected: stored,
            computed
        })
    );
    let fixed = |f: &dyn Fn(&mut [u8; BUF]), want: DecodeError| {
        let mut b = good;
        f(&mut b);
        fix_crc(&mut b[..n]);
        let err = parse_packet(&b[..n]).err();
        assert_eq!(err, Some(want));
    };
    fixed(
        &|b| b[5] = 2,
        DecodeError::UnsupportedPacketType { packet_type: 2 },
    );
    fixed(
        &|b| b[5] = 0,
        DecodeError::UnsupportedPacketType { packet_type: 0 },
    );
    fixed(&|b| b[36] = 1, DecodeError::BadIndex { index: 1, count: 1 });
    fixed(
        &|b| b[40] = b[40].wrapping_sub(1),
        DecodeError::BadLayout {
            packet_offset: 0,
            area_len: n - 48,
            dump_len: (n - 49) as u32,
        },
    );
    fixed(
        &|b| b[40] = b[40].wrapping_add(1),
        DecodeError::BadLayout {
            packet_offset: 0,
            area_len: n - 48,
            dump_len: (n - 47) as u32,
        },
    );
}

#[test]
fn longer_header_and_flags_are_accepted() {
    let p = packetize(&SOFT, 1460);
    let (good, n) = write(&p, 0);
    // Insert 8 unknown header bytes.
    let mut b = [0u8; BUF];
    b[..48].copy_from_slice(&good[..48]);
    b[48..56].copy_from_slice(&[0xEE; 8]);
    b[56..n + 8].copy_from_slice(&good[48..n]);
    b[6] = 56;
    b[7] = 0x80; // unknown flag bit
    b[11] = 0x55; // reserved byte: ignored
    b[8..10].copy_from_slice(&((n + 8) as u16).to_le_bytes());
    fix_crc(&mut b[..n + 8]);
    let pkt = parse_packet(&b[..n + 8]).expect("longer header");
    assert_eq!(pkt.header.header_len, 56);
    assert_eq!(pkt.record_area(), &good[48..n]);
    let orig = parse_packet(&good[..n]).unwrap();
    assert!(pkt.records().eq(orig.records()));
}

#[test]
fn decoder_rejects_each_record_defect() {
    let mut b = [0u8; BUF];
    type Case<'a> = (&'a [(u16, &'a [u8])], DecodeError);
    let cases: [Case<'_>; 12] = [
        (&[], DecodeError::MissingDumpInfo { offset: 48 }),
        (
            &[(rt::HOSTNAME, b"x")],
            DecodeError::MissingDumpInfo { offset: 48 },
        ),
        (
            &[(rt::DUMP_INFO, &INFO[..7])],
            DecodeError::BadRecordLength {
                offset: 48,
                ty: 1,
                len: 7,
            },
        ),
        (&[(0, b"")], DecodeError::InvalidRecordType { offset: 48 }),
        (
            &[(rt::DUMP_INFO, &INFO), (0x8001, b"")],
            DecodeError::UnknownCriticalRecord {
                offset: 60,
                ty: 0x8001,
            },
        ),
        (
            &[(rt::DUMP_INFO, &INFO), (rt::HOSTNAME, b"")],
            DecodeError::BadRecordLength {
                offset: 60,
                ty: rt::HOSTNAME,
                len: 0,
            },
        ),
        (
            &[(rt::DUMP_INFO, &INFO), (rt::DUMP_INFO, &INFO)],
            DecodeError::DuplicateRecord {
                offset: 60,
                ty: rt::DUMP_INFO,
            },
        ),
        (
            &[(rt::DUMP_INFO, &INFO), (rt::BOOT_ID, &[8; 16])],
            DecodeError::BootIdMismatch { offset: 60 },
        ),
        (
            &[
                (rt::DUMP_INFO, &INFO),
                (rt::LOG_CHUNK, &[6, 0, 0, 0, 1, 2, 3, 4, 5]),
            ],
            DecodeError::LogChunkOutOfRange {
                offset: 60,
                log_offset: 6,
                len: 5,
                log_len: 10,
            },
        ),
        (
            &[(rt::DUMP_INFO, &INFO), (rt::LOG_CHUNK, &[0, 0, 0, 0])],
            DecodeError::BadRecordLength {
                offset: 60,
                ty: rt::LOG_CHUNK,
                len: 4,
            },
        ),
        (
            &[
                (rt::DUMP_INFO, &INFO),
                (
                    rt::TIME,
                    &[
                        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xca, 0x9a, 0x3b,
                    ],
                ),
            ],
            DecodeError::BadRecordValue {
                offset: 60,
                ty: rt::TIME,
            },
        ),
        (
            // REGS with source "fault" while DUMP_INFO says "none".
            &[(rt::DUMP_INFO, &INFO), (rt::REGS, &[9, 0, 1, 0])],
            DecodeError::BadRecordValue {
                offset: 60,
                ty: rt::REGS,
            },
        ),
    ];
    for (records, want) in cases {
        let n = craft(records, &mut b);
        assert_eq!(parse_packet(&b[..n]).err(), Some(want), "{records:?}");
    }
    // A record whose length runs past the end, and a dangling partial record header.
    let n = craft(&[(rt::DUMP_INFO, &INFO), (rt::HOSTNAME, b"abc")], &mut b);
    b[62] = 4;
    fix_crc(&mut b[..n]);
    assert_eq!(
        parse_packet(&b[..n]).err(),
        Some(DecodeError::RecordOverrun { offset: 60 })
    );
    let n = craft(&[(rt::DUMP_INFO, &INFO), (rt::HOSTNAME, b"abc")], &mut b);
    b[8..10].copy_from_slice(&((n - 4) as u16).to_le_bytes());
    b[40..44].copy_from_slice(&((n - 52) as u32).to_le_bytes());
    fix_crc(&mut b[..n - 4]);
    assert_eq!(
        parse_packet(&b[..n - 4]).err(),
        Some(DecodeError::RecordOverrun { offset: 60 })
    );
}

#[test]
fn unknown_records_are_skipped_and_known_ones_may_grow() {
    let mut b = [0u8; BUF];
    let mut long_taint = [0u8; 12];
    long_taint[..8].copy_from_slice(&0x1201u64.to_le_bytes());
    let mut regs = [0u8; 4 + 168 + 8];
    regs[0] = 1;
    regs[2] = 1;
    regs[4 + 16 * 8] = 0x34; // ip
    let info = [0, 0, 0, 0, 0, 1, 0, 0, 0xAB];
    let n = craft(
        &[
            (rt::DUMP_INFO, &info),
            (0x0777, b"future"),
            (0x7F00, b""),
            (rt::TAINT, &long_taint),
            (rt::REDUNDANCY_INFO, b"parity"),
            (rt::REGS, &regs),
        ],
        &mut b,
    );
    let pkt = parse_packet(&b[..n]).expect("parse");
    assert_eq!(pkt.dump_info.regs_source, RegsSource::Fault);
    let mut it = pkt.records();
    assert!(matches!(it.next(), Some(Record::DumpInfo(_))));
    assert_eq!(
        it.next(),
        Some(Record::Unknown {
            ty: 0x0777,
            value: b"future"
        })
    );
    assert_eq!(
        it.next(),
        Some(Record::Unknown {
            ty: 0x7F00,
            value: b""
        })
    );
    assert_eq!(it.next(), Some(Record::Taint(0x1201)));
    assert_eq!(
        it.next(),
        Some(Record::Unknown {
            ty: rt::REDUNDANCY_INFO,
            value: b"parity"
        })
    );
    match it.next() {
        Some(Record::Regs(Regs {
            source: RegsSource::Fault,
            regs: ArchRegs::X86_64(r),
        })) => {
            assert_eq!(r.ip, 0x34);
            assert_eq!(r.r15, 0);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(it.next(), None);
}

#[test]
fn relate_packets() {
    let p = packetize(&OOPS, 512);
    let (b0, n0) = write(&p, 0);
    let (b1, n1) = write(&p, 1);
    let (b2, n2) = write(&p, 2);
    let p0 = parse_packet(&b0[..n0]).unwrap();
    let p1 = parse_packet(&b1[..n1]).unwrap();
    let p2 = parse_packet(&b2[..n2]).unwrap();
    assert_eq!(relate(&p0, &p0), Ok(Relation::Copy));
    assert_eq!(relate(&p0, &p1), Ok(Relation::Sibling));
    assert_eq!(relate(&p2, &p0), Ok(Relation::Sibling));
    let s = packetize(&SOFT, 512);
    let (bs, ns) = write(&s, 0);
    let ps = parse_packet(&bs[..ns]).unwrap();
    assert_eq!(relate(&p0, &ps), Ok(Relation::OtherDump));

    // Same dump key, but a packet claiming a different count / layout.
    let mut other = b1;
    other[38] ^= 1;
    fix_crc(&mut other[..n1]);
    let po = parse_packet(&other[..n1]).unwrap();
    assert_eq!(relate(&p0, &po), Err(Inconsistency::Count));
    let mut other = b1;
    other[44] ^= 1;
    fix_crc(&mut other[..n1]);
    let po = parse_packet(&other[..n1]).unwrap();
    assert_eq!(relate(&p0, &po), Err(Inconsistency::Layout));
    let mut other = b0;
    other[n0 - 1] ^= 1;
    fix_crc(&mut other[..n0]);
    let po = parse_packet(&other[..n0]).unwrap();
    assert_eq!(relate(&p0, &po), Err(Inconsistency::Conflict));
    let mut other = b1;
    other[10] = 2;
    fix_crc(&mut other[..n1]);
    let po = parse_packet(&other[..n1]).unwrap();
    assert_eq!(relate(&p0, &po), Err(Inconsistency::Reason));
}

#[test]
fn error_offsets() {
    assert_eq!(
        DecodeError::BadCrc {
            expected: 1,
            computed: 2
        }
        .offset(),
        12
    );
    assert_eq!(DecodeError::RecordOverrun { offset: 99 }.offset(), 99);
    assert_eq!(DecodeError::Truncated { need: 48, have: 20 }.offset(), 20);
    assert_eq!(DecodeError::BadMagic { found: [0; 4] }.offset(), 0);
}

#[test]
fn user_blob_and_regs_beyond_their_limits_are_malformed() {
    let mut out = [0u8; BUF];
    let blob = [0xab; MAX_USER_BLOB_LEN];
    let n = craft(&[(rt::DUMP_INFO, &INFO), (rt::USER_BLOB, &blob)], &mut out);
    assert!(parse_packet(&out[..n]).is_ok());
    let long = [0xab; MAX_USER_BLOB_LEN + 1];
    let n = craft(&[(rt::DUMP_INFO, &INFO), (rt::USER_BLOB, &long)], &mut out);
    assert!(matches!(
        parse_packet(&out[..n]),
        Err(DecodeError::BadRecordLength {
            ty: rt::USER_BLOB,
            len: 129,
            ..
        })
    ));
    // REGS: arch, source 1 (as DUMP_INFO says), reserved, then the payload.
    let info_fault = [10, 0, 0, 0, 0, 1, 0, 0];
    let mut regs = [0u8; 4 + MAX_REGS_PAYLOAD_LEN + 1];
    regs[..4].copy_from_slice(&[0xff, 0xff, 1, 0]);
    let n = craft(
        &[
            (rt::DUMP_INFO, &info_fault),
            (rt::REGS, &regs[..4 + MAX_REGS_PAYLOAD_LEN]),
        ],
        &mut out,
    );
    assert!(parse_packet(&out[..n]).is_ok());
    let n = craft(&[(rt::DUMP_INFO, &info_fault), (rt::REGS, &regs)], &mut out);
    assert!(matches!(
        parse_packet(&out[..n]),
        Err(DecodeError::BadRecordLength { ty: rt::REGS, .. })
    ));
}

/// A held packet parses again without its CRC and later records being checked, to the same
/// header and `DUMP_INFO` as when it was received.
#[test]
fn held_packets_parse_again_to_the_same_header_and_dump_info() {
    let dump = OOPS;
    let p = packetize(&dump, 600);
    for i in 0..p.packet_count() {
        let (mut buf, n) = write(&p, i);
        let fresh = parse_packet(&buf[..n]).expect("valid");
        let held = parse_held_packet(&buf[..n]).expect("held");
        assert_eq!(
            (held.header, held.dump_info),
            (fresh.header, fresh.dump_info)
        );
        assert_eq!(held.bytes(), fresh.bytes());
        // Only a fresh packet's CRC is checked.
        buf[n - 1] ^= 1;
        assert!(matches!(
            parse_packet(&buf[..n]),
            Err(DecodeError::BadCrc { .. })
        ));
        assert!(parse_held_packet(&buf[..n]).is_ok());
    }
}
