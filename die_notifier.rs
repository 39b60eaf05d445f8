// SPDX-License-Identifier: GPL-2.0

//! The die notifier chain (`register_die_notifier`): the only place the faulting registers of
//! an oops reach a module in this kernel (kmsg dumpers get none).

use crate::bindings;
use crate::notifier;
use core::marker::PhantomData;

/// Receives the registers of every oops (DIE_OOPS), in the oopsing context: no allocation,
/// no sleeping, no waiting.
pub(crate) trait OopsHandler: Sync + Send {
    /// Called with the faulting registers, on the oopsing CPU, before the oops is printed.
    fn oops(&self, regs: &bindings::pt_regs);
}

/// The die chain, delivering DIE_OOPS to an [`OopsHandler`] `T`.
pub(crate) struct DieChain<T>(PhantomData<T>);

/// A registered die notifier calling `T` on DIE_OOPS.
pub(crate) type Registration<T> = notifier::Registration<DieChain<T>>;

impl<T: OopsHandler> notifier::Chain for DieChain<T> {
    type Handler = T;

    unsafe fn register(nb: *mut bindings::notifier_block) -> kernel::ffi::c_int {
        // SAFETY: by the trait method's contract.
        unsafe { bindings::register_die_notifier(nb) }
    }

    unsafe fn unregister(nb: *mut bindings::notifier_block) {
        // SAFETY: by the trait method's contract; this waits for callbacks (synchronize_rcu).
        unsafe { bindings::unregister_die_notifier(nb) };
    }

    unsafe fn deliver(handler: &T, val: kernel::ffi::c_ulong, data: *mut kernel::ffi::c_void) {
        if val as u32 != bindings::die_val_DIE_OOPS || data.is_null() {
            return;
        }
        // SAFETY: the die chain passes a `struct die_args`; its regs, if set, are valid for the
        // call.
        let regs = unsafe { bindings::netoops_die_args_regs(data.cast()) };
        // SAFETY: non-null regs are valid for the duration of the call.
        if let Some(regs) = unsafe { regs.as_ref() } {
            handler.oops(regs);
        }
    }
}
