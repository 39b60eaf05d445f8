//! Encoding a whole dump into its packets (for the load generator and the tests).

use netoops_codec::wire::{Dump, EncodeError, Packetizer};

/// Every packet of `dump`, in order, with packets of at most `max` bytes.
pub fn encode_dump(dump: Dump<'_>, max: usize) -> Result<Vec<Vec<u8>>, EncodeError> {
    let p = Packetizer::new(&dump, max)?;
    (0..p.packet_count())
        .map(|i| {
            let mut b = vec![0; p.packet_len(i)?];
            let n = p.write_packet(i, &mut b)?;
            b.truncate(n);
            Ok(b)
        })
        .collect()
}
