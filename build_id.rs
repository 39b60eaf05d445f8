// SPDX-License-Identifier: GPL-2.0

//! The running kernel's build id, read once at load time: the GNU build-id note (`NT_GNU_BUILD_ID`)
//! among the kernel's ELF notes, which `/sys/kernel/notes` gives as vmlinux's `.notes` section
//! (the kernel's own copy, `vmlinux_build_id`, is not exported to modules). It names the
//! kernel's debug info, so that the collector can symbolize a stack (`BUILD_ID`, PROTOCOL.md).
//! Dumps only read the copy kept here.

use crate::bindings;
use kernel::fmt;
use kernel::prelude::*;

/// The longest build id kept (the wire's limit; the kernel's SHA-1 build id is 20 bytes).
const MAX_LEN: usize = crate::wire::MAX_BUILD_ID_LEN;
/// Room for the kernel's notes (a few hundred bytes: the build id, Xen and arch notes).
const NOTES_ROOM: usize = 4096;
/// `NT_GNU_BUILD_ID`.
const NT_GNU_BUILD_ID: u32 = 3;

/// A build id.
// INVARIANT: `1 <= len <= MAX_LEN`.
pub(crate) struct BuildId {
    len: usize,
    bytes: [u8; MAX_LEN],
}

impl BuildId {
    /// The running kernel's build id (process context: reads a sysfs file).
    pub(crate) fn read() -> Result<BuildId> {
        let mut notes = KVec::from_elem(0u8, NOTES_ROOM, GFP_KERNEL)?;
        // SAFETY: `notes` is a buffer of `NOTES_ROOM` bytes that lives across the call; the
        // helper reads at most that many bytes into it and allocates nothing.
        let read =
            unsafe { bindings::netoops_read_kernel_notes(notes.as_mut_ptr().cast(), NOTES_ROOM) };
        let read = usize::try_from(read).map_err(|_| Error::from_errno(read as i32))?;
        let id = gnu_build_id(notes.get(..read).unwrap_or(&[])).ok_or(ENOENT)?;
        if id.is_empty() || id.len() > MAX_LEN {
            return Err(EINVAL);
        }
        let mut bytes = [0u8; MAX_LEN];
        // Byte by byte: a slice copy of a run-time length brings a panic path objtool cannot
        // name (shared/notes/toolchain.md).
        for (i, b) in id.iter().enumerate() {
            bytes[i] = *b;
        }
        // INVARIANT: checked above.
        Ok(BuildId {
            len: id.len(),
            bytes,
        })
    }

    /// The build id's bytes.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl fmt::Display for BuildId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_bytes()
            .iter()
            .try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// The descriptor of the first GNU build-id note in `notes`, a sequence of ELF notes (each a
/// native-endian `namesz`, `descsz`, `type`, then the name and the descriptor, each padded to
/// 4 bytes); `None` if there is none or the notes are cut short.
fn gnu_build_id(notes: &[u8]) -> Option<&[u8]> {
    let word = |at: usize| -> Option<usize> {
        let b = notes.get(at..at.checked_add(4)?)?;
        Some(u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let pad = |n: usize| n.checked_add(3).map(|n| n & !3);
    let mut at = 0;
    while at < notes.len() {
        let (namesz, descsz, ty) = (word(at)?, word(at + 4)?, word(at + 8)? as u32);
        let name_at = at + 12;
        let desc_at = name_at.checked_add(pad(namesz)?)?;
        let desc = notes.get(desc_at..desc_at.checked_add(descsz)?)?;
        if ty == NT_GNU_BUILD_ID && notes.get(name_at..name_at + namesz) == Some(b"GNU\0") {
            return Some(desc);
        }
        at = desc_at.checked_add(pad(descsz)?)?;
    }
    None
}
