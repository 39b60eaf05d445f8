//! A reference sender for the host (feature `std`): the whole version-2 pipeline in the
//! order `PROTOCOL.md` fixes — compress → packetize → parity (FEC) → seal — producing the
//! datagrams in send order. The kernel module runs the same steps in memory set aside at
//! load time; this version allocates, for tests, golden vectors and benchmarks.

extern crate std;

use std::boxed::Box;
use std::vec;
use std::vec::Vec;

use crate::deflate;
use crate::wire::{
    compress_log, seal_packet, CompressedLog, Dump, EncodeError, Packetizer, Piece, SealingKey,
    MAX_PIECES, SEAL_OVERHEAD, V2,
};

/// How a version-2 dump is sent.
#[derive(Debug, Clone)]
pub struct Options {
    /// Maximum packet (UDP payload) size.
    pub max_packet: usize,
    /// Parity packets per 100 protected data packets (rounded up).
    pub parity_percent: u32,
    /// Seal with this key, numbering packets from this counter.
    pub seal: Option<(SealingKey, u64)>,
}

/// The compressed form of `log`: its pieces and their bytes.
pub fn compress(log: &[u8]) -> Result<(Vec<Piece>, Vec<u8>), EncodeError> {
    let mut ws = Box::new(deflate::Workspace::ZERO);
    let mut copy = log.to_vec();
    let pieces_needed = crate::wire::piece_count(log.len()).max(1);
    let mut z = vec![0u8; deflate::max_compressed_len(crate::wire::PIECE_LEN) * pieces_needed];
    let mut pieces = [Piece::default(); MAX_PIECES];
    let (n, used) = compress_log(&mut copy, &mut z, &mut pieces, |input, out| {
        deflate::compress(input, out, &mut ws).ok()
    })?;
    z.truncate(used);
    Ok((pieces[..n].to_vec(), z))
}

/// The datagrams of `dump` in version 2, in send order: data packets by index (facts, then
/// the log newest piece first), then parity packets; each sealed if `opts.seal` is set.
pub fn encode_v2(dump: &Dump<'_>, opts: &Options) -> Result<Vec<Vec<u8>>, EncodeError> {
    let (pieces, z) = compress(dump.log)?;
    let v2 = V2 {
        log: CompressedLog {
            pieces: &pieces,
            z: &z,
        },
        sealed: opts.seal.is_some(),
        parity_percent: opts.parity_percent,
    };
    let plan = Packetizer::new_v2(dump, v2, opts.max_packet)?;
    let mut out = Vec::new();
    let room = plan.max_packet_size() + SEAL_OVERHEAD;
    for i in 0..plan.packet_count() {
        let mut buf = vec![0u8; room];
        let n = plan.write_packet(i, &mut buf)?;
        buf.truncate(n);
        out.push(buf);
    }
    let shard_len = plan.shard_len()?;
    let mut parity = vec![0u8; shard_len * usize::from(plan.parity_count())];
    let mut tmp = vec![0u8; room];
    plan.compute_parity(&mut tmp, &mut parity)?;
    for (j, shard) in parity.chunks_exact(shard_len.max(1)).enumerate() {
        let mut buf = vec![0u8; room];
        let n = plan.write_parity_packet(j as u16, shard, &mut buf)?;
        buf.truncate(n);
        out.push(buf);
    }
    if let Some((key, first)) = &opts.seal {
        for (c, packet) in out.iter_mut().enumerate() {
            let len = packet.len();
            packet.resize(len + SEAL_OVERHEAD, 0);
            seal_packet(packet, len, key, first + c as u64).map_err(|_| EncodeError::Internal)?;
        }
    }
    Ok(out)
}
