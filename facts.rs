// SPDX-License-Identifier: GPL-2.0

//! Machine facts read at dump time: kernel release, version and build id (read at load time by
//! `build_id.rs`), hostname, architecture, CPU, DMI firmware and board identity, taint flags,
//! uptime and wall clock.
//!
//! Everything here reads memory the kernel keeps for the life of the system (utsname, DMI
//! strings, boot CPU data) or NMI-safe clocks, so it is safe on the dump path: no locks, no
//! allocation.

use crate::bindings;
use crate::wire::{DumpFacts, Time};
use kernel::prelude::*;

/// The bytes of a NUL-terminated static kernel string; `None` if absent or empty.
fn static_str(p: *const kernel::ffi::c_char) -> Option<&'static [u8]> {
    if p.is_null() {
        return None;
    }
    // SAFETY: callers pass strings the kernel keeps for the life of the system.
    let s = unsafe { CStr::from_char_ptr(p) }.to_bytes();
    (!s.is_empty()).then_some(s)
}

/// A DMI string (absent fields are absent, not empty strings).
fn dmi(field: bindings::dmi_field) -> Option<&'static [u8]> {
    // SAFETY: `dmi_get_system_info` returns a pointer into the kernel's DMI table copy (kept
    // for the life of the system) or null.
    static_str(unsafe { bindings::dmi_get_system_info(field as i32) })
}

/// The taint flags as a bitmask (`/proc/sys/kernel/tainted`).
fn taint() -> u64 {
    (0..bindings::TAINT_FLAGS_COUNT).fold(0u64, |mask, bit| {
        // SAFETY: `test_taint` reads one bit of the kernel's taint mask.
        if unsafe { bindings::test_taint(bit) } != 0 {
            mask | (1u64 << bit)
        } else {
            mask
        }
    })
}

/// Uptime and wall clock from the NMI-safe clocks.
fn time() -> Time {
    // SAFETY: the `_fast_ns` clocks are lockless and NMI-safe.
    let (uptime_ns, real) = unsafe {
        (
            bindings::ktime_get_boot_fast_ns(),
            bindings::ktime_get_real_fast_ns(),
        )
    };
    Time {
        uptime_ns,
        wall_sec: (real / 1_000_000_000) as i64,
        wall_nsec: (real % 1_000_000_000) as u32,
    }
}

/// The CPU of this machine, read once at load time.
#[derive(Clone, Copy)]
pub(crate) struct Cpu {
    vendor: [u8; 12],
    id: crate::wire::CpuId,
}

impl Cpu {
    /// The boot CPU's identity, or `None` on architectures without an arch module.
    pub(crate) fn probe() -> Option<Cpu> {
        #[cfg(CONFIG_X86_64)]
        {
            Some(Cpu {
                vendor: crate::arch_x86::vendor(),
                id: crate::arch_x86::cpu_id(),
            })
        }
        #[cfg(not(CONFIG_X86_64))]
        {
            None
        }
    }

    fn vendor(&self) -> &[u8] {
        let len = self.vendor.iter().position(|&b| b == 0).unwrap_or(12);
        &self.vendor[..len]
    }
}

/// Room for a copy of the hostname (`__NEW_UTS_LEN` + 1).
pub(crate) const HOSTNAME_LEN: usize = 65;

/// A copy of the NUL-terminated string at `p` (at most `buf`'s length) in `buf`; `None` if
/// absent or empty.
fn copy_str(p: *const kernel::ffi::c_char, buf: &mut [u8; HOSTNAME_LEN]) -> Option<&[u8]> {
    if p.is_null() {
        return None;
    }
    let mut len = 0;
    while len < buf.len() {
        // SAFETY: `p` points to a NUL-terminated array of at least `HOSTNAME_LEN` bytes; we
        // stop at its NUL.
        let b = unsafe { p.add(len).read_volatile() };
        if b == 0 {
            break;
        }
        buf[len] = b;
        len += 1;
    }
    (len > 0).then(|| &buf[..len])
}

/// The facts of this machine now, with the administrator's `user_blob`. The hostname can be
/// changed at any time (sethostname), so it is copied into `hostname`, byte by byte.
pub(crate) fn collect<'a>(
    facts: &mut DumpFacts<'a>,
    cpu: Option<&'a Cpu>,
    build_id: Option<&'a [u8]>,
    user_blob: &'a [u8],
    hostname: &'a mut [u8; HOSTNAME_LEN],
) {
    // SAFETY: all four are accessors of the kernel's initial utsname, which lives forever; the
    // release, version and machine never change after boot.
    let (release, version, nodename, machine) = unsafe {
        (
            bindings::netoops_uts_release(),
            bindings::netoops_uts_version(),
            bindings::netoops_uts_nodename(),
            bindings::netoops_uts_machine(),
        )
    };
    // Field by field, in place: no copy of the facts on the crash path's stack.
    facts.kernel_release = static_str(release);
    facts.kernel_version = static_str(version);
    facts.build_id = build_id;
    facts.hostname = copy_str(nodename, hostname);
    facts.arch = static_str(machine);
    facts.cpu_vendor = cpu.map(Cpu::vendor);
    facts.cpu_id = cpu.map(|c| c.id);
    facts.dmi_bios_vendor = dmi(bindings::dmi_field_DMI_BIOS_VENDOR);
    facts.dmi_bios_version = dmi(bindings::dmi_field_DMI_BIOS_VERSION);
    facts.dmi_bios_date = dmi(bindings::dmi_field_DMI_BIOS_DATE);
    facts.dmi_board_vendor = dmi(bindings::dmi_field_DMI_BOARD_VENDOR);
    facts.dmi_board_name = dmi(bindings::dmi_field_DMI_BOARD_NAME);
    facts.dmi_product_name = dmi(bindings::dmi_field_DMI_PRODUCT_NAME);
    facts.user_blob = (!user_blob.is_empty()).then_some(user_blob);
    facts.taint = Some(taint());
    facts.time = Some(time());
}
