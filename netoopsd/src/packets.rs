//! A dump's packets in one buffer: for each, its length as a little-endian `u32`, then its
//! bytes. This is the layout `store::sql::pack` compresses, so a dump received in order is
//! packed straight from the buffer it was received into; and a dump's packets cost one
//! allocation (grown as they come) rather than one each, allocated by the receiving thread
//! and freed by the storing one.

/// Packets, in order, in one buffer.
// INVARIANT: `plain` is a sequence of `count` entries, each a little-endian u32 `n` then
// `n` bytes, and nothing after the last.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Packets {
    plain: Vec<u8>,
    count: usize,
}

/// Bytes before each packet in the buffer: its length.
pub const LEN_PREFIX: usize = 4;

impl Packets {
    /// No packets.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `p`; returns where its bytes start in [`Self::plain`]. The buffer grows as a
    /// `Vec` does: at first to what the first packet needs (a packet alone, as a flood of
    /// packets with fresh keys sends, costs no more), then to twice its size, so that it
    /// never takes more than twice what it holds, whatever packet count a sender claims.
    pub fn push(&mut self, p: &[u8]) -> usize {
        self.plain.reserve(LEN_PREFIX + p.len());
        self.plain
            .extend_from_slice(&(p.len() as u32).to_le_bytes());
        let at = self.plain.len();
        self.plain.extend_from_slice(p);
        self.count += 1;
        at
    }

    /// Bytes `at..at + len` of the buffer (a packet as [`Self::push`] placed it).
    pub fn slice(&self, at: usize, len: usize) -> &[u8] {
        &self.plain[at..at + len]
    }

    /// The packets in order.
    pub fn iter(&self) -> Iter<'_> {
        Iter { rest: &self.plain }
    }

    /// How many packets.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The buffer: what `store::sql::pack` compresses.
    pub fn plain(&self) -> &[u8] {
        &self.plain
    }

    /// Bytes the buffer has allocated (at most twice [`Self::plain`]'s length).
    pub fn capacity(&self) -> usize {
        self.plain.capacity()
    }
}

impl<'a> FromIterator<&'a [u8]> for Packets {
    fn from_iter<I: IntoIterator<Item = &'a [u8]>>(packets: I) -> Self {
        let mut out = Packets::new();
        for p in packets {
            out.push(p);
        }
        out
    }
}

impl From<Vec<Vec<u8>>> for Packets {
    fn from(packets: Vec<Vec<u8>>) -> Self {
        packets.iter().map(Vec::as_slice).collect()
    }
}

impl PartialEq<Vec<Vec<u8>>> for Packets {
    fn eq(&self, other: &Vec<Vec<u8>>) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter().map(Vec::as_slice))
    }
}

impl PartialEq<Packets> for Vec<Vec<u8>> {
    fn eq(&self, other: &Packets) -> bool {
        other == self
    }
}

impl<'a> IntoIterator for &'a Packets {
    type Item = &'a [u8];
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// The packets of [`Packets::iter`].
pub struct Iter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let (len, rest) = self.rest.split_first_chunk::<LEN_PREFIX>()?;
        let (p, rest) = rest.split_at(u32::from_le_bytes(*len) as usize);
        self.rest = rest;
        Some(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_come_back_in_order_in_the_packed_layout() {
        let mut p = Packets::new();
        let a = p.push(&[1, 2, 3]);
        let b = p.push(&[]);
        let c = p.push(&[9; 300]);
        assert_eq!(p.len(), 3);
        assert_eq!(p, vec![vec![1, 2, 3], vec![], vec![9; 300]]);
        assert_eq!(
            (p.slice(a, 3), p.slice(b, 0), p.slice(c, 300)),
            (&[1, 2, 3][..], &[][..], &[9; 300][..])
        );
        let mut plain = vec![3, 0, 0, 0, 1, 2, 3, 0, 0, 0, 0, 44, 1, 0, 0];
        plain.extend_from_slice(&[9; 300]);
        assert_eq!(p.plain(), &plain[..]);
        assert_eq!(Packets::from(vec![vec![1, 2, 3], vec![], vec![9; 300]]), p);
        assert_ne!(p, vec![vec![1, 2, 3], vec![]]);
    }

    #[test]
    fn the_buffer_starts_at_the_first_packet_then_doubles() {
        let mut p = Packets::new();
        p.push(&[0; 96]);
        assert_eq!(p.capacity(), 100, "the first packet: what it needs");
        p.push(&[0; 96]);
        assert_eq!(p.capacity(), 200);
        p.push(&[0; 96]);
        assert_eq!(p.capacity(), 400);
        p.push(&[0; 96]);
        assert_eq!(p.capacity(), 400, "room left: no growth");
        p.push(&[0; 996]);
        assert_eq!(p.capacity(), 1400, "more than twice needed: what it needs");
    }
}
