//! Runs the `netoopsd` binary on the golden vectors and on captures built from them.

#[allow(dead_code)]
#[path = "../src/input/testutil.rs"]
mod testutil;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn golden(name: &str) -> PathBuf {
    repo().join("codec/golden").join(name)
}

fn golden_files(name: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(golden(name))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "bin"))
        .collect();
    v.sort();
    v
}

fn tmp(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("netoopsd-cli");
    fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn netoopsd(args: &[&str], files: &[PathBuf]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_netoopsd"))
        .args(args)
        .args(files)
        .output()
        .expect("run netoopsd")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn decode_json(files: &[PathBuf]) -> Value {
    let o = netoopsd(&["decode", "--json"], files);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_str(&stdout(&o)).unwrap()
}

/// The fenced block that follows `marker` in PROTOCOL.md.
fn protocol_block(marker: &str) -> String {
    let md = fs::read_to_string(repo().join("PROTOCOL.md")).unwrap();
    let at = md.find(marker).expect("marker in PROTOCOL.md") + marker.len();
    let rest = &md[at..];
    let body = rest.split("```").nth(1).expect("fenced block");
    body.strip_prefix("text\n")
        .expect("```text block")
        .to_string()
}

/// Every field of `expected` is in `actual` with the same value (objects compared
/// recursively; `actual` may have more fields).
fn assert_subset(expected: &Value, actual: &Value, path: &str) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, v) in e {
                let av = a
                    .get(k)
                    .unwrap_or_else(|| panic!("{path}.{k} missing in output"));
                assert_subset(v, av, &format!("{path}.{k}"));
            }
        }
        _ => assert_eq!(expected, actual, "at {path}"),
    }
}

/// Checks a decoded dump against a golden vector's expected.json.
fn check_against_expected(dump: &Value, name: &str) {
    let exp: Value =
        serde_json::from_str(&fs::read_to_string(golden(name).join("expected.json")).unwrap())
            .unwrap();
    for key in [
        "boot_id",
        "seq",
        "reason",
        "packet_count",
        "dump_len",
        "log_len",
        "log_truncated",
        "regs_source",
        "facts",
        "regs",
        "log",
    ] {
        assert_subset(&exp[key], &dump[key], &format!("{name}.{key}"));
    }
    let got = dump["packets"].as_array().unwrap();
    let want = exp["packets"].as_array().unwrap();
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        for key in ["index", "len", "packet_offset", "crc32c"] {
            assert_eq!(g[key], w[key], "{name} packet {}: {key}", w["index"]);
        }
    }
}

#[test]
fn worked_example_prints_exactly_what_protocol_md_says() {
    let file = golden("soft-1460").join("packet-000.bin");
    let o = netoopsd(&["decode"], &[file]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        protocol_block("<!-- decoded: soft-1460/packet-000.bin -->")
    );
    assert!(stderr(&o).contains("1 dump(s), 0 duplicate(s), 0 inconsistent, 0 malformed"));
}

#[test]
fn golden_vectors_decode_to_their_expected_values() {
    for name in ["soft-1460", "oops-1460", "oops-512"] {
        let out = decode_json(&golden_files(name));
        let dumps = out["dumps"].as_array().unwrap();
        assert_eq!(dumps.len(), 1, "{name}");
        assert_eq!(dumps[0]["complete"], true);
        assert_eq!(dumps[0]["log_missing"], Value::Array(vec![]));
        check_against_expected(&dumps[0], name);
        assert_eq!(out["stats"]["malformed"], 0);
    }
}

/// The key file of the sealed golden vectors: their published test key.
fn test_key_file(dir: &Path) -> PathBuf {
    let path = dir.join("keys");
    let key: String = b"netoops golden vectors test key!"
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    fs::write(&path, format!("# the golden vectors' test key\n1 {key}\n")).unwrap();
    path
}

#[test]
fn v2_golden_vectors_decode_to_the_same_dump_as_v1() {
    let dir = tempfile::tempdir().unwrap();
    let keys = test_key_file(dir.path());
    let v1 = decode_json(&golden_files("oops-1460"));
    let want = &v1["dumps"][0];
    for (name, args) in [
        ("oops-v2-1460", vec!["decode", "--json"]),
        (
            "oops-v2-sealed-512",
            vec!["decode", "--json", "--keys", keys.to_str().unwrap()],
        ),
    ] {
        let o = netoopsd(&args, &golden_files(name));
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        let out: Value = serde_json::from_str(&stdout(&o)).unwrap();
        let d = &out["dumps"][0];
        assert_eq!(out["dumps"].as_array().unwrap().len(), 1, "{name}");
        assert_eq!(d["complete"], true, "{name}");
        for key in [
            "boot_id",
            "seq",
            "reason",
            "log_len",
            "log_truncated",
            "facts",
            "regs",
            "log",
        ] {
            assert_eq!(d[key], want[key], "{name}: {key}");
        }
        assert_eq!(out["stats"]["malformed"], 0, "{name}");
    }
    // Sealed packets without the key: refused, nothing decoded.
    let o = netoopsd(&["decode", "--json"], &golden_files("oops-v2-sealed-512"));
    assert!(o.status.success());
    let out: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(out["dumps"].as_array().unwrap().len(), 0);
    assert!(
        stderr(&o).contains("sealed packet (key id 1) but no key file given"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("8 refused"), "{}", stderr(&o));
    // A malformed key file names itself, the line and the fault.
    let bad = dir.path().join("bad-keys");
    fs::write(&bad, "1 00112233\n").unwrap();
    let o = netoopsd(
        &["decode", "--keys", bad.to_str().unwrap()],
        &golden_files("oops-v2-1460"),
    );
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains(&format!(
            "{}:1: key 1: expected 64 hex digits (32 bytes), got 8 characters",
            bad.display()
        )),
        "{}",
        stderr(&o)
    );
}

#[test]
fn oops_text_output_names_every_register_and_fact() {
    let o = netoopsd(&["decode"], &golden_files("oops-1460"));
    assert!(o.status.success());
    let text = stdout(&o);
    for want in [
        "dump 6f1c2b7e-9a4d-4c3e-8b21-5d0f7a9e3c41#7\n",
        "  reason:         oops\n",
        "  packets:        3 of 3 received, complete\n",
        "  kernel version: #1 SMP PREEMPT_DYNAMIC Thu Jan  1 00:00:00 UTC 2026\n",
        "  cpu vendor:     GenuineIntel\n",
        "  cpu:            family 6 model 85 stepping 7 microcode 0x5000036\n",
        "  bios vendor:    SeaBIOS\n",
        "  product name:   Standard PC (i440FX + PIIX, 1996)\n",
        "  taint:          0x1080 (D O)\n",
        "  user blob:      deadbeef00010203 (8 bytes)\n",
        "  registers:      x86_64 (source: fault)\n",
        "    orig_ax ffffffffffffffff        ip ffffffffc0a12034        cs 0000000000000010\n",
        "  log:            3132 bytes (cut to the configured size), complete\n",
        "---[ end trace 0000000000000000 ]---\n----- end of log -----\n",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    for name in [
        "r15", "r14", "r13", "r12", "bp", "bx", "r11", "r10", "r9", "r8", "ax", "cx", "dx", "si",
        "di", "orig_ax", "ip", "cs", "flags", "sp", "ss",
    ] {
        assert!(text.contains(&format!(" {name} ")), "register {name}");
    }
}

#[test]
fn pcap_and_pcapng_captures_give_the_same_dump_as_raw_files() {
    let payloads: Vec<Vec<u8>> = golden_files("oops-1460")
        .iter()
        .map(|f| fs::read(f).unwrap())
        .collect();
    let mut frames: Vec<Vec<u8>> = Vec::new();
    frames.push(testutil::eth_ipv4_udp(b"unrelated traffic"));
    for p in payloads.iter().rev() {
        frames.push(testutil::eth_ipv4_udp(p));
    }
    frames.push(testutil::eth_ipv6_udp(&payloads[1])); // a retransmitted copy, over IPv6
    let raw = decode_json(&golden_files("oops-1460"));
    for (name, bytes) in [
        ("cap.pcap", testutil::pcap(&frames, false, false)),
        ("cap-be-ns.pcap", testutil::pcap(&frames, true, true)),
        ("cap.pcapng", testutil::pcapng(&frames, false)),
    ] {
        let path = tmp(name);
        fs::write(&path, bytes).unwrap();
        let out = decode_json(&[path]);
        let d = &out["dumps"][0];
        check_against_expected(d, "oops-1460");
        assert_eq!(d["duplicates"], 1, "{name}");
        assert_eq!(d["log"], raw["dumps"][0]["log"]);
        assert_eq!(out["files"][0]["frames"], 5);
        assert_eq!(out["files"][0]["skipped"], 1);
    }
}

#[test]
fn partial_dump_shows_missing_packets_and_log_ranges() {
    let files: Vec<PathBuf> = golden_files("oops-512")
        .into_iter()
        .enumerate()
        .filter(|(i, _)| ![0, 4, 5, 8].contains(i))
        .map(|(_, f)| f)
        .collect();
    let out = decode_json(&files);
    let d = &out["dumps"][0];
    assert_eq!(d["complete"], false);
    assert_eq!(d["packets_received"], 5);
    assert_eq!(
        d["missing_packets"],
        serde_json::json!([[0, 0], [4, 5], [8, 8]])
    );
    assert_eq!(d["log"], Value::Null);
    // oops-512 carries 444 log bytes per log packet after 268 in packet 1 (see
    // expected.json offsets): packets 4-5 hold 1156..2044, packet 8 holds 2932..3132.
    assert_eq!(
        d["log_missing"],
        serde_json::json!([[1156, 2044], [2932, 3132]])
    );
    assert!(
        d["facts"].get("hostname").is_none(),
        "facts were in the lost packet 0"
    );
    let o = netoopsd(&["decode"], &files);
    let text = stdout(&o);
    assert!(
        text.contains("  packets:        5 of 9 received, missing 0, 4-5, 8\n"),
        "{text}"
    );
    assert!(
        text.contains("missing 1156..2044, 2932..3132 (1088 bytes)\n"),
        "{text}"
    );
    assert!(
        text.contains("\n[netoops: log bytes 1156..2044 missing]\n"),
        "{text}"
    );
    assert!(text.contains("\n[netoops: log bytes 2932..3132 missing]\n----- end of log -----\n"));
}

#[test]
fn bad_container_files_are_fatal_with_file_and_offset() {
    let payload = fs::read(golden("soft-1460").join("packet-000.bin")).unwrap();
    let frames = vec![
        testutil::eth_ipv4_udp(&payload),
        testutil::eth_ipv4_udp(&payload),
    ];
    let pcap = testutil::pcap(&frames, false, false);
    let second = 24 + 16 + frames[0].len();
    let path = tmp("truncated.pcap");
    fs::write(&path, &pcap[..second + 7]).unwrap();
    let o = netoopsd(&["decode"], std::slice::from_ref(&path));
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        format!(
            "netoopsd: error: {}: offset {second}: truncated pcap record header (7 of 16 bytes)\n",
            path.display()
        )
    );
    assert_eq!(stdout(&o), "");

    let path = tmp("notes.txt");
    fs::write(&path, "hello, world\n").unwrap();
    let o = netoopsd(&["decode"], std::slice::from_ref(&path));
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        format!(
            "netoopsd: error: {}: offset 0: not a pcap, pcapng or netoops packet file (starts with 68 65 6c 6c)\n",
            path.display()
        )
    );

    let o = netoopsd(&["decode"], &[tmp("does-not-exist.pcap")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("does-not-exist.pcap: cannot read: "),
        "{}",
        stderr(&o)
    );

    let o = netoopsd(&["decode"], &[]);
    assert_eq!(o.status.code(), Some(2), "usage error");
}

#[test]
fn malformed_packets_are_reported_not_fatal() {
    let mut payload = fs::read(golden("soft-1460").join("packet-000.bin")).unwrap();
    payload[100] ^= 0x04;
    let bad = tmp("bad-crc.bin");
    fs::write(&bad, &payload).unwrap();
    let good = golden("oops-1460").join("packet-000.bin");
    let o = netoopsd(&["decode"], &[bad.clone(), good]);
    assert!(o.status.success());
    let err = stderr(&o);
    assert!(
        err.starts_with(&format!(
            "{}: offset 12: malformed netoops packet: CRC32C mismatch: packet says 0x14672e53, computed 0x",
            bad.display()
        )),
        "{err}"
    );
    assert!(
        err.contains("2 netoops packet(s): 1 dump(s), 0 duplicate(s), 0 inconsistent, 1 malformed")
    );
    assert!(stdout(&o).starts_with("dump 6f1c2b7e-9a4d-4c3e-8b21-5d0f7a9e3c41#7\n"));

    // In a capture, the offset is the packet's position in the file plus the offset of
    // the error within the packet.
    let frames = vec![testutil::eth_ipv4_udp(&payload)];
    let path = tmp("bad-crc.pcap");
    fs::write(&path, testutil::pcap(&frames, false, false)).unwrap();
    let out = decode_json(&[path]);
    assert_eq!(out["stats"]["malformed"], 1);
    assert_eq!(out["rejected"][0]["offset"], 24 + 16 + 42 + 12);
    assert_eq!(out["dumps"], serde_json::json!([]));
}

/// `netoopsd bench` says where the CPU went: per dump, each of the collector's threads and
/// the rest of the process, which add up to the CPU the collector spent in all; and the
/// cores the generator took, for the count-only receiver too.
#[test]
fn bench_splits_the_collectors_cpu_by_thread() {
    let db = tmp("bench-cpu.db");
    let o = netoopsd(
        &[
            "--db",
            db.to_str().unwrap(),
            "bench",
            "--rates",
            "4000",
            "--seconds",
            "1",
            "--log-kib",
            "4,8",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    let after = |receiver: &str| {
        let i = lines
            .iter()
            .position(|l| l.starts_with(receiver))
            .expect(receiver);
        (lines[i], lines[i + 1].trim())
    };
    let generator = |l: &str| -> f64 {
        let cores = l.split("the generator took ").nth(1).expect(l);
        cores.split_whitespace().next().unwrap().parse().unwrap()
    };
    let (_, cpu) = after("count-only");
    assert!(generator(cpu) > 0.0, "{cpu}");
    let (result, cpu) = after("netoopsd ");
    assert!(generator(cpu) > 0.0, "{cpu}");
    // `netoopsd  4000  SENT_PPS  MB/s  SENT  RECEIVED  ...  COMPLETE/DUMPS  CPU-s/100k ...`
    let cols: Vec<&str> = result.split_whitespace().collect();
    let received: f64 = cols[5].parse().unwrap();
    let dumps: f64 = cols[9].split('/').nth(1).unwrap().parse().unwrap();
    let total_s = cols[10].parse::<f64>().unwrap() * received / 1e5;
    let parts = cpu
        .strip_prefix("CPU per dump: ")
        .and_then(|l| l.split(';').next())
        .expect(cpu);
    let mut us = std::collections::BTreeMap::new();
    for part in parts.split(", ") {
        let (thread, n) = part.strip_suffix(" us").unwrap().rsplit_once(' ').unwrap();
        us.insert(thread, n.parse::<f64>().unwrap());
    }
    for thread in ["receive", "report", "store", "checkpoint", "other"] {
        assert!(us.contains_key(thread), "{thread} missing: {cpu}");
    }
    assert!(
        us["receive"] > 0.0 && us["report"] > 0.0 && us["store"] > 0.0,
        "{cpu}"
    );
    let parts_s = us.values().sum::<f64>() * dumps / 1e6;
    // Each figure is rounded to a microsecond per dump.
    assert!(
        (parts_s - total_s).abs() <= 0.005 + 3.0 * dumps / 1e6,
        "{parts_s} s against {total_s} s: {cpu}"
    );
    assert!(us["other"] * dumps / 1e6 <= 0.25 * total_s, "{cpu}");
}
