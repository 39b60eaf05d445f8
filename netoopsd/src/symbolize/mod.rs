//! Symbolized stacks: the faulting RIP and every call-trace frame of a report resolved to
//! function, file and line (inlined frames included, as `scripts/decode_stacktrace.sh` prints
//! them), from the debug info of the kernel that crashed, found by its build id in local
//! directories or on debuginfod servers.
//!
//! [`Symbolizer::symbolize`] never blocks: debug info not at hand yet is fetched in the
//! background and the frames stay unsymbolized ([`DebugStatus::Pending`]) until it is.
//!
//! One job per file: [`parse`] finds the stack in the log, [`find`] looks for debug files
//! in local directories, [`debuginfod`] fetches them, [`resolve`] turns `func+off` into
//! source lines, [`render`] prints the result, [`args`] has the command-line flags.
//!
//! Lookups run on background threads, one per build id (at most [`MAX_JOBS`] at once); what
//! they find is kept for the life of the [`Symbolizer`] (the debug file mapped, its DWARF
//! context built once), what they fail to find is remembered for
//! [`SymbolizeConfig::negative_ttl`] (60 s by default) before it is looked for again.

pub mod args;
pub mod debuginfod;
pub mod find;
pub mod parse;
pub mod render;
pub mod resolve;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::reassembly::DumpState;
use resolve::DebugFile;

/// Where debug info is looked for.
#[derive(Debug, Clone, Default)]
pub struct SymbolizeConfig {
    /// Local directories: `DIR/.build-id/xx/rest.debug` (and `DIR/xx/rest.debug`), and any
    /// ELF file in `DIR` or one level down whose build-id note matches.
    pub debug_dirs: Vec<PathBuf>,
    /// debuginfod servers (elfutils' protocol: `URL/buildid/HEX/debuginfo`).
    pub debuginfod_urls: Vec<String>,
    /// Where fetched debug files are kept.
    pub cache_dir: Option<PathBuf>,
    /// Longest time one fetch may take (zero: 30 s).
    pub fetch_timeout: Duration,
    /// How long a failed lookup is remembered before the next `symbolize` looks again
    /// (None: 60 s).
    pub negative_ttl: Option<Duration>,
}

impl SymbolizeConfig {
    /// [`fetch_timeout`](Self::fetch_timeout), 30 s when zero.
    pub fn fetch_timeout(&self) -> Duration {
        if self.fetch_timeout.is_zero() {
            Duration::from_secs(30)
        } else {
            self.fetch_timeout
        }
    }

    /// [`negative_ttl`](Self::negative_ttl), 60 s when None.
    pub fn negative_ttl(&self) -> Duration {
        self.negative_ttl.unwrap_or(Duration::from_secs(60))
    }
}

/// What became of the debug info of one build id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DebugStatus {
    /// The report carries no build id: frames are shown as sent.
    NoBuildId,
    /// No debug info source is configured.
    NotConfigured,
    /// Debug info found (the file).
    Found(PathBuf),
    /// Being fetched; ask again later.
    Pending,
    /// Not found anywhere (what was tried).
    Missing(String),
    /// A file was found but is not that build id's, or cannot be read (which file, why).
    Unusable(String),
}

/// A source location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// Function name.
    pub function: String,
    /// Source file, relative to the kernel tree when it is under it.
    pub file: String,
    /// Line (0: unknown).
    pub line: u32,
    /// Whether this function was inlined into the next location's.
    pub inlined: bool,
}

/// One frame of a report's stack as the log gives it, and where it resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymFrame {
    /// The frame as printed (`lkdtm_BUG+0x5/0x10`, `? foo+0x1/0x2 [mod]`, or the `RIP:` line's
    /// symbol).
    pub text: String,
    /// This is the faulting instruction (the `RIP:` line), not a return address.
    pub rip: bool,
    /// The kernel marked the frame unreliable (`?`).
    pub unreliable: bool,
    /// Innermost first: inlined functions, then the function containing the address. Empty
    /// when unresolved.
    pub locations: Vec<Location>,
}

/// A report's stack, symbolized as far as its debug info allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbolized {
    /// The debug info's state.
    pub status: DebugStatus,
    /// The RIP frame first (if the log has one), then the call trace.
    pub frames: Vec<SymFrame>,
}

/// Most lookups running at once (more build ids wait for a later `symbolize`).
pub const MAX_JOBS: usize = 4;

/// Resolves stacks; cheap to clone and share between threads.
#[derive(Debug, Clone, Default)]
pub struct Symbolizer {
    config: SymbolizeConfig,
    state: Arc<State>,
}

#[derive(Debug, Default)]
struct State {
    entries: Mutex<HashMap<Vec<u8>, Entry>>,
    dirs: find::DirIndex,
}

#[derive(Debug)]
enum Entry {
    /// A lookup is running.
    Running,
    /// Found and loaded.
    Ready(Arc<DebugFile>),
    /// Not found or unusable, as of then.
    Failed(DebugStatus, Instant),
}

impl Symbolizer {
    /// A symbolizer looking where `config` says.
    pub fn new(config: SymbolizeConfig) -> Self {
        Symbolizer {
            config,
            state: Arc::default(),
        }
    }

    /// Whether there is anywhere to look.
    fn configured(&self) -> bool {
        !self.config.debug_dirs.is_empty() || !self.config.debuginfod_urls.is_empty()
    }

    /// Where this symbolizer looks.
    pub fn config(&self) -> &SymbolizeConfig {
        &self.config
    }

    /// Symbolizes the stack of `log` with the debug info of `build_id`. Never blocks: debug
    /// info not loaded yet is looked for (and fetched) on a background thread, and the
    /// result says [`DebugStatus::Pending`] meanwhile.
    pub fn symbolize(&self, build_id: Option<&[u8]>, log: &str) -> Symbolized {
        self.symbolize_inner(build_id, log).0
    }

    /// [`symbolize`](Self::symbolize), and whether the debug info of a module frame (one
    /// printed with its build id) is still being looked for.
    fn symbolize_inner(&self, build_id: Option<&[u8]>, log: &str) -> (Symbolized, bool) {
        let mut modules_pending = false;
        let parsed = parse::parse_stack(log);
        let (status, file) = match build_id {
            None => (DebugStatus::NoBuildId, None),
            Some(_) if !self.configured() => (DebugStatus::NotConfigured, None),
            Some(id) => self.debug_file(id),
        };
        let frames = parsed
            .into_iter()
            .map(|p| {
                let locations = match (&p.sym, &p.module, &p.module_build_id) {
                    (Some(s), None, _) => file
                        .as_ref()
                        .map(|f| f.locate_frame(s, p.rip))
                        .unwrap_or_default(),
                    (Some(s), Some(_), Some(mid)) if self.configured() => {
                        let (st, f) = self.debug_file(mid);
                        modules_pending |= st == DebugStatus::Pending;
                        f.map(|f| f.locate_frame(s, p.rip)).unwrap_or_default()
                    }
                    _ => Vec::new(),
                };
                SymFrame {
                    text: p.text,
                    rip: p.rip,
                    unreliable: p.unreliable,
                    locations,
                }
            })
            .collect();
        (Symbolized { status, frames }, modules_pending)
    }

    /// [`symbolize`](Self::symbolize) for a reassembled dump: its build id and the part of
    /// its log received (segments joined by line breaks).
    pub fn symbolize_dump(&self, dump: &DumpState) -> Symbolized {
        self.symbolize(dump.facts.build_id.as_deref(), &dump_log(dump))
    }

    /// [`symbolize_wait`](Self::symbolize_wait) for a reassembled dump.
    pub fn symbolize_dump_wait(&self, dump: &DumpState, wait: Duration) -> Symbolized {
        self.symbolize_wait(dump.facts.build_id.as_deref(), &dump_log(dump), wait)
    }

    /// As [`symbolize`](Self::symbolize), waiting up to `wait` for debug info being fetched
    /// (the kernel's, and that of modules printed with their build id), for the command line.
    pub fn symbolize_wait(&self, build_id: Option<&[u8]>, log: &str, wait: Duration) -> Symbolized {
        let start = Instant::now();
        loop {
            let (s, modules_pending) = self.symbolize_inner(build_id, log);
            let left = wait.saturating_sub(start.elapsed());
            if (s.status != DebugStatus::Pending && !modules_pending) || left.is_zero() {
                return s;
            }
            std::thread::sleep(left.min(Duration::from_millis(20)));
        }
    }

    /// The debug file of `id` if loaded; else its status, starting a lookup if none runs and
    /// no recent one failed.
    fn debug_file(&self, id: &[u8]) -> (DebugStatus, Option<Arc<DebugFile>>) {
        let mut entries = match self.state.entries.lock() {
            Ok(e) => e,
            Err(p) => p.into_inner(),
        };
        match entries.get(id) {
            Some(Entry::Ready(f)) => return (DebugStatus::Found(f.path.clone()), Some(f.clone())),
            Some(Entry::Running) => return (DebugStatus::Pending, None),
            Some(Entry::Failed(s, at)) if at.elapsed() < self.config.negative_ttl() => {
                return (s.clone(), None)
            }
            _ => {}
        }
        let running = entries
            .values()
            .filter(|e| matches!(e, Entry::Running))
            .count();
        if running >= MAX_JOBS {
            return (DebugStatus::Pending, None);
        }
        entries.insert(id.to_vec(), Entry::Running);
        let (config, state, key) = (self.config.clone(), self.state.clone(), id.to_vec());
        let spawned = std::thread::Builder::new()
            .name("netoopsd-debuginfo".into())
            .spawn(move || {
                let entry = match lookup(&config, &state.dirs, &key) {
                    Ok(f) => Entry::Ready(f),
                    Err(s) => Entry::Failed(s, Instant::now()),
                };
                let mut entries = match state.entries.lock() {
                    Ok(e) => e,
                    Err(p) => p.into_inner(),
                };
                entries.insert(key, entry);
            });
        if let Err(e) = spawned {
            let s = DebugStatus::Missing(format!("cannot start a lookup: {e}"));
            entries.insert(id.to_vec(), Entry::Failed(s.clone(), Instant::now()));
            return (s, None);
        }
        (DebugStatus::Pending, None)
    }
}

/// The received part of a dump's log as text, segments joined by line breaks.
pub fn dump_log(dump: &DumpState) -> String {
    dump.log_segments()
        .iter()
        .map(|s| String::from_utf8_lossy(&s.bytes))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Finds and loads `id`'s debug file: the local directories, then the debuginfod cache,
/// then each debuginfod server in turn. Blocks (up to the fetch timeout per server).
fn lookup(
    config: &SymbolizeConfig,
    dirs: &find::DirIndex,
    id: &[u8],
) -> Result<Arc<DebugFile>, DebugStatus> {
    let found = dirs.find(&config.debug_dirs, id);
    let (mut unusable, mut tried) = (found.unusable, found.tried);
    for p in found.files {
        match DebugFile::load(&p, id) {
            Ok(f) => return Ok(Arc::new(f)),
            Err(e) => unusable.push(e),
        }
    }
    if !config.debuginfod_urls.is_empty() {
        let cache = config
            .cache_dir
            .clone()
            .unwrap_or_else(debuginfod::default_cache_dir);
        let cached = find::cache_path(&cache, id);
        if cached.exists() {
            match DebugFile::load(&cached, id) {
                Ok(f) => return Ok(Arc::new(f)),
                Err(e) => {
                    unusable.push(e);
                    let _ = std::fs::remove_file(&cached);
                }
            }
        }
        for u in &config.debuginfod_urls {
            match debuginfod::fetch(u, id, &cache, config.fetch_timeout()) {
                Ok(p) => match DebugFile::load(&p, id) {
                    Ok(f) => return Ok(Arc::new(f)),
                    Err(e) => {
                        unusable.push(format!("{} (from {u})", e));
                        let _ = std::fs::remove_file(&p);
                    }
                },
                Err(e) => tried.push(e),
            }
        }
    }
    Err(if unusable.is_empty() {
        DebugStatus::Missing(tried.join("; "))
    } else {
        DebugStatus::Unusable(unusable.join("; "))
    })
}
