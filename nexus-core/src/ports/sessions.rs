//! Sign-in sessions and one-time tokens (email verification, password reset). Tokens
//! are random and given to the user once; only their hashes are stored, so a copy of the
//! database signs no one in.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Timestamp;
use crate::error::StoreError;
use crate::ids::UserId;
use crate::ports::accounts::UserRecord;

/// A session's id (not its token).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SessionId(pub Uuid);

/// A hash of a secret token (SHA-256 of its bytes), the only form ever stored.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TokenHash(pub [u8; 32]);

impl std::fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenHash(…)")
    }
}

/// A new session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    /// Its id.
    pub id: SessionId,
    /// Whose it is.
    pub user: UserId,
    /// The hash of the token the client holds.
    pub token: TokenHash,
    /// When it was created.
    pub created_at: Timestamp,
    /// When the sign-in it continues happened: its own `created_at` for a sign-in, the
    /// previous session's `started_at` for a refresh. Bounds the absolute lifetime.
    pub started_at: Timestamp,
    /// When it stops working.
    pub expires_at: Timestamp,
    /// The client's `User-Agent`, for the user's list of sessions.
    pub user_agent: Option<String>,
    /// The client's address.
    pub ip: Option<String>,
}

/// A live session and its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveSession {
    /// The session.
    pub id: SessionId,
    /// When the sign-in it continues happened (see [`NewSession::started_at`]).
    pub started_at: Timestamp,
    /// When it stops working.
    pub expires_at: Timestamp,
    /// Its user.
    pub user: UserRecord,
}

/// A live session as its user sees it in their list of sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSummary {
    /// The session.
    pub id: SessionId,
    /// When the sign-in it continues happened.
    pub started_at: Timestamp,
    /// When this token was issued: the sign-in, or the latest refresh.
    pub issued_at: Timestamp,
    /// When it stops working.
    pub expires_at: Timestamp,
    /// The client's `User-Agent` when the token was issued.
    pub user_agent: Option<String>,
    /// The client's address when the token was issued.
    pub ip: Option<String>,
}

/// What a one-time token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenPurpose {
    /// Proves the user reads mail at their address.
    VerifyEmail,
    /// Lets the user choose a new password.
    ResetPassword,
    /// Confirms linking a provider identity (Google) to an existing account.
    LinkIdentity,
}

impl TokenPurpose {
    /// The stored name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ResetPassword => "reset_password",
            Self::LinkIdentity => "link_identity",
        }
    }
}

/// Sessions and one-time tokens.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a new session.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn create_session(&self, session: &NewSession) -> Result<(), StoreError>;

    /// The session whose token hashes to `token`, if it is neither expired nor revoked at
    /// `now`, with its user.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn active_session(
        &self,
        token: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<ActiveSession>, StoreError>;

    /// Revokes the live session whose token hashes to `token`, and atomically creates
    /// `next` for the same user: `false` (and nothing created) when that session was not
    /// live, so a token can be rotated only once.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn rotate_session(
        &self,
        token: &TokenHash,
        next: &NewSession,
        now: Timestamp,
    ) -> Result<bool, StoreError>;

    /// Revokes the session whose token hashes to `token`; `false` if it was not live.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn revoke_session(&self, token: &TokenHash, now: Timestamp) -> Result<bool, StoreError>;

    /// Revokes every live session of `user`; returns how many.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn revoke_user_sessions(&self, user: UserId, now: Timestamp) -> Result<u64, StoreError>;

    /// The live (unrevoked, unexpired at `now`) sessions of `user`, newest first, at most
    /// `limit`.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn user_sessions(
        &self,
        user: UserId,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<SessionSummary>, StoreError>;

    /// Revokes every live session of `user` but `keep`; returns how many.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn revoke_other_sessions(
        &self,
        user: UserId,
        keep: SessionId,
        now: Timestamp,
    ) -> Result<u64, StoreError>;

    /// Stores a one-time token.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn create_token(
        &self,
        token: &TokenHash,
        user: UserId,
        purpose: TokenPurpose,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), StoreError>;

    /// The user of a one-time token that exists for `purpose` and is unused and unexpired
    /// at `now`, without using it: to check a token before expensive work.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn token_user(
        &self,
        token: &TokenHash,
        purpose: TokenPurpose,
        now: Timestamp,
    ) -> Result<Option<UserId>, StoreError>;

    /// Uses a one-time token: its user when it exists for `purpose`, is unused and
    /// unexpired at `now` — and it is then used up, atomically, so it works once. The
    /// user's other live tokens for `purpose` are used up with it (a reset link used
    /// makes every older one worthless).
    ///
    /// # Errors
    /// [`StoreError`].
    async fn consume_token(
        &self,
        token: &TokenHash,
        purpose: TokenPurpose,
        now: Timestamp,
    ) -> Result<Option<UserId>, StoreError>;

    /// Marks the user's email address verified (keeps the first time).
    ///
    /// # Errors
    /// [`StoreError`].
    async fn mark_email_verified(&self, user: UserId, now: Timestamp) -> Result<(), StoreError>;

    /// Replaces the user's password hash.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn set_password(
        &self,
        user: UserId,
        password_hash: &str,
        now: Timestamp,
    ) -> Result<(), StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_are_stored_by_their_wire_names_and_hashes_never_print() {
        for purpose in [
            TokenPurpose::VerifyEmail,
            TokenPurpose::ResetPassword,
            TokenPurpose::LinkIdentity,
        ] {
            let json = serde_json::to_string(&purpose).unwrap();
            assert_eq!(json, format!("\"{}\"", purpose.as_str()));
        }
        assert_eq!(format!("{:?}", TokenHash([0xAB; 32])), "TokenHash(…)");
    }
}
