//! The fixed alphabets of RFC 1951 (§3.2.5–3.2.7): length and distance codes with their
//! extra bits, the order of the code length code lengths, and the fixed Huffman code.
//!
//! Every table is computed at compile time; nothing here allocates or panics.

/// Number of literal/length symbols that may occur (0–285); the fixed code defines 288.
pub(super) const LITLEN_SYMBOLS: usize = 286;

/// Number of distance symbols that may occur (0–29).
pub(super) const DIST_SYMBOLS: usize = 30;

/// Number of code length symbols (0–18).
pub(super) const CODELEN_SYMBOLS: usize = 19;

/// The end-of-block symbol.
pub(super) const END_OF_BLOCK: usize = 256;

/// Smallest and largest match length.
pub(super) const MIN_MATCH: usize = 3;
/// Largest match length.
pub(super) const MAX_MATCH: usize = 258;

/// Base length of length code `257 + c`.
pub(super) const LEN_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];

/// Extra bits of length code `257 + c`.
pub(super) const LEN_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];

/// Base distance of distance code `c`.
pub(super) const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];

/// Extra bits of distance code `c`.
pub(super) const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];

/// The order in which the code length code lengths are sent.
pub(super) const CODELEN_ORDER: [u8; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

/// `LEN_CODE[len - 3]` = `c`, the length code `257 + c` of a match of length `len`
/// (3–258).
pub(super) static LEN_CODE: [u8; 256] = build_len_code();

/// Distance code lookup: `DIST_CODE[d - 1]` for `d ≤ 256`, else
/// `DIST_CODE[256 + ((d - 1) >> 7)]` (every code above 15 spans whole 128-blocks); see
/// [`dist_code`].
static DIST_CODE: [u8; 512] = build_dist_code();

/// Code lengths of the fixed literal/length code.
pub(super) static FIXED_LITLEN_LEN: [u8; 288] = build_fixed_litlen_len();

/// The fixed literal/length code, bit-reversed (ready to be sent LSB first).
pub(super) static FIXED_LITLEN_CODE: [u16; 288] = build_codes(&build_fixed_litlen_len());

/// Code lengths of the fixed distance code: all 5.
pub(super) static FIXED_DIST_LEN: [u8; 30] = [5; 30];

/// The fixed distance code, bit-reversed.
pub(super) static FIXED_DIST_CODE: [u16; 30] = build_codes(&[5; 30]);

/// The distance code (0–29) of distance `d` (1–32768); 0 for an out-of-range `d`.
#[inline]
pub(super) fn dist_code(d: u16) -> usize {
    let d1 = usize::from(d.wrapping_sub(1));
    let i = if d1 < 256 {
        d1
    } else {
        256 + ((d1 >> 7) & 255)
    };
    DIST_CODE.get(i).map_or(0, |&c| usize::from(c))
}

/// The length code index `c` (0–28, symbol `257 + c`) of match length `len` (3–258).
#[inline]
pub(super) fn len_code(len_minus_3: u8) -> usize {
    LEN_CODE
        .get(usize::from(len_minus_3))
        .map_or(0, |&c| usize::from(c))
}

const fn build_len_code() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 29 {
        let base = LEN_BASE[c] as usize;
        let span = 1usize << LEN_EXTRA[c];
        let mut v = base;
        // Code 284 would reach 258 with 31 extra; 258 is code 285's (set last).
        while v < base + span && v <= MAX_MATCH {
            t[v - MIN_MATCH] = c as u8;
            v += 1;
        }
        c += 1;
    }
    t
}

const fn build_dist_code() -> [u8; 512] {
    let mut t = [0u8; 512];
    let mut c = 0;
    while c < 30 {
        let base = DIST_BASE[c] as usize - 1;
        let span = 1usize << DIST_EXTRA[c];
        let mut d1 = base;
        while d1 < base + span {
            if d1 < 256 {
                t[d1] = c as u8;
            } else {
                t[256 + (d1 >> 7)] = c as u8;
            }
            d1 += 1;
        }
        c += 1;
    }
    t
}

const fn build_fixed_litlen_len() -> [u8; 288] {
    let mut t = [0u8; 288];
    let mut s = 0;
    while s < 288 {
        t[s] = if s < 144 {
            8
        } else if s < 256 {
            9
        } else if s < 280 {
            7
        } else {
            8
        };
        s += 1;
    }
    t
}

/// Canonical codes (RFC 1951 §3.2.2) of the lengths `lens`, bit-reversed; compile time
/// only (the run-time version is `huffman::assign_codes`).
const fn build_codes<const N: usize>(lens: &[u8; N]) -> [u16; N] {
    let mut count = [0u16; 16];
    let mut s = 0;
    while s < N {
        count[lens[s] as usize] += 1;
        s += 1;
    }
    count[0] = 0;
    let mut next = [0u16; 16];
    let mut code = 0u16;
    let mut bits = 1;
    while bits < 16 {
        code = (code + count[bits - 1]) << 1;
        next[bits] = code;
        bits += 1;
    }
    let mut t = [0u16; N];
    s = 0;
    while s < N {
        let l = lens[s] as usize;
        if l != 0 {
            t[s] = next[l].reverse_bits() >> (16 - l);
            next[l] += 1;
        }
        s += 1;
    }
    t
}
