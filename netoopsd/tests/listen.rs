//! `netoopsd listen` as a child process, fed over real loopback sockets; then `ls`, `show`,
//! `top` on the database it wrote; and a kill -9 durability check.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, ChildStdout, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use netoops_codec::wire::golden::{OOPS, SOFT};
use netoops_codec::wire::{packet_crc, Dump};
use serde_json::Value;

fn exe() -> &'static str {
    env!("CARGO_BIN_EXE_netoopsd")
}

fn packets(d: Dump<'_>, max: usize) -> Vec<Vec<u8>> {
    netoopsd::encode::encode_dump(d, max).unwrap()
}

struct Listener {
    child: Child,
    addr: SocketAddr,
    lines: mpsc::Receiver<String>,
    stderr: BufReader<ChildStderr>,
}

fn start(db: &Path, bind: &str, extra: &[&str]) -> Listener {
    let mut child = Command::new(exe())
        .arg("--db")
        .arg(db)
        .args(["listen", "--listen", bind, "--stats-json"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let addr = line
        .strip_prefix("netoopsd: listening on ")
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("listening line: {line:?}"))
        .parse()
        .unwrap();
    let stdout: ChildStdout = child.stdout.take().unwrap();
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines() {
            if tx.send(l.unwrap()).is_err() {
                break;
            }
        }
    });
    Listener {
        child,
        addr,
        lines,
        stderr,
    }
}

impl Listener {
    fn send(&self, pk: &[u8]) {
        let s = UdpSocket::bind(if self.addr.is_ipv4() {
            "127.0.0.1:0"
        } else {
            "[::1]:0"
        })
        .unwrap();
        s.send_to(pk, self.addr).unwrap();
    }
    fn stored_line(&self) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(20))
            .expect("a stored line")
    }
    fn child_kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
    fn finish(mut self) -> (i32, Value) {
        let status = self.child.wait().unwrap();
        let mut rest = String::new();
        let mut stats = Value::Null;
        while self.stderr.read_line(&mut rest).unwrap() > 0 {
            if rest.starts_with('{') {
                stats = serde_json::from_str(&rest).unwrap();
            }
            rest.clear();
        }
        (status.code().unwrap_or(-1), stats)
    }
}

fn run(db: &Path, args: &[&str]) -> Output {
    Command::new(exe())
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .unwrap()
}

fn json(db: &Path, args: &[&str]) -> Value {
    let o = run(db, args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn tmpdb(name: &str) -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join(name);
    (d, p)
}

#[test]
fn receives_reassembles_stores_and_counts_bad_packets() {
    let (_d, db) = tmpdb("a.db");
    let l = start(
        &db,
        "127.0.0.1:0",
        &[
            "--exit-after-dumps",
            "2",
            "--partial-timeout",
            "1",
            "--timeout",
            "30",
        ],
    );
    let oops = packets(OOPS, 512);
    let mut seq5 = OOPS;
    seq5.seq = 5;
    let partial = packets(seq5, 512);
    // Malformed: garbage, a flipped bit, a truncated packet.
    l.send(b"not a netoops packet");
    let mut flipped = oops[1].clone();
    flipped[200] ^= 1;
    l.send(&flipped);
    l.send(&oops[2][..100]);
    // A packet of the partial dump that claims another dump length (valid CRC).
    let mut other_len = partial[1].clone();
    let dl = u32::from_le_bytes(other_len[40..44].try_into().unwrap()) + 64;
    other_len[40..44].copy_from_slice(&dl.to_le_bytes());
    let crc = packet_crc(&other_len);
    other_len[12..16].copy_from_slice(&crc.to_le_bytes());
    // The partial dump: packets 0, 2, 3 (then the inconsistent one), never 1 and 4-8.
    for i in [0, 2, 3] {
        l.send(&partial[i]);
    }
    l.send(&other_len);
    // The complete dump, backwards, with a copy while it is reassembled and one after.
    for (i, p) in oops.iter().enumerate().rev() {
        l.send(p);
        if i == 4 {
            l.send(p);
        }
    }
    l.send(&oops[4]);
    let first = l.stored_line();
    assert!(first.starts_with("stored id=1 dump=6f1c2b7e-9a4d-4c3e-8b21-5d0f7a9e3c41#7 from=127.0.0.1 reason=oops state=complete bucket="), "{first}");
    assert!(
        first.ends_with(
            "title=\"BUG: unable to handle kernel NULL pointer dereference in netoops_test_write\""
        ),
        "{first}"
    );
    let second = l.stored_line();
    assert!(
        second.contains("#5 from=127.0.0.1 reason=oops state=partial(3/9)"),
        "{second}"
    );
    let (code, stats) = l.finish();
    assert_eq!(code, 0);
    assert_eq!(stats["packets"], 3 + 3 + 1 + 9 + 2);
    assert_eq!(stats["late"], 1);
    assert_eq!(stats["malformed"], 3);
    assert_eq!(stats["malformed_by_kind"]["bad_magic"], 1);
    assert_eq!(stats["malformed_by_kind"]["bad_crc"], 1);
    assert_eq!(stats["malformed_by_kind"]["truncated"], 1);
    assert_eq!(stats["inconsistent"], 1);
    assert_eq!(stats["duplicates"], 1);
    assert_eq!(stats["dumps_complete"], 1);
    assert_eq!(stats["dumps_partial"], 1);
    assert_eq!(stats["stored"], 2);

    let ls = json(&db, &["ls", "--json"]);
    assert_eq!(ls.as_array().unwrap().len(), 2);
    assert_eq!(ls[0]["id"], 2);
    assert_eq!(ls[0]["complete"], false);
    let only_partial = json(&db, &["ls", "--json", "--partial"]);
    assert_eq!(only_partial.as_array().unwrap().len(), 1);
    let by_kernel = json(
        &db,
        &[
            "ls",
            "--json",
            "--kernel",
            "6.12.0-netoops",
            "--cpu-model",
            "85",
        ],
    );
    assert_eq!(by_kernel.as_array().unwrap().len(), 2);
    assert_eq!(
        json(&db, &["ls", "--json", "--board", "nope"]),
        Value::Array(vec![])
    );

    let show = json(&db, &["show", "2", "--json"]);
    assert_eq!(
        show["dump"]["missing_packets"],
        serde_json::json!([[1, 1], [4, 8]])
    );
    assert!(!show["dump"]["log_missing"].as_array().unwrap().is_empty());
    assert_eq!(show["log_missing"], show["dump"]["log_missing"]);
    let text = run(&db, &["show", "1"]);
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.starts_with("report 1\n  title:          BUG: unable to handle kernel NULL pointer dereference in netoops_test_write\n"), "{text}");
    assert!(text.contains("  registers:      x86_64 (source: fault)\n"));
    assert!(text.contains("----- log -----\n"));

    // The partial dump lost the start of its oops: its own bucket, from the log it has.
    let top = json(&db, &["top", "--json"]);
    assert_eq!(top.as_array().unwrap().len(), 2, "{top:#}");
    assert_eq!(top[0]["count"], 1);
    assert_eq!(top[0]["machines"], 1);
    assert_eq!(top[0]["last_id"], 2);
    let tsv = String::from_utf8(run(&db, &["top"]).stdout).unwrap();
    assert!(tsv.starts_with("1\t1\t1\t"), "{tsv}");
}

#[test]
fn a_stored_report_survives_kill_9() {
    let (_d, db) = tmpdb("k.db");
    let mut l = start(&db, "127.0.0.1:0", &[]);
    for p in packets(SOFT, 1460) {
        l.send(&p);
    }
    let line = l.stored_line();
    assert!(line.starts_with("stored id=1 "), "{line}");
    l.child.kill().unwrap(); // SIGKILL
    l.child.wait().unwrap();
    let ls = json(&db, &["ls", "--json"]);
    assert_eq!(ls.as_array().unwrap().len(), 1);
    assert_eq!(ls[0]["title"], "soft dump: no crash report in log");
    let show = json(&db, &["show", "1", "--json"]);
    assert_eq!(
        show["dump"]["log"],
        "[   42.123456] sysrq: netoops soft dump\n"
    );
}

#[test]
fn ipv6_and_timeouts() {
    let (_d, db) = tmpdb("v6.db");
    if UdpSocket::bind("[::1]:0").is_err() {
        eprintln!("no IPv6 loopback here; skipping the IPv6 part");
        return;
    }
    let l = start(
        &db,
        "[::1]:0",
        &["--exit-after-dumps", "2", "--timeout", "2"],
    );
    for p in packets(SOFT, 1460) {
        l.send(&p);
    }
    assert!(l
        .stored_line()
        .contains(" from=::1 reason=soft state=complete "));
    let (code, stats) = l.finish();
    assert_eq!(code, 2, "timeout before the second dump");
    assert_eq!(stats["end"], "timeout");
}

#[test]
fn errors_name_what_is_at_fault() {
    let (_d, db) = tmpdb("missing.db");
    let o = run(&db, &["ls"]);
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8(o.stderr).unwrap();
    assert_eq!(
        e,
        format!(
            "netoopsd: error: {}: no such database (netoopsd listen creates it; see --db)\n",
            db.display()
        )
    );
    // An existing database, a report that is not there.
    let (_d2, db2) = tmpdb("b.db");
    let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let o = run(&db2, &["listen", "--listen", &addr, "--timeout", "1"]);
    let e = String::from_utf8(o.stderr).unwrap();
    assert!(
        e.contains(&format!("netoopsd: error: {addr}: cannot bind")),
        "{e}"
    );
    let o = run(&db2, &["show", "42"]);
    let e = String::from_utf8(o.stderr).unwrap();
    assert_eq!(
        e,
        format!(
            "netoopsd: error: {}: report 42: no such report\n",
            db2.display()
        )
    );
    let o = run(&db2, &["ls", "--since", "yesterday"]);
    let e = String::from_utf8(o.stderr).unwrap();
    assert!(
        e.starts_with("netoopsd: error: --since: \"yesterday\": not a time"),
        "{e}"
    );
    let o = run(&db2, &["listen", "--listen", "localhost"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8(o.stderr).unwrap().contains("localhost"));
}

/// A receive buffer the kernel grants smaller than asked for (capped by
/// `net.core.rmem_max`) is said once per socket, with what was granted and the limit; one it
/// grants whole is not.
#[test]
fn a_capped_receive_buffer_is_named() {
    let rmem_max: usize = std::fs::read_to_string("/proc/sys/net/core/rmem_max")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let (_d, db) = tmpdb("rcvbuf.db");
    let asked = (rmem_max * 4).to_string();
    let args = ["listen", "--listen", "127.0.0.1:0", "--timeout", "0.2"];
    let o = run(&db, &[&args[..], &["--rcvbuf", &asked]].concat());
    let e = String::from_utf8(o.stderr).unwrap();
    let line = e
        .lines()
        .find(|l| l.contains("socket receive buffer"))
        .unwrap_or_else(|| panic!("no line about the buffer: {e}"));
    assert!(line.starts_with("netoopsd: 127.0.0.1:"), "{line}");
    assert!(line.contains(": socket receive buffer of "), "{line}");
    // After the listening line, which stays the first.
    assert!(e.starts_with("netoopsd: listening on "), "{e}");
    assert!(
        line.contains(&format!(
            "not the {asked} asked for (--rcvbuf): net.core.rmem_max is {rmem_max};"
        )),
        "{line}"
    );
    // A buffer within the limit: nothing said.
    let o = run(&db, &[&args[..], &["--rcvbuf", "65536"]].concat());
    let e = String::from_utf8(o.stderr).unwrap();
    assert!(!e.contains("socket receive buffer"), "{e}");
}

#[test]
fn packets_after_a_partial_report_was_stored_complete_it_even_after_a_restart() {
    let (_d, db) = tmpdb("late.db");
    let args = [
        "--exit-after-dumps",
        "2",
        "--partial-timeout",
        "1",
        "--timeout",
        "30",
    ];
    let pk = packets(OOPS, 512);
    assert_eq!(pk.len(), 9);
    // One collector: stored partial, then completed by the rest, under the same id.
    let l = start(&db, "127.0.0.1:0", &args);
    for p in &pk[..4] {
        l.send(p);
    }
    let first = l.stored_line();
    assert!(
        first.contains("stored id=1 ") && first.contains("state=partial(4/9)"),
        "{first}"
    );
    for p in &pk[4..] {
        l.send(p);
    }
    let second = l.stored_line();
    assert!(
        second.contains("stored id=1 ") && second.contains("state=complete"),
        "{second}"
    );
    let (code, stats) = l.finish();
    assert_eq!(code, 0);
    assert_eq!(
        (stats["reopened"].as_u64(), stats["late"].as_u64()),
        (Some(1), Some(0))
    );

    // Across a restart: the new collector knows nothing of the dump; the store merges.
    let mut seq9 = OOPS;
    seq9.seq = 9;
    let pk = packets(seq9, 512);
    let l = start(&db, "127.0.0.1:0", &args[2..]);
    for p in &pk[..3] {
        l.send(p);
    }
    let partial = l.stored_line();
    assert!(
        partial.contains("stored id=2 ") && partial.contains("state=partial(3/9)"),
        "{partial}"
    );
    l.child_kill();
    let l = start(&db, "127.0.0.1:0", &args[2..]);
    for p in &pk[3..] {
        l.send(p);
    }
    let merged = l.stored_line();
    assert!(
        merged.contains("stored id=2 ") && merged.contains("state=complete"),
        "{merged}"
    );
    l.child_kill();

    let ls = json(&db, &["ls", "--json"]);
    let ls = ls.as_array().unwrap();
    assert_eq!(ls.len(), 2, "{ls:?}");
    assert!(ls.iter().all(|r| r["complete"] == true), "{ls:?}");
    let shown = run(&db, &["show", "2"]);
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.contains("netoops_test_write"), "{shown}");
}
