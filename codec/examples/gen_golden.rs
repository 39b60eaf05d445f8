//! Regenerates the golden test vectors in `codec/golden/` from `wire::golden::VECTORS`:
//!
//!     cargo run -p netoops-codec --example gen_golden
//!
//! Writes `golden/<name>/packet-NNN.bin` (one UDP payload each) and
//! `golden/<name>/expected.json`, and prints the hex dump of the worked example that
//! `PROTOCOL.md` shows. Only run it when the format changes on purpose: the golden test
//! fails whenever the encoder's output differs from the committed files.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/common/describe.rs"]
mod describe;

use std::fs;
use std::path::Path;

use netoops_codec::wire::golden::{VECTORS, VECTORS_V2};

fn main() -> std::io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("golden");
    for v in &VECTORS {
        let dir = root.join(v.name);
        fs::create_dir_all(&dir)?;
        for e in fs::read_dir(&dir)? {
            let p = e?.path();
            if p.extension().is_some_and(|x| x == "bin") {
                fs::remove_file(p)?;
            }
        }
        let packets = common::encode_all(v.dump, v.max_packet);
        for (i, p) in packets.iter().enumerate() {
            fs::write(dir.join(describe::packet_file(i)), p)?;
        }
        let desc = describe::describe(v, &packets);
        let mut text = serde_json::to_string_pretty(&desc).expect("json");
        text.push('\n');
        fs::write(dir.join("expected.json"), text)?;
        println!("{}: {} packets", v.name, packets.len());
    }
    for v in &VECTORS_V2 {
        let dir = root.join(v.name);
        fs::create_dir_all(&dir)?;
        for e in fs::read_dir(&dir)? {
            let p = e?.path();
            if p.extension().is_some_and(|x| x == "bin") {
                fs::remove_file(p)?;
            }
        }
        let packets = common::encode_v2_vector(v);
        for (i, p) in packets.iter().enumerate() {
            fs::write(dir.join(describe::packet_file(i)), p)?;
        }
        let mut text =
            serde_json::to_string_pretty(&describe::describe_v2(v, &packets)).expect("json");
        text.push('\n');
        fs::write(dir.join("expected.json"), text)?;
        println!("{}: {} packets", v.name, packets.len());
    }
    let example = fs::read(root.join("soft-1460").join(describe::packet_file(0)))?;
    println!(
        "\nsoft-1460/packet-000.bin:\n{}",
        describe::hexdump(&example)
    );
    Ok(())
}
