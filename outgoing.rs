// SPDX-License-Identifier: GPL-2.0

//! A dump's datagrams as every target sends them: the data packets of its plan, then
//! (version 2) its parity packets, each sealed when a key is installed.
//!
//! The plan and the parity are computed once per dump, in memory set aside at load time; each
//! target writes datagram after datagram into its own skbs, in send order:
//!
//! - version 1: the fact packets, then the log packets from the newest (the newest log goes
//!   out first, `PROTOCOL.md` "Send order");
//! - version 2: data packets in index order (facts, then the newest compressed piece first),
//!   then the parity packets.

use crate::seal_key::Sealer;
use crate::wire;

/// The datagrams of one dump.
pub(crate) struct Outgoing<'a> {
    plan: &'a wire::Packetizer<'a>,
    /// The parity shards, one after the other (version 2; empty without parity).
    parity: &'a [u8],
    /// Bytes of one parity shard.
    shard_len: usize,
    sealer: Option<Sealer<'a>>,
}

impl<'a> Outgoing<'a> {
    /// The datagrams of `plan`, with its parity shards `parity` (`shard_len` bytes each) and
    /// sealed by `sealer` if given (a version-2 plan made for sealed packets).
    pub(crate) fn new(
        plan: &'a wire::Packetizer<'a>,
        parity: &'a [u8],
        shard_len: usize,
        sealer: Option<Sealer<'a>>,
    ) -> Self {
        Outgoing {
            plan,
            parity,
            shard_len,
            sealer,
        }
    }

    /// The packet plan.
    pub(crate) fn plan(&self) -> &'a wire::Packetizer<'a> {
        self.plan
    }

    /// Datagrams of one copy: data and parity packets.
    pub(crate) fn count(&self) -> u16 {
        self.plan
            .packet_count()
            .saturating_add(self.plan.parity_count())
    }

    /// The largest datagram: the plan's packet size, which sealing and parity stay within.
    pub(crate) fn max_len(&self) -> usize {
        self.plan.max_packet_size()
    }

    /// The index of the datagram sent `i`-th in a copy.
    pub(crate) fn index_at(&self, i: u16) -> u16 {
        if self.plan.version() != wire::VERSION {
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
        let count = self.plan.packet_count();
        let plain = if index < count {
            self.plan.packet_len(index).ok()?
        } else {
            wire::HEADER_LEN.checked_add(self.shard_len)?
        };
        match self.sealer {
            Some(_) => plain.checked_add(wire::SEAL_OVERHEAD),
            None => Some(plain),
        }
    }

    /// Writes datagram `index` into `buf` (at least [`len`](Self::len) bytes), sealed if a
    /// key is installed; returns its length. Any context.
    pub(crate) fn write(&self, index: u16, buf: &mut [u8]) -> Option<usize> {
        let count = self.plan.packet_count();
        let len = if index < count {
            self.plan.write_packet(index, buf).ok()?
        } else {
            let j = index - count;
            let start = usize::from(j).checked_mul(self.shard_len)?;
            let shard = self.parity.get(start..start.checked_add(self.shard_len)?)?;
            self.plan.write_parity_packet(j, shard, buf).ok()?
        };
        match &self.sealer {
            Some(s) => s.seal(buf, len),
            None => Some(len),
        }
    }
}
