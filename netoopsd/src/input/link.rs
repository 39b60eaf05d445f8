//! From a captured link-layer frame to its UDP payload (Ethernet, VLAN, IPv4, IPv6, UDP
//! parsed by `etherparse`; IP fragments are not reassembled).

use etherparse::{SlicedPacket, TransportSlice};

/// Link types (pcap `LINKTYPE_*`) understood here.
pub(crate) const NULL: u32 = 0;
pub(crate) const ETHERNET: u32 = 1;
pub(crate) const RAW: u32 = 101;
pub(crate) const LOOP: u32 = 108;
pub(crate) const LINUX_SLL: u32 = 113;
pub(crate) const IPV4: u32 = 228;
pub(crate) const IPV6: u32 = 229;
pub(crate) const LINUX_SLL2: u32 = 276;

/// Whether frames of this link type can be decoded.
pub(crate) fn supported(linktype: u32) -> bool {
    matches!(
        linktype & 0xFFFF,
        NULL | ETHERNET | RAW | 12 | 14 | LOOP | LINUX_SLL | IPV4 | IPV6 | LINUX_SLL2
    )
}

/// The UDP payload of `frame` and its offset within `frame`, if it is a UDP datagram.
pub(crate) fn udp_payload(linktype: u32, frame: &[u8]) -> Option<(usize, &[u8])> {
    let sliced = match linktype & 0xFFFF {
        ETHERNET => SlicedPacket::from_ethernet(frame),
        RAW | 12 | 14 | IPV4 | IPV6 => SlicedPacket::from_ip(frame),
        NULL | LOOP => SlicedPacket::from_ip(frame.get(4..)?),
        LINUX_SLL => SlicedPacket::from_linux_sll(frame),
        LINUX_SLL2 => {
            let proto = u16::from_be_bytes([*frame.first()?, *frame.get(1)?]);
            if proto != 0x0800 && proto != 0x86DD {
                return None;
            }
            SlicedPacket::from_ip(frame.get(20..)?)
        }
        _ => return None,
    }
    .ok()?;
    match sliced.transport? {
        TransportSlice::Udp(udp) => {
            let payload = udp.payload();
            let off = (payload.as_ptr() as usize).checked_sub(frame.as_ptr() as usize)?;
            Some((off, payload))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::testutil::{eth_ipv4_udp, eth_ipv6_udp, ipv4_udp};

    #[test]
    fn ethernet_ipv4_udp() {
        let f = eth_ipv4_udp(b"NtOp-payload");
        assert_eq!(udp_payload(ETHERNET, &f), Some((42, &b"NtOp-payload"[..])));
    }

    #[test]
    fn ethernet_padding_is_not_payload() {
        let mut f = eth_ipv4_udp(b"tiny");
        f.resize(60, 0);
        assert_eq!(udp_payload(ETHERNET, &f), Some((42, &b"tiny"[..])));
    }

    #[test]
    fn ethernet_ipv6_udp() {
        let f = eth_ipv6_udp(b"NtOp6");
        assert_eq!(udp_payload(ETHERNET, &f), Some((62, &b"NtOp6"[..])));
    }

    #[test]
    fn raw_ip_null_and_sll2() {
        let ip = ipv4_udp(b"abc");
        assert_eq!(udp_payload(RAW, &ip), Some((28, &b"abc"[..])));
        let mut null = vec![2, 0, 0, 0];
        null.extend_from_slice(&ip);
        assert_eq!(udp_payload(NULL, &null), Some((32, &b"abc"[..])));
        let mut sll2 = vec![0x08, 0x00];
        sll2.resize(20, 0);
        sll2.extend_from_slice(&ip);
        assert_eq!(udp_payload(LINUX_SLL2, &sll2), Some((48, &b"abc"[..])));
    }

    #[test]
    fn non_udp_and_garbage() {
        let mut f = eth_ipv4_udp(b"x");
        f[23] = 6; // TCP
        assert_eq!(udp_payload(ETHERNET, &f), None);
        assert_eq!(udp_payload(ETHERNET, &[1, 2, 3]), None);
        assert_eq!(udp_payload(9999, &eth_ipv4_udp(b"x")), None);
    }

    #[test]
    fn ipv4_fragments_are_skipped() {
        let mut f = eth_ipv4_udp(b"fragment");
        f[20] = 0x20; // more fragments
        assert_eq!(udp_payload(ETHERNET, &f), None);
    }
}
