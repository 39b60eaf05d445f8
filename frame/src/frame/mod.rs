//! Ethernet/IPv4/IPv6/UDP frame building and strict configuration text handling for netoops.
//!
//! This directory is compiled twice: as the `frame` module of the `netoops-frame` crate (used
//! by the host tests) and as a module of the kernel crate, which includes it with
//! `#[path = "frame/src/frame/mod.rs"] mod frame;`. Hence the rules for everything under it:
//! `core` only, no allocation, no `unsafe`, no floats, no inner attributes, only relative
//! (`super::`/`self::`) paths, and no operation that can panic on any input.
//!
//! * Frames: the caller writes a UDP payload at [`headers_len`] into its buffer, then
//!   [`write_headers`] puts the Ethernet, IPv4 or IPv6 and UDP headers (with both checksums)
//!   in front of it, field for field as the kernel's netconsole does.
//!   [`max_udp_payload`] says how much payload fits an interface MTU. The checksum itself is
//!   [`internet_checksum`] / [`Checksum`] (RFC 1071).
//! * Text in: [`parse_ipv4`], [`parse_ipv6`], [`parse_ip`], [`parse_mac`], [`parse_port`],
//!   [`parse_uuid`], [`parse_u32_decimal`], [`parse_ifname`] take one configfs value each (one
//!   trailing `\n`, as `echo` writes, is ignored; anything else extra is an error).
//!   [`parse_targets`] reads netconsole's `[+][r][src-port]@[src-ip]/[dev],[tgt-port]@tgt-ip/[tgt-mac]`
//!   target list (`;`-separated) into [`TargetSpec`]s.
//! * Text out: [`Ipv4Display`], [`Ipv6Display`] (RFC 5952), [`IpDisplay`], [`MacDisplay`],
//!   [`UuidDisplay`] and the `Display` of [`TargetSpec`] give the canonical forms, which the
//!   parsers read back to the same value.

mod build;
mod checksum;
mod format;
mod parse;
mod target;
#[cfg(test)]
mod tests;

#[allow(unused_imports)]
pub use self::build::{
    headers_len, max_payload_len, max_udp_payload, write_headers, Endpoints, FrameError, IpPair,
    ETH_HLEN, ETH_P_IP, ETH_P_IPV6, IPPROTO_UDP, IPV4_HLEN, IPV4_TTL, IPV6_HLEN, IPV6_HOP_LIMIT,
    MAX_HEADERS_LEN, MAX_UDP_PAYLOAD, UDP_HLEN,
};
#[allow(unused_imports)]
pub use self::checksum::{internet_checksum, Checksum};
#[allow(unused_imports)]
pub use self::format::{IpDisplay, Ipv4Display, Ipv6Display, MacDisplay, UuidDisplay};
#[allow(unused_imports)]
pub use self::parse::{
    parse_ifname, parse_ip, parse_ipv4, parse_ipv6, parse_mac, parse_port, parse_u32_decimal,
    parse_uuid, IfName, IpAddr, IFNAMSIZ,
};
#[allow(unused_imports)]
pub use self::target::{
    parse_targets, Device, SpecError, SpecErrorKind, TargetSpec, Targets, DEFAULT_DEV,
    DEFAULT_SRC_PORT, DEFAULT_TGT_PORT,
};
