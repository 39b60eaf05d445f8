//! SQL shared by the two backends: the report columns, filters, the `put` rules (with the
//! merge of a partial dump's parts) and the decoding of rows, written once in the SQL that
//! SQLite and PostgreSQL both understand. The few places where they differ go through
//! [`Dialect`]; placeholders are written `?` and numbered (`$1`, `$2`, ...) for PostgreSQL.

use super::{merge, Bucket, Fields, Filter, Full, NewReport, Stored};
use crate::packets::Packets;

/// The SQL dialect of a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl Dialect {
    /// `hay` contains `?` (one parameter), case-insensitively.
    pub fn contains(self, hay: &str) -> String {
        match self {
            Dialect::Sqlite => format!("instr(lower({hay}), lower(?)) > 0"),
            Dialect::Postgres => format!("strpos(lower({hay}), lower(?)) > 0"),
        }
    }

    /// A report's received log as text, for free-text search: PostgreSQL keeps it in `log`;
    /// SQLite (schema 3) keeps it there only for reports whose packets do not hold it, and
    /// rebuilds it from the packets (`netoops_log`, registered on every connection).
    pub fn log(self) -> &'static str {
        match self {
            Dialect::Sqlite => "netoops_log(log, packets)",
            Dialect::Postgres => "log",
        }
    }

    /// An integer column as `0x...` lowercase hexadecimal.
    pub fn hex(self, col: &str) -> String {
        match self {
            Dialect::Sqlite => format!("printf('0x%x', {col})"),
            Dialect::Postgres => format!("'0x' || to_hex({col})"),
        }
    }

    /// `sql` with its `?` placeholders (outside string literals) as this dialect writes them.
    pub fn placeholders(self, sql: &str) -> String {
        if self == Dialect::Sqlite {
            return sql.to_string();
        }
        let mut out = String::with_capacity(sql.len() + 16);
        let (mut n, mut quoted) = (0, false);
        for c in sql.chars() {
            match c {
                '\'' => {
                    quoted = !quoted;
                    out.push(c);
                }
                '?' if !quoted => {
                    n += 1;
                    out.push_str(&format!("${n}"));
                }
                _ => out.push(c),
            }
        }
        out
    }
}

/// A query parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// SQL NULL.
    Null,
    /// An integer (`BIGINT` in PostgreSQL).
    Int(i64),
    /// A truth value (`INTEGER` 0/1 in SQLite, `BOOLEAN` in PostgreSQL).
    Bool(bool),
    /// Text.
    Text(String),
    /// Bytes.
    Bytes(Vec<u8>),
}

/// A value of a result row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// SQL NULL.
    Null,
    /// An integer or a truth value (0/1).
    Int(i64),
    /// A floating-point number.
    Real(f64),
    /// Text.
    Text(String),
    /// Bytes.
    Bytes(Vec<u8>),
}

/// A result row, read by column index.
pub struct Row<'a>(pub &'a [Cell]);

impl Row<'_> {
    fn cell(&self, i: usize) -> Result<&Cell, String> {
        self.0
            .get(i)
            .ok_or_else(|| format!("result column {i} is missing"))
    }
    /// An integer or NULL.
    pub fn oint(&self, i: usize) -> Result<Option<i64>, String> {
        match self.cell(i)? {
            Cell::Null => Ok(None),
            Cell::Int(v) => Ok(Some(*v)),
            c => Err(format!("result column {i} is {c:?}, not an integer")),
        }
    }
    /// An integer.
    pub fn int(&self, i: usize) -> Result<i64, String> {
        self.oint(i)?
            .ok_or_else(|| format!("result column {i} is NULL, not an integer"))
    }
    /// An integer that fits a `u32` or NULL.
    pub fn ou32(&self, i: usize) -> Result<Option<u32>, String> {
        self.oint(i)?
            .map(|v| u32::try_from(v).map_err(|_| format!("result column {i}: {v} is not a u32")))
            .transpose()
    }
    /// An integer that fits a `u32`.
    pub fn u32(&self, i: usize) -> Result<u32, String> {
        self.ou32(i)?
            .ok_or_else(|| format!("result column {i} is NULL, not an integer"))
    }
    /// A count.
    pub fn count(&self, i: usize) -> Result<u64, String> {
        Ok(self.int(i)?.max(0) as u64)
    }
    /// Text or NULL.
    pub fn otext(&self, i: usize) -> Result<Option<String>, String> {
        match self.cell(i)? {
            Cell::Null => Ok(None),
            Cell::Text(v) => Ok(Some(v.clone())),
            c => Err(format!("result column {i} is {c:?}, not text")),
        }
    }
    /// Text.
    pub fn text(&self, i: usize) -> Result<String, String> {
        self.otext(i)?
            .ok_or_else(|| format!("result column {i} is NULL, not text"))
    }
    /// Bytes.
    pub fn bytes(&self, i: usize) -> Result<Vec<u8>, String> {
        match self.cell(i)? {
            Cell::Bytes(v) => Ok(v.clone()),
            c => Err(format!("result column {i} is {c:?}, not bytes")),
        }
    }
}

/// The columns of a [`Stored`] report, in the order [`stored_from_row`] reads them.
pub const COLUMNS: &str =
    "id, received_ms, first_packet_ms, sender, boot_id, seq, reason, complete,
    packets_received, packet_count, log_len, missing_log, kernel_release, kernel_version,
    hostname, arch, cpu_vendor, cpu_family, cpu_model, bios_vendor, bios_version,
    board_vendor, board_name, product_name, dump_time, machine, title, bucket, frames,
    microcode";

/// The columns a report is written with, in the order of [`report_args`].
const WRITTEN: &str = "received_ms, first_packet_ms, sender, boot_id, seq, reason, complete,
    packets_received, packet_count, log_len, missing_log, kernel_release, kernel_version,
    hostname, arch, cpu_vendor, cpu_family, cpu_model, bios_vendor, bios_version, board_vendor,
    board_name, product_name, dump_time, machine, title, bucket, frames, packets, microcode,
    log";

/// A stored report from a row of [`COLUMNS`].
pub fn stored_from_row(r: &Row<'_>) -> Result<Stored, String> {
    Ok(Stored {
        id: r.int(0)?,
        received_ms: r.int(1)?,
        first_packet_ms: r.int(2)?,
        sender: r.text(3)?,
        fields: Fields {
            boot_id: r.text(4)?,
            seq: r.u32(5)?,
            reason: r.text(6)?,
            complete: r.int(7)? != 0,
            packets_received: r.u32(8)?,
            packet_count: r.u32(9)?,
            log_len: r.u32(10)?,
            missing_log: serde_json::from_str(&r.text(11)?).unwrap_or_default(),
            kernel_release: r.otext(12)?,
            kernel_version: r.otext(13)?,
            hostname: r.otext(14)?,
            arch: r.otext(15)?,
            cpu_vendor: r.otext(16)?,
            cpu_family: r.ou32(17)?,
            cpu_model: r.ou32(18)?,
            bios_vendor: r.otext(19)?,
            bios_version: r.otext(20)?,
            board_vendor: r.otext(21)?,
            board_name: r.otext(22)?,
            product_name: r.otext(23)?,
            dump_time: r.oint(24)?,
            machine: r.text(25)?,
            title: r.text(26)?,
            bucket: r.text(27)?,
            frames: serde_json::from_str(&r.text(28)?).unwrap_or_default(),
            microcode: r.ou32(29)?,
        },
    })
}

/// First bytes of a compressed blob; a plain blob starts with a packet's length (a
/// little-endian u32 of at most 65,535), never with these.
const LZ4_BLOB: [u8; 4] = *b"NOZ1";

/// Packets as one blob: their [`Packets::plain`] layout (for each, a little-endian u32
/// length, then the bytes) compressed with LZ4 (an LZ4 block, its length before it) after
/// `LZ4_BLOB`.
pub fn pack(packets: &Packets) -> Vec<u8> {
    let plain = packets.plain();
    let mut out = Vec::with_capacity(LZ4_BLOB.len() + 4 + plain.len() / 2);
    out.extend_from_slice(&LZ4_BLOB);
    out.extend_from_slice(&lz4_flex::block::compress_prepend_size(plain));
    out
}

/// The packets of a [`pack`]ed blob, compressed or plain; `None` if it is damaged.
pub fn unpack(blob: &[u8]) -> Option<Vec<Vec<u8>>> {
    let plain;
    let blob = match blob.strip_prefix(&LZ4_BLOB) {
        Some(z) => {
            // LZ4 expands at most 255 times: a damaged length allocates no more than that.
            let len = u32::from_le_bytes(z.get(..4)?.try_into().ok()?) as usize;
            if len > z.len().saturating_mul(255) {
                return None;
            }
            plain = lz4_flex::block::decompress_size_prepended(z).ok()?;
            &plain[..]
        }
        None => blob,
    };
    let mut out = Vec::new();
    let mut rest = blob;
    while !rest.is_empty() {
        let len = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
        out.push(rest.get(4..4 + len)?.to_vec());
        rest = &rest[4 + len..];
    }
    Some(out)
}

fn text(v: &Option<String>) -> Arg {
    v.clone().map_or(Arg::Null, Arg::Text)
}

fn int<T: Into<i64> + Copy>(v: Option<T>) -> Arg {
    v.map_or(Arg::Null, |v| Arg::Int(v.into()))
}

/// The values of [`WRITTEN`] for a report.
fn report_args(d: Dialect, r: &NewReport) -> Vec<Arg> {
    let f = &r.fields;
    vec![
        Arg::Int(r.received_ms),
        Arg::Int(r.first_packet_ms),
        Arg::Text(r.sender.clone()),
        Arg::Text(f.boot_id.clone()),
        Arg::Int(i64::from(f.seq)),
        Arg::Text(f.reason.clone()),
        Arg::Bool(f.complete),
        Arg::Int(i64::from(f.packets_received)),
        Arg::Int(i64::from(f.packet_count)),
        Arg::Int(i64::from(f.log_len)),
        Arg::Text(serde_json::to_string(&f.missing_log).expect("ranges serialize")),
        text(&f.kernel_release),
        text(&f.kernel_version),
        text(&f.hostname),
        text(&f.arch),
        text(&f.cpu_vendor),
        int(f.cpu_family),
        int(f.cpu_model),
        text(&f.bios_vendor),
        text(&f.bios_version),
        text(&f.board_vendor),
        text(&f.board_name),
        text(&f.product_name),
        int(f.dump_time),
        Arg::Text(f.machine.clone()),
        Arg::Text(f.title.clone()),
        Arg::Text(f.bucket.clone()),
        Arg::Text(serde_json::to_string(&f.frames).expect("frames serialize")),
        Arg::Bytes(r.packed.clone().unwrap_or_else(|| pack(&r.packets))),
        int(f.microcode),
        // SQLite does not store a log twice (see `Dialect::log`).
        Arg::Text(if d == Dialect::Sqlite && r.log_in_packets {
            String::new()
        } else {
            r.log.clone()
        }),
    ]
}

/// `WHERE ...` and its parameters for a filter (its `limit` aside).
pub fn where_clause(d: Dialect, f: &Filter) -> (String, Vec<Arg>) {
    let mut conds: Vec<String> = Vec::new();
    let mut params: Vec<Arg> = Vec::new();
    let mut eq = |col: &str, v: &Option<String>| {
        if let Some(v) = v {
            conds.push(format!("{col} = ?"));
            params.push(Arg::Text(v.clone()));
        }
    };
    eq("kernel_release", &f.kernel);
    eq("cpu_vendor", &f.cpu_vendor);
    eq("bios_version", &f.bios);
    eq("board_name", &f.board);
    eq("reason", &f.reason);
    eq("hostname", &f.host);
    eq("sender", &f.sender);
    if let Some(b) = &f.bucket {
        conds.push("substr(bucket, 1, length(?)) = ?".into());
        params.push(Arg::Text(b.clone()));
        params.push(Arg::Text(b.clone()));
    }
    if let Some(t) = &f.title {
        conds.push(d.contains("title"));
        params.push(Arg::Text(t.clone()));
    }
    for (col, v) in [("cpu_family", f.cpu_family), ("cpu_model", f.cpu_model)] {
        if let Some(v) = v {
            conds.push(format!("{col} = ?"));
            params.push(Arg::Int(i64::from(v)));
        }
    }
    if let Some(c) = f.complete {
        conds.push("complete = ?".into());
        params.push(Arg::Bool(c));
    }
    if let Some(t) = f.since_ms {
        conds.push("received_ms >= ?".into());
        params.push(Arg::Int(t));
    }
    if let Some(t) = f.until_ms {
        conds.push("received_ms < ?".into());
        params.push(Arg::Int(t));
    }
    let mut sql = String::new();
    for (i, c) in conds.iter().enumerate() {
        sql.push_str(if i == 0 { " WHERE " } else { " AND " });
        sql.push_str(c);
    }
    (sql, params)
}

/// Runs one statement: its result rows (none for a statement that returns none).
pub type Exec<'a> = dyn FnMut(&str, &[Arg]) -> Result<Vec<Vec<Cell>>, String> + 'a;

/// [`super::Store::list`] in either dialect.
pub fn list(d: Dialect, run: &mut Exec<'_>, f: &Filter) -> Result<Vec<Stored>, String> {
    let (w, params) = where_clause(d, f);
    let limit = f.limit.map(|l| format!(" LIMIT {l}")).unwrap_or_default();
    let sql = format!("SELECT {COLUMNS} FROM reports{w} ORDER BY id DESC{limit}");
    run(&sql, &params)?
        .iter()
        .map(|r| stored_from_row(&Row(r)))
        .collect()
}

/// [`super::Store::get`] in either dialect; `name` names the database in errors.
pub fn get(run: &mut Exec<'_>, name: &str, id: i64) -> Result<Option<Full>, String> {
    let sql = format!("SELECT {COLUMNS}, packets FROM reports WHERE id = ?");
    let rows = run(&sql, &[Arg::Int(id)])?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let row = Row(row);
    let report = stored_from_row(&row)?;
    let packets = unpack(&row.bytes(30)?)
        .ok_or_else(|| format!("{name}: report {id}: stored packets are damaged"))?;
    Ok(Some(Full { report, packets }))
}

/// [`super::Store::same_dump`] in either dialect.
pub fn same_dump(run: &mut Exec<'_>, name: &str, r: &NewReport) -> Result<Option<Full>, String> {
    let Some(held) = stored_of_dump(run, r, "sender = ?")? else {
        return Ok(None);
    };
    Ok(Some(Full {
        packets: packets_of(run, name, held.id)?,
        report: held,
    }))
}

/// The stored report `put` compares `r` with (without its packets): same boot id, sequence
/// number and reason, and the same machine or, when either of the two lacks the facts that
/// name the machine (its machine is its sender address), the same sender.
fn held_for_put(run: &mut Exec<'_>, r: &NewReport) -> Result<Option<Stored>, String> {
    let by_sender = if r.fields.machine == r.sender {
        "sender = ?"
    } else {
        "sender = ? AND machine = sender"
    };
    stored_of_dump(run, r, by_sender)
}

/// The stored report (without its packets) of the same boot id, sequence number and reason
/// as `r` and the same machine; else the one that matches `by_sender` (a condition with
/// `r`'s sender as its one parameter). Of several, the oldest.
fn stored_of_dump(
    run: &mut Exec<'_>,
    r: &NewReport,
    by_sender: &str,
) -> Result<Option<Stored>, String> {
    let f = &r.fields;
    let key = [
        Arg::Text(f.boot_id.clone()),
        Arg::Int(i64::from(f.seq)),
        Arg::Text(f.reason.clone()),
    ];
    // One plain condition per statement and no ORDER BY: an OR, or an ORDER BY id, leads
    // SQLite to scan the table (in id order) instead of searching the `reports_dump` index.
    let select = |cond: &str| {
        format!(
            "SELECT {COLUMNS} FROM reports WHERE boot_id = ? AND seq = ? AND reason = ? \
             AND {cond}"
        )
    };
    let oldest = |rows: Vec<Vec<Cell>>| -> Result<Option<Stored>, String> {
        let mut all = rows
            .iter()
            .map(|row| stored_from_row(&Row(row)))
            .collect::<Result<Vec<_>, _>>()?;
        all.sort_by_key(|s| s.id);
        Ok(all.into_iter().next())
    };
    let mut args = key.to_vec();
    args.push(Arg::Text(f.machine.clone()));
    if let Some(s) = oldest(run(&select("machine = ?"), &args)?)? {
        return Ok(Some(s));
    }
    let mut args = key.to_vec();
    args.push(Arg::Text(r.sender.clone()));
    oldest(run(&select(by_sender), &args)?)
}

/// The packets of stored report `id`.
fn packets_of(run: &mut Exec<'_>, name: &str, id: i64) -> Result<Vec<Vec<u8>>, String> {
    let rows = run("SELECT packets FROM reports WHERE id = ?", &[Arg::Int(id)])?;
    let blob = rows
        .first()
        .map(|r| Row(r).bytes(0))
        .transpose()?
        .ok_or_else(|| format!("{name}: report {id} went away while being merged"))?;
    unpack(&blob).ok_or_else(|| format!("{name}: report {id}: stored packets are damaged"))
}

/// [`super::Store::top`] in either dialect.
pub fn top(d: Dialect, run: &mut Exec<'_>, f: &Filter) -> Result<Vec<Bucket>, String> {
    let (w, params) = where_clause(d, f);
    let limit = f.limit.map(|l| format!(" LIMIT {l}")).unwrap_or_default();
    let sql = format!(
        "SELECT t.bucket, r.title, t.n, t.machines, t.kernels, t.first_ms, t.last_ms, t.last_id
         FROM (SELECT bucket, count(*) AS n, count(DISTINCT machine) AS machines,
                      count(DISTINCT kernel_release) AS kernels, min(received_ms) AS first_ms,
                      max(received_ms) AS last_ms, max(id) AS last_id
               FROM reports{w} GROUP BY bucket) AS t
         JOIN reports AS r ON r.id = t.last_id
         ORDER BY t.n DESC, t.last_ms DESC, t.bucket{limit}"
    );
    run(&sql, &params)?
        .iter()
        .map(|r| {
            let r = Row(r);
            Ok(Bucket {
                bucket: r.text(0)?,
                title: r.text(1)?,
                count: r.count(2)?,
                machines: r.count(3)?,
                kernels: r.count(4)?,
                first_ms: r.int(5)?,
                last_ms: r.int(6)?,
                last_id: r.int(7)?,
            })
        })
        .collect()
}

/// Whether report `a` holds more of its dump than `b`: more data packets, or as many and
/// more packets in all (parity).
fn more(a: (u32, usize), b: (u32, usize)) -> bool {
    a > b
}

/// The stored report as [`Stored`] of a [`NewReport`] stored under `id`.
fn as_stored(id: i64, r: &NewReport) -> Stored {
    Stored {
        id,
        received_ms: r.received_ms,
        first_packet_ms: r.first_packet_ms,
        sender: r.sender.clone(),
        fields: r.fields.clone(),
    }
}

/// Stores reports by the rules of [`super::Store::put`], inside a transaction the caller
/// opened (and commits); returns each report's state as stored now. With PostgreSQL the
/// dumps are first locked (`pg_advisory_xact_lock`, in a fixed order), so that receivers
/// storing parts of the same dump at once merge them one after the other.
pub fn put(
    d: Dialect,
    run: &mut Exec<'_>,
    name: &str,
    reports: &[NewReport],
) -> Result<Vec<Stored>, String> {
    if d == Dialect::Postgres && !reports.is_empty() {
        let mut keys: Vec<i64> = reports.iter().map(|r| dump_lock_key(&r.fields)).collect();
        keys.sort_unstable();
        keys.dedup();
        // One statement, the keys in increasing order (rows of VALUES are taken in order).
        let values: Vec<String> = keys.iter().map(|k| format!("({k})")).collect();
        run(
            &format!(
                "SELECT pg_advisory_xact_lock(k) FROM (VALUES {}) AS t(k)",
                values.join(", ")
            ),
            &[],
        )?;
    }
    // SQLite: RETURNING costs more than asking for the row id after.
    let insert = format!(
        "INSERT INTO reports ({WRITTEN}) VALUES ({}){}",
        vec!["?"; 31].join(", "),
        match d {
            Dialect::Sqlite => "",
            Dialect::Postgres => " RETURNING id",
        }
    );
    let update = format!(
        "UPDATE reports SET ({WRITTEN}) = ({}) WHERE id = ?",
        vec!["?"; 31].join(", ")
    );
    let mut out = Vec::with_capacity(reports.len());
    for r in reports {
        let Some(held) = held_for_put(run, r)? else {
            let mut rows = run(&insert, &report_args(d, r))?;
            if d == Dialect::Sqlite {
                rows = run("SELECT last_insert_rowid()", &[])?;
            }
            let id = rows
                .first()
                .map(|row| Row(row).int(0))
                .transpose()?
                .ok_or_else(|| format!("{name}: storing a report gave no id"))?;
            out.push(as_stored(id, r));
            continue;
        };
        let id = held.id;
        if held.fields.complete {
            out.push(held);
            continue;
        }
        let held = Full {
            packets: packets_of(run, name, id)?,
            report: held,
        };
        let size = |r: &NewReport| (r.fields.packets_received, r.packets.len());
        let held_size = (held.report.fields.packets_received, held.packets.len());
        // The union of both holds at least what the new report does, unless their packets
        // contradict each other or do not parse (never from one dump): then the fuller report
        // wins.
        let candidate = match merge(&held, r) {
            Some(m) if !more(size(r), size(&m)) => m,
            _ => {
                let mut m = r.clone();
                m.received_ms = held.report.received_ms;
                m.first_packet_ms = m.first_packet_ms.min(held.report.first_packet_ms);
                m
            }
        };
        let replacement = more(size(&candidate), held_size).then_some(candidate);
        match replacement {
            Some(m) => {
                let mut args = report_args(d, &m);
                args.push(Arg::Int(id));
                run(&update, &args)?;
                out.push(as_stored(id, &m));
            }
            None => out.push(held.report),
        }
    }
    Ok(out)
}

/// [`super::Store::prune`] in either dialect, inside a transaction the caller opened.
pub fn prune(
    d: Dialect,
    run: &mut Exec<'_>,
    before_ms: Option<i64>,
    max_bytes: Option<u64>,
) -> Result<u64, String> {
    let mut deleted = 0;
    if let Some(t) = before_ms {
        let rows = run(
            "DELETE FROM reports WHERE received_ms < ? RETURNING id",
            &[Arg::Int(t)],
        )?;
        deleted += rows.len() as u64;
    }
    if let Some(max) = max_bytes {
        let size = match d {
            Dialect::Sqlite => "length(packets) + length(CAST(log AS BLOB))",
            Dialect::Postgres => "octet_length(packets) + octet_length(log)",
        };
        let rows = run(
            &format!("SELECT id, {size} FROM reports ORDER BY received_ms DESC, id DESC"),
            &[],
        )?;
        let mut total: u64 = 0;
        for row in &rows {
            let row = Row(row);
            total += row.count(1)?;
            if total > max {
                run("DELETE FROM reports WHERE id = ?", &[Arg::Int(row.int(0)?)])?;
                deleted += 1;
            }
        }
    }
    Ok(deleted)
}

/// The advisory lock key of a dump: FNV-1a (64 bits) of its boot id, sequence number and
/// reason. The machine is left out: a part of a dump may lack the facts that name it.
pub fn dump_lock_key(f: &Fields) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let seq = f.seq.to_le_bytes();
    for part in [f.boot_id.as_bytes(), &seq[..], f.reason.as_bytes()] {
        for b in part.iter().chain(&[0xff]) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_outside_literals() {
        assert_eq!(
            Dialect::Postgres.placeholders("a = ? AND coalesce(b, '?') = ? OR c = ?"),
            "a = $1 AND coalesce(b, '?') = $2 OR c = $3"
        );
        assert_eq!(Dialect::Sqlite.placeholders("a = ?"), "a = ?");
    }

    #[test]
    fn lock_keys_differ_by_dump_and_not_by_machine() {
        let a = Fields {
            boot_id: "b".into(),
            seq: 1,
            reason: "oops".into(),
            machine: "m1".into(),
            ..Fields::default()
        };
        let b = Fields {
            machine: "10.0.0.1".into(),
            ..a.clone()
        };
        let c = Fields {
            seq: 2,
            ..a.clone()
        };
        assert_eq!(dump_lock_key(&a), dump_lock_key(&b));
        assert_ne!(dump_lock_key(&a), dump_lock_key(&c));
    }

    #[test]
    fn packs_and_unpacks() {
        assert_eq!(
            unpack(&pack(&vec![vec![1], vec![2, 3]].into())),
            Some(vec![vec![1], vec![2, 3]])
        );
        assert_eq!(unpack(&[5, 0, 0, 0, 1]), None);
        // A blob stored plain (before version 4) reads as it is.
        let plain = [1, 0, 0, 0, 1, 2, 0, 0, 0, 2, 3];
        assert_eq!(unpack(&plain), Some(vec![vec![1], vec![2, 3]]));
        // Packets are compressed: a dump of text takes a fraction of its size.
        let text: Vec<Vec<u8>> = (0..32)
            .map(|i| format!("[{i:5}.000000] eth0: link up, 1000 Mbps\n").repeat(30))
            .map(String::into_bytes)
            .collect();
        let blob = pack(&text.clone().into());
        let size: usize = text.iter().map(Vec::len).sum();
        assert!(
            blob.starts_with(b"NOZ1") && blob.len() < size / 4,
            "{}",
            blob.len()
        );
        assert_eq!(unpack(&blob), Some(text));
        // Damaged: cut short, or claiming more than LZ4 can expand to (nothing allocated).
        assert_eq!(unpack(&blob[..blob.len() - 1]), None);
        let mut huge = blob.clone();
        huge[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(unpack(&huge), None);
    }
}
