// SPDX-License-Identifier: GPL-2.0

//! The faulting registers of an oops, kept for the dumps of that same crash.
//!
//! The die notifier sees an oops's `pt_regs` before the oops is printed; the oops dump comes
//! later, in the same task, and a panic may follow directly (panic_on_oops, or an oops in
//! interrupt context). Not necessarily on the same CPU: x86's `oops_end()` restores the
//! interrupted context's interrupt flag before `oops_exit()` calls the kmsg dumpers (a BUG
//! enables interrupts before it oopses), so the task may be preempted there and go on on
//! another CPU. Each CPU has its own slot, written only by that CPU (in its die notifier), under
//! a sequence count; the dump looks in every slot for the one its own task filled, newest
//! first. A slot belongs to the task that oopsed: an oops kills its task or panics, so registers
//! found for another task are an older crash's and never go out with this one.

use crate::bindings;
use crate::owner::this_cpu;
use crate::wire::RegsX86_64;
use core::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use kernel::prelude::*;

/// No dump carried the registers yet.
const NOT_DUMPED: u32 = u32::MAX;

/// One CPU's record.
struct Slot {
    /// Sequence count: odd while this CPU writes the slot (possibly interrupted by an NMI that
    /// oopses too); a reader that sees it odd, or changed after copying, does not use its copy.
    seq: AtomicU32,
    /// The task that oopsed (`current`), 0 when empty.
    task: AtomicUsize,
    /// When it was written, from [`FaultRegs::written`]: the newest of a task's slots wins.
    generation: AtomicU32,
    /// The dump that carried them, or `NOT_DUMPED`.
    dumped_in: AtomicU32,
    /// The registers in wire order; atomics, because another CPU may read while this one
    /// writes (the sequence count then makes it discard what it read).
    regs: [AtomicU64; RegsX86_64::COUNT],
}

/// Per-CPU oops registers.
pub(crate) struct FaultRegs {
    slots: KVec<Slot>,
    /// Records written so far.
    written: AtomicU32,
}

fn current_task() -> usize {
    // SAFETY: reads the `current` pointer of this CPU.
    unsafe { bindings::netoops_current() as usize }
}

impl FaultRegs {
    /// A slot for every possible CPU (process context).
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: reads a variable set at boot.
        let n = unsafe { bindings::netoops_nr_cpu_ids() } as usize;
        let mut slots = KVec::with_capacity(n, GFP_KERNEL)?;
        for _ in 0..n {
            slots.push(
                Slot {
                    seq: AtomicU32::new(0),
                    task: AtomicUsize::new(0),
                    generation: AtomicU32::new(0),
                    dumped_in: AtomicU32::new(NOT_DUMPED),
                    regs: [const { AtomicU64::new(0) }; RegsX86_64::COUNT],
                },
                GFP_KERNEL,
            )?;
        }
        Ok(FaultRegs {
            slots,
            written: AtomicU32::new(0),
        })
    }

    /// The die notifier: the registers of an oops on this CPU.
    pub(crate) fn record(&self, regs: RegsX86_64) {
        let Some(slot) = self.slots.get(this_cpu() as usize) else {
            return;
        };
        slot.seq.fetch_add(1, Ordering::AcqRel);
        for (held, value) in slot.regs.iter().zip(regs.to_array()) {
            held.store(value, Ordering::Relaxed);
        }
        slot.task.store(current_task(), Ordering::Relaxed);
        let generation = self.written.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        slot.generation.store(generation, Ordering::Relaxed);
        slot.dumped_in.store(NOT_DUMPED, Ordering::Relaxed);
        slot.seq.fetch_add(1, Ordering::AcqRel);
    }

    /// Copies the newest registers the current task's oops left (on any CPU) into `out`; the
    /// slot they came from.
    fn read(&self, out: &mut RegsX86_64) -> Option<&Slot> {
        let task = current_task();
        let mut found: Option<(&Slot, u32)> = None;
        for slot in self.slots.iter() {
            let before = slot.seq.load(Ordering::Acquire);
            if before % 2 == 1 || slot.task.load(Ordering::Relaxed) != task {
                continue;
            }
            let generation = slot.generation.load(Ordering::Relaxed);
            // Newest first: a later record of this task (wrapping counter) replaces it.
            if found.is_some_and(|(_, g)| generation.wrapping_sub(g) as i32 <= 0) {
                continue;
            }
            let mut copy = [0u64; RegsX86_64::COUNT];
            for (value, held) in copy.iter_mut().zip(&slot.regs) {
                *value = held.load(Ordering::Relaxed);
            }
            if slot.seq.load(Ordering::Acquire) == before {
                *out = RegsX86_64::from_array(copy);
                found = Some((slot, generation));
            }
        }
        found.map(|(slot, _)| slot)
    }

    /// For oops dump `seq`: the current task's oops registers not yet dumped, copied into
    /// `out`. Returns whether there were.
    pub(crate) fn for_oops(&self, seq: u32, out: &mut RegsX86_64) -> bool {
        self.read(out).is_some_and(|slot| {
            slot.dumped_in
                .compare_exchange(NOT_DUMPED, seq, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        })
    }

    /// For panic dump `seq`: the registers of the oops this panic directly follows (same task,
    /// and no dump since that oops's own), copied into `out`. Taken: a later dump never sees
    /// them. Returns whether there were.
    pub(crate) fn for_panic(&self, seq: u32, out: &mut RegsX86_64) -> bool {
        let Some(slot) = self.read(out) else {
            return false;
        };
        let dumped = slot.dumped_in.load(Ordering::Acquire);
        if dumped != NOT_DUMPED && Some(dumped) != seq.checked_sub(1) {
            return false;
        }
        // Only if the slot is still this task's: its CPU may have recorded another oops since.
        let _ = slot
            .task
            .compare_exchange(current_task(), 0, Ordering::Relaxed, Ordering::Relaxed);
        true
    }
}
