// SPDX-License-Identifier: GPL-2.0

//! A `notifier_block` on one of the kernel's notifier chains (netdevice events, die events).
//!
//! A [`Chain`] says how to register on a chain and how its raw `(val, data)` events reach a
//! safe handler; [`Registration`] owns the pinned block, registers it when initialised and
//! unregisters it when dropped.

use crate::bindings;
use core::marker::{PhantomData, PhantomPinned};
use kernel::error::to_result;
use kernel::ffi::{c_int, c_ulong, c_void};
use kernel::prelude::*;
use kernel::types::Opaque;

/// One of the kernel's notifier chains.
pub(crate) trait Chain {
    /// What the chain's events are delivered to.
    type Handler: Sync + Send;

    /// Adds `nb` to the chain.
    ///
    /// # Safety
    ///
    /// `nb` is an initialised, pinned block that stays valid until [`Chain::unregister`].
    unsafe fn register(nb: *mut bindings::notifier_block) -> c_int;

    /// Removes `nb` from the chain and waits for callbacks in flight.
    ///
    /// # Safety
    ///
    /// `nb` was added with [`Chain::register`].
    unsafe fn unregister(nb: *mut bindings::notifier_block);

    /// Hands one event to `handler`.
    ///
    /// # Safety
    ///
    /// `val` and `data` are what this chain passes to its callbacks.
    unsafe fn deliver(handler: &Self::Handler, val: c_ulong, data: *mut c_void);
}

/// A handler registered on chain `C` while this lives.
#[pin_data(PinnedDrop)]
pub(crate) struct Registration<C: Chain> {
    #[pin]
    handler: C::Handler,
    #[pin]
    nb: Opaque<bindings::notifier_block>,
    #[pin]
    _pin: PhantomPinned,
    _chain: PhantomData<C>,
}

// SAFETY: the block belongs to the kernel's chain once registered; Rust only passes its address
// to unregister, from any thread. The handler is `Send`.
unsafe impl<C: Chain> Send for Registration<C> {}
// SAFETY: shared access only calls the `Sync` handler.
unsafe impl<C: Chain> Sync for Registration<C> {}

impl<C: Chain> Registration<C> {
    /// Registers `handler` on the chain.
    pub(crate) fn new(handler: impl PinInit<C::Handler, Error>) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            // Initialised first: the chain may call it as soon as the block is registered.
            handler <- handler,
            nb <- Opaque::try_ffi_init(|slot: *mut bindings::notifier_block| {
                // SAFETY: `slot` is valid for writes and pinned inside the registration.
                unsafe {
                    slot.write(bindings::notifier_block {
                        notifier_call: Some(callback::<C>),
                        ..Default::default()
                    })
                };
                // SAFETY: `slot` is initialised and stays pinned until `drop` unregisters it.
                to_result(unsafe { C::register(slot) })
            }),
            _pin: PhantomPinned,
            _chain: PhantomData,
        })
    }
}

#[pinned_drop]
impl<C: Chain> PinnedDrop for Registration<C> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: registered in `new`.
        unsafe { C::unregister(self.nb.get()) };
    }
}

/// # Safety
///
/// `nb` must be the `nb` field of a live `Registration<C>`; `val` and `data` come from chain `C`.
unsafe extern "C" fn callback<C: Chain>(
    nb: *mut bindings::notifier_block,
    val: c_ulong,
    data: *mut c_void,
) -> c_int {
    // SAFETY: only `Registration::<C>::new` installs this callback, with its own `nb`, and the
    // registration outlives the callback (`drop` unregisters and waits).
    let reg = unsafe { &*kernel::container_of!(Opaque::cast_from(nb), Registration<C>, nb) };
    // SAFETY: by this function's contract.
    unsafe { C::deliver(&reg.handler, val, data) };
    bindings::NOTIFY_DONE as c_int
}
