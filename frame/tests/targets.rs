//! netconsole target syntax: round trips through `Display`, lists, and mangled input.

use netoops_frame::*;
use proptest::prelude::*;

fn ifname() -> impl Strategy<Value = IfName> {
    "[a-zA-Z0-9_.@+-]{1,15}"
        .prop_filter("not . or ..", |s| s != "." && s != "..")
        .prop_map(|s| IfName::new(s.as_bytes()).expect("valid name"))
}

fn ip_of(v6: bool) -> BoxedStrategy<IpAddr> {
    if v6 {
        any::<[u8; 16]>().prop_map(IpAddr::V6).boxed()
    } else {
        any::<[u8; 4]>().prop_map(IpAddr::V4).boxed()
    }
}

fn target() -> impl Strategy<Value = TargetSpec> {
    any::<bool>().prop_flat_map(|v6| {
        (
            (any::<bool>(), any::<bool>()),
            1u16..,
            proptest::option::of(ip_of(v6)),
            prop_oneof![
                ifname().prop_map(Device::Name),
                any::<[u8; 6]>().prop_map(Device::Mac)
            ],
            1u16..,
            ip_of(v6),
            proptest::option::of(any::<[u8; 6]>()),
        )
            .prop_map(
                |((extended, r), src_port, src_ip, dev, tgt_port, tgt_ip, tgt_mac)| TargetSpec {
                    extended,
                    release: extended && r,
                    src_port,
                    src_ip,
                    dev,
                    tgt_port,
                    tgt_ip,
                    tgt_mac,
                },
            )
    })
}

fn parse_all(s: &[u8]) -> Vec<Result<TargetSpec, SpecError>> {
    parse_targets(s).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn display_parses_back(t in target()) {
        let text = t.to_string();
        prop_assert_eq!(parse_all(text.as_bytes()), vec![Ok(t)], "text {}", text);
    }

    #[test]
    fn lists_parse_in_order(ts in proptest::collection::vec(target(), 1..5), nl in any::<bool>()) {
        let mut text = ts.iter().map(ToString::to_string).collect::<Vec<_>>().join(";");
        if nl {
            text.push('\n');
        }
        let want: Vec<_> = ts.into_iter().map(Ok).collect();
        prop_assert_eq!(parse_all(text.as_bytes()), want);
    }

    /// Defaults: leaving a field empty gives the documented default.
    #[test]
    fn empty_fields_take_defaults(t in target(), drop in any::<[bool; 4]>()) {
        let mut text = String::new();
        if t.extended { text.push('+'); }
        if t.release { text.push('r'); }
        if !drop[0] { text += &t.src_port.to_string(); }
        text.push('@');
        if let Some(ip) = t.src_ip { text += &IpDisplay(ip).to_string(); }
        text.push('/');
        if !drop[1] { text += &t.dev.to_string(); }
        text.push(',');
        if !drop[2] { text += &t.tgt_port.to_string(); }
        text += &format!("@{}/", IpDisplay(t.tgt_ip));
        if let (Some(mac), false) = (t.tgt_mac, drop[3]) { text += &MacDisplay(mac).to_string(); }
        let mut want = t;
        if drop[0] { want.src_port = DEFAULT_SRC_PORT; }
        if drop[1] { want.dev = Device::Name(IfName::new(DEFAULT_DEV).unwrap()); }
        if drop[2] { want.tgt_port = DEFAULT_TGT_PORT; }
        if drop[3] { want.tgt_mac = None; }
        prop_assert_eq!(parse_all(text.as_bytes()), vec![Ok(want)], "text {}", text);
    }

    /// Damaged targets never panic; what parses shows and parses back the same; errors
    /// point inside the string.
    #[test]
    fn mangled_targets(t in target(), edits in proptest::collection::vec(
        (any::<prop::sample::Index>(), prop_oneof![
            Just(None),
            proptest::sample::select(b"@/,;:.+r0123456789abcdef \n%".to_vec()).prop_map(Some),
        ]), 1..4)) {
        let mut bytes = t.to_string().into_bytes();
        for (at, edit) in edits {
            if bytes.is_empty() { break; }
            let i = at.index(bytes.len());
            match edit {
                None => { bytes.remove(i); }
                Some(b) => bytes[i] = b,
            }
        }
        for r in parse_targets(&bytes) {
            match r {
                Ok(spec) => {
                    let again = spec.to_string();
                    prop_assert_eq!(parse_all(again.as_bytes()), vec![Ok(spec)]);
                }
                Err(e) => prop_assert!(e.offset <= bytes.len(), "{:?} in {:?}", e, bytes),
            }
        }
    }
}

#[test]
fn mixed_families_are_refused_both_ways() {
    let e = parse_all(b"@fd00::1/,@10.0.0.1/");
    assert_eq!(
        e,
        vec![Err(SpecError {
            kind: SpecErrorKind::MixedFamilies,
            offset: 11
        })]
    );
    let e = parse_all(b"@10.0.0.1/,@fd00::1/");
    assert_eq!(
        e,
        vec![Err(SpecError {
            kind: SpecErrorKind::MixedFamilies,
            offset: 12
        })]
    );
    // Without a source address, either family is fine.
    assert!(parse_all(b"@/,@fd00::1/;@/,@10.0.0.1/")
        .iter()
        .all(Result::is_ok));
}

#[test]
fn error_messages() {
    let e = parse_all(b"@/,@10.0.0.1/;@/averyveryverylongname,@1.2.3.4/");
    assert_eq!(
        e[1].unwrap_err().to_string(),
        "interface name longer than 15 bytes at offset 16"
    );
}
