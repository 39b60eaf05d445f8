//! Fleet statistics for the web view: buckets with daily counts, "new" and "rising" marks,
//! breakdowns of a bucket by kernel, CPU, BIOS and board, a machine's reports.
//!
//! Definitions (also shown on the buckets page):
//! - Days are UTC days; "now" is given by the caller (the web server's clock or `--now`).
//! - The **newest kernel release** is the highest release in the whole store by version
//!   order: releases are split into runs of digits and non-digits, digit runs compare as
//!   numbers (`6.12.1` > `6.9.30`), other runs as text.
//! - A bucket is **new** when its first report (earliest stored, whole store) came from the
//!   newest kernel release.
//! - A bucket is **rising** when its reports of the last 7 days (`[now-7d, now)`) are at
//!   least 3 and at least twice the weekly average of the 4 weeks before
//!   (`[now-35d, now-7d)`, count / 4).
//! - Sparklines show the daily counts of the 30 UTC days ending with today. Sparklines and
//!   "rising" use the page's filters except its time window; counts use all filters.
//!
//! The queries are written once ([`Stats`]'s provided methods) in the SQL both backends
//! understand; a backend only runs statements ([`Stats::query`]).

use std::cmp::Ordering;
use std::collections::HashMap;

use super::sql::{stored_from_row, where_clause, Arg, Cell, Dialect, Row, COLUMNS};
use super::{Filter, Stored};

/// One day in milliseconds.
pub const DAY_MS: i64 = 86_400_000;
/// Days of a sparkline.
pub const SPARK_DAYS: usize = 30;
/// "Rising": at least this many reports in the last 7 days...
pub const RISING_MIN: u64 = 3;
/// ... and at least this many times the weekly average of the 4 weeks before.
pub const RISING_FACTOR: f64 = 2.0;

/// A [`Filter`] plus what the web view filters by beyond it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    /// The filters `ls` and `top` know (its `board` matches the board name only).
    pub filter: Filter,
    /// CPU microcode revision.
    pub microcode: Option<u32>,
    /// Board name or product name, exactly.
    pub board_or_product: Option<String>,
    /// Free text: a case-insensitive substring of the title or the log.
    pub text: Option<String>,
    /// Bucket id, exactly.
    pub bucket: Option<String>,
    /// Machine (as stored: hostname plus board), exactly.
    pub machine: Option<String>,
}

impl Query {
    /// `WHERE ...` and its parameters; `window`: whether the time window applies.
    fn sql(&self, d: Dialect, window: bool) -> (String, Vec<Arg>) {
        let mut f = self.filter.clone();
        f.limit = None;
        if !window {
            f.since_ms = None;
            f.until_ms = None;
        }
        let (mut w, mut p) = where_clause(d, &f);
        let mut add = |cond: &str, vals: Vec<Arg>| {
            w.push_str(if w.is_empty() { " WHERE " } else { " AND " });
            w.push_str(cond);
            p.extend(vals);
        };
        if let Some(m) = self.microcode {
            add("microcode = ?", vec![Arg::Int(i64::from(m))]);
        }
        if let Some(b) = &self.board_or_product {
            add(
                "(board_name = ? OR product_name = ?)",
                vec![Arg::Text(b.clone()), Arg::Text(b.clone())],
            );
        }
        if let Some(t) = &self.text {
            add(
                &format!("({} OR {})", d.contains("title"), d.contains(d.log())),
                vec![Arg::Text(t.clone()), Arg::Text(t.clone())],
            );
        }
        if let Some(b) = &self.bucket {
            add("bucket = ?", vec![Arg::Text(b.clone())]);
        }
        if let Some(m) = &self.machine {
            add("machine = ?", vec![Arg::Text(m.clone())]);
        }
        (w, p)
    }

    /// This query with one more condition: `AND cond`.
    fn and(&self, d: Dialect, window: bool, cond: &str, vals: &[Arg]) -> (String, Vec<Arg>) {
        let (mut w, mut p) = self.sql(d, window);
        w.push_str(if w.is_empty() { " WHERE " } else { " AND " });
        w.push_str(cond);
        p.extend_from_slice(vals);
        (w, p)
    }
}

/// Version order of kernel releases (see the module documentation).
pub fn version_cmp(a: &str, b: &str) -> Ordering {
    fn parts(s: &str) -> Vec<(bool, &str)> {
        let mut out = Vec::new();
        let mut start = 0;
        let b = s.as_bytes();
        for i in 1..=b.len() {
            if i == b.len() || b[i].is_ascii_digit() != b[start].is_ascii_digit() {
                out.push((b[start].is_ascii_digit(), &s[start..i]));
                start = i;
            }
        }
        out
    }
    let (pa, pb) = (parts(a), parts(b));
    for (x, y) in pa.iter().zip(&pb) {
        let o = match (x, y) {
            ((true, x), (true, y)) => {
                let (x, y) = (x.trim_start_matches('0'), y.trim_start_matches('0'));
                x.len().cmp(&y.len()).then(x.cmp(y))
            }
            ((_, x), (_, y)) => x.cmp(y),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    pa.len().cmp(&pb.len()).then(a.cmp(b))
}

/// One bucket of the buckets page.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketRow {
    /// Bucket id.
    pub bucket: String,
    /// Title (of its newest report).
    pub title: String,
    /// Reason of its newest report.
    pub reason: String,
    /// Reports.
    pub count: u64,
    /// Distinct machines.
    pub machines: u64,
    /// Distinct kernel releases.
    pub kernels: u64,
    /// First stored (Unix ms).
    pub first_ms: i64,
    /// Last stored (Unix ms).
    pub last_ms: i64,
    /// Its newest report.
    pub last_id: i64,
    /// Daily counts of the [`SPARK_DAYS`] days ending today, oldest first.
    pub daily: Vec<u64>,
    /// Reports of the last 7 days.
    pub week: u64,
    /// Weekly average of the 4 weeks before.
    pub prev_weekly_avg: f64,
    /// See the module documentation.
    pub rising: bool,
    /// First report's kernel release (whole store).
    pub first_release: Option<String>,
    /// See the module documentation.
    pub new: bool,
}

/// The buckets page.
#[derive(Debug, Clone, PartialEq)]
pub struct Overview {
    /// Reports matching.
    pub reports: u64,
    /// Distinct machines of them.
    pub machines: u64,
    /// Distinct buckets of them (more than `buckets` holds when the query has a limit).
    pub bucket_total: u64,
    /// The newest kernel release in the store.
    pub newest_release: Option<String>,
    /// First day of the sparklines (days since 1970-01-01).
    pub first_day: i64,
    /// Buckets, largest first.
    pub buckets: Vec<BucketRow>,
}

/// Counts of one value of a breakdown.
#[derive(Debug, Clone, PartialEq)]
pub struct Share {
    /// The value (`None`: not sent).
    pub value: Option<String>,
    /// Reports.
    pub count: u64,
}

/// What a bucket can be broken down by.
pub const BREAKDOWNS: [&str; 5] = ["kernel", "cpu", "microcode", "bios", "board"];

/// The SQL expression of a breakdown (one of [`BREAKDOWNS`]).
fn breakdown_expr(d: Dialect, by: &str) -> Option<String> {
    Some(match by {
        "kernel" => "kernel_release".into(),
        "cpu" => "CASE WHEN cpu_model IS NULL THEN NULL ELSE coalesce(cpu_vendor, '?') \
                  || ' family ' || cpu_family || ' model ' || cpu_model END"
            .into(),
        "microcode" => format!(
            "CASE WHEN microcode IS NULL THEN NULL ELSE {} END",
            d.hex("microcode")
        ),
        "bios" => "bios_version".into(),
        "board" => "CASE WHEN board_name IS NULL AND product_name IS NULL THEN NULL ELSE \
                    coalesce(board_name, '-') || ' / ' || coalesce(product_name, '-') END"
            .into(),
        _ => return None,
    })
}

/// The web view's queries, on any backend that can run a statement.
pub trait Stats {
    /// The backend's SQL dialect.
    fn dialect(&self) -> Dialect;

    /// The database as errors name it (a file, or a server's host, port and database).
    fn name(&self) -> String;

    /// Runs one statement (`?` placeholders) and returns its rows; errors name the database
    /// and `what` was being done.
    fn query(&self, what: &str, sql: &str, args: &[Arg]) -> Result<Vec<Vec<Cell>>, String>;

    /// Every kernel release in the store, newest (by version order) first.
    fn releases(&self) -> Result<Vec<String>, String> {
        let rows = self.query(
            "listing releases",
            "SELECT DISTINCT kernel_release FROM reports WHERE kernel_release IS NOT NULL",
            &[],
        )?;
        let mut v = rows
            .iter()
            .map(|r| Row(r).text(0))
            .collect::<Result<Vec<_>, _>>()?;
        v.sort_by(|a, b| version_cmp(b, a));
        Ok(v)
    }

    /// Distinct values of a column (for the filter form), sorted.
    fn distinct(&self, column: &str) -> Result<Vec<String>, String> {
        let col = match column {
            "reason" | "hostname" | "cpu_vendor" | "bios_version" | "board_name"
            | "product_name" => column,
            _ => return Err(format!("{column}: not a listed column")),
        };
        let sql = format!("SELECT DISTINCT {col} FROM reports WHERE {col} IS NOT NULL ORDER BY 1");
        self.query("listing values", &sql, &[])?
            .iter()
            .map(|r| Row(r).text(0))
            .collect()
    }

    /// Reports, distinct machines and distinct buckets matching `q`.
    fn totals(&self, q: &Query) -> Result<(u64, u64, u64), String> {
        let (w, p) = q.sql(self.dialect(), true);
        let sql = format!(
            "SELECT count(*), count(DISTINCT machine), count(DISTINCT bucket) FROM reports{w}"
        );
        let rows = self.query("counting reports", &sql, &p)?;
        let r = Row(rows.first().map_or(&[][..], Vec::as_slice));
        Ok((r.count(0)?, r.count(1)?, r.count(2)?))
    }

    /// Daily counts per bucket for days `first_day..=last_day` (days since 1970-01-01),
    /// without the time window of `q`.
    fn daily(
        &self,
        q: &Query,
        first_day: i64,
        last_day: i64,
    ) -> Result<HashMap<String, Vec<u64>>, String> {
        let n = (last_day - first_day + 1).max(0) as usize;
        let (w, p) = q.and(
            self.dialect(),
            false,
            "received_ms >= ? AND received_ms < ?",
            &[
                Arg::Int(first_day * DAY_MS),
                Arg::Int((last_day + 1) * DAY_MS),
            ],
        );
        let sql = format!(
            "SELECT bucket, received_ms / {DAY_MS} AS day, count(*) FROM reports{w}
             GROUP BY bucket, day"
        );
        let mut out: HashMap<String, Vec<u64>> = HashMap::new();
        for row in self.query("counting days", &sql, &p)? {
            let r = Row(&row);
            let (b, day, c) = (r.text(0)?, r.int(1)?, r.count(2)?);
            let v = out.entry(b).or_insert_with(|| vec![0; n]);
            if let Some(slot) = v.get_mut((day - first_day) as usize) {
                *slot += c;
            }
        }
        Ok(out)
    }

    /// The buckets page: buckets of the reports matching `q`, largest first, with
    /// sparklines and marks as of `now_ms`.
    fn overview(&self, q: &Query, now_ms: i64) -> Result<Overview, String> {
        let d = self.dialect();
        let (reports, machines, bucket_total) = self.totals(q)?;
        let newest_release = self.releases()?.into_iter().next();
        let (w, p) = q.sql(d, true);
        let limit = q
            .filter
            .limit
            .map(|l| format!(" LIMIT {l}"))
            .unwrap_or_default();
        // A bucket's first report: the earliest stored (lowest id among equals), whole store.
        let sql = format!(
            "SELECT t.bucket, r.title, r.reason, t.n, t.machines, t.kernels, t.first_ms,
                    t.last_ms, t.last_id, f.kernel_release
             FROM (SELECT bucket, count(*) AS n, count(DISTINCT machine) AS machines,
                          count(DISTINCT kernel_release) AS kernels,
                          min(received_ms) AS first_ms, max(received_ms) AS last_ms,
                          max(id) AS last_id
                   FROM reports{w} GROUP BY bucket) AS t
             JOIN reports AS r ON r.id = t.last_id
             LEFT JOIN reports AS f ON f.id = (SELECT g.id FROM reports AS g
                                               WHERE g.bucket = t.bucket
                                               ORDER BY g.received_ms, g.id LIMIT 1)
             ORDER BY t.n DESC, t.last_ms DESC, t.bucket{limit}"
        );
        let mut rows = self
            .query("ranking buckets", &sql, &p)?
            .iter()
            .map(|r| {
                let r = Row(r);
                let first_release = r.otext(9)?;
                Ok(BucketRow {
                    bucket: r.text(0)?,
                    title: r.text(1)?,
                    reason: r.text(2)?,
                    count: r.count(3)?,
                    machines: r.count(4)?,
                    kernels: r.count(5)?,
                    first_ms: r.int(6)?,
                    last_ms: r.int(7)?,
                    last_id: r.int(8)?,
                    daily: Vec::new(),
                    week: 0,
                    prev_weekly_avg: 0.0,
                    rising: false,
                    new: first_release.is_some() && first_release == newest_release,
                    first_release,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;

        let today = now_ms.div_euclid(DAY_MS);
        let first_day = today - SPARK_DAYS as i64 + 1;
        let daily = self.daily(q, first_day, today)?;
        let (w, p) = q.and(
            d,
            false,
            "received_ms >= ? AND received_ms < ?",
            &[Arg::Int(now_ms - 35 * DAY_MS), Arg::Int(now_ms)],
        );
        let week_start = now_ms - 7 * DAY_MS;
        let sql = format!(
            "SELECT bucket, sum(CASE WHEN received_ms >= {week_start} THEN 1 ELSE 0 END),
                    sum(CASE WHEN received_ms < {week_start} THEN 1 ELSE 0 END)
             FROM reports{w} GROUP BY bucket"
        );
        let mut weeks: HashMap<String, (u64, u64)> = HashMap::new();
        for row in self.query("counting weeks", &sql, &p)? {
            let r = Row(&row);
            weeks.insert(r.text(0)?, (r.count(1)?, r.count(2)?));
        }
        for b in &mut rows {
            b.daily = daily
                .get(&b.bucket)
                .cloned()
                .unwrap_or_else(|| vec![0; SPARK_DAYS]);
            let (week, before) = weeks.get(&b.bucket).copied().unwrap_or((0, 0));
            b.week = week;
            b.prev_weekly_avg = before as f64 / 4.0;
            b.rising = week >= RISING_MIN && week as f64 >= RISING_FACTOR * b.prev_weekly_avg;
        }
        Ok(Overview {
            reports,
            machines,
            bucket_total,
            newest_release,
            first_day,
            buckets: rows,
        })
    }

    /// Reports matching `q` by one of [`BREAKDOWNS`] (by name), largest first.
    fn breakdown(&self, q: &Query, by: &str) -> Result<Vec<Share>, String> {
        let d = self.dialect();
        let expr = breakdown_expr(d, by).ok_or_else(|| format!("{by}: no such breakdown"))?;
        let (w, p) = q.sql(d, true);
        let sql = format!(
            "SELECT {expr} AS v, count(*) AS n FROM reports{w} GROUP BY v
             ORDER BY n DESC, v NULLS FIRST"
        );
        self.query("breaking down", &sql, &p)?
            .iter()
            .map(|r| {
                let r = Row(r);
                Ok(Share {
                    value: r.otext(0)?,
                    count: r.count(1)?,
                })
            })
            .collect()
    }

    /// Reports matching `q`, newest first, at most `limit`.
    fn reports(&self, q: &Query, limit: u32) -> Result<Vec<Stored>, String> {
        let (w, p) = q.sql(self.dialect(), true);
        let sql = format!(
            "SELECT {COLUMNS} FROM reports{w} ORDER BY received_ms DESC, id DESC LIMIT {limit}"
        );
        self.query("listing reports", &sql, &p)?
            .iter()
            .map(|r| stored_from_row(&Row(r)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::SqliteStore;
    use crate::store::{Fields, NewReport, Store};

    const NOW: i64 = 1_767_225_600_000 + 12 * 3_600_000; // 2026-01-01T12:00Z

    #[allow(clippy::too_many_arguments)]
    fn rep(
        days_ago: f64,
        bucket: &str,
        machine: &str,
        kernel: &str,
        reason: &str,
        model: u32,
        microcode: u32,
        board: &str,
        seq: u32,
    ) -> NewReport {
        let t = NOW - (days_ago * DAY_MS as f64) as i64;
        NewReport {
            received_ms: t,
            first_packet_ms: t,
            sender: "10.0.0.1".into(),
            fields: Fields {
                boot_id: format!("boot-{machine}"),
                seq,
                reason: reason.into(),
                complete: true,
                kernel_release: Some(kernel.into()),
                hostname: Some(machine.into()),
                cpu_vendor: Some("GenuineIntel".into()),
                cpu_family: Some(6),
                cpu_model: Some(model),
                microcode: Some(microcode),
                bios_version: Some("1.0".into()),
                board_name: Some(board.into()),
                product_name: Some(format!("P-{board}")),
                machine: machine.into(),
                title: format!("BUG in {bucket}"),
                bucket: bucket.into(),
                ..Fields::default()
            },
            packets: Default::default(),
            log: format!("log line\nkernel BUG in {bucket}_function\n"),
            log_in_packets: false,
            packed: None,
        }
    }

    fn store() -> SqliteStore {
        let mut s = SqliteStore::in_memory().unwrap();
        let mut v = Vec::new();
        let mut seq = 0;
        let mut push = |r: NewReport| {
            seq += 1;
            let mut r = r;
            r.fields.seq = seq;
            v.push(r);
        };
        // "steady": one report every 3 days for 60 days on 6.6.30 and 6.9.1.
        for i in 0..20 {
            let k = if i < 10 { "6.6.30" } else { "6.9.1" };
            push(rep(
                1.0 + 3.0 * i as f64,
                "steady",
                ["m1", "m2"][i % 2],
                k,
                "oops",
                85,
                0x100,
                "B1",
                0,
            ));
        }
        // "rising": 1 report a week before, 6 in the last week.
        for d in [30.0, 20.0] {
            push(rep(
                d, "rising", "m3", "6.6.30", "oops", 106, 0x200, "B2", 0,
            ));
        }
        for d in [0.5, 1.5, 2.5, 3.5, 4.5, 6.5] {
            push(rep(
                d, "rising", "m3", "6.9.1", "panic", 106, 0x200, "B2", 0,
            ));
        }
        // "fresh": only on the newest release 6.12.0 (6.12 > 6.9 by version order).
        for d in [0.2, 0.3] {
            push(rep(
                d, "fresh", "m4", "6.12.0", "panic", 143, 0x300, "B3", 0,
            ));
        }
        s.put(&v).unwrap();
        s
    }

    #[test]
    fn version_order() {
        assert_eq!(version_cmp("6.12.0", "6.9.1"), Ordering::Greater);
        assert_eq!(version_cmp("6.9.1", "6.9.1"), Ordering::Equal);
        assert_eq!(version_cmp("6.9", "6.9.1"), Ordering::Less);
        assert_eq!(version_cmp("10.0", "9.99"), Ordering::Greater);
    }

    #[test]
    fn overview_counts_sparklines_and_marks() {
        let s = store();
        let o = s.overview(&Query::default(), NOW).unwrap();
        assert_eq!((o.reports, o.machines), (30, 4));
        assert_eq!(o.newest_release.as_deref(), Some("6.12.0"));
        let names: Vec<&str> = o.buckets.iter().map(|b| b.bucket.as_str()).collect();
        assert_eq!(names, vec!["steady", "rising", "fresh"]);
        let b = |n: &str| o.buckets.iter().find(|b| b.bucket == n).unwrap();
        assert_eq!((b("steady").count, b("steady").machines), (20, 2));
        assert_eq!(b("steady").kernels, 2);
        assert!(!b("steady").rising && !b("steady").new);
        assert_eq!(b("rising").week, 6);
        assert_eq!(b("rising").prev_weekly_avg, 0.5);
        assert!(b("rising").rising && !b("rising").new);
        assert!(
            b("fresh").new && !b("fresh").rising,
            "2 reports: not rising"
        );
        assert_eq!(b("rising").title, "BUG in rising");
        assert_eq!(b("rising").reason, "panic");
        // Sparkline: 30 days ending today; "steady" has a report 1, 4, ..., 28 days ago.
        let sp = &b("steady").daily;
        assert_eq!(sp.len(), SPARK_DAYS);
        assert_eq!(sp.iter().sum::<u64>(), 10);
        assert_eq!(sp[SPARK_DAYS - 2], 1);
        assert_eq!(b("fresh").daily[SPARK_DAYS - 1], 2);
    }

    #[test]
    fn filters_narrow_counts_but_not_trends() {
        let s = store();
        let q = |f: fn(&mut Query)| {
            let mut q = Query::default();
            f(&mut q);
            s.overview(&q, NOW).unwrap()
        };
        let o = q(|q| q.filter.reason = Some("panic".into()));
        assert_eq!(o.reports, 8);
        assert_eq!(o.buckets.len(), 2);
        assert_eq!(q(|q| q.microcode = Some(0x200)).reports, 8);
        assert_eq!(q(|q| q.board_or_product = Some("P-B3".into())).reports, 2);
        assert_eq!(q(|q| q.board_or_product = Some("B1".into())).reports, 20);
        assert_eq!(q(|q| q.text = Some("RISING_FUNC".into())).reports, 8);
        assert_eq!(q(|q| q.filter.kernel = Some("6.9.1".into())).reports, 16);
        assert_eq!(
            q(|q| q.filter.cpu_model = Some(143)).buckets[0].bucket,
            "fresh"
        );
        // A time window narrows the counts; the sparkline and "rising" stay.
        let o = q(|q| q.filter.since_ms = Some(NOW - 2 * DAY_MS));
        let r = o.buckets.iter().find(|b| b.bucket == "rising").unwrap();
        assert_eq!(r.count, 2);
        assert!(r.rising);
        // The report 30 days ago is before the sparkline's first day.
        assert_eq!(r.daily.iter().sum::<u64>(), 7);
        let m = s
            .reports(
                &Query {
                    machine: Some("m3".into()),
                    ..Query::default()
                },
                100,
            )
            .unwrap();
        assert_eq!(m.len(), 8);
        assert_eq!(m[0].fields.microcode, Some(0x200));
    }

    #[test]
    fn breakdowns_of_a_bucket() {
        let s = store();
        let q = Query {
            bucket: Some("steady".into()),
            ..Query::default()
        };
        let k = s.breakdown(&q, "kernel").unwrap();
        assert_eq!(
            k.iter()
                .map(|x| (x.value.clone().unwrap(), x.count))
                .collect::<Vec<_>>(),
            vec![("6.6.30".to_string(), 10), ("6.9.1".to_string(), 10)]
        );
        let c = s.breakdown(&q, "cpu").unwrap();
        assert_eq!(
            c[0].value.as_deref(),
            Some("GenuineIntel family 6 model 85")
        );
        assert_eq!(
            s.breakdown(&q, "microcode").unwrap()[0].value.as_deref(),
            Some("0x100")
        );
        assert_eq!(
            s.breakdown(&q, "board").unwrap()[0].value.as_deref(),
            Some("B1 / P-B1")
        );
        assert!(s.breakdown(&q, "nope").is_err());
        let days = s.daily(&q, NOW / DAY_MS - 59, NOW / DAY_MS).unwrap();
        assert_eq!(days["steady"].iter().sum::<u64>(), 20);
    }
}
