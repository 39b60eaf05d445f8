//! Version 2 in the codec: the compressed pieces (inflated by miniz_oxide), the plan
//! (every packet within the size, valid, tiling the dump), parity (any `k` of `k + m`
//! rebuild the data packets), and sealing (XChaCha20-Poly1305 exactly as RustCrypto's).

use netoops_codec::fec;
use netoops_codec::seal::chacha20::hchacha20;
use netoops_codec::sender::{compress, encode_v2, Options};
use netoops_codec::wire::{
    golden, open_packet, parse_packet, parse_parity, piece_range, rebuild_data_packet, shard_area,
    Dump, Record, SealingKey, HEADER_LEN, PIECE_LEN, SEAL_OVERHEAD, SHARD_PREFIX_LEN,
};
use proptest::prelude::*;

fn log_of(len: usize, seed: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = seed;
    while out.len() < len {
        i = i
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let line = format!(
            "[{:5}.{:06}] worker/{}: event {} at {:#x}\n",
            (i >> 40) % 10000,
            (i >> 20) % 1_000_000,
            i % 8,
            (i >> 8) % 50,
            (i >> 16) & 0xfff0
        );
        out.extend_from_slice(line.as_bytes());
    }
    out.truncate(len);
    out
}

fn dump(log: &[u8]) -> Dump<'_> {
    Dump {
        log,
        log_truncated: false,
        ..golden::OOPS
    }
}

#[test]
fn hchacha20_draft_xchacha_2_2_1() {
    let key: [u8; 32] = core::array::from_fn(|i| i as u8);
    let nonce = [
        0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x4a, 0x00, 0x00, 0x00, 0x00, 0x31, 0x41, 0x59,
        0x27,
    ];
    let want = [
        0x82, 0x41, 0x3b, 0x42, 0x27, 0xb2, 0x7b, 0xfe, 0xd3, 0x0e, 0x42, 0x50, 0x8a, 0x87, 0x7d,
        0x73, 0xa0, 0xf9, 0xe4, 0xd5, 0x8a, 0x74, 0xa8, 0x53, 0xc1, 0x2e, 0xc4, 0x13, 0x26, 0xd3,
        0xec, 0xdc,
    ];
    assert_eq!(hchacha20(&key, &nonce), want);
}

#[test]
fn pieces_are_reversed_deflate_streams_newest_first() {
    let log = log_of(150_000, 1);
    let (pieces, z) = compress(&log).unwrap();
    assert_eq!(pieces.len(), 3);
    let mut at = 0usize;
    for (p, piece) in pieces.iter().enumerate() {
        let (start, end) = piece_range(log.len(), p).unwrap();
        assert_eq!(
            (piece.log_start as usize, piece.log_len as usize),
            (start, end - start)
        );
        assert!(end - start <= PIECE_LEN);
        let bytes = &z[at..at + piece.z_len as usize];
        at += piece.z_len as usize;
        let mut plain = miniz_oxide::inflate::decompress_to_vec(bytes).unwrap();
        plain.reverse();
        assert!(plain == log[start..end], "piece {p} differs");
    }
    assert_eq!(at, z.len());
    let ratio = log.len() as f64 / z.len() as f64;
    assert!(ratio > 2.0, "ratio {ratio}");
}

/// The data packets of an encoding, parsed, tile the dump and carry every piece's bytes.
fn check_plan(log: &[u8], max_packet: usize, parity_percent: u32) {
    let d = dump(log);
    let packets = encode_v2(
        &d,
        &Options {
            max_packet,
            parity_percent,
            seal: None,
        },
    )
    .unwrap();
    let first = parse_packet(&packets[0]).unwrap();
    let count = usize::from(first.header.count);
    let mut next_offset = 0u32;
    let (pieces, z) = compress(log).unwrap();
    let mut got_z: Vec<Vec<Option<u8>>> = pieces
        .iter()
        .map(|p| vec![None; p.z_len as usize])
        .collect();
    for (i, bytes) in packets.iter().enumerate() {
        assert!(
            bytes.len() + if i < count { SHARD_PREFIX_LEN } else { 0 } <= max_packet.min(1460),
            "log {} max {max_packet} parity {parity_percent}%: packet {i}: {} bytes",
            log.len(),
            bytes.len()
        );
        if i < count {
            let p = parse_packet(bytes).unwrap();
            assert_eq!(p.header.version, 2);
            assert_eq!(usize::from(p.header.index), i);
            assert_eq!(p.header.packet_offset, next_offset);
            next_offset += (bytes.len() - HEADER_LEN) as u32;
            for r in p.records() {
                if let Record::LogZChunk {
                    piece_start,
                    z_offset,
                    data,
                    ..
                } = r
                {
                    let k = pieces
                        .iter()
                        .position(|q| q.log_start == piece_start)
                        .unwrap();
                    for (j, b) in data.iter().enumerate() {
                        let slot = &mut got_z[k][z_offset as usize + j];
                        assert!(slot.is_none(), "overlap");
                        *slot = Some(*b);
                    }
                }
                assert!(!matches!(r, Record::LogChunk { .. }));
            }
        } else {
            let p = parse_parity(bytes).unwrap();
            assert_eq!(usize::from(p.header.index), i);
        }
    }
    assert_eq!(next_offset, first.header.dump_len);
    let flat: Vec<u8> = got_z
        .into_iter()
        .flatten()
        .map(|b| b.expect("z byte sent"))
        .collect();
    assert!(flat == z, "compressed bytes differ");
    let k = count.min(fec::MAX_DATA_SHARDS);
    let m = packets.len() - count;
    assert_eq!(
        m,
        ((k * parity_percent as usize).div_ceil(100)).min(fec::MAX_PARITY_SHARDS)
    );
}

#[test]
fn plans_tile_the_dump_at_every_size() {
    for len in [0usize, 1, 500, 4000, 65_536, 65_537, 200_000] {
        for max in [512usize, 576, 1000, 1460, 9000] {
            for pct in [0u32, 10, 50, 100] {
                check_plan(&log_of(len, len as u64), max, pct);
            }
        }
    }
}

/// Rebuilds the data packets from those held (data and parity, unsealed) as a receiver does.
fn rebuild(packets: &[Option<&Vec<u8>>], count: usize) -> Vec<Vec<u8>> {
    let k = count.min(fec::MAX_DATA_SHARDS);
    if packets[..k].iter().all(Option::is_some) {
        return packets[..k].iter().map(|p| p.unwrap().clone()).collect();
    }
    let parity: Vec<_> = packets[count..]
        .iter()
        .enumerate()
        .filter_map(|(j, p)| p.map(|p| (j, parse_parity(p).unwrap())))
        .collect();
    let template = parity[0].1.header;
    let l = parity[0].1.shard.len();
    let m = packets.len() - count;
    let mut shards = vec![vec![0u8; l]; k + m];
    let mut present = vec![false; k + m];
    for i in 0..k {
        if let Some(p) = packets[i] {
            let area = &p[HEADER_LEN..];
            shards[i][..2].copy_from_slice(&(area.len() as u16).to_le_bytes());
            shards[i][2..2 + area.len()].copy_from_slice(area);
            present[i] = true;
        }
    }
    for (j, p) in &parity {
        shards[k + j].copy_from_slice(p.shard);
        present[k + j] = true;
    }
    let mut refs: Vec<&mut [u8]> = shards.iter_mut().map(Vec::as_mut_slice).collect();
    fec::reconstruct_data(k, &mut refs, &present).unwrap();
    let mut out = Vec::new();
    let mut off = 0u32;
    for (i, s) in shards.iter().take(k).enumerate() {
        let area = shard_area(s).unwrap();
        let mut buf = vec![0u8; 2000];
        let n = rebuild_data_packet(&template, i as u16, off, area, &mut buf).unwrap();
        off += area.len() as u32;
        out.push(buf[..n].to_vec());
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn any_k_of_k_plus_m_rebuild_every_data_packet_byte_for_byte(
        len in 0usize..40_000,
        pct in 10u32..=100,
        max in prop::sample::select(vec![512usize, 1000, 1460]),
        seed in any::<u64>(),
        drop_seed in any::<u64>(),
    ) {
        let log = log_of(len, seed);
        let packets = encode_v2(&dump(&log), &Options { max_packet: max, parity_percent: pct, seal: None }).unwrap();
        let count = usize::from(parse_packet(&packets[0]).unwrap().header.count);
        let m = packets.len() - count;
        prop_assume!(m > 0 && count <= fec::MAX_DATA_SHARDS);
        // Drop m packets chosen by drop_seed.
        let mut order: Vec<usize> = (0..packets.len()).collect();
        let mut s = drop_seed;
        for i in (1..order.len()).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1);
            order.swap(i, (s >> 33) as usize % (i + 1));
        }
        let dropped = &order[..m];
        let held: Vec<Option<&Vec<u8>>> = packets
            .iter()
            .enumerate()
            .map(|(i, p)| (!dropped.contains(&i)).then_some(p))
            .collect();
        let rebuilt = rebuild(&held, count);
        for i in 0..count {
            prop_assert!(rebuilt[i] == packets[i], "packet {} differs", i);
        }
    }

    #[test]
    fn sealing_is_xchacha20_poly1305_and_opens_back(
        len in 0usize..5000,
        key in any::<[u8; 32]>(),
        salt in any::<[u8; 16]>(),
        counter in any::<u64>(),
        id in 1u8..=255,
    ) {
        use chacha20poly1305::aead::{AeadInPlace, KeyInit};
        use chacha20poly1305::XChaCha20Poly1305;
        let log = log_of(len, counter);
        let sk = SealingKey::new(id, &key, salt);
        let plain_opts = Options { max_packet: 1460, parity_percent: 50, seal: None };
        let sealed_opts = Options { seal: Some((sk, counter)), ..plain_opts.clone() };
        // Plans differ (sealed packets leave room for nonce and tag); compare packet by
        // packet against the unsealed encoding of the same plan, which opening gives back.
        let sealed = encode_v2(&dump(&log), &sealed_opts).unwrap();
        for (c, s) in sealed.iter().enumerate() {
            prop_assert!(s.len() <= 1460);
            prop_assert_eq!((s[4], s[6], s[7] & 2, s[11]), (2, 72, 2, id));
            prop_assert_eq!(&s[12..16], &[0u8; 4]);
            let mut nonce = [0u8; 24];
            nonce[..16].copy_from_slice(&salt);
            nonce[16..].copy_from_slice(&counter.wrapping_add(c as u64).to_le_bytes());
            prop_assert_eq!(&s[48..72], &nonce[..]);
            // RustCrypto opens it.
            let body_end = s.len() - 16;
            let mut body = s[72..body_end].to_vec();
            let cipher = XChaCha20Poly1305::new((&key).into());
            prop_assert!(cipher
                .decrypt_in_place_detached((&nonce).into(), &s[..72], &mut body, s[body_end..].into())
                .is_ok());
            // Ours opens it into the unsealed packet: same body, valid CRC.
            let mut out = vec![0u8; s.len()];
            let n = open_packet(s, |k| (k == id).then_some(&key), &mut out).unwrap();
            prop_assert_eq!(n, s.len() - SEAL_OVERHEAD);
            prop_assert_eq!(&out[48..n], &body[..]);
            let opened = &out[..n];
            prop_assert!(parse_packet(opened).is_ok() || parse_parity(opened).is_ok());
            // The wrong key, or one flipped bit, never opens.
            let other = [key[0] ^ 1; 32];
            prop_assert!(open_packet(s, |_| Some(&other), &mut out).is_err());
            let mut bad = s.clone();
            let at = (counter as usize) % bad.len();
            bad[at] ^= 0x01;
            prop_assert!(open_packet(&bad, |_| Some(&key), &mut out).is_err());
        }
    }
}

#[test]
fn parity_from_written_slots_equals_computed_parity() {
    use netoops_codec::sender::compress;
    use netoops_codec::wire::{CompressedLog, Packetizer, V2};
    for len in [100usize, 5000, 40_000, 70_000] {
        let log = log_of(len, 3);
        let d = dump(&log);
        let (pieces, z) = compress(&log).unwrap();
        let v2 = V2 {
            log: CompressedLog {
                pieces: &pieces,
                z: &z,
            },
            sealed: false,
            parity_percent: 60,
        };
        let plan = Packetizer::new_v2(&d, v2, 1000).unwrap();
        let stride = plan.max_packet_size();
        let mut slots = vec![0u8; stride * usize::from(plan.packet_count())];
        for i in 0..plan.packet_count() {
            let at = usize::from(i) * stride;
            plan.write_packet(i, &mut slots[at..at + stride]).unwrap();
        }
        let before = slots.clone();
        let mut a = vec![0u8; 64 * 1460];
        let mut b = vec![0u8; 64 * 1460];
        let mut tmp = vec![0u8; 1460];
        let na = plan.compute_parity(&mut tmp, &mut a).unwrap();
        let nb = plan.parity_from_slots(&mut slots, stride, &mut b).unwrap();
        assert_eq!(na, nb);
        assert!(a[..na] == b[..nb], "len {len}: parity differs");
        assert!(slots == before, "len {len}: the slots were not put back");
    }
}
