//! Fuzzes the encoder: a dump built from the input must encode into packets no longer than
//! the limit that decode back to the same log and facts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netoops_codec::wire::*;

/// Takes a length-prefixed piece of the input.
fn take<'a>(data: &mut &'a [u8]) -> Option<&'a [u8]> {
    let (&n, rest) = data.split_first()?;
    let n = usize::from(n).min(rest.len());
    let (piece, rest) = rest.split_at(n);
    *data = rest;
    Some(piece)
}

fuzz_target!(|input: &[u8]| {
    let mut data = input;
    let Some((head, rest)) = data.split_at_checked(8) else { return };
    data = rest;
    let max = 512 + usize::from(u16::from_le_bytes([head[0], head[1]])) % 1200;
    let mask = head[2];
    let mut regs = [0u64; 21];
    regs[16] = u64::from(head[3]);
    let hostname = if mask & 1 != 0 { take(&mut data) } else { None };
    let release = if mask & 2 != 0 { take(&mut data) } else { None };
    let blob = if mask & 4 != 0 { take(&mut data).map(|b| &b[..b.len().min(128)]) } else { None };
    let fault = Regs {
        source: RegsSource::Fault,
        regs: ArchRegs::X86_64(RegsX86_64::from_array(regs)),
    };
    let dump = Dump {
        boot_id: [head[4]; 16],
        seq: u32::from(head[5]),
        reason: Reason::from_u8(head[6]),
        facts: DumpFacts {
            hostname,
            kernel_release: release,
            user_blob: blob,
            regs: (mask & 8 != 0).then_some(&fault),
            taint: (mask & 16 != 0).then_some(u64::from(head[7])),
            ..DumpFacts::empty()
        },
        log: data,
        log_truncated: mask & 32 != 0,
    };
    let p = Packetizer::new(&dump, max).expect("valid dumps encode");
    let mut log = vec![None; data.len()];
    let mut buf = [0u8; MAX_PACKET_SIZE];
    let mut seen_host = None;
    for i in 0..p.packet_count() {
        let n = p.write_packet(i, &mut buf).expect("write");
        assert!(n <= max.min(MAX_PACKET_SIZE));
        let pkt = parse_packet(&buf[..n]).expect("own packets parse");
        assert_eq!(pkt.header.count, p.packet_count());
        assert_eq!(pkt.dump_info.log_len as usize, data.len());
        for r in pkt.records() {
            match r {
                Record::LogChunk { offset, data: d } => {
                    for (k, b) in d.iter().enumerate() {
                        let slot = &mut log[offset as usize + k];
                        assert!(slot.is_none());
                        *slot = Some(*b);
                    }
                }
                Record::Hostname(h) => seen_host = Some(h.to_vec()),
                _ => {}
            }
        }
    }
    let log: Vec<u8> = log.into_iter().map(|b| b.expect("every log byte sent")).collect();
    assert_eq!(log, data);
    let want_host = hostname.filter(|h| !h.is_empty()).map(|h| h[..h.len().min(MAX_STRING_LEN)].to_vec());
    assert_eq!(seen_host, want_host);
});
