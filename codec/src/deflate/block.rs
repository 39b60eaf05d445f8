//! One DEFLATE block: the symbol buffer of the match finder, and the writer that sends it
//! as whichever of a dynamic Huffman, fixed Huffman or stored block (RFC 1951 §3.2.3–3.2.7)
//! takes the fewest bits, counted exactly before anything is written.

use super::bits::BitWriter;
use super::huffman::{self, Scratch};
use super::tables::{
    dist_code, len_code, CODELEN_ORDER, CODELEN_SYMBOLS, DIST_BASE, DIST_EXTRA, DIST_SYMBOLS,
    END_OF_BLOCK, FIXED_DIST_CODE, FIXED_DIST_LEN, FIXED_LITLEN_CODE, FIXED_LITLEN_LEN, LEN_BASE,
    LEN_EXTRA, LITLEN_SYMBOLS, MIN_MATCH,
};
use super::BLOCK_SYMBOLS;

/// Largest stored block (its LEN field is 16 bits).
pub(super) const MAX_STORED: usize = 65535;

/// The symbols of the block being built and their frequencies; all-zero is a valid value
/// (an empty buffer, once [`reset`](Self::reset)).
pub(super) struct Symbols {
    /// Distance of each symbol, 0 for a literal.
    dist: [u16; BLOCK_SYMBOLS],
    /// The literal byte, or the match length − 3.
    lit: [u8; BLOCK_SYMBOLS],
    count: usize,
    litlen_freq: [u32; LITLEN_SYMBOLS],
    dist_freq: [u32; DIST_SYMBOLS],
}

impl Symbols {
    pub(super) const ZERO: Symbols = Symbols {
        dist: [0; BLOCK_SYMBOLS],
        lit: [0; BLOCK_SYMBOLS],
        count: 0,
        litlen_freq: [0; LITLEN_SYMBOLS],
        dist_freq: [0; DIST_SYMBOLS],
    };

    /// Empties the buffer (the end-of-block symbol is counted from the start).
    pub(super) fn reset(&mut self) {
        self.count = 0;
        self.litlen_freq.fill(0);
        self.dist_freq.fill(0);
        if let Some(f) = self.litlen_freq.get_mut(END_OF_BLOCK) {
            *f = 1;
        }
    }

    /// Whether no further symbol fits.
    pub(super) fn is_full(&self) -> bool {
        self.count >= BLOCK_SYMBOLS
    }

    /// Appends a literal (ignored when full: the caller makes room first).
    pub(super) fn literal(&mut self, byte: u8) {
        self.push(0, byte);
        if let Some(f) = self.litlen_freq.get_mut(usize::from(byte)) {
            *f += 1;
        }
    }

    /// Appends a match of length `len` (3–258) at distance `dist` (1–32768). Returns
    /// `false`, appending nothing, when full or out of range.
    pub(super) fn matched(&mut self, len: usize, dist: usize) -> bool {
        let (Some(l), Ok(d)) = (len.checked_sub(MIN_MATCH), u16::try_from(dist)) else {
            return false;
        };
        let Ok(l) = u8::try_from(l) else {
            return false;
        };
        if d == 0 || dist > super::WINDOW_SIZE || self.is_full() {
            return false;
        }
        self.push(d, l);
        if let Some(f) = self.litlen_freq.get_mut(END_OF_BLOCK + 1 + len_code(l)) {
            *f += 1;
        }
        if let Some(f) = self.dist_freq.get_mut(dist_code(d)) {
            *f += 1;
        }
        true
    }

    fn push(&mut self, dist: u16, lit: u8) {
        if let (Some(d), Some(l)) = (self.dist.get_mut(self.count), self.lit.get_mut(self.count)) {
            *d = dist;
            *l = lit;
            self.count += 1;
        }
    }

    /// The buffered symbols as (distance, literal or length − 3) pairs.
    fn iter(&self) -> impl Iterator<Item = (u16, u8)> + '_ {
        self.dist
            .iter()
            .copied()
            .zip(self.lit.iter().copied())
            .take(self.count)
    }

    /// Bits of the extra fields of lengths and distances (the same in every Huffman code).
    #[inline(never)]
    fn extra_bits(&self) -> u64 {
        let mut bits = 0u64;
        let lens = self.litlen_freq.iter().skip(END_OF_BLOCK + 1);
        for (&f, &e) in lens.zip(LEN_EXTRA.iter()) {
            bits += u64::from(f) * u64::from(e);
        }
        for (&f, &e) in self.dist_freq.iter().zip(DIST_EXTRA.iter()) {
            bits += u64::from(f) * u64::from(e);
        }
        bits
    }

    /// Bits of the Huffman codes of the symbols (extra bits not included) under the code
    /// lengths `litlen_len`, `dist_len`.
    #[inline(never)]
    fn code_bits(&self, litlen_len: &[u8], dist_len: &[u8]) -> u64 {
        let mut bits = 0u64;
        for (&f, &l) in self.litlen_freq.iter().zip(litlen_len) {
            bits += u64::from(f) * u64::from(l);
        }
        for (&f, &l) in self.dist_freq.iter().zip(dist_len) {
            bits += u64::from(f) * u64::from(l);
        }
        bits
    }
}

/// Huffman tables of the block being written; all-zero is a valid value.
pub(super) struct Codes {
    litlen_len: [u8; LITLEN_SYMBOLS],
    litlen_code: [u16; LITLEN_SYMBOLS],
    dist_len: [u8; DIST_SYMBOLS],
    dist_code: [u16; DIST_SYMBOLS],
    codelen_freq: [u32; CODELEN_SYMBOLS],
    codelen_len: [u8; CODELEN_SYMBOLS],
    codelen_code: [u16; CODELEN_SYMBOLS],
    /// The run-length coded code lengths: symbol (0–18) and its extra-bits value.
    rle_sym: [u8; LITLEN_SYMBOLS + DIST_SYMBOLS],
    rle_extra: [u8; LITLEN_SYMBOLS + DIST_SYMBOLS],
    rle_count: usize,
    scratch: Scratch,
}

impl Codes {
    pub(super) const ZERO: Codes = Codes {
        litlen_len: [0; LITLEN_SYMBOLS],
        litlen_code: [0; LITLEN_SYMBOLS],
        dist_len: [0; DIST_SYMBOLS],
        dist_code: [0; DIST_SYMBOLS],
        codelen_freq: [0; CODELEN_SYMBOLS],
        codelen_len: [0; CODELEN_SYMBOLS],
        codelen_code: [0; CODELEN_SYMBOLS],
        rle_sym: [0; LITLEN_SYMBOLS + DIST_SYMBOLS],
        rle_extra: [0; LITLEN_SYMBOLS + DIST_SYMBOLS],
        rle_count: 0,
        scratch: Scratch::ZERO,
    };

    fn push_rle(&mut self, sym: u8, extra: u8) {
        if let (Some(s), Some(e)) = (
            self.rle_sym.get_mut(self.rle_count),
            self.rle_extra.get_mut(self.rle_count),
        ) {
            *s = sym;
            *e = extra;
            self.rle_count += 1;
            if let Some(f) = self.codelen_freq.get_mut(usize::from(sym)) {
                *f += 1;
            }
        }
    }

    /// The code length of entry `i` of the sequence literal/length lengths (`hlit`), then
    /// distance lengths.
    fn seq_len(&self, hlit: usize, i: usize) -> u8 {
        let l = if i < hlit {
            self.litlen_len.get(i)
        } else {
            self.dist_len.get(i - hlit)
        };
        l.copied().unwrap_or(0)
    }

    /// Run-length codes the `hlit + hdist` code lengths with symbols 16 (repeat the
    /// previous length 3–6 times), 17 (3–10 zeros) and 18 (11–138 zeros), counting the
    /// frequencies of the code length alphabet.
    fn run_length(&mut self, hlit: usize, hdist: usize) {
        self.rle_count = 0;
        self.codelen_freq.fill(0);
        let total = hlit + hdist;
        let mut i = 0;
        while i < total {
            let v = self.seq_len(hlit, i);
            let mut run = 1;
            while i + run < total && self.seq_len(hlit, i + run) == v {
                run += 1;
            }
            i += run;
            if v == 0 {
                while run >= 11 {
                    let r = run.min(138);
                    self.push_rle(18, (r - 11) as u8);
                    run -= r;
                }
                if run >= 3 {
                    self.push_rle(17, (run - 3) as u8);
                    run = 0;
                }
            } else {
                self.push_rle(v, 0);
                run -= 1;
                while run >= 3 {
                    let r = run.min(6);
                    self.push_rle(16, (r - 3) as u8);
                    run -= r;
                }
            }
            for _ in 0..run {
                self.push_rle(v, 0);
            }
        }
    }
}

/// Number of entries up to the last nonzero one, at least `min`.
fn used_len(lens: &[u8], min: usize) -> usize {
    lens.iter()
        .rposition(|&l| l != 0)
        .map_or(0, |p| p + 1)
        .max(min)
}

/// Extra bits of code length symbol `sym`.
fn codelen_extra_bits(sym: usize) -> u32 {
    match sym {
        16 => 2,
        17 => 3,
        18 => 7,
        _ => 0,
    }
}

#[inline]
fn code_of(codes: &[u16], lens: &[u8], s: usize) -> (u32, u32) {
    (
        codes.get(s).map_or(0, |&c| u32::from(c)),
        lens.get(s).map_or(0, |&l| u32::from(l)),
    )
}

/// The dynamic code of a block: table sizes and the block's total size in bits.
struct Dynamic {
    hlit: usize,
    hdist: usize,
    hclen: usize,
    bits: u64,
}

/// Builds the dynamic code of `syms` into `codes` (lengths and the run-length coded
/// header, not yet the codes) and counts its bits.
#[inline(never)]
fn plan_dynamic(syms: &Symbols, codes: &mut Codes, extra: u64) -> Dynamic {
    huffman::build_lengths(
        &syms.litlen_freq,
        &mut codes.litlen_len,
        15,
        &mut codes.scratch,
    );
    huffman::build_lengths(&syms.dist_freq, &mut codes.dist_len, 15, &mut codes.scratch);
    let hlit = used_len(&codes.litlen_len, 257);
    let hdist = used_len(&codes.dist_len, 1);
    codes.run_length(hlit, hdist);
    huffman::build_lengths(
        &codes.codelen_freq,
        &mut codes.codelen_len,
        7,
        &mut codes.scratch,
    );
    let hclen = CODELEN_ORDER
        .iter()
        .rposition(|&s| {
            codes
                .codelen_len
                .get(usize::from(s))
                .is_some_and(|&l| l != 0)
        })
        .map_or(0, |p| p + 1)
        .max(4);
    let mut header = 3 + 14 + 3 * hclen as u64;
    for (s, (&f, &l)) in codes
        .codelen_freq
        .iter()
        .zip(codes.codelen_len.iter())
        .enumerate()
    {
        header += u64::from(f) * u64::from(u32::from(l) + codelen_extra_bits(s));
    }
    let bits = header + syms.code_bits(&codes.litlen_len, &codes.dist_len) + extra;
    Dynamic {
        hlit,
        hdist,
        hclen,
        bits,
    }
}

/// Sends the header of a dynamic block (after BFINAL and BTYPE): the table sizes, the code
/// length code, the run-length coded code lengths.
#[inline(never)]
fn write_dynamic_header(w: &mut BitWriter<'_>, codes: &mut Codes, plan: &Dynamic) {
    huffman::assign_codes(&codes.litlen_len, &mut codes.litlen_code);
    huffman::assign_codes(&codes.dist_len, &mut codes.dist_code);
    huffman::assign_codes(&codes.codelen_len, &mut codes.codelen_code);
    w.put(plan.hlit.wrapping_sub(257) as u32, 5);
    w.put(plan.hdist.wrapping_sub(1) as u32, 5);
    w.put(plan.hclen.wrapping_sub(4) as u32, 4);
    for &s in CODELEN_ORDER.iter().take(plan.hclen) {
        let l = codes.codelen_len.get(usize::from(s)).copied().unwrap_or(0);
        w.put(u32::from(l), 3);
    }
    for (&s, &e) in codes
        .rle_sym
        .iter()
        .zip(codes.rle_extra.iter())
        .take(codes.rle_count)
    {
        let s = usize::from(s);
        let (code, len) = code_of(&codes.codelen_code, &codes.codelen_len, s);
        w.put(code, len);
        w.put(u32::from(e), codelen_extra_bits(s));
    }
}

/// Sends a stored block (after BFINAL and BTYPE): padding, LEN, NLEN, the bytes.
#[inline(never)]
fn write_stored(w: &mut BitWriter<'_>, data: &[u8]) {
    w.align();
    let len = data.len() as u16;
    w.put(u32::from(len), 16);
    w.put(u32::from(!len), 16);
    w.bytes(data);
}

/// Writes block `syms` (covering the input bytes `data`), `last` setting BFINAL, as the
/// cheapest of dynamic, fixed and stored. The block costs at most the stored one:
/// `3 + (0–7 padding) + 32 + 8 · data.len()` bits (when `data.len() ≤ 65535`).
///
/// The work is split in non-inlined steps called one after the other, so that the deepest
/// stack is this small frame plus one step's.
pub(super) fn write_block(
    syms: &Symbols,
    data: &[u8],
    codes: &mut Codes,
    w: &mut BitWriter<'_>,
    last: bool,
) {
    let extra = syms.extra_bits();
    let plan = plan_dynamic(syms, codes, extra);
    let fixed = 3 + syms.code_bits(&FIXED_LITLEN_LEN, &FIXED_DIST_LEN) + extra;
    let stored = if data.len() <= MAX_STORED {
        let pad = (8 - ((w.bit_offset() + 3) & 7)) & 7;
        3 + u64::from(pad) + 32 + 8 * data.len() as u64
    } else {
        u64::MAX
    };

    let bfinal = u32::from(last);
    if stored <= fixed && stored <= plan.bits {
        w.put(bfinal, 3); // BTYPE 00
        write_stored(w, data);
    } else if fixed <= plan.bits {
        w.put(bfinal | (1 << 1), 3); // BTYPE 01
        write_symbols(
            w,
            syms,
            &FIXED_LITLEN_CODE,
            &FIXED_LITLEN_LEN,
            &FIXED_DIST_CODE,
            &FIXED_DIST_LEN,
        );
    } else {
        w.put(bfinal | (2 << 1), 3); // BTYPE 10
        write_dynamic_header(w, codes, &plan);
        write_symbols(
            w,
            syms,
            &codes.litlen_code,
            &codes.litlen_len,
            &codes.dist_code,
            &codes.dist_len,
        );
    }
}

/// Sends the buffered symbols and the end of block under the given codes.
fn write_symbols(
    w: &mut BitWriter<'_>,
    syms: &Symbols,
    litlen_code: &[u16],
    litlen_len: &[u8],
    dist_codes: &[u16],
    dist_len: &[u8],
) {
    for (d, l) in syms.iter() {
        if d == 0 {
            let (code, len) = code_of(litlen_code, litlen_len, usize::from(l));
            w.put(code, len);
        } else {
            let c = len_code(l);
            let (code, len) = code_of(litlen_code, litlen_len, END_OF_BLOCK + 1 + c);
            let base = LEN_BASE.get(c).map_or(0, |&b| u32::from(b));
            let nextra = LEN_EXTRA.get(c).map_or(0, |&e| u32::from(e));
            let extra = (u32::from(l) + MIN_MATCH as u32).wrapping_sub(base);
            w.put(code | extra.wrapping_shl(len), len + nextra);

            let c = dist_code(d);
            let (code, len) = code_of(dist_codes, dist_len, c);
            let base = DIST_BASE.get(c).map_or(0, |&b| u32::from(b));
            let nextra = DIST_EXTRA.get(c).map_or(0, |&e| u32::from(e));
            let extra = u32::from(d).wrapping_sub(base);
            w.put(code | extra.wrapping_shl(len), len + nextra);
        }
    }
    let (code, len) = code_of(litlen_code, litlen_len, END_OF_BLOCK);
    w.put(code, len);
}
