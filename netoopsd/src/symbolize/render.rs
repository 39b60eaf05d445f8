//! A symbolized stack as text (like `scripts/decode_stacktrace.sh`) and as JSON.

use std::fmt::Write;

use serde_json::{json, Value};

use super::{DebugStatus, SymFrame, Symbolized};

/// One line saying what became of the debug info.
pub fn status_line(s: &DebugStatus) -> String {
    match s {
        DebugStatus::NoBuildId => "not symbolized: the report carries no build id".into(),
        DebugStatus::NotConfigured => "not symbolized: no debug info source \
             (--debug-dir, --debuginfod or $DEBUGINFOD_URLS)"
            .into(),
        DebugStatus::Found(p) => format!("debug info: {}", p.display()),
        DebugStatus::Pending => "not symbolized yet: debug info is being fetched".into(),
        DebugStatus::Missing(m) => format!("not symbolized: debug info not found ({m})"),
        DebugStatus::Unusable(m) => format!("not symbolized: debug info unusable ({m})"),
    }
}

/// The status as a short word, for JSON.
pub fn status_word(s: &DebugStatus) -> &'static str {
    match s {
        DebugStatus::NoBuildId => "no_build_id",
        DebugStatus::NotConfigured => "not_configured",
        DebugStatus::Found(_) => "found",
        DebugStatus::Pending => "pending",
        DebugStatus::Missing(_) => "missing",
        DebugStatus::Unusable(_) => "unusable",
    }
}

fn frame_lines(f: &SymFrame, out: &mut String) {
    let rip = if f.rip { "RIP: " } else { "" };
    let q = if f.unreliable { "? " } else { "" };
    let Some((last, inlined)) = f.locations.split_last() else {
        let _ = writeln!(out, " {rip}{}", f.text);
        return;
    };
    for l in inlined {
        let _ = writeln!(
            out,
            " {rip}{q}{} ({}:{}) [inlined]",
            l.function, l.file, l.line
        );
    }
    let name = f
        .text
        .split_whitespace()
        .find_map(|w| w.split_once("+0x").map(|(n, _)| n))
        .unwrap_or(&last.function);
    let _ = writeln!(out, " {rip}{q}{name} ({}:{})", last.file, last.line);
}

/// The section `show` prints: a status line, then each frame (`RIP:` frame first), resolved
/// ones as `func (file:line)` with their inlined functions on lines of their own
/// before them, unresolved ones as the log prints them.
pub fn render_text(s: &Symbolized, out: &mut String) {
    out.push_str("----- symbolized stack -----\n");
    let _ = writeln!(out, "{}", status_line(&s.status));
    if s.frames.is_empty() {
        out.push_str("(no RIP line or call trace in the log)\n");
    }
    let mut in_trace = false;
    for f in &s.frames {
        if !f.rip && !in_trace {
            out.push_str("Call Trace:\n");
            in_trace = true;
        }
        frame_lines(f, out);
    }
    out.push_str("----- end of symbolized stack -----\n");
}

/// `{"status": ..., "detail": ..., "frames": [...]}`.
pub fn to_json(s: &Symbolized) -> Value {
    let detail = match &s.status {
        DebugStatus::Found(p) => Some(p.display().to_string()),
        DebugStatus::Missing(m) | DebugStatus::Unusable(m) => Some(m.clone()),
        _ => None,
    };
    let frames: Vec<Value> = s
        .frames
        .iter()
        .map(|f| {
            json!({
                "text": f.text,
                "rip": f.rip,
                "unreliable": f.unreliable,
                "locations": f.locations.iter().map(|l| json!({
                    "function": l.function,
                    "file": l.file,
                    "line": l.line,
                    "inlined": l.inlined,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "status": status_word(&s.status),
        "detail": detail,
        "message": status_line(&s.status),
        "frames": frames,
    })
}
