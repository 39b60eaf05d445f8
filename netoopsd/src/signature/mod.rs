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
//! hangs, lockdep and leak reports (see [`frames::is_generic`]). A generic helper (string
//! formatting, copying, checksums, crypto, bus submission, locking, refcounting, the driver
//! core's teardown, sanitizers) is never guilty: the report is about its caller; a hang in an
//! RCU grace-period wait is titled by the public wait (`synchronize_rcu`, `synchronize_srcu`),
//! as syzkaller titles it. Stalls (RCU stalls, soft
//! lockups) are titled by what the first dispatching frame of the interrupted context called
//! (the driver's ioctl, the protocol's sendmsg, the work function), else the system call;
//! stack overflows by the frame their recursion repeats, else their entry. The rules follow
//! the kernel's report formats (lib/bug.c, kernel/panic.c, mm/kasan, mm/slub.c, lockdep,
//! RCU, the hung task and lockup detectors, x86 traps, powerpc and arm fault handlers) and
//! syzkaller's title rules; logs may come with syslog or `dmesg -T` prefixes, and C++ and
//! Rust symbols are demangled. Numbers, addresses, task
//! names and offsets never enter a title, so two crashes of one bug on different machines,
//! kernels builds or boots share it, and the bucket is derived from the title alone.

pub mod eval;
pub mod frames;
mod rx;
pub mod select;

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, MatchKind};
use regex::{Captures, Regex};

use rx::{rx, Rx};

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
    let newlines: Vec<usize> = memchr::memchr_iter(b'\n', log.as_bytes()).collect();
    let split: Vec<Line<'_>> = lines_of(log, &newlines).map(split_prefix).collect();
    let lines: Vec<&str> = split.iter().map(|l| l.text).collect();
    let callers: Vec<Option<&str>> = split.iter().map(|l| l.caller).collect();
    let times: Vec<Option<f64>> = split.iter().map(|l| l.time).collect();
    let marks = marks(log, &newlines, lines.len());
    let Some(select::Choice {
        line: i,
        prefix,
        guilty,
        end,
    }) = select::choose(&lines, &callers, &times, &marks)
    else {
        return unexpected_reboot(&lines, &times);
    };
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
/// overflow (`kernel panic: corrupted stack end`, `BUG: stack guard page was hit`, arm64's
/// `kernel panic: kernel stack overflow`), an
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
    } else if kind == "kernel panic: corrupted stack end"
        || kind == "BUG: stack guard page was hit"
        || kind == "kernel panic: kernel stack overflow"
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

/// `Regex::captures` behind a match test: every log line meets dozens of patterns and almost
/// none matches, and a test is far cheaper than a search that allocates capture slots (it was
/// most of the collector's storing time under load). Same result as `captures`.
pub(crate) trait CapturesIfMatch {
    /// `captures(h)` if the pattern matches `h` at all.
    fn caps<'h>(&self, h: &'h str) -> Option<regex::Captures<'h>>;
}

impl CapturesIfMatch for Regex {
    fn caps<'h>(&self, h: &'h str) -> Option<regex::Captures<'h>> {
        if self.is_match(h) {
            self.captures(h)
        } else {
            None
        }
    }
}

/// Folds the variants of a kernel function family that one bug reaches depending on kernel
/// version and call site into the family's name, for titles: `smp_call_function_single`,
/// `smp_call_function_many`(`_cond`) are `smp_call_function`; `synchronize_sched` and
/// `synchronize_rcu_bh` (aliases of `synchronize_rcu` since 4.20) and the `_expedited`
/// variants are `synchronize_rcu`;
/// `__synchronize_srcu` (the internal wait) and `synchronize_srcu_expedited` are
/// `synchronize_srcu`. Hangs in an RCU wait are titled by the public wait, as syzkaller does.
fn family(func: &str) -> String {
    let f =
        rx!(r"^smp_call_function_(?:single|many)(?:_cond)?$").replace(func, "smp_call_function");
    let f =
        rx!(r"^synchronize_(?:sched|rcu)(?:_bh)?(?:_expedited)?$").replace(&f, "synchronize_rcu");
    rx!(r"^_*synchronize_srcu(?:_expedited)?$")
        .replace(&f, "synchronize_srcu")
        .into_owned()
}

/// A log without a crash report in which the kernel starts again after it had run (its boot
/// banner, or the firmware's, after kernel lines): the machine rebooted without saying why.
fn unexpected_reboot(lines: &[&str], times: &[Option<f64>]) -> Option<Signature> {
    let first = times.iter().position(Option::is_some)?;
    let boot = rx!(
        r"^(?:Linux version \d|Booting the kernel|Booting Linux on physical CPU|SeaBIOS \(version)"
    );
    let i = (first + 1..lines.len()).find(|&i| boot.is_match(lines[i].trim()))?;
    let title = "unexpected kernel reboot".to_string();
    Some(Signature {
        bucket: bucket_id(&title),
        title,
        frames: Vec::new(),
        line: i,
    })
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
    let line = line.trim_end_matches('\r');
    if let Some(l) = split_common(line) {
        return l;
    }
    split_regex(line)
}

/// [`split_prefix`] of the common shape, `[   12.345678]` with an optional `[  T123]` after
/// it, in ASCII, without the patterns: `None` for any other line (then the patterns decide,
/// so the result is always theirs). One pass over the prefix's bytes: every line of every
/// log comes here.
fn split_common(line: &str) -> Option<Line<'_>> {
    let b = line.as_bytes();
    // `[` then a space or digit: no `dmesg -T`, Go or syslog time, no `kernel: ` or `<N>`.
    if b.first() != Some(&b'[') || !b.get(1).is_some_and(|c| *c == b' ' || c.is_ascii_digit()) {
        return None;
    }
    let spaces = |mut i: usize| {
        while b.get(i) == Some(&b' ') {
            i += 1;
        }
        i
    };
    // `[`, spaces, `\d+\.\d+`, `]`.
    let ts = spaces(1);
    let (time, te) = stamp(b, ts)?;
    if b.get(te) != Some(&b']') {
        return None;
    }
    let mut end = te + 1;
    // `[`, spaces, `[TC]\d+`, `]`.
    let mut caller = None;
    if b.get(end) == Some(&b'[') {
        let cs = spaces(end + 1);
        if !b.get(cs).is_some_and(|c| *c == b'T' || *c == b'C') {
            return None;
        }
        let ce = cs
            + 1
            + b[cs + 1..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .count();
        if ce == cs + 1 || b.get(ce) != Some(&b']') {
            return None;
        }
        caller = Some(&line[cs..ce]);
        end = ce + 1;
    }
    // `\s?`: one whitespace character (ASCII ones without decoding).
    match b.get(end) {
        Some(b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r') => end += 1,
        Some(c) if !c.is_ascii() => {
            if let Some(c) = line[end..].chars().next().filter(|c| c.is_whitespace()) {
                end += c.len_utf8();
            }
        }
        _ => {}
    }
    Some(Line {
        text: &line[end..],
        caller,
        time: Some(time),
    })
}

/// The timestamp `\d+\.\d+` that starts at `b[at]`, in seconds, and where it ends; `None`
/// if none starts there. The value is exactly what `str::parse` gives: with at most 15 digits
/// in all, the digits as one integer and the power of ten are both exact `f64`s, so one
/// division rounds correctly (Clinger's fast path), as `parse` does; longer stamps go to
/// `parse`. The digits are read once, converted as they are found.
fn stamp(b: &[u8], at: usize) -> Option<(f64, usize)> {
    const POW10: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    let mut value = 0u64;
    let mut digits = |mut i: usize| {
        while let Some(d) = b.get(i).map(|c| c.wrapping_sub(b'0')).filter(|d| *d < 10) {
            // (Wraps only past 19 digits, where `parse` decides instead.)
            value = value.wrapping_mul(10).wrapping_add(u64::from(d));
            i += 1;
        }
        i
    };
    let dot = digits(at);
    if dot == at || b.get(dot) != Some(&b'.') {
        return None;
    }
    let end = digits(dot + 1);
    if end == dot + 1 {
        return None;
    }
    let time = match POW10.get(end - dot - 1) {
        Some(p) if end - at <= 16 => value as f64 / p,
        _ => std::str::from_utf8(&b[at..end]).ok()?.parse().ok()?,
    };
    Some((time, end))
}

/// [`split_prefix`] by the patterns: every form of line.
fn split_regex(line: &str) -> Line<'_> {
    let re = rx!(r"^(?:<\d+>)?(?:\[\s*(\d+\.\d+)\])?(?:\[\s*([TC]\d+)\])?\s?");
    let mut line = line;
    // `dmesg -T`'s human-readable time instead of the timestamp.
    if let Some(m) =
        rx!(r"^\[[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]?\d \d\d:\d\d:\d\d \d{4}\] ").find(line)
    {
        line = &line[m.end()..];
    }
    // Go's log time (`2022/10/02 11:34:15 `) before user space's own lines (syzkaller's).
    if let Some(m) = rx!(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d(?:\.\d+)? ").find(line) {
        line = &line[m.end()..];
    }
    // syslog's `Nov 30 15:04:05 host kernel: ` (or an ISO 8601 time) before the kernel's
    // text, which may or may not carry its own `[timestamp]`.
    if let Some(m) = rx!(
        r"^(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?) \S+ kernel: "
    )
    .find(line)
    {
        line = &line[m.end()..];
    } else if let Some(rest) = line.strip_prefix("kernel: ") {
        // A syslog line cut after its host (ABRT's and journald's `-o cat`-like extracts).
        line = rest;
    }
    if !line.starts_with('[') && !line.starts_with('<') {
        if let Some(m) = rx!(r"\[\s*\d+\.\d{6}\]").find(line) {
            line = &line[m.start()..];
        }
    }
    match re.caps(line) {
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
    /// For stack overflows: the frame a recursion repeats, else the outermost frame (the
    /// entry: system call, work item), never the arbitrary innermost one.
    Overflow,
    /// A function found in the report's text (e.g. SLUB's `Freed in FUNC`), else none.
    Named(Option<String>),
}

/// The hardened usercopy checks.
const USERCOPY: &[&str] = &[
    "usercopy_*",
    "report_usercopy",
    "check_object_size",
    "check_heap_object",
    "check_stack_object",
    "check_bogus_address",
    "check_kernel_text_object",
    "check_page_span",
    "*_check_heap_object",
];
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
    // waiting for a mapping's writeback (`filemap_fdatawait_range`, and `sync`'s per-device
    // callback that does nothing else) is a wait; its caller hangs
    "*fdatawait*",
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
/// For stalls (RCU stalls, soft lockups): frames that dispatch work to the function that
/// loops (system calls that multiplex many drivers or protocols, the VFS's read/write/ioctl,
/// socket calls, task work, timers, work queues, kthreads, softirqs). Where a stall loops
/// within a call chain is chance; what was called through the first of these is not, so it
/// titles the stall (as syzkaller's stall rule does).
const STALL_DISPATCH: &[&str] = &[
    "sys_ioctl",
    "sys_compat_ioctl",
    "compat_sys_ioctl",
    "ksys_ioctl",
    "vfs_ioctl",
    "do_vfs_ioctl",
    "sys_read",
    "sys_write",
    "sys_readv",
    "sys_writev",
    "sys_pread64",
    "sys_pwrite64",
    "sys_preadv*",
    "sys_pwritev*",
    "sys_sendfile*",
    "sys_splice",
    "do_splice*",
    "vfs_read",
    "vfs_write",
    "vfs_readv",
    "vfs_writev",
    "new_sync_read",
    "new_sync_write",
    "do_iter_read*",
    "do_iter_write*",
    "do_iter_readv_writev",
    "vfs_iter_read",
    "vfs_iter_write",
    "do_loop_readv_writev",
    "call_read_iter",
    "call_write_iter",
    "do_readv",
    "do_writev",
    "sock_sendmsg*",
    "sock_recvmsg*",
    "sock_write_iter",
    "sock_read_iter",
    "sock_ioctl",
    // (the socket system calls themselves, and their shared helpers `___sys_sendmsg` ...,
    // are no dispatchers: `sock_sendmsg` is)
    "do_sock_setsockopt",
    "do_sock_getsockopt",
    "task_work_run",
    "call_timer_fn",
    "expire_timers",
    "run_timer_softirq",
    "run_timer_base",
    "__run_timers",
    "process_one_work",
    "process_scheduled_works",
    "worker_thread",
    "kthread",
    "ret_from_fork*",
    "rcu_do_batch",
    "nfnetlink_rcv_msg",
    // rtnetlink's message dispatcher, calling the message type's handler (generic
    // netlink's is no dispatcher here: syzkaller titles those stalls by `netlink_sendmsg`)
    "rtnetlink_rcv_msg",
    // debugfs's file operations proxies, and lkdtm's (the kernel's crash test module)
    // dispatch to the crash type's function
    "full_proxy_*",
    "direct_entry",
    "lkdtm_do_action",
    "nfnetlink_rcv_batch",
    "*_compat_ioctl",
    "rcu_core",
    "tasklet_action*",
    "net_rx_action",
    "napi_poll",
    "__napi_poll",
    // the receive path hands a packet to its protocol's or device's handler (`ipv6_rcv`,
    // `br_handle_frame`), whichever driver or backlog delivered it
    "__netif_receive_skb_core",
    "__netif_receive_skb_one_core",
    "__netif_receive_skb_list_core",
    "deliver_skb",
];

/// The function a stall is titled by (`stack` innermost first): the frame that the first
/// dispatching frame called ([`STALL_DISPATCH`]); a system call that dispatches nothing, or
/// an IPI (`smp_call_function*`, which stalls waiting for other CPUs), itself; else the first
/// non-generic frame, else the system call.
fn stall_frame(stack: &[String]) -> Option<String> {
    let dispatch = |f: &str| {
        let name = f.trim_start_matches('_');
        STALL_DISPATCH
            .iter()
            .any(|p| is_generic(name, std::slice::from_ref(p)) && !is_generic(name, NONE))
            || [
                "ret_from_fork",
                "kthread",
                "process_one_work",
                "worker_thread",
            ]
            .iter()
            .any(|p| name.starts_with(p))
    };
    let mut prev: Option<&String> = None;
    for f in stack {
        if f.starts_with("smp_call_function") {
            return Some(f.clone());
        }
        if dispatch(f) {
            if let Some(p) = prev {
                return Some(p.clone());
            }
            continue;
        }
        if f.starts_with("sys_") {
            return Some(f.clone());
        }
        if !is_generic(f, NONE) {
            prev = Some(f);
        }
    }
    stack
        .iter()
        .find(|f| !is_generic(f, NONE))
        .or_else(|| stack.iter().find(|f| f.starts_with("sys_")))
        .cloned()
}

/// Whether line `i` starts a crash report, and if so its title prefix and where its guilty
/// function is.
fn classify(lines: &[&str], i: usize) -> Option<(String, Guilty)> {
    if !may_head(lines[i]) {
        return None;
    }
    let raw = lines[i].trim();
    // Old lockdep headers are bracketed: "[ INFO: possible circular locking dependency ... ]".
    let l = raw
        .strip_prefix("[ ")
        .and_then(|s| s.strip_suffix(" ]"))
        .unwrap_or(raw);
    let c = |re: &Rx| re.caps(l);
    let after = |n: usize| {
        lines[i + 1..lines.len().min(i + 1 + n)]
            .iter()
            .map(|s| s.trim())
    };

    if let Some(r) = classify_more(lines, i, l) {
        return Some(r);
    }
    if let Some(m) = c(rx!(
        r"^(?:BUG: )?KASAN: ([\w-]+(?: or [\w-]+)?) (?:in|on) (?:(address)\s+\S+|([A-Za-z_][\w.]*))?"
    )) {
        let kind = match &m[1] {
            "double-free or invalid-free" | "double-free" => "invalid-free",
            k => k,
        };
        let access = after(6).find_map(|s| {
            rx!(r"^(Read|Write) (?:of size|at addr)")
                .caps(s)
                .map(|a| a[1].to_string())
        });
        let prefix = match access {
            Some(a) => format!("KASAN: {kind} {a}"),
            None => format!("KASAN: {kind}"),
        };
        // Old kernels' `on address ADDR` form names no function (nor does syzkaller).
        if m.get(2).is_some() {
            return Some((prefix, Guilty::None));
        }
        return Some((prefix, header(m.get(3).map(|f| f.as_str()), NONE)));
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
    // powerpc's spellings (arch/powerpc/mm/fault.c).
    if let Some(m) = c(rx!(
        r"^BUG: (?:Kernel NULL pointer dereference|Unable to handle kernel (?:data access|instruction fetch))(?: on (?:read|write|execute))? at"
    )) {
        let what = if m[0].contains("NULL") {
            "NULL pointer dereference"
        } else {
            "paging request"
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
    if c(rx!(r"^kernel BUG at lib/list_debug\.c")).is_some() {
        return Some(("BUG: corrupted list".into(), Guilty::Stack(NONE)));
    }
    // `usercopy_abort()` (after its `usercopy: Kernel memory exposure/overwrite attempt
    // detected ...` line) BUG()s in mm/usercopy.c: the copy's caller is the suspect.
    if c(rx!(r"^kernel BUG at mm/usercopy\.c")).is_some() {
        return Some(("BUG: bad usercopy".into(), Guilty::Stack(USERCOPY)));
    }
    // lib/bug.c without file information: `Kernel BUG at <addr> [verbose debug info
    // unavailable]`.
    if c(rx!(r"^(?:kernel BUG at \S+|Kernel BUG at \S+)")).is_some() {
        return Some(("kernel BUG".into(), Guilty::Ip(NONE)));
    }
    if c(rx!(r"^(?:Oops: )?divide[ _]error: ")).is_some() {
        return Some(("divide error".into(), Guilty::Ip(NONE)));
    }
    if let Some(m) = c(rx!(
        r"^(BUG: (?:\w+ )?stack guard page was hit|PANIC: double fault)"
    )) {
        let t = rx!(r"^BUG: \w+ stack").replace(&m[1], "BUG: stack");
        // A double fault from a stack overflow says so on the next lines.
        let overflow = t.starts_with("BUG: stack")
            || after(12).any(|s| s.contains("stack overflow") || s.contains("overran stack"));
        let g = if overflow {
            Guilty::Overflow
        } else {
            Guilty::Ip(NONE)
        };
        return Some((t.into_owned(), g));
    }
    if c(rx!(r"^(?:(?:NMI )?watchdog: )?BUG: soft lockup")).is_some() {
        return Some(("BUG: soft lockup".into(), Guilty::Interrupted));
    }
    if c(rx!(r"(?:^|: )Watchdog detected hard LOCKUP")).is_some() {
        return Some(("BUG: hard lockup".into(), Guilty::Ip(NONE)));
    }
    if c(rx!(
        r"^(?:rcu: )?INFO: rcu_(?:sched|preempt|bh)(?:_state)? (?:self-)?detected (?:expedited )?stalls?"
    ))
    .is_some()
    {
        return Some(("INFO: rcu detected stall".into(), Guilty::Interrupted));
    }
    // A task name may hold a newline (`prctl(PR_SET_NAME)`), which splits the header.
    let joined = match lines.get(i + 1) {
        Some(next) if l.starts_with("INFO: task ") => format!("{l}{}", next.trim_end()),
        _ => l.to_string(),
    };
    let hung_re = rx!(r"^INFO: task .* blocked (?:in I/O wait )?for more than \d+ seconds");
    if hung_re.is_match(l) || (hung_re.is_match(&joined) && !hung_re.is_match(lines[i + 1])) {
        return Some(("INFO: task hung".into(), Guilty::Stack(HUNG)));
    }
    if rx!(r"^INFO: task .* can't die for more than").is_match(&joined) {
        return Some(("INFO: task can't die".into(), Guilty::Stack(HUNG)));
    }
    if c(rx!(
        r"^(?:WARNING|INFO): (?:HARD|SOFT)IRQ-(?:READ-)?safe -> (?:HARD|SOFT)IRQ-unsafe lock order"
    ))
    .is_some()
    {
        // The held lock is taken in interrupts: the report's `... which became
        // HARDIRQ-irq-safe at:` trace is that interrupt-context user, the half of the
        // inversion that makes it a bug (syzkaller titles these by it); older reports
        // without that trace, by the acquire site.
        let safe = lines
            .iter()
            .enumerate()
            .skip(i + 1)
            .take(200)
            .find(|(_, s)| rx!(r"which became \S+-irq-safe at:").is_match(s))
            .map(|(j, _)| j);
        let f = safe.and_then(|j| {
            lines[j + 1..]
                .iter()
                .take(40)
                .map_while(|s| parse_frame(s))
                .map(|f| f.func)
                .find(|f| !is_generic(f, LOCKING))
        });
        if f.is_some() {
            return Some(("possible deadlock".into(), Guilty::Named(f)));
        }
        return Some(("possible deadlock".into(), Guilty::LockAt));
    }
    if c(rx!(r"^(?:WARNING|INFO): (?:possible (?:circular|recursive) locking|possible irq lock inversion)")).is_some() {
        return Some(("possible deadlock".into(), Guilty::LockAt));
    }
    if c(rx!(r"^BUG: Invalid wait context")).is_some() {
        // Lockdep's wait-type check, a WARNING of the locking code in syzkaller's words.
        return Some(("WARNING: locking bug".into(), Guilty::Stack(LOCKING)));
    }
    if c(rx!(r"^(?:WARNING|INFO): inconsistent lock state")).is_some() {
        return Some(("inconsistent lock state".into(), Guilty::LockAt));
    }
    if let Some(m) = c(rx!(
        r"^(WARNING|INFO): suspicious (?:RCU|rcu_dereference_check\(\)|rcu_dereference_protected\(\)) usage"
    )) {
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
                .caps(s)
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
                    .caps(s)
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
        r"^(?:CPU \d+ )?Unable to handle kernel (paging request|NULL pointer dereference|pointer dereference in virtual kernel address space)"
    )) {
        // s390's wording of a bad kernel address is a paging request's.
        let what = if m[1].starts_with("pointer") {
            "paging request"
        } else {
            &m[1]
        };
        return Some((
            format!("BUG: unable to handle kernel {what}"),
            Guilty::Ip(NONE),
        ));
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
    if c(rx!(r"^Oops: [0-9a-f]{4} (?:ilc:\d )?\[#\d+\]")).is_some() {
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

/// Report kinds of other subsystems and of user space: the x86 die header of other traps
/// (`stack segment: 0000 [#1]`), SLUB's object checks (`BUG cache (Not tainted): Poison
/// overwritten`), the page allocator's `warn_alloc()`, machine checks, the VFS's busy inodes,
/// syzkaller's own `SYZFAIL:`/`SYZFATAL:` and Go runtime crashes (`panic: `/`fatal error: `
/// followed by a goroutine trace).
/// Whether a line may be a report header at all: every header [`classify`] and
/// [`classify_more`] recognise contains one of these words (each branch's pattern requires at
/// least one of them in the line), so a line without any is no header. One pass of a
/// multi-literal search instead of dozens of patterns on each of a log's many ordinary lines.
fn may_head(line: &str) -> bool {
    rx!(MAY_HEAD).is_match(line)
}

/// What every crash report's header line holds: literals only, none of them spanning lines.
const MAY_HEAD: &str = r"BUG|KASAN: |general protection fault|divide|double fault|Watchdog detected hard LOCKUP|INFO: |WARNING|stack segment: |\[#|page allocation failure|nobody cared|Hardware Error|VFS: Busy inodes|SYZF|panic: |fatal error: |unreferenced object|usercopy: |UBSAN: |Kernel panic|rust_kernel: panicked|Unable to handle kernel|Internal error|Unhandled fault|unregister_netdevice: waiting|Oops: ";

/// The one literal of [`MAY_HEAD`] shorter than three bytes, which [`marks`] looks for on its
/// own: without it the others are searched by three-byte fingerprints, which ordinary log
/// text matches far less often than two-byte ones (fewer false candidates to check).
const MAY_HEAD_SHORT: &str = "[#";

/// The literals of the other marks (ends of reports, sanitizers' rules, netoops's dump line),
/// which [`marks`] looks for in the same scan as the header literals ([`mark_literals`]).
const MARK_LITERALS: [(&str, u8); 4] = [
    ("---[ end ", select::END),
    ("Kernel Offset:", select::END),
    ("====================", select::RULE),
    ("netoops: dump ", select::DUMP),
];

/// The literals [`marks`] finds in one scan, each with the mark it gives: those of
/// [`MAY_HEAD`] but [`MAY_HEAD_SHORT`] ([`select::HEAD`]), then [`MARK_LITERALS`]. No literal
/// of one mark can overlap one of another (none holds another, none ends as another begins;
/// a test checks it), so the matches of the scan, which do not overlap, give every line each
/// mark it holds a literal of.
fn mark_literals() -> &'static (AhoCorasick, Vec<u8>) {
    static CELL: OnceLock<(AhoCorasick, Vec<u8>)> = OnceLock::new();
    CELL.get_or_init(|| {
        let heads = MAY_HEAD
            .split('|')
            .filter(|l| l.replace('\\', "") != MAY_HEAD_SHORT)
            .inspect(|l| assert_eq!(*l, regex::escape(l), "MAY_HEAD holds literals only"));
        let (literals, kinds): (Vec<&str>, Vec<u8>) = heads
            .map(|l| (l, select::HEAD))
            .chain(MARK_LITERALS)
            .unzip();
        assert_eq!(
            literals.len() + 1,
            MAY_HEAD.split('|').count() + MARK_LITERALS.len()
        );
        let searcher = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostFirst)
            .build(&literals)
            .expect("literals build a searcher");
        (searcher, kinds)
    })
}

/// The lines of `log` as `str::lines` gives them (a `\r` before each `\n` removed, no empty
/// line after a last `\n`), split at `newlines` (the positions of its `\n`s, found once for
/// this and [`marks`]).
fn lines_of<'a>(log: &'a str, newlines: &'a [usize]) -> impl Iterator<Item = &'a str> + 'a {
    let mut start = 0;
    newlines
        .iter()
        .map(move |&e| {
            let l = &log[start..e];
            start = e + 1;
            l.strip_suffix('\r').unwrap_or(l)
        })
        .chain(Some(&log[newlines.last().map_or(0, |&e| e + 1)..]).filter(|l| !l.is_empty()))
}

/// The [`select::Marks`] of `log` (`newlines` the positions of its `\n`s; of `n` lines, as
/// `str::lines` splits it): which lines may be a report's header, an end marker, a
/// sanitizer's closing rule or netoops's dump line, found by scanning the whole text (SIMD
/// literal searches: [`mark_literals`], then `[#`) rather than testing
/// every line. Each mark is a superset: a line holds what the exact per-line test needs
/// whenever that test passes on its text (the line without its console prefix), and none of
/// the searched texts spans a line; the exact test still decides.
fn marks(log: &str, newlines: &[usize], n: usize) -> select::Marks {
    use memchr::memmem;
    let b = log.as_bytes();
    let mut marks = vec![0u8; n];
    // The line holding byte `at`: the number of line ends before it.
    let mut mark = |at: usize, kind: u8| {
        let line = newlines.partition_point(|&e| e < at);
        if let Some(m) = marks.get_mut(line) {
            *m |= kind;
        }
    };
    let (searcher, kinds) = mark_literals();
    for m in searcher.find_iter(log) {
        mark(m.start(), kinds[m.pattern().as_usize()]);
    }
    for at in memmem::find_iter(b, MAY_HEAD_SHORT.as_bytes()) {
        mark(at, select::HEAD);
    }
    select::Marks(marks)
}

fn classify_more(lines: &[&str], i: usize, l: &str) -> Option<(String, Guilty)> {
    let after = |n: usize| {
        lines[i + 1..lines.len().min(i + 1 + n)]
            .iter()
            .map(|s| s.trim())
    };
    if rx!(r"^(?:Oops: )?stack segment: [0-9a-f]{4} \[#\d+\]").is_match(l) {
        return Some(("stack segment fault".into(), Guilty::Ip(NONE)));
    }
    // The die header of the other x86 traps (arch/x86/kernel/traps.c, dumpstack.c
    // __die_header(): `"%s: %04lx [#%d]"`) when no BUG line came before it (a `ud2` that is
    // no BUG(), an alignment check, ...).
    if let Some(m) = rx!(
        r"^(?:Oops: )?(invalid opcode|int3|bounds|coprocessor segment overrun|invalid TSS|segment not present|alignment check|machine check|SIMD coprocessor error|control protection fault|missing ENDBR|double fault): [0-9a-f]{4} \[#\d+\]"
    )
    .caps(l)
    {
        let before = &lines[i.saturating_sub(select::WINDOW)..i];
        let covered = before.iter().any(|b| classify_header_only(b));
        if !covered {
            return Some((m[1].to_string(), Guilty::Ip(NONE)));
        }
    }
    if let Some(m) = rx!(r"^BUG (\S+) \((?:Not tainted|Tainted: [^)]*)\): (.+?)\s*$").caps(l) {
        let msg = m[2].replace(&format!(" in {}", &m[1]), "");
        let msg = strip_numbers(&msg);
        // The allocator found the damage; the object's last free names the suspect.
        let freed = after(12).find_map(|s| {
            rx!(r"^INFO: Freed in ([A-Za-z_][\w.]*)")
                .caps(s)
                .map(|c| normalize_func(&c[1]))
        });
        let g = if msg.starts_with("Objects remaining") {
            Guilty::Stack(SLAB_SHUTDOWN)
        } else {
            Guilty::Named(freed)
        };
        return Some((format!("BUG: slab: {msg}"), g));
    }
    if rx!(r"^\S.*: page allocation failure[:.] order:\d+, mode:").is_match(l) {
        return Some(("page allocation failure".into(), Guilty::Stack(PAGE_ALLOC)));
    }
    // kernel/irq/spurious.c __report_bad_irq(): an interrupt no handler claimed; the
    // handlers it lists are the suspects.
    if rx!(r"^irq \d+: nobody cared").is_match(l) {
        let handler = lines[i + 1..lines.len().min(i + 60)]
            .iter()
            .skip_while(|s| s.trim() != "handlers:")
            .skip(1)
            .find_map(|s| {
                rx!(r"^\s*\[<?[0-9a-f]+>?\]\s*\(?([A-Za-z_][\w.]*)")
                    .caps(s)
                    .map(|c| normalize_func(&c[1]))
            });
        return Some(("irq: nobody cared".into(), Guilty::Named(handler)));
    }
    if rx!(r"^BUG: Bad rss-counter state").is_match(l) {
        return Some(("BUG: Bad rss-counter state".into(), Guilty::None));
    }
    if rx!(r"^(?:mce: )?\[Hardware Error\]: .*Machine [Cc]heck").is_match(l) {
        return Some(("MCE: hardware error".into(), Guilty::None));
    }
    if rx!(r"^BUG: Dentry .* still in use \(\d+\) \[unmount of").is_match(l) {
        // fs/dcache.c umount_check(), before its WARN_ON(): the file system unmounted.
        return Some(("BUG: Dentry still in use".into(), Guilty::None));
    }
    if rx!(r"^VFS: Busy inodes after unmount").is_match(l) {
        // fs/super.c generic_shutdown_super(): inodes still in use, freed with the super
        // block (use-after-free), as syzkaller titles it.
        let t = "VFS: Busy inodes after unmount (use-after-free)";
        return Some((t.into(), Guilty::None));
    }
    if let Some(m) = rx!(r"^(SYZFAIL|SYZFATAL): (.*)$").caps(l) {
        let msg = rx!(r"\d+").replace_all(m[2].trim(), "NUM");
        return Some((format!("{}: {msg}", &m[1]), Guilty::None));
    }
    if let Some(m) = rx!(r"^(panic|fatal error): (.+)$").caps(l) {
        let mut rest = after(12);
        if rest.any(|s| rx!(r"^goroutine \d+ \[").is_match(s)) {
            let msg = strip_numbers(&m[2]);
            let func = lines[i + 1..lines.len().min(i + 200)]
                .iter()
                .filter_map(|s| {
                    rx!(r"^\s*((?:[\w.\-]+/)*[\w\-]+\.[\w.*()\[\]]+)\(.*\)$")
                        .caps(s)
                        .map(|c| c[1].to_string())
                })
                .find(|f| !f.starts_with("runtime.") && !f.starts_with("panic("));
            return Some((format!("{}: {msg}", &m[1]), Guilty::Named(func)));
        }
    }
    None
}

/// `Preemption disabled at:` (kernel/sched/core.c `__might_resched()`), followed by one
/// symbol line that is no frame of the call trace.
fn is_preempt_site(line: &str) -> bool {
    line.trim() == "Preemption disabled at:"
}

/// Whether a line is a report header that an x86 die header following it belongs to.
fn classify_header_only(line: &str) -> bool {
    let t = line.trim();
    t.starts_with("kernel BUG at")
        || t.starts_with("BUG: ")
        || t.starts_with("------------[ cut here ]")
        || t.starts_with("WARNING: ")
        || t.starts_with("Unable to handle")
}

/// `kmem_cache_destroy()` and its helpers: the caller destroys a cache with live objects.
const SLAB_SHUTDOWN: &[&str] = &[
    "*kmem_cache_shutdown*",
    "kmem_cache_destroy",
    "shutdown_cache",
    "list_slab_objects",
    "slab_err",
];

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
        .caps(rest)
        .map(|c| c[1].to_string());
    let func = rx!(r"([A-Za-z_][\w.]*)(?:\+0x[0-9a-f]+/0x[0-9a-f]+|\(\))")
        .caps(rest)
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
    if file.ends_with("lib/list_debug.c") {
        return Some(("BUG: corrupted list".into(), Guilty::Stack(NONE)));
    }
    let sub =
        if said("refcount_t:") || file.ends_with("lib/refcount.c") || f.starts_with("refcount_") {
            Some("refcount bug")
        } else if said("ODEBUG:") || file.ends_with("lib/debugobjects.c") {
            Some("ODEBUG bug")
        } else if said("DEBUG_LOCKS_WARN_ON")
            // (irqflag-debug.c checks its caller's use of the irq flags, not the locks)
            || (file.contains("kernel/locking/") && !file.ends_with("irqflag-debug.c"))
        {
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
    if let Some(c) = rx!(r"stack-protector: Kernel stack is corrupted in: ([^\s+]+)").caps(msg) {
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
    if msg.starts_with("kernel stack overflow") {
        // arm64 handle_bad_stack(), riscv handle_bad_stack(): like a guard page hit.
        return (
            "kernel panic: kernel stack overflow".into(),
            Guilty::Overflow,
        );
    }
    if msg.starts_with("Fatal exception") {
        return ("kernel panic: Fatal exception".into(), Guilty::None);
    }
    if let Some(c) = rx!(r"^(Attempted to kill (?:init|the idle task)!)").caps(msg) {
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
        self.lines
            .iter()
            .find_map(|l| parse_ip(l.trim_start()))
            .or_else(|| {
                // A jump to a bad address (`PC is at 0xdeadbeef`): the caller in the link
                // register.
                let pc_unknown = self.lines.iter().any(|l| {
                    rx!(r"^\s*(?:PC is at|pc\s*:|NIP\s*[:\[])\s*\[?<?0x?[0-9a-fA-F]+>?\]?\s*$")
                        .is_match(l)
                });
                if pc_unknown {
                    self.lines
                        .iter()
                        .find_map(|l| frames::parse_lr(l.trim_start()))
                } else {
                    None
                }
            })
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
        let mut site = false;
        for l in lines {
            // `Preemption disabled at:` and its one `print_ip_sym()` line: where, not a
            // frame of the call trace.
            if std::mem::replace(&mut site, is_preempt_site(l)) {
                continue;
            }
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

    /// For stalls: the stalled context's frames, innermost first. When the frames before the
    /// first timer-interrupt entry (`apic_timer_interrupt`, `asm_sysvec_apic_timer_interrupt`,
    /// arm64's `el1h_64_irq`) or `</IRQ>` are the stall detector's own (RCU's CPU stack
    /// dump, the tick), the stalled context follows that entry; else (a soft lockup in a
    /// softirq, a task dump) those frames are the stalled work's. The instruction pointer
    /// printed first in that context is its innermost frame.
    fn stall_stack(&self) -> Vec<String> {
        let entry = |f: &str| {
            let n = f.trim_start_matches('_');
            // (4.x kernels with the KAISER patches also print a label inside the entry,
            // `apic_timer_interrupt_entry_after_kaiser_bti`)
            n.contains("apic_timer_interrupt")
                || [
                    "el1_irq",
                    "el1h_64_irq",
                    "el1_interrupt",
                    "irq_svc",
                    "__irq_svc",
                ]
                .contains(&n)
        };
        // The stall detectors' own frames.
        let detector = |f: &str| {
            [
                "rcu_dump_cpu_stacks",
                "rcu_sched_clock_irq",
                "rcu_check_callbacks",
                "check_cpu_stall",
                "print_cpu_stall",
                "print_other_cpu_stall",
                "rcu_pending",
                "nmi_cpu_backtrace",
                "watchdog_timer_fn",
                "update_process_times",
                "tick_sched_handle",
                "tick_sched_timer",
                "dump_stack",
            ]
            .iter()
            .any(|d| f.contains(d))
        };
        let mut bounded = false;
        let mut out: Vec<frames::Frame> = Vec::new();
        let mut ip_taken = false;
        let mut first_ip = None;
        for l in &self.lines[1..] {
            let t = l.trim();
            // A panic that follows (softlockup_panic) prints its own, interrupt, stack. One
            // before any frame (panic_on_warn for a warning the stall dump ran into) is part
            // of the detector's own stack, which the stalled context follows.
            if t.starts_with("Kernel panic - not syncing") && !out.is_empty() {
                break;
            }
            let boundary = t == "</IRQ>" || parse_frame(l).is_some_and(|f| entry(&f.func));
            if boundary {
                if !bounded && out.iter().any(|f| detector(&f.func)) {
                    out.clear();
                    ip_taken = false;
                }
                bounded = true;
                continue;
            }
            if let Some(f) = parse_ip(l.trim_start()) {
                first_ip.get_or_insert(f.clone());
                if !ip_taken {
                    ip_taken = true;
                    out.push(frames::Frame {
                        func: f,
                        reliable: true,
                    });
                }
                continue;
            }
            if let Some(f) = parse_frame(l) {
                out.push(f);
            }
        }
        let any_reliable = out.iter().any(|f| f.reliable);
        let mut v: Vec<String> = out
            .into_iter()
            .filter(|f| f.reliable || !any_reliable)
            .map(|f| f.func)
            .collect();
        // A CPU stuck waiting for an IPI's answer is stuck in the IPI, wherever called from.
        if let Some(ip) = first_ip.filter(|f| f.starts_with("smp_call_function")) {
            v.insert(0, ip);
        }
        v
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
                // A jump to a bad address from a work item with nothing else on its stack:
                // the work queue, rather than no function at all.
                _ => self.first_specific(extra, false).or_else(|| {
                    self.stack(false)
                        .into_iter()
                        .find(|f| f == "process_one_work")
                }),
            },
            Guilty::Header(f, extra) if !is_generic(f, extra) => Some(f.clone()),
            Guilty::Header(_, extra) | Guilty::Stack(extra) => self.first_specific(extra, false),
            Guilty::LockAt => self
                .lines
                .iter()
                .enumerate()
                .filter_map(|(j, l)| {
                    parse_lock_at(l).or_else(|| {
                        // Older lockdep prints the site on the line after `... at:`
                        // (`print_ip_sym()`).
                        if l.trim_end().ends_with(" at:") && !is_preempt_site(l) {
                            self.lines
                                .get(j + 1)
                                .and_then(|n| parse_frame(n))
                                .map(|f| f.func)
                        } else {
                            None
                        }
                    })
                })
                .find(|f| !is_generic(f, LOCKING))
                .or_else(|| self.first_specific(LOCKING, false)),
            Guilty::Outermost(extra) => self
                .stack(false)
                .into_iter()
                .rfind(|f| !is_generic(f, extra)),
            Guilty::Interrupted => stall_frame(&self.stall_stack()),
            Guilty::Named(f) => f.clone(),
            Guilty::Overflow => {
                let stack: Vec<String> = self
                    .stack(false)
                    .into_iter()
                    .filter(|f| !is_generic(f, PANIC))
                    .collect();
                // The recursion: the innermost frame that repeats three times or more.
                let repeated = stack
                    .iter()
                    .find(|f| stack.iter().filter(|g| g == f).count() >= 3);
                repeated.or(stack.last()).cloned()
            }
        }
    }

    fn top_frames(&self, g: &Guilty) -> Vec<String> {
        let extra = match g {
            Guilty::Ip(e) | Guilty::Header(_, e) | Guilty::Stack(e) | Guilty::Outermost(e) => *e,
            Guilty::LockAt => LOCKING,
            Guilty::None | Guilty::Interrupted | Guilty::Overflow | Guilty::Named(_) => NONE,
        };
        let mut out: Vec<String> = Vec::new();
        let all: Vec<String> = match g {
            Guilty::Interrupted => self.stall_stack(),
            _ => self.ip().into_iter().chain(self.stack(false)).collect(),
        };
        for f in all {
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
