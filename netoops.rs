// SPDX-License-Identifier: GPL-2.0

//! netoops: send kernel oops and panic reports over the network.
//!
//! When the kernel oopses or panics, netoops reads the kernel log through a kmsg dumper into a
//! buffer preallocated at load time. Later stages pack it with machine facts into UDP packets
//! sent through netpoll (see README.md and PROTOCOL.md).
//!
//! This file is the module root: parameters and the dump orchestration. The kernel interfaces
//! live in one file each (`kmsg_dumper.rs`, ...), as safe wrappers over thin unsafe cores.

mod bindings;
mod kmsg_dumper;
#[path = "codec/src/wire/mod.rs"]
#[allow(dead_code, unreachable_pub)]
mod wire;

use core::sync::atomic::{AtomicU32, Ordering};
use kmsg_dumper::{DumpHandler, LogReader, Reason};
use kernel::alloc::VVec;
use kernel::new_spinlock;
use kernel::prelude::*;
use kernel::str::BStr;
use kernel::sync::SpinLock;

module! {
    type: NetOops,
    name: "netoops",
    authors: ["netoops developers"],
    description: "Send kernel oops and panic reports as UDP packets through netpoll",
    license: "GPL",
    params: {
        log_kib: u32 {
            default: 64,
            description: "KiB of the newest kernel log to capture per dump (4..=4096, default 64)",
        },
    },
}

/// Smallest and largest accepted `log_kib`.
const LOG_KIB_RANGE: core::ops::RangeInclusive<u32> = 4..=4096;

/// What runs on every dump.
#[pin_data]
struct Dumper {
    /// The log of one dump, allocated at load time so that the dump path never allocates.
    /// `try_lock` only: two CPUs oopsing at once, or an oops inside our own dump path, make the
    /// later dump skip instead of waiting on a CPU that may never release the lock.
    #[pin]
    log: SpinLock<VVec<u8>>,
    /// Dumps started since load (the per-boot sequence number of the next dump).
    seq: AtomicU32,
}

impl Dumper {
    fn new(log_kib: u32) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            log <- new_spinlock!(
                VVec::from_elem(0u8, log_bytes(log_kib)?, GFP_KERNEL)?,
                "netoops_log"
            ),
            seq: AtomicU32::new(0),
        })
    }
}

/// The last line of `log` (without its newline), at most `max` bytes of its end.
fn newest_line(log: &[u8], max: usize) -> &[u8] {
    let log = log.strip_suffix(b"\n").unwrap_or(log);
    let start = log.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let line = log.get(start..).unwrap_or(&[]);
    line.get(line.len().saturating_sub(max)..).unwrap_or(line)
}

/// The log buffer size for `log_kib`, or EINVAL (with a message naming the parameter).
fn log_bytes(log_kib: u32) -> Result<usize> {
    if !LOG_KIB_RANGE.contains(&log_kib) {
        pr_err!(
            "log_kib={} is out of range {}..={}\n",
            log_kib,
            LOG_KIB_RANGE.start(),
            LOG_KIB_RANGE.end()
        );
        return Err(EINVAL);
    }
    Ok(log_kib as usize * 1024)
}

impl DumpHandler for Dumper {
    fn dump(&self, reason: Reason, log: &mut LogReader<'_>) {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        let Some(mut buf) = self.log.try_lock() else {
            pr_warn!(
                "dump {}: reason={} skipped: another dump is in progress\n",
                seq,
                reason.name()
            );
            return;
        };
        let len = log.read_newest(&mut buf[..]);
        let captured = buf.get(..len).unwrap_or(&[]);
        pr_info!(
            "dump {}: reason={}, read {} bytes of log, newest line: {}\n",
            seq,
            reason.name(),
            len,
            BStr::from_bytes(newest_line(captured, 160))
        );
    }
}

#[pin_data(PinnedDrop)]
struct NetOops {
    #[pin]
    dumper: kmsg_dumper::Registration<Dumper>,
}

impl kernel::InPlaceModule for NetOops {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        let log_kib = module_parameters::log_kib.value();
        pr_info!("loading: capturing up to {} KiB of log per dump\n", log_kib);
        try_pin_init!(Self {
            dumper <- kmsg_dumper::Registration::new(Reason::Oops, Dumper::new(log_kib)),
        })
    }
}

#[pinned_drop]
impl PinnedDrop for NetOops {
    fn drop(self: Pin<&mut Self>) {
        pr_info!("unloaded\n");
    }
}
