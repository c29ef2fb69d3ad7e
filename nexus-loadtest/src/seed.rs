//! **Load-test only.** Users, their sessions and their bots written straight into the
//! store (`nexus-loadtest --direct`), for runs too large to set up through the API: a
//! sign-up hashes its password with argon2id on purpose (tens of milliseconds of a core),
//! so 50,000 of them would take most of an hour on two cores.
//!
//! What this skips is exactly what the load test does not measure: password hashing (the
//! users have no password and can only use the session made here), the verification email
//! (they are marked verified), the plan's bot limits and the audit log. Bots are read from
//! the same JSON bodies by the same code as `POST /api/v1/bots`
//! ([`nexus_server::api::bodies::new_bot`]), so they are stored exactly as the API would
//! store them. Nothing in the server calls this.

use chrono::{DateTime, Utc};
use nexus_core::ports::accounts::Role;
use nexus_core::ports::sessions::{NewSession, SessionId};
use nexus_core::{StoreError, UserId};
use nexus_server::api::bodies::{BodyError, new_bot};
use nexus_store::Store;
use serde_json::Value;
use uuid::Uuid;

/// How long a seeded session lasts: the API's own session lifetime.
const SESSION_TTL: chrono::Duration = chrono::Duration::days(7);

/// A user written straight into the store.
#[derive(Debug, Clone)]
pub struct Seeded {
    /// The user.
    pub user: UserId,
    /// A bearer token of a live session of the user.
    pub token: String,
    /// The user's bots, in the order of their bodies.
    pub bots: Vec<Uuid>,
}

/// A user could not be seeded.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The store refused a write.
    #[error("seeding {email}: {source}")]
    Store {
        /// The user's address.
        email: String,
        /// What the store said.
        source: StoreError,
    },
    /// A bot body is not one `POST /api/v1/bots` accepts.
    #[error("a seeded bot: {0}")]
    Bot(#[from] BodyError),
}

/// Writes the user `email` (verified, no password), a session, and one bot per body of
/// `bots` (`POST /api/v1/bots` bodies).
///
/// # Errors
/// [`SeedError`]: a body the API would refuse, or a store failure (the user may then exist
/// without all of its bots).
pub async fn user(
    store: &dyn Store,
    email: &str,
    bots: &[Value],
    now: DateTime<Utc>,
) -> Result<Seeded, SeedError> {
    let failed = |source| SeedError::Store {
        email: email.to_owned(),
        source,
    };
    let id = UserId::new(nexus_server::ids::time_ordered());
    // Bodies are checked before anything is written.
    let records = bots
        .iter()
        .map(|body| Ok(new_bot(body.to_string().as_bytes(), id)?.0))
        .collect::<Result<Vec<_>, SeedError>>()?;
    store
        .create_user(id, email, None, Role::User, now)
        .await
        .map_err(failed)?;
    store.mark_email_verified(id, now).await.map_err(failed)?;
    let (token, hash) = nexus_server::auth::tokens::generate();
    store
        .create_session(&NewSession {
            id: SessionId(Uuid::new_v4()),
            user: id,
            token: hash,
            created_at: now,
            started_at: now,
            expires_at: now + SESSION_TTL,
            user_agent: Some("nexus-loadtest (seeded)".to_owned()),
            ip: None,
        })
        .await
        .map_err(failed)?;
    let mut ids = Vec::with_capacity(records.len());
    for record in &records {
        store.create_bot(record, now).await.map_err(failed)?;
        ids.push(*record.id.as_uuid());
    }
    Ok(Seeded {
        user: id,
        token,
        bots: ids,
    })
}

#[cfg(test)]
mod tests {
    use nexus_core::BotId;
    use nexus_core::ports::accounts::{BotStore, UserStore};
    use nexus_core::ports::sessions::SessionStore;
    use nexus_store::SqliteStore;
    use nexus_store::vault::{Keyring, MasterKey};
    use serde_json::json;

    use super::*;

    async fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("nexus.db").display());
        let keys = Keyring::new(MasterKey::generate(), Vec::new());
        (dir, SqliteStore::open(&url, keys).await.unwrap())
    }

    #[tokio::test]
    async fn a_seeded_user_is_verified_signed_in_and_owns_its_bots() {
        let (_dir, store) = store().await;
        let body = json!({"exchange": "paper", "symbol": "BTC/USDT", "strategy": "webhook",
            "strategy_config": {"source": "lt"}, "name": "seeded"});
        let now = Utc::now();
        let seeded = user(&store, "a@example.com", &[body.clone(), body], now)
            .await
            .unwrap();
        let found = store.user(seeded.user).await.unwrap().unwrap();
        assert_eq!(found.email, "a@example.com");
        assert!(found.email_verified_at.is_some());
        let session = store
            .active_session(&nexus_server::auth::tokens::hash(&seeded.token), now)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(session.user.id, seeded.user);
        assert_eq!(seeded.bots.len(), 2);
        for id in &seeded.bots {
            let bot = store.bot(BotId::new(*id)).await.unwrap().unwrap();
            assert_eq!((bot.user, bot.name.as_str()), (seeded.user, "seeded"));
            assert_eq!(bot.strategy_config, r#"{"source":"lt"}"#);
        }
    }

    #[tokio::test]
    async fn a_body_the_api_refuses_writes_nothing() {
        let (_dir, store) = store().await;
        let bad = json!({"exchange": "paper", "symbol": "BTC/USDT", "strategy": "nope"});
        let refused = user(&store, "b@example.com", &[bad], Utc::now()).await;
        assert!(
            matches!(&refused, Err(SeedError::Bot(e)) if e.to_string().contains("unknown strategy")),
            "{refused:?}"
        );
        assert!(
            store
                .user_by_email("b@example.com")
                .await
                .unwrap()
                .is_none()
        );
    }
}
