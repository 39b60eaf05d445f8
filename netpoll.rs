// SPDX-License-Identifier: GPL-2.0

//! A netpoll instance bound to a device (thin core over `struct netpoll`), and the one rule of
//! sending through it on the dump path: never hand netpoll a frame it would defer.
//!
//! netpoll sends a frame at once when the device can take it; otherwise it puts the frame on
//! its own queue (`npinfo->txq`), which only a workqueue empties — and every later frame waits
//! behind it. In a panic, in NMI or with interrupts off that work never runs (from NMI, even
//! queueing it is unsafe). So before each frame the dump path asks
//! [`Netpoll::wait_ready`] whether the queue netpoll will pick for it can take it now, polling
//! the device (which reclaims finished transmit buffers) until it can or the caller's deadline
//! passes. A device that is down, has no carrier, or whose queue is held by a CPU that will
//! never release it (stopped by the panic, or this very CPU) is reported dead at once. In NMI and
//! hard-irq context the device is polled only when none of its queue locks can be held for good
//! (see [`may_poll`]).

use crate::bindings;
use crate::netdev::{Device, RtnlHeld};
use crate::owner::{touch_watchdogs, Deadline};
use crate::skb_pool::Skb;
use core::marker::PhantomPinned;
use kernel::prelude::*;
use kernel::types::Opaque;

/// Whether the dump may poll `dev` now.
///
/// Polling runs the driver's transmit completion, which takes the queue locks with a plain
/// spin_lock (netpoll itself polls this way, from any context). In process or soft-irq context
/// that is fine: a lock held on this CPU was reported dead by the queue check, and any other
/// holder is running (one the panic stopped is reported dead too). In NMI and hard-irq context
/// (a panic from the NMI or lockup watchdogs, an oops in an interrupt; a SysRq soft dump is never
/// run there) polling is allowed only if no queue lock of the device is held by this CPU or, in
/// a panic, by any CPU. Lockdep cannot see that check: it reports every plain lock in NMI, and
/// every spinlock_t in hard-irq context (where PREEMPT_RT would sleep). In these contexts the
/// dump is a panic's, which turns lock debugging off right after the dumpers, or an oops's, which
/// turned it off on entry; so the first poll there turns it off, as panic() is about to.
///
/// On PREEMPT_RT spinlock_t is a sleeping lock, and polling from task context runs with bottom
/// halves off rather than interrupts (see `netoops_netpoll_poll`). Where this CPU may not sleep
/// (an oops's dump runs with interrupts off) the device is polled only in a panic outside NMI,
/// when no CPU holds a queue lock (the other CPUs are stopped: the lock is then taken without
/// waiting); outside a panic the dump waits for the running CPUs to free the queue instead.
fn may_poll(dev: *mut bindings::net_device, panicking: bool) -> Poll {
    // SAFETY: reads this CPU's preempt count and interrupt state.
    if unsafe { bindings::netoops_rt_atomic() } {
        if !panicking {
            return Poll::WaitOnly;
        }
        // SAFETY: reads this CPU's preempt count; `dev` is live (the caller's netpoll instance
        // holds a reference) and the helper only reads its queues' lock owners (`true`: held by
        // any CPU counts).
        let free = !unsafe { bindings::netoops_in_nmi() }
            && unsafe { bindings::netoops_poll_is_safe(dev, true) };
        return if free { Poll::Yes } else { Poll::No };
    }
    // SAFETY: reads this CPU's preempt count.
    if !unsafe { bindings::netoops_in_nmi() || bindings::netoops_in_hardirq() } {
        return Poll::Yes;
    }
    // SAFETY: `dev` is live (the caller's netpoll instance holds a reference); the helper only
    // reads its queues' lock owners.
    if !unsafe { bindings::netoops_poll_is_safe(dev, panicking) } {
        return Poll::No;
    }
    // SAFETY: turns lock debugging off for good (idempotent), as panic() is about to.
    unsafe { bindings::debug_locks_off() };
    Poll::Yes
}

/// What [`may_poll`] allows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Poll {
    /// Poll the device.
    Yes,
    /// Do not poll, but other CPUs run and may free the queue: wait.
    WaitOnly,
    /// The queue stays held for good: the device is dead for this dump.
    No,
}

/// Why a frame cannot go out now.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum NotReady {
    /// The queue is full or busy: polling may free it, within the deadline.
    Busy,
    /// Nothing this dump can wait for: device down, no carrier, or its queue held for good.
    Dead,
}

/// A netpoll instance bound to a device.
#[pin_data(PinnedDrop)]
pub(crate) struct Netpoll {
    #[pin]
    np: Opaque<bindings::netpoll>,
    #[pin]
    _pin: PhantomPinned,
}

// SAFETY: `struct netpoll` is used through netpoll's own API, which serialises sending
// internally (it takes the device's tx lock with interrupts off); moving ownership between
// threads is fine.
unsafe impl Send for Netpoll {}
// SAFETY: see `Send`; shared access only sends and polls.
unsafe impl Sync for Netpoll {}

impl Netpoll {
    /// Binds a new netpoll instance to `dev` (rtnl held, process context). Nothing can fail
    /// after `__netpoll_setup` succeeds, so an error never leaves a set-up instance to clean
    /// up under rtnl.
    pub(crate) fn setup(dev: Device<'_>, _rtnl: &RtnlHeld) -> Result<Pin<KBox<Netpoll>>> {
        let np = KBox::pin_init(
            pin_init!(Netpoll {
                np <- Opaque::ffi_init(|slot: *mut bindings::netpoll| {
                    // SAFETY: `slot` is valid for writes; netpoll expects a zeroed struct with
                    // the fields below set.
                    unsafe {
                        slot.write(bindings::netpoll {
                            name: c"netoops".as_char_ptr(),
                            ..Default::default()
                        })
                    };
                }),
                _pin: PhantomPinned,
            }),
            GFP_KERNEL,
        )?;
        let raw = np.np.get();
        // SAFETY: rtnl is held and `dev` is live; the reference is taken on the netpoll's own
        // tracker, which `do_netpoll_cleanup` releases, as netconsole does.
        unsafe {
            bindings::netdev_hold(
                dev.as_ptr(),
                &raw mut (*raw).dev_tracker,
                kernel::bindings::GFP_KERNEL,
            )
        };
        // SAFETY: rtnl is held, `raw` is a pinned, initialised netpoll and `dev` is live.
        let err = unsafe { bindings::__netpoll_setup(raw, dev.as_ptr()) };
        if err != 0 {
            // SAFETY: releases the reference taken above (setup failed, np->dev is unset, so
            // dropping `np` does not clean up).
            unsafe { bindings::netdev_put(dev.as_ptr(), &raw mut (*raw).dev_tracker) };
            return Err(Error::from_errno(err));
        }
        Ok(np)
    }

    /// The device this instance sends through (null once cleaned up).
    pub(crate) fn dev(&self) -> *mut bindings::net_device {
        // SAFETY: `np` is initialised; `dev` is written only by setup and cleanup, which run
        // with exclusive access to this instance (before it is shared, or after the transmit
        // state holding it was unpublished and a grace period passed).
        unsafe { (*self.np.get()).dev }
    }

    /// Releases the device with rtnl already held (netdevice notifier context).
    pub(crate) fn cleanup_locked(&self, _rtnl: &RtnlHeld) {
        if !self.dev().is_null() {
            // SAFETY: set up in `setup`; rtnl is held as `do_netpoll_cleanup` requires. It
            // releases the device reference and clears `np->dev`.
            unsafe { bindings::do_netpoll_cleanup(self.np.get()) };
        }
    }

    /// The device's MTU now (it may have changed since the target was enabled).
    pub(crate) fn mtu(&self) -> u32 {
        // SAFETY: `dev` is the live device of this set-up instance (it holds a reference).
        unsafe { bindings::netoops_dev_mtu(self.dev()) }
    }

    /// Waits until `skb` (a finished frame for this device) would leave at once if handed to
    /// netpoll, polling the device, at most until `deadline`. `panicking`: the other CPUs are
    /// stopped, so what they hold stays held.
    #[inline(never)]
    pub(crate) fn wait_ready(
        &self,
        skb: &mut Skb,
        deadline: &Deadline<'_>,
        panicking: bool,
    ) -> core::result::Result<(), NotReady> {
        /// Between two polls of a busy device.
        const STEP_US: u64 = 10;
        let dev = self.dev();
        if dev.is_null() {
            return Err(NotReady::Dead);
        }
        skb.set_dev(dev);
        // SAFETY: `dev` is live (this instance holds a reference); the helper takes only
        // trylocks (the queue of deferred frames, the device's transmit lock) with interrupts
        // off, and hands the frames netpoll deferred to the driver as netpoll's own work would
        // (which cannot run while the dump holds this CPU).
        unsafe { bindings::netoops_netpoll_flush_deferred(dev, panicking) };
        loop {
            // SAFETY: `dev` is live (this instance holds a reference); `skb` is a finished
            // frame we own; the helper only reads device state and picks the queue as netpoll
            // will (which may set the skb's queue mapping).
            match unsafe { bindings::netoops_xmit_state(dev, skb.as_ptr(), panicking) } as u32 {
                bindings::NETOOPS_XMIT_READY => return Ok(()),
                bindings::NETOOPS_XMIT_DEAD => return Err(NotReady::Dead),
                _ => {}
            }
            if deadline.expired() {
                return Err(NotReady::Busy);
            }
            touch_watchdogs();
            match may_poll(dev, panicking) {
                Poll::No => return Err(NotReady::Dead),
                Poll::WaitOnly => {}
                // SAFETY: `dev` is live; polling reclaims finished transmit buffers (the
                // helper disables interrupts around it, as netpoll does, or bottom halves on
                // PREEMPT_RT in task context); `may_poll` made sure no queue lock it takes is
                // held by this CPU or a stopped one.
                Poll::Yes => unsafe { bindings::netoops_netpoll_poll(dev) },
            }
            deadline.busy_delay_us(STEP_US);
        }
    }

    /// Hands a frame that [`Self::wait_ready`] cleared to netpoll. Returns whether it went
    /// out; `false` if netpoll deferred it after all (a race with another sender).
    pub(crate) fn send(&self, skb: Skb) -> bool {
        let dev = self.dev();
        // SAFETY: the instance is set up (its device is the skb's); netpoll consumes the skb
        // whatever the outcome, and disables interrupts itself.
        unsafe { bindings::netpoll_send_skb(self.np.get(), skb.into_raw()) };
        // SAFETY: `dev` is live.
        !unsafe { bindings::netoops_netpoll_deferred(dev) }
    }

    /// Test kernels' fault (`test_fault=defer-in-dump`): hands `skb` (cleared by
    /// [`Self::wait_ready`]) to netpoll's own queue as netpoll does when the device stays busy,
    /// without the work that would send it.
    #[cfg(netoops_test_hooks)]
    pub(crate) fn defer_for_test(&self, skb: Skb) {
        // SAFETY: `dev` is live; the helper takes ownership of the skb (queued, or freed if
        // the device has no netpoll state).
        unsafe { bindings::netoops_test_defer(self.dev(), skb.into_raw()) };
    }

    /// Keeps polling the device until `deadline`, so that it puts the frames it was given on
    /// the wire before the machine stops or resets.
    pub(crate) fn settle(&self, deadline: &Deadline<'_>) {
        const STEP_US: u64 = 50;
        let dev = self.dev();
        if dev.is_null() {
            return;
        }
        // SAFETY: reads the kernel's panic CPU word.
        let poll = may_poll(dev, unsafe { bindings::panic_on_this_cpu() }) == Poll::Yes;
        while !deadline.expired() {
            touch_watchdogs();
            if poll {
                // SAFETY: `dev` is live; polling reclaims finished transmit buffers; see
                // `may_poll`. Without it the device still sends what it was given.
                unsafe { bindings::netoops_netpoll_poll(dev) };
            }
            deadline.delay_us(STEP_US);
        }
    }
}

#[pinned_drop]
impl PinnedDrop for Netpoll {
    fn drop(self: Pin<&mut Self>) {
        if !self.dev().is_null() {
            // SAFETY: set up in `setup` and not yet cleaned up (dev non-null); this takes rtnl
            // itself, so it is never reached with rtnl held (callers drop transmit state
            // outside rtnl, or clean up with `cleanup_locked` first).
            unsafe { bindings::netpoll_cleanup(self.np.get()) };
        }
    }
}
