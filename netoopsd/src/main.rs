//! The `netoopsd` command.

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

/// mimalloc rather than glibc's allocator: a dump's packets and report are allocated by one
/// thread and freed by another, which glibc's per-thread arenas serve with locks and by
/// giving pages back to the kernel only to fault them in again. Built without transparent
/// huge pages (feature `no_thp`), and [`main`] turns them off for the process: every fault
/// of memory mimalloc had given back zeroed a whole 2 MiB page, which took half of the
/// receiving and reporting threads' time (`netoopsd bench --memory` with
/// `MIMALLOC_ALLOW_THP=0` against without).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use netoopsd::caps::Caps;
use netoopsd::config::{self, FromFile, Reload, Reloaded};
use netoopsd::listen::{self, End};
use netoopsd::live::Limits;
use netoopsd::metrics::Metrics;
use netoopsd::query::{self, Format};
use netoopsd::receive::DEFAULT_PORT;
use netoopsd::store::Filter;

#[derive(Parser)]
#[command(
    name = "netoopsd",
    version,
    about = "netoops collector: kernel crash dumps over UDP"
)]
struct Cli {
    /// The report database: a SQLite file, or a PostgreSQL URL (postgres://user@host:port/db).
    /// Default: $NETOOPSD_DB, else ./netoops.db.
    #[arg(long, global = true, env = "NETOOPSD_DB", default_value = "netoops.db")]
    db: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Receive dumps over UDP (IPv4 and IPv6), reassemble and store them; one line per
    /// stored report on standard output.
    Listen(ListenArgs),
    /// List stored reports, newest first.
    Ls {
        #[command(flatten)]
        filter: FilterArgs,
        #[command(flatten)]
        out: OutArgs,
    },
    /// Show one stored report: signature, machine facts, registers, log, missing ranges,
    /// and its stack resolved to source lines with the kernel's debug info, found by build
    /// id (--debug-dir, --debuginfod).
    Show {
        /// Report id (first column of `ls`).
        id: i64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        sym: netoopsd::symbolize::args::SymbolizeArgs,
    },
    /// Crash buckets ranked by number of reports, with first and last seen and the number
    /// of distinct machines: big bugs first, rare bugs last.
    Top {
        #[command(flatten)]
        filter: FilterArgs,
        #[command(flatten)]
        out: OutArgs,
    },
    /// Decode netoops packets from pcap/pcapng captures or raw packet files and print
    /// each dump (facts, registers, log with missing ranges marked).
    Decode {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Sealing keys (see `listen --keys`): sealed packets are opened, unsealed refused.
        #[arg(long, value_name = "FILE")]
        keys: Option<PathBuf>,
        /// pcap, pcapng, or raw files (one UDP payload = one packet per file).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Measure crash signatures on a directory of labelled logs (TITLE:/ALT:/CORRUPTED:
    /// headers, an empty line, then the log): title agreement, bucket precision and recall.
    EvalSignatures {
        /// Print JSON (figures and one result per log).
        #[arg(long)]
        json: bool,
        /// List the logs whose title disagrees.
        #[arg(long, short)]
        verbose: bool,
        /// Only half A or B of the files (cross-validation; see signature::eval).
        #[arg(long, value_name = "A|B")]
        split: Option<netoopsd::signature::eval::Half>,
        /// The directory, e.g. ../shared/corpus/syzkaller-linux.
        dir: PathBuf,
    },
    /// Load test over loopback: runs `netoopsd listen` and replays encoded dumps to it at
    /// rising rates; prints the packets/s and dumps/s it sustains without loss, its memory,
    /// and where the CPU went (each collector thread per dump, the generator's cores).
    Bench(netoopsd::bench::BenchArgs),
    /// Serve a web view of the stored crashes (buckets, reports, machines) and its JSON API
    /// over HTTP; prints `serving http://ADDR/` when ready.
    Serve(ServeArgs),
}

#[derive(Args)]
struct ServeArgs {
    /// Address to serve on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR:PORT")]
    http: SocketAddr,
    /// "Now" for time windows and sparklines, Unix seconds (default: the clock).
    #[arg(long, value_name = "UNIX")]
    now: Option<i64>,
    #[command(flatten)]
    sym: netoopsd::symbolize::args::SymbolizeArgs,
    /// Read settings from this TOML file: its keys are the long flags (`http = "[::]:8080"`,
    /// `db = "..."`); flags given here win. Keys only `listen` takes are ignored.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

fn serve(db: PathBuf, a: ServeArgs) -> ExitCode {
    let opts = netoopsd::web::ServeOptions {
        db,
        addr: a.http,
        now: a.now,
        symbolizer: netoopsd::symbolize::Symbolizer::new(a.sym.config()),
        create: false,
        metrics: None,
    };
    let ready = |addr: SocketAddr| {
        println!("serving http://{addr}/");
        let _ = std::io::stdout().flush();
    };
    match netoopsd::web::serve(opts, ready) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

#[derive(Args)]
struct ListenArgs {
    /// Address to listen on (repeatable). Default: [::]:6667, which also receives IPv4
    /// (0.0.0.0:6667 where IPv6 is off).
    #[arg(long = "listen", short = 'l', value_name = "ADDR:PORT")]
    addrs: Vec<SocketAddr>,
    /// Store a dump as partial when no packet of it came for this many seconds.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    partial_timeout: f64,
    /// Exit after storing this many reports.
    #[arg(long, value_name = "N")]
    exit_after_dumps: Option<u64>,
    /// Exit after this many seconds (status 2 if --exit-after-dumps was not reached).
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<f64>,
    /// Socket receive buffer to ask for, in bytes (capped by net.core.rmem_max).
    #[arg(long, default_value_t = 8 << 20, value_name = "BYTES")]
    rcvbuf: usize,
    /// Datagrams per recvmmsg call.
    #[arg(long, default_value_t = 64, value_name = "N")]
    batch: usize,
    /// At most this many dumps reassembled at once, in all; beyond, the least recently fed
    /// dump of the source holding the most is stored partial.
    #[arg(long, default_value_t = 4096, value_name = "N")]
    max_pending: usize,
    /// At most this much memory held by the dumps being reassembled, in all (the bytes of
    /// their packets); beyond, a dump of the source holding the most is stored partial. SIZE
    /// is bytes or a number with K, M, G (KiB, MiB, GiB) or KB, MB, GB.
    #[arg(long, default_value = "512MiB", value_name = "SIZE", value_parser = size)]
    max_pending_bytes: u64,
    /// At most this much memory held by partial dumps already stored, kept so that late
    /// packets complete them in memory (the oldest are forgotten beyond).
    #[arg(long, default_value = "64MiB", value_name = "SIZE", value_parser = size)]
    max_kept_partial_bytes: u64,
    /// At most this many dumps reassembled at once per source address; packets starting
    /// another are refused (counted as source_pending_cap). 0: no cap.
    #[arg(long, default_value_t = 16, value_name = "N")]
    max_pending_per_source: usize,
    /// At most this much memory held by one source's dumps being reassembled; its packets are
    /// refused beyond (source_pending_cap). 0: no cap.
    #[arg(long, default_value = "32MiB", value_name = "SIZE", value_parser = size)]
    max_pending_bytes_per_source: u64,
    /// New dumps a source may start per minute, on average (a token bucket of
    /// --new-dumps-burst tokens); packets starting more are refused (new_dump_rate), packets
    /// of its dumps already reassembled never are. 0: no cap.
    #[arg(long, default_value_t = 12, value_name = "PER_MINUTE")]
    max_new_dumps_per_source: u32,
    /// New dumps a source may start at once (the bucket's size).
    #[arg(long, default_value_t = 32, value_name = "N")]
    new_dumps_burst: u32,
    /// Bytes of packets a source may have taken per hour (a bucket of SIZE refilled over an
    /// hour); its packets are refused beyond (source_bytes_per_hour). 0: no cap.
    #[arg(long, default_value = "256MiB", value_name = "SIZE", value_parser = size)]
    max_bytes_per_source_per_hour: u64,
    /// Sources tracked for these caps at most; beyond, the one idle the longest is forgotten
    /// (what it used of its allowance is remembered in a hashed slot, so coming back gives it
    /// nothing fresh).
    #[arg(long, default_value_t = 65_536, value_name = "N")]
    max_sources: usize,
    /// Take packets only from this network (repeatable; default: from anywhere), e.g.
    /// 10.0.0.0/8 or fd00::/8; others are refused (not_allowed) before anything else.
    #[arg(long = "allow", value_name = "CIDR", value_parser = net)]
    allow: Vec<ipnet::IpNet>,
    /// Delete reports stored more than this many days ago (may be fractional), at start-up
    /// and then about once a minute. Default: keep them.
    #[arg(long, value_name = "DAYS", allow_negative_numbers = true)]
    retain_days: Option<f64>,
    /// Keep at most this many bytes of reports (packets plus log), deleting the oldest first,
    /// at start-up, about once a minute and after each quarter of SIZE stored. Default: no cap.
    #[arg(long, value_name = "SIZE", value_parser = size)]
    retain_bytes: Option<u64>,
    /// Report every dropped packet (malformed, inconsistent) on standard error.
    #[arg(long, short)]
    verbose: bool,
    /// Print the final counters as one JSON line on standard error.
    #[arg(long)]
    stats_json: bool,
    /// Sealing keys, one `KEY_ID HEX` per line: only packets sealed under one of them are
    /// taken (unsealed, unknown-key and forged packets are counted and dropped).
    #[arg(long, value_name = "FILE")]
    keys: Option<PathBuf>,
    /// Also serve the web view on this address (as `serve --http`; the address is printed
    /// on standard error), with the metrics at /metrics.
    #[arg(long, value_name = "ADDR:PORT")]
    http: Option<SocketAddr>,
    /// Serve Prometheus metrics at http://ADDR:PORT/metrics (the address is printed on
    /// standard error; port 0: any free port).
    #[arg(long, value_name = "ADDR:PORT")]
    metrics: Option<SocketAddr>,
    /// Read settings from this TOML file: its keys are the long flags above
    /// (`listen = ["[::]:6667"]`, `partial-timeout = 10`, `db = "..."`); flags given here
    /// win. SIGHUP reads it again.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Check the settings (flags and --config file, key file) and exit: 0 if they are good.
    #[arg(long)]
    check_config: bool,
}

/// Settings that a reload cannot change (sockets, database), as text to compare.
fn fixed(db: &std::path::Path, a: &ListenArgs) -> Vec<(&'static str, String)> {
    vec![
        ("listen", format!("{:?}", a.addrs)),
        ("db", db.display().to_string()),
        ("rcvbuf", a.rcvbuf.to_string()),
        ("batch", a.batch.to_string()),
        ("http", format!("{:?}", a.http)),
        ("metrics", format!("{:?}", a.metrics)),
        ("max-sources", a.max_sources.to_string()),
        ("retain-days", format!("{:?}", a.retain_days)),
        ("retain-bytes", format!("{:?}", a.retain_bytes)),
    ]
}

/// The settings of `listen` that a reload changes, checked.
fn reloadable(a: &ListenArgs, file: Option<&FromFile>) -> Result<Reloaded, String> {
    let limits = limits(a, &|key| config::name(file, key))?;
    let keys = match a.keys.as_deref().map(netoopsd::keys::Keys::load) {
        None => None,
        Some(Ok(k)) => Some(k),
        Some(Err(e)) if file.is_some_and(|f| f.keys.contains("keys")) => {
            return Err(format!("{}: {e}", config::name(file, "keys")))
        }
        Some(Err(e)) => return Err(e.to_string()),
    };
    Ok(Reloaded {
        limits,
        keys,
        verbose: a.verbose,
        need_restart: Vec::new(),
    })
}

/// Parses the command line again with the configuration file as it is now (a reload).
fn reparse(argv: &[OsString]) -> Result<(PathBuf, ListenArgs, Option<FromFile>), String> {
    let (m, file) = match config::matches_with_config(&Cli::command(), argv) {
        Ok(x) => x,
        Err(Ok(e)) => return Err(e.to_string().trim().to_string()),
        Err(Err(e)) => return Err(e),
    };
    let cli = Cli::from_arg_matches(&m).map_err(|e| e.to_string().trim().to_string())?;
    match cli.command {
        Command::Listen(a) => Ok((cli.db, a, file)),
        _ => Err("not a listen command line".into()),
    }
}

#[derive(Args)]
struct FilterArgs {
    /// Kernel release (uname -r), exactly.
    #[arg(long)]
    kernel: Option<String>,
    /// CPU vendor, e.g. GenuineIntel.
    #[arg(long)]
    cpu_vendor: Option<String>,
    /// CPU family number.
    #[arg(long)]
    cpu_family: Option<u32>,
    /// CPU model number.
    #[arg(long)]
    cpu_model: Option<u32>,
    /// DMI BIOS version.
    #[arg(long)]
    bios: Option<String>,
    /// DMI board name.
    #[arg(long)]
    board: Option<String>,
    /// Dump reason: oops, panic, soft, emerg.
    #[arg(long)]
    reason: Option<String>,
    /// Bucket id, or a prefix of it.
    #[arg(long, alias = "signature")]
    bucket: Option<String>,
    /// Title substring (case-insensitive).
    #[arg(long)]
    title: Option<String>,
    /// Hostname.
    #[arg(long)]
    host: Option<String>,
    /// Sender address.
    #[arg(long)]
    sender: Option<String>,
    /// Only complete reports.
    #[arg(long, conflicts_with = "partial")]
    complete: bool,
    /// Only partial reports.
    #[arg(long)]
    partial: bool,
    /// Stored since: 30m, 12h, 7d, Unix seconds, 2026-01-01 or 2026-01-01T12:00:00Z.
    #[arg(long)]
    since: Option<String>,
    /// Stored before (same forms as --since).
    #[arg(long)]
    until: Option<String>,
    /// At most this many lines.
    #[arg(long, short = 'n')]
    limit: Option<u32>,
}

#[derive(Args)]
struct OutArgs {
    /// Print JSON.
    #[arg(long, conflicts_with = "tsv")]
    json: bool,
    /// Tab-separated lines without header (the default when standard output is not a
    /// terminal).
    #[arg(long)]
    tsv: bool,
}

impl FilterArgs {
    fn to_filter(&self) -> Result<Filter, String> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let time = |s: &Option<String>, opt: &str| {
            s.as_deref()
                .map(|s| netoopsd::display::parse_time(s, now).map_err(|e| format!("{opt}: {e}")))
                .transpose()
        };
        Ok(Filter {
            kernel: self.kernel.clone(),
            cpu_vendor: self.cpu_vendor.clone(),
            cpu_family: self.cpu_family,
            cpu_model: self.cpu_model,
            bios: self.bios.clone(),
            board: self.board.clone(),
            reason: self.reason.clone(),
            bucket: self.bucket.clone(),
            title: self.title.clone(),
            host: self.host.clone(),
            sender: self.sender.clone(),
            complete: if self.complete {
                Some(true)
            } else if self.partial {
                Some(false)
            } else {
                None
            },
            since_ms: time(&self.since, "--since")?,
            until_ms: time(&self.until, "--until")?,
            limit: self.limit,
        })
    }
}

impl OutArgs {
    fn format(&self) -> Format {
        if self.json {
            Format::Json
        } else if self.tsv || !std::io::stdout().is_terminal() {
            Format::Tsv
        } else {
            let width = std::env::var("COLUMNS")
                .ok()
                .and_then(|c| c.parse().ok())
                .unwrap_or(120);
            Format::Table { width }
        }
    }
}

fn print(s: &str) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe (`| head`) is not an error worth a message.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => fail(&format!("standard output: {e}")),
    }
}

fn fail(e: &str) -> ExitCode {
    eprintln!("netoopsd: error: {e}");
    ExitCode::from(1)
}

fn size(s: &str) -> Result<u64, String> {
    netoopsd::caps::parse_size(s)
}

fn net(s: &str) -> Result<ipnet::IpNet, String> {
    netoopsd::caps::parse_net(s)
}

fn at_least_one<T: PartialOrd + From<u8> + std::fmt::Display>(
    v: T,
    opt: &str,
    why: &str,
) -> Result<T, String> {
    if v < T::from(1) {
        return Err(format!("{opt}: {v}: must be at least 1 ({why})"));
    }
    Ok(v)
}

/// The reassembly limits and caps of `listen`, checked.
fn limits(a: &ListenArgs, name: &dyn Fn(&str) -> String) -> Result<Limits, String> {
    let usize_of = |v: u64, opt: &str| {
        usize::try_from(v).map_err(|_| format!("{opt}: {v}: too large for this machine"))
    };
    Ok(Limits {
        partial_timeout: seconds(a.partial_timeout, &name("partial-timeout"))?,
        max_pending: at_least_one(
            a.max_pending,
            &name("max-pending"),
            "no dump could be reassembled",
        )?,
        max_pending_bytes: usize_of(
            at_least_one(
                a.max_pending_bytes,
                &name("max-pending-bytes"),
                "no dump could be reassembled",
            )?,
            &name("max-pending-bytes"),
        )?,
        max_kept_partial_bytes: usize_of(
            a.max_kept_partial_bytes,
            &name("max-kept-partial-bytes"),
        )?,
        caps: Caps {
            allow: a.allow.clone(),
            max_pending_per_source: a.max_pending_per_source,
            max_pending_bytes_per_source: usize_of(
                a.max_pending_bytes_per_source,
                &name("max-pending-bytes-per-source"),
            )?,
            new_dumps_per_minute: a.max_new_dumps_per_source,
            new_dumps_burst: if a.max_new_dumps_per_source > 0 {
                at_least_one(
                    a.new_dumps_burst,
                    &name("new-dumps-burst"),
                    "0 would refuse every dump",
                )?
            } else {
                a.new_dumps_burst
            },
            bytes_per_source_per_hour: a.max_bytes_per_source_per_hour,
            max_sources: at_least_one(
                a.max_sources,
                &name("max-sources"),
                "a source must be tracked",
            )?,
        },
        ..Limits::default()
    })
}

/// Retention, checked.
fn retain(a: &ListenArgs, name: &dyn Fn(&str) -> String) -> Result<listen::Retain, String> {
    let age = match a.retain_days {
        Some(d) if d.is_finite() && d > 0.0 => Some(
            Duration::try_from_secs_f64(d * 86_400.0)
                .map_err(|_| format!("{}: {d}: too many days", name("retain-days")))?,
        ),
        Some(d) => {
            return Err(format!(
                "{}: {d}: not a number of days above 0",
                name("retain-days")
            ))
        }
        None => None,
    };
    let bytes = match a.retain_bytes {
        Some(0) => {
            return Err(format!(
                "{}: 0: must be above 0 (it would delete every report)",
                name("retain-bytes")
            ))
        }
        b => b,
    };
    Ok(listen::Retain { age, bytes })
}

fn seconds(v: f64, opt: &str) -> Result<Duration, String> {
    Duration::try_from_secs_f64(v).map_err(|_| format!("{opt}: {v}: not a number of seconds"))
}

fn listen(db: PathBuf, a: ListenArgs, file: Option<FromFile>, argv: Vec<OsString>) -> ExitCode {
    let name = |key: &str| config::name(file.as_ref(), key);
    let settings = match reloadable(&a, file.as_ref()) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let timeout = match a.timeout.map(|t| seconds(t, &name("timeout"))).transpose() {
        Ok(t) => t,
        Err(e) => return fail(&e),
    };
    let source = match &file {
        Some(f) => f.path.display().to_string(),
        None => "the command line's settings (no --config)".to_string(),
    };
    if a.check_config {
        println!("netoopsd: {source}: the settings are good");
        return ExitCode::SUCCESS;
    }
    let metrics = (a.metrics.is_some() || a.http.is_some()).then(|| Arc::new(Metrics::new()));
    if let (Some(addr), Some(m)) = (a.metrics, &metrics) {
        match netoopsd::metrics::spawn(addr, Arc::clone(m), &name("metrics")) {
            Ok(bound) => eprintln!("netoopsd: metrics on http://{bound}/metrics"),
            Err(e) => return fail(&e),
        }
    }
    if let Some(addr) = a.http {
        let opts = netoopsd::web::ServeOptions {
            db: db.clone(),
            addr,
            now: None,
            symbolizer: netoopsd::symbolize::Symbolizer::default(),
            create: true,
            metrics: metrics.clone(),
        };
        std::thread::spawn(move || {
            let ready = |a: SocketAddr| eprintln!("netoopsd: serving http://{a}/");
            if let Err(e) = netoopsd::web::serve(opts, ready) {
                eprintln!("netoopsd: web view: {e}");
            }
        });
    }
    let reload = {
        let before = fixed(&db, &a);
        let read = move || {
            let (db, a, file) = reparse(&argv)?;
            let mut r = reloadable(&a, file.as_ref())?;
            let now = fixed(&db, &a);
            r.need_restart = before
                .iter()
                .zip(&now)
                .filter(|(b, n)| b != n)
                .map(|(b, _)| b.0.to_string())
                .collect();
            Ok(r)
        };
        Reload {
            source,
            read: Arc::new(read),
        }
    };
    let retain = match retain(&a, &name) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let Reloaded {
        limits,
        keys,
        verbose,
        ..
    } = settings;
    let explicit = !a.addrs.is_empty();
    let mut opts = listen::Options {
        addrs: if explicit {
            a.addrs
        } else {
            vec![SocketAddr::from(([0u16; 8], DEFAULT_PORT))]
        },
        db,
        limits,
        exit_after_dumps: a.exit_after_dumps,
        timeout,
        rcvbuf: a.rcvbuf,
        batch: a.batch,
        verbose,
        stats_json: a.stats_json,
        keys,
        metrics,
        reload: Some(reload),
        retain,
    };
    let mut result = listen::run(&opts, std::io::stdout());
    if !explicit && matches!(&result, Err(e) if e.contains("cannot create socket")) {
        // No IPv6 on this host: IPv4 only.
        opts.addrs = vec![SocketAddr::from(([0, 0, 0, 0], DEFAULT_PORT))];
        result = listen::run(&opts, std::io::stdout());
    }
    match result {
        Ok(s) if s.end == End::TimedOut => {
            eprintln!(
                "netoopsd: --timeout ran out with {} of {} reports stored",
                s.stored,
                opts.exit_after_dumps.unwrap_or(0)
            );
            ExitCode::from(2)
        }
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn main() -> ExitCode {
    // Where the system gives huge pages to every process (`transparent_hugepage=always`):
    // not to this one (see `ALLOCATOR`). Failing leaves only the speed as it was.
    let _ = nix::sys::prctl::set_thp_disable(true);
    let argv: Vec<OsString> = std::env::args_os().collect();
    let (matches, file) = match config::matches_with_config(&Cli::command(), &argv) {
        Ok(x) => x,
        Err(Ok(e)) => e.exit(),
        Err(Err(e)) => return fail(&e),
    };
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let open = || netoopsd::store::open_existing(&cli.db.to_string_lossy());
    match cli.command {
        Command::Listen(a) => listen(cli.db.clone(), a, file, argv),
        Command::Ls { filter, out } => {
            match filter
                .to_filter()
                .and_then(|f| query::ls(&*open()?, &f, out.format()))
            {
                Ok(s) => print(&s),
                Err(e) => fail(&e),
            }
        }
        Command::Top { filter, out } => {
            match filter
                .to_filter()
                .and_then(|f| query::top(&*open()?, &f, out.format()))
            {
                Ok(s) => print(&s),
                Err(e) => fail(&e),
            }
        }
        Command::Show { id, json, sym } => match open() {
            Ok(store) => match query::show_symbolized(
                &*store,
                id,
                json,
                &netoopsd::symbolize::Symbolizer::new(sym.config()),
                sym.wait(),
            ) {
                Ok(s) => print(&s),
                Err(e) => fail(&format!("{}: {e}", cli.db.display())),
            },
            Err(e) => fail(&e),
        },
        Command::Decode { json, keys, files } => match keys
            .as_deref()
            .map(netoopsd::keys::Keys::load)
            .transpose()
            .map_err(|e| e.to_string())
            .and_then(|k| netoopsd::decode::run(&files, json, k).map_err(|e| e.to_string()))
        {
            Ok(report) => {
                eprint!("{}", report.stderr);
                print(&report.stdout)
            }
            Err(e) => fail(&e),
        },
        Command::EvalSignatures {
            json,
            verbose,
            split,
            dir,
        } => {
            use netoopsd::signature::eval;
            match eval::load_dir_split(&dir, split) {
                Ok(cases) => {
                    let (f, rows) = eval::evaluate(&cases);
                    if json {
                        print(&format!("{:#}\n", eval::render_json(&f, &rows)))
                    } else {
                        print(&eval::render_text(&f, &rows, verbose))
                    }
                }
                Err(e) => fail(&e),
            }
        }
        Command::Serve(a) => serve(cli.db.clone(), a),
        Command::Bench(a) => match netoopsd::bench::run(&a, &cli.db) {
            Ok(s) => print(&s),
            Err(e) => fail(&e),
        },
    }
}
