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

/// Builds every datagram of version-2 `plan` into `bytes` (one per `plan.max_packet_size()`
/// bytes) with its length in `lens`: the data packets, then the parity packets made of
/// `parity` (`shard_len` bytes each), each sealed by `sealer` if given. `None` if the memory
/// set aside is too small (which the load-time sizing rules out) or a packet cannot be
/// written.
pub(crate) fn build<'a>(
    plan: &wire::Packetizer<'_>,
    parity: &[u8],
    shard_len: usize,
    sealer: Option<&Sealer<'_>>,
    bytes: &'a mut [u8],
    lens: &'a mut [u16],
) -> Option<Built<'a>> {
    let stride = plan.max_packet_size();
    let count = usize::from(plan.packet_count());
    let total = count.checked_add(usize::from(plan.parity_count()))?;
    let lens = lens.get_mut(..total)?;
    for (i, len) in lens.iter_mut().enumerate() {
        let start = i.checked_mul(stride)?;
        let slot = bytes.get_mut(start..start.checked_add(stride)?)?;
        let index = u16::try_from(i).ok()?;
        let plain = if i < count {
            plan.write_packet(index, slot).ok()?
        } else {
            let j = i - count;
            let from = j.checked_mul(shard_len)?;
            let shard = parity.get(from..from.checked_add(shard_len)?)?;
            plan.write_parity_packet(u16::try_from(j).ok()?, shard, slot)
                .ok()?
        };
        let wire_len = match sealer {
            Some(s) => s.seal(slot, plain)?,
            None => plain,
        };
        *len = u16::try_from(wire_len).ok()?;
    }
    Some(Built {
        bytes,
        lens,
        stride,
    })
}
