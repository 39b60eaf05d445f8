// SPDX-License-Identifier: GPL-2.0

//! The faulting registers of an oops, kept per CPU for the dumps of that same crash.
//!
//! The die notifier sees an oops's `pt_regs` before the oops is printed; the oops dump comes
//! later, on the same CPU, and a panic may follow directly (panic_on_oops, or an oops in
//! interrupt context). Each CPU has its own slot, written and read only on that CPU, so no
//! lock is needed (a CPU that crashed elsewhere cannot hold one of ours). A slot belongs to the
//! task that oopsed: an oops kills its task or panics, so registers found for another task are
//! an older crash's and never go out with this one.

use crate::bindings;
use crate::owner::this_cpu;
use crate::wire::RegsX86_64;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use kernel::prelude::*;

/// No dump carried the registers yet.
const NOT_DUMPED: u32 = u32::MAX;

/// One CPU's record.
struct Slot {
    /// Sequence count: odd while being written (by this CPU, possibly interrupted by an NMI
    /// that oopses too); readers on this CPU retry or give up on a change.
    seq: AtomicU32,
    /// The task that oopsed (`current`), 0 when empty.
    task: AtomicUsize,
    /// The dump that carried them, or `NOT_DUMPED`.
    dumped_in: AtomicU32,
    regs: UnsafeCell<RegsX86_64>,
}

/// Per-CPU oops registers.
pub(crate) struct FaultRegs {
    slots: KVec<Slot>,
}

// SAFETY: a slot's `regs` is written and read only on the slot's own CPU under its sequence
// count (see `record` and `read`); the rest is atomics.
unsafe impl Sync for FaultRegs {}
// SAFETY: plain data.
unsafe impl Send for FaultRegs {}

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
                    dumped_in: AtomicU32::new(NOT_DUMPED),
                    regs: UnsafeCell::new(RegsX86_64::from_array([0; RegsX86_64::COUNT])),
                },
                GFP_KERNEL,
            )?;
        }
        Ok(FaultRegs { slots })
    }

    fn mine(&self) -> Option<&Slot> {
        self.slots.get(this_cpu() as usize)
    }

    /// The die notifier: the registers of an oops on this CPU.
    pub(crate) fn record(&self, regs: RegsX86_64) {
        let Some(slot) = self.mine() else { return };
        slot.seq.fetch_add(1, Ordering::AcqRel);
        // SAFETY: only this CPU touches its slot; the odd sequence count makes a reader on
        // this CPU that we interrupted discard what it read.
        unsafe { *slot.regs.get() = regs };
        slot.task.store(current_task(), Ordering::Relaxed);
        slot.dumped_in.store(NOT_DUMPED, Ordering::Relaxed);
        slot.seq.fetch_add(1, Ordering::AcqRel);
    }

    /// Copies this CPU's registers into `out` if they belong to the current task; the slot.
    fn read(&self, out: &mut RegsX86_64) -> Option<&Slot> {
        let slot = self.mine()?;
        let before = slot.seq.load(Ordering::Acquire);
        if before % 2 == 1 || slot.task.load(Ordering::Relaxed) != current_task() {
            return None;
        }
        // SAFETY: only this CPU writes its slot; a write that interrupted this read changes
        // the sequence count, and the copy is then not used.
        *out = unsafe { *slot.regs.get() };
        (slot.seq.load(Ordering::Acquire) == before).then_some(slot)
    }

    /// For oops dump `seq`: this CPU's oops registers of the current task not yet dumped,
    /// copied into `out`. Returns whether there were.
    pub(crate) fn for_oops(&self, seq: u32, out: &mut RegsX86_64) -> bool {
        self.read(out).is_some_and(|slot| {
            slot.dumped_in
                .compare_exchange(NOT_DUMPED, seq, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        })
    }

    /// For panic dump `seq`: the registers of the oops this panic directly follows (same CPU,
    /// same task, and no dump since that oops's own), copied into `out`. Taken: a later dump
    /// never sees them. Returns whether there were.
    pub(crate) fn for_panic(&self, seq: u32, out: &mut RegsX86_64) -> bool {
        let Some(slot) = self.read(out) else {
            return false;
        };
        let dumped = slot.dumped_in.load(Ordering::Acquire);
        if dumped != NOT_DUMPED && Some(dumped) != seq.checked_sub(1) {
            return false;
        }
        slot.task.store(0, Ordering::Relaxed);
        true
    }
}
