//! The dumps behind the golden test vectors in `codec/golden/`.
//!
//! The files there are these dumps encoded at the given maximum packet sizes (see
//! `codec/golden/README.md`). The encoder must keep producing exactly those bytes, and a
//! kernel that encodes one of these dumps must put exactly those bytes on the wire.

use super::encode::{Dump, DumpFacts};
use super::types::{ArchRegs, CpuId, Reason, Regs, RegsSource, RegsX86_64, Time};

/// One golden vector set: a dump and the maximum packet size it is encoded with.
#[derive(Debug, Clone, Copy)]
pub struct Vector {
    /// Directory name under `codec/golden/`.
    pub name: &'static str,
    /// The dump.
    pub dump: Dump<'static>,
    /// Maximum packet size passed to the packetizer.
    pub max_packet: usize,
}

/// All golden vectors.
pub const VECTORS: [Vector; 3] = [
    Vector {
        name: "soft-1460",
        dump: SOFT,
        max_packet: 1460,
    },
    Vector {
        name: "oops-1460",
        dump: OOPS,
        max_packet: 1460,
    },
    Vector {
        name: "oops-512",
        dump: OOPS,
        max_packet: 512,
    },
];

/// Boot id of the examples: `6f1c2b7e-9a4d-4c3e-8b21-5d0f7a9e3c41`.
pub const BOOT_ID: [u8; 16] = [
    0x6f, 0x1c, 0x2b, 0x7e, 0x9a, 0x4d, 0x4c, 0x3e, 0x8b, 0x21, 0x5d, 0x0f, 0x7a, 0x9e, 0x3c, 0x41,
];

/// The worked example of `PROTOCOL.md`: a small SysRq soft dump that fits one packet.
pub const SOFT: Dump<'static> = Dump {
    boot_id: BOOT_ID,
    seq: 2,
    reason: Reason::Soft,
    facts: DumpFacts {
        kernel_release: Some(b"6.12.0-netoops"),
        hostname: Some(b"qemu-test"),
        arch: Some(b"x86_64"),
        user_blob: Some(b"rack=B7"),
        taint: Some(0),
        time: Some(Time {
            uptime_ns: 42_123_456_789,
            wall_sec: 1_767_225_600,
            wall_nsec: 500_000_000,
        }),
        ..DumpFacts::empty()
    },
    log: SOFT_LOG,
    log_truncated: false,
};

/// Log of [`SOFT`].
pub const SOFT_LOG: &[u8] = b"[   42.123456] sysrq: netoops soft dump\n";

/// A kernel oops with every fact, x86_64 registers of the fault and a 3 KiB log.
pub const OOPS: Dump<'static> = Dump {
    boot_id: BOOT_ID,
    seq: 7,
    reason: Reason::Oops,
    facts: DumpFacts {
        kernel_release: Some(b"6.12.0-netoops"),
        kernel_version: Some(b"#1 SMP PREEMPT_DYNAMIC Thu Jan  1 00:00:00 UTC 2026"),
        build_id: None,
        hostname: Some(b"qemu-test"),
        arch: Some(b"x86_64"),
        cpu_vendor: Some(b"GenuineIntel"),
        cpu_id: Some(CpuId {
            family: 6,
            model: 85,
            stepping: 7,
            microcode: 0x0500_0036,
        }),
        dmi_bios_vendor: Some(b"SeaBIOS"),
        dmi_bios_version: Some(b"1.16.2-debian-1.16.2-1"),
        dmi_bios_date: Some(b"04/01/2014"),
        dmi_board_vendor: None,
        dmi_board_name: None,
        dmi_product_name: Some(b"Standard PC (i440FX + PIIX, 1996)"),
        user_blob: Some(&[0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x02, 0x03]),
        regs: Some(&Regs {
            source: RegsSource::Fault,
            regs: ArchRegs::X86_64(OOPS_REGS),
        }),
        taint: Some(0x1080),
        time: Some(Time {
            uptime_ns: 97_531_246_801,
            wall_sec: 1_767_225_655,
            wall_nsec: 123_456_789,
        }),
    },
    log: OOPS_LOG,
    log_truncated: true,
};

/// Registers of [`OOPS`].
pub const OOPS_REGS: RegsX86_64 = RegsX86_64 {
    r15: 0xffff_8880_0371_2000,
    r14: 0x0000_0000_0000_0000,
    r13: 0xffff_ffff_a1e3_0c40,
    r12: 0x0000_0000_0000_0063,
    bp: 0xffff_c900_0057_7e48,
    bx: 0x0000_0000_0000_0063,
    r11: 0x0000_0000_0000_0000,
    r10: 0x0000_0000_0000_0000,
    r9: 0x0000_0000_0000_0000,
    r8: 0x0000_0000_0000_0000,
    ax: 0x0000_0000_0000_0000,
    cx: 0x0000_0000_0000_0000,
    dx: 0x0000_0000_0000_0000,
    si: 0x0000_0000_0000_0063,
    di: 0x0000_0000_0000_0000,
    orig_ax: 0xffff_ffff_ffff_ffff,
    ip: 0xffff_ffff_c0a1_2034,
    cs: 0x0000_0000_0000_0010,
    flags: 0x0000_0000_0001_0246,
    sp: 0xffff_c900_0057_7e30,
    ss: 0x0000_0000_0000_0018,
};

/// Log of [`OOPS`].
pub const OOPS_LOG: &[u8] = b"[   97.512003] netoops_test: triggering a NULL pointer dereference\n\
[   97.512391] BUG: kernel NULL pointer dereference, address: 0000000000000000\n\
[   97.512902] #PF: supervisor write access in kernel mode\n\
[   97.513170] #PF: error_code(0x0002) - not-present page\n\
[   97.513422] PGD 0 P4D 0 \n\
[   97.513571] Oops: Oops: 0002 [#1] PREEMPT SMP NOPTI\n\
[   97.513801] CPU: 1 UID: 0 PID: 231 Comm: sh Tainted: G           O       6.12.0-netoops #1\n\
[   97.514250] Tainted: [O]=OOT_MODULE\n\
[   97.514433] Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.2-debian-1.16.2-1 04/01/2014\n\
[   97.514954] RIP: 0010:netoops_test_write+0x34/0x60 [netoops_test]\n\
[   97.515302] Code: 48 89 e5 53 48 89 d3 e8 a8 ff ff ff 48 c7 c7 a0 30 a1 c0 e8 3c 5d 5a e0 31 c0 <c7> 04 25 00 00 00 00 01 00 00 00 48 89 d8 5b 5d c3 cc cc cc cc 66 90\n\
[   97.516100] RSP: 0018:ffffc90000577e30 EFLAGS: 00010246\n\
[   97.516366] RAX: 0000000000000000 RBX: 0000000000000063 RCX: 0000000000000000\n\
[   97.516715] RDX: 0000000000000000 RSI: 0000000000000063 RDI: 0000000000000000\n\
[   97.517063] RBP: ffffc90000577e48 R08: 0000000000000000 R09: 0000000000000000\n\
[   97.517411] R10: 0000000000000000 R11: 0000000000000000 R12: 0000000000000063\n\
[   97.517760] R13: ffffffffa1e30c40 R14: 0000000000000000 R15: ffff888003712000\n\
[   97.518108] FS:  00007f3e1c9f6740(0000) GS:ffff88801f500000(0000) knlGS:0000000000000000\n\
[   97.518500] CS:  0010 DS: 0000 ES: 0000 CR0: 0000000080050033\n\
[   97.518790] CR2: 0000000000000000 CR3: 0000000003b4e000 CR4: 00000000000006f0\n\
[   97.519139] Call Trace:\n\
[   97.519282]  <TASK>\n\
[   97.519409]  ? __die+0x23/0x70\n\
[   97.519584]  ? page_fault_oops+0x181/0x4a0\n\
[   97.519802]  ? exc_page_fault+0x7c/0x190\n\
[   97.520010]  ? asm_exc_page_fault+0x26/0x30\n\
[   97.520233]  ? netoops_test_write+0x34/0x60 [netoops_test]\n\
[   97.520521]  full_proxy_write+0x5a/0x90\n\
[   97.520726]  vfs_write+0xf3/0x460\n\
[   97.520910]  ? do_sys_openat2+0x94/0xd0\n\
[   97.521113]  ksys_write+0x6d/0xf0\n\
[   97.521298]  do_syscall_64+0x82/0x170\n\
[   97.521495]  ? syscall_exit_to_user_mode+0x10/0x1f0\n\
[   97.521745]  ? do_syscall_64+0x8e/0x170\n\
[   97.521948]  ? exc_page_fault+0x7c/0x190\n\
[   97.522155]  entry_SYSCALL_64_after_hwframe+0x76/0x7e\n\
[   97.522410] RIP: 0033:0x7f3e1cb0a1e4\n\
[   97.522604] Code: 15 39 ac 0d 00 f7 d8 64 89 02 48 c7 c0 ff ff ff ff eb b7 0f 1f 00 f3 0f 1e fa 80 3d 0d 2e 0e 00 00 74 13 b8 01 00 00 00 0f 05 <48> 3d 00 f0 ff ff 77 54 c3 0f 1f 00 55 48 89 e5 48 83 ec 20 48 89\n\
[   97.523480] RSP: 002b:00007ffd6b7c2f48 EFLAGS: 00000202 ORIG_RAX: 0000000000000001\n\
[   97.523860] RAX: ffffffffffffffda RBX: 0000000000000002 RCX: 00007f3e1cb0a1e4\n\
[   97.524208] RDX: 0000000000000002 RSI: 000055d5c4a1f2a0 RDI: 0000000000000001\n\
[   97.524557] RBP: 00007ffd6b7c2f70 R08: 0000000000000410 R09: 0000000000000001\n\
[   97.524905] R10: 0000000000000004 R11: 0000000000000202 R12: 0000000000000002\n\
[   97.525253] R13: 000055d5c4a1f2a0 R14: 0000000000000002 R15: 00007f3e1cbdcf20\n\
[   97.525601]  </TASK>\n\
[   97.525730] Modules linked in: netoops_test(O) netoops(O)\n\
[   97.525998] CR2: 0000000000000000\n\
[   97.526181] ---[ end trace 0000000000000000 ]---\n";

/// One version-2 golden vector set: a dump sent compressed, with parity, and perhaps sealed
/// under [`TEST_KEY`].
#[derive(Debug, Clone, Copy)]
pub struct VectorV2 {
    /// Directory name under `codec/golden/`.
    pub name: &'static str,
    /// The dump.
    pub dump: Dump<'static>,
    /// Maximum packet size.
    pub max_packet: usize,
    /// Parity packets per 100 data packets.
    pub parity_percent: u32,
    /// Sealed under [`TEST_KEY`] with key id [`TEST_KEY_ID`], salt [`TEST_SALT`] and the
    /// packet counter starting at 0.
    pub sealed: bool,
}

/// The published test key of the sealed golden vectors (never a real one): the ASCII bytes
/// of `netoops golden vectors test key!`.
pub const TEST_KEY: [u8; 32] = *b"netoops golden vectors test key!";
/// Key id of [`TEST_KEY`].
pub const TEST_KEY_ID: u8 = 1;
/// The salt of the sealed golden vectors (a real sender draws it at random).
pub const TEST_SALT: [u8; 16] = *b"golden-salt-0001";

/// All version-2 golden vectors.
pub const VECTORS_V2: [VectorV2; 2] = [
    VectorV2 {
        name: "oops-v2-1460",
        dump: OOPS,
        max_packet: 1460,
        parity_percent: 50,
        sealed: false,
    },
    VectorV2 {
        name: "oops-v2-sealed-512",
        dump: OOPS,
        max_packet: 512,
        parity_percent: 50,
        sealed: true,
    },
];
