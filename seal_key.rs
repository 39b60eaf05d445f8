// SPDX-License-Identifier: GPL-2.0

//! The sealing key (configfs `seal_key`, write-only) and the packet counter of the nonces.
//!
//! Writing `KEY_ID HEX` (a key id 1 to 255 and 64 hex digits) installs a key: a fresh random
//! salt is drawn (here, in process context, never on the dump path), the XChaCha20 subkey is
//! derived from key and salt, and the key itself is wiped at once; from then on every packet
//! of every dump is sealed (`PROTOCOL.md` section 12.5). Writing `0` removes the key. The
//! attribute is mode 0200 and has no show method: nothing reads a key back. The sealing state
//! is wiped when replaced, removed, or when the module is unloaded.
//!
//! The nonce counter is one per module load and is never reset: a dump still sealing under a
//! key being replaced (it holds the old state under the RCU read lock) and the dumps under the
//! new key never share a counter value, so no (salt, counter) pair is ever used twice.

use crate::rcu_cell::RcuCell;
use crate::{bindings, wire};
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::new_mutex;
use kernel::prelude::*;
use kernel::sync::{rcu, Mutex};

/// Length of a key in bytes.
pub(crate) const KEY_LEN: usize = 32;

/// An installed key's sealing state, wiped when dropped.
struct Installed(wire::SealingKey);

impl Drop for Installed {
    fn drop(&mut self) {
        self.0.wipe();
        // The zeros must reach memory before it is freed: keep the stores.
        core::hint::black_box(&self.0);
    }
}

/// The published sealing state and what writes and uses it.
#[pin_data]
pub(crate) struct SealKey {
    #[pin]
    writers: Mutex<()>,
    current: RcuCell<Installed>,
    /// Packets sealed since the module was loaded, under any key.
    counter: AtomicU64,
}

/// What seals a dump's packets: the installed key's state, borrowed under the RCU read lock.
pub(crate) struct Sealer<'a> {
    key: &'a wire::SealingKey,
    counter: &'a AtomicU64,
}

impl<'a> Sealer<'a> {
    /// A sealer for `key`, numbering packets from `counter` (the golden vectors' fixed key).
    pub(crate) fn new(key: &'a wire::SealingKey, counter: &'a AtomicU64) -> Self {
        Sealer { key, counter }
    }

    /// Seals the unsealed packet `buf[..len]` in place with the next counter (the AEAD's
    /// working memory in `scratch`); the sealed length, or `None` (nothing sent) if `buf` has
    /// no room. Any context.
    pub(crate) fn seal(
        &self,
        scratch: &mut crate::seal::SealScratch,
        buf: &mut [u8],
        len: usize,
    ) -> Option<usize> {
        let counter = self.counter.fetch_add(1, Ordering::Relaxed);
        wire::seal_packet_with(scratch, buf, len, self.key, counter).ok()
    }
}

impl SealKey {
    /// No key.
    pub(crate) fn new() -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            writers <- new_mutex!(()),
            current: RcuCell::empty(),
            counter: AtomicU64::new(0),
        })
    }

    /// The sealer, if a key is installed. Any context.
    pub(crate) fn read<'a>(&'a self, guard: &'a rcu::Guard) -> Option<Sealer<'a>> {
        self.current.read(guard).map(|k| Sealer {
            key: &k.0,
            counter: &self.counter,
        })
    }

    /// Installs key `key` with id `id` (process context), with `salt` (random, unless a test
    /// vector needs its published one).
    pub(crate) fn install(&self, id: u8, key: &[u8; KEY_LEN], salt: Option<[u8; 16]>) -> Result {
        let salt = salt.unwrap_or_else(random_salt);
        let state = KBox::new(Installed(wire::SealingKey::new(id, key, salt)), GFP_KERNEL)?;
        let _w = self.writers.lock();
        drop(self.current.replace(Some(state)));
        Ok(())
    }

    /// Removes the key (process context).
    pub(crate) fn clear(&self) {
        let _w = self.writers.lock();
        drop(self.current.replace(None));
    }
}

fn random_salt() -> [u8; 16] {
    let mut salt = [0u8; 16];
    // SAFETY: fills the 16 bytes of `salt`; process context.
    unsafe { bindings::get_random_bytes(salt.as_mut_ptr().cast(), salt.len()) };
    salt
}

/// Parses `KEY_ID HEX` into the key id and the key; `None` if malformed.
pub(crate) fn parse(page: &[u8]) -> Option<(u8, [u8; KEY_LEN])> {
    let page = page.strip_suffix(b"\n").unwrap_or(page);
    let space = page.iter().position(|&b| b == b' ')?;
    let (id, hex) = (page.get(..space)?, page.get(space + 1..)?);
    let id = crate::frame::parse_u32_decimal(id).filter(|n| (1..=255).contains(n))? as u8;
    if hex.len() != 2 * KEY_LEN {
        return None;
    }
    // An index loop rather than zip(chunks_exact): see frame's format.rs.
    let mut key = [0u8; KEY_LEN];
    for (i, b) in key.iter_mut().enumerate() {
        *b = (hex_digit(*hex.get(2 * i)?)? << 4) | hex_digit(*hex.get(2 * i + 1)?)?;
    }
    Some((id, key))
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Overwrites `key` with zeros in a way the compiler keeps.
pub(crate) fn wipe(key: &mut [u8; KEY_LEN]) {
    // SAFETY: `key` is valid for writes of its 32 bytes.
    unsafe { bindings::netoops_memzero_explicit(key.as_mut_ptr().cast(), key.len()) };
}
