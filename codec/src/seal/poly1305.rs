//! The Poly1305 one-time authenticator of RFC 8439 section 2.5.
//!
//! Arithmetic modulo 2^130 − 5 in five 26-bit limbs, as poly1305-donna's 32-bit variant:
//! only u32 × u32 → u64 products and u64 additions, no u128, no branches on secret data.

/// Length of a Poly1305 one-time key (`r` then `s`) in bytes.
pub const KEY_LEN: usize = 32;
/// Length of a Poly1305 tag in bytes.
pub const TAG_LEN: usize = 16;
/// Length of the blocks Poly1305 processes.
pub const BLOCK_LEN: usize = 16;

const MASK26: u32 = 0x03ff_ffff;

#[inline(always)]
fn le32(b: &[u8], at: usize) -> u32 {
    // Every caller passes a slice of at least `at + 4` bytes; `get` keeps it panic-free.
    match b.get(at..at + 4) {
        Some(&[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]),
        _ => 0,
    }
}

/// An incremental Poly1305 computation (RFC 8439 section 2.5) under one one-time key.
///
/// A key MUST NOT authenticate two different messages; the AEAD derives a fresh one per
/// nonce (section 2.6).
#[derive(Clone)]
pub struct Poly1305 {
    /// The clamped `r`, in 26-bit limbs.
    r: [u32; 5],
    /// The accumulator, in 26-bit limbs (partially reduced).
    h: [u32; 5],
    /// `s`, in four little-endian words.
    pad: [u32; 4],
    /// A partial block not yet processed.
    buf: [u8; BLOCK_LEN],
    /// How many bytes of `buf` are in use (always below [`BLOCK_LEN`]).
    buf_len: usize,
}

impl core::fmt::Debug for Poly1305 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Poly1305 { .. }")
    }
}

impl Poly1305 {
    /// Starts a computation under the one-time `key` (`r` = bytes 0..16, clamped; `s` =
    /// bytes 16..32).
    pub fn new(key: &[u8; KEY_LEN]) -> Self {
        let mut p = Self::ZERO;
        p.reset(key);
        p
    }

    /// A computation under the all-zero key (to be [`reset`](Self::reset)).
    pub const ZERO: Poly1305 = Poly1305 {
        r: [0; 5],
        h: [0; 5],
        pad: [0; 4],
        buf: [0; BLOCK_LEN],
        buf_len: 0,
    };

    /// Starts a new computation under `key` in place (no copy of the state on the stack).
    #[inline(never)]
    pub fn reset(&mut self, key: &[u8; KEY_LEN]) {
        let k = &key[..];
        self.r = [
            le32(k, 0) & 0x03ff_ffff,
            (le32(k, 3) >> 2) & 0x03ff_ff03,
            (le32(k, 6) >> 4) & 0x03ff_c0ff,
            (le32(k, 9) >> 6) & 0x03f0_3fff,
            (le32(k, 12) >> 8) & 0x000f_ffff,
        ];
        self.h = [0; 5];
        self.pad = [le32(k, 16), le32(k, 20), le32(k, 24), le32(k, 28)];
        self.buf = [0; BLOCK_LEN];
        self.buf_len = 0;
    }

    /// Adds one 16-byte block `m` to the accumulator, with `hibit` = 2^128 as limb bit 24
    /// for a full block, 0 for the padded final partial block, and multiplies by `r`.
    fn block(&mut self, m: &[u8; BLOCK_LEN], hibit: u32) {
        let [r0, r1, r2, r3, r4] = self.r;
        let (s1, s2, s3, s4) = (r1 * 5, r2 * 5, r3 * 5, r4 * 5);
        let [mut h0, mut h1, mut h2, mut h3, mut h4] = self.h;

        // h < 2^26 + 2^6 per limb after the previous block, so these stay below 2^28.
        h0 += le32(m, 0) & MASK26;
        h1 += (le32(m, 3) >> 2) & MASK26;
        h2 += (le32(m, 6) >> 4) & MASK26;
        h3 += (le32(m, 9) >> 6) & MASK26;
        h4 += (le32(m, 12) >> 8) | hibit;

        let m = |a: u32, b: u32| u64::from(a) * u64::from(b);
        // Each product is below 2^28 * 2^29, each sum of five below 2^60.
        let d0 = m(h0, r0) + m(h1, s4) + m(h2, s3) + m(h3, s2) + m(h4, s1);
        let mut d1 = m(h0, r1) + m(h1, r0) + m(h2, s4) + m(h3, s3) + m(h4, s2);
        let mut d2 = m(h0, r2) + m(h1, r1) + m(h2, r0) + m(h3, s4) + m(h4, s3);
        let mut d3 = m(h0, r3) + m(h1, r2) + m(h2, r1) + m(h3, r0) + m(h4, s4);
        let mut d4 = m(h0, r4) + m(h1, r3) + m(h2, r2) + m(h3, r1) + m(h4, r0);

        // Partial reduction modulo 2^130 - 5, carries kept in u64.
        let mut c = d0 >> 26;
        h0 = (d0 as u32) & MASK26;
        d1 += c;
        c = d1 >> 26;
        h1 = (d1 as u32) & MASK26;
        d2 += c;
        c = d2 >> 26;
        h2 = (d2 as u32) & MASK26;
        d3 += c;
        c = d3 >> 26;
        h3 = (d3 as u32) & MASK26;
        d4 += c;
        c = d4 >> 26;
        h4 = (d4 as u32) & MASK26;
        let t = u64::from(h0) + c * 5;
        h0 = (t as u32) & MASK26;
        h1 += (t >> 26) as u32;

        self.h = [h0, h1, h2, h3, h4];
    }

    /// Feeds `data` into the computation.
    #[inline(never)]
    pub fn update(&mut self, mut data: &[u8]) {
        if self.buf_len > 0 {
            let want = BLOCK_LEN - self.buf_len;
            let take = want.min(data.len());
            let (head, rest) = data.split_at(take);
            if let Some(dst) = self.buf.get_mut(self.buf_len..self.buf_len + take) {
                dst.copy_from_slice(head);
            }
            self.buf_len += take;
            data = rest;
            if self.buf_len < BLOCK_LEN {
                return;
            }
            let b = self.buf;
            self.block(&b, 1 << 24);
            self.buf_len = 0;
        }
        // Whole blocks, then the rest into the buffer (index loops: see chacha20's).
        while data.len() >= BLOCK_LEN {
            let mut b = [0u8; BLOCK_LEN];
            for (i, x) in b.iter_mut().enumerate() {
                *x = data.get(i).copied().unwrap_or(0);
            }
            self.block(&b, 1 << 24);
            data = data.get(BLOCK_LEN..).unwrap_or_default();
        }
        for (i, x) in data.iter().enumerate() {
            if let Some(o) = self.buf.get_mut(i) {
                *o = *x;
            }
        }
        self.buf_len = data.len();
    }

    /// Feeds zero bytes up to the next multiple of 16 bytes of input (the `pad16` of
    /// RFC 8439 section 2.8); nothing when the input so far is already a multiple of 16.
    pub fn pad16(&mut self) {
        if self.buf_len > 0 {
            const ZEROS: [u8; BLOCK_LEN] = [0; BLOCK_LEN];
            let n = BLOCK_LEN - self.buf_len;
            self.update(&ZEROS[..n]);
        }
    }

    /// Finishes the computation and returns the 16-byte tag.
    pub fn finalize(mut self) -> [u8; TAG_LEN] {
        self.finish()
    }

    /// [`finalize`](Self::finalize) in place: the tag, and the state wiped.
    #[inline(never)]
    pub fn finish(&mut self) -> [u8; TAG_LEN] {
        if self.buf_len > 0 {
            // The final partial block: its bytes, a 0x01, zeros, and no 2^128 bit.
            let mut b = [0u8; BLOCK_LEN];
            if let Some(src) = self.buf.get(..self.buf_len) {
                b[..src.len()].copy_from_slice(src);
            }
            if let Some(one) = b.get_mut(self.buf_len) {
                *one = 1;
            }
            self.block(&b, 0);
        }

        let [mut h0, mut h1, mut h2, mut h3, mut h4] = self.h;

        // Full carry: every limb below 2^26, h below 2^130 + small.
        let mut c = h1 >> 26;
        h1 &= MASK26;
        h2 += c;
        c = h2 >> 26;
        h2 &= MASK26;
        h3 += c;
        c = h3 >> 26;
        h3 &= MASK26;
        h4 += c;
        c = h4 >> 26;
        h4 &= MASK26;
        h0 += c * 5;
        c = h0 >> 26;
        h0 &= MASK26;
        h1 += c;

        // g = h + 5 - 2^130; take g when it does not go negative (h >= p), else h.
        let mut g0 = h0 + 5;
        c = g0 >> 26;
        g0 &= MASK26;
        let mut g1 = h1 + c;
        c = g1 >> 26;
        g1 &= MASK26;
        let mut g2 = h2 + c;
        c = g2 >> 26;
        g2 &= MASK26;
        let mut g3 = h3 + c;
        c = g3 >> 26;
        g3 &= MASK26;
        let g4 = (h4 + c).wrapping_sub(1 << 26);

        // All ones when g4 did not borrow (select g), zero when it did (select h).
        let select_g = (g4 >> 31).wrapping_sub(1);
        let select_h = !select_g;
        h0 = (h0 & select_h) | (g0 & select_g);
        h1 = (h1 & select_h) | (g1 & select_g);
        h2 = (h2 & select_h) | (g2 & select_g);
        h3 = (h3 & select_h) | (g3 & select_g);
        h4 = (h4 & select_h) | (g4 & select_g);

        // h mod 2^128 in four 32-bit words.
        let w0 = h0 | (h1 << 26);
        let w1 = (h1 >> 6) | (h2 << 20);
        let w2 = (h2 >> 12) | (h3 << 14);
        let w3 = (h3 >> 18) | (h4 << 8);

        // tag = (h + s) mod 2^128.
        let mut f = u64::from(w0) + u64::from(self.pad[0]);
        let t0 = f as u32;
        f = u64::from(w1) + u64::from(self.pad[1]) + (f >> 32);
        let t1 = f as u32;
        f = u64::from(w2) + u64::from(self.pad[2]) + (f >> 32);
        let t2 = f as u32;
        f = u64::from(w3) + u64::from(self.pad[3]) + (f >> 32);
        let t3 = f as u32;

        let mut tag = [0u8; TAG_LEN];
        for (i, w) in [t0, t1, t2, t3].into_iter().enumerate() {
            for (j, x) in w.to_le_bytes().into_iter().enumerate() {
                if let Some(o) = tag.get_mut(4 * i + j) {
                    *o = x;
                }
            }
        }
        self.h = [0; 5];
        self.r = [0; 5];
        self.pad = [0; 4];
        tag
    }
}

/// The Poly1305 tag of `msg` under the one-time `key` (RFC 8439 section 2.5).
pub fn poly1305(key: &[u8; KEY_LEN], msg: &[u8]) -> [u8; TAG_LEN] {
    let mut p = Poly1305::new(key);
    p.update(msg);
    p.finalize()
}
