//! Sealed version-2 packets: XChaCha20-Poly1305 (ChaCha20-Poly1305 of RFC 8439 under an
//! HChaCha20 subkey) over every packet, data and parity alike.
//!
//! Sealing turns an unsealed version-2 packet (as the packetizer wrote it) into its sealed
//! form; opening turns it back, byte for byte:
//!
//! ```text
//! unsealed: header(48: flags, key id 0, CRC)                 ‖ body
//! sealed:   header(48: flags | SEALED, key id, CRC 0,
//!                  header_len 72, packet_len + 40) ‖ nonce(24) ‖ body encrypted ‖ tag(16)
//! ```
//!
//! The nonce is the sender's 16-byte salt (drawn at random whenever a key is installed)
//! followed by a 64-bit little-endian packet counter that starts at 0 for that salt and
//! grows by one for every packet sealed. The associated data are the 72 bytes before the
//! body (header and nonce): nothing in a sealed packet can change unnoticed.

use super::super::seal::{self, chacha20::hchacha20, SealScratch, KEY_LEN, NONCE_LEN, TAG_LEN};
use super::bytes::{array, u16_at, u8_at};
use super::crc32c::crc32c;
use super::{
    CRC_OFFSET, FLAG_SEALED, HEADER_LEN, MAGIC, SEALED_HEADER_LEN, SEAL_OVERHEAD, VERSION_2,
};

/// Length of the salt at the start of the nonce.
pub const SALT_LEN: usize = 16;

/// A sender's sealing state for one installed key: the key id, the subkey derived from the
/// key and the salt, and the salt. Its `Debug` output shows neither key.
#[derive(Clone)]
pub struct SealingKey {
    id: u8,
    salt: [u8; SALT_LEN],
    subkey: [u8; KEY_LEN],
}

impl core::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "SealingKey(id {})", self.id)
    }
}

impl SealingKey {
    /// The state for key `key` with id `id` (1 to 255) and a fresh random `salt`.
    pub fn new(id: u8, key: &[u8; KEY_LEN], salt: [u8; SALT_LEN]) -> Self {
        SealingKey {
            id,
            salt,
            subkey: hchacha20(key, &salt),
        }
    }

    /// The key id.
    pub fn id(&self) -> u8 {
        self.id
    }

    /// Overwrites the subkey and salt with zeros (the key itself is not kept).
    pub fn wipe(&mut self) {
        self.subkey.fill(0);
        self.salt.fill(0);
    }
}

/// Why a packet could not be sealed or opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealPacketError {
    /// Not an unsealed version-2 packet of `len` bytes (sealing), or not a sealed version-2
    /// packet (opening): magic, version, flags, header or packet length.
    NotAPacket,
    /// The buffer has no room for the nonce and the tag.
    NoRoom,
    /// No key is known for this key id.
    UnknownKey {
        /// The key id.
        key_id: u8,
    },
    /// The tag does not verify: forged, modified, or sealed under another key.
    BadTag {
        /// The key id.
        key_id: u8,
    },
}

impl core::fmt::Display for SealPacketError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SealPacketError::NotAPacket => f.write_str("not a version-2 packet of that kind"),
            SealPacketError::NoRoom => f.write_str("no room for the nonce and tag"),
            SealPacketError::UnknownKey { key_id } => write!(f, "unknown key id {}", key_id),
            SealPacketError::BadTag { key_id } => {
                write!(f, "authentication failed under key id {}", key_id)
            }
        }
    }
}

fn chacha_nonce(counter: &[u8]) -> Option<[u8; NONCE_LEN]> {
    let mut n = [0u8; NONCE_LEN];
    n.get_mut(4..)?.copy_from_slice(counter.get(..8)?);
    Some(n)
}

/// Seals the unsealed version-2 packet `buf[..len]` in place under `key` with packet
/// counter `counter` (which the caller never uses twice with one [`SealingKey`]), and
/// returns the sealed length `len + 40`. `buf` must hold at least that many bytes.
pub fn seal_packet(
    buf: &mut [u8],
    len: usize,
    key: &SealingKey,
    counter: u64,
) -> Result<usize, SealPacketError> {
    let mut scratch = SealScratch::ZERO;
    seal_packet_with(&mut scratch, buf, len, key, counter)
}

/// [`seal_packet`] with the AEAD's working memory in `scratch` (kept off a short stack).
#[inline(never)]
pub fn seal_packet_with(
    scratch: &mut SealScratch,
    buf: &mut [u8],
    len: usize,
    key: &SealingKey,
    counter: u64,
) -> Result<usize, SealPacketError> {
    let bad = SealPacketError::NotAPacket;
    let head = buf.get(..HEADER_LEN).ok_or(bad)?;
    if array::<4>(head, 0) != Some(MAGIC)
        || u8_at(head, 4) != Some(VERSION_2)
        || u8_at(head, 6) != Some(HEADER_LEN as u8)
        || u8_at(head, 7).ok_or(bad)? & FLAG_SEALED != 0
        || u16_at(head, 8).map(usize::from) != Some(len)
    {
        return Err(bad);
    }
    let sealed_len = len.checked_add(SEAL_OVERHEAD).ok_or(bad)?;
    let out = buf.get_mut(..sealed_len).ok_or(SealPacketError::NoRoom)?;
    let new_len = u16::try_from(sealed_len).map_err(|_| bad)?;
    // Body to its sealed place, then the nonce before it.
    out.copy_within(HEADER_LEN..len, SEALED_HEADER_LEN);
    let nonce = out.get_mut(HEADER_LEN..SEALED_HEADER_LEN).ok_or(bad)?;
    let (salt, ctr) = nonce.split_at_mut(SALT_LEN);
    salt.copy_from_slice(&key.salt);
    ctr.copy_from_slice(&counter.to_le_bytes());
    let n12 = chacha_nonce(&counter.to_le_bytes()).ok_or(bad)?;
    // The sealed header.
    *out.get_mut(6).ok_or(bad)? = SEALED_HEADER_LEN as u8;
    *out.get_mut(7).ok_or(bad)? |= FLAG_SEALED;
    out.get_mut(8..10)
        .ok_or(bad)?
        .copy_from_slice(&new_len.to_le_bytes());
    *out.get_mut(11).ok_or(bad)? = key.id;
    out.get_mut(CRC_OFFSET..CRC_OFFSET + 4).ok_or(bad)?.fill(0);
    let body_end = sealed_len.checked_sub(TAG_LEN).ok_or(bad)?;
    let (aad_body, tag_out) = out.split_at_mut(body_end);
    let (aad, body) = aad_body.split_at_mut(SEALED_HEADER_LEN);
    let tag = seal::seal_in_place_with(scratch, &key.subkey, &n12, aad, body).map_err(|_| bad)?;
    tag_out.copy_from_slice(&tag);
    Ok(sealed_len)
}

/// The key id of a sealed version-2 packet, or `None` if `bytes` is not one.
pub fn sealed_key_id(bytes: &[u8]) -> Option<u8> {
    if array::<4>(bytes, 0) == Some(MAGIC)
        && u8_at(bytes, 4) == Some(VERSION_2)
        && u8_at(bytes, 7)? & FLAG_SEALED != 0
    {
        u8_at(bytes, 11)
    } else {
        None
    }
}

/// Opens the sealed version-2 packet `bytes` with the key `key_for(key id)` gives: checks its
/// tag first, then writes the unsealed packet (exactly what the sender sealed) into `out`
/// and returns its length. Nothing is written to `out` unless the tag verifies.
pub fn open_packet<'k>(
    bytes: &[u8],
    key_for: impl FnOnce(u8) -> Option<&'k [u8; KEY_LEN]>,
    out: &mut [u8],
) -> Result<usize, SealPacketError> {
    let bad = SealPacketError::NotAPacket;
    let key_id = sealed_key_id(bytes).ok_or(bad)?;
    if u8_at(bytes, 6) != Some(SEALED_HEADER_LEN as u8)
        || u16_at(bytes, 8).map(usize::from) != Some(bytes.len())
        || bytes.len() < SEALED_HEADER_LEN + TAG_LEN
    {
        return Err(bad);
    }
    let key = key_for(key_id).ok_or(SealPacketError::UnknownKey { key_id })?;
    let salt = array::<SALT_LEN>(bytes, HEADER_LEN).ok_or(bad)?;
    let counter = bytes
        .get(HEADER_LEN + SALT_LEN..SEALED_HEADER_LEN)
        .ok_or(bad)?;
    let n12 = chacha_nonce(counter).ok_or(bad)?;
    let mut subkey = hchacha20(key, &salt);
    let body_end = bytes.len() - TAG_LEN;
    let tag = array::<TAG_LEN>(bytes, body_end).ok_or(bad)?;
    let aad = bytes.get(..SEALED_HEADER_LEN).ok_or(bad)?;
    let body = bytes.get(SEALED_HEADER_LEN..body_end).ok_or(bad)?;
    let plain_len = bytes.len() - SEAL_OVERHEAD;
    let dst = out.get_mut(..plain_len).ok_or(SealPacketError::NoRoom)?;
    let (head, dst_body) = dst.split_at_mut(HEADER_LEN);
    dst_body.copy_from_slice(body);
    let opened = seal::open_in_place(&subkey, &n12, aad, dst_body, &tag);
    subkey.fill(0);
    if opened.is_err() {
        dst_body.fill(0);
        return Err(SealPacketError::BadTag { key_id });
    }
    head.copy_from_slice(aad.get(..HEADER_LEN).ok_or(bad)?);
    *head.get_mut(6).ok_or(bad)? = HEADER_LEN as u8;
    *head.get_mut(7).ok_or(bad)? &= !FLAG_SEALED;
    head.get_mut(8..10)
        .ok_or(bad)?
        .copy_from_slice(&u16::try_from(plain_len).map_err(|_| bad)?.to_le_bytes());
    *head.get_mut(11).ok_or(bad)? = 0;
    let crc = crc32c(dst);
    dst.get_mut(CRC_OFFSET..CRC_OFFSET + 4)
        .ok_or(bad)?
        .copy_from_slice(&crc.to_le_bytes());
    Ok(plain_len)
}
