// SPDX-License-Identifier: GPL-2.0

//! The global settings (configfs root attributes), published through RCU.
//!
//! A SysRq key pressed in hard-irq context, an NMI or a panic reads the settings while a
//! configfs write may be half done on another (possibly stopped) CPU: so the dump path never
//! takes a lock for them. Writers copy the current settings, change the copy and publish it
//! ([`SettingsCell::update`]); readers borrow the published value under the RCU read lock.

use crate::rcu_cell::RcuCell;
use crate::wire;
use kernel::new_mutex;
use kernel::prelude::*;
use kernel::sync::{rcu, Mutex};

/// Copies of each packet sent by default: one, since version 2's parity covers losses.
pub(crate) const DEFAULT_COPIES: u32 = 1;
/// Wire format version sent by default (`wire_version=1` sends version 1).
pub(crate) const DEFAULT_WIRE_VERSION: u8 = 2;
/// Parity packets per 100 data packets by default (version 2), see README "Loss".
pub(crate) const DEFAULT_FEC_PERCENT: u32 = 50;
/// Largest `fec_percent`: beyond it the 64 parity packets a dump may have are reached anyway.
pub(crate) const MAX_FEC_PERCENT: u32 = 400;

/// Global settings, set through the configfs root.
#[derive(Clone, Copy)]
pub(crate) struct Settings {
    /// The boot id sent in every packet.
    pub(crate) boot_id: [u8; 16],
    /// The user blob: `user_blob[..user_blob_len]`.
    pub(crate) user_blob: [u8; wire::MAX_USER_BLOB_LEN],
    /// Bytes of `user_blob` in use.
    pub(crate) user_blob_len: usize,
    /// Copies sent of every packet.
    pub(crate) copies: u32,
    /// Microseconds between packets.
    pub(crate) gap_us: u32,
    /// Wire format version of unsealed dumps (1 or 2; sealed dumps are always version 2).
    pub(crate) wire_version: u8,
    /// Parity packets per 100 data packets (version 2).
    pub(crate) fec_percent: u32,
}

impl Settings {
    /// The defaults, with a zero boot id.
    pub(crate) const DEFAULTS: Settings = Settings {
        boot_id: [0; 16],
        user_blob: [0; wire::MAX_USER_BLOB_LEN],
        user_blob_len: 0,
        copies: DEFAULT_COPIES,
        gap_us: 0,
        wire_version: DEFAULT_WIRE_VERSION,
        fec_percent: DEFAULT_FEC_PERCENT,
    };

    /// The defaults with a random boot id: a version 4 UUID, as the kernel's own boot_id.
    fn random() -> Self {
        let mut s = Self::DEFAULTS;
        // SAFETY: fills the 16 bytes of `boot_id`.
        unsafe {
            crate::bindings::get_random_bytes(s.boot_id.as_mut_ptr().cast(), s.boot_id.len())
        };
        s.boot_id[6] = (s.boot_id[6] & 0x0f) | 0x40;
        s.boot_id[8] = (s.boot_id[8] & 0x3f) | 0x80;
        s
    }

    /// The user blob in use.
    pub(crate) fn user_blob(&self) -> &[u8] {
        self.user_blob.get(..self.user_blob_len).unwrap_or(&[])
    }
}

/// The published settings and the mutex that serialises their writers.
#[pin_data]
pub(crate) struct SettingsCell {
    #[pin]
    writers: Mutex<()>,
    current: RcuCell<Settings>,
}

static DEFAULTS: Settings = Settings::DEFAULTS;

impl SettingsCell {
    /// The defaults with a random boot id.
    pub(crate) fn new() -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            writers <- new_mutex!(()),
            current: RcuCell::new(KBox::new(Settings::random(), GFP_KERNEL)?),
        })
    }

    /// The settings, borrowed while the read lock is held. Any context.
    pub(crate) fn read<'a>(&'a self, guard: &'a rcu::Guard) -> &'a Settings {
        self.current.read(guard).unwrap_or(&DEFAULTS)
    }

    /// A copy of the settings now (process context).
    pub(crate) fn get(&self) -> Settings {
        *self.read(&rcu::read_lock())
    }

    /// Applies `change` to a copy of the settings and publishes it, unless `change` fails
    /// (process context; waits for a grace period before the old copy is freed).
    pub(crate) fn update(&self, change: impl FnOnce(&mut Settings) -> Result) -> Result {
        let _writer = self.writers.lock();
        let mut next = self.get();
        change(&mut next)?;
        drop(self.current.replace(Some(KBox::new(next, GFP_KERNEL)?)));
        Ok(())
    }
}
