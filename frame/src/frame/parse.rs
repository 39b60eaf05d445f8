//! Strict parsers for configuration values written as text (configfs attributes, the module
//! parameter).
//!
//! Every public `parse_*` function takes the whole written value: one trailing `\n` (what
//! `echo` appends) is ignored, anything else that is not part of the value makes it fail.
//! Nothing is ever half-accepted: a value either parses completely or gives `None`.
//!
//! Deliberate choices, shared with Rust's `std::net` parsers unless said otherwise:
//! * IPv4 is the dotted quad only: four decimal parts of 1 to 3 digits, each at most 255,
//!   no sign, and no leading zero (`01.2.3.4` is refused, `0.0.0.0` is fine) because
//!   `inet_aton` would read `010` as octal 8. Short forms (`10.1`) are refused.
//! * IPv6 is the full RFC 4291 text form: 1 to 4 hex digits per group (either case, leading
//!   zeros allowed), at most one `::` standing for one or more zero groups, and an optional
//!   trailing dotted-quad IPv4 for the last 32 bits (with the IPv4 rules above). No zone id
//!   (`%eth0`), no brackets, no prefix length.
//! * The single trailing `\n` is the one difference from `std` (which refuses it).
//! * Decimal numbers (ports, [`parse_u32_decimal`]) are plain digits with no sign and no
//!   leading zero (`0` itself is the only number starting with `0`); `std` would accept `+7`
//!   and `007`.

/// `IFNAMSIZ` of the kernel: an interface name and its NUL terminator fit in 16 bytes.
pub const IFNAMSIZ: usize = 16;

/// An IPv4 or IPv6 address, network byte order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IpAddr {
    /// An IPv4 address.
    V4([u8; 4]),
    /// An IPv6 address.
    V6([u8; 16]),
}

impl IpAddr {
    /// Whether this is an IPv6 address.
    pub const fn is_ipv6(&self) -> bool {
        matches!(self, IpAddr::V6(_))
    }

    /// Whether this is the unspecified address (`0.0.0.0` or `::`).
    pub fn is_unspecified(&self) -> bool {
        match self {
            IpAddr::V4(a) => a.iter().all(|&b| b == 0),
            IpAddr::V6(a) => a.iter().all(|&b| b == 0),
        }
    }
}

/// `s` without one trailing `\n`.
pub(super) fn strip_newline(s: &[u8]) -> &[u8] {
    match s.split_last() {
        Some((b'\n', rest)) => rest,
        _ => s,
    }
}

const fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decimal without sign or leading zero, checked against overflow.
pub(super) fn u32_exact(s: &[u8]) -> Option<u32> {
    match s {
        [] => return None,
        [b'0', _, ..] => return None,
        _ => {}
    }
    let mut v: u32 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u32::from(b - b'0'))?;
    }
    Some(v)
}

/// A UDP port, 1 to 65535.
pub(super) fn port_exact(s: &[u8]) -> Option<u16> {
    match u16::try_from(u32_exact(s)?) {
        Ok(0) | Err(_) => None,
        Ok(p) => Some(p),
    }
}

/// One part of a dotted quad.
fn ipv4_octet(s: &[u8]) -> Option<u8> {
    if s.len() > 3 {
        return None;
    }
    u8::try_from(u32_exact(s)?).ok()
}

pub(super) fn ipv4_exact(s: &[u8]) -> Option<[u8; 4]> {
    let mut out = [0u8; 4];
    let mut parts = s.split(|&b| b == b'.');
    for slot in out.iter_mut() {
        *slot = ipv4_octet(parts.next()?)?;
    }
    match parts.next() {
        Some(_) => None,
        None => Some(out),
    }
}

/// One IPv6 group: 1 to 4 hex digits.
fn ipv6_group(s: &[u8]) -> Option<u16> {
    if s.is_empty() || s.len() > 4 {
        return None;
    }
    let mut v: u16 = 0;
    for &b in s {
        // At most 4 digits, so this stays below 0x10000.
        v = (v << 4) | u16::from(hex_digit(b)?);
    }
    Some(v)
}

/// Reads colon-separated groups (none if `s` is empty) into `out`, the last one possibly a
/// dotted-quad IPv4 (two groups) if `v4_tail`; returns how many groups were filled.
fn ipv6_groups(s: &[u8], out: &mut [u16], v4_tail: bool) -> Option<usize> {
    if s.is_empty() {
        return Some(0);
    }
    let mut n = 0usize;
    let mut parts = s.split(|&b| b == b':').peekable();
    while let Some(part) = parts.next() {
        if part.contains(&b'.') {
            if !v4_tail || parts.peek().is_some() {
                return None;
            }
            let [a, b, c, d] = ipv4_exact(part)?;
            *out.get_mut(n)? = u16::from_be_bytes([a, b]);
            *out.get_mut(n + 1)? = u16::from_be_bytes([c, d]);
            n += 2;
        } else {
            *out.get_mut(n)? = ipv6_group(part)?;
            n += 1;
        }
    }
    Some(n)
}

pub(super) fn ipv6_exact(s: &[u8]) -> Option<[u8; 16]> {
    let mut groups = [0u16; 8];
    match s.windows(2).position(|w| w == b"::") {
        None => {
            if ipv6_groups(s, &mut groups, true)? != 8 {
                return None;
            }
        }
        Some(at) => {
            // `::` stands for at least one zero group: at most 7 groups around it. The
            // embedded IPv4 may only end the address, so not in the head.
            let head = s.get(..at)?;
            let tail = s.get(at.checked_add(2)?..)?;
            let mut h = [0u16; 7];
            let mut t = [0u16; 7];
            let nh = ipv6_groups(head, &mut h, false)?;
            let nt = ipv6_groups(tail, &mut t, true)?;
            if nh + nt > 7 {
                return None;
            }
            for (g, v) in groups.iter_mut().zip(h.iter().take(nh)) {
                *g = *v;
            }
            for (g, v) in groups.iter_mut().rev().zip(t.iter().take(nt).rev()) {
                *g = *v;
            }
        }
    }
    let mut out = [0u8; 16];
    // An index loop rather than zip(chunks_exact_mut): see format.rs.
    for (i, g) in groups.iter().enumerate() {
        if let Some(pair) = out.get_mut(2 * i..2 * i + 2) {
            pair.copy_from_slice(&g.to_be_bytes());
        }
    }
    Some(out)
}

/// An address of either family; a `:` anywhere means IPv6.
pub(super) fn ip_exact(s: &[u8]) -> Option<IpAddr> {
    if s.contains(&b':') {
        ipv6_exact(s).map(IpAddr::V6)
    } else {
        ipv4_exact(s).map(IpAddr::V4)
    }
}

/// Hex digit pairs of `s` into `out` from `*pos` on.
fn hex_pairs(s: &[u8], out: &mut [u8], pos: &mut usize) -> Option<()> {
    let mut pairs = s.chunks_exact(2);
    for pair in &mut pairs {
        if let &[hi, lo] = pair {
            *out.get_mut(*pos)? = (hex_digit(hi)? << 4) | hex_digit(lo)?;
            *pos += 1;
        }
    }
    if pairs.remainder().is_empty() {
        Some(())
    } else {
        None
    }
}

/// `s` split at `sep` into parts of exactly the lengths in `lens`, each hex, into `out`.
fn hex_fields<const N: usize>(s: &[u8], sep: u8, lens: &[usize]) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    let mut pos = 0usize;
    let mut parts = s.split(|&b| b == sep);
    for &len in lens {
        let part = parts.next()?;
        if part.len() != len {
            return None;
        }
        hex_pairs(part, &mut out, &mut pos)?;
    }
    if parts.next().is_some() || pos != N {
        return None;
    }
    Some(out)
}

pub(super) fn mac_exact(s: &[u8]) -> Option<[u8; 6]> {
    hex_fields(s, b':', &[2; 6])
}

pub(super) fn uuid_exact(s: &[u8]) -> Option<[u8; 16]> {
    hex_fields(s, b'-', &[8, 4, 4, 4, 12])
}

/// A Linux network interface name: 1 to 15 bytes, kept NUL-padded to [`IFNAMSIZ`] bytes.
///
/// Valid names are those the kernel's `dev_valid_name` accepts: not empty, not `.` or `..`,
/// shorter than [`IFNAMSIZ`], and without `/`, `:`, NUL or white space (`isspace`: space,
/// `\t`, `\n`, `\v`, `\f`, `\r` and byte 0xA0).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct IfName {
    buf: [u8; IFNAMSIZ],
    len: u8,
}

impl IfName {
    /// The name as given, if it is a valid interface name (no trailing `\n` allowed here; use
    /// [`parse_ifname`] for written values).
    pub fn new(name: &[u8]) -> Option<IfName> {
        if name.is_empty() || name.len() >= IFNAMSIZ || name == b"." || name == b".." {
            return None;
        }
        let bad = |b: &u8| {
            matches!(
                *b,
                0 | b'/' | b':' | b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0xa0
            )
        };
        if name.iter().any(bad) {
            return None;
        }
        let mut buf = [0u8; IFNAMSIZ];
        for (d, s) in buf.iter_mut().zip(name) {
            *d = *s;
        }
        let len = u8::try_from(name.len()).ok()?;
        Some(IfName { buf, len })
    }

    /// The name's bytes (no terminator).
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// The name as a NUL-terminated, NUL-padded C string buffer (for `dev_get_by_name`).
    pub const fn as_c_bytes(&self) -> &[u8; IFNAMSIZ] {
        &self.buf
    }
}

impl core::fmt::Debug for IfName {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "IfName(\"{self}\")")
    }
}

/// Parses an IPv4 address in dotted-quad form (see the module notes for the exact rules).
pub fn parse_ipv4(s: &[u8]) -> Option<[u8; 4]> {
    ipv4_exact(strip_newline(s))
}

/// Parses an IPv6 address in RFC 4291 text form (`::` compression, embedded IPv4 tail,
/// either case; no zone id).
pub fn parse_ipv6(s: &[u8]) -> Option<[u8; 16]> {
    ipv6_exact(strip_newline(s))
}

/// Parses an IPv4 or IPv6 address; the form decides the family (a `:` means IPv6).
pub fn parse_ip(s: &[u8]) -> Option<IpAddr> {
    ip_exact(strip_newline(s))
}

/// Parses a MAC address written `aa:bb:cc:dd:ee:ff`: six pairs of hex digits (either case)
/// separated by `:`.
pub fn parse_mac(s: &[u8]) -> Option<[u8; 6]> {
    mac_exact(strip_newline(s))
}

/// Parses a UDP port: decimal 1 to 65535, no sign, no leading zero.
pub fn parse_port(s: &[u8]) -> Option<u16> {
    port_exact(strip_newline(s))
}

/// Parses a UUID written `8-4-4-4-12` in hex digits (either case), as in
/// `/proc/sys/kernel/random/boot_id`; the bytes are in text order.
pub fn parse_uuid(s: &[u8]) -> Option<[u8; 16]> {
    uuid_exact(strip_newline(s))
}

/// Parses a decimal `u32`: digits only, no sign, no leading zero, at most `u32::MAX`.
pub fn parse_u32_decimal(s: &[u8]) -> Option<u32> {
    u32_exact(strip_newline(s))
}

/// Parses a network interface name (see [`IfName`] for what is valid).
pub fn parse_ifname(s: &[u8]) -> Option<IfName> {
    IfName::new(strip_newline(s))
}
