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
    }
}
