//! Checks between packets of one dump, without allocation. Reassembly itself (which needs
//! memory) is the collector's job; these are the rules it applies.

use core::fmt;

use super::decode::Packet;
use super::header::Header;
use super::types::DumpInfo;

/// Identifies a dump: packets with equal keys belong to the same dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DumpKey {
    /// Boot id of the sending kernel.
    pub boot_id: [u8; 16],
    /// Per-boot dump sequence number.
    pub seq: u32,
}

/// How two valid packets relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// They belong to different dumps.
    OtherDump,
    /// Same dump and same index, byte-identical: one is a retransmitted copy of the other.
    Copy,
    /// Same dump, different indices, and consistent with each other.
    Sibling,
}

/// How two packets of the same dump contradict each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inconsistency {
    /// Same index but different bytes.
    Conflict,
    /// Different reasons.
    Reason,
    /// Different packet counts.
    Count,
    /// Different dump lengths.
    DumpLen,
    /// Different `DUMP_INFO` records.
    DumpInfo,
    /// Record areas overlap, are out of index order, or leave a gap between neighbours.
    Layout,
}

impl fmt::Display for Inconsistency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Inconsistency::Conflict => "same packet index with different contents",
            Inconsistency::Reason => "different dump reasons",
            Inconsistency::Count => "different packet counts",
            Inconsistency::DumpLen => "different dump lengths",
            Inconsistency::DumpInfo => "different DUMP_INFO records",
            Inconsistency::Layout => "record areas overlap or are out of order",
        })
    }
}

/// Relates two packets that each passed [`parse_packet`](super::parse_packet).
pub fn relate(a: &Packet<'_>, b: &Packet<'_>) -> Result<Relation, Inconsistency> {
    relate_parts(&a.header, &a.dump_info, a.bytes(), b)
}

/// [`relate`] of a packet given by its parts, as [`parse_packet`](super::parse_packet) gave
/// them (a receiver keeps them for the packets it holds, not to parse them again), and `b`.
pub fn relate_parts(
    header: &Header,
    dump_info: &DumpInfo,
    bytes: &[u8],
    b: &Packet<'_>,
) -> Result<Relation, Inconsistency> {
    let key = DumpKey {
        boot_id: header.boot_id,
        seq: header.seq,
    };
    if key != b.key() {
        return Ok(Relation::OtherDump);
    }
    let (ha, hb) = (header, &b.header);
    if ha.index == hb.index {
        return if bytes == b.bytes() {
            Ok(Relation::Copy)
        } else {
            Err(Inconsistency::Conflict)
        };
    }
    if ha.reason != hb.reason {
        return Err(Inconsistency::Reason);
    }
    if ha.count != hb.count {
        return Err(Inconsistency::Count);
    }
    if ha.dump_len != hb.dump_len {
        return Err(Inconsistency::DumpLen);
    }
    if *dump_info != b.dump_info {
        return Err(Inconsistency::DumpInfo);
    }
    let (lo, hi) = if ha.index < hb.index {
        (ha, hb)
    } else {
        (hb, ha)
    };
    let lo_end = u64::from(lo.packet_offset).saturating_add(lo.record_area_len() as u64);
    let adjacent = u32::from(lo.index).saturating_add(1) == u32::from(hi.index);
    if lo_end > u64::from(hi.packet_offset) || (adjacent && lo_end != u64::from(hi.packet_offset)) {
        return Err(Inconsistency::Layout);
    }
    Ok(Relation::Sibling)
}
