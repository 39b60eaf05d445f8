//! Frames built by `write_headers`, parsed by an independent parser (etherparse), with both
//! checksums recomputed by etherparse and by a naive RFC 1071 sum written here.

use etherparse::{
    EtherType, IpDscp, IpEcn, IpFragOffset, IpNumber, Ipv6FlowLabel, LinkHeader, NetHeaders,
    PacketHeaders, TransportHeader,
};
use netoops_frame::*;
use proptest::prelude::*;

/// RFC 1071 the simplest way: 32-bit sum of big-endian words, folded at the end.
fn naive_sum(data: &[u8]) -> u16 {
    let mut sum: u64 = 0;
    for pair in data.chunks(2) {
        let hi = u64::from(pair[0]);
        let lo = u64::from(*pair.get(1).unwrap_or(&0));
        sum += (hi << 8) | lo;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

fn ip_pair() -> impl Strategy<Value = IpPair> {
    prop_oneof![
        (any::<[u8; 4]>(), any::<[u8; 4]>()).prop_map(|(src, dst)| IpPair::V4 { src, dst }),
        (any::<[u8; 16]>(), any::<[u8; 16]>()).prop_map(|(src, dst)| IpPair::V6 { src, dst }),
    ]
}

fn endpoints() -> impl Strategy<Value = Endpoints> {
    (
        any::<[u8; 6]>(),
        any::<[u8; 6]>(),
        ip_pair(),
        any::<u16>(),
        any::<u16>(),
    )
        .prop_map(|(src_mac, dst_mac, ip, src_port, dst_port)| Endpoints {
            src_mac,
            dst_mac,
            ip,
            src_port,
            dst_port,
        })
}

fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => proptest::collection::vec(any::<u8>(), 0..=1460),
        1 => proptest::collection::vec(any::<u8>(), 0..=16),
        1 => proptest::collection::vec(any::<u8>(), 8000..=9100),
    ]
}

/// Builds a frame with `slack` extra bytes after it; checks the slack is untouched.
fn build(ep: &Endpoints, payload: &[u8], ip_id: u16, slack: usize) -> Vec<u8> {
    let h = headers_len(&ep.ip);
    let mut buf = vec![0xA5u8; h + payload.len() + slack];
    buf[h..h + payload.len()].copy_from_slice(payload);
    let n = write_headers(&mut buf, ep, payload.len(), ip_id).expect("fits");
    assert_eq!(n, h + payload.len());
    assert!(buf[n..].iter().all(|&b| b == 0xA5), "wrote past the frame");
    buf.truncate(n);
    buf
}

fn check_frame(ep: &Endpoints, payload: &[u8], ip_id: u16, frame: &[u8]) {
    let p = PacketHeaders::from_ethernet_slice(frame).expect("etherparse accepts the frame");
    let Some(LinkHeader::Ethernet2(eth)) = p.link else {
        panic!("no Ethernet II header: {:?}", p.link)
    };
    assert_eq!(eth.source, ep.src_mac);
    assert_eq!(eth.destination, ep.dst_mac);
    assert!(p.link_exts.is_empty());
    let udp_len = (8 + payload.len()) as u16;

    let Some(TransportHeader::Udp(udp)) = p.transport else {
        panic!("no UDP header: {:?}", p.transport)
    };
    assert_eq!(udp.source_port, ep.src_port);
    assert_eq!(udp.destination_port, ep.dst_port);
    assert_eq!(udp.length, udp_len);
    assert_ne!(
        udp.checksum, 0,
        "0 means 'no checksum'; a computed 0 is sent as 0xFFFF"
    );
    assert_eq!(p.payload.slice(), payload);

    let udp_segment = &frame[frame.len() - payload.len() - 8..];
    match (p.net, ep.ip) {
        (Some(NetHeaders::Ipv4(ip, exts)), IpPair::V4 { src, dst }) => {
            assert_eq!(eth.ether_type, EtherType::IPV4);
            assert_eq!(frame[14], 0x45, "version 4, IHL 5");
            assert_eq!(ip.header_len(), 20);
            assert!(ip.options.is_empty());
            assert!(exts.is_empty());
            assert_eq!(ip.dscp, IpDscp::ZERO);
            assert_eq!(ip.ecn, IpEcn::ZERO);
            assert_eq!(ip.total_len, 20 + udp_len);
            assert_eq!(ip.identification, ip_id);
            assert!(!ip.dont_fragment && !ip.more_fragments);
            assert_eq!(ip.fragment_offset, IpFragOffset::ZERO);
            assert_eq!(ip.time_to_live, 64);
            assert_eq!(ip.protocol, IpNumber::UDP);
            assert_eq!(ip.source, src);
            assert_eq!(ip.destination, dst);
            assert_eq!(ip.header_checksum, ip.calc_header_checksum());
            assert_eq!(naive_sum(&frame[14..34]), 0xffff, "IPv4 header sum");
            assert_eq!(
                udp.checksum,
                udp.calc_checksum_ipv4(&ip, payload).expect("fits")
            );
            let mut pseudo = Vec::new();
            pseudo.extend_from_slice(&src);
            pseudo.extend_from_slice(&dst);
            pseudo.extend_from_slice(&[0, 17]);
            pseudo.extend_from_slice(&udp_len.to_be_bytes());
            pseudo.extend_from_slice(udp_segment);
            assert_eq!(
                naive_sum(&pseudo),
                0xffff,
                "UDP sum over the IPv4 pseudo-header"
            );
        }
        (Some(NetHeaders::Ipv6(ip, exts)), IpPair::V6 { src, dst }) => {
            assert_eq!(eth.ether_type, EtherType::IPV6);
            assert!(exts.is_empty());
            assert_eq!(ip.traffic_class, 0);
            assert_eq!(ip.flow_label, Ipv6FlowLabel::ZERO);
            assert_eq!(ip.payload_length, udp_len);
            assert_eq!(ip.next_header, IpNumber::UDP);
            assert_eq!(ip.hop_limit, 32, "netconsole's push_ipv6 hop limit");
            assert_eq!(ip.source, src);
            assert_eq!(ip.destination, dst);
            assert_eq!(
                udp.checksum,
                udp.calc_checksum_ipv6(&ip, payload).expect("fits")
            );
            let mut pseudo = Vec::new();
            pseudo.extend_from_slice(&src);
            pseudo.extend_from_slice(&dst);
            pseudo.extend_from_slice(&u32::from(udp_len).to_be_bytes());
            pseudo.extend_from_slice(&[0, 0, 0, 17]);
            pseudo.extend_from_slice(udp_segment);
            assert_eq!(
                naive_sum(&pseudo),
                0xffff,
                "UDP sum over the IPv6 pseudo-header"
            );
        }
        (net, ip) => panic!("wrong network layer {net:?} for {ip:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn frames_parse_and_checksums_verify(
        ep in endpoints(),
        payload in payload(),
        ip_id in any::<u16>(),
        slack in 0usize..64,
    ) {
        let frame = build(&ep, &payload, ip_id, slack);
        check_frame(&ep, &payload, ip_id, &frame);
    }

    #[test]
    fn short_buffers_are_refused_untouched(
        ep in endpoints(),
        payload_len in 0usize..2000,
        short_by in 1usize..100,
    ) {
        let needed = headers_len(&ep.ip) + payload_len;
        let len = needed.saturating_sub(short_by);
        let mut buf = vec![0x3Cu8; len];
        prop_assert_eq!(
            write_headers(&mut buf, &ep, payload_len, 1),
            Err(FrameError::BufferTooSmall { needed, available: len })
        );
        prop_assert!(buf.iter().all(|&b| b == 0x3C));
    }

    #[test]
    fn max_udp_payload_fits_the_mtu(mtu in prop_oneof![0u32..2000, any::<u32>()], ip in ip_pair()) {
        let got = max_udp_payload(mtu, &ip);
        let ip_len: i64 = if matches!(ip, IpPair::V4 { .. }) { 20 } else { 40 };
        let want = (i64::from(mtu) - ip_len - 8).clamp(0, 1460);
        prop_assert_eq!(got as i64, want);
    }

    #[test]
    fn checksum_in_pieces_equals_naive(
        data in proptest::collection::vec(any::<u8>(), 0..600),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(data.len() + 1)).collect();
        cuts.sort_unstable();
        let mut c = Checksum::new();
        let mut at = 0;
        for cut in cuts {
            c.add_bytes(&data[at..cut]);
            at = cut;
        }
        c.add_bytes(&data[at..]);
        prop_assert_eq!(c.sum(), naive_sum(&data));
        prop_assert_eq!(c.finish(), !naive_sum(&data));
        prop_assert_eq!(internet_checksum(&data), !naive_sum(&data));
    }
}

#[test]
fn largest_payloads() {
    for (ip, max) in [
        (
            IpPair::V4 {
                src: [10, 0, 0, 1],
                dst: [10, 0, 0, 2],
            },
            65507usize,
        ),
        (
            IpPair::V6 {
                src: [0xfd; 16],
                dst: [0xfe; 16],
            },
            65527,
        ),
    ] {
        let ep = Endpoints {
            src_mac: [2; 6],
            dst_mac: [0xff; 6],
            ip,
            src_port: 6665,
            dst_port: 6667,
        };
        let payload: Vec<u8> = (0..max).map(|i| (i * 7) as u8).collect();
        let frame = build(&ep, &payload, 0xffff, 0);
        check_frame(&ep, &payload, 0xffff, &frame);
        let mut buf = vec![0u8; max + 100];
        assert_eq!(
            write_headers(&mut buf, &ep, max + 1, 0),
            Err(FrameError::PayloadTooLong { len: max + 1, max })
        );
    }
}

/// Every UDP checksum value, including the computed-zero case, over a small search.
#[test]
fn computed_zero_checksum_becomes_ffff() {
    let mut seen_zero = 0;
    for w in 0..=u16::MAX {
        let ep = Endpoints {
            src_mac: [2; 6],
            dst_mac: [4; 6],
            ip: IpPair::V6 {
                src: [1; 16],
                dst: [2; 16],
            },
            src_port: 9,
            dst_port: 10,
        };
        let payload = w.to_be_bytes();
        let frame = build(&ep, &payload, 0, 0);
        let check = u16::from_be_bytes([frame[60], frame[61]]);
        assert_ne!(check, 0);
        if check == 0xffff {
            seen_zero += 1;
            check_frame(&ep, &payload, 0, &frame);
        }
    }
    // Exactly one payload word makes the sum ffff (checksum 0, sent as ffff); a sum of 0
    // (true checksum ffff) cannot happen because the pseudo-header is never all zeros.
    assert_eq!(seen_zero, 1);
}
