//! Symbolized stacks: the faulting RIP and every call-trace frame of a report resolved to
//! function, file and line (inlined frames included, as `scripts/decode_stacktrace.sh` prints
//! them), from the debug info of the kernel that crashed, found by its build id in local
//! directories or on debuginfod servers.
//!
//! [`Symbolizer::symbolize`] never blocks: debug info not at hand yet is fetched in the
//! background and the frames stay unsymbolized ([`DebugStatus::Pending`]) until it is.
//!
//! (Skeleton: the types the web view and `show` use; the resolution is being written.)

use std::path::PathBuf;
use std::time::Duration;

/// Where debug info is looked for.
#[derive(Debug, Clone, Default)]
pub struct SymbolizeConfig {
    /// Local directories: `DIR/.build-id/xx/rest.debug` (and `DIR/xx/rest.debug`).
    pub debug_dirs: Vec<PathBuf>,
    /// debuginfod servers (elfutils' protocol: `URL/buildid/HEX/debuginfo`).
    pub debuginfod_urls: Vec<String>,
    /// Where fetched debug files are kept.
    pub cache_dir: Option<PathBuf>,
    /// Longest time one fetch may take.
    pub fetch_timeout: Duration,
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

/// Resolves stacks; cheap to clone and share between threads.
#[derive(Debug, Clone, Default)]
pub struct Symbolizer {
    config: SymbolizeConfig,
}

impl Symbolizer {
    /// A symbolizer looking where `config` says.
    pub fn new(config: SymbolizeConfig) -> Self {
        Symbolizer { config }
    }

    /// Symbolizes the stack of `log` with the debug info of `build_id`. Never blocks.
    pub fn symbolize(&self, build_id: Option<&[u8]>, log: &str) -> Symbolized {
        let _ = (log, &self.config);
        Symbolized {
            status: if build_id.is_some() {
                DebugStatus::NotConfigured
            } else {
                DebugStatus::NoBuildId
            },
            frames: Vec::new(),
        }
    }

    /// As [`symbolize`](Self::symbolize), waiting up to `wait` for debug info being fetched
    /// (for the command line).
    pub fn symbolize_wait(&self, build_id: Option<&[u8]>, log: &str, wait: Duration) -> Symbolized {
        let _ = wait;
        self.symbolize(build_id, log)
    }
}
