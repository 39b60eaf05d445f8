// SPDX-License-Identifier: GPL-2.0

//! Safe wrapper over the kernel's `struct kmsg_dumper`.
//!
//! A [`Registration`] registers a dumper when it is initialised and unregisters it when dropped.
//! When the kernel dumps its log (an oops, a panic, ...), the registration's [`DumpHandler`] is
//! called with the [`Reason`] and a [`LogReader`] over the kernel log.
//!
//! The handler runs in whatever context the kernel dumps from: possibly with interrupts off, on a
//! crashed CPU, during a panic with the other CPUs stopped. It must not allocate, sleep or wait.

use crate::bindings;
use core::marker::{PhantomData, PhantomPinned};
use kernel::error::to_result;
use kernel::prelude::*;
use kernel::types::Opaque;

/// Why the kernel is dumping its log (`enum kmsg_dump_reason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reason {
    /// No reason given.
    Undef,
    /// A panic.
    Panic,
    /// An oops (the machine may carry on).
    Oops,
    /// An emergency restart, halt or power-off.
    Emerg,
    /// An orderly shutdown.
    Shutdown,
}

impl Reason {
    fn from_raw(raw: bindings::kmsg_dump_reason) -> Self {
        match raw {
            bindings::kmsg_dump_reason::KMSG_DUMP_PANIC => Reason::Panic,
            bindings::kmsg_dump_reason::KMSG_DUMP_OOPS => Reason::Oops,
            bindings::kmsg_dump_reason::KMSG_DUMP_EMERG => Reason::Emerg,
            bindings::kmsg_dump_reason::KMSG_DUMP_SHUTDOWN => Reason::Shutdown,
            _ => Reason::Undef,
        }
    }

    fn to_raw(self) -> bindings::kmsg_dump_reason {
        match self {
            Reason::Undef => bindings::kmsg_dump_reason::KMSG_DUMP_UNDEF,
            Reason::Panic => bindings::kmsg_dump_reason::KMSG_DUMP_PANIC,
            Reason::Oops => bindings::kmsg_dump_reason::KMSG_DUMP_OOPS,
            Reason::Emerg => bindings::kmsg_dump_reason::KMSG_DUMP_EMERG,
            Reason::Shutdown => bindings::kmsg_dump_reason::KMSG_DUMP_SHUTDOWN,
        }
    }
}

/// Receives the kernel's log dumps.
pub(crate) trait DumpHandler: Sync + Send {
    /// Called by the kernel when it dumps its log for `reason`.
    ///
    /// Runs in the dumping context: no allocation, no sleeping, no unbounded waiting.
    fn dump(&self, reason: Reason, log: &mut LogReader<'_>);
}

/// A reader over the kernel log, valid for the duration of one dump.
pub(crate) struct LogReader<'a> {
    iter: bindings::kmsg_dump_iter,
    _dump: PhantomData<&'a mut ()>,
}

impl LogReader<'_> {
    /// A reader positioned at the newest end of the log. Outside a kmsg dump (a soft dump),
    /// this reads the log as it is now.
    pub(crate) fn new() -> Self {
        let mut iter = bindings::kmsg_dump_iter::default();
        // SAFETY: `iter` is a valid, exclusively borrowed iterator; rewind only writes to it.
        unsafe { bindings::kmsg_dump_rewind(&mut iter) };
        LogReader {
            iter,
            _dump: PhantomData,
        }
    }

    /// Fills `buf` with the newest whole log records that fit (without syslog `<N>` prefixes) and
    /// returns how many bytes it wrote. The next call returns the records before those.
    pub(crate) fn read_newest(&mut self, buf: &mut [u8]) -> usize {
        let mut len: usize = 0;
        // SAFETY: `self.iter` is valid and exclusively borrowed; `buf` is valid for writes of
        // `buf.len()` bytes and the kernel writes at most that many; `len` is a valid out-pointer.
        unsafe {
            bindings::kmsg_dump_get_buffer(
                &mut self.iter,
                false,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut len,
            )
        };
        len.min(buf.len())
    }

    /// Whether records older than those read so far remain (the log was cut to fit).
    pub(crate) fn has_older(&self) -> bool {
        self.iter.cur_seq < self.iter.next_seq
    }
}

/// A registered kmsg dumper that calls `T` on every dump up to its maximum reason.
#[pin_data(PinnedDrop)]
pub(crate) struct Registration<T: DumpHandler> {
    #[pin]
    handler: T,
    #[pin]
    dumper: Opaque<bindings::kmsg_dumper>,
    #[pin]
    _pin: PhantomPinned,
}

// SAFETY: the kernel owns the `kmsg_dumper` once it is registered and serialises its list under
// its own lock; Rust code never touches the struct after registration except to pass its address
// to `kmsg_dump_unregister`, which may happen on any thread. The handler is `Send`.
unsafe impl<T: DumpHandler> Send for Registration<T> {}

// SAFETY: a shared `&Registration` only allows calling the handler, which is `Sync`; the kernel
// may call `dump` on any CPU, which is why `DumpHandler` requires `Sync`.
unsafe impl<T: DumpHandler> Sync for Registration<T> {}

impl<T: DumpHandler> Registration<T> {
    /// Registers `handler` for dumps whose reason is at most `max_reason` in the kernel's order
    /// (PANIC < OOPS < EMERG < SHUTDOWN).
    pub(crate) fn new(
        max_reason: Reason,
        handler: impl PinInit<T, Error>,
    ) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            // The handler is initialised first: the kernel may call it as soon as it is
            // registered below.
            handler <- handler,
            dumper <- Opaque::try_ffi_init(move |slot: *mut bindings::kmsg_dumper| {
                // SAFETY: `slot` is valid for writes and pinned: it is the `dumper` field of a
                // pinned `Registration`.
                unsafe {
                    slot.write(bindings::kmsg_dumper {
                        dump: Some(dump_callback::<T>),
                        max_reason: max_reason.to_raw(),
                        ..Default::default()
                    })
                };
                // SAFETY: `slot` was initialised above and stays valid and pinned until `drop`
                // unregisters it.
                to_result(unsafe { bindings::kmsg_dump_register(slot) })
            }),
            _pin: PhantomPinned,
        })
    }
}

#[pinned_drop]
impl<T: DumpHandler> PinnedDrop for Registration<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: the dumper was registered in `new` (a `Registration` exists only if that
        // succeeded). `kmsg_dump_unregister` waits for running dumps (synchronize_rcu) before
        // returning, so `handler` outlives every call.
        unsafe { bindings::kmsg_dump_unregister(self.dumper.get()) };
    }
}

/// The `dump` callback the kernel calls.
///
/// # Safety
///
/// `dumper` must be the `dumper` field of a live `Registration<T>`, and `detail` valid for reads.
unsafe extern "C" fn dump_callback<T: DumpHandler>(
    dumper: *mut bindings::kmsg_dumper,
    detail: *mut bindings::kmsg_dump_detail,
) {
    // SAFETY: only `Registration::<T>::new` registers this callback, with a pointer to its
    // `dumper` field, and the registration outlives the callback (see `drop`).
    let reg =
        unsafe { &*kernel::container_of!(Opaque::cast_from(dumper), Registration<T>, dumper) };
    // SAFETY: the kernel passes a valid detail for the duration of the call.
    let reason = Reason::from_raw(unsafe { (*detail).reason });
    let mut log = LogReader::new();
    reg.handler.dump(reason, &mut log);
}
