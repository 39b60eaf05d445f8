//! Raw DEFLATE (RFC 1951) compressor: one complete stream, no zlib or gzip wrapper, for
//! compressing the kernel log in the dump path.
//!
//! # Construction
//!
//! * LZ77 over a 32 KiB window ([`WINDOW_SIZE`]): hash chains on 3-byte prefixes with at
//!   most 128 candidates per position, and lazy matching in the manner of zlib's
//!   `deflate_slow` (a match is taken only if the next position has no longer one; no lazy
//!   search after a match of 32 or more; a quarter of the chain after one of 8 or more; the
//!   search stops at 258). A 3-byte match farther than 512 bytes back, or a 4-byte one
//!   farther than 16 KiB, is dropped: on text it costs more than its literals.
//! * The symbols are buffered, at most [`BLOCK_SYMBOLS`] per block and 65535 input bytes
//!   per block. Each block is then sent as whichever of a dynamic Huffman, the fixed
//!   Huffman and a stored block takes the fewest bits, all three counted exactly before
//!   anything is written. Hence no block costs more than the stored one, and
//!   [`max_compressed_len`] bounds the whole output.
//! * Dynamic codes are length-limited canonical Huffman codes (15 bits, 7 for the code
//!   length code): optimal lengths by the in-place algorithm of Moffat and Katajainen,
//!   then the Kraft-sum repair of zlib/miniz when a code is too long.
//! * Everything is deterministic: the same input always gives the same bytes, whatever
//!   the workspace held before (retransmissions must be byte-identical).
//!
//! # Limits
//!
//! * Input: at most [`MAX_INPUT_LEN`] (1 GiB) bytes.
//! * Output: [`compress`] succeeds whenever `out.len() >= max_compressed_len(input.len())`
//!   (`n + 6 · (n / 16384 + 1)`), and may succeed with less; when the stream does not fit
//!   it returns [`DeflateError::OutputTooSmall`] and `out` holds garbage (nothing past its
//!   end is written).
//! * Memory: every table lives in the caller's [`Workspace`]:
//!   `size_of::<Workspace>()` = 250,552 bytes (245 KiB) on 64-bit targets (hash heads
//!   128 KiB, chain links 64 KiB, symbol buffer 48 KiB, the rest 5 KiB). No allocation.
//! * Stack: the functions keep small frames and never recurse; the deepest path
//!   (`compress` → LZ77 parse → block writer → Huffman lengths) takes about 600–700 bytes
//!   on x86-64 at opt-level 2, 3 or s (LLVM's `-Z emit-stack-sizes`, return addresses
//!   included), inside the crash path's 1 KiB budget. Every step of the block writer is a
//!   separate `#[inline(never)]` function so that their frames do not add up.
//! * Time: linear in the input with a bounded chain; on kernel logs about the speed of
//!   zlib -6 (30–40 MB/s on the development machine), on adversarial input (random text
//!   over 2–4 letters: long chains of short matches) down to 4–10 MB/s, like zlib -6.
//!
//! # Ratio
//!
//! Kernel console logs (the 373 syzkaller reports of `shared/corpus/syzkaller-linux`,
//! headers stripped: 1.87 MB of log), concatenated and compressed in independent windows,
//! uncompressed / compressed:
//!
//! | window  | this  | zlib -1 | zlib -6 | zlib -9 |
//! |---------|-------|---------|---------|---------|
//! | 32 KiB  | 3.647 | 3.081   | 3.607   | 3.642   |
//! | 64 KiB  | 3.842 | 3.169   | 3.798   | 3.843   |
//!
//! That is about zlib -9's ratio at zlib -6's speed. Printed by
//! `cargo test --release -p netoops-codec --test deflate -- --ignored deflate_ratio
//! --nocapture` (zlib through python3's `zlib.compressobj(level, DEFLATED, -15)`), which
//! also prints the throughput.
//!
//! # Use
//!
//! ```
//! use netoops_codec::deflate::{compress, max_compressed_len, Workspace};
//! # extern crate std;
//! let mut ws = std::boxed::Box::new(Workspace::ZERO);
//! let input = b"[   42.123456] foo: bar\n[   42.123457] foo: baz\n";
//! let mut out = [0u8; 128];
//! assert!(out.len() >= max_compressed_len(input.len()));
//! let n = compress(input, &mut out, &mut ws).unwrap();
//! assert!(n < input.len());
//! ```
//!
//! Like `wire/` and `fec/`, this directory is `core` only: no allocation, no `unsafe`, no
//! floats, no inner attributes, only relative paths, and no operation that panics on any
//! input, so the kernel module can include it by `#[path]`.

mod bits;
mod block;
mod huffman;
mod lz77;
mod tables;

use self::bits::BitWriter;
use self::block::{write_block, Codes, Symbols, MAX_STORED};
use self::tables::MAX_MATCH;

/// The LZ77 window: matches reach at most this far back.
pub const WINDOW_SIZE: usize = 32768;

/// Most symbols (literals and matches) in one block.
pub const BLOCK_SYMBOLS: usize = 16384;

/// Longest input accepted by [`compress`].
pub const MAX_INPUT_LEN: usize = 1 << 30;

// A block is ended when its symbol buffer is full or when one more match could take it
// past a stored block's 65535 bytes, so every block but the last covers at least
// `BLOCK_SYMBOLS` input bytes; `max_compressed_len` relies on it.
const _: () = assert!(BLOCK_SYMBOLS <= MAX_STORED - MAX_MATCH);

/// Why [`compress`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeflateError {
    /// The compressed stream does not fit the output buffer (see [`max_compressed_len`]).
    OutputTooSmall,
    /// The input is longer than [`MAX_INPUT_LEN`]; nothing was written.
    InputTooLong,
}

/// Every table of the compressor: hash chains, the block's symbol buffer and frequencies,
/// Huffman code lengths, codes and construction scratch.
///
/// It is a plain struct of integer arrays, and **all-zero bytes is a valid value** (it is
/// [`Workspace::ZERO`]): the kernel allocates it zeroed (vzalloc/kvzalloc) and never builds
/// it on the stack. [`compress`] resets what it reads, so a workspace can be reused for
/// any number of calls (not concurrently) and the output does not depend on its history.
/// Host code can use `Box::new(Workspace::ZERO)`.
pub struct Workspace {
    chains: lz77::Chains,
    symbols: Symbols,
    codes: Codes,
}

impl Workspace {
    /// The all-zero workspace.
    pub const ZERO: Workspace = Workspace {
        chains: lz77::Chains::ZERO,
        symbols: Symbols::ZERO,
        codes: Codes::ZERO,
    };
}

impl core::fmt::Debug for Workspace {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Workspace").finish_non_exhaustive()
    }
}

/// An upper bound of the compressed size of `input_len` bytes: `n + 6 · (n / 16384 + 1)`
/// (each block costs at most as much as a stored block, 5 bytes of header and padding
/// plus its bytes, and every block but the last covers at least [`BLOCK_SYMBOLS`] bytes).
/// Saturates instead of overflowing.
pub const fn max_compressed_len(input_len: usize) -> usize {
    let blocks = input_len / BLOCK_SYMBOLS + 1;
    input_len.saturating_add(blocks.saturating_mul(6))
}

/// Compresses `input` into `out` as one complete raw DEFLATE stream (final block flagged
/// BFINAL) and returns its length.
///
/// Errors: [`DeflateError::InputTooLong`], [`DeflateError::OutputTooSmall`] (never when
/// `out.len() >= max_compressed_len(input.len())`).
#[inline(never)]
pub fn compress(input: &[u8], out: &mut [u8], ws: &mut Workspace) -> Result<usize, DeflateError> {
    if input.len() > MAX_INPUT_LEN {
        return Err(DeflateError::InputTooLong);
    }
    ws.chains.reset();
    ws.symbols.reset();
    let mut sink = Sink {
        input,
        symbols: &mut ws.symbols,
        codes: &mut ws.codes,
        w: BitWriter::new(out),
        start: 0,
    };
    lz77::parse(input, &mut ws.chains, &mut sink)?;
    sink.flush(input.len(), true)?;
    sink.w.finish().ok_or(DeflateError::OutputTooSmall)
}

/// Where the match finder's literals and matches go: the block being built, written out
/// whenever it is full.
struct Sink<'a, 'o> {
    input: &'a [u8],
    symbols: &'a mut Symbols,
    codes: &'a mut Codes,
    w: BitWriter<'o>,
    /// The first input byte of the current block.
    start: usize,
}

impl Sink<'_, '_> {
    /// The literal `input[pos]`.
    fn literal(&mut self, pos: usize) -> Result<(), DeflateError> {
        self.make_room(pos, 1)?;
        let byte = self.input.get(pos).copied().unwrap_or(0);
        self.symbols.literal(byte);
        Ok(())
    }

    /// A match at `pos`: `len` bytes from `dist` back. (Should the match finder ever hand
    /// over a match that DEFLATE cannot code, its bytes go as literals instead.)
    fn matched(&mut self, pos: usize, len: usize, dist: usize) -> Result<(), DeflateError> {
        self.make_room(pos, len)?;
        if !self.symbols.matched(len, dist) {
            for p in pos..pos.saturating_add(len) {
                self.literal(p)?;
            }
        }
        Ok(())
    }

    /// Ends the current block at `pos` if a symbol covering `len` more bytes does not fit.
    fn make_room(&mut self, pos: usize, len: usize) -> Result<(), DeflateError> {
        let span = pos.saturating_sub(self.start).saturating_add(len);
        if self.symbols.is_full() || span > MAX_STORED {
            self.flush(pos, false)?;
        }
        Ok(())
    }

    /// Writes the current block, covering `input[start..end]`.
    fn flush(&mut self, end: usize, last: bool) -> Result<(), DeflateError> {
        let data = self.input.get(self.start..end).unwrap_or(&[]);
        write_block(self.symbols, data, self.codes, &mut self.w, last);
        self.symbols.reset();
        self.start = end;
        if self.w.overflowed() {
            Err(DeflateError::OutputTooSmall)
        } else {
            Ok(())
        }
    }
}
