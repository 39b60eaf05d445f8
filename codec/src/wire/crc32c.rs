#![cfg_attr(feature = "std", allow(dead_code))]
//! CRC-32C (Castagnoli): reflected polynomial 0x82F63B78, initial value 0xFFFFFFFF, final
//! XOR 0xFFFFFFFF; the check value of ASCII `123456789` is 0xE3069283. Table-driven, eight
//! bytes a step ("slice-by-8": eight tables, generated at compile time, 8 KiB), the rest byte
//! by byte; the collector checks every packet it receives, the sender every packet it sends.
//! With the `std` feature (the collector, host tools) the `crc32c` crate computes it with the
//! CPU's CRC instructions where present, about ten times faster; the tests check both against
//! each other.

const POLY: u32 = 0x82F6_3B78;

const TABLE: [u32; 256] = make_table();

const fn make_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { (c >> 1) ^ POLY } else { c >> 1 };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
}

/// `TABLES[k][b]`: the CRC of byte `b` followed by `k` zero bytes (`TABLES[0]` is [`TABLE`]).
static TABLES: [[u32; 256]; 8] = make_tables();

const fn make_tables() -> [[u32; 256]; 8] {
    let mut t = [[0u32; 256]; 8];
    t[0] = TABLE;
    let mut k = 1;
    while k < 8 {
        let mut i = 0;
        while i < 256 {
            let prev = t[k - 1][i];
            t[k][i] = (prev >> 8) ^ TABLE[(prev & 0xff) as usize];
            i += 1;
        }
        k += 1;
    }
    t
}

/// Table lookup of the low byte of `v` (always within the table).
#[inline(always)]
fn at(table: &[u32; 256], v: u32) -> u32 {
    table[(v & 0xff) as usize]
}

/// Continues a CRC-32C computation. Start with `crc = 0`; the result of one call can be
/// passed as `crc` to the next to checksum data that arrives in pieces.
pub fn crc32c_update(crc: u32, data: &[u8]) -> u32 {
    #[cfg(feature = "std")]
    {
        crc32c::crc32c_append(crc, data)
    }
    #[cfg(not(feature = "std"))]
    {
        table_update(crc, data)
    }
}

/// [`crc32c_update`] from the tables (what the kernel module runs).
pub(crate) fn table_update(crc: u32, data: &[u8]) -> u32 {
    let mut c = !crc;
    let t = &TABLES;
    let mut i = 0;
    while let Some(w) = data.get(i..i + 8) {
        let lo = c ^ u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
        let hi = u32::from_le_bytes([w[4], w[5], w[6], w[7]]);
        c = at(&t[7], lo)
            ^ at(&t[6], lo >> 8)
            ^ at(&t[5], lo >> 16)
            ^ at(&t[4], lo >> 24)
            ^ at(&t[3], hi)
            ^ at(&t[2], hi >> 8)
            ^ at(&t[1], hi >> 16)
            ^ at(&t[0], hi >> 24);
        i += 8;
    }
    for &b in data.get(i..).unwrap_or(&[]) {
        c = at(&TABLE, c ^ u32::from(b)) ^ (c >> 8);
    }
    !c
}

/// CRC-32C of `data`.
pub fn crc32c(data: &[u8]) -> u32 {
    crc32c_update(0, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_value() {
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(b""), 0);
    }

    #[test]
    fn known_vectors() {
        // RFC 3720 (iSCSI) appendix B.4 test vectors.
        assert_eq!(crc32c(&[0u8; 32]), 0x8A91_36AA);
        assert_eq!(crc32c(&[0xFFu8; 32]), 0x62A8_AB43);
        let inc: [u8; 32] = core::array::from_fn(|i| i as u8);
        assert_eq!(crc32c(&inc), 0x46DD_794E);
        let dec: [u8; 32] = core::array::from_fn(|i| 31 - i as u8);
        assert_eq!(crc32c(&dec), 0x113F_DB5C);
        assert_eq!(table_update(0, &dec), 0x113F_DB5C);
        assert_eq!(table_update(0, b"123456789"), 0xE306_9283);
    }

    /// The byte-at-a-time definition, against which the eight-byte steps are checked.
    fn bytewise(data: &[u8]) -> u32 {
        let mut c = !0u32;
        for &b in data {
            c = TABLE[usize::from((c as u8) ^ b)] ^ (c >> 8);
        }
        !c
    }

    #[test]
    fn eight_bytes_a_step_equals_byte_at_a_time() {
        let mut x = 0x1234_5678u32;
        let data: [u8; 1500] = core::array::from_fn(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        });
        for len in (0..=64).chain([511, 512, 513, 1459, 1460, 1500]) {
            for start in 0..8 {
                let d = &data[start..(start + len).min(data.len())];
                assert_eq!(
                    table_update(0, d),
                    bytewise(d),
                    "tables: len {len} start {start}"
                );
                assert_eq!(crc32c(d), bytewise(d), "len {len} start {start}");
            }
        }
    }

    #[test]
    fn incremental_equals_one_shot() {
        let data = b"The quick brown fox jumps over the lazy dog";
        for split in 0..=data.len() {
            let (a, b) = data.split_at(split);
            assert_eq!(crc32c_update(crc32c_update(0, a), b), crc32c(data));
            assert_eq!(table_update(table_update(0, a), b), crc32c(data));
        }
    }
}
