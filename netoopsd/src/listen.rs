//! `netoopsd listen`: receive, reassemble, sign and store dumps until told to stop.
//!
//! Two threads: the receiving thread owns the sockets and the [`Collector`]; the storing
//! thread computes each finished dump's signature, stores batches of reports in one
//! transaction, and prints one line per stored report. The channel between them is bounded:
//! if storage falls behind, reception waits and the kernel's socket buffer absorbs (and
//! counts, as socket drops) what does not fit.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver as ChanRx, RecvTimeoutError, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{json, Value};

use crate::config::Reload;
use crate::display::dump_name;
use crate::live::{Collector, Counters, Finished, Limits, Received};
use crate::metrics::{Metrics, Publisher};
use crate::reassembly::{parse_incoming, Origin};
use crate::receive::{bind, Receiver};
use crate::store::sqlite::SqliteStore;
use crate::store::{NewReport, Store};

/// What `listen` is asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    /// Addresses to bind.
    pub addrs: Vec<SocketAddr>,
    /// The database.
    pub db: PathBuf,
    /// Reassembly limits and the partial timeout.
    pub limits: Limits,
    /// Stop once this many reports are stored.
    pub exit_after_dumps: Option<u64>,
    /// Stop after this long.
    pub timeout: Option<Duration>,
    /// Socket receive buffer to ask for.
    pub rcvbuf: usize,
    /// Datagrams per `recvmmsg` call.
    pub batch: usize,
    /// Report every dropped packet on standard error.
    pub verbose: bool,
    /// Print the final counters as one JSON line on standard error.
    pub stats_json: bool,
    /// Sealing keys: when given, only packets sealed under one of them are taken.
    pub keys: Option<crate::keys::Keys>,
    /// Metrics to publish the counters to (`--metrics`, `/metrics` of `--http`).
    pub metrics: Option<Arc<Metrics>>,
    /// How to read the settings again on SIGHUP (none: SIGHUP is ignored).
    pub reload: Option<Reload>,
    /// What the store keeps.
    pub retain: Retain,
}

/// Retention: reports older than `age` are deleted, then the oldest until those left hold at
/// most `bytes` (packets plus log). Applied at start-up, about once a minute, after each
/// [`Retain::every_bytes`] stored, and at exit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retain {
    /// Keep reports this long.
    pub age: Option<Duration>,
    /// Keep at most this many bytes of reports.
    pub bytes: Option<u64>,
}

impl Retain {
    /// Whether anything is ever deleted.
    pub fn is_set(&self) -> bool {
        self.age.is_some() || self.bytes.is_some()
    }

    /// Prune after this many bytes stored (a quarter of the byte budget, 64 KiB to 64 MiB;
    /// 64 MiB without one), so that the store holds at most 1.25 times its budget.
    pub fn every_bytes(&self) -> u64 {
        self.bytes
            .map_or(64 << 20, |b| (b / 4).clamp(64 << 10, 64 << 20))
    }
}

/// How often retention is applied at least.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// How `listen` ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// Stopped by a signal or after `--exit-after-dumps` reports.
    Stopped,
    /// `--timeout` ran out before `--exit-after-dumps` reports were stored.
    TimedOut,
}

/// Counters at the end.
#[derive(Debug, Clone)]
pub struct Summary {
    /// How it ended.
    pub end: End,
    /// Reassembly counters.
    pub counters: Counters,
    /// Reports stored.
    pub stored: u64,
    /// Reports deleted by retention (`--retain-days`, `--retain-bytes`).
    pub pruned: u64,
    /// Datagrams the kernel dropped at the socket (receive buffer full).
    pub socket_drops: u64,
    /// `recvmmsg` calls that returned datagrams.
    pub batches: u64,
    /// Peak resident memory of the process (KiB), if known.
    pub max_rss_kib: Option<u64>,
}

impl Summary {
    /// The counters as JSON.
    pub fn to_json(&self) -> Value {
        let c = &self.counters;
        json!({
            "end": match self.end { End::Stopped => "stopped", End::TimedOut => "timeout" },
            "packets": c.packets,
            "bytes": c.bytes,
            "added": c.added,
            "duplicates": c.duplicates,
            "inconsistent": c.inconsistent,
            "malformed": c.malformed_total(),
            "malformed_by_kind": c.malformed,
            "refused": c.refused.values().sum::<u64>(),
            "refused_by_kind": c.refused,
            "recovered": c.recovered,
            "late": c.late,
            "reopened": c.reopened,
            "dumps_complete": c.complete,
            "dumps_partial": c.partial,
            "dumps_evicted": c.evicted,
            "stored": self.stored,
            "pruned": self.pruned,
            "sources_peak": c.peak_sources,
            "sources_forgotten": c.sources_forgotten,
            "peak_pending_bytes": c.peak_pending_bytes,
            "socket_drops": self.socket_drops,
            "batches": self.batches,
            "max_rss_kib": self.max_rss_kib,
            "cpu_s": cpu_seconds(),
        })
    }

    /// The counters as one sentence.
    pub fn to_text(&self) -> String {
        let c = &self.counters;
        let kinds: Vec<String> = c
            .malformed
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        let refused: Vec<String> = c.refused.iter().map(|(k, n)| format!("{k} {n}")).collect();
        format!(
            "netoopsd: {} packets ({} bytes): {} added, {} rebuilt from parity, {} duplicate, {} inconsistent, {} malformed{}, {} refused{}, {} late, {} partial dumps reopened; {} reports stored ({} complete, {} partial), {} pruned; {} dropped at the socket",
            c.packets,
            c.bytes,
            c.added,
            c.recovered,
            c.duplicates,
            c.inconsistent,
            c.malformed_total(),
            if kinds.is_empty() { String::new() } else { format!(" ({})", kinds.join(", ")) },
            c.refused.values().sum::<u64>(),
            if refused.is_empty() { String::new() } else { format!(" ({})", refused.join(", ")) },
            c.late,
            c.reopened,
            self.stored,
            c.complete,
            c.partial,
            self.pruned,
            self.socket_drops
        )
    }
}

/// CPU time (user + system) this process has spent, in seconds.
pub fn cpu_seconds() -> f64 {
    use nix::sys::resource::{getrusage, UsageWho};
    getrusage(UsageWho::RUSAGE_SELF).map_or(0.0, |u| {
        let t = |tv: nix::sys::time::TimeVal| tv.tv_sec() as f64 + tv.tv_usec() as f64 / 1e6;
        t(u.user_time()) + t(u.system_time())
    })
}

/// Peak resident set size of this process, from `/proc/self/status`.
pub fn max_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let l = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    l.split_whitespace().nth(1)?.parse().ok()
}

/// One line per stored report: `stored id=N dump=BOOT#SEQ from=ADDR reason=R state=...
/// bucket=B title="..."`.
pub fn stored_line(id: i64, r: &NewReport) -> String {
    let f = &r.fields;
    let state = if f.complete {
        "complete".to_string()
    } else {
        format!("partial({}/{})", f.packets_received, f.packet_count)
    };
    format!(
        "stored id={id} dump={}#{} from={} reason={} state={state} bucket={} title={:?}",
        f.boot_id, f.seq, r.sender, f.reason, f.bucket, f.title
    )
}

/// The report of a finished dump. A partial dump first takes the packets of the report stored
/// for the same dump, if that one is partial too: packets that come after a partial report was
/// stored complete it (by replacing it, under its id), even across a restart of the collector.
fn report_of(store: &SqliteStore, f: &mut Finished, now: SystemTime) -> Result<NewReport, String> {
    let r = NewReport::from_finished(f, now);
    if r.fields.complete {
        return Ok(r);
    }
    let Some(held) = store.same_dump(&r)? else {
        return Ok(r);
    };
    if held.report.fields.complete {
        return Ok(r);
    }
    let held_since = held.report.first_packet_ms;
    let before = f.dump.packets.len() + f.dump.parity.len();
    for (i, bytes) in held.packets.iter().enumerate() {
        if let Ok(p) = parse_incoming(bytes) {
            if p.key() == f.dump.key {
                let origin = Origin {
                    source: format!("report {}", held.report.id),
                    offset: i as u64,
                };
                f.dump.offer_incoming(&p, origin);
            }
        }
    }
    if f.dump.packets.len() + f.dump.parity.len() == before {
        return Ok(r);
    }
    let mut merged = NewReport::from_finished(f, now);
    merged.first_packet_ms = merged.first_packet_ms.min(held_since);
    Ok(merged)
}

/// Applies retention now; returns the reports deleted.
fn prune(store: &mut SqliteStore, retain: Retain) -> Result<u64, String> {
    if !retain.is_set() {
        return Ok(0);
    }
    let before_ms = retain.age.map(|age| {
        let now = SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        now.saturating_sub(age).as_millis() as i64
    });
    store.prune(before_ms, retain.bytes)
}

/// Where the storing thread counts what it did.
struct Tally {
    stored: Arc<AtomicU64>,
    pruned: Arc<AtomicU64>,
    /// Store latency and stored reports for `/metrics`.
    metrics: Option<Arc<Metrics>>,
}

fn store_loop(
    mut store: SqliteStore,
    rx: ChanRx<Finished>,
    tally: Tally,
    stop_after: Option<u64>,
    stop: Arc<AtomicBool>,
    retain: Retain,
    mut out: impl Write,
) -> Result<(), String> {
    let Tally {
        stored,
        pruned,
        metrics,
    } = tally;
    pruned.fetch_add(prune(&mut store, retain)?, Ordering::SeqCst);
    let mut last_prune = Instant::now();
    let mut since_prune = 0u64;
    loop {
        if retain.is_set()
            && (since_prune >= retain.every_bytes() || last_prune.elapsed() >= PRUNE_EVERY)
        {
            pruned.fetch_add(prune(&mut store, retain)?, Ordering::SeqCst);
            last_prune = Instant::now();
            since_prune = 0;
        }
        let first = match rx.recv_timeout(PRUNE_EVERY.saturating_sub(last_prune.elapsed())) {
            Ok(f) => f,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        let mut batch = vec![first];
        while batch.len() < 256 {
            match rx.try_recv() {
                Ok(f) => batch.push(f),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        let now = SystemTime::now();
        let t0 = Instant::now();
        let reports = batch
            .iter_mut()
            .map(|f| report_of(&store, f, now))
            .collect::<Result<Vec<NewReport>, String>>()?;
        let ids = store.put(&reports)?;
        if let Some(m) = &metrics {
            m.stored(ids.len() as u64, t0.elapsed());
        }
        since_prune += reports
            .iter()
            .map(|r| (r.packets.iter().map(Vec::len).sum::<usize>() + r.log.len()) as u64)
            .sum::<u64>();
        let mut text = String::new();
        for (id, r) in ids.iter().zip(&reports) {
            text.push_str(&stored_line(*id, r));
            text.push('\n');
        }
        // Standard output may be closed (a pipe whose reader went away): storing goes on.
        let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
        let n = stored.fetch_add(ids.len() as u64, Ordering::SeqCst) + ids.len() as u64;
        if stop_after.is_some_and(|m| n >= m) {
            stop.store(true, Ordering::SeqCst);
        }
    }
    pruned.fetch_add(prune(&mut store, retain)?, Ordering::SeqCst);
    Ok(())
}

/// Runs the collector until a signal (SIGINT/SIGTERM), `--exit-after-dumps` or `--timeout`.
/// Lines for stored reports go to `out`; the listening line, dropped packets (with
/// `verbose`) and the final counters go to standard error. At the end, the dumps still
/// pending are stored as they are (partial). SIGHUP reads the settings again
/// ([`Options::reload`]) and applies what needs no new socket.
pub fn run(opts: &Options, out: impl Write + Send + 'static) -> Result<Summary, String> {
    let store = SqliteStore::open(&opts.db)?;
    if opts.retain.is_set() && !store.shrinks()? {
        eprintln!(
            "netoopsd: {}: made without incremental auto-vacuum: pruned reports free space inside the file, which does not shrink (see README)",
            opts.db.display()
        );
    }
    let sockets = bind(&opts.addrs, opts.rcvbuf)?;
    let mut rx = Receiver::new(sockets, opts.batch);
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop)).map_err(|e| format!("signal: {e}"))?;
    }
    let hup = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGHUP, Arc::clone(&hup))
        .map_err(|e| format!("signal: {e}"))?;
    let addrs: Vec<String> = rx.local_addrs().iter().map(ToString::to_string).collect();
    eprintln!(
        "netoopsd: listening on {} (database {})",
        addrs.join(", "),
        opts.db.display()
    );
    crate::sd_notify::ready(&format!("listening on {}", addrs.join(", ")));

    let stored = Arc::new(AtomicU64::new(0));
    let pruned = Arc::new(AtomicU64::new(0));
    let (tx, chan_rx) = sync_channel::<Finished>(1024);
    let writer = {
        let tally = Tally {
            stored: Arc::clone(&stored),
            pruned: Arc::clone(&pruned),
            metrics: opts.metrics.clone(),
        };
        let stop = Arc::clone(&stop);
        let (stop_after, retain) = (opts.exit_after_dumps, opts.retain);
        std::thread::Builder::new()
            .name("netoopsd-store".into())
            .spawn(move || store_loop(store, chan_rx, tally, stop_after, stop, retain, out))
            .map_err(|e| format!("cannot start the storing thread: {e}"))?
    };

    let mut collector = Collector::new(opts.limits.clone());
    collector.keys = opts.keys.clone();
    let started = Instant::now();
    let deadline = opts.timeout.map(|t| started + t);
    let mut finished = Vec::new();
    let mut end = End::Stopped;
    let mut failure = None;
    let mut verbose = opts.verbose;
    let mut publisher = Publisher::new(opts.metrics.clone());
    'outer: while !stop.load(Ordering::SeqCst) {
        if hup.swap(false, Ordering::SeqCst) {
            if let Some(r) = &opts.reload {
                reload(r, &mut collector, &mut verbose, opts.metrics.as_deref());
            }
        }
        let now = Instant::now();
        publisher.tick(now, &collector, &rx, false);
        if deadline.is_some_and(|d| now >= d) {
            if opts.exit_after_dumps.is_some() {
                end = End::TimedOut;
            }
            break;
        }
        let mut wait = Duration::from_millis(100);
        if let Some(d) = collector.next_deadline() {
            wait = wait.min(d.saturating_duration_since(now));
        }
        if let Some(d) = deadline {
            wait = wait.min(d.saturating_duration_since(now));
        }
        let wall = SystemTime::now();
        let r = rx.recv(wait, |payload, from| {
            let got = collector.push(payload, from, Instant::now(), wall, &mut finished);
            if verbose {
                match got {
                    Received::Malformed(why) | Received::Inconsistent(why) => {
                        eprintln!("netoopsd: {from}: dropped: {why}")
                    }
                    _ => {}
                }
            }
        });
        if let Err(e) = r {
            failure = Some(e);
            break;
        }
        collector.expire(Instant::now(), &mut finished);
        for f in finished.drain(..) {
            if tx.send(f).is_err() {
                break 'outer; // the storing thread failed; its error is reported below
            }
        }
    }
    crate::sd_notify::stopping();
    collector.drain(Instant::now(), &mut finished);
    publisher.tick(Instant::now(), &collector, &rx, true);
    for f in finished.drain(..) {
        eprintln!(
            "netoopsd: storing dump {} from {} as it is ({} of {} packets) at exit",
            dump_name(&f.dump.key),
            f.sender,
            f.dump.packets.len(),
            f.dump.count
        );
        if tx.send(f).is_err() {
            break;
        }
    }
    drop(tx);
    let stored_result = writer
        .join()
        .unwrap_or_else(|_| Err("the storing thread panicked".into()));
    stored_result?;
    if let Some(e) = failure {
        return Err(e);
    }
    let stored = stored.load(Ordering::SeqCst);
    if end == End::TimedOut && opts.exit_after_dumps.is_some_and(|n| stored >= n) {
        end = End::Stopped;
    }
    let summary = Summary {
        end,
        counters: collector.counters.clone(),
        stored,
        pruned: pruned.load(Ordering::SeqCst),
        socket_drops: rx.socket_drops(),
        batches: rx.batches,
        max_rss_kib: max_rss_kib(),
    };
    eprintln!("{}", summary.to_text());
    if opts.stats_json {
        eprintln!("{}", summary.to_json());
    }
    Ok(summary)
}

/// Applies a reload: one line on standard error, `reloaded SOURCE` or why not (the settings
/// then stay as they were).
fn reload(r: &Reload, collector: &mut Collector, verbose: &mut bool, metrics: Option<&Metrics>) {
    crate::sd_notify::reloading();
    let ok = match (r.read)() {
        Ok(new) => {
            collector.set_limits(new.limits);
            collector.keys = new.keys;
            *verbose = new.verbose;
            eprintln!("netoopsd: reloaded {}", r.source);
            if !new.need_restart.is_empty() {
                eprintln!(
                    "netoopsd: {}: changed, but taken only at the next start: {}",
                    r.source,
                    new.need_restart.join(", ")
                );
            }
            true
        }
        Err(e) => {
            eprintln!("netoopsd: reload failed, the settings are unchanged: {e}");
            false
        }
    };
    if let Some(m) = metrics {
        m.reloaded(ok);
    }
    crate::sd_notify::ready(&if ok {
        format!("reloaded {}", r.source)
    } else {
        format!("reload of {} failed: running as before", r.source)
    });
}
