//! The ChaCha20 stream cipher of RFC 8439 section 2: a 256-bit key, a 96-bit nonce and a
//! 32-bit block counter.

use super::SealError;

/// Length of a ChaCha20 key in bytes.
pub const KEY_LEN: usize = 32;
/// Length of a ChaCha20 (IETF) nonce in bytes.
pub const NONCE_LEN: usize = 12;
/// Length of one ChaCha20 keystream block in bytes.
pub const BLOCK_LEN: usize = 64;

/// The four constant words "expand 32-byte k" (RFC 8439 section 2.3).
const SIGMA: [u32; 4] = [0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574];

/// The ChaCha quarter round on four words (RFC 8439 section 2.1).
#[inline(always)]
pub fn quarter_round(mut a: u32, mut b: u32, mut c: u32, mut d: u32) -> (u32, u32, u32, u32) {
    a = a.wrapping_add(b);
    d = (d ^ a).rotate_left(16);
    c = c.wrapping_add(d);
    b = (b ^ c).rotate_left(12);
    a = a.wrapping_add(b);
    d = (d ^ a).rotate_left(8);
    c = c.wrapping_add(d);
    b = (b ^ c).rotate_left(7);
    (a, b, c, d)
}

/// The quarter round applied to four words of a state (`QUARTERROUND(a, b, c, d)` of
/// RFC 8439 section 2.2). Only ever called with constant indices below 16.
#[inline(always)]
fn qr(s: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize) {
    let (na, nb, nc, nd) = quarter_round(s[a], s[b], s[c], s[d]);
    s[a] = na;
    s[b] = nb;
    s[c] = nc;
    s[d] = nd;
}

/// The initial ChaCha20 state for `key`, `counter` and `nonce` (RFC 8439 section 2.3).
fn initial_state(key: &[u8; KEY_LEN], counter: u32, nonce: &[u8; NONCE_LEN]) -> [u32; 16] {
    let mut s = [0u32; 16];
    s[..4].copy_from_slice(&SIGMA);
    for (w, k) in s[4..12].iter_mut().zip(key.chunks_exact(4)) {
        *w = u32::from_le_bytes([k[0], k[1], k[2], k[3]]);
    }
    s[12] = counter;
    for (w, n) in s[13..].iter_mut().zip(nonce.chunks_exact(4)) {
        *w = u32::from_le_bytes([n[0], n[1], n[2], n[3]]);
    }
    s
}

/// The ChaCha20 block function (RFC 8439 section 2.3): the serialized 64-byte keystream
/// block number `counter` for `key` and `nonce`.
pub fn block(key: &[u8; KEY_LEN], counter: u32, nonce: &[u8; NONCE_LEN]) -> [u8; BLOCK_LEN] {
    let state = initial_state(key, counter, nonce);
    let mut w = state;
    rounds(&mut w);
    let mut out = [0u8; BLOCK_LEN];
    for ((o, x), s) in out.chunks_exact_mut(4).zip(w.iter()).zip(state.iter()) {
        o.copy_from_slice(&x.wrapping_add(*s).to_le_bytes());
    }
    out
}

/// The 20 ChaCha rounds (10 double rounds) on a state.
fn rounds(w: &mut [u32; 16]) {
    for _ in 0..10 {
        qr(w, 0, 4, 8, 12);
        qr(w, 1, 5, 9, 13);
        qr(w, 2, 6, 10, 14);
        qr(w, 3, 7, 11, 15);
        qr(w, 0, 5, 10, 15);
        qr(w, 1, 6, 11, 12);
        qr(w, 2, 7, 8, 13);
        qr(w, 3, 4, 9, 14);
    }
}

/// HChaCha20 (draft-irtf-cfrg-xchacha-03 section 2.2): a 256-bit subkey from `key` and a
/// 128-bit nonce, the first step of XChaCha20-Poly1305 (whose 192-bit nonce is that 128-bit
/// nonce followed by 64 bits given to ChaCha20-Poly1305 as the nonce `0^32 ‖ n[16..24]`).
pub fn hchacha20(key: &[u8; KEY_LEN], nonce: &[u8; 16]) -> [u8; KEY_LEN] {
    let mut n12 = [0u8; NONCE_LEN];
    n12.copy_from_slice(&nonce[4..]);
    let counter = u32::from_le_bytes([nonce[0], nonce[1], nonce[2], nonce[3]]);
    let mut w = initial_state(key, counter, &n12);
    rounds(&mut w);
    let mut out = [0u8; KEY_LEN];
    for (o, x) in out
        .chunks_exact_mut(4)
        .zip(w[..4].iter().chain(w[12..].iter()))
    {
        o.copy_from_slice(&x.to_le_bytes());
    }
    w.fill(0);
    out
}

/// Whether `len` bytes of keystream starting at block `counter` stay within the 32-bit
/// block counter (no block number is used twice).
pub(crate) fn fits_counter(counter: u32, len: usize) -> bool {
    let blocks = (len as u64).div_ceil(BLOCK_LEN as u64);
    u64::from(counter) + blocks <= 1 << 32
}

/// ChaCha20 encryption and decryption (RFC 8439 section 2.4): XORs `buf` with the keystream
/// that starts at block `counter`.
///
/// Fails with [`SealError::TooLong`], leaving `buf` untouched, when `buf` would need a block
/// counter past `u32::MAX`.
pub fn apply_keystream(
    key: &[u8; KEY_LEN],
    counter: u32,
    nonce: &[u8; NONCE_LEN],
    buf: &mut [u8],
) -> Result<(), SealError> {
    if !fits_counter(counter, buf.len()) {
        return Err(SealError::TooLong);
    }
    let mut ctr = counter;
    for chunk in buf.chunks_mut(BLOCK_LEN) {
        let mut ks = block(key, ctr, nonce);
        for (b, k) in chunk.iter_mut().zip(ks.iter()) {
            *b ^= *k;
        }
        ks.fill(0);
        // Cannot wrap past the checked range; wrapping only keeps the last block panic-free.
        ctr = ctr.wrapping_add(1);
    }
    Ok(())
}
