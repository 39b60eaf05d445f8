//! The Internet checksum (RFC 1071), as used by the IPv4 header and UDP.

/// One's-complement addition of two 16-bit words (end-around carry).
const fn add16(a: u16, b: u16) -> u16 {
    let (sum, carry) = a.overflowing_add(b);
    // With a carry, `sum` is at most 0xFFFE, so adding it back cannot wrap.
    sum.wrapping_add(carry as u16)
}

/// A running RFC 1071 sum: the one's-complement sum of the data as big-endian 16-bit words.
///
/// Data may be fed in pieces of any length, including odd ones: a trailing odd byte is kept
/// and paired with the first byte of the next piece, so the result is the same as summing the
/// concatenation at once. At the end, an odd byte is padded with a zero byte (RFC 1071).
///
/// ```
/// # use netoops_frame::{Checksum, internet_checksum};
/// let mut c = Checksum::new();
/// c.add_bytes(&[0x00, 0x01, 0xf2]);
/// c.add_bytes(&[0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
/// assert_eq!(c.sum(), 0xddf2); // the example of RFC 1071, section 3
/// assert_eq!(c.finish(), 0x220d);
/// assert_eq!(internet_checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]), 0x220d);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Checksum {
    sum: u16,
    odd: Option<u8>,
}

impl Checksum {
    /// An empty sum.
    pub const fn new() -> Self {
        Checksum { sum: 0, odd: None }
    }

    /// Adds `data` to the sum.
    pub fn add_bytes(&mut self, data: &[u8]) {
        let mut rest = data;
        if let Some(hi) = self.odd.take() {
            match rest.split_first() {
                Some((&lo, tail)) => {
                    self.sum = add16(self.sum, u16::from_be_bytes([hi, lo]));
                    rest = tail;
                }
                None => {
                    self.odd = Some(hi);
                    return;
                }
            }
        }
        let mut words = rest.chunks_exact(2);
        for word in &mut words {
            if let &[hi, lo] = word {
                self.sum = add16(self.sum, u16::from_be_bytes([hi, lo]));
            }
        }
        if let &[last] = words.remainder() {
            self.odd = Some(last);
        }
    }

    /// Adds one 16-bit value as two big-endian bytes (at the current byte position).
    pub fn add_u16(&mut self, value: u16) {
        self.add_bytes(&value.to_be_bytes());
    }

    /// The one's-complement sum so far (a pending odd byte counted as padded with zero).
    pub const fn sum(&self) -> u16 {
        match self.odd {
            Some(hi) => add16(self.sum, u16::from_be_bytes([hi, 0])),
            None => self.sum,
        }
    }

    /// The checksum: the one's complement of [`Checksum::sum`]. Data that already contains a
    /// correct checksum field finishes to 0.
    pub const fn finish(&self) -> u16 {
        !self.sum()
    }
}

/// The Internet checksum (RFC 1071) of `data`: the one's complement of the one's-complement
/// sum of its big-endian 16-bit words, an odd last byte padded with zero. Store it big-endian.
///
/// This is the value the kernel's `ip_fast_csum` gives for an IPv4 header (with its checksum
/// field zero). For UDP, sum the pseudo-header too (see [`Checksum`]) and send a computed 0 as
/// 0xFFFF.
pub fn internet_checksum(data: &[u8]) -> u16 {
    let mut c = Checksum::new();
    c.add_bytes(data);
    c.finish()
}
