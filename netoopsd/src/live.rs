//! Live reassembly for `listen`: packets from the network, grouped into dumps keyed by
//! sender address, boot id and sequence number; a dump is handed out complete as soon as its
//! last packet arrives, or partial once no packet of it came for the partial timeout. Memory
//! is bounded (pending dumps and their bytes, in all and per source, see [`crate::caps`]);
//! copies of dumps already handed out are recognised for a while and dropped. No I/O here: the
//! caller feeds packets and the clock.

use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use foldhash::{HashMap, HashMapExt};
use netoops_codec::wire::DumpKey;

use crate::caps::{Admission, Caps, Refusal, Sources};
use crate::keys::{unwrap_datagram, Keys};
use crate::reassembly::{parse_incoming, DumpState, Origin, Outcome};

/// Limits and timeouts.
#[derive(Debug, Clone)]
pub struct Limits {
    /// A dump with no new packet for this long is handed out as partial.
    pub partial_timeout: Duration,
    /// At most this many dumps are reassembled at once; beyond, a dump of the source holding
    /// the most dumps (its least recently fed) is handed out as partial.
    pub max_pending: usize,
    /// At most this many bytes are held by pending dumps; beyond, a dump of the source holding
    /// the most bytes is handed out.
    pub max_pending_bytes: usize,
    /// How long packets of a dump already handed out are recognised (and dropped as late).
    pub finished_ttl: Duration,
    /// How many handed-out dumps are remembered for that.
    pub max_finished: usize,
    /// At most this many bytes of partial dumps handed out are kept, so that packets
    /// arriving after one was handed out reopen it with what it had (see
    /// [`Collector::push`]); beyond, the oldest are forgotten (their late packets then
    /// reopen them empty, and the store merges them with the stored report).
    pub max_kept_partial_bytes: usize,
    /// Caps per source and the allow-list.
    pub caps: Caps,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            partial_timeout: Duration::from_secs(10),
            max_pending: 4096,
            max_pending_bytes: 512 << 20,
            finished_ttl: Duration::from_secs(600),
            max_finished: 100_000,
            max_kept_partial_bytes: 64 << 20,
            caps: Caps::default(),
        }
    }
}

/// Counters over all packets received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// Datagrams received.
    pub packets: u64,
    /// Bytes of them.
    pub bytes: u64,
    /// New packets of dumps.
    pub added: u64,
    /// Retransmitted copies dropped.
    pub duplicates: u64,
    /// Valid packets contradicting their dump (e.g. another dump length), dropped.
    pub inconsistent: u64,
    /// Invalid packets (bad CRC, bad framing, ...), dropped; by [`malformed_kind`].
    pub malformed: BTreeMap<&'static str, u64>,
    /// Packets refused by the sealing rules, dropped; by [`Refused::kind`](crate::keys::Refused::kind).
    pub refused: BTreeMap<&'static str, u64>,
    /// Data packets rebuilt from parity.
    pub recovered: u64,
    /// Packets of dumps already handed out complete, dropped.
    pub late: u64,
    /// Partial dumps already handed out that a later packet reopened.
    pub reopened: u64,
    /// Dumps handed out complete.
    pub complete: u64,
    /// Dumps handed out partial (timeout, limits, shutdown).
    pub partial: u64,
    /// ... of which because a limit was reached.
    pub evicted: u64,
    /// Most bytes held by pending dumps at once.
    pub peak_pending_bytes: u64,
    /// Most sources tracked at once (see [`crate::caps`]).
    pub peak_sources: u64,
    /// Sources forgotten to bound their table.
    pub sources_forgotten: u64,
}

impl Counters {
    /// All malformed packets.
    pub fn malformed_total(&self) -> u64 {
        self.malformed.values().sum()
    }
}

/// The codec's name for a decode error.
pub fn malformed_kind(e: &netoops_codec::wire::DecodeError) -> &'static str {
    use netoops_codec::wire::DecodeError as E;
    match e {
        E::Truncated { .. } => "truncated",
        E::BadMagic { .. } => "bad_magic",
        E::UnsupportedVersion { .. } => "unsupported_version",
        E::BadHeaderLen { .. } => "bad_header_len",
        E::BadPacketLen { .. } => "bad_packet_len",
        E::TrailingBytes { .. } => "trailing_bytes",
        E::BadCrc { .. } => "bad_crc",
        E::UnsupportedPacketType { .. } => "unsupported_packet_type",
        E::BadIndex { .. } => "bad_index",
        E::BadLayout { .. } => "bad_layout",
        E::RecordOverrun { .. } => "record_overrun",
        E::InvalidRecordType { .. } => "invalid_record_type",
        E::UnknownCriticalRecord { .. } => "unknown_critical_record",
        E::BadRecordLength { .. } => "bad_record_length",
        E::BadRecordValue { .. } => "bad_record_value",
        E::MissingDumpInfo { .. } => "missing_dump_info",
        E::DuplicateRecord { .. } => "duplicate_record",
        E::BootIdMismatch { .. } => "boot_id_mismatch",
        E::LogChunkOutOfRange { .. } => "log_chunk_out_of_range",
        E::BadZChunk { .. } => "bad_zchunk",
        E::Sealed { .. } => "sealed",
    }
}

/// Identifies a dump on the network.
pub type Key = (IpAddr, DumpKey);

/// A dump handed out.
#[derive(Debug, Clone)]
pub struct Finished {
    /// Sender address.
    pub sender: IpAddr,
    /// The dump.
    pub dump: DumpState,
    /// When its first packet arrived (wall clock).
    pub first_seen: SystemTime,
    /// When its last packet arrived (wall clock).
    pub last_seen: SystemTime,
}

struct Pending {
    dump: DumpState,
    /// The sender as text, for the origin of each packet (made once per dump).
    source: Arc<str>,
    first_seen: SystemTime,
    last_seen: SystemTime,
    last_instant: Instant,
    bytes: usize,
}

/// What happened to one datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// Taken by a dump (perhaps completing it).
    Added,
    /// A copy, dropped.
    Duplicate,
    /// Contradicts its dump, dropped.
    Inconsistent(String),
    /// Invalid, dropped.
    Malformed(String),
    /// Its dump was already handed out complete, dropped.
    Late,
    /// Refused by a cap or the allow-list ([`Refusal::kind`]), dropped.
    Refused(&'static str),
}

/// The live reassembler.
pub struct Collector {
    limits: Limits,
    pending: HashMap<Key, Pending>,
    pending_bytes: usize,
    finished: HashMap<Key, Instant>,
    finished_order: VecDeque<(Instant, Key)>,
    /// Partial dumps handed out, kept to be reopened by late packets (bounded).
    kept: HashMap<Key, (u64, Pending)>,
    /// The kept dumps in the order kept (the first is forgotten first), by a counter.
    kept_order: BTreeMap<u64, Key>,
    kept_next: u64,
    kept_bytes: usize,
    /// The sources and their caps.
    sources: Sources,
    /// Sealing keys: when set, only sealed packets that open under one of them are taken.
    pub keys: Option<Keys>,
    /// Counters.
    pub counters: Counters,
}

impl Collector {
    /// A collector with these limits.
    pub fn new(limits: Limits) -> Self {
        Collector {
            sources: Sources::new(limits.caps.clone()),
            limits,
            pending: HashMap::new(),
            pending_bytes: 0,
            finished: HashMap::new(),
            finished_order: VecDeque::new(),
            kept: HashMap::new(),
            kept_order: BTreeMap::new(),
            kept_next: 0,
            kept_bytes: 0,
            keys: None,
            counters: Counters::default(),
        }
    }

    /// Replaces the limits (a reload): they apply from the next packet or expiry on.
    pub fn set_limits(&mut self, limits: Limits) {
        self.sources.set_caps(limits.caps.clone());
        self.limits = limits;
    }

    /// Dumps being reassembled.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Bytes held by the dumps being reassembled.
    pub fn pending_bytes(&self) -> usize {
        self.pending_bytes
    }

    /// Partial dumps handed out and kept, and their bytes.
    pub fn kept(&self) -> (usize, usize) {
        (self.kept.len(), self.kept_bytes)
    }

    /// The sources seen (bounded).
    pub fn sources(&self) -> &Sources {
        &self.sources
    }

    fn refuse(&mut self, why: Refusal) -> Received {
        let c = &mut self.counters;
        *c.refused.entry(why.kind()).or_insert(0) += 1;
        c.peak_sources = c.peak_sources.max(self.sources.peak as u64);
        c.sources_forgotten = self.sources.forgotten;
        Received::Refused(why.kind())
    }

    /// Takes one datagram from `sender`. Dumps completed (or evicted to respect the
    /// limits) are appended to `out`.
    pub fn push(
        &mut self,
        payload: &[u8],
        sender: IpAddr,
        now: Instant,
        wall: SystemTime,
        out: &mut Vec<Finished>,
    ) -> Received {
        let c = &mut self.counters;
        c.packets += 1;
        c.bytes += payload.len() as u64;
        let len = payload.len();
        if !self.sources.allowed(sender) {
            return self.refuse(Refusal::NotAllowed);
        }
        let c = &mut self.counters;
        let payload = match unwrap_datagram(payload, self.keys.as_ref()) {
            Ok(p) => p,
            Err(why) => {
                *c.refused.entry(why.kind()).or_insert(0) += 1;
                return Received::Malformed(why.to_string());
            }
        };
        let p = match parse_incoming(&payload) {
            Ok(p) => p,
            Err(e) => {
                *c.malformed.entry(malformed_kind(&e)).or_insert(0) += 1;
                return Received::Malformed(format!("malformed netoops packet: {e}"));
            }
        };
        let key = (sender, p.key());
        if self.finished.contains_key(&key) {
            // A partial dump handed out is reopened by a packet it lacks (the store then
            // completes the stored report); a complete one takes nothing more.
            match self.reopen(&key, now) {
                Some(pending) if pending.dump.lacks(&p) => {
                    let what = Admission::Reopen(pending.bytes);
                    if let Err(why) = self.sources.admit(sender, what, len, now) {
                        self.keep(key, pending);
                        return self.refuse(why);
                    }
                    self.counters.reopened += 1;
                    self.finished.remove(&key);
                    self.pending_bytes += pending.bytes;
                    self.sources.opened(key, pending.bytes, now);
                    self.pending.insert(key, pending);
                }
                kept => {
                    if let Some(kept) = kept {
                        self.keep(key, kept);
                    }
                    self.counters.late += 1;
                    return Received::Late;
                }
            }
        }
        if !self.pending.contains_key(&key) {
            if let Err(why) = self.sources.admit(sender, Admission::New, len, now) {
                return self.refuse(why);
            }
            self.pending.insert(
                key,
                Pending {
                    dump: DumpState::new_incoming(&p),
                    source: sender.to_string().into(),
                    first_seen: wall,
                    last_seen: wall,
                    last_instant: now,
                    bytes: 0,
                },
            );
            self.sources.opened(key, 0, now);
        } else if let Err(why) = self.sources.admit(sender, Admission::Existing, len, now) {
            return self.refuse(why);
        }
        let c = &mut self.counters;
        let pending = self.pending.get_mut(&key).expect("pending dump");
        let origin = Origin {
            source: pending.source.clone(),
            offset: 0,
        };
        let recovered_before = pending.dump.recovered;
        let outcome = pending.dump.offer_incoming(&p, origin);
        c.recovered += u64::from(pending.dump.recovered - recovered_before);
        let result = match outcome {
            Outcome::Added => {
                c.added += 1;
                pending.last_seen = wall;
                pending.last_instant = now;
                let before = pending.bytes;
                pending.bytes = pending.dump.memory();
                self.pending_bytes += pending.bytes - before;
                c.peak_pending_bytes = c.peak_pending_bytes.max(self.pending_bytes as u64);
                self.sources.resized(&key, before, pending.bytes);
                self.sources.charge(sender, len, now);
                Received::Added
            }
            Outcome::Duplicate => {
                c.duplicates += 1;
                Received::Duplicate
            }
            Outcome::Inconsistent(why) => {
                c.inconsistent += 1;
                Received::Inconsistent(format!(
                    "packet {} of dump {} contradicts packets already received: {why}",
                    p.header().index,
                    crate::display::dump_name(&key.1)
                ))
            }
            Outcome::Malformed(_) | Outcome::Refused(_) => {
                unreachable!("offer takes parsed packets")
            }
        };
        let complete = pending.dump.is_complete();
        if complete {
            out.push(self.finish(key, now, false));
        } else if matches!(result, Received::Inconsistent(_)) && pending.dump.packets.is_empty() {
            // Nothing held: forget the empty shell a contradicting first packet made.
            if let Some(shell) = self.pending.remove(&key) {
                self.pending_bytes -= shell.bytes;
                self.sources.closed(&key, shell.bytes);
            }
        }
        self.enforce_limits(now, &key, out);
        let c = &mut self.counters;
        c.peak_sources = c.peak_sources.max(self.sources.peak as u64);
        c.sources_forgotten = self.sources.forgotten;
        result
    }

    fn finish(&mut self, key: Key, now: Instant, evicted: bool) -> Finished {
        let p = self.pending.remove(&key).expect("pending dump");
        self.pending_bytes -= p.bytes;
        self.sources.closed(&key, p.bytes);
        let complete = p.dump.is_complete();
        if complete {
            self.counters.complete += 1;
        } else {
            self.counters.partial += 1;
            self.counters.evicted += u64::from(evicted);
        }
        self.finished.insert(key, now);
        self.finished_order.push_back((now, key));
        if !complete {
            self.keep(
                key,
                Pending {
                    dump: p.dump.clone(),
                    source: p.source.clone(),
                    first_seen: p.first_seen,
                    last_seen: p.last_seen,
                    last_instant: p.last_instant,
                    bytes: p.bytes,
                },
            );
        }
        Finished {
            sender: key.0,
            dump: p.dump,
            first_seen: p.first_seen,
            last_seen: p.last_seen,
        }
    }

    /// Keeps a partial dump handed out, forgetting the oldest kept beyond the limit.
    fn keep(&mut self, key: Key, p: Pending) {
        if p.bytes > self.limits.max_kept_partial_bytes {
            self.finished.remove(&key);
            return;
        }
        self.kept_bytes += p.bytes;
        let order = self.kept_next;
        self.kept_next += 1;
        if let Some((old_order, old)) = self.kept.insert(key, (order, p)) {
            self.kept_bytes -= old.bytes;
            self.kept_order.remove(&old_order);
        }
        self.kept_order.insert(order, key);
        while self.kept_bytes > self.limits.max_kept_partial_bytes {
            let Some((_, k)) = self.kept_order.pop_first() else {
                break;
            };
            if let Some((_, old)) = self.kept.remove(&k) {
                self.kept_bytes -= old.bytes;
                // Forgotten as finished too: its late packets start it again, empty.
                self.finished.remove(&k);
            }
        }
    }

    /// The partial dump handed out under `key`, to be pending again; `None` if the dump was
    /// handed out complete. (A partial dump no longer kept is no longer remembered as
    /// finished either: its late packets start it again, and the store merges it with the
    /// stored report.)
    fn reopen(&mut self, key: &Key, now: Instant) -> Option<Pending> {
        if let Some((order, mut p)) = self.kept.remove(key) {
            self.kept_bytes -= p.bytes;
            self.kept_order.remove(&order);
            p.last_instant = now;
            return Some(p);
        }
        None
    }

    fn enforce_limits(&mut self, now: Instant, keep: &Key, out: &mut Vec<Finished>) {
        while self.pending.len() > self.limits.max_pending
            || self.pending_bytes > self.limits.max_pending_bytes
        {
            // The least recently fed dump of the source holding the most (dumps, or bytes when
            // only the bytes are over): a source spraying new dumps evicts its own first.
            let by_bytes = self.pending.len() <= self.limits.max_pending;
            let pending = &self.pending;
            let victim = self
                .sources
                .heaviest(by_bytes)
                .find_map(|keys| {
                    keys.iter()
                        .filter(|k| *k != keep)
                        .min_by_key(|k| pending.get(*k).map(|p| p.last_instant))
                        .copied()
                })
                .or_else(|| (pending.len() == 1).then_some(*keep))
                .filter(|k| pending.contains_key(k));
            match victim {
                Some(k) => out.push(self.finish(k, now, true)),
                None => break,
            }
        }
        while self.finished.len() > self.limits.max_finished {
            self.forget_oldest_finished();
        }
    }

    fn forget_oldest_finished(&mut self) {
        if let Some((t, k)) = self.finished_order.pop_front() {
            if self.finished.get(&k) == Some(&t) {
                self.finished.remove(&k);
                if let Some((order, old)) = self.kept.remove(&k) {
                    self.kept_bytes -= old.bytes;
                    self.kept_order.remove(&order);
                }
            }
        }
    }

    /// Hands out, as partial, the dumps that had no new packet for the partial timeout, and
    /// forgets finished dumps older than their time to live.
    pub fn expire(&mut self, now: Instant, out: &mut Vec<Finished>) {
        let timeout = self.limits.partial_timeout;
        let stale: Vec<Key> = self
            .pending
            .iter()
            .filter(|(_, p)| now.saturating_duration_since(p.last_instant) >= timeout)
            .map(|(k, _)| *k)
            .collect();
        for k in stale {
            out.push(self.finish(k, now, false));
        }
        while let Some(&(t, _)) = self.finished_order.front() {
            if now.saturating_duration_since(t) < self.limits.finished_ttl {
                break;
            }
            self.forget_oldest_finished();
        }
    }

    /// When [`Collector::expire`] next has something to do for a pending dump.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.pending
            .values()
            .map(|p| p.last_instant + self.limits.partial_timeout)
            .min()
    }

    /// Hands out every pending dump as it is (at shutdown).
    pub fn drain(&mut self, now: Instant, out: &mut Vec<Finished>) {
        let keys: Vec<Key> = self.pending.keys().copied().collect();
        for k in keys {
            out.push(self.finish(k, now, false));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netoops_codec::wire::golden::{OOPS, SOFT};
    use netoops_codec::wire::packet_crc;

    fn packets(d: netoops_codec::wire::Dump<'_>, max: usize) -> Vec<Vec<u8>> {
        crate::encode::encode_dump(d, max).unwrap()
    }

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 1));
    const B: IpAddr = IpAddr::V6(std::net::Ipv6Addr::LOCALHOST);

    #[test]
    fn complete_partial_late_and_per_sender() {
        let mut c = Collector::new(Limits::default());
        let t0 = Instant::now();
        let w = SystemTime::now();
        let mut out = Vec::new();
        let pk = packets(OOPS, 512);
        // The same dump from two senders is two dumps.
        for p in &pk {
            c.push(p, A, t0, w, &mut out);
        }
        assert_eq!(out.len(), 1);
        assert!(out[0].dump.is_complete());
        assert_eq!(out[0].sender, A);
        // A late copy of the finished dump is dropped, not a new dump.
        assert_eq!(c.push(&pk[2], A, t0, w, &mut out), Received::Late);
        for p in &pk[..5] {
            c.push(p, B, t0, w, &mut out);
        }
        assert_eq!(c.push(&pk[1], B, t0, w, &mut out), Received::Duplicate);
        assert_eq!(out.len(), 1);
        assert_eq!(c.pending(), 1);
        let deadline = c.next_deadline().unwrap();
        c.expire(deadline - Duration::from_millis(1), &mut out);
        assert_eq!(out.len(), 1);
        c.expire(deadline, &mut out);
        assert_eq!(out.len(), 2);
        assert!(!out[1].dump.is_complete());
        assert_eq!(out[1].dump.missing_packets(), vec![(5, 8)]);
        assert_eq!(c.counters.complete, 1);
        assert_eq!(c.counters.partial, 1);
        assert_eq!(c.counters.late, 1);
        assert_eq!(c.counters.duplicates, 1);
        assert_eq!(c.counters.added, 14);
    }

    #[test]
    fn packets_after_a_partial_dump_was_handed_out_reopen_and_complete_it() {
        let mut c = Collector::new(Limits::default());
        let t0 = Instant::now();
        let w = SystemTime::now();
        let mut out = Vec::new();
        let pk = packets(OOPS, 512);
        for p in &pk[..5] {
            c.push(p, A, t0, w, &mut out);
        }
        c.expire(t0 + Duration::from_secs(60), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].dump.missing_packets(), vec![(5, 8)]);
        // A copy of a packet it has changes nothing.
        let t1 = t0 + Duration::from_secs(61);
        assert_eq!(c.push(&pk[1], A, t1, w, &mut out), Received::Late);
        assert_eq!(c.pending(), 0);
        // The packets it lacks reopen it with what it had, and complete it at once.
        for p in &pk[5..] {
            assert_eq!(c.push(p, A, t1, w, &mut out), Received::Added);
        }
        assert_eq!(out.len(), 2);
        assert!(out[1].dump.is_complete());
        assert_eq!(out[1].dump.packets.len(), pk.len());
        assert_eq!(c.counters.reopened, 1);
        assert_eq!(c.counters.late, 1);
        assert_eq!((c.counters.partial, c.counters.complete), (1, 1));
        // Complete now: a later copy is late.
        assert_eq!(c.push(&pk[6], A, t1, w, &mut out), Received::Late);
        assert_eq!(c.pending(), 0);
    }

    #[test]
    fn a_partial_dump_not_kept_is_started_again_by_its_late_packets() {
        let limits = Limits {
            max_kept_partial_bytes: 1,
            ..Limits::default()
        };
        let mut c = Collector::new(limits);
        let t0 = Instant::now();
        let w = SystemTime::now();
        let mut out = Vec::new();
        let pk = packets(OOPS, 512);
        for p in &pk[..5] {
            c.push(p, A, t0, w, &mut out);
        }
        c.expire(t0 + Duration::from_secs(60), &mut out);
        assert_eq!(out.len(), 1);
        // Not kept (over the limit) and not remembered: the rest is a dump of its own, for the
        // store to merge with the stored report.
        for p in &pk[5..] {
            assert_eq!(c.push(p, A, t0, w, &mut out), Received::Added);
        }
        assert_eq!(c.pending(), 1);
        c.drain(t0, &mut out);
        assert_eq!(out[1].dump.missing_packets(), vec![(0, 4)]);
        assert_eq!(c.counters.late, 0);
    }

    #[test]
    fn malformed_and_inconsistent_are_counted_and_dropped() {
        let mut c = Collector::new(Limits::default());
        let (t, w) = (Instant::now(), SystemTime::now());
        let mut out = Vec::new();
        let pk = packets(OOPS, 512);
        let mut bad = pk[0].clone();
        bad[60] ^= 0x40;
        assert!(matches!(
            c.push(&bad, A, t, w, &mut out),
            Received::Malformed(_)
        ));
        assert!(matches!(
            c.push(b"hello", A, t, w, &mut out),
            Received::Malformed(_)
        ));
        c.push(&pk[0], A, t, w, &mut out);
        // Packet 1 claiming another dump length (CRC fixed up): rejected.
        let mut other = pk[1].clone();
        let dl = u32::from_le_bytes(other[40..44].try_into().unwrap()) + 100;
        other[40..44].copy_from_slice(&dl.to_le_bytes());
        let crc = packet_crc(&other);
        other[12..16].copy_from_slice(&crc.to_le_bytes());
        let r = c.push(&other, A, t, w, &mut out);
        assert!(
            matches!(r, Received::Inconsistent(ref m) if m.contains("dump length")),
            "{r:?}"
        );
        assert_eq!(
            c.counters.malformed.get("bad_crc"),
            Some(&1),
            "{:?}",
            c.counters
        );
        assert_eq!(c.counters.malformed.get("bad_magic"), Some(&1));
        assert_eq!(c.counters.malformed_total(), 2);
        assert_eq!(c.counters.inconsistent, 1);
        assert!(out.is_empty());
        c.drain(t, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].dump.packets.len(), 1);
    }

    #[test]
    fn limits_evict_the_oldest_dump() {
        let limits = Limits {
            max_pending: 2,
            ..Limits::default()
        };
        let mut c = Collector::new(limits);
        let w = SystemTime::now();
        let t = Instant::now();
        let mut out = Vec::new();
        let oops = packets(OOPS, 512);
        c.push(&oops[0], A, t, w, &mut out);
        c.push(&oops[0], B, t + Duration::from_millis(1), w, &mut out);
        let soft = packets(SOFT, 1460);
        let mut seq9 = OOPS;
        seq9.seq = 9;
        let other = packets(seq9, 512);
        c.push(&other[0], A, t + Duration::from_millis(2), w, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].sender, A);
        assert_eq!(out[0].dump.key.seq, OOPS.seq);
        assert_eq!(c.counters.evicted, 1);
        // A one-packet dump completes at once and is not counted as evicted.
        c.push(&soft[0], A, t, w, &mut out);
        assert_eq!(out.len(), 2);
        assert!(out[1].dump.is_complete());
    }

    fn dump_seq(seq: u32) -> Vec<Vec<u8>> {
        let mut d = OOPS;
        d.seq = seq;
        packets(d, 512)
    }

    /// Every datagram counted once, in one outcome.
    fn counted_once(c: &Counters) {
        let refused: u64 = c.refused.values().sum();
        assert_eq!(
            c.added + c.duplicates + c.inconsistent + c.malformed_total() + refused + c.late,
            c.packets
        );
    }

    #[test]
    fn the_total_cap_evicts_from_the_source_holding_the_most() {
        let limits = Limits {
            max_pending: 4,
            caps: Caps {
                max_pending_per_source: 0,
                new_dumps_per_minute: 0,
                ..Caps::default()
            },
            ..Limits::default()
        };
        let mut c = Collector::new(limits);
        let (t, w) = (Instant::now(), SystemTime::now());
        let mut out = Vec::new();
        // A's dump is the oldest pending.
        let real = dump_seq(1);
        c.push(&real[0], A, t, w, &mut out);
        // B sprays new dumps: once four are pending, each new one evicts one of B's.
        for seq in 100..140 {
            let later = t + Duration::from_millis(u64::from(seq));
            c.push(&dump_seq(seq)[0], B, later, w, &mut out);
        }
        assert_eq!(c.pending(), 4);
        assert_eq!(out.len(), 40 - 3);
        assert!(out.iter().all(|f| f.sender == B));
        // B's oldest went first.
        assert_eq!(out[0].dump.key.seq, 100);
        assert_eq!(c.counters.evicted, 37);
        // A's dump is still pending, and completes.
        for p in &real[1..] {
            c.push(p, A, t, w, &mut out);
        }
        let last = out.last().unwrap();
        assert_eq!(last.sender, A);
        assert!(last.dump.is_complete());
        counted_once(&c.counters);
    }

    #[test]
    fn caps_refuse_and_count_every_packet_by_reason() {
        let limits = Limits {
            caps: Caps {
                allow: vec![crate::caps::parse_net("127.0.0.0/8").unwrap()],
                max_pending_per_source: 2,
                max_pending_bytes_per_source: 0,
                new_dumps_per_minute: 3,
                new_dumps_burst: 3,
                bytes_per_source_per_hour: 4_000,
                max_sources: 16,
            },
            ..Limits::default()
        };
        let mut c = Collector::new(limits);
        let (t, w) = (Instant::now(), SystemTime::now());
        let mut out = Vec::new();
        // Outside the allow-list (B is ::1): refused before anything else.
        assert_eq!(
            c.push(&dump_seq(1)[0], B, t, w, &mut out),
            Received::Refused("not_allowed")
        );
        assert_eq!(
            c.push(b"junk", B, t, w, &mut out),
            Received::Refused("not_allowed")
        );
        // Two dumps pending: a third is refused, packets of the two are not.
        assert_eq!(c.push(&dump_seq(1)[0], A, t, w, &mut out), Received::Added);
        assert_eq!(c.push(&dump_seq(2)[0], A, t, w, &mut out), Received::Added);
        assert_eq!(
            c.push(&dump_seq(3)[0], A, t, w, &mut out),
            Received::Refused("source_pending_cap")
        );
        assert_eq!(c.push(&dump_seq(1)[1], A, t, w, &mut out), Received::Added);
        // Once they are handed out (timeout), a new dump may start: of the burst of 3, two were
        // used and 10 s at 3 a minute brought half a token back: one token, then none.
        let t1 = t + Duration::from_secs(10);
        c.expire(t1, &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(c.push(&dump_seq(3)[0], A, t1, w, &mut out), Received::Added);
        assert_eq!(
            c.push(&dump_seq(10)[0], A, t1, w, &mut out),
            Received::Refused("new_dump_rate")
        );
        // Bytes per hour: the rest of dump 3 takes the source past 4,000 bytes.
        let three = dump_seq(3);
        let mut refused_bytes = false;
        for p in three[1..].iter().cycle().take(200) {
            if c.push(p, A, t1, w, &mut out) == Received::Refused("source_bytes_per_hour") {
                refused_bytes = true;
                break;
            }
        }
        assert!(refused_bytes);
        let r = &c.counters.refused;
        assert_eq!(r["not_allowed"], 2);
        assert_eq!(r["source_pending_cap"], 1);
        assert_eq!(r["new_dump_rate"], 1);
        assert_eq!(r["source_bytes_per_hour"], 1);
        counted_once(&c.counters);
    }

    #[test]
    fn kept_partial_dumps_are_forgotten_oldest_first_in_constant_time() {
        let limits = Limits {
            max_kept_partial_bytes: 40 << 10,
            caps: Caps {
                new_dumps_per_minute: 0,
                max_pending_per_source: 0,
                ..Caps::default()
            },
            ..Limits::default()
        };
        let mut c = Collector::new(limits);
        let (t, w) = (Instant::now(), SystemTime::now());
        let mut out = Vec::new();
        // 20,000 one-packet partial dumps handed out in turn (quadratic before: seconds).
        let first = dump_seq(0)[0].clone();
        let started = std::time::Instant::now();
        for seq in 0..20_000u32 {
            let mut p = first.clone();
            // seq is at offset 32 in the header; the CRC is then fixed up.
            p[32..36].copy_from_slice(&seq.to_le_bytes());
            let crc = packet_crc(&p);
            p[12..16].copy_from_slice(&crc.to_le_bytes());
            assert_eq!(c.push(&p, A, t, w, &mut out), Received::Added, "{seq}");
            c.drain(t, &mut out);
            // A copy of the previous one lacks nothing: late (its kept dump is kept again).
            if seq > 0 {
                let mut q = first.clone();
                q[32..36].copy_from_slice(&(seq - 1).to_le_bytes());
                let crc = packet_crc(&q);
                q[12..16].copy_from_slice(&crc.to_le_bytes());
                assert_eq!(c.push(&q, A, t, w, &mut out), Received::Late);
            }
        }
        assert!(started.elapsed() < Duration::from_secs(20));
        let (n, bytes) = c.kept();
        assert!(bytes <= 40 << 10 && n > 0);
        // The newest are kept, the oldest forgotten: a packet the newest lacks reopens it.
        let newest = dump_seq(19_999);
        assert_eq!(c.push(&newest[1], A, t, w, &mut out), Received::Added);
        assert_eq!(c.counters.reopened, 1);
        counted_once(&c.counters);
    }
}
