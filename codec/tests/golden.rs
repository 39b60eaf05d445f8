//! Golden vectors: the committed files in `codec/golden/` must be exactly what the encoder
//! produces for `wire::golden::VECTORS`, must decode to those dumps, and the worked example
//! in `PROTOCOL.md` must be the bytes of `golden/soft-1460/packet-000.bin`.

mod common;
#[path = "common/describe.rs"]
mod describe;

use std::fs;
use std::path::{Path, PathBuf};

use netoops_codec::wire::golden::{VECTORS, VECTORS_V2};
use netoops_codec::wire::*;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("golden")
}

fn read_packets(name: &str) -> Vec<Vec<u8>> {
    let dir = golden_dir().join(name);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "bin"))
        .collect();
    files.sort();
    files
        .iter()
        .enumerate()
        .map(|(i, f)| {
            assert_eq!(
                f.file_name().unwrap().to_str().unwrap(),
                describe::packet_file(i)
            );
            fs::read(f).unwrap()
        })
        .collect()
}

const REGENERATE: &str = "if the format changed on purpose, run \
    `cargo run -p netoops-codec --example gen_golden` and review the diff";

#[test]
fn encoder_output_matches_golden_files_byte_for_byte() {
    for v in &VECTORS {
        let files = read_packets(v.name);
        let encoded = common::encode_all(v.dump, v.max_packet);
        assert_eq!(
            files.len(),
            encoded.len(),
            "{}: packet count; {REGENERATE}",
            v.name
        );
        for (i, (f, e)) in files.iter().zip(&encoded).enumerate() {
            assert!(
                f == e,
                "{}/{}: bytes differ; {REGENERATE}",
                v.name,
                describe::packet_file(i)
            );
        }
    }
}

#[test]
fn golden_files_decode_to_their_dumps() {
    for v in &VECTORS {
        let files = read_packets(v.name);
        for f in &files {
            assert!(f.len() <= v.max_packet.min(MAX_PACKET_SIZE));
        }
        assert_eq!(
            common::decode_all(&files),
            common::expected(&v.dump),
            "{}",
            v.name
        );
    }
}

#[test]
fn expected_json_matches_the_files() {
    for v in &VECTORS {
        let files = read_packets(v.name);
        let path = golden_dir().join(v.name).join("expected.json");
        let on_disk: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(
            on_disk,
            describe::describe(v, &files),
            "{}; {REGENERATE}",
            path.display()
        );
        // A few values checked against the raw bytes directly, independent of the decoder.
        let p0 = &files[0];
        assert_eq!(&p0[0..4], b"NtOp");
        assert_eq!(
            on_disk["seq"],
            u32::from_le_bytes(p0[32..36].try_into().unwrap())
        );
        assert_eq!(
            on_disk["packet_count"],
            u16::from_le_bytes(p0[38..40].try_into().unwrap())
        );
        for (f, desc) in files.iter().zip(on_disk["packets"].as_array().unwrap()) {
            assert_eq!(desc["len"], f.len());
            let crc = u32::from_le_bytes(f[12..16].try_into().unwrap());
            assert_eq!(desc["crc32c"], format!("{crc:#010x}"));
            let mut z = f.clone();
            z[12..16].fill(0);
            assert_eq!(crc32c(&z), crc);
        }
    }
}

#[test]
fn v2_encoder_output_matches_golden_files_byte_for_byte() {
    for v in &VECTORS_V2 {
        let files = read_packets(v.name);
        let encoded = common::encode_v2_vector(v);
        assert_eq!(
            files.len(),
            encoded.len(),
            "{}: packet count; {REGENERATE}",
            v.name
        );
        for (i, (f, e)) in files.iter().zip(&encoded).enumerate() {
            assert!(
                f == e,
                "{}/{}: bytes differ; {REGENERATE}",
                v.name,
                describe::packet_file(i)
            );
            assert!(f.len() <= v.max_packet);
        }
        let path = golden_dir().join(v.name).join("expected.json");
        let on_disk: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(
            on_disk,
            describe::describe_v2(v, &files),
            "{}; {REGENERATE}",
            path.display()
        );
    }
}

#[test]
fn protocol_md_worked_example_is_the_golden_packet() {
    let md_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../PROTOCOL.md");
    let md = fs::read_to_string(&md_path).expect("PROTOCOL.md");
    let marker = "<!-- golden: soft-1460/packet-000.bin -->";
    let start = md.find(marker).expect("hex dump marker in PROTOCOL.md") + marker.len();
    let block = &md[start..];
    let body = block
        .split("```")
        .nth(1)
        .expect("code block after the marker");
    let bytes = describe::parse_hexdump(body.trim_start_matches("text"));
    let golden = fs::read(golden_dir().join("soft-1460/packet-000.bin")).unwrap();
    assert_eq!(
        bytes, golden,
        "PROTOCOL.md hex dump differs from the golden packet"
    );
    // The dump shown is also exactly what describe::hexdump prints.
    assert!(block.contains(&describe::hexdump(&golden)));
}
