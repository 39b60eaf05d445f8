//! Parsing and formatting compared with independent implementations: `std::net` for
//! addresses, straightforward reference parsers written here for the rest.
//!
//! Deliberate differences from `std`, asserted below rather than hidden:
//! * one trailing `\n` is accepted (configfs values written by `echo`);
//! * decimal numbers refuse a leading `+` and leading zeros (`u16::from_str` takes both).

use std::net::{IpAddr as StdIp, Ipv4Addr, Ipv6Addr};

use netoops_frame::*;
use proptest::prelude::*;

fn std_v4(s: &str) -> Option<[u8; 4]> {
    s.parse::<Ipv4Addr>().ok().map(|a| a.octets())
}

fn std_v6(s: &str) -> Option<[u8; 16]> {
    s.parse::<Ipv6Addr>().ok().map(|a| a.octets())
}

fn std_ip(s: &str) -> Option<IpAddr> {
    match s.parse::<StdIp>().ok()? {
        StdIp::V4(a) => Some(IpAddr::V4(a.octets())),
        StdIp::V6(a) => Some(IpAddr::V6(a.octets())),
    }
}

/// IPv6 addresses with plenty of zero groups (uniform bytes almost never have any), and
/// IPv4-mapped/compatible ones.
fn ipv6_addr() -> impl Strategy<Value = [u8; 16]> {
    let group = prop_oneof![3 => Just(0u16), 1 => Just(0xffff), 1 => 1u16..16, 3 => any::<u16>()];
    prop_oneof![
        4 => proptest::array::uniform8(group).prop_map(|g| {
            let mut a = [0u8; 16];
            for (i, g) in g.iter().enumerate() {
                a[2 * i..2 * i + 2].copy_from_slice(&g.to_be_bytes());
            }
            a
        }),
        1 => any::<[u8; 16]>(),
        1 => any::<[u8; 4]>().prop_map(|v4| Ipv4Addr::from(v4).to_ipv6_mapped().octets()),
        1 => any::<[u8; 4]>().prop_map(|v4| {
            let mut a = [0u8; 16];
            a[12..].copy_from_slice(&v4);
            a
        }),
    ]
}

/// Text that looks like an address: short strings over the characters addresses use, plus
/// a few that they do not.
fn addressish(alphabet: &'static str, max: usize) -> impl Strategy<Value = String> {
    let chars: Vec<char> = alphabet.chars().collect();
    proptest::collection::vec(proptest::sample::select(chars), 0..max)
        .prop_map(|v| v.into_iter().collect())
}

/// Other spellings of the same IPv6 address that RFC 4291 allows: every group written
/// with random case and zero padding, `::` over any run of zero groups (not only the
/// longest), and optionally the last 32 bits as a dotted quad.
fn ipv6_spelling() -> impl Strategy<Value = ([u8; 16], String)> {
    (
        ipv6_addr(),
        any::<[bool; 8]>(),
        any::<[u8; 8]>(),
        any::<prop::sample::Index>(),
        any::<bool>(),
    )
        .prop_map(|(a, upper, pad, pick, dotted)| {
            let g: Vec<u16> = a
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            let ngroups = if dotted { 6 } else { 8 };
            let text = |i: usize| {
                let w = 1 + usize::from(pad[i] % 4);
                let s = format!("{:0w$x}", g[i]);
                if upper[i] {
                    s.to_uppercase()
                } else {
                    s
                }
            };
            // All runs of zero groups among the first `ngroups`.
            let mut runs = vec![];
            let mut i = 0;
            while i < ngroups {
                if g[i] == 0 {
                    let start = i;
                    while i < ngroups && g[i] == 0 {
                        i += 1;
                    }
                    runs.push((start, i));
                } else {
                    i += 1;
                }
            }
            let mut parts: Vec<String>;
            let body = if runs.is_empty() || pick.index(runs.len() + 1) == runs.len() {
                parts = (0..ngroups).map(text).collect();
                parts.join(":")
            } else {
                let (s, e) = runs[pick.index(runs.len())];
                parts = (0..s).map(text).collect();
                let head = parts.join(":");
                parts = (e..ngroups).map(text).collect();
                let tail = parts.join(":");
                format!("{head}::{tail}")
            };
            let text = if dotted {
                let v4 = format!("{}.{}.{}.{}", a[12], a[13], a[14], a[15]);
                if body.ends_with("::") {
                    format!("{body}{v4}")
                } else {
                    format!("{body}:{v4}")
                }
            } else {
                body
            };
            (a, text)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn ipv4_display_and_parse_agree_with_std(a in any::<[u8; 4]>()) {
        let shown = Ipv4Display(a).to_string();
        prop_assert_eq!(&shown, &Ipv4Addr::from(a).to_string());
        prop_assert_eq!(parse_ipv4(shown.as_bytes()), Some(a));
        prop_assert_eq!(parse_ipv4(format!("{shown}\n").as_bytes()), Some(a));
        prop_assert_eq!(parse_ip(shown.as_bytes()), Some(IpAddr::V4(a)));
        prop_assert_eq!(IpDisplay(IpAddr::V4(a)).to_string(), shown);
        prop_assert_eq!(format!("{:>17}|{:<16}|", Ipv4Display(a), Ipv4Display(a)),
            format!("{:>17}|{:<16}|", Ipv4Addr::from(a), Ipv4Addr::from(a)));
    }

    #[test]
    fn ipv6_display_and_parse_agree_with_std(a in ipv6_addr()) {
        let std_addr = Ipv6Addr::from(a);
        let shown = Ipv6Display(a).to_string();
        prop_assert_eq!(&shown, &std_addr.to_string());
        prop_assert_eq!(parse_ipv6(shown.as_bytes()), Some(a));
        prop_assert_eq!(parse_ip(format!("{shown}\n").as_bytes()), Some(IpAddr::V6(a)));
        prop_assert_eq!(IpDisplay(IpAddr::V6(a)).to_string(), shown);
        prop_assert_eq!(format!("{:^41}|{:-<3}", Ipv6Display(a), Ipv6Display(a)),
            format!("{:^41}|{:-<3}", std_addr, std_addr));
    }

    #[test]
    fn ipv6_other_spellings_parse_like_std((a, text) in ipv6_spelling()) {
        prop_assert_eq!(std_v6(&text), Some(a), "std on {}", text);
        prop_assert_eq!(parse_ipv6(text.as_bytes()), Some(a), "we on {}", text);
    }

    #[test]
    fn ipv4_random_text_differential(s in addressish("0123456789.", 18)) {
        prop_assert_eq!(parse_ipv4(s.as_bytes()), std_v4(&s), "on {:?}", s);
    }

    #[test]
    fn ipv4_random_text_differential_wide(s in addressish("0123456789..+- x\n", 20)) {
        if !s.ends_with('\n') {
            prop_assert_eq!(parse_ipv4(s.as_bytes()), std_v4(&s), "on {:?}", s);
        }
    }

    #[test]
    fn ipv6_random_text_differential(s in addressish("0123456789abcdefABCDEF::::..", 42)) {
        prop_assert_eq!(parse_ipv6(s.as_bytes()), std_v6(&s), "on {:?}", s);
    }

    #[test]
    fn ipv6_structured_text_differential(
        parts in proptest::collection::vec(
            prop_oneof![
                1 => Just(String::new()),
                6 => "[0-9a-fA-F]{1,4}",
                1 => "[0-9a-fA-F]{5}",
                1 => (any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>())
                    .prop_map(|(a, b, c, d)| format!("{a}.{b}.{c}.{d}")),
                1 => "[0-9]{1,4}\\.[0-9]{1,4}(\\.[0-9]{1,4}){0,3}",
                1 => Just("%eth0".to_string()),
                1 => Just("g".to_string()),
            ],
            0..11,
        ),
    ) {
        let s = parts.join(":");
        prop_assert_eq!(parse_ipv6(s.as_bytes()), std_v6(&s), "on {:?}", s);
        prop_assert_eq!(parse_ip(s.as_bytes()), std_ip(&s), "on {:?}", s);
    }

    /// Near misses around the group-count limits: `h` groups, maybe `::`, `t` groups, maybe
    /// a dotted quad, for every combination of counts.
    #[test]
    fn ipv6_group_count_boundaries_differential(
        h in 0usize..10,
        t in 0usize..10,
        double_colon in any::<bool>(),
        dotted in any::<bool>(),
        groups in proptest::collection::vec("[0-9a-fA-F]{1,4}", 20),
        v4 in any::<[u8; 4]>(),
    ) {
        let head = groups[..h].join(":");
        let mut tail = groups[10..10 + t].to_vec();
        if dotted {
            tail.push(format!("{}.{}.{}.{}", v4[0], v4[1], v4[2], v4[3]));
        }
        let tail = tail.join(":");
        let s = match (double_colon, head.is_empty(), tail.is_empty()) {
            (true, _, _) => format!("{head}::{tail}"),
            (false, false, false) => format!("{head}:{tail}"),
            (false, _, _) => format!("{head}{tail}"),
        };
        prop_assert_eq!(parse_ipv6(s.as_bytes()), std_v6(&s), "on {:?}", s);
    }

    #[test]
    fn ip_random_text_differential(s in addressish("0123456789abcdefABCDEF:::...%/ ", 42)) {
        prop_assert_eq!(parse_ip(s.as_bytes()), std_ip(&s), "on {:?}", s);
    }

    #[test]
    fn trailing_newline_is_the_only_extra_accepted(s in addressish("0123456789abcdef:.\n", 30)) {
        if !s.ends_with('\n') {
            let with_nl = format!("{s}\n");
            prop_assert_eq!(parse_ip(with_nl.as_bytes()), parse_ip(s.as_bytes()));
            prop_assert_eq!(parse_ip(format!("{s}\n\n").as_bytes()), None);
            prop_assert_eq!(parse_ip(format!("{s} ").as_bytes()), None);
            prop_assert_eq!(parse_ip(format!(" {s}").as_bytes()), None);
        }
    }

    #[test]
    fn mac_round_trip(m in any::<[u8; 6]>(), upper in any::<bool>()) {
        let shown = MacDisplay(m).to_string();
        let reference = m.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":");
        prop_assert_eq!(&shown, &reference);
        prop_assert_eq!(parse_mac(shown.as_bytes()), Some(m));
        let text = if upper { shown.to_uppercase() } else { format!("{shown}\n") };
        prop_assert_eq!(parse_mac(text.as_bytes()), Some(m));
    }

    #[test]
    fn mac_random_text_differential(s in addressish("0123456789abcdefABCDEFg::::", 20)) {
        prop_assert_eq!(parse_mac(s.as_bytes()), reference_mac(&s), "on {:?}", s);
    }

    #[test]
    fn uuid_round_trip(u in any::<[u8; 16]>(), upper in any::<bool>()) {
        let shown = UuidDisplay(u).to_string();
        let h = u.iter().map(|b| format!("{b:02x}")).collect::<String>();
        let reference = format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..]);
        prop_assert_eq!(&shown, &reference);
        prop_assert_eq!(parse_uuid(shown.as_bytes()), Some(u));
        let text = if upper { shown.to_uppercase() } else { format!("{shown}\n") };
        prop_assert_eq!(parse_uuid(text.as_bytes()), Some(u));
    }

    #[test]
    fn uuid_random_text_differential(s in addressish("0123456789abcdefABCDEFx------", 40)) {
        prop_assert_eq!(parse_uuid(s.as_bytes()), reference_uuid(&s), "on {:?}", s);
    }

    #[test]
    fn numbers_differential(s in addressish("0123456789+- ", 12)) {
        // std's parsers, plus our two rules: no sign, no leading zero.
        let plain = !s.starts_with('+') && !(s.len() > 1 && s.starts_with('0'));
        let want16 = s.parse::<u16>().ok().filter(|&p| plain && p != 0);
        let want32 = s.parse::<u32>().ok().filter(|_| plain);
        prop_assert_eq!(parse_port(s.as_bytes()), want16, "on {:?}", s);
        prop_assert_eq!(parse_u32_decimal(s.as_bytes()), want32, "on {:?}", s);
    }

    #[test]
    fn numbers_round_trip(p in 1u16.., n in any::<u32>()) {
        prop_assert_eq!(parse_port(p.to_string().as_bytes()), Some(p));
        prop_assert_eq!(parse_port(format!("{p}\n").as_bytes()), Some(p));
        prop_assert_eq!(parse_u32_decimal(n.to_string().as_bytes()), Some(n));
    }

    #[test]
    fn garbage_never_panics_and_acceptance_is_sound(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
        let text = std::str::from_utf8(&bytes).ok();
        let body = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
        let body_text = std::str::from_utf8(body).ok();
        if let Some(a) = parse_ipv4(&bytes) {
            prop_assert_eq!(body_text.and_then(std_v4), Some(a));
        }
        if let Some(a) = parse_ipv6(&bytes) {
            prop_assert_eq!(body_text.and_then(std_v6), Some(a));
        }
        if let Some(a) = parse_ip(&bytes) {
            prop_assert_eq!(body_text.and_then(std_ip), Some(a));
        }
        if let Some(m) = parse_mac(&bytes) {
            prop_assert_eq!(body_text.and_then(reference_mac), Some(m));
        }
        if let Some(u) = parse_uuid(&bytes) {
            prop_assert_eq!(body_text.and_then(reference_uuid), Some(u));
        }
        let _ = (parse_port(&bytes), parse_u32_decimal(&bytes), parse_ifname(&bytes), text);
        for t in parse_targets(&bytes) {
            if let Err(e) = t {
                prop_assert!(e.offset <= bytes.len());
            }
        }
    }
}

/// Six `:`-separated pairs of hex digits.
fn reference_mac(s: &str) -> Option<[u8; 6]> {
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 6
        || parts
            .iter()
            .any(|p| p.len() != 2 || !p.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return None;
    }
    let mut m = [0u8; 6];
    for (d, p) in m.iter_mut().zip(parts) {
        *d = u8::from_str_radix(p, 16).ok()?;
    }
    Some(m)
}

/// `8-4-4-4-12` hex digits, read as one 128-bit big-endian number.
fn reference_uuid(s: &str) -> Option<[u8; 16]> {
    let lens: Vec<usize> = s.split('-').map(str::len).collect();
    if lens != [8, 4, 4, 4, 12] || !s.bytes().all(|b| b == b'-' || b.is_ascii_hexdigit()) {
        return None;
    }
    u128::from_str_radix(&s.replace('-', ""), 16)
        .ok()
        .map(u128::to_be_bytes)
}

#[test]
fn documented_differences_from_std() {
    // A trailing newline.
    assert_eq!(std_v4("10.0.0.1\n"), None);
    assert_eq!(parse_ipv4(b"10.0.0.1\n"), Some([10, 0, 0, 1]));
    assert_eq!(std_v6("::1\n"), None);
    assert!(parse_ipv6(b"::1\n").is_some());
    // Sign and leading zeros in numbers.
    assert_eq!("+80".parse::<u16>().ok(), Some(80));
    assert_eq!(parse_port(b"+80"), None);
    assert_eq!("080".parse::<u16>().ok(), Some(80));
    assert_eq!(parse_port(b"080"), None);
    // Same as std: leading zeros in IPv4 parts refused, in IPv6 groups accepted.
    assert_eq!(std_v4("10.0.0.01"), None);
    assert_eq!(parse_ipv4(b"10.0.0.01"), None);
    assert!(std_v6("0001::0").is_some());
    assert!(parse_ipv6(b"0001::0").is_some());
    // Same as std: a zone id is not part of an address.
    assert_eq!(std_v6("fe80::1%2"), None);
    assert_eq!(parse_ipv6(b"fe80::1%2"), None);
}
