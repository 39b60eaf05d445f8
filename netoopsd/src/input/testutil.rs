//! Builders for test captures.

/// An IPv4 header (no options, checksum computed) plus UDP header and payload.
pub(crate) fn ipv4_udp(payload: &[u8]) -> Vec<u8> {
    let total = 20 + 8 + payload.len();
    let mut ip = vec![
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0,
        1,
        0,
        0,
        64,
        17,
        0,
        0,
        10,
        0,
        2,
        15,
        10,
        0,
        2,
        2,
    ];
    let mut sum = 0u32;
    for w in ip.chunks(2) {
        sum += u32::from(u16::from_be_bytes([w[0], w[1]]));
    }
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    let c = !(sum as u16);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    ip.extend_from_slice(&udp(payload));
    ip
}

fn udp(payload: &[u8]) -> Vec<u8> {
    let len = 8 + payload.len();
    let mut u = vec![0x1a, 0x0a, 0x19, 0x9a, (len >> 8) as u8, len as u8, 0, 0];
    u.extend_from_slice(payload);
    u
}

/// Ethernet II + IPv4 + UDP.
pub(crate) fn eth_ipv4_udp(payload: &[u8]) -> Vec<u8> {
    let mut f = vec![
        0x52, 0x54, 0, 0x12, 0x34, 0x56, 0x52, 0x54, 0, 0x12, 0x34, 0x57, 0x08, 0x00,
    ];
    f.extend_from_slice(&ipv4_udp(payload));
    f
}

/// Ethernet II + IPv6 + UDP.
pub(crate) fn eth_ipv6_udp(payload: &[u8]) -> Vec<u8> {
    let mut f = vec![
        0x52, 0x54, 0, 0x12, 0x34, 0x56, 0x52, 0x54, 0, 0x12, 0x34, 0x57, 0x86, 0xdd,
    ];
    let plen = 8 + payload.len();
    f.extend_from_slice(&[0x60, 0, 0, 0, (plen >> 8) as u8, plen as u8, 17, 64]);
    f.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    f.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    f.extend_from_slice(&udp(payload));
    f
}

/// A classic pcap file; `big` for big-endian, `nanos` for the nanosecond magic.
pub(crate) fn pcap(frames: &[Vec<u8>], big: bool, nanos: bool) -> Vec<u8> {
    let w32 = |v: u32| {
        if big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let w16 = |v: u16| {
        if big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let mut out = Vec::new();
    out.extend_from_slice(&w32(if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 }));
    out.extend_from_slice(&w16(2));
    out.extend_from_slice(&w16(4));
    out.extend_from_slice(&w32(0));
    out.extend_from_slice(&w32(0));
    out.extend_from_slice(&w32(65535));
    out.extend_from_slice(&w32(1));
    for (i, f) in frames.iter().enumerate() {
        out.extend_from_slice(&w32(1_767_225_600 + i as u32));
        out.extend_from_slice(&w32(0));
        out.extend_from_slice(&w32(f.len() as u32));
        out.extend_from_slice(&w32(f.len() as u32));
        out.extend_from_slice(f);
    }
    out
}

/// A pcapng file (one section, one Ethernet interface, enhanced packet blocks).
pub(crate) fn pcapng(frames: &[Vec<u8>], big: bool) -> Vec<u8> {
    let w32 = |v: u32| {
        if big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let w16 = |v: u16| {
        if big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let mut out = Vec::new();
    // Section header block.
    out.extend_from_slice(&[0x0a, 0x0d, 0x0d, 0x0a]);
    out.extend_from_slice(&w32(28));
    out.extend_from_slice(&w32(0x1a2b_3c4d));
    out.extend_from_slice(&w16(1));
    out.extend_from_slice(&w16(0));
    out.extend_from_slice(&(-1i64).to_le_bytes());
    out.extend_from_slice(&w32(28));
    // Interface description block.
    out.extend_from_slice(&w32(1));
    out.extend_from_slice(&w32(20));
    out.extend_from_slice(&w16(1));
    out.extend_from_slice(&w16(0));
    out.extend_from_slice(&w32(0));
    out.extend_from_slice(&w32(20));
    for f in frames {
        let pad = (4 - f.len() % 4) % 4;
        let len = 32 + f.len() + pad;
        out.extend_from_slice(&w32(6));
        out.extend_from_slice(&w32(len as u32));
        out.extend_from_slice(&w32(0));
        out.extend_from_slice(&w32(0));
        out.extend_from_slice(&w32(0));
        out.extend_from_slice(&w32(f.len() as u32));
        out.extend_from_slice(&w32(f.len() as u32));
        out.extend_from_slice(f);
        out.extend(std::iter::repeat_n(0u8, pad));
        out.extend_from_slice(&w32(len as u32));
    }
    out
}
