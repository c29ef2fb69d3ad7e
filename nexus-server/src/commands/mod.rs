//! One module per subcommand of the `nexus` binary.

pub mod regime;
pub mod serve;
