//! `netoopsd bench`: a load generator. For each rate it starts a receiver on loopback and
//! sends it dumps (encoded with the codec, logs of 16 to 64 KiB ending in a real oops;
//! pre-encoded and sent again under fresh sequence numbers) at that many packets per second
//! with `sendmmsg`, from 4000 loopback addresses as from a fleet; then compares what the
//! receiver counted with what was sent. Two receivers take turns against the same
//! generator: `netoopsd listen` on a fresh database, and a reference that only counts
//! packets (`bench --count-only`: the ceiling of this machine's UDP stack). Each rate runs
//! long enough (10 s by default) that the queues between the collector's threads and the
//! socket buffer cannot hide a deficit: a rate counts only if every packet was received and
//! every dump stored complete. Socket drops (the receiver's own count and the kernel's
//! `RcvbufErrors`) are told apart from losses inside the collector; CPU time is measured
//! from outside (`RUSAGE_CHILDREN`), and split by the collector's threads from its
//! statistics (receive, report, store, checkpoint: microseconds per dump), beside the cores
//! the generator itself took (on loopback that includes the kernel's delivery to the
//! receiving socket). `--memory` measures the collector's stages without the socket instead
//! ([`crate::bench_memory`]).

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::Value;

use netoops_codec::wire::{
    packet_crc, ArchRegs, CpuId, Dump, DumpFacts, Reason, Regs, RegsSource, RegsX86_64, Time,
    CRC_OFFSET, HEADER_LEN,
};

/// Options of `netoopsd bench`.
#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Packet rates to try, packets per second, in rising order.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "20000,40000,80000,120000,150000,200000,300000"
    )]
    pub rates: Vec<u64>,
    /// Seconds of sending per rate: long enough that the queues (socket buffer, the channel
    /// to the storing thread) cannot hide a deficit.
    #[arg(long, default_value_t = 10.0)]
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
    /// Measure only netoopsd, not the count-only reference receiver too.
    #[arg(long)]
    pub collector_only: bool,
    /// Be the count-only reference receiver (run by the benchmark itself) for --seconds.
    #[arg(long, hide = true)]
    pub count_only: bool,
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

/// Dumps pre-encoded once and sent again under fresh sequence numbers, so that generating
/// load costs the sender little more than its system calls: a packet goes out as two pieces
/// (`sendmmsg` gathers them), its header with the sequence number and CRC patched, and the
/// rest of the template as it is. The CRC is patched without reading the packet again:
/// CRC32C is affine, so for packets of one length the CRC under sequence number `s` is the
/// template's (sequence 0) XOR one precomputed term for each bit set in `s`.
pub(crate) struct Pool {
    templates: Vec<Template>,
}

/// One pre-encoded dump.
struct Template {
    packets: Vec<Vec<u8>>,
    /// Each packet's CRC under sequence number 0.
    crcs: Vec<u32>,
    /// Each packet's [`SeqTerms`], shared by the packets of its length.
    terms: Vec<SeqTerms>,
    log_len: u64,
}

/// For packets of one length: bit `k`'s term of the CRC, the CRC change when bit `k` of the
/// sequence number is set.
type SeqTerms = std::sync::Arc<[u32; 32]>;

/// Where a version-1 packet holds its dump sequence number (PROTOCOL.md §2).
const SEQ_OFFSET: usize = 32;

impl Pool {
    /// `n` dumps with logs of `kib.0..=kib.1` KiB (distinct boot ids).
    pub(crate) fn new(n: usize, kib: (usize, usize)) -> Self {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut by_len: std::collections::HashMap<usize, SeqTerms> = Default::default();
        let templates = (0..n as u64)
            .map(|i| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let len = kib.0 * 1024 + (seed % ((kib.1 - kib.0) as u64 * 1024 + 1)) as usize;
                let packets = dump_packets(i, len);
                let crcs = packets.iter().map(|p| packet_crc(p)).collect();
                let terms = packets
                    .iter()
                    .map(|p| {
                        by_len
                            .entry(p.len())
                            .or_insert_with(|| seq_terms(p.len()))
                            .clone()
                    })
                    .collect();
                Template {
                    packets,
                    crcs,
                    terms,
                    log_len: len as u64,
                }
            })
            .collect();
        Pool { templates }
    }

    /// Dump `n` (template `n % len` as sequence number `n / len`): its packets' headers,
    /// patched, in `heads`, and the template's packets, whose bytes after the header go out
    /// as they are; and its log bytes.
    pub(crate) fn dump(&self, n: u64, heads: &mut Vec<[u8; HEADER_LEN]>) -> (&[Vec<u8>], u64) {
        let t = &self.templates[(n % self.templates.len() as u64) as usize];
        let seq = (n / self.templates.len() as u64) as u32;
        heads.clear();
        for ((p, crc), terms) in t.packets.iter().zip(&t.crcs).zip(&t.terms) {
            let mut h: [u8; HEADER_LEN] = p[..HEADER_LEN].try_into().expect("a header");
            h[SEQ_OFFSET..SEQ_OFFSET + 4].copy_from_slice(&seq.to_le_bytes());
            let crc = (0..32)
                .filter(|k| seq >> k & 1 == 1)
                .fold(*crc, |c, k| c ^ terms[k]);
            h[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_le_bytes());
            heads.push(h);
        }
        (&t.packets, t.log_len)
    }

    /// Average packets per dump.
    fn avg_packets(&self) -> f64 {
        let n: usize = self.templates.iter().map(|t| t.packets.len()).sum();
        n as f64 / self.templates.len() as f64
    }
}

/// The [`SeqTerms`] of packets of `len` bytes: for each bit `k`, the CRC of a packet of
/// zeros with sequence number `1 << k` XOR that of the packet of zeros (the affine part
/// cancels, so what is left is the bit's own contribution to any packet's CRC).
fn seq_terms(len: usize) -> SeqTerms {
    let mut zeros = vec![0u8; len];
    let base = packet_crc(&zeros);
    std::sync::Arc::new(std::array::from_fn(|k| {
        zeros[SEQ_OFFSET..SEQ_OFFSET + 4].copy_from_slice(&(1u32 << k).to_le_bytes());
        packet_crc(&zeros) ^ base
    }))
}

/// Which receiver a step measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receiver {
    /// `netoopsd listen` on a fresh database.
    Collector,
    /// `netoopsd bench --count-only`: receives and counts, nothing else (the ceiling of the
    /// machine's UDP stack with this generator).
    CountOnly,
}

impl Receiver {
    fn name(self) -> &'static str {
        match self {
            Receiver::Collector => "netoopsd",
            Receiver::CountOnly => "count-only",
        }
    }
}

/// One rate's result.
#[derive(Debug, Clone)]
pub struct Step {
    /// What received.
    pub receiver: Receiver,
    /// Target packets per second.
    pub rate: u64,
    /// Packets sent.
    pub sent: u64,
    /// Dumps sent.
    pub dumps: u64,
    /// Achieved sending rate.
    pub sent_pps: f64,
    /// Log bytes per second sent.
    pub log_bps: f64,
    /// Packets the receiver received.
    pub received: u64,
    /// Dropped at the socket (the receiver's count: `SO_RXQ_OVFL`, `/proc/net/udp`).
    pub socket_drops: u64,
    /// System-wide RcvbufErrors increase during the step.
    pub rcvbuf_errors: u64,
    /// Complete reports stored (the collector).
    pub complete: u64,
    /// Partial reports stored (the collector).
    pub partial: u64,
    /// CPU seconds (user + system) the receiver spent.
    pub cpu_s: f64,
    /// Peak RSS of the receiver, KiB.
    pub max_rss_kib: u64,
    /// The collector's CPU seconds by thread (receive, report, store, checkpoint), as its
    /// statistics give them.
    pub cpu_by_thread: Vec<(String, f64)>,
    /// CPU seconds the generator (this process) spent sending, in `send_s` seconds. On
    /// loopback this includes the kernel's delivery of each datagram to the receiving
    /// socket, so it is what the machine had to give before any receiver saw a packet.
    pub generator_cpu_s: f64,
    /// Seconds the sending took.
    pub send_s: f64,
    /// Machines (source addresses) the dumps came from.
    pub machines: usize,
    /// Packets the collector refused by its caps per source.
    pub refused: u64,
}

impl Step {
    /// No packet lost anywhere or refused and, for the collector, every dump stored complete.
    pub fn lossless(&self) -> bool {
        self.received == self.sent
            && self.socket_drops == 0
            && self.rcvbuf_errors == 0
            && self.refused == 0
            && (self.receiver == Receiver::CountOnly || self.complete == self.dumps)
    }
    /// Packets sent that the receiver neither received nor saw dropped at its socket.
    pub fn lost_inside(&self) -> i64 {
        self.sent as i64 - self.received as i64 - self.socket_drops as i64
    }
    /// CPU seconds per 100,000 packets received.
    pub fn cpu_per_100k(&self) -> f64 {
        self.cpu_s / self.received.max(1) as f64 * 1e5
    }

    /// Where the CPU went: the collector's threads' microseconds per dump sent (the rest of
    /// the process as `other`), and the cores the generator took while sending.
    pub fn cpu_line(&self) -> String {
        let per_dump = |s: f64| s / self.dumps.max(1) as f64 * 1e6;
        let mut parts: Vec<String> = self
            .cpu_by_thread
            .iter()
            .map(|(t, s)| format!("{t} {:.0} us", per_dump(*s)))
            .collect();
        let other = self.cpu_s - self.cpu_by_thread.iter().map(|(_, s)| s).sum::<f64>();
        let mut line = String::from("            ");
        if !parts.is_empty() {
            parts.push(format!("other {:.0} us", per_dump(other.max(0.0))));
            line += &format!("CPU per dump: {}; ", parts.join(", "));
        }
        if self.refused > 0 {
            line += &format!("{} packets refused by the caps per source; ", self.refused);
        }
        line + &format!(
            "{} machines; the generator took {:.2} of a core\n",
            self.machines,
            self.generator_cpu_s / self.send_s.max(1e-9)
        )
    }
}

/// Sends packets on the connected socket with `sendmmsg`, each as its header from `heads`
/// and the rest of its bytes from `packets`, retrying what the kernel did not take (ENOBUFS
/// on loopback is the sender's own queue, not a loss).
fn send_batch(
    tx: &UdpSocket,
    heads: &[[u8; HEADER_LEN]],
    packets: &[Vec<u8>],
) -> Result<(), String> {
    use nix::sys::socket::{sendmmsg, MsgFlags, MultiHeaders, SockaddrStorage};
    use std::io::IoSlice;
    use std::os::fd::AsRawFd;
    let mut rest = 0;
    while rest < heads.len() {
        let iovs: Vec<[IoSlice<'_>; 2]> = heads[rest..]
            .iter()
            .zip(&packets[rest..])
            .map(|(h, p)| [IoSlice::new(h), IoSlice::new(&p[HEADER_LEN..])])
            .collect();
        let addrs: Vec<Option<SockaddrStorage>> = vec![None; iovs.len()];
        let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(iovs.len(), None);
        match sendmmsg(
            tx.as_raw_fd(),
            &mut headers,
            &iovs,
            &addrs,
            [],
            MsgFlags::empty(),
        ) {
            Ok(r) => {
                let n = r.count();
                rest += n;
                if n == 0 {
                    std::thread::yield_now();
                }
            }
            Err(
                nix::errno::Errno::ENOBUFS | nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR,
            ) => std::thread::yield_now(),
            Err(e) => return Err(format!("sendmmsg: {e}")),
        }
    }
    Ok(())
}

/// Machines the generator plays at least: dump `n` comes from loopback address
/// `n % machines` (127.1.x.y), as a crash storm comes from many machines, each sending a few
/// dumps (so that the collector's caps per source see what they would see in a fleet). A long
/// run plays more of them (`machines_for`).
pub const MACHINES: usize = 4000;

/// Machines [`machine_ip`] can name.
pub const MACHINES_MAX: usize = 250 * 256;

/// How many machines send `dumps` dumps over `secs` seconds: at least [`MACHINES`], and enough
/// that none starts more than half the dumps the collector's caps per source let it start in
/// that time (its burst, and the refill over the run) with `listen`'s default caps, which the
/// benchmark runs; at most `descriptors` (a socket each) and what [`machine_ip`] can name.
/// Otherwise a run long enough to show a sustained rate would measure the caps refusing a
/// few machines that crash hundreds of times, not the collector taking a fleet's storm.
fn machines_for(dumps: u64, secs: f64, descriptors: u64) -> usize {
    let caps = crate::caps::Caps::default();
    let allowed =
        f64::from(caps.new_dumps_burst) + f64::from(caps.new_dumps_per_minute) * secs / 60.0;
    let want = (dumps as f64 / (allowed / 2.0).max(1.0)).ceil() as usize;
    want.clamp(MACHINES, MACHINES_MAX)
        .min(usize::try_from(descriptors).unwrap_or(usize::MAX))
}

/// The loopback address of machine `i` (of at most [`MACHINES_MAX`]).
pub fn machine_ip(i: usize) -> std::net::Ipv4Addr {
    std::net::Ipv4Addr::new(127, 1, (i / 250) as u8, (1 + i % 250) as u8)
}

/// One socket per machine (as many as [`machines_for`] `dumps` over `secs` gives), bound to
/// its own loopback address and connected to `to`.
fn machines(to: SocketAddr, dumps: u64, secs: f64) -> Result<Vec<UdpSocket>, String> {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    // A descriptor per machine: raise the soft limit as far as the hard one allows, keeping
    // 1024 for the rest.
    let mut spare = MACHINES as u64;
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        let want = (MACHINES_MAX as u64 + 1024).min(hard);
        if soft < want {
            let _ = setrlimit(Resource::RLIMIT_NOFILE, want, hard);
        }
        let now = getrlimit(Resource::RLIMIT_NOFILE).map_or(soft, |(s, _)| s);
        spare = spare.max(now.saturating_sub(1024));
    }
    (0..machines_for(dumps, secs, spare))
        .map(|i| {
            let ip = machine_ip(i);
            let s = UdpSocket::bind((ip, 0)).map_err(|e| format!("{ip}: {e}"))?;
            s.connect(to).map_err(|e| format!("{to}: {e}"))?;
            Ok(s)
        })
        .collect()
}

/// Packets per `sendmmsg` call.
const SEND_BATCH: usize = 32;

fn step(
    receiver: Receiver,
    rate: u64,
    secs: f64,
    pool: &Pool,
    db_dir: &Path,
    collector: Option<&Path>,
) -> Result<Step, String> {
    let exe = match collector {
        Some(p) if receiver == Receiver::Collector => p.to_path_buf(),
        _ => std::env::current_exe().map_err(|e| format!("current executable: {e}"))?,
    };
    // Plan the dumps so that sending takes about `secs` at `rate`.
    let ndumps = ((rate as f64 * secs) / pool.avg_packets()).ceil().max(1.0) as u64;
    let timeout = format!("{}", secs * 3.0 + 15.0);
    let mut cmd = Command::new(&exe);
    match receiver {
        Receiver::Collector => {
            let db = db_dir.join(format!("bench-{rate}.db"));
            let _ = std::fs::remove_file(&db);
            cmd.args(["--db"]).arg(&db).args([
                "listen",
                "--listen",
                "127.0.0.1:0",
                "--stats-json",
                "--partial-timeout",
                "3",
                "--exit-after-dumps",
                &ndumps.to_string(),
                "--timeout",
                &timeout,
            ]);
        }
        Receiver::CountOnly => {
            cmd.args(["bench", "--count-only", "--seconds", &timeout]);
        }
    }
    // The receiver's CPU, measured from outside (it is a child that is waited for below), the
    // same way for any receiver: another build, the count-only one.
    let cpu_before = crate::cpu::children();
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{}: {e}", exe.display()))?;
    let mut err = BufReader::new(child.stderr.take().expect("piped"));
    let mut line = String::new();
    let addr: SocketAddr = loop {
        line.clear();
        if err.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
            return Err(format!("{}: exited before listening", receiver.name()));
        }
        if let Some(rest) = line.trim().strip_prefix("netoopsd: listening on ") {
            let a = rest.split_whitespace().next().unwrap_or("");
            break a
                .parse()
                .map_err(|_| format!("bad listening line: {line}"))?;
        }
    };
    let before = rcvbuf_errors();
    let machines = machines(addr, ndumps, secs)?;
    let (mut sent, mut log_bytes) = (0u64, 0u64);
    let interval = 1.0 / rate as f64;
    let mut heads = Vec::new();
    let generator_cpu = crate::cpu::process();
    let start = Instant::now();
    for n in 0..ndumps {
        let (packets, log) = pool.dump(n, &mut heads);
        log_bytes += log;
        let tx = &machines[(n % machines.len() as u64) as usize];
        for (batch, bodies) in heads.chunks(SEND_BATCH).zip(packets.chunks(SEND_BATCH)) {
            // The batch's first packet is due at its place in the schedule.
            let due = start + Duration::from_secs_f64(sent as f64 * interval);
            let now = Instant::now();
            if due > now + Duration::from_micros(100) {
                std::thread::sleep(due - now);
            }
            send_batch(tx, batch, bodies)?;
            sent += batch.len() as u64;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let generator_cpu_s = (crate::cpu::process() - generator_cpu).as_secs_f64();
    if receiver == Receiver::CountOnly {
        // It stops when it has them all or after a second without a packet.
        let _ = machines[0].send(format!("netoops-bench-end {sent}").as_bytes());
    }
    let mut stats: Option<Value> = None;
    let mut said = Vec::new();
    loop {
        line.clear();
        if err.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
            break;
        }
        if line.starts_with('{') {
            stats = serde_json::from_str(&line).ok();
        } else if said.len() < 5 {
            said.push(line.trim().to_string());
        }
    }
    let _ = child.wait();
    let cpu_s = (crate::cpu::children() - cpu_before).as_secs_f64();
    let after = rcvbuf_errors();
    let s = stats.ok_or_else(|| {
        format!(
            "{} at {rate} packets/s printed no statistics; it said: {}",
            receiver.name(),
            said.join(" / ")
        )
    })?;
    let g = |k: &str| s[k].as_u64().unwrap_or(0);
    Ok(Step {
        receiver,
        rate,
        sent,
        dumps: ndumps,
        sent_pps: sent as f64 / elapsed,
        log_bps: log_bytes as f64 / elapsed,
        received: g("packets"),
        socket_drops: g("socket_drops"),
        rcvbuf_errors: after.saturating_sub(before),
        complete: g("dumps_complete"),
        partial: g("dumps_partial"),
        cpu_s,
        max_rss_kib: g("max_rss_kib"),
        cpu_by_thread: s["cpu_s_by_thread"]
            .as_object()
            .map(|o| {
                let s = |t: &str| o.get(t).and_then(Value::as_f64);
                // The pipeline's order, then any other.
                let order = crate::cpu::ROLES;
                let mut v: Vec<(String, f64)> = order
                    .iter()
                    .filter_map(|t| Some((t.to_string(), s(t)?)))
                    .collect();
                v.extend(
                    o.iter()
                        .filter(|(t, _)| !order.contains(&t.as_str()))
                        .filter_map(|(t, x)| Some((t.clone(), x.as_f64()?))),
                );
                v
            })
            .unwrap_or_default(),
        generator_cpu_s,
        send_s: elapsed,
        machines: machines.len(),
        refused: g("refused"),
    })
}

/// `bench --count-only`: the reference receiver. Binds 127.0.0.1, prints the listening line,
/// receives and counts datagrams (as `listen` does: `recvmmsg` batches, the socket's drop
/// counter) until the generator's end marker has come and a second passed without a
/// datagram, or `secs` ran out; prints its counters as one JSON line on standard error.
pub fn count_only(secs: f64) -> Result<String, String> {
    let sockets = crate::receive::bind(&["127.0.0.1:0".parse().expect("address")], 8 << 20)?;
    let mut rx = crate::receive::Receiver::new(sockets, 64);
    let addrs: Vec<String> = rx.local_addrs().iter().map(ToString::to_string).collect();
    eprintln!("netoopsd: listening on {}", addrs.join(", "));
    let (mut packets, mut bytes) = (0u64, 0u64);
    let mut ended = false;
    let start = Instant::now();
    let mut last = Instant::now();
    while start.elapsed().as_secs_f64() < secs {
        let n = rx.recv(Duration::from_millis(100), |p, _| {
            if p.starts_with(b"netoops-bench-end ") {
                ended = true;
            } else {
                packets += 1;
                bytes += p.len() as u64;
            }
        })?;
        if n > 0 {
            last = Instant::now();
        } else if ended && last.elapsed() > Duration::from_secs(1) {
            break;
        }
    }
    let stats = serde_json::json!({
        "packets": packets,
        "bytes": bytes,
        "socket_drops": rx.socket_drops(),
        "cpu_s": crate::cpu::process().as_secs_f64(),
        "max_rss_kib": crate::listen::max_rss_kib(),
    });
    eprintln!("{stats}");
    Ok(String::new())
}

/// The summary of a receiver's highest lossless rate `b`. With `--all`, rates past a loss are
/// measured too, so a lossless rate can lie above lossy ones (a stall of the machine at a
/// lower rate): `lower` names those, and the line says that the rate was not sustained
/// throughout.
fn sustained_line(name: &str, b: &Step, lower: &[u64]) -> String {
    let caveat = if lower.is_empty() {
        String::new()
    } else {
        let rates: Vec<String> = lower.iter().map(u64::to_string).collect();
        format!(
            "; but packets were lost at the lower rate(s) {}",
            rates.join(", ")
        )
    };
    format!(
        "{name}: sustained without loss: {:.0} packets/s, {:.1} MB/s of log, {:.3} CPU-s per 100k packets, peak RSS {:.1} MiB{caveat}\n",
        b.sent_pps,
        b.log_bps / 1e6,
        b.cpu_per_100k(),
        b.max_rss_kib as f64 / 1024.0
    )
}

/// Runs the benchmark; returns the report text. `_db` is unused: each rate gets a fresh
/// database in a temporary directory.
pub fn run(a: &BenchArgs, _db: &Path) -> Result<String, String> {
    if a.count_only {
        return count_only(a.seconds);
    }
    let kib = match a.log_kib.as_slice() {
        [lo, hi] if lo <= hi && *lo >= 1 => (*lo, *hi),
        [one] => (*one, *one),
        _ => return Err("--log-kib: give MIN,MAX in KiB".into()),
    };
    if let Some(dumps) = a.memory {
        return crate::bench_memory::run(dumps.max(1), kib, a.seconds);
    }
    let dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    eprintln!("bench: encoding {} dumps to send", POOL_DUMPS);
    let pool = Pool::new(POOL_DUMPS, kib);
    let mut out = format!(
        "{:.1} s per rate, logs {}-{} KiB ({:.1} packets per dump) from {MACHINES} or more loopback addresses (machines); receivers measured in turn against one generator\n",
        a.seconds,
        kib.0,
        kib.1,
        pool.avg_packets()
    );
    out.push_str("receiver    target_pps  sent_pps  log_MB/s  sent      received  socket_drops  rcvbuf_errors  lost_inside  complete/dumps  CPU-s/100k  max_rss_MiB  result\n");
    let mut best: Vec<(Receiver, Step)> = Vec::new();
    // The rates at which each receiver lost packets (with --all it goes on past them).
    let mut lost: Vec<(Receiver, u64)> = Vec::new();
    let mut alive = vec![Receiver::CountOnly, Receiver::Collector];
    if a.collector_only {
        alive.retain(|r| *r == Receiver::Collector);
    }
    for &rate in &a.rates {
        for receiver in alive.clone() {
            let s = step(
                receiver,
                rate,
                a.seconds,
                &pool,
                dir.path(),
                a.collector.as_deref(),
            )?;
            let line = format!(
                "{:<10}  {:>10}  {:>8.0}  {:>8.1}  {:>8}  {:>8}  {:>12}  {:>13}  {:>11}  {:>14}  {:>10.3}  {:>11.1}  {}\n",
                receiver.name(),
                s.rate,
                s.sent_pps,
                s.log_bps / 1e6,
                s.sent,
                s.received,
                s.socket_drops,
                s.rcvbuf_errors,
                s.lost_inside(),
                if receiver == Receiver::Collector {
                    format!("{}/{}", s.complete, s.dumps)
                } else {
                    "-".into()
                },
                s.cpu_per_100k(),
                s.max_rss_kib as f64 / 1024.0,
                if s.lossless() { "lossless" } else { "LOSS" }
            );
            let line = line + &s.cpu_line();
            eprint!("{line}");
            out.push_str(&line);
            if s.lossless() {
                best.retain(|(r, _)| *r != receiver);
                best.push((receiver, s));
            } else {
                lost.push((receiver, rate));
                if !a.all {
                    alive.retain(|r| *r != receiver);
                }
            }
        }
        if alive.is_empty() {
            break;
        }
    }
    for receiver in [Receiver::CountOnly, Receiver::Collector] {
        match best.iter().find(|(r, _)| *r == receiver) {
            Some((_, b)) => {
                let lower: Vec<u64> = lost
                    .iter()
                    .filter(|(r, at)| *r == receiver && *at < b.rate)
                    .map(|(_, at)| *at)
                    .collect();
                out.push_str(&sustained_line(receiver.name(), b, &lower));
            }
            None if a.collector_only && receiver == Receiver::CountOnly => {}
            None => out.push_str(&format!(
                "{}: no rate was sustained without loss\n",
                receiver.name()
            )),
        }
    }
    let rate = |r: Receiver| best.iter().find(|(x, _)| *x == r).map(|(_, s)| s.sent_pps);
    if let (Some(c), Some(n)) = (rate(Receiver::CountOnly), rate(Receiver::Collector)) {
        out.push_str(&format!("netoopsd / count-only: {:.0} %\n", n / c * 100.0));
    }
    Ok(out)
}

/// Dumps pre-encoded for the generator.
const POOL_DUMPS: usize = 128;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lossless_rate_above_a_lossy_one_says_so() {
        let b = Step {
            receiver: Receiver::Collector,
            rate: 120_000,
            sent: 1_200_000,
            dumps: 38_000,
            sent_pps: 119_994.4,
            log_bps: 163.1e6,
            received: 1_200_000,
            socket_drops: 0,
            rcvbuf_errors: 0,
            complete: 38_000,
            partial: 0,
            cpu_s: 12.0,
            max_rss_kib: 100 * 1024,
            cpu_by_thread: Vec::new(),
            generator_cpu_s: 5.0,
            send_s: 10.0,
            machines: MACHINES,
            refused: 0,
        };
        let head = "netoopsd: sustained without loss: 119994 packets/s, 163.1 MB/s of log, 1.000 CPU-s per 100k packets, peak RSS 100.0 MiB";
        assert_eq!(sustained_line("netoopsd", &b, &[]), format!("{head}\n"));
        assert_eq!(
            sustained_line("netoopsd", &b, &[90_000, 110_000]),
            format!("{head}; but packets were lost at the lower rate(s) 90000, 110000\n")
        );
    }

    /// However long the run, no machine starts more dumps than the collector's default caps
    /// per source let it (half of it, where descriptors allow): the caps see a fleet.
    #[test]
    fn machines_are_enough_that_the_caps_per_source_take_every_dump() {
        let caps = crate::caps::Caps::default();
        let allowed = |secs: f64| {
            f64::from(caps.new_dumps_burst) + f64::from(caps.new_dumps_per_minute) * secs / 60.0
        };
        // 10 s at 150,000 packets/s (31.6 packets per dump): the 4000 machines do.
        assert_eq!(machines_for(47_525, 10.0, 20_000), MACHINES);
        for (dumps, secs) in [(285_149, 60.0), (500_000, 200.0), (20_000, 1.0)] {
            let m = machines_for(dumps, secs, 20_000);
            let most = dumps.div_ceil(m as u64) as f64;
            assert!(
                most <= allowed(secs) / 2.0,
                "{dumps} dumps in {secs} s from {m} machines"
            );
        }
        // Never more than the descriptors, or the addresses.
        assert_eq!(machines_for(10_000_000, 60.0, 5_000), 5_000);
        assert_eq!(machines_for(100_000_000, 60.0, 1 << 30), MACHINES_MAX);
        assert!(machine_ip(MACHINES_MAX - 1) > machine_ip(MACHINES_MAX - 2));
    }

    #[test]
    fn pooled_dumps_are_the_templates_under_their_sequence_number() {
        let pool = Pool::new(3, (16, 20));
        let mut heads = Vec::new();
        // Sequence numbers 0, 1, 2^31 + 5 and 0xffff_ffff: no bit, one, the top and all.
        for n in [1, 4, 3 * ((1u64 << 31) + 5) + 2, 3 * 0xffff_ffff] {
            let (packets, log) = pool.dump(n, &mut heads);
            let seq = (n / 3) as u32;
            assert_eq!(heads.len(), packets.len());
            let sent: Vec<Vec<u8>> = heads
                .iter()
                .zip(packets)
                .map(|(h, p)| [&h[..], &p[HEADER_LEN..]].concat())
                .collect();
            // As the sender would build them from scratch: the template, its sequence number
            // patched, the CRC computed over the whole packet.
            let expected: Vec<Vec<u8>> = packets
                .iter()
                .map(|p| {
                    let mut p = p.clone();
                    p[SEQ_OFFSET..SEQ_OFFSET + 4].copy_from_slice(&seq.to_le_bytes());
                    let crc = packet_crc(&p);
                    p[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_le_bytes());
                    p
                })
                .collect();
            assert_eq!(sent, expected, "sequence number {seq}");
            let d = crate::reassembly::DumpState::from_packets(sent.iter().map(Vec::as_slice), "t")
                .unwrap();
            assert!(d.is_complete());
            assert_eq!(d.key.seq, seq);
            assert_eq!(u64::from(d.info.log_len), log);
        }
    }

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
