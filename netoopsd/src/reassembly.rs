//! Reassembly: groups validated packets into dumps by (boot id, sequence number), drops
//! retransmitted copies, rejects packets that contradict their dump, and keeps what is
//! needed to show a dump, complete or not. Independent of where packets come from.

use std::collections::BTreeMap;
use std::sync::Arc;

use netoops_codec::fec;
use netoops_codec::wire::{
    parse_header, parse_packet, parse_packet_after_header, parse_parity, parse_parity_after_header,
    rebuild_data_packet, relate_parts, shard_area, ArchRegs, CpuId, DecodeError, DumpInfo, DumpKey,
    Header, Inconsistency, Packet, PacketType, ParityPacket, Reason, Record, Regs, RegsSource,
    RegsX86_64, Time, SHARD_PREFIX_LEN,
};

use crate::keys::{unwrap_datagram, Keys, Refused};
use crate::packets::Packets;
use crate::zpiece::ZPiece;

/// A validated (unsealed) packet: data or parity.
#[derive(Debug, Clone, Copy)]
pub enum Incoming<'a> {
    /// A data packet.
    Data(Packet<'a>),
    /// A version-2 parity packet.
    Parity(ParityPacket<'a>),
}

impl Incoming<'_> {
    /// The dump it belongs to.
    pub fn key(&self) -> DumpKey {
        match self {
            Incoming::Data(p) => p.key(),
            Incoming::Parity(p) => p.key(),
        }
    }

    /// Its header.
    pub fn header(&self) -> &Header {
        match self {
            Incoming::Data(p) => &p.header,
            Incoming::Parity(p) => &p.header,
        }
    }
}

/// Validates an unsealed packet: a parity packet by [`parse_parity`], anything else by
/// [`parse_packet`].
pub fn parse_incoming(bytes: &[u8]) -> Result<Incoming<'_>, DecodeError> {
    let header = parse_header(bytes)?;
    if header.packet_type == PacketType::Parity && header.version >= 2 {
        parse_parity_after_header(bytes).map(Incoming::Parity)
    } else {
        parse_packet_after_header(bytes).map(Incoming::Data)
    }
}

/// Where a packet came from (for messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// File name (or peer address when listening), shared by the packets of one source.
    pub source: Arc<str>,
    /// Byte offset of the packet in the file.
    pub offset: u64,
}

/// What happened to one pushed packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A new packet of a dump (perhaps a new dump).
    Added,
    /// A byte-identical copy of a packet already held.
    Duplicate,
    /// A valid packet that contradicts its dump; dropped.
    Inconsistent(Inconsistency),
    /// Not a valid packet.
    Malformed(DecodeError),
    /// Refused before decoding (sealing), see [`Refused`].
    Refused(Refused),
}

/// A packet that was dropped, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// Where it came from.
    pub origin: Origin,
    /// Why, as a sentence.
    pub reason: String,
}

/// Counters over all pushed packets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Packets pushed.
    pub packets: u64,
    /// New packets of dumps.
    pub added: u64,
    /// Retransmitted copies dropped.
    pub duplicates: u64,
    /// Valid packets contradicting their dump.
    pub inconsistent: u64,
    /// Invalid packets.
    pub malformed: u64,
    /// Packets refused by sealing rules (unsealed with keys configured, unknown key,
    /// failed authentication).
    pub refused: u64,
    /// Data packets rebuilt from parity.
    pub recovered: u64,
}

/// Facts of a dump, owned. Strings are raw bytes as sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// `KERNEL_RELEASE`.
    pub kernel_release: Option<Vec<u8>>,
    /// `KERNEL_VERSION`.
    pub kernel_version: Option<Vec<u8>>,
    /// `BUILD_ID`: the kernel's build id (raw bytes).
    pub build_id: Option<Vec<u8>>,
    /// `HOSTNAME`.
    pub hostname: Option<Vec<u8>>,
    /// `ARCH`.
    pub arch: Option<Vec<u8>>,
    /// `CPU_VENDOR`.
    pub cpu_vendor: Option<Vec<u8>>,
    /// `CPU_ID`.
    pub cpu_id: Option<CpuId>,
    /// `DMI_BIOS_VENDOR`.
    pub dmi_bios_vendor: Option<Vec<u8>>,
    /// `DMI_BIOS_VERSION`.
    pub dmi_bios_version: Option<Vec<u8>>,
    /// `DMI_BIOS_DATE`.
    pub dmi_bios_date: Option<Vec<u8>>,
    /// `DMI_BOARD_VENDOR`.
    pub dmi_board_vendor: Option<Vec<u8>>,
    /// `DMI_BOARD_NAME`.
    pub dmi_board_name: Option<Vec<u8>>,
    /// `DMI_PRODUCT_NAME`.
    pub dmi_product_name: Option<Vec<u8>>,
    /// `USER_BLOB`.
    pub user_blob: Option<Vec<u8>>,
    /// `TAINT`.
    pub taint: Option<u64>,
    /// `TIME`.
    pub time: Option<Time>,
    /// `BOOT_ID` was received (it always equals the header's).
    pub boot_id_record: bool,
}

/// Registers of a dump, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnedRegs {
    /// x86_64 `pt_regs`.
    X86_64(RegsX86_64),
    /// Another architecture, payload as sent.
    Other {
        /// Architecture tag.
        arch: u16,
        /// Payload.
        payload: Vec<u8>,
    },
}

/// What is known about one received packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketMeta {
    /// Packet index.
    pub index: u16,
    /// Packet length.
    pub len: usize,
    /// Offset of its record area in the dump.
    pub packet_offset: u32,
    /// Its CRC32C.
    pub crc: u32,
    /// Where it was first seen.
    pub origin: Origin,
    /// Where its bytes start in the dump's buffer of packets.
    at: usize,
    /// Its header and `DUMP_INFO`, as parsed (to compare new packets with, unparsed again).
    header: Header,
    dump_info: DumpInfo,
}

/// A record of a type the decoder does not know (kept for display).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownRecord {
    /// Packet index.
    pub packet: u16,
    /// Record type.
    pub ty: u16,
    /// Value length.
    pub len: usize,
}

/// A contiguous received piece of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSegment {
    /// Offset in the log.
    pub offset: u64,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// One dump being (or having been) reassembled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpState {
    /// Boot id and sequence number.
    pub key: DumpKey,
    /// Reason.
    pub reason: Reason,
    /// Number of packets the dump has.
    pub count: u16,
    /// Record-area bytes of the dump.
    pub dump_len: u32,
    /// The `DUMP_INFO` every packet carries.
    pub info: DumpInfo,
    /// Received packets by index.
    pub packets: BTreeMap<u16, PacketMeta>,
    /// Retransmitted copies dropped.
    pub duplicates: u64,
    /// Packets dropped as inconsistent with this dump.
    pub inconsistent: u64,
    /// Facts received so far.
    pub facts: Facts,
    /// Registers and their source, if received.
    pub regs: Option<(RegsSource, OwnedRegs)>,
    /// Records of unknown types.
    pub unknown: Vec<UnknownRecord>,
    /// Parity packets held (version 2), by parity row.
    pub parity: BTreeMap<u16, Vec<u8>>,
    /// Data packets rebuilt from parity.
    pub recovered: u16,
    /// Whether a data packet gave `info` (a dump first seen through a parity packet does
    /// not know its `DUMP_INFO` yet).
    info_known: bool,
    /// Bytes of the parity packets held (the data packets' are `data`'s length).
    parity_bytes: usize,
    /// The data packets' bytes, in the order they were added (`PacketMeta::at` says where).
    data: Packets,
    /// Whether `data` holds the data packets of `packets` in index order and nothing else
    /// (they came in order, none was replaced): then it is what [`Self::into_raw_packets`]
    /// gives, as it is.
    data_in_order: bool,
    /// The plain log chunks, by log offset: where each lies in a packet held (the log is
    /// not copied out of the packets until a report asks for it).
    chunks: BTreeMap<u32, ChunkAt>,
    zpieces: BTreeMap<u32, ZPiece>,
    /// For each fact record type, the packet index it was taken from.
    fact_from: BTreeMap<u16, u16>,
}

/// Where a plain log chunk lies: bytes `start..start + len` of the data packet held at
/// `packet`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ChunkAt {
    packet: u16,
    start: usize,
    len: usize,
}

fn owned(v: &[u8]) -> Option<Vec<u8>> {
    Some(v.to_vec())
}

impl DumpState {
    /// An empty dump shaped by its first packet `p` (which is not added: call
    /// [`DumpState::offer`]).
    pub fn new(p: &Packet<'_>) -> Self {
        let mut d = Self::shaped(&p.header);
        d.info = p.dump_info;
        d.info_known = true;
        d
    }

    /// An empty dump shaped by its first packet, data or parity (not added: call
    /// [`DumpState::offer_incoming`]).
    pub fn new_incoming(p: &Incoming<'_>) -> Self {
        match p {
            Incoming::Data(p) => Self::new(p),
            Incoming::Parity(p) => Self::shaped(&p.header),
        }
    }

    fn shaped(h: &Header) -> Self {
        DumpState {
            key: DumpKey {
                boot_id: h.boot_id,
                seq: h.seq,
            },
            reason: h.reason,
            count: h.count,
            dump_len: h.dump_len,
            info: DumpInfo {
                log_len: 0,
                flags: 0,
                regs_source: RegsSource::None,
            },
            packets: BTreeMap::new(),
            duplicates: 0,
            inconsistent: 0,
            facts: Facts::default(),
            regs: None,
            unknown: Vec::new(),
            parity: BTreeMap::new(),
            recovered: 0,
            info_known: false,
            parity_bytes: 0,
            data: Packets::new(),
            data_in_order: true,
            chunks: BTreeMap::new(),
            zpieces: BTreeMap::new(),
            fact_from: BTreeMap::new(),
        }
    }

    /// Checks `p` against a packet already held and its neighbours by index.
    fn check(&self, p: &Packet<'_>) -> Result<bool, Inconsistency> {
        let idx = p.header.index;
        let against = [
            self.packets.get(&idx),
            self.packets.range(..idx).next_back().map(|(_, m)| m),
            self.packets
                .range(idx.saturating_add(1)..)
                .next()
                .map(|(_, m)| m),
            self.packets.values().next(),
        ];
        for m in against.into_iter().flatten() {
            if relate_parts(&m.header, &m.dump_info, self.bytes_of(m), p)?
                == netoops_codec::wire::Relation::Copy
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Whether fact record type `ty` of packet `index` is the one to keep: a fact sent more
    /// than once (a sender may repeat facts) is taken from the packet with the lowest index,
    /// and within it from its first record, whatever order the packets arrive in.
    fn takes(&mut self, ty: u16, index: u16) -> bool {
        match self.fact_from.get(&ty) {
            Some(&held) if held <= index => false,
            _ => {
                self.fact_from.insert(ty, index);
                true
            }
        }
    }

    fn add(&mut self, p: &Packet<'_>, origin: Origin) {
        let index = p.header.index;
        // Not reached: a packet at an index held is a copy or inconsistent (`check`). Were
        // it, the new packet would replace the old one, with the log chunks read from it.
        // Its bytes stay in `data`, unused but counted in [`Self::memory`].
        if self.packets.remove(&index).is_some() {
            self.chunks.retain(|_, c| c.packet != index);
            self.data_in_order = false;
        }
        let mut seen_here: Vec<u16> = Vec::new();
        for r in p.records() {
            let ty = r.ty();
            let is_fact = !matches!(
                r,
                Record::DumpInfo(_)
                    | Record::LogChunk { .. }
                    | Record::LogZChunk { .. }
                    | Record::Unknown { .. }
            );
            if is_fact {
                if seen_here.contains(&ty) || !self.takes(ty, index) {
                    seen_here.push(ty);
                    continue;
                }
                seen_here.push(ty);
            }
            let f = &mut self.facts;
            match r {
                Record::DumpInfo(_) => {}
                Record::BootId(_) => f.boot_id_record = true,
                Record::Time(t) => f.time = Some(t),
                Record::Taint(t) => f.taint = Some(t),
                Record::Regs(Regs { source, regs }) => {
                    self.regs = Some((
                        source,
                        match regs {
                            ArchRegs::X86_64(x) => OwnedRegs::X86_64(x),
                            ArchRegs::Other { arch, payload } => OwnedRegs::Other {
                                arch,
                                payload: payload.to_vec(),
                            },
                        },
                    ))
                }
                Record::UserBlob(b) => f.user_blob = owned(b),
                Record::BuildId(b) => f.build_id = owned(b),
                Record::KernelRelease(v) => f.kernel_release = owned(v),
                Record::KernelVersion(v) => f.kernel_version = owned(v),
                Record::Hostname(v) => f.hostname = owned(v),
                Record::Arch(v) => f.arch = owned(v),
                Record::CpuVendor(v) => f.cpu_vendor = owned(v),
                Record::CpuId(c) => f.cpu_id = Some(c),
                Record::DmiBiosVendor(v) => f.dmi_bios_vendor = owned(v),
                Record::DmiBiosVersion(v) => f.dmi_bios_version = owned(v),
                Record::DmiBiosDate(v) => f.dmi_bios_date = owned(v),
                Record::DmiBoardVendor(v) => f.dmi_board_vendor = owned(v),
                Record::DmiBoardName(v) => f.dmi_board_name = owned(v),
                Record::DmiProductName(v) => f.dmi_product_name = owned(v),
                Record::LogChunk { offset, data } => {
                    // `data` lies within the packet's bytes (records are slices of its
                    // record area), which are held below.
                    let start = (data.as_ptr() as usize).wrapping_sub(p.bytes().as_ptr() as usize);
                    debug_assert!(start + data.len() <= p.bytes().len());
                    let at = ChunkAt {
                        packet: index,
                        start,
                        len: data.len(),
                    };
                    // Two chunks at one offset (never from a correct sender): the longer one
                    // stays, so that a short one cannot cut the log.
                    let held = self.chunks.entry(offset).or_insert(at);
                    if at.len > held.len {
                        *held = at;
                    }
                }
                Record::LogZChunk {
                    piece_start,
                    piece_len,
                    z_len,
                    z_offset,
                    data,
                } => self
                    .zpieces
                    .entry(piece_start)
                    .or_insert_with(|| ZPiece::new(piece_start, piece_len, z_len))
                    .add(piece_len, z_len, z_offset, data),
                Record::Unknown { ty, value } => self.unknown.push(UnknownRecord {
                    packet: index,
                    ty,
                    len: value.len(),
                }),
            }
        }
        let at = self.data.push(p.bytes());
        if self
            .packets
            .last_key_value()
            .is_some_and(|(&i, _)| i > index)
        {
            self.data_in_order = false;
        }
        let meta = PacketMeta {
            index,
            len: p.bytes().len(),
            packet_offset: p.header.packet_offset,
            crc: p.header.crc,
            origin,
            at,
            header: p.header,
            dump_info: p.dump_info,
        };
        self.packets.insert(index, meta);
    }

    /// Whether `p` (of this dump) is a packet it does not hold yet: a data packet at an index
    /// or a parity row not held. Copies are not; whether it agrees is for the offer to say.
    pub fn lacks(&self, p: &Incoming<'_>) -> bool {
        match p {
            Incoming::Data(p) => !self.packets.contains_key(&p.header.index),
            Incoming::Parity(p) => !self.parity.contains_key(&(p.row() as u16)),
        }
    }

    /// Offers a validated packet of this dump (same key), data or parity: adds it, or drops
    /// it as a copy or as inconsistent with the packets held, counting either; then rebuilds
    /// what parity can rebuild.
    pub fn offer_incoming(&mut self, p: &Incoming<'_>, origin: Origin) -> Outcome {
        let outcome = match p {
            Incoming::Data(p) => self.offer(p, origin),
            Incoming::Parity(p) => self.offer_parity(p),
        };
        if outcome == Outcome::Added {
            self.recover();
        }
        outcome
    }

    fn offer_parity(&mut self, p: &ParityPacket<'_>) -> Outcome {
        let h = &p.header;
        let why = if h.reason != self.reason {
            Some(Inconsistency::Reason)
        } else if h.count != self.count {
            Some(Inconsistency::Count)
        } else if h.dump_len != self.dump_len {
            Some(Inconsistency::DumpLen)
        } else if self
            .parity
            .values()
            .next()
            .is_some_and(|q| q.len() != p.shard.len() + usize::from(h.header_len))
        {
            Some(Inconsistency::Layout)
        } else {
            None
        };
        if let Some(why) = why {
            self.inconsistent += 1;
            return Outcome::Inconsistent(why);
        }
        let row = p.row() as u16;
        match self.parity.get(&row) {
            Some(held) if held.as_slice() == p.bytes => {
                self.duplicates += 1;
                Outcome::Duplicate
            }
            Some(_) => {
                self.inconsistent += 1;
                Outcome::Inconsistent(Inconsistency::Conflict)
            }
            None => {
                self.parity.insert(row, p.bytes.to_vec());
                self.parity_bytes += p.bytes.len();
                Outcome::Added
            }
        }
    }

    /// Rebuilds the missing protected data packets when enough data and parity packets are
    /// held (any `k` of them), and adds them as if received.
    fn recover(&mut self) {
        let k = usize::from(self.count).min(fec::MAX_DATA_SHARDS);
        let held = self.packets.range(..k as u16).count();
        if held == k || self.parity.is_empty() || held + self.parity.len() < k {
            return;
        }
        let Some((&last_row, last)) = self.parity.iter().next_back() else {
            return;
        };
        let Ok(template) = parse_parity(last).map(|p| p.header) else {
            return;
        };
        let shard_len = last.len() - usize::from(template.header_len);
        let m = usize::from(last_row) + 1;
        let mut shards = vec![vec![0u8; shard_len]; k + m];
        let mut present = vec![false; k + m];
        for (&i, meta) in self.packets.range(..k as u16) {
            let area = &self.bytes_of(meta)[usize::from(HEADER_LEN_V)..];
            if area.len() + SHARD_PREFIX_LEN > shard_len {
                return; // inconsistent with the parity: nothing to rebuild from
            }
            let s = &mut shards[usize::from(i)];
            s[..2].copy_from_slice(&(area.len() as u16).to_le_bytes());
            s[2..2 + area.len()].copy_from_slice(area);
            present[usize::from(i)] = true;
        }
        for (&row, packet) in &self.parity {
            let body = &packet[packet.len() - shard_len..];
            shards[k + usize::from(row)].copy_from_slice(body);
            present[k + usize::from(row)] = true;
        }
        let mut refs: Vec<&mut [u8]> = shards.iter_mut().map(Vec::as_mut_slice).collect();
        if fec::reconstruct_data(k, &mut refs, &present).is_err() {
            return;
        }
        let mut offsets = Vec::with_capacity(k);
        let mut off = 0u32;
        for s in shards.iter().take(k) {
            offsets.push(off);
            let Some(area) = shard_area(s) else { return };
            off = off.saturating_add(area.len() as u32);
        }
        let mut buf = vec![0u8; 65536];
        for i in 0..k {
            if present[i] {
                continue;
            }
            let Some(area) = shard_area(&shards[i]) else {
                return;
            };
            let Some(n) = rebuild_data_packet(&template, i as u16, offsets[i], area, &mut buf)
            else {
                return;
            };
            let Ok(p) = parse_packet(&buf[..n]) else {
                // Parity that does not rebuild a valid packet: from a broken or hostile
                // sender; what was received stays as it is.
                return;
            };
            let origin = Origin {
                source: "rebuilt from parity".into(),
                offset: i as u64,
            };
            if self.offer(&p, origin) == Outcome::Added {
                self.recovered += 1;
            }
        }
    }

    /// Offers a validated packet of this dump (same key): adds it, or drops it as a copy
    /// or as inconsistent with the packets held, counting either.
    pub fn offer(&mut self, p: &Packet<'_>, origin: Origin) -> Outcome {
        match self.check(p) {
            Ok(true) => {
                self.duplicates += 1;
                Outcome::Duplicate
            }
            Ok(false) => {
                if !self.info_known {
                    self.info = p.dump_info;
                    self.info_known = true;
                }
                if p.dump_info != self.info {
                    self.inconsistent += 1;
                    return Outcome::Inconsistent(Inconsistency::DumpInfo);
                }
                self.add(p, origin);
                Outcome::Added
            }
            Err(why) => {
                self.inconsistent += 1;
                Outcome::Inconsistent(why)
            }
        }
    }

    /// Rebuilds a dump from packets stored earlier (as [`DumpState::raw_packets`] gave
    /// them). Packets that do not parse or belong to another dump than the first are
    /// skipped; `None` if none parses.
    pub fn from_packets<'a>(
        packets: impl IntoIterator<Item = &'a [u8]>,
        source: &str,
    ) -> Option<Self> {
        let mut dump: Option<DumpState> = None;
        let source: Arc<str> = source.into();
        for (i, bytes) in packets.into_iter().enumerate() {
            let Ok(p) = parse_incoming(bytes) else {
                continue;
            };
            let d = dump.get_or_insert_with(|| DumpState::new_incoming(&p));
            if d.key == p.key() {
                d.offer_incoming(
                    &p,
                    Origin {
                        source: source.clone(),
                        offset: i as u64,
                    },
                );
            }
        }
        dump
    }

    /// The packets held (unsealed), data in index order, then parity.
    pub fn raw_packets(&self) -> impl Iterator<Item = &[u8]> {
        self.packets
            .values()
            .map(|m| self.bytes_of(m))
            .chain(self.parity.values().map(Vec::as_slice))
    }

    /// [`Self::raw_packets`], taken out of the dump: the buffer they were received into when
    /// they came in order (no copy), else a copy in order.
    pub fn into_raw_packets(self) -> Packets {
        if self.data_in_order && self.parity.is_empty() {
            return self.data;
        }
        self.raw_packets().collect()
    }

    /// The bytes of packet `m` (held by this dump).
    fn bytes_of(&self, m: &PacketMeta) -> &[u8] {
        self.data.slice(m.at, m.len)
    }

    /// Bytes held for this dump: its packets, each with its length before it (the log's
    /// chunks are read from them). The buffer they are in takes at most twice that.
    pub fn memory(&self) -> usize {
        self.data.plain().len() + self.parity_bytes
    }

    /// Whether every packet was received and they cover the whole log (`log_len` bytes).
    pub fn is_complete(&self) -> bool {
        self.packets.len() == usize::from(self.count) && self.missing_log().is_empty()
    }

    /// [`Self::is_complete`], given what of the log is missing (its [`Self::missing_log`]),
    /// which for a compressed log takes decoding its pieces.
    pub fn is_complete_given(&self, missing_log: &[(u64, u64)]) -> bool {
        self.packets.len() == usize::from(self.count) && missing_log.is_empty()
    }

    /// Indices of packets not received, as inclusive ranges.
    pub fn missing_packets(&self) -> Vec<(u16, u16)> {
        let mut out = Vec::new();
        let mut next = 0u32;
        for &i in self.packets.keys().chain(std::iter::once(&self.count)) {
            let i = u32::from(i);
            if i > next {
                out.push((next as u16, (i - 1) as u16));
            }
            next = i + 1;
        }
        out
    }

    /// The received log, as contiguous segments in log order: plain chunks (version 1) and
    /// what the compressed pieces received give (version 2).
    pub fn log_segments(&self) -> Vec<LogSegment> {
        let mut pieces: BTreeMap<u32, Vec<u8>> = BTreeMap::new();
        for piece in self.zpieces.values() {
            if let Some((off, bytes)) = piece.decoded(self.info.log_len) {
                pieces.insert(off, bytes);
            }
        }
        let all = merge_by_offset(self.plain_chunks(), &pieces);
        // Where each segment ends, first: each is then allocated once, at its length.
        let mut ends: Vec<u64> = Vec::new();
        let mut end = 0u64;
        for (i, (off, data)) in all.iter().enumerate() {
            let (off, len) = (u64::from(*off), data.len() as u64);
            if i > 0 && end >= off {
                end = end.max(off + len);
                *ends.last_mut().expect("a segment is open") = end;
            } else {
                end = off + len;
                ends.push(end);
            }
        }
        let mut out: Vec<LogSegment> = Vec::with_capacity(ends.len());
        for (off, data) in all {
            let off = u64::from(off);
            match out.last_mut() {
                Some(last) if last.offset + last.bytes.len() as u64 >= off => {
                    let end = last.offset + last.bytes.len() as u64;
                    let skip = (end - off) as usize;
                    if skip < data.len() {
                        last.bytes.extend_from_slice(&data[skip..]);
                    }
                }
                _ => {
                    let mut bytes = Vec::with_capacity((ends[out.len()] - off) as usize);
                    bytes.extend_from_slice(data);
                    out.push(LogSegment { offset: off, bytes });
                }
            }
        }
        out
    }

    /// The plain chunks at their log offsets, in offset order.
    fn plain_chunks(&self) -> impl Iterator<Item = (u32, &[u8])> {
        self.chunks.iter().filter_map(|(&off, c)| {
            let bytes = self
                .bytes_of(self.packets.get(&c.packet)?)
                .get(c.start..c.start + c.len)?;
            Some((off, bytes))
        })
    }

    /// Log byte ranges `[start, end)` not received.
    pub fn missing_log(&self) -> Vec<(u64, u64)> {
        if self.zpieces.is_empty() {
            // Plain chunks alone: their offsets and lengths tell what they cover, without
            // joining the log (the receiving thread asks this of every dump it completes).
            let spans = self.chunks.iter();
            return self.missing_of(spans.map(|(&off, c)| (u64::from(off), c.len as u64)));
        }
        self.missing_in(&self.log_segments())
    }

    /// Log byte ranges `[start, end)` that `segs` (this dump's [`Self::log_segments`]) do not
    /// cover.
    pub fn missing_in(&self, segs: &[LogSegment]) -> Vec<(u64, u64)> {
        self.missing_of(segs.iter().map(|s| (s.offset, s.bytes.len() as u64)))
    }

    /// Log byte ranges `[start, end)` that `spans` (offset and length, in offset order) do
    /// not cover.
    fn missing_of(&self, spans: impl Iterator<Item = (u64, u64)>) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        let mut next = 0u64;
        for (offset, len) in spans {
            if offset > next {
                out.push((next, offset));
            }
            next = next.max(offset + len);
        }
        let len = u64::from(self.info.log_len);
        if len > next {
            out.push((next, len));
        }
        out
    }

    /// The whole log, if every byte of it was received.
    pub fn full_log(&self) -> Option<Vec<u8>> {
        self.whole(&self.log_segments()).map(<[u8]>::to_vec)
    }

    /// The whole log in `segs` (this dump's [`Self::log_segments`]), if they hold every byte.
    pub fn whole<'a>(&self, segs: &'a [LogSegment]) -> Option<&'a [u8]> {
        match segs {
            [] if self.info.log_len == 0 => Some(&[]),
            [one] if one.offset == 0 && one.bytes.len() as u64 == u64::from(self.info.log_len) => {
                Some(&one.bytes)
            }
            _ => None,
        }
    }
}

/// Length of an unsealed header (data packets held are unsealed).
const HEADER_LEN_V: u8 = netoops_codec::wire::HEADER_LEN as u8;

/// Chunks at their offsets, plain ones and decoded pieces, in offset order (at one offset
/// the longer stays).
fn merge_by_offset<'a>(
    a: impl Iterator<Item = (u32, &'a [u8])>,
    b: &'a BTreeMap<u32, Vec<u8>>,
) -> Vec<(u32, &'a [u8])> {
    let mut all: BTreeMap<u32, &[u8]> = BTreeMap::new();
    for (off, data) in a.chain(b.iter().map(|(&off, d)| (off, d.as_slice()))) {
        let held = all.entry(off).or_insert(data);
        if data.len() > held.len() {
            *held = data;
        }
    }
    all.into_iter().collect()
}

/// Groups packets into dumps.
#[derive(Debug, Default)]
pub struct Reassembler {
    /// Sealing keys: when set, only sealed packets that open under one of them are taken.
    pub keys: Option<Keys>,
    dumps: BTreeMap<DumpKey, DumpState>,
    order: Vec<DumpKey>,
    /// Counters.
    pub stats: Stats,
    /// Packets dropped as malformed or inconsistent.
    pub rejected: Vec<Rejected>,
}

impl Reassembler {
    /// An empty reassembler.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes one UDP payload.
    pub fn push(&mut self, payload: &[u8], origin: Origin) -> Outcome {
        self.stats.packets += 1;
        let payload = match unwrap_datagram(payload, self.keys.as_ref()) {
            Ok(p) => p,
            Err(why) => {
                self.stats.refused += 1;
                self.rejected.push(Rejected {
                    origin,
                    reason: why.to_string(),
                });
                return Outcome::Refused(why);
            }
        };
        let p = match parse_incoming(&payload) {
            Ok(p) => p,
            Err(e) => {
                self.stats.malformed += 1;
                self.rejected.push(Rejected {
                    origin: Origin {
                        offset: origin.offset + e.offset() as u64,
                        ..origin
                    },
                    reason: format!("malformed netoops packet: {e}"),
                });
                return Outcome::Malformed(e);
            }
        };
        let key = p.key();
        let dump = match self.dumps.get_mut(&key) {
            Some(d) => d,
            None => {
                self.order.push(key);
                self.dumps
                    .entry(key)
                    .or_insert_with(|| DumpState::new_incoming(&p))
            }
        };
        let recovered_before = dump.recovered;
        let outcome = dump.offer_incoming(&p, origin.clone());
        self.stats.recovered += u64::from(dump.recovered - recovered_before);
        match outcome {
            Outcome::Duplicate => {
                self.stats.duplicates += 1;
                Outcome::Duplicate
            }
            Outcome::Added | Outcome::Malformed(_) | Outcome::Refused(_) => {
                self.stats.added += 1;
                outcome
            }
            Outcome::Inconsistent(why) => {
                self.stats.inconsistent += 1;
                self.rejected.push(Rejected {
                    origin,
                    reason: format!(
                        "packet {} of dump {} contradicts packets already received: {why}",
                        p.header().index,
                        crate::display::dump_name(&key)
                    ),
                });
                Outcome::Inconsistent(why)
            }
        }
    }

    /// The dumps, in the order their first packet arrived.
    pub fn dumps(&self) -> impl Iterator<Item = &DumpState> {
        self.order.iter().filter_map(|k| self.dumps.get(k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packets::LEN_PREFIX;
    use netoops_codec::wire::golden::{OOPS, SOFT};
    use netoops_codec::wire::packet_crc;

    fn packets(d: netoops_codec::wire::Dump<'_>, max: usize) -> Vec<Vec<u8>> {
        crate::encode::encode_dump(d, max).unwrap()
    }

    fn origin(i: usize) -> Origin {
        Origin {
            source: "test".into(),
            offset: i as u64 * 1000,
        }
    }

    #[test]
    fn complete_dump_any_order_with_copies() {
        let pk = packets(OOPS, 512);
        let mut r = Reassembler::new();
        for (i, p) in pk.iter().enumerate().rev() {
            assert_eq!(r.push(p, origin(i)), Outcome::Added);
        }
        assert_eq!(r.push(&pk[3], origin(99)), Outcome::Duplicate);
        let d: Vec<&DumpState> = r.dumps().collect();
        assert_eq!(d.len(), 1);
        let d = d[0];
        assert!(d.is_complete());
        assert_eq!(d.duplicates, 1);
        assert_eq!(d.missing_packets(), vec![]);
        assert_eq!(d.missing_log(), vec![]);
        assert_eq!(d.full_log().unwrap(), OOPS.log);
        assert_eq!(d.facts.hostname.as_deref(), Some(&b"qemu-test"[..]));
        assert!(matches!(
            d.regs,
            Some((RegsSource::Fault, OwnedRegs::X86_64(_)))
        ));
        assert_eq!(
            r.stats,
            Stats {
                packets: 10,
                added: 9,
                duplicates: 1,
                inconsistent: 0,
                malformed: 0,
                refused: 0,
                recovered: 0,
            }
        );
    }

    /// A packet may carry a LOG_CHUNK over log bytes another one carries (a buggy or hostile
    /// sender). It must neither replace the longer chunk at that offset nor let the dump pass
    /// as complete with its log missing (it did: the 10-byte chunk replaced the first 400).
    #[test]
    fn a_repeated_fact_is_taken_from_the_lowest_packet_whatever_the_order() {
        // Packet 0 carries HOSTNAME "qemu-test"; the last packet gets another HOSTNAME record,
        // "forged", as a sender that repeats facts might (dump_len and CRCs fixed up).
        let mut p = packets(OOPS, 512);
        let last = p.len() - 1;
        let rec: &[u8] = &[0x12, 0x00, 6, 0, b'f', b'o', b'r', b'g', b'e', b'd'];
        p[last].extend_from_slice(rec);
        let n = rec.len() as u32;
        for (i, q) in p.iter_mut().enumerate() {
            let dump_len = u32::from_le_bytes(q[40..44].try_into().unwrap()) + n;
            q[40..44].copy_from_slice(&dump_len.to_le_bytes());
            if i == last {
                let len = u16::from_le_bytes(q[8..10].try_into().unwrap()) + n as u16;
                q[8..10].copy_from_slice(&len.to_le_bytes());
            }
            let c = packet_crc(q);
            q[12..16].copy_from_slice(&c.to_le_bytes());
        }
        for reversed in [false, true] {
            let mut r = Reassembler::new();
            let mut idx: Vec<usize> = (0..p.len()).collect();
            if reversed {
                idx.reverse();
            }
            for i in idx {
                assert_eq!(r.push(&p[i], origin(i)), Outcome::Added);
            }
            let d = r.dumps().next().unwrap();
            assert_eq!(
                d.facts.hostname.as_deref(),
                Some(&b"qemu-test"[..]),
                "reversed: {reversed}"
            );
        }
    }

    #[test]
    fn an_extra_short_chunk_does_not_hide_the_log() {
        // The last packet gets one more record, LOG_CHUNK(offset 0, 10 bytes); every packet's
        // dump_len grows by its 18 bytes (so the dump stays consistent), CRCs recomputed.
        let mut forged = packets(OOPS, 512);
        let last = forged.len() - 1;
        forged[last].extend_from_slice(&[0x40, 0x00, 14, 0, 0, 0, 0, 0]);
        forged[last].extend_from_slice(b"XXXXXXXXXX");
        for (i, p) in forged.iter_mut().enumerate() {
            let dump_len = u32::from_le_bytes(p[40..44].try_into().unwrap()) + 18;
            p[40..44].copy_from_slice(&dump_len.to_le_bytes());
            if i == last {
                let len = u16::from_le_bytes(p[8..10].try_into().unwrap()) + 18;
                p[8..10].copy_from_slice(&len.to_le_bytes());
            }
            let c = packet_crc(p);
            p[12..16].copy_from_slice(&c.to_le_bytes());
        }
        for order in [false, true] {
            let mut r = Reassembler::new();
            let mut idx: Vec<usize> = (0..forged.len()).collect();
            if order {
                idx.reverse();
            }
            for i in idx {
                assert_eq!(r.push(&forged[i], origin(i)), Outcome::Added);
            }
            let d = r.dumps().next().unwrap();
            assert_eq!(d.missing_log(), vec![], "reversed: {order}");
            assert_eq!(d.full_log().as_deref(), Some(OOPS.log), "reversed: {order}");
            assert!(d.is_complete());
        }
        // Without the chunk that covers offset 0 the dump is not complete, whatever the
        // packet count says.
        let mut r = Reassembler::new();
        let first_log = (0..forged.len())
            .find(|&i| {
                parse_packet(&forged[i]).unwrap().records().any(
                    |rec| matches!(rec, Record::LogChunk { offset: 0, data } if data.len() > 10),
                )
            })
            .unwrap();
        for (i, p) in forged.iter().enumerate() {
            if i != first_log {
                r.push(p, origin(i));
            }
        }
        assert!(!r.dumps().next().unwrap().is_complete());
    }

    #[test]
    fn packets_come_out_in_index_order_whatever_order_they_came_in() {
        let pk = packets(OOPS, 512);
        let n = pk.len();
        assert!(n > 4);
        let reversed: Vec<usize> = (0..n).rev().collect();
        // In order; reversed; in order but one missing, then it; and a copy among them.
        let orders: [Vec<usize>; 4] = [
            (0..n).collect(),
            reversed,
            (0..n).filter(|&i| i != 2).chain([2]).collect(),
            (0..n)
                .flat_map(|i| if i == 3 { vec![3, 3] } else { vec![i] })
                .collect(),
        ];
        for order in orders {
            let mut r = Reassembler::new();
            for &i in &order {
                r.push(&pk[i], origin(i));
            }
            let d = r.dumps().next().unwrap().clone();
            assert!(d.is_complete(), "{order:?}");
            assert_eq!(
                d.raw_packets().collect::<Packets>(),
                pk.clone(),
                "{order:?}"
            );
            assert_eq!(d.into_raw_packets(), pk.clone(), "{order:?}");
        }
    }

    #[test]
    fn lost_packets_show_as_missing_ranges() {
        let pk = packets(OOPS, 512);
        let mut r = Reassembler::new();
        for (i, p) in pk.iter().enumerate() {
            if i != 0 && i != 4 && i != 5 && i != 8 {
                r.push(p, origin(i));
            }
        }
        let d = r.dumps().next().unwrap();
        assert!(!d.is_complete());
        assert_eq!(d.missing_packets(), vec![(0, 0), (4, 5), (8, 8)]);
        assert!(d.full_log().is_none());
        assert!(d.facts.hostname.is_none(), "facts were in packet 0");
        // Compute the expected holes from the packets themselves.
        let mut holes = Vec::new();
        for i in [4usize, 5, 8] {
            let p = parse_packet(&pk[i]).unwrap();
            for rec in p.records() {
                if let Record::LogChunk { offset, data } = rec {
                    holes.push((u64::from(offset), u64::from(offset) + data.len() as u64));
                }
            }
        }
        // 4 and 5 are adjacent: one hole.
        let want = vec![(holes[0].0, holes[1].1), holes[2]];
        assert_eq!(d.missing_log(), want);
        assert_eq!(
            d.missing_in(&d.log_segments()),
            want,
            "from the joined log alike"
        );
        assert_eq!(want[1].1, OOPS.log.len() as u64);
        let n = d.raw_packets().count();
        let held: usize = d.raw_packets().map(<[u8]>::len).sum();
        assert_eq!(
            d.memory(),
            held + n * LEN_PREFIX,
            "the log's chunks are read from the packets held"
        );
        for s in d.log_segments() {
            let o = s.offset as usize;
            assert_eq!(&OOPS.log[o..o + s.bytes.len()], &s.bytes[..]);
        }
    }

    #[test]
    fn separate_dumps_and_bad_packets() {
        let mut r = Reassembler::new();
        let soft = packets(SOFT, 1460);
        let oops = packets(OOPS, 1460);
        r.push(&oops[0], origin(0));
        r.push(&soft[0], origin(1));
        let mut bad = oops[1].clone();
        bad[100] ^= 1;
        assert!(matches!(
            r.push(&bad, origin(2)),
            Outcome::Malformed(DecodeError::BadCrc { .. })
        ));
        assert_eq!(r.rejected[0].origin.offset, 2000 + 12);
        // Same index, different content, valid CRC: a conflicting packet.
        let mut conflict = oops[0].clone();
        let n = conflict.len();
        conflict[n - 1] ^= 1;
        let c = packet_crc(&conflict);
        conflict[12..16].copy_from_slice(&c.to_le_bytes());
        assert_eq!(
            r.push(&conflict, origin(3)),
            Outcome::Inconsistent(Inconsistency::Conflict)
        );
        let keys: Vec<u32> = r.dumps().map(|d| d.key.seq).collect();
        assert_eq!(keys, vec![7, 2]);
        assert_eq!(r.stats.malformed, 1);
        assert_eq!(r.stats.inconsistent, 1);
        assert!(r.rejected[1]
            .reason
            .contains("same packet index with different contents"));
    }
}
