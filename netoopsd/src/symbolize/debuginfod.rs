//! Fetching debug info from debuginfod servers (elfutils' protocol:
//! `GET URL/buildid/HEX/debuginfo`) into a local cache.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::find::cache_path;
use super::resolve::hex;

/// The largest debug file fetched (a vmlinux with full DWARF is some hundreds of MB).
pub const MAX_SIZE: u64 = 8 << 30;

/// The default cache directory: `$XDG_CACHE_HOME/netoopsd/debuginfod`, else
/// `~/.cache/netoopsd/debuginfod`, else one under the temporary directory.
pub fn default_cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".cache"))
        })
        .unwrap_or_else(std::env::temp_dir);
    base.join("netoopsd").join("debuginfod")
}

/// Servers named by `DEBUGINFOD_URLS` (space-separated, as elfutils reads it).
pub fn env_urls() -> Vec<String> {
    std::env::var("DEBUGINFOD_URLS")
        .map(|v| v.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default()
}

/// The URL of `id`'s debug info on server `base`.
pub fn url(base: &str, id: &[u8]) -> String {
    format!(
        "{}/buildid/{}/debuginfo",
        base.trim_end_matches('/'),
        hex(id)
    )
}

/// Downloads `id`'s debug info from `base` into the cache (streamed to a temporary file in
/// the cache, renamed into place when complete). Connecting may take up to 10 s (or
/// `timeout` if shorter), the whole request `timeout`. Err: what went wrong, naming the URL.
pub fn fetch(base: &str, id: &[u8], cache: &Path, timeout: Duration) -> Result<PathBuf, String> {
    let u = url(base, id);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(timeout.min(Duration::from_secs(10))))
        .timeout_global(Some(timeout))
        .max_redirects(5)
        .user_agent(concat!("netoopsd/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let resp = match agent.get(&u).call() {
        Ok(r) => r,
        Err(ureq::Error::StatusCode(code)) => return Err(format!("{u}: HTTP {code}")),
        Err(e) => return Err(format!("{u}: {e}")),
    };
    let dest = cache_path(cache, id);
    let dir = dest.parent().unwrap_or(cache);
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".debuginfo.")
        .tempfile_in(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut body = resp.into_body().into_reader().take(MAX_SIZE + 1);
    let n = std::io::copy(&mut body, tmp.as_file_mut())
        .and_then(|n| tmp.as_file_mut().flush().map(|()| n))
        .map_err(|e| format!("{u}: {e}"))?;
    if n > MAX_SIZE {
        return Err(format!("{u}: larger than {MAX_SIZE} bytes"));
    }
    tmp.persist(&dest)
        .map_err(|e| format!("{}: {e}", dest.display()))?;
    Ok(dest)
}
