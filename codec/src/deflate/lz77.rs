//! LZ77 match finding: hash chains over the last 32 KiB with a bounded chain depth, and
//! lazy evaluation (a match is only taken once the next position has no longer one), in
//! the manner of zlib's `deflate_slow`.
//!
//! The whole input is in memory, so positions are absolute: `head` holds, per hash of the
//! next 3 bytes, the last position (+ 1, 0 = none) that had it; `prev` holds, per position
//! modulo the window, the distance back to the previous position with the same hash (0 =
//! none or too far). A candidate is only ever used after its bytes were compared with the
//! input, so the tables affect the compression ratio, never the correctness.

use super::tables::{MAX_MATCH, MIN_MATCH};
use super::{DeflateError, Sink, WINDOW_SIZE};

/// Bits of the hash of 3 bytes.
const HASH_BITS: u32 = 15;
const HASH_SIZE: usize = 1 << HASH_BITS;

/// Candidates examined per position, at most.
const MAX_CHAIN: u32 = 128;
/// After a match at least this long, the lazy search examines a quarter of the chain.
const GOOD_LENGTH: usize = 8;
/// After a match at least this long, no lazy search is made.
const MAX_LAZY: usize = 32;
/// A match this long ends the search.
const NICE_LENGTH: usize = MAX_MATCH;
/// A 3-byte match farther than this is dropped: its distance's extra bits make it cost
/// about as much as three literals of text (5–6 bits each). zlib uses 4096 for any data;
/// 512 is about 1% better on kernel logs.
const TOO_FAR_3: usize = 512;
/// The same for a 4-byte match.
const TOO_FAR_4: usize = 16384;

/// The hash chains; all-zero is a valid value.
pub(super) struct Chains {
    head: [u32; HASH_SIZE],
    prev: [u16; WINDOW_SIZE],
}

impl Chains {
    pub(super) const ZERO: Chains = Chains {
        head: [0; HASH_SIZE],
        prev: [0; WINDOW_SIZE],
    };

    /// Forgets every position (`prev` needs no clearing: it is only read at positions
    /// that `head` or `prev` led to, and those were written in this run).
    pub(super) fn reset(&mut self) {
        self.head.fill(0);
    }

    /// Records position `pos` (which needs 3 bytes of input) and returns the previous
    /// position with the same hash, if it is within the window.
    #[inline]
    fn insert(&mut self, data: &[u8], pos: usize) -> Option<usize> {
        let slot = self.head.get_mut(hash(data, pos)?)?;
        let cand = (*slot as usize).checked_sub(1);
        *slot = (pos as u32).wrapping_add(1);
        let cand = cand.filter(|&c| c < pos && pos - c <= WINDOW_SIZE);
        if let Some(p) = self.prev.get_mut(pos & (WINDOW_SIZE - 1)) {
            *p = cand.map_or(0, |c| (pos - c) as u16);
        }
        cand
    }

    /// The longest match for `pos` longer than `floor`, searching from `cand` down the
    /// chain for at most `chain` candidates: `(length, distance)`, or `(0, 0)`. Not
    /// inlined, to keep the frame of `parse` (which is on the stack under the block
    /// writer) small.
    #[inline(never)]
    fn longest_match(
        &self,
        data: &[u8],
        pos: usize,
        mut cand: usize,
        floor: usize,
        mut chain: u32,
    ) -> (usize, usize) {
        let max_len = data.len().saturating_sub(pos).min(MAX_MATCH);
        let mut best_len = floor.max(MIN_MATCH - 1);
        if best_len >= max_len {
            return (0, 0);
        }
        let nice = NICE_LENGTH.min(max_len);
        let Some(cur) = data.get(pos..pos + max_len) else {
            return (0, 0);
        };
        let mut best_dist = 0;
        loop {
            let dist = pos.wrapping_sub(cand);
            if dist == 0 || dist > WINDOW_SIZE {
                break;
            }
            if let Some(c) = data.get(cand..cand + max_len) {
                // Cheap rejections first: the byte that would make the match longer than
                // the best so far, and the first byte (hash collisions).
                if c.get(best_len) == cur.get(best_len) && c.first() == cur.first() {
                    let len = common_prefix(c, cur);
                    if len > best_len {
                        best_len = len;
                        best_dist = dist;
                        if len >= nice {
                            break;
                        }
                    }
                }
            }
            chain = chain.saturating_sub(1);
            // A candidate a whole window back shares its `prev` slot with `pos`.
            if chain == 0 || dist >= WINDOW_SIZE {
                break;
            }
            let back = self
                .prev
                .get(cand & (WINDOW_SIZE - 1))
                .map_or(0, |&d| usize::from(d));
            match cand.checked_sub(back) {
                Some(c) if back != 0 => cand = c,
                _ => break,
            }
        }
        if best_dist == 0 {
            (0, 0)
        } else {
            (best_len, best_dist)
        }
    }
}

/// Hash of the 3 bytes at `pos`, or `None` when fewer remain.
#[inline]
fn hash(data: &[u8], pos: usize) -> Option<usize> {
    match *data.get(pos..pos.checked_add(MIN_MATCH)?)? {
        [a, b, c] => {
            let v = u32::from(a) | u32::from(b) << 8 | u32::from(c) << 16;
            Some((v.wrapping_mul(0x9E37_79B1) >> (32 - HASH_BITS)) as usize)
        }
        _ => None,
    }
}

/// Length of the common prefix of `a` and `b`, 8 bytes at a time.
#[inline]
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    // Index arithmetic rather than `chunks_exact().zip()`, whose out-of-line panic paths
    // objtool cannot follow in the kernel build.
    let mut n = 0;
    while let (Some(x), Some(y)) = (a.get(n..n + 8), b.get(n..n + 8)) {
        let (Ok(x), Ok(y)) = (<[u8; 8]>::try_from(x), <[u8; 8]>::try_from(y)) else {
            break;
        };
        let diff = u64::from_le_bytes(x) ^ u64::from_le_bytes(y);
        if diff != 0 {
            return n + (diff.trailing_zeros() / 8) as usize;
        }
        n += 8;
    }
    let tail = a.iter().zip(b).skip(n).take_while(|(x, y)| x == y).count();
    n + tail
}

/// Parses `input` into literals and matches, handing them to `sink` in order.
pub(super) fn parse(
    input: &[u8],
    chains: &mut Chains,
    sink: &mut Sink<'_, '_>,
) -> Result<(), DeflateError> {
    let n = input.len();
    let mut pos = 0;
    // Whether the literal or match found at `pos - 1` awaits the decision.
    let mut pending = false;
    let mut prev_len = 0;
    let mut prev_dist = 0;
    while pos < n {
        let cand = chains.insert(input, pos);
        let (mut len, mut dist) = (0, 0);
        if let Some(c) = cand {
            if !pending || prev_len < MAX_LAZY {
                let chain = if pending && prev_len >= GOOD_LENGTH {
                    MAX_CHAIN / 4
                } else {
                    MAX_CHAIN
                };
                let floor = if pending { prev_len } else { 0 };
                (len, dist) = chains.longest_match(input, pos, c, floor, chain);
                if (len == 3 && dist > TOO_FAR_3) || (len == 4 && dist > TOO_FAR_4) {
                    len = 0;
                }
            }
        }
        if pending && prev_len >= MIN_MATCH && len <= prev_len {
            // The match at pos - 1 stands: send it, index the positions it covers.
            let start = pos - 1;
            sink.matched(start, prev_len, prev_dist)?;
            let end = start + prev_len;
            for p in pos + 1..end {
                chains.insert(input, p);
            }
            pos = end;
            pending = false;
            prev_len = 0;
        } else {
            if pending {
                sink.literal(pos - 1)?;
            }
            pending = true;
            prev_len = len;
            prev_dist = dist;
            pos += 1;
        }
    }
    if pending {
        // Found at n - 1, where no match fits: a literal.
        sink.literal(n - 1)?;
    }
    Ok(())
}
