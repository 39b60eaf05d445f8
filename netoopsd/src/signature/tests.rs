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
            // syzkaller titles this hang by the RCU wait (`synchronize_rcu`); we title hangs
            // by the caller that waits (see `hung_task_in_an_rcu_wait_is_its_caller`).
            if sub == "syzkaller" && r.name == "432" {
                assert_eq!(
                    r.got.as_deref(),
                    Some("INFO: task hung in rollback_registered_many")
                );
                continue;
            }
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
    // RCU's waits are not the bug: the caller that waits is.
    assert_eq!(
        extract(hung).unwrap().title,
        "INFO: task hung in netdev_run_todo"
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
    // Without netlink's dispatcher or a socket call: what the system call's shared helper
    // called.
    let plain: String = log
        .lines()
        .filter(|l| !l.contains("netlink") && !l.contains("ip_set") && !l.contains("sock_"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(
        extract(&plain).unwrap().title,
        "INFO: rcu detected stall in hash_ipportnet4_add"
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
