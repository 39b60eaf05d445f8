//! The raw DEFLATE compressor of `netoops_codec::deflate`, checked by inflating its output
//! with `miniz_oxide` (raw streams, no zlib header): round trips on edge cases and
//! generated kernel-log text, block and window boundaries, the output bound, the
//! output-too-small error at every cut, determinism with a reused workspace, and
//! proptests. The ratio on the shared corpus is the `#[ignore]`d `deflate_ratio`.

use netoops_codec::deflate::*;
use proptest::prelude::*;

fn workspace() -> Box<Workspace> {
    Box::new(Workspace::ZERO)
}

fn inflate(stream: &[u8]) -> Vec<u8> {
    miniz_oxide::inflate::decompress_to_vec(stream).expect("our stream must inflate")
}

/// Compresses into a buffer of exactly `max_compressed_len`, inflates, compares.
fn round_trip_with(input: &[u8], ws: &mut Workspace) -> Vec<u8> {
    let bound = max_compressed_len(input.len());
    let mut out = vec![0u8; bound];
    let n = compress(input, &mut out, ws).expect("compress within the bound");
    assert!(n <= bound);
    out.truncate(n);
    let back = inflate(&out);
    assert!(back == input, "round trip of {} bytes differs", input.len());
    out
}

fn round_trip(input: &[u8]) -> Vec<u8> {
    round_trip_with(input, &mut workspace())
}

/// xorshift64*: deterministic test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// Kernel-console-like text: timestamps, subsystems, hex addresses, call traces.
fn kernel_log(len: usize, seed: u64) -> Vec<u8> {
    const SUBSYS: &[&str] = &[
        "usb 1-1",
        "EXT4-fs (sda1)",
        "netoops",
        "kasan",
        "RIP: 0010",
        "Call Trace",
        "e1000e 0000:00:19.0 eth0",
        "systemd[1]",
        "audit",
    ];
    const WORDS: &[&str] = &[
        "mounted",
        "filesystem",
        "with",
        "ordered",
        "data",
        "mode",
        "link",
        "is",
        "up",
        "new",
        "device",
        "found",
        "BUG: unable to handle kernel paging request at",
        "general protection fault",
        "RSP:",
        "EFLAGS:",
        "Not tainted",
        "?",
        "do_syscall_64+0x",
        "entry_SYSCALL_64_after_hwframe+0x",
    ];
    let mut rng = Rng(seed | 1);
    let mut t = 1_000_000u64;
    let mut out = Vec::with_capacity(len + 200);
    while out.len() < len {
        t += rng.below(5000);
        let mut line = format!(
            "[{:5}.{:06}] {}: ",
            t / 1_000_000,
            t % 1_000_000,
            SUBSYS[rng.below(SUBSYS.len() as u64) as usize]
        );
        for _ in 0..1 + rng.below(8) {
            line.push_str(WORDS[rng.below(WORDS.len() as u64) as usize]);
            if rng.below(4) == 0 {
                line.push_str(&format!(" ffff8880{:08x}", rng.next() as u32));
            }
            line.push(' ');
        }
        line.push('\n');
        out.extend_from_slice(line.as_bytes());
    }
    out.truncate(len);
    out
}

// ---- Edge cases -------------------------------------------------------------------------

#[test]
fn empty_input() {
    let out = round_trip(b"");
    assert!(!out.is_empty() && out.len() <= max_compressed_len(0));
}

#[test]
fn one_byte() {
    for b in [0u8, b'a', 0xFF] {
        round_trip(&[b]);
    }
    round_trip(b"ab");
    round_trip(b"abc");
    round_trip(b"abcabc");
}

#[test]
fn all_same_bytes() {
    for len in [3, 4, 258, 259, 260, 1000, 65536, 300_000] {
        let input = vec![b'x'; len];
        let out = round_trip(&input);
        if len >= 1000 {
            // Distance-1 matches of 258: a few bits per 258 bytes.
            assert!(out.len() < len / 50 + 20, "{len} -> {}", out.len());
        }
    }
    round_trip(&vec![0u8; 1 << 20]);
}

#[test]
fn random_incompressible() {
    let mut rng = Rng(7);
    for len in [1, 2, 100, 5000, 16383, 16384, 16385, 70_000, 200_000] {
        let input = rng.bytes(len);
        let out = round_trip(&input);
        assert!(out.len() <= max_compressed_len(len));
    }
}

#[test]
fn kernel_log_text() {
    for (len, seed) in [(100, 1), (4096, 2), (32 * 1024, 3), (200_000, 4)] {
        let input = kernel_log(len, seed);
        let out = round_trip(&input);
        if len >= 4096 {
            let ratio = input.len() as f64 / out.len() as f64;
            assert!(ratio > 2.5, "{len}: ratio {ratio:.2}");
        }
    }
}

#[test]
fn window_and_block_boundaries() {
    for len in [
        32 * 1024 - 1,
        32 * 1024,
        32 * 1024 + 1,
        64 * 1024 - 1,
        64 * 1024,
        64 * 1024 + 1,
        BLOCK_SYMBOLS - 1,
        BLOCK_SYMBOLS,
        BLOCK_SYMBOLS + 1,
        3 * BLOCK_SYMBOLS + 7,
    ] {
        round_trip(&kernel_log(len, len as u64));
        round_trip(&Rng(len as u64).bytes(len));
    }
}

#[test]
fn one_mebibyte() {
    let log = kernel_log(1 << 20, 11);
    let out = round_trip(&log);
    assert!(out.len() < log.len() / 3);
    // Half text, half noise: blocks of every kind in one stream.
    let mut mixed = Vec::new();
    let mut rng = Rng(12);
    while mixed.len() < 1 << 20 {
        mixed.extend_from_slice(&kernel_log(20_000, rng.next()));
        mixed.extend_from_slice(&rng.bytes(20_000));
    }
    round_trip(&mixed);
}

/// `x` repeated `dist` bytes later, with filler that cannot match it in between.
fn repeat_at(dist: usize, x_len: usize, same: bool) -> Vec<u8> {
    let mut rng = Rng(dist as u64 * 31 + x_len as u64);
    // x from bytes 128..=255, filler from 'a'..='z': the filler never matches x.
    let x: Vec<u8> = (0..x_len).map(|_| 128 | rng.next() as u8).collect();
    let mut input = x.clone();
    while input.len() < dist {
        input.push(b'a' + rng.below(26) as u8);
    }
    if same {
        input.extend_from_slice(&x);
    } else {
        input.extend((0..x_len).map(|_| 128 | rng.next() as u8));
    }
    input.extend((0..100).map(|_| b'a' + rng.below(26) as u8));
    input
}

#[test]
fn matches_at_max_distance_and_length() {
    for dist in [32767, 32768] {
        let with = round_trip(&repeat_at(dist, 258, true)).len();
        let without = round_trip(&repeat_at(dist, 258, false)).len();
        // A 258-byte match costs a few bytes; 258 random high bytes at least 200.
        assert!(
            with + 200 < without,
            "distance {dist}: {with} vs {without}: the match was not found"
        );
    }
    // One byte too far: no match possible, still a valid stream.
    let with = round_trip(&repeat_at(32769, 258, true)).len();
    let without = round_trip(&repeat_at(32769, 258, false)).len();
    assert!(with + 50 > without);
    // Longer than 258: split into maximal matches.
    round_trip(&repeat_at(1000, 1000, true));
    round_trip(&repeat_at(32768, 1000, true));
}

// ---- Output bound and errors ------------------------------------------------------------

#[test]
fn bound_holds_on_incompressible_input() {
    let mut rng = Rng(99);
    let mut ws = workspace();
    for len in [
        0, 1, 10, 1000, 16384, 16385, 50_000, 65535, 65536, 65537, 300_000,
    ] {
        let input = rng.bytes(len);
        let bound = max_compressed_len(len);
        let mut out = vec![0u8; bound];
        let n = compress(&input, &mut out, &mut ws).unwrap();
        assert!(n <= bound, "{len}: {n} > {bound}");
        // Stored blocks: little overhead.
        assert!(n <= len + 5 * (len / BLOCK_SYMBOLS + 1), "{len}: {n}");
        assert_eq!(inflate(&out[..n]), input);
    }
    assert_eq!(max_compressed_len(usize::MAX), usize::MAX);
}

#[test]
fn output_too_small_at_every_cut() {
    let mut rng = Rng(5);
    let inputs = [
        Vec::new(),
        b"a".to_vec(),
        kernel_log(3000, 8),
        rng.bytes(400),
        vec![b'z'; 2000],
    ];
    let mut ws = workspace();
    for input in &inputs {
        let mut full = vec![0u8; max_compressed_len(input.len())];
        let n = compress(input, &mut full, &mut ws).unwrap();
        for cut in 0..n {
            let mut out = vec![0xA5u8; cut];
            assert_eq!(
                compress(input, &mut out, &mut ws),
                Err(DeflateError::OutputTooSmall),
                "input of {} bytes, cut {cut} of {n}",
                input.len()
            );
        }
        let mut exact = vec![0u8; n];
        assert_eq!(compress(input, &mut exact, &mut ws), Ok(n));
        assert_eq!(exact, full[..n]);
    }
}

// ---- Determinism ------------------------------------------------------------------------

#[test]
fn reused_workspace_gives_the_same_bytes() {
    let a = kernel_log(100_000, 21);
    let mut b = kernel_log(70_000, 22);
    b.extend_from_slice(&a[..30_000]);
    let mut ws = workspace();
    let from_a = round_trip_with(&a, &mut ws);
    let b_after_a = round_trip_with(&b, &mut ws);
    let b_fresh = round_trip(&b);
    assert_eq!(b_after_a, b_fresh);
    let b_again = round_trip_with(&b, &mut ws);
    assert_eq!(b_again, b_fresh);
    assert_eq!(round_trip_with(&a, &mut ws), from_a);
    // After a failed call too.
    let mut small = [0u8; 10];
    assert!(compress(&a, &mut small, &mut ws).is_err());
    assert_eq!(round_trip_with(&b, &mut ws), b_fresh);
}

// The limits the kernel relies on, checked at compile time.
const _: () = assert!(MAX_INPUT_LEN >= 1 << 20);
const _: () = assert!(core::mem::size_of::<Workspace>() < 512 * 1024);

#[test]
fn workspace_size() {
    println!(
        "size_of::<Workspace>() = {}",
        core::mem::size_of::<Workspace>()
    );
}

// ---- Proptests --------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn prop_arbitrary_bytes(input in proptest::collection::vec(any::<u8>(), 0..20_000)) {
        round_trip(&input);
    }

    #[test]
    fn prop_repeated_pieces(
        pieces in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..300), 1..8),
        order in proptest::collection::vec((0usize..8, 0usize..40_000), 1..200),
    ) {
        // Copies of a few pieces with runs of dots between them (up to about 140 KB):
        // matches of many lengths and distances, within and beyond the window.
        let mut input = Vec::new();
        for (p, gap) in order {
            input.extend_from_slice(&pieces[p % pieces.len()]);
            input.extend(std::iter::repeat_n(b'.', gap % 40_000 / 100));
        }
        round_trip(&input);
    }

    #[test]
    fn prop_cut_output(input in proptest::collection::vec(0u8..4, 0..3000), cut in 0usize..1000) {
        let mut ws = workspace();
        let mut out = vec![0u8; cut];
        match compress(&input, &mut out, &mut ws) {
            Ok(n) => prop_assert_eq!(inflate(&out[..n]), input),
            Err(e) => prop_assert_eq!(e, DeflateError::OutputTooSmall),
        }
    }
}

proptest! {
    // Long inputs: fewer cases (each is up to 100 KB, slow in a debug build).
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn prop_small_alphabet(
        idx in proptest::collection::vec(0usize..6, 0..100_000),
        alphabet in proptest::sample::subsequence(b"ab \n[]0.:x".to_vec(), 1..6),
    ) {
        let input: Vec<u8> = idx.iter().map(|&i| alphabet[i % alphabet.len()]).collect();
        round_trip(&input);
    }
}

// ---- Ratio on the shared corpus ---------------------------------------------------------

/// The console logs of `shared/corpus/syzkaller-linux` (each file: header, empty line,
/// log), concatenated in file-name order; `None` when the corpus is not there.
fn corpus() -> Option<Vec<u8>> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent()?;
    let dir = root.join("../shared/corpus/syzkaller-linux");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    names.sort();
    let mut log = Vec::new();
    for p in names {
        let file = std::fs::read(&p).ok()?;
        let body = match file.windows(2).position(|w| w == b"\n\n") {
            Some(i) => &file[i + 2..],
            None => &file[..],
        };
        log.extend_from_slice(body);
    }
    Some(log)
}

/// zlib's raw deflate sizes at levels 1, 6, 9 over `window`-byte pieces, via python3.
fn zlib_sizes(log: &[u8], window: usize) -> Option<[usize; 3]> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    const SCRIPT: &str = "import sys, zlib\n\
        d = sys.stdin.buffer.read(); w = int(sys.argv[1]); r = []\n\
        for lvl in (1, 6, 9):\n\
        \x20   t = 0\n\
        \x20   for i in range(0, len(d), w):\n\
        \x20       c = zlib.compressobj(lvl, zlib.DEFLATED, -15)\n\
        \x20       t += len(c.compress(d[i:i + w]) + c.flush())\n\
        \x20   r.append(t)\n\
        print(*r)\n";
    let mut child = Command::new("python3")
        .args(["-c", SCRIPT, &window.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(log).ok()?;
    let out = child.wait_with_output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let v: Vec<usize> = text
        .split_whitespace()
        .filter_map(|s| s.parse().ok())
        .collect();
    Some([*v.first()?, *v.get(1)?, *v.get(2)?])
}

#[test]
#[ignore = "measurement: needs ../shared/corpus; run with --release --ignored --nocapture"]
fn deflate_ratio() {
    let Some(log) = corpus() else {
        println!("deflate_ratio: ../shared/corpus/syzkaller-linux not found, nothing measured");
        return;
    };
    println!("deflate_ratio: {} bytes of console log", log.len());
    let mut ws = workspace();
    for window in [32 * 1024, 64 * 1024] {
        let mut out = vec![0u8; max_compressed_len(window)];
        // Best of 3 passes for the throughput (the machine may be shared).
        let mut ours = 0;
        let mut secs = f64::MAX;
        for _ in 0..3 {
            ours = 0;
            let start = std::time::Instant::now();
            for chunk in log.chunks(window) {
                ours += compress(chunk, &mut out, &mut ws).unwrap();
            }
            secs = secs.min(start.elapsed().as_secs_f64());
        }
        for chunk in log.chunks(window) {
            let n = compress(chunk, &mut out, &mut ws).unwrap();
            assert_eq!(inflate(&out[..n]), chunk);
        }
        let ratio = |n: usize| log.len() as f64 / n as f64;
        let miniz: Vec<String> = [1u8, 6, 9]
            .iter()
            .map(|&lvl| {
                let n: usize = log
                    .chunks(window)
                    .map(|c| miniz_oxide::deflate::compress_to_vec(c, lvl).len())
                    .sum();
                format!("{:.3}", ratio(n))
            })
            .collect();
        let zlib = match zlib_sizes(&log, window) {
            Some(z) => format!(
                "zlib -1 {:.3}, -6 {:.3}, -9 {:.3}",
                ratio(z[0]),
                ratio(z[1]),
                ratio(z[2])
            ),
            None => "zlib: python3 not available".to_string(),
        };
        println!(
            "deflate_ratio: {} KiB windows: ours {:.3} ({ours} bytes, {:.1} MB/s); {zlib}; \
             miniz_oxide 1/6/9 {}",
            window / 1024,
            ratio(ours),
            log.len() as f64 / secs / 1e6,
            miniz.join("/"),
        );
    }
}
