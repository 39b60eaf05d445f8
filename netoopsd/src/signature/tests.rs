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
    // A panic after an oops is attributed to the oops, the first report in the log.
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
