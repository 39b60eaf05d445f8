//! netconsole's target syntax, for the boot-time module parameter.
//!
//! ```text
//! [+][r][src-port]@[src-ip]/[dev],[tgt-port]@<tgt-ip>/[tgt-macaddr]
//! ```
//!
//! Several targets are separated by `;`. Each field follows netconsole's
//! `netconsole_parser_cmdline`, with the strict value rules of the parsers in this module
//! (netconsole itself takes `+7` or `007` as a port, `010.0.0.1` as an address, and silently
//! truncates a long device name; here each of those is an error):
//!
//! * `+` extended and `r` release flags, in that order; `r` requires `+` (as in netconsole);
//! * `src-port`: empty means [`DEFAULT_SRC_PORT`];
//! * `src-ip`: empty means none (the kernel side takes the interface's address);
//! * `dev`: empty means [`DEFAULT_DEV`]; an interface name, or, if it contains a `:`, the MAC
//!   address of the interface (as netconsole accepts since 6.14);
//! * `tgt-port`: empty means [`DEFAULT_TGT_PORT`] (6667; netconsole's default is 6666);
//! * `tgt-ip`: required, IPv4 or IPv6, of the same family as `src-ip` when both are given;
//! * `tgt-macaddr`: empty means none (the kernel side resolves it or broadcasts).
//!
//! The `/` after `tgt-ip` is required, as in netconsole. One trailing `\n` after the whole
//! list is ignored. An empty list has no targets; an empty target (`a;;b`, a trailing `;`)
//! is an error.

use core::fmt;

use super::format::{IpDisplay, MacDisplay};
use super::parse::{ip_exact, mac_exact, port_exact, strip_newline, IfName, IpAddr, IFNAMSIZ};

/// Source UDP port when the target leaves it empty (netconsole's default).
pub const DEFAULT_SRC_PORT: u16 = 6665;
/// Destination UDP port when the target leaves it empty. netoops' own default: netconsole's
/// is 6666, and netoops reports should not land in a netconsole listener.
pub const DEFAULT_TGT_PORT: u16 = 6667;
/// Interface name when the target leaves it empty (netconsole's default).
pub const DEFAULT_DEV: &[u8] = b"eth0";

/// How a target names its egress interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Device {
    /// By interface name.
    Name(IfName),
    /// By the interface's MAC address.
    Mac([u8; 6]),
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Name(name) => fmt::Display::fmt(name, f),
            Device::Mac(mac) => fmt::Display::fmt(&MacDisplay(*mac), f),
        }
    }
}

/// One parsed target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TargetSpec {
    /// `+`: netconsole's extended console format (recorded; netoops sends its own format).
    pub extended: bool,
    /// `r`: netconsole's kernel release prefix (recorded; requires `extended`).
    pub release: bool,
    /// UDP source port.
    pub src_port: u16,
    /// Source address, `None` when left empty.
    pub src_ip: Option<IpAddr>,
    /// Egress interface.
    pub dev: Device,
    /// UDP destination port.
    pub tgt_port: u16,
    /// Destination address (same family as `src_ip` when that is given).
    pub tgt_ip: IpAddr,
    /// Destination MAC address, `None` when left empty.
    pub tgt_mac: Option<[u8; 6]>,
}

/// Shows the target in full netconsole syntax (defaults written out, empty optional fields
/// left empty); [`parse_targets`] reads it back to the same value.
impl fmt::Display for TargetSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.extended {
            f.write_str("+")?;
        }
        if self.release {
            f.write_str("r")?;
        }
        write!(f, "{}@", self.src_port)?;
        if let Some(ip) = self.src_ip {
            write!(f, "{}", IpDisplay(ip))?;
        }
        write!(
            f,
            "/{},{}@{}/",
            self.dev,
            self.tgt_port,
            IpDisplay(self.tgt_ip)
        )?;
        if let Some(mac) = self.tgt_mac {
            write!(f, "{}", MacDisplay(mac))?;
        }
        Ok(())
    }
}

/// Which part of a target is wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SpecErrorKind {
    /// Nothing between two `;` (or after the last one).
    EmptyTarget,
    /// `r` without `+` before it.
    ReleaseWithoutExtended,
    /// A required separator (`@`, `/` or `,`) is missing from the rest of the target.
    MissingSeparator(u8),
    /// The source port is not a decimal 1 to 65535.
    BadSrcPort,
    /// The source address is neither IPv4 nor IPv6.
    BadSrcIp,
    /// The interface name is invalid (`.`, `..`, white space, `/`, NUL).
    BadDevName,
    /// The interface name has more than 15 bytes.
    DevNameTooLong,
    /// The device field contains `:` but is not a MAC address.
    BadDevMac,
    /// The destination port is not a decimal 1 to 65535.
    BadTgtPort,
    /// The destination address is empty.
    MissingTgtIp,
    /// The destination address is neither IPv4 nor IPv6.
    BadTgtIp,
    /// Source and destination addresses are of different families.
    MixedFamilies,
    /// The destination MAC address is not `aa:bb:cc:dd:ee:ff`.
    BadTgtMac,
}

/// A target that does not parse: what is wrong and where.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SpecError {
    /// What is wrong.
    pub kind: SpecErrorKind,
    /// Byte offset, in the whole parameter string, of the start of the wrong field (for a
    /// missing separator, of the text searched for it).
    pub offset: usize,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            SpecErrorKind::EmptyTarget => "empty target",
            SpecErrorKind::ReleaseWithoutExtended => "'r' needs '+' before it",
            SpecErrorKind::MissingSeparator(b'@') => "missing '@'",
            SpecErrorKind::MissingSeparator(b'/') => "missing '/'",
            SpecErrorKind::MissingSeparator(b',') => "missing ','",
            SpecErrorKind::MissingSeparator(_) => "missing separator",
            SpecErrorKind::BadSrcPort => "bad source port",
            SpecErrorKind::BadSrcIp => "bad source IP address",
            SpecErrorKind::BadDevName => "bad interface name",
            SpecErrorKind::DevNameTooLong => "interface name longer than 15 bytes",
            SpecErrorKind::BadDevMac => "bad interface MAC address",
            SpecErrorKind::BadTgtPort => "bad target port",
            SpecErrorKind::MissingTgtIp => "missing target IP address",
            SpecErrorKind::BadTgtIp => "bad target IP address",
            SpecErrorKind::MixedFamilies => "source and target IP addresses of different families",
            SpecErrorKind::BadTgtMac => "bad target MAC address",
        };
        write!(f, "{what} at offset {}", self.offset)
    }
}

/// Iterator over the targets of a `;`-separated list; see [`parse_targets`].
#[derive(Clone, Debug)]
pub struct Targets<'a> {
    rest: Option<&'a [u8]>,
    offset: usize,
}

impl<'a> Iterator for Targets<'a> {
    type Item = Result<TargetSpec, SpecError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.rest?;
        let start = self.offset;
        let one = match rest.iter().position(|&b| b == b';') {
            Some(i) => {
                self.rest = rest.get(i.checked_add(1)?..);
                self.offset = start.saturating_add(i).saturating_add(1);
                rest.get(..i)?
            }
            None => {
                self.rest = None;
                rest
            }
        };
        Some(parse_one(one, start))
    }
}

/// Parses a `;`-separated list of netconsole targets (one trailing `\n` ignored): one item per
/// target, in order, each either a [`TargetSpec`] or the [`SpecError`] of its first bad field.
/// An empty string has no targets.
pub fn parse_targets(s: &[u8]) -> Targets<'_> {
    let s = strip_newline(s);
    Targets {
        rest: if s.is_empty() { None } else { Some(s) },
        offset: 0,
    }
}

/// A target being read: the text and its offset in the whole string.
struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Cursor<'a> {
    fn err(&self, kind: SpecErrorKind, at: usize) -> SpecError {
        SpecError {
            kind,
            offset: self.base.saturating_add(at),
        }
    }

    /// The field up to `sep` (excluded) and its offset; moves past `sep`.
    fn field(&mut self, sep: u8) -> Result<(&'a [u8], usize), SpecError> {
        let at = self.pos;
        let missing = self.err(SpecErrorKind::MissingSeparator(sep), at);
        let rest = self.s.get(at..).ok_or(missing)?;
        let len = rest.iter().position(|&b| b == sep).ok_or(missing)?;
        let field = rest.get(..len).ok_or(missing)?;
        self.pos = at.saturating_add(len).saturating_add(1);
        Ok((field, at))
    }

    /// Everything left.
    fn rest(&mut self) -> (&'a [u8], usize) {
        let at = self.pos;
        self.pos = self.s.len();
        (self.s.get(at..).unwrap_or(&[]), at)
    }
}

fn parse_one(s: &[u8], base: usize) -> Result<TargetSpec, SpecError> {
    let mut c = Cursor { s, pos: 0, base };
    if s.is_empty() {
        return Err(c.err(SpecErrorKind::EmptyTarget, 0));
    }
    let extended = s.first() == Some(&b'+');
    if extended {
        c.pos = 1;
    }
    let release = s.get(c.pos) == Some(&b'r');
    if release {
        if !extended {
            return Err(c.err(SpecErrorKind::ReleaseWithoutExtended, c.pos));
        }
        c.pos += 1;
    }

    let (field, at) = c.field(b'@')?;
    let src_port = match field {
        [] => DEFAULT_SRC_PORT,
        p => port_exact(p).ok_or(c.err(SpecErrorKind::BadSrcPort, at))?,
    };

    let (field, at) = c.field(b'/')?;
    let src_ip = match field {
        [] => None,
        ip => Some(ip_exact(ip).ok_or(c.err(SpecErrorKind::BadSrcIp, at))?),
    };

    let (field, at) = c.field(b',')?;
    let dev = if field.is_empty() {
        Device::Name(IfName::new(DEFAULT_DEV).ok_or(c.err(SpecErrorKind::BadDevName, at))?)
    } else if field.contains(&b':') {
        Device::Mac(mac_exact(field).ok_or(c.err(SpecErrorKind::BadDevMac, at))?)
    } else if field.len() >= IFNAMSIZ {
        return Err(c.err(SpecErrorKind::DevNameTooLong, at));
    } else {
        Device::Name(IfName::new(field).ok_or(c.err(SpecErrorKind::BadDevName, at))?)
    };

    let (field, at) = c.field(b'@')?;
    let tgt_port = match field {
        [] => DEFAULT_TGT_PORT,
        p => port_exact(p).ok_or(c.err(SpecErrorKind::BadTgtPort, at))?,
    };

    let (field, at) = c.field(b'/')?;
    if field.is_empty() {
        return Err(c.err(SpecErrorKind::MissingTgtIp, at));
    }
    let tgt_ip = ip_exact(field).ok_or(c.err(SpecErrorKind::BadTgtIp, at))?;
    if let Some(src) = src_ip {
        if src.is_ipv6() != tgt_ip.is_ipv6() {
            return Err(c.err(SpecErrorKind::MixedFamilies, at));
        }
    }

    let (field, at) = c.rest();
    let tgt_mac = match field {
        [] => None,
        m => Some(mac_exact(m).ok_or(c.err(SpecErrorKind::BadTgtMac, at))?),
    };

    Ok(TargetSpec {
        extended,
        release,
        src_port,
        src_ip,
        dev,
        tgt_port,
        tgt_ip,
        tgt_mac,
    })
}
