//! The encoder: plans a dump's packets once, then writes any packet into a caller buffer.
//!
//! Packet layout (deterministic, see `PROTOCOL.md` "Packetization"):
//!
//! * every packet: header, then `DUMP_INFO`;
//! * the first packets ("fact packets"): the fact records in the fixed order of
//!   [`FACT_ORDER`], greedily: a record that does not fit any more starts the next packet;
//! * the last fact packet is filled up with a first `LOG_CHUNK` (if at least one log byte
//!   fits);
//! * then "log packets", each one `LOG_CHUNK` as large as the packet allows, the last one
//!   holding what is left.

use core::fmt;

use super::super::fec::{MAX_DATA_SHARDS, MAX_PARITY_SHARDS};
use super::bytes::Writer;
use super::crc32c::crc32c;
use super::header::Header;
use super::types::{
    ArchRegs, CpuId, DumpInfo, PacketType, Reason, Regs, RegsSource, RegsX86_64, Time,
};
use super::zlog::{CompressedLog, Piece};
use super::{
    rt, CRC_OFFSET, HEADER_LEN, MAX_BUILD_ID_LEN, MAX_PACKET_SIZE, MAX_PIECES,
    MAX_REGS_PAYLOAD_LEN, MAX_STRING_LEN, MAX_USER_BLOB_LEN, MIN_PACKET_SIZE, RECORD_HEADER_LEN,
    SEAL_OVERHEAD, SHARD_PREFIX_LEN,
};

/// Machine facts of a dump. Every field is optional: an absent fact is simply not sent.
/// Strings are raw bytes (normally UTF-8, without a NUL terminator); an empty string counts
/// as absent and a string longer than [`MAX_STRING_LEN`](super::MAX_STRING_LEN) is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DumpFacts<'a> {
    /// `KERNEL_RELEASE`: `uname -r`, e.g. `6.12.0-netoops`.
    pub kernel_release: Option<&'a [u8]>,
    /// `KERNEL_VERSION`: `uname -v`, e.g. `#1 SMP PREEMPT_DYNAMIC ...`.
    pub kernel_version: Option<&'a [u8]>,
    /// `BUILD_ID`: the running kernel's build id (vmlinux's GNU build-id note), 1 to 64 bytes;
    /// `Some(&[])` counts as absent.
    pub build_id: Option<&'a [u8]>,
    /// `HOSTNAME`: `uname -n`.
    pub hostname: Option<&'a [u8]>,
    /// `ARCH`: `uname -m`, e.g. `x86_64`.
    pub arch: Option<&'a [u8]>,
    /// `CPU_VENDOR`: e.g. `GenuineIntel`, `AuthenticAMD`.
    pub cpu_vendor: Option<&'a [u8]>,
    /// `CPU_ID`: family, model, stepping, microcode revision.
    pub cpu_id: Option<CpuId>,
    /// `DMI_BIOS_VENDOR`.
    pub dmi_bios_vendor: Option<&'a [u8]>,
    /// `DMI_BIOS_VERSION`.
    pub dmi_bios_version: Option<&'a [u8]>,
    /// `DMI_BIOS_DATE`.
    pub dmi_bios_date: Option<&'a [u8]>,
    /// `DMI_BOARD_VENDOR`.
    pub dmi_board_vendor: Option<&'a [u8]>,
    /// `DMI_BOARD_NAME`.
    pub dmi_board_name: Option<&'a [u8]>,
    /// `DMI_PRODUCT_NAME`.
    pub dmi_product_name: Option<&'a [u8]>,
    /// `USER_BLOB`: 0 to 128 opaque bytes; `Some(&[])` is sent as an empty record.
    pub user_blob: Option<&'a [u8]>,
    /// `REGS`: registers and where they come from (by reference: the dump path keeps its
    /// stack small).
    pub regs: Option<&'a Regs<'a>>,
    /// `TAINT`: the kernel's taint bitmask.
    pub taint: Option<u64>,
    /// `TIME`: uptime and wall-clock time of the dump.
    pub time: Option<Time>,
}

impl DumpFacts<'_> {
    /// No facts at all.
    pub const fn empty() -> Self {
        DumpFacts {
            kernel_release: None,
            kernel_version: None,
            build_id: None,
            hostname: None,
            arch: None,
            cpu_vendor: None,
            cpu_id: None,
            dmi_bios_vendor: None,
            dmi_bios_version: None,
            dmi_bios_date: None,
            dmi_board_vendor: None,
            dmi_board_name: None,
            dmi_product_name: None,
            user_blob: None,
            regs: None,
            taint: None,
            time: None,
        }
    }
}

/// Everything one dump sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dump<'a> {
    /// The kernel's 128-bit boot id (the 16 bytes of `/proc/sys/kernel/random/boot_id`).
    pub boot_id: [u8; 16],
    /// Per-boot dump sequence number (0 for the first dump of a boot).
    pub seq: u32,
    /// Why the dump was taken.
    pub reason: Reason,
    /// Machine facts.
    pub facts: DumpFacts<'a>,
    /// The log bytes as `kmsg_dump` gave them (at most the configured size).
    pub log: &'a [u8],
    /// Whether `log` was cut to the configured size (more log existed).
    pub log_truncated: bool,
}

/// Why a dump cannot be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodeError {
    /// The maximum packet size is below [`MIN_PACKET_SIZE`](super::MIN_PACKET_SIZE).
    PacketSizeTooSmall {
        /// The size asked for.
        max: usize,
    },
    /// The build id is longer than 64 bytes.
    BuildIdTooLong {
        /// Its length.
        len: usize,
    },
    /// The user blob is longer than 128 bytes.
    UserBlobTooLong {
        /// Its length.
        len: usize,
    },
    /// The register payload is longer than
    /// [`MAX_REGS_PAYLOAD_LEN`](super::MAX_REGS_PAYLOAD_LEN).
    RegsTooLong {
        /// Its length.
        len: usize,
    },
    /// Registers were given with source 0 ("none").
    RegsSourceNone,
    /// `Time::wall_nsec` is not below 1 000 000 000.
    BadWallNsec {
        /// The value given.
        nsec: u32,
    },
    /// The log is longer than `u32::MAX` bytes.
    LogTooLong {
        /// Its length.
        len: usize,
    },
    /// The dump needs more than 65535 packets at this packet size.
    TooManyPackets,
    /// The packet index is not below the packet count.
    IndexOutOfRange {
        /// The index asked for.
        index: u16,
        /// The dump's packet count.
        count: u16,
    },
    /// The output buffer is smaller than the packet.
    BufferTooSmall {
        /// The packet's length.
        need: usize,
        /// The buffer's length.
        have: usize,
    },
    /// The compressed log does not describe the dump's log (version 2): its pieces do not
    /// tile the log newest first, are more than [`MAX_PIECES`](super::MAX_PIECES), or their
    /// compressed lengths do not add up to the compressed bytes given.
    BadCompressedLog,
    /// The encoder broke one of its own invariants (a bug; never expected).
    Internal,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            EncodeError::PacketSizeTooSmall { max } => {
                write!(
                    f,
                    "maximum packet size {} is below the minimum {}",
                    max, MIN_PACKET_SIZE
                )
            }
            EncodeError::BuildIdTooLong { len } => {
                write!(
                    f,
                    "build id of {} bytes is longer than {}",
                    len, MAX_BUILD_ID_LEN
                )
            }
            EncodeError::UserBlobTooLong { len } => {
                write!(
                    f,
                    "user blob of {} bytes exceeds {} bytes",
                    len, MAX_USER_BLOB_LEN
                )
            }
            EncodeError::RegsTooLong { len } => {
                write!(
                    f,
                    "register payload of {} bytes exceeds {}",
                    len, MAX_REGS_PAYLOAD_LEN
                )
            }
            EncodeError::RegsSourceNone => f.write_str("registers given with source none"),
            EncodeError::BadWallNsec { nsec } => {
                write!(f, "wall-clock nanoseconds {} >= 1e9", nsec)
            }
            EncodeError::LogTooLong { len } => write!(f, "log of {} bytes is too long", len),
            EncodeError::TooManyPackets => f.write_str("dump needs more than 65535 packets"),
            EncodeError::IndexOutOfRange { index, count } => {
                write!(f, "packet index {} out of range (count {})", index, count)
            }
            EncodeError::BufferTooSmall { need, have } => {
                write!(
                    f,
                    "buffer of {} bytes too small for packet of {}",
                    have, need
                )
            }
            EncodeError::BadCompressedLog => {
                f.write_str("compressed log pieces do not match the log")
            }
            EncodeError::Internal => f.write_str("internal encoder error"),
        }
    }
}

/// The record types of the facts, in the order they are sent.
pub const FACT_ORDER: [u16; FACT_SLOTS] = [
    rt::BOOT_ID,
    rt::TIME,
    rt::TAINT,
    rt::KERNEL_RELEASE,
    rt::KERNEL_VERSION,
    rt::BUILD_ID,
    rt::HOSTNAME,
    rt::ARCH,
    rt::CPU_VENDOR,
    rt::CPU_ID,
    rt::DMI_BIOS_VENDOR,
    rt::DMI_BIOS_VERSION,
    rt::DMI_BIOS_DATE,
    rt::DMI_BOARD_VENDOR,
    rt::DMI_BOARD_NAME,
    rt::DMI_PRODUCT_NAME,
    rt::USER_BLOB,
    rt::REGS,
];

/// Number of fact record types.
pub const FACT_SLOTS: usize = 18;
/// Record-area bytes of the `DUMP_INFO` record.
const DUMP_INFO_REC: usize = RECORD_HEADER_LEN + DumpInfo::WIRE_LEN;
/// `LOG_CHUNK` bytes before the data: record header plus the u32 offset.
const CHUNK_OVERHEAD: usize = RECORD_HEADER_LEN + 4;
/// `LOG_ZCHUNK` bytes before the data: record header plus four u32.
const ZCHUNK_OVERHEAD: usize = RECORD_HEADER_LEN + 16;

/// One fact record's value.
#[derive(Clone, Copy)]
enum Fact<'a> {
    BootId([u8; 16]),
    Time(Time),
    Taint(u64),
    Str(u16, &'a [u8]),
    CpuId(CpuId),
    UserBlob(&'a [u8]),
    Regs(&'a Regs<'a>),
}

impl Fact<'_> {
    fn ty(&self) -> u16 {
        match self {
            Fact::BootId(_) => rt::BOOT_ID,
            Fact::Time(_) => rt::TIME,
            Fact::Taint(_) => rt::TAINT,
            Fact::Str(ty, _) => *ty,
            Fact::CpuId(_) => rt::CPU_ID,
            Fact::UserBlob(_) => rt::USER_BLOB,
            Fact::Regs(_) => rt::REGS,
        }
    }

    fn value_len(&self) -> usize {
        match self {
            Fact::BootId(_) => 16,
            Fact::Time(_) => Time::WIRE_LEN,
            Fact::Taint(_) => 8,
            Fact::Str(_, s) => s.len(),
            Fact::CpuId(_) => CpuId::WIRE_LEN,
            Fact::UserBlob(b) => b.len(),
            Fact::Regs(r) => 4usize.saturating_add(r.regs.payload_len()),
        }
    }

    fn record_len(&self) -> usize {
        RECORD_HEADER_LEN.saturating_add(self.value_len())
    }

    fn write(&self, w: &mut Writer<'_>) -> Option<()> {
        w.u16(self.ty())?;
        w.u16(u16::try_from(self.value_len()).ok()?)?;
        match self {
            Fact::BootId(id) => w.put(id),
            Fact::Time(t) => {
                w.u64(t.uptime_ns)?;
                w.i64(t.wall_sec)?;
                w.u32(t.wall_nsec)
            }
            Fact::Taint(t) => w.u64(*t),
            Fact::Str(_, s) | Fact::UserBlob(s) => w.put(s),
            Fact::CpuId(c) => {
                w.u32(c.family)?;
                w.u32(c.model)?;
                w.u32(c.stepping)?;
                w.u32(c.microcode)
            }
            Fact::Regs(r) => {
                w.u16(r.regs.arch())?;
                w.u8(r.source.to_u8())?;
                w.u8(0)?;
                match &r.regs {
                    ArchRegs::X86_64(x) => {
                        // Field by field: no copy of the registers on the (crash path's) stack.
                        for i in 0..RegsX86_64::COUNT {
                            w.u64(x.get(i))?;
                        }
                        Some(())
                    }
                    ArchRegs::Other { payload, .. } => w.put(payload),
                }
            }
        }
    }
}

/// A string fact as sent: absent if empty, cut to `MAX_STRING_LEN`.
fn string_fact(ty: u16, s: Option<&[u8]>) -> Option<Fact<'_>> {
    let s = s?;
    if s.is_empty() {
        return None;
    }
    Some(Fact::Str(ty, s.get(..MAX_STRING_LEN).unwrap_or(s)))
}

impl<'a> Dump<'a> {
    /// The fact in slot `slot` of [`FACT_ORDER`], if the dump has it.
    fn fact(&self, slot: usize) -> Option<Fact<'a>> {
        let f = &self.facts;
        match slot {
            0 => Some(Fact::BootId(self.boot_id)),
            1 => f.time.map(Fact::Time),
            2 => f.taint.map(Fact::Taint),
            3 => string_fact(rt::KERNEL_RELEASE, f.kernel_release),
            4 => string_fact(rt::KERNEL_VERSION, f.kernel_version),
            5 => f
                .build_id
                .filter(|b| !b.is_empty())
                .map(|b| Fact::Str(rt::BUILD_ID, b)),
            6 => string_fact(rt::HOSTNAME, f.hostname),
            7 => string_fact(rt::ARCH, f.arch),
            8 => string_fact(rt::CPU_VENDOR, f.cpu_vendor),
            9 => f.cpu_id.map(Fact::CpuId),
            10 => string_fact(rt::DMI_BIOS_VENDOR, f.dmi_bios_vendor),
            11 => string_fact(rt::DMI_BIOS_VERSION, f.dmi_bios_version),
            12 => string_fact(rt::DMI_BIOS_DATE, f.dmi_bios_date),
            13 => string_fact(rt::DMI_BOARD_VENDOR, f.dmi_board_vendor),
            14 => string_fact(rt::DMI_BOARD_NAME, f.dmi_board_name),
            15 => string_fact(rt::DMI_PRODUCT_NAME, f.dmi_product_name),
            16 => f.user_blob.map(Fact::UserBlob),
            17 => f.regs.map(Fact::Regs),
            _ => None,
        }
    }

    /// The `DUMP_INFO` value every packet of this dump carries.
    pub fn dump_info(&self) -> DumpInfo {
        DumpInfo {
            log_len: u32::try_from(self.log.len()).unwrap_or(u32::MAX),
            flags: if self.log_truncated {
                super::DUMP_FLAG_LOG_TRUNCATED
            } else {
                0
            },
            regs_source: match self.facts.regs {
                Some(r) => r.source,
                None => RegsSource::None,
            },
        }
    }

    fn validate(&self) -> Result<(), EncodeError> {
        if let Some(b) = self.facts.build_id {
            if b.len() > MAX_BUILD_ID_LEN {
                return Err(EncodeError::BuildIdTooLong { len: b.len() });
            }
        }
        if let Some(b) = self.facts.user_blob {
            if b.len() > MAX_USER_BLOB_LEN {
                return Err(EncodeError::UserBlobTooLong { len: b.len() });
            }
        }
        if let Some(r) = self.facts.regs {
            if r.regs.payload_len() > MAX_REGS_PAYLOAD_LEN {
                return Err(EncodeError::RegsTooLong {
                    len: r.regs.payload_len(),
                });
            }
            if r.source.to_u8() == 0 {
                return Err(EncodeError::RegsSourceNone);
            }
        }
        if let Some(t) = self.facts.time {
            if t.wall_nsec >= 1_000_000_000 {
                return Err(EncodeError::BadWallNsec { nsec: t.wall_nsec });
            }
        }
        if u32::try_from(self.log.len()).is_err() {
            return Err(EncodeError::LogTooLong {
                len: self.log.len(),
            });
        }
        Ok(())
    }
}

/// The packet plan of one dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Plan {
    /// Number of fact packets (at least 1: `BOOT_ID` is always sent).
    fact_packets: usize,
    /// Fact packet `p` holds the facts of slots `slot_start[p]..slot_start[p + 1]`.
    slot_start: [u8; FACT_SLOTS + 1],
    /// Record-area length of fact packet `p`.
    fact_area: [u16; FACT_SLOTS],
    /// Sum of `fact_area`.
    fact_area_total: u32,
    /// Bytes of the first log segment in the chunk at the end of the last fact packet (0: no
    /// chunk there).
    first_chunk: usize,
    /// Data bytes per chunk of a log packet (the last of each segment may hold fewer).
    chunk_cap: usize,
    /// Bytes a chunk record adds to its data.
    chunk_overhead: usize,
    /// Log packets of each segment (version 1: one segment, the log; version 2: the
    /// compressed pieces).
    seg_packets: [u16; MAX_PIECES],
    /// Number of segments.
    segs: usize,
    /// Number of log packets.
    log_packets: usize,
    /// Total data packets.
    count: u16,
    /// Total record-area bytes.
    dump_len: u32,
    /// Parity packets (version 2).
    parity: u16,
}

impl Plan {
    /// No packets (every array at its starting value).
    const EMPTY: Plan = Plan {
        fact_packets: 0,
        slot_start: [FACT_SLOTS as u8; FACT_SLOTS + 1],
        fact_area: [0; FACT_SLOTS],
        fact_area_total: 0,
        first_chunk: 0,
        chunk_cap: 0,
        chunk_overhead: 0,
        seg_packets: [0; MAX_PIECES],
        segs: 0,
        log_packets: 0,
        count: 0,
        dump_len: 0,
        parity: 0,
    };
}

/// What a version-2 dump adds to its [`Dump`]: the log compressed in pieces (see
/// [`CompressedLog`]), whether its packets will be sealed (they are planned smaller by the
/// [`SEAL_OVERHEAD`](super::SEAL_OVERHEAD) sealing adds), and how much parity follows.
#[derive(Debug, Clone, Copy)]
pub struct V2<'a> {
    /// The compressed log.
    pub log: CompressedLog<'a>,
    /// Whether the packets will be sealed.
    pub sealed: bool,
    /// Parity packets per 100 protected data packets, rounded up (0: none); at most
    /// [`MAX_PARITY_SHARDS`](super::super::fec::MAX_PARITY_SHARDS) are sent.
    pub parity_percent: u32,
}

/// Splits one [`Dump`] into packets of at most a given size and writes them on demand.
///
/// Creating it computes the whole plan (packet count, every packet's length and offset);
/// [`write_packet`](Self::write_packet) then writes any packet, in any order, any number of
/// times, byte-identically.
#[derive(Debug, Clone, Copy)]
pub struct Packetizer<'a> {
    dump: &'a Dump<'a>,
    max_packet: usize,
    v2: Option<V2<'a>>,
    plan: Plan,
}

impl<'a> Packetizer<'a> {
    /// Plans `dump` in version 1 for packets of at most `max_packet_size` bytes (the UDP
    /// payload the path allows). Sizes above [`MAX_PACKET_SIZE`](super::MAX_PACKET_SIZE)
    /// are lowered to it; sizes below [`MIN_PACKET_SIZE`](super::MIN_PACKET_SIZE) are an
    /// error.
    pub fn new(dump: &'a Dump<'a>, max_packet_size: usize) -> Result<Self, EncodeError> {
        Self::with(dump, None, max_packet_size)
    }

    /// Plans `dump` in version 2: its log as `v2.log`'s compressed pieces, room left for
    /// sealing if `v2.sealed`, and `v2.parity_percent` parity (see [`Packetizer::new`] for
    /// `max_packet_size`). `v2.log` must be the compression of `dump.log`.
    pub fn new_v2(
        dump: &'a Dump<'a>,
        v2: V2<'a>,
        max_packet_size: usize,
    ) -> Result<Self, EncodeError> {
        Self::with(dump, Some(v2), max_packet_size)
    }

    /// Plans `dump` (version 2 if `v2` is given, see [`new_v2`](Self::new_v2)) directly in
    /// `room` and returns it there: no copy of the (few hundred bytes of) plan on the caller's
    /// stack, for the kernel's crash path.
    pub fn place<'r>(
        room: &'r mut core::mem::MaybeUninit<Self>,
        dump: &'a Dump<'a>,
        v2: Option<V2<'a>>,
        max_packet_size: usize,
    ) -> Result<&'r Self, EncodeError> {
        Self::check(dump, v2.as_ref(), max_packet_size)?;
        let max_packet = core::cmp::min(max_packet_size, MAX_PACKET_SIZE);
        let this = room.write(Packetizer {
            dump,
            max_packet,
            v2,
            plan: Plan::EMPTY,
        });
        let log_len = this.dump.log.len();
        Self::plan_into(
            &mut this.plan,
            this.dump,
            log_len,
            this.v2.as_ref(),
            max_packet,
        )?;
        Ok(this)
    }

    fn check(
        dump: &Dump<'_>,
        v2: Option<&V2<'_>>,
        max_packet_size: usize,
    ) -> Result<(), EncodeError> {
        if max_packet_size < MIN_PACKET_SIZE {
            return Err(EncodeError::PacketSizeTooSmall {
                max: max_packet_size,
            });
        }
        dump.validate()?;
        if let Some(v) = v2 {
            v.log.validate(dump.log.len())?;
        }
        Ok(())
    }

    fn checked_plan(
        dump: &'a Dump<'a>,
        v2: Option<&V2<'a>>,
        max_packet_size: usize,
    ) -> Result<(usize, Plan), EncodeError> {
        Self::check(dump, v2, max_packet_size)?;
        let max_packet = core::cmp::min(max_packet_size, MAX_PACKET_SIZE);
        Ok((
            max_packet,
            Self::plan(dump, dump.log.len(), v2, max_packet)?,
        ))
    }

    fn with(
        dump: &'a Dump<'a>,
        v2: Option<V2<'a>>,
        max_packet_size: usize,
    ) -> Result<Self, EncodeError> {
        let (max_packet, plan) = Self::checked_plan(dump, v2.as_ref(), max_packet_size)?;
        Ok(Packetizer {
            dump,
            max_packet,
            v2,
            plan,
        })
    }

    /// The most packets any dump with `log_len` bytes of log takes with packets of at most
    /// `max_packet_size` bytes: every fact present at its largest. For sizing, ahead of time,
    /// the buffers a dump will need.
    pub fn max_packet_count(log_len: usize, max_packet_size: usize) -> Result<u16, EncodeError> {
        if max_packet_size < MIN_PACKET_SIZE {
            return Err(EncodeError::PacketSizeTooSmall {
                max: max_packet_size,
            });
        }
        let max_packet = core::cmp::min(max_packet_size, MAX_PACKET_SIZE);
        Ok(Self::plan(&Self::largest_facts(), log_len, None, max_packet)?.count)
    }

    /// A dump with every fact present at its largest and no log, for sizing.
    fn largest_facts() -> Dump<'static> {
        const TEXT: [u8; MAX_STRING_LEN] = [b'x'; MAX_STRING_LEN];
        const BLOB: [u8; MAX_USER_BLOB_LEN] = [0; MAX_USER_BLOB_LEN];
        const REGS: Regs<'static> = Regs {
            source: RegsSource::Fault,
            regs: ArchRegs::Other {
                arch: 0xffff,
                payload: &[0; MAX_REGS_PAYLOAD_LEN],
            },
        };
        let text = Some(&TEXT[..]);
        Dump {
            boot_id: [0; 16],
            seq: 0,
            reason: Reason::Panic,
            facts: DumpFacts {
                kernel_release: text,
                kernel_version: text,
                build_id: Some(&TEXT[..MAX_BUILD_ID_LEN]),
                hostname: text,
                arch: text,
                cpu_vendor: text,
                cpu_id: Some(CpuId::default()),
                dmi_bios_vendor: text,
                dmi_bios_version: text,
                dmi_bios_date: text,
                dmi_board_vendor: text,
                dmi_board_name: text,
                dmi_product_name: text,
                user_blob: Some(&BLOB[..]),
                regs: Some(&REGS),
                taint: Some(0),
                time: Some(Time::default()),
            },
            log: &[],
            log_truncated: true,
        }
    }

    /// Like [`max_packet_count`](Self::max_packet_count) for version 2: the most data and
    /// parity packets, with every piece compressed to `z_bound(piece length)` bytes (the
    /// compressor's worst case), room left for sealing if `sealed`, and `parity_percent`.
    pub fn max_packet_count_v2(
        log_len: usize,
        max_packet_size: usize,
        sealed: bool,
        parity_percent: u32,
        z_bound: impl Fn(usize) -> usize,
    ) -> Result<u32, EncodeError> {
        let mut pieces = [Piece::default(); MAX_PIECES];
        let n = super::zlog::piece_count(log_len);
        for (p, piece) in pieces.iter_mut().enumerate().take(n) {
            let (start, end) = super::zlog::piece_range(log_len, p).ok_or(EncodeError::Internal)?;
            *piece = Piece {
                log_start: start as u32,
                log_len: end.saturating_sub(start) as u32,
                z_len: u32::try_from(z_bound(end.saturating_sub(start)))
                    .map_err(|_| EncodeError::Internal)?,
            };
        }
        let v2 = V2 {
            log: CompressedLog {
                pieces: pieces
                    .get(..n)
                    .ok_or(EncodeError::LogTooLong { len: log_len })?,
                z: &[],
            },
            sealed,
            parity_percent,
        };
        if max_packet_size < MIN_PACKET_SIZE {
            return Err(EncodeError::PacketSizeTooSmall {
                max: max_packet_size,
            });
        }
        let max_packet = core::cmp::min(max_packet_size, MAX_PACKET_SIZE);
        let plan = Self::plan(&Self::largest_facts(), log_len, Some(&v2), max_packet)?;
        Ok(u32::from(plan.count) + u32::from(plan.parity))
    }

    fn plan(
        dump: &Dump<'_>,
        log_len: usize,
        v2: Option<&V2<'_>>,
        max_packet: usize,
    ) -> Result<Plan, EncodeError> {
        let mut plan = Plan::EMPTY;
        Self::plan_into(&mut plan, dump, log_len, v2, max_packet)?;
        Ok(plan)
    }

    /// Plans into `out` (its arrays filled in place: no plan-sized temporary on the stack).
    fn plan_into(
        out: &mut Plan,
        dump: &Dump<'_>,
        log_len: usize,
        v2: Option<&V2<'_>>,
        max_packet: usize,
    ) -> Result<(), EncodeError> {
        *out = Plan::EMPTY;
        let extra = match v2 {
            None => 0,
            Some(v) if v.sealed => SHARD_PREFIX_LEN.saturating_add(SEAL_OVERHEAD),
            Some(_) => SHARD_PREFIX_LEN,
        };
        let room = max_packet
            .checked_sub(HEADER_LEN + DUMP_INFO_REC)
            .and_then(|r| r.checked_sub(extra))
            .ok_or(EncodeError::Internal)?;
        let chunk_overhead = if v2.is_some() {
            ZCHUNK_OVERHEAD
        } else {
            CHUNK_OVERHEAD
        };
        let slot_start = &mut out.slot_start;
        let fact_area = &mut out.fact_area;
        slot_start[0] = 0;
        let mut p = 0usize;
        let mut used = 0usize;
        for slot in 0..FACT_SLOTS {
            let Some(fact) = dump.fact(slot) else {
                continue;
            };
            let len = fact.record_len();
            if len > room {
                // Cannot happen with the limits checked in validate(); never emit an
                // oversized packet regardless.
                return Err(EncodeError::Internal);
            }
            if used.saturating_add(len) > room {
                *fact_area.get_mut(p).ok_or(EncodeError::Internal)? =
                    area_u16(DUMP_INFO_REC.saturating_add(used))?;
                p = p.saturating_add(1);
                *slot_start.get_mut(p).ok_or(EncodeError::Internal)? = slot as u8;
                used = 0;
            }
            used = used.saturating_add(len);
        }
        // The log's segments: version 1 sends the log as one, version 2 its pieces.
        let segs = match v2 {
            None => usize::from(log_len > 0),
            Some(v) => v.log.pieces.len(),
        };
        if segs > MAX_PIECES {
            return Err(EncodeError::BadCompressedLog);
        }
        let seg_len = |s: usize| -> usize {
            match v2 {
                None => log_len,
                Some(v) => v.log.pieces.get(s).map_or(0, |p| p.z_len as usize),
            }
        };
        let first_len = if segs > 0 { seg_len(0) } else { 0 };
        let free = room.saturating_sub(used);
        let first_chunk = if first_len > 0 && free > chunk_overhead {
            core::cmp::min(first_len, free.saturating_sub(chunk_overhead))
        } else {
            0
        };
        if first_chunk > 0 {
            used = used
                .saturating_add(chunk_overhead)
                .saturating_add(first_chunk);
        }
        *fact_area.get_mut(p).ok_or(EncodeError::Internal)? =
            area_u16(DUMP_INFO_REC.saturating_add(used))?;
        let fact_packets = p.saturating_add(1);
        // slot_start[fact_packets] is already FACT_SLOTS (initial value).

        let chunk_cap = room.saturating_sub(chunk_overhead);
        let seg_packets = &mut out.seg_packets;
        let mut log_packets = 0usize;
        let mut log_bytes = 0u64;
        for (s, n) in seg_packets.iter_mut().enumerate().take(segs) {
            let len = seg_len(s);
            let rest = if s == 0 {
                len.saturating_sub(first_chunk)
            } else {
                len
            };
            let packets = rest
                .checked_div(chunk_cap)
                .ok_or(EncodeError::Internal)?
                .saturating_add(usize::from(rest.checked_rem(chunk_cap).unwrap_or(0) != 0));
            *n = u16::try_from(packets).map_err(|_| EncodeError::TooManyPackets)?;
            log_packets = log_packets.saturating_add(packets);
            log_bytes = log_bytes.saturating_add(rest as u64);
        }
        let count = fact_packets
            .checked_add(log_packets)
            .and_then(|c| u16::try_from(c).ok())
            .ok_or(EncodeError::TooManyPackets)?;
        let mut fact_area_total = 0u64;
        for a in fact_area.iter().take(fact_packets) {
            fact_area_total = fact_area_total.saturating_add(u64::from(*a));
        }
        let dump_len = fact_area_total
            .saturating_add(
                (log_packets as u64).saturating_mul((DUMP_INFO_REC + chunk_overhead) as u64),
            )
            .saturating_add(log_bytes);
        let parity = match v2 {
            Some(v) if v.parity_percent > 0 => {
                let protected = core::cmp::min(usize::from(count), MAX_DATA_SHARDS) as u64;
                let m = protected
                    .saturating_mul(u64::from(v.parity_percent))
                    .saturating_add(99)
                    / 100;
                core::cmp::min(m, MAX_PARITY_SHARDS as u64) as u16
            }
            _ => 0,
        };
        let fact_area_total = u32::try_from(fact_area_total).map_err(|_| EncodeError::Internal)?;
        let dump_len =
            u32::try_from(dump_len).map_err(|_| EncodeError::LogTooLong { len: log_len })?;
        out.fact_packets = fact_packets;
        out.fact_area_total = fact_area_total;
        out.first_chunk = first_chunk;
        out.chunk_cap = chunk_cap;
        out.chunk_overhead = chunk_overhead;
        out.segs = segs;
        out.log_packets = log_packets;
        out.count = count;
        out.dump_len = dump_len;
        out.parity = parity;
        Ok(())
    }

    /// The dump being encoded.
    pub fn dump(&self) -> &'a Dump<'a> {
        self.dump
    }

    /// The format version of the packets (1 or 2).
    pub fn version(&self) -> u8 {
        if self.v2.is_some() {
            super::VERSION_2
        } else {
            super::VERSION
        }
    }

    /// The version-2 part of the plan, if it is one.
    pub fn v2(&self) -> Option<&V2<'a>> {
        self.v2.as_ref()
    }

    /// The packet size limit in effect (the requested one, at most 1460).
    pub fn max_packet_size(&self) -> usize {
        self.max_packet
    }

    /// Number of data packets of this dump (at least 1).
    pub fn packet_count(&self) -> u16 {
        self.plan.count
    }

    /// Number of parity packets (version 2; 0 in version 1). Parity packet `j` has index
    /// `packet_count() + j`.
    pub fn parity_count(&self) -> u16 {
        self.plan.parity
    }

    /// Data packets the parity protects: the first `min(packet_count, 128)` by index.
    pub fn protected_count(&self) -> u16 {
        core::cmp::min(self.plan.count, MAX_DATA_SHARDS as u16)
    }

    /// Number of fact packets: packets `0..fact_packet_count()` carry the facts (and the
    /// oldest log bytes that fit after them); the packets after them carry the log in order.
    pub fn fact_packet_count(&self) -> u16 {
        self.plan.fact_packets as u16
    }

    /// Total record-area bytes of all packets (the header's dump length).
    pub fn dump_len(&self) -> u32 {
        self.plan.dump_len
    }

    /// Log packet `j` (0-based, counted after the fact packets): its segment, the offset of
    /// its data in that segment, the data length, and the data bytes of all log packets
    /// before it.
    fn log_chunk(&self, j: usize) -> Option<(usize, usize, usize, u64)> {
        let mut before = 0usize;
        let mut bytes_before = 0u64;
        for s in 0..self.plan.segs {
            let packets = usize::from(*self.plan.seg_packets.get(s)?);
            let seg_len = self.seg_len(s)?;
            let start = if s == 0 { self.plan.first_chunk } else { 0 };
            if j < before.checked_add(packets)? {
                let c = j.checked_sub(before)?;
                let off = c.checked_mul(self.plan.chunk_cap)?.checked_add(start)?;
                let n = core::cmp::min(seg_len.checked_sub(off)?, self.plan.chunk_cap);
                let before_bytes = bytes_before.checked_add(off.checked_sub(start)? as u64)?;
                return if n == 0 {
                    None
                } else {
                    Some((s, off, n, before_bytes))
                };
            }
            before = before.checked_add(packets)?;
            bytes_before = bytes_before.checked_add(seg_len.checked_sub(start)? as u64)?;
        }
        None
    }

    /// Bytes of segment `s`: the log (version 1) or compressed piece `s` (version 2).
    fn seg_len(&self, s: usize) -> Option<usize> {
        match &self.v2 {
            None if s == 0 => Some(self.dump.log.len()),
            None => None,
            Some(v) => v.log.pieces.get(s).map(|p| p.z_len as usize),
        }
    }

    /// Record-area length and offset of packet `index`.
    fn area(&self, index: u16) -> Result<(usize, u32), EncodeError> {
        let i = usize::from(index);
        if index >= self.plan.count {
            return Err(EncodeError::IndexOutOfRange {
                index,
                count: self.plan.count,
            });
        }
        if i < self.plan.fact_packets {
            let len = *self.plan.fact_area.get(i).ok_or(EncodeError::Internal)?;
            let mut off = 0u32;
            for a in self.plan.fact_area.iter().take(i) {
                off = off.saturating_add(u32::from(*a));
            }
            return Ok((usize::from(len), off));
        }
        let j = i.saturating_sub(self.plan.fact_packets);
        let (_, _, n, data_before) = self.log_chunk(j).ok_or(EncodeError::Internal)?;
        let per_packet = DUMP_INFO_REC.saturating_add(self.plan.chunk_overhead);
        let off = u64::from(self.plan.fact_area_total)
            .saturating_add((j as u64).saturating_mul(per_packet as u64))
            .saturating_add(data_before);
        let off = u32::try_from(off).map_err(|_| EncodeError::Internal)?;
        Ok((per_packet.saturating_add(n), off))
    }

    /// Length in bytes of data packet `index` (at most the maximum packet size; a sealed
    /// version-2 packet is [`SEAL_OVERHEAD`](super::SEAL_OVERHEAD) longer on the wire).
    pub fn packet_len(&self, index: u16) -> Result<usize, EncodeError> {
        Ok(HEADER_LEN.saturating_add(self.area(index)?.0))
    }

    /// Writes data packet `index` into the start of `buf` and returns its length. `buf`
    /// must be at least [`packet_len`](Self::packet_len) bytes (the maximum packet size is
    /// always enough); bytes after the packet are left untouched. A version-2 packet is
    /// written unsealed (see `seal_packet`).
    pub fn write_packet(&self, index: u16, buf: &mut [u8]) -> Result<usize, EncodeError> {
        let (area_len, offset) = self.area(index)?;
        let len = HEADER_LEN.saturating_add(area_len);
        let have = buf.len();
        let out = buf
            .get_mut(..len)
            .ok_or(EncodeError::BufferTooSmall { need: len, have })?;
        self.write_into(index, area_len, offset, out)
            .ok_or(EncodeError::Internal)?;
        let crc = crc32c(out);
        out.get_mut(CRC_OFFSET..CRC_OFFSET + 4)
            .ok_or(EncodeError::Internal)?
            .copy_from_slice(&crc.to_le_bytes());
        Ok(len)
    }

    /// The header every packet of this plan shares, for packet `index` with `len` bytes and
    /// record-area offset `offset` (CRC 0).
    pub(super) fn header(
        &self,
        ty: PacketType,
        index: u16,
        len: usize,
        offset: u32,
    ) -> Option<Header> {
        Some(Header {
            version: self.version(),
            packet_type: ty,
            header_len: HEADER_LEN as u8,
            flags: if self.plan.parity > 0 {
                super::FLAG_PARITY_FOLLOWS
            } else {
                0
            },
            packet_len: u16::try_from(len).ok()?,
            reason: self.dump.reason,
            key_id: 0,
            crc: 0,
            boot_id: self.dump.boot_id,
            seq: self.dump.seq,
            index,
            count: self.plan.count,
            dump_len: self.plan.dump_len,
            packet_offset: offset,
        })
    }

    fn write_into(&self, index: u16, area_len: usize, offset: u32, out: &mut [u8]) -> Option<()> {
        let len = out.len();
        let mut w = Writer::new(out);
        self.header(PacketType::Data, index, len, offset)?
            .write(&mut w)?;
        let info = self.dump.dump_info();
        w.u16(rt::DUMP_INFO)?;
        w.u16(DumpInfo::WIRE_LEN as u16)?;
        w.u32(info.log_len)?;
        w.u8(info.flags)?;
        w.u8(info.regs_source.to_u8())?;
        w.u16(0)?;

        let i = usize::from(index);
        if i < self.plan.fact_packets {
            let from = usize::from(*self.plan.slot_start.get(i)?);
            let to = usize::from(*self.plan.slot_start.get(i.saturating_add(1))?);
            for slot in from..to {
                if let Some(fact) = self.dump.fact(slot) {
                    fact.write(&mut w)?;
                }
            }
            if i.saturating_add(1) == self.plan.fact_packets && self.plan.first_chunk > 0 {
                self.write_log(&mut w, 0, 0, self.plan.first_chunk)?;
            }
        } else {
            let (s, off, n, _) = self.log_chunk(i.saturating_sub(self.plan.fact_packets))?;
            self.write_log(&mut w, s, off, n)?;
        }
        if w.pos() == HEADER_LEN.saturating_add(area_len) {
            Some(())
        } else {
            None
        }
    }

    /// Writes the chunk record of `n` bytes at offset `off` of segment `s`.
    fn write_log(&self, w: &mut Writer<'_>, s: usize, off: usize, n: usize) -> Option<()> {
        match &self.v2 {
            None => write_chunk(w, off, self.dump.log.get(off..off.checked_add(n)?)?),
            Some(v) => v.log.write_zchunk(w, s, off, n),
        }
    }
}

fn write_chunk(w: &mut Writer<'_>, off: usize, data: &[u8]) -> Option<()> {
    w.u16(rt::LOG_CHUNK)?;
    w.u16(u16::try_from(data.len().checked_add(4)?).ok()?)?;
    w.u32(u32::try_from(off).ok()?)?;
    w.put(data)
}

fn area_u16(v: usize) -> Result<u16, EncodeError> {
    u16::try_from(v).map_err(|_| EncodeError::Internal)
}
