//! Version 2 end to end on the host: the reference sender's datagrams (compressed, with
//! parity, sealed or not) through netoopsd's reassembly: losses that parity covers, losses
//! it cannot, keys, forgeries and replays.

use netoops_codec::sender::{encode_v2, Options};
use netoops_codec::wire::{golden, Dump, SealingKey};
use netoopsd::keys::Keys;
use netoopsd::reassembly::{Origin, Outcome, Reassembler};

const KEY: [u8; 32] = [0x42; 32];

/// A kernel-like log of `len` bytes (timestamps, repeated subsystems, numbers).
fn kernel_log(len: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0u64;
    while out.len() < len {
        let line = match i % 5 {
            0 => format!(
                "[{:5}.{:06}] eth0: link up, speed {} Mb/s\n",
                i / 7,
                i * 7919 % 1_000_000,
                1000 + i % 3
            ),
            1 => format!(
                "[{:5}.{:06}] RIP: 0010:worker_fn+0x{:x}/0x1a0\n",
                i / 7,
                i * 104_729 % 1_000_000,
                i % 400
            ),
            2 => format!(
                "[{:5}.{:06}] CPU: {} PID: {} Comm: kworker/{}:1\n",
                i / 7,
                i * 31 % 1_000_000,
                i % 4,
                1000 + i,
                i % 4
            ),
            3 => format!(
                "[{:5}.{:06}] R10: {:016x} R11: {:016x}\n",
                i / 7,
                i * 13 % 1_000_000,
                i.wrapping_mul(0x9e37_79b9_7f4a_7c15),
                i << 12
            ),
            _ => format!(
                "[{:5}.{:06}] audit: type=1400 audit({}.{}:{}) apparmor=\"DENIED\"\n",
                i / 7,
                i % 1_000_000,
                1_700_000_000 + i,
                i % 1000,
                i
            ),
        };
        out.extend_from_slice(line.as_bytes());
        i += 1;
    }
    out.truncate(len);
    out
}

fn dump(log: &[u8]) -> Dump<'_> {
    Dump {
        log,
        log_truncated: true,
        ..golden::OOPS
    }
}

fn opts(parity_percent: u32, seal: bool) -> Options {
    Options {
        max_packet: 1460,
        parity_percent,
        seal: seal.then(|| (SealingKey::new(3, &KEY, [7; 16]), 1000)),
    }
}

fn origin(i: usize) -> Origin {
    Origin {
        source: "test".into(),
        offset: i as u64,
    }
}

fn receive(packets: &[Vec<u8>], keys: Option<Keys>) -> Reassembler {
    let mut r = Reassembler::new();
    r.keys = keys;
    for (i, p) in packets.iter().enumerate() {
        r.push(p, origin(i));
    }
    r
}

fn keys() -> Keys {
    Keys::parse(&format!("3 {}\n", "42".repeat(32)), "test").unwrap()
}

#[test]
fn a_full_64_kib_log_arrives_whole_in_few_packets() {
    let log = kernel_log(64 * 1024);
    let packets = encode_v2(&dump(&log), &opts(50, false)).unwrap();
    let r = receive(&packets, None);
    let d = r.dumps().next().unwrap();
    assert!(d.is_complete(), "missing {:?}", d.missing_log());
    assert!(d.full_log().unwrap() == log, "log differs");
    assert_eq!(r.stats.malformed, 0);
    let data = d.count as usize;
    let parity = packets.len() - data;
    assert_eq!(parity, (data * 50).div_ceil(100));
    eprintln!("64 KiB log: {data} data + {parity} parity packets");
    assert!(packets.len() <= 24, "{} packets", packets.len());
}

#[test]
fn any_m_lost_packets_are_rebuilt_from_parity() {
    let log = kernel_log(40 * 1024);
    let packets = encode_v2(&dump(&log), &opts(50, false)).unwrap();
    let n = packets.len();
    let d0 = receive(&packets, None);
    let k = d0.dumps().next().unwrap().count as usize;
    let m = n - k;
    // Every window of m consecutive packets lost, and m spread ones.
    let mut cases: Vec<Vec<usize>> = (0..=n - m).map(|s| (s..s + m).collect()).collect();
    cases.push((0..m).map(|j| j * n / m).collect());
    for lost in cases {
        let kept: Vec<Vec<u8>> = packets
            .iter()
            .enumerate()
            .filter(|(i, _)| !lost.contains(i))
            .map(|(_, p)| p.clone())
            .collect();
        let r = receive(&kept, None);
        let d = r.dumps().next().unwrap();
        assert!(
            d.is_complete(),
            "lost {lost:?}: missing {:?}",
            d.missing_log()
        );
        assert!(d.full_log().unwrap() == log, "lost {lost:?}: log differs");
        let lost_data = lost.iter().filter(|&&i| i < k).count() as u64;
        assert_eq!(r.stats.recovered, lost_data, "lost {lost:?}");
    }
}

#[test]
fn beyond_the_parity_the_newest_log_survives() {
    let log = kernel_log(64 * 1024);
    let packets = encode_v2(&dump(&log), &opts(0, false)).unwrap();
    // A dump cut short: the last third of the data packets (the oldest log) never sent.
    let keep = packets.len() * 2 / 3;
    let r = receive(&packets[..keep], None);
    let d = r.dumps().next().unwrap();
    assert!(!d.is_complete());
    let missing = d.missing_log();
    assert_eq!(missing.len(), 1, "{missing:?}");
    assert_eq!(
        missing[0].0, 0,
        "the hole is at the oldest end: {missing:?}"
    );
    let seg = d.log_segments();
    let last = seg.last().unwrap();
    assert_eq!(last.offset + last.bytes.len() as u64, log.len() as u64);
    assert!(
        last.bytes == log[last.offset as usize..],
        "the newest bytes differ"
    );
    assert!(
        last.bytes.len() > log.len() / 3,
        "{} bytes kept",
        last.bytes.len()
    );
}

#[test]
fn sealed_dumps_open_only_under_their_key() {
    let log = kernel_log(20 * 1024);
    let sealed = encode_v2(&dump(&log), &opts(25, true)).unwrap();
    let plain = encode_v2(&dump(&log), &opts(25, false)).unwrap();
    // Opened, a sealed dump is whole, and what is held is unsealed (what the sender sealed).
    let r = receive(&sealed, Some(keys()));
    let d = r.dumps().next().unwrap();
    assert!(d.is_complete());
    assert!(d.full_log().unwrap() == log, "log differs");
    assert_eq!(d.facts.hostname.as_deref(), Some(&b"qemu-test"[..]));
    assert_eq!(d.raw_packets().count(), sealed.len());
    for p in d.raw_packets() {
        assert_eq!((p[4], p[6], p[7] & 2, p[11]), (2, 48, 0, 0));
    }

    // No keys: sealed packets are refused, never stored.
    let r = receive(&sealed, None);
    assert_eq!(r.dumps().count(), 0);
    assert_eq!(r.stats.refused, sealed.len() as u64);
    // Keys configured: unsealed packets are refused.
    let r = receive(&plain, Some(keys()));
    assert_eq!(r.dumps().count(), 0);
    assert_eq!(r.stats.refused, plain.len() as u64);
    // Another key under the same id: every packet fails authentication.
    let other = Keys::parse(&format!("3 {}\n", "43".repeat(32)), "t").unwrap();
    let mut r = Reassembler::new();
    r.keys = Some(other);
    for (i, p) in sealed.iter().enumerate() {
        assert!(matches!(r.push(p, origin(i)), Outcome::Refused(_)));
    }
    assert_eq!(r.dumps().count(), 0);
    // One flipped bit anywhere (header, nonce, body or tag): refused.
    for at in [5usize, 11, 20, 50, 80, 300, sealed[0].len() - 1] {
        let mut bad = sealed[0].clone();
        bad[at] ^= 0x10;
        let mut r = Reassembler::new();
        r.keys = Some(keys());
        let out = r.push(&bad, origin(0));
        assert!(
            matches!(out, Outcome::Refused(_) | Outcome::Malformed(_)),
            "flip at {at}: {out:?}"
        );
        assert_eq!(r.dumps().count(), 0, "flip at {at}");
    }
}

#[test]
fn a_replayed_sealed_dump_changes_nothing() {
    let log = kernel_log(10 * 1024);
    let sealed = encode_v2(&dump(&log), &opts(25, true)).unwrap();
    // The same dump sealed again (a second target, or a copy): other nonces, same content.
    let mut again = opts(25, true);
    again.seal = Some((SealingKey::new(3, &KEY, [9; 16]), 0));
    let resealed = encode_v2(&dump(&log), &again).unwrap();
    assert_ne!(sealed, resealed);
    let mut all = sealed.clone();
    all.extend(sealed.iter().cloned());
    all.extend(resealed.iter().cloned());
    let r = receive(&all, Some(keys()));
    assert_eq!(r.dumps().count(), 1);
    let d = r.dumps().next().unwrap();
    assert!(d.is_complete());
    assert_eq!(r.stats.added, sealed.len() as u64);
    assert_eq!(r.stats.duplicates, 2 * sealed.len() as u64);
    assert_eq!(r.stats.inconsistent, 0);
}
