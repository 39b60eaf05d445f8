// SPDX-License-Identifier: GPL-2.0

//! A SysRq key that runs a handler (`register_sysrq_key`).
//!
//! The kernel calls a SysRq handler with nothing but the key, so the registration keeps its
//! handler in a module-wide slot: one registration at a time (a second one fails with EBUSY).
//! The handler runs in the context that pressed the key: an interrupt for a keyboard, the
//! writer of /proc/sysrq-trigger (inside an RCU read-side section) otherwise. It must not sleep.

use crate::bindings;
use core::marker::PhantomPinned;
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use kernel::prelude::*;

/// What a SysRq key does.
pub(crate) trait SysrqHandler: Sync + Send {
    /// Called when the key is pressed. Atomic context.
    fn handle(&self);
}

/// The registered handler and the function that calls it (both null when free).
static HANDLER: AtomicPtr<()> = AtomicPtr::new(core::ptr::null_mut());
static CALL: AtomicUsize = AtomicUsize::new(0);

/// `struct sysrq_key_op` is read-only after construction; it holds static C strings.
struct KeyOp(bindings::sysrq_key_op);
// SAFETY: the op is immutable and its pointers refer to static strings.
unsafe impl Sync for KeyOp {}

static OP: KeyOp = KeyOp(bindings::sysrq_key_op {
    handler: Some(trampoline),
    help_msg: kernel::str::as_char_ptr_in_const_context(c"netoops-dump(y)"),
    action_msg: kernel::str::as_char_ptr_in_const_context(c"netoops: soft dump"),
    enable_mask: bindings::SYSRQ_ENABLE_DUMP as i32,
});

extern "C" fn trampoline(_key: u8) {
    let call = CALL.load(Ordering::Acquire);
    let handler = HANDLER.load(Ordering::Acquire);
    if call != 0 && !handler.is_null() {
        // SAFETY: `CALL` holds a `call::<T>` for the `T` that `HANDLER` points to; both are set
        // by `Registration::<T>::new` and cleared only after the key is unregistered (which
        // waits for running handlers), so the handler is live here.
        let f: unsafe fn(*const ()) = unsafe { core::mem::transmute(call) };
        // SAFETY: see above.
        unsafe { f(handler) };
    }
}

/// # Safety
///
/// `p` must point to a live `T`.
unsafe fn call<T: SysrqHandler>(p: *const ()) {
    // SAFETY: by the function's contract.
    unsafe { &*p.cast::<T>() }.handle();
}

/// A SysRq key bound to a handler while this lives.
#[pin_data(PinnedDrop)]
pub(crate) struct Registration<T: SysrqHandler> {
    #[pin]
    handler: T,
    key: u8,
    #[pin]
    _pin: PhantomPinned,
}

impl<T: SysrqHandler> Registration<T> {
    /// Binds `key` to `handler`. EBUSY if the key (or the module-wide slot) is taken.
    pub(crate) fn new(key: u8, handler: impl PinInit<T, Error>) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            handler <- handler,
            key,
            _pin: PhantomPinned,
        })
        .pin_chain(move |this| {
            let p = core::ptr::from_ref(&this.handler).cast_mut().cast::<()>();
            if HANDLER
                .compare_exchange(
                    core::ptr::null_mut(),
                    p,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_err()
            {
                return Err(EBUSY);
            }
            CALL.store(call::<T> as *const () as usize, Ordering::Release);
            // SAFETY: `OP` is static; the kernel keeps a pointer to it until unregistered.
            if unsafe { bindings::register_sysrq_key(key, &OP.0) } != 0 {
                CALL.store(0, Ordering::Release);
                HANDLER.store(core::ptr::null_mut(), Ordering::Release);
                return Err(EBUSY);
            }
            Ok(())
        })
    }
}

#[pinned_drop]
impl<T: SysrqHandler> PinnedDrop for Registration<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: registered in `new`; unregistering waits (synchronize_rcu) for running
        // handlers, after which the slot can be cleared.
        unsafe { bindings::unregister_sysrq_key(self.key, &OP.0) };
        CALL.store(0, Ordering::Release);
        HANDLER.store(core::ptr::null_mut(), Ordering::Release);
    }
}
