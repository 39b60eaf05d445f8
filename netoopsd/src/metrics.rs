//! Prometheus metrics of `listen`: served at `/metrics` by `listen --metrics ADDR` and on the
//! web view of `listen --http ADDR`, in the OpenMetrics text format (written by the
//! `prometheus-client` crate).
//!
//! The receiving thread is not slowed by scrapes: it owns the collector's [`Counters`] and
//! publishes a copy of them at most every [`PUBLISH_EVERY`] ([`Publisher`]; the sockets'
//! drop counts at most every [`DROPS_EVERY`]), and a scrape reads the last copy. The storing thread records each batch it stores
//! ([`Metrics::stored`]). Metrics:
//!
//! - `netoopsd_packets_total{outcome}`: datagrams by outcome: `added`, `duplicate`,
//!   `inconsistent`, `malformed`, `refused`, `late`;
//!   `netoopsd_malformed_packets_total{kind}` and `netoopsd_refused_packets_total{kind}` by
//!   kind; `netoopsd_received_bytes_total`, `netoopsd_recovered_packets_total` (rebuilt
//!   from parity);
//! - `netoopsd_dumps_total{state="complete|partial"}`, `netoopsd_dumps_evicted_total`,
//!   `netoopsd_dumps_reopened_total`, `netoopsd_pending_dumps`;
//! - `netoopsd_reports_stored_total`, `netoopsd_store_seconds` (histogram: one observation
//!   per batch of reports stored in one transaction);
//! - `netoopsd_socket_drops_total` (datagrams the kernel dropped, receive buffer full);
//! - `netoopsd_caps_hit_total{cap}`: packets refused by a cap (every refused kind that is not
//!   a sealing rule, see [`is_sealing`]) and `cap="max_pending"` for dumps handed out early
//!   because the pending limits were reached;
//! - `netoopsd_reloads_total{result="ok|error"}`;
//! - `netoopsd_cpu_seconds_total{thread}`: CPU time of the threads by role (`receive`, the
//!   `report` threads together, `store`, `checkpoint`), charged as each works
//!   ([`crate::cpu`]), and `process_cpu_seconds_total`: of the whole process;
//! - `process_resident_memory_bytes`, `netoopsd_max_resident_memory_bytes`.

use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

use crate::keys::Refused;
use crate::live::{Collector, Counters};
use crate::receive::Receiver;

/// How often the receiving thread publishes its counters, at most.
pub const PUBLISH_EVERY: Duration = Duration::from_millis(250);

/// How often it reads the sockets' drop counts (a read of `/proc/net/udp`), at most.
pub const DROPS_EVERY: Duration = Duration::from_secs(1);

/// The receiving thread's side: publishes a [`Snapshot`] when [`PUBLISH_EVERY`] has passed.
pub struct Publisher {
    metrics: Option<Arc<Metrics>>,
    last: Option<Instant>,
    drops: u64,
    drops_read: Option<Instant>,
}

impl Publisher {
    /// Publishes to `metrics` (none: does nothing).
    pub fn new(metrics: Option<Arc<Metrics>>) -> Self {
        Publisher {
            metrics,
            last: None,
            drops: 0,
            drops_read: None,
        }
    }

    /// Publishes the state of `collector` and `rx` if [`PUBLISH_EVERY`] has passed since the
    /// last time, or now if `force`.
    pub fn tick(&mut self, now: Instant, collector: &Collector, rx: &Receiver, force: bool) {
        let Some(m) = &self.metrics else { return };
        if !force
            && self
                .last
                .is_some_and(|t| now.duration_since(t) < PUBLISH_EVERY)
        {
            return;
        }
        if force
            || self
                .drops_read
                .is_none_or(|t| now.duration_since(t) >= DROPS_EVERY)
        {
            self.drops = rx.socket_drops();
            self.drops_read = Some(now);
        }
        // The receiving thread's CPU time, charged as often as it publishes.
        crate::cpu::tick();
        m.publish(Snapshot {
            counters: collector.counters.clone(),
            pending: collector.pending(),
            socket_drops: self.drops,
        });
        self.last = Some(now);
    }
}

/// Whether a refused kind is a sealing rule (not a cap).
pub fn is_sealing(kind: &str) -> bool {
    [
        Refused::Unsealed,
        Refused::SealedWithoutKeys(0),
        Refused::UnknownKey(0),
        Refused::BadTag(0),
        Refused::MalformedSealed,
    ]
    .iter()
    .any(|r| r.kind() == kind)
}

/// The state the receiving thread publishes.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// The collector's counters.
    pub counters: Counters,
    /// Dumps being reassembled.
    pub pending: usize,
    /// Datagrams dropped at the sockets.
    pub socket_drops: u64,
}

type Labels = Vec<(&'static str, String)>;

/// The metrics of one `listen`.
#[derive(Debug)]
pub struct Metrics {
    snapshot: Mutex<Snapshot>,
    stored: Counter,
    store_seconds: Histogram,
    reloads: Family<Labels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            snapshot: Mutex::new(Snapshot::default()),
            stored: Counter::default(),
            // 0.25 ms to about 8 s.
            store_seconds: Histogram::new(exponential_buckets(0.000_25, 2.0, 16)),
            reloads: Family::default(),
        }
    }
}

fn counter(v: u64) -> Counter {
    let c = Counter::default();
    c.inc_by(v);
    c
}

fn gauge(v: u64) -> Gauge {
    let g = Gauge::default();
    g.set(i64::try_from(v).unwrap_or(i64::MAX));
    g
}

fn family<'a>(
    label: &'static str,
    values: impl IntoIterator<Item = (&'a str, u64)>,
) -> Family<Labels, Counter> {
    let f = Family::<Labels, Counter>::default();
    for (k, v) in values {
        f.get_or_create(&vec![(label, k.to_string())]).inc_by(v);
    }
    f
}

/// A line of `/proc/self/status` in bytes (`VmRSS`, `VmHWM`).
fn proc_status_bytes(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let l = s.lines().find(|l| l.starts_with(field))?;
    let kib: u64 = l.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

impl Metrics {
    /// New metrics, all zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Publishes the receiving thread's state (called at most every [`PUBLISH_EVERY`]).
    pub fn publish(&self, snapshot: Snapshot) {
        if let Ok(mut s) = self.snapshot.lock() {
            *s = snapshot;
        }
    }

    /// Records a batch of `n` reports stored in `took`.
    pub fn stored(&self, n: u64, took: Duration) {
        self.stored.inc_by(n);
        self.store_seconds.observe(took.as_secs_f64());
    }

    /// Records a reload.
    pub fn reloaded(&self, ok: bool) {
        let result = if ok { "ok" } else { "error" };
        self.reloads
            .get_or_create(&vec![("result", result.to_string())])
            .inc();
    }

    /// The exposition text (OpenMetrics).
    pub fn render(&self) -> String {
        let s = self.snapshot.lock().map(|s| s.clone()).unwrap_or_default();
        let c = &s.counters;
        let mut r = Registry::default();
        let refused: u64 = c.refused.values().sum();
        r.register(
            "netoopsd_packets",
            "Datagrams received, by outcome",
            family(
                "outcome",
                [
                    ("added", c.added),
                    ("duplicate", c.duplicates),
                    ("inconsistent", c.inconsistent),
                    ("malformed", c.malformed_total()),
                    ("refused", refused),
                    ("late", c.late),
                ],
            ),
        );
        r.register(
            "netoopsd_received_packets",
            "Datagrams received",
            counter(c.packets),
        );
        r.register(
            "netoopsd_received_bytes",
            "Bytes of the datagrams received",
            counter(c.bytes),
        );
        r.register(
            "netoopsd_malformed_packets",
            "Invalid datagrams dropped, by kind",
            family("kind", c.malformed.iter().map(|(k, v)| (*k, *v))),
        );
        r.register(
            "netoopsd_refused_packets",
            "Datagrams refused by the sealing rules or a cap, by kind",
            family("kind", c.refused.iter().map(|(k, v)| (*k, *v))),
        );
        r.register(
            "netoopsd_recovered_packets",
            "Data packets rebuilt from parity",
            counter(c.recovered),
        );
        r.register(
            "netoopsd_dumps",
            "Dumps handed out for storing, complete or partial",
            family("state", [("complete", c.complete), ("partial", c.partial)]),
        );
        r.register(
            "netoopsd_dumps_evicted",
            "Dumps handed out partial because a pending limit was reached",
            counter(c.evicted),
        );
        r.register(
            "netoopsd_dumps_reopened",
            "Partial dumps handed out that a later packet reopened",
            counter(c.reopened),
        );
        r.register(
            "netoopsd_pending_dumps",
            "Dumps being reassembled",
            gauge(s.pending as u64),
        );
        r.register(
            "netoopsd_reports_stored",
            "Reports stored",
            self.stored.clone(),
        );
        r.register_with_unit(
            "netoopsd_store",
            "Time to store one batch of reports (one transaction)",
            Unit::Seconds,
            self.store_seconds.clone(),
        );
        r.register(
            "netoopsd_socket_drops",
            "Datagrams the kernel dropped at the sockets (receive buffer full)",
            counter(s.socket_drops),
        );
        let caps = c
            .refused
            .iter()
            .filter(|(k, _)| !is_sealing(k))
            .map(|(k, v)| (*k, *v))
            .chain([("max_pending", c.evicted)]);
        r.register(
            "netoopsd_caps_hit",
            "Packets refused or dumps cut short by a cap, by cap",
            family("cap", caps),
        );
        r.register(
            "netoopsd_reloads",
            "Configuration reloads (SIGHUP), by result",
            self.reloads.clone(),
        );
        let cpu = Family::<Labels, Counter<f64, AtomicU64>>::default();
        // Each role from the start (zero until it has worked).
        let zero = crate::cpu::ROLES.map(|role| (role, Duration::ZERO));
        for (role, t) in zero.into_iter().chain(crate::cpu::by_role()) {
            cpu.get_or_create(&vec![("thread", role.to_string())])
                .inc_by(t.as_secs_f64());
        }
        r.register_with_unit(
            "netoopsd_cpu",
            "CPU time of the collector's threads, by role (charged as each works)",
            Unit::Seconds,
            cpu,
        );
        // Read after the roles: never less than their sum.
        let process = Counter::<f64, AtomicU64>::default();
        process.inc_by(crate::cpu::process().as_secs_f64());
        r.register_with_unit(
            "process_cpu",
            "CPU time of the process, user and system",
            Unit::Seconds,
            process,
        );
        if let Some(b) = proc_status_bytes("VmRSS:") {
            r.register_with_unit(
                "process_resident_memory",
                "Resident memory",
                Unit::Bytes,
                gauge(b),
            );
        }
        if let Some(b) = proc_status_bytes("VmHWM:") {
            r.register_with_unit(
                "netoopsd_max_resident_memory",
                "Peak resident memory",
                Unit::Bytes,
                gauge(b),
            );
        }
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut text, &r);
        text
    }
}

/// The content type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A router with `/metrics`.
pub fn router(m: Arc<Metrics>) -> Router {
    Router::new().route(
        "/metrics",
        get(move || {
            let m = Arc::clone(&m);
            async move { ([(header::CONTENT_TYPE, CONTENT_TYPE)], m.render()).into_response() }
        }),
    )
}

/// Binds `addr` and serves `/metrics` on it from a thread of its own. Returns the bound
/// address (port 0: any free port). `what` names the setting in errors (`--metrics`).
pub fn spawn(addr: SocketAddr, m: Arc<Metrics>, what: &str) -> Result<SocketAddr, String> {
    let listener = std::net::TcpListener::bind(addr)
        .map_err(|e| format!("{what} {addr}: cannot listen: {e}"))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("{what} {addr}: {e}"))?;
    let bound = listener
        .local_addr()
        .map_err(|e| format!("{what} {addr}: {e}"))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the metrics server: {e}"))?;
    std::thread::Builder::new()
        .name("netoopsd-metrics".into())
        .spawn(move || {
            let r = rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener)?;
                axum::serve(listener, router(m)).await
            });
            if let Err(e) = r {
                eprintln!("netoopsd: metrics server on {bound}: {e}");
            }
        })
        .map_err(|e| format!("cannot start the metrics thread: {e}"))?;
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_snapshot() {
        let m = Metrics::new();
        let mut c = Counters {
            added: 9,
            duplicates: 2,
            complete: 1,
            evicted: 3,
            ..Counters::default()
        };
        c.malformed.insert("bad_crc", 4);
        c.refused.insert("unsealed", 5);
        c.refused.insert("per_source", 6);
        m.publish(Snapshot {
            counters: c,
            pending: 7,
            socket_drops: 8,
        });
        m.stored(2, Duration::from_millis(3));
        let t = m.render();
        for line in [
            "netoopsd_packets_total{outcome=\"added\"} 9",
            "netoopsd_packets_total{outcome=\"refused\"} 11",
            "netoopsd_malformed_packets_total{kind=\"bad_crc\"} 4",
            "netoopsd_dumps_total{state=\"complete\"} 1",
            "netoopsd_dumps_total{state=\"partial\"} 0",
            "netoopsd_caps_hit_total{cap=\"per_source\"} 6",
            "netoopsd_caps_hit_total{cap=\"max_pending\"} 3",
            "netoopsd_pending_dumps 7",
            "netoopsd_socket_drops_total 8",
            "netoopsd_reports_stored_total 2",
            "netoopsd_store_seconds_count 1",
        ] {
            assert!(t.lines().any(|l| l == line), "{line} not in\n{t}");
        }
        for role in crate::cpu::ROLES {
            let line = format!("netoopsd_cpu_seconds_total{{thread=\"{role}\"}} ");
            assert!(
                t.lines().any(|l| l.starts_with(&line)),
                "{line} not in\n{t}"
            );
        }
        assert!(t.contains("\nprocess_cpu_seconds_total "), "{t}");
        assert!(!t.contains("cap=\"unsealed\""), "{t}");
        assert!(t.ends_with("# EOF\n"), "{t}");
    }
}
