use std::path::Path;

use super::eval::{evaluate, load_dir, parse_case};
use super::*;

fn fixtures(sub: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(sub)
}

fn fixture_log(sub: &str, name: &str) -> String {
    let text = std::fs::read_to_string(fixtures(sub).join(name)).unwrap();
    parse_case(name, &text).log
}

#[test]
fn our_qemu_oopses() {
    let bug = extract(&fixture_log("signatures", "lkdtm-bug.log")).unwrap();
    assert_eq!(bug.title, "kernel BUG in lkdtm_BUG");
    assert_eq!(
        bug.frames,
        [
            "lkdtm_BUG",
            "lkdtm_do_action",
            "direct_entry",
            "full_proxy_write",
            "vfs_write"
        ]
    );
    let panic = extract(&fixture_log("signatures", "lkdtm-panic.log")).unwrap();
    assert_eq!(panic.title, "kernel panic: dumptest");
    assert_eq!(panic.frames[0], "lkdtm_PANIC");
    assert_ne!(bug.bucket, panic.bucket);
}

#[test]
fn every_fixture_title_agrees() {
    for sub in ["signatures", "syzkaller"] {
        let cases = load_dir(&fixtures(sub)).unwrap();
        let (f, rows) = evaluate(&cases);
        for r in &rows {
            assert!(
                r.agrees,
                "{sub}/{}: got {:?}, want {:?}",
                r.name, r.got, r.expected
            );
        }
        assert_eq!(f.precision(), 1.0);
        assert_eq!(f.recall(), 1.0);
    }
}

#[test]
fn one_bug_one_bucket_across_machines() {
    // Two RCU stalls of one KVM bug, different kernels, CPUs and stacks.
    let a = extract(&fixture_log("syzkaller", "268")).unwrap();
    let b = extract(&fixture_log("syzkaller", "280")).unwrap();
    assert_eq!(a.title, "INFO: rcu detected stall in kvm_vcpu_ioctl");
    assert_eq!(a.bucket, b.bucket);
    // Timestamps, addresses, PIDs and offsets do not matter.
    let log = fixture_log("signatures", "lkdtm-bug.log");
    let shifted = log
        .replace("[    1.5", "[  321.9")
        .replace("PID: 38", "PID: 4711")
        .replace("lkdtm_BUG+0x4/0x6", "lkdtm_BUG+0x14/0x20")
        .replace("ffa00000000f7e08", "ffa0000000abcd00");
    assert_eq!(
        extract(&shifted).unwrap().bucket,
        extract(&log).unwrap().bucket
    );
}

const WARNING_7X: &str = "\
[   12.000001] lkdtm: Performing direct entry WARNING
[   12.000002] ------------[ cut here ]------------
[   12.000003] WARNING: CPU: 0 PID: 38 at drivers/misc/lkdtm/bugs.c:107 lkdtm_WARNING+0x10/0x20
[   12.000004] Modules linked in: netoops(O)
[   12.000005] CPU: 0 UID: 0 PID: 38 Comm: sh Tainted: G           O        7.3.4 #1
[   12.000006] RIP: 0010:lkdtm_WARNING+0x10/0x20
[   12.000007] Call Trace:
[   12.000008]  <TASK>
[   12.000009]  ? __warn+0x80/0x120
[   12.000010]  ? lkdtm_WARNING+0x10/0x20
[   12.000011]  ? report_bug+0x160/0x190
[   12.000012]  ? lkdtm_do_action+0x18/0x1b
[   12.000013]  </TASK>
[   12.000014] ---[ end trace 0000000000000000 ]---
";

#[test]
fn other_crash_kinds() {
    let t = |log: &str| extract(log).map(|s| s.title);
    assert_eq!(t(WARNING_7X).as_deref(), Some("WARNING in lkdtm_WARNING"));
    let null = "[    3.1] BUG: kernel NULL pointer dereference, address: 0000000000000000\n\
                [    3.1] #PF: supervisor write access in kernel mode\n\
                [    3.1] Oops: Oops: 0002 [#1] SMP\n\
                [    3.1] RIP: 0010:lkdtm_EXCEPTION+0x9/0x10\n";
    assert_eq!(
        t(null).as_deref(),
        Some("BUG: unable to handle kernel NULL pointer dereference in lkdtm_EXCEPTION")
    );
    let soft = "[   30.2] watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [sh:38]\n\
                [   30.2] RIP: 0010:lkdtm_SOFTLOCKUP+0x1c/0x30\n";
    assert_eq!(
        t(soft).as_deref(),
        Some("BUG: soft lockup in lkdtm_SOFTLOCKUP")
    );
    let hung = "[  245.1] INFO: task sh:38 blocked for more than 122 seconds.\n\
                [  245.1] Call Trace:\n\
                [  245.1]  __schedule+0x2a0/0x900\n\
                [  245.1]  schedule+0x30/0x90\n\
                [  245.1]  mutex_lock+0x20/0x30\n\
                [  245.1]  lkdtm_HUNG_TASK+0x20/0x30\n";
    assert_eq!(
        t(hung).as_deref(),
        Some("INFO: task hung in lkdtm_HUNG_TASK")
    );
    let gpf = "[ 9.9] Oops: general protection fault, probably for non-canonical address 0xdead000000000100: 0000 [#1] SMP\n\
               [ 9.9] RIP: 0010:list_del+0x1/0x2\n\
               [ 9.9] Call Trace:\n\
               [ 9.9]  my_driver_remove+0x1/0x2\n";
    assert_eq!(
        t(gpf).as_deref(),
        Some("general protection fault in my_driver_remove")
    );
    // A panic_on_warn panic is attributed to the WARNING it follows.
    let both = format!(
        "{WARNING_7X}[   12.1] Kernel panic - not syncing: kernel: panic_on_warn set ...\n"
    );
    assert_eq!(t(&both).as_deref(), Some("WARNING in lkdtm_WARNING"));
    // Messages that look alarming but are no crash.
    assert_eq!(
        t("[ 1.0] WARNING: workqueue cpumask: online intersect > possible intersect\n"),
        None
    );
}

#[test]
fn dumps_without_a_crash_report() {
    let s = for_dump(Some("[ 42.1] sysrq: netoops soft dump\n"), "soft");
    assert_eq!(s.title, "soft dump: no crash report in log");
    assert_eq!(s.bucket, bucket_id(&s.title));
    assert_eq!(for_dump(None, "oops").title, "oops dump: log not received");
    assert_eq!(bucket_id(""), "cbf29ce484222325");
}

/// A fixture's log with the line of `needle` (0-based, as `Signature::line` counts).
fn line_of(log: &str, needle: &str, nth: usize) -> usize {
    log.lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .nth(nth)
        .unwrap_or_else(|| panic!("no {needle:?} #{nth}"))
        .0
}

// The fixtures below are the logs of real dumps: the kernel lines of QEMU serial logs up to
// each dump's newest line (tests/fixtures/signatures/README.md).

#[test]
fn demo_panic_after_two_oopses_is_the_panic() {
    let log = fixture_log("signatures", "demo-panic.log");
    assert_eq!(log.matches("kernel BUG at drivers/misc/lkdtm").count(), 2);
    let s = extract(&log).unwrap();
    assert_eq!(s.title, "kernel panic: dumptest");
    assert_eq!(
        s.line,
        line_of(&log, "Kernel panic - not syncing: dumptest", 0)
    );
    assert_eq!(for_dump(Some(&log), "panic"), s);
}

#[test]
fn second_oops_dump_is_the_second_oops() {
    let log = fixture_log("signatures", "demo-second-oops.log");
    let s = extract(&log).unwrap();
    assert_eq!(s.title, "kernel BUG in lkdtm_BUG");
    assert_eq!(s.line, line_of(&log, "kernel BUG at", 1));
    // The same with a different bug first: an EXCEPTION oops, then a WARNING, then a BUG
    // oops; here the oops dump is of the EXCEPTION that comes last.
    let log = fixture_log("signatures", "oops-after-oops-and-warning.log");
    assert!(log.find("kernel BUG at") < log.find("WARNING: drivers/misc/lkdtm"));
    let s = extract(&log).unwrap();
    assert_eq!(
        s.title,
        "BUG: unable to handle kernel NULL pointer dereference in lkdtm_EXCEPTION"
    );
    assert_eq!(s.frames[0], "lkdtm_EXCEPTION");
}

#[test]
fn consequence_panics_are_their_reports() {
    // An oops with panic_on_oops=1: netoops dumps the oops, then the panic.
    let log = fixture_log("signatures", "oops-then-fatal-exception.log");
    assert!(log.contains("Kernel panic - not syncing: Fatal exception"));
    let s = extract(&log).unwrap();
    assert_eq!(
        s.title,
        "BUG: unable to handle kernel NULL pointer dereference in lkdtm_EXCEPTION"
    );
    assert_eq!(
        s.line,
        line_of(&log, "BUG: kernel NULL pointer dereference", 0)
    );
    let log = fixture_log("signatures", "warning-panic-on-warn.log");
    assert!(log.contains("Kernel panic - not syncing: kernel: panic_on_warn set ..."));
    assert_eq!(extract(&log).unwrap().title, "WARNING in lkdtm_WARNING");
    let log = fixture_log("signatures", "softlockup-panic.log");
    assert!(log.contains("Kernel panic - not syncing: softlockup: hung tasks"));
    let s = extract(&log).unwrap();
    assert_eq!(s.title, "BUG: soft lockup in lkdtm_SOFTLOCKUP");
    assert_eq!(s.frames[0], "lkdtm_SOFTLOCKUP");
}

#[test]
fn soft_dump_after_a_dumped_oops_is_no_copy_of_it() {
    let log = fixture_log("signatures", "soft-after-oops.log");
    assert!(log.contains("kernel BUG at") && log.contains("netoops: dump 0: reason=OOPS"));
    assert_eq!(extract(&log), None);
    assert_eq!(
        for_dump(Some(&log), "soft").title,
        "soft dump: no crash report in log"
    );
    // Without netoops's line the oops is the log's only crash report.
    let undumped: String = log
        .lines()
        .filter(|l| !l.contains("netoops: dump 0"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(extract(&undumped).unwrap().title, "kernel BUG in lkdtm_BUG");
}

/// A WARNING of `f` with its end marker, printed by `caller`, at second `t`.
fn warning_at(t: u32, caller: &str, f: &str) -> String {
    format!(
        "[ {t}.000001][{caller}] WARNING: CPU: 0 PID: 1 at mm/x.c:1 {f}+0x1/0x2\n\
         [ {t}.000002][{caller}] RIP: 0010:{f}+0x1/0x2\n\
         [ {t}.000003][{caller}] ---[ end trace 0000000000000000 ]---\n"
    )
}

#[test]
fn consequence_panics_in_the_kernels_words() {
    let t = |log: &str| extract(log).map(|s| s.title);
    let panic = |msg: &str| format!("[ 50.000001][ T9] Kernel panic - not syncing: {msg}\n");
    let warned = warning_at(40, "T9", "foo_warn");
    for msg in [
        "panic_on_warn set ...",
        "kernel: panic_on_warn set ...",
        "KASAN: panic_on_warn set ...",
        "panic_on_kmsan set ...",
        "panic_on_taint set ...",
    ] {
        assert_eq!(
            t(&format!("{warned}{}", panic(msg))).as_deref(),
            Some("WARNING in foo_warn"),
            "{msg}"
        );
    }
    let oops = "[ 40.1][ T9] BUG: kernel NULL pointer dereference, address: 0000000000000000\n\
                [ 40.1][ T9] Oops: Oops: 0002 [#1] SMP\n\
                [ 40.1][ T9] RIP: 0010:bar_oops+0x9/0x10\n\
                [ 40.1][ T9] ---[ end trace 0000000000000000 ]---\n";
    let oops_title = "BUG: unable to handle kernel NULL pointer dereference in bar_oops";
    for msg in [
        "Fatal exception",
        "Fatal exception in interrupt",
        "Oops: Fatal exception",
        "Oops - BUG: Fatal exception",
        "Attempted to kill the idle task!",
        "Aiee, killing interrupt handler!",
    ] {
        let log = format!("{warned}{oops}{}", panic(msg));
        assert_eq!(t(&log).as_deref(), Some(oops_title), "{msg}");
    }
    let lockup = "[ 40.1][ C0] watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [sh:38]\n\
                  [ 40.1][ C0] RIP: 0010:spin_here+0x1c/0x30\n";
    let log = format!(
        "{warned}{lockup}[ 40.2][ C0] Kernel panic - not syncing: softlockup: hung tasks\n"
    );
    assert_eq!(t(&log).as_deref(), Some("BUG: soft lockup in spin_here"));
    // A consequence of a kind no report before it has stands for itself: an oops does not
    // make the WARNING before it fatal, a hung task panic needs a hung task.
    let log = format!("{warned}{}", panic("Fatal exception"));
    assert_eq!(t(&log).as_deref(), Some("kernel panic: Fatal exception"));
    let log = format!("{warned}{}", panic("hung_task: blocked tasks"));
    assert_eq!(
        t(&log).as_deref(),
        Some("kernel panic: hung_task: blocked tasks")
    );
    // The OOM killer's report is no crash report: its panic is not blamed on a WARNING.
    let log = format!("{warned}{}", panic("System is deadlocked on memory"));
    assert_eq!(
        t(&log).as_deref(),
        Some("kernel panic: System is deadlocked on memory")
    );
    // A panic of its own after earlier reports is the crash.
    let log = format!("{warned}{oops}{}", panic("dumptest"));
    assert_eq!(t(&log).as_deref(), Some("kernel panic: dumptest"));
}

#[test]
fn a_consequence_panic_follows_its_own_task() {
    // Task T1 oopses and panics, T2's oops is printed in between (caller ids tell).
    let oops = |c: &str, f: &str| {
        format!(
            "[ 40.1][{c}] BUG: unable to handle page fault for address: ffffe8ffffe00000\n\
             [ 40.1][{c}] Oops: 0000 [#1] SMP\n\
             [ 40.1][{c}] RIP: 0010:{f}+0x24/0x1a0\n\
             [ 40.1][{c}] ---[ end trace 0000000000000000 ]---\n"
        )
    };
    let log = format!(
        "{}{}[ 40.2][    T1] Kernel panic - not syncing: Fatal exception\n",
        oops("    T1", "first_f"),
        oops("    T2", "second_f")
    );
    assert_eq!(
        extract(&log).unwrap().title,
        "BUG: unable to handle kernel paging request in first_f"
    );
    // Without caller ids: the newest oops.
    let plain = rx!(r"\]\[\s*T\d\]").replace_all(&log, "]");
    assert_eq!(
        extract(&plain).unwrap().title,
        "BUG: unable to handle kernel paging request in second_f"
    );
}

#[test]
fn without_a_panic_the_last_oops_else_the_first_report() {
    let t = |log: &str| extract(log).map(|s| s.title);
    let oops = "[ 45.1] kernel BUG at mm/y.c:1!\n\
                [ 45.1] Oops: invalid opcode: 0000 [#1] SMP\n\
                [ 45.1] RIP: 0010:baz_bug+0x4/0x6\n\
                [ 45.1] ---[ end trace 0000000000000000 ]---\n";
    let w1 = warning_at(40, "T9", "first_warn");
    let w2 = warning_at(50, "T9", "second_warn");
    // WARNINGs (no panic_on_warn) never cause a dump: the oops does, before or after them.
    assert_eq!(
        t(&format!("{w1}{oops}{w2}")).as_deref(),
        Some("kernel BUG in baz_bug")
    );
    // No oops: the first report, as syzkaller titles a log.
    assert_eq!(
        t(&format!("{w1}{w2}")).as_deref(),
        Some("WARNING in first_warn")
    );
    // A second boot's log pasted after the first (timestamps restart): the first boot's.
    let reboot = "[    0.000000] Linux version 7.3.4\n[    5.1] kernel BUG at mm/z.c:1!\n\
                  [    5.1] RIP: 0010:other_bug+0x4/0x6\n";
    assert_eq!(
        t(&format!("{w1}{reboot}")).as_deref(),
        Some("WARNING in first_warn")
    );
}

#[test]
fn report_kinds_of_one_bug_share_a_bucket() {
    // An RCU stall and a soft lockup in one function are one stall; a KASAN report, a
    // general protection fault and a page fault in one function one bad access.
    for (a, b) in [
        (
            "INFO: rcu detected stall in kvm_vcpu_ioctl",
            "BUG: soft lockup in kvm_vcpu_ioctl",
        ),
        (
            "INFO: task hung in synchronize_rcu",
            "INFO: task can't die in synchronize_rcu",
        ),
        (
            "KASAN: slab-out-of-bounds Read in sg_remove_request",
            "general protection fault in sg_remove_request",
        ),
        (
            "KASAN: use-after-free Write in f",
            "BUG: unable to handle kernel paging request in f",
        ),
        (
            "kernel panic: corrupted stack end in wb_workfn",
            "BUG: stack guard page was hit in wb_workfn",
        ),
    ] {
        assert_eq!(bucket_id(a), bucket_id(b), "{a} / {b}");
    }
    for (a, b) in [
        ("BUG: soft lockup in f", "BUG: soft lockup in g"),
        (
            "KASAN: use-after-free Read in f",
            "KASAN: invalid-free in f",
        ),
        ("INFO: task hung in f", "INFO: rcu detected stall in f"),
        ("WARNING in f", "KASAN: use-after-free Read in f"),
        (
            "BUG: using smp_processor_id() in preemptible code in f",
            "BUG: soft lockup in f",
        ),
    ] {
        assert_ne!(bucket_id(a), bucket_id(b), "{a} / {b}");
    }
}

#[test]
fn function_families_in_titles() {
    // An IPI stall (syzkaller corpus, 4.x): the variant of smp_call_function does not count.
    let soft = "\
[  593.126245] watchdog: BUG: soft lockup - CPU#1 stuck for 134s! [syz-executor2:11111]
[  593.282931] RIP: 0010:smp_call_function_single+0x1c4/0x4d0
[  593.282931] Call Trace:
[  593.282931]  perf_event_read+0x1ad/0x390
[  593.282931]  perf_read+0x2a0/0x890
";
    let s = extract(soft).unwrap();
    assert_eq!(s.title, "BUG: soft lockup in smp_call_function");
    let many = soft.replace("smp_call_function_single", "smp_call_function_many");
    assert_eq!(extract(&many).unwrap().bucket, s.bucket);
    let hung = "\
[  494.157408] INFO: task syz-executor4:13376 blocked for more than 140 seconds.
[  494.164828] Call Trace:
[  494.167422]  __schedule+0x8cc/0x1ed0
[  494.193640]  schedule+0xf5/0x1b0
[  494.197012]  wait_for_completion+0x1e6/0x420
[  494.213071]  __wait_rcu_gp+0x24f/0x390
[  494.217085]  synchronize_sched.part.61+0xf0/0x140
[  494.248580]  rcu_barrier_sched+0x20/0x20
[  494.249580]  netdev_run_todo+0x2a0/0x800
";
    // A hang in an RCU grace-period wait is titled by the public wait (syzkaller's
    // convention), whatever its flavour or internal helpers.
    assert_eq!(
        extract(hung).unwrap().title,
        "INFO: task hung in synchronize_rcu"
    );
}

#[test]
fn invalid_wait_context_is_a_locking_bug() {
    let log = "\
[  513.624689][ T4448] =============================
[  513.625024][ T4448] [ BUG: Invalid wait context ]
[  513.625454][ T4448] 5.9.0-12994-gf9893351acae #15 Not tainted
[  513.625876][ T4448] -----------------------------
[  513.626258][ T4448] syz-executor.0/4448 is trying to lock:
[  513.626811][ T4448] ffff00004a747498 (&mm->mmap_lock){++++}-{3:3}, at: __might_fault+0x108/0x1b0
[  513.630554][ T4448] stack backtrace:
[  513.632435][ T4448] Call trace:
[  513.632830][ T4448]  dump_backtrace+0x0/0x4d0
[  513.633216][ T4448]  show_stack+0x2c/0x80
[  513.633605][ T4448]  dump_stack+0x1b0/0x254
[  513.633979][ T4448]  __lock_acquire+0x1a04/0x4930
[  513.634359][ T4448]  lock_acquire+0x278/0xb88
[  513.634769][ T4448]  __might_fault+0x138/0x1b0
[  513.635149][ T4448]  do_ipv6_setsockopt.isra.0+0x4a8/0x4738
[  513.635538][ T4448]  ipv6_setsockopt+0x124/0x408
";
    assert_eq!(
        extract(log).unwrap().title,
        "WARNING: locking bug in do_ipv6_setsockopt"
    );
}

#[test]
fn corrupted_stack_end_is_its_outermost_frame() {
    let log = "\
[  335.974403] Kernel panic - not syncing: corrupted stack end detected inside scheduler
[  335.975933] CPU: 0 PID: 11678 Comm: kworker/u12:6 Not tainted 4.20.0+ #11
[  335.978779] Workqueue: writeback wb_workfn (flush-8:0)
[  335.979784] Call Trace:
[  335.980287]  dump_stack+0x1d3/0x2c6
[  335.982672]  panic+0x2ad/0x55f
[  335.986347]  __schedule+0x1ec6/0x1ed0
[  335.993751]  preempt_schedule_irq+0x87/0x110
[  335.994383]  retint_kernel+0x1b/0x2d
[  336.006590]  rmap_walk+0x119/0x350
[  336.009046]  try_to_unmap+0x1f3/0xa40
[  336.020876]  shrink_page_list+0x70ef/0xc2e0
[  336.350813]  wb_writeback+0xa73/0xfc0
[  336.356813]  wb_workfn+0xd65/0x1790
[  336.370426]  process_one_work+0xc90/0x1c40
[  336.387991]  worker_thread+0x17f/0x1390
[  336.400947]  kthread+0x35a/0x440
[  336.401947]  ret_from_fork+0x3a/0x50
";
    assert_eq!(
        extract(log).unwrap().title,
        "kernel panic: corrupted stack end in wb_workfn"
    );
}

#[test]
fn stall_in_a_netlink_handler_and_after_console_text() {
    // User space's unterminated "syzkaller login: " before the kernel's line.
    let log = "\
syzkaller login: [  350.121212][    C3] rcu: INFO: rcu_sched self-detected stall on CPU
[  350.173488][    C3]  </IRQ>
[  350.173985][    C3] RIP: 0010:hash_ipportnet4_expire+0x1ab/0x8f0
[  350.186689][    C3]  hash_ipportnet4_add+0x178/0x2360
[  350.236080][    C3]  ip_set_uadd+0x37/0x50
[  350.238387][    C3]  nfnetlink_rcv_msg+0xccd/0xfa0
[  350.246505][    C3]  netlink_rcv_skb+0x172/0x460
[  350.251545][    C3]  nfnetlink_rcv+0x1ba/0x460
[  350.254774][    C3]  netlink_unicast+0x5a9/0x7c0
[  350.259273][    C3]  netlink_sendmsg+0x915/0xe90
[  350.267753][    C3]  sock_sendmsg+0xd2/0x120
[  350.268650][    C3]  ____sys_sendmsg+0x744/0x870
[  350.271122][    C3]  ___sys_sendmsg+0x10a/0x180
[  350.281383][    C3]  __sys_sendmsg+0x110/0x1f0
[  350.289158][    C3]  __x64_sys_sendmsg+0x78/0xb0
";
    assert_eq!(
        extract(log).unwrap().title,
        "INFO: rcu detected stall in ip_set_uadd"
    );
    // Without a dispatcher or socket call, the system call, not its shared helpers.
    let plain: String = log
        .lines()
        .filter(|l| !l.contains("netlink") && !l.contains("ip_set") && !l.contains("sock_"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(
        extract(&plain).unwrap().title,
        "INFO: rcu detected stall in sys_sendmsg"
    );
}

#[test]
fn driver_core_teardown_is_not_the_bug() {
    let log = "\
[   43.990194][   T12] general protection fault: 0000 [#1] SMP KASAN
[   44.014751][   T12] Workqueue: usb_hub_wq hub_event
[   44.019837][   T12] RIP: 0010:device_del+0x7a/0xb80
[   44.114551][   T12] Call Trace:
[   44.123311][   T12]  ? __device_links_no_driver+0x240/0x240
[   44.138778][   T12]  device_unregister+0x11/0x30
[   44.143593][   T12]  hdm_disconnect+0xdf/0x200
[   44.148174][   T12]  usb_unbind_interface+0x1bd/0x8a0
[   44.158710][   T12]  device_release_driver_internal+0x404/0x4c0
[   44.164819][   T12]  bus_remove_device+0x2dc/0x4a0
[   44.169824][   T12]  device_del+0x460/0xb80
";
    assert_eq!(
        extract(log).unwrap().title,
        "general protection fault in hdm_disconnect"
    );
}

#[test]
fn header_spellings_of_other_kernel_versions() {
    let t = |log: &str| extract(log).map(|s| s.title);
    // 5.9: "divide_error:" (the trap's name) instead of "divide error:".
    let div = "\
[   63.550339][    C1] divide_error: 0000 [#1] PREEMPT SMP KASAN
[   63.556240][    C1] CPU: 1 PID: 6855 Comm: syz-executor857 Not tainted 5.9.0-rc8-syzkaller #0
[   63.575262][    C1] RIP: 0010:tabledist.part.0+0x22a/0x2a0
";
    assert_eq!(t(div).as_deref(), Some("divide error in tabledist"));
    // 6.x: a task in uninterruptible I/O sleep.
    let io = "\
[  584.319520][   T31] INFO: task udevd:5612 blocked in I/O wait for more than 143 seconds.
[  584.319578][   T31] Call Trace:
[  584.319590][   T31]  __schedule+0xb4d/0x3040
[  584.319600][   T31]  io_schedule+0x8c/0x100
[  584.319610][   T31]  folio_wait_bit_common+0x69c/0xc20
[  584.319620][   T31]  filemap_read_folio+0x1b0/0x290
[  584.319630][   T31]  do_read_cache_folio+0x139/0x5b0
";
    assert_eq!(
        t(io).as_deref(),
        Some("INFO: task hung in filemap_read_folio")
    );
    // 4.x: the lockup detector's message on an NMI watchdog kernel.
    let nmi = "\
[  848.443720] NMI watchdog: BUG: soft lockup - CPU#1 stuck for 123s! [syz-executor694:3996]
[  848.519454] RIP: 0010:[<ffffffff8160fc09>]  [<ffffffff8160fc09>] change_mnt_propagation+0xa9/0xbd0
";
    assert_eq!(
        t(nmi).as_deref(),
        Some("BUG: soft lockup in change_mnt_propagation")
    );
}

#[test]
fn debug_helpers_are_not_the_bug() {
    let t = |log: &str| extract(log).map(|s| s.title);
    // spinlock debugging's own reporting function (4.4).
    let magic = "\
[   82.818367] BUG: spinlock bad magic on CPU#0, syz-executor/20513
[   82.824830]  lock: 0xffff8800bb37e088, .magic: ffff8800, .owner: <none>/-1, .owner_cpu: 131071
[   82.873873] Call Trace:
[   82.876438]  [<ffffffff81c01b4c>] dump_stack+0x80/0xb4
[   82.881697]  [<ffffffff811d2be2>] spin_dump+0x152/0x280
[   82.887044]  [<ffffffff811d2fc5>] do_raw_spin_lock+0x225/0x2c0
[   82.892991]  [<ffffffff828b61be>] _raw_spin_lock+0xe/0x10
[   82.898497]  [<ffffffff824e6a26>] tcp_nuke_addr+0x586/0x8a0
[   82.910115]  [<ffffffff8259012f>] devinet_ioctl+0x58f/0x1460
";
    assert_eq!(
        t(magic).as_deref(),
        Some("BUG: spinlock bad magic in tcp_nuke_addr")
    );
    // A HWASAN tag check the compiler inserted is where the fault is, not what faulted.
    let hw = "\
[  110.116437][ T6339] Unable to handle kernel paging request at virtual address efff800000000000
[  110.171104][ T6339] pc : __hwasan_check_x0_67043363+0x4/0x30
[  110.171536][ T6339] lr : vgic_mmio_write_invlpi+0xb0/0x174
[  110.172185][ T6339] Call trace:
[  110.172380][ T6339]  __hwasan_check_x0_67043363+0x4/0x30
[  110.172741][ T6339]  vgic_mmio_write_invlpi+0xb0/0x174
[  110.173101][ T6339]  dispatch_mmio_write+0x2a4/0x308
";
    assert_eq!(
        t(hw).as_deref(),
        Some("BUG: unable to handle kernel paging request in vgic_mmio_write_invlpi")
    );
    // A bad page state names the page's allocation site, past the page allocator (6.x).
    let page = "\
[  360.589544][ T8978] BUG: Bad page state in process syz.3.584  pfn:7071f
[  360.607825][ T8978] flags: 0xfff00000000000(node=0|zone=1|lastcpupid=0x7ff)
[  360.639671][ T8978] page dumped because: page_pool leak
[  360.646064][ T8978] page_owner tracks the page as allocated
[  360.665078][ T8978]  post_alloc_hook+0x1f3/0x230
[  360.670446][ T8978]  get_page_from_freelist+0x2e4c/0x2f10
[  360.676464][ T8978]  __alloc_pages_noprof+0x256/0x6c0
[  360.681981][ T8978]  alloc_pages_bulk_noprof+0x729/0xd40
[  360.694427][ T8978]  __page_pool_alloc_pages_slow+0x138/0x690
[  360.700249][ T8978]  page_pool_alloc_pages+0xcb/0x150
[  360.706140][ T8978]  bpf_test_run_xdp_live+0x939/0x2110
[  360.711890][ T8978]  bpf_prog_test_run_xdp+0x80e/0x11b0
";
    assert_eq!(
        t(page).as_deref(),
        Some("BUG: Bad page state in bpf_test_run_xdp_live")
    );
}

// Hand-written logs in the kernel's (and syzkaller's, and Go's) report formats, one class of
// report or frame each.

fn title(log: &str) -> Option<String> {
    extract(log).map(|s| s.title)
}

#[test]
fn string_formatting_and_buffer_helpers_are_not_the_bug() {
    // mm/kasan/report.c: the access is in vsnprintf(), the caller passed the bad buffer.
    let kasan = "\
[  100.000001] ==================================================================
[  100.000002] BUG: KASAN: slab-out-of-bounds in vsnprintf+0x1a2/0x1b00 lib/vsprintf.c:2800
[  100.000003] Read of size 1 at addr ffff888012345678 by task kworker/0:1/12
[  100.000004] Call Trace:
[  100.000005]  dump_stack_lvl+0x8b/0xb3
[  100.000006]  print_report+0x171/0x4a0
[  100.000007]  kasan_report+0xb1/0x130
[  100.000008]  string_nocheck lib/vsprintf.c:640 [inline]
[  100.000009]  string+0x1c1/0x210
[  100.000010]  vsnprintf+0x1a2/0x1b00
[  100.000011]  snprintf+0xbb/0xf0
[  100.000012]  kstrdup+0x3a/0x70
[  100.000013]  foo_probe+0x1a4/0x600 [foo]
[  100.000014]  usb_probe_interface+0x30b/0x7f0
[  100.000015] ==================================================================
";
    assert_eq!(
        title(kasan).as_deref(),
        Some("KASAN: slab-out-of-bounds Read in foo_probe")
    );
    // lib/bug.c WARNING in a bus submission helper: the driver that submitted.
    let warn = "\
[   20.000001] ------------[ cut here ]------------
[   20.000002] URB 00000000deadbeef submitted while active
[   20.000003] WARNING: CPU: 1 PID: 345 at drivers/usb/core/urb.c:378 usb_submit_urb+0x1208/0x1560
[   20.000004] RIP: 0010:usb_submit_urb+0x1208/0x1560
[   20.000005] Call Trace:
[   20.000006]  bar_start_rx+0x8a/0x1c0 [bar]
[   20.000007]  bar_open+0x4c/0xa0 [bar]
[   20.000008]  __dev_open+0x2bc/0x4d0
[   20.000009] ---[ end trace 0000000000000000 ]---
";
    assert_eq!(title(warn).as_deref(), Some("WARNING in bar_start_rx"));
    // Checksum, crypto and list-debug helpers.
    for (helper, file) in [
        ("csum_partial", "arch/x86/lib/csum-partial_64.c:41"),
        ("sha256_update", "lib/crypto/sha256.c:120"),
        ("crc32_le", "lib/crc32.c:190"),
        ("memcpy", "mm/kasan/shadow.c:65"),
    ] {
        let log = format!(
            "\
[  100.000002] BUG: KASAN: use-after-free in {helper}+0x12/0x80 {file}
[  100.000003] Read of size 8 at addr ffff888012345678 by task syz-executor/7
[  100.000004] Call Trace:
[  100.000005]  kasan_report+0xb1/0x130
[  100.000006]  __asan_load8+0x69/0x90
[  100.000007]  {helper}+0x12/0x80
[  100.000008]  baz_xmit+0x1f0/0x400
[  100.000009]  dev_hard_start_xmit+0x1a0/0x5f0
"
        );
        assert_eq!(
            title(&log).as_deref(),
            Some("KASAN: use-after-free Read in baz_xmit"),
            "{helper}"
        );
    }
    // lib/list_debug.c: a corrupted list, titled by the list's user.
    let list = "\
[   30.000001] list_del corruption. prev->next should be ffff888012345678, but was dead000000000100
[   30.000002] ------------[ cut here ]------------
[   30.000003] kernel BUG at lib/list_debug.c:53!
[   30.000004] invalid opcode: 0000 [#1] PREEMPT SMP KASAN
[   30.000005] RIP: 0010:__list_del_entry_valid.cold+0x37/0x7b
[   30.000006] Call Trace:
[   30.000007]  __list_del_entry include/linux/list.h:134 [inline]
[   30.000008]  list_del include/linux/list.h:148 [inline]
[   30.000009]  qux_remove_pack+0x9c/0x2a0
[   30.000010]  qux_release+0x33/0x90
[   30.000011] ---[ end trace 0000000000000000 ]---
";
    assert_eq!(
        title(list).as_deref(),
        Some("BUG: corrupted list in qux_remove_pack")
    );
    // A refcount helper under a KASAN report, and a lock primitive under a GPF.
    let gpf = "\
[   40.000001] general protection fault, probably for non-canonical address 0xdffffc0000000003: 0000 [#1] SMP KASAN
[   40.000002] RIP: 0010:__mutex_lock+0x120/0x9a0
[   40.000003] Call Trace:
[   40.000004]  mutex_lock_nested+0x16/0x20
[   40.000005]  quux_write_lock+0x41/0x90
[   40.000006]  quux_readdir+0x1b0/0x700
[   40.000007] ---[ end trace 0000000000000000 ]---
";
    assert_eq!(
        title(gpf).as_deref(),
        Some("general protection fault in quux_write_lock")
    );
}

#[test]
fn hung_task_in_an_rcu_wait_is_the_public_wait() {
    // The internal waits (`__wait_rcu_gp`, `synchronize_rcu_normal`, `__synchronize_srcu`) and
    // the expedited/old flavours are folded into the public wait syzkaller titles hangs by;
    // `synchronize_net` is the network stack's wrapper around those.
    for (waits, want) in [
        (&["synchronize_srcu"][..], "synchronize_srcu"),
        (
            &["__synchronize_srcu", "synchronize_srcu"],
            "synchronize_srcu",
        ),
        (&["__synchronize_srcu"], "synchronize_srcu"),
        (
            &["__synchronize_srcu", "synchronize_srcu_expedited"],
            "synchronize_srcu",
        ),
        (&["synchronize_rcu"], "synchronize_rcu"),
        (
            &["synchronize_rcu_normal", "synchronize_rcu"],
            "synchronize_rcu",
        ),
        (
            &["synchronize_rcu_expedited", "synchronize_net"],
            "synchronize_rcu",
        ),
        (
            &[
                "__wait_rcu_gp",
                "synchronize_sched.part.0",
                "synchronize_sched",
                "synchronize_net",
            ],
            "synchronize_rcu",
        ),
        (&["__wait_rcu_gp", "synchronize_rcu_bh"], "synchronize_rcu"),
        (&["rcu_barrier"], "corge_cleanup_net"),
    ] {
        let frames: String = waits
            .iter()
            .enumerate()
            .map(|(i, w)| format!("[  300.00001{i}]  {w}+0x1a0/0x230\n"))
            .collect();
        let log = format!(
            "\
[  300.000001] INFO: task kworker/u4:2:123 blocked for more than 143 seconds.
[  300.000002]       Not tainted 6.1.0 #1
[  300.000003] task:kworker/u4:2    state:D stack:24000 pid:123 ppid:2 flags:0x00004000
[  300.000004] Call Trace:
[  300.000005]  <TASK>
[  300.000006]  __schedule+0x8cc/0x1ed0
[  300.000007]  schedule+0xde/0x1b0
[  300.000008]  schedule_timeout+0x14b/0x290
[  300.000009]  wait_for_completion+0x185/0x330
{frames}[  300.000021]  corge_cleanup_net+0x33/0x90
[  300.000022]  ops_exit_list+0xb0/0x170
[  300.000023]  cleanup_net+0x4ee/0xb10
"
        );
        assert_eq!(
            title(&log).as_deref(),
            Some(format!("INFO: task hung in {want}").as_str()),
            "{waits:?}"
        );
    }
}

#[test]
fn stack_overflows_are_titled_by_their_recursion_or_entry() {
    let recursion = |inner: &str| {
        format!(
            "\
[   50.000001] BUG: TASK stack guard page was hit at ffffc90000b8ff58 (stack is ffffc90000b90000..ffffc90000b98000)
[   50.000002] stack guard page: 0000 [#1] PREEMPT SMP KASAN
[   50.000003] RIP: 0010:{inner}+0x10/0x60
[   50.000004] Call Trace:
[   50.000005]  {inner}+0x10/0x60
[   50.000006]  grault_walk+0x55/0x120
[   50.000007]  grault_walk+0x80/0x120
[   50.000008]  grault_walk+0x80/0x120
[   50.000009]  grault_walk+0x80/0x120
[   50.000010]  sys_ioctl+0x1a/0x20
[   50.000011] ---[ end trace 0000000000000000 ]---
"
        )
    };
    let a = extract(&recursion("mark_lock")).unwrap();
    let b = extract(&recursion("kmem_cache_alloc_trace")).unwrap();
    assert_eq!(a.title, "BUG: stack guard page was hit in grault_walk");
    assert_eq!(a.bucket, b.bucket);
    // No repeated frame: the entry (the system call), not wherever the guard page was hit.
    let deep = |inner: &str| {
        format!(
            "\
[   50.000001] BUG: stack guard page was hit at ffffc90000b8ff58 (stack is ffffc90000b90000..ffffc90000b98000)
[   50.000003] RIP: 0010:{inner}+0x10/0x60
[   50.000004] Call Trace:
[   50.000006]  garply_a+0x55/0x120
[   50.000007]  garply_b+0x80/0x120
[   50.000010]  __x64_sys_sendmsg+0x1a/0x20
[   50.000011]  do_syscall_64+0x3d/0x90
[   50.000012] ---[ end trace 0000000000000000 ]---
"
        )
    };
    let c = extract(&deep("validate_chain")).unwrap();
    let d = extract(&deep("unwind_next_frame")).unwrap();
    assert_eq!(c.title, "BUG: stack guard page was hit in sys_sendmsg");
    assert_eq!(c.bucket, d.bucket);
    // A double fault that says it is a stack overflow is one too, in the same bucket class.
    let df = "\
[   60.000001] PANIC: double fault, error_code: 0x0
[   60.000002] BUG: unable to handle kernel stack overflow (double-fault): 0000 [#1]
[   60.000003] RIP: 0010:validate_chain+0x10/0x60
[   60.000004] Call Trace:
[   60.000006]  garply_a+0x55/0x120
[   60.000010]  __x64_sys_sendmsg+0x1a/0x20
";
    let e = extract(df).unwrap();
    assert_eq!(e.title, "PANIC: double fault in sys_sendmsg");
    // arm64: no guard page, a check on exception entry, then a panic; same bucket class.
    let arm = "\
[   61.000001] Insufficient stack space to handle exception!
[   61.000002] Task stack:     [0xffff800080000000..0xffff800080010000]
[   61.000003] Kernel panic - not syncing: kernel stack overflow
[   61.000004] Call trace:
[   61.000005]  dump_backtrace+0x0/0x1e0
[   61.000006]  panic+0x1a0/0x3b4
[   61.000007]  handle_bad_stack+0x34/0x40
[   61.000008]  garply_a+0x55/0x120
[   61.000009]  garply_b+0x80/0x120
[   61.000010]  __arm64_sys_sendmsg+0x1a/0x20
[   61.000011]  invoke_syscall+0x48/0x114
";
    let f = extract(arm).unwrap();
    assert_eq!(
        f.title,
        "kernel panic: kernel stack overflow in sys_sendmsg"
    );
    assert_eq!(f.bucket, c.bucket);
}

#[test]
fn stalls_fall_back_to_the_system_call() {
    // Everything inside the interrupted context is generic: the system call titles it.
    let rcu = "\
[  200.000001] rcu: INFO: rcu_preempt self-detected stall on CPU
[  200.000002] rcu: 	0-....: (10500 ticks this GP) idle=1c6/1/0x4000000000000000
[  200.000003] Call Trace:
[  200.000004]  <IRQ>
[  200.000005]  rcu_dump_cpu_stacks+0x1a1/0x1ed
[  200.000006]  update_process_times+0x24/0x70
[  200.000007]  sysvec_apic_timer_interrupt+0x8e/0xc0
[  200.000008]  </IRQ>
[  200.000009]  <TASK>
[  200.000010]  asm_sysvec_apic_timer_interrupt+0x1a/0x20
[  200.000011] RIP: 0010:_raw_spin_unlock_irqrestore+0x3c/0x70
[  200.000012]  __wake_up_common_lock+0xd0/0x130
[  200.000013]  __x64_sys_sched_yield+0x1a/0x20
[  200.000014]  do_syscall_64+0x3d/0xb0
[  200.000015]  entry_SYSCALL_64_after_hwframe+0x63/0xcd
";
    assert_eq!(
        title(rcu).as_deref(),
        Some("INFO: rcu detected stall in sys_sched_yield")
    );
    // A soft lockup in a driver's ioctl: the ioctl handler the VFS called, wherever it loops.
    let soft = |rip: &str| {
        format!(
            "\
[  210.000001] watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [syz-executor:1234]
[  210.000002] RIP: 0010:{rip}+0x3c/0x70
[  210.000003] Call Trace:
[  210.000004]  waldo_poll_loop+0x55/0x120
[  210.000005]  waldo_ioctl+0x80/0x520
[  210.000006]  __x64_sys_ioctl+0x19d/0x210
[  210.000007]  do_syscall_64+0x3d/0xb0
"
        )
    };
    let a = extract(&soft("waldo_hw_wait")).unwrap();
    let b = extract(&soft("_raw_spin_lock")).unwrap();
    assert_eq!(a.title, "BUG: soft lockup in waldo_ioctl");
    assert_eq!(a.bucket, b.bucket);
    // A hung task with nothing but waits and the system call.
    let hung = "\
[  300.000001] INFO: task syz-executor:99 blocked for more than 143 seconds.
[  300.000004] Call Trace:
[  300.000006]  __schedule+0x8cc/0x1ed0
[  300.000007]  schedule+0xde/0x1b0
[  300.000008]  rwsem_down_write_slowpath+0x4ee/0x1000
[  300.000009]  down_write+0x14c/0x160
[  300.000010]  __x64_sys_unshare+0x2a/0x40
[  300.000011]  do_syscall_64+0x3d/0xb0
";
    assert_eq!(
        title(hung).as_deref(),
        Some("INFO: task hung in sys_unshare")
    );
}

#[test]
fn report_kinds_of_other_subsystems() {
    let stack_segment = "\
[   10.000001] stack segment: 0000 [#1] PREEMPT SMP KASAN
[   10.000002] CPU: 0 PID: 1 Comm: syz-executor Not tainted 6.1.0 #1
[   10.000003] RIP: 0010:fred_lookup+0x42/0x120
[   10.000004] Call Trace:
[   10.000005]  fred_sendmsg+0x90/0x200
[   10.000006] ---[ end trace 0000000000000000 ]---
";
    assert_eq!(
        title(stack_segment).as_deref(),
        Some("stack segment fault in fred_lookup")
    );
    // mm/slub.c object checks.
    let poison = "\
[   11.000001] =============================================================================
[   11.000002] BUG kmalloc-64 (Not tainted): Poison overwritten
[   11.000003] -----------------------------------------------------------------------------
[   11.000004] 0xffff888012345678-0xffff88801234567f @offset=1234. First byte 0x6a instead of 0x6b
[   11.000005] Allocated in plugh_alloc+0x20/0x60 age=12 cpu=0 pid=1
[   11.000006] INFO: Freed in plugh_free+0x30/0x70 age=10 cpu=1 pid=2
[   11.000007] CPU: 0 PID: 1 Comm: swapper Not tainted 6.1.0 #1
[   11.000008] Call Trace:
[   11.000009]  dump_stack_lvl+0x8b/0xb3
[   11.000010]  check_bytes_and_report+0x10f/0x160
[   11.000011]  __kmalloc+0x55/0x100
[   11.000012]  xyzzy_init+0x10/0x40
";
    assert_eq!(
        title(poison).as_deref(),
        Some("BUG: slab: Poison overwritten in plugh_free")
    );
    let remaining = "\
[   12.000001] =============================================================================
[   12.000002] BUG thud_cache (Tainted: G    B  ): Objects remaining in thud_cache on __kmem_cache_shutdown()
[   12.000003] -----------------------------------------------------------------------------
[   12.000004] Slab 0xffffea0000123456 objects=32 used=1 fp=0x0000000000000000 flags=0x200
[   12.000005] Call Trace:
[   12.000006]  dump_stack_lvl+0x8b/0xb3
[   12.000007]  slab_err+0xb0/0xf0
[   12.000008]  __kmem_cache_shutdown+0x1a0/0x3d0
[   12.000009]  kmem_cache_destroy+0x4f/0x120
[   12.000010]  thud_exit+0x20/0x40 [thud]
[   12.000011]  __do_sys_delete_module+0x2e0/0x3e0
";
    assert_eq!(
        title(remaining).as_deref(),
        Some("BUG: slab: Objects remaining on __kmem_cache_shutdown() in thud_exit")
    );
    // The old bracketed lockdep header.
    let rcu = "\
[   13.000001] ===============================
[   13.000002] [ INFO: suspicious rcu_dereference_check() usage. ]
[   13.000003] 4.9.0 #1 Not tainted
[   13.000004] -------------------------------
[   13.000005] net/core/dev.c:1234 suspicious rcu_dereference_check() usage!
[   13.000006] stack backtrace:
[   13.000007] Call Trace:
[   13.000008]  dump_stack+0x194/0x257
[   13.000009]  lockdep_rcu_suspicious+0x123/0x170
[   13.000010]  wibble_lookup+0x2a0/0x300
";
    assert_eq!(
        title(rcu).as_deref(),
        Some("INFO: suspicious RCU usage in wibble_lookup")
    );
    // mm/page_alloc.c warn_alloc().
    let alloc = "\
[   14.000001] syz-executor: page allocation failure: order:4, mode:0x40dc0(GFP_KERNEL|__GFP_COMP|__GFP_ZERO), nodemask=(null),cpuset=/,mems_allowed=0
[   14.000002] CPU: 0 PID: 1 Comm: syz-executor Not tainted 6.1.0 #1
[   14.000003] Call Trace:
[   14.000004]  dump_stack_lvl+0x8b/0xb3
[   14.000005]  warn_alloc+0x1d2/0x330
[   14.000006]  __alloc_pages_slowpath+0x1a0/0x1e00
[   14.000007]  __alloc_pages+0x3f0/0x4d0
[   14.000008]  kmalloc_large+0x20/0x90
[   14.000009]  wobble_setup_ring+0x90/0x200
";
    assert_eq!(
        title(alloc).as_deref(),
        Some("page allocation failure in wobble_setup_ring")
    );
    // arch/x86/kernel/cpu/mce: the panic is the machine check's.
    let mce = "\
[   15.000001] mce: [Hardware Error]: CPU 1: Machine Check Exception: 5 Bank 4: f600000000020813
[   15.000002] mce: [Hardware Error]: RIP !INEXACT! 10:<ffffffff81234567> {native_safe_halt+0x6/0x10}
[   15.000003] mce: [Hardware Error]: TSC 0 ADDR 12345678 MISC 0
[   15.000004] mce: [Hardware Error]: Run the above through 'mcelog --ascii'
[   15.000005] Kernel panic - not syncing: Fatal machine check
";
    assert_eq!(title(mce).as_deref(), Some("MCE: hardware error"));
    let bare = "[   15.000005] Kernel panic - not syncing: Fatal machine check\n";
    assert_eq!(
        title(bare).as_deref(),
        Some("kernel panic: Fatal machine check")
    );
}

#[test]
fn user_space_crashes_and_reboots() {
    assert_eq!(
        title("SYZFAIL: SIGSEGV\n(errno 0: Success)\n").as_deref(),
        Some("SYZFAIL: SIGSEGV")
    );
    assert_eq!(
        title(
            "2024/01/02 03:04:05 SYZFATAL: executor 3 failed 11 times: mkdir ./dir123: read-only\n"
        )
        .as_deref(),
        Some("SYZFATAL: executor NUM failed NUM times: mkdir ./dirNUM: read-only")
    );
    let go = "\
panic: runtime error: index out of range [5] with length 3

goroutine 17 [running]:
github.com/example/fuzz/pkg/host.parseFeatures(0xc000123456, 0x3)
	/src/pkg/host/features.go:120 +0x1f4
main.main()
	/src/cmd/main.go:40 +0x85
";
    assert_eq!(
        title(go).as_deref(),
        Some(
            "panic: runtime error: index out of range [NUM] with length NUM in github.com/example/fuzz/pkg/host.parseFeatures"
        )
    );
    let fatal = "\
fatal error: concurrent map writes

goroutine 9 [running]:
runtime.throw({0x123456, 0x15})
	/usr/lib/go/src/runtime/panic.go:1047 +0x5d
main.worker(0xc000010000)
	/src/main.go:10 +0x25
";
    let s = extract(fatal).unwrap();
    assert_eq!(s.title, "fatal error: concurrent map writes in main.worker");
    // Without a goroutine trace, "panic: " is not Go's.
    assert_eq!(title("panic: something else\nhello\n"), None);
    // The kernel boots again after it had run, with no crash report between.
    let reboot = "\
[  100.000001] random: crng init done
[  101.000001] syz-executor: some message
[    0.000000] Linux version 6.1.0 (root@host) (gcc 12) #1 SMP
[    0.000001] Command line: console=ttyS0
";
    assert_eq!(title(reboot).as_deref(), Some("unexpected kernel reboot"));
    let boot = "\
[    0.000000] Linux version 6.1.0 (root@host) (gcc 12) #1 SMP
[    0.000001] Command line: console=ttyS0
";
    assert_eq!(title(boot), None);
}

#[test]
fn syslog_lines() {
    let plain = "\
Nov 30 15:04:05 host kernel: BUG: unable to handle page fault for address: ffffffffffffffe8
Nov 30 15:04:05 host kernel: #PF: supervisor read access in kernel mode
Nov 30 15:04:05 host kernel: Oops: 0000 [#1] PREEMPT SMP PTI
Nov 30 15:04:05 host kernel: RIP: 0010:fizz_read+0x1c/0x80 [fizz]
Nov 30 15:04:05 host kernel: Call Trace:
Nov 30 15:04:05 host kernel:  vfs_read+0xa6/0x180
";
    let s = extract(plain).unwrap();
    assert_eq!(
        s.title,
        "BUG: unable to handle kernel paging request in fizz_read"
    );
    let stamped: String = plain
        .lines()
        .enumerate()
        .map(|(i, l)| l.replace("kernel: ", &format!("kernel: [  12.00000{i}] ")) + "\n")
        .collect();
    assert_eq!(extract(&stamped).unwrap().bucket, s.bucket);
    let iso = plain.replace(
        "Nov 30 15:04:05 host",
        "2026-11-30T15:04:05.123456+00:00 host",
    );
    assert_eq!(extract(&iso).unwrap().bucket, s.bucket);
    let bare = plain.replace("Nov 30 15:04:05 host ", "");
    assert_eq!(extract(&bare).unwrap().bucket, s.bucket);
}

#[test]
fn powerpc_and_arm_frames() {
    let ppc = "\
[   70.000001] BUG: Kernel NULL pointer dereference on read at 0x00000000
[   70.000002] Oops: Kernel access of bad area, sig: 11 [#1]
[   70.000003] NIP:  c000000000123450 LR: c000000000123400 CTR: 0000000000000000
[   70.000004] NIP [c000000000123450] .buzz_xmit+0x1c/0x80
[   70.000005] LR [c000000000123400] .buzz_send+0x30/0x90
[   70.000006] Call Trace:
[   70.000007] [c000000001234560] [c000000000123400] .buzz_send+0x30/0x90 (unreliable)
[   70.000008] [c000000001234600] [c000000000234500] .dev_hard_start_xmit+0x100/0x2a0
";
    let s = extract(ppc).unwrap();
    assert_eq!(
        s.title,
        "BUG: unable to handle kernel NULL pointer dereference in buzz_xmit"
    );
    assert_eq!(s.frames[..2], ["buzz_xmit", "buzz_send"]);
    // arm: a jump to a bad address; the caller is in the link register.
    let arm = "\
[   80.000001] Unable to handle kernel paging request at virtual address deadbeef
[   80.000002] Internal error: Oops: 80000005 [#1] PREEMPT SMP ARM
[   80.000003] PC is at 0xdeadbeef
[   80.000004] LR is at bazz_dispatch+0x34/0x48
";
    assert_eq!(
        title(arm).as_deref(),
        Some("BUG: unable to handle kernel paging request in bazz_dispatch")
    );
}

#[test]
fn mangled_symbols_are_demangled() {
    let rust = "\
[   90.000001] rust_kernel: panicked at drivers/frob/queue.rs:42:9:
[   90.000002] attempt to add with overflow
[   90.000003] Call Trace:
[   90.000004]  _RNvCs1a2b3c_7___rustc17rust_begin_unwind+0x10/0x20
[   90.000005]  _RNvNtCs1234_4core9panicking5panic+0x10/0x20
[   90.000006]  _RNvMs_NtCs5678_9rust_frob5queueNtB4_5Queue4push+0x100/0x300
";
    let s = extract(rust).unwrap();
    assert_eq!(
        s.title,
        "attempt to add with overflow in <rust_frob::queue::Queue>::push"
    );
    assert_eq!(
        frames::normalize_func("_ZN4core9panicking5panic17h0123456789abcdefE"),
        "core::panicking::panic"
    );
    assert_eq!(
        frames::normalize_func("_ZN7android6Parcel9writeBlobEmbPNS0_12WritableBlobE"),
        "android::Parcel::writeBlob"
    );
    let cxx = "\
[   91.000001] BUG: kernel NULL pointer dereference, address: 0000000000000000
[   91.000002] RIP: 0010:_ZN3foo3Bar4pollEv+0x10/0x40
";
    assert_eq!(
        title(cxx).as_deref(),
        Some("BUG: unable to handle kernel NULL pointer dereference in foo::Bar::poll")
    );
}

#[test]
fn task_name_with_a_newline_splits_the_header() {
    let log = "\
[  400.000001] INFO: task syz-exe
c:1234 blocked for more than 143 seconds.
[  400.000002]       Not tainted 6.1.0 #1
[  400.000003] task:syz-exe
c     state:D stack:0 pid:1234
[  400.000004] Call Trace:
[  400.000005]  __schedule+0x8cc/0x1ed0
[  400.000006]  schedule+0xde/0x1b0
[  400.000007]  grunt_wait_idle+0x100/0x200
[  400.000008]  __x64_sys_close+0x2a/0x40
";
    assert_eq!(
        title(log).as_deref(),
        Some("INFO: task hung in grunt_wait_idle")
    );
    let gpf = "\
[  401.000001] general protection fault, probably for non-canonical address 0xdffffc0000000003: 0000 [#1] SMP KASAN
[  401.000002] CPU: 0 PID: 1 Comm: syz-exe
c Not tainted 6.1.0 #1
[  401.000003] RIP: 0010:grunt_lookup+0x42/0x120
";
    assert_eq!(
        title(gpf).as_deref(),
        Some("general protection fault in grunt_lookup")
    );
}

#[test]
fn eval_raw_logs_and_halves() {
    use super::eval::{half_of, load_dir_split, Half};
    assert_eq!(half_of("100"), Half::A);
    assert_eq!(half_of("102"), Half::B);
    assert_eq!(half_of("104"), Half::A);
    let dir = fixtures("signature");
    let all = load_dir_split(&dir, None).unwrap();
    let raw: Vec<_> = all.iter().filter(|c| !c.labelled).collect();
    assert!(!raw.is_empty());
    let (f, rows) = evaluate(&all);
    assert_eq!(f.raw_logs, raw.len());
    assert!(rows.iter().all(|r| r.agrees), "{rows:?}");
    let a = load_dir_split(&dir, Some(Half::A)).map_or(0, |v| v.len());
    let b = load_dir_split(&dir, Some(Half::B)).map_or(0, |v| v.len());
    assert_eq!(a + b, all.len());
    // A raw log may start with what looks like a header line.
    let raw = parse_case("x", "WARNING: CPU: 0 PID: 1 at a.c:1 f+0x1/0x2\n\nmore\n");
    assert!(!raw.labelled);
    assert!(raw.log.starts_with("WARNING: CPU: 0"));
    let empty = parse_case("y", "\n[    1.000000] hello\n");
    assert!(empty.labelled && empty.titles.is_empty());
}

#[test]
fn old_lockdep_sites_on_their_own_line() {
    // kernel/locking/lockdep.c print_unlock_imbalance_bug() before print_ip_sym() took "%pS".
    let log = "\
[   42.000001] =====================================
[   42.000002] [ BUG: bad unlock balance detected! ]
[   42.000003] 4.4.0 #7 Not tainted
[   42.000004] -------------------------------------
[   42.000005] frobd/777 is trying to release lock (frob_lock) at:
[   42.000006] [<ffffffff8150a0b0>] frob_seq_stop+0x30/0x60
[   42.000007] but there are no more locks to release!
[   42.000008] other info that might help us debug this:
[   42.000009] 1 lock held by frobd/777:
[   42.000010]  #0:  (&p->lock){+.+.+.}, at: [<ffffffff81200a10>] seq_read+0x50/0x3a0
";
    assert_eq!(
        title(log).as_deref(),
        Some("BUG: bad unlock balance in frob_seq_stop")
    );
}

#[test]
fn other_x86_traps_and_old_spellings() {
    // A `ud2` that is no BUG(): the die header alone.
    let ud = "\
[    5.000001] invalid opcode: 0000 [#1] SMP
[    5.000002] CPU: 0 PID: 1 Comm: swapper/0 Not tainted 3.10.0 #1
[    5.000003] RIP: 0010:[<ffffffff81234567>]  [<ffffffff81234567>] snork_init+0x12/0x40
[    5.000004] Call Trace:
[    5.000005]  [<ffffffff81000123>] do_one_initcall+0x50/0x190
";
    assert_eq!(title(ud).as_deref(), Some("invalid opcode in snork_init"));
    // After a kernel BUG line the die header is part of that report.
    let bug = "\
[    5.000000] kernel BUG at drivers/snork/snork.c:12!
[    5.000001] invalid opcode: 0000 [#1] SMP
[    5.000003] RIP: 0010:snork_init+0x12/0x40
";
    assert_eq!(title(bug).as_deref(), Some("kernel BUG in snork_init"));
    // 32-bit x86's `EIP is at`, and `dmesg -T` times.
    let old = "\
[Mon Nov 30 15:04:05 2026] BUG: unable to handle kernel NULL pointer dereference at 00000004
[Mon Nov 30 15:04:05 2026] Oops: 0000 [#1] SMP
[Mon Nov 30 15:04:05 2026] EIP is at snork_read+0x1c/0x80 [snork]
";
    assert_eq!(
        title(old).as_deref(),
        Some("BUG: unable to handle kernel NULL pointer dereference in snork_read")
    );
}

#[test]
fn older_and_rarer_kernel_spellings() {
    let bug = "\
------------[ cut here ]------------
Kernel BUG at ffffffffa0123456 [verbose debug info unavailable]
invalid opcode: 0000 [#1] SMP
RIP: 0010:[<ffffffffa0123456>]  [<ffffffffa0123456>] blip_submit+0x46/0x90 [blip]
";
    assert_eq!(title(bug).as_deref(), Some("kernel BUG in blip_submit"));
    let rcu = "\
INFO: rcu_sched_state detected stall on CPU 0 (t=15000 jiffies)
Call Trace:
 <IRQ>  [<ffffffff810a1234>] ? __rcu_pending+0x1c4/0x3a0
 [<ffffffff81012345>] apic_timer_interrupt+0x13/0x20
 <EOI>  [<ffffffffa0234567>] ? blip_spin+0x40/0x80 [blip]
 [<ffffffffa0234600>] blip_ioctl+0x100/0x200 [blip]
 [<ffffffff81187654>] do_vfs_ioctl+0x84/0x580
 [<ffffffff81187bd1>] sys_ioctl+0x81/0xa0
";
    assert_eq!(
        title(rcu).as_deref(),
        Some("INFO: rcu detected stall in blip_ioctl")
    );
    let irq = "\
irq 16: nobody cared (try booting with the \"irqpoll\" option)
Pid: 0, comm: swapper Not tainted 2.6.32 #1
Call Trace:
 <IRQ>  [<ffffffff810d8e3b>] ? __report_bad_irq+0x2b/0xa0
handlers:
[<ffffffffa0045670>] (blip_interrupt+0x0/0x120 [blip])
Disabling IRQ #16
";
    assert_eq!(
        title(irq).as_deref(),
        Some("irq: nobody cared in blip_interrupt")
    );
    let alloc = "\
swapper: page allocation failure. order:1, mode:0x20
Pid: 0, comm: swapper Not tainted 2.6.32 #1
Call Trace:
 [<ffffffff8111ea06>] ? __alloc_pages_nodemask+0x756/0x8d0
 [<ffffffffa0345678>] ? blip_refill_rx+0x60/0x120 [blip]
";
    assert_eq!(
        title(alloc).as_deref(),
        Some("page allocation failure in blip_refill_rx")
    );
    assert_eq!(
        title("BUG: Bad rss-counter state mm:ffff88003d1a2b40 idx:1 val:-1\n").as_deref(),
        Some("BUG: Bad rss-counter state")
    );
}

#[test]
fn preemption_site_is_no_frame() {
    let log = "\
[   91.414141][ T3141] BUG: sleeping function called from invalid context at mm/slab.h:740
[   91.414142][ T3141] in_atomic(): 1, irqs_disabled(): 0, non_block: 0, pid: 3141, name: frobd
[   91.414143][ T3141] Preemption disabled at:
[   91.414144][ T3141] [<ffffffff81d0c0de>] flib_xmit+0x88/0x410
[   91.414145][ T3141] Call Trace:
[   91.414146][ T3141]  <TASK>
[   91.414147][ T3141]  dump_stack_lvl+0x5c/0x80
[   91.414148][ T3141]  __might_resched+0x1a0/0x260
[   91.414149][ T3141]  kmem_cache_alloc_node+0x2f/0x2a0
[   91.414150][ T3141]  flob_alloc+0x71/0x1c0
[   91.414151][ T3141]  flob_ack+0x9d/0x310
";
    assert_eq!(
        title(log).as_deref(),
        Some("BUG: sleeping function called from invalid context in flob_alloc")
    );
}

#[test]
fn helper_families_are_generic() {
    for g in [
        "vsnprintf",
        "snprintf",
        "kstrdup",
        "kvasprintf",
        "csum_partial_copy_generic",
        "skb_checksum",
        "crypto_shash_update",
        "sha256_update",
        "usb_submit_urb",
        "usb_control_msg",
        "__asan_report_load8_noabort",
        "__msan_warning",
        "kcsan_setup_watchpoint",
        "__tsan_read8",
        "__ubsan_handle_out_of_bounds",
        "_raw_spin_lock_irqsave",
        "rt_spin_lock",
        "percpu_down_write",
        "refcount_warn_saturate",
        "ref_tracker_free",
        "percpu_ref_put_many",
        "__list_add_valid_or_report",
        "__list_del_entry_valid",
        "__alloc_frozen_pages_noprof",
        "folio_alloc_noprof",
        "crc_itu_t",
        "simple_copy_to_iter",
        "copy_page_to_iter",
        "_copy_to_user",
        // a subsystem's copy-out wrapper is a copy helper too (syzkaller skips any name
        // containing `copy_to_user`)
        "frob_array_copy_to_user",
        "quux_copy_from_user_buf",
        "_copy_from_iter_full",
        "insert_work",
        "__queue_work",
        "queue_delayed_work_on",
        "drop_nlink",
        "mark_buffer_dirty",
        "folio_unlock",
        "iput",
        "_atomic_dec_and_lock_irqsave",
        "__wait_rcu_gp",
        "synchronize_rcu_normal",
        "synchronize_net",
        "wait_for_completion_killable",
        "__flush_work",
        "kthread_stop",
        "__mod_timer",
        "lock_timer_base",
        "skb_put",
        "__raw_readb",
        "walk_stackframe",
    ] {
        assert!(frames::is_generic(g, &[]), "{g}");
    }
    for s in [
        "dev_activate",
        "devinet_ioctl",
        "rtnl_lock",
        "frob_probe",
        "sys_rmdir",
        "synchronize_rcu",
        "synchronize_rcu_expedited",
        "synchronize_srcu",
        // `copy_` alone says nothing: namespaces, processes, mount options are copied too
        "copy_frob_ns",
        "copy_process",
    ] {
        assert!(!frames::is_generic(s, &[]), "{s}");
    }
}

#[test]
fn a_bad_jump_from_a_work_item_is_the_work_queues() {
    let log = "\
[   77.100001] BUG: unable to handle kernel NULL pointer dereference at 0000000000000010
[   77.100002] IP: 0x10
[   77.100003] Oops: 0010 [#1] PREEMPT SMP
[   77.100004] Call Trace:
[   77.100005]  process_one_work+0x51a/0x9e0
[   77.100006]  worker_thread+0x4d/0x3c0
[   77.100007]  kthread+0x10f/0x140
[   77.100008]  ret_from_fork+0x1f/0x30
";
    assert_eq!(
        title(log).as_deref(),
        Some("BUG: unable to handle kernel NULL pointer dereference in process_one_work")
    );
}

#[test]
fn soft_lockup_in_a_softirq_is_the_softirqs_work() {
    let log = "\
[  500.000001] watchdog: BUG: soft lockup - CPU#0 stuck for 26s! [swapper/0:0]
[  500.000002] CPU: 0 PID: 0 Comm: swapper/0 Not tainted 6.1.0 #1
[  500.000003] RIP: 0010:zonk_gc_timer+0x4c/0x190
[  500.000004] Call Trace:
[  500.000005]  <IRQ>
[  500.000006]  call_timer_fn+0x1a0/0x580
[  500.000007]  __run_timers.part.0+0x6a0/0xa90
[  500.000008]  run_timer_softirq+0x8b/0x110
[  500.000009]  __do_softirq+0x2ab/0x908
[  500.000010]  irq_exit_rcu+0xc1/0x120
[  500.000011]  sysvec_apic_timer_interrupt+0x8e/0xc0
[  500.000012]  </IRQ>
[  500.000013]  <TASK>
[  500.000014]  asm_sysvec_apic_timer_interrupt+0x1a/0x20
[  500.000015] RIP: 0010:default_idle+0xf/0x20
[  500.000016]  default_idle_call+0x6c/0xa0
[  500.000017]  do_idle+0x1e1/0x230
";
    assert_eq!(
        title(log).as_deref(),
        Some("BUG: soft lockup in zonk_gc_timer")
    );
}

#[test]
fn s390_riscv_and_mips_faults() {
    let s390 = "\
[   12.000001] Unable to handle kernel pointer dereference in virtual kernel address space
[   12.000002] Failing address: 0000000000000000 TEID: 0000000000000483
[   12.000003] Oops: 0004 ilc:3 [#1] SMP
[   12.000004] Krnl PSW : 0704c00180000000 000003ff800a1234 (plonk_work+0x1c/0x80 [plonk])
[   12.000005] Call Trace:
[   12.000006] ([<000003ff800a1200>] plonk_work+0x10/0x80 [plonk])
[   12.000007]  [<0000000000165432>] process_one_work+0x1e2/0x4a0
";
    assert_eq!(
        title(s390).as_deref(),
        Some("BUG: unable to handle kernel paging request in plonk_work")
    );
    let riscv = "\
[   13.000001] Unable to handle kernel NULL pointer dereference at virtual address 0000000000000008
[   13.000002] Oops [#1]
[   13.000003]  epc : plonk_rx+0x1c/0x80
[   13.000004]  ra : plonk_poll+0x30/0x90
";
    assert_eq!(
        title(riscv).as_deref(),
        Some("BUG: unable to handle kernel NULL pointer dereference in plonk_rx")
    );
    let mips = "\
[   14.000001] CPU 0 Unable to handle kernel paging request at virtual address 00000000, epc == 80123456, ra == 80123400
[   14.000002] Oops[#1]:
[   14.000003] epc   : 80123456 plonk_tx+0x1c/0x80
";
    assert_eq!(
        title(mips).as_deref(),
        Some("BUG: unable to handle kernel paging request in plonk_tx")
    );
}

#[test]
fn scheduling_while_atomic_is_titled_by_what_scheduled() {
    // `__schedule_bug()` reports from inside `schedule()`: the guilty frame is the one that
    // called it, including the return-to-user path that reschedules (syzkaller titles these
    // "in exit_to_user_mode_prepare", "in exit_to_usermode_loop").
    for caller in [
        "exit_to_user_mode_prepare",
        "exit_to_usermode_loop",
        "quux_wait_ready",
    ] {
        let log = format!(
            "\
[  250.000001][ T4242] BUG: scheduling while atomic: frobd/4242/0x00000002
[  250.000002][ T4242] no locks held by frobd/4242.
[  250.000003][ T4242] Modules linked in:
[  250.000004][ T4242] Kernel panic - not syncing: scheduling while atomic
[  250.000005][ T4242] CPU: 0 PID: 4242 Comm: frobd Not tainted 5.14.0 #1
[  250.000006][ T4242] Call Trace:
[  250.000007][ T4242]  dump_stack_lvl+0xcd/0x134
[  250.000008][ T4242]  panic+0x306/0x73d
[  250.000009][ T4242]  __schedule_bug.cold+0x10c/0x143
[  250.000010][ T4242]  __schedule+0x1a07/0x26f0
[  250.000011][ T4242]  schedule+0xd3/0x270
[  250.000012][ T4242]  {caller}+0x14a/0x290
[  250.000013][ T4242]  syscall_exit_to_user_mode+0x19/0x60
[  250.000014][ T4242]  do_syscall_64+0x42/0xb0
[  250.000015][ T4242]  entry_SYSCALL_64_after_hwframe+0x44/0xae
"
        );
        assert_eq!(
            title(&log).as_deref(),
            Some(format!("BUG: scheduling while atomic in {caller}").as_str())
        );
    }
}

#[test]
fn stall_in_the_receive_path_is_the_protocol_handler() {
    // `__netif_receive_skb_core` hands the packet to its protocol's (or a device's rx)
    // handler: a stall there is that handler's, whether the packet came from a tun write
    // (process context) or the backlog softirq.
    let via = |callers: &str| {
        format!(
            "\
[  800.000001] INFO: rcu_sched self-detected stall on CPU
[  800.000002] 	0-...!: (10499 ticks this GP) idle=a1b/1/4611686018427387906 softirq=1/1 fqs=0
[  800.000003] Call Trace:
[  800.000004]  <IRQ>
[  800.000005]  dump_stack+0x14d/0x20b
[  800.000006]  rcu_dump_cpu_stacks+0x1a3/0x1f0
[  800.000007]  rcu_check_callbacks+0xe0f/0x1ba0
[  800.000008]  update_process_times+0x30/0x60
[  800.000009]  tick_sched_timer+0x72/0x120
[  800.000010]  hrtimer_interrupt+0x30a/0x7a0
[  800.000011]  smp_apic_timer_interrupt+0x14a/0x700
[  800.000012]  apic_timer_interrupt+0xf/0x20
[  800.000013]  </IRQ>
[  800.000014] RIP: 0010:frob_lookup_route+0x2c/0x90
[  800.000015] RSP: 0018:ffff8801c8d6e8c8 EFLAGS: 00000246 ORIG_RAX: ffffffffffffff11
[  800.000016]  frob_lookup_route+0x2c/0x90
[  800.000017]  frob_proto_rcv+0xf45/0x1fc0
[  800.000018]  __netif_receive_skb_core+0x1a52/0x3480
[  800.000019]  __netif_receive_skb+0x2c/0x1b0
{callers}"
        )
    };
    let tun = via("\
[  800.000020]  netif_receive_skb_internal+0x10b/0x670
[  800.000021]  netif_receive_skb+0xae/0x390
[  800.000022]  quux_get_user+0x1b3/0x2a0
[  800.000023]  quux_chr_write_iter+0xb9/0x160
[  800.000024]  __vfs_write+0x4a7/0x6b0
[  800.000025]  vfs_write+0x18f/0x510
[  800.000026]  SyS_write+0xef/0x220
");
    let backlog = via("\
[  800.000020]  process_backlog+0x216/0x6a0
[  800.000021]  net_rx_action+0x3a2/0xdb0
[  800.000022]  __do_softirq+0x22c/0xa1a
");
    for log in [&tun, &backlog] {
        assert_eq!(
            title(log).as_deref(),
            Some("INFO: rcu detected stall in frob_proto_rcv")
        );
    }
}

#[test]
fn stall_whose_dump_hits_a_warning_with_panic_on_warn() {
    // The stall dump runs into a warning and panic_on_warn panics before any stack: the
    // panic's stack is the detector's interrupt, and the stalled context follows it.
    let log = "\
[  611.000001][    C1] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:
[  611.000002][    C1] rcu: 	Tasks blocked on level-0 rcu_node (CPUs 0-1):
[  611.000003][    C1] ------------[ cut here ]------------
[  611.000004][    C1] IRQs not enabled as expected
[  611.000005][    C1] WARNING: CPU: 1 PID: 4737 at kernel/sched/core.c:2698 grault_probe_task+0x18b/0x320
[  611.000006][    C1] Kernel panic - not syncing: panic_on_warn set ...
[  611.000007][    C1] CPU: 1 PID: 4737 Comm: frobd Not tainted 5.8.0 #0
[  611.000008][    C1] Call Trace:
[  611.000009][    C1]  <IRQ>
[  611.000010][    C1]  dump_stack+0x1f0/0x31e
[  611.000011][    C1]  panic+0x264/0x7a0
[  611.000012][    C1]  __warn+0x227/0x250
[  611.000013][    C1]  report_bug+0x1b1/0x2e0
[  611.000014][    C1]  handle_bug+0x42/0x80
[  611.000015][    C1]  exc_invalid_op+0x16/0x40
[  611.000016][    C1]  asm_exc_invalid_op+0x12/0x20
[  611.000017][    C1] RIP: 0010:grault_probe_task+0x18b/0x320
[  611.000018][    C1]  rcu_sched_clock_irq+0x12ec/0x1eb0
[  611.000019][    C1]  update_process_times+0x12c/0x180
[  611.000020][    C1]  tick_sched_timer+0x254/0x410
[  611.000021][    C1]  hrtimer_interrupt+0x373/0xd60
[  611.000022][    C1]  __sysvec_apic_timer_interrupt+0xf0/0x260
[  611.000023][    C1]  </IRQ>
[  611.000024][    C1]  sysvec_apic_timer_interrupt+0xb9/0x130
[  611.000025][    C1]  asm_sysvec_apic_timer_interrupt+0x12/0x20
[  611.000026][    C1] RIP: 0010:smp_call_function_single+0x311/0x450
[  611.000027][    C1] RSP: 0018:ffffc90001c27be0 EFLAGS: 00000202
[  611.000028][    C1]  quux_on_each_cpu+0x4d/0x1f0
[  611.000029][    C1]  quux_set_clock+0x18/0x20
[  611.000030][    C1]  __x64_sys_quux_adjust+0x17e/0x210
[  611.000031][    C1]  do_syscall_64+0x73/0xe0
[  611.000032][    C1]  entry_SYSCALL_64_after_hwframe+0x44/0xa9
";
    assert_eq!(
        title(log).as_deref(),
        Some("INFO: rcu detected stall in smp_call_function")
    );
}

#[test]
fn driver_core_teardown_and_timer_deletion_are_generic() {
    // A warning or fault inside the driver core's teardown (sysfs groups, devres, a tty's or
    // an URB's unregistering) or in deleting a timer is the calling driver's.
    for (inner, middle) in [
        ("sysfs_remove_group", "dpm_sysfs_remove"),
        ("devres_release_all", "device_release"),
        ("usb_kill_urb", "usb_kill_anchored_urbs"),
        ("tty_unregister_device", "device_destroy"),
        ("del_timer", "try_to_grab_pending"),
        ("timer_delete_sync", "del_timer_sync"),
    ] {
        let log = format!(
            "\
[  194.000001][  T102] ------------[ cut here ]------------
[  194.000002][  T102] WARNING: CPU: 1 PID: 102 at fs/x.c:1 {inner}+0x155/0x1b0
[  194.000003][  T102] Modules linked in:
[  194.000004][  T102] RIP: 0010:{inner}+0x155/0x1b0
[  194.000005][  T102] Call Trace:
[  194.000006][  T102]  {middle}+0x2e/0x60
[  194.000007][  T102]  __unregister_client+0x15/0x30
[  194.000008][  T102]  device_for_each_child+0xfd/0x180
[  194.000009][  T102]  i2c_del_adapter+0x3d8/0x6e0
[  194.000010][  T102]  frobnic_core_done+0x63/0xb0
[  194.000011][  T102]  frobnic_disconnect+0x2f/0x60
[  194.000012][  T102] ---[ end trace 0000000000000000 ]---
"
        );
        assert_eq!(
            title(&log).as_deref(),
            Some("WARNING in frobnic_core_done"),
            "{inner}"
        );
    }
}

#[test]
fn a_helper_asserting_its_callers_use_is_the_callers_bug() {
    // `drop_nlink()` warns when the caller drops a link the inode does not have; the
    // allocator warns on the caller's flags; an infoleak copied out through a datagram
    // iterator's copy callback is the iterator's.
    let warn = |inner: &str| {
        format!(
            "\
[   62.000001][ T5830] ------------[ cut here ]------------
[   62.000002][ T5830] WARNING: CPU: 1 PID: 5830 at fs/inode.c:336 {inner}+0xc4/0x110
[   62.000003][ T5830] Modules linked in:
[   62.000004][ T5830] RIP: 0010:{inner}+0xc4/0x110
[   62.000005][ T5830] Call Trace:
[   62.000006][ T5830]  <TASK>
[   62.000007][ T5830]  frobfs_rmdir+0x3bc/0x730
[   62.000008][ T5830]  vfs_rmdir+0x3a3/0x510
[   62.000009][ T5830]  do_rmdir+0x3b5/0x580
[   62.000010][ T5830]  __x64_sys_rmdir+0x47/0x50
[   62.000011][ T5830]  do_syscall_64+0xf3/0x230
[   62.000012][ T5830]  </TASK>
"
        )
    };
    for inner in [
        "drop_nlink",
        "mark_buffer_dirty",
        "__alloc_frozen_pages_noprof",
    ] {
        assert_eq!(
            title(&warn(inner)).as_deref(),
            Some("WARNING in frobfs_rmdir"),
            "{inner}"
        );
    }
    let leak = "\
[ 2104.000001][ T4311] BUG: KMSAN: kernel-infoleak in _copy_to_iter+0x870/0x1fd0
[ 2104.000002][ T4311]  _copy_to_iter+0x870/0x1fd0
[ 2104.000003][ T4311]  simple_copy_to_iter+0x68/0xa0
[ 2104.000004][ T4311]  __quux_datagram_iter+0x123/0xdc0
[ 2104.000005][ T4311]  quux_copy_datagram_msg+0x5c/0x200
[ 2104.000006][ T4311]  quux_recvmsg+0x2d1/0x6b0
[ 2104.000007][ T4311] 
[ 2104.000008][ T4311] Bytes 252-311 of 2224 are uninitialized
";
    assert_eq!(
        title(leak).as_deref(),
        Some("KMSAN: kernel-infoleak in __quux_datagram_iter")
    );
}

#[test]
fn stall_through_a_kaiser_entry_label() {
    // 4.x kernels with the KAISER patches print a label inside the timer interrupt's entry
    // after it; it is the entry, not the stalled code.
    let log = "\
[  393.000001] INFO: rcu_sched self-detected stall on CPU
[  393.000002] 	1-...: (124999 ticks this GP) idle=b1e/140000000000001/0 softirq=1/1 fqs=31218
[  393.000003]  <IRQ>  [<ffffffff8170cafa>] _sched_show_task+0x31a/0x325
[  393.000004]  [<ffffffff8170ce4b>] sched_show_task+0x1b/0x20
[  393.000005]  [<ffffffff8171b3c1>] rcu_dump_cpu_stacks+0x1a3/0x1f0
[  393.000006]  [<ffffffff81250ba4>] rcu_check_callbacks+0xe0f/0x1ba0
[  393.000007]  [<ffffffff81269b15>] update_process_times+0x35/0x60
[  393.000008]  [<ffffffff812af344>] local_apic_timer_interrupt+0x74/0x90
[  393.000009]  [<ffffffff81012fba>] smp_trace_apic_timer_interrupt+0x13a/0x4bd
[  393.000010]  [<ffffffff81011d42>] smp_trace_apic_timer_interrupt_entry_after_kaiser_bti+0x20/0x2e
[  393.000011]  <EOI>  [<ffffffff814f00eb>] ? debug_lockdep_rcu_enabled+0x3b/0x90
[  393.000012]  [<ffffffff81085d5c>] frob_vm_compat_ioctl+0x13c/0x250
[  393.000013]  [<ffffffff819d8ee0>] compat_SyS_ioctl+0x650/0x2180
[  393.000014]  [<ffffffff830a99b0>] sysenter_dispatch+0xf/0x32
";
    assert_eq!(
        title(log).as_deref(),
        Some("INFO: rcu detected stall in frob_vm_compat_ioctl")
    );
}

#[test]
fn hung_task_waiting_for_writeback_is_its_caller() {
    let log = "\
[  615.000001] INFO: task syz-executor1:4242 blocked for more than 120 seconds.
[  615.000002] Call Trace:
[  615.000003]  __schedule+0x8e8/0x2070
[  615.000004]  schedule+0x108/0x440
[  615.000005]  io_schedule+0x1c/0x70
[  615.000006]  wait_on_page_bit_common+0x4c7/0x7f0
[  615.000007]  __filemap_fdatawait_range+0x23f/0x390
[  615.000008]  filemap_fdatawait_keep_errors+0x80/0x110
[  615.000009]  fdatawait_one_bdev+0x50/0x70
[  615.000010]  quux_iterate_devices+0x109/0x260
[  615.000011]  sys_sync+0x122/0x1c0
";
    assert_eq!(
        title(log).as_deref(),
        Some("INFO: task hung in quux_iterate_devices")
    );
}

#[test]
fn hung_task_in_a_copy_named_function() {
    // A 4.4 task dump: the raw stack words, then the trace with a line of another task's
    // in it; `copy_frob_ns` is no copy helper.
    let log = "\
[  361.000001] INFO: task syz-executor0:6102 blocked for more than 120 seconds.
[  361.000002]       Not tainted 4.4.96+ #180
[  361.000003] syz-executor0   D ffff8800b901f990     0  6102   1942 0x00000004
[  361.000004]  ffff8800b901f990 ffffffff835a8e78 ffff8800ac111780 0000000000000000
[  361.000005] Call Trace:
[  361.000006]  [<ffffffff829f5a8c>] schedule+0x9c/0x1b0
[  361.000007] quux: waiting for lo to become free. Usage count = 6
[  361.000008]  [<ffffffff829f6315>] schedule_preempt_disabled+0x15/0x20
[  361.000009]  [<ffffffff829fb0c0>] mutex_lock_nested+0x3b0/0x1130
[  361.000010]  [<ffffffff822354cc>] ? copy_frob_ns+0x6c/0x220
[  361.000011]  [<ffffffff8223552c>] copy_frob_ns+0xcc/0x220
";
    assert_eq!(
        title(log).as_deref(),
        Some("INFO: task hung in copy_frob_ns")
    );
}

#[test]
fn usercopy_abort_is_a_bad_usercopy_by_the_copys_caller() {
    let log = "\
[   40.000001] usercopy: Kernel memory exposure attempt detected from SLUB object 'frob_cache' (offset 12, size 300)!
[   40.000002] ------------[ cut here ]------------
[   40.000003] kernel BUG at mm/usercopy.c:102!
[   40.000004] invalid opcode: 0000 [#1] PREEMPT SMP KASAN
[   40.000005] CPU: 1 PID: 2988 Comm: frobd Not tainted 5.10.0 #36
[   40.000006] RIP: 0010:usercopy_abort+0xbd/0xbf
[   40.000007] Call Trace:
[   40.000008]  __check_heap_object+0xdd/0x110
[   40.000009]  __check_object_size+0x1a3/0x1f0
[   40.000010]  frob_get_stats+0x75/0x1a0
[   40.000011]  frob_ioctl+0x1718/0x4710
[   40.000012]  __x64_sys_ioctl+0x193/0x200
[   40.000013] ---[ end trace 0000000000000000 ]---
";
    assert_eq!(
        title(log).as_deref(),
        Some("BUG: bad usercopy in frob_get_stats")
    );
}

#[test]
fn bogus_irq_restore_is_a_plain_warning_of_the_caller() {
    // kernel/locking/irqflag-debug.c checks the caller's use of the irq flags: no lock is
    // involved, so it is no "locking bug".
    let log = "\
[   60.000001][ T4392] ------------[ cut here ]------------
[   60.000002][ T4392] raw_local_irq_restore() called with IRQs enabled
[   60.000003][ T4392] WARNING: CPU: 0 PID: 4392 at kernel/locking/irqflag-debug.c:10 warn_bogus_irq_restore+0x1d/0x20
[   60.000004][ T4392] Modules linked in:
[   60.000005][ T4392] RIP: 0010:warn_bogus_irq_restore+0x1d/0x20
[   60.000006][ T4392] Call Trace:
[   60.000007][ T4392]  frob_hv_wait+0xc9/0xe0
[   60.000008][ T4392]  __pv_queued_spin_lock_slowpath+0x86f/0xad0
[   60.000009][ T4392]  do_raw_spin_lock+0x200/0x2b0
[   60.000010][ T4392]  quux_sendmsg+0x1d/0x40
[   60.000011][ T4392] ---[ end trace 0000000000000000 ]---
";
    assert_eq!(title(log).as_deref(), Some("WARNING in frob_hv_wait"));
}

#[test]
fn irq_safe_to_unsafe_order_is_titled_by_the_interrupt_user() {
    let log = |became: &str| {
        format!(
            "\
[ 1137.000001][ T6133] =====================================================
[ 1137.000002][ T6133] WARNING: HARDIRQ-safe -> HARDIRQ-unsafe lock order detected
[ 1137.000003][ T6133] 5.11.0 #0 Not tainted
[ 1137.000004][ T6133] -----------------------------------------------------
[ 1137.000005][ T6133] frobd/6133 [HC0[0]:SC0[0]:HE0:SE1] is trying to acquire:
[ 1137.000006][ T6133] ffff888026df22b8 (&frob->lock){{.+.+}}-{{2:2}}, at: frob_notify+0x14b/0x460
[ 1137.000007][ T6133] 
[ 1137.000008][ T6133] and this task is already holding:
[ 1137.000009][ T6133] ffff88801b3a8c18 (&quux->lock){{-.-.}}-{{2:2}}, at: quux_flush+0x6a/0x220
[ 1137.000010][ T6133] which would create a new lock dependency:
[ 1137.000011][ T6133] 
[ 1137.000012][ T6133] but this new dependency connects a HARDIRQ-irq-safe lock:
[ 1137.000013][ T6133]  (&quux->lock){{-.-.}}-{{2:2}}
{became}[ 1137.000030][ T6133] to a HARDIRQ-irq-unsafe lock:
"
        )
    };
    let with = log("\
[ 1137.000014][ T6133] 
[ 1137.000015][ T6133] ... which became HARDIRQ-irq-safe at:
[ 1137.000016][ T6133]   lock_acquire+0x29d/0x740
[ 1137.000017][ T6133]   _raw_spin_lock_irqsave+0x39/0x50
[ 1137.000018][ T6133]   quux_timeout_fn+0x6f/0x3d0
[ 1137.000019][ T6133]   __hrtimer_run_queues+0x693/0xea0
[ 1137.000020][ T6133]   hrtimer_interrupt+0x334/0x940
[ 1137.000021][ T6133] 
");
    assert_eq!(
        title(&with).as_deref(),
        Some("possible deadlock in quux_timeout_fn")
    );
    // Without that trace, the acquire site.
    assert_eq!(
        title(&log("")).as_deref(),
        Some("possible deadlock in frob_notify")
    );
}

#[test]
fn stall_in_an_rtnetlink_handler() {
    let log = "\
[  287.000001] INFO: rcu_sched self-detected stall on CPU
[  287.000002]  <IRQ>
[  287.000003]  rcu_dump_cpu_stacks+0x1a3/0x1f0
[  287.000004]  rcu_check_callbacks+0xe0f/0x1ba0
[  287.000005]  update_process_times+0x35/0x60
[  287.000006]  smp_apic_timer_interrupt+0xdf/0x130
[  287.000007]  apic_timer_interrupt+0x9e/0xb0
[  287.000008]  </IRQ>
[  287.000009] RIP: 0010:frob_link_wait+0x1c/0x40
[  287.000010]  frob_link_wait+0x1c/0x40
[  287.000011]  frob_newlink+0x1055/0x15c0
[  287.000012]  rtnetlink_rcv_msg+0x4b4/0x700
[  287.000013]  netlink_rcv_skb+0x143/0x370
[  287.000014]  rtnetlink_rcv+0x2f/0x40
[  287.000015]  netlink_unicast+0x437/0x620
[  287.000016]  netlink_sendmsg+0x7e4/0xc90
[  287.000017]  sock_sendmsg+0xe8/0x150
";
    assert_eq!(
        title(log).as_deref(),
        Some("INFO: rcu detected stall in frob_newlink")
    );
}

#[test]
fn old_kasan_on_address_form_names_no_function() {
    // 3.x/4.x KASAN: `on address ADDR` (padded `(null)` for NULL), the access on its own line.
    for addr in ["          (null)", "ffff8800b4d0a1c0"] {
        let log = format!(
            "\
[23818.000001] BUG: KASAN: null-ptr-deref on address {addr}
[23818.000002] Read of size 4 by task frobd/22534
[23818.000003] CPU: 3 PID: 22534 Comm: frobd Tainted: G     U         3.18.0 #78
[23818.000004] Call Trace:
[23818.000005]  [<ffffffff81aa1d2e>] dump_stack+0x4b/0x6d
[23818.000006]  [<ffffffff8123c4b1>] kasan_report+0x1c1/0x4a0
[23818.000007]  [<ffffffff8123b3a9>] __asan_load4+0x69/0xa0
[23818.000008]  [<ffffffff81567e10>] frob_lookup+0x30/0x90
"
        );
        assert_eq!(
            title(&log).as_deref(),
            Some("KASAN: null-ptr-deref Read"),
            "{addr}"
        );
    }
}

/// The fast split of common lines gives exactly what the patterns give, or declines.
#[test]
fn common_line_split_equals_the_patterns() {
    let heads = [
        "[   12.345678] ",
        "[12.3]",
        "[ 1.2]x",
        "[1234567890.12345] ",
        "[12345678901.12345] ",
        "[ 12345678901234.56789012345] ",
        "[0.000000000000001] ",
        "[   12.345678][  T123] ",
        "[   12.345678][    C1]\t",
        "[   12.345678][ T] ",
        "[   12.345678][X12] ",
        "[   12.345678][ T12",
        "[  12.34.5] ",
        "[  .5] ",
        "[  5.] ",
        "[ 1a.2] ",
        "[\t12.3] ",
        "[ 12.3]\u{a0}",
        "[ 12.3]\u{b}",
        "[ 12.3]\u{c}",
        "[ 12.3]\r",
        "[ 12.3]\n",
        "[ 12.3]\u{2003}x",
        "[ 12.3] [T1] ",
        "[ 12.3][T1]  ",
        "[ 12.3][T1]",
        "[",
        "[ ",
        "[ 1",
        "[Mon Nov 30 15:04:05 2026] ",
        "<4>[ 1.0] ",
    ];
    let texts = ["", "BUG: x", " ok", "[ 1.0] again", "\u{e9}t\u{e9}"];
    for h in heads {
        for t in texts {
            let line = format!("{h}{t}");
            let Some(fast) = split_common(&line) else {
                continue;
            };
            let slow = split_regex(&line);
            assert_eq!(
                (fast.text, fast.caller, fast.time),
                (slow.text, slow.caller, slow.time),
                "{line:?}"
            );
        }
    }
    assert!(split_common("[   12.345678] BUG: x").is_some());
    assert!(split_common("[   12.345678][  T123] x").is_some());
}

/// The fast timestamp conversion gives what `str::parse` gives, bit for bit, for stamps of
/// every length (pseudo-random digits; the long ones go to `parse` itself).
#[test]
fn timestamps_convert_as_parse_does() {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..200_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let (il, fl) = (1 + (x % 10) as usize, 1 + ((x >> 8) % 12) as usize);
        let digits: String = (0..il + fl)
            .map(|i| char::from(b'0' + ((x >> (i % 60)) % 10) as u8))
            .collect();
        let stamp = format!("{}.{}", &digits[..il], &digits[il..]);
        let want: f64 = stamp.parse().unwrap();
        let (got, end) = super::stamp(format!("{stamp}]").as_bytes(), 0).unwrap();
        assert_eq!(
            (got.to_bits(), end),
            (want.to_bits(), stamp.len()),
            "{stamp}"
        );
    }
}

/// Lines are split as `str::lines` splits them.
#[test]
fn lines_split_as_str_lines_does() {
    for log in [
        "",
        "\n",
        "a",
        "a\n",
        "a\r\nb",
        "a\r\n\r\nb\r",
        "\r\n",
        "a\n\nb\n\n",
        "x\r\r\ny\n\r",
    ] {
        let nl: Vec<usize> = memchr::memchr_iter(b'\n', log.as_bytes()).collect();
        let got: Vec<&str> = super::lines_of(log, &nl).collect();
        assert_eq!(got, log.lines().collect::<Vec<_>>(), "{log:?}");
    }
}

/// No literal that [`super::marks`] finds in its one scan can overlap a literal of another
/// mark, so that its matches, which do not overlap, give every line each mark it holds a
/// literal of (two literals of one mark may overlap: either marks the line); and each marks
/// its line.
#[test]
fn mark_literals_cannot_hide_each_other() {
    let (searcher, kinds) = super::mark_literals();
    assert_eq!(searcher.patterns_len(), kinds.len());
    use super::select::{DUMP, END, HEAD, RULE};
    let literals: Vec<(String, u8)> = super::MAY_HEAD
        .split('|')
        .map(|l| l.replace('\\', ""))
        .filter(|l| l != super::MAY_HEAD_SHORT)
        .map(|l| (l, HEAD))
        .chain(super::MARK_LITERALS.map(|(l, kind)| (l.to_string(), kind)))
        .collect();
    assert_eq!(literals.len(), kinds.len());
    assert_eq!(literals.iter().filter(|(_, k)| *k != HEAD).count(), 4);
    // The searcher finds each literal whole, as the mark it gives.
    for (l, kind) in &literals {
        let m = searcher.find(l.as_str()).expect("found");
        assert_eq!(
            (m.start(), m.end(), kinds[m.pattern().as_usize()]),
            (0, l.len(), *kind),
            "{l:?}"
        );
    }
    for (a, ka) in &literals {
        for (b, kb) in &literals {
            if ka != kb {
                assert!(!a.contains(b.as_str()), "{a:?} holds {b:?}");
                for k in 1..a.len().min(b.len()) {
                    assert!(!a.ends_with(&b[..k]), "{a:?} ends as {b:?} begins");
                }
            }
        }
    }
    // The last line holds two marks' literals: the one scan gives it both.
    let log = "a\n---[ end trace ]---\nKernel Offset: 0x0\n==========================\n\
               x netoops: dump 1\nOops: 0000 [#1] SMP\n\
               ---[ end Kernel panic - not syncing: Fatal exception ]---\n";
    let nl: Vec<usize> = memchr::memchr_iter(b'\n', log.as_bytes()).collect();
    assert_eq!(
        super::marks(log, &nl, 7).0,
        vec![0, END, END, RULE, DUMP, HEAD, END | HEAD]
    );
}
