//! Classic libpcap files: both byte orders, microsecond and nanosecond magic.

use super::{at, link, take_frame, AtOffset, FileContents};

const MAGIC_US: u32 = 0xa1b2_c3d4;
const MAGIC_NS: u32 = 0xa1b2_3c4d;
const GLOBAL_HEADER: usize = 24;
const RECORD_HEADER: usize = 16;
/// Larger captured lengths are treated as corruption (libpcap's own limit is 256 KiB).
const MAX_RECORD: u32 = 16 << 20;

pub(crate) fn is_pcap(head: [u8; 4]) -> bool {
    let le = u32::from_le_bytes(head);
    let be = u32::from_be_bytes(head);
    [le, be].iter().any(|m| *m == MAGIC_US || *m == MAGIC_NS)
}

pub(crate) fn parse(data: &[u8]) -> Result<FileContents, AtOffset> {
    let head: [u8; 4] = data
        .get(..4)
        .and_then(|h| h.try_into().ok())
        .ok_or_else(|| at(0, "truncated pcap file header"))?;
    let big = matches!(u32::from_be_bytes(head), MAGIC_US | MAGIC_NS);
    let u32_at = |off: usize| -> Option<u32> {
        let b: [u8; 4] = data.get(off..off + 4)?.try_into().ok()?;
        Some(if big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    if data.len() < GLOBAL_HEADER {
        return Err(at(
            data.len(),
            format!(
                "truncated pcap file header ({} of {GLOBAL_HEADER} bytes)",
                data.len()
            ),
        ));
    }
    let linktype = u32_at(20).unwrap_or_default();
    if !link::supported(linktype) {
        return Err(at(
            20,
            format!("unsupported pcap link type {}", linktype & 0xFFFF),
        ));
    }
    let mut out = FileContents {
        format: "pcap",
        ..FileContents::default()
    };
    let mut pos = GLOBAL_HEADER;
    while pos < data.len() {
        let left = data.len() - pos;
        if left < RECORD_HEADER {
            return Err(at(
                pos,
                format!("truncated pcap record header ({left} of {RECORD_HEADER} bytes)"),
            ));
        }
        let incl = u32_at(pos + 8).unwrap_or_default();
        if incl > MAX_RECORD {
            return Err(at(
                pos + 8,
                format!("implausible pcap record length {incl}"),
            ));
        }
        let start = pos + RECORD_HEADER;
        let end = start + incl as usize;
        let Some(frame) = data.get(start..end) else {
            return Err(at(
                pos,
                format!(
                    "truncated pcap record data ({} of {incl} bytes)",
                    data.len() - start
                ),
            ));
        };
        take_frame(&mut out, linktype, frame, start);
        pos = end;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::input::parse_bytes;
    use crate::input::testutil::{eth_ipv4_udp, pcap};

    fn frames() -> Vec<Vec<u8>> {
        vec![
            eth_ipv4_udp(b"NtOp one"),
            eth_ipv4_udp(b"not netoops"),
            eth_ipv4_udp(b"NtOp two"),
        ]
    }

    #[test]
    fn all_four_magics() {
        for (big, nanos) in [(false, false), (true, false), (false, true), (true, true)] {
            let c = parse_bytes(&pcap(&frames(), big, nanos)).unwrap();
            assert_eq!(c.format, "pcap");
            assert_eq!(c.frames_seen, 3);
            assert_eq!(c.frames_skipped, 1);
            let p: Vec<&[u8]> = c.frames.iter().map(|f| &f.payload[..]).collect();
            assert_eq!(p, [&b"NtOp one"[..], b"NtOp two"]);
            // First payload: 24 global + 16 record + 42 headers.
            assert_eq!(c.frames[0].offset, 82);
        }
    }

    #[test]
    fn truncation_errors_name_the_offset() {
        let file = pcap(&frames(), false, false);
        let rec2 = 24 + 16 + frames()[0].len() + 16 + frames()[1].len();
        let e = parse_bytes(&file[..rec2 + 5]).unwrap_err();
        assert_eq!(e.offset, rec2 as u64);
        assert_eq!(e.msg, "truncated pcap record header (5 of 16 bytes)");
        let e = parse_bytes(&file[..rec2 + 20]).unwrap_err();
        assert_eq!(e.offset, rec2 as u64);
        assert_eq!(
            e.msg,
            format!(
                "truncated pcap record data (4 of {} bytes)",
                frames()[2].len()
            )
        );
        let e = parse_bytes(&file[..10]).unwrap_err();
        assert_eq!(
            (e.offset, e.msg.as_str()),
            (10, "truncated pcap file header (10 of 24 bytes)")
        );
    }

    #[test]
    fn unsupported_link_type_and_absurd_length() {
        let mut file = pcap(&frames(), false, false);
        file[20] = 0xC3;
        let e = parse_bytes(&file).unwrap_err();
        assert_eq!(
            (e.offset, e.msg.as_str()),
            (20, "unsupported pcap link type 195")
        );
        let mut file = pcap(&frames(), false, false);
        file[24 + 8..24 + 12].copy_from_slice(&u32::MAX.to_le_bytes());
        let e = parse_bytes(&file).unwrap_err();
        assert_eq!(e.offset, 32);
    }
}
