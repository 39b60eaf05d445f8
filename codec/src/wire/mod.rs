//! The netoops wire format, version 1 (specified byte for byte in `PROTOCOL.md`).
//!
//! This directory is compiled twice: as the `wire` module of the `netoops-codec` crate (used
//! by the collector and the tests) and as a module of the kernel crate, which includes it with
//! `#[path = "codec/src/wire/mod.rs"] mod wire;`. Hence the rules for everything under it:
//! `core` only, no allocation, no `unsafe`, no floats, no inner attributes, only relative
//! (`super::`/`self::`) paths, and no operation that can panic on any input.
//!
//! * Encoding: build a [`Dump`], make a [`Packetizer`] for the sender's maximum packet size,
//!   then call [`Packetizer::write_packet`] for every index below
//!   [`Packetizer::packet_count`], each into a caller-provided buffer.
//! * Decoding: [`parse_packet`] validates one UDP payload completely (header, CRC32C, record
//!   framing, record contents) and gives a [`Packet`] whose [`Packet::records`] iterate the
//!   typed [`Record`]s. [`relate`] checks two packets of one dump against each other.

mod bytes;
mod consistency;
mod crc32c;
mod decode;
mod encode;
pub mod golden;
mod header;
mod parity;
mod sealing;
#[cfg(test)]
mod tests;
mod types;
mod zlog;

#[allow(unused_imports)]
pub use self::consistency::{relate, relate_parts, DumpKey, Inconsistency, Relation};
#[allow(unused_imports)]
pub use self::crc32c::{crc32c, crc32c_update};
#[allow(unused_imports)]
pub use self::decode::{
    packet_crc, parse_header, parse_held_packet, parse_packet, parse_packet_after_header,
    parse_parity, parse_parity_after_header, DecodeError, Packet, ParityPacket, Record, Records,
};
#[allow(unused_imports)]
pub use self::encode::{Dump, DumpFacts, EncodeError, Packetizer, FACT_ORDER, FACT_SLOTS, V2};
#[allow(unused_imports)]
pub use self::header::Header;
#[allow(unused_imports)]
pub use self::parity::{rebuild_data_packet, shard_area};
#[allow(unused_imports)]
pub use self::sealing::{
    open_packet, seal_packet, seal_packet_with, sealed_key_id, SealPacketError, SealingKey,
    SALT_LEN,
};
#[allow(unused_imports)]
pub use self::types::{
    ArchRegs, CpuId, DumpInfo, PacketType, Reason, Regs, RegsSource, RegsX86_64, Time,
};
#[allow(unused_imports)]
pub use self::zlog::{compress_log, piece_count, piece_range, CompressedLog, Piece};

/// The four bytes every netoops packet starts with: ASCII `NtOp`.
pub const MAGIC: [u8; 4] = *b"NtOp";
/// Format version 1: plain log chunks, no parity, no sealing.
pub const VERSION: u8 = 1;
/// Format version 2: the log compressed in pieces (`LOG_ZCHUNK`), parity packets (forward
/// error correction), optionally sealed (ChaCha20-Poly1305). Decoders read 1 and 2.
pub const VERSION_2: u8 = 2;
/// Length in bytes of the version-1 header. Decoders accept longer headers (a later
/// revision may append fields) and skip the bytes they do not know.
pub const HEADER_LEN: usize = 48;
/// Largest packet (UDP payload) the encoder ever produces, whatever it is asked for.
pub const MAX_PACKET_SIZE: usize = 1460;
/// Smallest maximum packet size the encoder accepts: every bounded record fits in a packet
/// of this size next to the header and the `DUMP_INFO` record.
pub const MIN_PACKET_SIZE: usize = 512;
/// Size of a record's type-and-length prefix.
pub const RECORD_HEADER_LEN: usize = 4;
/// Longest string fact (kernel release, hostname, DMI strings, ...). Longer strings are cut
/// to this many bytes by the encoder.
pub const MAX_STRING_LEN: usize = 128;
/// Longest user blob. A longer one is an encoding error.
pub const MAX_USER_BLOB_LEN: usize = 128;
/// Longest build id. A longer one is an encoding error; an empty one is not sent.
pub const MAX_BUILD_ID_LEN: usize = 64;
/// Longest register payload (after the 4-byte arch/source prefix) the encoder accepts.
pub const MAX_REGS_PAYLOAD_LEN: usize = 384;
/// Byte offset of the CRC32C field within the header.
pub const CRC_OFFSET: usize = 12;

/// Header flag bit 0, reserved for redundancy: "parity packets (packet type
/// [`PacketType::Parity`]) follow for this dump". Version-1 senders never set it.
pub const FLAG_PARITY_FOLLOWS: u8 = 0x01;
/// Header flag bit 1 (version 2): the packet is sealed: a 24-byte nonce follows the 48
/// header bytes, the body is encrypted and a 16-byte tag ends the packet.
pub const FLAG_SEALED: u8 = 0x02;
/// Header length of a sealed packet: the 48 header bytes and the nonce.
pub const SEALED_HEADER_LEN: usize = HEADER_LEN + 24;
/// Bytes sealing adds to a packet: the nonce and the tag.
pub const SEAL_OVERHEAD: usize = 24 + 16;
/// Bytes before a data packet's record area in its FEC shard: the area length (u16).
pub const SHARD_PREFIX_LEN: usize = 2;
/// Uncompressed bytes of a log piece (the newest piece first; the oldest may be shorter).
pub const PIECE_LEN: usize = 64 * 1024;
/// Most log pieces in one dump (a log of at most 1 MiB).
pub const MAX_PIECES: usize = 16;
/// `DUMP_INFO` flag bit 0: the log was cut to the configured maximum size.
pub const DUMP_FLAG_LOG_TRUNCATED: u8 = 0x01;

/// Record type numbers (the `type` field of a record).
///
/// The number space: `0x0000` is invalid; `0x0001..=0x7EFF` are records defined by this
/// specification, and a decoder skips those it does not know; `0x7F00..=0x7FFF` are for
/// private experiments and are skipped likewise; `0x8000..=0xFFFF` (bit 15 set) are
/// "critical": a decoder that does not know such a type must reject the whole packet.
/// Version 1 defines no critical type.
pub mod rt {
    /// Dump-wide facts repeated in every packet: log length, flags, register source.
    pub const DUMP_INFO: u16 = 0x0001;
    /// The 128-bit boot id again (equal to the header's).
    pub const BOOT_ID: u16 = 0x0002;
    /// Uptime and wall-clock time of the dump.
    pub const TIME: u16 = 0x0003;
    /// Kernel taint flags.
    pub const TAINT: u16 = 0x0004;
    /// Registers, tagged with architecture and source.
    pub const REGS: u16 = 0x0005;
    /// Opaque bytes configured by the administrator (0 to 128).
    pub const USER_BLOB: u16 = 0x0006;
    /// `uname -r`.
    pub const KERNEL_RELEASE: u16 = 0x0010;
    /// `uname -v`.
    pub const KERNEL_VERSION: u16 = 0x0011;
    /// `uname -n`.
    pub const HOSTNAME: u16 = 0x0012;
    /// `uname -m`.
    pub const ARCH: u16 = 0x0013;
    /// CPU vendor string, e.g. `GenuineIntel`.
    pub const CPU_VENDOR: u16 = 0x0014;
    /// CPU family, model, stepping and microcode revision.
    pub const CPU_ID: u16 = 0x0015;
    /// The running kernel's build id: the bytes of vmlinux's GNU build-id note (1 to 64;
    /// 20 for the kernel's SHA-1 build id), which names its debug info.
    pub const BUILD_ID: u16 = 0x0016;
    /// DMI BIOS vendor.
    pub const DMI_BIOS_VENDOR: u16 = 0x0020;
    /// DMI BIOS version.
    pub const DMI_BIOS_VERSION: u16 = 0x0021;
    /// DMI BIOS date.
    pub const DMI_BIOS_DATE: u16 = 0x0022;
    /// DMI board vendor.
    pub const DMI_BOARD_VENDOR: u16 = 0x0023;
    /// DMI board name.
    pub const DMI_BOARD_NAME: u16 = 0x0024;
    /// DMI system product name.
    pub const DMI_PRODUCT_NAME: u16 = 0x0025;
    /// A piece of the log with its byte offset.
    pub const LOG_CHUNK: u16 = 0x0040;
    /// Version 2: part of a compressed log piece (raw DEFLATE of the piece's bytes in
    /// reverse order), with the piece's place in the log and in its compressed stream.
    pub const LOG_ZCHUNK: u16 = 0x0041;
    /// Reserved for redundancy: describes the parity scheme of a dump. Not sent in version 1.
    pub const REDUNDANCY_INFO: u16 = 0x0050;
    /// First type of the private/experimental range.
    pub const PRIVATE_FIRST: u16 = 0x7F00;
    /// Types with this bit set must be understood by the decoder.
    pub const CRITICAL_BIT: u16 = 0x8000;
}
