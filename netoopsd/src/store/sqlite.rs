//! The default [`Store`]: one SQLite database file in WAL mode. A committed transaction
//! survives a kill of the collector (WAL with `synchronous=NORMAL` loses nothing on a
//! process crash; only an operating-system crash can cost the last transactions).

use std::path::Path;

use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::{params, params_from_iter, Connection, OpenFlags, TransactionBehavior};

use super::checkpoint::Checkpointer;
#[cfg(test)]
use super::sql::pack;
use super::sql::{self, unpack, Arg, Cell, Dialect};
use super::stats::Stats;
use super::{Bucket, Filter, Full, NewReport, Store, Stored};

/// Page cache of each connection (SQLite's default is 2 MB): a batch of reports (256 of
/// about 10 KiB) and the index pages it touches (a dozen indexes, some keyed at random) fit,
/// so a transaction neither spills its pages to the log before it commits nor reads back
/// the pages it just evicted. The cache only grows to the pages used.
const CACHE_BYTES: usize = 32 << 20;

/// Schema version kept in `PRAGMA user_version`.
const SCHEMA_VERSION: i64 = 4;

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

/// A SQLite database of reports.
pub struct SqliteStore {
    /// Checkpoints of a file database's log (declared first: stopped before `conn` closes,
    /// so that closing the last connection checkpoints what is left and removes the log).
    checkpointer: Option<Checkpointer>,
    conn: Connection,
    name: String,
}

impl SqliteStore {
    /// Opens (creating it if needed) the database at `path` for storing: its log is
    /// checkpointed by a thread of its own (see [`Checkpointer`]).
    pub fn open(path: &Path) -> Result<Self, String> {
        let name = path.display().to_string();
        let conn =
            Connection::open(path).map_err(|e| format!("{name}: cannot open database: {e}"))?;
        let mut store = Self::init(conn, name)?;
        store.checkpointer = Some(Checkpointer::attach(&mut store.conn, path, &store.name)?);
        Ok(store)
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
        register_log_function(&conn).map_err(err)?;
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
        conn.execute_batch(&format!("PRAGMA cache_size=-{};", CACHE_BYTES / 1024))
            .map_err(err)?;
        if version == 1 {
            migrate_v1(&conn).map_err(err)?;
        }
        if version < SCHEMA_VERSION {
            conn.execute_batch(SCHEMA).map_err(err)?;
            conn.execute_batch(&format!("PRAGMA user_version={SCHEMA_VERSION};"))
                .map_err(err)?;
        }
        Ok(SqliteStore {
            checkpointer: None,
            conn,
            name,
        })
    }
}

/// `netoops_log(log, packets)`: a report's received log as text, `log` when it is stored
/// there (schema 2, or a report whose packets do not hold it), else rebuilt from the packets
/// (schema 3 stores a receiver's log only there; see [`Dialect::log`]).
fn register_log_function(conn: &Connection) -> rusqlite::Result<()> {
    use rusqlite::functions::FunctionFlags;
    conn.create_scalar_function(
        "netoops_log",
        2,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            Ok(match (ctx.get_raw(0), ctx.get_raw(1)) {
                (ValueRef::Text(t), _) if !t.is_empty() => String::from_utf8_lossy(t).into_owned(),
                (_, ValueRef::Blob(b)) => super::log_of_packed(b),
                _ => String::new(),
            })
        },
    )
}

/// Runs one statement on `conn`: its rows as [`Cell`]s.
fn run(conn: &Connection, sql: &str, args: &[Arg]) -> rusqlite::Result<Vec<Vec<Cell>>> {
    use rusqlite::types::ToSqlOutput;
    // Borrowed: a report's packets are not copied again to be bound.
    let values = args.iter().map(|a| match a {
        Arg::Null => ToSqlOutput::Owned(SqlValue::Null),
        Arg::Int(v) => ToSqlOutput::Owned(SqlValue::Integer(*v)),
        Arg::Bool(v) => ToSqlOutput::Owned(SqlValue::Integer(i64::from(*v))),
        Arg::Text(v) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
        Arg::Bytes(v) => ToSqlOutput::Borrowed(ValueRef::Blob(v)),
    });
    let mut st = conn.prepare_cached(sql)?;
    let n = st.column_count();
    let mut rows = st.query(params_from_iter(values))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut cells = Vec::with_capacity(n);
        for i in 0..n {
            cells.push(match row.get_ref(i)? {
                ValueRef::Null => Cell::Null,
                ValueRef::Integer(v) => Cell::Int(v),
                ValueRef::Real(v) => Cell::Real(v),
                ValueRef::Text(v) => Cell::Text(String::from_utf8_lossy(v).into_owned()),
                ValueRef::Blob(v) => Cell::Bytes(v.to_vec()),
            });
        }
        out.push(cells);
    }
    Ok(out)
}

impl SqliteStore {
    /// A statement runner for the shared SQL of [`sql`], on `conn`; errors name the database
    /// and `what` was being done.
    fn runner<'a>(
        conn: &'a Connection,
        name: &'a str,
        what: &'a str,
    ) -> impl FnMut(&str, &[Arg]) -> Result<Vec<Vec<Cell>>, String> + 'a {
        move |q, args| run(conn, q, args).map_err(|e| format!("{name}: {what}: {e}"))
    }
}

impl Stats for SqliteStore {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn query(&self, what: &str, q: &str, args: &[Arg]) -> Result<Vec<Vec<Cell>>, String> {
        run(&self.conn, q, args).map_err(|e| format!("{}: {what}: {e}", self.name))
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
            let log = super::log_text(&d, d.log_segments()).unwrap_or_default();
            up.execute(params![d.facts.cpu_id.map(|c| c.microcode), log, id])?;
        }
    }
    conn.execute_batch("PRAGMA user_version=2; COMMIT;")
}

impl Store for SqliteStore {
    /// Whether freed pages are given back to the file system after pruning: true for a
    /// database created by this netoopsd (incremental auto-vacuum). A database created before
    /// keeps its size after pruning (SQLite keeps the freed pages and reuses them for new
    /// reports, so it does not grow past its largest size); `sqlite3 FILE 'PRAGMA
    /// auto_vacuum=INCREMENTAL; VACUUM;'`, with no collector running, converts it.
    fn shrinks(&self) -> Result<bool, String> {
        let mode: i64 = self
            .conn
            .query_row("PRAGMA auto_vacuum", [], |r| r.get(0))
            .map_err(|e| format!("{}: reading auto_vacuum: {e}", self.name))?;
        Ok(mode == 2)
    }

    fn put_stored(&mut self, reports: &[NewReport]) -> Result<Vec<Stored>, String> {
        let name = self.name.clone();
        // IMMEDIATE: another process writing the same file waits for the write lock before
        // this one reads the stored report it merges with.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| format!("{name}: storing reports: {e}"))?;
        let stored = sql::put(
            Dialect::Sqlite,
            &mut Self::runner(&tx, &name, "storing reports"),
            &name,
            reports,
        )?;
        tx.commit()
            .map_err(|e| format!("{name}: storing reports: {e}"))?;
        Ok(stored)
    }

    fn list(&self, f: &Filter) -> Result<Vec<Stored>, String> {
        sql::list(
            Dialect::Sqlite,
            &mut Self::runner(&self.conn, &self.name, "listing reports"),
            f,
        )
    }

    fn get(&self, id: i64) -> Result<Option<Full>, String> {
        sql::get(
            &mut Self::runner(&self.conn, &self.name, "reading a report"),
            &self.name,
            id,
        )
    }

    fn same_dump(&self, r: &NewReport) -> Result<Option<Full>, String> {
        sql::same_dump(
            &mut Self::runner(&self.conn, &self.name, "looking up a dump"),
            &self.name,
            r,
        )
    }

    fn top(&self, f: &Filter) -> Result<Vec<Bucket>, String> {
        sql::top(
            Dialect::Sqlite,
            &mut Self::runner(&self.conn, &self.name, "ranking buckets"),
            f,
        )
    }

    fn prune(&mut self, before_ms: Option<i64>, max_bytes: Option<u64>) -> Result<u64, String> {
        let name = self.name.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| format!("{name}: pruning reports: {e}"))?;
        let n = sql::prune(
            Dialect::Sqlite,
            &mut Self::runner(&tx, &name, "pruning reports"),
            before_ms,
            max_bytes,
        )?;
        tx.commit()
            .map_err(|e| format!("{name}: pruning reports: {e}"))?;
        if n > 0 {
            // Give the freed pages back (incremental auto-vacuum; a no-op for a database made
            // without it, see `shrinks`), then checkpoint so that the file itself shrinks and
            // the write-ahead log is emptied. Each step of the statement frees a page: run it
            // to the end.
            let err = |e: rusqlite::Error| format!("{name}: pruning reports: {e}");
            let mut st = self
                .conn
                .prepare("PRAGMA incremental_vacuum")
                .map_err(err)?;
            let mut rows = st.query([]).map_err(err)?;
            while rows.next().map_err(err)?.is_some() {}
            drop(rows);
            drop(st);
            let _exclusive = self.checkpointer.as_ref().map(Checkpointer::exclusive);
            let _: i64 = self
                .conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
                .map_err(err)?;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Fields;

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
            packets: vec![vec![1, 2, 3], vec![], vec![9; 1460]].into(),
            log: format!("log of {bucket}"),
            log_in_packets: false,
            packed: None,
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
        more.packets.push(&[7; 100]);
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
                [pack(&packets.clone().into())],
            )
            .unwrap();
        }
        let s = SqliteStore::open_existing(&path).unwrap();
        let v: i64 = s
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
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

    /// A receiver's report keeps its log only in its packets (schema 3); the free-text
    /// search still finds what the log says, of a complete dump and of the received part of
    /// a partial one, and of a report stored with its log (schema 2) as before.
    #[test]
    fn a_receivers_log_is_stored_once_and_still_searched() {
        use crate::live::Finished;
        use crate::reassembly::DumpState;
        use crate::store::stats::{Query, Stats};
        use netoops_codec::wire::{Dump, DumpFacts, Reason};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("once.db");
        let mut s = SqliteStore::open(&path).unwrap();
        let mut reports = Vec::new();
        for (i, word) in ["xyzzy_complete", "plugh_partial"].iter().enumerate() {
            let log = format!(
                "{}BUG: kernel NULL pointer dereference in {word}\n",
                "boot line\n".repeat(400)
            );
            let mut packets = crate::encode::encode_dump(
                Dump {
                    boot_id: [i as u8 + 1; 16],
                    seq: 0,
                    reason: Reason::Oops,
                    facts: DumpFacts::empty(),
                    log: log.as_bytes(),
                    log_truncated: false,
                },
                1200,
            )
            .unwrap();
            if i == 1 {
                packets.remove(1);
            }
            let t = std::time::SystemTime::now();
            let f = Finished {
                sender: "10.0.0.1".parse().unwrap(),
                dump: DumpState::from_packets(packets.iter().map(Vec::as_slice), "t").unwrap(),
                first_seen: t,
                last_seen: t,
            };
            assert_eq!(f.dump.is_complete(), i == 0);
            reports.push(NewReport::from_finished(&f, t));
        }
        reports.push(report(9, "stored_log", "m", "6.1"));
        s.put(&reports).unwrap();
        let logs: Vec<String> = {
            let mut st = s
                .conn
                .prepare("SELECT log FROM reports ORDER BY id")
                .unwrap();
            let it = st.query_map([], |r| r.get(0)).unwrap();
            it.collect::<Result<_, _>>().unwrap()
        };
        assert_eq!(logs, ["", "", "log of stored_log"]);
        let found = |text: &str| {
            let q = Query {
                text: Some(text.into()),
                ..Query::default()
            };
            let mut ids: Vec<i64> = s.reports(&q, 10).unwrap().iter().map(|r| r.id).collect();
            ids.sort_unstable();
            ids
        };
        assert_eq!(found("XYZZY_complete"), [1]);
        assert_eq!(found("plugh_partial"), [2]);
        assert_eq!(found("boot line"), [1, 2]);
        assert_eq!(found("log of stored"), [3]);
        assert!(found("not in any log").is_empty());
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
            unpack(&pack(&vec![vec![1], vec![2, 3]].into())),
            Some(vec![vec![1], vec![2, 3]])
        );
        assert_eq!(unpack(&[5, 0, 0, 0, 1]), None);
    }

    /// `n` bytes that do not compress (packets are stored compressed), different for each
    /// `seed`.
    fn noise(seed: i64, n: usize) -> Vec<u8> {
        let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ seed as u64;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    /// The storing connection leaves its log to the checkpointing thread: what it commits
    /// reaches the database file while it is still open, though the log stays below
    /// SQLite's automatic checkpoint (1,000 pages) and the thread's wake-up (its periodic
    /// look copies it); closing removes the log.
    #[test]
    fn a_thread_of_its_own_checkpoints_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let wal = dir.path().join("c.db-wal");
        let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
        let mut s = SqliteStore::open(&path).unwrap();
        let start = size(&path);
        // One transaction: about 600 pages in the log.
        let batch: Vec<NewReport> = (1..=100)
            .map(|i| {
                let mut r = report(i, "b", "m", "k");
                r.packets = vec![noise(i, 20_000)].into();
                r
            })
            .collect();
        s.put(&batch).unwrap();
        let t0 = std::time::Instant::now();
        while size(&path) < start + 2_000_000 && t0.elapsed().as_secs() < 10 {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(
            size(&path) >= start + 2_000_000,
            "database file {} bytes after {:?} (log {} bytes)",
            size(&path),
            t0.elapsed(),
            size(&wal)
        );
        drop(s);
        assert!(!wal.exists(), "log left after closing");
        assert_eq!(
            SqliteStore::open_existing(&path)
                .unwrap()
                .list(&Filter::default())
                .unwrap()
                .len(),
            100
        );
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
            r.packets = vec![noise(i, 20_000)].into();
            r.log = "é".repeat(500);
            s.put(&[r]).unwrap();
        }
        let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
        let wal = dir.path().join("p.db-wal");
        let exclusive = s.checkpointer.as_ref().map(Checkpointer::exclusive);
        s.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                r.get::<_, i64>(0)
            })
            .unwrap();
        drop(exclusive);
        let before = size(&path);
        assert!(before > 300 * 21_000, "{before}");
        // Nothing to do: nothing deleted.
        assert_eq!(s.prune(Some(0), Some(u64::MAX)).unwrap(), 0);
        // Stored before 51 s: the first 50.
        assert_eq!(s.prune(Some(51_000), None).unwrap(), 50);
        let left = s.list(&Filter::default()).unwrap();
        assert_eq!(left.len(), 250);
        assert_eq!(left.last().unwrap().received_ms, 51_000);
        // At most 1 MB: the newest 47 (each holds about 20,100 + 1,000 bytes: noise does not
        // compress, and the log is counted in bytes, not characters).
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
