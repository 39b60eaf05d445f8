//! Symbolizing stacks against a small C program compiled here with gcc, checked against
//! binutils' `addr2line -f -i`: debug directory layouts, build-id mismatches, and a
//! debuginfod served by a tiny HTTP server in the test (found, 404, refused, hanging,
//! negative cache), plus elfutils' own `debuginfod` when installed.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use netoopsd::symbolize::{render, DebugStatus, Location, SymbolizeConfig, Symbolized, Symbolizer};

const SOURCE: &str = r#"
volatile int sink;

static inline __attribute__((always_inline)) int helper(int x)
{
	sink = x * 3;
	if (sink > 1000)
		sink = VARIANT;
	return sink + 1;
}

__attribute__((noinline)) int outer(int x)
{
	int r = helper(x);
	sink = r;
	return r * 2;
}

__attribute__((noinline)) int caller(int x)
{
	int r = outer(x + 1);
	sink = r;
	return r + outer(r);
}

int main(int argc, char **argv)
{
	(void)argv;
	return caller(argc) & 1;
}
"#;

/// A compiled test program.
struct Bin {
    dir: tempfile::TempDir,
    path: PathBuf,
    build_id: Vec<u8>,
    /// name -> (address, size), from `nm -S`.
    syms: HashMap<String, (u64, u64)>,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn compile(variant: u32) -> Bin {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t.c"), SOURCE).unwrap();
    run(Command::new("gcc")
        .current_dir(dir.path())
        .args(["-g", "-O2", "-Wl,--build-id", "-o", "t", "t.c"])
        .arg(format!("-DVARIANT={variant}")));
    let path = dir.path().join("t");
    let notes = run(Command::new("readelf").arg("-n").arg(&path));
    let id = notes
        .lines()
        .find_map(|l| l.trim().strip_prefix("Build ID: "))
        .expect("a build id note");
    let build_id = (0..id.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&id[i..i + 2], 16).unwrap())
        .collect();
    let mut syms = HashMap::new();
    for l in run(Command::new("nm").arg("-S").arg(&path)).lines() {
        let w: Vec<&str> = l.split_whitespace().collect();
        if let [addr, size, _, name] = w[..] {
            syms.insert(
                name.to_string(),
                (
                    u64::from_str_radix(addr, 16).unwrap(),
                    u64::from_str_radix(size, 16).unwrap(),
                ),
            );
        }
    }
    Bin {
        dir,
        path,
        build_id,
        syms,
    }
}

impl Bin {
    /// binutils' answer for `addrs`: per address, (function, file, line) innermost first,
    /// files relative to the compilation directory.
    fn addr2line(&self, addrs: &[u64]) -> Vec<Vec<(String, String, u32)>> {
        let out = run(Command::new("addr2line")
            .args(["-a", "-f", "-i", "-e"])
            .arg(&self.path)
            .args(addrs.iter().map(|a| format!("{a:#x}"))));
        let prefix = format!("{}/", self.dir.path().display());
        let mut groups: Vec<Vec<(String, String, u32)>> = Vec::new();
        let mut lines = out.lines().peekable();
        while let Some(l) = lines.next() {
            if l.starts_with("0x") {
                groups.push(Vec::new());
                continue;
            }
            let func = l.to_string();
            let at = lines.next().unwrap();
            let at = at.split(" (discriminator").next().unwrap();
            let (file, line) = at.rsplit_once(':').unwrap();
            let file = file.strip_prefix(&prefix).unwrap_or(file);
            groups
                .last_mut()
                .unwrap()
                .push((func, file.to_string(), line.parse().unwrap_or(0)));
        }
        groups
    }

    fn sym(&self, name: &str) -> (u64, u64) {
        *self.syms.get(name).unwrap_or_else(|| panic!("no {name}"))
    }

    /// An offset into `outer` where the inlined `helper` is.
    fn inlined_offset(&self) -> u64 {
        let (base, size) = self.sym("outer");
        let addrs: Vec<u64> = (0..size).map(|o| base + o).collect();
        self.addr2line(&addrs)
            .iter()
            .position(|g| g.len() == 2 && g[0].0 == "helper" && g[1].0 == "outer")
            .expect("helper inlined into outer") as u64
    }

    /// A log with an oops: RIP in the inlined helper, a call trace.
    fn oops(&self) -> String {
        let (_, osize) = self.sym("outer");
        let (_, csize) = self.sym("caller");
        let (_, msize) = self.sym("main");
        format!(
            "[    1.000000] [    T1] Oops: invalid opcode: 0000 [#1] SMP\n\
             [    1.000001] [    T1] RIP: 0010:outer+{:#x}/{osize:#x}\n\
             [    1.000002] [    T1] Code: 0f 0b\n\
             [    1.000003] [    T1] Call Trace:\n\
             [    1.000004] [    T1]  <TASK>\n\
             [    1.000005] [    T1]  caller+{:#x}/{csize:#x}\n\
             [    1.000006] [    T1]  ? main+{:#x}/{msize:#x}\n\
             [    1.000007] [    T1]  modfunc+0x1/0x2 [somemod]\n\
             [    1.000008] [    T1]  </TASK>\n\
             [    1.000009] [    T1] ---[ end trace 0000000000000000 ]---\n",
            self.inlined_offset(),
            csize / 2,
            msize / 2,
        )
    }

    /// What binutils says the frames of [`oops`](Self::oops) are (the RIP as is, return
    /// addresses minus one).
    fn expected(&self) -> Vec<Vec<(String, String, u32)>> {
        let (o, _) = self.sym("outer");
        let (c, csize) = self.sym("caller");
        let (m, msize) = self.sym("main");
        self.addr2line(&[
            o + self.inlined_offset(),
            c + csize / 2 - 1,
            m + msize / 2 - 1,
        ])
    }
}

fn triples(l: &[Location]) -> Vec<(String, String, u32)> {
    l.iter()
        .map(|l| (l.function.clone(), l.file.clone(), l.line))
        .collect()
}

/// The frames resolve as binutils resolves them, inlined flags on all but the last.
fn check_frames(bin: &Bin, s: &Symbolized) {
    let expected = bin.expected();
    assert_eq!(s.frames.len(), 4, "{s:#?}");
    assert!(s.frames[0].rip && !s.frames[1].rip);
    assert!(s.frames[2].unreliable);
    for (f, want) in s.frames.iter().zip(&expected) {
        assert_eq!(&triples(&f.locations), want, "{}", f.text);
        let n = f.locations.len();
        for (i, l) in f.locations.iter().enumerate() {
            assert_eq!(l.inlined, i + 1 < n, "{}", f.text);
        }
    }
    // The RIP frame is the inline chain helper < outer, in t.c.
    assert_eq!(s.frames[0].locations.len(), 2);
    assert_eq!(s.frames[0].locations[0].function, "helper");
    assert_eq!(s.frames[0].locations[0].file, "t.c");
    assert!(s.frames[0].locations[0].line > 0);
    // Module frames stay as printed.
    assert_eq!(s.frames[3].text, "modfunc+0x1/0x2 [somemod]");
    assert!(s.frames[3].locations.is_empty());
}

fn dirs(d: &[&Path]) -> SymbolizeConfig {
    SymbolizeConfig {
        debug_dirs: d.iter().map(|p| p.to_path_buf()).collect(),
        ..SymbolizeConfig::default()
    }
}

const WAIT: Duration = Duration::from_secs(30);

#[test]
fn debug_dir_layouts() {
    let bin = compile(1);
    let h = hex(&bin.build_id);
    let (a, b) = h.split_at(2);
    let log = bin.oops();
    let layouts = [
        format!(".build-id/{a}/{b}.debug"),
        format!("{a}/{b}.debug"),
        "vmlinux".to_string(),
        "build/vmlinux".to_string(),
    ];
    for rel in layouts {
        let root = tempfile::tempdir().unwrap();
        let dest = root.path().join(&rel);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(&bin.path, &dest).unwrap();
        // Another ELF file without debug info beside it, and a text file.
        std::fs::write(root.path().join("README"), "not an ELF").unwrap();
        let s = Symbolizer::new(dirs(&[Path::new("/nonexistent"), root.path()]));
        let r = s.symbolize_wait(Some(&bin.build_id), &log, WAIT);
        assert_eq!(r.status, DebugStatus::Found(dest.clone()), "{rel}");
        check_frames(&bin, &r);
        // Loaded once: the next call answers at once.
        let t = Instant::now();
        assert_eq!(s.symbolize(Some(&bin.build_id), &log), r);
        assert!(t.elapsed() < Duration::from_secs(1));
    }
}

#[test]
fn text_and_json_output() {
    let bin = compile(1);
    let s = Symbolizer::new(dirs(&[bin.dir.path()]));
    let r = s.symbolize_wait(Some(&bin.build_id), &bin.oops(), WAIT);
    let mut out = String::new();
    render::render_text(&r, &mut out);
    let lines: Vec<&str> = out.lines().collect();
    let helper = &r.frames[0].locations[0];
    let outer = &r.frames[0].locations[1];
    assert_eq!(lines[0], "----- symbolized stack -----");
    assert_eq!(lines[1], format!("debug info: {}", bin.path.display()));
    assert_eq!(
        lines[2],
        format!(" RIP: helper (t.c:{}) [inlined]", helper.line)
    );
    assert_eq!(lines[3], format!(" RIP: outer (t.c:{})", outer.line));
    assert_eq!(lines[4], "Call Trace:");
    assert!(lines[5].starts_with(" caller (t.c:"), "{out}");
    assert!(lines[6].starts_with(" ? main (t.c:"), "{out}");
    assert_eq!(lines[7], " modfunc+0x1/0x2 [somemod]");
    let j = render::to_json(&r);
    assert_eq!(j["status"], "found");
    assert_eq!(j["frames"][0]["locations"][0]["function"], "helper");
    assert_eq!(j["frames"][0]["locations"][0]["inlined"], true);
    assert_eq!(j["frames"][0]["locations"][1]["inlined"], false);
    assert_eq!(j["frames"][3]["locations"].as_array().unwrap().len(), 0);
}

#[test]
fn build_id_mismatch_is_named() {
    let bin = compile(1);
    let other = compile(2);
    assert_ne!(bin.build_id, other.build_id);
    let h = hex(&bin.build_id);
    let root = tempfile::tempdir().unwrap();
    let dest = root.path().join(".build-id").join(&h[..2]);
    std::fs::create_dir_all(&dest).unwrap();
    let dest = dest.join(format!("{}.debug", &h[2..]));
    std::fs::copy(&other.path, &dest).unwrap();
    let s = Symbolizer::new(dirs(&[root.path()]));
    let r = s.symbolize_wait(Some(&bin.build_id), &bin.oops(), WAIT);
    let want = format!(
        "{}: build id {}, wanted {}",
        dest.display(),
        hex(&other.build_id),
        h
    );
    assert_eq!(r.status, DebugStatus::Unusable(want));
    assert!(r.frames.iter().all(|f| f.locations.is_empty()));
    assert_eq!(r.frames.len(), 4);
}

#[test]
fn missing_and_unconfigured() {
    let bin = compile(1);
    let log = bin.oops();
    let empty = tempfile::tempdir().unwrap();
    let s = Symbolizer::new(dirs(&[empty.path()]));
    let r = s.symbolize_wait(Some(&bin.build_id), &log, WAIT);
    assert_eq!(
        r.status,
        DebugStatus::Missing(format!(
            "{}: no file with that build id",
            empty.path().display()
        ))
    );
    assert!(r.frames.iter().all(|f| f.locations.is_empty()));
    let r = s.symbolize(None, &log);
    assert_eq!(r.status, DebugStatus::NoBuildId);
    assert_eq!(r.frames.len(), 4);
    let r = Symbolizer::default().symbolize(Some(&bin.build_id), &log);
    assert_eq!(r.status, DebugStatus::NotConfigured);
}

/// What the test server answers.
#[derive(Clone)]
enum Reply {
    File(PathBuf),
    Status(u16),
    Hang,
    Slow(Duration, u16),
}

struct Server {
    url: String,
    hits: Arc<AtomicUsize>,
}

fn serve(reply: Reply) -> Server {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    std::thread::spawn(move || {
        for c in l.incoming() {
            let Ok(c) = c else { continue };
            let (reply, h) = (reply.clone(), h.clone());
            std::thread::spawn(move || answer(c, &reply, &h));
        }
    });
    Server { url, hits }
}

fn answer(mut c: TcpStream, reply: &Reply, hits: &AtomicUsize) {
    let mut req = Vec::new();
    let mut buf = [0u8; 1024];
    while !req.windows(4).any(|w| w == b"\r\n\r\n") {
        match c.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => req.extend_from_slice(&buf[..n]),
        }
    }
    hits.fetch_add(1, Ordering::SeqCst);
    let status = |c: &mut TcpStream, code: u16| {
        let _ = write!(
            c,
            "HTTP/1.1 {code} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
    };
    match reply {
        Reply::File(p) => {
            let body = std::fs::read(p).unwrap();
            let _ = write!(
                c,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = c.write_all(&body);
        }
        Reply::Status(code) => status(&mut c, *code),
        Reply::Hang => std::thread::sleep(Duration::from_secs(120)),
        Reply::Slow(d, code) => {
            std::thread::sleep(*d);
            status(&mut c, *code)
        }
    }
}

fn debuginfod(urls: &[&str], cache: &Path, timeout: Duration) -> SymbolizeConfig {
    SymbolizeConfig {
        debuginfod_urls: urls.iter().map(|u| u.to_string()).collect(),
        cache_dir: Some(cache.to_path_buf()),
        fetch_timeout: timeout,
        ..SymbolizeConfig::default()
    }
}

#[test]
fn debuginfod_found_and_cached() {
    let bin = compile(1);
    let log = bin.oops();
    let server = serve(Reply::File(bin.path.clone()));
    let cache = tempfile::tempdir().unwrap();
    let cfg = debuginfod(&[&server.url], cache.path(), Duration::from_secs(10));
    let r = Symbolizer::new(cfg).symbolize_wait(Some(&bin.build_id), &log, WAIT);
    let cached = cache.path().join(hex(&bin.build_id)).join("debuginfo");
    assert_eq!(r.status, DebugStatus::Found(cached.clone()));
    check_frames(&bin, &r);
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
    // No temporary file left beside it.
    let names: Vec<_> = std::fs::read_dir(cached.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["debuginfo"]);
    // A new symbolizer finds it in the cache without asking the server.
    let cfg = debuginfod(&[&server.url], cache.path(), Duration::from_secs(10));
    let r = Symbolizer::new(cfg).symbolize_wait(Some(&bin.build_id), &log, WAIT);
    assert_eq!(r.status, DebugStatus::Found(cached));
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
}

#[test]
fn debuginfod_serving_the_wrong_file() {
    let bin = compile(1);
    let other = compile(2);
    let server = serve(Reply::File(other.path.clone()));
    let cache = tempfile::tempdir().unwrap();
    let cfg = debuginfod(&[&server.url], cache.path(), Duration::from_secs(10));
    let r = Symbolizer::new(cfg).symbolize_wait(Some(&bin.build_id), &bin.oops(), WAIT);
    let DebugStatus::Unusable(m) = &r.status else {
        panic!("{:?}", r.status)
    };
    assert!(
        m.contains(&format!(
            "build id {}, wanted {}",
            hex(&other.build_id),
            hex(&bin.build_id)
        )),
        "{m}"
    );
    assert!(!cache
        .path()
        .join(hex(&bin.build_id))
        .join("debuginfo")
        .exists());
}

#[test]
fn debuginfod_404_refused_and_negative_cache() {
    let bin = compile(1);
    let log = bin.oops();
    let server = serve(Reply::Status(404));
    // A port nobody listens on.
    let refused = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let cache = tempfile::tempdir().unwrap();
    let mut cfg = debuginfod(
        &[&server.url, &refused],
        cache.path(),
        Duration::from_secs(10),
    );
    cfg.negative_ttl = Some(Duration::from_secs(2));
    let s = Symbolizer::new(cfg);
    let t = Instant::now();
    let r = s.symbolize_wait(Some(&bin.build_id), &log, WAIT);
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    let DebugStatus::Missing(m) = &r.status else {
        panic!("{:?}", r.status)
    };
    let h = hex(&bin.build_id);
    assert!(
        m.contains(&format!("{}/buildid/{h}/debuginfo: HTTP 404", server.url)),
        "{m}"
    );
    assert!(
        m.contains(&format!("{refused}/buildid/{h}/debuginfo: ")),
        "{m}"
    );
    assert!(r.frames.iter().all(|f| f.locations.is_empty()));
    // Remembered: asking again does not ask the server again.
    for _ in 0..5 {
        assert_eq!(s.symbolize(Some(&bin.build_id), &log).status, r.status);
    }
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
    // Until the negative cache entry expires.
    std::thread::sleep(Duration::from_millis(2200));
    assert_eq!(
        s.symbolize(Some(&bin.build_id), &log).status,
        DebugStatus::Pending
    );
    let r = s.symbolize_wait(Some(&bin.build_id), &log, WAIT);
    assert!(matches!(r.status, DebugStatus::Missing(_)));
    assert_eq!(server.hits.load(Ordering::SeqCst), 2);
}

#[test]
fn debuginfod_hanging_never_blocks() {
    let bin = compile(1);
    let log = bin.oops();
    let server = serve(Reply::Hang);
    let cache = tempfile::tempdir().unwrap();
    let s = Symbolizer::new(debuginfod(
        &[&server.url],
        cache.path(),
        Duration::from_secs(2),
    ));
    let t = Instant::now();
    let r = s.symbolize(Some(&bin.build_id), &log);
    assert!(
        t.elapsed() < Duration::from_millis(500),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(r.status, DebugStatus::Pending);
    assert_eq!(r.frames.len(), 4);
    assert!(r.frames.iter().all(|f| f.locations.is_empty()));
    let t = Instant::now();
    let r = s.symbolize_wait(Some(&bin.build_id), &log, Duration::from_millis(300));
    assert_eq!(r.status, DebugStatus::Pending);
    assert!(
        t.elapsed() < Duration::from_millis(1500),
        "{:?}",
        t.elapsed()
    );
    // The fetch gives up after its timeout.
    let r = s.symbolize_wait(Some(&bin.build_id), &log, Duration::from_secs(10));
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    let DebugStatus::Missing(m) = &r.status else {
        panic!("{:?}", r.status)
    };
    assert!(m.contains(&server.url), "{m}");
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
}

#[test]
fn one_fetch_per_build_id() {
    let bin = compile(1);
    let log = bin.oops();
    let server = serve(Reply::Slow(Duration::from_millis(500), 404));
    let cache = tempfile::tempdir().unwrap();
    let s = Symbolizer::new(debuginfod(
        &[&server.url],
        cache.path(),
        Duration::from_secs(10),
    ));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (s, log, id) = (s.clone(), log.clone(), bin.build_id.clone());
            std::thread::spawn(move || {
                for _ in 0..10 {
                    let _ = s.symbolize(Some(&id), &log);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let r = s.symbolize_wait(Some(&bin.build_id), &log, WAIT);
    assert!(
        matches!(r.status, DebugStatus::Missing(_)),
        "{:?}",
        r.status
    );
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
}

/// elfutils' debuginfod serving the compiled program: the protocol is the same.
#[test]
fn elfutils_debuginfod() {
    // Installed by scripts/setup-host.sh (make check): a missing server is a failure, not a
    // skip.
    let exe = Path::new("/usr/bin/debuginfod");
    assert!(
        exe.exists(),
        "no {}: install Debian's debuginfod (scripts/setup-host.sh)",
        exe.display()
    );
    let bin = compile(1);
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let work = tempfile::tempdir().unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _server = Kill(
        Command::new(exe)
            .arg("-F")
            .arg(bin.dir.path())
            .args(["-p", &port.to_string(), "-d"])
            .arg(work.path().join("db.sqlite"))
            .args(["-t", "1"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let url = format!("http://127.0.0.1:{port}");
    let cache = tempfile::tempdir().unwrap();
    let log = bin.oops();
    // debuginfod scans its directory in the background: ask until it has the file.
    let start = Instant::now();
    loop {
        let mut cfg = debuginfod(&[&url], cache.path(), Duration::from_secs(5));
        cfg.negative_ttl = Some(Duration::ZERO);
        let r = Symbolizer::new(cfg).symbolize_wait(Some(&bin.build_id), &log, WAIT);
        match &r.status {
            DebugStatus::Found(p) => {
                assert_eq!(p, &cache.path().join(hex(&bin.build_id)).join("debuginfo"));
                check_frames(&bin, &r);
                break;
            }
            other => {
                assert!(
                    start.elapsed() < Duration::from_secs(60),
                    "debuginfod never served it: {other:?}"
                );
                std::thread::sleep(Duration::from_millis(250));
            }
        }
    }
}

/// `netoopsd show` of a stored report whose dump carries the program's build id.
#[test]
fn show_prints_the_symbolized_stack() {
    use netoops_codec::wire::{Dump, DumpFacts, Reason};
    use netoopsd::live::Finished;
    use netoopsd::reassembly::DumpState;
    use netoopsd::store::{sqlite::SqliteStore, NewReport, Store};

    let bin = compile(1);
    let log = bin.oops();
    let store_dir = tempfile::tempdir().unwrap();
    let db = store_dir.path().join("db.sqlite");
    let mut store = SqliteStore::open(&db).unwrap();
    for id in [Some(bin.build_id.as_slice()), None] {
        let d = Dump {
            boot_id: [7; 16],
            seq: u32::from(id.is_none()),
            reason: Reason::Oops,
            facts: DumpFacts {
                build_id: id,
                ..DumpFacts::empty()
            },
            log: log.as_bytes(),
            log_truncated: false,
        };
        let packets = netoopsd::encode::encode_dump(d, 1400).unwrap();
        let dump = DumpState::from_packets(packets.iter().map(Vec::as_slice), "t").unwrap();
        let f = Finished {
            sender: "127.0.0.1".parse().unwrap(),
            dump,
            first_seen: std::time::SystemTime::now(),
            last_seen: std::time::SystemTime::now(),
        };
        store
            .put(&[NewReport::from_finished(&f, std::time::SystemTime::now())])
            .unwrap();
    }
    drop(store);
    let show = |args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_netoopsd"))
            .arg("--db")
            .arg(&db)
            .args(args)
            .env_remove("DEBUGINFOD_URLS")
            .output()
            .unwrap();
        assert!(o.status.success(), "{o:?}");
        String::from_utf8(o.stdout).unwrap()
    };
    let dir = bin.dir.path().to_str().unwrap();
    let text = show(&["show", "1", "--debug-dir", dir]);
    let section = text
        .split_once("----- symbolized stack -----\n")
        .unwrap_or_else(|| panic!("{text}"))
        .1;
    assert!(
        section.starts_with(&format!(
            "debug info: {}\n RIP: helper (t.c:",
            bin.path.display()
        )),
        "{section}"
    );
    assert!(
        section.contains(" [inlined]\n RIP: outer (t.c:"),
        "{section}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&show(&["show", "1", "--json", "--debug-dir", dir])).unwrap();
    assert_eq!(json["symbolized"]["status"], "found");
    assert_eq!(
        json["symbolized"]["frames"][0]["locations"][1]["function"],
        "outer"
    );
    // No source configured; no build id.
    let text = show(&["show", "1"]);
    assert!(
        text.contains("not symbolized: no debug info source"),
        "{text}"
    );
    assert!(text.contains(" RIP: outer+0x"), "{text}");
    let text = show(&["show", "2", "--debug-dir", dir]);
    assert!(
        text.contains("not symbolized: the report carries no build id"),
        "{text}"
    );
}

/// A module frame printed with its build id (`[mod HEX]`) resolves with that module's
/// debug file; one without stays as printed.
#[test]
fn module_frames_with_a_build_id() {
    let kernel = compile(1);
    let module = compile(2);
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(&kernel.path, dir.path().join("vmlinux")).unwrap();
    std::fs::copy(&module.path, dir.path().join("mod.ko.debug")).unwrap();
    let (_, csize) = module.sym("caller");
    let log = format!(
        "RIP: 0010:outer+{:#x}/{:#x}\nCall Trace:\n caller+{:#x}/{csize:#x} [mod {}]\n caller+0x1/{csize:#x} [other]\n",
        kernel.inlined_offset(),
        kernel.sym("outer").1,
        csize / 2,
        hex(&module.build_id)
    );
    let s = Symbolizer::new(dirs(&[dir.path()]));
    let r = s.symbolize_wait(Some(&kernel.build_id), &log, WAIT);
    assert_eq!(r.status, DebugStatus::Found(dir.path().join("vmlinux")));
    assert_eq!(r.frames[0].locations.len(), 2);
    let (c, _) = module.sym("caller");
    assert_eq!(
        triples(&r.frames[1].locations),
        module.addr2line(&[c + csize / 2 - 1])[0]
    );
    assert!(r.frames[2].locations.is_empty());
}
