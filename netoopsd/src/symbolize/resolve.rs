//! One debug file (an ELF with DWARF): its build id, its function symbols, and `func+off`
//! resolved to source locations with the inline chain (addr2line/gimli).

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use addr2line::gimli::{self, EndianSlice, RunTimeEndian};
use memmap2::Mmap;
use object::{Object, ObjectSection, ObjectSymbol, SymbolKind};

use super::parse::SymOffset;
use super::Location;

type Reader = EndianSlice<'static, RunTimeEndian>;

/// A loaded debug file. Its bytes are mapped for the life of the process (the [`Symbolizer`]
/// keeps one per build id and never drops it), which is what lets gimli borrow them.
///
/// [`Symbolizer`]: super::Symbolizer
pub struct DebugFile {
    /// Where it was found.
    pub path: PathBuf,
    /// Function (and other code) symbols by name: (address, size).
    symbols: HashMap<String, Vec<(u64, u64)>>,
    /// The DWARF lookup context (lazily parses units as addresses are looked up).
    ctx: Mutex<addr2line::Context<Reader>>,
}

impl std::fmt::Debug for DebugFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DebugFile")
            .field("path", &self.path)
            .field("symbols", &self.symbols.len())
            .finish()
    }
}

/// Maps `file` read-only.
#[allow(unsafe_code)]
fn map(file: &File) -> std::io::Result<Mmap> {
    // SAFETY: the mapping is read-only and only ever read as bytes. It stays valid as long as
    // nobody truncates or rewrites the file in place while it is mapped: files fetched from
    // debuginfod are written under a temporary name and renamed into the cache, never
    // rewritten; local debug files (a build tree's `vmlinux`) are replaced, not rewritten,
    // by linkers and package managers (both write a new file and rename or unlink the old).
    unsafe { Mmap::map(file) }
}

/// The GNU build-id note of the ELF file at `path`: Ok(None) when it is an ELF without one,
/// Err when it cannot be read or is no ELF.
pub fn read_build_id(path: &Path) -> Result<Option<Vec<u8>>, String> {
    let mut f = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut magic = [0u8; 4];
    if f.read_exact(&mut magic).is_err() || &magic != b"\x7fELF" {
        return Err(format!("{}: not an ELF file", path.display()));
    }
    let m = map(&f).map_err(|e| format!("{}: {e}", path.display()))?;
    let obj = object::File::parse(&*m).map_err(|e| format!("{}: {e}", path.display()))?;
    obj.build_id()
        .map(|b| b.map(<[u8]>::to_vec))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Lowercase hex.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

impl DebugFile {
    /// Loads `path`, which must carry build id `want` and DWARF line info.
    pub fn load(path: &Path, want: &[u8]) -> Result<DebugFile, String> {
        let name = path.display();
        let f = File::open(path).map_err(|e| format!("{name}: {e}"))?;
        let m = map(&f).map_err(|e| format!("{name}: {e}"))?;
        {
            let obj = object::File::parse(&*m).map_err(|e| format!("{name}: {e}"))?;
            match obj.build_id() {
                Ok(Some(id)) if id == want => {}
                Ok(Some(id)) => {
                    return Err(format!(
                        "{name}: build id {}, wanted {}",
                        hex(id),
                        hex(want)
                    ))
                }
                Ok(None) => return Err(format!("{name}: no build id, wanted {}", hex(want))),
                Err(e) => return Err(format!("{name}: {e}")),
            }
            if obj.section_by_name(".debug_info").is_none() {
                return Err(format!("{name}: no debug info (.debug_info)"));
            }
        }
        // Kept for the life of the process: the caller caches the result per build id.
        let data: &'static [u8] = &Box::leak(Box::new(m))[..];
        let obj = object::File::parse(data).map_err(|e| format!("{name}: {e}"))?;
        let mut symbols: HashMap<String, Vec<(u64, u64)>> = HashMap::new();
        for s in obj.symbols() {
            let code = matches!(
                s.kind(),
                SymbolKind::Text | SymbolKind::Label | SymbolKind::Unknown
            );
            if !code || s.section_index().is_none() || s.is_undefined() {
                continue;
            }
            if let Ok(n) = s.name() {
                if n.is_empty() {
                    continue;
                }
                let at = (s.address(), s.size());
                symbols.entry(n.to_string()).or_default().push(at);
                // Clang LTO's `foo.llvm.123`: kallsyms prints it as `foo`.
                if let Some((short, _)) = n.split_once(".llvm.") {
                    symbols.entry(short.to_string()).or_default().push(at);
                }
            }
        }
        let endian = if obj.is_little_endian() {
            RunTimeEndian::Little
        } else {
            RunTimeEndian::Big
        };
        let load = |id: gimli::SectionId| -> Result<Reader, gimli::Error> {
            let bytes: &'static [u8] = match obj.section_by_name(id.name()) {
                Some(s) => match s.uncompressed_data() {
                    Ok(Cow::Borrowed(b)) => b,
                    // Compressed sections: inflated once, kept like the mapping.
                    Ok(Cow::Owned(v)) => Box::leak(v.into_boxed_slice()),
                    Err(_) => &[],
                },
                None => &[],
            };
            Ok(EndianSlice::new(bytes, endian))
        };
        let dwarf = gimli::Dwarf::load(load).map_err(|e| format!("{name}: DWARF: {e}"))?;
        let ctx =
            addr2line::Context::from_dwarf(dwarf).map_err(|e| format!("{name}: DWARF: {e}"))?;
        Ok(DebugFile {
            path: path.to_path_buf(),
            symbols,
            ctx: Mutex::new(ctx),
        })
    }

    /// The address of `func+offset/size`: the symbol named `func` (of several, the one
    /// whose size is `size`, else the first; `func.llvm.N` counts as `func`) plus `offset`.
    pub fn address(&self, s: &SymOffset) -> Option<u64> {
        let c = self.symbols.get(&s.func)?;
        let base = c
            .iter()
            .find(|(_, size)| *size == s.size)
            .or_else(|| c.first())?;
        Some(base.0.wrapping_add(s.offset))
    }

    /// The source locations of `s`, innermost first (inlined functions, then the function
    /// containing the address); empty when unknown. `exact`: an instruction pointer (a
    /// `RIP:` line), looked up as is; otherwise a return address, looked up one byte
    /// earlier, in the call instruction (as `decode_stacktrace.sh` does, and like it not at
    /// offset 0, where no call can have been).
    pub fn locate_frame(&self, s: &SymOffset, exact: bool) -> Vec<Location> {
        let Some(addr) = self.address(s) else {
            return Vec::new();
        };
        let probe = if exact || s.offset == 0 {
            addr
        } else {
            addr - 1
        };
        self.locate_probe(probe, &s.func)
    }

    fn locate_probe(&self, probe: u64, func: &str) -> Vec<Location> {
        let ctx = match self.ctx.lock() {
            Ok(c) => c,
            Err(p) => p.into_inner(),
        };
        let comp_dir = ctx
            .find_dwarf_and_unit(probe)
            .skip_all_loads()
            .and_then(|u| u.comp_dir)
            .map(|d| d.to_string_lossy().into_owned());
        let mut out = Vec::new();
        if let Ok(mut frames) = ctx.find_frames(probe).skip_all_loads() {
            while let Ok(Some(f)) = frames.next() {
                let function = f
                    .function
                    .as_ref()
                    .and_then(|n| n.raw_name().ok().map(Cow::into_owned))
                    .unwrap_or_default();
                let (file, line) = match &f.location {
                    Some(l) => (
                        l.file.map(|p| relative(p, comp_dir.as_deref())),
                        l.line.unwrap_or(0),
                    ),
                    None => (None, 0),
                };
                out.push(Location {
                    function,
                    file: file.unwrap_or_else(|| "??".into()),
                    line,
                    inlined: true,
                });
            }
        }
        if let Some(last) = out.last_mut() {
            last.inlined = false;
            if last.function.is_empty() {
                last.function = func.to_string();
            }
        }
        if out.iter().all(|l| l.line == 0 && l.file == "??") {
            out.clear();
        }
        out
    }
}

/// `path` relative to the compilation directory (the kernel tree) when under it.
fn relative(path: &str, comp_dir: Option<&str>) -> String {
    if let Some(d) = comp_dir {
        let d = d.trim_end_matches('/');
        if let Some(rest) = path.strip_prefix(d).and_then(|r| r.strip_prefix('/')) {
            return rest.strip_prefix("./").unwrap_or(rest).to_string();
        }
    }
    path.strip_prefix("./").unwrap_or(path).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_relative_to_the_tree() {
        assert_eq!(
            relative("/src/linux/drivers/x.c", Some("/src/linux/")),
            "drivers/x.c"
        );
        assert_eq!(
            relative("/src/linux-2/x.c", Some("/src/linux")),
            "/src/linux-2/x.c"
        );
        assert_eq!(relative("./include/y.h", None), "include/y.h");
        assert_eq!(relative("/k/./include/y.h", Some("/k")), "include/y.h");
    }
}
