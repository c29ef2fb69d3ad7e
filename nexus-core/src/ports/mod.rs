//! The ports: traits that exchange adapters and stores implement and the engine
//! calls. They are object-safe `#[async_trait]` traits with `Send + Sync`, so a server can
//! hold an `Arc<dyn Exchange>` chosen from configuration.

mod decision_log;
mod exchange;
mod market_data;

pub use decision_log::{DecisionLog, MemoryDecisionLog};
pub use exchange::Exchange;
pub use market_data::MarketData;
