// SPDX-License-Identifier: GPL-2.0

//! The dump: read the newest log, pack it with the machine's facts, send it through every
//! target — in whatever context the kernel crashes in.
//!
//! How the crash path holds (see also README "The crash path"):
//!
//! - **One dumper at a time, machine-wide, that can be taken over** ([`DumpLock`]): a dump
//!   owns the machine's dump state through an owner word, not a lock; a panicking CPU (whose
//!   `panic()` has stopped the other CPUs) or a dump nested on the owner's own CPU takes over.
//!   A dump on another CPU waits, within its budget, for the owner to finish.
//! - **Nothing a stopped CPU can hold**: the log buffer and what a dump builds live in the
//!   owner's scratch slot ([`Scratch`]); settings, the target list and each target's transmit
//!   state are read through RCU; pools are lock-free; the oops registers are per CPU.
//! - **A time budget per dump** (`dump_budget_ms`), on a clock that runs with interrupts off;
//!   each target gets a fair share of what is left, a dead device is skipped at once, and
//!   every loop touches the watchdogs.
//! - **Newest log first**: each target sends the fact packets, then the log packets from the
//!   newest, copy after copy.
//! - **Every context**: no allocation, no sleeping; the pool refill is queued through an
//!   irq_work from NMI.

use crate::facts::{self, HOSTNAME_LEN};
use crate::kmsg_dumper::LogReader;
use crate::netpoll_targets::{Outcome, Send};
use crate::owner::{Claim, Deadline, Scratch};
use crate::{bindings, wire, Shared};
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use kernel::alloc::VVec;
use kernel::prelude::*;
use kernel::str::BStr;
use kernel::sync::{rcu, Arc};

/// How long a panic or emergency dump keeps polling the devices after its last packet (within
/// its budget), so that they put what they were given on the wire before the machine resets.
const SETTLE_US: u64 = 200_000;

/// What one dump builds, in memory set aside at load time.
pub(crate) struct DumpScratch {
    /// The newest log.
    log: VVec<u8>,
    /// A copy of the hostname.
    hostname: [u8; HOSTNAME_LEN],
}

impl DumpScratch {
    fn new(log_bytes: usize) -> Result<Self> {
        Ok(DumpScratch {
            log: VVec::from_elem(0u8, log_bytes, GFP_KERNEL)?,
            hostname: [0; HOSTNAME_LEN],
        })
    }
}

/// The dump path.
pub(crate) struct Dumper {
    scratch: Scratch<DumpScratch>,
    /// The sequence number of the next dump of this boot.
    seq: AtomicU32,
    /// A panic dump was sent: an emergency restart after it sends no second one.
    panicked: AtomicBool,
    /// The faulting registers of oopses, per CPU.
    #[cfg(CONFIG_X86_64)]
    faults: crate::fault_regs::FaultRegs,
    /// The CPU's identity, read at load time.
    cpu: Option<facts::Cpu>,
    /// Milliseconds a dump may take.
    budget_ms: u32,
    shared: Arc<Shared>,
}

/// A test-only fault: the next dump oopses inside the dump path (test kernel builds only).
#[cfg(netoops_test_hooks)]
pub(crate) static OOPS_IN_NEXT_DUMP: AtomicBool = AtomicBool::new(false);

impl Dumper {
    /// The dump path's memory, allocated now (process context).
    pub(crate) fn new(shared: Arc<Shared>, budget_ms: u32) -> Result<Self> {
        let log_bytes = shared.log_bytes;
        Ok(Dumper {
            scratch: Scratch::new(DumpScratch::new(log_bytes)?, DumpScratch::new(log_bytes)?),
            seq: AtomicU32::new(0),
            panicked: AtomicBool::new(false),
            #[cfg(CONFIG_X86_64)]
            faults: crate::fault_regs::FaultRegs::new()?,
            cpu: facts::Cpu::probe(),
            budget_ms,
            shared,
        })
    }

    /// The die notifier: an oops's faulting registers, for the dumps of this crash.
    #[cfg(CONFIG_X86_64)]
    pub(crate) fn record_fault(&self, regs: &bindings::pt_regs) {
        self.faults.record(crate::arch_x86::regs_from(regs));
    }

    /// The registers dump `seq` for `reason` carries: for an oops, the faulting registers the
    /// die notifier recorded for this task on this CPU; for a panic, the same if it directly
    /// follows that oops's dump (panic_on_oops), else this CPU's own; for a soft dump, this
    /// CPU's own. Never another CPU's, never an older crash's.
    #[cfg(CONFIG_X86_64)]
    fn regs(&self, reason: wire::Reason, seq: u32) -> Option<wire::Regs<'static>> {
        let fault = match reason {
            wire::Reason::Oops => self.faults.for_oops(seq),
            wire::Reason::Panic => self.faults.for_panic(seq),
            _ => None,
        };
        let (source, regs) = match (reason, fault) {
            (_, Some(r)) => (wire::RegsSource::Fault, r),
            (wire::Reason::Panic, None) => (wire::RegsSource::PanicCpu, crate::arch_x86::current_regs()),
            (wire::Reason::Soft, None) => (wire::RegsSource::SysrqCpu, crate::arch_x86::current_regs()),
            _ => return None,
        };
        Some(wire::Regs {
            source,
            regs: wire::ArchRegs::X86_64(regs),
        })
    }

    #[cfg(not(CONFIG_X86_64))]
    fn regs(&self, _reason: wire::Reason, _seq: u32) -> Option<wire::Regs<'static>> {
        None
    }

    /// One dump. Runs in the crashing context: no allocation, no sleeping, every wait bounded
    /// by the budget.
    pub(crate) fn dump(&self, reason: wire::Reason, log: &mut LogReader<'_>) {
        let start = crate::owner::now_ns();
        let deadline = Deadline::after_us(u64::from(self.budget_ms) * 1000);
        // SAFETY: reads the kernel's panic CPU word.
        let panicking = reason == wire::Reason::Panic && unsafe { bindings::panic_on_this_cpu() };
        if reason == wire::Reason::Emerg && self.panicked.load(Ordering::Acquire) {
            // panic() with panic_timeout set ends in an emergency restart: its dump went.
            return;
        }
        let claim = if panicking { Claim::Panic } else { Claim::Wait };
        let Some(mut owner) = self.shared.dump_lock.acquire(claim, &deadline) else {
            pr_warn!(
                "dump: reason={} skipped: another CPU's dump still runs after {} ms\n",
                reason_name(reason),
                self.budget_ms
            );
            return;
        };
        if panicking {
            self.panicked.store(true, Ordering::Release);
        }
        let took_over = owner.took_over();
        let still_owner = owner.check();
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let scratch = self.scratch.get(&mut owner);
        let len = log.read_newest(&mut scratch.log[..]);
        let truncated = log.has_older();
        let captured = scratch.log.get(..len).unwrap_or(&[]);

        let guard = rcu::read_lock();
        let settings = self.shared.settings.read(&guard);
        let targets = self.shared.registry().read(&guard);
        let mut facts = facts::collect(self.cpu.as_ref(), settings.user_blob(), &mut scratch.hostname);
        facts.regs = self.regs(reason, seq);
        // One packet plan for every target (the smallest packet any allows), so that a
        // collector that hears several targets sees the same packets.
        let plan_payload = targets
            .iter()
            .filter_map(|t| t.max_payload(&guard))
            .min()
            .unwrap_or(wire::MAX_PACKET_SIZE);
        let dump = wire::Dump {
            boot_id: settings.boot_id,
            seq,
            reason,
            facts,
            log: captured,
            log_truncated: truncated,
        };
        let Ok(plan) = wire::Packetizer::new(dump, plan_payload) else {
            pr_err!("dump {}: cannot be encoded\n", seq);
            return;
        };
        let how = Send {
            plan: &plan,
            copies: settings.copies,
            gap_us: settings.gap_us,
            panicking,
        };
        let mut enabled = targets.iter().filter(|t| t.max_payload(&guard).is_some()).count();
        let (mut frames, mut reached) = (0u64, 0u32);
        for t in targets.iter() {
            if t.max_payload(&guard).is_none() {
                continue;
            }
            let share = deadline.share(enabled);
            enabled -= 1;
            let r = t.send_dump(&still_owner, &how, &share);
            frames += u64::from(r.sent);
            reached += u32::from(r.sent > 0);
            if r.outcome != Outcome::Complete {
                pr_warn!(
                    "dump {}: target {}: {} of {} frames sent: {}\n",
                    seq,
                    t.name(),
                    r.sent,
                    r.planned,
                    r.outcome.as_str()
                );
            }
            #[cfg(netoops_test_hooks)]
            if OOPS_IN_NEXT_DUMP.swap(false, Ordering::AcqRel) {
                pr_info!("dump {}: test fault: oopsing inside the dump path\n", seq);
                // SAFETY: an invalid opcode on purpose: the kernel handles it as an oops.
                unsafe { core::arch::asm!("ud2", options(noreturn)) };
            }
        }
        pr_info!(
            "dump {}: reason={}, read {} bytes of log, sent {} packets to {} targets, newest line: {}\n",
            seq,
            reason_name(reason),
            len,
            frames,
            reached,
            BStr::from_bytes(newest_line(captured, 160))
        );
        pr_info!(
            "dump {}: {} us of its {} ms budget{}\n",
            seq,
            crate::owner::now_ns().saturating_sub(start) / 1000,
            self.budget_ms,
            if took_over { ", taken over from another dump" } else { "" }
        );
        if matches!(reason, wire::Reason::Panic | wire::Reason::Emerg) {
            // The machine stops or resets next: let the devices send what they were given.
            let settle = Deadline::after_us(SETTLE_US.min(deadline.remaining_us()));
            targets.iter().for_each(|t| t.settle(&settle));
        } else {
            // The machine carries on: top the pools up for the next dump (from NMI through
            // an irq_work).
            self.shared.schedule_upkeep();
        }
    }
}

/// Sends a fixed dump (a golden vector) once through every enabled target, as the dump owner
/// (process context, for tests).
pub(crate) fn send_fixed(shared: &Shared, dump: &wire::Dump<'_>, max_packet: usize) {
    let deadline = Deadline::after_us(1_000_000);
    let Some(owner) = shared.dump_lock.acquire(Claim::Wait, &deadline) else {
        return;
    };
    let Ok(plan) = wire::Packetizer::new(*dump, max_packet) else {
        return;
    };
    let how = Send {
        plan: &plan,
        copies: 1,
        gap_us: 0,
        panicking: false,
    };
    let guard = rcu::read_lock();
    for t in shared.registry().read(&guard) {
        t.send_dump(&owner.check(), &how, &deadline);
    }
}

/// The name of a reason, as the kernel log line shows it.
pub(crate) fn reason_name(r: wire::Reason) -> &'static str {
    match r {
        wire::Reason::Oops => "OOPS",
        wire::Reason::Panic => "PANIC",
        wire::Reason::Soft => "SOFT",
        wire::Reason::Emerg => "EMERG",
        _ => "UNKNOWN",
    }
}

/// The last line of `log` (without its newline), at most `max` bytes of its end.
fn newest_line(log: &[u8], max: usize) -> &[u8] {
    let log = log.strip_suffix(b"\n").unwrap_or(log);
    let start = log.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let line = log.get(start..).unwrap_or(&[]);
    line.get(line.len().saturating_sub(max)..).unwrap_or(line)
}
