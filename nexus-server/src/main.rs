//! The `nexus` binary: see `nexus --help`.

use std::process::ExitCode;

use clap::Parser;
use nexus_server::cli::{self, Cli};

// The engine allocates many short-lived buffers on several threads at once; under load
// glibc's allocator spent ~15% of the CPU on them (perf) and kept freed arenas resident.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    cli::run(Cli::parse()).await
}
