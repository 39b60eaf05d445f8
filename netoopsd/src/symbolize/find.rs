//! Finding the debug file of a build id: local directories (`.build-id` layouts, or any ELF
//! file in the directory whose build-id note matches) and the debuginfod cache.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use super::resolve::{hex, read_build_id};

/// Build id -> ELF file, of one directory.
type ById = Arc<HashMap<Vec<u8>, PathBuf>>;

/// What directories hold: build id -> ELF file directly in them (or one level down).
#[derive(Debug, Default)]
pub struct DirIndex {
    /// Per directory: its modification time when scanned, and the map.
    dirs: Mutex<HashMap<PathBuf, (Option<SystemTime>, ById)>>,
}

/// What looking in the local places gave.
#[derive(Debug, Default)]
pub struct Found {
    /// Files whose build id matches, in order of preference.
    pub files: Vec<PathBuf>,
    /// Files that should have been it and are not (path: why).
    pub unusable: Vec<String>,
    /// What was tried, for the message when nothing is found.
    pub tried: Vec<String>,
}

/// `DIR/.build-id/ab/cdef...debug` and `DIR/ab/cdef...debug` for build id `abcdef...`.
pub fn build_id_paths(dir: &Path, id: &[u8]) -> Vec<PathBuf> {
    let h = hex(id);
    if h.len() < 3 {
        return Vec::new();
    }
    let (a, b) = h.split_at(2);
    vec![
        dir.join(".build-id").join(a).join(format!("{b}.debug")),
        dir.join(a).join(format!("{b}.debug")),
    ]
}

/// The debuginfod cache's file for `id` (elfutils' layout: `CACHE/HEX/debuginfo`).
pub fn cache_path(cache: &Path, id: &[u8]) -> PathBuf {
    cache.join(hex(id)).join("debuginfo")
}

impl DirIndex {
    /// The ELF files directly in `dir` and in its subdirectories (one level, hidden ones
    /// skipped) by build id; scanned again only when the directory changed.
    fn index(&self, dir: &Path) -> ById {
        let mtime = std::fs::metadata(dir).and_then(|m| m.modified()).ok();
        if let Ok(d) = self.dirs.lock() {
            if let Some((t, map)) = d.get(dir) {
                if *t == mtime {
                    return map.clone();
                }
            }
        }
        let mut map = HashMap::new();
        scan(dir, 1, &mut map);
        let map = Arc::new(map);
        if let Ok(mut d) = self.dirs.lock() {
            d.insert(dir.to_path_buf(), (mtime, map.clone()));
        }
        map
    }

    /// Looks for `id` in `dirs`.
    pub fn find(&self, dirs: &[PathBuf], id: &[u8]) -> Found {
        let mut out = Found::default();
        let check = |p: &Path, out: &mut Found| match read_build_id(p) {
            Ok(Some(b)) if b == id => {
                if !out.files.iter().any(|f| f == p) {
                    out.files.push(p.to_path_buf());
                }
            }
            Ok(Some(b)) => out.unusable.push(format!(
                "{}: build id {}, wanted {}",
                p.display(),
                hex(&b),
                hex(id)
            )),
            Ok(None) => {
                out.unusable
                    .push(format!("{}: no build id, wanted {}", p.display(), hex(id)))
            }
            Err(e) => out.unusable.push(e),
        };
        for dir in dirs {
            if !dir.is_dir() {
                out.tried
                    .push(format!("{}: no such directory", dir.display()));
                continue;
            }
            let before = out.files.len() + out.unusable.len();
            for p in build_id_paths(dir, id) {
                if p.exists() {
                    check(&p, &mut out);
                }
            }
            if let Some(p) = self.index(dir).get(id) {
                check(p, &mut out);
            }
            if out.files.len() + out.unusable.len() == before {
                out.tried
                    .push(format!("{}: no file with that build id", dir.display()));
            }
        }
        out
    }
}

fn scan(dir: &Path, depth: u32, map: &mut HashMap<Vec<u8>, PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let Ok(t) = e.file_type() else { continue };
        let p = e.path();
        if t.is_dir() {
            if depth > 0 && !e.file_name().to_string_lossy().starts_with('.') {
                scan(&p, depth - 1, map);
            }
        } else if t.is_file() || t.is_symlink() {
            if let Ok(Some(id)) = read_build_id(&p) {
                map.entry(id).or_insert(p);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts() {
        let p = build_id_paths(Path::new("/d"), &[0xab, 0xcd, 0xef]);
        assert_eq!(p[0], Path::new("/d/.build-id/ab/cdef.debug"));
        assert_eq!(p[1], Path::new("/d/ab/cdef.debug"));
        assert_eq!(
            cache_path(Path::new("/c"), &[1, 2]),
            Path::new("/c/0102/debuginfo")
        );
        let f = DirIndex::default().find(&[PathBuf::from("/nonexistent/x")], &[1, 2]);
        assert!(f.files.is_empty());
        assert_eq!(f.tried, ["/nonexistent/x: no such directory"]);
    }
}
