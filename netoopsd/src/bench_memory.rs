//! `netoopsd bench --memory`: the collector's stages measured without the socket, on packets
//! held in memory, one core each: receive + verify (parse, CRC, reassembly: what the
//! receiving thread does per datagram), the report of each finished dump (log joined,
//! signature, index fields), and storing reports in batches. Each stage prints its rate and
//! what it costs per packet or per dump, so that where the time goes is a measured figure.

use std::net::IpAddr;
use std::time::{Instant, SystemTime};

use crate::bench::{dump_packets, machine_ip, MACHINES};
use crate::cpu;
use crate::live::{Collector, Finished, Limits};
use crate::store::sqlite::SqliteStore;
use crate::store::{NewReport, Store};

/// Reports stored per transaction (the storing thread's batch size).
const STORE_BATCH: usize = 256;

/// Runs the stages on `dumps` generated dumps with logs of `kib.0`..=`kib.1` KiB, the
/// receive stage for at least `secs` seconds; returns the report.
pub fn run(dumps: u64, kib: (usize, usize), secs: f64) -> Result<String, String> {
    let mut out = String::new();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let sets: Vec<Vec<Vec<u8>>> = (0..dumps)
        .map(|n| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = kib.0 * 1024 + (seed % ((kib.1 - kib.0) as u64 * 1024 + 1)) as usize;
            dump_packets(n, len)
        })
        .collect();
    let packets: u64 = sets.iter().map(|s| s.len() as u64).sum();
    let bytes: u64 = sets.iter().flatten().map(|p| p.len() as u64).sum();
    out.push_str(&format!(
        "{dumps} dumps, {packets} packets, {:.1} MiB of packets (logs {}-{} KiB)\n",
        bytes as f64 / (1 << 20) as f64,
        kib.0,
        kib.1
    ));

    // Receive + verify: every packet through a collector, rounds until `secs` have passed.
    let mut rounds = 0u64;
    let mut finished: Vec<Finished> = Vec::new();
    let mut kept: Vec<Finished> = Vec::new();
    let (wall, t0, c0) = (SystemTime::now(), Instant::now(), cpu::thread());
    let mut peak_held = 0usize;
    while rounds == 0 || t0.elapsed().as_secs_f64() < secs {
        let mut c = Collector::new(Limits::default());
        // From the socket benchmark's machines, so that the caps per source see a fleet.
        for (n, set) in sets.iter().enumerate() {
            let sender = IpAddr::V4(machine_ip(n % MACHINES));
            for p in set {
                c.push(p, sender, t0, wall, &mut finished);
            }
            peak_held = peak_held.max(c.pending_bytes());
            if kept.is_empty() || rounds == 0 {
                kept.append(&mut finished);
            } else {
                finished.clear();
            }
        }
        if c.counters.complete != dumps {
            return Err(format!(
                "receive stage: {} of {dumps} dumps complete",
                c.counters.complete
            ));
        }
        rounds += 1;
    }
    let cpu = (cpu::thread() - c0).as_secs_f64();
    let n = (packets * rounds) as f64;
    out.push_str(&format!(
        "receive+verify: {:.0} packets/s per core ({:.0} MB/s, {:.2} us/packet, {:.2} CPU-s per 100k packets), peak held {:.1} MiB\n",
        n / cpu,
        (bytes * rounds) as f64 / cpu / 1e6,
        cpu / n * 1e6,
        cpu / n * 1e5,
        peak_held as f64 / (1 << 20) as f64
    ));

    // The report of each finished dump: log, signature, index fields.
    let c0 = cpu::thread();
    let now = SystemTime::now();
    let n_kept = kept.len();
    let reports: Vec<NewReport> = kept
        .into_iter()
        .map(|f| NewReport::of_finished(f, now))
        .collect();
    let cpu = (cpu::thread() - c0).as_secs_f64();
    // Of which the signature: the same logs again, signature alone.
    let c0 = cpu::thread();
    for r in &reports {
        std::hint::black_box(crate::signature::for_dump(Some(&r.log), &r.fields.reason));
    }
    let sig = (cpu::thread() - c0).as_secs_f64();
    // And the packing (compression) of its packets for the store, alone.
    let c0 = cpu::thread();
    for r in &reports {
        std::hint::black_box(crate::store::sql::pack(&r.packets));
    }
    let packing = (cpu::thread() - c0).as_secs_f64();
    out.push_str(&format!(
        "report (log, signature, fields): {:.0} dumps/s per core ({:.0} us/dump, {:.2} us/packet; the signature alone {:.0} us/dump, packing alone {:.0} us/dump)\n",
        n_kept as f64 / cpu,
        cpu / n_kept as f64 * 1e6,
        cpu / packets as f64 * 1e6,
        sig / n_kept as f64 * 1e6,
        packing / n_kept as f64 * 1e6
    ));

    // Storing, in batches, into a fresh SQLite file.
    let dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let path = dir.path().join("bench-memory.db");
    let mut store = SqliteStore::open(&path)?;
    let (c0, p0) = (cpu::thread(), cpu::process());
    let t0 = Instant::now();
    for b in reports.chunks(STORE_BATCH) {
        store.put(b)?;
    }
    let (cpu, wall_s) = (
        (cpu::thread() - c0).as_secs_f64(),
        t0.elapsed().as_secs_f64(),
    );
    // Closing joins the checkpointing thread and checkpoints the rest of the log.
    drop(store);
    let all = (cpu::process() - p0).as_secs_f64();
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    out.push_str(&format!(
        "store (SQLite, batches of {STORE_BATCH}): {:.0} reports/s ({:.0} us/report CPU, {:.0} us wall), {:.2} us/packet, database {:.1} MiB; with the checkpoints (another thread) {:.0} us/report CPU\n",
        reports.len() as f64 / wall_s,
        cpu / reports.len() as f64 * 1e6,
        wall_s / reports.len() as f64 * 1e6,
        cpu / packets as f64 * 1e6,
        size as f64 / (1 << 20) as f64,
        all / reports.len() as f64 * 1e6
    ));
    Ok(out)
}

#[cfg(test)]
mod tests {
    /// Every stage runs and says what it measured; more dumps than one machine may start
    /// within the caps per source (the stage plays the socket benchmark's machines).
    #[test]
    fn every_stage_reports_its_rate() {
        let out = super::run(100, (4, 8), 0.0).expect("bench --memory");
        for stage in [
            "receive+verify: ",
            "report (log, signature, fields): ",
            "store (SQLite",
        ] {
            assert!(out.contains(stage), "{stage:?} missing from {out}");
        }
        assert!(out.starts_with("100 dumps, "), "{out}");
    }
}
