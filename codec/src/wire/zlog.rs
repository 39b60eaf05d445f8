//! Version 2's compressed log: the log cut into pieces from its newest end, each compressed
//! on its own, carried in `LOG_ZCHUNK` records.
//!
//! * Piece `p` (`p = 0` the newest) holds log bytes
//!   `[max(0, L − (p+1)·PIECE_LEN), L − p·PIECE_LEN)` of a log of `L` bytes: every piece is
//!   [`PIECE_LEN`] bytes long except the oldest, which may be shorter.
//! * A piece's compressed bytes are a raw DEFLATE stream (RFC 1951) of the piece's bytes **in
//!   reverse order** (newest byte first). A receiver holding only a prefix of the compressed
//!   bytes (a dump cut short, a lost packet that parity could not rebuild) inflates that
//!   prefix into the piece's newest bytes: where the crash is.
//! * The compressed pieces are concatenated newest piece first: the packetizer sends them in
//!   that order, after the facts.
//!
//! A `LOG_ZCHUNK` value (16 bytes, then the data):
//!
//! ```text
//! off len field
//!   0   4 piece start: log offset of the piece's first (oldest) byte
//!   4   4 piece length: its uncompressed bytes (1 ..= PIECE_LEN)
//!   8   4 compressed length of the piece (>= 1)
//!  12   4 offset of the data in the piece's compressed bytes
//!  16   …  compressed bytes (>= 1)
//! ```

use super::bytes::Writer;
use super::encode::EncodeError;
use super::{rt, MAX_PIECES, PIECE_LEN};

/// One compressed piece of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Piece {
    /// Log offset of the piece's first (oldest) byte.
    pub log_start: u32,
    /// Uncompressed length.
    pub log_len: u32,
    /// Compressed length.
    pub z_len: u32,
}

/// A log compressed in pieces: the pieces newest first and their compressed bytes,
/// concatenated in the same order.
#[derive(Debug, Clone, Copy)]
pub struct CompressedLog<'a> {
    /// The pieces, newest first.
    pub pieces: &'a [Piece],
    /// Their compressed bytes, concatenated newest piece first.
    pub z: &'a [u8],
}

/// The log range of piece `p` of a log of `log_len` bytes (newest first), or `None` past the
/// oldest piece.
pub fn piece_range(log_len: usize, p: usize) -> Option<(usize, usize)> {
    let end = log_len.checked_sub(p.checked_mul(PIECE_LEN)?)?;
    if end == 0 {
        return None;
    }
    Some((end.saturating_sub(PIECE_LEN), end))
}

/// Number of pieces of a log of `log_len` bytes.
pub fn piece_count(log_len: usize) -> usize {
    log_len.div_ceil(PIECE_LEN)
}

/// Compresses `log` into pieces: each piece's bytes are reversed in place, given to
/// `compress(input, out)` (which returns the compressed length, or `None` if `out` is too
/// small), then restored. Writes the pieces into `pieces` and the compressed bytes into `z`;
/// returns the number of pieces and of compressed bytes. `log` is unchanged afterwards, even
/// on an error.
pub fn compress_log(
    log: &mut [u8],
    z: &mut [u8],
    pieces: &mut [Piece; MAX_PIECES],
    mut compress: impl FnMut(&[u8], &mut [u8]) -> Option<usize>,
) -> Result<(usize, usize), EncodeError> {
    let n = piece_count(log.len());
    if n > MAX_PIECES || u32::try_from(log.len()).is_err() {
        return Err(EncodeError::LogTooLong { len: log.len() });
    }
    let mut used = 0usize;
    for (p, slot) in pieces.iter_mut().enumerate().take(n) {
        let (start, end) = piece_range(log.len(), p).ok_or(EncodeError::Internal)?;
        let bytes = log.get_mut(start..end).ok_or(EncodeError::Internal)?;
        bytes.reverse();
        let out = z.get_mut(used..).unwrap_or_default();
        let got = compress(bytes, out);
        bytes.reverse();
        let z_len =
            got.filter(|&l| l > 0 && l <= out.len())
                .ok_or(EncodeError::BufferTooSmall {
                    need: used.saturating_add(1),
                    have: z.len(),
                })?;
        *slot = Piece {
            log_start: start as u32,
            log_len: end.saturating_sub(start) as u32,
            z_len: u32::try_from(z_len).map_err(|_| EncodeError::Internal)?,
        };
        used = used.saturating_add(z_len);
    }
    Ok((n, used))
}

impl CompressedLog<'_> {
    /// Checks that the pieces are those of a log of `log_len` bytes (newest first, as
    /// [`piece_range`] cuts it) and that their compressed lengths add up to `z`.
    pub(super) fn validate(&self, log_len: usize) -> Result<(), EncodeError> {
        if self.pieces.len() != piece_count(log_len) || self.pieces.len() > MAX_PIECES {
            return Err(EncodeError::BadCompressedLog);
        }
        let mut total = 0usize;
        for (p, piece) in self.pieces.iter().enumerate() {
            let (start, end) = piece_range(log_len, p).ok_or(EncodeError::BadCompressedLog)?;
            if piece.log_start as usize != start
                || piece.log_len as usize != end.saturating_sub(start)
                || piece.z_len == 0
            {
                return Err(EncodeError::BadCompressedLog);
            }
            total = total.saturating_add(piece.z_len as usize);
        }
        if total != self.z.len() {
            return Err(EncodeError::BadCompressedLog);
        }
        Ok(())
    }

    /// Writes the `LOG_ZCHUNK` record of `n` compressed bytes at offset `off` of piece `p`.
    pub(super) fn write_zchunk(
        &self,
        w: &mut Writer<'_>,
        p: usize,
        off: usize,
        n: usize,
    ) -> Option<()> {
        let piece = self.pieces.get(p)?;
        let mut base = 0usize;
        for q in self.pieces.iter().take(p) {
            base = base.checked_add(q.z_len as usize)?;
        }
        let start = base.checked_add(off)?;
        let data = self.z.get(start..start.checked_add(n)?)?;
        w.u16(rt::LOG_ZCHUNK)?;
        w.u16(u16::try_from(n.checked_add(16)?).ok()?)?;
        w.u32(piece.log_start)?;
        w.u32(piece.log_len)?;
        w.u32(piece.z_len)?;
        w.u32(u32::try_from(off).ok()?)?;
        w.put(data)
    }
}
