//! Caps per source for `listen` ("bounded under attack"): an allow-list of source networks,
//! caps on the partial dumps one source may hold while they are reassembled (count and bytes),
//! a token bucket on the new dumps a source may start, and a cap on the bytes a source may have
//! taken per hour. [`crate::live::Collector`] asks [`Sources::admit`] before a packet may add to
//! a dump, and every refusal is counted under its [`Refusal::kind`].
//!
//! A source is an address (an IPv4-mapped IPv6 address is its IPv4 address).
//!
//! # The table of sources is bounded
//!
//! At most [`Caps::max_sources`] sources are tracked. A source holding pending dumps is never
//! forgotten (there are at most `max_pending` of those); beyond the cap, the source idle the
//! longest among the others is forgotten. A flooding source is never the one idle the longest
//! unless more than `max_sources` other sources sent since its last packet; but forgetting
//! must still not hand it a fresh allowance when it comes back (a sender cycling through more
//! addresses than the table holds, or pausing while others churn the table, would otherwise
//! get a new burst each time). So what a forgotten source had used of its two buckets is
//! remembered in a second bounded table, the *debts*: `max_sources` entries in sets of
//! [`WAYS`], each entry a 64-bit keyed hash of the address (random keys: a sender can neither
//! aim at a set nor pass for another address) and the two buckets' use, draining at the
//! buckets' own rates. A source (re)appearing starts from its own debt, if remembered, else from
//! zero. When a set is full, the smallest debt (as a share of the allowances) makes way, or the
//! new one is dropped if it is smaller still: debts that matter (flooders') stay, the small
//! debts of ordinary machines are the ones forgotten, and forgetting those gives back little.
//! Innocent sources never inherit another address's debt. Only a sender holding more heavy
//! debts at once than the debt table holds (more than `max_sources` flooding addresses) can get
//! fresh allowances back, and against such a spread-out flood the per-source caps cannot help
//! anyway: the total caps ([`crate::live::Limits`]), eviction from the source holding the most,
//! and retention bound it.

use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, BTreeSet};
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::time::Instant;

use foldhash::{HashMap, HashMapExt};
use ipnet::IpNet;

use crate::live::Key;

/// Caps per source. A cap of 0 is no cap.
#[derive(Debug, Clone, PartialEq)]
pub struct Caps {
    /// Only packets from these networks are taken (all, when empty).
    pub allow: Vec<IpNet>,
    /// Dumps one source may have pending (reassembled) at once.
    pub max_pending_per_source: usize,
    /// Bytes (of reassembly memory: the packets' bytes) one source's pending dumps may hold.
    pub max_pending_bytes_per_source: usize,
    /// New dumps a source may start per minute, on average (the bucket's refill rate).
    pub new_dumps_per_minute: u32,
    /// New dumps a source may start at once (the bucket's size).
    pub new_dumps_burst: u32,
    /// Bytes of packets one source may have taken per hour (a bucket of this size refilled
    /// over an hour).
    pub bytes_per_source_per_hour: u64,
    /// Sources tracked at most (see the module documentation).
    pub max_sources: usize,
}

impl Default for Caps {
    /// A fleet's defaults: a crash storm from thousands of machines, each sending a few dumps
    /// (of up to a few MiB of log), passes; one source cannot hold more than a sliver of the
    /// collector's memory or start more than a dump every few seconds for long.
    fn default() -> Self {
        Caps {
            allow: Vec::new(),
            max_pending_per_source: 16,
            max_pending_bytes_per_source: 32 << 20,
            new_dumps_per_minute: 12,
            new_dumps_burst: 32,
            bytes_per_source_per_hour: 256 << 20,
            max_sources: 65_536,
        }
    }
}

/// Why a packet was refused by the caps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Its source is outside the allow-list.
    NotAllowed,
    /// Its source holds as many pending dumps, or bytes, as it may.
    SourcePendingCap,
    /// It would start a new dump and its source has no token left.
    NewDumpRate,
    /// Its source took as many bytes this hour as it may.
    SourceBytesPerHour,
}

impl Refusal {
    /// The counter name (`Counters::refused`).
    pub fn kind(self) -> &'static str {
        match self {
            Refusal::NotAllowed => "not_allowed",
            Refusal::SourcePendingCap => "source_pending_cap",
            Refusal::NewDumpRate => "new_dump_rate",
            Refusal::SourceBytesPerHour => "source_bytes_per_hour",
        }
    }
}

/// What a packet would do to its source's pending dumps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Add to a dump already pending.
    Existing,
    /// Reopen a partial dump handed out, holding this many bytes.
    Reopen(usize),
    /// Start a new dump.
    New,
}

/// A leaky bucket: `level` used at `at`, draining at a fixed rate.
#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    level: f64,
    at: Option<Instant>,
}

impl Bucket {
    fn level_at(&self, now: Instant, per_sec: f64) -> f64 {
        match self.at {
            Some(at) => {
                (self.level - per_sec * now.saturating_duration_since(at).as_secs_f64()).max(0.0)
            }
            None => 0.0,
        }
    }
    fn fits(&self, n: f64, cap: f64, per_sec: f64, now: Instant) -> bool {
        self.level_at(now, per_sec) + n <= cap
    }
    fn add(&mut self, n: f64, per_sec: f64, now: Instant) {
        self.level = self.level_at(now, per_sec) + n;
        self.at = Some(now);
    }
    /// Keeps the larger use of the two.
    fn fold(&mut self, other: &Bucket, per_sec: f64, now: Instant) {
        self.level = self
            .level_at(now, per_sec)
            .max(other.level_at(now, per_sec));
        self.at = Some(now);
    }
}

/// Entries per set of the debt table.
pub const WAYS: usize = 8;

#[derive(Debug, Clone, Copy, Default)]
struct Debt {
    /// Keyed hash of the address; 0: a free entry.
    tag: u64,
    new_dumps: Bucket,
    bytes: Bucket,
}

#[derive(Debug, Default)]
struct Source {
    /// Its pending dumps.
    pending: Vec<Key>,
    pending_bytes: usize,
    new_dumps: Bucket,
    bytes: Bucket,
    /// Its place in `Sources::idle` while it holds no pending dump.
    stamp: u64,
}

/// The sources seen, bounded (see the module documentation).
#[derive(Debug)]
pub struct Sources {
    caps: Caps,
    table: HashMap<IpAddr, Source>,
    /// Sources holding no pending dump, by last packet (oldest first).
    idle: BTreeMap<u64, IpAddr>,
    next_stamp: u64,
    /// Sources holding pending dumps, by their number and by their bytes.
    by_count: BTreeSet<(usize, IpAddr)>,
    by_bytes: BTreeSet<(usize, IpAddr)>,
    debts: Vec<Debt>,
    hasher: RandomState,
    /// Sources forgotten to bound the table.
    pub forgotten: u64,
    /// Most sources tracked at once.
    pub peak: usize,
}

fn canonical(a: IpAddr) -> IpAddr {
    a.to_canonical()
}

impl Sources {
    /// No source yet.
    pub fn new(caps: Caps) -> Self {
        let sets = caps.max_sources.div_ceil(WAYS).max(1);
        Sources {
            caps,
            table: HashMap::new(),
            idle: BTreeMap::new(),
            next_stamp: 0,
            by_count: BTreeSet::new(),
            by_bytes: BTreeSet::new(),
            debts: vec![Debt::default(); sets * WAYS],
            hasher: RandomState::new(),
            forgotten: 0,
            peak: 0,
        }
    }

    /// The caps.
    pub fn caps(&self) -> &Caps {
        &self.caps
    }

    /// New caps (a reload): they apply from the next packet on, to what each source has
    /// used already; the size of the tables (`max_sources`) stays as it was until a restart.
    pub fn set_caps(&mut self, caps: Caps) {
        let max_sources = self.caps.max_sources;
        self.caps = Caps {
            max_sources,
            ..caps
        };
    }

    /// Sources tracked.
    pub fn tracked(&self) -> usize {
        self.table.len()
    }

    fn new_dump_rate(&self) -> f64 {
        f64::from(self.caps.new_dumps_per_minute) / 60.0
    }

    fn bytes_rate(&self) -> f64 {
        self.caps.bytes_per_source_per_hour as f64 / 3600.0
    }

    /// Whether packets from `sender` may be taken at all.
    pub fn allowed(&self, sender: IpAddr) -> bool {
        if self.caps.allow.is_empty() {
            return true;
        }
        let a = canonical(sender);
        self.caps.allow.iter().any(|n| n.contains(&a))
    }

    /// The address's tag (never 0) and the entries of its set.
    fn set(&self, a: &IpAddr) -> (u64, std::ops::Range<usize>) {
        let h = self.hasher.hash_one(a).max(1);
        let set = (h % (self.debts.len() / WAYS) as u64) as usize;
        (h, set * WAYS..(set + 1) * WAYS)
    }

    /// A debt's size: the shares of the two allowances used, at `now`.
    fn weight(&self, d: &Debt, now: Instant) -> f64 {
        let share = |b: &Bucket, cap: f64, rate: f64| {
            if cap > 0.0 {
                b.level_at(now, rate) / cap
            } else {
                0.0
            }
        };
        share(
            &d.new_dumps,
            f64::from(self.caps.new_dumps_burst),
            self.new_dump_rate(),
        ) + share(
            &d.bytes,
            self.caps.bytes_per_source_per_hour as f64,
            self.bytes_rate(),
        )
    }

    /// Remembers what a forgotten source used.
    fn owe(&mut self, a: &IpAddr, s: &Source, now: Instant) {
        let (tag, set) = self.set(a);
        let mut d = Debt {
            tag,
            new_dumps: s.new_dumps,
            bytes: s.bytes,
        };
        let w = self.weight(&d, now);
        if w <= 0.0 {
            return; // nothing used: the same as fresh
        }
        let mut at = None;
        let mut lightest = (f64::INFINITY, 0);
        for i in set {
            let e = &self.debts[i];
            if e.tag == tag {
                // Remembered already (cannot be while tracked; kept for safety): the larger.
                d.new_dumps.fold(&e.new_dumps, self.new_dump_rate(), now);
                d.bytes.fold(&e.bytes, self.bytes_rate(), now);
                at = Some(i);
                break;
            }
            let ew = if e.tag == 0 { 0.0 } else { self.weight(e, now) };
            if ew < lightest.0 {
                lightest = (ew, i);
            }
        }
        match at {
            Some(i) => self.debts[i] = d,
            None if lightest.0 < w => self.debts[lightest.1] = d,
            None => {} // every entry of the set owes more: this smaller debt is dropped
        }
    }

    /// What `a` owes, if remembered (and forgets it: the source is tracked again).
    fn debt_of(&mut self, a: &IpAddr) -> Option<Debt> {
        let (tag, set) = self.set(a);
        for i in set {
            if self.debts[i].tag == tag {
                return Some(std::mem::take(&mut self.debts[i]));
            }
        }
        None
    }

    /// The source's entry, made (from its debt) if needed, forgetting the source idle the
    /// longest beyond the cap.
    fn entry(&mut self, a: IpAddr, now: Instant) -> &mut Source {
        if !self.table.contains_key(&a) {
            while self.table.len() >= self.caps.max_sources.max(1) {
                let Some((_, old)) = self.idle.pop_first() else {
                    break; // all hold pending dumps: at most max_pending of them
                };
                let s = self.table.remove(&old).expect("idle sources are tracked");
                self.owe(&old, &s, now);
                self.forgotten += 1;
            }
            let d = self.debt_of(&a).unwrap_or_default();
            let stamp = self.next_stamp;
            self.next_stamp += 1;
            self.idle.insert(stamp, a);
            self.table.insert(
                a,
                Source {
                    new_dumps: d.new_dumps,
                    bytes: d.bytes,
                    stamp,
                    ..Source::default()
                },
            );
            self.peak = self.peak.max(self.table.len());
        }
        let s = self.table.get_mut(&a).expect("just made");
        if s.pending.is_empty() {
            // Idle: move to the back of the queue.
            self.idle.remove(&s.stamp);
            s.stamp = self.next_stamp;
            self.next_stamp += 1;
            self.idle.insert(s.stamp, a);
        }
        s
    }

    /// Whether a packet of `len` bytes from `sender` may go on to its dump; takes a new-dump
    /// token when it starts one. Checked in this order: bytes per hour, pending dumps held,
    /// new-dump rate (so that a packet refused for another reason takes no token).
    pub fn admit(
        &mut self,
        sender: IpAddr,
        what: Admission,
        len: usize,
        now: Instant,
    ) -> Result<(), Refusal> {
        let (nr, br) = (self.new_dump_rate(), self.bytes_rate());
        let caps = self.caps.flat();
        let s = self.entry(canonical(sender), now);
        if caps.bytes_per_hour > 0
            && !s
                .bytes
                .fits(len as f64, caps.bytes_per_hour as f64, br, now)
        {
            return Err(Refusal::SourceBytesPerHour);
        }
        let count_full = caps.pending > 0 && s.pending.len() >= caps.pending;
        let bytes_after = match what {
            Admission::Existing | Admission::New => s.pending_bytes,
            Admission::Reopen(b) => s.pending_bytes + b,
        };
        let bytes_full = caps.pending_bytes > 0
            && match what {
                Admission::Reopen(_) => bytes_after > caps.pending_bytes,
                _ => bytes_after >= caps.pending_bytes,
            };
        if bytes_full || (what != Admission::Existing && count_full) {
            return Err(Refusal::SourcePendingCap);
        }
        if what == Admission::New && caps.per_minute > 0 {
            if !s.new_dumps.fits(1.0, f64::from(caps.burst), nr, now) {
                return Err(Refusal::NewDumpRate);
            }
            s.new_dumps.add(1.0, nr, now);
        }
        Ok(())
    }

    /// Counts `len` bytes taken from `sender` (against its hourly bytes).
    pub fn charge(&mut self, sender: IpAddr, len: usize, now: Instant) {
        let br = self.bytes_rate();
        if let Some(s) = self.table.get_mut(&canonical(sender)) {
            s.bytes.add(len as f64, br, now);
        }
    }

    fn reindex(&mut self, a: IpAddr, before: (usize, usize)) {
        let Some(s) = self.table.get(&a) else { return };
        let after = (s.pending.len(), s.pending_bytes);
        // A source is indexed while it has pending dumps; each index is touched only when
        // its own key changed (a packet added changes the bytes alone).
        if before.0 != after.0 {
            if before.0 > 0 {
                self.by_count.remove(&(before.0, a));
            }
            if after.0 > 0 {
                self.by_count.insert((after.0, a));
            }
        }
        if before != after {
            if before.0 > 0 {
                self.by_bytes.remove(&(before.1, a));
            }
            if after.0 > 0 {
                self.by_bytes.insert((after.1, a));
            }
        }
    }

    /// A dump of `key.0` is pending, holding `bytes`.
    pub fn opened(&mut self, key: Key, bytes: usize, now: Instant) {
        let a = canonical(key.0);
        let s = self.entry(a, now);
        let before = (s.pending.len(), s.pending_bytes);
        if s.pending.is_empty() {
            let stamp = s.stamp;
            self.idle.remove(&stamp);
        }
        let s = self.table.get_mut(&a).expect("tracked");
        s.pending.push(key);
        s.pending_bytes += bytes;
        self.reindex(a, before);
    }

    /// The pending dump `key` now holds `after` bytes instead of `before`.
    pub fn resized(&mut self, key: &Key, before: usize, after: usize) {
        let a = canonical(key.0);
        let Some(s) = self.table.get_mut(&a) else {
            return;
        };
        let was = (s.pending.len(), s.pending_bytes);
        s.pending_bytes = (s.pending_bytes + after).saturating_sub(before);
        self.reindex(a, was);
    }

    /// The pending dump `key`, holding `bytes`, is no longer pending.
    pub fn closed(&mut self, key: &Key, bytes: usize) {
        let a = canonical(key.0);
        let Some(s) = self.table.get_mut(&a) else {
            return;
        };
        let was = (s.pending.len(), s.pending_bytes);
        if let Some(i) = s.pending.iter().position(|k| k == key) {
            s.pending.swap_remove(i);
            s.pending_bytes -= bytes;
        }
        if s.pending.is_empty() {
            s.stamp = self.next_stamp;
            self.next_stamp += 1;
            self.idle.insert(s.stamp, a);
        }
        self.reindex(a, was);
    }

    /// The pending dumps of the sources holding the most (by bytes, or by number of dumps),
    /// largest first.
    pub fn heaviest(&self, by_bytes: bool) -> impl Iterator<Item = &[Key]> + '_ {
        let order: Box<dyn Iterator<Item = &IpAddr>> = if by_bytes {
            Box::new(self.by_bytes.iter().rev().map(|(_, a)| a))
        } else {
            Box::new(self.by_count.iter().rev().map(|(_, a)| a))
        };
        order.filter_map(|a| self.table.get(a).map(|s| s.pending.as_slice()))
    }

    /// Pending dumps and bytes held by `sender` (tests).
    pub fn held(&self, sender: IpAddr) -> (usize, usize) {
        self.table
            .get(&canonical(sender))
            .map_or((0, 0), |s| (s.pending.len(), s.pending_bytes))
    }
}

struct Flat {
    pending: usize,
    pending_bytes: usize,
    per_minute: u32,
    burst: u32,
    bytes_per_hour: u64,
}

impl Caps {
    fn flat(&self) -> Flat {
        Flat {
            pending: self.max_pending_per_source,
            pending_bytes: self.max_pending_bytes_per_source,
            per_minute: self.new_dumps_per_minute,
            burst: self.new_dumps_burst,
            bytes_per_hour: self.bytes_per_source_per_hour,
        }
    }
}

/// Parses a size: bytes, or a number with a unit: K, M, G, T or KiB, MiB, GiB, TiB (powers
/// of 1024), KB, MB, GB, TB (powers of 1000); `B` alone is bytes.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kib" => 1024.0,
        "m" | "mib" => 1024.0 * 1024.0,
        "g" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tib" => 1024.0f64.powi(4),
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        _ => return Err(format!("{s:?} is not a size (bytes, or a number with K, M, G, T, KiB, MiB, GiB, TiB, KB, MB, GB or TB)")),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size (a number of bytes, e.g. 4096, 64M, 1.5GiB)"))?;
    let v = n * mult;
    if !v.is_finite() || v >= u64::MAX as f64 {
        return Err(format!("{s:?} is too large a size"));
    }
    Ok(v.round() as u64)
}

/// Parses a network for `--allow`: `ADDR/PREFIX`, or an address alone (that one address).
pub fn parse_net(s: &str) -> Result<IpNet, String> {
    let t = s.trim();
    if let Ok(n) = t.parse::<IpNet>() {
        return Ok(n.trunc());
    }
    if let Ok(a) = t.parse::<IpAddr>() {
        return Ok(IpNet::from(a));
    }
    Err(format!(
        "{s:?} is not a network (ADDR/PREFIX such as 10.0.0.0/8 or fd00::/8, or one address)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use netoops_codec::wire::DumpKey;

    fn key(a: IpAddr, seq: u32) -> Key {
        (
            a,
            DumpKey {
                boot_id: [1; 16],
                seq,
            },
        )
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn sizes_and_networks_parse_or_say_why_not() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("64M"), Ok(64 << 20));
        assert_eq!(parse_size("1.5GiB"), Ok(3 << 29));
        assert_eq!(parse_size("2 KB"), Ok(2000));
        assert_eq!(parse_size("10b"), Ok(10));
        let e = parse_size("12Q").unwrap_err();
        assert!(e.contains("\"12Q\" is not a size"), "{e}");
        assert!(parse_size("M").is_err());
        assert!(parse_size("").is_err());
        assert_eq!(
            parse_net("10.1.2.3/8").unwrap(),
            "10.0.0.0/8".parse::<IpNet>().unwrap()
        );
        assert_eq!(
            parse_net("::1").unwrap(),
            "::1/128".parse::<IpNet>().unwrap()
        );
        let e = parse_net("10.0.0.0/33").unwrap_err();
        assert!(e.contains("\"10.0.0.0/33\" is not a network"), "{e}");
    }

    #[test]
    fn the_allow_list_matches_ipv4_mapped_senders() {
        let caps = Caps {
            allow: vec![
                parse_net("10.0.0.0/8").unwrap(),
                parse_net("fd00::/8").unwrap(),
            ],
            ..Caps::default()
        };
        let s = Sources::new(caps);
        assert!(s.allowed(ip("10.9.8.7")));
        assert!(s.allowed(ip("::ffff:10.9.8.7")));
        assert!(s.allowed(ip("fd12::1")));
        assert!(!s.allowed(ip("11.0.0.1")));
        assert!(!s.allowed(ip("::ffff:11.0.0.1")));
        assert!(!s.allowed(ip("fe80::1")));
        assert!(Sources::new(Caps::default()).allowed(ip("192.0.2.1")));
    }

    #[test]
    fn new_dump_tokens_refill_at_the_rate_and_spare_existing_dumps() {
        let caps = Caps {
            new_dumps_per_minute: 6,
            new_dumps_burst: 3,
            max_pending_per_source: 0,
            ..Caps::default()
        };
        let mut s = Sources::new(caps);
        let (a, t) = (ip("192.0.2.1"), Instant::now());
        for _ in 0..3 {
            assert_eq!(s.admit(a, Admission::New, 100, t), Ok(()));
        }
        assert_eq!(
            s.admit(a, Admission::New, 100, t),
            Err(Refusal::NewDumpRate)
        );
        // Packets of dumps already pending, or reopened, take no token.
        assert_eq!(s.admit(a, Admission::Existing, 100, t), Ok(()));
        assert_eq!(s.admit(a, Admission::Reopen(10), 100, t), Ok(()));
        // Another source has its own bucket.
        assert_eq!(s.admit(ip("192.0.2.2"), Admission::New, 100, t), Ok(()));
        // 6 per minute: one token back after 10 s, not before.
        let t9 = t + Duration::from_secs(9);
        assert_eq!(
            s.admit(a, Admission::New, 100, t9),
            Err(Refusal::NewDumpRate)
        );
        let t10 = t + Duration::from_secs(10);
        assert_eq!(s.admit(a, Admission::New, 100, t10), Ok(()));
        assert_eq!(
            s.admit(a, Admission::New, 100, t10),
            Err(Refusal::NewDumpRate)
        );
    }

    #[test]
    fn bytes_per_hour_refuse_every_packet_beyond_and_drain_over_the_hour() {
        let caps = Caps {
            bytes_per_source_per_hour: 3600,
            ..Caps::default()
        };
        let mut s = Sources::new(caps);
        let (a, t) = (ip("192.0.2.1"), Instant::now());
        for _ in 0..3 {
            assert_eq!(s.admit(a, Admission::Existing, 1000, t), Ok(()));
            s.charge(a, 1000, t);
        }
        assert_eq!(
            s.admit(a, Admission::Existing, 1000, t),
            Err(Refusal::SourceBytesPerHour)
        );
        assert_eq!(s.admit(a, Admission::Existing, 600, t), Ok(()));
        // 3600 bytes an hour: one byte a second drains.
        let later = t + Duration::from_secs(400);
        assert_eq!(s.admit(a, Admission::Existing, 1000, later), Ok(()));
        assert_eq!(s.admit(ip("192.0.2.2"), Admission::New, 1000, t), Ok(()));
    }

    #[test]
    fn pending_caps_per_source_count_dumps_and_bytes() {
        let caps = Caps {
            max_pending_per_source: 2,
            max_pending_bytes_per_source: 1000,
            ..Caps::default()
        };
        let mut s = Sources::new(caps);
        let (a, t) = (ip("192.0.2.1"), Instant::now());
        s.admit(a, Admission::New, 10, t).unwrap();
        s.opened(key(a, 1), 100, t);
        s.admit(a, Admission::New, 10, t).unwrap();
        s.opened(key(a, 2), 100, t);
        assert_eq!(s.held(a), (2, 200));
        assert_eq!(
            s.admit(a, Admission::New, 10, t),
            Err(Refusal::SourcePendingCap)
        );
        assert_eq!(
            s.admit(a, Admission::Reopen(50), 10, t),
            Err(Refusal::SourcePendingCap)
        );
        // More packets of the dumps held are taken until the bytes are held.
        assert_eq!(s.admit(a, Admission::Existing, 10, t), Ok(()));
        s.resized(&key(a, 1), 100, 900);
        assert_eq!(
            s.admit(a, Admission::Existing, 10, t),
            Err(Refusal::SourcePendingCap)
        );
        s.closed(&key(a, 1), 900);
        assert_eq!(s.held(a), (1, 100));
        assert_eq!(s.admit(a, Admission::New, 10, t), Ok(()));
        // An IPv4-mapped sender is the same source.
        assert_eq!(s.held(ip("::ffff:192.0.2.1")), (1, 100));
    }

    #[test]
    fn heaviest_sources_come_first() {
        let mut s = Sources::new(Caps::default());
        let t = Instant::now();
        let (a, b) = (ip("192.0.2.1"), ip("192.0.2.2"));
        s.opened(key(a, 1), 5000, t);
        for i in 0..3 {
            s.opened(key(b, i), 100, t);
        }
        let by_count: Vec<&[Key]> = s.heaviest(false).collect();
        assert_eq!(by_count[0].len(), 3);
        assert_eq!(by_count[0][0].0, b);
        let by_bytes: Vec<&[Key]> = s.heaviest(true).collect();
        assert_eq!(by_bytes[0], &[key(a, 1)][..]);
        for i in 0..3 {
            s.closed(&key(b, i), 100);
        }
        assert_eq!(s.heaviest(false).count(), 1);
    }

    #[test]
    fn the_table_is_bounded_and_forgetting_grants_no_fresh_allowance() {
        let caps = Caps {
            max_sources: 100,
            new_dumps_per_minute: 1,
            new_dumps_burst: 2,
            ..Caps::default()
        };
        let mut s = Sources::new(caps);
        let t = Instant::now();
        // A source holding a pending dump is never forgotten.
        let holder = ip("198.51.100.1");
        s.admit(holder, Admission::New, 10, t).unwrap();
        s.opened(key(holder, 1), 100, t);
        let addr = |i: u32| IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i));
        // 105 flooders, each using its whole burst of 2: 6 are forgotten, their debts
        // remembered (at most 6 in a set of 8: none is dropped).
        for i in 0..105 {
            let a = addr(i);
            assert_eq!(s.admit(a, Admission::New, 10, t), Ok(()));
            assert_eq!(s.admit(a, Admission::New, 10, t), Ok(()));
            assert_eq!(s.admit(a, Admission::New, 10, t), Err(Refusal::NewDumpRate));
            assert!(s.tracked() <= 100);
        }
        assert_eq!((s.peak, s.forgotten), (100, 6));
        // Coming back (and so forgetting others, again and again), none has a fresh burst.
        let t1 = t + Duration::from_secs(1);
        for round in 0..3 {
            for i in 0..105 {
                assert_eq!(
                    s.admit(addr(i), Admission::New, 10, t1),
                    Err(Refusal::NewDumpRate),
                    "source {i}, round {round}"
                );
            }
        }
        assert!(s.forgotten > 3 * 6, "{}", s.forgotten);
        assert_eq!(s.held(holder), (1, 100));
        // The debts drain at the bucket's rate: a token a minute.
        let t61 = t + Duration::from_secs(61);
        assert_eq!(s.admit(addr(7), Admission::New, 10, t61), Ok(()));
        assert_eq!(
            s.admit(addr(7), Admission::New, 10, t61),
            Err(Refusal::NewDumpRate)
        );
        // A new source does not inherit anybody's debt: its whole burst.
        let newcomer = ip("203.0.113.9");
        assert_eq!(s.admit(newcomer, Admission::New, 10, t1), Ok(()));
        assert_eq!(s.admit(newcomer, Admission::New, 10, t1), Ok(()));
        // 200,000 addresses, each starting one dump: the tables stay bounded.
        for i in 0..200_000u32 {
            let a = IpAddr::V6(std::net::Ipv6Addr::from(
                0x2001_0db8_u128 << 96 | u128::from(i),
            ));
            let _ = s.admit(a, Admission::New, 10, t1);
        }
        assert_eq!(s.tracked(), 100);
        assert_eq!(s.debts.len(), 104);
        assert_eq!(s.held(holder), (1, 100));
    }
}
