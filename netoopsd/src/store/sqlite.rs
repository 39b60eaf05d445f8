//! The default [`Store`]: one SQLite database file in WAL mode. A committed transaction
//! survives a kill of the collector (WAL with `synchronous=NORMAL` loses nothing on a
//! process crash; only an operating-system crash can cost the last transactions).

use std::path::Path;

use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, Connection, OpenFlags, OptionalExtension, Row};

use super::{Bucket, Fields, Filter, Full, NewReport, Store, Stored};

/// Schema version kept in `PRAGMA user_version`.
const SCHEMA_VERSION: i64 = 2;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS reports (
    id               INTEGER PRIMARY KEY,
    received_ms      INTEGER NOT NULL,
    first_packet_ms  INTEGER NOT NULL,
    sender           TEXT NOT NULL,
    boot_id          TEXT NOT NULL,
    seq              INTEGER NOT NULL,
    reason           TEXT NOT NULL,
    complete         INTEGER NOT NULL,
    packets_received INTEGER NOT NULL,
    packet_count     INTEGER NOT NULL,
    log_len          INTEGER NOT NULL,
    missing_log      TEXT NOT NULL,
    kernel_release   TEXT,
    kernel_version   TEXT,
    hostname         TEXT,
    arch             TEXT,
    cpu_vendor       TEXT,
    cpu_family       INTEGER,
    cpu_model        INTEGER,
    microcode        INTEGER,
    bios_vendor      TEXT,
    bios_version     TEXT,
    board_vendor     TEXT,
    board_name       TEXT,
    product_name     TEXT,
    dump_time        INTEGER,
    machine          TEXT NOT NULL,
    title            TEXT NOT NULL,
    bucket           TEXT NOT NULL,
    frames           TEXT NOT NULL,
    packets          BLOB NOT NULL,
    log              TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS reports_kernel ON reports(kernel_release);
CREATE INDEX IF NOT EXISTS reports_cpu ON reports(cpu_vendor, cpu_family, cpu_model);
CREATE INDEX IF NOT EXISTS reports_bios ON reports(bios_version);
CREATE INDEX IF NOT EXISTS reports_board ON reports(board_name);
CREATE INDEX IF NOT EXISTS reports_reason ON reports(reason);
CREATE INDEX IF NOT EXISTS reports_bucket ON reports(bucket, received_ms);
CREATE INDEX IF NOT EXISTS reports_time ON reports(received_ms);
CREATE INDEX IF NOT EXISTS reports_host ON reports(hostname);
CREATE INDEX IF NOT EXISTS reports_dump ON reports(boot_id, seq);
CREATE INDEX IF NOT EXISTS reports_machine ON reports(machine, boot_id);
CREATE INDEX IF NOT EXISTS reports_microcode ON reports(microcode);
CREATE INDEX IF NOT EXISTS reports_product ON reports(product_name);
";

pub(crate) const COLUMNS: &str =
    "id, received_ms, first_packet_ms, sender, boot_id, seq, reason, complete,
    packets_received, packet_count, log_len, missing_log, kernel_release, kernel_version,
    hostname, arch, cpu_vendor, cpu_family, cpu_model, bios_vendor, bios_version,
    board_vendor, board_name, product_name, dump_time, machine, title, bucket, frames,
    microcode";

/// A SQLite database of reports.
pub struct SqliteStore {
    conn: Connection,
    name: String,
}

impl SqliteStore {
    /// Opens (creating it if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, String> {
        let name = path.display().to_string();
        let conn =
            Connection::open(path).map_err(|e| format!("{name}: cannot open database: {e}"))?;
        Self::init(conn, name)
    }

    /// Opens an existing database at `path`; an error if there is none.
    pub fn open_existing(path: &Path) -> Result<Self, String> {
        let name = path.display().to_string();
        if !path.exists() {
            return Err(format!(
                "{name}: no such database (netoopsd listen creates it; see --db)"
            ));
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)
            .map_err(|e| format!("{name}: cannot open database: {e}"))?;
        Self::init(conn, name)
    }

    /// A database in memory (tests, fuzzing).
    pub fn in_memory() -> Result<Self, String> {
        let conn = Connection::open_in_memory().map_err(|e| format!(":memory:: {e}"))?;
        Self::init(conn, ":memory:".into())
    }

    fn init(conn: Connection, name: String) -> Result<Self, String> {
        let err = |e: rusqlite::Error| format!("{name}: {e}");
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(err)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| format!("{name}: not a netoopsd database: {e}"))?;
        if version > SCHEMA_VERSION {
            return Err(format!(
                "{name}: database schema version {version} is newer than this netoopsd ({SCHEMA_VERSION})"
            ));
        }
        if version == 0 {
            // A new database: freed pages are given back to the file system by
            // `PRAGMA incremental_vacuum` after pruning (see `prune`). This only takes while
            // the database has no table yet.
            let tables: i64 = conn
                .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
                .map_err(|e| format!("{name}: not a netoopsd database: {e}"))?;
            if tables == 0 {
                conn.execute_batch("PRAGMA auto_vacuum=INCREMENTAL;")
                    .map_err(err)?;
            }
        }
        let _: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(err)?;
        conn.execute_batch("PRAGMA synchronous=NORMAL;")
            .map_err(err)?;
        if version == 1 {
            migrate_v1(&conn).map_err(err)?;
        }
        if version < SCHEMA_VERSION {
            conn.execute_batch(SCHEMA).map_err(err)?;
            conn.execute_batch(&format!("PRAGMA user_version={SCHEMA_VERSION};"))
                .map_err(err)?;
        }
        Ok(SqliteStore { conn, name })
    }

    /// Whether freed pages are given back to the file system after pruning: true for a
    /// database created by this netoopsd (incremental auto-vacuum). A database created before
    /// keeps its size after pruning (SQLite keeps the freed pages and reuses them for new
    /// reports, so it does not grow past its largest size); `sqlite3 FILE 'PRAGMA
    /// auto_vacuum=INCREMENTAL; VACUUM;'`, with no collector running, converts it.
    pub fn shrinks(&self) -> Result<bool, String> {
        let mode: i64 = self
            .conn
            .query_row("PRAGMA auto_vacuum", [], |r| r.get(0))
            .map_err(self.err("reading auto_vacuum"))?;
        Ok(mode == 2)
    }

    /// The connection (for the query functions of [`super::stats`]).
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    fn err(&self, what: &str) -> impl Fn(rusqlite::Error) -> String + '_ {
        let what = what.to_string();
        move |e| format!("{}: {what}: {e}", self.name)
    }
}

/// Version 1 to 2: the `microcode` and `log` columns, filled from each report's stored
/// packets (its `CPU_ID` fact and received log).
fn migrate_v1(conn: &Connection) -> rusqlite::Result<()> {
    // Another process may be migrating the same file: take the write lock, then look again.
    conn.execute_batch("BEGIN IMMEDIATE;")?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version != 1 {
        return conn.execute_batch("COMMIT;");
    }
    conn.execute_batch(
        "ALTER TABLE reports ADD COLUMN microcode INTEGER;
         ALTER TABLE reports ADD COLUMN log TEXT NOT NULL DEFAULT '';",
    )?;
    let rows: Vec<(i64, String, Vec<u8>)> = {
        let mut st = conn.prepare("SELECT id, sender, packets FROM reports")?;
        let it = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        it.collect::<Result<_, _>>()?
    };
    {
        let mut up = conn.prepare("UPDATE reports SET microcode = ?1, log = ?2 WHERE id = ?3")?;
        for (id, sender, blob) in rows {
            let Some(d) = unpack(&blob).and_then(|p| {
                crate::reassembly::DumpState::from_packets(p.iter().map(Vec::as_slice), &sender)
            }) else {
                continue;
            };
            let log: Vec<String> = d
                .log_segments()
                .iter()
                .map(|s| crate::display::lossy(&s.bytes))
                .collect();
            up.execute(params![
                d.facts.cpu_id.map(|c| c.microcode),
                log.join("\n"),
                id
            ])?;
        }
    }
    conn.execute_batch("PRAGMA user_version=2; COMMIT;")
}

/// Packets as one blob: for each, a little-endian u32 length, then the bytes.
fn pack(packets: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(packets.iter().map(|p| p.len() + 4).sum());
    for p in packets {
        out.extend_from_slice(&(p.len() as u32).to_le_bytes());
        out.extend_from_slice(p);
    }
    out
}

fn unpack(blob: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut rest = blob;
    while !rest.is_empty() {
        let len = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
        out.push(rest.get(4..4 + len)?.to_vec());
        rest = &rest[4 + len..];
    }
    Some(out)
}

/// How many packets a [`pack`]ed blob holds.
fn packed_count(blob: &[u8]) -> usize {
    let (mut n, mut rest) = (0, blob);
    while let Some(len) = rest.get(..4) {
        let len = u32::from_le_bytes(len.try_into().expect("4 bytes")) as usize;
        rest = rest.get(4 + len..).unwrap_or_default();
        n += 1;
    }
    n
}

fn json_ranges(r: &[(u64, u64)]) -> String {
    serde_json::to_string(r).expect("ranges serialize")
}

pub(crate) fn row_to_stored(r: &Row<'_>) -> rusqlite::Result<Stored> {
    let missing: String = r.get(11)?;
    let frames: String = r.get(28)?;
    Ok(Stored {
        id: r.get(0)?,
        received_ms: r.get(1)?,
        first_packet_ms: r.get(2)?,
        sender: r.get(3)?,
        fields: Fields {
            boot_id: r.get(4)?,
            seq: r.get(5)?,
            reason: r.get(6)?,
            complete: r.get(7)?,
            packets_received: r.get(8)?,
            packet_count: r.get(9)?,
            log_len: r.get(10)?,
            missing_log: serde_json::from_str(&missing).unwrap_or_default(),
            kernel_release: r.get(12)?,
            kernel_version: r.get(13)?,
            hostname: r.get(14)?,
            arch: r.get(15)?,
            cpu_vendor: r.get(16)?,
            cpu_family: r.get(17)?,
            cpu_model: r.get(18)?,
            bios_vendor: r.get(19)?,
            bios_version: r.get(20)?,
            board_vendor: r.get(21)?,
            board_name: r.get(22)?,
            product_name: r.get(23)?,
            dump_time: r.get(24)?,
            machine: r.get(25)?,
            title: r.get(26)?,
            bucket: r.get(27)?,
            frames: serde_json::from_str(&frames).unwrap_or_default(),
            microcode: r.get(29)?,
        },
    })
}

/// `WHERE ...` and its parameters for a filter.
pub(crate) fn where_clause(f: &Filter) -> (String, Vec<SqlValue>) {
    let mut conds: Vec<&str> = Vec::new();
    let mut params: Vec<SqlValue> = Vec::new();
    let mut eq = |col: &'static str, v: &Option<String>| {
        if let Some(v) = v {
            conds.push(col);
            params.push(SqlValue::Text(v.clone()));
        }
    };
    eq("kernel_release = ?", &f.kernel);
    eq("cpu_vendor = ?", &f.cpu_vendor);
    eq("bios_version = ?", &f.bios);
    eq("board_name = ?", &f.board);
    eq("reason = ?", &f.reason);
    eq("hostname = ?", &f.host);
    eq("sender = ?", &f.sender);
    if let Some(b) = &f.bucket {
        conds.push("substr(bucket, 1, ?) = ?");
        params.push(SqlValue::Integer(b.chars().count() as i64));
        params.push(SqlValue::Text(b.clone()));
    }
    if let Some(t) = &f.title {
        conds.push("instr(lower(title), lower(?)) > 0");
        params.push(SqlValue::Text(t.clone()));
    }
    for (col, v) in [
        ("cpu_family = ?", f.cpu_family),
        ("cpu_model = ?", f.cpu_model),
    ] {
        if let Some(v) = v {
            conds.push(col);
            params.push(SqlValue::Integer(i64::from(v)));
        }
    }
    if let Some(c) = f.complete {
        conds.push("complete = ?");
        params.push(SqlValue::Integer(i64::from(c)));
    }
    if let Some(t) = f.since_ms {
        conds.push("received_ms >= ?");
        params.push(SqlValue::Integer(t));
    }
    if let Some(t) = f.until_ms {
        conds.push("received_ms < ?");
        params.push(SqlValue::Integer(t));
    }
    let mut sql = String::new();
    for (i, c) in conds.iter().enumerate() {
        sql.push_str(if i == 0 { " WHERE " } else { " AND " });
        sql.push_str(c);
    }
    (sql, params)
}

impl Store for SqliteStore {
    fn put(&mut self, reports: &[NewReport]) -> Result<Vec<i64>, String> {
        let name = self.name.clone();
        let err = |e: rusqlite::Error| format!("{name}: storing reports: {e}");
        let tx = self.conn.transaction().map_err(err)?;
        let mut ids = Vec::with_capacity(reports.len());
        {
            let mut st = tx
                .prepare_cached(
                    "INSERT INTO reports (received_ms, first_packet_ms, sender, boot_id, seq,
                     reason, complete, packets_received, packet_count, log_len, missing_log,
                     kernel_release, kernel_version, hostname, arch, cpu_vendor, cpu_family,
                     cpu_model, bios_vendor, bios_version, board_vendor, board_name,
                     product_name, dump_time, machine, title, bucket, frames, packets, microcode,
                     log)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,
                     ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30,
                     ?31)",
                )
                .map_err(err)?;
            let mut same = tx
                .prepare_cached(
                    "SELECT id, complete, packets_received, received_ms, packets FROM reports
                     WHERE boot_id = ?1 AND seq = ?2 AND reason = ?3 AND machine = ?4
                     ORDER BY id LIMIT 1",
                )
                .map_err(err)?;
            for r in reports {
                let f = &r.fields;
                let held: Option<(i64, bool, i64, i64, usize)> = same
                    .query_row(params![f.boot_id, f.seq, f.reason, f.machine], |row| {
                        let blob: Vec<u8> = row.get(4)?;
                        Ok((
                            row.get(0)?,
                            row.get(1)?,
                            row.get(2)?,
                            row.get(3)?,
                            packed_count(&blob),
                        ))
                    })
                    .optional()
                    .map_err(err)?;
                if let Some((id, complete, received, _, held_packets)) = held {
                    ids.push(id);
                    // More of the dump: more of its data packets, or as many and more parity.
                    let more =
                        (i64::from(f.packets_received), r.packets.len()) > (received, held_packets);
                    if complete || !more {
                        continue;
                    }
                    // More of the dump than the stored report: it takes its place (and id).
                    tx.execute("DELETE FROM reports WHERE id = ?1", [id])
                        .map_err(err)?;
                }
                st.execute(params![
                    r.received_ms,
                    r.first_packet_ms,
                    r.sender,
                    f.boot_id,
                    f.seq,
                    f.reason,
                    f.complete,
                    f.packets_received,
                    f.packet_count,
                    f.log_len,
                    json_ranges(&f.missing_log),
                    f.kernel_release,
                    f.kernel_version,
                    f.hostname,
                    f.arch,
                    f.cpu_vendor,
                    f.cpu_family,
                    f.cpu_model,
                    f.bios_vendor,
                    f.bios_version,
                    f.board_vendor,
                    f.board_name,
                    f.product_name,
                    f.dump_time,
                    f.machine,
                    f.title,
                    f.bucket,
                    serde_json::to_string(&f.frames).expect("frames serialize"),
                    pack(&r.packets),
                    f.microcode,
                    r.log,
                ])
                .map_err(err)?;
                match held {
                    Some((id, _, _, first_stored_ms, _)) => {
                        tx.execute(
                            "UPDATE reports SET id = ?1, received_ms = ?2 WHERE id = ?3",
                            params![id, first_stored_ms, tx.last_insert_rowid()],
                        )
                        .map_err(err)?;
                    }
                    None => ids.push(tx.last_insert_rowid()),
                }
            }
        }
        tx.commit().map_err(err)?;
        Ok(ids)
    }

    fn prune(&mut self, before_ms: Option<i64>, max_bytes: Option<u64>) -> Result<u64, String> {
        let name = self.name.clone();
        let err = |e: rusqlite::Error| format!("{name}: pruning reports: {e}");
        let tx = self.conn.transaction().map_err(err)?;
        let mut n = 0;
        if let Some(before) = before_ms {
            n += tx
                .execute("DELETE FROM reports WHERE received_ms < ?1", [before])
                .map_err(err)?;
        }
        if let Some(max) = max_bytes {
            // Newest first, a running sum of their bytes: every report past `max` goes.
            n += tx
                .execute(
                    "DELETE FROM reports WHERE id IN (
                         SELECT id FROM (
                             SELECT id, sum(length(packets) + octet_length(log)) OVER (
                                 ORDER BY received_ms DESC, id DESC ROWS UNBOUNDED PRECEDING
                             ) AS upto
                             FROM reports)
                         WHERE upto > ?1)",
                    [i64::try_from(max).unwrap_or(i64::MAX)],
                )
                .map_err(err)?;
        }
        tx.commit().map_err(err)?;
        if n > 0 {
            // Give the freed pages back (incremental auto-vacuum; a no-op for a database made
            // without it, see `shrinks`), then checkpoint so that the file itself shrinks and
            // the write-ahead log is emptied.
            // (Each step of the statement frees a page: run it to the end.)
            let mut st = self
                .conn
                .prepare("PRAGMA incremental_vacuum")
                .map_err(err)?;
            let mut rows = st.query([]).map_err(err)?;
            while rows.next().map_err(err)?.is_some() {}
            drop(rows);
            drop(st);
            let _: i64 = self
                .conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
                .map_err(err)?;
        }
        Ok(n as u64)
    }

    fn list(&self, f: &Filter) -> Result<Vec<Stored>, String> {
        let (w, params) = where_clause(f);
        let limit = f.limit.map(|l| format!(" LIMIT {l}")).unwrap_or_default();
        let sql = format!("SELECT {COLUMNS} FROM reports{w} ORDER BY id DESC{limit}");
        let mut st = self
            .conn
            .prepare(&sql)
            .map_err(self.err("listing reports"))?;
        let rows = st
            .query_map(params_from_iter(params), row_to_stored)
            .map_err(self.err("listing reports"))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(self.err("listing reports"))
    }

    fn get(&self, id: i64) -> Result<Option<Full>, String> {
        let sql = format!("SELECT {COLUMNS}, packets FROM reports WHERE id = ?");
        let mut st = self
            .conn
            .prepare(&sql)
            .map_err(self.err("reading a report"))?;
        let mut rows = st.query([id]).map_err(self.err("reading a report"))?;
        let Some(row) = rows.next().map_err(self.err("reading a report"))? else {
            return Ok(None);
        };
        let report = row_to_stored(row).map_err(self.err("reading a report"))?;
        let blob: Vec<u8> = row.get(30).map_err(self.err("reading a report"))?;
        let packets = unpack(&blob)
            .ok_or_else(|| format!("{}: report {id}: stored packets are damaged", self.name))?;
        Ok(Some(Full { report, packets }))
    }

    fn same_dump(&self, r: &NewReport) -> Result<Option<Full>, String> {
        let f = &r.fields;
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT id FROM reports
                 WHERE boot_id = ?1 AND seq = ?2 AND reason = ?3 AND (machine = ?4 OR sender = ?5)
                 ORDER BY machine = ?4 DESC, id LIMIT 1",
            )
            .map_err(self.err("looking up a dump"))?;
        let id: Option<i64> = st
            .query_row(
                params![f.boot_id, f.seq, f.reason, f.machine, r.sender],
                |row| row.get(0),
            )
            .optional()
            .map_err(self.err("looking up a dump"))?;
        match id {
            Some(id) => self.get(id),
            None => Ok(None),
        }
    }

    fn top(&self, f: &Filter) -> Result<Vec<Bucket>, String> {
        let (w, params) = where_clause(f);
        let limit = f.limit.map(|l| format!(" LIMIT {l}")).unwrap_or_default();
        let sql = format!(
            "SELECT t.bucket, r.title, t.n, t.machines, t.kernels, t.first_ms, t.last_ms, t.last_id
             FROM (SELECT bucket, count(*) AS n, count(DISTINCT machine) AS machines,
                          count(DISTINCT kernel_release) AS kernels, min(received_ms) AS first_ms,
                          max(received_ms) AS last_ms, max(id) AS last_id
                   FROM reports{w} GROUP BY bucket) AS t
             JOIN reports AS r ON r.id = t.last_id
             ORDER BY t.n DESC, t.last_ms DESC{limit}"
        );
        let mut st = self
            .conn
            .prepare(&sql)
            .map_err(self.err("ranking buckets"))?;
        let rows = st
            .query_map(params_from_iter(params), |r| {
                Ok(Bucket {
                    bucket: r.get(0)?,
                    title: r.get(1)?,
                    count: r.get::<_, i64>(2)? as u64,
                    machines: r.get::<_, i64>(3)? as u64,
                    kernels: r.get::<_, i64>(4)? as u64,
                    first_ms: r.get(5)?,
                    last_ms: r.get(6)?,
                    last_id: r.get(7)?,
                })
            })
            .map_err(self.err("ranking buckets"))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(self.err("ranking buckets"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(i: i64, bucket: &str, machine: &str, kernel: &str) -> NewReport {
        NewReport {
            received_ms: 1_000 * i,
            first_packet_ms: 1_000 * i - 5,
            sender: "127.0.0.1".into(),
            fields: Fields {
                boot_id: format!("boot-{i}"),
                seq: i as u32,
                reason: if i % 2 == 0 { "oops" } else { "panic" }.into(),
                complete: i != 3,
                packets_received: 3,
                packet_count: 3 + u32::from(i == 3),
                log_len: 100,
                missing_log: if i == 3 { vec![(10, 20)] } else { vec![] },
                kernel_release: Some(kernel.into()),
                hostname: Some(machine.into()),
                cpu_vendor: Some("GenuineIntel".into()),
                cpu_family: Some(6),
                cpu_model: Some(85 + i as u32 % 2),
                bios_version: Some("1.16".into()),
                board_name: Some("B1".into()),
                machine: machine.into(),
                title: format!("title of {bucket}"),
                bucket: bucket.into(),
                frames: vec!["f".into(), "g".into()],
                ..Fields::default()
            },
            packets: vec![vec![1, 2, 3], vec![], vec![9; 1460]],
            log: format!("log of {bucket}"),
        }
    }

    #[test]
    fn a_dump_already_stored_is_not_stored_twice() {
        let mut s = SqliteStore::in_memory().unwrap();
        let ids = s
            .put(&[report(1, "a", "m1", "7.3"), report(3, "b", "m1", "7.3")])
            .unwrap();
        assert_eq!(ids, vec![1, 2]);
        // A replay of both, later: same ids, nothing new stored.
        let again = s
            .put(&[report(1, "a", "m1", "7.3"), report(3, "b", "m1", "7.3")])
            .unwrap();
        assert_eq!(again, vec![1, 2]);
        assert_eq!(s.list(&Filter::default()).unwrap().len(), 2);
        // More of the partial dump (report 3): it replaces the stored one, same id.
        let mut fuller = report(3, "b", "m1", "7.3");
        fuller.fields.packets_received = 4;
        fuller.fields.complete = true;
        fuller.fields.missing_log = vec![];
        assert_eq!(s.put(&[fuller]).unwrap(), vec![2]);
        let all = s.list(&Filter::default()).unwrap();
        assert_eq!(all.len(), 2);
        let two = all.iter().find(|r| r.id == 2).unwrap();
        assert!(two.fields.complete);
        assert_eq!(two.fields.packets_received, 4);
        // The same boot id and sequence number from another machine is another dump.
        assert_eq!(s.put(&[report(1, "a", "m2", "7.3")]).unwrap(), vec![3]);
    }

    #[test]
    fn a_partial_report_is_replaced_by_one_with_as_many_data_packets_and_more_parity() {
        let mut s = SqliteStore::in_memory().unwrap();
        let partial = report(3, "b", "m1", "7.3");
        let id = s.put(std::slice::from_ref(&partial)).unwrap();
        // The same data packets plus a parity packet (not counted as received): it may
        // recover a missing one later, so it is kept.
        let mut more = partial.clone();
        more.packets.push(vec![7; 100]);
        assert_eq!(s.put(std::slice::from_ref(&more)).unwrap(), id);
        assert_eq!(s.get(id[0]).unwrap().unwrap().packets, more.packets);
        // Fewer packets in all do not replace it.
        assert_eq!(s.put(&[partial]).unwrap(), id);
        assert_eq!(s.get(id[0]).unwrap().unwrap().packets, more.packets);
        assert_eq!(s.list(&Filter::default()).unwrap().len(), 1);
    }

    #[test]
    fn put_list_get_top_with_filters() {
        let mut s = SqliteStore::in_memory().unwrap();
        let ids = s
            .put(&[
                report(1, "aaaa1111", "m1", "7.3"),
                report(2, "aaaa1111", "m2", "7.3"),
                report(3, "bbbb2222", "m1", "7.4"),
                report(4, "aaaa1111", "m1", "7.4"),
            ])
            .unwrap();
        assert_eq!(ids, vec![1, 2, 3, 4]);
        let all = s.list(&Filter::default()).unwrap();
        assert_eq!(
            all.iter().map(|r| r.id).collect::<Vec<_>>(),
            vec![4, 3, 2, 1]
        );
        assert_eq!(all[1].fields.missing_log, vec![(10, 20)]);
        assert_eq!(all[1].fields.frames, vec!["f", "g"]);
        let f = |f: Filter| s.list(&f).unwrap().iter().map(|r| r.id).collect::<Vec<_>>();
        assert_eq!(
            f(Filter {
                kernel: Some("7.4".into()),
                ..Filter::default()
            }),
            vec![4, 3]
        );
        assert_eq!(
            f(Filter {
                bucket: Some("bbbb".into()),
                ..Filter::default()
            }),
            vec![3]
        );
        assert_eq!(
            f(Filter {
                title: Some("OF AAAA".into()),
                ..Filter::default()
            }),
            vec![4, 2, 1]
        );
        assert_eq!(
            f(Filter {
                reason: Some("panic".into()),
                cpu_model: Some(86),
                ..Filter::default()
            }),
            vec![3, 1]
        );
        assert_eq!(
            f(Filter {
                complete: Some(false),
                ..Filter::default()
            }),
            vec![3]
        );
        assert_eq!(
            f(Filter {
                since_ms: Some(2000),
                until_ms: Some(4000),
                ..Filter::default()
            }),
            vec![3, 2]
        );
        assert_eq!(
            f(Filter {
                limit: Some(1),
                ..Filter::default()
            }),
            vec![4]
        );
        assert_eq!(
            f(Filter {
                board: Some("nope".into()),
                ..Filter::default()
            }),
            Vec::<i64>::new()
        );

        let full = s.get(3).unwrap().unwrap();
        assert_eq!(full.packets, vec![vec![1, 2, 3], vec![], vec![9; 1460]]);
        assert_eq!(full.report.fields.kernel_release.as_deref(), Some("7.4"));
        assert!(s.get(99).unwrap().is_none());

        let top = s.top(&Filter::default()).unwrap();
        assert_eq!(top.len(), 2);
        assert_eq!(
            (
                top[0].bucket.as_str(),
                top[0].count,
                top[0].machines,
                top[0].kernels
            ),
            ("aaaa1111", 3, 2, 2)
        );
        assert_eq!(
            (top[0].first_ms, top[0].last_ms, top[0].last_id),
            (1000, 4000, 4)
        );
        assert_eq!(top[1].count, 1);
        let top74 = s
            .top(&Filter {
                kernel: Some("7.4".into()),
                ..Filter::default()
            })
            .unwrap();
        assert_eq!(
            top74.iter().map(|b| b.count).collect::<Vec<_>>(),
            vec![1, 1]
        );
    }

    #[test]
    fn version_1_databases_gain_microcode_and_log() {
        use netoops_codec::wire::{CpuId, Dump, DumpFacts, Reason};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.db");
        let v1 = SCHEMA
            .replace("    microcode        INTEGER,\n", "")
            .replace(",\n    log              TEXT NOT NULL DEFAULT ''", "")
            .replace(
                "CREATE INDEX IF NOT EXISTS reports_microcode ON reports(microcode);\n",
                "",
            );
        assert!(!v1.contains("microcode") && !v1.contains(" log "));
        let packets = crate::encode::encode_dump(
            Dump {
                boot_id: [7; 16],
                seq: 0,
                reason: Reason::Oops,
                facts: DumpFacts {
                    cpu_id: Some(CpuId {
                        family: 6,
                        model: 85,
                        stepping: 4,
                        microcode: 0x0200_0065,
                    }),
                    ..DumpFacts::empty()
                },
                log: b"BUG: kernel NULL pointer dereference, address: 0000000000000008\n",
                log_truncated: false,
            },
            1460,
        )
        .unwrap();
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch(&v1).unwrap();
            c.execute_batch("PRAGMA user_version=1;").unwrap();
            c.execute(
                "INSERT INTO reports (received_ms, first_packet_ms, sender, boot_id, seq, reason,
                 complete, packets_received, packet_count, log_len, missing_log, machine, title,
                 bucket, frames, packets) VALUES (1, 1, '10.0.0.1', 'b', 0, 'oops', 1, 1, 1, 10,
                 '[]', 'm', 't', 'x', '[]', ?1)",
                [pack(&packets)],
            )
            .unwrap();
        }
        let s = SqliteStore::open_existing(&path).unwrap();
        let v: i64 = s
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, 2);
        let r = &s.list(&Filter::default()).unwrap()[0];
        assert_eq!(r.fields.microcode, Some(0x0200_0065));
        let log: String = s
            .conn
            .query_row("SELECT log FROM reports", [], |r| r.get(0))
            .unwrap();
        assert!(log.starts_with("BUG: kernel NULL pointer"), "{log}");
        drop(s);
        // Opening again changes nothing.
        let s = SqliteStore::open_existing(&path).unwrap();
        assert_eq!(s.list(&Filter::default()).unwrap().len(), 1);
    }

    #[test]
    fn files_reopen_and_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.db");
        let e = SqliteStore::open_existing(&path).err().unwrap();
        assert!(
            e.starts_with(&format!("{}: no such database", path.display())),
            "{e}"
        );
        SqliteStore::open(&path)
            .unwrap()
            .put(&[report(1, "b", "m", "k")])
            .unwrap();
        let s = SqliteStore::open_existing(&path).unwrap();
        assert_eq!(s.list(&Filter::default()).unwrap().len(), 1);
        let junk = dir.path().join("junk.db");
        std::fs::write(&junk, vec![b'x'; 4096]).unwrap();
        let e = SqliteStore::open_existing(&junk).err().unwrap();
        assert!(e.starts_with(&format!("{}:", junk.display())), "{e}");
        assert_eq!(
            unpack(&pack(&[vec![1], vec![2, 3]])),
            Some(vec![vec![1], vec![2, 3]])
        );
        assert_eq!(unpack(&[5, 0, 0, 0, 1]), None);
    }

    #[test]
    fn prune_deletes_old_then_oldest_reports_and_the_file_shrinks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.db");
        let mut s = SqliteStore::open(&path).unwrap();
        assert!(s.shrinks().unwrap());
        // 300 reports of 20,000 bytes of packets and 1,000 of log, stored at 1 s, 2 s, ...
        for i in 1..=300 {
            let mut r = report(i, "b", "m", "k");
            r.packets = vec![vec![i as u8; 20_000]];
            r.log = "é".repeat(500);
            s.put(&[r]).unwrap();
        }
        let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
        let wal = dir.path().join("p.db-wal");
        s.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                r.get::<_, i64>(0)
            })
            .unwrap();
        let before = size(&path);
        assert!(before > 300 * 21_000, "{before}");
        // Nothing to do: nothing deleted.
        assert_eq!(s.prune(Some(0), Some(u64::MAX)).unwrap(), 0);
        // Stored before 51 s: the first 50.
        assert_eq!(s.prune(Some(51_000), None).unwrap(), 50);
        let left = s.list(&Filter::default()).unwrap();
        assert_eq!(left.len(), 250);
        assert_eq!(left.last().unwrap().received_ms, 51_000);
        // At most 1 MB: the newest 47 (each holds 20,000 + 1,000 bytes, the log counted in
        // bytes, not characters).
        assert_eq!(s.prune(None, Some(1_000_000)).unwrap(), 250 - 47);
        let left = s.list(&Filter::default()).unwrap();
        assert_eq!(left.len(), 47);
        assert_eq!(left.last().unwrap().received_ms, 254_000);
        assert_eq!(left[0].received_ms, 300_000);
        let after = size(&path) + size(&wal);
        assert!(
            after < 1_300_000 && after * 4 < before,
            "{before} bytes before, {after} after"
        );
        // A database that had tables before netoopsd first opened it has no incremental
        // auto-vacuum, and says so.
        let old = dir.path().join("old.db");
        let c = Connection::open(&old).unwrap();
        c.execute_batch("CREATE TABLE t (x);").unwrap();
        drop(c);
        assert!(!SqliteStore::open(&old).unwrap().shrinks().unwrap());
    }
}
