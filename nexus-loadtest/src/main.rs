//! The `nexus-loadtest` binary: see `nexus-loadtest --help`.

use std::process::ExitCode;

use clap::Parser;

// The same allocator as the server it starts in process, so figures match `nexus serve`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Load-test a Nexus server (`--target`) or one started in process: users and Paper bots
/// created through the API, signals pushed, latency and throughput reported.
#[derive(Debug, Parser)]
#[command(name = "nexus-loadtest", version)]
struct Cli {
    #[command(flatten)]
    args: nexus_loadtest::Args,
}

#[tokio::main]
async fn main() -> ExitCode {
    nexus_loadtest::run(Cli::parse().args).await
}
