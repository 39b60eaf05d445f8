//! The data of each page, as JSON: what `/api/...` returns and what the templates render.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::{json, Value};

use netoops_codec::wire::RegsX86_64;

use super::WebError;
use crate::display::{hex, lossy};
use crate::query::{stored_json, utc};
use crate::reassembly::{DumpState, OwnedRegs};
use crate::store::stats::{BucketRow, Query, Share, DAY_MS, RISING_FACTOR, RISING_MIN, SPARK_DAYS};
use crate::store::Store;
use crate::symbolize::{DebugStatus, Symbolizer};

/// Most buckets listed on the buckets page (the largest).
pub const BUCKETS_SHOWN: u32 = 1000;
/// Most reports listed on a bucket page.
pub const BUCKET_REPORTS: u32 = 500;
/// Most reports listed on a machine page.
pub const MACHINE_REPORTS: u32 = 2000;

/// The filter parameters the pages take, in form order: (name, label).
pub const FILTER_PARAMS: [(&str, &str); 14] = [
    ("reason", "reason"),
    ("kernel", "kernel release"),
    ("days", "last N days"),
    ("from", "from"),
    ("to", "to"),
    ("host", "host"),
    ("cpu_vendor", "CPU vendor"),
    ("family", "CPU family"),
    ("model", "CPU model"),
    ("microcode", "microcode"),
    ("bios", "BIOS version"),
    ("board", "board/product"),
    ("text", "text (title/log)"),
    ("complete", "complete"),
];

fn bad(name: &str, value: &str, why: impl Into<String>) -> WebError {
    let why = why.into();
    // parse_time's errors start with the value; it is said once.
    let quoted = format!("{value:?}: ");
    WebError::BadParam {
        name: name.into(),
        value: value.into(),
        why: why
            .strip_prefix(&quoted)
            .map_or(why.clone(), str::to_string),
    }
}

fn number(name: &str, v: &str) -> Result<u32, WebError> {
    let t = v.trim();
    let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16),
        None => t.parse(),
    };
    parsed.map_err(|_| bad(name, v, "not a number (decimal, or hex with 0x)"))
}

/// The query of a page's parameters (unknown parameters are ignored, empty ones absent).
/// Also returns the parameters taken, for the form and links.
pub fn parse_query(
    params: &[(String, String)],
    now_ms: i64,
) -> Result<(Query, BTreeMap<String, String>), WebError> {
    let mut q = Query::default();
    let mut taken = BTreeMap::new();
    for (k, v) in params {
        if v.trim().is_empty() || !FILTER_PARAMS.iter().any(|(n, _)| n == k) {
            continue;
        }
        taken.insert(k.clone(), v.clone());
        let s = Some(v.trim().to_string());
        let f = &mut q.filter;
        match k.as_str() {
            "reason" => f.reason = s,
            "kernel" => f.kernel = s,
            "host" => f.host = s,
            "cpu_vendor" => f.cpu_vendor = s,
            "bios" => f.bios = s,
            "board" => q.board_or_product = s,
            "text" => q.text = s,
            "family" => f.cpu_family = Some(number(k, v)?),
            "model" => f.cpu_model = Some(number(k, v)?),
            "microcode" => q.microcode = Some(number(k, v)?),
            "complete" => {
                f.complete = Some(match v.trim() {
                    "yes" | "true" | "1" => true,
                    "no" | "false" | "0" => false,
                    _ => return Err(bad(k, v, "use yes or no")),
                })
            }
            "days" => {
                let n: i64 = v
                    .trim()
                    .parse()
                    .ok()
                    .filter(|n| (1..=36_500).contains(n))
                    .ok_or_else(|| bad(k, v, "not a number of days (1 or more)"))?;
                let since = now_ms - n * DAY_MS;
                f.since_ms = Some(f.since_ms.map_or(since, |s| s.max(since)));
            }
            "from" => {
                let t = crate::display::parse_time(v, now_ms).map_err(|e| bad(k, v, e))?;
                f.since_ms = Some(f.since_ms.map_or(t, |s| s.max(t)));
            }
            "to" => {
                f.until_ms = Some(crate::display::parse_time(v, now_ms).map_err(|e| bad(k, v, e))?);
            }
            _ => {}
        }
    }
    Ok((q, taken))
}

/// `a=b&c=d`, percent-encoded.
pub fn query_string(p: &BTreeMap<String, String>) -> String {
    p.iter()
        .map(|(k, v)| format!("{}={}", pct(k), pct(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encoding of a URL path segment or query value.
pub fn pct(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn day_name(day: i64) -> String {
    utc(day * DAY_MS)[..10].to_string()
}

fn bucket_json(b: &BucketRow) -> Value {
    json!({
        "bucket": b.bucket,
        "title": b.title,
        "reason": b.reason,
        "count": b.count,
        "machines": b.machines,
        "kernels": b.kernels,
        "first_seen": utc(b.first_ms),
        "last_seen": utc(b.last_ms),
        "first_seen_ms": b.first_ms,
        "last_seen_ms": b.last_ms,
        "last_id": b.last_id,
        "daily_30d": b.daily,
        "week": b.week,
        "prev_weekly_avg": b.prev_weekly_avg,
        "rising": b.rising,
        "first_release": b.first_release,
        "new": b.new,
    })
}

fn definitions() -> Value {
    json!({
        "newest_release": "the highest kernel release in the store by version order (digit runs compare as numbers: 6.12 > 6.9)",
        "new": "the bucket's first report (whole store) came from the newest kernel release",
        "rising": format!("at least {RISING_MIN} reports in the last 7 days and at least {RISING_FACTOR}x the weekly average of the 4 weeks before"),
        "sparkline": format!("reports per UTC day, the {SPARK_DAYS} days ending today; sparklines and rising ignore the time window filter"),
    })
}

fn common(store: &dyn Store) -> Result<Value, WebError> {
    Ok(json!({
        "reasons": store.distinct("reason")?,
        "kernels": store.releases()?,
    }))
}

/// `/`: buckets of the reports matching the filters.
pub fn buckets(
    store: &dyn Store,
    params: &[(String, String)],
    now_ms: i64,
) -> Result<Value, WebError> {
    let (mut q, taken) = parse_query(params, now_ms)?;
    q.filter.limit = Some(BUCKETS_SHOWN);
    let o = store.overview(&q, now_ms)?;
    Ok(json!({
        "now": utc(now_ms),
        "now_ms": now_ms,
        "filters": taken,
        "query": query_string(&taken),
        "reports": o.reports,
        "machines": o.machines,
        "bucket_count": o.bucket_total,
        "buckets_shown": o.buckets.len(),
        "newest_release": o.newest_release,
        "spark_first_day": day_name(o.first_day),
        "spark_last_day": day_name(o.first_day + SPARK_DAYS as i64 - 1),
        "buckets": o.buckets.iter().map(bucket_json).collect::<Vec<_>>(),
        "definitions": definitions(),
        "options": common(store)?,
    }))
}

fn report_row(r: &crate::store::Stored) -> Value {
    let mut v = stored_json(r);
    v["machine_url"] = json!(format!("/machine/{}", pct(&r.fields.machine)));
    v["microcode"] = json!(r.fields.microcode);
    v["microcode_hex"] = json!(r.fields.microcode.map(|m| format!("{m:#x}")));
    v
}

fn shares(rows: &[Share], total: u64, param: Option<&str>) -> Value {
    Value::Array(
        rows.iter()
            .map(|s| {
                // The filter showing only these reports, where one parameter says it.
                let filter = match (param, &s.value) {
                    (Some(p), Some(v)) => Some(format!("{p}={}", pct(v))),
                    _ => None,
                };
                json!({
                    "value": s.value,
                    "filter": filter,
                    "count": s.count,
                    "share": if total == 0 { 0.0 } else {
                        (1000.0 * s.count as f64 / total as f64).round() / 10.0
                    },
                })
            })
            .collect(),
    )
}

/// `/bucket/{id}`: one bucket (under the filters): counts over time, breakdowns, reports.
pub fn bucket(
    store: &dyn Store,
    id: &str,
    params: &[(String, String)],
    now_ms: i64,
) -> Result<Value, WebError> {
    let (mut q, taken) = parse_query(params, now_ms)?;
    let only = Query {
        bucket: Some(id.to_string()),
        ..Query::default()
    };
    if store.totals(&only)?.0 == 0 {
        return Err(WebError::NotFound(format!("bucket {id}: no such bucket")));
    }
    q.bucket = Some(id.to_string());
    let o = store.overview(&q, now_ms)?;
    let (summary, count) = match o.buckets.first() {
        Some(b) => (bucket_json(b), b.count),
        None => (json!({"bucket": id, "count": 0}), 0),
    };
    let today = now_ms.div_euclid(DAY_MS);
    let whole = store.overview(&only, now_ms)?;
    let first_day = whole
        .buckets
        .first()
        .map_or(today, |b| b.first_ms.div_euclid(DAY_MS))
        .clamp(today - 89, today - 29);
    let daily = store
        .daily(&q, first_day, today)?
        .remove(id)
        .unwrap_or_else(|| vec![0; (today - first_day + 1) as usize]);
    let mut breakdowns = Vec::new();
    for (name, label, param) in [
        ("kernel", "kernel release", Some("kernel")),
        ("cpu", "CPU model", None),
        ("microcode", "microcode", Some("microcode")),
        ("bios", "BIOS version", Some("bios")),
        ("board", "board / product", None),
    ] {
        let rows = store.breakdown(&q, name)?;
        breakdowns.push(json!({"name": name, "label": label, "rows": shares(&rows, count, param)}));
    }
    let reports = store.reports(&q, BUCKET_REPORTS)?;
    Ok(json!({
        "now": utc(now_ms),
        "now_ms": now_ms,
        "filters": taken,
        "query": query_string(&taken),
        "bucket": summary,
        "newest_release": o.newest_release,
        "series": {"first_day": day_name(first_day), "last_day": day_name(today), "daily": daily},
        "breakdowns": breakdowns,
        "reports_shown": reports.len(),
        "reports": reports.iter().map(report_row).collect::<Vec<_>>(),
        "definitions": definitions(),
        "options": common(store)?,
    }))
}

fn status_text(s: &DebugStatus) -> (&'static str, String) {
    match s {
        DebugStatus::NoBuildId => (
            "no-build-id",
            "the report carries no build id: frames as in the log".into(),
        ),
        DebugStatus::NotConfigured => (
            "not-configured",
            "no debug info source configured (serve --debug-dir, --debuginfod): frames as in the log"
                .into(),
        ),
        DebugStatus::Found(p) => ("found", format!("debug info: {}", p.display())),
        DebugStatus::Pending => (
            "pending",
            "debug info being fetched: frames as in the log for now; reload later".into(),
        ),
        DebugStatus::Missing(w) => ("missing", format!("debug info not found: {w}")),
        DebugStatus::Unusable(w) => ("unusable", format!("debug info unusable: {w}")),
    }
}

/// The call trace lines of a log as it gives them (the first oops's `RIP:` symbol and
/// `Call Trace:` block), without timestamps.
pub fn log_frames(log: &str) -> Vec<String> {
    let strip = |l: &str| -> String {
        let t = l.trim_start();
        let t = match t.strip_prefix('[') {
            Some(rest) => rest.split_once(']').map_or(t, |(_, r)| r),
            None => t,
        };
        t.trim().to_string()
    };
    let mut out = Vec::new();
    let mut in_trace = false;
    for l in log.lines() {
        let t = strip(l);
        if !in_trace {
            if let Some(rip) = t.split_once("RIP: ").map(|(_, r)| r) {
                if out.is_empty() {
                    let sym = rip.split_once(':').map_or(rip, |(_, s)| s);
                    out.push(format!("RIP: {sym}"));
                }
            } else if t == "Call Trace:" {
                in_trace = true;
            }
            continue;
        }
        if t.is_empty()
            || t.starts_with("Modules linked in")
            || t.starts_with("---[")
            || t.starts_with("RIP:")
            || t.starts_with("Kernel panic")
        {
            break;
        }
        let end = t == "</TASK>";
        out.push(t);
        if end {
            break;
        }
    }
    out
}

fn log_parts(d: &DumpState) -> (Vec<Value>, String) {
    let mut parts = Vec::new();
    let mut raw = String::new();
    let mut pos = 0u64;
    let hole = |parts: &mut Vec<Value>, raw: &mut String, a: u64, b: u64| {
        if !raw.is_empty() && !raw.ends_with('\n') {
            raw.push('\n');
        }
        let _ = writeln!(raw, "[netoops: log bytes {a}..{b} missing]");
        parts.push(json!({"missing": [a, b], "bytes": b - a}));
    };
    for s in d.log_segments() {
        if s.offset > pos {
            hole(&mut parts, &mut raw, pos, s.offset);
        }
        let text = lossy(&s.bytes);
        raw.push_str(&text);
        parts.push(json!({"offset": s.offset, "text": text}));
        pos = s.offset + s.bytes.len() as u64;
    }
    let len = u64::from(d.info.log_len);
    if len > pos {
        hole(&mut parts, &mut raw, pos, len);
    }
    (parts, raw)
}

fn load(store: &dyn Store, id: &str) -> Result<(crate::store::Full, DumpState), WebError> {
    let n: i64 = id
        .parse()
        .map_err(|_| WebError::NotFound(format!("report {id}: no such report")))?;
    let full = store
        .get(n)?
        .ok_or_else(|| WebError::NotFound(format!("report {n}: no such report")))?;
    let d = DumpState::from_packets(full.packets.iter().map(Vec::as_slice), &full.report.sender)
        .ok_or_else(|| WebError::Internal(format!("report {n}: stored packets do not decode")))?;
    Ok((full, d))
}

/// `/report/{id}/log`: (id, the received log with missing ranges marked).
pub fn raw_log(store: &dyn Store, id: &str) -> Result<(i64, String), WebError> {
    let (full, d) = load(store, id)?;
    Ok((full.report.id, log_parts(&d).1))
}

/// `/report/{id}`: facts, registers, symbolized stack, log.
pub fn report(store: &dyn Store, sym: &Symbolizer, id: &str) -> Result<Value, WebError> {
    let (full, d) = load(store, id)?;
    let r = &full.report;
    let (parts, raw) = log_parts(&d);
    let s = sym.symbolize_dump(&d);
    let (status, status_text) = status_text(&s.status);
    // The frames as `show --json` gives them.
    let frames = crate::symbolize::render::to_json(&s)["frames"].take();
    let regs: Vec<Value> = match &d.regs {
        Some((_, OwnedRegs::X86_64(x))) => RegsX86_64::NAMES
            .iter()
            .zip(x.to_array())
            .map(|(n, v)| json!([n, format!("{v:016x}")]))
            .collect(),
        _ => Vec::new(),
    };
    let f = &d.facts;
    let s8 = |v: &Option<Vec<u8>>| v.as_deref().map(lossy);
    let mut facts: Vec<Value> = Vec::new();
    let mut fact = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            facts.push(json!([k, v]));
        }
    };
    fact(
        "time",
        f.time.as_ref().map(|t| {
            format!(
                "{} (uptime {} s)",
                crate::display::wall_clock(t),
                crate::display::uptime(t)
            )
        }),
    );
    fact("kernel release", s8(&f.kernel_release));
    fact("kernel version", s8(&f.kernel_version));
    fact("build id", f.build_id.as_deref().map(hex));
    fact("hostname", s8(&f.hostname));
    fact("arch", s8(&f.arch));
    fact("cpu vendor", s8(&f.cpu_vendor));
    fact(
        "cpu",
        f.cpu_id.map(|c| {
            format!(
                "family {} model {} stepping {} microcode {:#x}",
                c.family, c.model, c.stepping, c.microcode
            )
        }),
    );
    fact("bios vendor", s8(&f.dmi_bios_vendor));
    fact("bios version", s8(&f.dmi_bios_version));
    fact("bios date", s8(&f.dmi_bios_date));
    fact("board vendor", s8(&f.dmi_board_vendor));
    fact("board name", s8(&f.dmi_board_name));
    fact("product name", s8(&f.dmi_product_name));
    fact(
        "taint",
        f.taint.map(|t| {
            if t == 0 {
                "0x0".to_string()
            } else {
                format!("{t:#x} ({})", crate::display::taint_letters(t))
            }
        }),
    );
    fact("user blob", f.user_blob.as_deref().map(hex));
    let mut v = report_row(r);
    v["facts"] = Value::Array(facts);
    v["regs_source"] = json!(d.regs.as_ref().map(|(src, _)| src.name()));
    v["regs"] = Value::Array(regs);
    v["symbolized"] = json!({
        "status": status,
        "status_text": status_text,
        "frames": frames,
        "log_frames": log_frames(&raw),
    });
    v["log_parts"] = Value::Array(parts);
    v["log_url"] = json!(format!("/report/{}/log", r.id));
    v["bucket_url"] = json!(format!("/bucket/{}", pct(&r.fields.bucket)));
    v["build_id"] = json!(f.build_id.as_deref().map(hex));
    Ok(v)
}

/// `/machine/{name}`: one machine's reports, grouped by boot.
pub fn machine(store: &dyn Store, name: &str) -> Result<Value, WebError> {
    let q = Query {
        machine: Some(name.to_string()),
        ..Query::default()
    };
    let (count, _, buckets) = store.totals(&q)?;
    if count == 0 {
        return Err(WebError::NotFound(format!(
            "machine {name:?}: no such machine"
        )));
    }
    let reports = store.reports(&q, MACHINE_REPORTS)?;
    // Boots in order of their newest report (reports come newest first).
    let mut order: Vec<String> = Vec::new();
    let mut boots: BTreeMap<String, Vec<&crate::store::Stored>> = BTreeMap::new();
    for r in &reports {
        if !boots.contains_key(&r.fields.boot_id) {
            order.push(r.fields.boot_id.clone());
        }
        boots.entry(r.fields.boot_id.clone()).or_default().push(r);
    }
    let boots: Vec<Value> = order
        .iter()
        .map(|b| {
            let rs = &boots[b];
            let first = rs.iter().map(|r| r.received_ms).min().unwrap_or(0);
            let last = rs.iter().map(|r| r.received_ms).max().unwrap_or(0);
            json!({
                "boot_id": b,
                "count": rs.len(),
                "kernel_release": rs[0].fields.kernel_release,
                "first": utc(first),
                "last": utc(last),
                "reports": rs.iter().map(|r| report_row(r)).collect::<Vec<_>>(),
            })
        })
        .collect();
    let latest = &reports[0].fields;
    Ok(json!({
        "machine": name,
        "api_url": format!("/api/machine/{}", pct(name)),
        "buckets_url": latest.hostname.as_deref().map(|h| format!("/?host={}", pct(h))),
        "reports": count,
        "buckets": buckets,
        "boot_count": boots.len(),
        "hostname": latest.hostname,
        "board_name": latest.board_name,
        "product_name": latest.product_name,
        "bios_version": latest.bios_version,
        "cpu": latest.cpu_model.map(|m| format!("{} family {} model {}",
            latest.cpu_vendor.clone().unwrap_or_else(|| "?".into()),
            latest.cpu_family.unwrap_or(0), m)),
        "microcode": latest.microcode.map(|m| format!("{m:#x}")),
        "kernel_release": latest.kernel_release,
        "boots": boots,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::SqliteStore;

    fn p(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn params_parse_or_name_the_bad_one() {
        let (q, taken) = parse_query(
            &p(&[
                ("reason", "panic"),
                ("family", "6"),
                ("microcode", "0x2000065"),
                ("days", "7"),
                ("text", ""),
                ("junk", "x"),
            ]),
            10 * DAY_MS,
        )
        .unwrap();
        assert_eq!(q.filter.reason.as_deref(), Some("panic"));
        assert_eq!(q.filter.cpu_family, Some(6));
        assert_eq!(q.microcode, Some(0x200_0065));
        assert_eq!(q.filter.since_ms, Some(3 * DAY_MS));
        assert_eq!(q.text, None);
        assert_eq!(taken.len(), 4);
        assert_eq!(
            query_string(&taken),
            "days=7&family=6&microcode=0x2000065&reason=panic"
        );
        let e = parse_query(&p(&[("family", "abc")]), 0).unwrap_err();
        assert_eq!(
            e,
            WebError::BadParam {
                name: "family".into(),
                value: "abc".into(),
                why: "not a number (decimal, or hex with 0x)".into()
            }
        );
        let e = parse_query(&p(&[("from", "notadate")]), 0).unwrap_err();
        assert!(e
            .message()
            .starts_with("bad value for parameter from: \"notadate\""));
        assert!(parse_query(&p(&[("days", "0")]), 0).is_err());
        assert_eq!(pct("a b/(c)"), "a%20b%2F%28c%29");
    }

    #[test]
    fn frames_as_in_the_log() {
        let log = "[ 1.0] BUG: kernel NULL pointer dereference\n[ 1.1] RIP: 0010:foo+0x1/0x2\n\
                   [ 1.2] Call Trace:\n[ 1.3]  <TASK>\n[ 1.4]  bar+0x5/0x10\n[ 1.5]  ? baz+0x1/0x3\n\
                   [ 1.6]  </TASK>\n[ 1.7] Modules linked in: x\n";
        assert_eq!(
            log_frames(log),
            vec![
                "RIP: foo+0x1/0x2",
                "<TASK>",
                "bar+0x5/0x10",
                "? baz+0x1/0x3",
                "</TASK>"
            ]
        );
    }

    fn store_with_dumps() -> SqliteStore {
        use crate::live::Finished;
        use crate::store::NewReport;
        use netoops_codec::wire::{CpuId, Dump, DumpFacts, Reason};
        use std::time::{Duration, UNIX_EPOCH};
        let mut s = SqliteStore::in_memory().unwrap();
        let mut reports = Vec::new();
        for i in 0..3u8 {
            let log = format!(
                "[ 1.0] boot line\n[ 2.0] BUG: kernel NULL pointer dereference, address: 0000000000000008\n\
                 [ 2.0] RIP: 0010:foo_{i}+0x1/0x2\n[ 2.0] Call Trace:\n[ 2.0]  <TASK>\n\
                 [ 2.0]  bar+0x5/0x10\n[ 2.0]  </TASK>\n{}",
                "x".repeat(3000)
            );
            let mut packets = crate::encode::encode_dump(
                Dump {
                    boot_id: [i; 16],
                    seq: 0,
                    reason: Reason::Oops,
                    facts: DumpFacts {
                        kernel_release: Some(b"6.12.0"),
                        hostname: Some(b"host a"),
                        cpu_id: Some(CpuId {
                            family: 6,
                            model: 85,
                            stepping: 4,
                            microcode: 0x42,
                        }),
                        build_id: Some(&[0xab; 20]),
                        ..DumpFacts::empty()
                    },
                    log: log.as_bytes(),
                    log_truncated: false,
                },
                1200,
            )
            .unwrap();
            if i == 2 {
                packets.remove(2);
            }
            let t = UNIX_EPOCH + Duration::from_secs(1_767_225_600 - u64::from(i) * 86_400);
            let f = Finished {
                sender: "10.0.0.1".parse().unwrap(),
                dump: DumpState::from_packets(packets.iter().map(Vec::as_slice), "t").unwrap(),
                first_seen: t,
                last_seen: t,
            };
            reports.push(NewReport::from_finished(&f, t));
        }
        s.put(&reports).unwrap();
        s
    }

    #[test]
    fn pages_from_a_store_of_real_dumps() {
        let s = store_with_dumps();
        let now = 1_767_225_600_000 + 3_600_000;
        let b = buckets(&s, &[], now).unwrap();
        assert_eq!(b["reports"], 3);
        assert_eq!(b["machines"], 1);
        assert_eq!(b["newest_release"], "6.12.0");
        let first = &b["buckets"][0];
        assert!(first["new"].as_bool().unwrap());
        let id = first["bucket"].as_str().unwrap().to_string();
        let one = bucket(&s, &id, &[], now).unwrap();
        assert_eq!(one["bucket"]["count"], first["count"]);
        assert_eq!(one["breakdowns"][2]["rows"][0]["value"], "0x42");
        assert!(matches!(
            bucket(&s, "nope", &[], now),
            Err(WebError::NotFound(_))
        ));
        assert!(matches!(
            bucket(&s, &id, &p(&[("model", "x")]), now),
            Err(WebError::BadParam { .. })
        ));
        let sym = Symbolizer::default();
        // Report 3 lost a packet: its log has a hole, marked.
        let r = report(&s, &sym, "3").unwrap();
        assert_eq!(
            (r["microcode"].as_u64(), r["microcode_hex"].as_str()),
            (Some(0x42), Some("0x42"))
        );
        assert_eq!(r["build_id"], "ab".repeat(20));
        assert_eq!(r["symbolized"]["status"], "not-configured");
        let parts = r["log_parts"].as_array().unwrap();
        assert!(
            parts.iter().any(|p| p.get("missing").is_some()),
            "{parts:?}"
        );
        let r1 = report(&s, &sym, "1").unwrap();
        assert_eq!(
            r1["symbolized"]["log_frames"],
            json!(["RIP: foo_0+0x1/0x2", "<TASK>", "bar+0x5/0x10", "</TASK>"])
        );
        let (_, log) = raw_log(&s, "3").unwrap();
        assert!(log.contains("[netoops: log bytes "), "{log}");
        assert!(matches!(report(&s, &sym, "99"), Err(WebError::NotFound(_))));
        assert!(matches!(report(&s, &sym, "-x"), Err(WebError::NotFound(_))));
        let m = machine(&s, "host a").unwrap();
        assert_eq!(
            (m["reports"].as_u64(), m["boot_count"].as_u64()),
            (Some(3), Some(3))
        );
        assert_eq!(m["microcode"], "0x42");
        assert!(matches!(machine(&s, "host b"), Err(WebError::NotFound(_))));
        // Every page renders through its template.
        let env = super::super::templates::environment();
        for (t, v) in [
            ("buckets.html", b),
            ("bucket.html", one),
            ("report.html", r),
            ("machine.html", m),
        ] {
            let html = super::super::templates::render(&env, t, &super::super::svg::decorate(t, v))
                .unwrap();
            assert!(html.contains("</html>"), "{t}");
        }
    }
}
