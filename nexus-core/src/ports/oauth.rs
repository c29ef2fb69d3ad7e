//! Sign-in through an external identity provider (OpenID Connect): which provider
//! identities belong to which accounts, and the sign-ins that were started at the provider
//! and not finished yet.

use async_trait::async_trait;

use crate::Timestamp;
use crate::error::StoreError;
use crate::ids::UserId;
use crate::ports::sessions::TokenHash;
use crate::secret::Secret;

/// A sign-in sent to the provider and not back yet: what the callback needs to finish
/// it. Stored under a hash of the `state` sent along, and used once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingLogin {
    /// The provider (`google`).
    pub provider: String,
    /// The PKCE code verifier (RFC 7636): only its SHA-256 went to the provider.
    pub code_verifier: Secret,
    /// The `nonce` the ID token must carry.
    pub nonce: String,
    /// When the sign-in started.
    pub created_at: Timestamp,
    /// When it can no longer be finished.
    pub expires_at: Timestamp,
}

/// Provider identities linked to accounts, and pending provider sign-ins.
#[async_trait]
pub trait OAuthStore: Send + Sync {
    /// The account the provider's `subject` (its stable user id) is linked to.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn identity_user(
        &self,
        provider: &str,
        subject: &str,
    ) -> Result<Option<UserId>, StoreError>;

    /// Links the provider's `subject` to `user` (which must exist), recording the email
    /// address the provider gave. An identity is linked once: if it already is, nothing
    /// changes. Returns the account the identity is linked to after the call — `user`, or
    /// the one it was linked to before (two first sign-ins racing agree on one account).
    ///
    /// # Errors
    /// [`StoreError`].
    async fn link_identity(
        &self,
        provider: &str,
        subject: &str,
        user: UserId,
        email: &str,
        now: Timestamp,
    ) -> Result<UserId, StoreError>;

    /// Stores a pending sign-in under the hash of its `state`, and forgets the ones that
    /// expired before `login.created_at`.
    ///
    /// # Errors
    /// [`StoreError`]; [`StoreError::Conflict`] if the state is taken (it is random, so it
    /// is not).
    async fn save_pending_login(
        &self,
        state: &TokenHash,
        login: &PendingLogin,
    ) -> Result<(), StoreError>;

    /// Uses up the pending sign-in stored under `state`: returns it if it exists and is
    /// unexpired at `now`. It is deleted either way, atomically, so a state works once.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn take_pending_login(
        &self,
        state: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<PendingLogin>, StoreError>;
}
