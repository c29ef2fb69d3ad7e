//! Strictly increasing request nonces per API key (Kraken refuses a nonce not above the
//! last one it saw for the key), shared by every process that uses the key.

use async_trait::async_trait;

use crate::error::StoreError;

/// Hands out nonces per API key. Each nonce is above `at_least` and above every nonce
/// handed out for the same key before, by any process sharing the source: in-process
/// sources serve one process, store-backed ones (`nexus-store`) a whole deployment.
#[async_trait]
pub trait NonceSource: Send + Sync {
    /// The next nonce for the key identified by `key_id` (a fingerprint, never the key).
    ///
    /// # Errors
    /// [`StoreError`] when a shared source cannot be reached.
    async fn next_nonce(&self, key_id: &str, at_least: u64) -> Result<u64, StoreError>;
}
