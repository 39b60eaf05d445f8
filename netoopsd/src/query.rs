//! `ls`, `show` and `top`: reports from a [`Store`], as a table for a terminal,
//! tab-separated lines for a pipe, or JSON.

use std::fmt::Write;

use serde_json::{json, Value};

use crate::reassembly::DumpState;
use crate::store::{Bucket, Filter, Store, Stored};
use crate::symbolize::{self, Symbolizer};
use crate::{json as dump_json, text};

/// How lists are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Aligned columns with a header, the last column cut to `width` characters in all.
    Table {
        /// Terminal width.
        width: usize,
    },
    /// Tab-separated, no header, nothing cut: for `cut`, `awk`, `sort`.
    Tsv,
    /// A JSON array.
    Json,
}

/// Unix milliseconds as `2026-01-01T00:00:00Z`.
pub fn utc(ms: i64) -> String {
    crate::display::utc_seconds(ms.div_euclid(1000))
}

fn table(header: &[&str], rows: &[Vec<String>], width: usize) -> String {
    let n = header.len();
    let mut w: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate().take(n - 1) {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let used: usize = w[..n - 1].iter().map(|x| x + 2).sum();
    let last = width.saturating_sub(used).max(20);
    let mut out = String::new();
    let mut line = |cells: &[String]| {
        let mut l = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 < n {
                let _ = write!(l, "{:<width$}  ", c, width = w[i]);
            } else if c.chars().count() > last {
                let cut: String = c.chars().take(last.saturating_sub(1)).collect();
                let _ = write!(l, "{cut}…");
            } else {
                l.push_str(c);
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(&header.iter().map(|h| h.to_string()).collect::<Vec<_>>());
    for r in rows {
        line(r);
    }
    out
}

fn tsv(rows: &[Vec<String>]) -> String {
    let mut out = String::new();
    for r in rows {
        let cells: Vec<String> = r.iter().map(|c| c.replace(['\t', '\n'], " ")).collect();
        out.push_str(&cells.join("\t"));
        out.push('\n');
    }
    out
}

fn opt(s: &Option<String>) -> String {
    s.clone().unwrap_or_else(|| "-".into())
}

fn state(r: &Stored) -> String {
    if r.fields.complete {
        "complete".into()
    } else {
        format!(
            "partial {}/{}",
            r.fields.packets_received, r.fields.packet_count
        )
    }
}

/// A report's listed fields as JSON.
pub fn stored_json(r: &Stored) -> Value {
    let f = &r.fields;
    json!({
        "id": r.id,
        "stored": utc(r.received_ms),
        "stored_ms": r.received_ms,
        "first_packet_ms": r.first_packet_ms,
        "sender": r.sender,
        "machine": f.machine,
        "boot_id": f.boot_id,
        "seq": f.seq,
        "reason": f.reason,
        "complete": f.complete,
        "packets_received": f.packets_received,
        "packet_count": f.packet_count,
        "log_len": f.log_len,
        "log_missing": f.missing_log,
        "kernel_release": f.kernel_release,
        "kernel_version": f.kernel_version,
        "hostname": f.hostname,
        "arch": f.arch,
        "cpu_vendor": f.cpu_vendor,
        "cpu_family": f.cpu_family,
        "cpu_model": f.cpu_model,
        "bios_vendor": f.bios_vendor,
        "bios_version": f.bios_version,
        "board_vendor": f.board_vendor,
        "board_name": f.board_name,
        "product_name": f.product_name,
        "dump_time": f.dump_time,
        "title": f.title,
        "bucket": f.bucket,
        "frames": f.frames,
    })
}

/// `netoopsd ls`.
pub fn ls(store: &dyn Store, filter: &Filter, format: Format) -> Result<String, String> {
    let reports = store.list(filter)?;
    if format == Format::Json {
        let v: Vec<Value> = reports.iter().map(stored_json).collect();
        return Ok(format!("{:#}\n", Value::Array(v)));
    }
    let rows: Vec<Vec<String>> = reports
        .iter()
        .map(|r| {
            let f = &r.fields;
            vec![
                r.id.to_string(),
                utc(r.received_ms),
                f.hostname.clone().unwrap_or_else(|| r.sender.clone()),
                opt(&f.kernel_release),
                f.reason.clone(),
                state(r),
                f.bucket.clone(),
                f.title.clone(),
            ]
        })
        .collect();
    Ok(match format {
        Format::Table { width } => table(
            &[
                "ID", "STORED", "HOST", "KERNEL", "REASON", "STATE", "BUCKET", "TITLE",
            ],
            &rows,
            width,
        ),
        _ => tsv(&rows),
    })
}

/// `netoopsd top`.
pub fn top(store: &dyn Store, filter: &Filter, format: Format) -> Result<String, String> {
    let buckets = store.top(filter)?;
    let b_json = |b: &Bucket| {
        json!({
            "bucket": b.bucket,
            "title": b.title,
            "count": b.count,
            "machines": b.machines,
            "kernels": b.kernels,
            "first_seen": utc(b.first_ms),
            "last_seen": utc(b.last_ms),
            "first_seen_ms": b.first_ms,
            "last_seen_ms": b.last_ms,
            "last_id": b.last_id,
        })
    };
    if format == Format::Json {
        return Ok(format!(
            "{:#}\n",
            Value::Array(buckets.iter().map(b_json).collect())
        ));
    }
    let rows: Vec<Vec<String>> = buckets
        .iter()
        .map(|b| {
            vec![
                b.count.to_string(),
                b.machines.to_string(),
                b.kernels.to_string(),
                utc(b.first_ms),
                utc(b.last_ms),
                b.last_id.to_string(),
                b.bucket.clone(),
                b.title.clone(),
            ]
        })
        .collect();
    Ok(match format {
        Format::Table { width } => table(
            &[
                "COUNT",
                "MACHINES",
                "KERNELS",
                "FIRST SEEN",
                "LAST SEEN",
                "LAST ID",
                "BUCKET",
                "TITLE",
            ],
            &rows,
            width,
        ),
        _ => tsv(&rows),
    })
}

/// `netoopsd show ID`: the report's signature and origin, then the dump as `decode` shows
/// it (facts, registers, log with missing ranges).
pub fn show(store: &dyn Store, id: i64, as_json: bool) -> Result<String, String> {
    show_inner(store, id, as_json, None)
}

/// [`show`], then the stack symbolized with `symbolizer` (waiting up to `wait` for debug
/// info being fetched): a section after the log, or `"symbolized"` in JSON.
pub fn show_symbolized(
    store: &dyn Store,
    id: i64,
    as_json: bool,
    symbolizer: &Symbolizer,
    wait: std::time::Duration,
) -> Result<String, String> {
    show_inner(store, id, as_json, Some((symbolizer, wait)))
}

fn show_inner(
    store: &dyn Store,
    id: i64,
    as_json: bool,
    sym: Option<(&Symbolizer, std::time::Duration)>,
) -> Result<String, String> {
    let full = store
        .get(id)?
        .ok_or_else(|| format!("report {id}: no such report"))?;
    let r = &full.report;
    let dump = DumpState::from_packets(full.packets.iter().map(Vec::as_slice), &r.sender)
        .ok_or_else(|| format!("report {id}: stored packets do not decode"))?;
    let symbolized = sym.map(|(s, wait)| s.symbolize_dump_wait(&dump, wait));
    if as_json {
        let mut v = stored_json(r);
        v["dump"] = dump_json::dump(&dump);
        if let Some(s) = &symbolized {
            v["symbolized"] = symbolize::render::to_json(s);
        }
        return Ok(format!("{v:#}\n"));
    }
    let f = &r.fields;
    let mut out = String::new();
    let _ = writeln!(out, "report {id}");
    let mut line = |k: &str, v: String| {
        let _ = writeln!(out, "  {:<16}{v}", format!("{k}:"));
    };
    line("title", f.title.clone());
    line("bucket", f.bucket.clone());
    if !f.frames.is_empty() {
        line("frames", f.frames.join(" < "));
    }
    line("stored", utc(r.received_ms));
    line("sender", r.sender.clone());
    line("machine", f.machine.clone());
    out.push('\n');
    text::render_dump(&dump, &mut out);
    if let Some(s) = &symbolized {
        symbolize::render::render_text(s, &mut out);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_cut_only_the_last_column() {
        let rows = vec![
            vec!["1".to_string(), "x".repeat(50)],
            vec!["22".into(), "short".into()],
        ];
        let t = table(&["ID", "TITLE"], &rows, 30);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "ID  TITLE");
        assert_eq!(lines[1].chars().count(), 4 + 26);
        assert!(lines[1].ends_with('…'));
        assert_eq!(lines[2], "22  short");
        assert_eq!(tsv(&[vec!["a\tb".into(), "c".into()]]), "a b\tc\n");
        assert_eq!(utc(1_767_225_600_500), "2026-01-01T00:00:00Z");
    }
}
