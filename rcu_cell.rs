// SPDX-License-Identifier: GPL-2.0

//! A value published through RCU: read without locks from any context (the dump path, NMI
//! included), replaced in process context.
//!
//! The crash path must never wait on a lock another CPU may hold (a CPU stopped by the panic
//! holds whatever it held). So what the dump path reads — the settings, the target list, each
//! target's transmit state — is published as an immutable boxed value behind an atomic
//! pointer. Readers take the RCU read lock (an NMI-safe, wait-free operation) and borrow the
//! value for as long as the [`rcu::Guard`] lives; a writer swaps the pointer, waits for a
//! grace period (`synchronize_rcu`) and only then frees the old value.
//!
//! Writers are serialised by their caller (a mutex, rtnl): [`RcuCell::replace`] takes
//! `&self` but must not race another `replace` of the same cell.

use core::ptr::null_mut;
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::prelude::*;
use kernel::sync::rcu;

/// An optional `KBox<T>` behind an RCU-published pointer.
///
/// # Invariants
///
/// `ptr` is null or comes from `KBox::into_raw` and is owned by the cell; a value unpublished
/// by `replace` is freed only after a grace period, so a reader holding an RCU read lock never
/// sees it freed.
pub(crate) struct RcuCell<T> {
    ptr: AtomicPtr<T>,
}

// SAFETY: the cell hands out `&T` to readers on any CPU (so `T: Sync`) and moves values between
// threads when replacing them (so `T: Send`).
unsafe impl<T: Send + Sync> Send for RcuCell<T> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync> Sync for RcuCell<T> {}

impl<T> RcuCell<T> {
    /// An empty cell.
    pub(crate) const fn empty() -> Self {
        // INVARIANT: null.
        RcuCell {
            ptr: AtomicPtr::new(null_mut()),
        }
    }

    /// A cell holding `value`.
    pub(crate) fn new(value: KBox<T>) -> Self {
        // INVARIANT: from `KBox::into_raw`, owned by the cell.
        RcuCell {
            ptr: AtomicPtr::new(KBox::into_raw(value)),
        }
    }

    /// The published value, borrowed for as long as both the cell and the read lock `_guard`
    /// are.
    pub(crate) fn read<'a>(&'a self, _guard: &'a rcu::Guard) -> Option<&'a T> {
        let p = self.ptr.load(Ordering::Acquire);
        // SAFETY: `p` is null or a live value owned by the cell; a value unpublished after this
        // load is freed only after a grace period, which cannot end while `_guard` holds the
        // read lock.
        unsafe { p.as_ref() }
    }

    /// Publishes `new` and returns the old value once no reader can see it any more (process
    /// context: waits for a grace period if there was an old value). Writers must be
    /// serialised by the caller.
    pub(crate) fn replace(&self, new: Option<KBox<T>>) -> Option<KBox<T>> {
        let new = new.map_or(null_mut(), KBox::into_raw);
        // INVARIANT: `new` is null or from `KBox::into_raw`; the old value is returned only
        // after the grace period below.
        let old = self.ptr.swap(new, Ordering::AcqRel);
        if old.is_null() {
            return None;
        }
        synchronize_rcu();
        // SAFETY: `old` came from `KBox::into_raw` and was owned by the cell; after the grace
        // period no reader holds a reference to it.
        Some(unsafe { KBox::from_raw(old) })
    }
}

impl<T> Drop for RcuCell<T> {
    fn drop(&mut self) {
        let p = *self.ptr.get_mut();
        if !p.is_null() {
            // SAFETY: owned by the cell (type invariant); `&mut self` means no reader borrows
            // it (`read` ties every borrow of the value to a borrow of the cell).
            drop(unsafe { KBox::from_raw(p) });
        }
    }
}

/// Waits for a grace period: every RCU reader that started before the call has finished.
///
/// `kernel::sync::rcu` has this only since 7.3; the C function is the same on every kernel.
pub(crate) fn synchronize_rcu() {
    // SAFETY: `synchronize_rcu` has no preconditions beyond process context (it sleeps), which
    // every caller (configfs writes, device events, module exit) is in.
    unsafe { crate::bindings::synchronize_rcu() };
}
