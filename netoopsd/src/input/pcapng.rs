//! pcapng files: section header, interface description, enhanced/simple/obsolete packet
//! blocks; both byte orders; several sections. Other blocks are skipped.

use super::{at, link, take_frame, AtOffset, FileContents};

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 1;
const PB: u32 = 2;
const SPB: u32 = 3;
const EPB: u32 = 6;
const BOM: u32 = 0x1A2B_3C4D;

pub(crate) fn is_pcapng(head: [u8; 4]) -> bool {
    u32::from_le_bytes(head) == SHB
}

struct Reader<'a> {
    data: &'a [u8],
    big: bool,
}

impl Reader<'_> {
    fn u32(&self, off: usize) -> Option<u32> {
        let b: [u8; 4] = self.data.get(off..off.checked_add(4)?)?.try_into().ok()?;
        Some(if self.big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }
    fn u16(&self, off: usize) -> Option<u16> {
        let b: [u8; 2] = self.data.get(off..off.checked_add(2)?)?.try_into().ok()?;
        Some(if self.big {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    }
}

pub(crate) fn parse(data: &[u8]) -> Result<FileContents, AtOffset> {
    let mut r = Reader { data, big: false };
    let mut out = FileContents {
        format: "pcapng",
        ..FileContents::default()
    };
    let mut interfaces: Vec<u32> = Vec::new();
    let mut pos = 0usize;
    while pos < data.len() {
        let left = data.len() - pos;
        if left < 12 {
            return Err(at(
                pos,
                format!("truncated pcapng block header ({left} of 12 bytes)"),
            ));
        }
        let raw_type = u32::from_le_bytes(data[pos..pos + 4].try_into().unwrap_or_default());
        if raw_type == SHB {
            let bom: [u8; 4] = data[pos + 8..pos + 12].try_into().unwrap_or_default();
            r.big = match (u32::from_le_bytes(bom), u32::from_be_bytes(bom)) {
                (BOM, _) => false,
                (_, BOM) => true,
                _ => return Err(at(pos + 8, "bad pcapng byte-order magic")),
            };
            interfaces.clear();
        } else if pos == 0 {
            return Err(at(
                0,
                "pcapng file does not start with a section header block",
            ));
        }
        let btype = r.u32(pos).unwrap_or_default();
        let blen = r.u32(pos + 4).unwrap_or_default() as usize;
        if blen < 12 || !blen.is_multiple_of(4) {
            return Err(at(pos + 4, format!("invalid pcapng block length {blen}")));
        }
        if blen > left {
            return Err(at(
                pos,
                format!("truncated pcapng block ({left} of {blen} bytes)"),
            ));
        }
        if r.u32(pos + blen - 4) != Some(blen as u32) {
            return Err(at(
                pos + blen - 4,
                "pcapng block length trailer does not match",
            ));
        }
        let body_end = pos + blen - 4;
        match btype {
            IDB => {
                let lt = r
                    .u16(pos + 8)
                    .ok_or_else(|| at(pos, "truncated interface description block"))?;
                interfaces.push(u32::from(lt));
            }
            EPB | PB | SPB => {
                let (iface, caplen, data_off) = match btype {
                    EPB => (r.u32(pos + 8), r.u32(pos + 20), pos + 28),
                    PB => (r.u16(pos + 8).map(u32::from), r.u32(pos + 20), pos + 28),
                    _ => (
                        Some(0),
                        r.u32(pos + 8).map(|orig| orig.min((blen - 16) as u32)),
                        pos + 12,
                    ),
                };
                let (Some(iface), Some(caplen)) = (iface, caplen) else {
                    return Err(at(pos, "truncated pcapng packet block"));
                };
                let end = data_off.saturating_add(caplen as usize);
                if end > body_end {
                    return Err(at(
                        pos,
                        format!("pcapng packet length {caplen} exceeds its block"),
                    ));
                }
                let Some(&linktype) = interfaces.get(iface as usize) else {
                    return Err(at(
                        pos + 8,
                        format!("pcapng packet refers to unknown interface {iface}"),
                    ));
                };
                if link::supported(linktype) {
                    take_frame(&mut out, linktype, &data[data_off..end], data_off);
                } else {
                    out.frames_seen += 1;
                    out.frames_skipped += 1;
                }
            }
            _ => {}
        }
        pos += blen;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::input::parse_bytes;
    use crate::input::testutil::{eth_ipv4_udp, pcapng};

    #[test]
    fn both_byte_orders() {
        let frames = vec![
            eth_ipv4_udp(b"NtOp one"),
            eth_ipv4_udp(b"other"),
            eth_ipv4_udp(b"NtOp three"),
        ];
        for big in [false, true] {
            let c = parse_bytes(&pcapng(&frames, big)).unwrap();
            assert_eq!(c.format, "pcapng");
            assert_eq!((c.frames_seen, c.frames_skipped), (3, 1));
            assert_eq!(c.frames[0].payload, b"NtOp one");
            assert_eq!(c.frames[1].payload, b"NtOp three");
            // SHB 28 + IDB 20 + EPB header 28 + 42 bytes of headers.
            assert_eq!(c.frames[0].offset, 28 + 20 + 28 + 42);
        }
    }

    #[test]
    fn errors_name_the_offset() {
        let frames = vec![eth_ipv4_udp(b"NtOp one")];
        let file = pcapng(&frames, false);
        let e = parse_bytes(&file[..file.len() - 2]).unwrap_err();
        assert_eq!(e.offset, 48);
        assert!(e.msg.starts_with("truncated pcapng block"), "{}", e.msg);
        let mut bad = file.clone();
        bad[48 + 4] = 13;
        let e = parse_bytes(&bad).unwrap_err();
        assert_eq!(
            (e.offset, e.msg.as_str()),
            (52, "invalid pcapng block length 13")
        );
        let mut bad = file.clone();
        bad[48 + 8] = 5;
        let e = parse_bytes(&bad).unwrap_err();
        assert_eq!(
            (e.offset, e.msg.as_str()),
            (56, "pcapng packet refers to unknown interface 5")
        );
        let mut bad = file;
        bad[8] = 0;
        let e = parse_bytes(&bad).unwrap_err();
        assert_eq!(
            (e.offset, e.msg.as_str()),
            (8, "bad pcapng byte-order magic")
        );
    }
}
