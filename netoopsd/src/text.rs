//! Human-readable output of reassembled dumps (the format `PROTOCOL.md` shows).

use std::fmt::Write;

use netoops_codec::wire::{RegsSource, RegsX86_64};

use crate::display::{dump_name, hex, lossy, taint_letters, uptime, wall_clock};
use crate::reassembly::{DumpState, OwnedRegs};

/// Width of the label column.
const LABEL: usize = 16;

fn line(out: &mut String, label: &str, value: impl std::fmt::Display) {
    let _ = writeln!(out, "  {:<LABEL$}{value}", format!("{label}:"));
}

/// A fact string for one line of text: control characters escaped.
fn fact(b: &[u8]) -> String {
    lossy(b)
        .chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn ranges_u16(r: &[(u16, u16)]) -> String {
    let parts: Vec<String> = r
        .iter()
        .map(|&(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect();
    parts.join(", ")
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Appends one dump as text.
pub fn render_dump(d: &DumpState, out: &mut String) {
    let _ = writeln!(out, "dump {}", dump_name(&d.key));
    line(out, "reason", d.reason);
    let mut packets = format!("{} of {} received", d.packets.len(), d.count);
    if d.is_complete() {
        packets.push_str(", complete");
    } else {
        let _ = write!(packets, ", missing {}", ranges_u16(&d.missing_packets()));
    }
    if d.duplicates > 0 {
        let _ = write!(
            packets,
            " ({} dropped)",
            plural(d.duplicates, "duplicate", "duplicates")
        );
    }
    if d.inconsistent > 0 {
        let _ = write!(packets, " ({} inconsistent dropped)", d.inconsistent);
    }
    line(out, "packets", packets);
    line(out, "dump length", format!("{} bytes", d.dump_len));

    let f = &d.facts;
    if let Some(t) = &f.time {
        line(
            out,
            "time",
            format!("{} (uptime {} s)", wall_clock(t), uptime(t)),
        );
    }
    let strings: [(&str, &Option<Vec<u8>>); 5] = [
        ("kernel release", &f.kernel_release),
        ("kernel version", &f.kernel_version),
        ("hostname", &f.hostname),
        ("arch", &f.arch),
        ("cpu vendor", &f.cpu_vendor),
    ];
    for (label, v) in strings {
        if let Some(v) = v {
            line(out, label, fact(v));
        }
    }
    if let Some(c) = &f.cpu_id {
        line(
            out,
            "cpu",
            format!(
                "family {} model {} stepping {} microcode {:#x}",
                c.family, c.model, c.stepping, c.microcode
            ),
        );
    }
    let dmi: [(&str, &Option<Vec<u8>>); 6] = [
        ("bios vendor", &f.dmi_bios_vendor),
        ("bios version", &f.dmi_bios_version),
        ("bios date", &f.dmi_bios_date),
        ("board vendor", &f.dmi_board_vendor),
        ("board name", &f.dmi_board_name),
        ("product name", &f.dmi_product_name),
    ];
    for (label, v) in dmi {
        if let Some(v) = v {
            line(out, label, fact(v));
        }
    }
    if let Some(t) = f.taint {
        if t == 0 {
            line(out, "taint", "0x0");
        } else {
            line(out, "taint", format!("{t:#x} ({})", taint_letters(t)));
        }
    }
    if let Some(b) = &f.build_id {
        line(out, "build id", hex(b));
    }
    if let Some(b) = &f.user_blob {
        line(
            out,
            "user blob",
            format!("{} ({})", hex(b), plural(b.len() as u64, "byte", "bytes")),
        );
    }
    match &d.regs {
        None if d.info.regs_source == RegsSource::None => line(out, "registers", "none"),
        None => line(
            out,
            "registers",
            format!("not received (source: {})", d.info.regs_source),
        ),
        Some((source, OwnedRegs::X86_64(r))) => {
            line(out, "registers", format!("x86_64 (source: {source})"));
            let names = RegsX86_64::NAMES;
            let values = r.to_array();
            for row in names.iter().zip(values).collect::<Vec<_>>().chunks(3) {
                let cells: Vec<String> = row
                    .iter()
                    .map(|(n, v)| format!("{n:>7} {v:016x}"))
                    .collect();
                let _ = writeln!(out, "    {}", cells.join("   "));
            }
        }
        Some((source, OwnedRegs::Other { arch, payload })) => line(
            out,
            "registers",
            format!(
                "arch {arch} (source: {source}), {} bytes: {}",
                payload.len(),
                hex(payload)
            ),
        ),
    }
    for u in &d.unknown {
        line(
            out,
            "unknown record",
            format!(
                "type {:#06x}, {} in packet {}",
                u.ty,
                plural(u.len as u64, "byte", "bytes"),
                u.packet
            ),
        );
    }

    let missing = d.missing_log();
    let mut log = plural(u64::from(d.info.log_len), "byte", "bytes");
    if d.info.log_truncated() {
        log.push_str(" (cut to the configured size)");
    }
    if missing.is_empty() {
        log.push_str(", complete");
    } else {
        let parts: Vec<String> = missing.iter().map(|(a, b)| format!("{a}..{b}")).collect();
        let lost: u64 = missing.iter().map(|(a, b)| b - a).sum();
        let _ = write!(
            log,
            ", missing {} ({})",
            parts.join(", "),
            plural(lost, "byte", "bytes")
        );
    }
    line(out, "log", log);
    out.push_str("----- log -----\n");
    let mut pos = 0u64;
    let mut at_line_start = true;
    let hole = |out: &mut String, a: u64, b: u64, at_line_start: &mut bool| {
        if !*at_line_start {
            out.push('\n');
        }
        let _ = writeln!(out, "[netoops: log bytes {a}..{b} missing]");
        *at_line_start = true;
    };
    for s in d.log_segments() {
        if s.offset > pos {
            hole(out, pos, s.offset, &mut at_line_start);
        }
        let text = lossy(&s.bytes);
        out.push_str(&text);
        at_line_start = text.ends_with('\n');
        pos = s.offset + s.bytes.len() as u64;
    }
    if u64::from(d.info.log_len) > pos {
        hole(out, pos, u64::from(d.info.log_len), &mut at_line_start);
    }
    if !at_line_start {
        out.push('\n');
    }
    out.push_str("----- end of log -----\n");
}

/// All dumps as text, separated by blank lines.
pub fn render<'a>(dumps: impl IntoIterator<Item = &'a DumpState>) -> String {
    let mut out = String::new();
    for (i, d) in dumps.into_iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        render_dump(d, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reassembly::{Origin, Reassembler};
    use netoops_codec::wire::{ArchRegs, Dump, DumpFacts, Packetizer, Reason, Regs};

    fn reassemble(d: Dump<'_>, max: usize, keep: impl Fn(u16) -> bool) -> Reassembler {
        let p = Packetizer::new(&d, max).unwrap();
        let mut r = Reassembler::new();
        for i in 0..p.packet_count() {
            let mut b = vec![0; 1460];
            let n = p.write_packet(i, &mut b).unwrap();
            if keep(i) {
                r.push(
                    &b[..n],
                    Origin {
                        source: "t".into(),
                        offset: 0,
                    },
                );
            }
        }
        r
    }

    #[test]
    fn holes_in_the_middle_of_a_line_start_their_own_line() {
        let log: Vec<u8> = (0..3000)
            .map(|i| {
                if i % 50 == 49 {
                    b'\n'
                } else {
                    b'a' + (i % 26) as u8
                }
            })
            .collect();
        let d = Dump {
            boot_id: [1; 16],
            seq: 0,
            reason: Reason::Panic,
            facts: DumpFacts::empty(),
            log: &log,
            log_truncated: false,
        };
        let r = reassemble(d, 512, |i| i != 2);
        let text = render(r.dumps());
        let hole = text
            .lines()
            .find(|l| l.starts_with("[netoops: log bytes"))
            .unwrap();
        // Packet 0 carries 452-20-8 = 424 log bytes, packet 1 the next 444.
        assert_eq!(hole, "[netoops: log bytes 868..1312 missing]");
        assert!(text.contains("\n[netoops: log bytes 868..1312 missing]\n"));
        assert!(
            text.contains("  packets:        6 of 7 received, missing 2\n"),
            "{text}"
        );
        assert!(text.contains("  log:            3000 bytes, missing 868..1312 (444 bytes)\n"));
        assert!(text.contains("  registers:      none\n"));
        assert!(text.contains("  reason:         panic\n"));
    }

    #[test]
    fn other_architectures_and_lost_registers() {
        let d = Dump {
            boot_id: [1; 16],
            seq: 9,
            reason: Reason::Unknown(9),
            facts: DumpFacts {
                hostname: Some(b"a\nb"),
                regs: Some(&Regs {
                    source: netoops_codec::wire::RegsSource::PanicCpu,
                    regs: ArchRegs::Other {
                        arch: 7,
                        payload: &[1, 2, 3],
                    },
                }),
                ..DumpFacts::empty()
            },
            log: b"x",
            log_truncated: false,
        };
        let text = render(reassemble(d, 1460, |_| true).dumps());
        assert!(text.contains("  reason:         unknown(9)\n"), "{text}");
        assert!(text.contains("  hostname:       a\\nb\n"), "{text}");
        assert!(text.contains("  registers:      arch 7 (source: panic-cpu), 3 bytes: 010203\n"));
        assert!(text.contains("----- log -----\nx\n----- end of log -----\n"));
    }
}
