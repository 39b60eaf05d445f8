//! "Bounded under attack" (issue 13 item 3): a real `netoopsd listen` on loopback with small
//! caps is sprayed for a bounded time (8 s) from 590 loopback source addresses with validly
//! encoded packets (they pass the CRC and parsing and reach the caps): random dump keys from
//! 160 addresses, fast, and from 400, slowly; large never-ending dumps from 20; and packets
//! from 10 addresses outside the allow-list. During the flood one real dump is sent from another address. The collector's
//! memory and database stay under bounds derived from the caps, the real dump is stored
//! complete, every cap refuses packets under its own name, and every datagram sent is
//! accounted for.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use netoops_codec::wire::golden::OOPS;
use netoops_codec::wire::{packet_crc, Dump, CRC_OFFSET};
use serde_json::Value;

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;

// The caps under test.
const MAX_PENDING: u64 = 256;
const MAX_PENDING_BYTES: u64 = 2 * MIB;
const MAX_KEPT: u64 = MIB;
const PER_SOURCE_PENDING: u64 = 4;
const PER_SOURCE_BYTES: u64 = 24 * KIB;
const NEW_PER_MINUTE: u64 = 60;
const BURST: u64 = 8;
const BYTES_PER_HOUR: u64 = 16 * KIB;
const MAX_SOURCES: u64 = 64;
const RETAIN_BYTES: u64 = 2 * MIB;
/// The channel from the receiving to the storing thread (listen.rs).
const CHANNEL: u64 = 1024;
/// Largest packet sent, and its reassembly memory (`DumpState::memory`: twice its bytes).
const PACKET: u64 = 1460;

const FLOOD: Duration = Duration::from_secs(8);

fn caps_args() -> Vec<String> {
    let s = |v: u64| v.to_string();
    [
        ("--partial-timeout", s(1)),
        ("--max-pending", s(MAX_PENDING)),
        ("--max-pending-bytes", s(MAX_PENDING_BYTES)),
        ("--max-kept-partial-bytes", s(MAX_KEPT)),
        ("--max-pending-per-source", s(PER_SOURCE_PENDING)),
        ("--max-pending-bytes-per-source", s(PER_SOURCE_BYTES)),
        ("--max-new-dumps-per-source", s(NEW_PER_MINUTE)),
        ("--new-dumps-burst", s(BURST)),
        ("--max-bytes-per-source-per-hour", s(BYTES_PER_HOUR)),
        ("--max-sources", s(MAX_SOURCES)),
        ("--allow", "127.0.0.0/9".into()),
        ("--retain-bytes", s(RETAIN_BYTES)),
    ]
    .into_iter()
    .flat_map(|(k, v)| [k.to_string(), v])
    .collect()
}

struct Run {
    child: std::process::Child,
    addr: SocketAddr,
    stdout: std::sync::mpsc::Receiver<String>,
    stderr: BufReader<std::process::ChildStderr>,
}

fn start(db: &Path, timeout_s: f64) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_netoopsd"))
        .arg("--db")
        .arg(db)
        .args(["listen", "--listen", "127.0.0.1:0", "--stats-json"])
        .args(["--timeout", &timeout_s.to_string()])
        .args(caps_args())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let addr = line
        .strip_prefix("netoopsd: listening on ")
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("listening line: {line:?}"))
        .parse()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, stdout) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(out).lines() {
            if tx.send(l.unwrap()).is_err() {
                break;
            }
        }
    });
    Run {
        child,
        addr,
        stdout,
        stderr,
    }
}

impl Run {
    /// Waits for the end; the stored lines and the final counters.
    fn finish(mut self) -> (Vec<String>, Value) {
        assert!(self.child.wait().unwrap().success());
        let mut stats = Value::Null;
        let mut line = String::new();
        while self.stderr.read_line(&mut line).unwrap() > 0 {
            if line.starts_with('{') {
                stats = serde_json::from_str(&line).unwrap();
            }
            line.clear();
        }
        (self.stdout.try_iter().collect(), stats)
    }
}

/// xorshift64*: random enough keys, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Sets a packet's sequence number (header offset 32; only the header carries it) and fixes
/// its CRC, so that it is a valid packet of another dump.
fn with_seq(p: &mut [u8], seq: u32) {
    p[32..36].copy_from_slice(&seq.to_le_bytes());
    let crc = packet_crc(p);
    p[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_le_bytes());
}

fn encode(log: &[u8], boot: u8) -> Vec<Vec<u8>> {
    let mut boot_id = OOPS.boot_id;
    boot_id[0] = boot;
    netoopsd::encode::encode_dump(
        Dump {
            log,
            boot_id,
            ..OOPS
        },
        PACKET as usize,
    )
    .unwrap()
}

fn sockets(prefix: [u8; 3], n: u8) -> Vec<UdpSocket> {
    (1..=n)
        .map(|i| {
            UdpSocket::bind(SocketAddr::from(([prefix[0], prefix[1], prefix[2], i], 0))).unwrap()
        })
        .collect()
}

/// Sends `next()` from the sockets in turn at about `rate` packets/s until `stop`.
fn spray(
    socks: Vec<UdpSocket>,
    to: SocketAddr,
    rate: u64,
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    mut next: impl FnMut(usize) -> Vec<u8> + Send + 'static,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let t0 = Instant::now();
        let mut n = 0u64;
        while !stop.load(Ordering::Relaxed) {
            let i = (n % socks.len() as u64) as usize;
            let p = next(i);
            if socks[i].send_to(&p, to).is_ok() {
                sent.fetch_add(1, Ordering::Relaxed);
            }
            n += 1;
            let due = t0 + Duration::from_micros(n * 1_000_000 / rate);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
    })
}

fn size(p: &Path) -> u64 {
    std::fs::metadata(p).map_or(0, |m| m.len())
}

#[test]
fn a_flood_stays_under_the_caps_and_a_real_dump_still_gets_through() {
    let dir = tempfile::tempdir().unwrap();

    // The collector's memory with the same caps and no traffic.
    let idle = start(&dir.path().join("idle.db"), 0.5);
    let (_, idle_stats) = idle.finish();
    let base_kib = idle_stats["max_rss_kib"].as_u64().unwrap();

    let db = dir.path().join("flood.db");
    let wal = dir.path().join("flood.db-wal");
    // The collector stops 7 s after the flood: time to take what its socket still holds (the
    // machine is shared: it may fall behind), so that every datagram is counted or dropped.
    let run = start(&db, FLOOD.as_secs_f64() + 7.0);
    let to = run.addr;
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let mut rng = Rng(std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1);

    // Random keys: packet 0 of a dump (1,460 bytes) under a new random sequence number each
    // time, from 127.0.1.1-160 (2 threads of 80 addresses).
    let log: Vec<u8> = (0..4000)
        .flat_map(|i| format!("[ {i:6}.000000] flood line {i} padding padding\n").into_bytes())
        .collect();
    let mut threads = Vec::new();
    for half in 0..2u8 {
        let first = encode(&log, 0x10 + half).swap_remove(0);
        let mut r = Rng(rng.next() | 1);
        threads.push(spray(
            sockets([127, 0, 1 + half], 80),
            to,
            1000,
            Arc::clone(&stop),
            Arc::clone(&sent),
            move |_| {
                let mut p = first.clone();
                with_seq(&mut p, r.next() as u32);
                p
            },
        ));
    }
    // Large dumps (about 200 packets), sent whole again and again, under a new sequence
    // number each time, from 127.0.2.1-20: they fill their source's pending bytes and then
    // their bytes per hour.
    let big = encode(&log, 0x20);
    let mut pos = [0usize; 20];
    let mut seqs = [0u32; 20];
    threads.push(spray(
        sockets([127, 0, 2], 20),
        to,
        800,
        Arc::clone(&stop),
        Arc::clone(&sent),
        move |i| {
            if pos[i] == big.len() {
                pos[i] = 0;
                seqs[i] += 1;
            }
            let mut p = big[pos[i]].clone();
            pos[i] += 1;
            with_seq(&mut p, 1000 + seqs[i]);
            p
        },
    ));
    // Many addresses, each sending a packet of a new dump every 2 s or so (400 addresses at
    // 200 packets/s): their dumps time out (1 s) and they idle, so the table of sources (64)
    // forgets them in turn.
    let mut r = Rng(rng.next() | 1);
    let one = encode(&log, 0x40).swap_remove(0);
    let mut many = sockets([127, 0, 4], 200);
    many.extend(sockets([127, 0, 5], 200));
    threads.push(spray(
        many,
        to,
        200,
        Arc::clone(&stop),
        Arc::clone(&sent),
        move |_| {
            let mut p = one.clone();
            with_seq(&mut p, r.next() as u32);
            p
        },
    ));
    // Outside the allow-list (127.0.0.0/9): 127.200.0.1-10.
    let mut r = Rng(rng.next() | 1);
    let small = encode(&log, 0x30).swap_remove(0);
    threads.push(spray(
        sockets([127, 200, 0], 10),
        to,
        100,
        Arc::clone(&stop),
        Arc::clone(&sent),
        move |_| {
            let mut p = small.clone();
            with_seq(&mut p, r.next() as u32);
            p
        },
    ));

    // The database's size, sampled through the flood.
    let db_peak = {
        let (db, wal, stop) = (db.clone(), wal.clone(), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut peak = (0, 0, 0);
            while !stop.load(Ordering::Relaxed) {
                let (d, w) = (size(&db), size(&wal));
                peak = (peak.0.max(d + w), peak.1.max(d), peak.2.max(w));
                std::thread::sleep(Duration::from_millis(20));
            }
            peak
        })
    };

    // The real dump, from 127.0.3.1, 3 s into the flood: its packets 3 times, 300 ms apart (a
    // copy of a dump already stored complete is counted late), in case the socket dropped some.
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(3));
    let real = UdpSocket::bind("127.0.3.1:0").unwrap();
    let oops = netoopsd::encode::encode_dump(OOPS, 512).unwrap();
    for _ in 0..3 {
        for p in &oops {
            real.send_to(p, to).unwrap();
            sent.fetch_add(1, Ordering::Relaxed);
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    // Its stored line, and the stored report read back at once while the flood goes on (it
    // is then the newest report; retention deletes it later, as the flood's newer reports
    // push it out: oldest first).
    let mut lines = Vec::new();
    let real_line = loop {
        let l = run
            .stdout
            .recv_timeout(FLOOD.saturating_sub(t0.elapsed()) + Duration::from_secs(2))
            .expect("the real dump stored during the flood");
        lines.push(l.clone());
        if l.contains(" from=127.0.3.1 ") {
            break l;
        }
    };
    let id = real_line
        .strip_prefix("stored id=")
        .and_then(|r| r.split(' ').next())
        .unwrap()
        .to_string();
    let shown = Command::new(env!("CARGO_BIN_EXE_netoopsd"))
        .arg("--db")
        .arg(&db)
        .args(["show", &id, "--json"])
        .output()
        .unwrap();
    let real_stored_at = t0.elapsed();
    std::thread::sleep(FLOOD.saturating_sub(t0.elapsed()));
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    let (db_peak, file_peak, wal_peak) = db_peak.join().unwrap();
    let sent = sent.load(Ordering::Relaxed);

    let (rest, stats) = run.finish();
    lines.extend(rest);
    let refused = &stats["refused_by_kind"];
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    let rss_kib = n(&stats["max_rss_kib"]);
    let db_end = size(&db) + size(&wal);
    let _ = db_peak;
    println!(
        "flood: {sent} packets sent in {:.1} s; collector: {} counted, {} dropped at the socket, {} added, {} duplicates, {} late, {} malformed, {} inconsistent; refused {refused}; {} reports stored ({} complete, {} partial, {} evicted), {} pruned; peak pending {} KiB; sources: peak {}, forgotten {}; peak RSS {} KiB (idle {} KiB); database {} KiB at peak (file {} KiB, log {} KiB at their peaks), {} KiB at the end",
        FLOOD.as_secs_f64(),
        n(&stats["packets"]),
        n(&stats["socket_drops"]),
        n(&stats["added"]),
        n(&stats["duplicates"]),
        n(&stats["late"]),
        n(&stats["malformed"]),
        n(&stats["inconsistent"]),
        n(&stats["stored"]),
        n(&stats["dumps_complete"]),
        n(&stats["dumps_partial"]),
        n(&stats["dumps_evicted"]),
        n(&stats["pruned"]),
        n(&stats["peak_pending_bytes"]) / KIB,
        n(&stats["sources_peak"]),
        n(&stats["sources_forgotten"]),
        rss_kib,
        base_kib,
        db_peak / KIB,
        file_peak / KIB,
        wal_peak / KIB,
        db_end / KIB,
    );

    // Every datagram sent is accounted for: counted once by the collector, or dropped at its
    // socket (counted by the kernel).
    assert_eq!(
        n(&stats["packets"]) + n(&stats["socket_drops"]),
        sent,
        "{stats}"
    );
    let outcomes = [
        "added",
        "duplicates",
        "inconsistent",
        "malformed",
        "refused",
        "late",
    ];
    assert_eq!(
        outcomes.iter().map(|k| n(&stats[k])).sum::<u64>(),
        n(&stats["packets"])
    );
    // Each cap the flood reaches refuses packets under its own name.
    for kind in [
        "not_allowed",
        "source_pending_cap",
        "new_dump_rate",
        "source_bytes_per_hour",
    ] {
        assert!(n(&refused[kind]) > 0, "no {kind} refusal: {stats}");
    }

    // The real dump is stored complete, once, with its whole log and its title.
    println!(
        "flood: the real dump stored at {:.1} s: {real_line}",
        real_stored_at.as_secs_f64()
    );
    assert!(real_line.contains(" state=complete "), "{real_line}");
    assert!(real_line.ends_with(
        "title=\"BUG: unable to handle kernel NULL pointer dereference in netoops_test_write\""
    ));
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains(" from=127.0.3.1 "))
            .count(),
        1
    );
    assert!(shown.status.success(), "{shown:?}");
    let shown: Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["complete"], true, "{shown}");
    assert_eq!(shown["dump"]["missing_packets"], serde_json::json!([]));
    assert_eq!(
        shown["dump"]["log"].as_str().map(str::len),
        Some(OOPS.log.len())
    );
    assert_eq!(lines.len() as u64, n(&stats["stored"]));

    // Memory. Pending dumps hold at most MAX_PENDING_BYTES plus the packet being added.
    assert!(n(&stats["peak_pending_bytes"]) <= MAX_PENDING_BYTES + 2 * PACKET);
    // The sources table: at most MAX_SOURCES, plus those holding pending dumps (never
    // forgotten, at most MAX_PENDING).
    assert!(n(&stats["sources_peak"]) <= MAX_SOURCES + MAX_PENDING);
    assert!(n(&stats["sources_forgotten"]) > 0);
    // Peak RSS: the idle collector, plus what the caps let it hold: pending dumps
    // (MAX_PENDING_BYTES), kept partial dumps (MAX_KEPT), the dumps handed out waiting in the
    // channel to the storing thread (CHANNEL of them, each at most one source's pending bytes
    // plus a packet: 1024 x 27 KiB = 27 MiB), and 1 MiB for the sources, their debts and the
    // storing thread's batch of reports; twice that for the allocator's slack:
    // 2 x (2 + 1 + 27 + 1) MiB = 62 MiB over idle.
    let held = MAX_PENDING_BYTES + MAX_KEPT + CHANNEL * (PER_SOURCE_BYTES + 2 * PACKET) + MIB;
    let bound_kib = base_kib + 2 * held / KIB;
    assert!(
        rss_kib <= bound_kib,
        "peak RSS {rss_kib} KiB over {bound_kib} KiB"
    );

    // The database file: reports hold at most RETAIN_BYTES after each prune, plus what is
    // stored before the next: a quarter of it (Retain::every_bytes) and one batch of up to 256
    // reports (here about 3 KiB each: 768 KiB); the file adds each report's fields, its index
    // entries (12 indexes) and page slack, at most as much again for reports of a few KiB:
    // 2 x (2 + 0.5 + 0.75) MiB = 6.5 MiB.
    let batch = 256 * 3 * KIB;
    let file_bound = 2 * (RETAIN_BYTES + RETAIN_BYTES / 4 + batch);
    // The write-ahead log beside it: the checkpointing thread copies it into the file and
    // starts it over once it holds RESTART_PAGES (64 MiB of 4 KiB pages), and it may grow
    // past that by one transaction (a batch, or a prune: deleting and moving up to the file's
    // size in pages); each prune empties it: 64 MiB + 6.5 MiB.
    let wal_bound = netoopsd::store::checkpoint::RESTART_PAGES as u64 * 4 * KIB + file_bound;
    assert!(n(&stats["pruned"]) > 0, "{stats}");
    assert!(
        file_peak <= file_bound && wal_peak <= wal_bound && db_end <= file_bound,
        "database file {file_peak} bytes at peak (bound {file_bound}), log {wal_peak} (bound {wal_bound}), {db_end} at the end"
    );
}

#[test]
fn cap_and_retention_flags_are_checked_and_errors_name_the_flag_and_value() {
    let dir = tempfile::tempdir().unwrap();
    for (args, says) in [
        (
            &["--allow", "10.0.0.0/33"][..],
            "'10.0.0.0/33' for '--allow <CIDR>'",
        ),
        (&["--allow", "ten"], "'ten' for '--allow <CIDR>'"),
        (
            &["--retain-bytes", "12Q"],
            "'12Q' for '--retain-bytes <SIZE>'",
        ),
        (
            &["--retain-bytes", "0"],
            "--retain-bytes: 0: must be above 0",
        ),
        (
            &["--retain-days", "-1"],
            "--retain-days: -1: not a number of days",
        ),
        (
            &["--max-pending-bytes-per-source", "lots"],
            "'lots' for '--max-pending-bytes-per-source <SIZE>'",
        ),
        (
            &["--max-sources", "0"],
            "--max-sources: 0: must be at least 1",
        ),
        (
            &["--new-dumps-burst", "0"],
            "--new-dumps-burst: 0: must be at least 1",
        ),
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_netoopsd"))
            .arg("--db")
            .arg(dir.path().join("x.db"))
            .args(["listen", "--listen", "127.0.0.1:0", "--timeout", "5"])
            .args(args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{args:?} accepted");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}
