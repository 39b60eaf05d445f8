//! The fixed packet header.
//!
//! ```text
//! off len field
//!   0   4 magic "NtOp"
//!   4   1 version (1 or 2)
//!   5   1 packet type (1 = DATA, 2 = PARITY: version 2 only)
//!   6   1 header length (48; 72 for a sealed version-2 packet)
//!   7   1 flags (bit 0: parity follows; bit 1: sealed, version 2)
//!   8   2 packet length (header + records)
//!  10   1 reason (1 oops, 2 panic, 3 soft, 4 emerg)
//!  11   1 key id (version 2, sealed packets); 0 otherwise
//!  12   4 CRC32C of the packet with these 4 bytes taken as zero
//!  16  16 boot id
//!  32   4 dump sequence number
//!  36   2 packet index
//!  38   2 packet count
//!  40   4 dump length (record-area bytes of all packets)
//!  44   4 packet offset (record-area bytes of all packets before this one)
//! ```

use super::bytes::{array, u16_at, u32_at, u8_at, Writer};
use super::types::{PacketType, Reason};
use super::{HEADER_LEN, MAGIC};

/// A decoded packet header. All fields are as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// Format version (1 or 2).
    pub version: u8,
    /// Packet type.
    pub packet_type: PacketType,
    /// Header length in bytes; records start here.
    pub header_len: u8,
    /// Header flags (`FLAG_*`).
    pub flags: u8,
    /// Packet length in bytes: header plus records.
    pub packet_len: u16,
    /// Why the dump was taken.
    pub reason: Reason,
    /// The key id of a sealed packet (byte 11; reserved, 0, in version 1).
    pub key_id: u8,
    /// The CRC32C field as stored.
    pub crc: u32,
    /// The boot id of the kernel that sent the dump.
    pub boot_id: [u8; 16],
    /// Per-boot dump sequence number.
    pub seq: u32,
    /// Index of this packet within the dump, below `count`.
    pub index: u16,
    /// Number of data packets of the dump.
    pub count: u16,
    /// Total record-area bytes of all data packets of the dump.
    pub dump_len: u32,
    /// Record-area bytes of all data packets before this one.
    pub packet_offset: u32,
}

impl Header {
    /// Length of this packet's record area (packet length minus header length).
    pub fn record_area_len(&self) -> usize {
        usize::from(self.packet_len).saturating_sub(usize::from(self.header_len))
    }

    /// Reads the fixed fields; `b` must hold at least [`HEADER_LEN`] bytes. Does not check
    /// anything except that the bytes exist.
    pub(super) fn read(b: &[u8]) -> Option<Header> {
        Some(Header {
            version: u8_at(b, 4)?,
            packet_type: PacketType::from_u8(u8_at(b, 5)?),
            header_len: u8_at(b, 6)?,
            flags: u8_at(b, 7)?,
            packet_len: u16_at(b, 8)?,
            reason: Reason::from_u8(u8_at(b, 10)?),
            key_id: u8_at(b, 11)?,
            crc: u32_at(b, 12)?,
            boot_id: array::<16>(b, 16)?,
            seq: u32_at(b, 32)?,
            index: u16_at(b, 36)?,
            count: u16_at(b, 38)?,
            dump_len: u32_at(b, 40)?,
            packet_offset: u32_at(b, 44)?,
        })
    }

    /// Writes magic, version and all fields (the CRC as stored in `self.crc`); exactly
    /// [`HEADER_LEN`] bytes (a sealed packet's nonce is written by the sealing).
    pub(super) fn write(&self, w: &mut Writer<'_>) -> Option<()> {
        let start = w.pos();
        w.put(&MAGIC)?;
        w.u8(self.version)?;
        w.u8(self.packet_type.to_u8())?;
        w.u8(self.header_len)?;
        w.u8(self.flags)?;
        w.u16(self.packet_len)?;
        w.u8(self.reason.to_u8())?;
        w.u8(self.key_id)?;
        w.u32(self.crc)?;
        w.put(&self.boot_id)?;
        w.u32(self.seq)?;
        w.u16(self.index)?;
        w.u16(self.count)?;
        w.u32(self.dump_len)?;
        w.u32(self.packet_offset)?;
        if w.pos().checked_sub(start)? == HEADER_LEN {
            Some(())
        } else {
            None
        }
    }
}
