//! The `netoopsd` command.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "netoopsd",
    version,
    about = "netoops collector: kernel crash dumps over UDP"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Decode netoops packets from pcap/pcapng captures or raw packet files and print
    /// each dump (facts, registers, log with missing ranges marked).
    Decode {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
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
        /// The directory, e.g. ../shared/corpus/syzkaller-linux.
        dir: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Decode { json, files } => match netoopsd::decode::run(&files, json) {
            Ok(report) => {
                eprint!("{}", report.stderr);
                let mut out = std::io::stdout().lock();
                if out
                    .write_all(report.stdout.as_bytes())
                    .and_then(|()| out.flush())
                    .is_err()
                {
                    return ExitCode::from(1);
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("netoopsd: error: {e}");
                ExitCode::from(1)
            }
        },
        Command::EvalSignatures { json, verbose, dir } => {
            use netoopsd::signature::eval;
            match eval::load_dir(&dir) {
                Ok(cases) => {
                    let (f, rows) = eval::evaluate(&cases);
                    if json {
                        println!("{:#}", eval::render_json(&f, &rows));
                    } else {
                        print!("{}", eval::render_text(&f, &rows, verbose));
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("netoopsd: error: {e}");
                    ExitCode::from(1)
                }
            }
        }
    }
}
