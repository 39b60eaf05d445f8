//! Formatting helpers shared by the text and JSON outputs.

use netoops_codec::wire::{DumpKey, Time};

/// A boot id as `/proc/sys/kernel/random/boot_id` shows it.
pub fn uuid(id: &[u8; 16]) -> String {
    let h: String = id.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// `BOOTID#SEQ`.
pub fn dump_name(key: &DumpKey) -> String {
    format!("{}#{}", uuid(&key.boot_id), key.seq)
}

/// Bytes as text: UTF-8 where valid, U+FFFD elsewhere.
pub fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Lower-case hex without separators.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's
/// algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Wall-clock time as RFC 3339 UTC with nanoseconds, e.g. `2026-01-01T00:00:00.500000000Z`.
pub fn wall_clock(t: &Time) -> String {
    let days = t.wall_sec.div_euclid(86_400);
    let secs = t.wall_sec.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:09}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        t.wall_nsec
    )
}

/// Uptime in seconds with nanoseconds, e.g. `42.123456789`.
pub fn uptime(t: &Time) -> String {
    format!(
        "{}.{:09}",
        t.uptime_ns / 1_000_000_000,
        t.uptime_ns % 1_000_000_000
    )
}

/// The kernel's taint letters, by bit number (`TAINT_*` in include/linux/panic.h).
const TAINT_LETTERS: [char; 20] = [
    'P', 'F', 'S', 'R', 'M', 'B', 'U', 'D', 'A', 'W', 'C', 'I', 'O', 'E', 'L', 'K', 'X', 'T', 'N',
    'J',
];

/// Letters of the set taint bits (`?` for bits without a known letter), e.g. `D O`.
pub fn taint_letters(taint: u64) -> String {
    let mut out = Vec::new();
    for bit in 0..64 {
        if taint & (1 << bit) != 0 {
            out.push(TAINT_LETTERS.get(bit).copied().unwrap_or('?').to_string());
        }
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let id = [
            0x6f, 0x1c, 0x2b, 0x7e, 0x9a, 0x4d, 0x4c, 0x3e, 0x8b, 0x21, 0x5d, 0x0f, 0x7a, 0x9e,
            0x3c, 0x41,
        ];
        assert_eq!(uuid(&id), "6f1c2b7e-9a4d-4c3e-8b21-5d0f7a9e3c41");
        let t = Time {
            uptime_ns: 42_123_456_789,
            wall_sec: 1_767_225_600,
            wall_nsec: 500_000_000,
        };
        assert_eq!(wall_clock(&t), "2026-01-01T00:00:00.500000000Z");
        assert_eq!(uptime(&t), "42.123456789");
        let t = Time {
            uptime_ns: 5,
            wall_sec: 951_827_696,
            wall_nsec: 7,
        };
        assert_eq!(wall_clock(&t), "2000-02-29T12:34:56.000000007Z");
        let t = Time {
            uptime_ns: 0,
            wall_sec: -1,
            wall_nsec: 0,
        };
        assert_eq!(wall_clock(&t), "1969-12-31T23:59:59.000000000Z");
        assert_eq!(taint_letters(0x1080), "D O");
        assert_eq!(taint_letters(0), "");
        assert_eq!(taint_letters(1 << 40 | 1), "P ?");
    }
}
