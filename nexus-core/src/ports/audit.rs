//! The audit log: append-only records of security events.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::error::StoreError;
use crate::ids::UserId;

/// A security event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// A user signed up.
    SignUp,
    /// A user signed in.
    SignIn,
    /// A sign-in was refused.
    SignInFailed,
    /// A user signed out.
    SignOut,
    /// A password reset was requested.
    PasswordResetRequested,
    /// A password was reset.
    PasswordReset,
    /// A signed-in user changed their password.
    PasswordChanged,
    /// A password change was refused: the current password given was wrong.
    PasswordChangeFailed,
    /// An email address was verified.
    EmailVerified,
    /// An exchange key was added.
    KeyAdded,
    /// An exchange key was removed.
    KeyRemoved,
    /// The vault's master key was rotated.
    KeysRotated,
    /// A user's role changed.
    RoleChanged,
    /// A user's plan changed.
    PlanChanged,
    /// A provider identity (Google) was linked to an existing account.
    IdentityLinked,
}

impl AuditAction {
    /// The stored name (`sign_in_failed`, …).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignUp => "sign_up",
            Self::SignIn => "sign_in",
            Self::SignInFailed => "sign_in_failed",
            Self::SignOut => "sign_out",
            Self::PasswordResetRequested => "password_reset_requested",
            Self::PasswordReset => "password_reset",
            Self::PasswordChanged => "password_changed",
            Self::PasswordChangeFailed => "password_change_failed",
            Self::EmailVerified => "email_verified",
            Self::KeyAdded => "key_added",
            Self::KeyRemoved => "key_removed",
            Self::IdentityLinked => "identity_linked",
            Self::KeysRotated => "keys_rotated",
            Self::RoleChanged => "role_changed",
            Self::PlanChanged => "plan_changed",
        }
    }
}

/// One event to record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Who did it (`None`: anonymous or the system).
    pub actor: Option<UserId>,
    /// What happened.
    pub action: AuditAction,
    /// What it was done to (a user id, a key id, an email address), if anything.
    pub subject: Option<String>,
    /// Details as a JSON object; never secrets.
    pub details: String,
    /// When.
    pub at: Timestamp,
}

/// A recorded event with its sequence number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Increasing with time of recording.
    pub id: i64,
    /// The event.
    pub event: AuditEvent,
}

/// An append-only log of security events: there is no update and no delete.
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Appends an event.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn append(&self, event: &AuditEvent) -> Result<i64, StoreError>;

    /// The latest events, newest first, optionally only those before record `before`.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn recent(&self, limit: u32, before: Option<i64>)
    -> Result<Vec<AuditRecord>, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_are_stored_by_their_wire_names() {
        use AuditAction::*;
        let all = [
            SignUp,
            SignIn,
            SignInFailed,
            SignOut,
            PasswordResetRequested,
            PasswordReset,
            PasswordChanged,
            PasswordChangeFailed,
            EmailVerified,
            KeyAdded,
            KeyRemoved,
            KeysRotated,
            RoleChanged,
            PlanChanged,
            IdentityLinked,
        ];
        for action in all {
            let json = serde_json::to_string(&action).unwrap();
            assert_eq!(json, format!("\"{}\"", action.as_str()));
        }
    }
}
