//! The decoder: validates one packet completely and iterates its records.

use core::fmt;

use super::super::fec::MAX_PARITY_SHARDS;
use super::bytes::{array, i64_at, u16_at, u32_at, u64_at, u8_at};
use super::consistency::DumpKey;
use super::crc32c::crc32c_update;
use super::header::Header;
use super::types::{ArchRegs, CpuId, DumpInfo, PacketType, Regs, RegsSource, RegsX86_64, Time};
use super::{
    rt, CRC_OFFSET, FLAG_SEALED, HEADER_LEN, MAGIC, MAX_BUILD_ID_LEN, MAX_REGS_PAYLOAD_LEN,
    MAX_USER_BLOB_LEN, PIECE_LEN, RECORD_HEADER_LEN, SHARD_PREFIX_LEN, VERSION, VERSION_2,
};

/// Why a byte string is not a valid netoops packet. Offsets are byte offsets from the start
/// of the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// The input ends before a structure it must hold.
    Truncated {
        /// Bytes needed.
        need: usize,
        /// Bytes present.
        have: usize,
    },
    /// The first four bytes are not `NtOp`.
    BadMagic {
        /// The bytes found.
        found: [u8; 4],
    },
    /// The version byte is not 1.
    UnsupportedVersion {
        /// The version found.
        version: u8,
    },
    /// The header length is below 48.
    BadHeaderLen {
        /// The header length found.
        header_len: u8,
    },
    /// The packet length is below the header length.
    BadPacketLen {
        /// The packet length found.
        packet_len: u16,
        /// The header length found.
        header_len: u8,
    },
    /// The input is longer than the packet length says.
    TrailingBytes {
        /// The packet length from the header.
        packet_len: usize,
        /// The input length.
        have: usize,
    },
    /// The CRC32C does not match.
    BadCrc {
        /// The CRC stored in the packet.
        expected: u32,
        /// The CRC computed over the packet.
        computed: u32,
    },
    /// The packet type is not DATA (PARITY is reserved and not decoded by version 1).
    UnsupportedPacketType {
        /// The packet type found.
        packet_type: u8,
    },
    /// The packet index is not below the packet count.
    BadIndex {
        /// The index found.
        index: u16,
        /// The count found.
        count: u16,
    },
    /// The packet's record area does not lie within the dump length, or the first packet
    /// does not start at offset 0, or the last one does not end at the dump length.
    BadLayout {
        /// The packet offset found.
        packet_offset: u32,
        /// The record-area length of the packet.
        area_len: usize,
        /// The dump length found.
        dump_len: u32,
    },
    /// A record's header or value runs past the end of the packet.
    RecordOverrun {
        /// Offset of the record.
        offset: usize,
    },
    /// A record has type 0.
    InvalidRecordType {
        /// Offset of the record.
        offset: usize,
    },
    /// A record has a critical type (bit 15 set) that this decoder does not know.
    UnknownCriticalRecord {
        /// Offset of the record.
        offset: usize,
        /// Its type.
        ty: u16,
    },
    /// A known record's value is too short (or empty where it must not be), or longer than
    /// its limit (`USER_BLOB` 128 bytes, `REGS` 4 + 384 bytes).
    BadRecordLength {
        /// Offset of the record.
        offset: usize,
        /// Its type.
        ty: u16,
        /// Its value length.
        len: u16,
    },
    /// A known record's value is out of range (e.g. nanoseconds >= 1e9, or register source
    /// differing from `DUMP_INFO`).
    BadRecordValue {
        /// Offset of the record.
        offset: usize,
        /// Its type.
        ty: u16,
    },
    /// The first record is not `DUMP_INFO`.
    MissingDumpInfo {
        /// Offset where it should be (the header length).
        offset: usize,
    },
    /// A record that may occur only once per packet occurs again.
    DuplicateRecord {
        /// Offset of the second occurrence.
        offset: usize,
        /// Its type.
        ty: u16,
    },
    /// The `BOOT_ID` record differs from the header's boot id.
    BootIdMismatch {
        /// Offset of the record.
        offset: usize,
    },
    /// A `LOG_CHUNK` ends beyond the log length given by `DUMP_INFO`.
    LogChunkOutOfRange {
        /// Offset of the record.
        offset: usize,
        /// The chunk's log offset.
        log_offset: u32,
        /// The chunk's data length.
        len: usize,
        /// The log length from `DUMP_INFO`.
        log_len: u32,
    },
    /// A `LOG_ZCHUNK`'s piece lies outside the log or is longer than a piece, or its data
    /// lie outside the piece's compressed length.
    BadZChunk {
        /// Offset of the record.
        offset: usize,
    },
    /// A sealed version-2 packet: it must be opened with its key first.
    Sealed {
        /// The packet's key id.
        key_id: u8,
    },
}

impl DecodeError {
    /// The byte offset within the packet that the error is about.
    pub fn offset(&self) -> usize {
        match *self {
            DecodeError::Truncated { have, .. } => have,
            DecodeError::BadMagic { .. } => 0,
            DecodeError::UnsupportedVersion { .. } => 4,
            DecodeError::UnsupportedPacketType { .. } => 5,
            DecodeError::BadHeaderLen { .. } => 6,
            DecodeError::BadPacketLen { .. } => 8,
            DecodeError::TrailingBytes { packet_len, .. } => packet_len,
            DecodeError::BadCrc { .. } => CRC_OFFSET,
            DecodeError::Sealed { .. } => 7,
            DecodeError::BadIndex { .. } => 36,
            DecodeError::BadLayout { .. } => 40,
            DecodeError::RecordOverrun { offset }
            | DecodeError::InvalidRecordType { offset }
            | DecodeError::UnknownCriticalRecord { offset, .. }
            | DecodeError::BadRecordLength { offset, .. }
            | DecodeError::BadRecordValue { offset, .. }
            | DecodeError::MissingDumpInfo { offset }
            | DecodeError::DuplicateRecord { offset, .. }
            | DecodeError::BootIdMismatch { offset }
            | DecodeError::LogChunkOutOfRange { offset, .. }
            | DecodeError::BadZChunk { offset } => offset,
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            DecodeError::Truncated { need, have } => {
                write!(f, "truncated packet: need {} bytes, have {}", need, have)
            }
            DecodeError::BadMagic { found } => write!(
                f,
                "bad magic {:02x} {:02x} {:02x} {:02x} (expected \"NtOp\")",
                found[0], found[1], found[2], found[3]
            ),
            DecodeError::UnsupportedVersion { version } => {
                write!(f, "unsupported format version {}", version)
            }
            DecodeError::BadHeaderLen { header_len } => {
                write!(f, "header length {} below {}", header_len, HEADER_LEN)
            }
            DecodeError::BadPacketLen {
                packet_len,
                header_len,
            } => write!(
                f,
                "packet length {} below header length {}",
                packet_len, header_len
            ),
            DecodeError::TrailingBytes { packet_len, have } => write!(
                f,
                "{} bytes after the end of the packet (packet length {})",
                have.saturating_sub(packet_len),
                packet_len
            ),
            DecodeError::BadCrc { expected, computed } => write!(
                f,
                "CRC32C mismatch: packet says {:#010x}, computed {:#010x}",
                expected, computed
            ),
            DecodeError::UnsupportedPacketType { packet_type } => {
                write!(f, "unsupported packet type {}", packet_type)
            }
            DecodeError::BadIndex { index, count } => {
                write!(f, "packet index {} not below packet count {}", index, count)
            }
            DecodeError::BadLayout {
                packet_offset,
                area_len,
                dump_len,
            } => write!(
                f,
                "record area {}+{} exceeds dump length {}",
                packet_offset, area_len, dump_len
            ),
            DecodeError::RecordOverrun { .. } => {
                f.write_str("record runs past the end of the packet")
            }
            DecodeError::InvalidRecordType { .. } => f.write_str("record type 0 is invalid"),
            DecodeError::UnknownCriticalRecord { ty, .. } => {
                write!(f, "unknown critical record type {:#06x}", ty)
            }
            DecodeError::BadRecordLength { ty, len, .. } => {
                write!(f, "record type {:#06x} has invalid length {}", ty, len)
            }
            DecodeError::BadRecordValue { ty, .. } => {
                write!(f, "record type {:#06x} has an invalid value", ty)
            }
            DecodeError::MissingDumpInfo { .. } => f.write_str("first record is not DUMP_INFO"),
            DecodeError::DuplicateRecord { ty, .. } => {
                write!(f, "record type {:#06x} repeated in one packet", ty)
            }
            DecodeError::BootIdMismatch { .. } => {
                f.write_str("BOOT_ID record differs from the header's boot id")
            }
            DecodeError::LogChunkOutOfRange {
                log_offset,
                len,
                log_len,
                ..
            } => write!(
                f,
                "log chunk {}+{} exceeds log length {}",
                log_offset, len, log_len
            ),
            DecodeError::BadZChunk { .. } => {
                f.write_str("compressed log chunk outside its piece or the log")
            }
            DecodeError::Sealed { key_id } => {
                write!(f, "sealed packet (key id {}): open it first", key_id)
            }
        }
    }
}

/// One decoded record. Strings are the raw bytes sent (normally UTF-8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record<'a> {
    /// `DUMP_INFO`.
    DumpInfo(DumpInfo),
    /// `BOOT_ID`.
    BootId([u8; 16]),
    /// `TIME`.
    Time(Time),
    /// `TAINT`.
    Taint(u64),
    /// `REGS`.
    Regs(Regs<'a>),
    /// `USER_BLOB`.
    UserBlob(&'a [u8]),
    /// `BUILD_ID`.
    BuildId(&'a [u8]),
    /// `KERNEL_RELEASE`.
    KernelRelease(&'a [u8]),
    /// `KERNEL_VERSION`.
    KernelVersion(&'a [u8]),
    /// `HOSTNAME`.
    Hostname(&'a [u8]),
    /// `ARCH`.
    Arch(&'a [u8]),
    /// `CPU_VENDOR`.
    CpuVendor(&'a [u8]),
    /// `CPU_ID`.
    CpuId(CpuId),
    /// `DMI_BIOS_VENDOR`.
    DmiBiosVendor(&'a [u8]),
    /// `DMI_BIOS_VERSION`.
    DmiBiosVersion(&'a [u8]),
    /// `DMI_BIOS_DATE`.
    DmiBiosDate(&'a [u8]),
    /// `DMI_BOARD_VENDOR`.
    DmiBoardVendor(&'a [u8]),
    /// `DMI_BOARD_NAME`.
    DmiBoardName(&'a [u8]),
    /// `DMI_PRODUCT_NAME`.
    DmiProductName(&'a [u8]),
    /// `LOG_CHUNK`: `data` is log bytes `offset..offset + data.len()`.
    LogChunk {
        /// Offset of the first byte in the log.
        offset: u32,
        /// The log bytes.
        data: &'a [u8],
    },
    /// `LOG_ZCHUNK` (version 2): `data` is bytes `z_offset..` of the compressed piece that
    /// holds log bytes `piece_start..piece_start + piece_len`.
    LogZChunk {
        /// Log offset of the piece's first byte.
        piece_start: u32,
        /// The piece's uncompressed length.
        piece_len: u32,
        /// The piece's compressed length.
        z_len: u32,
        /// Offset of `data` in the piece's compressed bytes.
        z_offset: u32,
        /// The compressed bytes.
        data: &'a [u8],
    },
    /// A non-critical record type this decoder does not know; skipped by length.
    Unknown {
        /// Its type.
        ty: u16,
        /// Its value.
        value: &'a [u8],
    },
}

impl Record<'_> {
    /// The record's type number.
    pub fn ty(&self) -> u16 {
        match self {
            Record::DumpInfo(_) => rt::DUMP_INFO,
            Record::BootId(_) => rt::BOOT_ID,
            Record::Time(_) => rt::TIME,
            Record::Taint(_) => rt::TAINT,
            Record::Regs(_) => rt::REGS,
            Record::UserBlob(_) => rt::USER_BLOB,
            Record::BuildId(_) => rt::BUILD_ID,
            Record::KernelRelease(_) => rt::KERNEL_RELEASE,
            Record::KernelVersion(_) => rt::KERNEL_VERSION,
            Record::Hostname(_) => rt::HOSTNAME,
            Record::Arch(_) => rt::ARCH,
            Record::CpuVendor(_) => rt::CPU_VENDOR,
            Record::CpuId(_) => rt::CPU_ID,
            Record::DmiBiosVendor(_) => rt::DMI_BIOS_VENDOR,
            Record::DmiBiosVersion(_) => rt::DMI_BIOS_VERSION,
            Record::DmiBiosDate(_) => rt::DMI_BIOS_DATE,
            Record::DmiBoardVendor(_) => rt::DMI_BOARD_VENDOR,
            Record::DmiBoardName(_) => rt::DMI_BOARD_NAME,
            Record::DmiProductName(_) => rt::DMI_PRODUCT_NAME,
            Record::LogChunk { .. } => rt::LOG_CHUNK,
            Record::LogZChunk { .. } => rt::LOG_ZCHUNK,
            Record::Unknown { ty, .. } => *ty,
        }
    }
}

/// A validated packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    /// The header.
    pub header: Header,
    /// The packet's `DUMP_INFO` record.
    pub dump_info: DumpInfo,
    bytes: &'a [u8],
}

impl<'a> Packet<'a> {
    /// The whole packet as received.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The record area (the bytes after the header).
    pub fn record_area(&self) -> &'a [u8] {
        self.bytes
            .get(usize::from(self.header.header_len)..)
            .unwrap_or_default()
    }

    /// The records, in order, starting with `DUMP_INFO`.
    pub fn records(&self) -> Records<'a> {
        Records {
            area: self.record_area(),
            pos: 0,
            base: usize::from(self.header.header_len),
        }
    }

    /// The dump this packet belongs to.
    pub fn key(&self) -> DumpKey {
        DumpKey {
            boot_id: self.header.boot_id,
            seq: self.header.seq,
        }
    }
}

/// Iterator over the records of a [`Packet`]. Since [`parse_packet`] validated every record,
/// it yields them all and then stops.
#[derive(Debug, Clone)]
pub struct Records<'a> {
    area: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Records<'a> {
    /// Next record with its offset in the packet, or the error that stops iteration.
    fn next_checked(&mut self) -> Option<Result<(usize, Record<'a>), DecodeError>> {
        if self.pos >= self.area.len() {
            return None;
        }
        let offset = self.base.saturating_add(self.pos);
        let res = self.read_one(offset);
        if res.is_err() {
            self.pos = self.area.len();
        }
        Some(res)
    }

    fn read_one(&mut self, offset: usize) -> Result<(usize, Record<'a>), DecodeError> {
        let overrun = DecodeError::RecordOverrun { offset };
        let ty = u16_at(self.area, self.pos).ok_or(overrun)?;
        let len = u16_at(self.area, self.pos.saturating_add(2)).ok_or(overrun)?;
        let start = self.pos.checked_add(RECORD_HEADER_LEN).ok_or(overrun)?;
        let end = start.checked_add(usize::from(len)).ok_or(overrun)?;
        let value = self.area.get(start..end).ok_or(overrun)?;
        let rec = decode_value(offset, ty, len, value)?;
        self.pos = end;
        Ok((offset, rec))
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Record<'a>;

    fn next(&mut self) -> Option<Record<'a>> {
        match self.next_checked()? {
            Ok((_, r)) => Some(r),
            Err(_) => None,
        }
    }
}

fn string(offset: usize, ty: u16, len: u16, v: &[u8]) -> Result<&[u8], DecodeError> {
    if v.is_empty() {
        Err(DecodeError::BadRecordLength { offset, ty, len })
    } else {
        Ok(v)
    }
}

/// Decodes one record value. Values longer than the known layout keep their known prefix.
fn decode_value(offset: usize, ty: u16, len: u16, v: &[u8]) -> Result<Record<'_>, DecodeError> {
    let short = DecodeError::BadRecordLength { offset, ty, len };
    let min_len = match ty {
        rt::DUMP_INFO => DumpInfo::WIRE_LEN,
        rt::BOOT_ID => 16,
        rt::TIME => Time::WIRE_LEN,
        rt::TAINT => 8,
        rt::CPU_ID => CpuId::WIRE_LEN,
        rt::REGS => 4,
        rt::LOG_CHUNK => 5,
        rt::LOG_ZCHUNK => 17,
        rt::BUILD_ID => 1,
        _ => 0,
    };
    if v.len() < min_len {
        return Err(short);
    }
    // Variable-length values have absolute limits (the growth rule does not apply).
    let max_len = match ty {
        rt::USER_BLOB => MAX_USER_BLOB_LEN,
        rt::BUILD_ID => MAX_BUILD_ID_LEN,
        rt::REGS => 4 + MAX_REGS_PAYLOAD_LEN,
        _ => usize::MAX,
    };
    if v.len() > max_len {
        return Err(short);
    }
    let rec = match ty {
        0 => return Err(DecodeError::InvalidRecordType { offset }),
        rt::DUMP_INFO => Record::DumpInfo(DumpInfo {
            log_len: u32_at(v, 0).ok_or(short)?,
            flags: u8_at(v, 4).ok_or(short)?,
            regs_source: RegsSource::from_u8(u8_at(v, 5).ok_or(short)?),
        }),
        rt::BOOT_ID => Record::BootId(array::<16>(v, 0).ok_or(short)?),
        rt::TIME => {
            let t = Time {
                uptime_ns: u64_at(v, 0).ok_or(short)?,
                wall_sec: i64_at(v, 8).ok_or(short)?,
                wall_nsec: u32_at(v, 16).ok_or(short)?,
            };
            if t.wall_nsec >= 1_000_000_000 {
                return Err(DecodeError::BadRecordValue { offset, ty });
            }
            Record::Time(t)
        }
        rt::TAINT => Record::Taint(u64_at(v, 0).ok_or(short)?),
        rt::REGS => {
            let arch = u16_at(v, 0).ok_or(short)?;
            let source = RegsSource::from_u8(u8_at(v, 2).ok_or(short)?);
            if source == RegsSource::None {
                return Err(DecodeError::BadRecordValue { offset, ty });
            }
            let payload = v.get(4..).ok_or(short)?;
            let regs = if arch == RegsX86_64::ARCH {
                let mut a = [0u64; RegsX86_64::COUNT];
                for (k, r) in a.iter_mut().enumerate() {
                    *r = u64_at(payload, k.saturating_mul(8)).ok_or(short)?;
                }
                ArchRegs::X86_64(RegsX86_64::from_array(a))
            } else {
                ArchRegs::Other { arch, payload }
            };
            Record::Regs(Regs { source, regs })
        }
        rt::USER_BLOB => Record::UserBlob(v),
        rt::BUILD_ID => Record::BuildId(v),
        rt::KERNEL_RELEASE => Record::KernelRelease(string(offset, ty, len, v)?),
        rt::KERNEL_VERSION => Record::KernelVersion(string(offset, ty, len, v)?),
        rt::HOSTNAME => Record::Hostname(string(offset, ty, len, v)?),
        rt::ARCH => Record::Arch(string(offset, ty, len, v)?),
        rt::CPU_VENDOR => Record::CpuVendor(string(offset, ty, len, v)?),
        rt::CPU_ID => Record::CpuId(CpuId {
            family: u32_at(v, 0).ok_or(short)?,
            model: u32_at(v, 4).ok_or(short)?,
            stepping: u32_at(v, 8).ok_or(short)?,
            microcode: u32_at(v, 12).ok_or(short)?,
        }),
        rt::DMI_BIOS_VENDOR => Record::DmiBiosVendor(string(offset, ty, len, v)?),
        rt::DMI_BIOS_VERSION => Record::DmiBiosVersion(string(offset, ty, len, v)?),
        rt::DMI_BIOS_DATE => Record::DmiBiosDate(string(offset, ty, len, v)?),
        rt::DMI_BOARD_VENDOR => Record::DmiBoardVendor(string(offset, ty, len, v)?),
        rt::DMI_BOARD_NAME => Record::DmiBoardName(string(offset, ty, len, v)?),
        rt::DMI_PRODUCT_NAME => Record::DmiProductName(string(offset, ty, len, v)?),
        rt::LOG_CHUNK => {
            let log_offset = u32_at(v, 0).ok_or(short)?;
            let data = v.get(4..).ok_or(short)?;
            if data.is_empty() {
                return Err(short);
            }
            Record::LogChunk {
                offset: log_offset,
                data,
            }
        }
        rt::LOG_ZCHUNK => {
            let data = v.get(16..).ok_or(short)?;
            Record::LogZChunk {
                piece_start: u32_at(v, 0).ok_or(short)?,
                piece_len: u32_at(v, 4).ok_or(short)?,
                z_len: u32_at(v, 8).ok_or(short)?,
                z_offset: u32_at(v, 12).ok_or(short)?,
                data,
            }
        }
        ty if ty & rt::CRITICAL_BIT != 0 => {
            return Err(DecodeError::UnknownCriticalRecord { offset, ty })
        }
        ty => Record::Unknown { ty, value: v },
    };
    Ok(rec)
}

/// Steps 1 to 4 of `PROTOCOL.md` section 6 on `bytes`: magic, version (1 or 2), header and
/// packet lengths against the input, not sealed (a sealed packet is opened first), CRC32C.
pub fn parse_header(bytes: &[u8]) -> Result<Header, DecodeError> {
    header_checked(bytes, true)
}

/// [`parse_header`], with the CRC32C checked or not (`crc`).
fn header_checked(bytes: &[u8], crc: bool) -> Result<Header, DecodeError> {
    let have = bytes.len();
    let magic = array::<4>(bytes, 0).ok_or(DecodeError::Truncated { need: 4, have })?;
    if magic != MAGIC {
        return Err(DecodeError::BadMagic { found: magic });
    }
    let version = u8_at(bytes, 4).ok_or(DecodeError::Truncated { need: 5, have })?;
    if version != VERSION && version != VERSION_2 {
        return Err(DecodeError::UnsupportedVersion { version });
    }
    let header = Header::read(bytes).ok_or(DecodeError::Truncated {
        need: HEADER_LEN,
        have,
    })?;
    if usize::from(header.header_len) < HEADER_LEN {
        return Err(DecodeError::BadHeaderLen {
            header_len: header.header_len,
        });
    }
    if header.packet_len < u16::from(header.header_len) {
        return Err(DecodeError::BadPacketLen {
            packet_len: header.packet_len,
            header_len: header.header_len,
        });
    }
    let packet_len = usize::from(header.packet_len);
    if have < packet_len {
        return Err(DecodeError::Truncated {
            need: packet_len,
            have,
        });
    }
    if have > packet_len {
        return Err(DecodeError::TrailingBytes { packet_len, have });
    }
    if version == VERSION_2 && header.flags & FLAG_SEALED != 0 {
        return Err(DecodeError::Sealed {
            key_id: header.key_id,
        });
    }
    if crc {
        let computed = packet_crc(bytes);
        if computed != header.crc {
            return Err(DecodeError::BadCrc {
                expected: header.crc,
                computed,
            });
        }
    }
    Ok(header)
}

/// A validated version-2 parity packet: its body is one parity shard of the dump's first
/// `min(count, 128)` data packets (`PROTOCOL.md` section 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParityPacket<'a> {
    /// The header (`index` = `count` + parity row).
    pub header: Header,
    /// The parity shard.
    pub shard: &'a [u8],
    /// The whole packet.
    pub bytes: &'a [u8],
}

impl ParityPacket<'_> {
    /// The parity row: `index − count`.
    pub fn row(&self) -> usize {
        usize::from(self.header.index).saturating_sub(usize::from(self.header.count))
    }

    /// The dump this packet belongs to.
    pub fn key(&self) -> DumpKey {
        DumpKey {
            boot_id: self.header.boot_id,
            seq: self.header.seq,
        }
    }
}

/// Validates `bytes` as one version-2 PARITY packet: the header checks of [`parse_header`],
/// then packet type PARITY (`UnsupportedPacketType` otherwise), `count ≥ 1`,
/// `count ≤ index < count + 64` (`BadIndex`), `packet_offset = 0` and a shard of at least
/// [`SHARD_PREFIX_LEN`](super::SHARD_PREFIX_LEN) bytes (`BadLayout`).
pub fn parse_parity(bytes: &[u8]) -> Result<ParityPacket<'_>, DecodeError> {
    parity_checked(bytes, true)
}

/// [`parse_parity`] of bytes whose header passed [`parse_header`] just before (CRC32C
/// included): every check but the CRC32C, which is not computed twice.
pub fn parse_parity_after_header(bytes: &[u8]) -> Result<ParityPacket<'_>, DecodeError> {
    parity_checked(bytes, false)
}

/// [`parse_parity`] with the CRC32C checked or not (`crc`).
fn parity_checked(bytes: &[u8], crc: bool) -> Result<ParityPacket<'_>, DecodeError> {
    let header = header_checked(bytes, crc)?;
    if header.packet_type != PacketType::Parity || header.version != VERSION_2 {
        return Err(DecodeError::UnsupportedPacketType {
            packet_type: header.packet_type.to_u8(),
        });
    }
    let row = usize::from(header.index).checked_sub(usize::from(header.count));
    let bad_row = match row {
        Some(r) => r >= MAX_PARITY_SHARDS,
        None => true,
    };
    if header.count == 0 || bad_row {
        return Err(DecodeError::BadIndex {
            index: header.index,
            count: header.count,
        });
    }
    let shard = bytes
        .get(usize::from(header.header_len)..)
        .unwrap_or_default();
    if header.packet_offset != 0 || shard.len() < SHARD_PREFIX_LEN {
        return Err(DecodeError::BadLayout {
            packet_offset: header.packet_offset,
            area_len: shard.len(),
            dump_len: header.dump_len,
        });
    }
    Ok(ParityPacket {
        header,
        shard,
        bytes,
    })
}

/// Validates `bytes` as exactly one netoops data packet (one UDP payload) and returns it.
///
/// Checks, in this order: magic, version, length of the fixed header, header length, packet
/// length against the input length, CRC32C, packet type, index/count, record-area layout,
/// then every record: framing, known layouts, `DUMP_INFO` first and only once, `BOOT_ID`
/// equal to the header's, register source equal to `DUMP_INFO`'s, log chunks within the log
/// length. Never panics, whatever the input.
pub fn parse_packet(bytes: &[u8]) -> Result<Packet<'_>, DecodeError> {
    packet_checked(bytes, true, true)
}

/// [`parse_packet`] of bytes whose header passed [`parse_header`] just before (CRC32C
/// included): every check but the CRC32C, which is not computed twice.
pub fn parse_packet_after_header(bytes: &[u8]) -> Result<Packet<'_>, DecodeError> {
    packet_checked(bytes, false, true)
}

/// [`parse_packet`] of bytes that passed it before and were kept unchanged (a receiver's held
/// packets, parsed again to compare a new packet with them): the header and `DUMP_INFO`
/// checks only, neither the CRC32C (which guards the bytes in transit) nor the records after
/// `DUMP_INFO`, which have not changed either.
pub fn parse_held_packet(bytes: &[u8]) -> Result<Packet<'_>, DecodeError> {
    packet_checked(bytes, false, false)
}

/// [`parse_packet`] with the CRC32C checked or not (`crc`), and the records after
/// `DUMP_INFO` checked or not (`records`).
fn packet_checked(bytes: &[u8], crc: bool, records: bool) -> Result<Packet<'_>, DecodeError> {
    let header = header_checked(bytes, crc)?;
    if header.packet_type != PacketType::Data {
        return Err(DecodeError::UnsupportedPacketType {
            packet_type: header.packet_type.to_u8(),
        });
    }
    if header.index >= header.count {
        return Err(DecodeError::BadIndex {
            index: header.index,
            count: header.count,
        });
    }
    let area_len = header.record_area_len();
    let area_end = u64::from(header.packet_offset).saturating_add(area_len as u64);
    let first_ok = header.index != 0 || header.packet_offset == 0;
    let last_ok = u32::from(header.index).saturating_add(1) != u32::from(header.count)
        || area_end == u64::from(header.dump_len);
    if area_end > u64::from(header.dump_len) || !first_ok || !last_ok {
        return Err(DecodeError::BadLayout {
            packet_offset: header.packet_offset,
            area_len,
            dump_len: header.dump_len,
        });
    }
    let base = usize::from(header.header_len);
    let area = bytes.get(base..).unwrap_or_default();
    let mut recs = Records { area, pos: 0, base };
    let dump_info = match recs.next_checked() {
        Some(Ok((_, Record::DumpInfo(info)))) => info,
        Some(Err(e)) => return Err(e),
        _ => return Err(DecodeError::MissingDumpInfo { offset: base }),
    };
    while let Some(r) = recs.next_checked().filter(|_| records) {
        let (offset, rec) = r?;
        match rec {
            Record::DumpInfo(_) => {
                return Err(DecodeError::DuplicateRecord {
                    offset,
                    ty: rt::DUMP_INFO,
                })
            }
            Record::BootId(id) if id != header.boot_id => {
                return Err(DecodeError::BootIdMismatch { offset })
            }
            Record::Regs(r) if r.source != dump_info.regs_source => {
                return Err(DecodeError::BadRecordValue {
                    offset,
                    ty: rt::REGS,
                })
            }
            Record::LogChunk {
                offset: log_offset,
                data,
            } if u64::from(log_offset).saturating_add(data.len() as u64)
                > u64::from(dump_info.log_len) =>
            {
                return Err(DecodeError::LogChunkOutOfRange {
                    offset,
                    log_offset,
                    len: data.len(),
                    log_len: dump_info.log_len,
                })
            }
            Record::LogZChunk {
                piece_start,
                piece_len,
                z_len,
                z_offset,
                data,
            } => {
                let piece_end = u64::from(piece_start).saturating_add(u64::from(piece_len));
                let data_end = u64::from(z_offset).saturating_add(data.len() as u64);
                if piece_len == 0
                    || piece_len as usize > PIECE_LEN
                    || piece_end > u64::from(dump_info.log_len)
                    || z_len == 0
                    || data_end > u64::from(z_len)
                {
                    return Err(DecodeError::BadZChunk { offset });
                }
            }
            _ => {}
        }
    }
    Ok(Packet {
        header,
        dump_info,
        bytes,
    })
}

/// CRC32C of a packet computed with its CRC field (bytes 12..16) taken as zero: the value
/// the CRC field must hold. Works on any input length.
pub fn packet_crc(bytes: &[u8]) -> u32 {
    let head = bytes.get(..CRC_OFFSET).unwrap_or(bytes);
    let zeros = core::cmp::min(bytes.len(), CRC_OFFSET + 4).saturating_sub(CRC_OFFSET);
    let tail = bytes.get(CRC_OFFSET + 4..).unwrap_or_default();
    let c = crc32c_update(0, head);
    let c = crc32c_update(c, [0u8; 4].get(..zeros).unwrap_or_default());
    crc32c_update(c, tail)
}
