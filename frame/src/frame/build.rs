//! Ethernet + IPv4/IPv6 + UDP headers in front of a payload, as netconsole builds them.
//!
//! Field values follow the kernel's netconsole (`push_eth`, `push_ipv4`, `push_ipv6`,
//! `push_udp`, formerly `netpoll_send_udp`): IPv4 version 4, IHL 5, TOS 0, identification
//! from the caller, no flags, fragment offset 0, TTL 64, protocol UDP, header checksum;
//! IPv6 version 6, traffic class 0, flow label 0, next header UDP, hop limit 32; the UDP
//! checksum over the IPv4 or IPv6 pseudo-header, a computed 0 sent as 0xFFFF.

use core::fmt;

use super::checksum::{internet_checksum, Checksum};
use super::parse::IpAddr;

/// Length of an Ethernet II header (no VLAN tag).
pub const ETH_HLEN: usize = 14;
/// Length of an IPv4 header without options.
pub const IPV4_HLEN: usize = 20;
/// Length of an IPv6 header without extension headers.
pub const IPV6_HLEN: usize = 40;
/// Length of a UDP header.
pub const UDP_HLEN: usize = 8;
/// The longest header block [`write_headers`] writes (Ethernet + IPv6 + UDP).
pub const MAX_HEADERS_LEN: usize = ETH_HLEN + IPV6_HLEN + UDP_HLEN;
/// Ethertype of IPv4.
pub const ETH_P_IP: u16 = 0x0800;
/// Ethertype of IPv6.
pub const ETH_P_IPV6: u16 = 0x86DD;
/// IP protocol number of UDP.
pub const IPPROTO_UDP: u8 = 17;
/// Time to live of the IPv4 packets (netconsole's `push_ipv4`).
pub const IPV4_TTL: u8 = 64;
/// Hop limit of the IPv6 packets (netconsole's `push_ipv6` sets 32, not 64).
pub const IPV6_HOP_LIMIT: u8 = 32;
/// The largest UDP payload [`max_udp_payload`] ever proposes, whatever the MTU.
pub const MAX_UDP_PAYLOAD: usize = 1460;

/// Source and destination IP addresses of one family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IpPair {
    /// IPv4 source and destination.
    V4 {
        /// Source address, network order.
        src: [u8; 4],
        /// Destination address, network order.
        dst: [u8; 4],
    },
    /// IPv6 source and destination.
    V6 {
        /// Source address, network order.
        src: [u8; 16],
        /// Destination address, network order.
        dst: [u8; 16],
    },
}

impl IpPair {
    /// Pairs two addresses; `None` if their families differ.
    pub const fn from_addrs(src: IpAddr, dst: IpAddr) -> Option<IpPair> {
        match (src, dst) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => Some(IpPair::V4 { src, dst }),
            (IpAddr::V6(src), IpAddr::V6(dst)) => Some(IpPair::V6 { src, dst }),
            _ => None,
        }
    }

    /// The source address.
    pub const fn src(&self) -> IpAddr {
        match *self {
            IpPair::V4 { src, .. } => IpAddr::V4(src),
            IpPair::V6 { src, .. } => IpAddr::V6(src),
        }
    }

    /// The destination address.
    pub const fn dst(&self) -> IpAddr {
        match *self {
            IpPair::V4 { dst, .. } => IpAddr::V4(dst),
            IpPair::V6 { dst, .. } => IpAddr::V6(dst),
        }
    }

    /// Length of the IP header [`write_headers`] writes for this family (20 or 40).
    pub const fn ip_header_len(&self) -> usize {
        match self {
            IpPair::V4 { .. } => IPV4_HLEN,
            IpPair::V6 { .. } => IPV6_HLEN,
        }
    }
}

/// Everything that addresses one frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Endpoints {
    /// Source MAC address (the egress interface's).
    pub src_mac: [u8; 6],
    /// Destination MAC address (the target's, or its gateway's, or broadcast).
    pub dst_mac: [u8; 6],
    /// Source and destination IP addresses.
    pub ip: IpPair,
    /// UDP source port.
    pub src_port: u16,
    /// UDP destination port.
    pub dst_port: u16,
}

/// Why [`write_headers`] refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FrameError {
    /// The frame buffer is shorter than headers + payload.
    BufferTooSmall {
        /// Bytes the frame needs.
        needed: usize,
        /// Bytes the buffer has.
        available: usize,
    },
    /// The payload does not fit the IP and UDP length fields.
    PayloadTooLong {
        /// The payload length asked for.
        len: usize,
        /// The most the length fields allow ([`max_payload_len`]).
        max: usize,
    },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            FrameError::BufferTooSmall { needed, available } => {
                write!(
                    f,
                    "frame buffer too small: {needed} bytes needed, {available} available"
                )
            }
            FrameError::PayloadTooLong { len, max } => {
                write!(f, "UDP payload of {len} bytes too long (at most {max})")
            }
        }
    }
}

/// Bytes of headers in front of the UDP payload: 14 + 20 + 8 for IPv4, 14 + 40 + 8 for IPv6.
pub const fn headers_len(ip: &IpPair) -> usize {
    ETH_HLEN + ip.ip_header_len() + UDP_HLEN
}

/// The longest UDP payload the 16-bit length fields can describe: 65507 bytes over IPv4
/// (IPv4 total length), 65527 over IPv6 (payload length; no jumbograms).
pub const fn max_payload_len(ip: &IpPair) -> usize {
    match ip {
        IpPair::V4 { .. } => 0xFFFF - IPV4_HLEN - UDP_HLEN,
        IpPair::V6 { .. } => 0xFFFF - UDP_HLEN,
    }
}

/// The UDP payload size to use on an interface of MTU `mtu`: `mtu` less the IP and UDP
/// headers, at most [`MAX_UDP_PAYLOAD`]. Saturates: an MTU too small for the headers gives 0.
pub fn max_udp_payload(mtu: u32, ip: &IpPair) -> usize {
    let mtu = usize::try_from(mtu).unwrap_or(usize::MAX);
    mtu.saturating_sub(ip.ip_header_len() + UDP_HLEN)
        .min(MAX_UDP_PAYLOAD)
}

/// Copies `src` into `frame` at `off`; `None` (nothing written) if it does not fit.
fn put(frame: &mut [u8], off: usize, src: &[u8]) -> Option<()> {
    let end = off.checked_add(src.len())?;
    frame.get_mut(off..end)?.copy_from_slice(src);
    Some(())
}

/// Writes the Ethernet, IP and UDP headers in front of a UDP payload and returns the frame
/// length, `headers_len(&ep.ip) + payload_len`.
///
/// The caller has already written the payload at
/// `frame[headers_len(&ep.ip)..headers_len(&ep.ip) + payload_len]`; bytes past the frame
/// length are not touched. `ip_id` is the IPv4 identification (ignored for IPv6). On error
/// nothing is written.
pub fn write_headers(
    frame: &mut [u8],
    ep: &Endpoints,
    payload_len: usize,
    ip_id: u16,
) -> Result<usize, FrameError> {
    let max = max_payload_len(&ep.ip);
    if payload_len > max {
        return Err(FrameError::PayloadTooLong {
            len: payload_len,
            max,
        });
    }
    let hlen = headers_len(&ep.ip);
    // payload_len <= 65527, so neither sum below can overflow.
    let total = hlen + payload_len;
    let udp_len = UDP_HLEN + payload_len;
    let available = frame.len();
    let too_small = FrameError::BufferTooSmall {
        needed: total,
        available,
    };
    let frame = frame.get_mut(..total).ok_or(too_small)?;
    // udp_len <= 0xFFFF by the check above.
    let udp_len16 = u16::try_from(udp_len).unwrap_or(u16::MAX);

    // UDP header, checksum over pseudo-header + UDP header (checksum 0) + payload.
    let [s0, s1] = ep.src_port.to_be_bytes();
    let [d0, d1] = ep.dst_port.to_be_bytes();
    let [l0, l1] = udp_len16.to_be_bytes();
    let mut udp = [s0, s1, d0, d1, l0, l1, 0, 0];
    let mut sum = Checksum::new();
    match &ep.ip {
        IpPair::V4 { src, dst } => {
            sum.add_bytes(src);
            sum.add_bytes(dst);
            sum.add_bytes(&[0, IPPROTO_UDP]);
            sum.add_u16(udp_len16);
        }
        IpPair::V6 { src, dst } => {
            sum.add_bytes(src);
            sum.add_bytes(dst);
            // 32-bit upper-layer length, then three zero bytes and the next header.
            sum.add_bytes(&u32::from(udp_len16).to_be_bytes());
            sum.add_bytes(&[0, 0, 0, IPPROTO_UDP]);
        }
    }
    sum.add_bytes(&udp);
    sum.add_bytes(frame.get(hlen..).unwrap_or(&[]));
    let check = match sum.finish() {
        0 => 0xFFFF,
        c => c,
    };
    let [c0, c1] = check.to_be_bytes();
    udp[6] = c0;
    udp[7] = c1;

    // Ethernet header.
    let ethertype = match ep.ip {
        IpPair::V4 { .. } => ETH_P_IP,
        IpPair::V6 { .. } => ETH_P_IPV6,
    };
    let fits = put(frame, 0, &ep.dst_mac)
        .and_then(|()| put(frame, 6, &ep.src_mac))
        .and_then(|()| put(frame, 12, &ethertype.to_be_bytes()));

    // IP header.
    let fits = fits.and_then(|()| match &ep.ip {
        IpPair::V4 { src, dst } => {
            // IPV4_HLEN + udp_len <= 0xFFFF by the check above.
            let total_len = u16::try_from(IPV4_HLEN + udp_len).unwrap_or(u16::MAX);
            let [t0, t1] = total_len.to_be_bytes();
            let [i0, i1] = ip_id.to_be_bytes();
            let mut ip = [
                0x45,
                0,
                t0,
                t1,
                i0,
                i1,
                0,
                0,
                IPV4_TTL,
                IPPROTO_UDP,
                0,
                0,
                src[0],
                src[1],
                src[2],
                src[3],
                dst[0],
                dst[1],
                dst[2],
                dst[3],
            ];
            let [c0, c1] = internet_checksum(&ip).to_be_bytes();
            ip[10] = c0;
            ip[11] = c1;
            put(frame, ETH_HLEN, &ip)
        }
        IpPair::V6 { src, dst } => {
            let [p0, p1] = udp_len16.to_be_bytes();
            put(
                frame,
                ETH_HLEN,
                &[0x60, 0, 0, 0, p0, p1, IPPROTO_UDP, IPV6_HOP_LIMIT],
            )
            .and_then(|()| put(frame, ETH_HLEN + 8, src))
            .and_then(|()| put(frame, ETH_HLEN + 24, dst))
        }
    });

    // UDP header.
    fits.and_then(|()| put(frame, hlen - UDP_HLEN, &udp))
        .map(|()| total)
        .ok_or(too_small)
}
