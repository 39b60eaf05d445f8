//! Fills a report store with a generated crash history of a small fleet, through the real
//! path: each dump is encoded with the codec (version 1 or 2), reassembled from its packets
//! (some packets dropped now and then), signed and stored as `netoopsd listen` would, with
//! its time in the past.
//!
//! `cargo run -p netoopsd --example gen_history -- --db DB [--days 60] [--seed 1] [--now UNIX]`
//!
//! The history has shapes the web view marks: a steady NULL dereference on every release, a
//! general protection fault that is *rising* in the last week, a slab BUG seen only on the
//! newest kernel release (*new*), hung-task and soft-lockup panics, a warning, and SysRq
//! soft dumps. Machines differ in CPU (vendor, family, model, microcode, updated midway on
//! some), BIOS version, board and product.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use netoops_codec::sender::{encode_v2, Options};
use netoops_codec::wire::{
    ArchRegs, CpuId, Dump, DumpFacts, Reason, Regs, RegsSource, RegsX86_64, Time,
};
use netoopsd::live::Finished;
use netoopsd::reassembly::DumpState;
use netoopsd::store::sqlite::SqliteStore;
use netoopsd::store::{NewReport, Store};

/// xorshift64*: deterministic for a seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

/// SplitMix64's finalizer: a bijection of u64 that mixes every bit.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

struct Machine {
    host: &'static str,
    ip: [u8; 4],
    vendor: &'static str,
    family: u32,
    model: u32,
    stepping: u32,
    /// Microcode before and after the fleet's update (`update_days_ago`).
    microcode: (u32, u32),
    bios: (&'static str, &'static str),
    board: &'static str,
    product: &'static str,
    /// Runs the newest kernel from 12 days ago (canary).
    canary: bool,
}

const FLEET: [Machine; 10] = [
    Machine {
        host: "web-01",
        ip: [10, 1, 0, 11],
        vendor: "GenuineIntel",
        family: 6,
        model: 85,
        stepping: 7,
        microcode: (0x0500_0036, 0x0500_003c),
        bios: ("3.4", "3.8"),
        board: "X11DPi-N",
        product: "SYS-1029P-WTR",
        canary: false,
    },
    Machine {
        host: "web-02",
        ip: [10, 1, 0, 12],
        vendor: "GenuineIntel",
        family: 6,
        model: 85,
        stepping: 7,
        microcode: (0x0500_0036, 0x0500_003c),
        bios: ("3.4", "3.8"),
        board: "X11DPi-N",
        product: "SYS-1029P-WTR",
        canary: false,
    },
    Machine {
        host: "web-03",
        ip: [10, 1, 0, 13],
        vendor: "GenuineIntel",
        family: 6,
        model: 85,
        stepping: 4,
        microcode: (0x0200_0065, 0x0200_0065),
        bios: ("3.4", "3.4"),
        board: "X11DPi-N",
        product: "SYS-1029P-WTR",
        canary: false,
    },
    Machine {
        host: "db-01",
        ip: [10, 2, 0, 21],
        vendor: "AuthenticAMD",
        family: 25,
        model: 1,
        stepping: 1,
        microcode: (0x0a00_11d1, 0x0a00_11d3),
        bios: ("M10", "M13"),
        board: "MZ32-AR0-00",
        product: "R282-Z90",
        canary: false,
    },
    Machine {
        host: "db-02",
        ip: [10, 2, 0, 22],
        vendor: "AuthenticAMD",
        family: 25,
        model: 1,
        stepping: 1,
        microcode: (0x0a00_11d1, 0x0a00_11d3),
        bios: ("M10", "M13"),
        board: "MZ32-AR0-00",
        product: "R282-Z90",
        canary: false,
    },
    Machine {
        host: "db-03",
        ip: [10, 2, 0, 23],
        vendor: "AuthenticAMD",
        family: 25,
        model: 17,
        stepping: 1,
        microcode: (0x0a10_1144, 0x0a10_1144),
        bios: ("R11", "R11"),
        board: "MZ73-LM0-000",
        product: "R283-Z92",
        canary: false,
    },
    Machine {
        host: "build-01",
        ip: [10, 3, 0, 31],
        vendor: "GenuineIntel",
        family: 6,
        model: 143,
        stepping: 8,
        microcode: (0x2b00_0461, 0x2b00_0603),
        bios: ("2.1", "2.1"),
        board: "X13DEI-T",
        product: "SYS-221H-TNR",
        canary: true,
    },
    Machine {
        host: "build-02",
        ip: [10, 3, 0, 32],
        vendor: "GenuineIntel",
        family: 6,
        model: 143,
        stepping: 8,
        microcode: (0x2b00_0461, 0x2b00_0603),
        bios: ("2.1", "2.1"),
        board: "X13DEI-T",
        product: "SYS-221H-TNR",
        canary: true,
    },
    Machine {
        host: "edge-01",
        ip: [10, 4, 0, 41],
        vendor: "GenuineIntel",
        family: 6,
        model: 106,
        stepping: 6,
        microcode: (0x0d00_03a5, 0x0d00_03a5),
        bios: ("1.9.2", "1.10.2"),
        board: "0JMK61",
        product: "PowerEdge R650",
        canary: true,
    },
    Machine {
        host: "edge-02",
        ip: [10, 4, 0, 42],
        vendor: "GenuineIntel",
        family: 6,
        model: 106,
        stepping: 6,
        microcode: (0x0d00_03a5, 0x0d00_03a5),
        bios: ("1.9.2", "1.10.2"),
        board: "0JMK61",
        product: "PowerEdge R650",
        canary: true,
    },
];

/// Days ago the microcode and BIOS updates rolled out.
const UPDATE_DAYS_AGO: f64 = 25.0;

/// The kernel release a machine ran `days_ago`.
fn release(m: &Machine, days_ago: f64) -> &'static str {
    if m.canary && days_ago < 12.0 {
        "6.12.9-fleet"
    } else if days_ago < 40.0 {
        "6.6.58-fleet"
    } else {
        "6.1.112-fleet"
    }
}

fn build_id(release: &str) -> Vec<u8> {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut out = Vec::new();
    for i in 0..20u8 {
        for b in release.bytes().chain([i]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        out.push((h >> 24) as u8);
    }
    out
}

/// Crash kinds: (name, reason, log body with `{T}` timestamps, the machine stays up).
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Ext4Null,
    TcpGpf,
    SlubBug,
    HungPanic,
    SoftLockup,
    NapiWarn,
    SysrqSoft,
}

fn crash_text(kind: Kind, host: &str, release: &str, cpu: u64, pid: u64) -> (Reason, String) {
    let hw = format!("Hardware name: {host} fleet server, BIOS fleet");
    let head = |comm: &str| {
        format!(
            "CPU: {cpu} UID: 0 PID: {pid} Comm: {comm} Not tainted {release} #1 PREEMPT(voluntary)\n{hw}\n"
        )
    };
    let regs = "RSP: 0018:ffffc90000c3bc48 EFLAGS: 00010246\n\
RAX: 0000000000000000 RBX: ffff888103a1c000 RCX: 0000000000000000\n\
RDX: 0000000000000001 RSI: ffff888104d2e000 RDI: 0000000000000000\n\
RBP: ffffc90000c3bc90 R08: 0000000000000000 R09: 0000000000000000\n\
R10: 0000000000000000 R11: 0000000000000000 R12: ffff888103a1c0a8\n\
R13: 0000000000000000 R14: ffff88810a2f4000 R15: 0000000000000001\n\
FS:  00007f2c1b7fe6c0(0000) GS:ffff88846fc00000(0000) knlGS:0000000000000000\n\
CS:  0010 DS: 0000 ES: 0000 CR0: 0000000080050033\n\
CR2: 0000000000000008 CR3: 000000010b3d6005 CR4: 0000000000770ef0\n";
    match kind {
        Kind::Ext4Null => (
            Reason::Oops,
            format!(
                "BUG: kernel NULL pointer dereference, address: 0000000000000008\n\
#PF: supervisor read access in kernel mode\n#PF: error_code(0x0000) - not-present page\n\
PGD 0 P4D 0 \nOops: Oops: 0000 [#1] SMP NOPTI\n{}\
RIP: 0010:ext4_es_lookup_extent+0x5c/0x2a0\n\
Code: 48 89 fb 48 83 ec 10 4c 8b 67 08 <49> 8b 44 24 08 48 85 c0 74 59 48 8b 50 10\n{regs}\
Call Trace:\n <TASK>\n ? __die+0x23/0x70\n ? page_fault_oops+0x171/0x4e0\n ? exc_page_fault+0x77/0x170\n\
 ? asm_exc_page_fault+0x26/0x30\n ? ext4_es_lookup_extent+0x5c/0x2a0\n ext4_map_blocks+0x7b/0x610\n\
 ext4_mpage_readpages+0x2c1/0x7a0\n read_pages+0x72/0x290\n page_cache_ra_unbounded+0x143/0x1c0\n\
 filemap_get_pages+0x10e/0x6a0\n filemap_read+0xe7/0x390\n vfs_read+0x25c/0x390\n ksys_read+0x73/0xf0\n\
 do_syscall_64+0x82/0x170\n entry_SYSCALL_64_after_hwframe+0x76/0x7e\n </TASK>\n\
Modules linked in: netoops(O) nft_chain_nat xt_MASQUERADE nf_nat ext4 mbcache jbd2 nvme\n\
CR2: 0000000000000008\n---[ end trace 0000000000000000 ]---\n",
                head("postgres")
            ),
        ),
        Kind::TcpGpf => (
            Reason::Oops,
            format!(
                "Oops: general protection fault, probably for non-canonical address 0xdead000000000122: 0000 [#1] SMP NOPTI\n{}\
RIP: 0010:tcp_recvmsg_locked+0x2e1/0x9b0\n\
Code: 8b 85 a0 00 00 00 48 8b 40 18 <48> 8b 40 08 48 85 c0 0f 84 4c 02 00 00\n{regs}\
Call Trace:\n <TASK>\n ? die_addr+0x36/0x90\n ? exc_general_protection+0x1c5/0x430\n\
 ? asm_exc_general_protection+0x26/0x30\n ? tcp_recvmsg_locked+0x2e1/0x9b0\n tcp_recvmsg+0x81/0x1f0\n\
 inet_recvmsg+0x5b/0x110\n sock_recvmsg+0x93/0xa0\n __sys_recvfrom+0xb8/0x150\n __x64_sys_recvfrom+0x24/0x30\n\
 do_syscall_64+0x82/0x170\n entry_SYSCALL_64_after_hwframe+0x76/0x7e\n </TASK>\n\
Modules linked in: netoops(O) bonding mlx5_core tls\n---[ end trace 0000000000000000 ]---\n",
                head("mysqld")
            ),
        ),
        Kind::SlubBug => (
            Reason::Oops,
            format!(
                "------------[ cut here ]------------\nkernel BUG at mm/slub.c:435!\n\
Oops: invalid opcode: 0000 [#1] SMP NOPTI\n{}\
RIP: 0010:kfree+0x2a6/0x2b0\n\
Code: 0f 0b 48 89 df e8 e6 fe ff ff e9 5c ff ff ff <0f> 0b 0f 0b 66 0f 1f 44 00 00\n{regs}\
Call Trace:\n <TASK>\n ? die+0x36/0x90\n ? do_trap+0xda/0x100\n ? kfree+0x2a6/0x2b0\n\
 ? exc_invalid_op+0x4f/0x70\n ? asm_exc_invalid_op+0x1a/0x20\n ? kfree+0x2a6/0x2b0\n\
 bpf_prog_array_free_sleepable+0x1c/0x30\n cgroup_bpf_release+0x1b4/0x2d0\n process_one_work+0x178/0x350\n\
 worker_thread+0x2f5/0x420\n kthread+0xd2/0x100\n ret_from_fork+0x34/0x50\n ret_from_fork_asm+0x1a/0x30\n </TASK>\n\
Modules linked in: netoops(O) overlay br_netfilter\n---[ end trace 0000000000000000 ]---\n",
                head("kworker/3:1")
            ),
        ),
        Kind::HungPanic => (
            Reason::Panic,
            format!(
                "INFO: task jbd2/nvme0n1p2-8:412 blocked for more than 122 seconds.\n\
      Not tainted {release} #1\n\"echo 0 > /proc/sys/kernel/hung_task_timeout_secs\" disables this message.\n\
task:jbd2/nvme0n1p2-8 state:D stack:0     pid:412   tgid:412   ppid:2      flags:0x00004000\n\
Call Trace:\n <TASK>\n __schedule+0x3f0/0xb40\n schedule+0x27/0xf0\n io_schedule+0x46/0x70\n\
 bit_wait_io+0x11/0x70\n __wait_on_bit+0x42/0x110\n out_of_line_wait_on_bit+0x8c/0xb0\n\
 jbd2_journal_commit_transaction+0x16c2/0x1ad0 [jbd2]\n kjournald2+0xab/0x270 [jbd2]\n kthread+0xd2/0x100\n\
 ret_from_fork+0x34/0x50\n </TASK>\nKernel panic - not syncing: hung_task: blocked tasks\n\
{}Call Trace:\n <TASK>\n panic+0x34d/0x370\n watchdog+0x5a4/0x5b0\n kthread+0xd2/0x100\n </TASK>\n\
---[ end Kernel panic - not syncing: hung_task: blocked tasks ]---\n",
                head("khungtaskd")
            ),
        ),
        Kind::SoftLockup => (
            Reason::Panic,
            format!(
                "watchdog: BUG: soft lockup - CPU#{cpu} stuck for 26s! [fio:{pid}]\n\
Modules linked in: netoops(O) nvme nvme_core\n{}\
RIP: 0010:nvme_poll_cq+0x9d/0x330 [nvme]\n{regs}\
Call Trace:\n <IRQ>\n ? watchdog_timer_fn+0x1e6/0x270\n ? __hrtimer_run_queues+0x10f/0x2a0\n </IRQ>\n <TASK>\n\
 nvme_poll_cq+0x9d/0x330 [nvme]\n nvme_poll+0x39/0x60 [nvme]\n blk_hctx_poll+0x2a/0x90\n blk_rq_poll+0x6b/0x80\n\
 iomap_dio_rw+0x12/0x40\n ext4_file_read_iter+0x100/0x1b0\n vfs_read+0x25c/0x390\n </TASK>\n\
Kernel panic - not syncing: softlockup: hung tasks\n---[ end Kernel panic - not syncing: softlockup: hung tasks ]---\n",
                head("fio")
            ),
        ),
        Kind::NapiWarn => (
            Reason::Oops,
            format!(
                "------------[ cut here ]------------\nWARNING: CPU: {cpu} PID: {pid} at net/core/dev.c:6712 netif_napi_add_weight_locked+0x1a4/0x1c0\n\
Modules linked in: netoops(O) ice\n{}\
RIP: 0010:netif_napi_add_weight_locked+0x1a4/0x1c0\n{regs}\
Call Trace:\n <TASK>\n ? __warn+0x84/0x130\n ? netif_napi_add_weight_locked+0x1a4/0x1c0\n ? report_bug+0x18a/0x1a0\n\
 ? handle_bug+0x53/0x90\n ? exc_invalid_op+0x18/0x70\n ? asm_exc_invalid_op+0x1a/0x20\n\
 ice_vsi_alloc_q_vectors+0x1b6/0x2f0 [ice]\n ice_vsi_cfg_def+0x2a5/0x6d0 [ice]\n ice_vsi_rebuild+0x9a/0x160 [ice]\n\
 ice_do_reset+0x1a1/0x290 [ice]\n ice_service_task+0x3da/0x11d0 [ice]\n process_one_work+0x178/0x350\n\
 worker_thread+0x2f5/0x420\n kthread+0xd2/0x100\n </TASK>\n---[ end trace 0000000000000000 ]---\n",
                head("kworker/u64:2")
            ),
        ),
        Kind::SysrqSoft => (
            Reason::Soft,
            "sysrq: Trigger a crash dump (netoops soft dump)\nnetoops: soft dump requested by the operator\n"
                .to_string(),
        ),
    }
}

fn usage() -> ! {
    eprintln!("usage: gen_history --db DB [--days 60] [--seed 1] [--now UNIX]");
    std::process::exit(2)
}

fn main() {
    let mut db: Option<PathBuf> = None;
    let mut days = 60u32;
    let mut seed = 1u64;
    let mut now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--db" => db = Some(PathBuf::from(val())),
            "--days" => days = val().parse().unwrap_or_else(|_| usage()),
            "--seed" => seed = val().parse().unwrap_or_else(|_| usage()),
            "--now" => now = val().parse().unwrap_or_else(|_| usage()),
            _ => usage(),
        }
    }
    let Some(db) = db else { usage() };
    let mut store = SqliteStore::open(&db).unwrap_or_else(|e| {
        eprintln!("gen_history: {e}");
        std::process::exit(1)
    });
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let days = f64::from(days);

    // Events: (days ago, machine, kind).
    let mut events: Vec<(f64, usize, Kind)> = Vec::new();
    let at = |rng: &mut Rng, from: f64, to: f64| {
        from + (to - from) * rng.below(10_000) as f64 / 10_000.0
    };
    // Steady: every ~2 days, any machine, every release.
    let mut t = days - 0.5;
    while t > 0.2 {
        events.push((t, rng.below(FLEET.len() as u64) as usize, Kind::Ext4Null));
        t -= 1.0 + rng.below(200) as f64 / 100.0;
    }
    // Rising: about one a week on the db machines, then 9 in the last week.
    let mut w = days.min(35.0);
    while w > 7.0 {
        events.push((
            at(&mut rng, w - 7.0, w).max(7.1),
            3 + rng.below(3) as usize,
            Kind::TcpGpf,
        ));
        w -= 7.0;
    }
    for _ in 0..9 {
        events.push((
            at(&mut rng, 0.1, 6.9),
            3 + rng.below(3) as usize,
            Kind::TcpGpf,
        ));
    }
    // New: only on the newest release (canaries, last 12 days).
    for _ in 0..6 {
        events.push((
            at(&mut rng, 0.2, 11.5),
            6 + rng.below(4) as usize,
            Kind::SlubBug,
        ));
    }
    // Hung-task panics on the web machines, spread out.
    for _ in 0..(days / 10.0) as u32 {
        events.push((
            at(&mut rng, 1.0, days),
            rng.below(3) as usize,
            Kind::HungPanic,
        ));
    }
    // Soft lockups on the build machines.
    for _ in 0..4 {
        events.push((
            at(&mut rng, 1.0, days.min(45.0)),
            6 + rng.below(2) as usize,
            Kind::SoftLockup,
        ));
    }
    // Warnings on the edge machines, every ~4 days.
    let mut t = days - 2.0;
    while t > 0.5 {
        events.push((t, 8 + rng.below(2) as usize, Kind::NapiWarn));
        t -= 3.0 + rng.below(200) as f64 / 100.0;
    }
    // Operator soft dumps.
    for _ in 0..3 {
        events.push((
            at(&mut rng, 0.5, days),
            rng.below(FLEET.len() as u64) as usize,
            Kind::SysrqSoft,
        ));
    }
    // Oldest first, so boots and sequence numbers follow time.
    events.sort_by(|a, b| b.0.total_cmp(&a.0));

    // Per machine: boot number, next sequence number in that boot, and its kernel.
    let mut boots = vec![(0u64, 0u32); FLEET.len()];
    let mut running: Vec<Option<&str>> = vec![None; FLEET.len()];
    let mut reports = Vec::new();
    let mut dropped = 0;
    for (n, &(ago, mi, kind)) in events.iter().enumerate() {
        let m = &FLEET[mi];
        let rel = release(m, ago);
        let updated = ago < UPDATE_DAYS_AGO;
        let microcode = if updated {
            m.microcode.1
        } else {
            m.microcode.0
        };
        let bios = if updated { m.bios.1 } else { m.bios.0 };
        let when_ms = now * 1000 - (ago * 86_400_000.0) as i64;
        // A new kernel means a new boot.
        if running[mi].is_some_and(|r| r != rel) {
            boots[mi] = (boots[mi].0 + 1, 0);
        }
        running[mi] = Some(rel);
        let (boot_no, seq) = boots[mi];
        // Distinct for each (seed, machine, boot): a mix, not a plain XOR of the three.
        let a = splitmix64(splitmix64(seed) ^ ((mi as u64) << 40) ^ boot_no);
        let mut boot_id = [0u8; 16];
        boot_id[..8].copy_from_slice(&a.to_le_bytes());
        boot_id[8..].copy_from_slice(&splitmix64(a).to_le_bytes());
        // A warning leaves the machine up (next dump: same boot); anything else reboots.
        boots[mi] = if kind == Kind::NapiWarn || kind == Kind::SysrqSoft {
            (boot_no, seq + 1)
        } else {
            (boot_no + 1, 0)
        };
        let uptime_s = 3600 + rng.below(86_400 * 5);
        let (reason, crash) =
            crash_text(kind, m.host, rel, rng.below(16), 1000 + rng.below(30_000));
        let mut log = String::new();
        let boot_lines = 30 + rng.below(40);
        for i in 0..boot_lines {
            let ts = uptime_s as f64 * i as f64 / boot_lines as f64;
            log.push_str(&format!(
                "[{ts:12.6}] {}\n",
                [
                    "systemd[1]: Started Journal Service.",
                    "EXT4-fs (nvme0n1p2): mounted filesystem with ordered data mode.",
                    "mlx5_core 0000:3b:00.0: Port module event: module 0, Cable plugged",
                    "bond0: (slave ens1f0): link status definitely up, 25000 Mbps full duplex",
                    "audit: type=1400 audit(1767225600.123:42): apparmor=\"STATUS\" operation=\"profile_load\"",
                    "netoops: target 10.0.0.2:6666 via bond0 ready",
                ][(i % 6) as usize]
            ));
        }
        // Frames of a call trace are indented by one space (the string continuations above
        // drop it at the start of a source line).
        let mut in_trace = false;
        for l in crash.lines() {
            let indent = if in_trace && !l.starts_with(' ') {
                " "
            } else {
                ""
            };
            log.push_str(&format!("[{:12.6}] {indent}{l}\n", uptime_s as f64 + 0.25));
            if l == "Call Trace:" {
                in_trace = true;
            } else if l.trim() == "</TASK>" {
                in_trace = false;
            }
        }
        let bid = build_id(rel);
        let regs = Regs {
            source: RegsSource::Fault,
            regs: ArchRegs::X86_64(RegsX86_64::from_array(
                [0xffff_8881_0000_0000 + n as u64 * 0x40; 21],
            )),
        };
        let dump = Dump {
            boot_id,
            seq,
            reason,
            facts: DumpFacts {
                kernel_release: Some(rel.as_bytes()),
                kernel_version: Some(b"#1 SMP PREEMPT_DYNAMIC Tue Nov  4 10:00:00 UTC 2026"),
                build_id: Some(&bid),
                hostname: Some(m.host.as_bytes()),
                arch: Some(b"x86_64"),
                cpu_vendor: Some(m.vendor.as_bytes()),
                cpu_id: Some(CpuId {
                    family: m.family,
                    model: m.model,
                    stepping: m.stepping,
                    microcode,
                }),
                dmi_bios_vendor: Some(b"American Megatrends International, LLC."),
                dmi_bios_version: Some(bios.as_bytes()),
                dmi_bios_date: Some(b"06/12/2025"),
                dmi_board_vendor: Some(b"Fleet"),
                dmi_board_name: Some(m.board.as_bytes()),
                dmi_product_name: Some(m.product.as_bytes()),
                taint: Some(if kind == Kind::NapiWarn {
                    0x1200
                } else {
                    0x1000
                }),
                time: Some(Time {
                    uptime_ns: uptime_s * 1_000_000_000,
                    wall_sec: when_ms / 1000,
                    wall_nsec: 0,
                }),
                regs: if reason == Reason::Soft {
                    None
                } else {
                    Some(&regs)
                },
                ..DumpFacts::empty()
            },
            log: log.as_bytes(),
            log_truncated: false,
        };
        let mut packets = if n % 3 == 0 {
            encode_v2(
                &dump,
                &Options {
                    max_packet: 1200,
                    parity_percent: 0,
                    seal: None,
                },
            )
            .expect("dump encodes")
        } else {
            netoopsd::encode::encode_dump(dump, 1200).expect("dump encodes")
        };
        // Now and then a packet is lost on the way (not the first: it holds the facts).
        if packets.len() > 3 && rng.chance(0.1) {
            let i = 1 + rng.below(packets.len() as u64 - 2) as usize;
            packets.remove(i);
            dropped += 1;
        }
        let Some(state) = DumpState::from_packets(packets.iter().map(Vec::as_slice), "gen") else {
            continue;
        };
        let first = UNIX_EPOCH + Duration::from_millis(when_ms as u64);
        let f = Finished {
            sender: IpAddr::V4(Ipv4Addr::from(m.ip)),
            dump: state,
            first_seen: first,
            last_seen: first,
        };
        reports.push(NewReport::from_finished(
            &f,
            first + Duration::from_millis(40),
        ));
    }
    let held = |s: &SqliteStore| s.list(&Default::default()).map_or(0, |v| v.len());
    let before = held(&store);
    match store.put(&reports) {
        Ok(_) => println!(
            "gen_history: {} reports generated ({} with a packet lost), {} new in {}",
            reports.len(),
            dropped,
            held(&store) - before,
            db.display()
        ),
        Err(e) => {
            eprintln!("gen_history: {e}");
            std::process::exit(1)
        }
    }
}
