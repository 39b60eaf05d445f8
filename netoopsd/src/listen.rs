//! `netoopsd listen`: receive, reassemble, sign and store dumps until told to stop.
//!
//! Three stages in a pipeline: the receiving thread owns the sockets and the [`Collector`]
//! (parsing, checking and reassembling each datagram); report threads, one per core
//! (`Reporters`), turn each finished dump into its report (log, signature, index fields);
//! the storing thread stores batches of reports in one transaction and prints one line per
//! stored report (a SQLite database's log is checkpointed by a thread of its own). The
//! channels between them are bounded: if storage falls behind, reception waits and the
//! kernel's socket buffer absorbs (and counts, as socket drops) what does not fit.
//!
//! When storing fails (the database server went away), the storing thread keeps the
//! reports in memory and tries again with exponential backoff ([`RETRY_FIRST`] doubling to
//! [`RETRY_MAX`]), still taking finished dumps from the channel; beyond [`HELD_MAX_REPORTS`]
//! reports or [`HELD_MAX_BYTES`] bytes held, new reports are dropped and counted.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{
    sync_channel, Receiver as ChanRx, RecvTimeoutError, SyncSender, TryRecvError,
};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{json, Value};

use crate::config::Reload;
use crate::display::dump_name;
use crate::live::{Collector, Counters, Finished, Limits, Received};
use crate::metrics::{Metrics, Publisher};
use crate::priority::spawn_worker;
use crate::receive::{bind, Receiver};
use crate::store::{Filter, NewReport, Store, Stored};

/// The first wait before storing again after a failure.
pub const RETRY_FIRST: Duration = Duration::from_millis(100);
/// The longest wait between two tries.
pub const RETRY_MAX: Duration = Duration::from_secs(5);
/// At most this many reports are held while the database is unavailable...
pub const HELD_MAX_REPORTS: usize = 10_000;
/// ... holding at most this many bytes of packets and log.
pub const HELD_MAX_BYTES: usize = 256 << 20;
/// At exit, how long reports still held are tried before they are dropped.
pub const EXIT_RETRY: Duration = Duration::from_secs(10);
/// After this many failed tries in a row, the held reports are tried one at a time: one that
/// still fails while the database answers (a report it refuses) is dropped and counted,
/// rather than holding up the others for ever.
pub const ISOLATE_AFTER: u32 = 8;

/// What `listen` is asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    /// Addresses to bind.
    pub addrs: Vec<SocketAddr>,
    /// The database: a SQLite file or a PostgreSQL URL (see [`crate::store::open`]).
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

/// Reports stored in one transaction at most.
const STORE_BATCH: usize = 256;

/// How long the storing thread waits, after a report arrives, for more to store in the same
/// transaction (group commit): a transaction writes each index page it changes once, so
/// reports stored one per transaction cost a dozen page writes each, and the log's copies.
const GROUP_WAIT: Duration = Duration::from_millis(20);

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
    /// Reports dropped because storing failed while too many were held (or at exit).
    pub store_dropped: u64,
    /// Failed attempts to store a batch (each retried after a backoff).
    pub store_retries: u64,
    /// Reports deleted by retention (`--retain-days`, `--retain-bytes`).
    pub pruned: u64,
    /// Datagrams the kernel dropped at the socket (receive buffer full).
    pub socket_drops: u64,
    /// `recvmmsg` calls that returned datagrams.
    pub batches: u64,
    /// Peak resident memory of the process (KiB), if known.
    pub max_rss_kib: Option<u64>,
    /// CPU seconds by thread: receive (this one), report, store, checkpoint.
    pub cpu_by_thread: std::collections::BTreeMap<&'static str, f64>,
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
            "store_dropped": self.store_dropped,
            "store_retries": self.store_retries,
            "pruned": self.pruned,
            "sources_peak": c.peak_sources,
            "sources_forgotten": c.sources_forgotten,
            "peak_pending_bytes": c.peak_pending_bytes,
            "socket_drops": self.socket_drops,
            "batches": self.batches,
            "max_rss_kib": self.max_rss_kib,
            "cpu_s": crate::cpu::process().as_secs_f64(),
            "cpu_s_by_thread": self.cpu_by_thread,
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
            "netoopsd: {} packets ({} bytes): {} added, {} rebuilt from parity, {} duplicate, {} inconsistent, {} malformed{}, {} refused{}, {} late, {} partial dumps reopened; {} reports stored ({} complete, {} partial), {} pruned; {} dropped at the socket; {} store retries, {} reports dropped unstored",
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
            self.socket_drops,
            self.store_retries,
            self.store_dropped
        )
    }
}

/// Peak resident set size of this process, from `/proc/self/status`.
pub fn max_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let l = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    l.split_whitespace().nth(1)?.parse().ok()
}

/// One line per stored report: `stored id=N dump=BOOT#SEQ from=ADDR reason=R state=...
/// bucket=B title="..."`, as the report is stored now (after a merge with parts stored
/// before, its merged state).
pub fn stored_line(s: &Stored) -> String {
    let f = &s.fields;
    let state = if f.complete {
        "complete".to_string()
    } else {
        format!("partial({}/{})", f.packets_received, f.packet_count)
    };
    format!(
        "stored id={} dump={}#{} from={} reason={} state={state} bucket={} title={:?}",
        s.id, f.boot_id, f.seq, s.sender, f.reason, f.bucket, f.title
    )
}

/// The report of a finished dump. Merging it with parts of the same dump stored before (by
/// this receiver before a restart, or by another) is [`Store::put`]'s work.
fn report_of(f: Finished, now: SystemTime) -> NewReport {
    NewReport::of_finished(f, now)
}

/// A report thread: the report of each dump `rx` hands out, to `tx`, until `rx` closes or
/// the storing thread is gone.
fn report_loop(rx: ChanRx<Finished>, tx: SyncSender<NewReport>) {
    for f in rx {
        let report = report_of(f, SystemTime::now());
        crate::cpu::tick();
        if tx.send(report).is_err() {
            return;
        }
    }
}

/// The report threads, one per core (at most [`REPORT_THREADS_MAX`]): a report (log,
/// signature) costs several times what receiving its packets does. A dump goes to the thread
/// its key picks, so that the reports of one dump (a partial one, then its late packets)
/// reach the storing thread in the order they were handed out.
struct Reporters {
    queues: Vec<SyncSender<Finished>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

/// At most this many report threads.
const REPORT_THREADS_MAX: usize = 4;

impl Reporters {
    fn start(tx: &SyncSender<NewReport>) -> Result<Self, String> {
        let n = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .clamp(1, REPORT_THREADS_MAX);
        let (mut queues, mut threads) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for i in 0..n {
            let (q, rx) = sync_channel::<Finished>(1024 / n);
            let tx = tx.clone();
            threads.push(
                spawn_worker(&format!("netoopsd-report{i}"), "report", move || {
                    report_loop(rx, tx)
                })
                .map_err(|e| format!("cannot start a report thread: {e}"))?,
            );
            queues.push(q);
        }
        Ok(Reporters { queues, threads })
    }

    /// Hands `f` to its thread; an error if that thread is gone (the storing thread failed).
    fn send(&self, f: Finished) -> Result<(), ()> {
        use std::hash::{BuildHasher, BuildHasherDefault};
        let hash = BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default()
            .hash_one(f.dump.key);
        self.queues[hash as usize % self.queues.len()]
            .send(f)
            .map_err(|_| ())
    }

    /// Closes the queues and waits for the threads to finish what they hold.
    fn finish(self) {
        drop(self.queues);
        for t in self.threads {
            let _ = t.join();
        }
    }
}

/// Reports made and waiting for the storing thread, at most (each holds its dump's packets
/// and log).
const REPORT_QUEUE: usize = 256;

/// Counters of the storing thread.
#[derive(Default)]
struct StoreCounters {
    stored: AtomicU64,
    dropped: AtomicU64,
    retries: AtomicU64,
    /// Reports deleted by retention.
    pruned: AtomicU64,
}

/// Reports waiting to be stored, bounded (by [`HELD_MAX_REPORTS`] and [`HELD_MAX_BYTES`]).
struct Held {
    reports: Vec<NewReport>,
    bytes: usize,
    max_reports: usize,
    max_bytes: usize,
    /// At exit, how long the reports still held are tried.
    exit_retry: Duration,
    /// The first wait after a failure, doubling up to `retry_max`.
    retry_first: Duration,
    /// The longest wait.
    retry_max: Duration,
    /// Retention, applied by the storing thread.
    retain: Retain,
    /// How often retention is applied at least (when set).
    prune_every: Duration,
    /// Where store latency and stored reports are published (`/metrics`).
    metrics: Option<Arc<Metrics>>,
}

impl Held {
    fn new(max_reports: usize, max_bytes: usize) -> Self {
        Held {
            reports: Vec::new(),
            bytes: 0,
            max_reports,
            max_bytes,
            exit_retry: EXIT_RETRY,
            retry_first: RETRY_FIRST,
            retry_max: RETRY_MAX,
            retain: Retain::default(),
            prune_every: PRUNE_EVERY,
            metrics: None,
        }
    }

    fn size(r: &NewReport) -> usize {
        r.packets.iter().map(<[u8]>::len).sum::<usize>()
            + r.log.len()
            + r.packed.as_ref().map_or(0, Vec::len)
    }

    /// Takes a finished dump's report, unless the bound is reached: then it is dropped,
    /// said on standard error and counted.
    fn take(&mut self, r: NewReport, counters: &StoreCounters) {
        let size = Self::size(&r);
        if self.reports.len() >= self.max_reports || self.bytes + size > self.max_bytes {
            counters.dropped.fetch_add(1, Ordering::SeqCst);
            eprintln!(
                "netoopsd: dropped the report of dump {}#{} from {}: {} reports ({} bytes) already wait for the database",
                r.fields.boot_id,
                r.fields.seq,
                r.sender,
                self.reports.len(),
                self.bytes
            );
            return;
        }
        self.bytes += size;
        self.reports.push(r);
    }
}

/// Prints the lines of stored reports and counts them; asks to stop after `stop_after`.
fn emit(
    stored: &[Stored],
    out: &mut impl Write,
    counters: &StoreCounters,
    stop_after: Option<u64>,
    stop: &AtomicBool,
) {
    let mut text = String::new();
    for s in stored {
        text.push_str(&stored_line(s));
        text.push('\n');
    }
    // Standard output may be closed (a pipe whose reader went away): storing goes on.
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    let k = stored.len() as u64;
    let total = counters.stored.fetch_add(k, Ordering::SeqCst) + k;
    if stop_after.is_some_and(|m| total >= m) {
        stop.store(true, Ordering::SeqCst);
    }
}

/// Tries the first `n` held reports one at a time. A report that fails while the database
/// answers a query is dropped and counted; when the database does not answer, the rest stay
/// held. Returns whether the database answered.
fn isolate(
    store: &mut dyn Store,
    held: &mut Held,
    n: usize,
    out: &mut impl Write,
    counters: &StoreCounters,
    stop_after: Option<u64>,
    stop: &AtomicBool,
) -> bool {
    let mut done = 0;
    let mut answered = false;
    for r in &held.reports[..n] {
        match store.put_stored(std::slice::from_ref(r)) {
            Ok(s) => emit(&s, out, counters, stop_after, stop),
            Err(e) => {
                let probe = Filter {
                    limit: Some(1),
                    ..Filter::default()
                };
                if store.list(&probe).is_err() {
                    break;
                }
                counters.dropped.fetch_add(1, Ordering::SeqCst);
                eprintln!(
                    "netoopsd: dropped the report of dump {}#{} from {}: the database answers but refuses it: {e}",
                    r.fields.boot_id, r.fields.seq, r.sender
                );
            }
        }
        answered = true;
        done += 1;
    }
    let gone: usize = held.reports.drain(..done).map(|r| Held::size(&r)).sum();
    held.bytes -= gone;
    answered
}

/// Applies retention now; returns the reports deleted.
fn prune(store: &mut dyn Store, retain: Retain) -> Result<u64, String> {
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

/// The storing thread: stores the reports of the dumps `rx` hands out, in batches, until
/// `rx` is closed; retries with backoff while storing fails, holding reports in `held`.
fn store_loop(
    mut store: Box<dyn Store + Send>,
    rx: ChanRx<NewReport>,
    counters: Arc<StoreCounters>,
    stop_after: Option<u64>,
    stop: Arc<AtomicBool>,
    mut out: impl Write,
    mut held: Held,
) -> Result<(), String> {
    let mut open = true;
    let mut backoff = held.retry_first;
    let mut failures = 0;
    let mut exit_deadline: Option<Instant> = None;
    let retain = held.retain;
    let prune_now = |store: &mut dyn Store| -> Result<(), String> {
        counters
            .pruned
            .fetch_add(prune(store, retain)?, Ordering::SeqCst);
        Ok(())
    };
    prune_now(&mut *store)?;
    let mut last_prune = Instant::now();
    let mut since_prune = 0u64;
    loop {
        crate::cpu::tick();
        if retain.is_set()
            && (since_prune >= retain.every_bytes() || last_prune.elapsed() >= held.prune_every)
        {
            prune_now(&mut *store)?;
            last_prune = Instant::now();
            since_prune = 0;
        }
        if held.reports.is_empty() {
            if !open {
                prune_now(&mut *store)?;
                return Ok(());
            }
            // Without retention there is nothing to wake for but a report.
            let got = if retain.is_set() {
                rx.recv_timeout(held.prune_every.saturating_sub(last_prune.elapsed()))
            } else {
                rx.recv().map_err(|_| RecvTimeoutError::Disconnected)
            };
            match got {
                Ok(f) => held.take(f, &counters),
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => {
                    prune_now(&mut *store)?;
                    return Ok(());
                }
            }
        }
        let first = Instant::now();
        while open && held.reports.len() < STORE_BATCH {
            match rx.try_recv() {
                Ok(f) => held.take(f, &counters),
                Err(TryRecvError::Empty) => {
                    let left = GROUP_WAIT.saturating_sub(first.elapsed());
                    if left.is_zero() || held.reports.is_empty() {
                        break;
                    }
                    match rx.recv_timeout(left) {
                        Ok(f) => held.take(f, &counters),
                        Err(RecvTimeoutError::Timeout) => break,
                        Err(RecvTimeoutError::Disconnected) => open = false,
                    }
                }
                Err(TryRecvError::Disconnected) => open = false,
            }
        }
        if held.reports.is_empty() {
            continue;
        }
        let n = held.reports.len().min(STORE_BATCH);
        let t0 = Instant::now();
        match store.put_stored(&held.reports[..n]) {
            Ok(stored) => {
                // Charged before the batch is counted: /metrics never shows it stored but
                // not its cost.
                crate::cpu::tick();
                if let Some(m) = &held.metrics {
                    m.stored(stored.len() as u64, t0.elapsed());
                }
                backoff = held.retry_first;
                failures = 0;
                let gone: usize = held.reports.drain(..n).map(|r| Held::size(&r)).sum();
                held.bytes -= gone;
                since_prune += gone as u64;
                emit(&stored, &mut out, &counters, stop_after, &stop);
            }
            Err(e) => {
                counters.retries.fetch_add(1, Ordering::SeqCst);
                failures += 1;
                if failures >= ISOLATE_AFTER {
                    let answered = isolate(
                        &mut *store,
                        &mut held,
                        n,
                        &mut out,
                        &counters,
                        stop_after,
                        &stop,
                    );
                    if answered {
                        failures = 0;
                        backoff = held.retry_first;
                        continue;
                    }
                }
                eprintln!(
                    "netoopsd: storing {n} reports failed (trying again in {} ms, {} held): {e}",
                    backoff.as_millis(),
                    held.reports.len()
                );
                if !open {
                    let deadline =
                        *exit_deadline.get_or_insert_with(|| Instant::now() + held.exit_retry);
                    if Instant::now() >= deadline {
                        let k = held.reports.len() as u64;
                        counters.dropped.fetch_add(k, Ordering::SeqCst);
                        return Err(format!("{k} reports were not stored at exit: {e}"));
                    }
                    std::thread::sleep(backoff);
                } else {
                    // Wait, still taking finished dumps so that reception goes on.
                    let until = Instant::now() + backoff;
                    while let Some(left) = until.checked_duration_since(Instant::now()) {
                        match rx.recv_timeout(left) {
                            Ok(f) => held.take(f, &counters),
                            Err(RecvTimeoutError::Timeout) => break,
                            Err(RecvTimeoutError::Disconnected) => {
                                open = false;
                                break;
                            }
                        }
                    }
                }
                backoff = (backoff * 2).min(held.retry_max);
            }
        }
    }
}

/// Runs the collector until a signal (SIGINT/SIGTERM), `--exit-after-dumps` or `--timeout`.
/// Lines for stored reports go to `out`; the listening line, dropped packets (with
/// `verbose`) and the final counters go to standard error. At the end, the dumps still
/// pending are stored as they are (partial). SIGHUP reads the settings again
/// ([`Options::reload`]) and applies what needs no new socket.
pub fn run(opts: &Options, out: impl Write + Send + 'static) -> Result<Summary, String> {
    let charged_before = crate::cpu::by_role();
    let metered = crate::cpu::meter("receive");
    let spec = opts.db.to_string_lossy();
    let store = crate::store::open(&spec)?;
    if opts.retain.is_set() && !store.shrinks()? {
        eprintln!(
            "netoopsd: {}: made without incremental auto-vacuum: pruned reports free space inside the file, which does not shrink (see README)",
            store.name()
        );
    }
    let sockets = bind(&opts.addrs, opts.rcvbuf)?;
    let capped = crate::receive::capped_buffers(&sockets, opts.rcvbuf);
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
        store.name()
    );
    for line in capped {
        eprintln!("{line}");
    }
    crate::sd_notify::ready(&format!("listening on {}", addrs.join(", ")));

    let counters = Arc::new(StoreCounters::default());
    let (report_tx, report_rx) = sync_channel::<NewReport>(REPORT_QUEUE);
    let tx = Reporters::start(&report_tx)?;
    drop(report_tx);
    let writer = {
        let (counters, stop) = (Arc::clone(&counters), Arc::clone(&stop));
        let stop_after = opts.exit_after_dumps;
        let (retain, metrics) = (opts.retain, opts.metrics.clone());
        spawn_worker("netoopsd-store", "store", move || {
            let held = Held {
                retain,
                metrics,
                ..Held::new(HELD_MAX_REPORTS, HELD_MAX_BYTES)
            };
            store_loop(store, report_rx, counters, stop_after, stop, out, held)
        })
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
    tx.finish();
    let stored_result = writer
        .join()
        .unwrap_or_else(|_| Err("the storing thread panicked".into()));
    stored_result?;
    if let Some(e) = failure {
        return Err(e);
    }
    let stored = counters.stored.load(Ordering::SeqCst);
    if end == End::TimedOut && opts.exit_after_dumps.is_some_and(|n| stored >= n) {
        end = End::Stopped;
    }
    // This thread received; the others charged the rest of their time as they ended (joined
    // above).
    drop(metered);
    let summary = Summary {
        end,
        counters: collector.counters.clone(),
        stored,
        store_dropped: counters.dropped.load(Ordering::SeqCst),
        store_retries: counters.retries.load(Ordering::SeqCst),
        pruned: counters.pruned.load(Ordering::SeqCst),
        socket_drops: rx.socket_drops(),
        batches: rx.batches,
        max_rss_kib: max_rss_kib(),
        cpu_by_thread: crate::cpu::by_role_since(&charged_before),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reassembly::DumpState;
    use crate::store::sql::{Arg, Cell, Dialect};
    use crate::store::sqlite::SqliteStore;
    use crate::store::stats::Stats;
    use crate::store::{Bucket, Full};
    use netoops_codec::wire::golden::OOPS;

    /// A store whose first `failures` puts fail, as a database that is away for a while,
    /// and that refuses every batch holding a report of sequence number `poison`.
    struct Flaky {
        inner: SqliteStore,
        failures: u32,
        puts: Arc<AtomicU64>,
        poison: Option<u32>,
    }

    impl Stats for Flaky {
        fn dialect(&self) -> Dialect {
            self.inner.dialect()
        }
        fn name(&self) -> String {
            self.inner.name()
        }
        fn query(&self, what: &str, sql: &str, args: &[Arg]) -> Result<Vec<Vec<Cell>>, String> {
            self.inner.query(what, sql, args)
        }
    }

    impl Store for Flaky {
        fn put_stored(&mut self, reports: &[NewReport]) -> Result<Vec<Stored>, String> {
            self.puts.fetch_add(1, Ordering::SeqCst);
            if self.failures > 0 {
                self.failures -= 1;
                return Err("flaky: the server is away".into());
            }
            if reports.iter().any(|r| Some(r.fields.seq) == self.poison) {
                return Err("flaky: this report is refused".into());
            }
            self.inner.put_stored(reports)
        }
        fn list(&self, f: &Filter) -> Result<Vec<Stored>, String> {
            self.inner.list(f)
        }
        fn get(&self, id: i64) -> Result<Option<Full>, String> {
            self.inner.get(id)
        }
        fn same_dump(&self, r: &NewReport) -> Result<Option<Full>, String> {
            self.inner.same_dump(r)
        }
        fn top(&self, f: &Filter) -> Result<Vec<Bucket>, String> {
            self.inner.top(f)
        }
        fn prune(&mut self, before_ms: Option<i64>, max_bytes: Option<u64>) -> Result<u64, String> {
            self.inner.prune(before_ms, max_bytes)
        }
    }

    /// [`store_loop`] on `store` until `rx` closes: no stop after a count, never stopped.
    fn store_all(
        store: Flaky,
        rx: ChanRx<NewReport>,
        counters: &Arc<StoreCounters>,
        out: impl Write,
        held: Held,
    ) -> Result<(), String> {
        let stop = Arc::new(AtomicBool::new(false));
        store_loop(
            Box::new(store),
            rx,
            Arc::clone(counters),
            None,
            stop,
            out,
            held,
        )
    }

    fn finished(seq: u32) -> Finished {
        let mut d = OOPS;
        d.seq = seq;
        let pk = crate::encode::encode_dump(d, 512).unwrap();
        Finished {
            sender: "10.0.0.1".parse().unwrap(),
            dump: DumpState::from_packets(pk.iter().map(Vec::as_slice), "t").unwrap(),
            first_seen: SystemTime::now(),
            last_seen: SystemTime::now(),
        }
    }

    #[test]
    fn failed_puts_are_retried_with_backoff_and_reports_beyond_the_bound_dropped() {
        let (tx, rx) = sync_channel(8);
        for seq in 0..3 {
            tx.send(report_of(finished(seq), SystemTime::now()))
                .unwrap();
        }
        drop(tx);
        let puts = Arc::new(AtomicU64::new(0));
        let store = Flaky {
            inner: SqliteStore::in_memory().unwrap(),
            failures: 2,
            puts: Arc::clone(&puts),
            poison: None,
        };
        let counters = Arc::new(StoreCounters::default());
        let mut out = Vec::new();
        let started = Instant::now();
        store_all(store, rx, &counters, &mut out, Held::new(2, usize::MAX)).unwrap();
        // Two failures: waits of 100 then 200 ms before the third try stored both.
        assert!(
            started.elapsed() >= RETRY_FIRST * 3,
            "{:?}",
            started.elapsed()
        );
        assert_eq!(puts.load(Ordering::SeqCst), 3);
        assert_eq!(counters.retries.load(Ordering::SeqCst), 2);
        assert_eq!(counters.stored.load(Ordering::SeqCst), 2);
        assert_eq!(counters.dropped.load(Ordering::SeqCst), 1);
        let out = String::from_utf8(out).unwrap();
        assert_eq!(out.lines().count(), 2, "{out}");
        assert!(out.lines().all(|l| l.contains("state=complete")), "{out}");
    }

    /// Reports that arrive a few milliseconds apart are stored in one transaction (group
    /// commit), not one each.
    #[test]
    fn reports_arriving_close_together_share_a_transaction() {
        let (tx, rx) = sync_channel(8);
        let reports: Vec<NewReport> = (0..5)
            .map(|seq| report_of(finished(seq), SystemTime::now()))
            .collect();
        let sender = std::thread::spawn(move || {
            for r in reports {
                tx.send(r).unwrap();
                std::thread::sleep(Duration::from_millis(1));
            }
        });
        let puts = Arc::new(AtomicU64::new(0));
        let store = Flaky {
            inner: SqliteStore::in_memory().unwrap(),
            failures: 0,
            puts: Arc::clone(&puts),
            poison: None,
        };
        let counters = Arc::new(StoreCounters::default());
        let mut out = Vec::new();
        store_all(store, rx, &counters, &mut out, Held::new(100, usize::MAX)).unwrap();
        sender.join().unwrap();
        assert_eq!(counters.stored.load(Ordering::SeqCst), 5);
        // One, or two on a machine so busy that the sends straddle the wait (one each
        // without it).
        let puts = puts.load(Ordering::SeqCst);
        assert!(puts <= 2, "{puts} transactions for 5 reports");
    }

    /// An idle storing thread sleeps until a report comes: it did spin (a whole core) once
    /// the first retention interval had passed without retention set.
    #[test]
    fn an_idle_storing_thread_takes_no_cpu() {
        for retain in [
            Retain::default(),
            Retain {
                age: Some(Duration::from_secs(3600)),
                bytes: None,
            },
        ] {
            let (tx, rx) = sync_channel(8);
            let store = Flaky {
                inner: SqliteStore::in_memory().unwrap(),
                failures: 0,
                puts: Arc::new(AtomicU64::new(0)),
                poison: None,
            };
            let counters = Arc::new(StoreCounters::default());
            let held = Held {
                retain,
                prune_every: Duration::from_millis(20),
                ..Held::new(10, usize::MAX)
            };
            let thread = {
                let counters = Arc::clone(&counters);
                std::thread::spawn(move || {
                    store_all(store, rx, &counters, std::io::sink(), held).unwrap();
                    crate::cpu::thread()
                })
            };
            // Fifty retention intervals with nothing to store, then one report.
            std::thread::sleep(Duration::from_secs(1));
            tx.send(report_of(finished(0), SystemTime::now())).unwrap();
            drop(tx);
            let cpu = thread.join().unwrap();
            assert_eq!(counters.stored.load(Ordering::SeqCst), 1);
            assert!(
                cpu < Duration::from_millis(150),
                "{retain:?}: the storing thread took {cpu:?} of CPU in a second mostly idle"
            );
        }
    }

    #[test]
    fn reports_still_held_at_exit_are_dropped_after_a_last_try() {
        let (tx, rx) = sync_channel(8);
        tx.send(report_of(finished(0), SystemTime::now())).unwrap();
        drop(tx);
        let store = Flaky {
            inner: SqliteStore::in_memory().unwrap(),
            failures: u32::MAX,
            puts: Arc::new(AtomicU64::new(0)),
            poison: None,
        };
        // A byte bound that the report taken first fits in.
        let size = Held::size(&report_of(finished(1), SystemTime::now()));
        let counters = Arc::new(StoreCounters::default());
        let mut held = Held::new(10, size);
        held.exit_retry = Duration::from_millis(500);
        held.take(report_of(finished(1), SystemTime::now()), &counters);
        assert_eq!(held.reports.len(), 1);
        let e = store_all(store, rx, &counters, std::io::sink(), held).unwrap_err();
        assert!(
            e.starts_with("1 reports were not stored at exit: flaky"),
            "{e}"
        );
        // The one that did not fit, and the one never stored.
        assert_eq!(counters.dropped.load(Ordering::SeqCst), 2);
        assert!(counters.retries.load(Ordering::SeqCst) >= 3);
    }

    #[test]
    fn a_report_the_database_refuses_is_dropped_and_the_others_stored() {
        let (tx, rx) = sync_channel(8);
        for seq in 0..3 {
            tx.send(report_of(finished(seq), SystemTime::now()))
                .unwrap();
        }
        drop(tx);
        let store = Flaky {
            inner: SqliteStore::in_memory().unwrap(),
            failures: 0,
            puts: Arc::new(AtomicU64::new(0)),
            poison: Some(1),
        };
        let counters = Arc::new(StoreCounters::default());
        let mut held = Held::new(10, usize::MAX);
        held.retry_first = Duration::from_millis(1);
        held.retry_max = Duration::from_millis(4);
        let mut out = Vec::new();
        store_all(store, rx, &counters, &mut out, held).unwrap();
        assert_eq!(
            counters.retries.load(Ordering::SeqCst),
            u64::from(ISOLATE_AFTER)
        );
        assert_eq!(counters.stored.load(Ordering::SeqCst), 2);
        assert_eq!(counters.dropped.load(Ordering::SeqCst), 1);
        let out = String::from_utf8(out).unwrap();
        assert!(
            out.contains("#0 ") && out.contains("#2 ") && !out.contains("#1 "),
            "{out}"
        );
    }
}
