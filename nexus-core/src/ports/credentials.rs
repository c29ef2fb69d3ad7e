//! Exchange API credentials: stored encrypted, returned decrypted only to the code that
//! signs requests, listed with a masked key.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Timestamp;
use crate::error::StoreError;
use crate::ids::UserId;
use crate::instrument::ExchangeId;
use crate::order::KeyPermissions;
use crate::secret::Secret;

/// A stored credential's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CredentialId(pub Uuid);

/// An exchange API key with its secret (and Coinbase-style passphrase). `Debug` shows the
/// key masked and never the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiCredentials {
    /// The public API key.
    pub api_key: String,
    /// The API secret.
    pub secret: Secret,
    /// A passphrase, on venues that use one.
    pub passphrase: Option<Secret>,
}

impl ApiCredentials {
    /// The key with all but its first and last four characters hidden.
    #[must_use]
    pub fn masked_key(&self) -> String {
        mask(&self.api_key)
    }
}

impl std::fmt::Debug for ApiCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiCredentials")
            .field("api_key", &self.masked_key())
            .field("secret", &self.secret)
            .field("passphrase", &self.passphrase)
            .finish()
    }
}

/// `abcd…wxyz` for long keys, `****` for short ones (which would be exposed by masking).
#[must_use]
pub fn mask(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() < 12 {
        return "****".to_owned();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

/// What is shown about a stored credential: never the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialInfo {
    /// Its id.
    pub id: CredentialId,
    /// Its owner.
    pub user: UserId,
    /// The venue.
    pub exchange: ExchangeId,
    /// The user's name for it.
    pub label: String,
    /// The masked API key.
    pub masked_key: String,
    /// What the venue said the key may do when it was added.
    pub permissions: KeyPermissions,
    /// When it was added.
    pub created_at: Timestamp,
}

/// Encrypted storage of exchange credentials.
#[async_trait]
pub trait CredentialStore: Send + Sync {
    /// Encrypts and stores credentials.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn add_credentials(
        &self,
        user: UserId,
        exchange: ExchangeId,
        label: &str,
        credentials: &ApiCredentials,
        permissions: KeyPermissions,
        now: Timestamp,
    ) -> Result<CredentialInfo, StoreError>;

    /// A user's credentials, without secrets.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn list_credentials(&self, user: UserId) -> Result<Vec<CredentialInfo>, StoreError>;

    /// Decrypts one of `user`'s credentials (`None`: no such credential for this user).
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when the ciphertext fails authentication.
    async fn credentials(
        &self,
        user: UserId,
        id: CredentialId,
    ) -> Result<Option<ApiCredentials>, StoreError>;

    /// Deletes one of `user`'s credentials; `false` when there was none.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn delete_credentials(&self, user: UserId, id: CredentialId) -> Result<bool, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret_or_the_whole_key() {
        let creds = ApiCredentials {
            api_key: "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A".into(),
            secret: Secret::new("NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"),
            passphrase: Some(Secret::new("correct horse")),
        };
        let debug = format!("{creds:?}");
        assert!(debug.contains("vmPU…Eh8A"), "{debug}");
        assert!(
            !debug.contains("NhqPtmd") && !debug.contains("horse"),
            "{debug}"
        );
        assert_eq!(mask("short"), "****");
        // From 12 characters, 4 at each end show: 8 stay hidden.
        assert_eq!(mask("abcdefghijk"), "****");
        assert_eq!(mask("abcdefghijkl"), "abcd…ijkl");
    }
}
