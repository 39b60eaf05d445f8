//! One compressed log piece of a version-2 dump (`PROTOCOL.md`, "Compressed log"): its
//! `LOG_ZCHUNK`s as received, and the log bytes they give.
//!
//! A piece is a raw DEFLATE stream of the piece's log bytes in reverse order. All of it
//! gives the whole piece; a prefix (the rest lost) gives the piece's newest bytes, which is
//! where a crash is. Inflating is bounded by the piece's length, so a hostile stream cannot
//! make the collector allocate more than one piece (64 KiB).

use std::collections::BTreeMap;

use miniz_oxide::inflate::core::inflate_flags::{
    TINFL_FLAG_HAS_MORE_INPUT, TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF,
};
use miniz_oxide::inflate::core::{decompress, DecompressorOxide};
use miniz_oxide::inflate::TINFLStatus;

/// The chunks of one compressed piece.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZPiece {
    /// Log offset of the piece's first byte.
    pub start: u32,
    /// Its uncompressed length.
    pub len: u32,
    /// Its compressed length.
    pub z_len: u32,
    /// Whether a chunk disagreed with the piece's length or compressed length.
    pub conflict: bool,
    chunks: BTreeMap<u32, Vec<u8>>,
}

impl ZPiece {
    /// An empty piece.
    pub fn new(start: u32, len: u32, z_len: u32) -> Self {
        ZPiece {
            start,
            len,
            z_len,
            conflict: false,
            chunks: BTreeMap::new(),
        }
    }

    /// Adds a chunk (already checked to lie within the piece and the log). A chunk that
    /// disagrees on the piece's lengths marks the piece as conflicting (never decoded).
    pub fn add(&mut self, len: u32, z_len: u32, z_offset: u32, data: &[u8]) {
        if len != self.len || z_len != self.z_len {
            self.conflict = true;
            return;
        }
        let held = self.chunks.entry(z_offset).or_default();
        if data.len() > held.len() {
            *held = data.to_vec();
        }
    }

    /// The compressed bytes held from offset 0 on without a gap.
    fn prefix(&self) -> Vec<u8> {
        let mut out: Vec<u8> = Vec::new();
        for (&off, data) in &self.chunks {
            let off = off as usize;
            if off > out.len() {
                break;
            }
            let skip = out.len() - off;
            if skip < data.len() {
                out.extend_from_slice(&data[skip..]);
            }
        }
        out
    }

    /// Whether every compressed byte is held.
    pub fn is_whole(&self) -> bool {
        self.prefix().len() as u64 >= u64::from(self.z_len)
    }

    /// The log bytes this piece gives: its offset in the log and the bytes (the piece's
    /// newest bytes when only a prefix is held), or `None` if it gives none. A whole piece
    /// must inflate to exactly its length, else it gives nothing.
    pub fn decoded(&self, log_len: u32) -> Option<(u32, Vec<u8>)> {
        let end = self.start.checked_add(self.len)?;
        if self.conflict || end > log_len {
            return None;
        }
        let mut z = self.prefix();
        let whole = z.len() as u64 >= u64::from(self.z_len);
        z.truncate(self.z_len as usize);
        let mut bytes = vec![0u8; self.len as usize];
        let mut flags = TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
        if !whole {
            flags |= TINFL_FLAG_HAS_MORE_INPUT;
        }
        let mut state = Box::<DecompressorOxide>::default();
        let (status, used, written) = decompress(&mut state, &z, &mut bytes, 0, flags);
        let ok = match status {
            // The whole stream, exactly the piece, nothing after it.
            TINFLStatus::Done => whole && written == bytes.len() && used == z.len(),
            // A prefix: what inflated before the data ran out.
            TINFLStatus::NeedsMoreInput => !whole,
            _ => false,
        };
        if !ok || written == 0 {
            return None;
        }
        bytes.truncate(written);
        bytes.reverse();
        Some((end - bytes.len() as u32, bytes))
    }
}
