// SPDX-License-Identifier: GPL-2.0

//! The die notifier chain (`register_die_notifier`): the only place the faulting registers of
//! an oops reach a module in this kernel (kmsg dumpers get none).

use crate::bindings;
use core::marker::PhantomPinned;
use kernel::error::to_result;
use kernel::prelude::*;
use kernel::types::Opaque;

/// Receives the registers of every oops (DIE_OOPS), in the oopsing context: no allocation,
/// no sleeping, no waiting.
pub(crate) trait OopsHandler: Sync + Send {
    /// Called with the faulting registers, on the oopsing CPU, before the oops is printed.
    fn oops(&self, regs: &bindings::pt_regs);
}

/// A registered die notifier calling `T` on DIE_OOPS.
#[pin_data(PinnedDrop)]
pub(crate) struct Registration<T: OopsHandler> {
    #[pin]
    handler: T,
    #[pin]
    nb: Opaque<bindings::notifier_block>,
    #[pin]
    _pin: PhantomPinned,
}

// SAFETY: the notifier block belongs to the kernel's chain once registered; Rust only passes
// its address to unregister. The handler is `Send`.
unsafe impl<T: OopsHandler> Send for Registration<T> {}
// SAFETY: shared access only calls the `Sync` handler.
unsafe impl<T: OopsHandler> Sync for Registration<T> {}

impl<T: OopsHandler> Registration<T> {
    /// Registers `handler`.
    pub(crate) fn new(handler: impl PinInit<T, Error>) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            handler <- handler,
            nb <- Opaque::try_ffi_init(|slot: *mut bindings::notifier_block| {
                // SAFETY: `slot` is valid for writes and pinned inside the registration.
                unsafe {
                    slot.write(bindings::notifier_block {
                        notifier_call: Some(die_callback::<T>),
                        ..Default::default()
                    })
                };
                // SAFETY: `slot` is initialised and stays pinned until `drop` unregisters it.
                to_result(unsafe { bindings::register_die_notifier(slot) })
            }),
            _pin: PhantomPinned,
        })
    }
}

#[pinned_drop]
impl<T: OopsHandler> PinnedDrop for Registration<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: registered in `new`; unregistering waits for running callbacks
        // (synchronize_rcu).
        unsafe { bindings::unregister_die_notifier(self.nb.get()) };
    }
}

/// # Safety
///
/// `nb` must be the `nb` field of a live `Registration<T>`; for DIE_OOPS `data` is a valid
/// `struct die_args`.
unsafe extern "C" fn die_callback<T: OopsHandler>(
    nb: *mut bindings::notifier_block,
    val: kernel::ffi::c_ulong,
    data: *mut kernel::ffi::c_void,
) -> kernel::ffi::c_int {
    if val as u32 == bindings::die_val_DIE_OOPS && !data.is_null() {
        // SAFETY: only `Registration::<T>::new` registers this callback, with its `nb`.
        let reg = unsafe { &*kernel::container_of!(Opaque::cast_from(nb), Registration<T>, nb) };
        // SAFETY: the die chain passes a `struct die_args` whose regs, if set, are valid for
        // the call.
        let regs = unsafe { bindings::netoops_die_args_regs(data.cast()) };
        // SAFETY: non-null regs are valid for the duration of the call.
        if let Some(regs) = unsafe { regs.as_ref() } {
            reg.handler.oops(regs);
        }
    }
    bindings::NOTIFY_DONE as kernel::ffi::c_int
}
