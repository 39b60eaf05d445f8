//! `netoopsd decode`: read capture or raw packet files, reassemble, print.

use std::path::PathBuf;

use serde_json::json;

use crate::input::{read_file, InputError};
use crate::keys::Keys;
use crate::reassembly::{Origin, Reassembler};
use crate::{json, text};

/// What `decode` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Standard output: the dumps, as text or JSON.
    pub stdout: String,
    /// Standard error: one line per rejected packet, then a summary line.
    pub stderr: String,
}

/// Runs the decoder over `files`. A file that cannot be read or parsed as a container stops
/// everything with an error naming the file and offset; bad netoops packets inside good
/// files are reported and skipped.
pub fn run(files: &[PathBuf], as_json: bool, keys: Option<Keys>) -> Result<Report, InputError> {
    let mut r = Reassembler::new();
    r.keys = keys;
    let mut file_info = Vec::new();
    for path in files {
        let contents = read_file(path)?;
        let name: std::sync::Arc<str> = path.display().to_string().into();
        file_info.push(json!({
            "file": &*name,
            "format": contents.format,
            "frames": contents.frames_seen,
            "skipped": contents.frames_skipped,
            "candidates": contents.frames.len(),
        }));
        for f in &contents.frames {
            r.push(
                &f.payload,
                Origin {
                    source: name.clone(),
                    offset: f.offset,
                },
            );
        }
    }
    let stdout = if as_json {
        let mut s = serde_json::to_string_pretty(&json::render(&r, &file_info))
            .expect("JSON values always serialize");
        s.push('\n');
        s
    } else {
        text::render(r.dumps())
    };
    let mut stderr = String::new();
    for x in &r.rejected {
        stderr.push_str(&format!(
            "{}: offset {}: {}\n",
            x.origin.source, x.origin.offset, x.reason
        ));
    }
    let s = &r.stats;
    stderr.push_str(&format!(
        "netoopsd: {} file(s), {} netoops packet(s): {} dump(s), {} duplicate(s), {} inconsistent, {} malformed, {} refused, {} rebuilt from parity\n",
        files.len(),
        s.packets,
        r.dumps().count(),
        s.duplicates,
        s.inconsistent,
        s.malformed,
        s.refused,
        s.recovered
    ));
    Ok(Report { stdout, stderr })
}
