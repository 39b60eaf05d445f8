//! Fuzzes the decoder: any byte string must give a packet or an error, never a panic, and
//! whatever parses must iterate, relate to itself as a copy, and keep offsets in range.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netoops_codec::wire::{packet_crc, parse_packet, relate, Relation};

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
            assert!(e.offset() <= data.len().max(48), "{e:?} offset out of range");
            let _ = e.to_string();
        }
    }
}

fuzz_target!(|data: &[u8]| {
    check(data);
    // Also with the CRC made valid, so that mutations reach the record parser.
    if data.len() >= 16 {
        let mut fixed = data.to_vec();
        let c = packet_crc(&fixed);
        fixed[12..16].copy_from_slice(&c.to_le_bytes());
        check(&fixed);
    }
});
