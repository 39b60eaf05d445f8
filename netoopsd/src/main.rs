//! The `netoopsd` command.

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use netoopsd::listen::{self, End};
use netoopsd::live::Limits;
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
    /// rising rates; prints the packets/s and dumps/s it sustains without loss, and its
    /// memory.
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
}

fn serve(db: PathBuf, a: ServeArgs) -> ExitCode {
    let opts = netoopsd::web::ServeOptions {
        db,
        addr: a.http,
        now: a.now,
        symbolizer: netoopsd::symbolize::Symbolizer::new(a.sym.config()),
        create: false,
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
    /// At most this many dumps reassembled at once (the oldest is stored partial beyond).
    #[arg(long, default_value_t = 4096, value_name = "N")]
    max_pending: usize,
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
    /// on standard error).
    #[arg(long, value_name = "ADDR:PORT")]
    http: Option<SocketAddr>,
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

fn seconds(v: f64, opt: &str) -> Result<Duration, String> {
    Duration::try_from_secs_f64(v).map_err(|_| format!("{opt}: {v}: not a number of seconds"))
}

fn listen(db: PathBuf, a: ListenArgs) -> ExitCode {
    if let Some(addr) = a.http {
        let opts = netoopsd::web::ServeOptions {
            db: db.clone(),
            addr,
            now: None,
            symbolizer: netoopsd::symbolize::Symbolizer::default(),
            create: true,
        };
        std::thread::spawn(move || {
            let ready = |a: SocketAddr| eprintln!("netoopsd: serving http://{a}/");
            if let Err(e) = netoopsd::web::serve(opts, ready) {
                eprintln!("netoopsd: web view: {e}");
            }
        });
    }
    let limits = Limits {
        partial_timeout: match seconds(a.partial_timeout, "--partial-timeout") {
            Ok(d) => d,
            Err(e) => return fail(&e),
        },
        max_pending: a.max_pending,
        ..Limits::default()
    };
    let timeout = match a.timeout.map(|t| seconds(t, "--timeout")).transpose() {
        Ok(t) => t,
        Err(e) => return fail(&e),
    };
    let keys = match a
        .keys
        .as_deref()
        .map(netoopsd::keys::Keys::load)
        .transpose()
    {
        Ok(k) => k,
        Err(e) => return fail(&e.to_string()),
    };
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
        verbose: a.verbose,
        stats_json: a.stats_json,
        keys,
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
    let cli = Cli::parse();
    let open = || netoopsd::store::open_existing(&cli.db.to_string_lossy());
    match cli.command {
        Command::Listen(a) => listen(cli.db.clone(), a),
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
