//! The PostgreSQL backend against a real server: a throwaway cluster under `build/pg/`
//! ([`PgCluster`]: initdb, pg_ctl start on a free loopback port, one database per test,
//! stopped and removed on drop), real `netoopsd listen` processes and real UDP packets
//! encoded by the codec. Several receivers share one database: the same dump sent to two
//! receivers, a dump split between two, a receiver killed mid-dump, a database unreachable
//! at start-up or gone for a while; and the web view's queries give on PostgreSQL what they
//! give on SQLite.
//!
//! The PostgreSQL server binaries must be installed (`scripts/setup-host.sh` installs
//! Debian's `postgresql`); without them these tests fail, saying so.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{mpsc, Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use netoops_codec::wire::golden::{OOPS, SOFT};
use netoops_codec::wire::Dump;
use netoopsd::store::postgres::PgStore;
use netoopsd::store::sqlite::SqliteStore;
use netoopsd::store::stats::Query;
use netoopsd::store::{Fields, Filter, NewReport, Store};
use serde_json::Value;

fn exe() -> &'static str {
    env!("CARGO_BIN_EXE_netoopsd")
}

/// The directory of the PostgreSQL server binaries, or a failure that says how to get them.
fn pg_bindir() -> PathBuf {
    let mut candidates = Vec::new();
    if let Ok(o) = Command::new("pg_config").arg("--bindir").output() {
        if o.status.success() {
            candidates.push(PathBuf::from(
                String::from_utf8_lossy(&o.stdout).trim().to_string(),
            ));
        }
    }
    if let Ok(dirs) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut v: Vec<PathBuf> = dirs.flatten().map(|d| d.path().join("bin")).collect();
        v.sort();
        candidates.extend(v.into_iter().rev());
    }
    candidates
        .into_iter()
        .find(|d| d.join("initdb").exists() && d.join("pg_ctl").exists())
        .unwrap_or_else(|| {
            panic!(
                "the PostgreSQL server binaries (initdb, pg_ctl) are not installed: \
                 run scripts/setup-host.sh (it installs Debian's postgresql package)"
            )
        })
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A PostgreSQL cluster of its own, under `build/pg/`, listening on 127.0.0.1 only.
struct PgCluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    databases: AtomicU32,
}

impl PgCluster {
    /// A new cluster, started.
    fn new() -> Self {
        let bin = pg_bindir();
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../build/pg");
        let mut dir = Self::make_dir(&root.join(&name));
        // The server's socket path must fit in 107 bytes, and as root the `postgres` user
        // must reach the directory: a checkout deep down, or under /root, cannot hold it.
        if dir.as_os_str().len() > 70 || !Self::reachable(&dir) {
            let _ = std::fs::remove_dir_all(&dir);
            dir = Self::make_dir(&std::env::temp_dir().join(format!("netoopsd-pg-{name}")));
            assert!(
                Self::reachable(&dir),
                "{}: not usable by the postgres user",
                dir.display()
            );
        }
        let c = PgCluster {
            bin,
            dir,
            port: free_port(),
            databases: AtomicU32::new(0),
        };
        c.pg(
            "initdb",
            &[
                "-D",
                &c.data(),
                "-A",
                "trust",
                "-U",
                "netoops",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        );
        c.start();
        c
    }

    /// A fresh directory, owned by the `postgres` user when running as root.
    fn make_dir(dir: &Path) -> PathBuf {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).unwrap();
        if is_root() {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir)
                .status()
                .unwrap();
            assert!(ok.success(), "chown of {} failed", dir.display());
        }
        dir.canonicalize().unwrap()
    }

    /// Whether the server binaries (run as `postgres` when root) can write in `dir`.
    fn reachable(dir: &Path) -> bool {
        !is_root()
            || Command::new("runuser")
                .args(["-u", "postgres", "--", "test", "-w"])
                .arg(dir)
                .status()
                .is_ok_and(|s| s.success())
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    /// Runs a server binary (as the `postgres` user when running as root).
    fn pg(&self, tool: &str, args: &[&str]) -> Output {
        let path = self.bin.join(tool);
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        let o = cmd
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            o.status.success(),
            "{tool} {args:?} failed: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        o
    }

    fn start(&self) {
        let opts = format!(
            "-c listen_addresses=127.0.0.1 -p {} -c unix_socket_directories={} -c fsync=off",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("server.log").display().to_string();
        self.pg(
            "pg_ctl",
            &["-D", &self.data(), "-l", &log, "-w", "-o", &opts, "start"],
        );
    }

    fn stop(&self) {
        self.pg(
            "pg_ctl",
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        );
    }

    /// The URL of `db` on this cluster.
    fn url(&self, db: &str) -> String {
        format!("postgres://netoops@127.0.0.1:{}/{db}", self.port)
    }

    /// A new, empty database; its URL.
    fn database(&self) -> String {
        let name = format!("t{}", self.databases.fetch_add(1, Ordering::SeqCst));
        let mut c = postgres::Client::connect(&self.url("postgres"), postgres::NoTls).unwrap();
        c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        self.url(&name)
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let path = self.bin.join("pg_ctl");
        let data = self.data();
        let args = ["-D", data.as_str(), "-m", "immediate", "-w", "stop"];
        let _ = if is_root() {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&path)
                .args(args)
                .output()
        } else {
            Command::new(&path).args(args).output()
        };
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The cluster the tests share (each with its own database); stopped when no test holds it.
fn shared() -> Arc<PgCluster> {
    static SHARED: Mutex<Weak<PgCluster>> = Mutex::new(Weak::new());
    let mut s = SHARED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(c) = s.upgrade() {
        return c;
    }
    let c = Arc::new(PgCluster::new());
    *s = Arc::downgrade(&c);
    c
}

fn packets(d: Dump<'_>, max: usize) -> Vec<Vec<u8>> {
    netoopsd::encode::encode_dump(d, max).unwrap()
}

/// A `netoopsd listen` process on a loopback port.
struct Listener {
    child: Child,
    addr: SocketAddr,
    lines: mpsc::Receiver<String>,
    errors: mpsc::Receiver<String>,
}

fn start(db: &str, extra: &[&str]) -> Listener {
    let mut child = Command::new(exe())
        .args([
            "--db",
            db,
            "listen",
            "--listen",
            "127.0.0.1:0",
            "--stats-json",
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr: BufReader<ChildStderr> = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let addr = line
        .strip_prefix("netoopsd: listening on ")
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("listening line: {line:?}"))
        .parse()
        .unwrap();
    let lines = lines_of(child.stdout.take().unwrap());
    let errors = lines_of(stderr);
    Listener {
        child,
        addr,
        lines,
        errors,
    }
}

fn lines_of(r: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
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

impl Listener {
    fn send(&self, pk: &[u8]) {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.send_to(pk, self.addr).unwrap();
    }
    fn stored_line(&self) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(30))
            .expect("a stored line")
    }
    fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
    /// Stops it (SIGTERM) and returns its exit code and final counters.
    fn finish(mut self) -> (i32, Value) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let status = self.child.wait().unwrap();
        let mut stats = Value::Null;
        while let Ok(l) = self.errors.recv_timeout(Duration::from_secs(5)) {
            if l.starts_with('{') {
                stats = serde_json::from_str(&l).unwrap();
            }
        }
        (status.code().unwrap_or(-1), stats)
    }
}

fn run(db: &str, args: &[&str]) -> Output {
    Command::new(exe())
        .args(["--db", db])
        .args(args)
        .output()
        .unwrap()
}

fn json(db: &str, args: &[&str]) -> Value {
    let o = run(db, args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// `id=N` of a stored line.
fn id_of(line: &str) -> &str {
    line.split_whitespace()
        .find(|w| w.starts_with("id="))
        .unwrap_or_else(|| panic!("no id in {line:?}"))
}

#[test]
fn two_receivers_of_the_same_dump_store_one_report() {
    let c = shared();
    let db = c.database();
    let args = ["--exit-after-dumps", "1", "--timeout", "30"];
    let (a, b) = (start(&db, &args), start(&db, &args));
    // The machine sends each packet to both targets.
    for p in packets(OOPS, 512) {
        a.send(&p);
        b.send(&p);
    }
    let (la, lb) = (a.stored_line(), b.stored_line());
    assert!(la.contains("state=complete"), "{la}");
    assert!(lb.contains("state=complete"), "{lb}");
    assert_eq!(id_of(&la), id_of(&lb), "{la}\n{lb}");
    assert_eq!(a.finish().0, 0);
    assert_eq!(b.finish().0, 0);
    let ls = json(&db, &["ls", "--json"]);
    let ls = ls.as_array().unwrap();
    assert_eq!(ls.len(), 1, "{ls:?}");
    assert_eq!(ls[0]["complete"], true);
}

#[test]
fn a_dump_split_between_two_receivers_becomes_one_complete_report() {
    let c = shared();
    let db = c.database();
    let args = ["--partial-timeout", "0.5", "--timeout", "30"];
    let (a, b) = (start(&db, &args), start(&db, &args));
    let pk = packets(OOPS, 512);
    assert_eq!(pk.len(), 9);
    // As behind a load balancer: every other packet to each receiver, none gets it all.
    for (i, p) in pk.iter().enumerate() {
        if i % 2 == 0 { &a } else { &b }.send(p);
    }
    let (la, lb) = (a.stored_line(), b.stored_line());
    assert_eq!(id_of(&la), id_of(&lb), "{la}\n{lb}");
    // The later put merged both parts: its line says complete; the earlier one a part.
    let (partial, complete): (Vec<&String>, Vec<&String>) = [&la, &lb]
        .into_iter()
        .partition(|l| l.contains("state=partial"));
    assert_eq!(complete.len(), 1, "{la}\n{lb}");
    assert!(complete[0].contains("state=complete"), "{}", complete[0]);
    assert!(
        partial[0].contains("state=partial(5/9)") || partial[0].contains("state=partial(4/9)"),
        "{}",
        partial[0]
    );
    let (code_a, sa) = a.finish();
    let (code_b, sb) = b.finish();
    assert_eq!((code_a, code_b), (0, 0));
    assert_eq!(
        sa["stored"].as_u64().unwrap() + sb["stored"].as_u64().unwrap(),
        2
    );

    let ls = json(&db, &["ls", "--json"]);
    let ls = ls.as_array().unwrap();
    assert_eq!(ls.len(), 1, "{ls:?}");
    assert_eq!(ls[0]["complete"], true, "{ls:?}");
    let id = ls[0]["id"].as_i64().unwrap().to_string();
    let shown = run(&db, &["show", &id]);
    assert!(shown.status.success());
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.contains("netoops_test_write"), "{shown}");
    let top = json(&db, &["top", "--json"]);
    assert_eq!(top.as_array().unwrap().len(), 1, "{top}");
    assert_eq!(top[0]["count"], 1, "{top}");
}

#[test]
fn kill_9_of_a_receiver_mid_dump_loses_no_stored_packet() {
    let c = shared();
    let db = c.database();
    let args = ["--partial-timeout", "0.5", "--timeout", "30"];
    let pk = packets(OOPS, 512);
    let a = start(&db, &args);
    for p in &pk[..4] {
        a.send(p);
    }
    let first = a.stored_line();
    assert!(first.contains("state=partial(4/9)"), "{first}");
    // One more packet reaches it, then it dies before handing it out.
    a.send(&pk[4]);
    a.kill9();
    let stored = json(&db, &["ls", "--json"]);
    assert_eq!(stored[0]["packets_received"], 4, "{stored}");
    // The other receiver gets the rest: the report becomes complete, under the same id.
    let b = start(&db, &args);
    for p in &pk[4..] {
        b.send(p);
    }
    let second = b.stored_line();
    assert!(second.contains("state=complete"), "{second}");
    assert_eq!(id_of(&first), id_of(&second));
    assert_eq!(b.finish().0, 0);
    let ls = json(&db, &["ls", "--json"]);
    assert_eq!(ls.as_array().unwrap().len(), 1, "{ls}");
    assert_eq!(ls[0]["complete"], true, "{ls}");
    let shown = run(&db, &["show", "--json", &ls[0]["id"].to_string()]);
    assert!(shown.status.success());
    let shown: Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert!(shown.to_string().contains("netoops_test_write"), "{shown}");
}

#[test]
fn an_unreachable_or_missing_database_is_named_at_start_up_without_its_password() {
    // Nothing listens on this port.
    let port = free_port();
    let url = format!("postgres://netoops:s3cr3t-pw@127.0.0.1:{port}/crashes");
    for args in [
        &["listen", "--listen", "127.0.0.1:0", "--timeout", "5"][..],
        &["ls"][..],
    ] {
        let t = Instant::now();
        let o = run(&url, args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{args:?}: {err}");
        assert!(
            err.contains(&format!("PostgreSQL database crashes on 127.0.0.1:{port}")),
            "{err}"
        );
        assert!(err.contains("cannot connect"), "{err}");
        assert!(!err.contains("s3cr3t"), "the password is printed: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(t.elapsed() < Duration::from_secs(10));
    }
    // A URL that does not parse: named without its password.
    let o = run(
        "postgres://netoops:s3cr3t-pw@127.0.0.1:notaport/crashes",
        &["ls"],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    assert!(
        err.contains("postgres://netoops@127.0.0.1:notaport/crashes: not a valid PostgreSQL URL"),
        "{err}"
    );
    assert!(!err.contains("s3cr3t"), "{err}");
    // A server that is there, but not the database.
    let c = shared();
    let url = format!(
        "postgres://netoops:s3cr3t-pw@127.0.0.1:{}/no_such_db",
        c.port
    );
    let o = run(
        &url,
        &["listen", "--listen", "127.0.0.1:0", "--timeout", "5"],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "PostgreSQL database no_such_db on 127.0.0.1:{}",
            c.port
        )),
        "{err}"
    );
    assert!(err.contains("does not exist"), "{err}");
    assert!(!err.contains("s3cr3t"), "{err}");
}

#[test]
fn a_database_that_goes_away_is_retried_and_the_dump_stored_when_it_is_back() {
    // A cluster of its own: it is stopped in the middle.
    let c = PgCluster::new();
    let db = c.database();
    let l = start(&db, &["--exit-after-dumps", "2", "--timeout", "60"]);
    for p in packets(SOFT, 512) {
        l.send(&p);
    }
    let first = l.stored_line();
    assert!(first.contains("state=complete"), "{first}");
    c.stop();
    for p in packets(OOPS, 512) {
        l.send(&p);
    }
    // It fails, says so and waits.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let line = l
            .errors
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("a line saying that storing failed");
        if line.contains("storing 1 reports failed (trying again in") {
            assert!(line.contains(&format!("127.0.0.1:{}", c.port)), "{line}");
            break;
        }
    }
    assert!(
        l.lines.try_recv().is_err(),
        "stored while the server is down"
    );
    std::thread::sleep(Duration::from_millis(500));
    c.start();
    let second = l.stored_line();
    assert!(second.contains("state=complete"), "{second}");
    let (code, stats) = l.finish();
    assert_eq!(code, 0);
    assert_eq!(stats["stored"], 2, "{stats}");
    assert_eq!(stats["store_dropped"], 0, "{stats}");
    assert!(stats["store_retries"].as_u64().unwrap() >= 1, "{stats}");
    assert_eq!(json(&db, &["ls", "--json"]).as_array().unwrap().len(), 2);
}

/// Reports over 60 days on a few machines, kernels and buckets (as the stats tests use).
fn fleet(now: i64) -> Vec<NewReport> {
    let day = 86_400_000;
    let mut v = Vec::new();
    for i in 0..40u32 {
        let t = now - i64::from(i) * day * 3 / 2 - i64::from(i) * 1000;
        let bucket = ["steady", "rising", "fresh", "other"][(i % 4) as usize];
        let machine = format!("m{}", i % 5);
        let kernel = ["6.6.30", "6.9.1", "6.12.0", "6.10"][(i % 4) as usize];
        v.push(NewReport {
            received_ms: t,
            first_packet_ms: t - 5,
            sender: format!("10.0.0.{}", i % 5),
            fields: Fields {
                boot_id: format!("boot-{machine}"),
                seq: i,
                reason: ["oops", "panic"][(i % 2) as usize].into(),
                complete: i % 7 != 3,
                packets_received: 3,
                packet_count: 3 + u32::from(i % 7 == 3),
                log_len: 100,
                missing_log: if i % 7 == 3 { vec![(10, 20)] } else { vec![] },
                kernel_release: (i % 9 != 8).then(|| kernel.to_string()),
                hostname: Some(machine.clone()),
                cpu_vendor: Some("GenuineIntel".into()),
                cpu_family: Some(6),
                cpu_model: (i % 6 != 5).then_some(85 + i % 3),
                microcode: Some(0x100 * (1 + i % 3)),
                bios_version: Some(format!("1.{}", i % 2)),
                board_name: (i % 5 != 4).then(|| format!("B{}", i % 3)),
                product_name: Some(format!("P{}", i % 2)),
                machine: machine.clone(),
                title: format!("BUG in {bucket}"),
                bucket: bucket.into(),
                frames: vec!["f".into(), "g".into()],
                ..Fields::default()
            },
            packets: vec![vec![1, 2, 3], vec![i as u8; 40]].into(),
            log: format!("log line\nkernel BUG in {bucket}_Function {i}\n"),
            log_in_packets: false,
            packed: None,
        });
    }
    v
}

#[test]
fn ls_top_show_stats_and_web_pages_read_the_same_from_either_backend() {
    let c = shared();
    let url = c.database();
    let now = 1_767_225_600_000 + 12 * 3_600_000;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fleet.db").display().to_string();
    let mut lite = SqliteStore::open(Path::new(&file)).unwrap();
    let mut pg = PgStore::connect(&url).unwrap();
    assert_eq!(pg.schema_version().unwrap(), 2);
    let mut reports = fleet(now);
    // And one real dump (id 41), so that report pages have packets to decode.
    let pk = packets(OOPS, 512);
    let at = std::time::UNIX_EPOCH + Duration::from_millis(now as u64 - 60_000);
    let real = netoopsd::live::Finished {
        sender: "10.0.0.9".parse().unwrap(),
        dump: netoopsd::reassembly::DumpState::from_packets(pk.iter().map(Vec::as_slice), "t")
            .unwrap(),
        first_seen: at,
        last_seen: at,
    };
    reports.push(NewReport::from_finished(&real, at));
    assert_eq!(lite.put(&reports).unwrap(), pg.put(&reports).unwrap());
    // A replay changes nothing in either.
    assert_eq!(lite.put(&reports).unwrap(), pg.put(&reports).unwrap());
    let stores: [&dyn Store; 2] = [&lite, &pg];

    let filters = [
        Filter::default(),
        Filter {
            kernel: Some("6.9.1".into()),
            ..Filter::default()
        },
        Filter {
            title: Some("in RIS".into()),
            complete: Some(true),
            ..Filter::default()
        },
        Filter {
            bucket: Some("st".into()),
            cpu_model: Some(86),
            since_ms: Some(now - 30 * 86_400_000),
            limit: Some(5),
            ..Filter::default()
        },
    ];
    for f in &filters {
        let [a, b] = stores.map(|s| s.list(f).unwrap());
        assert!(!a.is_empty() || f.cpu_model.is_some());
        assert_eq!(a, b, "list {f:?}");
        let [a, b] = stores.map(|s| s.top(f).unwrap());
        assert_eq!(a, b, "top {f:?}");
    }
    for id in 1..=42 {
        let [a, b] = stores.map(|s| s.get(id).unwrap());
        assert_eq!(a, b, "get {id}");
    }

    let queries = [
        Query::default(),
        Query {
            text: Some("FUNCTION 1".into()),
            ..Query::default()
        },
        Query {
            microcode: Some(0x200),
            board_or_product: Some("P1".into()),
            ..Query::default()
        },
        Query {
            bucket: Some("steady".into()),
            ..Query::default()
        },
        Query {
            machine: Some("m3".into()),
            filter: Filter {
                since_ms: Some(now - 20 * 86_400_000),
                ..Filter::default()
            },
            ..Query::default()
        },
    ];
    let [a, b] = stores.map(|s| s.releases().unwrap());
    assert_eq!(a, b);
    assert_eq!(a[0], "6.12.0-netoops");
    for col in [
        "reason",
        "hostname",
        "cpu_vendor",
        "bios_version",
        "board_name",
        "product_name",
    ] {
        let [a, b] = stores.map(|s| s.distinct(col).unwrap());
        assert_eq!(a, b, "distinct {col}");
    }
    for q in &queries {
        let [a, b] = stores.map(|s| s.totals(q).unwrap());
        assert_eq!(a, b, "totals {q:?}");
        let [a, b] = stores.map(|s| s.overview(q, now).unwrap());
        assert!(q.machine.is_some() || !a.buckets.is_empty(), "{q:?}");
        assert_eq!(a, b, "overview {q:?}");
        let [a, b] = stores.map(|s| s.daily(q, now / 86_400_000 - 59, now / 86_400_000).unwrap());
        assert_eq!(a, b, "daily {q:?}");
        for by in netoopsd::store::stats::BREAKDOWNS {
            let [a, b] = stores.map(|s| s.breakdown(q, by).unwrap());
            assert_eq!(a, b, "breakdown {by} {q:?}");
        }
        let [a, b] = stores.map(|s| s.reports(q, 7).unwrap());
        assert_eq!(a, b, "reports {q:?}");
    }

    // The web view's pages (their /api/... JSON).
    use netoopsd::web::pages;
    let params: Vec<Vec<(String, String)>> = vec![
        vec![],
        vec![("reason".into(), "panic".into())],
        vec![
            ("q".into(), "function".into()),
            ("days".into(), "30".into()),
        ],
    ];
    for p in &params {
        let [a, b] = stores.map(|s| pages::buckets(s, p, now).ok());
        assert!(a.is_some(), "{p:?}");
        assert_eq!(a, b, "buckets {p:?}");
        for bucket in ["steady", "rising", "fresh", "other", "nope"] {
            let [a, b] = stores.map(|s| pages::bucket(s, bucket, p, now).ok());
            assert_eq!(a, b, "bucket {bucket} {p:?}");
        }
    }
    for m in ["m0", "m3", "nope"] {
        let [a, b] = stores.map(|s| pages::machine(s, m).ok());
        assert_eq!(a, b, "machine {m}");
    }

    // The web view served by `netoopsd serve` over HTTP: the same JSON from both.
    let now_s = (now / 1000).to_string();
    let servers = [&file, &url].map(|db| Server::start(db, &now_s));
    for path in [
        "/api/buckets",
        "/api/buckets?reason=panic&days=30",
        "/api/buckets?q=function+1",
        "/api/bucket/steady",
        "/api/bucket/rising?kernel=6.9.1",
        "/api/machine/m3",
        "/api/report/41",
        "/report/41",
        "/api/report/999",
        "/",
        "/bucket/fresh",
    ] {
        let [a, b] = servers.each_ref().map(|s| s.get(path));
        assert!(
            a.starts_with("HTTP/1.1 200") || path.ends_with("999"),
            "{path}: {a}"
        );
        assert_eq!(a, b, "{path}");
    }
    drop(servers);

    // Pruning: by age, then by size, the same in both.
    let [a, b] = [
        lite.prune(Some(now - 30 * 86_400_000), None).unwrap(),
        pg.prune(Some(now - 30 * 86_400_000), None).unwrap(),
    ];
    assert_eq!(a, b);
    assert!(a > 0);
    let [a, b] = [
        lite.prune(None, Some(1000)).unwrap(),
        pg.prune(None, Some(1000)).unwrap(),
    ];
    assert_eq!(a, b);
    assert!(a > 0);
    let [a, b] = [&lite as &dyn Store, &pg].map(|s| s.list(&Filter::default()).unwrap());
    assert_eq!(a, b);
    assert!(!a.is_empty());

    // The command line reads it too.
    let ls = json(&url, &["ls", "--json"]);
    assert_eq!(ls.as_array().unwrap().len(), a.len());
}

/// A `netoopsd serve` process.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(db: &str, now_s: &str) -> Self {
        let mut child = Command::new(exe())
            .args(["--db", db, "serve", "--http", "127.0.0.1:0", "--now", now_s])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("serving http://")
            .and_then(|a| a.strip_suffix('/'))
            .unwrap_or_else(|| panic!("serving line: {line:?}"))
            .to_string();
        Server { child, addr }
    }

    /// The response to `GET path`: status line and body (headers that vary left out).
    fn get(&self, path: &str) -> String {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(&self.addr).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        )
        .unwrap();
        let mut r = String::new();
        s.read_to_string(&mut r).unwrap();
        let (head, body) = r.split_once("\r\n\r\n").unwrap_or((&r, ""));
        let status = head.lines().next().unwrap_or("").to_string();
        format!("{status}\n{body}")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The report of `packets` (some of a dump's), as one receiver would hand it out.
fn part(packets: &[Vec<u8>], sender: &str, now: std::time::SystemTime) -> NewReport {
    let f = netoopsd::live::Finished {
        sender: sender.parse().unwrap(),
        dump: netoopsd::reassembly::DumpState::from_packets(packets.iter().map(Vec::as_slice), "t")
            .unwrap(),
        first_seen: now,
        last_seen: now,
    };
    NewReport::from_finished(&f, now)
}

#[test]
fn parts_of_the_same_dumps_put_at_the_same_moment_are_merged_not_lost() {
    let c = shared();
    let url = c.database();
    let now = std::time::SystemTime::now();
    // 40 dumps, each split in two halves; two stores (two receivers' connections) put one
    // half each, released together, in batches of 8 and in opposite orders.
    let halves: Vec<(NewReport, NewReport)> = (0..40u32)
        .map(|seq| {
            let mut d = OOPS;
            d.seq = seq;
            let pk = packets(d, 512);
            let (even, odd): (Vec<_>, Vec<_>) =
                pk.into_iter().enumerate().partition(|(i, _)| i % 2 == 0);
            let strip =
                |v: Vec<(usize, Vec<u8>)>| v.into_iter().map(|(_, p)| p).collect::<Vec<_>>();
            (
                part(&strip(even), "10.0.0.7", now),
                part(&strip(odd), "10.0.0.7", now),
            )
        })
        .collect();
    assert!(halves
        .iter()
        .all(|(a, b)| !a.fields.complete && !b.fields.complete));
    let mut first: Vec<NewReport> = halves.iter().map(|h| h.0.clone()).collect();
    let second: Vec<NewReport> = halves.iter().map(|h| h.1.clone()).collect();
    first.reverse();
    let barrier = std::sync::Barrier::new(2);
    std::thread::scope(|s| {
        for reports in [&first, &second] {
            let (url, barrier) = (&url, &barrier);
            s.spawn(move || {
                let mut store = PgStore::connect(url).unwrap();
                barrier.wait();
                for batch in reports.chunks(8) {
                    store.put(batch).unwrap();
                }
            });
        }
    });
    let pg = PgStore::connect(&url).unwrap();
    let all = pg.list(&Filter::default()).unwrap();
    assert_eq!(all.len(), 40, "one report per dump");
    let partial: Vec<_> = all.iter().filter(|r| !r.fields.complete).collect();
    assert!(partial.is_empty(), "parts lost: {partial:?}");
    for r in &all {
        let full = pg.get(r.id).unwrap().unwrap();
        assert_eq!(full.packets.len(), 9, "report {}", r.id);
    }
}

#[test]
fn a_partial_report_is_merged_with_the_next_part_in_sqlite_too() {
    let now = std::time::SystemTime::now();
    let pk = packets(OOPS, 512);
    let mut s = SqliteStore::in_memory().unwrap();
    let a = s.put_stored(&[part(&pk[..3], "10.0.0.7", now)]).unwrap();
    assert!(!a[0].fields.complete);
    // The second part alone lacks the first packet (the facts): still the same dump.
    let b = s.put_stored(&[part(&pk[3..], "10.0.0.7", now)]).unwrap();
    assert_eq!(a[0].id, b[0].id);
    assert!(b[0].fields.complete, "{:?}", b[0].fields);
    assert_eq!(s.get(a[0].id).unwrap().unwrap().packets.len(), 9);
    assert_eq!(s.list(&Filter::default()).unwrap().len(), 1);
}
