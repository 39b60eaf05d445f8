//! The command-line flags that say where debug info is (`show`, later `serve`).

use std::path::PathBuf;
use std::time::Duration;

use super::debuginfod::{default_cache_dir, env_urls};
use super::SymbolizeConfig;

/// Where to find debug info for symbolizing stacks.
#[derive(Debug, Clone, clap::Args)]
pub struct SymbolizeArgs {
    /// A directory of debug files: `DIR/.build-id/ab/cdef.debug`, `DIR/ab/cdef.debug`, or
    /// any ELF file in it (or one level down) with the kernel's build id, e.g. a kernel
    /// build tree with its `vmlinux` (repeatable).
    #[arg(long = "debug-dir", value_name = "DIR")]
    pub debug_dirs: Vec<PathBuf>,
    /// A debuginfod server to fetch debug info from by build id (repeatable). Default: the
    /// space-separated URLs in $DEBUGINFOD_URLS.
    #[arg(long = "debuginfod", value_name = "URL")]
    pub debuginfod: Vec<String>,
    /// Where fetched debug files are kept. Default: $XDG_CACHE_HOME/netoopsd/debuginfod
    /// (~/.cache/netoopsd/debuginfod).
    #[arg(long, value_name = "DIR")]
    pub debuginfod_cache: Option<PathBuf>,
    /// Longest time one debuginfod fetch may take.
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS", value_parser = seconds)]
    pub debuginfod_timeout: f64,
}

/// A positive number of seconds, at most a day.
fn seconds(v: &str) -> Result<f64, String> {
    match v.parse::<f64>() {
        Ok(s) if s > 0.0 && s <= 86_400.0 => Ok(s),
        _ => Err(format!("{v:?} is not a number of seconds in (0, 86400]")),
    }
}

impl SymbolizeArgs {
    /// The configuration these flags (and $DEBUGINFOD_URLS) give.
    pub fn config(&self) -> SymbolizeConfig {
        SymbolizeConfig {
            debug_dirs: self.debug_dirs.clone(),
            debuginfod_urls: if self.debuginfod.is_empty() {
                env_urls()
            } else {
                self.debuginfod.clone()
            },
            cache_dir: Some(
                self.debuginfod_cache
                    .clone()
                    .unwrap_or_else(default_cache_dir),
            ),
            fetch_timeout: Duration::try_from_secs_f64(self.debuginfod_timeout)
                .unwrap_or(Duration::from_secs(30)),
            negative_ttl: None,
        }
    }

    /// How long the command line waits for debug info: a fetch from each server, and some
    /// seconds to load what was found.
    pub fn wait(&self) -> Duration {
        let c = self.config();
        c.fetch_timeout() * (c.debuginfod_urls.len().max(1) as u32) + Duration::from_secs(15)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        sym: SymbolizeArgs,
    }

    #[test]
    fn flags() {
        let c = Cli::parse_from([
            "x",
            "--debug-dir",
            "/a",
            "--debug-dir",
            "/b",
            "--debuginfod",
            "http://h:8002/",
            "--debuginfod-cache",
            "/c",
            "--debuginfod-timeout",
            "2.5",
        ]);
        let cfg = c.sym.config();
        assert_eq!(cfg.debug_dirs, [PathBuf::from("/a"), PathBuf::from("/b")]);
        assert_eq!(cfg.debuginfod_urls, ["http://h:8002/"]);
        assert_eq!(cfg.cache_dir, Some(PathBuf::from("/c")));
        assert_eq!(cfg.fetch_timeout, Duration::from_millis(2500));
        assert_eq!(c.sym.wait(), Duration::from_millis(17500));
        let c = Cli::parse_from(["x"]);
        assert_eq!(c.sym.config().fetch_timeout, Duration::from_secs(30));
        assert!(c.sym.config().cache_dir.is_some());
        for bad in ["-1", "0", "abc", "1e9"] {
            let e = Cli::try_parse_from(["x", "--debuginfod-timeout", bad])
                .err()
                .unwrap()
                .to_string();
            assert!(e.contains(bad), "{e}");
        }
    }
}
