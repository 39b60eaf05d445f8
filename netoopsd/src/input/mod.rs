//! Reading capture files: classic pcap, pcapng, or a raw file holding one UDP payload.
//! Each yields [`Frame`]s: UDP payloads that start with the netoops magic, with the byte
//! offset in the file where the payload starts.

mod link;
mod pcap;
mod pcapng;

use std::fmt;
use std::path::Path;

use netoops_codec::wire::MAGIC;

/// One candidate netoops packet found in an input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Byte offset of the payload in the file.
    pub offset: u64,
    /// The UDP payload.
    pub payload: Vec<u8>,
}

/// What a file held.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FileContents {
    /// Container format: `pcap`, `pcapng` or `raw`.
    pub format: &'static str,
    /// Captured frames (pcap/pcapng records; 1 for raw files).
    pub frames_seen: u64,
    /// Frames that are not UDP or whose UDP payload is not a netoops packet, or whose link
    /// type is not understood.
    pub frames_skipped: u64,
    /// The netoops candidates, in file order.
    pub frames: Vec<Frame>,
}

/// A fatal problem with an input file. Displays as `FILE: offset N: MESSAGE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    /// The file, as named on the command line.
    pub file: String,
    /// Byte offset in the file, when the problem is at a place in it.
    pub offset: Option<u64>,
    /// What is wrong.
    pub msg: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.offset {
            Some(o) => write!(f, "{}: offset {}: {}", self.file, o, self.msg),
            None => write!(f, "{}: {}", self.file, self.msg),
        }
    }
}

impl std::error::Error for InputError {}

/// An error at an offset of a file's contents, before the file name is attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AtOffset {
    /// Byte offset.
    pub offset: u64,
    /// What is wrong.
    pub msg: String,
}

pub(crate) fn at(offset: impl TryInto<u64>, msg: impl Into<String>) -> AtOffset {
    AtOffset {
        offset: offset.try_into().unwrap_or(u64::MAX),
        msg: msg.into(),
    }
}

/// Reads and splits one file.
pub fn read_file(path: &Path) -> Result<FileContents, InputError> {
    let name = path.display().to_string();
    let data = std::fs::read(path).map_err(|e| InputError {
        file: name.clone(),
        offset: None,
        msg: format!("cannot read: {e}"),
    })?;
    parse_bytes(&data).map_err(|e| InputError {
        file: name,
        offset: Some(e.offset),
        msg: e.msg,
    })
}

/// Splits the contents of one file, recognised by its first bytes.
pub fn parse_bytes(data: &[u8]) -> Result<FileContents, AtOffset> {
    let head: [u8; 4] = match data.get(..4) {
        Some(h) => h.try_into().unwrap_or_default(),
        None => {
            return Err(at(
                0,
                format!(
                    "file too short ({} bytes) to be a capture or a netoops packet",
                    data.len()
                ),
            ))
        }
    };
    if head == MAGIC {
        return Ok(FileContents {
            format: "raw",
            frames_seen: 1,
            frames_skipped: 0,
            frames: vec![Frame {
                offset: 0,
                payload: data.to_vec(),
            }],
        });
    }
    if pcap::is_pcap(head) {
        return pcap::parse(data);
    }
    if pcapng::is_pcapng(head) {
        return pcapng::parse(data);
    }
    Err(at(
        0,
        format!(
            "not a pcap, pcapng or netoops packet file (starts with {:02x} {:02x} {:02x} {:02x})",
            head[0], head[1], head[2], head[3]
        ),
    ))
}

/// Adds the UDP payload of a captured frame, if it is a netoops candidate.
fn take_frame(out: &mut FileContents, linktype: u32, frame: &[u8], frame_offset: usize) {
    out.frames_seen += 1;
    match link::udp_payload(linktype, frame) {
        Some((off, payload)) if payload.starts_with(&MAGIC) => out.frames.push(Frame {
            offset: (frame_offset + off) as u64,
            payload: payload.to_vec(),
        }),
        _ => out.frames_skipped += 1,
    }
}

#[cfg(test)]
pub(crate) mod testutil;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_files_are_one_packet() {
        let c = parse_bytes(b"NtOp\x01whatever").unwrap();
        assert_eq!(c.format, "raw");
        assert_eq!(
            c.frames,
            vec![Frame {
                offset: 0,
                payload: b"NtOp\x01whatever".to_vec()
            }]
        );
    }

    #[test]
    fn unknown_and_short_files_are_errors_at_offset_0() {
        let e = parse_bytes(b"hello world").unwrap_err();
        assert_eq!(e.offset, 0);
        assert!(
            e.msg
                .starts_with("not a pcap, pcapng or netoops packet file"),
            "{}",
            e.msg
        );
        let e = parse_bytes(b"Nt").unwrap_err();
        assert_eq!(
            e.msg,
            "file too short (2 bytes) to be a capture or a netoops packet"
        );
    }

    #[test]
    fn input_error_display() {
        let e = InputError {
            file: "c.pcap".into(),
            offset: Some(4120),
            msg: "truncated pcap record header".into(),
        };
        assert_eq!(
            e.to_string(),
            "c.pcap: offset 4120: truncated pcap record header"
        );
    }
}
