// SPDX-License-Identifier: GPL-2.0

//! A dump's datagrams as every target sends them.
//!
//! - Version 1: the packets of the plan, each written into a target's skb as it goes out, in
//!   the send order of `PROTOCOL.md` (the fact packets, then the log packets from the newest).
//! - Version 2: every datagram — the data packets in index order (facts, then the newest
//!   compressed piece first), then the parity packets — is built once per dump, sealed if a
//!   key is installed, into memory set aside at load time ([`build`]); targets copy them.
//!   Building them up front keeps the sealing (ChaCha20-Poly1305) off the deep send path, and
//!   every target and every copy sends the same bytes.

use crate::seal_key::Sealer;
use crate::wire;

/// Version 2's built datagrams: datagram `i` is `bytes[i * stride..][..lens[i]]`.
pub(crate) struct Built<'a> {
    bytes: &'a [u8],
    lens: &'a [u16],
    stride: usize,
}

/// The datagrams of one dump.
pub(crate) struct Outgoing<'a> {
    plan: &'a wire::Packetizer<'a>,
    built: Option<Built<'a>>,
}

impl<'a> Outgoing<'a> {
    /// Version 1: the plan's packets, written as they go out.
    pub(crate) fn planned(plan: &'a wire::Packetizer<'a>) -> Self {
        Outgoing { plan, built: None }
    }

    /// Version 2: the datagrams [`build`] made.
    pub(crate) fn built(plan: &'a wire::Packetizer<'a>, built: Built<'a>) -> Self {
        Outgoing {
            plan,
            built: Some(built),
        }
    }

    /// The packet plan.
    pub(crate) fn plan(&self) -> &'a wire::Packetizer<'a> {
        self.plan
    }

    /// Datagrams of one copy.
    pub(crate) fn count(&self) -> u16 {
        match &self.built {
            Some(b) => u16::try_from(b.lens.len()).unwrap_or(u16::MAX),
            None => self.plan.packet_count(),
        }
    }

    /// The largest datagram: the plan's packet size, which sealing and parity stay within.
    pub(crate) fn max_len(&self) -> usize {
        self.plan.max_packet_size()
    }

    /// The index of the datagram sent `i`-th in a copy.
    pub(crate) fn index_at(&self, i: u16) -> u16 {
        if self.built.is_some() {
            return i;
        }
        let count = self.plan.packet_count();
        let facts = self.plan.fact_packet_count().min(count);
        if i < facts {
            i
        } else {
            count.saturating_sub(1).saturating_sub(i - facts)
        }
    }

    /// Length on the wire of datagram `index`.
    pub(crate) fn len(&self, index: u16) -> Option<usize> {
        match &self.built {
            Some(b) => b.lens.get(usize::from(index)).map(|&l| usize::from(l)),
            None => self.plan.packet_len(index).ok(),
        }
    }

    /// Writes datagram `index` into `buf` (at least [`len`](Self::len) bytes); returns its
    /// length. Any context.
    pub(crate) fn write(&self, index: u16, buf: &mut [u8]) -> Option<usize> {
        match &self.built {
            Some(b) => {
                let len = usize::from(*b.lens.get(usize::from(index))?);
                let start = usize::from(index).checked_mul(b.stride)?;
                let src = b.bytes.get(start..start.checked_add(len)?)?;
                buf.get_mut(..len)?.copy_from_slice(src);
                Some(len)
            }
            None => self.plan.write_packet(index, buf).ok(),
        }
    }
}

/// Builds every datagram of version-2 `plan`, unsealed, into `bytes` (one per
/// `plan.max_packet_size()` bytes) with its length in `lens`: the data packets, then their
/// parity (computed into `parity` from the packets written) as parity packets. `None` if the
/// memory set aside is too small (which the load-time sizing rules out) or a packet cannot be
/// written. Each step runs out of line, one after the other: their frames do not add up on
/// the crash path's stack.
pub(crate) fn build(
    plan: &wire::Packetizer<'_>,
    parity: &mut [u8],
    bytes: &mut [u8],
    lens: &mut [u16],
) -> Option<()> {
    let stride = plan.max_packet_size();
    let total = usize::from(plan.packet_count()).checked_add(usize::from(plan.parity_count()))?;
    let lens = lens.get_mut(..total)?;
    write_data(plan, bytes, lens, stride)?;
    let used = parity_of(plan, bytes, stride, parity)?;
    write_parity(plan, parity.get(..used)?, bytes, lens, stride)
}

impl<'a> Built<'a> {
    /// The datagrams [`build`] (and perhaps [`seal_all`]) left in `bytes` and `lens`.
    pub(crate) fn new(plan: &wire::Packetizer<'_>, bytes: &'a [u8], lens: &'a [u16]) -> Self {
        let total = usize::from(plan.packet_count()) + usize::from(plan.parity_count());
        Built {
            bytes,
            lens: lens.get(..total).unwrap_or_default(),
            stride: plan.max_packet_size(),
        }
    }
}

/// The parity of the data packets written into `bytes`.
#[inline(never)]
fn parity_of(
    plan: &wire::Packetizer<'_>,
    bytes: &mut [u8],
    stride: usize,
    parity: &mut [u8],
) -> Option<usize> {
    plan.parity_from_slots(bytes, stride, parity).ok()
}

/// The data packets, unsealed, each into its slot.
#[inline(never)]
fn write_data(
    plan: &wire::Packetizer<'_>,
    bytes: &mut [u8],
    lens: &mut [u16],
    stride: usize,
) -> Option<()> {
    for i in 0..plan.packet_count() {
        let start = usize::from(i).checked_mul(stride)?;
        let slot = bytes.get_mut(start..start.checked_add(stride)?)?;
        let len = plan.write_packet(i, slot).ok()?;
        *lens.get_mut(usize::from(i))? = u16::try_from(len).ok()?;
    }
    Some(())
}

/// The parity packets, unsealed, each into its slot after the data packets'.
#[inline(never)]
fn write_parity(
    plan: &wire::Packetizer<'_>,
    parity: &[u8],
    bytes: &mut [u8],
    lens: &mut [u16],
    stride: usize,
) -> Option<()> {
    let m = usize::from(plan.parity_count());
    if m == 0 {
        return Some(());
    }
    let shard_len = parity.len() / m;
    let count = usize::from(plan.packet_count());
    for j in 0..m {
        let shard = parity.get(j.checked_mul(shard_len)?..(j + 1).checked_mul(shard_len)?)?;
        let start = (count + j).checked_mul(stride)?;
        let slot = bytes.get_mut(start..start.checked_add(stride)?)?;
        let len = plan
            .write_parity_packet(u16::try_from(j).ok()?, shard, slot)
            .ok()?;
        *lens.get_mut(count + j)? = u16::try_from(len).ok()?;
    }
    Some(())
}

/// Seals the `count` datagrams [`build`] wrote, in place.
#[inline(never)]
pub(crate) fn seal_all(
    sealer: &Sealer<'_>,
    scratch: &mut crate::seal::SealScratch,
    bytes: &mut [u8],
    lens: &mut [u16],
    count: usize,
    stride: usize,
) -> Option<()> {
    for (i, len) in lens.get_mut(..count)?.iter_mut().enumerate() {
        let start = i.checked_mul(stride)?;
        let slot = bytes.get_mut(start..start.checked_add(stride)?)?;
        *len = u16::try_from(sealer.seal(scratch, slot, usize::from(*len))?).ok()?;
    }
    Some(())
}
