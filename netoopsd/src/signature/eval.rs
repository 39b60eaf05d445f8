//! Measuring signatures against labelled logs (`netoopsd eval-signatures DIR`).
//!
//! A labelled log is a header block, an empty line, then the console log. Header keys (the
//! syzkaller report-corpus format): `TITLE:` the expected title (empty or absent: the log
//! holds no crash), `ALT:` (repeatable) alternative titles, `CORRUPTED: Y` the report is too
//! damaged to attribute; `#` starts a comment; other keys are ignored.
//!
//! A file without a header block (its first line is no `KEY:` header line nor a `#` comment)
//! is a raw log: it is evaluated for what we find in it (listed per file), but has no expected
//! title and enters no figure.
//!
//! Cross-validation (`--split A|B`): half A is the files whose name's leading number `n` has
//! `n / 2` even, half B the others (files whose name has no leading number: by the parity of
//! the FNV-1a hash of the name). The syzkaller corpus holds even-numbered files, so this
//! splits it about in half. Rules are developed on half A's misses and measured on half B.
//!
//! Figures:
//! * title agreement: our title equals the TITLE or one of the ALTs (logs without a crash
//!   agree when we find none);
//! * bucket precision and recall, pairwise over the crash logs that are not CORRUPTED: two
//!   logs are the same bug when their title/ALT sets intersect; precision is the share of
//!   pairs we put in one bucket that are the same bug, recall the share of same-bug pairs we
//!   put in one bucket.

use std::fs;
use std::path::Path;

use serde_json::{json, Value};

use super::extract;

/// One labelled log.
#[derive(Debug, Clone)]
pub struct Case {
    /// File name.
    pub name: String,
    /// Expected title and alternatives; empty when the log holds no crash.
    pub titles: Vec<String>,
    /// Marked `CORRUPTED: Y`.
    pub corrupted: bool,
    /// The console log.
    pub log: String,
    /// Whether the file had a header block (else it is a raw log without expectations).
    pub labelled: bool,
}

/// Which half of a corpus a file is in for cross-validation (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Half {
    /// `n / 2` even.
    A,
    /// `n / 2` odd.
    B,
}

impl std::str::FromStr for Half {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "A" | "a" => Ok(Half::A),
            "B" | "b" => Ok(Half::B),
            _ => Err(format!("{s}: the split is A or B")),
        }
    }
}

/// The half a file name is in.
pub fn half_of(name: &str) -> Half {
    let digits: String = name.chars().take_while(char::is_ascii_digit).collect();
    let key = match digits.parse::<u64>() {
        Ok(n) => n / 2,
        Err(_) => {
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for b in name.bytes() {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
            h >> 7
        }
    };
    if key % 2 == 0 {
        Half::A
    } else {
        Half::B
    }
}

/// Whether a line belongs to a header block: `KEY: value` with one of the corpus format's
/// keys, or a `#` comment. (A raw log may well start with `WARNING: ...` or `CPU: ...`.)
fn is_header_line(l: &str) -> bool {
    const KEYS: &[&str] = &[
        "TITLE",
        "ALT",
        "TYPE",
        "FRAME",
        "CORRUPTED",
        "PANICKED",
        "SUPPRESSED",
        "START",
        "END",
        "EXECUTOR",
    ];
    l.starts_with('#') || l.split_once(':').is_some_and(|(k, _)| KEYS.contains(&k))
}

/// Parses one labelled file.
pub fn parse_case(name: &str, text: &str) -> Case {
    // An empty header block (a log without a crash) is a file starting with an empty line.
    if let Some(log) = text.strip_prefix('\n') {
        return Case {
            name: name.to_string(),
            titles: Vec::new(),
            corrupted: false,
            log: log.to_string(),
            labelled: true,
        };
    }
    let labelled = text.lines().next().is_some_and(is_header_line)
        && text
            .split("\n\n")
            .next()
            .is_some_and(|h| h.lines().all(is_header_line));
    if !labelled {
        return Case {
            name: name.to_string(),
            titles: Vec::new(),
            corrupted: false,
            log: text.to_string(),
            labelled,
        };
    }
    let (head, log) = match text.find("\n\n") {
        Some(p) => (&text[..p], &text[p + 2..]),
        None => (text, ""),
    };
    let mut titles = Vec::new();
    let mut corrupted = false;
    for l in head.lines() {
        if l.starts_with('#') {
            continue;
        }
        if let Some(t) = l.strip_prefix("TITLE:").or_else(|| l.strip_prefix("ALT:")) {
            let t = t.trim();
            if !t.is_empty() {
                titles.push(t.to_string());
            }
        } else if let Some(v) = l.strip_prefix("CORRUPTED:") {
            corrupted = v.trim() == "Y";
        }
    }
    Case {
        name: name.to_string(),
        titles,
        corrupted,
        log: log.to_string(),
        labelled,
    }
}

/// Reads every file of `dir` (sorted by name, `*.md` skipped) as a labelled log (or a raw
/// log, see the module doc).
pub fn load_dir(dir: &Path) -> Result<Vec<Case>, String> {
    load_dir_split(dir, None)
}

/// [`load_dir`], only the files of `split` when given.
pub fn load_dir_split(dir: &Path, split: Option<Half>) -> Result<Vec<Case>, String> {
    let rd = fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut paths: Vec<_> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_none_or(|x| x != "md"))
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for p in paths {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if split.is_some_and(|h| half_of(&name) != h) {
            continue;
        }
        let bytes = fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        out.push(parse_case(&name, &String::from_utf8_lossy(&bytes)));
    }
    if out.is_empty() {
        return Err(format!("{}: no files", dir.display()));
    }
    Ok(out)
}

/// Result for one log.
#[derive(Debug, Clone)]
pub struct Row {
    /// File name.
    pub name: String,
    /// Expected titles.
    pub expected: Vec<String>,
    /// Our title (`None`: no crash found).
    pub got: Option<String>,
    /// Our bucket.
    pub bucket: Option<String>,
    /// Whether our title agrees.
    pub agrees: bool,
    /// Marked corrupted.
    pub corrupted: bool,
    /// From a labelled file (else a raw log: no expectation, in no figure).
    pub labelled: bool,
}

/// The figures over a set of logs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    /// Logs read.
    pub logs: usize,
    /// Raw logs (no header block): in no other figure.
    pub raw_logs: usize,
    /// Raw logs in which we found a crash.
    pub raw_found: usize,
    /// Logs with an expected crash title.
    pub crash_logs: usize,
    /// ... of which not CORRUPTED.
    pub clean_crash_logs: usize,
    /// Logs without a crash.
    pub no_crash_logs: usize,
    /// Crash logs whose title agrees.
    pub title_agree: usize,
    /// Clean crash logs whose title agrees.
    pub title_agree_clean: usize,
    /// Logs without a crash where we found none.
    pub no_crash_agree: usize,
    /// Pairs of clean crash logs that are the same bug.
    pub same_bug_pairs: usize,
    /// Pairs of clean crash logs we put in one bucket.
    pub same_bucket_pairs: usize,
    /// Pairs in both sets.
    pub both_pairs: usize,
    /// Distinct buckets over the clean crash logs.
    pub buckets: usize,
}

impl Figures {
    fn ratio(a: usize, b: usize) -> f64 {
        if b == 0 {
            1.0
        } else {
            a as f64 / b as f64
        }
    }
    /// Title agreement over all crash logs.
    pub fn title_agreement(&self) -> f64 {
        Self::ratio(self.title_agree, self.crash_logs)
    }
    /// Title agreement over clean crash logs.
    pub fn title_agreement_clean(&self) -> f64 {
        Self::ratio(self.title_agree_clean, self.clean_crash_logs)
    }
    /// Pairwise bucket precision (1 when no pair shares a bucket).
    pub fn precision(&self) -> f64 {
        Self::ratio(self.both_pairs, self.same_bucket_pairs)
    }
    /// Pairwise bucket recall (1 when no pair is the same bug).
    pub fn recall(&self) -> f64 {
        Self::ratio(self.both_pairs, self.same_bug_pairs)
    }
}

/// Evaluates the signature extractor on `cases`.
pub fn evaluate(cases: &[Case]) -> (Figures, Vec<Row>) {
    let mut f = Figures {
        logs: cases.len(),
        ..Figures::default()
    };
    let mut rows = Vec::new();
    for c in cases {
        let sig = extract(&c.log);
        let got = sig.as_ref().map(|s| s.title.clone());
        if !c.labelled {
            f.raw_logs += 1;
            f.raw_found += usize::from(got.is_some());
            rows.push(Row {
                name: c.name.clone(),
                expected: Vec::new(),
                got,
                bucket: sig.map(|s| s.bucket),
                agrees: true,
                corrupted: false,
                labelled: false,
            });
            continue;
        }
        let agrees = match (&got, c.titles.is_empty()) {
            (None, true) => true,
            (Some(t), false) => c.titles.iter().any(|x| x == t),
            _ => false,
        };
        if c.titles.is_empty() {
            f.no_crash_logs += 1;
            f.no_crash_agree += usize::from(agrees);
        } else {
            f.crash_logs += 1;
            f.title_agree += usize::from(agrees);
            if !c.corrupted {
                f.clean_crash_logs += 1;
                f.title_agree_clean += usize::from(agrees);
            }
        }
        rows.push(Row {
            name: c.name.clone(),
            expected: c.titles.clone(),
            got,
            bucket: sig.map(|s| s.bucket),
            agrees,
            corrupted: c.corrupted,
            labelled: true,
        });
    }
    let clean: Vec<(&Case, &Row)> = cases
        .iter()
        .zip(&rows)
        .filter(|(c, _)| c.labelled && !c.titles.is_empty() && !c.corrupted)
        .collect();
    let mut buckets = std::collections::BTreeSet::new();
    for (i, (ca, ra)) in clean.iter().enumerate() {
        buckets.insert(ra.bucket.clone());
        for (cb, rb) in &clean[i + 1..] {
            let same_bug = ca.titles.iter().any(|t| cb.titles.contains(t));
            let same_bucket = ra.bucket.is_some() && ra.bucket == rb.bucket;
            f.same_bug_pairs += usize::from(same_bug);
            f.same_bucket_pairs += usize::from(same_bucket);
            f.both_pairs += usize::from(same_bug && same_bucket);
        }
    }
    f.buckets = buckets.len();
    (f, rows)
}

/// The figures as text; with `verbose`, one line per disagreeing log first.
pub fn render_text(f: &Figures, rows: &[Row], verbose: bool) -> String {
    let mut out = String::new();
    for r in rows.iter().filter(|r| !r.labelled) {
        out.push_str(&format!(
            "{} (raw log): found {}\n",
            r.name,
            match (&r.got, &r.bucket) {
                (Some(t), Some(b)) => format!("{t:?} (bucket {b})"),
                _ => "no crash".into(),
            }
        ));
    }
    if verbose {
        for r in rows.iter().filter(|r| !r.agrees) {
            out.push_str(&format!(
                "{}{}: got {:?}, want {:?}\n",
                r.name,
                if r.corrupted { " (corrupted)" } else { "" },
                r.got.as_deref().unwrap_or("(no crash)"),
                r.expected
                    .first()
                    .map(String::as_str)
                    .unwrap_or("(no crash)")
            ));
        }
    }
    let pct = |x: f64| format!("{:.1}%", 100.0 * x);
    if f.logs == f.raw_logs {
        out.push_str(&format!(
            "raw logs:              {} without a header block, a crash found in {} (no figures)\n",
            f.raw_logs, f.raw_found
        ));
        return out;
    }
    out.push_str(&format!(
        "logs:                  {} ({} with a crash, {} of them not corrupted; {} without)\n",
        f.logs - f.raw_logs,
        f.crash_logs,
        f.clean_crash_logs,
        f.no_crash_logs
    ));
    if f.raw_logs > 0 {
        out.push_str(&format!(
            "raw logs:              {} without a header block, a crash found in {}\n",
            f.raw_logs, f.raw_found
        ));
    }
    out.push_str(&format!(
        "title agreement:       {} ({}/{}) over all crash logs, {} ({}/{}) over uncorrupted ones\n",
        pct(f.title_agreement()),
        f.title_agree,
        f.crash_logs,
        pct(f.title_agreement_clean()),
        f.title_agree_clean,
        f.clean_crash_logs
    ));
    out.push_str(&format!(
        "no-crash logs:         {}/{} found without a crash\n",
        f.no_crash_agree, f.no_crash_logs
    ));
    out.push_str(&format!(
        "bucket precision:      {} ({}/{} same-bucket pairs are one bug)\n",
        pct(f.precision()),
        f.both_pairs,
        f.same_bucket_pairs
    ));
    out.push_str(&format!(
        "bucket recall:         {} ({}/{} same-bug pairs share a bucket)\n",
        pct(f.recall()),
        f.both_pairs,
        f.same_bug_pairs
    ));
    out.push_str(&format!(
        "buckets:               {} for {} uncorrupted crash logs\n",
        f.buckets, f.clean_crash_logs
    ));
    out
}

/// The figures and rows as JSON.
pub fn render_json(f: &Figures, rows: &[Row]) -> Value {
    json!({
        "logs": f.logs - f.raw_logs,
        "raw_logs": f.raw_logs,
        "raw_found": f.raw_found,
        "crash_logs": f.crash_logs,
        "clean_crash_logs": f.clean_crash_logs,
        "no_crash_logs": f.no_crash_logs,
        "title_agreement": f.title_agreement(),
        "title_agreement_clean": f.title_agreement_clean(),
        "no_crash_agree": f.no_crash_agree,
        "bucket_precision": f.precision(),
        "bucket_recall": f.recall(),
        "same_bug_pairs": f.same_bug_pairs,
        "same_bucket_pairs": f.same_bucket_pairs,
        "both_pairs": f.both_pairs,
        "buckets": f.buckets,
        "results": rows.iter().map(|r| json!({
            "file": r.name,
            "expected": r.expected,
            "got": r.got,
            "bucket": r.bucket,
            "agrees": r.agrees,
            "corrupted": r.corrupted,
            "labelled": r.labelled,
        })).collect::<Vec<_>>(),
    })
}
