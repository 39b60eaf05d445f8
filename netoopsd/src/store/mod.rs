//! Storage of crash reports behind one small interface, [`Store`]. The default is an
//! embedded SQLite database ([`sqlite::SqliteStore`]); a fleet can put a PostgreSQL server
//! database behind the same trait ([`postgres::PgStore`]), shared by many receivers.
//! [`open`] chooses by the `--db` string; `doc/store.md` documents both schemas.
//!
//! A report keeps the packets of its dump as received (validated), so that `show` rebuilds
//! exactly what `decode` would show, plus the indexed fields that `ls` and `top` filter and
//! group by.

pub mod checkpoint;
pub mod postgres;
pub mod sql;
pub mod sqlite;
pub mod stats;

use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use crate::display::{lossy, uuid};
use crate::live::Finished;
use crate::packets::Packets;
use crate::reassembly::DumpState;
use crate::signature;
use stats::Stats;

/// Whether `spec` names a PostgreSQL database (a `postgres://` or `postgresql://` URL).
pub fn is_postgres(spec: &str) -> bool {
    spec.starts_with("postgres://") || spec.starts_with("postgresql://")
}

/// Opens the store `spec` names, creating or migrating its schema: a PostgreSQL URL, else a
/// SQLite file (created if missing).
pub fn open(spec: &str) -> Result<Box<dyn Store + Send>, String> {
    if is_postgres(spec) {
        Ok(Box::new(postgres::PgStore::connect(spec)?))
    } else {
        Ok(Box::new(sqlite::SqliteStore::open(Path::new(spec))?))
    }
}

/// Like [`open`], but a SQLite file must exist already (the read commands do not create one).
pub fn open_existing(spec: &str) -> Result<Box<dyn Store + Send>, String> {
    if is_postgres(spec) {
        Ok(Box::new(postgres::PgStore::connect(spec)?))
    } else {
        Ok(Box::new(sqlite::SqliteStore::open_existing(Path::new(
            spec,
        ))?))
    }
}

/// The report of the union of the packets of a stored partial report and of a new report of
/// the same dump: the dump rebuilt from both, signed again. It keeps the stored report's
/// first stored time and the earlier first-packet time. `None` if no packet parses.
pub fn merge(held: &Full, new: &NewReport) -> Option<NewReport> {
    let dump = DumpState::from_packets(
        held.packets.iter().map(Vec::as_slice).chain(&new.packets),
        "store",
    )?;
    let sender: IpAddr = new
        .sender
        .parse()
        .or_else(|_| held.report.sender.parse())
        .ok()?;
    let first_ms = new.first_packet_ms.min(held.report.first_packet_ms).max(0);
    let at = |ms: i64| UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64);
    let finished = Finished {
        sender,
        dump,
        first_seen: at(first_ms),
        last_seen: at(new.received_ms),
    };
    let mut merged = NewReport::from_finished(&finished, at(new.received_ms));
    merged.received_ms = held.report.received_ms;
    merged.first_packet_ms = first_ms;
    Some(merged)
}

/// A report about to be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewReport {
    /// When the collector handed the dump out (Unix milliseconds).
    pub received_ms: i64,
    /// When its first packet arrived (Unix milliseconds).
    pub first_packet_ms: i64,
    /// Sender address.
    pub sender: String,
    /// Index fields.
    pub fields: Fields,
    /// The packets of the dump, in index order.
    pub packets: Packets,
    /// The received log as text (received parts joined by newlines), for free-text search.
    pub log: String,
    /// Whether `log` is what `packets` hold (a report made from them): then SQLite stores
    /// it only there (see `doc/store.md`, schema version 3).
    pub log_in_packets: bool,
    /// `packets` as the store writes them ([`sql::pack`]: LZ4-compressed), when a report
    /// thread packed them ([`Self::of_finished`]); `None`: the storing thread packs them.
    /// Compressing is most of the storing thread's work otherwise, and the report threads
    /// are one per core. Whoever changes `packets` sets this to `None`.
    pub packed: Option<Vec<u8>>,
}

/// The indexed and listed fields of a report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fields {
    /// Boot id (`/proc/sys/kernel/random/boot_id` form).
    pub boot_id: String,
    /// Dump sequence number in that boot.
    pub seq: u32,
    /// `oops`, `panic`, `soft`, `emerg`, `unknown`.
    pub reason: String,
    /// All packets received.
    pub complete: bool,
    /// Packets received / of the dump.
    pub packets_received: u32,
    /// Packets of the dump.
    pub packet_count: u32,
    /// Log bytes.
    pub log_len: u32,
    /// Log byte ranges `[start, end)` not received.
    pub missing_log: Vec<(u64, u64)>,
    /// Machine facts (lossy UTF-8).
    pub kernel_release: Option<String>,
    /// `uname -v`.
    pub kernel_version: Option<String>,
    /// `uname -n`.
    pub hostname: Option<String>,
    /// `uname -m`.
    pub arch: Option<String>,
    /// CPU vendor string.
    pub cpu_vendor: Option<String>,
    /// CPU family.
    pub cpu_family: Option<u32>,
    /// CPU model.
    pub cpu_model: Option<u32>,
    /// CPU microcode revision.
    pub microcode: Option<u32>,
    /// DMI BIOS vendor.
    pub bios_vendor: Option<String>,
    /// DMI BIOS version.
    pub bios_version: Option<String>,
    /// DMI board vendor.
    pub board_vendor: Option<String>,
    /// DMI board name.
    pub board_name: Option<String>,
    /// DMI product name.
    pub product_name: Option<String>,
    /// Wall-clock time of the dump on the machine (Unix seconds), if sent.
    pub dump_time: Option<i64>,
    /// The machine: its hostname plus board, or the sender address when not sent.
    pub machine: String,
    /// Crash title.
    pub title: String,
    /// Bucket id (signature).
    pub bucket: String,
    /// Top stack frames.
    pub frames: Vec<String>,
}

fn ms(t: std::time::SystemTime) -> i64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl NewReport {
    /// The report of a finished dump, handed out at `now`: signature from its log (the
    /// received part of it, when incomplete), index fields from its facts.
    pub fn from_finished(f: &Finished, now: std::time::SystemTime) -> Self {
        let packets = f.dump.raw_packets().collect();
        Self::with_packets(f, now, packets)
    }

    /// [`Self::from_finished`] of a dump no longer needed, for the store: its packets move
    /// into the report instead of being copied, and are packed here (what a receiver's
    /// report threads do).
    pub fn of_finished(f: Finished, now: std::time::SystemTime) -> Self {
        let mut r = Self::with_packets(&f, now, Packets::new());
        r.packets = f.dump.into_raw_packets();
        r.packed = Some(sql::pack(&r.packets));
        r
    }

    fn with_packets(f: &Finished, now: std::time::SystemTime, packets: Packets) -> Self {
        let d = &f.dump;
        let segs = d.log_segments();
        let missing_log = d.missing_in(&segs);
        let log_text = log_text(d, segs);
        let sig = signature::for_dump(log_text.as_deref(), d.reason.name());
        let fa = &d.facts;
        let s = |v: &Option<Vec<u8>>| v.as_deref().map(lossy);
        let hostname = s(&fa.hostname);
        let board = s(&fa.dmi_board_name).or_else(|| s(&fa.dmi_product_name));
        let machine = match (&hostname, &board) {
            (Some(h), Some(b)) => format!("{h} ({b})"),
            (Some(h), None) => h.clone(),
            (None, _) => f.sender.to_string(),
        };
        NewReport {
            received_ms: ms(now),
            first_packet_ms: ms(f.first_seen),
            sender: sender_name(f.sender),
            fields: Fields {
                boot_id: uuid(&d.key.boot_id),
                seq: d.key.seq,
                reason: d.reason.name().to_string(),
                complete: d.is_complete_given(&missing_log),
                packets_received: d.packets.len() as u32,
                packet_count: u32::from(d.count),
                log_len: d.info.log_len,
                missing_log,
                kernel_release: s(&fa.kernel_release),
                kernel_version: s(&fa.kernel_version),
                hostname,
                arch: s(&fa.arch),
                cpu_vendor: s(&fa.cpu_vendor),
                cpu_family: fa.cpu_id.map(|c| c.family),
                cpu_model: fa.cpu_id.map(|c| c.model),
                microcode: fa.cpu_id.map(|c| c.microcode),
                bios_vendor: s(&fa.dmi_bios_vendor),
                bios_version: s(&fa.dmi_bios_version),
                board_vendor: s(&fa.dmi_board_vendor),
                board_name: s(&fa.dmi_board_name),
                product_name: s(&fa.dmi_product_name),
                dump_time: fa.time.map(|t| t.wall_sec),
                machine,
                title: sig.title,
                bucket: sig.bucket,
                frames: sig.frames,
            },
            packets,
            log: log_text.unwrap_or_default(),
            log_in_packets: true,
            packed: None,
        }
    }
}

/// The received log of a dump as text: the whole log, or its received parts joined by
/// newlines; `None` when no part was received. `segs` are `d.log_segments()` (a whole log
/// valid as UTF-8, nearly every one, becomes the text without a copy).
pub fn log_text(d: &DumpState, mut segs: Vec<crate::reassembly::LogSegment>) -> Option<String> {
    match d.whole(&segs) {
        Some(_) => {
            let bytes = segs.pop().map(|s| s.bytes).unwrap_or_default();
            Some(String::from_utf8(bytes).unwrap_or_else(|e| lossy(e.as_bytes())))
        }
        None if segs.is_empty() => None,
        None => Some(
            segs.iter()
                .map(|s| lossy(&s.bytes))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
    }
}

/// The received log (as [`log_text`] gives it) of a dump stored as [`sql::pack`]ed packets;
/// empty when they hold none.
pub fn log_of_packed(blob: &[u8]) -> String {
    sql::unpack(blob)
        .and_then(|p| DumpState::from_packets(p.iter().map(Vec::as_slice), "store"))
        .and_then(|d| log_text(&d, d.log_segments()))
        .unwrap_or_default()
}

/// An address as text, IPv4-mapped IPv6 shown as IPv4.
pub fn sender_name(a: IpAddr) -> String {
    match a {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => v6.to_string(),
        },
        IpAddr::V4(v4) => v4.to_string(),
    }
}

/// A stored report.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    /// Report id (1, 2, ...).
    pub id: i64,
    /// When it was stored (Unix milliseconds).
    pub received_ms: i64,
    /// When its first packet arrived (Unix milliseconds).
    pub first_packet_ms: i64,
    /// Sender address.
    pub sender: String,
    /// Indexed fields.
    pub fields: Fields,
}

/// Filters for [`Store::list`] and [`Store::top`]; `None` matches everything. String
/// filters match exactly, except `title` (substring, case-insensitive) and `bucket`
/// (prefix).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// Kernel release.
    pub kernel: Option<String>,
    /// CPU vendor.
    pub cpu_vendor: Option<String>,
    /// CPU family.
    pub cpu_family: Option<u32>,
    /// CPU model.
    pub cpu_model: Option<u32>,
    /// BIOS version.
    pub bios: Option<String>,
    /// Board name.
    pub board: Option<String>,
    /// Reason name.
    pub reason: Option<String>,
    /// Bucket id prefix.
    pub bucket: Option<String>,
    /// Title substring.
    pub title: Option<String>,
    /// Hostname.
    pub host: Option<String>,
    /// Sender address.
    pub sender: Option<String>,
    /// Only complete (true) or only partial (false) reports.
    pub complete: Option<bool>,
    /// Stored at or after (Unix ms).
    pub since_ms: Option<i64>,
    /// Stored before (Unix ms).
    pub until_ms: Option<i64>,
    /// At most this many results.
    pub limit: Option<u32>,
}

/// One bucket of [`Store::top`].
#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    /// Bucket id.
    pub bucket: String,
    /// Its title.
    pub title: String,
    /// Reports in it.
    pub count: u64,
    /// Distinct machines.
    pub machines: u64,
    /// Distinct kernel releases.
    pub kernels: u64,
    /// First stored (Unix ms).
    pub first_ms: i64,
    /// Last stored (Unix ms).
    pub last_ms: i64,
    /// The newest report in it.
    pub last_id: i64,
}

/// A report with its packets.
#[derive(Debug, Clone, PartialEq)]
pub struct Full {
    /// The report.
    pub report: Stored,
    /// Its packets as received.
    pub packets: Vec<Vec<u8>>,
}

/// Storage of reports. Errors are sentences naming what failed (the database, the report).
/// The web view's queries ([`Stats`]) come with it.
pub trait Store: Stats {
    /// Stores reports in one transaction; returns their ids. When this returns, the reports
    /// survive a crash of the collector. A report of a dump already stored (same boot id,
    /// sequence number, reason and machine: a replay, or copies that came after the
    /// collector forgot the dump, or another part of it from another receiver) is not stored
    /// twice: the stored one keeps its id and the time it was first stored; a complete one
    /// stays, a partial one is merged with the new report (the union of their packets, see
    /// [`merge`]) when that holds more packets of the dump. The merge happens inside the
    /// transaction, so receivers storing parts of one dump at once lose none of them.
    fn put(&mut self, reports: &[NewReport]) -> Result<Vec<i64>, String> {
        Ok(self
            .put_stored(reports)?
            .into_iter()
            .map(|s| s.id)
            .collect())
    }
    /// Like [`Store::put`], but returns each report as stored now (merged, or the stored one
    /// that stayed).
    fn put_stored(&mut self, reports: &[NewReport]) -> Result<Vec<Stored>, String>;
    /// Reports matching `f`, newest first.
    fn list(&self, f: &Filter) -> Result<Vec<Stored>, String>;
    /// One report with its packets.
    fn get(&self, id: i64) -> Result<Option<Full>, String>;
    /// The stored report of the same dump as `r`, with its packets, if there is one: same
    /// boot id, sequence number and reason, and the same machine or, since a part of a dump
    /// may lack the facts that name the machine, the same sender.
    fn same_dump(&self, r: &NewReport) -> Result<Option<Full>, String>;
    /// Buckets of the reports matching `f`, largest first.
    fn top(&self, f: &Filter) -> Result<Vec<Bucket>, String>;
    /// Deletes the reports stored before `before_ms` (Unix ms), then the oldest reports until
    /// those left hold at most `max_bytes` (packets plus log); returns how many were deleted.
    fn prune(&mut self, before_ms: Option<i64>, max_bytes: Option<u64>) -> Result<u64, String>;
    /// Whether the storage shrinks when reports are pruned (true unless the backend says
    /// otherwise: a SQLite file made without incremental auto-vacuum keeps its size).
    fn shrinks(&self) -> Result<bool, String> {
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The report of `n` packets (`keep`) of bench dump 5 with a log of `len` bytes.
    fn partial(len: usize, keep: &[usize]) -> NewReport {
        let pk = crate::bench::dump_packets(5, len);
        let held = keep.iter().map(|&i| pk[i].as_slice());
        let now = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_767_225_600);
        let f = Finished {
            sender: "10.0.0.9".parse().unwrap(),
            dump: DumpState::from_packets(held, "t").unwrap(),
            first_seen: now,
            last_seen: now,
        };
        NewReport::of_finished(f, now)
    }

    /// A partial report stored, then a fuller one under the same key whose packets
    /// contradict it (another packet count: never one dump, so only forged): the fuller one
    /// is kept, as when the two merge. (The receive fuzz target found the stored one kept.)
    #[test]
    fn a_fuller_contradicting_report_replaces_a_partial_one() {
        let mut s = sqlite::SqliteStore::in_memory().unwrap();
        let held = partial(16_000, &[0]);
        let fuller = partial(40_000, &[0, 1, 2]);
        assert_eq!(held.fields.boot_id, fuller.fields.boot_id);
        assert_ne!(held.fields.packet_count, fuller.fields.packet_count);
        let id = s.put(std::slice::from_ref(&held)).unwrap()[0];
        assert_eq!(s.put(std::slice::from_ref(&fuller)).unwrap(), vec![id]);
        let kept = s.get(id).unwrap().unwrap();
        assert_eq!(kept.report.fields.packets_received, 3);
        assert_eq!(kept.packets, fuller.packets);
        // And a smaller contradicting one leaves it.
        assert_eq!(s.put(std::slice::from_ref(&held)).unwrap(), vec![id]);
        assert_eq!(s.get(id).unwrap().unwrap().packets, fuller.packets);
    }

    /// A report thread's report, whose packets are moved out of the dump, is the report of
    /// the dump copied: complete, and with packets lost (the log in parts).
    #[test]
    fn a_moved_dump_reports_as_a_copied_one() {
        let pk = crate::bench::dump_packets(7, 20_000);
        let now = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_767_225_600);
        for lost in [vec![], vec![1, 3]] {
            let held = pk.iter().enumerate().filter(|(i, _)| !lost.contains(i));
            let dump = DumpState::from_packets(held.map(|(_, p)| p.as_slice()), "t").unwrap();
            let f = Finished {
                sender: "10.0.0.9".parse().unwrap(),
                dump,
                first_seen: now,
                last_seen: now,
            };
            let copied = NewReport::from_finished(&f, now);
            let moved = NewReport::of_finished(f, now);
            // Packed by the report thread as the store would pack them.
            let packed = moved.packed.as_deref().expect("packed with the report");
            assert_eq!(packed, &sql::pack(&copied.packets)[..]);
            assert_eq!(sql::unpack(packed).unwrap(), copied.packets);
            assert_eq!(copied.packed, None);
            let moved = NewReport {
                packed: None,
                ..moved
            };
            assert_eq!(moved, copied);
            assert_eq!(moved.fields.complete, lost.is_empty());
            assert_eq!(moved.packets.len(), pk.len() - lost.len());
            assert_eq!(moved.log.matches("\n\n").count(), 0);
            assert!(moved.log.len() > 15_000, "{}", moved.log.len());
        }
    }
}
