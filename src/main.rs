//! The `sip2auth` binary: parse the command line, run the command, map errors to exit codes.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = sip2auth::cli::Cli::parse();
    sip2auth::cli::run(cli)
}
