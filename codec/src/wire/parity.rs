//! Version 2's parity packets: a systematic Reed–Solomon code ([`fec`](super::super::fec))
//! over the first `k = min(count, 128)` data packets of a dump, so that any `k` of those
//! data packets and the parity packets rebuild all of them.
//!
//! The code works on **shards** of one length `L`. The shard of data packet `i` is its
//! unsealed record area prefixed with the area's length (u16), zero-padded to `L`:
//!
//! ```text
//! shard_i = area_len_i (u16) ‖ record area_i ‖ 0 … 0        (L bytes)
//! L = 2 + the longest record area of the k protected packets
//! ```
//!
//! Parity packet `j` (`0 ≤ j < m`) has packet type PARITY, index `count + j`, packet offset
//! 0, the header fields of the data packets otherwise, and parity shard `j` as its body. A
//! receiver that holds `k` shards of a dump (data and parity together) rebuilds every
//! missing data shard; the packet offset of packet `i` is then the sum of the area lengths
//! of packets `0 … i−1`, and the data packet is its header and area again.

use super::super::fec::{FecError, ParityAccumulator};
use super::bytes::Writer;
use super::crc32c::crc32c;
use super::encode::{EncodeError, Packetizer};
use super::header::Header;
use super::types::PacketType;
use super::{CRC_OFFSET, HEADER_LEN, SHARD_PREFIX_LEN};

impl Packetizer<'_> {
    /// The shard length `L` of this plan's parity (0 when it sends no parity).
    pub fn shard_len(&self) -> Result<usize, EncodeError> {
        if self.parity_count() == 0 {
            return Ok(0);
        }
        let mut longest = 0usize;
        for i in 0..self.protected_count() {
            let area = self.packet_len(i)?.saturating_sub(HEADER_LEN);
            longest = core::cmp::max(longest, area);
        }
        Ok(longest.saturating_add(SHARD_PREFIX_LEN))
    }

    /// Computes the parity shards into `parity`: the first `parity_count() ·`
    /// [`shard_len`](Self::shard_len) bytes, one shard after the other (the rest is left
    /// alone), writing each protected data packet into `tmp` (at least the maximum packet
    /// size) on the way. Returns the bytes of `parity` used.
    pub fn compute_parity(&self, tmp: &mut [u8], parity: &mut [u8]) -> Result<usize, EncodeError> {
        let Some((mut acc, used)) = self.accumulator(parity)? else {
            return Ok(0);
        };
        for i in 0..self.protected_count() {
            let len = self.write_packet(i, tmp)?;
            let area_len =
                u16::try_from(len.saturating_sub(HEADER_LEN)).map_err(|_| EncodeError::Internal)?;
            // The shard: the area length just before the area (over the header's last bytes,
            // which `tmp` no longer needs).
            let start = HEADER_LEN - SHARD_PREFIX_LEN;
            tmp.get_mut(start..HEADER_LEN)
                .ok_or(EncodeError::Internal)?
                .copy_from_slice(&area_len.to_le_bytes());
            let shard = tmp.get(start..len).ok_or(EncodeError::Internal)?;
            acc.add(usize::from(i), shard).map_err(fec_error)?;
        }
        acc.finish().map_err(fec_error)?;
        Ok(used)
    }

    /// Like [`compute_parity`](Self::compute_parity), from the data packets already written
    /// (unsealed) into `slots`, packet `i` at `i · stride`: no packet is written twice. The
    /// two bytes before each record area are borrowed for the shard's length prefix and put
    /// back.
    pub fn parity_from_slots(
        &self,
        slots: &mut [u8],
        stride: usize,
        parity: &mut [u8],
    ) -> Result<usize, EncodeError> {
        let Some((mut acc, used)) = self.accumulator(parity)? else {
            return Ok(0);
        };
        let prefix = HEADER_LEN - SHARD_PREFIX_LEN;
        for i in 0..self.protected_count() {
            let len = self.packet_len(i)?;
            let start = usize::from(i)
                .checked_mul(stride)
                .ok_or(EncodeError::Internal)?;
            let slot = slots
                .get_mut(start..start.saturating_add(len))
                .ok_or(EncodeError::Internal)?;
            let area_len =
                u16::try_from(len.saturating_sub(HEADER_LEN)).map_err(|_| EncodeError::Internal)?;
            let field = slot
                .get_mut(prefix..HEADER_LEN)
                .ok_or(EncodeError::Internal)?;
            let saved = [field[0], field[1]];
            field.copy_from_slice(&area_len.to_le_bytes());
            let added = acc.add(usize::from(i), slot.get(prefix..).unwrap_or_default());
            if let Some(field) = slot.get_mut(prefix..HEADER_LEN) {
                field.copy_from_slice(&saved);
            }
            added.map_err(fec_error)?;
        }
        acc.finish().map_err(fec_error)?;
        Ok(used)
    }

    /// The accumulator of this plan's parity over the first `parity_count() · shard_len()`
    /// bytes of `parity`, and that length; `None` when the plan has no parity.
    fn accumulator<'p>(
        &self,
        parity: &'p mut [u8],
    ) -> Result<Option<(ParityAccumulator<'p, 'p>, usize)>, EncodeError> {
        let shard_len = self.shard_len()?;
        let used = shard_len
            .checked_mul(usize::from(self.parity_count()))
            .ok_or(EncodeError::Internal)?;
        if used == 0 {
            return Ok(None);
        }
        let have = parity.len();
        let parity = parity
            .get_mut(..used)
            .ok_or(EncodeError::BufferTooSmall { need: used, have })?;
        let k = usize::from(self.protected_count());
        let acc = ParityAccumulator::new_flat(k, parity, shard_len).map_err(fec_error)?;
        Ok(Some((acc, used)))
    }

    /// Writes parity packet `j` (unsealed) with parity shard `shard` into `buf` and returns
    /// its length.
    pub fn write_parity_packet(
        &self,
        j: u16,
        shard: &[u8],
        buf: &mut [u8],
    ) -> Result<usize, EncodeError> {
        if j >= self.parity_count() {
            return Err(EncodeError::IndexOutOfRange {
                index: j,
                count: self.parity_count(),
            });
        }
        let len = HEADER_LEN.saturating_add(shard.len());
        let have = buf.len();
        let out = buf
            .get_mut(..len)
            .ok_or(EncodeError::BufferTooSmall { need: len, have })?;
        let index = self
            .packet_count()
            .checked_add(j)
            .ok_or(EncodeError::TooManyPackets)?;
        let header = self
            .header(PacketType::Parity, index, len, 0)
            .ok_or(EncodeError::Internal)?;
        let mut w = Writer::new(out);
        header
            .write(&mut w)
            .and_then(|()| w.put(shard))
            .ok_or(EncodeError::Internal)?;
        set_crc(out).ok_or(EncodeError::Internal)?;
        Ok(len)
    }
}

fn fec_error(_: FecError) -> EncodeError {
    EncodeError::Internal
}

fn set_crc(packet: &mut [u8]) -> Option<()> {
    packet.get_mut(CRC_OFFSET..CRC_OFFSET + 4)?.fill(0);
    let crc = crc32c(packet);
    packet
        .get_mut(CRC_OFFSET..CRC_OFFSET + 4)?
        .copy_from_slice(&crc.to_le_bytes());
    Some(())
}

/// The record area a rebuilt shard holds (its length prefix checked), or `None` if the
/// prefix says more than the shard holds.
pub fn shard_area(shard: &[u8]) -> Option<&[u8]> {
    let len = usize::from(u16::from_le_bytes([*shard.first()?, *shard.get(1)?]));
    shard.get(SHARD_PREFIX_LEN..SHARD_PREFIX_LEN.checked_add(len)?)
}

/// Rebuilds data packet `index` from its record `area` and `packet_offset`, with the other
/// header fields from `template` (a header of the same dump, data or parity), into `out`;
/// returns its length. The result is an unsealed packet as the sender wrote it, to be
/// validated like any received one.
pub fn rebuild_data_packet(
    template: &Header,
    index: u16,
    packet_offset: u32,
    area: &[u8],
    out: &mut [u8],
) -> Option<usize> {
    let len = HEADER_LEN.checked_add(area.len())?;
    let out = out.get_mut(..len)?;
    let header = Header {
        packet_type: PacketType::Data,
        header_len: HEADER_LEN as u8,
        packet_len: u16::try_from(len).ok()?,
        key_id: 0,
        crc: 0,
        index,
        packet_offset,
        ..*template
    };
    let mut w = Writer::new(out);
    header.write(&mut w)?;
    w.put(area)?;
    set_crc(out)?;
    Some(len)
}
