// SPDX-License-Identifier: GPL-2.0

//! A pool of socket buffers allocated in process context and taken, without locks or
//! allocation, on the dump path.
//!
//! netpoll consumes every skb it is given, so a dump needs one skb per packet it sends. The pool
//! has room (slots) for the most skbs its target can ever need and is filled, in process
//! context, to the level the current settings need (see `netpoll_targets::PoolSizing`); it is
//! topped up after every dump the machine survives. Taking is a lock-free scan of atomic slots,
//! so a CPU that crashed anywhere cannot leave the pool locked; an skb that was taken but could
//! not be sent is put back, never freed on the dump path.

use crate::bindings;
use core::ptr::{null_mut, NonNull};
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::prelude::*;

/// Preallocated skbs of one size.
pub(crate) struct SkbPool {
    slots: KVVec<AtomicPtr<bindings::sk_buff>>,
    skb_size: u32,
}

impl SkbPool {
    /// An empty pool with room for `capacity` skbs of `skb_size` bytes (process context).
    pub(crate) fn new(capacity: usize, skb_size: u32) -> Result<Self> {
        let mut slots = KVVec::with_capacity(capacity, GFP_KERNEL)?;
        for _ in 0..capacity {
            slots.push(AtomicPtr::new(null_mut()), GFP_KERNEL)?;
        }
        Ok(SkbPool { slots, skb_size })
    }

    /// Fills empty slots until the pool holds `level` skbs (at most its capacity; process
    /// context, may sleep). Returns how many skbs it holds; fewer than `level` means an
    /// allocation failed.
    pub(crate) fn refill(&self, level: usize) -> usize {
        let mut held = self
            .slots
            .iter()
            .filter(|s| !s.load(Ordering::Acquire).is_null())
            .count();
        for slot in self.slots.iter() {
            if held >= level {
                break;
            }
            if !slot.load(Ordering::Acquire).is_null() {
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

    /// Puts back an skb taken from this pool and never sent (dump path: no freeing there).
    /// It is emptied first; if every slot is full meanwhile (a refill ran), it is leaked.
    pub(crate) fn put_back(&self, skb: Skb) {
        let p = skb.into_raw();
        // SAFETY: `p` was taken from this pool, has been filled but never handed to anyone, so
        // we still own it exclusively.
        unsafe { bindings::netoops_skb_rewind(p) };
        for slot in self.slots.iter() {
            if slot
                .compare_exchange(null_mut(), p, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                return;
            }
        }
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

    /// Extends the data area by `len` bytes and returns them, zeroed, for writing.
    ///
    /// The caller must have sized the skb for it: the kernel BUG()s on an overrun.
    pub(crate) fn put(&mut self, len: u32) -> &mut [u8] {
        // SAFETY: we own the skb; `skb_put` returns a pointer to `len` bytes inside its buffer
        // (uninitialised: they are zeroed before a slice is made of them), which we borrow
        // mutably for as long as `self` is borrowed.
        unsafe {
            let data = bindings::skb_put(self.0.as_ptr(), len).cast::<u8>();
            core::ptr::write_bytes(data, 0, len as usize);
            core::slice::from_raw_parts_mut(data, len as usize)
        }
    }

    /// The raw pointer, for the wrappers that hand it to C without giving it up.
    pub(crate) fn as_ptr(&self) -> *mut bindings::sk_buff {
        self.0.as_ptr()
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
