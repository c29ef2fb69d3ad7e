//! Kraken nonces: strictly increasing per API key. [`LocalNonces`] serves one process;
//! several processes sharing a key share a store-backed [`NonceSource`] instead
//! (`nexus-store` implements it with one atomic upsert per nonce).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use nexus_core::StoreError;
use nexus_core::ports::NonceSource;
use sha2::{Digest, Sha256};

/// In-process nonces: the clock in microseconds, or one more than the last, whichever is
/// larger.
#[derive(Debug, Default)]
pub struct LocalNonces {
    last: Mutex<HashMap<String, u64>>,
}

#[async_trait]
impl NonceSource for LocalNonces {
    async fn next_nonce(&self, key_id: &str, at_least: u64) -> Result<u64, StoreError> {
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = last.entry(key_id.to_owned()).or_insert(0);
        *entry = at_least.max(entry.saturating_add(1));
        Ok(*entry)
    }
}

/// A stable fingerprint of an API key (hex SHA-256, 32 characters): nonce sources and
/// limiters are keyed by it, so the key itself is not kept around.
#[must_use]
pub fn key_id(api_key: &str) -> String {
    let digest = Sha256::digest(api_key.as_bytes());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn nonces_rise_even_when_the_clock_does_not() {
        let nonces = LocalNonces::default();
        let a = nonces.next_nonce("k", 100).await.unwrap();
        let b = nonces.next_nonce("k", 100).await.unwrap();
        let c = nonces.next_nonce("k", 50).await.unwrap();
        assert_eq!((a, b, c), (100, 101, 102));
        assert_eq!(nonces.next_nonce("other", 7).await.unwrap(), 7);
        assert_eq!(key_id("abc").len(), 32);
        assert_ne!(key_id("abc"), key_id("abd"));
    }
}
