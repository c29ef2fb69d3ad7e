//! The `nexus` binary: see `nexus --help`.

use std::process::ExitCode;

use clap::Parser;
use nexus_server::cli::{self, Cli};

#[tokio::main]
async fn main() -> ExitCode {
    cli::run(Cli::parse()).await
}
