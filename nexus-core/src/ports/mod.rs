//! The ports: traits that exchange adapters and stores implement and the engine
//! calls. They are object-safe `#[async_trait]` traits with `Send + Sync`, so a server can
//! hold an `Arc<dyn Exchange>` chosen from configuration.

pub mod accounts;
pub mod activity;
pub mod advisor;
pub mod alerts;
pub mod audit;
pub mod billing;
pub mod credentials;
mod decision_log;
pub mod emails;
mod exchange;
pub mod jobs;
mod market_data;
pub mod nonces;
pub mod oauth;
pub mod paper;
pub mod sessions;
pub mod signatures;

pub use accounts::{BotStore, PositionStore, UserStore};
pub use activity::{ActivityStore, OutOfSyncLog};
pub use advisor::AdvisorStore;
pub use alerts::AlertStore;
pub use audit::AuditLog;
pub use billing::BillingStore;
pub use credentials::CredentialStore;
pub use decision_log::{DecisionLog, MemoryDecisionLog};
pub use emails::EmailStore;
pub use exchange::Exchange;
pub use jobs::JobQueue;
pub use market_data::MarketData;
pub use nonces::NonceSource;
pub use oauth::OAuthStore;
pub use paper::PaperLedger;
pub use sessions::SessionStore;
pub use signatures::SeenSignatures;
