//! Charts drawn on the server as SVG: sparklines of daily counts, a bar chart of a bucket's
//! days.

use std::fmt::Write;

use serde_json::{json, Value};

/// A sparkline of daily counts: one bar a day, scaled to the largest.
pub fn sparkline(days: &[u64]) -> String {
    let (bw, h) = (3u64, 18u64);
    let w = bw * days.len() as u64;
    let max = days.iter().copied().max().unwrap_or(0).max(1);
    let total: u64 = days.iter().sum();
    let mut s = format!(
        "<svg class=\"spark\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" \
         role=\"img\" aria-label=\"{total} reports in {} days\">\
         <title>{total} reports in {} days (max {max}/day)</title>\
         <line x1=\"0\" y1=\"{h}\" x2=\"{w}\" y2=\"{h}\" stroke=\"#c8ccd2\"/>",
        days.len(),
        days.len()
    );
    for (i, &c) in days.iter().enumerate() {
        if c == 0 {
            continue;
        }
        let bh = (c * (h - 2)).div_ceil(max).max(2);
        let _ = write!(
            s,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{bh}\" fill=\"#3465a4\"/>",
            i as u64 * bw,
            h - bh,
            bw - 1
        );
    }
    s.push_str("</svg>");
    s
}

/// A bar chart of daily counts from `first_day` (`YYYY-MM-DD`) to `last_day`.
pub fn day_chart(days: &[u64], first_day: &str, last_day: &str) -> String {
    let (left, top, ch) = (34u64, 8u64, 110u64);
    let n = days.len().max(1) as u64;
    let bw = (680 / n).clamp(3, 24);
    let w = left + bw * n + 8;
    let h = top + ch + 22;
    let max = days.iter().copied().max().unwrap_or(0).max(1);
    let mut s = format!(
        "<svg class=\"chart\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" \
         aria-label=\"reports per day\"><g font-size=\"10\" fill=\"#555\">\
         <text x=\"{}\" y=\"{}\" text-anchor=\"end\">{max}</text>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"end\">0</text>\
         <text x=\"{left}\" y=\"{}\">{first_day}</text>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"end\">{last_day}</text></g>\
         <line x1=\"{left}\" y1=\"{top}\" x2=\"{}\" y2=\"{top}\" stroke=\"#e3e6ea\"/>\
         <line x1=\"{left}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#9aa0a6\"/>",
        left - 4,
        top + 8,
        left - 4,
        top + ch,
        top + ch + 15,
        left + bw * n,
        top + ch + 15,
        left + bw * n,
        top + ch,
        left + bw * n,
        top + ch,
    );
    for (i, &c) in days.iter().enumerate() {
        if c == 0 {
            continue;
        }
        let bh = (c * ch).div_ceil(max).max(1);
        let _ = write!(
            s,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{bh}\" fill=\"#3465a4\">\
             <title>{c} report{}</title></rect>",
            left + i as u64 * bw,
            top + ch - bh,
            bw.saturating_sub(1).max(1),
            if c == 1 { "" } else { "s" }
        );
    }
    s.push_str("</svg>");
    s
}

fn counts(v: &Value) -> Vec<u64> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default()
}

/// A page's data with its charts added (for the template `template`).
pub fn decorate(template: &str, mut v: Value) -> Value {
    match template {
        "buckets.html" => {
            if let Some(bs) = v["buckets"].as_array_mut() {
                for b in bs {
                    b["spark_svg"] = json!(sparkline(&counts(&b["daily_30d"])));
                }
            }
        }
        "bucket.html" => {
            let s = &v["series"];
            let svg = day_chart(
                &counts(&s["daily"]),
                s["first_day"].as_str().unwrap_or(""),
                s["last_day"].as_str().unwrap_or(""),
            );
            v["chart_svg"] = json!(svg);
            let spark = sparkline(&counts(&v["bucket"]["daily_30d"]));
            v["bucket"]["spark_svg"] = json!(spark);
        }
        "report.html" => {
            let html = log_html(&v["log_parts"]);
            v["log_html"] = json!(html);
        }
        _ => {}
    }
    v
}

/// Text escaped for HTML.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Lines that start a crash report in a kernel log.
const CRASH_MARKERS: [&str; 9] = [
    "BUG:",
    "Oops:",
    "WARNING:",
    "kernel BUG at",
    "general protection fault",
    "Kernel panic - not syncing",
    "INFO: task ",
    "watchdog: BUG",
    "Unable to handle kernel",
];

/// A report's log parts as HTML: missing ranges as marked blocks, crash lines highlighted
/// (the first with `id="crash"`).
pub fn log_html(parts: &Value) -> String {
    let mut out = String::new();
    let mut first = true;
    for p in parts.as_array().map(Vec::as_slice).unwrap_or_default() {
        if let Some(m) = p.get("missing") {
            let _ = write!(
                out,
                "<span class=\"hole\">[log bytes {}..{} missing: {} bytes]</span>",
                m[0], m[1], p["bytes"]
            );
            continue;
        }
        let text = p["text"].as_str().unwrap_or("");
        for line in text.split_inclusive('\n') {
            if CRASH_MARKERS.iter().any(|m| line.contains(m)) {
                let id = if first { " id=\"crash\"" } else { "" };
                first = false;
                let _ = write!(
                    out,
                    "<span class=\"hl\"{id}>{}</span>{}",
                    escape(line.trim_end_matches('\n')),
                    if line.ends_with('\n') { "\n" } else { "" }
                );
            } else {
                out.push_str(&escape(line));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_have_one_bar_per_nonzero_day() {
        let s = sparkline(&[0, 1, 4, 0]);
        assert_eq!(s.matches("<rect").count(), 2);
        assert!(s.contains("5 reports in 4 days"));
        let c = day_chart(&[3, 0, 1], "2026-01-01", "2026-01-03");
        assert_eq!(c.matches("<rect").count(), 2);
        assert!(c.contains(">2026-01-03</text>"));
        let parts =
            json!([{"text": "a <b>\nOops: x\nBUG: y\n"}, {"missing": [10, 20], "bytes": 10}]);
        assert_eq!(
            log_html(&parts),
            "a &lt;b&gt;\n<span class=\"hl\" id=\"crash\">Oops: x</span>\n\
             <span class=\"hl\">BUG: y</span>\n\
             <span class=\"hole\">[log bytes 10..20 missing: 10 bytes]</span>"
        );
    }
}
