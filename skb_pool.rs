// SPDX-License-Identifier: GPL-2.0

//! A pool of socket buffers allocated in process context and taken, without locks or
//! allocation, on the dump path.
//!
//! netpoll consumes every skb it is given, so a dump needs one skb per packet it sends: the pool
//! is sized for a whole dump when its target is enabled, and refilled after a dump the machine
//! survived. Taking is a lock-free scan of atomic slots, so a CPU that crashed anywhere cannot
//! leave the pool locked.

use crate::bindings;
use core::ptr::{null_mut, NonNull};
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::prelude::*;

/// Preallocated skbs of one size.
pub(crate) struct SkbPool {
    slots: KVec<AtomicPtr<bindings::sk_buff>>,
    skb_size: u32,
}

impl SkbPool {
    /// A pool of `count` skbs of `skb_size` bytes each, filled now (process context).
    pub(crate) fn new(count: usize, skb_size: u32) -> Result<Self> {
        let mut slots = KVec::with_capacity(count, GFP_KERNEL)?;
        for _ in 0..count {
            slots.push(AtomicPtr::new(null_mut()), GFP_KERNEL)?;
        }
        let pool = SkbPool { slots, skb_size };
        if pool.refill() < count {
            return Err(ENOMEM);
        }
        Ok(pool)
    }

    /// Fills every empty slot (process context; may sleep). Returns how many skbs the pool holds.
    pub(crate) fn refill(&self) -> usize {
        let mut held = 0;
        for slot in self.slots.iter() {
            if !slot.load(Ordering::Acquire).is_null() {
                held += 1;
                continue;
            }
            // SAFETY: plain allocation in process context; NUMA_NO_NODE lets the kernel choose.
            let skb = unsafe {
                bindings::__alloc_skb(
                    self.skb_size,
                    kernel::bindings::GFP_KERNEL,
                    0,
                    bindings::NUMA_NO_NODE,
                )
            };
            if skb.is_null() {
                break;
            }
            match slot.compare_exchange(null_mut(), skb, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => held += 1,
                // SAFETY: `skb` was just allocated and never shared.
                Err(_) => unsafe { bindings::kfree_skb(skb) },
            }
        }
        held
    }

    /// Takes one skb, if any is left. Never blocks or allocates.
    pub(crate) fn take(&self) -> Option<Skb> {
        self.slots.iter().find_map(|slot| {
            let p = slot.swap(null_mut(), Ordering::AcqRel);
            NonNull::new(p).map(Skb)
        })
    }
}

impl Drop for SkbPool {
    fn drop(&mut self) {
        for slot in self.slots.iter() {
            let p = slot.swap(null_mut(), Ordering::AcqRel);
            if !p.is_null() {
                // SAFETY: the pool owned `p` exclusively (it was in a slot).
                unsafe { bindings::kfree_skb(p) };
            }
        }
    }
}

/// An skb owned by Rust until it is handed to the network stack.
pub(crate) struct Skb(NonNull<bindings::sk_buff>);

impl Skb {
    /// Reserves `len` bytes of headroom (before anything is put).
    pub(crate) fn reserve(&mut self, len: u32) {
        // SAFETY: we own the skb; the caller sized the pool so that `len` plus the frame fits.
        unsafe { bindings::skb_reserve(self.0.as_ptr(), len as i32) };
    }

    /// Extends the data area by `len` bytes and returns them for writing.
    ///
    /// The caller must have sized the skb for it: the kernel BUG()s on an overrun.
    pub(crate) fn put(&mut self, len: u32) -> &mut [u8] {
        // SAFETY: we own the skb; `skb_put` returns a pointer to `len` bytes inside its buffer,
        // which we borrow mutably for as long as `self` is borrowed.
        unsafe {
            let data = bindings::skb_put(self.0.as_ptr(), len);
            core::slice::from_raw_parts_mut(data.cast::<u8>(), len as usize)
        }
    }

    /// Sets the device the skb goes out of.
    pub(crate) fn set_dev(&mut self, dev: *mut bindings::net_device) {
        // SAFETY: we own the skb; `dev` is the live device of the netpoll instance sending it.
        unsafe { bindings::netoops_skb_set_dev(self.0.as_ptr(), dev) };
    }

    /// Marks the header offsets of a frame put at the start of the data area: Ethernet at 0,
    /// the network header at `network`, the transport header at `transport`, and the protocol.
    pub(crate) fn set_headers(&mut self, network: u32, transport: u32, ethertype: u16) {
        let skb = self.0.as_ptr();
        // SAFETY: we own the skb; the offsets lie within the frame that was put.
        unsafe {
            bindings::skb_reset_mac_header(skb);
            bindings::skb_set_network_header(skb, network as i32);
            bindings::skb_set_transport_header(skb, transport as i32);
            bindings::netoops_skb_set_protocol(skb, ethertype.to_be());
        }
    }

    /// Gives up ownership (the receiver frees the skb).
    pub(crate) fn into_raw(self) -> *mut bindings::sk_buff {
        let p = self.0.as_ptr();
        core::mem::forget(self);
        p
    }
}

impl Drop for Skb {
    fn drop(&mut self) {
        // SAFETY: we own the skb.
        unsafe { bindings::kfree_skb(self.0.as_ptr()) };
    }
}
