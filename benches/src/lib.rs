//! Criterion benches across the Nexus crates: `cargo bench -p nexus-benches`.
//! Results and the machine they were taken on are recorded in `docs/performance.md`.
