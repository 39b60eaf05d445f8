// SPDX-License-Identifier: GPL-2.0

//! Work deferred from atomic context (a dump) to process context, on the system workqueue.
//!
//! Queueing work takes a workqueue pool lock, which an NMI may have interrupted: from NMI
//! context the work is queued by an `irq_work` instead (NMI-safe; its callback runs in hard-irq
//! context on this CPU as soon as the NMI returns, and queues the work from there).
//!
//! Unlike `kernel::workqueue` in this kernel, dropping a [`DeferredWork`] waits for the
//! `irq_work` and cancels and waits for pending work (`cancel_work_sync`), so module unload
//! cannot race a queued item.

use crate::bindings;
use core::marker::PhantomPinned;
use kernel::prelude::*;
use kernel::types::Opaque;

/// What the deferred work does (process context: it may sleep and allocate).
pub(crate) trait WorkHandler: Sync + Send {
    /// Runs the work.
    fn run(&self);
}

/// A work item that runs `T::run` in process context whenever it is scheduled.
#[pin_data(PinnedDrop)]
pub(crate) struct DeferredWork<T: WorkHandler> {
    #[pin]
    handler: T,
    #[pin]
    work: Opaque<bindings::work_struct>,
    #[pin]
    kick: Opaque<bindings::irq_work>,
    #[pin]
    _pin: PhantomPinned,
}

// SAFETY: the work_struct is only touched through the workqueue API, which is thread-safe;
// the handler is `Send`.
unsafe impl<T: WorkHandler> Send for DeferredWork<T> {}
// SAFETY: shared access schedules the work or calls the `Sync` handler.
unsafe impl<T: WorkHandler> Sync for DeferredWork<T> {}

impl<T: WorkHandler> DeferredWork<T> {
    /// A new, idle work item for `handler`.
    pub(crate) fn new(handler: impl PinInit<T, Error>) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            handler <- handler,
            work <- Opaque::ffi_init(|slot: *mut bindings::work_struct| {
                // SAFETY: `slot` is valid for writes and pinned; INIT_WORK initialises it.
                unsafe { bindings::netoops_init_work(slot, Some(work_callback::<T>)) }
            }),
            kick <- Opaque::ffi_init(|slot: *mut bindings::irq_work| {
                // SAFETY: `slot` is valid for writes and pinned; init_irq_work initialises it.
                unsafe { bindings::init_irq_work(slot, Some(kick_callback::<T>)) }
            }),
            _pin: PhantomPinned,
        })
    }

    /// The handler.
    pub(crate) fn handler(&self) -> &T {
        &self.handler
    }

    /// Queues the work unless it is already pending. Callable from any context, NMI included.
    pub(crate) fn schedule(&self) {
        // SAFETY: reads the preempt count.
        if unsafe { bindings::netoops_in_nmi() } {
            // SAFETY: the irq_work was initialised in `new` and stays pinned until `drop` waits
            // for it; queueing is NMI-safe.
            unsafe { bindings::irq_work_queue(self.kick.get()) };
        } else {
            // SAFETY: the work item was initialised in `new` and stays pinned until `drop`
            // cancels it.
            unsafe { bindings::schedule_work(self.work.get()) };
        }
    }
}

#[pinned_drop]
impl<T: WorkHandler> PinnedDrop for DeferredWork<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: initialised in `new`. First the irq_work (which may queue the work) is waited
        // for, then a running work instance is waited for and a pending one removed.
        unsafe {
            bindings::irq_work_sync(self.kick.get());
            bindings::cancel_work_sync(self.work.get());
        }
    }
}

/// # Safety
///
/// `kick` must be the `kick` field of a live `DeferredWork<T>`.
unsafe extern "C" fn kick_callback<T: WorkHandler>(kick: *mut bindings::irq_work) {
    // SAFETY: only `DeferredWork::<T>::new` installs this callback, for its own `kick` field,
    // and `drop` waits for it before the item goes away.
    let this = unsafe { &*kernel::container_of!(Opaque::cast_from(kick), DeferredWork<T>, kick) };
    // SAFETY: hard-irq context, where queueing work is allowed; the item is live (see above).
    unsafe { bindings::schedule_work(this.work.get()) };
}

/// # Safety
///
/// `work` must be the `work` field of a live `DeferredWork<T>`.
unsafe extern "C" fn work_callback<T: WorkHandler>(work: *mut bindings::work_struct) {
    // SAFETY: only `DeferredWork::<T>::new` installs this callback, for its own `work` field,
    // and `drop` cancels the work before the item goes away.
    let this = unsafe { &*kernel::container_of!(Opaque::cast_from(work), DeferredWork<T>, work) };
    this.handler.run();
}
