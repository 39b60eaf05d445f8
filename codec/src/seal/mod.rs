//! ChaCha20-Poly1305 authenticated encryption, exactly as RFC 8439 ("ChaCha20 and Poly1305
//! for IETF Protocols"): the ChaCha20 stream cipher (section 2.4), the Poly1305
//! authenticator (section 2.5), the Poly1305 key generation (section 2.6) and the AEAD
//! construction (section 2.8), with a 256-bit key, a 96-bit nonce and a 128-bit tag.
//!
//! This is the first building block of a future "sealed packets" feature. **It is not yet
//! used on the wire**: nothing in [`crate::wire`] or in `PROTOCOL.md` refers to it, and the
//! kernel module does not compile it.
//!
//! Like the rest of the crate it is `no_std`, allocation-free and has no dependencies. It
//! contains no `unsafe`, no floating point and no `u128` arithmetic (Poly1305 works in
//! 26-bit limbs, as poly1305-donna's 32-bit variant), keeps every function's locals to a
//! few hundred bytes at most, and does not panic on any input: lengths are checked and
//! reported as [`SealError`]. Tag comparison takes the same time whatever the tags are, and
//! [`open_in_place`] checks the tag before it decrypts, so a forged packet's bytes are
//! never touched.
//!
//! The same (key, nonce) pair MUST NOT seal two different messages; choosing nonces is the
//! caller's job.

pub mod chacha20;
pub mod poly1305;

use core::fmt;

pub use poly1305::Poly1305;

/// Length of a key in bytes.
pub const KEY_LEN: usize = 32;
/// Length of a nonce in bytes.
pub const NONCE_LEN: usize = 12;
/// Length of an authentication tag in bytes.
pub const TAG_LEN: usize = 16;
/// The longest plaintext one (key, nonce) pair can seal: 2^32 − 1 blocks of 64 bytes
/// (block 0 makes the Poly1305 key; the 32-bit counter then runs from 1).
pub const MAX_PLAINTEXT_LEN: u64 = ((1u64 << 32) - 1) * 64;

/// Why sealing or opening failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SealError {
    /// The buffer is longer than [`MAX_PLAINTEXT_LEN`] (only possible where `usize` has
    /// more than 32 bits), or needs ChaCha20 blocks past counter `u32::MAX`.
    TooLong,
    /// The tag does not match: the ciphertext, the associated data, the nonce, the key or
    /// the tag itself is not what was sealed.
    BadTag,
}

impl fmt::Display for SealError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SealError::TooLong => f.write_str("message too long for one ChaCha20-Poly1305 nonce"),
            SealError::BadTag => f.write_str("authentication tag mismatch"),
        }
    }
}

impl core::error::Error for SealError {}

/// A 256-bit ChaCha20-Poly1305 key. Its `Debug` output does not show the key.
#[derive(Clone)]
pub struct Key([u8; KEY_LEN]);

impl Key {
    /// Wraps raw key bytes.
    pub const fn new(bytes: [u8; KEY_LEN]) -> Self {
        Key(bytes)
    }

    /// The raw key bytes.
    pub const fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// [`seal_in_place`] under this key.
    pub fn seal_in_place(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; TAG_LEN], SealError> {
        seal_in_place(&self.0, nonce, aad, buf)
    }

    /// [`open_in_place`] under this key.
    pub fn open_in_place(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<(), SealError> {
        open_in_place(&self.0, nonce, aad, buf, tag)
    }
}

impl From<[u8; KEY_LEN]> for Key {
    fn from(bytes: [u8; KEY_LEN]) -> Self {
        Key(bytes)
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(..)")
    }
}

/// The Poly1305 one-time key for `key` and `nonce` (RFC 8439 section 2.6): the first 32
/// bytes of ChaCha20 block 0.
#[inline(never)]
pub fn poly1305_key_gen(key: &[u8; KEY_LEN], nonce: &[u8; NONCE_LEN]) -> [u8; poly1305::KEY_LEN] {
    chacha20::block_prefix::<{ poly1305::KEY_LEN }>(key, 0, nonce)
}

/// The AEAD tag over `aad` and `ciphertext` (RFC 8439 section 2.8): Poly1305 of
/// `aad | pad16 | ciphertext | pad16 | le64(aad.len) | le64(ciphertext.len)`.
#[inline(never)]
fn compute_tag(
    key: &[u8; KEY_LEN],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    ciphertext: &[u8],
) -> [u8; TAG_LEN] {
    let mut s = SealScratch::ZERO;
    compute_tag_with(&mut s, key, nonce, aad, ciphertext)
}

fn check_len(len: usize) -> Result<(), SealError> {
    if len as u64 > MAX_PLAINTEXT_LEN {
        Err(SealError::TooLong)
    } else {
        Ok(())
    }
}

/// Working memory for [`seal_in_place_with`]: a keystream block, the one-time key and the
/// Poly1305 state. A caller short of stack (the kernel's crash path) keeps it in memory set
/// aside beforehand; it holds nothing between calls (it is wiped).
#[derive(Clone)]
pub struct SealScratch {
    w: [u32; 16],
    otk: [u8; poly1305::KEY_LEN],
    mac: Poly1305,
}

impl core::fmt::Debug for SealScratch {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SealScratch { .. }")
    }
}

impl SealScratch {
    /// Zeroed working memory.
    pub const ZERO: SealScratch = SealScratch {
        w: [0; 16],
        otk: [0; poly1305::KEY_LEN],
        mac: Poly1305::ZERO,
    };
}

/// [`seal_in_place`] with its working memory in `s`.
pub fn seal_in_place_with(
    s: &mut SealScratch,
    key: &[u8; KEY_LEN],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    buf: &mut [u8],
) -> Result<[u8; TAG_LEN], SealError> {
    check_len(buf.len())?;
    chacha20::apply_keystream_with(&mut s.w, key, 1, nonce, buf)?;
    Ok(compute_tag_with(s, key, nonce, aad, buf))
}

/// The tag of `aad` and `ciphertext` (as [`compute_tag`]) with working memory `s`.
#[inline(never)]
fn compute_tag_with(
    s: &mut SealScratch,
    key: &[u8; KEY_LEN],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    ciphertext: &[u8],
) -> [u8; TAG_LEN] {
    chacha20::block_words_into(key, 0, nonce, &mut s.w);
    for (i, o) in s.otk.iter_mut().enumerate() {
        let word = s.w.get(i / 4).copied().unwrap_or(0);
        *o = word.to_le_bytes().get(i % 4).copied().unwrap_or(0);
    }
    s.w.fill(0);
    s.mac.reset(&s.otk);
    s.otk.fill(0);
    let mac = &mut s.mac;
    mac.update(aad);
    mac.pad16();
    mac.update(ciphertext);
    mac.pad16();
    mac.update(&(aad.len() as u64).to_le_bytes());
    mac.update(&(ciphertext.len() as u64).to_le_bytes());
    mac.finish()
}

/// Encrypts `buf` in place under `key` and `nonce`, authenticating it together with the
/// associated data `aad` (which is not encrypted), and returns the 16-byte tag
/// (RFC 8439 section 2.8).
///
/// Fails with [`SealError::TooLong`], leaving `buf` untouched, when `buf` is longer than
/// [`MAX_PLAINTEXT_LEN`].
pub fn seal_in_place(
    key: &[u8; KEY_LEN],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    buf: &mut [u8],
) -> Result<[u8; TAG_LEN], SealError> {
    let mut s = SealScratch::ZERO;
    seal_in_place_with(&mut s, key, nonce, aad, buf)
}

/// Verifies `tag` over `aad` and the ciphertext in `buf` under `key` and `nonce`, and only
/// then decrypts `buf` in place (RFC 8439 section 2.8).
///
/// On any failure `buf` is left exactly as it was: [`SealError::BadTag`] when the tag does
/// not match (compared in constant time), [`SealError::TooLong`] when `buf` is longer than
/// [`MAX_PLAINTEXT_LEN`].
pub fn open_in_place(
    key: &[u8; KEY_LEN],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    buf: &mut [u8],
    tag: &[u8; TAG_LEN],
) -> Result<(), SealError> {
    check_len(buf.len())?;
    let expected = compute_tag(key, nonce, aad, buf);
    if !tags_equal(&expected, tag) {
        return Err(SealError::BadTag);
    }
    chacha20::apply_keystream(key, 1, nonce, buf)
}

/// Compares two tags in time independent of their contents.
pub fn tags_equal(a: &[u8; TAG_LEN], b: &[u8; TAG_LEN]) -> bool {
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b.iter()) {
        diff |= x ^ y;
    }
    // Keep the optimizer from turning the fold into an early-exit comparison.
    core::hint::black_box(diff) == 0
}
