//! `netoopsd bench`: a load generator. For each rate it starts `netoopsd listen` on a fresh
//! database on loopback, replays dumps (encoded with the codec, logs of 16 to 64 KiB ending
//! in a real oops) at that many packets per second, and compares what the collector counted
//! with what was sent. Socket drops (the collector's `SO_RXQ_OVFL` counter and the kernel's
//! `/proc/net/snmp` `RcvbufErrors`) are told apart from losses inside the collector (packets
//! it received but did not store).

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::Value;

use netoops_codec::wire::{
    ArchRegs, CpuId, Dump, DumpFacts, Reason, Regs, RegsSource, RegsX86_64, Time,
};

/// Options of `netoopsd bench`.
#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Packet rates to try, packets per second, in rising order.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "5000,10000,20000,40000,80000,120000"
    )]
    pub rates: Vec<u64>,
    /// Seconds of sending per rate.
    #[arg(long, default_value_t = 4.0)]
    pub seconds: f64,
    /// Smallest and largest log, KiB.
    #[arg(long, value_delimiter = ',', default_value = "16,64")]
    pub log_kib: Vec<usize>,
    /// Keep going after the first rate that loses packets.
    #[arg(long)]
    pub all: bool,
    /// The netoopsd to run as the collector (default: this one): two builds measured against
    /// one load generator.
    #[arg(long, value_name = "PATH")]
    pub collector: Option<std::path::PathBuf>,
    /// Measure the collector's stages without the socket instead, on this many dumps held
    /// in memory (receive + verify per core, report, store): see `bench_memory`.
    #[arg(long, value_name = "DUMPS")]
    pub memory: Option<u64>,
}

/// The oops every generated log ends with (our QEMU LKDTM BUG).
const OOPS: &str = include_str!("../tests/fixtures/signatures/lkdtm-bug.log");

/// A log of `len` bytes: boot-time lines, then the oops.
fn make_log(len: usize, n: u64) -> Vec<u8> {
    let oops = OOPS.split_once("\n\n").map_or(OOPS, |(_, l)| l);
    let mut log = Vec::with_capacity(len);
    let mut i = 0u64;
    while log.len() + oops.len() < len {
        let line = format!(
            "[{:5}.{:06}] bench: machine {n} line {i}: eth0: link up, 1000 Mbps, full duplex\n",
            i / 1000,
            i % 1_000_000
        );
        log.extend_from_slice(line.as_bytes());
        i += 1;
    }
    log.extend_from_slice(oops.as_bytes());
    log.truncate(len.max(oops.len()));
    log
}

/// All packets of generated dump `n` (distinct boot id).
pub(crate) fn dump_packets(n: u64, log_len: usize) -> Vec<Vec<u8>> {
    let log = make_log(log_len, n);
    let mut boot_id = [0u8; 16];
    boot_id[..8].copy_from_slice(&n.to_le_bytes());
    boot_id[8..].copy_from_slice(&0x6e65_746f_6f70_7362u64.to_le_bytes());
    let regs = Regs {
        source: RegsSource::Fault,
        regs: ArchRegs::X86_64(RegsX86_64::from_array([n; 21])),
    };
    let d = Dump {
        boot_id,
        seq: 0,
        reason: Reason::Oops,
        facts: DumpFacts {
            kernel_release: Some(b"7.3.4-bench"),
            hostname: Some(b"bench-host"),
            arch: Some(b"x86_64"),
            cpu_vendor: Some(b"GenuineIntel"),
            cpu_id: Some(CpuId {
                family: 6,
                model: 85,
                stepping: 7,
                microcode: 0x500_0036,
            }),
            dmi_bios_version: Some(b"1.16.2"),
            dmi_board_name: Some(b"bench-board"),
            taint: Some(0),
            time: Some(Time {
                uptime_ns: 1_000_000_000 * n,
                wall_sec: 1_767_225_600,
                wall_nsec: 0,
            }),
            regs: Some(&regs),
            ..DumpFacts::empty()
        },
        log: &log,
        log_truncated: false,
    };
    crate::encode::encode_dump(d, 1460).expect("bench dumps encode")
}

/// `RcvbufErrors` of UDP and UDP6 from `/proc/net/snmp` and `/proc/net/snmp6`.
pub fn rcvbuf_errors() -> u64 {
    let mut total = 0;
    if let Ok(s) = std::fs::read_to_string("/proc/net/snmp") {
        let udp: Vec<&str> = s.lines().filter(|l| l.starts_with("Udp:")).collect();
        if let [names, values, ..] = udp.as_slice() {
            let names: Vec<&str> = names.split_whitespace().collect();
            let values: Vec<&str> = values.split_whitespace().collect();
            if let Some(i) = names.iter().position(|n| *n == "RcvbufErrors") {
                total += values
                    .get(i)
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0);
            }
        }
    }
    if let Ok(s) = std::fs::read_to_string("/proc/net/snmp6") {
        for l in s.lines() {
            let mut it = l.split_whitespace();
            if it.next() == Some("Udp6RcvbufErrors") {
                total += it.next().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            }
        }
    }
    total
}

/// One rate's result.
#[derive(Debug, Clone)]
pub struct Step {
    /// Target packets per second.
    pub rate: u64,
    /// Packets sent.
    pub sent: u64,
    /// Dumps sent.
    pub dumps: u64,
    /// Achieved sending rate.
    pub sent_pps: f64,
    /// Dumps per second sent.
    pub dumps_per_s: f64,
    /// Packets the collector received.
    pub received: u64,
    /// Dropped at the socket (collector's SO_RXQ_OVFL).
    pub socket_drops: u64,
    /// System-wide RcvbufErrors increase during the step.
    pub rcvbuf_errors: u64,
    /// Complete reports stored.
    pub complete: u64,
    /// Partial reports stored.
    pub partial: u64,
    /// Peak RSS of the collector, KiB.
    pub max_rss_kib: u64,
}

impl Step {
    /// No packet lost anywhere and every dump stored complete.
    pub fn lossless(&self) -> bool {
        self.received == self.sent && self.socket_drops == 0 && self.complete == self.dumps
    }
    /// Packets the collector received but that did not end up in a complete report's
    /// count: losses inside the collector (should be 0).
    pub fn lost_inside(&self) -> i64 {
        self.sent as i64 - self.received as i64 - self.socket_drops as i64
    }
}

fn step(
    rate: u64,
    secs: f64,
    kib: (usize, usize),
    db_dir: &Path,
    collector: Option<&Path>,
) -> Result<Step, String> {
    let exe = match collector {
        Some(p) => p.to_path_buf(),
        None => std::env::current_exe().map_err(|e| format!("current executable: {e}"))?,
    };
    // Plan the dumps so that sending takes about `secs` at `rate`.
    let avg_packets = ((kib.0 + kib.1) * 1024 / 2).div_ceil(1392) as f64;
    let ndumps = ((rate as f64 * secs) / avg_packets).ceil().max(1.0) as u64;
    let db = db_dir.join(format!("bench-{rate}.db"));
    let mut child = Command::new(&exe)
        .args(["--db"])
        .arg(&db)
        .args([
            "listen",
            "--listen",
            "127.0.0.1:0",
            "--stats-json",
            "--partial-timeout",
            "3",
        ])
        .args(["--exit-after-dumps", &ndumps.to_string()])
        .args(["--timeout", &format!("{}", secs * 3.0 + 15.0)])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{}: {e}", exe.display()))?;
    let mut err = BufReader::new(child.stderr.take().expect("piped"));
    let mut line = String::new();
    let addr: SocketAddr = loop {
        line.clear();
        if err.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
            return Err("collector exited before listening".into());
        }
        if let Some(rest) = line.trim().strip_prefix("netoopsd: listening on ") {
            let a = rest.split_whitespace().next().unwrap_or("");
            break a
                .parse()
                .map_err(|_| format!("bad listening line: {line}"))?;
        }
    };
    let before = rcvbuf_errors();
    let tx = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    tx.connect(addr).map_err(|e| format!("{addr}: {e}"))?;
    let mut sent = 0u64;
    let interval = 1.0 / rate as f64;
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let start = Instant::now();
    for n in 0..ndumps {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let len = kib.0 * 1024 + (seed % ((kib.1 - kib.0) as u64 * 1024 + 1)) as usize;
        for p in dump_packets(n, len) {
            let due = start + Duration::from_secs_f64(sent as f64 * interval);
            let now = Instant::now();
            if due > now + Duration::from_micros(200) {
                std::thread::sleep(due - now);
            }
            // ENOBUFS on loopback is the sender's own queue: retry, it is not a loss.
            while tx.send(&p).is_err() {
                std::thread::yield_now();
            }
            sent += 1;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let mut stats: Option<Value> = None;
    loop {
        line.clear();
        if err.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
            break;
        }
        if line.starts_with('{') {
            stats = serde_json::from_str(&line).ok();
        }
    }
    let _ = child.wait();
    let after = rcvbuf_errors();
    let s = stats.ok_or("the collector printed no statistics")?;
    let g = |k: &str| s[k].as_u64().unwrap_or(0);
    Ok(Step {
        rate,
        sent,
        dumps: ndumps,
        sent_pps: sent as f64 / elapsed,
        dumps_per_s: ndumps as f64 / elapsed,
        received: g("packets"),
        socket_drops: g("socket_drops"),
        rcvbuf_errors: after.saturating_sub(before),
        complete: g("dumps_complete"),
        partial: g("dumps_partial"),
        max_rss_kib: g("max_rss_kib"),
    })
}

/// Runs the benchmark; returns the report text. `_db` is unused: each rate gets a fresh
/// database in a temporary directory.
pub fn run(a: &BenchArgs, _db: &Path) -> Result<String, String> {
    let kib = match a.log_kib.as_slice() {
        [lo, hi] if lo <= hi && *lo >= 1 => (*lo, *hi),
        [one] => (*one, *one),
        _ => return Err("--log-kib: give MIN,MAX in KiB".into()),
    };
    if let Some(dumps) = a.memory {
        return crate::bench_memory::run(dumps.max(1), kib, a.seconds);
    }
    let dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let mut out = String::from(
        "target_pps  sent_pps  dumps/s  sent  received  socket_drops  rcvbuf_errors  lost_inside  complete/dumps  partial  max_rss_MiB  result\n",
    );
    let mut best: Option<Step> = None;
    for &rate in &a.rates {
        let s = step(rate, a.seconds, kib, dir.path(), a.collector.as_deref())?;
        let line = format!(
            "{:>10}  {:>8.0}  {:>7.1}  {:>6}  {:>8}  {:>12}  {:>13}  {:>11}  {:>14}  {:>7}  {:>11.1}  {}\n",
            s.rate,
            s.sent_pps,
            s.dumps_per_s,
            s.sent,
            s.received,
            s.socket_drops,
            s.rcvbuf_errors,
            s.lost_inside(),
            format!("{}/{}", s.complete, s.dumps),
            s.partial,
            s.max_rss_kib as f64 / 1024.0,
            if s.lossless() { "lossless" } else { "LOSS" }
        );
        eprint!("{line}");
        out.push_str(&line);
        let ok = s.lossless();
        if ok {
            best = Some(s);
        } else if !a.all {
            break;
        }
    }
    match best {
        Some(b) => out.push_str(&format!(
            "sustained without loss: {:.0} packets/s, {:.1} dumps/s (logs {}-{} KiB), collector peak RSS {:.1} MiB\n",
            b.sent_pps,
            b.dumps_per_s,
            kib.0,
            kib.1,
            b.max_rss_kib as f64 / 1024.0
        )),
        None => out.push_str("no rate was sustained without loss\n"),
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_dumps_are_valid_and_sized() {
        let pk = dump_packets(3, 20 * 1024);
        let d =
            crate::reassembly::DumpState::from_packets(pk.iter().map(Vec::as_slice), "t").unwrap();
        assert!(d.is_complete());
        assert_eq!(d.info.log_len as usize, 20 * 1024);
        let log = String::from_utf8(d.full_log().unwrap()).unwrap();
        assert_eq!(
            crate::signature::extract(&log).unwrap().title,
            "kernel BUG in lkdtm_BUG"
        );
    }
}
