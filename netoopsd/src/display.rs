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
    // Valid UTF-8 (nearly every log) is checked much faster than it is taken apart.
    match std::str::from_utf8(b) {
        Ok(s) => s.to_owned(),
        Err(_) => String::from_utf8_lossy(b).into_owned(),
    }
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

/// Unix seconds as RFC 3339 UTC, e.g. `2026-01-01T00:00:00Z`.
pub fn utc_seconds(sec: i64) -> String {
    let (y, m, d) = civil_from_days(sec.div_euclid(86_400));
    let s = sec.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// (year, month, day) to days since 1970-01-01 (inverse of `civil_from_days`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A point in time for `--since`/`--until`, as Unix milliseconds: a duration ago (`90s`,
/// `30m`, `12h`, `7d`), Unix seconds (`1767225600`), a date (`2026-01-01`, UTC midnight) or
/// a UTC time (`2026-01-01T12:00:00Z`). `now_ms` is the current time.
pub fn parse_time(s: &str, now_ms: i64) -> Result<i64, String> {
    let bad = || {
        format!("{s:?}: not a time (use 30m, 12h, 7d, Unix seconds, 2026-01-01 or 2026-01-01T12:00:00Z)")
    };
    let t = s.trim();
    if let Some(unit) = t.chars().last().filter(|c| "smhd".contains(*c)) {
        if let Ok(n) = t[..t.len() - 1].parse::<i64>() {
            let mult = match unit {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                _ => 86_400,
            };
            return Ok(now_ms - n * mult * 1000);
        }
    }
    if let Ok(n) = t.parse::<i64>() {
        return Ok(n * 1000);
    }
    let (date, time) = match t.split_once('T') {
        Some((d, tm)) => (d, Some(tm.trim_end_matches('Z'))),
        None => (t, None),
    };
    let ymd: Vec<&str> = date.split('-').collect();
    let [y, m, d] = ymd.as_slice() else {
        return Err(bad());
    };
    let (y, m, d) = (
        y.parse::<i64>().map_err(|_| bad())?,
        m.parse::<u32>().map_err(|_| bad())?,
        d.parse::<u32>().map_err(|_| bad())?,
    );
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(bad());
    }
    let mut secs = days_from_civil(y, m, d) * 86_400;
    if let Some(tm) = time {
        let hms: Vec<&str> = tm.split(':').collect();
        if hms.is_empty() || hms.len() > 3 {
            return Err(bad());
        }
        for (i, part) in hms.iter().enumerate() {
            let v: i64 = part.parse().map_err(|_| bad())?;
            secs += v * [3600, 60, 1][i];
        }
    }
    Ok(secs * 1000)
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
        assert_eq!(utc_seconds(1_767_225_600), "2026-01-01T00:00:00Z");
        assert_eq!(utc_seconds(951_827_696), "2000-02-29T12:34:56Z");
        assert_eq!(parse_time("2026-01-01", 0), Ok(1_767_225_600_000));
        assert_eq!(parse_time("2000-02-29T12:34:56Z", 0), Ok(951_827_696_000));
        assert_eq!(parse_time("30m", 10_000_000), Ok(10_000_000 - 1_800_000));
        assert_eq!(parse_time("1767225600", 0), Ok(1_767_225_600_000));
        assert!(parse_time("yesterday", 0)
            .unwrap_err()
            .starts_with("\"yesterday\": not a time"));
        assert_eq!(taint_letters(0x1080), "D O");
        assert_eq!(taint_letters(0), "");
        assert_eq!(taint_letters(1 << 40 | 1), "P ?");
    }
}
