//! Little-endian reads from untrusted slices and bounded writes into caller buffers.
//! Every function here returns `None` instead of panicking.

/// Reads `N` bytes at `off`.
pub(super) fn array<const N: usize>(b: &[u8], off: usize) -> Option<[u8; N]> {
    let end = off.checked_add(N)?;
    let s = b.get(off..end)?;
    let mut out = [0u8; N];
    for (d, s) in out.iter_mut().zip(s) {
        *d = *s;
    }
    Some(out)
}

pub(super) fn u8_at(b: &[u8], off: usize) -> Option<u8> {
    b.get(off).copied()
}

pub(super) fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    array::<2>(b, off).map(u16::from_le_bytes)
}

pub(super) fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    array::<4>(b, off).map(u32::from_le_bytes)
}

pub(super) fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    array::<8>(b, off).map(u64::from_le_bytes)
}

pub(super) fn i64_at(b: &[u8], off: usize) -> Option<i64> {
    array::<8>(b, off).map(i64::from_le_bytes)
}

/// A cursor writing into a caller-provided buffer; a write past the end fails and writes
/// nothing.
pub(super) struct Writer<'b> {
    buf: &'b mut [u8],
    pos: usize,
}

impl<'b> Writer<'b> {
    pub(super) fn new(buf: &'b mut [u8]) -> Self {
        Writer { buf, pos: 0 }
    }

    pub(super) fn pos(&self) -> usize {
        self.pos
    }

    pub(super) fn put(&mut self, src: &[u8]) -> Option<()> {
        let end = self.pos.checked_add(src.len())?;
        let dst = self.buf.get_mut(self.pos..end)?;
        dst.copy_from_slice(src);
        self.pos = end;
        Some(())
    }

    pub(super) fn u8(&mut self, v: u8) -> Option<()> {
        self.put(&[v])
    }

    pub(super) fn u16(&mut self, v: u16) -> Option<()> {
        self.put(&v.to_le_bytes())
    }

    pub(super) fn u32(&mut self, v: u32) -> Option<()> {
        self.put(&v.to_le_bytes())
    }

    pub(super) fn u64(&mut self, v: u64) -> Option<()> {
        self.put(&v.to_le_bytes())
    }

    pub(super) fn i64(&mut self, v: i64) -> Option<()> {
        self.put(&v.to_le_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_little_endian_and_bounded() {
        let b = [1u8, 2, 3, 4, 5, 6, 7, 8, 9];
        assert_eq!(u16_at(&b, 0), Some(0x0201));
        assert_eq!(u32_at(&b, 1), Some(0x0504_0302));
        assert_eq!(u64_at(&b, 1), Some(0x0908_0706_0504_0302));
        assert_eq!(u64_at(&b, 2), None);
        assert_eq!(u16_at(&b, usize::MAX), None);
        assert_eq!(i64_at(&[0xff; 8], 0), Some(-1));
        assert_eq!(u8_at(&b, 9), None);
    }

    #[test]
    fn writer_refuses_overflow_without_writing() {
        let mut buf = [0u8; 3];
        let mut w = Writer::new(&mut buf);
        assert_eq!(w.u16(0xBEEF), Some(()));
        assert_eq!(w.u16(0x1234), None);
        assert_eq!(w.pos(), 2);
        assert_eq!(w.u8(7), Some(()));
        assert_eq!(buf, [0xEF, 0xBE, 7]);
    }
}
