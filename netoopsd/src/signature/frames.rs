//! Stack frames in kernel log text: recognising them, normalising function names, and
//! telling generic frames (printing, panicking, locking, allocation, entry code) from the
//! ones that say where a bug is.

use std::sync::OnceLock;

use regex::Regex;

use super::CapturesIfMatch;

/// One frame of a call trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The normalised function name.
    pub func: String,
    /// Whether the unwinder was sure of it (x86 prints unsure frames with a `? ` prefix).
    pub reliable: bool,
}

fn re(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("valid regex"))
}

/// A call-trace line: `func+0x1/0x2`, `? func+0x1/0x2 [mod]`, `[<ffffffff8123>] func+0x1/0x2`,
/// `func+0x1/0x2 mm/file.c:12`, or an inlined `func mm/file.c:12 [inline]`. `line` has the
/// log prefix (timestamps) already removed; leading blanks are allowed.
pub fn parse_frame(line: &str) -> Option<Frame> {
    if let Some((func, reliable)) = offset_frame(line) {
        return Some(Frame {
            func: normalize_func(func),
            reliable,
        });
    }
    static ARM32: OnceLock<Regex> = OnceLock::new();
    let arm = re(
        &ARM32,
        r"^\s*\[<[0-9a-fA-F]+>\] \(([A-Za-z_][^\s+)]*)(?:\+0x[0-9a-f]+/0x[0-9a-f]+)?\) from ",
    );
    // Each of the other two patterns needs a literal that most lines lack: looked for first.
    if let Some(c) = line.contains(") from ").then(|| arm.caps(line)).flatten() {
        return Some(Frame {
            func: normalize_func(&c[1]),
            reliable: true,
        });
    }
    static INLINE: OnceLock<Regex> = OnceLock::new();
    let inl = re(
        &INLINE,
        r"^\s*(?:\[<[0-9a-fA-F]+>\]\s*)*(\?\s+)?([A-Za-z_][\w.]*)\s+[\w/.\-]+:\d+(?::\d+)?\s+\[inline\]",
    );
    if !line.contains("[inline]") {
        return None;
    }
    inl.caps(line).map(|c| Frame {
        func: normalize_func(&c[2]),
        reliable: c.get(1).is_none(),
    })
}

/// The pattern of a call-trace line in its commonest form, `func+0x1/0x2` after optional
/// `<IRQ>`, `(`, `[<addr>]` and `? ` parts: what [`offset_frame`] recognises by hand (the
/// tests hold the two to the same answers).
#[cfg(test)]
const OFFSET_FRAME: &str = r"^\s*(?:<(?:IRQ|EOI|NMI)>\s+)?\(?(?:\[<?[0-9a-fA-F]+>?\]\s*)*(\?\s+)?\.?([A-Za-z_<][^\s+]*?)\+0x[0-9a-f]+/0x[0-9a-f]+";

/// The function of a call-trace line of the form `OFFSET_FRAME` and whether the frame is
/// reliable (no `? `), without the pattern: with a frame on nearly every line of a call trace,
/// the pattern was the signature's costliest. Each optional part can be taken only one way
/// (nothing that may follow it starts as it does), so one pass from the left decides.
fn offset_frame(line: &str) -> Option<(&str, bool)> {
    // `\s*`, then `<IRQ>`-like markers only where blanks follow (else `<` starts the name).
    let mut s = line.trim_start();
    for tag in ["<IRQ>", "<EOI>", "<NMI>"] {
        if let Some(rest) = s.strip_prefix(tag) {
            let t = rest.trim_start();
            if t.len() < rest.len() {
                s = t;
            }
            break;
        }
    }
    s = s.strip_prefix('(').unwrap_or(s);
    // `(?:\[<?HEX+>?\]\s*)*`: a `[` that starts no such part cannot start the name either.
    while let Some(rest) = s.strip_prefix('[') {
        let rest = rest.strip_prefix('<').unwrap_or(rest);
        let hex = rest.bytes().take_while(u8::is_ascii_hexdigit).count();
        if hex == 0 {
            return None;
        }
        let rest = rest[hex..].strip_prefix('>').unwrap_or(&rest[hex..]);
        s = rest.strip_prefix(']')?.trim_start();
    }
    // `(\?\s+)?`: an unsure frame.
    let mut reliable = true;
    if let Some(rest) = s.strip_prefix('?') {
        let t = rest.trim_start();
        if t.len() == rest.len() {
            return None;
        }
        reliable = false;
        s = t;
    }
    s = s.strip_prefix('.').unwrap_or(s);
    // `([A-Za-z_<][^\s+]*?)\+0x[0-9a-f]+/0x[0-9a-f]+`: the name ends at the first `+`.
    if !s
        .bytes()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_' || c == b'<')
    {
        return None;
    }
    let (func, rest) = s.split_at(s.find(|c: char| c == '+' || c.is_whitespace())?);
    let hex = |s: &str| {
        s.bytes()
            .take_while(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
            .count()
    };
    let rest = rest.strip_prefix("+0x")?;
    let offset = hex(rest);
    let rest = rest[offset..].strip_prefix("/0x").filter(|_| offset > 0)?;
    (hex(rest) > 0).then_some((func, reliable))
}

/// The function of an instruction-pointer line: `RIP: 0010:func+0x4/0x6`,
/// `RIP: 0010:[<ffffffff82d4e304>]  [<ffffffff82d4e304>] func+0x24/0x30`, `IP: [<..>] func+..`,
/// `EIP: func+..`, `pc : func+0x..` (arm64), `PC is at func+0x..` (arm), `NIP [c000..] .func+..`
/// (powerpc), `epc : func+0x..` (riscv; mips with the address first), `Krnl PSW : .. ..
/// (func+0x..)` (s390).
pub fn parse_ip(line: &str) -> Option<String> {
    static IP: OnceLock<Regex> = OnceLock::new();
    let ip = re(
        &IP,
        r"^\s*(?:RIP|IP|EIP|NIP|pc\s*|epc\s*|PC is at|EIP is at|RIP is at|Krnl PSW\s*:\s*[0-9a-f]+\s+[0-9a-f]+\s+\()\s*:?\s*(?:[0-9a-f]{4}:)?(?:\s*\[<?[0-9a-fA-F]+>?\])*\s*(?:[0-9a-f]{8,16}\s+)?\.?([A-Za-z_<][^\s+]*?)\+0x[0-9a-f]+",
    );
    ip.caps(line).map(|c| normalize_func(&c[1]))
}

/// The function of a link-register line, the faulting function's caller: `LR is at func+0x..`
/// (arm), `lr : func+0x..` (arm64), `LR [c000..] .func+0x..` (powerpc). Used when the
/// instruction pointer has no symbol (a jump to a bad address).
pub fn parse_lr(line: &str) -> Option<String> {
    static LR: OnceLock<Regex> = OnceLock::new();
    let lr = re(
        &LR,
        r"^\s*(?:LR is at|lr\s*:|LR\s*(?:\[<?[0-9a-fA-F]+>?\])?)\s*\.?([A-Za-z_<][^\s+]*?)\+0x[0-9a-f]+",
    );
    lr.caps(line).map(|c| normalize_func(&c[1]))
}

/// Demangles a C++ (`_Z...`) or Rust (legacy `_ZN...E`, v0 `_R...`) symbol; other names are
/// returned as they are. Rust names lose their hash (`{:#}`).
pub fn demangle(f: &str) -> String {
    if f.starts_with("_R") || f.starts_with("_ZN") {
        if let Ok(d) = rustc_demangle::try_demangle(f) {
            let s = format!("{d:#}");
            if s != f {
                return s;
            }
        }
    }
    if f.starts_with("_Z") {
        if let Ok(sym) = cpp_demangle::Symbol::new(f) {
            let opts = cpp_demangle::DemangleOptions::new()
                .no_params()
                .no_return_type();
            if let Ok(s) = sym.demangle(&opts) {
                return s;
            }
        }
    }
    f.to_string()
}

/// The function of a lockdep `..., at: func+0x17/0x20` line (or `at: [<..>] func ...`).
pub fn parse_lock_at(line: &str) -> Option<String> {
    static AT: OnceLock<Regex> = OnceLock::new();
    let at = re(
        &AT,
        r"\bat: (?:\[<[0-9a-fA-F]+>\]\s*)*([A-Za-z_][\w.]*?)(?:\+0x[0-9a-f]+|\s+[\w/.\-]+:\d+)",
    );
    at.caps(line).map(|c| normalize_func(&c[1]))
}

/// Removes compiler suffixes (`.isra.0`, `.constprop.3`, `.part.1`, `.cold`, ...) and maps
/// the many spellings of a system call (`__x64_sys_foo`, `__se_sys_foo`, `SyS_foo`,
/// `__do_sys_foo`) to `sys_foo`.
pub fn normalize_func(f: &str) -> String {
    static SUFFIX: OnceLock<Regex> = OnceLock::new();
    static SYSCALL: OnceLock<Regex> = OnceLock::new();
    let suffix = re(
        &SUFFIX,
        r"(?:\.(?:isra|constprop|part|cold|lto_priv|llvm|localalias|clone)(?:\.\d+)*)+$",
    );
    let demangled = demangle(f);
    let f = suffix.replace(&demangled, "");
    let syscall = re(
        &SYSCALL,
        r"^(?:__(?:x64|ia32|x32|arm64|riscv|s390x?)_|__se_|__do_|__|\.)?(?:(?:compat_)?[Ss]y[Ss]|ksys)_(\w+)$",
    );
    if let Some(c) = syscall.caps(&f) {
        return format!("sys_{}", &c[1]);
    }
    f.into_owned()
}

/// Function names (after leading underscores are dropped) that never say where a bug is:
/// reporting, panicking, exception entry, sanitizers, lockdep, locking and sleeping
/// primitives, allocation, string and copy helpers, syscall and kthread entry. A name
/// ending in `*` is a prefix, one starting with `*` a suffix, one in `*` on both ends a
/// substring.
const GENERIC: &[&str] = &[
    // reporting and dying
    "dump_stack*",
    "show_stack",
    "show_trace_log_lvl",
    "show_regs",
    "sched_show_task",
    "panic",
    "vpanic",
    "nmi_panic",
    "die",
    "die_body",
    "oops_end",
    "oops_begin",
    "warn*",
    "report_bug*",
    "handle_bug",
    "fixup_bug",
    "do_trap",
    "do_error_trap",
    "do_invalid_op",
    "invalid_op",
    "exc_*",
    "asm_exc_*",
    "asm_sysvec_*",
    "sysvec_*",
    "page_fault*",
    "do_page_fault",
    "no_context",
    "bad_area*",
    "do_user_addr_fault",
    "do_kern_addr_fault",
    "kernelmode_fixup_or_oops",
    "handle_page_fault",
    "do_general_protection",
    "general_protection",
    "do_divide_error",
    "divide_error",
    "do_int3*",
    "bug_handler",
    "check_panic_on_warn",
    "nmi_cpu_backtrace*",
    "nmi_trigger_cpumask_backtrace",
    "arch_trigger_cpumask_backtrace",
    "trigger_*backtrace",
    "print_*",
    "printk*",
    "vprintk*",
    "rcu_dump_cpu_stacks",
    "check_hung_*",
    "watchdog*",
    "hung_task*",
    // rust panics
    "rust_begin_unwind",
    "*::rust_begin_unwind",
    "*::panicking::*",
    "core::result::unwrap_failed",
    "core::option::*_failed",
    "rust_panic*",
    "rust_helper_BUG",
    "core::panicking::*",
    "core::panic*",
    "_RNvNtCs*panicking*",
    // sanitizers and debug checks
    "kasan*",
    "check_memory_region*",
    "asan_*",
    "hwasan_*",
    "kmsan*",
    "msan_*",
    "kfence*",
    "ubsan*",
    "sanitizer_*",
    "kcov*",
    "kmemleak*",
    "debug_object*",
    "debug_check_no_*",
    "debug_print_object",
    "usercopy_*",
    "check_object_size",
    "check_heap_object",
    "check_stack_object",
    "refcount_*",
    "might_sleep",
    "might_fault",
    "might_resched",
    "might_lock*",
    "check_preemption_disabled",
    "debug_smp_processor_id",
    "this_cpu_preempt_check",
    "should_fail*",
    "fail_dump",
    "stack_trace_*",
    "save_stack*",
    "unwind_*",
    "arch_stack_walk",
    "trace_*",
    "perf_trace_*",
    "dump_backtrace*",
    "dump_cpu_task",
    "rcu_is_watching",
    "rcu_dynticks*",
    "debug_lockdep_rcu_enabled",
    "write_comp_data",
    "timer_is_static_object",
    "work_is_static_object",
    "x86_indirect_thunk*",
    "*_thunk_*",
    "*panic*",
    "assertfail",
    "kcsan_*",
    "osq_lock",
    "mutex_optimistic_spin",
    "mutex_spin_on_owner",
    "rb_*",
    "klist_*",
    "string*",
    "strnstr",
    "test_and_*",
    "set_bit",
    "clear_bit",
    "lock_sock*",
    "release_sock",
    "call_rwsem_*",
    "console_unlock",
    "console_lock",
    "down_trylock",
    "local_bh_enable*",
    "xas_*",
    "kref_*",
    "kobject_del",
    "wait_on_page*",
    "folio_wait*",
    "lock_page*",
    "folio_lock*",
    "do_kernel_fault",
    "do_mem_abort",
    "do_tag_check_fault",
    "do_translation_fault",
    "do_bad_area",
    "el1_abort",
    "switch_to",
    "rela_dyn_start",
    "call_rcu*",
    "vfree*",
    "vunmap*",
    "vunmap",
    "wake_up*",
    "try_to_wake_up",
    "lockdep*",
    "lock_acquire*",
    "lock_release",
    "lock_acquired",
    "lock_contended",
    "lock_is_held*",
    "lock_sync",
    "mark_lock*",
    "validate_chain",
    "check_prev_add",
    "check_prevs_add",
    "check_noncircular",
    "check_irq_usage",
    "mark_usage",
    "register_lock_class",
    "look_up_lock_class",
    "hlock_class",
    "valid_state",
    "held_lock*",
    "reacquire_held_locks",
    "find_held_lock",
    "rcu_lockdep_*",
    "list_add_valid*",
    "list_del_entry_valid*",
    "list_add",
    "list_del*",
    "list_valid_*",
    "list_add_valid_or_report",
    "list_del_entry_valid_or_report",
    "hlist_*",
    "list_splice*",
    "list_move*",
    "list_replace*",
    "kobject_put",
    "kobject_release",
    // the driver core's registration and teardown (devices, their sysfs files and uevents,
    // devres, the bus cores' unregistering of their adapters, clients and URBs): the driver
    // or subsystem that called it is the suspect (syzkaller's titles skip them likewise)
    "device_del",
    "device_unregister",
    "device_destroy",
    "device_release_driver*",
    "bus_remove_device",
    "device_for_each_child",
    "device_remove_file",
    "devres_release_all",
    "sysfs_remove_*",
    "*_sysfs_remove",
    "device_add",
    "device_release",
    "kobject_uevent_env",
    "add_uevent_var",
    "tty_unregister_device",
    "i2c_del_adapter",
    "__unregister_client",
    "hwrng_unregister",
    "usb_kill_urb",
    "usb_kill_anchored_urbs",
    "destroy_workqueue",
    "try_to_grab_pending",
    // queueing work: the queuer (or the work item on its queue) is the suspect
    "insert_work",
    "queue_work*",
    "queue_delayed_work*",
    "mod_delayed_work*",
    // the VFS's and page cache's helpers whose assertions check the caller's use of them
    // (link counts, dirtying a buffer, unlocking a locked folio) or that drop the caller's
    // reference (`iput`, as `kref_put`, `kobject_put`)
    "drop_nlink",
    "clear_nlink",
    "inc_nlink",
    "set_nlink",
    "mark_buffer_dirty*",
    "folio_unlock",
    "unlock_page",
    "iput",
    // lock-on-zero reference drops
    "atomic_dec_and_lock*",
    "atomic_dec_and_raw_lock*",
    // locking, sleeping, waiting
    "mutex_lock*",
    "mutex_unlock*",
    "mutex_trylock*",
    "raw_spin_*",
    "spin_lock*",
    "spin_unlock*",
    "spin_trylock*",
    "do_raw_spin_*",
    "spin_dump",
    "spin_bug",
    "rwlock_bug",
    "task_rq_lock",
    "raw_read_*",
    "raw_write_*",
    "read_lock*",
    "read_unlock*",
    "write_lock*",
    "write_unlock*",
    "rwsem_*",
    "down_read*",
    "down_write*",
    "up_read*",
    "up_write*",
    "down",
    "down_interruptible",
    "down_killable",
    "down_timeout",
    "up",
    "rt_mutex*",
    "queued_spin_*",
    "queued_read_*",
    "queued_write_*",
    "native_queued_spin_*",
    "pv_queued_spin_*",
    "schedule*",
    "preempt_schedule*",
    "io_schedule*",
    "wait_for_completion*",
    "wait_for_common*",
    "do_wait_for_common",
    "wait_on_bit*",
    "out_of_line_wait_on_bit*",
    "bit_wait*",
    "finish_wait",
    "prepare_to_wait*",
    "wait_rcu_gp",
    "rcu_barrier",
    "msleep*",
    "usleep_range*",
    "cond_resched*",
    "context_switch",
    "finish_task_switch*",
    "switch_to",
    "resched_curr",
    "preempt_count_*",
    "irq_exit*",
    "irqentry_*",
    "idtentry_*",
    "rcu_gp_*",
    "rcu_*_kthread",
    "cancel_work*",
    "cancel_delayed_work*",
    "*cancel_work_timer",
    // the dentry cache's put: the caller put a reference it did not hold
    "dput",
    "fast_dput",
    "dput_to_list",
    "irq_enter*",
    "do_softirq*",
    "handle_softirqs",
    "invoke_softirq",
    "apic_timer_interrupt",
    "smp_apic_timer_interrupt",
    "local_apic_timer_interrupt",
    "hrtimer_interrupt",
    "hrtimer_run_queues",
    "hrtimer_run_queues*",
    "tick_sched_*",
    "tick_nohz_*",
    "update_process_times",
    "rcu_sched_clock_irq",
    "rcu_check_callbacks",
    "rcu_pending",
    "interrupt_entry",
    "common_interrupt",
    "ret_from_intr",
    "retint_*",
    "native_safe_halt",
    "default_idle*",
    "arch_cpu_idle*",
    "do_idle",
    "cpu_startup_entry",
    "call_cpuidle",
    "cpuidle_*",
    // allocation
    "kmalloc*",
    "kmem_cache_*",
    "slab_*",
    "slub_*",
    "kzalloc*",
    "kcalloc*",
    "krealloc*",
    "kvmalloc*",
    "kvzalloc*",
    "kvcalloc*",
    "kmemdup*",
    "kstrdup*",
    "kfree*",
    "kvfree*",
    "alloc_pages*",
    "alloc_frozen_pages*",
    "folio_alloc*",
    "alloc_pages_nodemask",
    "get_free_pages",
    "pcpu_*",
    "alloc_percpu*",
    "vmalloc*",
    "vzalloc*",
    "new_slab",
    "allocate_slab",
    "setup_object",
    "init_object",
    "page_alloc*",
    "free_pages*",
    "free_unref_page*",
    "mempool_alloc*",
    // string and copy helpers
    "memcpy*",
    "memset*",
    "memmove*",
    "memcmp*",
    "memchr*",
    "strcmp",
    "strncmp",
    "strlen",
    "strnlen",
    "strcpy",
    "strncpy",
    "strscpy*",
    "strlcpy",
    "strcat",
    "strchr",
    "strstr",
    "copy_user*",
    // (with a subsystem's wrappers: `frob_copy_to_user`)
    "*copy_to_user*",
    "*copy_from_user*",
    "*copy_to_iter*",
    "*copy_from_iter*",
    "copy_page_to_iter*",
    "copy_page_from_iter*",
    "copy_folio_to_iter*",
    "copy_folio_from_iter*",
    "raw_copy_*",
    "copy_mc_*",
    "get_user*",
    "put_user*",
    "clear_user*",
    "strncpy_from_user*",
    "check_copy_size",
    "fortify_*",
    "bitmap_*",
    "find_next_bit",
    // string formatting: the report is about whoever formats
    "vsnprintf",
    "vscnprintf",
    "snprintf",
    "scnprintf",
    "sprintf",
    "vsprintf",
    "kvasprintf*",
    "kasprintf*",
    "devm_kasprintf",
    "kstrndup",
    "strndup_user",
    "memdup_user*",
    "vmemdup_user",
    "pointer",
    "string_nocheck",
    "widen_string",
    "format_decode",
    "number",
    "dev_vprintk_emit",
    "dev_printk_emit",
    "dev_printk",
    "_dev_err",
    "_dev_warn",
    "_dev_info",
    "_dev_printk",
    "dev_err",
    "dev_warn",
    "dev_info",
    "netdev_printk",
    "netdev_err",
    "netdev_warn",
    "strlcat",
    "strncat",
    "strnchr",
    "strchrnul",
    "strsep",
    "strim",
    "skip_spaces",
    "sized_strscpy",
    "kmemdup_nul",
    "match_string",
    "sysfs_emit*",
    "seq_printf",
    "seq_vprintf",
    "seq_puts",
    // crypto and checksum helpers
    "crypto_shash_*",
    "crypto_ahash_*",
    "shash_*",
    "sha1_*",
    "sha256_*",
    "sha512_*",
    "blake2s_*",
    "chacha*_block*",
    "crc32*",
    "crc16",
    "crc_ccitt",
    "crc_itu_t*",
    "crc_t10dif*",
    "crc7_be",
    "crc8",
    "crc64_*",
    "csum_partial*",
    "csum_and_copy*",
    "csum_block_add*",
    "skb_checksum*",
    "skb_copy_and_csum*",
    "ip_compute_csum",
    "ip_fast_csum",
    "do_csum",
    "csum_ipv6_magic",
    // buffer helpers of the network stack: the caller overran the buffer
    "skb_put",
    "skb_push",
    "skb_pull",
    "skb_over_panic",
    "skb_under_panic",
    "skb_panic",
    "skb_copy_bits",
    "skb_store_bits",
    "skb_put_data",
    "skb_put_zero",
    // bus submission helpers: the driver that submits is the suspect
    "usb_submit_urb",
    "usb_start_wait_urb",
    "usb_control_msg*",
    "usb_bulk_msg",
    "usb_interrupt_msg",
    "usb_internal_control_msg",
    // I/O accessors
    "raw_readb",
    "raw_readw",
    "raw_readl",
    "raw_readq",
    "raw_writeb",
    "raw_writew",
    "raw_writel",
    "raw_writeq",
    "readb",
    "readw",
    "readl",
    "readq",
    "writeb",
    "writew",
    "writel",
    "writeq",
    "ioread*",
    "iowrite*",
    "logic_in*",
    "logic_out*",
    "inb",
    "inw",
    "inl",
    "outb",
    "outw",
    "outl",
    // reference and debug helpers
    "ref_tracker_*",
    "percpu_ref_*",
    "kref_*",
    "walk_stackframe",
    "return_address",
    "free_large_kmalloc",
    "kthread_stop*",
    "flush_work*",
    "flush_workqueue*",
    "drain_workqueue",
    "cancel_work_sync",
    "cancel_delayed_work_sync",
    // the internals of the RCU grace-period waits; the public waits (`synchronize_rcu`,
    // `synchronize_srcu`, ...) name a hang, as in syzkaller's titles
    "wait_rcu_gp",
    "synchronize_rcu_normal",
    "synchronize_rcu_tasks_generic",
    "rcu_barrier_tasks_generic",
    "synchronize_net",
    "read_once_*",
    "write_once_*",
    "bit_spin_lock",
    "rt_spin_*",
    "rt_read_*",
    "rt_write_*",
    "percpu_down_*",
    "percpu_up_*",
    "tsan_*",
    "handle_overflow",
    "handle_null_ptr_deref",
    // the timer API, faulting on the caller's timer
    "lock_timer_base",
    "del_timer*",
    "timer_delete*",
    "try_to_del_timer_sync",
    "mod_timer",
    "mod_timer_pending",
    "timer_reduce",
    "local_lock*",
    "local_unlock*",
    // entry points
    "ret_from_fork*",
    "kthread",
    "worker_thread",
    "process_one_work",
    "process_scheduled_works",
    "smpboot_thread_fn",
    "entry_SYSCALL*",
    "entry_SYSENTER*",
    "entry_INT80*",
    "do_syscall_*",
    "x64_sys_call",
    "do_fast_syscall*",
    "do_int80*",
    "syscall_enter*",
    "syscall_exit*",
    "el0_*",
    "el1_*",
    "el0t_*",
    "el1h_*",
    "invoke_syscall",
    "do_el0_svc",
    "call_on_irq_stack",
    "run_on_irqstack*",
    "start_kernel",
    "rest_init",
    "kernel_init",
    "secondary_startup*",
    "start_secondary",
    "x86_64_start_*",
];

/// Whether `func` (already normalised) is a generic frame. `extra` are further prefixes
/// (same syntax as the built-in list) for one kind of report.
pub fn is_generic(func: &str, extra: &[&str]) -> bool {
    let name = func.trim_start_matches('_');
    let matches = |pat: &&str| pattern_matches(pat, name);
    func.starts_with("0x") || Generic::get().matches(name) || extra.iter().any(matches)
}

/// Whether `name` (leading underscores removed) matches `pat` of the [`GENERIC`] syntax.
fn pattern_matches(pat: &str, name: &str) -> bool {
    if let Some(inner) = pat.strip_prefix('*').and_then(|p| p.strip_suffix('*')) {
        name.contains(inner)
    } else if let Some(suffix) = pat.strip_prefix('*') {
        name.ends_with(suffix)
    } else if let Some(prefix) = pat.strip_suffix('*') {
        name.starts_with(prefix.trim_start_matches('_'))
    } else {
        name == pat.trim_start_matches('_')
    }
}

/// [`GENERIC`] indexed, so that a frame is not compared with each of its 400 patterns: exact
/// names in a set, prefixes by their first byte, the few others (suffixes, substrings) in a
/// list. Matches exactly what [`pattern_matches`] over the list would.
struct Generic {
    exact: std::collections::HashSet<&'static str>,
    /// Prefixes (leading underscores removed) by first byte; those that are empty match all.
    prefixes: std::collections::HashMap<Option<u8>, Vec<&'static str>>,
    rest: Vec<&'static str>,
}

impl Generic {
    fn get() -> &'static Generic {
        static CELL: OnceLock<Generic> = OnceLock::new();
        CELL.get_or_init(|| {
            let mut g = Generic {
                exact: Default::default(),
                prefixes: Default::default(),
                rest: Vec::new(),
            };
            for &pat in GENERIC {
                if pat.starts_with('*') {
                    g.rest.push(pat);
                } else if let Some(prefix) = pat.strip_suffix('*') {
                    let p = prefix.trim_start_matches('_');
                    g.prefixes.entry(p.bytes().next()).or_default().push(p);
                } else {
                    g.exact.insert(pat.trim_start_matches('_'));
                }
            }
            g
        })
    }

    fn matches(&self, name: &str) -> bool {
        let by_first = |k: Option<u8>| {
            self.prefixes
                .get(&k)
                .is_some_and(|v| v.iter().any(|p| name.starts_with(p)))
        };
        self.exact.contains(name)
            || by_first(name.bytes().next())
            || by_first(None)
            || self.rest.iter().any(|p| pattern_matches(p, name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_in_all_spellings() {
        let f = |l: &str| parse_frame(l).map(|f| (f.func, f.reliable));
        assert_eq!(
            f("  ? lkdtm_do_action+0x18/0x1b"),
            Some(("lkdtm_do_action".into(), false))
        );
        assert_eq!(
            f(" [<ffffffff84b1c5e3>] ? xt_find_table_lock+0x3e/0x3e0"),
            Some(("xt_find_table_lock".into(), false))
        );
        assert_eq!(
            f("  dump_stack+0x194/0x257 lib/dump_stack.c:53"),
            Some(("dump_stack".into(), true))
        );
        assert_eq!(
            f(" __dump_stack lib/dump_stack.c:17 [inline]"),
            Some(("__dump_stack".into(), true))
        );
        assert_eq!(
            f("  do_ipv6_setsockopt.isra.8+0x3c5/0x39d0 [ipv6]"),
            Some(("do_ipv6_setsockopt".into(), true))
        );
        assert_eq!(
            f("  __x64_sys_rmdir+0x1a/0x20"),
            Some(("sys_rmdir".into(), true))
        );
        assert_eq!(
            f("  SyS_getsockopt+0x178/0x340"),
            Some(("sys_getsockopt".into(), true))
        );
        assert_eq!(
            f(" <EOI>  [<ffffffffa0234567>] ? blip_spin+0x40/0x80 [blip]"),
            Some(("blip_spin".into(), false))
        );
        assert_eq!(
            f("[c0000000fe1c3a00] [c000000000a1b2a0] .blarg_rx+0x20/0x120 (unreliable)"),
            Some(("blarg_rx".into(), true))
        );
        assert_eq!(
            f("([<000000000012345a>] plonk_work+0x1c/0x80)"),
            Some(("plonk_work".into(), true))
        );
        assert_eq!(f("Call Trace:"), None);
        assert_eq!(f("RIP: 0010:lkdtm_BUG+0x4/0x6"), None);
    }

    /// The hand-written parser of the commonest frame form answers as its pattern does, on
    /// every combination of the pattern's optional parts, well and badly formed, and on every
    /// line of the test logs.
    #[test]
    fn offset_frames_as_the_pattern_parses_them() {
        fn by_pattern<'l>(pattern: &Regex, l: &'l str) -> Option<(&'l str, bool)> {
            let c = pattern.captures(l)?;
            Some((c.get(2)?.as_str(), c.get(1).is_none()))
        }
        let pattern = Regex::new(OFFSET_FRAME).unwrap();
        let check = |l: &str| assert_eq!(offset_frame(l), by_pattern(&pattern, l), "{l:?}");
        let lead = ["", "  ", "\t", "\u{a0}", "<IRQ> ", "<IRQ>", "<NMI>\t(", "("];
        let addrs = [
            "",
            "[<ffffffff8123abcd>] ",
            "[<ffff>]",
            "[c0000000fe1c3a00] [C000000000A1B2A0] ",
            "[<ffffz>] ",
            "[<>] ",
            "[<ab] ",
            "[",
        ];
        let unsure = ["", "? ", "?", "?\u{2003}"];
        let names = [
            "lkdtm_BUG",
            "_x.isra.8",
            "<stub>",
            "9bad",
            "\u{e9}t\u{e9}",
            "f\u{a0}g",
            "",
            "f(x)",
        ];
        let offsets = [
            "+0x18/0x1b",
            "+0x18/0x1b [mod]",
            "+0x18/0x",
            "+0x/0x1b",
            "+0X18/0x1b",
            "+0x18/0x1B",
            "+0xA/0x1b",
            "+0x1/0xB",
            "+0x18",
            "+0x1+0x2/0x3",
            " +0x1/0x2",
            "+0xabc/0xdef)",
        ];
        for a in lead {
            for b in addrs {
                for c in unsure {
                    for d in ["", "."] {
                        for e in names {
                            for f in offsets {
                                check(&format!("{a}{b}{c}{d}{e}{f}"));
                            }
                        }
                    }
                }
            }
        }
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
        let mut lines = 0;
        for sub in ["signature", "signatures", "syzkaller"] {
            for entry in std::fs::read_dir(format!("{dir}/{sub}")).unwrap() {
                let text = std::fs::read(entry.unwrap().path()).unwrap();
                for l in String::from_utf8_lossy(&text).lines() {
                    // As the signature sees it, after the console's prefix, and as it is.
                    check(l.split_once("] ").map_or(l, |(_, t)| t));
                    check(l);
                    lines += 1;
                }
            }
        }
        assert!(lines > 1000, "{lines} lines of test logs");
    }

    #[test]
    fn instruction_pointers_and_lock_sites() {
        assert_eq!(
            parse_ip("RIP: 0010:lkdtm_BUG+0x4/0x6").as_deref(),
            Some("lkdtm_BUG")
        );
        assert_eq!(
            parse_ip("RIP: 0010:[<ffffffff82d4e304>]  [<ffffffff82d4e304>] __memset+0x24/0x30")
                .as_deref(),
            Some("__memset")
        );
        assert_eq!(
            parse_ip("IP: [<ffffffff82d4e304>] __memset+0x24/0x30").as_deref(),
            Some("__memset")
        );
        assert_eq!(
            parse_ip("pc : do_undefinstr+0x2f0/0x2f8").as_deref(),
            Some("do_undefinstr")
        );
        assert_eq!(parse_ip("RIP: 0033:0x7f3a5e8b1c27"), None);
        assert_eq!(
            parse_ip("Krnl PSW : 0704c00180000000 000000000012345a (plonk_work+0x1c/0x80)")
                .as_deref(),
            Some("plonk_work")
        );
        assert_eq!(
            parse_ip(" epc : plonk_work+0x1c/0x80").as_deref(),
            Some("plonk_work")
        );
        assert_eq!(
            parse_ip("epc   : ffffffff80123456 plonk_work+0x1c/0x80").as_deref(),
            Some("plonk_work")
        );
        assert_eq!(
            parse_lock_at(" (rtnl_mutex){+.+.}, at: [<00000000ac220e5b>] rtnl_lock+0x17/0x20")
                .as_deref(),
            Some("rtnl_lock")
        );
    }

    #[test]
    fn generic_frames() {
        for g in [
            "dump_stack_lvl",
            "__schedule",
            "mutex_lock_nested",
            "_raw_spin_lock_irqsave",
            "kasan_report",
            "entry_SYSCALL_64_after_hwframe",
            "__warn",
            "vpanic",
            "panic",
        ] {
            assert!(is_generic(g, &[]), "{g}");
        }
        for s in [
            "lkdtm_BUG",
            "rtnl_lock",
            "sys_rmdir",
            "do_one_initcall",
            "xt_find_table_lock",
        ] {
            assert!(!is_generic(s, &[]), "{s}");
        }
        assert!(is_generic("d_walk", &["d_walk"]));
    }
}
