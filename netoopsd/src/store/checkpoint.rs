//! Checkpoints of a SQLite database's write-ahead log on a thread of their own.
//!
//! In WAL mode every committed page is written twice: appended to the log by the commit,
//! copied into the database file by a checkpoint. SQLite's automatic checkpoint runs in the
//! committing connection once the log passes 1,000 pages, so the storing thread paid for both
//! writes and the file system syncs of the checkpoint: about a third of its time per report
//! (`netoopsd bench --memory`). Here the writer's commit hook ([`Checkpointer::attach`])
//! wakes this thread each time `WAKE_PAGES` more pages were appended to the log, and the
//! thread, with its own connection, copies them with a passive checkpoint, which never waits
//! for or blocks the writer. A checkpoint copies a page once however many commits rewrote it
//! (the last pages of the indexes, the table's), and syncs the files once.
//!
//! The log starts over only when a write transaction begins with every page of it copied,
//! which a passive checkpoint beside a writer that keeps committing rarely leaves. So once
//! the log holds [`RESTART_PAGES`] the thread runs a restarting checkpoint instead: it waits
//! for the writer's transaction to end, copies the rest (the passive ones copied the bulk)
//! and holds the next one back until the log starts over. The log thus stays under
//! [`RESTART_PAGES`] plus about one transaction.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

use crate::priority::spawn_worker;

/// Pages appended to the log that wake the checkpointing thread (8 MiB with 4 KiB pages).
/// Waking it after every commit once the log held 1 MiB cost, at 70,000 packets/s,
/// several dozen checkpoints a second, each with its syncs.
const WAKE_PAGES: i32 = 2048;

/// Pages in the log at which the thread restarts it (64 MiB with 4 KiB pages).
pub const RESTART_PAGES: i32 = 16384;

/// The thread also looks this often unwoken (a log another process's writer left).
const EVERY: Duration = Duration::from_secs(1);

/// An error is printed at most this often.
const ERROR_EVERY: Duration = Duration::from_secs(60);

/// The checkpointing thread of one database file; stopped (and joined) when dropped.
pub struct Checkpointer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// What the writer's connection and the thread share.
#[derive(Default)]
struct Shared {
    stop: AtomicBool,
    /// The log passed [`RESTART_PAGES`]: the next checkpoint restarts it.
    restart: AtomicBool,
    /// Held while checkpointing: SQLite answers a second checkpointer "busy" at once, so the
    /// writer's own checkpoints ([`Checkpointer::exclusive`]) wait for the thread's.
    checkpointing: Mutex<()>,
}

impl Checkpointer {
    /// Starts checkpointing the database at `path` (`name` in messages) for `writer`, whose
    /// commits wake the thread (replacing SQLite's automatic checkpoint on it).
    pub fn attach(writer: &mut Connection, path: &Path, name: &str) -> Result<Self, String> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)
            .and_then(|c| {
                // A restarting checkpoint waits this long for the writer's transaction (a
                // batch takes tens of milliseconds) and for readers of an older snapshot,
                // holding the writer back meanwhile; past it, it copies what it can and the
                // next commit asks again.
                c.busy_timeout(Duration::from_secs(1))?;
                c.execute_batch("PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0;")?;
                Ok(c)
            })
            .map_err(|e| format!("{name}: opening the checkpointing connection: {e}"))?;
        let shared = Arc::new(Shared::default());
        let (mine, owned) = (shared.clone(), name.to_string());
        let thread = spawn_worker("netoopsd-checkpoint", "checkpoint", move || {
            run(&conn, &owned, &mine)
        })
        .map_err(|e| format!("cannot start the checkpointing thread: {e}"))?;
        let (wake, hook) = (thread.thread().clone(), shared.clone());
        // The log's pages when the thread was last woken.
        let mut woken = 0;
        // Called after each commit (its locks released) with the pages in the log.
        writer
            .wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, pages| {
                if pages >= RESTART_PAGES {
                    hook.restart.store(true, Ordering::SeqCst);
                }
                if pages < woken {
                    woken = 0; // the log started over
                }
                if pages - woken >= WAKE_PAGES {
                    woken = pages;
                    wake.unpark();
                }
                Ok(())
            }))
            .map_err(|e| format!("{name}: setting the commit hook: {e}"))?;
        Ok(Checkpointer {
            shared,
            thread: Some(thread),
        })
    }

    /// Holds the thread back while the writer checkpoints itself (after pruning).
    pub fn exclusive(&self) -> MutexGuard<'_, ()> {
        self.shared
            .checkpointing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

/// A checkpoint each time the writer wakes the thread, or [`EVERY`], until `stop`: passive,
/// or restarting once the log passed [`RESTART_PAGES`].
fn run(conn: &Connection, name: &str, shared: &Shared) {
    let mut last_error: Option<Instant> = None;
    loop {
        std::thread::park_timeout(EVERY);
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let _held = shared
            .checkpointing
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let q = if shared.restart.swap(false, Ordering::SeqCst) {
            "PRAGMA wal_checkpoint(RESTART)"
        } else {
            "PRAGMA wal_checkpoint(PASSIVE)"
        };
        if let Err(e) = conn.query_row(q, [], |_| Ok(())) {
            if last_error.is_none_or(|t| t.elapsed() >= ERROR_EVERY) {
                eprintln!("netoopsd: {name}: checkpoint: {e}");
                last_error = Some(Instant::now());
            }
        }
        crate::cpu::tick();
    }
}
