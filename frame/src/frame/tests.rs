//! Unit tests: known answers and edge cases (core only, like the rest of `frame`). The
//! property tests against independent implementations are in `frame/tests/`.

use core::fmt::Write;

use super::*;

/// Decodes a hex string at compile time of the test (panics on bad input: tests only).
fn hex<const N: usize>(s: &str) -> [u8; N] {
    let s = s.as_bytes();
    assert_eq!(s.len(), 2 * N, "hex length");
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        let d = |c: u8| (c as char).to_digit(16).expect("hex digit") as u8;
        *o = (d(s[2 * i]) << 4) | d(s[2 * i + 1]);
    }
    out
}

/// Formats into a fixed buffer and compares.
fn shows(v: impl core::fmt::Display, expected: &str) {
    struct Buf([u8; 128], usize);
    impl Write for Buf {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            let end = self.1 + s.len();
            self.0
                .get_mut(self.1..end)
                .ok_or(core::fmt::Error)?
                .copy_from_slice(s.as_bytes());
            self.1 = end;
            Ok(())
        }
    }
    let mut b = Buf([0; 128], 0);
    write!(b, "{v}").expect("fits");
    assert_eq!(core::str::from_utf8(&b.0[..b.1]).expect("utf8"), expected);
}

const SRC_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
const DST_MAC: [u8; 6] = [2, 0, 0, 0, 0, 2];

fn build(ep: &Endpoints, payload: &[u8], ip_id: u16) -> ([u8; 256], usize) {
    let mut buf = [0xAAu8; 256];
    let h = headers_len(&ep.ip);
    buf[h..h + payload.len()].copy_from_slice(payload);
    let n = write_headers(&mut buf, ep, payload.len(), ip_id).expect("fits");
    (buf, n)
}

// ---- checksum -------------------------------------------------------------------------------

#[test]
fn rfc1071_example() {
    // RFC 1071 section 3: the sum of 0001 f203 f4f5 f6f7 is ddf2, the checksum 220d.
    let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
    assert_eq!(internet_checksum(&data), 0x220d);
    let mut c = Checksum::new();
    c.add_bytes(&data);
    assert_eq!(c.sum(), 0xddf2);
}

#[test]
fn checksum_pieces_equal_whole() {
    let data: [u8; 13] = [
        0xff, 0x01, 0x80, 0x00, 0x7f, 0xfe, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde,
    ];
    let whole = internet_checksum(&data);
    for cut1 in 0..=data.len() {
        for cut2 in cut1..=data.len() {
            let mut c = Checksum::new();
            c.add_bytes(&data[..cut1]);
            c.add_bytes(&[]);
            c.add_bytes(&data[cut1..cut2]);
            c.add_bytes(&data[cut2..]);
            assert_eq!(c.finish(), whole, "cuts {cut1} {cut2}");
        }
    }
    // Odd length: the last byte is padded with zero.
    assert_eq!(internet_checksum(&[0x12]), !0x1200);
    assert_eq!(internet_checksum(&[]), 0xffff);
    // End-around carry: ffff + 0001 = 0001.
    assert_eq!(internet_checksum(&[0xff, 0xff, 0x00, 0x01]), !0x0001);
    // A block holding its own correct checksum sums to ffff (checksum 0).
    let mut hdr = hex::<20>(concat!("45000023123400004011", "0000", "c0000201c6336407"));
    let [a, b] = internet_checksum(&hdr).to_be_bytes();
    hdr[10] = a;
    hdr[11] = b;
    assert_eq!(internet_checksum(&hdr), 0);
}

// ---- frames: known answers (computed independently by frame/tests/known_answers.py) -------

#[test]
fn ipv4_frame_known_answer() {
    let ep = Endpoints {
        src_mac: SRC_MAC,
        dst_mac: DST_MAC,
        ip: IpPair::V4 {
            src: [192, 0, 2, 1],
            dst: [198, 51, 100, 7],
        },
        src_port: 6665,
        dst_port: 6667,
    };
    let (buf, n) = build(&ep, b"netoops", 0x1234);
    let expected: [u8; 49] = hex(concat!(
        "020000000002020000000001",
        "0800",
        "450000231234000040117c5ac0000201c6336407",
        "1a091a0b000f1a3a",
        "6e65746f6f7073"
    ));
    assert_eq!(n, 49);
    assert_eq!(buf[..n], expected);
    assert!(buf[n..].iter().all(|&b| b == 0xAA), "wrote past the frame");
}

#[test]
fn ipv6_frame_known_answer() {
    let mut src = [0u8; 16];
    src[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
    let mut dst = src;
    src[15] = 1;
    dst[15] = 2;
    let ep = Endpoints {
        src_mac: SRC_MAC,
        dst_mac: DST_MAC,
        ip: IpPair::V6 { src, dst },
        src_port: 6665,
        dst_port: 6667,
    };
    let (buf, n) = build(&ep, b"netoops!\n", 0xBEEF);
    let expected: [u8; 71] = hex(concat!(
        "020000000002020000000001",
        "86dd",
        "6000000000111120",
        "20010db8000000000000000000000001",
        "20010db8000000000000000000000002",
        "1a091a0b0011a0dc",
        "6e65746f6f7073210a"
    ));
    assert_eq!(n, 71);
    assert_eq!(buf[..n], expected);
}

#[test]
fn zero_udp_checksum_is_sent_as_ffff() {
    // A payload chosen so that the UDP sum is ffff, i.e. the computed checksum is 0.
    let ep = Endpoints {
        src_mac: SRC_MAC,
        dst_mac: DST_MAC,
        ip: IpPair::V4 {
            src: [10, 0, 0, 1],
            dst: [10, 0, 0, 2],
        },
        src_port: 1,
        dst_port: 2,
    };
    let (buf, n) = build(&ep, &[0xeb, 0xd4], 7);
    let expected: [u8; 44] = hex(concat!(
        "020000000002020000000001",
        "0800",
        "4500001e00070000401166c60a0000010a000002",
        "00010002000affff",
        "ebd4"
    ));
    assert_eq!(buf[..n], expected);
}

#[test]
fn frame_errors_write_nothing() {
    let v4 = IpPair::V4 {
        src: [1; 4],
        dst: [2; 4],
    };
    let v6 = IpPair::V6 {
        src: [1; 16],
        dst: [2; 16],
    };
    let ep = |ip| Endpoints {
        src_mac: SRC_MAC,
        dst_mac: DST_MAC,
        ip,
        src_port: 1,
        dst_port: 2,
    };
    let mut buf = [0x55u8; 100];
    assert_eq!(
        write_headers(&mut buf, &ep(v4), 59, 0),
        Err(FrameError::BufferTooSmall {
            needed: 101,
            available: 100
        })
    );
    assert_eq!(
        write_headers(&mut buf, &ep(v6), 39, 0),
        Err(FrameError::BufferTooSmall {
            needed: 101,
            available: 100
        })
    );
    assert_eq!(write_headers(&mut buf, &ep(v4), 58, 0), Ok(100));
    let mut buf = [0x55u8; 10];
    assert_eq!(
        write_headers(&mut buf, &ep(v4), 65508, 0),
        Err(FrameError::PayloadTooLong {
            len: 65508,
            max: 65507
        })
    );
    assert_eq!(
        write_headers(&mut buf, &ep(v6), 65528, 0),
        Err(FrameError::PayloadTooLong {
            len: 65528,
            max: 65527
        })
    );
    assert_eq!(
        write_headers(&mut buf, &ep(v6), usize::MAX, 0),
        Err(FrameError::PayloadTooLong {
            len: usize::MAX,
            max: 65527
        })
    );
    assert_eq!(
        write_headers(&mut buf, &ep(v6), 0, 0),
        Err(FrameError::BufferTooSmall {
            needed: 62,
            available: 10
        })
    );
    assert!(buf.iter().all(|&b| b == 0x55));
}

#[test]
fn sizes() {
    let v4 = IpPair::V4 {
        src: [0; 4],
        dst: [0; 4],
    };
    let v6 = IpPair::V6 {
        src: [0; 16],
        dst: [0; 16],
    };
    assert_eq!(headers_len(&v4), 42);
    assert_eq!(headers_len(&v6), 62);
    assert_eq!(MAX_HEADERS_LEN, 62);
    assert_eq!(max_udp_payload(1500, &v4), 1460);
    assert_eq!(max_udp_payload(1500, &v6), 1452);
    assert_eq!(max_udp_payload(1280, &v6), 1232);
    assert_eq!(max_udp_payload(576, &v4), 548);
    assert_eq!(max_udp_payload(9000, &v6), 1460);
    assert_eq!(max_udp_payload(28, &v4), 0);
    assert_eq!(max_udp_payload(29, &v4), 1);
    assert_eq!(max_udp_payload(47, &v6), 0);
    assert_eq!(max_udp_payload(0, &v6), 0);
    assert_eq!(max_udp_payload(u32::MAX, &v4), 1460);
    assert_eq!(max_payload_len(&v4), 65507);
    assert_eq!(max_payload_len(&v6), 65527);
    assert_eq!(
        IpPair::from_addrs(IpAddr::V4([1; 4]), IpAddr::V4([2; 4])),
        Some(IpPair::V4 {
            src: [1; 4],
            dst: [2; 4]
        })
    );
    assert_eq!(
        IpPair::from_addrs(IpAddr::V4([1; 4]), IpAddr::V6([2; 16])),
        None
    );
    assert_eq!(v6.src(), IpAddr::V6([0; 16]));
}

// ---- parsing ------------------------------------------------------------------------------

#[test]
fn ipv4_rules() {
    assert_eq!(parse_ipv4(b"10.0.0.1"), Some([10, 0, 0, 1]));
    assert_eq!(parse_ipv4(b"255.255.255.255\n"), Some([255; 4]));
    assert_eq!(parse_ipv4(b"0.0.0.0"), Some([0; 4]));
    for bad in [
        &b""[..],
        b"\n",
        b"10.0.0.1\n\n",
        b"10.0.0.1 ",
        b" 10.0.0.1",
        b"10.0.0",
        b"10.0.0.1.2",
        b"10..0.1",
        b".10.0.0",
        b"10.0.0.",
        b"256.0.0.1",
        b"01.0.0.1",
        b"10.00.0.1",
        b"+1.2.3.4",
        b"1.2.3.4\0",
        b"1.2.3.1000",
        b"0x1.2.3.4",
        b"10",
        b"1.2.3.-4",
        b"1.2.3.4\r\n",
    ] {
        assert_eq!(parse_ipv4(bad), None, "{:?}", bad);
    }
}

#[test]
fn ipv6_rules() {
    let loopback = {
        let mut a = [0u8; 16];
        a[15] = 1;
        a
    };
    assert_eq!(parse_ipv6(b"::1\n"), Some(loopback));
    assert_eq!(parse_ipv6(b"::"), Some([0; 16]));
    assert_eq!(parse_ipv6(b"0:0:0:0:0:0:0:1"), Some(loopback));
    assert_eq!(
        parse_ipv6(b"0000:0000:0000:0000:0000:0000:0000:0001"),
        Some(loopback)
    );
    assert_eq!(
        parse_ipv6(b"FD00:1:2:3::Ab"),
        Some(hex("fd0000010002000300000000000000ab"))
    );
    assert_eq!(
        parse_ipv6(b"::ffff:1.2.3.4"),
        Some(hex("00000000000000000000ffff01020304"))
    );
    assert_eq!(
        parse_ipv6(b"1:2:3:4:5:6:1.2.3.4"),
        Some(hex("00010002000300040005000601020304"))
    );
    assert_eq!(
        parse_ipv6(b"1:2:3:4:5:6:7::"),
        Some(hex("00010002000300040005000600070000"))
    );
    assert_eq!(
        parse_ipv6(b"::2:3:4:5:6:7:8"),
        Some(hex("00000002000300040005000600070008"))
    );
    assert_eq!(
        parse_ipv6(b"1::8"),
        Some(hex("00010000000000000000000000000008"))
    );
    for bad in [
        &b""[..],
        b":",
        b":::",
        b"1:::2",
        b"1::2::3",
        b"1:2:3:4:5:6:7",
        b"1:2:3:4:5:6:7:8:9",
        b"1:2:3:4:5:6:7:8::",
        b"::1:2:3:4:5:6:7:8",
        b"1:2:3:4::5:6:7:8",
        b"1::3:4:5:6:7:8:9",
        b"1:2:3:4:5::6:1.2.3.4",
        b"1:2:3:4:5:6:7:8:",
        b":1:2:3:4:5:6:7:8",
        b"12345::",
        b"g::",
        b"::1.2.3.4:5",
        b"1.2.3.4::",
        b"1:2:3:4:5:6:7:1.2.3.4",
        b"::1:2:3:4:5:6:1.2.3.4",
        b"::01.2.3.4",
        b"::1.2.3",
        b"fe80::1%eth0",
        b"[::1]",
        b"::1/64",
        b" ::1",
        b"::1 ",
        b"1.2.3.4",
        b"::-1",
        b"::+1",
    ] {
        assert_eq!(parse_ipv6(bad), None, "{:?}", bad);
    }
}

#[test]
fn ip_family_from_form() {
    assert_eq!(parse_ip(b"1.2.3.4\n"), Some(IpAddr::V4([1, 2, 3, 4])));
    assert_eq!(
        parse_ip(b"::1.2.3.4"),
        Some(IpAddr::V6(hex("00000000000000000000000001020304")))
    );
    assert_eq!(parse_ip(b"1.2.3.4:1"), None);
    assert_eq!(parse_ip(b"abcd"), None);
    assert!(IpAddr::V4([0; 4]).is_unspecified());
    assert!(!IpAddr::V6(hex("00000000000000000000000001020304")).is_unspecified());
}

#[test]
fn mac_uuid_port_number_rules() {
    assert_eq!(
        parse_mac(b"12:34:56:78:9a:BC\n"),
        Some([0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc])
    );
    for bad in [
        &b""[..],
        b"12:34:56:78:9a",
        b"12:34:56:78:9a:bc:de",
        b"12-34-56-78-9a-bc",
        b"1:34:56:78:9a:bc",
        b"123:4:56:78:9a:bc",
        b"12:34:56:78:9a:bg",
        b"12:34:56:78:9a:bc:",
        b"123456789abc",
        b"12:34:56:78:9a:bc ",
    ] {
        assert_eq!(parse_mac(bad), None, "{:?}", bad);
    }

    assert_eq!(
        parse_uuid(b"0F1E2D3C-4b5a-6978-8796-a5b4c3d2e1f0\n"),
        Some(hex("0f1e2d3c4b5a69788796a5b4c3d2e1f0"))
    );
    for bad in [
        &b""[..],
        b"0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        b"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f",
        b"0f1e2d3c-4b5a-6978-8796a5b4c3d2e1f0",
        b"{0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0}",
        b"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1fg",
        b"0f1e2d3c-4b5a-6978-87965-a5b4c3d2e1f",
        b"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0-",
    ] {
        assert_eq!(parse_uuid(bad), None, "{:?}", bad);
    }

    assert_eq!(parse_port(b"1"), Some(1));
    assert_eq!(parse_port(b"65535\n"), Some(65535));
    for bad in [
        &b""[..],
        b"0",
        b"65536",
        b"+1",
        b"-1",
        b"01",
        b"1 ",
        b"1\n\n",
        b"99999999999999999999",
    ] {
        assert_eq!(parse_port(bad), None, "{:?}", bad);
    }
    assert_eq!(parse_u32_decimal(b"0"), Some(0));
    assert_eq!(parse_u32_decimal(b"4294967295\n"), Some(u32::MAX));
    assert_eq!(parse_u32_decimal(b"4294967296"), None);
    assert_eq!(parse_u32_decimal(b"00"), None);
}

#[test]
fn ifname_rules() {
    let n = parse_ifname(b"enp0s31f6\n").expect("valid");
    assert_eq!(n.as_bytes(), b"enp0s31f6");
    assert_eq!(&n.as_c_bytes()[..10], b"enp0s31f6\0");
    assert!(parse_ifname(b"fifteen-bytes-x").is_some());
    for bad in [
        &b""[..],
        b"sixteen-bytes-xx",
        b".",
        b"..",
        b"a/b",
        b"a:b",
        b"a b",
        b"a\tb",
        b"a\0b",
        b"a\xa0b",
        b"eth0\n\n",
    ] {
        assert_eq!(parse_ifname(bad), None, "{:?}", bad);
    }
    assert!(parse_ifname(b"...").is_some());
}

// ---- formatting ---------------------------------------------------------------------------

#[test]
fn display_forms() {
    shows(Ipv4Display([192, 0, 2, 1]), "192.0.2.1");
    shows(Ipv6Display([0; 16]), "::");
    shows(Ipv6Display(hex("00000000000000000000000000000001")), "::1");
    shows(
        Ipv6Display(hex("20010db8000000000001000000000001")),
        "2001:db8::1:0:0:1",
    );
    shows(
        Ipv6Display(hex("20010db8000000010001000100010001")),
        "2001:db8:0:1:1:1:1:1",
    );
    shows(
        Ipv6Display(hex("00000000000000000000ffffc0000201")),
        "::ffff:192.0.2.1",
    );
    shows(
        Ipv6Display(hex("000000000000000000000000c0000201")),
        "::c000:201",
    );
    shows(
        Ipv6Display(hex("FD00000000000000000000000000ABCD")),
        "fd00::abcd",
    );
    shows(IpDisplay(IpAddr::V4([10, 0, 0, 1])), "10.0.0.1");
    shows(
        MacDisplay([0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc]),
        "12:34:56:78:9a:bc",
    );
    shows(
        UuidDisplay(hex("0f1e2d3c4b5a69788796a5b4c3d2e1f0")),
        "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
    );
    shows(
        format_args!("[{:>12}]", Ipv4Display([1, 2, 3, 4])),
        "[     1.2.3.4]",
    );
    shows(format_args!("[{:<6}]", Ipv6Display([0; 16])), "[::    ]");
    shows(IfName::new(b"eth\xffx").expect("valid"), "eth\\xffx");
}

// ---- netconsole targets -------------------------------------------------------------------

fn one(s: &[u8]) -> Result<TargetSpec, SpecError> {
    let mut it = parse_targets(s);
    let r = it.next().expect("one target");
    assert!(it.next().is_none(), "more than one target");
    r
}

fn err(s: &[u8]) -> (SpecErrorKind, usize) {
    let e = one(s).expect_err("must fail");
    (e.kind, e.offset)
}

#[test]
fn netconsole_documentation_examples() {
    let t = one(b"4444@10.0.0.1/eth1,9353@10.0.0.2/12:34:56:78:9a:bc").expect("parses");
    assert_eq!(
        t,
        TargetSpec {
            extended: false,
            release: false,
            src_port: 4444,
            src_ip: Some(IpAddr::V4([10, 0, 0, 1])),
            dev: Device::Name(IfName::new(b"eth1").expect("name")),
            tgt_port: 9353,
            tgt_ip: IpAddr::V4([10, 0, 0, 2]),
            tgt_mac: Some([0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc]),
        }
    );
    let t = one(b"@/,@192.168.3.1/").expect("parses");
    assert_eq!(
        t,
        TargetSpec {
            extended: false,
            release: false,
            src_port: DEFAULT_SRC_PORT,
            src_ip: None,
            dev: Device::Name(IfName::new(DEFAULT_DEV).expect("name")),
            tgt_port: DEFAULT_TGT_PORT,
            tgt_ip: IpAddr::V4([192, 168, 3, 1]),
            tgt_mac: None,
        }
    );
    assert_eq!(
        (DEFAULT_SRC_PORT, DEFAULT_TGT_PORT, DEFAULT_DEV),
        (6665, 6667, &b"eth0"[..])
    );

    let t = one(b"@/,@fd00:1:2:3::1/").expect("parses");
    assert_eq!(
        t.tgt_ip,
        IpAddr::V6(hex("fd000001000200030000000000000001"))
    );
    let t = one(b"+r@/,@192.168.3.1/").expect("parses");
    assert!(t.extended && t.release);
    let t = one(b"+@/,@192.168.3.1/\n").expect("parses");
    assert!(t.extended && !t.release);
    let t =
        one(b"4444@10.0.0.1/22:33:44:55:66:77,9353@10.0.0.2/12:34:56:78:9a:bc").expect("parses");
    assert_eq!(t.dev, Device::Mac([0x22, 0x33, 0x44, 0x55, 0x66, 0x77]));
    let t = one(b"6665@2001:db8::1/eth0,514@2001:db8::2/").expect("parses");
    assert_eq!(
        t.src_ip,
        Some(IpAddr::V6(hex("20010db8000000000000000000000001")))
    );
    assert_eq!(t.tgt_port, 514);

    let mut it = parse_targets(b"@/,@10.0.0.2/;@/eth1,6892@10.0.0.3/");
    let a = it.next().expect("first").expect("parses");
    let b = it.next().expect("second").expect("parses");
    assert!(it.next().is_none());
    assert_eq!((a.tgt_ip, a.tgt_port), (IpAddr::V4([10, 0, 0, 2]), 6667));
    assert_eq!(b.dev, Device::Name(IfName::new(b"eth1").expect("name")));
    assert_eq!((b.tgt_ip, b.tgt_port), (IpAddr::V4([10, 0, 0, 3]), 6892));
}

#[test]
fn netconsole_errors_name_the_field_and_offset() {
    use SpecErrorKind::*;
    assert_eq!(err(b"r@/,@1.2.3.4/"), (ReleaseWithoutExtended, 0));
    assert_eq!(err(b"+r0@/,@1.2.3.4/"), (BadSrcPort, 2));
    assert_eq!(err(b"70000@/,@1.2.3.4/"), (BadSrcPort, 0));
    assert_eq!(err(b"1.2.3.4/eth0,@1.2.3.5/"), (BadSrcPort, 0));
    assert_eq!(err(b"1"), (MissingSeparator(b'@'), 0));
    assert_eq!(err(b"@1.2.3.4"), (MissingSeparator(b'/'), 1));
    assert_eq!(err(b"@1.2.3.999/,@1.2.3.4/"), (BadSrcIp, 1));
    assert_eq!(err(b"@/eth0"), (MissingSeparator(b','), 2));
    assert_eq!(
        err(b"@/averyveryverylongname,@1.2.3.4/"),
        (DevNameTooLong, 2)
    );
    assert_eq!(err(b"@/sixteen-bytes-xx,@1.2.3.4/"), (DevNameTooLong, 2));
    assert!(one(b"@/fifteen-bytes-x,@1.2.3.4/").is_ok());
    assert_eq!(err(b"@/a b,@1.2.3.4/"), (BadDevName, 2));
    assert_eq!(err(b"@/..,@1.2.3.4/"), (BadDevName, 2));
    assert_eq!(err(b"@/a/b,@1.2.3.4/"), (BadDevName, 2));
    assert_eq!(err(b"@/eth0:1,@1.2.3.4/"), (BadDevMac, 2));
    assert_eq!(err(b"@/,x@1.2.3.4/"), (BadTgtPort, 3));
    assert_eq!(err(b"@/,1.2.3.4/"), (MissingSeparator(b'@'), 3));
    assert_eq!(err(b"@/,@/"), (MissingTgtIp, 4));
    assert_eq!(err(b"@/,@1.2.3.4"), (MissingSeparator(b'/'), 4));
    assert_eq!(err(b"@/,@1.2.3/"), (BadTgtIp, 4));
    assert_eq!(err(b"@/,@fe80::1%eth0/"), (BadTgtIp, 4));
    assert_eq!(err(b"@::1/,@1.2.3.4/"), (MixedFamilies, 7));
    assert_eq!(err(b"@1.2.3.4/,@::1/"), (MixedFamilies, 11));
    assert_eq!(err(b"@/,@1.2.3.4/12:34:56:78:9a"), (BadTgtMac, 12));
    assert_eq!(err(b"@/,@1.2.3.4/ff:ff:ff:ff:ff:ff/"), (BadTgtMac, 12));
    assert_eq!(err(b"@/,@1.2.3.4/\n\n"), (BadTgtMac, 12));
    assert_eq!(err(b" @/,@1.2.3.4/"), (BadSrcPort, 0));

    // Offsets count from the start of the whole list.
    let mut it = parse_targets(b"@/,@1.2.3.4/;;@/,@1.2.3.x/;");
    assert!(it.next().expect("1").is_ok());
    assert_eq!(
        it.next().expect("2"),
        Err(SpecError {
            kind: EmptyTarget,
            offset: 13
        })
    );
    assert_eq!(
        it.next().expect("3"),
        Err(SpecError {
            kind: BadTgtIp,
            offset: 18
        })
    );
    assert_eq!(
        it.next().expect("4"),
        Err(SpecError {
            kind: EmptyTarget,
            offset: 27
        })
    );
    assert!(it.next().is_none());

    assert!(parse_targets(b"").next().is_none());
    assert!(parse_targets(b"\n").next().is_none());
    assert_eq!(
        parse_targets(b";")
            .map(|r| r.map_err(|e| e.offset))
            .fold(0, |n, r| {
                assert_eq!(r, Err(n));
                n + 1
            }),
        2
    );
}

#[test]
fn target_display_is_full_syntax() {
    let t = one(b"+r@/,@fd00::1/").expect("parses");
    shows(t, "+r6665@/eth0,6667@fd00::1/");
    let t =
        one(b"4444@10.0.0.1/22:33:44:55:66:77,9353@10.0.0.2/12:34:56:78:9A:BC").expect("parses");
    shows(
        t,
        "4444@10.0.0.1/22:33:44:55:66:77,9353@10.0.0.2/12:34:56:78:9a:bc",
    );
    shows(
        SpecError {
            kind: SpecErrorKind::MissingSeparator(b'/'),
            offset: 4,
        },
        "missing '/' at offset 4",
    );
    shows(
        FrameError::PayloadTooLong {
            len: 70000,
            max: 65507,
        },
        "UDP payload of 70000 bytes too long (at most 65507)",
    );
}
