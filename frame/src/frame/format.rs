//! Canonical text forms, for showing values in configfs and in kernel log lines.
//!
//! Each wrapper's `Display` gives the form its parser reads back to the same value, and the
//! address forms are those of Rust's `std::net` `Display` (which the tests check), including
//! width, fill and alignment (`{:>15}`).

use core::fmt::{self, Write};

use super::parse::{IfName, IpAddr};

/// A fixed-capacity text buffer, so that a value can be written whole and then padded.
struct StackBuf<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> StackBuf<N> {
    const fn new() -> Self {
        StackBuf {
            buf: [0; N],
            len: 0,
        }
    }

    fn as_str(&self) -> &str {
        self.buf
            .get(..self.len)
            .and_then(|b| core::str::from_utf8(b).ok())
            .unwrap_or("")
    }
}

impl<const N: usize> Write for StackBuf<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Writes with `write` into a buffer of `N` bytes, then pads as the formatter asks.
fn padded<const N: usize>(
    f: &mut fmt::Formatter<'_>,
    write: impl FnOnce(&mut StackBuf<N>) -> fmt::Result,
) -> fmt::Result {
    let mut buf = StackBuf::<N>::new();
    write(&mut buf)?;
    f.pad(buf.as_str())
}

fn write_ipv4(w: &mut impl Write, a: [u8; 4]) -> fmt::Result {
    let [x, y, z, t] = a;
    write!(w, "{x}.{y}.{z}.{t}")
}

/// Colon-separated lowercase hex groups.
fn write_groups(w: &mut impl Write, groups: &[u16]) -> fmt::Result {
    if let Some((first, rest)) = groups.split_first() {
        write!(w, "{first:x}")?;
        for g in rest {
            write!(w, ":{g:x}")?;
        }
    }
    Ok(())
}

fn write_ipv6(w: &mut impl Write, a: [u8; 16]) -> fmt::Result {
    let mut groups = [0u16; 8];
    // Index loops rather than zip(chunks_exact): the latter leaves code objtool rejects
    // ("falls through") when this file is built into the kernel module.
    for (i, g) in groups.iter_mut().enumerate() {
        if let Some(&[hi, lo]) = a.get(2 * i..2 * i + 2) {
            *g = u16::from_be_bytes([hi, lo]);
        }
    }
    if let [0, 0, 0, 0, 0, 0xffff, ..] = groups {
        let [.., a, b, c, d] = a;
        return write!(w, "::ffff:{a}.{b}.{c}.{d}");
    }
    // The longest run of zero groups (the first one on ties).
    let (mut best_start, mut best_len) = (0usize, 0usize);
    let (mut start, mut len) = (0usize, 0usize);
    for (i, &g) in groups.iter().enumerate() {
        if g == 0 {
            if len == 0 {
                start = i;
            }
            len += 1;
            if len > best_len {
                best_start = start;
                best_len = len;
            }
        } else {
            len = 0;
        }
    }
    if best_len > 1 {
        let head = groups.get(..best_start).unwrap_or(&[]);
        let tail = groups.get(best_start + best_len..).unwrap_or(&[]);
        write_groups(w, head)?;
        w.write_str("::")?;
        write_groups(w, tail)
    } else {
        write_groups(w, &groups)
    }
}

/// An IPv4 address as a dotted quad (`192.0.2.1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Display(pub [u8; 4]);

impl fmt::Display for Ipv4Display {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        padded::<15>(f, |w| write_ipv4(w, self.0))
    }
}

/// An IPv6 address in RFC 5952 form: lowercase, leading zeros dropped, the longest run of
/// two or more zero groups (the first on ties) written `::`, and IPv4-mapped addresses as
/// `::ffff:a.b.c.d` (as Rust's `std` shows them; other addresses never use a dotted tail).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv6Display(pub [u8; 16]);

impl fmt::Display for Ipv6Display {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        padded::<39>(f, |w| write_ipv6(w, self.0))
    }
}

/// An address of either family, as [`Ipv4Display`] or [`Ipv6Display`] shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpDisplay(pub IpAddr);

impl fmt::Display for IpDisplay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V4(a) => fmt::Display::fmt(&Ipv4Display(a), f),
            IpAddr::V6(a) => fmt::Display::fmt(&Ipv6Display(a), f),
        }
    }
}

/// A MAC address as `aa:bb:cc:dd:ee:ff` (lowercase).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MacDisplay(pub [u8; 6]);

impl fmt::Display for MacDisplay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        padded::<17>(f, |w| {
            write!(w, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
        })
    }
}

/// A UUID as `8-4-4-4-12` lowercase hex digits, bytes in order (the form of
/// `/proc/sys/kernel/random/boot_id`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UuidDisplay(pub [u8; 16]);

impl fmt::Display for UuidDisplay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        padded::<36>(f, |w| {
            for (i, b) in self.0.iter().enumerate() {
                if matches!(i, 4 | 6 | 8 | 10) {
                    w.write_char('-')?;
                }
                write!(w, "{b:02x}")?;
            }
            Ok(())
        })
    }
}

/// The name as text; bytes that are not UTF-8 are written `\xNN`.
impl fmt::Display for IfName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for chunk in self.as_bytes().utf8_chunks() {
            f.write_str(chunk.valid())?;
            for b in chunk.invalid() {
                write!(f, "\\x{b:02x}")?;
            }
        }
        Ok(())
    }
}
