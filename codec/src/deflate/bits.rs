//! LSB-first bit writer over a caller-owned byte slice.
//!
//! Writing past the end of the slice sets a sticky overflow flag instead; bytes that do
//! not fit are dropped, nothing outside the slice is ever touched, nothing panics.

/// Bits are collected in a 64-bit accumulator and stored 4 bytes at a time.
pub(super) struct BitWriter<'o> {
    out: &'o mut [u8],
    /// Next byte of `out` to write.
    pos: usize,
    /// Pending bits, LSB first; fewer than 32 of them between calls.
    acc: u64,
    nbits: u32,
    overflow: bool,
}

impl<'o> BitWriter<'o> {
    pub(super) fn new(out: &'o mut [u8]) -> Self {
        BitWriter {
            out,
            pos: 0,
            acc: 0,
            nbits: 0,
            overflow: false,
        }
    }

    /// Whether something did not fit.
    pub(super) fn overflowed(&self) -> bool {
        self.overflow
    }

    /// The bit position within the current byte (0–7).
    pub(super) fn bit_offset(&self) -> u32 {
        self.nbits & 7
    }

    /// Appends the `n ≤ 32` low bits of `bits`.
    #[inline]
    pub(super) fn put(&mut self, bits: u32, n: u32) {
        let n = n.min(32);
        let mask = (1u64 << n).wrapping_sub(1);
        self.acc |= (u64::from(bits) & mask) << (self.nbits & 31);
        self.nbits = (self.nbits & 31) + n;
        if self.nbits >= 32 {
            let word = (self.acc as u32).to_le_bytes();
            self.bytes(&word);
            self.acc >>= 32;
            self.nbits -= 32;
        }
    }

    /// Pads with zero bits to a byte boundary and writes out every pending bit.
    pub(super) fn align(&mut self) {
        let whole = self.nbits.div_ceil(8);
        let word = self.acc.to_le_bytes();
        self.bytes(word.get(..whole as usize).unwrap_or(&[]));
        self.acc = 0;
        self.nbits = 0;
    }

    /// Appends whole bytes; the writer must be byte-aligned ([`align`](Self::align)).
    pub(super) fn bytes(&mut self, data: &[u8]) {
        let end = self.pos.saturating_add(data.len());
        match self.out.get_mut(self.pos..end) {
            Some(dst) => {
                dst.copy_from_slice(data);
                self.pos = end;
            }
            None => {
                self.overflow = true;
                self.pos = self.out.len();
            }
        }
    }

    /// Ends the stream (pads the last byte with zeros): the number of bytes written, or
    /// `None` when they did not fit.
    pub(super) fn finish(mut self) -> Option<usize> {
        self.align();
        if self.overflow {
            None
        } else {
            Some(self.pos)
        }
    }
}
