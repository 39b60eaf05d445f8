// SPDX-License-Identifier: GPL-2.0

//! x86 facts: the CPU vendor string and family/model/stepping from CPUID (decoded as the kernel
//! decodes them), the microcode revision, and registers in the wire format's x86_64 layout.
//!
//! Only built for x86_64 (see `netoops.rs`); elsewhere no CPU or register records are sent.

use crate::bindings;
use crate::wire::{CpuId, RegsX86_64};

/// CPUID leaf `leaf` (subleaf 0) as (eax, ebx, ecx, edx).
fn cpuid(leaf: u32) -> [u32; 4] {
    let mut out = [0u32; 4];
    // SAFETY: `out` has room for the four registers the kernel's `cpuid()` helper writes.
    unsafe { bindings::netoops_cpuid(leaf, out.as_mut_ptr()) };
    out
}

/// The vendor string: CPUID leaf 0's ebx, edx, ecx (`GenuineIntel`, `AuthenticAMD`, ...).
pub(crate) fn vendor() -> [u8; 12] {
    let [_, ebx, ecx, edx] = cpuid(0);
    let mut v = [0u8; 12];
    v[..4].copy_from_slice(&ebx.to_le_bytes());
    v[4..8].copy_from_slice(&edx.to_le_bytes());
    v[8..].copy_from_slice(&ecx.to_le_bytes());
    v
}

/// Family, model and stepping from CPUID leaf 1's eax, as the kernel's `x86_family()`,
/// `x86_model()` and `x86_stepping()` decode them: the extended family is added when the
/// family is 0xf; the extended model is prepended when the family is 6 or more.
pub(crate) const fn decode_signature(eax: u32) -> (u32, u32, u32) {
    let mut family = (eax >> 8) & 0xf;
    if family == 0xf {
        family += (eax >> 20) & 0xff;
    }
    let mut model = (eax >> 4) & 0xf;
    if family >= 0x6 {
        model += ((eax >> 16) & 0xf) << 4;
    }
    (family, model, eax & 0xf)
}

/// Family, model, stepping and microcode revision of the boot CPU.
pub(crate) fn cpu_id() -> CpuId {
    let (family, model, stepping) = decode_signature(cpuid(1)[0]);
    CpuId {
        family,
        model,
        stepping,
        // SAFETY: reads a field of the kernel's `boot_cpu_data`, set up at boot.
        microcode: unsafe { bindings::netoops_microcode() },
    }
}

/// The registers of a `struct pt_regs`.
pub(crate) fn regs_from(regs: &bindings::pt_regs) -> RegsX86_64 {
    let mut f = [0u64; RegsX86_64::COUNT];
    // SAFETY: `regs` is a valid pt_regs; `f` has room for the 21 fields written, in the
    // kernel's order, which is the wire format's order too.
    unsafe { bindings::netoops_pt_regs_fields(regs, f.as_mut_ptr()) };
    RegsX86_64::from_array(f)
}

/// The registers of this CPU here and now (as the kernel's `crash_setup_regs` takes them
/// for a panic without an oops): the callee-saved registers, stack and frame pointers, flags,
/// segment selectors and the instruction pointer of this function's caller's context.
#[inline(never)]
pub(crate) fn current_regs(out: &mut RegsX86_64) {
    let (bx, bp, r12, r13, r14, r15, sp, ip, flags, cs, ss): (
        u64,
        u64,
        u64,
        u64,
        u64,
        u64,
        u64,
        u64,
        u64,
        u64,
        u64,
    );
    // SAFETY: only reads registers into outputs; the pushf/pop pair leaves the stack as it was.
    unsafe {
        core::arch::asm!(
            "mov {bx}, rbx",
            "mov {bp}, rbp",
            "mov {r12}, r12",
            "mov {r13}, r13",
            "mov {r14}, r14",
            "mov {r15}, r15",
            "mov {sp}, rsp",
            "lea {ip}, [rip]",
            "pushfq",
            "pop {flags}",
            "mov {cs:e}, cs",
            "mov {ss:e}, ss",
            bx = out(reg) bx,
            bp = out(reg) bp,
            r12 = out(reg) r12,
            r13 = out(reg) r13,
            r14 = out(reg) r14,
            r15 = out(reg) r15,
            sp = out(reg) sp,
            ip = out(reg) ip,
            flags = out(reg) flags,
            cs = out(reg) cs,
            ss = out(reg) ss,
        )
    };
    *out = RegsX86_64 {
        r15,
        r14,
        r13,
        r12,
        bp,
        bx,
        r11: 0,
        r10: 0,
        r9: 0,
        r8: 0,
        ax: 0,
        cx: 0,
        dx: 0,
        si: 0,
        di: 0,
        orig_ax: u64::MAX,
        ip,
        cs: cs & 0xffff,
        flags,
        sp,
        ss: ss & 0xffff,
    };
}
