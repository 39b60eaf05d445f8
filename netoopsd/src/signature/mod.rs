//! Crash signatures: from a kernel log, the title of the crash report that is the crash
//! ("kernel BUG in lkdtm_BUG", "WARNING in f", "general protection fault in f", "kernel panic:
//! msg", "INFO: task hung in f", ...), its normalised top stack frames, and the bucket that
//! groups crashes of one bug. Which report of a log is the crash (the last panic or oops, not
//! an earlier crash still in the log; the report a `Fatal exception` or `panic_on_warn` panic
//! follows, not the panic) is decided in [`select`].
//!
//! The title names the kind of crash and, where the kind has one, the guilty function: the
//! faulting instruction's function for faults, the function named in the report's header
//! for warnings and sanitizer reports, the first non-generic frame of the call trace for
//! hangs, lockdep and leak reports (see [`frames::is_generic`]). Numbers, addresses, task
//! names and offsets never enter a title, so two crashes of one bug on different machines,
//! kernels builds or boots share it, and the bucket is derived from the title alone.

pub mod eval;
pub mod frames;
pub mod select;

use std::sync::OnceLock;

use regex::{Captures, Regex};

use frames::{is_generic, normalize_func, parse_frame, parse_ip, parse_lock_at};

/// The signature of one crash report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// One-line title, e.g. `kernel BUG in lkdtm_BUG`.
    pub title: String,
    /// Top non-generic frames, innermost first (at most [`MAX_FRAMES`]): the faulting
    /// function, if known, then the call trace.
    pub frames: Vec<String>,
    /// Bucket id: 16 hex digits derived from the title (see [`bucket_key`]).
    pub bucket: String,
    /// 0-based line number in the log where the crash report starts.
    pub line: usize,
}

/// How many frames a signature keeps.
pub const MAX_FRAMES: usize = 5;

/// Extracts the signature of the crash in `log` (see [`select`] for which report that is),
/// or `None` if the log holds no crash report.
pub fn extract(log: &str) -> Option<Signature> {
    let split: Vec<Line<'_>> = log.lines().map(split_prefix).collect();
    let lines: Vec<&str> = split.iter().map(|l| l.text).collect();
    let callers: Vec<Option<&str>> = split.iter().map(|l| l.caller).collect();
    let times: Vec<Option<f64>> = split.iter().map(|l| l.time).collect();
    let select::Choice {
        line: i,
        prefix,
        guilty,
        end,
    } = select::choose(&lines, &callers, &times)?;
    let report = Report::new(&lines[..end], i);
    let title = match report.resolve(&guilty) {
        Some(f) => format!("{prefix} in {}", family(&f)),
        None => prefix,
    };
    Some(Signature {
        bucket: bucket_id(&title),
        frames: report.top_frames(&guilty),
        title,
        line: i,
    })
}

/// The signature of a dump: that of the crash in its log, or, when the log holds none (a
/// SysRq soft dump, a log lost in transit), a title saying so for the dump's reason
/// (`soft dump: no crash report in log`). The reason does not choose among the log's reports
/// (see [`select`]): the log itself says more precisely which one caused the dump.
pub fn for_dump(log: Option<&str>, reason: &str) -> Signature {
    if let Some(s) = log.and_then(extract) {
        return s;
    }
    let title = match log {
        Some(_) => format!("{reason} dump: no crash report in log"),
        None => format!("{reason} dump: log not received"),
    };
    Signature {
        bucket: bucket_id(&title),
        title,
        frames: Vec::new(),
        line: 0,
    }
}

/// The bucket id of a title: FNV-1a 64 of its [`bucket_key`], as 16 hex digits (stable across
/// versions and machines).
pub fn bucket_id(title: &str) -> String {
    let key = bucket_key(title);
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// What of a title the bucket depends on: the title, except that the kinds of report one bug
/// shows up as, depending on timing, kernel config and sanitizers, are one class (as
/// syzkaller's alternative titles group them): a stall (`INFO: rcu detected stall`,
/// `BUG: soft lockup`), a hang (`INFO: task hung`, `INFO: task can't die`), a stack
/// overflow (`kernel panic: corrupted stack end`, `BUG: stack guard page was hit`), an
/// invalid free, and a bad memory access (KASAN/KFENCE/KMSAN reports, general protection
/// faults, unable-to-handle page faults, arm's `Internal error`/`Unhandled fault`, out of
/// bounds array indexes, corrupted lists), each together with the guilty function.
pub fn bucket_key(title: &str) -> String {
    let Some((kind, func)) = title.rsplit_once(" in ") else {
        return title.to_string();
    };
    if func.contains(' ') {
        return title.to_string();
    }
    let class = if kind == "INFO: rcu detected stall" || kind == "BUG: soft lockup" {
        "stall"
    } else if kind == "INFO: task hung" || kind == "INFO: task can't die" {
        "hang"
    } else if kind == "kernel panic: corrupted stack end" || kind == "BUG: stack guard page was hit"
    {
        "stack-overflow"
    } else if kind == "KASAN: invalid-free" || kind == "KFENCE: invalid free" {
        "invalid-free"
    } else if kind.starts_with("KASAN: ")
        || kind.starts_with("KFENCE: ")
        || kind == "KMSAN: uninit-value"
        || kind == "KMSAN: kernel-infoleak"
        || kind == "general protection fault"
        || kind.starts_with("BUG: unable to handle kernel ")
        || kind == "Unhandled fault"
        || kind == "Internal error"
        || kind == "UBSAN: array-index-out-of-bounds"
        || kind == "BUG: corrupted list"
    {
        "bad-access"
    } else {
        return title.to_string();
    };
    format!("{class} in {func}")
}

macro_rules! rx {
    ($pattern:expr) => {{
        static CELL: OnceLock<Regex> = OnceLock::new();
        CELL.get_or_init(|| Regex::new($pattern).expect("valid regex"))
    }};
}

/// Folds the variants of a kernel function family that one bug reaches depending on kernel
/// version and call site into the family's name, for titles: `smp_call_function_single`,
/// `smp_call_function_many`(`_cond`) are `smp_call_function`; `synchronize_sched` (an alias
/// of `synchronize_rcu` since 4.20) and the `_expedited` variants are `synchronize_rcu`.
fn family(func: &str) -> String {
    let f =
        rx!(r"^smp_call_function_(?:single|many)(?:_cond)?$").replace(func, "smp_call_function");
    rx!(r"^synchronize_(?:sched|rcu)(?:_expedited)?$")
        .replace(&f, "synchronize_rcu")
        .into_owned()
}

/// One log line: the kernel's text and what the console put before it.
struct Line<'a> {
    text: &'a str,
    /// The `[  T123]`/`[ C1]` caller id: the task or CPU that printed the line.
    caller: Option<&'a str>,
    /// The `[   12.345678]` timestamp, in seconds since boot.
    time: Option<f64>,
}

/// Splits off what the console puts before the kernel's text: a `<N>` level, the
/// `[   12.345678]` timestamp and a `[  T123]`/`[ C1]` caller id. Output of user space that
/// did not end its line (`syzkaller login: [  417.725670][    C1] rcu: ...`) goes before
/// the timestamp of the kernel line that follows it, and is split off too.
fn split_prefix(line: &str) -> Line<'_> {
    let re = rx!(r"^(?:<\d+>)?(?:\[\s*(\d+\.\d+)\])?(?:\[\s*([TC]\d+)\])?\s?");
    let mut line = line.trim_end_matches('\r');
    if !line.starts_with('[') && !line.starts_with('<') {
        if let Some(m) = rx!(r"\[\s*\d+\.\d{6}\]").find(line) {
            line = &line[m.start()..];
        }
    }
    match re.captures(line) {
        Some(c) => Line {
            text: &line[c.get(0).map_or(0, |m| m.end())..],
            caller: c.get(2).map(|m| m.as_str()),
            time: c.get(1).and_then(|m| m.as_str().parse().ok()),
        },
        None => Line {
            text: line,
            caller: None,
            time: None,
        },
    }
}

/// Where the guilty function of a report is found.
#[derive(Debug, Clone)]
enum Guilty {
    /// No function in the title.
    None,
    /// The function of the faulting instruction (RIP/pc line), else the stack.
    Ip(&'static [&'static str]),
    /// A function named in the header line, else the stack.
    Header(String, &'static [&'static str]),
    /// The first non-generic frame of the call trace (with extra generic names).
    Stack(&'static [&'static str]),
    /// The first non-generic function of lockdep's `at:` lines, else the stack.
    LockAt,
    /// For stalls: the interrupted context (frames after `</IRQ>`), else the stack.
    Interrupted,
    /// The last (outermost) non-generic frame of the call trace.
    Outermost(&'static [&'static str]),
}

const HUNG: &[&str] = &[
    "rwsem_down_*",
    "percpu_down_*",
    "percpu_rwsem_*",
    "flush_work*",
    "flush_workqueue*",
    "drain_workqueue",
    "kthread_stop*",
    "inode_lock*",
    "lock_sock*",
    "rtnl_lock_killable",
];
const LOCKING: &[&str] = &[
    "lockdep_rcu_suspicious",
    "rcu_read_lock*",
    "rcu_read_unlock*",
    "debug_lockdep_*",
    "lock_sock*",
    "release_sock",
    "inode_lock*",
    "register_lock_class",
    "lockdep_init_map*",
    "check_flags",
    "print_unlock_imbalance_bug",
    "do_exit",
    "exit_to_user*",
];
const WARN_SUB: &[&str] = &[
    "device_add",
    "get_device_parent",
    "refcount_*",
    "debug_object*",
    "kobject_*",
    "kvmalloc*",
    "kmalloc*",
    "vmalloc*",
    "vzalloc*",
    "__vmalloc*",
];
const PANIC: &[&str] = &[
    "schedule_debug*",
    "boot_tag*",
    "stack_chk_fail",
    "__stack_chk_fail",
];
const MEMLEAK: &[&str] = &[
    "*alloc*",
    "create_object",
    "kstrdup*",
    "kmemdup*",
    "idr_*",
    "xa_*",
    "sk_prot_alloc",
    "alloc_inode*",
    "alloc_netdev*",
    "kobject_*",
    "kvasprintf*",
    "kasprintf*",
    "skb_*",
    "alloc_skb*",
];
const PAGE_ALLOC: &[&str] = &[
    "*alloc*",
    "get_page_from_freelist",
    "prep_new_page",
    "page_pool_*",
    "*free_page*",
    "free_pcp*",
    "bad_page",
    "check_new_page*",
    "free_pages*",
    "*folio*put*",
    "put_page*",
];
const RUST: &[&str] = &["core::*", "<core::*", "kernel::*", "<kernel::*"];
const NONE: &[&str] = &[];
/// For stalls, the frames that name the work that stalled (a system call, an ioctl, a
/// message send or receive, a packet handler), preferred to the innermost frame.
const STALL_ANCHORS: &[&str] = &[
    "sys_*",
    "*_ioctl",
    "*_sendmsg",
    "*_recvmsg",
    "*_rcv",
    "smp_call_function*",
    "*_timer_handler",
    "*_work",
    "*_workfn",
    "*_thread",
];

/// Netlink's message dispatchers: they run the handler of each message they receive, which
/// names the work better than they do.
const DISPATCHERS: &[&str] = &[
    "*netlink_rcv*",
    "genl_rcv*",
    "genl_family_rcv_msg*",
    "*_rcv_msg",
];

/// Whether line `i` starts a crash report, and if so its title prefix and where its guilty
/// function is.
fn classify(lines: &[&str], i: usize) -> Option<(String, Guilty)> {
    let raw = lines[i].trim();
    // Old lockdep headers are bracketed: "[ INFO: possible circular locking dependency ... ]".
    let l = raw
        .strip_prefix("[ ")
        .and_then(|s| s.strip_suffix(" ]"))
        .unwrap_or(raw);
    let c = |re: &Regex| re.captures(l);
    let after = |n: usize| {
        lines[i + 1..lines.len().min(i + 1 + n)]
            .iter()
            .map(|s| s.trim())
    };

    if let Some(m) = c(rx!(
        r"^(?:BUG: )?KASAN: ([\w-]+(?: or [\w-]+)?) (?:in|on) (?:address \S+|([A-Za-z_][\w.]*))?"
    )) {
        let kind = match &m[1] {
            "double-free or invalid-free" | "double-free" => "invalid-free",
            k => k,
        };
        let access = after(6).find_map(|s| {
            rx!(r"^(Read|Write) (?:of size|at addr)")
                .captures(s)
                .map(|a| a[1].to_string())
        });
        let prefix = match access {
            Some(a) => format!("KASAN: {kind} {a}"),
            None => format!("KASAN: {kind}"),
        };
        return Some((prefix, header(m.get(2).map(|f| f.as_str()), NONE)));
    }
    if let Some(m) = c(rx!(
        r"^BUG: (KMSAN|KFENCE|KCSAN): (.+?) in ([A-Za-z_][\w.]*)"
    )) {
        return Some((format!("{}: {}", &m[1], &m[2]), header(Some(&m[3]), NONE)));
    }
    if let Some(m) = c(rx!(
        r"^BUG: unable to handle (?:kernel )?(paging request|NULL pointer dereference|page fault)"
    )) {
        let what = if &m[1] == "page fault" {
            "paging request"
        } else {
            &m[1]
        };
        return Some((
            format!("BUG: unable to handle kernel {what}"),
            Guilty::Ip(NONE),
        ));
    }
    if c(rx!(r"^BUG: kernel NULL pointer dereference")).is_some() {
        let t = "BUG: unable to handle kernel NULL pointer dereference";
        return Some((t.into(), Guilty::Ip(NONE)));
    }
    if c(rx!(
        r"general protection fault(?:, probably|: [0-9a-f]{4} \[#)"
    ))
    .is_some()
    {
        return Some(("general protection fault".into(), Guilty::Ip(NONE)));
    }
    if c(rx!(r"^kernel BUG at \S+")).is_some() {
        return Some(("kernel BUG".into(), Guilty::Ip(NONE)));
    }
    if c(rx!(r"^(?:Oops: )?divide[ _]error: ")).is_some() {
        return Some(("divide error".into(), Guilty::Ip(NONE)));
    }
    if let Some(m) = c(rx!(
        r"^(BUG: (?:\w+ )?stack guard page was hit|PANIC: double fault)"
    )) {
        let t = rx!(r"^BUG: \w+ stack").replace(&m[1], "BUG: stack");
        return Some((t.into_owned(), Guilty::Ip(NONE)));
    }
    if c(rx!(r"^(?:(?:NMI )?watchdog: )?BUG: soft lockup")).is_some() {
        return Some(("BUG: soft lockup".into(), Guilty::Ip(NONE)));
    }
    if c(rx!(r"(?:^|: )Watchdog detected hard LOCKUP")).is_some() {
        return Some(("BUG: hard lockup".into(), Guilty::Ip(NONE)));
    }
    if c(rx!(
        r"^(?:rcu: )?INFO: rcu_(?:sched|preempt|bh) (?:self-)?detected (?:expedited )?stalls?"
    ))
    .is_some()
    {
        return Some(("INFO: rcu detected stall".into(), Guilty::Interrupted));
    }
    if c(rx!(
        r"^INFO: task .* blocked (?:in I/O wait )?for more than \d+ seconds"
    ))
    .is_some()
    {
        return Some(("INFO: task hung".into(), Guilty::Stack(HUNG)));
    }
    if c(rx!(r"^INFO: task .* can't die for more than")).is_some() {
        return Some(("INFO: task can't die".into(), Guilty::Stack(HUNG)));
    }
    if c(rx!(r"^(?:WARNING|INFO): (?:possible (?:circular|recursive) locking|possible irq lock inversion|(?:HARD|SOFT)IRQ-(?:READ-)?safe -> (?:HARD|SOFT)IRQ-unsafe lock order)")).is_some() {
        return Some(("possible deadlock".into(), Guilty::LockAt));
    }
    if c(rx!(r"^BUG: Invalid wait context")).is_some() {
        // Lockdep's wait-type check, a WARNING of the locking code in syzkaller's words.
        return Some(("WARNING: locking bug".into(), Guilty::Stack(LOCKING)));
    }
    if c(rx!(r"^(?:WARNING|INFO): inconsistent lock state")).is_some() {
        return Some(("inconsistent lock state".into(), Guilty::LockAt));
    }
    if let Some(m) = c(rx!(r"^(WARNING|INFO): suspicious RCU usage")) {
        return Some((
            format!("{}: suspicious RCU usage", &m[1]),
            Guilty::Stack(LOCKING),
        ));
    }
    if let Some(m) = c(rx!(
        r"^(WARNING|BUG): (?:\S+ )?(bad unlock balance|held lock freed|still has locks held|lock held when returning to user space|nested lock was not taken|lock held at task exit time)"
    )) {
        return Some((format!("{}: {}", &m[1], &m[2]), Guilty::LockAt));
    }
    if c(rx!(r"^BUG: workqueue leaked lock or atomic")).is_some() {
        let f = after(4).find_map(|s| {
            rx!(r"last function: ([A-Za-z_][\w.]*)")
                .captures(s)
                .map(|c| c[1].to_string())
        });
        return Some((
            "BUG: workqueue leaked lock or atomic".into(),
            header(f.as_deref(), NONE),
        ));
    }
    if let Some(m) = c(rx!(
        r"^WARNING: kernel stack (regs|frame pointer) at .* has bad ('bp' )?value"
    )) {
        let t = format!(
            "WARNING: kernel stack {} has bad {}value",
            &m[1],
            m.get(2).map_or("", |x| x.as_str())
        );
        return Some((t, Guilty::None));
    }
    if c(rx!(r"^INFO: trying to register non-static key")).is_some() {
        let t = "INFO: trying to register non-static key";
        return Some((t.into(), Guilty::Stack(LOCKING)));
    }
    if let Some(m) = c(rx!(r"^WARNING:(?: CPU: \d+ PID: \d+)? (?:at )?(.*)$")) {
        return warning(lines, i, &m);
    }
    if let Some(m) = c(rx!(
        r"^BUG: (sleeping function called from invalid context|scheduling while atomic|using (?:smp_processor_id|__this_cpu_\w+)\(\) in preemptible|spinlock (?:lockup suspected|already unlocked|bad magic|recursion|wrong owner|wrong CPU)|workqueue lockup)"
    )) {
        if m[1].starts_with("using") {
            let f = after(3).find_map(|s| {
                rx!(r"^caller is ([A-Za-z_][\w.]*)")
                    .captures(s)
                    .map(|c| c[1].to_string())
            });
            let t = format!("BUG: {} code", &m[1]);
            return Some((t, header(f.as_deref(), &["check_preemption_disabled"])));
        }
        let g = if m[1].starts_with("workqueue") {
            Guilty::None
        } else {
            Guilty::Stack(NONE)
        };
        return Some((format!("BUG: {}", &m[1]), g));
    }
    if c(rx!(
        r"^(?:BUG: memory leak$|unreferenced object 0x[0-9a-f]+ \(size)"
    ))
    .is_some()
    {
        return Some(("memory leak".into(), Guilty::Stack(MEMLEAK)));
    }
    if c(rx!(
        r"^usercopy: Kernel memory (?:exposure|overwrite) attempt"
    ))
    .is_some()
    {
        return Some(("BUG: bad usercopy".into(), Guilty::Stack(NONE)));
    }
    if c(rx!(r"^UBSAN: Undefined behaviour in")).is_some() {
        return Some(("UBSAN: undefined-behaviour".into(), Guilty::Stack(NONE)));
    }
    if let Some(m) = c(rx!(r"^UBSAN: ([\w-]+) in ")) {
        return Some((format!("UBSAN: {}", &m[1]), Guilty::Stack(NONE)));
    }
    if let Some(m) = c(rx!(r"^Kernel panic - not syncing:\s*(.*)$")) {
        return Some(panic(&m[1]));
    }
    if c(rx!(r"^rust_kernel: panicked at ")).is_some() {
        let msg = after(1).next().unwrap_or("").trim();
        let msg = if msg.is_empty() { "Rust panic" } else { msg };
        return Some((msg.to_string(), Guilty::Stack(RUST)));
    }
    if let Some(m) = c(rx!(
        r"^Unable to handle kernel (paging request|NULL pointer dereference)"
    )) {
        return Some((
            format!("BUG: unable to handle kernel {}", &m[1]),
            Guilty::Ip(NONE),
        ));
    }
    if let Some(m) = c(rx!(r"^(Internal error|Unhandled fault)")) {
        return Some((m[1].to_string(), Guilty::Ip(NONE)));
    }
    if c(rx!(
        r"^unregister_netdevice: waiting for \S+ to become free"
    ))
    .is_some()
    {
        let t = "unregister_netdevice: waiting for DEV to become free";
        return Some((t.into(), Guilty::None));
    }
    if let Some(m) = c(rx!(
        r"^Oops: (?:Oops: )?([a-z][\w ]*?):? [0-9a-f]{4} \[#\d+\]"
    )) {
        return Some((m[1].to_string(), Guilty::Ip(NONE)));
    }
    if c(rx!(r"^Oops: [0-9a-f]{4} \[#\d+\]")).is_some() {
        return Some(("Oops".into(), Guilty::Ip(NONE)));
    }
    if c(rx!(r"^BUG: Bad page state in process")).is_some() {
        // The stack printed first is where the page was allocated (page_owner) or freed:
        // its first caller outside the page allocator.
        return Some(("BUG: Bad page state".into(), Guilty::Stack(PAGE_ALLOC)));
    }
    if let Some(m) = c(rx!(r"^BUG: ([A-Za-z][^:,]*?)(?: at | in |: |, |$)")) {
        return Some((format!("BUG: {}", strip_numbers(&m[1])), Guilty::None));
    }
    None
}

fn header(func: Option<&str>, extra: &'static [&'static str]) -> Guilty {
    match func {
        Some(f) => Guilty::Header(normalize_func(f), extra),
        None => Guilty::Stack(extra),
    }
}

/// A `WARNING: CPU: 0 PID: 1 at FILE:LINE FUNC+0x../0x..` header (or the other spellings:
/// `WARNING: at FILE:LINE FUNC()`, `WARNING: FILE:LINE at FUNC+0x.., CPU#0: comm/1`).
fn warning(lines: &[&str], i: usize, m: &Captures<'_>) -> Option<(String, Guilty)> {
    let rest = &m[1];
    let file = rx!(r"([\w/.\-]+\.(?:c|h|rs|S)):\d+")
        .captures(rest)
        .map(|c| c[1].to_string());
    let func = rx!(r"([A-Za-z_][\w.]*)(?:\+0x[0-9a-f]+/0x[0-9a-f]+|\(\))")
        .captures(rest)
        .map(|c| normalize_func(&c[1]));
    if file.is_none() && func.is_none() {
        // "WARNING: <message>": a warning of its own kind (kernel stack checks, ...).
        return None; // "WARNING: <message>" lines are not crash reports.
    }
    let before: Vec<&str> = lines[i.saturating_sub(4)..i]
        .iter()
        .map(|s| s.trim())
        .collect();
    let said = |w: &str| before.iter().any(|l| l.starts_with(w));
    let file = file.unwrap_or_default();
    let f = func.clone().unwrap_or_default();
    let sub =
        if said("refcount_t:") || file.ends_with("lib/refcount.c") || f.starts_with("refcount_") {
            Some("refcount bug")
        } else if said("ODEBUG:") || file.ends_with("lib/debugobjects.c") {
            Some("ODEBUG bug")
        } else if said("DEBUG_LOCKS_WARN_ON") || file.contains("kernel/locking/") {
            Some("locking bug")
        } else if said("kobject") || file.ends_with("lib/kobject.c") {
            Some("kobject bug")
        } else if f.starts_with("kvmalloc") || f.starts_with("kmalloc") {
            Some("kmalloc bug")
        } else {
            None
        };
    Some(match sub {
        Some(s) => (format!("WARNING: {s}"), Guilty::Stack(WARN_SUB)),
        None => ("WARNING".into(), header(func.as_deref(), NONE)),
    })
}

/// `Kernel panic - not syncing: MSG`.
fn panic(msg: &str) -> (String, Guilty) {
    let msg = msg.trim();
    if let Some(c) = rx!(r"stack-protector: Kernel stack is corrupted in: ([^\s+]+)").captures(msg)
    {
        return (
            "kernel panic: stack is corrupted".into(),
            header(Some(&c[1]), PANIC),
        );
    }
    if msg.starts_with("corrupted stack end detected inside scheduler") {
        // The stack overflowed somewhere in a deep call chain; its innermost frames are
        // wherever the overflow was noticed, its entry (the work item, the system call)
        // is what overflows it every time.
        return (
            "kernel panic: corrupted stack end".into(),
            Guilty::Outermost(PANIC),
        );
    }
    if msg.starts_with("Fatal exception") {
        return ("kernel panic: Fatal exception".into(), Guilty::None);
    }
    if let Some(c) = rx!(r"^(Attempted to kill (?:init|the idle task)!)").captures(msg) {
        return (format!("kernel panic: {}", &c[1]), Guilty::None);
    }
    (
        format!("kernel panic: {}", strip_numbers(msg)),
        Guilty::None,
    )
}

/// Replaces addresses and numbers, which differ between crashes of one bug.
fn strip_numbers(s: &str) -> String {
    let s = rx!(r"\b0x[0-9a-fA-F]+\b|\b[0-9a-f]{8,}\b").replace_all(s, "ADDR");
    rx!(r"\b\d+\b").replace_all(&s, "NUM").trim().to_string()
}

/// The lines of one crash report: from its header to the end-of-trace marker (or at most
/// 250 lines).
struct Report<'a> {
    lines: &'a [&'a str],
}

impl<'a> Report<'a> {
    fn new(all: &'a [&'a str], start: usize) -> Self {
        let max = all.len().min(start + 250);
        let mut end = max;
        for (j, l) in all.iter().enumerate().take(max).skip(start + 1) {
            let t = l.trim();
            if t.starts_with("---[ end trace")
                || t.starts_with("Kernel Offset:")
                || t.starts_with("---[ end Kernel panic")
            {
                end = j;
                break;
            }
        }
        Report {
            lines: &all[start..end],
        }
    }

    fn ip(&self) -> Option<String> {
        self.lines.iter().find_map(|l| parse_ip(l.trim_start()))
    }

    /// Call-trace frames. Unreliable (`? `) frames are dropped when reliable ones exist.
    fn stack(&self, interrupted_only: bool) -> Vec<String> {
        let mut lines = &self.lines[1..];
        if interrupted_only {
            if let Some(p) = lines.iter().position(|l| l.trim() == "</IRQ>") {
                lines = &lines[p + 1..];
            }
        }
        let mut frames = Vec::new();
        let mut ip_seen = false;
        for l in lines {
            if interrupted_only && !ip_seen {
                if let Some(f) = parse_ip(l.trim_start()) {
                    ip_seen = true;
                    frames.push(frames::Frame {
                        func: f,
                        reliable: true,
                    });
                    continue;
                }
            }
            if let Some(f) = parse_frame(l) {
                frames.push(f);
            }
        }
        let any_reliable = frames.iter().any(|f| f.reliable);
        frames
            .into_iter()
            .filter(|f| f.reliable || !any_reliable)
            .map(|f| f.func)
            .collect()
    }

    fn first_specific(&self, extra: &[&str], interrupted: bool) -> Option<String> {
        self.stack(interrupted)
            .into_iter()
            .find(|f| !is_generic(f, extra))
    }

    fn resolve(&self, g: &Guilty) -> Option<String> {
        match g {
            Guilty::None => None,
            Guilty::Ip(extra) => match self.ip() {
                Some(f) if !is_generic(&f, extra) => Some(f),
                _ => self.first_specific(extra, false),
            },
            Guilty::Header(f, extra) if !is_generic(f, extra) => Some(f.clone()),
            Guilty::Header(_, extra) | Guilty::Stack(extra) => self.first_specific(extra, false),
            Guilty::LockAt => self
                .lines
                .iter()
                .filter_map(|l| parse_lock_at(l))
                .find(|f| !is_generic(f, LOCKING))
                .or_else(|| self.first_specific(LOCKING, false)),
            Guilty::Outermost(extra) => self
                .stack(false)
                .into_iter()
                .rfind(|f| !is_generic(f, extra)),
            Guilty::Interrupted => {
                let stack = self.stack(true);
                // `___sys_recvmsg`, `____sys_sendmsg`: helpers shared by several system
                // calls, not the system call.
                let anchor = stack.iter().position(|f| {
                    is_generic(f, STALL_ANCHORS) && !is_generic(f, NONE) && !f.starts_with("___")
                });
                match anchor {
                    // A netlink dispatcher stands for the handler it called.
                    Some(a) if is_generic(&stack[a], DISPATCHERS) => stack[..a]
                        .iter()
                        .rev()
                        .find(|f| !is_generic(f, DISPATCHERS))
                        .or(Some(&stack[a]))
                        .cloned(),
                    Some(a) => Some(stack[a].clone()),
                    None => stack.iter().find(|f| !is_generic(f, NONE)).cloned(),
                }
            }
        }
    }

    fn top_frames(&self, g: &Guilty) -> Vec<String> {
        let extra = match g {
            Guilty::Ip(e) | Guilty::Header(_, e) | Guilty::Stack(e) | Guilty::Outermost(e) => *e,
            Guilty::LockAt => LOCKING,
            Guilty::None | Guilty::Interrupted => NONE,
        };
        let mut out: Vec<String> = Vec::new();
        let ip = match g {
            Guilty::Interrupted => None,
            _ => self.ip(),
        };
        for f in ip
            .into_iter()
            .chain(self.stack(matches!(g, Guilty::Interrupted)))
        {
            if out.len() == MAX_FRAMES {
                break;
            }
            if !is_generic(&f, extra) && out.last() != Some(&f) {
                out.push(f);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
