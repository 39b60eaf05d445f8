//! Which crash report of a log is *the* crash.
//!
//! A log can hold several crash reports. A netoops dump carries the newest part of the kernel
//! log up to the moment of the dump, so earlier crashes of the same boot come before the one
//! that caused it (two oopses and then a panic are three dumps, and the third holds all three
//! reports). A console log captured by a test system (the syzkaller corpus) goes on after the
//! crash instead: other CPUs print more reports while the machine dies. One rule serves both.
//!
//! 1. **Header lines are grouped into reports**, titled by their first header. A header joins
//!    the report before it when it follows that report's previous header within [`WINDOW`]
//!    lines with no end marker (`---[ end trace`, `---[ end Kernel panic`, `Kernel Offset:`)
//!    between (`kernel BUG at` and its `Oops: invalid opcode`, `BUG: unable to handle` and its
//!    `Oops`, a `general protection fault` and its `KASAN: null-ptr-deref` line, a WARNING and
//!    its `panic_on_warn set ...`), or when it comes before the closing line of a report that
//!    always prints one (an oops or WARNING: its end marker; a sanitizer report: its `=====`
//!    line; a panic: `Kernel Offset:`; never closed: the end of the log) and, if the console
//!    prints caller ids (`[T123]`, `[C1]`), was printed by the same task or CPU.
//! 2. **A panic ends the story.** The kernel panics once per boot and a panic dump ends
//!    there, so when the log holds a `Kernel panic - not syncing` line, the last one decides.
//!    Within a report, that report is the crash. Heading a report, the panic is the crash,
//!    unless its message is one the kernel gives a panic caused by a report it has just
//!    printed (`Fatal exception`, `panic_on_warn set ...`, `softlockup: hung tasks`, ...; see
//!    `consequence` below): then the crash is the newest report of the kind that causes it,
//!    from the panic's own task or CPU if caller ids tell, else the newest; of a run of
//!    reports of one kind with no end marker between (one pass of the hung task detector), the
//!    first. With no such report in the log the panic stands for itself.
//! 3. **Else the last oops.** Without a panic, the crash is the last report that is an oops
//!    (`kernel BUG`, `BUG: unable to handle ...`, `general protection fault`, `Oops: ...`,
//!    `Internal error`, ...; not one inside another report): an oops dump ends with its oops,
//!    and reports that do not oops (a WARNING without panic_on_warn, lockdep, hung tasks, a
//!    sanitizer) never cause a dump.
//! 4. **Else the first report**: a log with neither (a WARNING, a lockdep or sanitizer report,
//!    hung tasks, leaks) is titled by its first report, as syzkaller titles a log.
//!
//! Rules 3 and 4 look only after netoops's own last `netoops: dump N: reason=... sent N
//! packets` line: what comes before it caused an earlier dump, which the collector has. So a
//! SysRq soft dump after an oops is not a second copy of that oops: it is titled by a report
//! printed since, else as a dump without a crash report. Timestamps going back by more than a
//! second start another boot's log (a console log across a reboot, logs pasted together; a
//! netoops dump holds one boot): the crash is that of the first boot that has one.
//!
//! The dump's reason (oops, panic, soft, emerg) does not choose: the log says more precisely
//! what happened (a panic line, an oops, netoops's dump lines), the one rule is what
//! `eval-signatures` measures on logs that have no reason, and a dump whose end was lost in
//! transit still gets the best title its received part allows. For complete dumps the rules
//! agree with the reason: a panic dump ends with its panic (rule 2), an oops dump with its
//! oops (rule 3), and a soft or emergency dump has no crash of its own (rule 4 after the last
//! dump line). The reason only words the title of a dump without a crash report.

use super::rx::rx;

use super::CapturesIfMatch;

use super::{classify, Guilty};

/// Headers at most this many lines after a report's previous header, with no closing line
/// between, belong to that report.
pub const WINDOW: usize = 10;

/// Which lines of a log may pass the per-line tests (`super::marks` finds them): bit flags
/// per line, [`HEAD`], [`END`], [`RULE`], [`DUMP`]. Only marked lines are tested.
pub(super) struct Marks(pub Vec<u8>);

/// May head a report ([`super::classify`]).
pub(super) const HEAD: u8 = 1;
/// May be an end marker ([`is_end`]).
pub(super) const END: u8 = 2;
/// May be a sanitizer's closing rule ([`is_rule`]).
pub(super) const RULE: u8 = 4;
/// May be netoops's line after a dump ([`is_dump_line`]).
pub(super) const DUMP: u8 = 8;

/// What a header line is, for choosing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// An oops: the kernel died in a task or interrupt (`die()`); ends with `---[ end trace`.
    Die,
    /// A WARNING or sanitizer report: always ends with `---[ end trace` or `=====`.
    Closed,
    /// `Kernel panic - not syncing: ...`; ends with `Kernel Offset:` or `---[ end Kernel panic`.
    Panic,
    /// Anything else (lockdep, hangs, stalls, leaks, ...): no end marker.
    Open,
}

#[derive(Debug)]
struct Head {
    line: usize,
    prefix: String,
    guilty: Guilty,
    kind: Kind,
}

#[derive(Debug)]
struct Group {
    /// Index of the first header in `heads`.
    head: usize,
    /// Line of the newest header.
    last: usize,
    /// Closing line, when the report has one.
    end: Option<usize>,
    /// Whether one of its headers is an oops.
    die: bool,
}

fn kind_of(prefix: &str, line: &str) -> Kind {
    const DIE: &[&str] = &[
        "BUG: unable to handle",
        "general protection fault",
        "kernel BUG",
        "divide error",
        "BUG: stack guard page was hit",
        "PANIC: double fault",
        "Internal error",
        "Unhandled fault",
    ];
    let line = line.trim();
    if line.starts_with("Kernel panic - not syncing") {
        Kind::Panic
    } else if line.starts_with("Oops: ")
        || line.starts_with("kernel BUG at")
        || DIE.iter().any(|d| prefix.starts_with(d))
        || prefix == "stack segment fault"
        || rx!(r"^[a-zA-Z][\w ]*: [0-9a-f]{4} \[#\d+\]").is_match(line)
    {
        Kind::Die
    } else if prefix == "WARNING"
        || line.starts_with("WARNING: CPU: ")
        || line.starts_with("WARNING: at ")
        || (prefix.starts_with("WARNING: ") && prefix.ends_with(" bug"))
        || is_sanitizer(prefix)
    {
        Kind::Closed
    } else {
        Kind::Open
    }
}

/// A line that ends any report: `---[ end trace`, `---[ end Kernel panic`, `Kernel Offset:`.
fn is_end(line: &str) -> bool {
    let t = line.trim();
    t.starts_with("---[ end trace")
        || t.starts_with("---[ end Kernel panic")
        || t.starts_with("Kernel Offset:")
}

/// A line that ends a sanitizer report (KASAN, KMSAN, KCSAN, KFENCE, UBSAN): `=====...`.
fn is_rule(line: &str) -> bool {
    let t = line.trim();
    t.len() >= 20 && t.bytes().all(|b| b == b'=')
}

fn is_sanitizer(prefix: &str) -> bool {
    ["KASAN", "KMSAN", "KCSAN", "KFENCE", "UBSAN"]
        .iter()
        .any(|s| prefix.starts_with(s))
}

/// netoops's line after a dump it sent: what comes before was in that dump.
fn is_dump_line(line: &str) -> bool {
    rx!(r"^netoops: dump \d+: reason=\w+, read \d+ bytes of log, sent [1-9]\d* packets")
        .is_match(line.trim())
}

/// What a consequence panic follows.
#[derive(Debug, Clone, Copy)]
enum Cause {
    /// An oops.
    Die,
    /// Any report that is not itself a panic.
    Any,
    /// A report whose title starts with one of these.
    Prefix(&'static [&'static str]),
    /// A report we do not title (the OOM killer's): the panic stands for itself.
    Untitled,
}

/// If `msg` (after `Kernel panic - not syncing: `) is a panic the kernel raises because of a
/// report it has just printed, what that report is and how many netoops dump lines may lie
/// between them (1 after an oops: netoops dumps the oops before the panic that follows it).
/// The wordings are the kernel's: `oops_end()` and arm64 `die()`
/// (`Fatal exception[ in interrupt]`, `Oops: Fatal exception`), the double fault handler
/// (`Machine halted.`), arm64 `bad_mode()`, `do_exit()` of the idle task or an interrupt,
/// `check_panic_on_warn()` (`kernel: panic_on_warn set ...`, also `KASAN:`, `KFENCE:` ...),
/// `panic_on_kmsan`/`panic_on_taint`, the soft and hard lockup detectors (`softlockup: hung
/// tasks`, `Hard LOCKUP`), the hung task detector (`hung_task: blocked tasks`), RCU
/// (`RCU Stall`), `__schedule_bug()` (`scheduling while atomic`) and the OOM killer
/// (`System is deadlocked on memory`, `Out of memory ...`).
fn consequence(msg: &str) -> Option<(Cause, usize)> {
    let msg = msg.trim();
    let die = rx!(
        r"(?:^|: )Fatal exception|^Machine halted|^bad mode|^Attempted to kill the idle task|^Aiee, killing interrupt handler"
    );
    if die.is_match(msg) {
        return Some((Cause::Die, 1));
    }
    if rx!(r"\bpanic_on_\w+ set\b").is_match(msg) {
        return Some((Cause::Any, 0));
    }
    let prefix: &'static [&'static str] = if msg.starts_with("softlockup: hung tasks") {
        &["BUG: soft lockup"]
    } else if msg.starts_with("Hard LOCKUP") {
        &["BUG: hard lockup"]
    } else if msg.starts_with("hung_task: blocked tasks") {
        &["INFO: task hung", "INFO: task can't die"]
    } else if msg.starts_with("RCU Stall") {
        &["INFO: rcu detected stall"]
    } else if msg.starts_with("Fatal machine check") || msg.starts_with("Machine check") {
        // mce_panic(): the `[Hardware Error]` lines before say what failed.
        &["MCE: hardware error"]
    } else if msg.starts_with("scheduling while atomic") {
        &["BUG: scheduling while atomic"]
    } else if msg.starts_with("System is deadlocked on memory") || msg.starts_with("Out of memory")
    {
        return Some((Cause::Untitled, 0));
    } else {
        return None;
    };
    Some((Cause::Prefix(prefix), 0))
}

/// The report [`choose`] found.
#[derive(Debug)]
pub(super) struct Choice {
    /// Line of its first header.
    pub line: usize,
    /// Its title prefix.
    pub prefix: String,
    /// Where its guilty function is.
    pub guilty: Guilty,
    /// End (exclusive) of the boot's part of the log the report is in.
    pub end: usize,
}

/// The crash report of `lines` (console prefixes removed; `callers` the caller ids and
/// `times` the timestamps the console printed, if any).
///
/// Timestamps going back by more than a second start the log of another boot (a console log
/// across a reboot, or logs pasted together; a netoops dump holds one boot): the crash is
/// that of the first boot whose part of the log holds a crash report.
pub(super) fn choose(
    lines: &[&str],
    callers: &[Option<&str>],
    times: &[Option<f64>],
    marks: &Marks,
) -> Option<Choice> {
    let mut starts = vec![0];
    let mut newest: Option<f64> = None;
    for (i, t) in times.iter().enumerate() {
        if let Some(t) = *t {
            if newest.is_some_and(|n| t < n - 1.0) {
                starts.push(i);
            }
            newest = Some(t);
        }
    }
    starts.push(lines.len());
    starts.windows(2).find_map(|w| {
        let (a, b) = (w[0], w[1]);
        choose_in(&lines[a..b], &callers[a..b], &marks.0[a..b]).map(|(line, prefix, guilty)| {
            Choice {
                line: a + line,
                prefix,
                guilty,
                end: b,
            }
        })
    })
}

/// [`choose`] within one boot's part of the log.
fn choose_in(
    lines: &[&str],
    callers: &[Option<&str>],
    marks: &[u8],
) -> Option<(usize, String, Guilty)> {
    // The lines marked `kind` that pass `test`.
    let marked = |kind: u8, test: fn(&str) -> bool| -> Vec<usize> {
        (0..lines.len())
            .filter(|&i| marks[i] & kind != 0 && test(lines[i]))
            .collect()
    };
    let heads: Vec<Head> = (0..lines.len())
        .filter(|&i| marks[i] & HEAD != 0)
        .filter_map(|i| {
            classify(lines, i).map(|(prefix, guilty)| Head {
                line: i,
                kind: kind_of(&prefix, lines[i]),
                prefix,
                guilty,
            })
        })
        .collect();
    if heads.is_empty() {
        return None;
    }
    let ends = marked(END, is_end);
    let rules = marked(RULE, is_rule);
    let dumps = marked(DUMP, is_dump_line);
    let ended_between = |a: usize, b: usize| ends.iter().any(|&e| e > a && e < b);
    // Where the report a header of this kind starts ends: at its closing line, or, never
    // closed (the log ends first), at the end of the log; `None` for reports that print no
    // closing line.
    let end_of = |h: &Head| -> Option<usize> {
        let after = |v: &[usize]| v.iter().copied().find(|&e| e > h.line);
        match h.kind {
            Kind::Open => None,
            _ if is_sanitizer(&h.prefix) => match (after(&ends), after(&rules)) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
            _ => after(&ends),
        }
        .or(Some(lines.len()))
    };

    // 1. Group headers into reports. A header another task or CPU printed (when the console
    // prints caller ids) joins an open report only within the window.
    let mut groups: Vec<Group> = Vec::new();
    let mut group_of = vec![0; heads.len()];
    for (hi, h) in heads.iter().enumerate() {
        if let Some(g) = groups.last_mut() {
            let g_caller = callers[heads[g.head].line];
            let same_task = match (g_caller, callers[h.line]) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            };
            let near = h.line - g.last <= WINDOW && !ended_between(g.last, h.line);
            let inside = g.end.is_some_and(|e| h.line < e) && same_task;
            if near || inside {
                g.last = h.line;
                g.die |= h.kind == Kind::Die;
                if g.end.is_none() {
                    g.end = end_of(h);
                }
                group_of[hi] = groups.len() - 1;
                continue;
            }
        }
        group_of[hi] = groups.len();
        groups.push(Group {
            head: hi,
            last: h.line,
            end: end_of(h),
            die: h.kind == Kind::Die,
        });
    }
    let line_of = |g: usize| heads[groups[g].head].line;
    let caller_of = |g: usize| callers[line_of(g)];

    let chosen = if let Some(p) = heads.iter().rposition(|h| h.kind == Kind::Panic) {
        // 2. The last panic, or the report it is part of or a consequence of.
        let gp = group_of[p];
        let msg = rx!(r"^Kernel panic - not syncing:?\s*(.*)$")
            .caps(lines[heads[p].line].trim())
            .map_or("", |c| c.get(1).map_or("", |m| m.as_str()));
        match consequence(msg) {
            Some((cause, dumps_allowed)) if groups[gp].head == p => {
                let pline = heads[p].line;
                let compatible = |g: usize| {
                    let h = &heads[groups[g].head];
                    match cause {
                        Cause::Die => groups[g].die,
                        Cause::Any => h.kind != Kind::Panic,
                        Cause::Prefix(ps) => ps.iter().any(|x| h.prefix.starts_with(x)),
                        Cause::Untitled => false,
                    }
                };
                let candidates: Vec<usize> = (0..gp)
                    .rev()
                    .take_while(|&g| {
                        dumps
                            .iter()
                            .filter(|&&d| d > line_of(g) && d < pline)
                            .count()
                            <= dumps_allowed
                    })
                    .filter(|&g| compatible(g))
                    .collect();
                let same_caller = callers[pline].and_then(|c| {
                    candidates
                        .iter()
                        .copied()
                        .find(|&g| caller_of(g) == Some(c))
                });
                match same_caller.or(candidates.first().copied()) {
                    Some(mut g) => {
                        // The first of a run of reports of one kind (a hung task pass).
                        while g > 0
                            && heads[groups[g - 1].head].prefix == heads[groups[g].head].prefix
                            && caller_of(g - 1) == caller_of(g)
                            && !ended_between(line_of(g - 1), line_of(g))
                            && !dumps.iter().any(|&d| d > line_of(g - 1) && d < line_of(g))
                        {
                            g -= 1;
                        }
                        g
                    }
                    None => gp,
                }
            }
            _ => gp,
        }
    } else {
        // 3./4. After netoops's last dump line: the last oops, else the first report; of
        // reports that start inside another one's extent (another CPU's, interleaved), the
        // enclosing one.
        let after = dumps.last().copied();
        let candidates: Vec<usize> = (0..groups.len())
            .filter(|&g| after.is_none_or(|d| line_of(g) > d))
            .filter(|&g| {
                !groups[..g]
                    .iter()
                    .any(|o| o.end.is_some_and(|e| line_of(g) < e))
            })
            .collect();
        candidates
            .iter()
            .copied()
            .rfind(|&g| groups[g].die)
            .or(candidates.first().copied())?
    };
    let h = &heads[groups[chosen].head];
    Some((h.line, h.prefix.clone(), h.guilty.clone()))
}
