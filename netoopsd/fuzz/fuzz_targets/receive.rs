//! Fuzzes the collector's receive path: a sequence of datagrams (random, or mutated netoops
//! packets with their CRC optionally made valid so that mutations reach the record checks
//! and reassembly) from two senders, with the clock moving. Every datagram must be counted
//! once, nothing may panic, and every dump handed out must be sound and store and reload
//! as it was: no corrupt report is ever stored. Stored together, reports of one dump are kept
//! once (`Store::put`).
//!
//! Version-2 packets (compressed pieces, parity, sealed under the golden vectors' test key)
//! go the same way: when the first input byte is odd the collector holds that key, and only
//! packets that open under it may be taken.
//!
//! Input: [mode u8], then repeated [flags u8][len u16 LE][len bytes]; mode bit 0: the
//! collector has the test key; mode bit 1: only 127.0.0.0/8 is allowed; flags bit 0: fix the CRC, bit 1: the second sender, bits
//! 2-7: seconds the clock advances before the datagram.
#![no_main]

use std::net::IpAddr;
use std::time::{Duration, Instant, SystemTime};

use libfuzzer_sys::fuzz_target;
use netoops_codec::wire::{golden, packet_crc, CRC_OFFSET};
use netoopsd::caps::Caps;
use netoopsd::keys::Keys;
use netoopsd::live::{Collector, Finished, Limits};
use netoopsd::packets::Packets;
use netoopsd::reassembly::{parse_incoming, DumpState};
use netoopsd::store::sqlite::SqliteStore;
use netoopsd::store::{NewReport, Store};

fn check(f: &Finished, store: &mut SqliteStore) {
    let d = &f.dump;
    assert!(d.packets.len() <= usize::from(d.count));
    if d.is_complete() {
        assert_eq!(d.packets.len(), usize::from(d.count));
    }
    for raw in d.raw_packets() {
        let p = parse_incoming(raw).expect("a held packet is valid");
        assert_eq!(p.key(), d.key);
    }
    // Taken out of the dump (the buffer they came in when in order), the same packets.
    let raw: Packets = d.raw_packets().collect();
    assert_eq!(d.clone().into_raw_packets(), raw);
    if d.is_complete() {
        let log = d.full_log().expect("a complete dump has its whole log");
        assert_eq!(log.len(), d.info.log_len as usize);
        assert!(d.missing_log().is_empty());
    }
    let r = NewReport::from_finished(f, SystemTime::UNIX_EPOCH);
    // Stored on its own, the report comes back as it was.
    let mut alone = SqliteStore::in_memory().expect("in-memory store");
    let ids = alone.put(std::slice::from_ref(&r)).expect("store");
    let back = alone.get(ids[0]).expect("get").expect("stored");
    assert_eq!(back.packets, r.packets);
    assert_eq!(back.report.fields, r.fields);
    // Among the reports before it, a report of a dump already stored (the same key from the
    // same machine) is stored once: a stored complete report stays, a partial one is replaced
    // only by one holding more of the dump's data packets, or as many and more parity.
    let ids = store.put(std::slice::from_ref(&r)).expect("store");
    let kept = store.get(ids[0]).expect("get").expect("stored");
    let k = &kept.report.fields;
    assert_eq!((&k.boot_id, k.seq, &k.reason), (&r.fields.boot_id, r.fields.seq, &r.fields.reason));
    let held = (k.packets_received, kept.packets.len());
    assert!(k.complete || held >= (r.fields.packets_received, r.packets.len()));
    let again = DumpState::from_packets(back.packets.iter().map(Vec::as_slice), "fuzz")
        .expect("stored packets decode");
    assert_eq!(again.packets.len(), d.packets.len());
    assert_eq!(again.is_complete(), d.is_complete());
    assert_eq!(again.missing_log(), d.missing_log());
}

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        partial_timeout: Duration::from_secs(5),
        max_pending: 4,
        max_pending_bytes: 64 << 10,
        finished_ttl: Duration::from_secs(60),
        max_finished: 8,
        max_kept_partial_bytes: 16 << 10,
        // Small caps per source, so that sequences reach them (and, with mode bit 1, an
        // allow-list that refuses the second sender).
        caps: Caps {
            allow: if data.first().is_some_and(|m| m & 2 != 0) {
                vec!["127.0.0.0/8".parse().unwrap()]
            } else {
                Vec::new()
            },
            max_pending_per_source: 3,
            max_pending_bytes_per_source: 48 << 10,
            new_dumps_per_minute: 6,
            new_dumps_burst: 3,
            bytes_per_source_per_hour: 256 << 10,
            max_sources: 1,
        },
    };
    let mut c = Collector::new(limits);
    let Some((&mode, data)) = data.split_first() else {
        return;
    };
    if mode & 1 != 0 {
        let hex: String = golden::TEST_KEY
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        c.keys = Some(Keys::parse(&format!("{} {hex}", golden::TEST_KEY_ID), "fuzz").unwrap());
    }
    let mut store = SqliteStore::in_memory().expect("in-memory store");
    let senders: [IpAddr; 2] = ["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()];
    let mut now = Instant::now();
    let wall = SystemTime::UNIX_EPOCH;
    let mut out = Vec::new();
    let mut rest = data;
    let mut n = 0u64;
    while rest.len() >= 3 {
        let flags = rest[0];
        let len = usize::from(u16::from_le_bytes([rest[1], rest[2]])).min(rest.len() - 3);
        let mut pkt = rest[3..3 + len].to_vec();
        rest = &rest[3 + len..];
        if flags & 1 != 0 && pkt.len() >= CRC_OFFSET + 4 {
            let crc = packet_crc(&pkt);
            pkt[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_le_bytes());
        }
        now += Duration::from_secs(u64::from(flags >> 2));
        c.expire(now, &mut out);
        c.push(
            &pkt,
            senders[usize::from(flags >> 1 & 1)],
            now,
            wall,
            &mut out,
        );
        n += 1;
    }
    c.drain(now, &mut out);
    let k = &c.counters;
    assert_eq!(k.packets, n);
    let refused: u64 = k.refused.values().sum();
    assert_eq!(
        k.added + k.duplicates + k.inconsistent + k.malformed_total() + refused + k.late,
        n
    );
    assert_eq!(k.complete + k.partial, out.len() as u64);
    for f in &out {
        check(f, &mut store);
    }
});
