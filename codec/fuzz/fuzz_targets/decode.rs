//! Fuzzes the decoder: any byte string must give a packet or an error, never a panic, and
//! whatever parses must iterate, relate to itself as a copy, and keep offsets in range. The
//! same for version 2's parity packets and for opening sealed packets (under the golden
//! vectors' test key): what opens must be a packet of the same length minus the seal.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netoops_codec::wire::{
    golden, open_packet, packet_crc, parse_packet, parse_parity, relate, Relation, SEAL_OVERHEAD,
};

fn check(data: &[u8]) {
    match parse_packet(data) {
        Ok(p) => {
            assert_eq!(p.bytes().len(), data.len());
            assert_eq!(usize::from(p.header.packet_len), data.len());
            let mut n = 0usize;
            for r in p.records() {
                n += 1;
                let _ = r.ty();
            }
            assert!(n >= 1, "DUMP_INFO is always there");
            assert_eq!(relate(&p, &p), Ok(Relation::Copy));
        }
        Err(e) => {
            assert!(
                e.offset() <= data.len().max(48),
                "{e:?} offset out of range"
            );
            let _ = e.to_string();
        }
    }
}

fn check_v2(data: &[u8]) {
    if let Ok(p) = parse_parity(data) {
        assert!(p.header.index >= p.header.count);
        assert_eq!(p.bytes.len(), data.len());
        assert_eq!(p.shard.len() + usize::from(p.header.header_len), data.len());
    }
    let mut out = vec![0u8; data.len()];
    if let Ok(n) = open_packet(data, |_| Some(&golden::TEST_KEY), &mut out) {
        assert_eq!(n + SEAL_OVERHEAD, data.len());
        check(&out[..n]);
        let _ = parse_parity(&out[..n]);
    }
}

fuzz_target!(|data: &[u8]| {
    check(data);
    check_v2(data);
    // Also with the CRC made valid, so that mutations reach the record parser.
    if data.len() >= 16 {
        let mut fixed = data.to_vec();
        let c = packet_crc(&fixed);
        fixed[12..16].copy_from_slice(&c.to_le_bytes());
        check(&fixed);
    }
});
