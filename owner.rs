// SPDX-License-Identifier: GPL-2.0

//! One dumper at a time, machine-wide, that a panicking CPU can take over; and the time budget
//! every dump runs under.
//!
//! This is the idea of printk's nbcon consoles and `console_flush_on_panic`, for dumps: an
//! owner-CPU word instead of a lock. A CPU becomes the dump owner with one compare-and-swap;
//! while another CPU owns it, a dump waits (bounded by its budget) for the owner to finish,
//! except where waiting cannot help:
//!
//! - the panicking CPU takes over at once: `panic()` stops the other CPUs before it dumps, so
//!   an owner on another CPU will never finish;
//! - a dump on the owner's own CPU (an oops inside our dump path, or an NMI that crashed on top
//!   of it) takes over too: the interrupted dump cannot run again until this one returns.
//!
//! Ownership comes with one of two scratch slots (the log buffer and what a dump builds): a CPU
//! that takes over uses the slot the old owner is not using, so even an owner that was not
//! really stopped never shares memory with the new one. An owner checks between packets that it
//! still owns the dump ([`DumpOwner::may_continue`]) and stops when it was taken over or another
//! CPU panics.

use crate::bindings;
use core::sync::atomic::{AtomicU64, Ordering};

/// The machine-wide dump owner word.
///
/// Bits 0..=31: the owner's CPU number + 1 (0: free). Bit 32: the scratch slot of the owner, or
/// when free the slot the next owner takes. Bits 33..=63: an epoch, bumped on every change of
/// owner, so that a stale owner's word never matches again.
pub(crate) struct DumpLock {
    word: AtomicU64,
}

const CPU_MASK: u64 = 0xffff_ffff;
const SLOT_BIT: u64 = 1 << 32;
const EPOCH_ONE: u64 = 1 << 33;

/// Proof that this CPU owns the dump, with the scratch slot it may use. Not `Send`: ownership
/// belongs to the CPU (and context) that took it.
///
/// # Invariants
///
/// While `lock.word == word`, no other context that can still run uses scratch slot `slot`: its
/// previous user either finished (released the word), or was taken over and cannot run before
/// this owner is done — stopped by the panic, or interrupted on this very CPU below the context
/// that took over. The one previous owner that might run on (a CPU the panic failed to stop) is
/// the one taken over last, and it uses the other slot.
pub(crate) struct DumpOwner<'a> {
    lock: &'a DumpLock,
    word: u64,
    took_over: bool,
    _not_send: core::marker::PhantomData<*mut ()>,
}

/// How a dump claims ownership.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Claim {
    /// Wait (within the deadline) for another CPU's dump to finish.
    Wait,
    /// This is the panicking CPU: the other CPUs are stopped; take over from any owner.
    Panic,
}

/// This CPU's number.
pub(crate) fn this_cpu() -> u32 {
    // SAFETY: reads this CPU's number; the dump path runs with preemption off, and where it
    // might not (a SysRq write), a stale number only makes a comparison below fail safe.
    unsafe { bindings::netoops_this_cpu() as u32 }
}

impl DumpLock {
    /// A free lock; the first owner takes slot 0.
    pub(crate) const fn new() -> Self {
        DumpLock {
            word: AtomicU64::new(0),
        }
    }

    /// Becomes the dump owner, waiting at most until `deadline` for another CPU's dump, or
    /// taking over as `claim` and the situation allow (see the module documentation). `None`:
    /// another CPU still owns the dump at the deadline.
    pub(crate) fn acquire(&self, claim: Claim, deadline: &Deadline<'_>) -> Option<DumpOwner<'_>> {
        let cpu = u64::from(this_cpu()) + 1;
        let mut cur = self.word.load(Ordering::Acquire);
        loop {
            let owner_cpu = cur & CPU_MASK;
            let epoch = (cur & !(CPU_MASK | SLOT_BIT)).wrapping_add(EPOCH_ONE);
            let (next, took_over) = if owner_cpu == 0 {
                // Free: take the slot the word names.
                (epoch | (cur & SLOT_BIT) | cpu, false)
            } else if claim == Claim::Panic || owner_cpu == cpu {
                // Take over, into the slot the old owner is not using.
                (epoch | ((cur & SLOT_BIT) ^ SLOT_BIT) | cpu, true)
            } else {
                if deadline.expired() {
                    return None;
                }
                touch_watchdogs();
                deadline.delay_us(1);
                cur = self.word.load(Ordering::Acquire);
                continue;
            };
            match self
                .word
                .compare_exchange(cur, next, Ordering::AcqRel, Ordering::Acquire)
            {
                // INVARIANT: the word now names this context and `next`'s slot. When free, the
                // slot's last user released it; on a takeover, the owner taken over uses the
                // other slot, and whoever used this one before it was itself taken over (see
                // the type's invariant). Later dumps wait for the word or take over into the
                // other slot.
                Ok(_) => {
                    return Some(DumpOwner {
                        lock: self,
                        word: next,
                        took_over,
                        _not_send: core::marker::PhantomData,
                    })
                }
                Err(now) => cur = now,
            }
        }
    }
}

impl<'a> DumpOwner<'a> {
    /// The scratch slot (0 or 1) this owner may use.
    pub(crate) fn slot(&self) -> usize {
        usize::from(self.word & SLOT_BIT != 0)
    }

    /// Whether this owner took the dump over from another (possibly stopped) one.
    pub(crate) fn took_over(&self) -> bool {
        self.took_over
    }

    /// A handle to check, while the scratch slot is borrowed, that this owner may go on.
    pub(crate) fn check(&self) -> StillOwner<'a> {
        StillOwner {
            lock: self.lock,
            word: self.word,
        }
    }
}

/// Checks that a dump still owns the dump lock (see [`DumpOwner::check`]).
#[derive(Clone, Copy)]
pub(crate) struct StillOwner<'a> {
    lock: &'a DumpLock,
    word: u64,
}

impl StillOwner<'_> {
    /// Whether this dump may go on: it still owns the dump, and no other CPU has started to
    /// panic (the panicking CPU needs the devices and will stop this one anyway).
    pub(crate) fn may_continue(&self) -> bool {
        // SAFETY: reads the kernel's panic CPU word.
        self.lock.word.load(Ordering::Acquire) == self.word
            && !unsafe { bindings::panic_on_other_cpu() }
    }
}

/// Memory only the dump owner uses: two slots of `T`, one per owner that can exist at once
/// (an owner and the one that took over from it).
pub(crate) struct Scratch<T> {
    slots: [core::cell::UnsafeCell<T>; 2],
}

// SAFETY: a slot is only reached through `get`, which needs the dump owner token of that slot,
// borrowed mutably: one context at a time uses a slot (see `DumpOwner`'s invariant).
unsafe impl<T: Send> Sync for Scratch<T> {}
// SAFETY: plain data.
unsafe impl<T: Send> Send for Scratch<T> {}

impl<T> Scratch<T> {
    /// Two slots, initialised with `a` and `b`.
    pub(crate) fn new(a: T, b: T) -> Self {
        Scratch {
            slots: [
                core::cell::UnsafeCell::new(a),
                core::cell::UnsafeCell::new(b),
            ],
        }
    }

    /// The slot `owner` may use, for as long as it is borrowed.
    pub(crate) fn get<'s>(&'s self, owner: &'s mut DumpOwner<'_>) -> &'s mut T {
        // SAFETY: by `DumpOwner`'s invariant no other context uses this slot while `owner`
        // owns the dump, and borrowing `owner` mutably makes this the only reference made
        // through it.
        unsafe { &mut *self.slots[owner.slot()].get() }
    }
}

impl Drop for DumpOwner<'_> {
    fn drop(&mut self) {
        // Free the word, naming this owner's slot for the next one; if this owner was taken
        // over meanwhile, the word is not ours to change.
        let free = (self.word & !CPU_MASK).wrapping_add(EPOCH_ONE) & !CPU_MASK;
        let _ =
            self.lock
                .word
                .compare_exchange(self.word, free, Ordering::AcqRel, Ordering::Relaxed);
    }
}

/// Resets the hard- and soft-lockup watchdogs of this CPU (every loop of the dump path).
pub(crate) fn touch_watchdogs() {
    // SAFETY: `touch_nmi_watchdog` only writes this CPU's watchdog timestamps; callable in
    // any context.
    unsafe { bindings::netoops_touch_watchdogs() };
}

/// Nanoseconds of the fast monotonic clock (lockless, NMI-safe).
pub(crate) fn now_ns() -> u64 {
    // SAFETY: the fast monotonic clock is lockless and NMI-safe.
    unsafe { bindings::ktime_get_mono_fast_ns() }
}

/// The time one dump may take.
///
/// Elapsed time is the larger of two measures: the fast monotonic clock, and the sum of the
/// dump's own busy waits ([`Budget::delay_us`]: every wait of the dump path goes through it).
/// The clock runs with interrupts off where the clocksource does (a TSC); the count holds
/// where it does not (a jiffies clocksource stands still with interrupts off, as in a guest
/// without a usable TSC), since waiting is the only thing a dump does for long.
pub(crate) struct Budget {
    start_ns: u64,
    limit_us: u64,
    waited_us: core::cell::Cell<u64>,
    /// Of `waited_us`, the time spent waiting for a busy device to take a frame.
    busy_us: core::cell::Cell<u64>,
}

impl Budget {
    /// `limit_us` microseconds from now.
    pub(crate) fn new(limit_us: u64) -> Self {
        Budget {
            start_ns: now_ns(),
            limit_us,
            waited_us: core::cell::Cell::new(0),
            busy_us: core::cell::Cell::new(0),
        }
    }

    /// Microseconds spent waiting for busy devices.
    pub(crate) fn busy_us(&self) -> u64 {
        self.busy_us.get()
    }

    /// Microseconds used so far.
    pub(crate) fn elapsed_us(&self) -> u64 {
        let clock = now_ns().saturating_sub(self.start_ns) / 1000;
        clock.max(self.waited_us.get())
    }

    /// The whole budget as one deadline.
    pub(crate) fn all(&self) -> Deadline<'_> {
        Deadline {
            budget: self,
            end_us: self.limit_us,
        }
    }

    /// Busy-waits `us` microseconds and counts them.
    fn delay_us(&self, us: u64) {
        // SAFETY: a short busy wait (callers pass at most a few milliseconds).
        unsafe { bindings::__udelay(us as usize) };
        self.waited_us.set(self.waited_us.get().saturating_add(us));
    }
}

/// A point in a dump's [`Budget`] that a piece of the dump must finish by.
#[derive(Clone, Copy)]
pub(crate) struct Deadline<'a> {
    budget: &'a Budget,
    /// In the budget's elapsed microseconds.
    end_us: u64,
}

impl<'a> Deadline<'a> {
    /// Whether it has passed.
    pub(crate) fn expired(&self) -> bool {
        self.budget.elapsed_us() >= self.end_us
    }

    /// Microseconds left (0 once passed).
    pub(crate) fn remaining_us(&self) -> u64 {
        self.end_us.saturating_sub(self.budget.elapsed_us())
    }

    /// Busy-waits `us` microseconds, at most until the deadline, and counts them.
    pub(crate) fn delay_us(&self, us: u64) {
        let us = us.min(self.remaining_us());
        if us > 0 {
            self.budget.delay_us(us);
        }
    }

    /// As [`Self::delay_us`], waiting for a busy device (counted apart too, for the report).
    pub(crate) fn busy_delay_us(&self, us: u64) {
        let us = us.min(self.remaining_us());
        if us > 0 {
            self.budget.delay_us(us);
            self.budget
                .busy_us
                .set(self.budget.busy_us.get().saturating_add(us));
        }
    }

    /// A fair share of what is left for one of `n` consumers still to run: the time left
    /// divided by `n`, so that a consumer that uses all of its share leaves the others theirs.
    pub(crate) fn share(&self, n: usize) -> Deadline<'a> {
        let now = self.budget.elapsed_us();
        Deadline {
            budget: self.budget,
            end_us: now + self.end_us.saturating_sub(now) / n.max(1) as u64,
        }
    }

    /// At most `us` microseconds from now, and no later than this deadline.
    pub(crate) fn within_us(&self, us: u64) -> Deadline<'a> {
        Deadline {
            budget: self.budget,
            end_us: self.end_us.min(self.budget.elapsed_us().saturating_add(us)),
        }
    }
}
