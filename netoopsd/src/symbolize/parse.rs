//! The stack of the first x86_64 report in a kernel log: its `RIP:` line and the call trace
//! that follows it (the formats of `arch/x86/kernel/dumpstack.c`).

use std::sync::OnceLock;

use regex::Regex;

/// One frame as the log prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFrame {
    /// The frame as printed, log prefix and leading blanks removed (the `RIP:` line: its
    /// symbol only, `lkdtm_BUG+0x4/0x10`).
    pub text: String,
    /// An instruction pointer (`RIP:` line), not a return address.
    pub rip: bool,
    /// Printed with `? `.
    pub unreliable: bool,
    /// `func+off/size`, when the frame has one.
    pub sym: Option<SymOffset>,
    /// The module in `[module]`, if any.
    pub module: Option<String>,
    /// The module's build id printed as `[module HEX]`, if any.
    pub module_build_id: Option<Vec<u8>>,
}

/// `func+0x12/0x40`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymOffset {
    /// The symbol.
    pub func: String,
    /// Offset into it.
    pub offset: u64,
    /// The symbol's size as the kernel knows it.
    pub size: u64,
}

fn re(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("valid regex"))
}

/// `line` without its printk prefixes: `<4>`, `[   12.345678]`, `[ T123]`, `[ C0]`.
pub fn strip_prefix(line: &str) -> &str {
    static PREFIX: OnceLock<Regex> = OnceLock::new();
    let p = re(
        &PREFIX,
        r"^(?:\s*<\d+>)?(?:\s*\[\s*\d+\.\d+\])?(?:\s*\[\s*[TC]\d+\])?",
    );
    let end = p.find(line).map_or(0, |m| m.end());
    line[end..].trim_end_matches(['\r', '\n'])
}

/// `[<ffffffff81234567>] ? func+0x12/0x40 [module buildid]` after the prefix.
const FRAME: &str = r"^\s*(?:\[<[0-9a-fA-F]+>\]\s*)*(\?\s+)?([^\s+?\[][^\s+]*)\+0x([0-9a-fA-F]+)/0x([0-9a-fA-F]+)(?:\s+\[([^\]\s]+)(?:\s+([0-9a-fA-F]+))?\])?";

fn frame(rest: &str, rip: bool) -> Option<LogFrame> {
    static F: OnceLock<Regex> = OnceLock::new();
    static ADDR: OnceLock<Regex> = OnceLock::new();
    if let Some(c) = re(&F, FRAME).captures(rest) {
        let hex = |i: usize| u64::from_str_radix(&c[i], 16).ok();
        return Some(LogFrame {
            text: c[0].trim().to_string(),
            rip,
            unreliable: c.get(1).is_some(),
            sym: match (hex(3), hex(4)) {
                (Some(offset), Some(size)) => Some(SymOffset {
                    func: c[2].to_string(),
                    offset,
                    size,
                }),
                _ => None,
            },
            module: c.get(5).map(|m| m.as_str().to_string()),
            module_build_id: c.get(6).and_then(|m| parse_hex(m.as_str())),
        });
    }
    // An address the kernel found no symbol for: ` ? 0xffffffffc0a1b2c3`.
    let a = re(&ADDR, r"^\s*(\?\s+)?0x[0-9a-fA-F]+\s*$");
    a.captures(rest).map(|c| LogFrame {
        text: rest.trim().to_string(),
        rip,
        unreliable: c.get(1).is_some(),
        sym: None,
        module: None,
        module_build_id: None,
    })
}

/// Lowercase or uppercase hex digits as bytes (an even number of them).
pub fn parse_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

/// The frame of a `RIP:` line (`RIP: 0010:func+0x4/0x6`, `RIP: func+..`,
/// `RIP: 0010:[<ffffffff82d4e304>]  [<ffffffff82d4e304>] func+0x24/0x30`); None for a user
/// space RIP (`RIP: 0033:0x7f3a5e8b1c27`) or another line.
fn rip_line(line: &str) -> Option<LogFrame> {
    static RIP: OnceLock<Regex> = OnceLock::new();
    let r = re(&RIP, r"^\s*RIP:\s*(?:[0-9a-fA-F]{4}:)?");
    let m = r.find(line)?;
    let f = frame(&line[m.end()..], true)?;
    f.sym.is_some().then_some(f)
}

fn is_marker(rest: &str) -> bool {
    static M: OnceLock<Regex> = OnceLock::new();
    re(
        &M,
        r"^\s*</?(?:TASK|IRQ|NMI|SOFTIRQ|EOI|#[A-Z]+|[A-Z]+)>\s*$",
    )
    .is_match(rest)
}

/// Register lines printed between frames when the trace crosses an exception frame
/// (`show_regs_if_on_stack`): `Code:`, `RSP:`, `RAX:` ... `R13:`, `FS:`, `CS:`, `CR2:`.
fn is_regs(rest: &str) -> bool {
    static R: OnceLock<Regex> = OnceLock::new();
    re(
        &R,
        r"^\s*(?:Code|RSP|RAX|RDX|RBP|R\d{1,2}|FS|CS|CR2|DR\d|ORIG_RAX|PKRU)\s*:",
    )
    .is_match(rest)
}

/// The frames of the call trace starting at `lines[start]` (the `Call Trace:` line): until
/// the first line that is no frame, marker or register line.
fn trace(lines: &[&str], start: usize) -> Vec<LogFrame> {
    let mut out = Vec::new();
    for l in &lines[start + 1..] {
        let rest = strip_prefix(l);
        if let Some(f) = rip_line(rest) {
            out.push(f);
        } else if let Some(f) = frame(rest, false) {
            out.push(f);
        } else if is_marker(rest) || is_regs(rest) || rest.trim_start().starts_with("RIP:") {
            continue;
        } else {
            break;
        }
    }
    out
}

/// The stack of the first report in `log`: its `RIP:` frame (if any), then its call trace
/// (the first `Call Trace:` after that RIP line, before the report's `---[ end trace`; else
/// the first call trace of the log). Interrupted contexts' `RIP:` lines inside the trace
/// are frames with `rip` set.
pub fn parse_stack(log: &str) -> Vec<LogFrame> {
    let lines: Vec<&str> = log.lines().collect();
    let is_trace = |l: &&str| strip_prefix(l).trim() == "Call Trace:";
    let rip = lines
        .iter()
        .enumerate()
        .find_map(|(i, l)| rip_line(strip_prefix(l)).map(|f| (i, f)));
    let mut out = Vec::new();
    let mut call = None;
    if let Some((i, f)) = rip {
        out.push(f);
        for (j, l) in lines.iter().enumerate().skip(i + 1) {
            if is_trace(l) {
                call = Some(j);
                break;
            }
            if l.contains("---[ end trace") {
                break;
            }
        }
    }
    if call.is_none() {
        call = lines.iter().position(is_trace);
    }
    if let Some(j) = call {
        out.extend(trace(&lines, j));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const OOPS: &str = "\
[   71.219458] [ T1234] Oops: invalid opcode: 0000 [#1] SMP NOPTI
[   71.219460] [ T1234] CPU: 0 UID: 0 PID: 1234 Comm: bash Not tainted 7.3.4 #1
[   71.219470] [ T1234] RIP: 0010:lkdtm_BUG+0x4/0x10
[   71.219471] [ T1234] Code: cc cc 0f 0b
[   71.219480] [ T1234] RSP: 0018:ffffc90000bafd88 EFLAGS: 00010246
[   71.219490] [ T1234] Call Trace:
[   71.219491] [ T1234]  <TASK>
[   71.219492] [ T1234]  lkdtm_do_action+0x18/0x30
[   71.219493] [ T1234]  ? die+0x36/0x90
[   71.219494] [ T1234]  direct_entry+0xe1/0x140 [lkdtm 0a1b2c3d]
[   71.219495] [ T1234]  full_proxy_write+0x55/0x80 [foo]
[   71.219495] [ T1234]  ? 0xffffffffc0a1b2c3
[   71.219496] [ T1234]  entry_SYSCALL_64_after_hwframe+0x76/0x7e
[   71.219497] [ T1234] RIP: 0033:0x7f3a5e8b1c27
[   71.219498] [ T1234] RSP: 002b:00007ffd5ab2c9d8 EFLAGS: 00000246
[   71.219499] [ T1234]  </TASK>
[   71.219500] [ T1234] Modules linked in: lkdtm
[   71.219501] [ T1234] ---[ end trace 0000000000000000 ]---
[   72.000000] [ T1235] RIP: 0010:other+0x1/0x2
[   72.000000] [ T1235] Call Trace:
[   72.000000] [ T1235]  other_caller+0x1/0x2
";

    #[test]
    fn the_first_report() {
        let f = parse_stack(OOPS);
        let texts: Vec<&str> = f.iter().map(|f| f.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "lkdtm_BUG+0x4/0x10",
                "lkdtm_do_action+0x18/0x30",
                "? die+0x36/0x90",
                "direct_entry+0xe1/0x140 [lkdtm 0a1b2c3d]",
                "full_proxy_write+0x55/0x80 [foo]",
                "? 0xffffffffc0a1b2c3",
                "entry_SYSCALL_64_after_hwframe+0x76/0x7e",
            ]
        );
        assert!(f[0].rip && !f[1].rip);
        assert_eq!(
            f[0].sym,
            Some(SymOffset {
                func: "lkdtm_BUG".into(),
                offset: 4,
                size: 0x10
            })
        );
        assert!(f[2].unreliable && !f[1].unreliable);
        assert_eq!(f[3].module.as_deref(), Some("lkdtm"));
        assert_eq!(f[3].module_build_id, Some(vec![0x0a, 0x1b, 0x2c, 0x3d]));
        assert_eq!(f[4].module.as_deref(), Some("foo"));
        assert_eq!(f[4].module_build_id, None);
        assert!(f[5].sym.is_none() && f[5].unreliable);
    }

    #[test]
    fn other_spellings() {
        let f = parse_stack(
            "RIP: __memset+0x24/0x30\nCall Trace:\n [<ffffffff81234567>] ? foo.isra.0+0x1/0x2\n",
        );
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].sym.as_ref().unwrap().func, "__memset");
        assert_eq!(f[1].sym.as_ref().unwrap().func, "foo.isra.0");
        assert!(f[1].unreliable);
        let f = parse_stack(
            "RIP: 0010:[<ffffffff82d4e304>]  [<ffffffff82d4e304>] __memset+0x24/0x30\n",
        );
        assert_eq!(f[0].sym.as_ref().unwrap().offset, 0x24);
        // No RIP line: the first call trace.
        let f =
            parse_stack("<4>[ 1.0] Call Trace:\n<4>[ 1.0]  a+0x1/0x2\nnot a frame\n b+0x1/0x2\n");
        assert_eq!(f.len(), 1);
        assert!(!f[0].rip);
        // Interrupted contexts inside the trace.
        let f = parse_stack(
            "RIP: 0010:a+0x1/0x2\nCall Trace:\n <IRQ>\n b+0x1/0x2\n </IRQ>\n <TASK>\n RIP: 0010:c+0x3/0x4\n Code: 00\n RSP: 0018:0\n RAX: 0 RBX: 0\n d+0x5/0x6\n </TASK>\nModules linked in:\n",
        );
        let t: Vec<(&str, bool)> = f.iter().map(|f| (f.text.as_str(), f.rip)).collect();
        assert_eq!(
            t,
            [
                ("a+0x1/0x2", true),
                ("b+0x1/0x2", false),
                ("c+0x3/0x4", true),
                ("d+0x5/0x6", false)
            ]
        );
        assert!(parse_stack("RIP: 0033:0x7f3a5e8b1c27\n").is_empty());
        assert_eq!(strip_prefix("[    1.234567] [    C0] RIP: x"), " RIP: x");
        assert_eq!(strip_prefix("<4>[ 1.2][T12] a\r\n"), " a");
        assert!(parse_stack("").is_empty());
    }
}
