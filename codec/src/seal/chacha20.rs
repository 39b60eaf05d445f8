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
    // Index loops over fixed-size arrays (bounds the compiler proves): no slice adapters,
    // whose out-of-line panic paths objtool cannot follow in the kernel build.
    let mut s = [0u32; 16];
    s[0] = SIGMA[0];
    s[1] = SIGMA[1];
    s[2] = SIGMA[2];
    s[3] = SIGMA[3];
    for i in 0..8 {
        s[4 + i] = le32(key, 4 * i);
    }
    s[12] = counter;
    for i in 0..3 {
        s[13 + i] = le32(nonce, 4 * i);
    }
    s
}

/// Word `i` of the initial state (as [`initial_state`]), computed alone.
#[inline(always)]
fn state_word(key: &[u8; KEY_LEN], counter: u32, nonce: &[u8; NONCE_LEN], i: usize) -> u32 {
    match i {
        0..=3 => SIGMA.get(i).copied().unwrap_or(0),
        4..=11 => le32(key, 4 * (i - 4)),
        12 => counter,
        _ => le32(nonce, 4 * (i.saturating_sub(13))),
    }
}

/// The ChaCha20 block function as 16 words: the rounds on the initial state, plus the
/// initial state (recomputed word by word rather than kept: one 64-byte array on the stack,
/// which the kernel's crash path, where packets are sealed, is short of).
fn block_words(key: &[u8; KEY_LEN], counter: u32, nonce: &[u8; NONCE_LEN]) -> [u32; 16] {
    let mut w = [0u32; 16];
    block_words_into(key, counter, nonce, &mut w);
    w
}

/// `block_words` into `w`.
#[inline(never)]
pub fn block_words_into(
    key: &[u8; KEY_LEN],
    counter: u32,
    nonce: &[u8; NONCE_LEN],
    w: &mut [u32; 16],
) {
    for (i, x) in w.iter_mut().enumerate() {
        *x = state_word(key, counter, nonce, i);
    }
    rounds(w);
    for (i, x) in w.iter_mut().enumerate() {
        *x = x.wrapping_add(state_word(key, counter, nonce, i));
    }
}

/// The ChaCha20 block function (RFC 8439 section 2.3): the serialized 64-byte keystream
/// block number `counter` for `key` and `nonce`.
pub fn block(key: &[u8; KEY_LEN], counter: u32, nonce: &[u8; NONCE_LEN]) -> [u8; BLOCK_LEN] {
    let w = block_words(key, counter, nonce);
    let mut out = [0u8; BLOCK_LEN];
    for (i, x) in w.iter().enumerate() {
        put32(&mut out, 4 * i, *x);
    }
    out
}

/// The first `N` bytes of keystream block `counter` (N ≤ 64), e.g. Poly1305's one-time key.
pub fn block_prefix<const N: usize>(
    key: &[u8; KEY_LEN],
    counter: u32,
    nonce: &[u8; NONCE_LEN],
) -> [u8; N] {
    let mut w = block_words(key, counter, nonce);
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        let word = w.get(i / 4).copied().unwrap_or(0);
        *o = word.to_le_bytes().get(i % 4).copied().unwrap_or(0);
    }
    w.fill(0);
    out
}

/// The little-endian word at `b[at..at + 4]` (0 past the end, which no caller reaches).
#[inline(always)]
fn le32(b: &[u8], at: usize) -> u32 {
    let byte = |i: usize| b.get(at.wrapping_add(i)).copied().unwrap_or(0);
    u32::from_le_bytes([byte(0), byte(1), byte(2), byte(3)])
}

/// Stores `v` little-endian at `b[at..at + 4]` (nothing past the end, which no caller
/// reaches).
#[inline(always)]
fn put32(b: &mut [u8], at: usize, v: u32) {
    for (i, x) in v.to_le_bytes().into_iter().enumerate() {
        if let Some(o) = b.get_mut(at.wrapping_add(i)) {
            *o = x;
        }
    }
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
    n12.copy_from_slice(&nonce[4..16]);
    let counter = le32(nonce, 0);
    let mut w = initial_state(key, counter, &n12);
    rounds(&mut w);
    let mut out = [0u8; KEY_LEN];
    for i in 0..4 {
        put32(&mut out, 4 * i, w[i]);
        put32(&mut out, 16 + 4 * i, w[12 + i]);
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
    let mut w = [0u32; 16];
    apply_keystream_with(&mut w, key, counter, nonce, buf)
}

/// [`apply_keystream`] with the keystream block in `w` (working memory the caller provides,
/// e.g. off a short stack); `w` is wiped afterwards.
#[inline(never)]
pub fn apply_keystream_with(
    w: &mut [u32; 16],
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
        block_words_into(key, ctr, nonce, w);
        for (j, b) in chunk.iter_mut().enumerate() {
            let word = w.get(j / 4).copied().unwrap_or(0);
            *b ^= word.to_le_bytes().get(j % 4).copied().unwrap_or(0);
        }
        // Cannot wrap past the checked range; wrapping only keeps the last block panic-free.
        ctr = ctr.wrapping_add(1);
    }
    w.fill(0);
    Ok(())
}
