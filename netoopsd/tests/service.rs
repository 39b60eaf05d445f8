//! `netoopsd listen` as a service: the Prometheus `/metrics` endpoint scraped over TCP and
//! parsed, SIGTERM (pending dumps stored as partial, exit 0), SIGHUP (the configuration file
//! read again), the configuration file's errors, and the systemd unit checked by
//! `systemd-analyze verify` and `systemd-analyze security`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use netoops_codec::wire::golden::OOPS;
use netoops_codec::wire::Dump;

fn exe() -> &'static str {
    env!("CARGO_BIN_EXE_netoopsd")
}

fn dist(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("dist")
        .join(name)
}

fn packets(d: Dump<'_>, max: usize) -> Vec<Vec<u8>> {
    netoopsd::encode::encode_dump(d, max).unwrap()
}

/// A running `netoopsd listen`, its output lines read as they come.
struct Proc {
    child: Child,
    out: mpsc::Receiver<String>,
    err: mpsc::Receiver<String>,
    /// Standard error lines seen so far.
    err_seen: Vec<String>,
    udp: SocketAddr,
}

fn lines(r: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(r).lines() {
            let Ok(l) = l else { break };
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    rx
}

impl Proc {
    fn start(db: &Path, args: &[&str]) -> Proc {
        Proc::start_env(db, args, &[])
    }

    fn start_env(db: &Path, args: &[&str], env: &[(&str, &str)]) -> Proc {
        let mut child = Command::new(exe())
            .env_remove("NOTIFY_SOCKET")
            .envs(env.iter().copied())
            .arg("--db")
            .arg(db)
            .arg("listen")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = lines(child.stdout.take().unwrap());
        let err = lines(child.stderr.take().unwrap());
        let mut p = Proc {
            child,
            out,
            err,
            err_seen: Vec::new(),
            udp: "0.0.0.0:0".parse().unwrap(),
        };
        let l = p.stderr_line("netoopsd: listening on ");
        p.udp = l["netoopsd: listening on ".len()..]
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        p
    }

    /// Waits for a standard error line starting with `prefix` (seen before or to come).
    fn stderr_line(&mut self, prefix: &str) -> String {
        if let Some(l) = self.err_seen.iter().find(|l| l.starts_with(prefix)) {
            return l.clone();
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.err.recv_timeout(left) {
                Ok(l) => {
                    self.err_seen.push(l.clone());
                    if l.starts_with(prefix) {
                        return l;
                    }
                }
                Err(_) => panic!(
                    "no line {prefix:?} on standard error; it said: {:#?}",
                    self.err_seen
                ),
            }
        }
    }

    /// The address in a `... http://ADDR/...` line.
    fn http_addr(&mut self, prefix: &str) -> SocketAddr {
        let l = self.stderr_line(prefix);
        let rest = l.split("http://").nth(1).unwrap();
        rest[..rest.find('/').unwrap()].parse().unwrap()
    }

    fn send(&self, pk: &[u8]) {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.send_to(pk, self.udp).unwrap();
    }

    fn stored_line(&self) -> String {
        self.out
            .recv_timeout(Duration::from_secs(20))
            .expect("a stored line")
    }

    fn signal(&self, sig: &str) {
        let st = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(st.success());
    }

    /// Waits for the exit (at most `within`); the exit code and how long it took.
    fn wait(mut self, within: Duration) -> (i32, Duration, Vec<String>) {
        let t0 = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                let took = t0.elapsed();
                while let Ok(l) = self.err.recv_timeout(Duration::from_secs(5)) {
                    self.err_seen.push(l);
                }
                return (st.code().unwrap_or(-1), took, self.err_seen);
            }
            if t0.elapsed() > within {
                let _ = self.child.kill();
                panic!("still running {within:?} after being told to stop");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// GET `path` over a TCP connection; the status line's code and the body.
fn get(addr: SocketAddr, path: &str) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let code = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let ctype = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type: ")
                .map(String::from)
        })
        .unwrap_or_default();
    (code, ctype, body.to_string())
}

/// One sample: metric name and labels.
type Series = (String, BTreeMap<String, String>);

/// Parses the Prometheus/OpenMetrics text exposition: every sample, and the declared type
/// of every metric family (`# TYPE name type`).
fn parse_exposition(text: &str) -> (BTreeMap<Series, f64>, BTreeMap<String, String>) {
    let mut samples = BTreeMap::new();
    let mut types = BTreeMap::new();
    for line in text.lines() {
        if let Some(t) = line.strip_prefix("# TYPE ") {
            let (name, ty) = t.split_once(' ').unwrap();
            types.insert(name.to_string(), ty.to_string());
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap();
        let (name, labels) = match series.split_once('{') {
            None => (series.to_string(), BTreeMap::new()),
            Some((name, rest)) => {
                let rest = rest.strip_suffix('}').expect("labels end with }");
                let mut labels = BTreeMap::new();
                let mut chars = rest.chars().peekable();
                while chars.peek().is_some() {
                    let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
                    assert_eq!(chars.next(), Some('"'), "{line}");
                    let mut v = String::new();
                    while let Some(c) = chars.next() {
                        match c {
                            '\\' => v.push(chars.next().unwrap()),
                            '"' => break,
                            c => v.push(c),
                        }
                    }
                    labels.insert(key.trim_start_matches(',').to_string(), v);
                    if chars.peek() == Some(&',') {
                        chars.next();
                    }
                }
                (name.to_string(), labels)
            }
        };
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("value in {line:?}"));
        assert!(
            samples.insert((name, labels), value).is_none(),
            "sample twice: {line}"
        );
    }
    (samples, types)
}

struct Scrape(BTreeMap<Series, f64>);

impl Scrape {
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let l = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.0.get(&(name.to_string(), l)).copied()
    }
    fn val(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels)
            .unwrap_or_else(|| panic!("no sample {name}{labels:?} in {:#?}", self.0))
    }
}

/// Scrapes until `ready` holds (the counters are published every 250 ms or so).
fn scrape_until(addr: SocketAddr, ready: impl Fn(&Scrape) -> bool) -> Scrape {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (code, ctype, body) = get(addr, "/metrics");
        assert_eq!(code, 200, "{body}");
        assert!(ctype.starts_with("application/openmetrics-text"), "{ctype}");
        assert!(body.ends_with("# EOF\n"), "{body}");
        let (samples, types) = parse_exposition(&body);
        for (fam, ty) in [
            ("netoopsd_packets", "counter"),
            ("netoopsd_dumps", "counter"),
            ("netoopsd_store_seconds", "histogram"),
            ("netoopsd_pending_dumps", "gauge"),
            ("netoopsd_caps_hit", "counter"),
            ("process_resident_memory_bytes", "gauge"),
        ] {
            assert_eq!(
                types.get(fam).map(String::as_str),
                Some(ty),
                "{fam}: {body}"
            );
        }
        let s = Scrape(samples);
        if ready(&s) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "the metrics did not get there: {body}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn metrics_count_what_was_sent() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("m.db");
    let mut p = Proc::start(
        &db,
        &[
            "--listen",
            "127.0.0.1:0",
            "--metrics",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
            "--max-pending",
            "1",
            "--partial-timeout",
            "60",
        ],
    );
    let metrics = p.http_addr("netoopsd: metrics on http://");
    // Nothing yet.
    let s = scrape_until(metrics, |_| true);
    assert_eq!(
        s.val("netoopsd_packets_total", &[("outcome", "added")]),
        0.0
    );

    let oops = packets(OOPS, 512);
    let mut seq5 = OOPS;
    seq5.seq = 5;
    let other = packets(seq5, 512);
    let mut sent = Vec::new();
    // One packet of another dump, pushed out as partial by the first packet of the
    // complete one (--max-pending 1).
    sent.push(other[0].clone());
    // The complete dump, with a copy of packet 4 while it is reassembled, and a late copy.
    for (i, pk) in oops.iter().enumerate() {
        sent.push(pk.clone());
        if i == 4 {
            sent.push(pk.clone());
        }
    }
    sent.push(oops[2].clone());
    // Malformed: garbage and a flipped bit.
    sent.push(b"not a netoops packet".to_vec());
    let mut flipped = oops[1].clone();
    flipped[200] ^= 1;
    sent.push(flipped);
    for pk in &sent {
        p.send(pk);
    }
    let lines = [p.stored_line(), p.stored_line()];
    assert!(
        lines
            .iter()
            .any(|l| l.contains("#5 ") && l.contains("state=partial(1/")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("#7 ") && l.contains("state=complete")),
        "{lines:?}"
    );
    let n = sent.len() as f64;
    let s = scrape_until(metrics, |s| {
        s.get("netoopsd_received_packets_total", &[]) == Some(n)
            && s.get("netoopsd_reports_stored_total", &[]) == Some(2.0)
    });
    let packets = |o: &str| s.val("netoopsd_packets_total", &[("outcome", o)]);
    assert_eq!(packets("added"), (1 + oops.len()) as f64);
    assert_eq!(packets("duplicate"), 1.0);
    assert_eq!(packets("late"), 1.0);
    assert_eq!(packets("malformed"), 2.0);
    assert_eq!(packets("inconsistent"), 0.0);
    assert_eq!(packets("refused"), 0.0);
    let outcomes: f64 = [
        "added",
        "duplicate",
        "late",
        "malformed",
        "inconsistent",
        "refused",
    ]
    .iter()
    .map(|o| packets(o))
    .sum();
    assert_eq!(outcomes, n, "every packet has one outcome");
    let bytes: usize = sent.iter().map(Vec::len).sum();
    assert_eq!(s.val("netoopsd_received_bytes_total", &[]), bytes as f64);
    let kind = |k: &str| s.val("netoopsd_malformed_packets_total", &[("kind", k)]);
    assert_eq!(kind("bad_magic"), 1.0);
    assert_eq!(kind("bad_crc"), 1.0);
    assert_eq!(s.val("netoopsd_dumps_total", &[("state", "complete")]), 1.0);
    assert_eq!(s.val("netoopsd_dumps_total", &[("state", "partial")]), 1.0);
    assert_eq!(s.val("netoopsd_dumps_evicted_total", &[]), 1.0);
    assert_eq!(
        s.val("netoopsd_caps_hit_total", &[("cap", "max_pending")]),
        1.0
    );
    assert_eq!(s.val("netoopsd_pending_dumps", &[]), 0.0);
    assert_eq!(s.val("netoopsd_socket_drops_total", &[]), 0.0);
    // One observation per batch stored: one or two batches for the two reports.
    let batches = s.val("netoopsd_store_seconds_count", &[]);
    assert!((1.0..=2.0).contains(&batches), "{batches}");
    let inf = s.val("netoopsd_store_seconds_bucket", &[("le", "+Inf")]);
    assert_eq!(inf, batches);
    assert!(s.val("netoopsd_store_seconds_sum", &[]) > 0.0);
    assert!(s.val("process_resident_memory_bytes", &[]) > 1e6);
    // The CPU time of each role's threads, charged as they worked: the two reports were
    // made and stored before this scrape, and the receiving thread published what it saw.
    let cpu = |t: &str| s.val("netoopsd_cpu_seconds_total", &[("thread", t)]);
    for t in ["receive", "report", "store"] {
        assert!(cpu(t) > 0.0, "{t}: {}", cpu(t));
    }
    let threads: f64 = ["receive", "report", "store", "checkpoint"]
        .iter()
        .map(|t| cpu(t))
        .sum();
    let process = s.val("process_cpu_seconds_total", &[]);
    assert!(threads <= process + 1e-6, "{threads} > {process}");

    // The same metrics beside the web view.
    let web = p.http_addr("netoopsd: serving http://");
    let (code, _, body) = get(web, "/metrics");
    assert_eq!(code, 200);
    let (samples, _) = parse_exposition(&body);
    let on_web = Scrape(samples);
    assert_eq!(
        on_web.val("netoopsd_packets_total", &[("outcome", "added")]),
        packets("added")
    );
    // Other paths are not found.
    assert_eq!(get(metrics, "/nothing").0, 404);

    p.signal("-TERM");
    let (code, _, err) = p.wait(Duration::from_secs(10));
    assert_eq!(code, 0, "{err:#?}");
}

#[test]
fn sigterm_stores_pending_dumps_as_partial_and_exits_0() {
    stop_stores_pending_dumps_as_partial_and_exits_0("-TERM");
}

#[test]
fn sigint_stores_pending_dumps_as_partial_and_exits_0() {
    stop_stores_pending_dumps_as_partial_and_exits_0("-INT");
}

fn stop_stores_pending_dumps_as_partial_and_exits_0(signal: &str) {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("t.db");
    let mut p = Proc::start(
        &db,
        &[
            "--listen",
            "127.0.0.1:0",
            "--metrics",
            "127.0.0.1:0",
            "--partial-timeout",
            "600",
        ],
    );
    let metrics = p.http_addr("netoopsd: metrics on http://");
    let pk = packets(OOPS, 512);
    let half = pk.len() / 2;
    for x in &pk[..half] {
        p.send(x);
    }
    // Received and pending (not stored: the partial timeout is 10 minutes).
    let s = scrape_until(metrics, |s| {
        s.get("netoopsd_pending_dumps", &[]) == Some(1.0)
            && s.get("netoopsd_packets_total", &[("outcome", "added")]) == Some(half as f64)
    });
    assert_eq!(s.val("netoopsd_reports_stored_total", &[]), 0.0);
    assert!(p.out.try_recv().is_err(), "nothing stored before {signal}");

    p.signal(signal);
    let stored = p.stored_line();
    assert!(
        stored.contains(&format!("state=partial({half}/{})", pk.len())),
        "{stored}"
    );
    let (code, took, err) = p.wait(Duration::from_secs(5));
    assert_eq!(code, 0, "{err:#?}");
    assert!(took < Duration::from_secs(3), "took {took:?} to exit");
    assert!(
        err.iter()
            .any(|l| l.starts_with("netoopsd: storing dump ") && l.ends_with(" at exit")),
        "{err:#?}"
    );
    // In the database.
    let o = Command::new(exe())
        .arg("--db")
        .arg(&db)
        .args(["ls", "--json"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let ls: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let ls = ls.as_array().unwrap();
    assert_eq!(ls.len(), 1);
    assert_eq!(ls[0]["complete"], false);
}

#[test]
fn sighup_reads_the_config_file_again() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("r.db");
    let conf = d.path().join("netoopsd.toml");
    // A switch in the file: the final counters as JSON (read at the end of this test).
    std::fs::write(
        &conf,
        "listen = [\"127.0.0.1:0\"]\npartial-timeout = 600\nstats-json = true\n",
    )
    .unwrap();
    let conf_s = conf.to_str().unwrap();
    let mut p = Proc::start(&db, &["--config", conf_s, "--metrics", "127.0.0.1:0"]);
    let metrics = p.http_addr("netoopsd: metrics on http://");
    assert!(p.udp.ip().is_loopback(), "{}", p.udp);

    // A bad value: the old settings stay, and the error names the file, key and value.
    std::fs::write(
        &conf,
        "listen = [\"127.0.0.1:0\"]\npartial-timeout = \"soon\"\n",
    )
    .unwrap();
    p.signal("-HUP");
    let e = p.stderr_line("netoopsd: reload failed");
    assert_eq!(
        e,
        format!("netoopsd: reload failed, the settings are unchanged: {conf_s}: partial-timeout = \"soon\": invalid float literal")
    );
    // A good one, with an address that takes a restart.
    std::fs::write(
        &conf,
        "listen = [\"127.0.0.1:1\"]\npartial-timeout = 1\nstats-json = true\n",
    )
    .unwrap();
    p.signal("-HUP");
    assert_eq!(
        p.stderr_line("netoopsd: reloaded"),
        format!("netoopsd: reloaded {conf_s}")
    );
    assert_eq!(
        p.stderr_line(&format!("netoopsd: {conf_s}: changed")),
        format!("netoopsd: {conf_s}: changed, but taken only at the next start: listen")
    );
    // The new partial timeout (1 s, not 600) applies.
    let pk = packets(OOPS, 512);
    let t0 = Instant::now();
    for x in &pk[..3] {
        p.send(x);
    }
    let stored = p.stored_line();
    assert!(stored.contains("state=partial(3/"), "{stored}");
    assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());

    // Sealing keys from now on: unsealed packets are refused (counted in the final JSON line).
    let keys = d.path().join("keys");
    std::fs::write(&keys, format!("1 {}\n", "ab".repeat(32))).unwrap();
    std::fs::write(
        &conf,
        format!(
            "listen = [\"127.0.0.1:1\"]\npartial-timeout = 1\nkeys = {:?}\nstats-json = true\n",
            keys.to_str().unwrap()
        ),
    )
    .unwrap();
    p.err_seen.clear();
    p.signal("-HUP");
    p.stderr_line("netoopsd: reloaded");
    for x in &pk[3..5] {
        p.send(x);
    }
    let s = scrape_until(metrics, |s| {
        s.get("netoopsd_refused_packets_total", &[("kind", "unsealed")]) == Some(2.0)
    });
    // Two reloads went well, one not.
    assert_eq!(s.val("netoopsd_reloads_total", &[("result", "ok")]), 2.0);
    assert_eq!(s.val("netoopsd_reloads_total", &[("result", "error")]), 1.0);
    // Sealing refusals are not caps.
    assert_eq!(
        s.get("netoopsd_caps_hit_total", &[("cap", "unsealed")]),
        None
    );
    p.signal("-TERM");
    let (code, _, err) = p.wait(Duration::from_secs(10));
    assert_eq!(code, 0, "{err:#?}");
    let stats: serde_json::Value = err
        .iter()
        .find(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .unwrap_or_else(|| panic!("no JSON counters (stats-json = true): {err:#?}"));
    assert_eq!(stats["refused_by_kind"]["unsealed"], 2, "{stats}");
    assert_eq!(stats["added"], 3, "{stats}");
}

/// The messages a `listen` sends to `$NOTIFY_SOCKET`, at `notify` (a path, or `@name`).
fn notify_socket(at: &str) -> std::os::unix::net::UnixDatagram {
    use std::os::unix::net::{SocketAddr as UnixAddr, UnixDatagram};
    let s = match at.strip_prefix('@') {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            UnixDatagram::bind_addr(&UnixAddr::from_abstract_name(name).unwrap()).unwrap()
        }
        None => UnixDatagram::bind(at).unwrap(),
    };
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s
}

fn next_notice(s: &std::os::unix::net::UnixDatagram) -> String {
    let mut buf = [0u8; 4096];
    let n = s.recv(&mut buf).expect("a message to NOTIFY_SOCKET");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[test]
fn tells_systemd_ready_reloading_and_stopping() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("n.db");
    let path = d.path().join("notify");
    let abstract_name = format!("@netoopsd-test-{}", std::process::id());
    for at in [path.to_str().unwrap(), abstract_name.as_str()] {
        let sock = notify_socket(at);
        let mut p = Proc::start_env(&db, &["--listen", "127.0.0.1:0"], &[("NOTIFY_SOCKET", at)]);
        assert_eq!(
            next_notice(&sock),
            format!("READY=1\nSTATUS=listening on {}", p.udp)
        );
        p.signal("-HUP");
        assert_eq!(next_notice(&sock), "RELOADING=1");
        assert_eq!(
            next_notice(&sock),
            "READY=1\nSTATUS=reloaded the command line's settings (no --config)"
        );
        p.stderr_line("netoopsd: reloaded");
        p.signal("-TERM");
        assert_eq!(next_notice(&sock), "STOPPING=1");
        let (code, _, err) = p.wait(Duration::from_secs(10));
        assert_eq!(code, 0, "{err:#?}");
        assert!(!err.iter().any(|l| l.contains("NOTIFY_SOCKET")), "{err:#?}");
    }
}

fn run(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(exe()).args(args).output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn config_file_errors_name_the_file_the_key_and_the_value() {
    let d = tempfile::tempdir().unwrap();
    let conf = d.path().join("bad.toml");
    let c = conf.to_str().unwrap();
    for (text, want) in [
        (
            "listne = [\"[::]:6667\"]\n",
            format!("netoopsd: error: {c}: unknown key \"listne\" (= [\"[::]:6667\"]): the keys of `listen` are its long flags: allow, batch, db, "),
        ),
        (
            "listen = [\"[::]:66670\"]\n",
            format!("netoopsd: error: {c}: listen = [\"[::]:66670\"]: invalid socket address syntax"),
        ),
        (
            "partial-timeout = -3\n",
            format!("netoopsd: error: {c}: partial-timeout: -3: not a number of seconds"),
        ),
        (
            "max-pending = \"many\"\n",
            format!("netoopsd: error: {c}: max-pending = \"many\": invalid digit found in string"),
        ),
        (
            "verbose = 1\n",
            format!("netoopsd: error: {c}: verbose = 1: expected true or false"),
        ),
        (
            "keys = \"/nonexistent/keys\"\n",
            format!("netoopsd: error: {c}: keys: /nonexistent/keys: cannot read the key file: "),
        ),
    ] {
        std::fs::write(&conf, text).unwrap();
        let (code, _, err) = run(&["listen", "--config", c, "--check-config"]);
        assert_eq!(code, 1, "{text}: {err}");
        assert!(err.starts_with(&want), "{text}:\n{err}\nwanted: {want}");
    }
    // The command line wins over the file: the bad value is not used.
    std::fs::write(&conf, "partial-timeout = -3\n").unwrap();
    let (code, out, err) = run(&[
        "listen",
        "--config",
        c,
        "--partial-timeout",
        "2",
        "--check-config",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, format!("netoopsd: {c}: the settings are good\n"));
    let (code, _, err) = run(&["listen", "--config", "/nonexistent.toml"]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with("netoopsd: error: cannot read the configuration file /nonexistent.toml: "),
        "{err}"
    );
}

/// Every long flag of `listen --help` is a key of the file (so a flag added later is one too).
#[test]
fn every_listen_flag_is_a_config_key() {
    let (code, help, _) = run(&["listen", "--help"]);
    assert_eq!(code, 0);
    let mut flags: Vec<String> = help
        .split_whitespace()
        .filter_map(|w| w.strip_prefix("--"))
        .map(|w| {
            w.trim_end_matches(|c: char| !c.is_ascii_alphanumeric())
                .to_string()
        })
        .filter(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
        .filter(|w| !["help", "version", "config", "check-config"].contains(&w.as_str()))
        .collect();
    flags.sort();
    flags.dedup();
    for must in [
        "listen",
        "db",
        "partial-timeout",
        "keys",
        "metrics",
        "http",
        "verbose",
    ] {
        assert!(flags.iter().any(|f| f == must), "{must} not in {flags:?}");
    }
    let d = tempfile::tempdir().unwrap();
    let conf = d.path().join("k.toml");
    let c = conf.to_str().unwrap();
    for f in &flags {
        // A value that no flag takes as it is, or a switch turned off: either way the key
        // must be known (an error, if any, is about the value).
        for value in ["\"\\u0000?\"", "false"] {
            std::fs::write(&conf, format!("{f} = {value}\n")).unwrap();
            let (_, _, err) = run(&["listen", "--config", c, "--check-config"]);
            assert!(!err.contains("unknown key"), "{f}: {err}");
        }
    }
}

#[test]
fn example_config_is_accepted() {
    let conf = dist("netoopsd.toml");
    let c = conf.to_str().unwrap();
    let (code, out, err) = run(&["listen", "--config", c, "--check-config"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, format!("netoopsd: {c}: the settings are good\n"));
    // `serve` takes the same file (the keys only `listen` has are ignored).
    let (code, _, err) = run(&["serve", "--config", c, "--db", "/nonexistent/x.db"]);
    assert_eq!(code, 1);
    assert!(err.contains("/nonexistent/x.db"), "{err}");
    // And it runs with it, the command line overriding its addresses and database.
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("e.db");
    let mut p = Proc::start(
        &db,
        &[
            "--config",
            c,
            "--listen",
            "127.0.0.1:0",
            "--metrics",
            "127.0.0.1:0",
        ],
    );
    let l = p.stderr_line("netoopsd: listening on ");
    assert!(l.ends_with(&format!("(database {})", db.display())), "{l}");
    let m = p.http_addr("netoopsd: metrics on http://");
    assert_eq!(get(m, "/metrics").0, 200);
    p.signal("-TERM");
    assert_eq!(p.wait(Duration::from_secs(10)).0, 0);

    // `serve --config`: its keys from the file (`http`, `db`), `listen`'s ignored.
    let conf = d.path().join("serve.toml");
    std::fs::write(
        &conf,
        format!(
            "listen = [\"[::]:6667\"]\npartial-timeout = 5\nhttp = \"127.0.0.1:0\"\ndb = {:?}\n",
            db.to_str().unwrap()
        ),
    )
    .unwrap();
    let mut serve = Command::new(exe())
        .args(["serve", "--config", conf.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(serve.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _ = serve.kill();
    let _ = serve.wait();
    let addr: SocketAddr = line
        .trim()
        .strip_prefix("serving http://")
        .and_then(|a| a.strip_suffix('/'))
        .unwrap_or_else(|| panic!("{line:?}"))
        .parse()
        .unwrap();
    assert!(addr.ip().is_loopback() && addr.port() != 0, "{addr}");
}

fn systemd_analyze(args: &[&str]) -> std::process::Output {
    match Command::new("systemd-analyze").args(args).output() {
        Ok(o) => o,
        Err(e) => panic!(
            "cannot run systemd-analyze ({e}): install the Debian package `systemd` \
             (scripts/setup-host.sh does)"
        ),
    }
}

/// The unit with ExecStart's binary replaced by the one built here (verify checks that it
/// exists), in a temporary directory.
fn unit_copy() -> (tempfile::TempDir, PathBuf) {
    let text = std::fs::read_to_string(dist("netoopsd.service")).unwrap();
    assert!(text
        .contains("\nExecStart=/usr/bin/netoopsd listen --config /etc/netoopsd/netoopsd.toml\n"));
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("netoopsd.service");
    std::fs::write(
        &p,
        text.replace("=/usr/bin/netoopsd ", &format!("={} ", exe())),
    )
    .unwrap();
    (d, p)
}

#[test]
fn systemd_unit_verifies() {
    let (_d, unit) = unit_copy();
    let o = systemd_analyze(&["verify", unit.to_str().unwrap()]);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "systemd-analyze verify failed:\n{said}");
    assert_eq!(said, "", "systemd-analyze verify said something");
}

#[test]
fn systemd_unit_is_hardened() {
    let (_d, unit) = unit_copy();
    let o = systemd_analyze(&["security", "--offline=true", unit.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout);
    let line = out
        .lines()
        .find(|l| l.contains("Overall exposure level for"))
        .unwrap_or_else(|| {
            panic!(
                "no overall exposure in:\n{out}{}",
                String::from_utf8_lossy(&o.stderr)
            )
        });
    let exposure: f64 = line
        .split(": ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("exposure in {line:?}"));
    println!("systemd-analyze security: overall exposure {exposure}");
    assert!(
        exposure <= 2.0,
        "exposure {exposure} (more than 2.0):\n{out}"
    );
    // The unit asks for no capability at all (ports above 1024).
    let text = std::fs::read_to_string(dist("netoopsd.service")).unwrap();
    assert!(text.lines().any(|l| l == "CapabilityBoundingSet="));
    assert!(text.lines().any(|l| l == "AmbientCapabilities="));
}
