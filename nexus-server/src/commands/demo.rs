//! `nexus serve --demo`: a demo admin with a few Paper bots, so the product can be tried
//! at once. Each start gives the demo account a new random password (printed once).

use chrono::Utc;
use nexus_core::fanout::BotConfig;
use nexus_core::ports::accounts::{BotRecord, Role};
use nexus_core::{
    Asset, BotId, ExchangeId, Interval, Secret, StoreError, Symbol, SymbolError, UserId,
};
use nexus_store::Store;
use rand::Rng;

use crate::auth::passwords::{self, HashError};

/// The demo account's email address.
pub const DEMO_EMAIL: &str = "demo@nexus.local";

/// The demo could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The demo password could not be hashed.
    #[error(transparent)]
    Password(#[from] HashError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The demo symbol did not parse.
    #[error(transparent)]
    Symbol(#[from] SymbolError),
    /// A demo bot's built-in parameters do not read or write as the strategy's.
    #[error("demo bot {name:?}: {source}")]
    BotParameters {
        /// The bot's name.
        name: &'static str,
        /// What went wrong.
        source: serde_json::Error,
    },
}

/// Creates (or refreshes) the demo account and its bots; returns what to print.
///
/// # Errors
/// [`DemoError`] when the password cannot be hashed or the store fails.
pub async fn create(store: &dyn Store, public_url: &str) -> Result<String, DemoError> {
    let now = Utc::now();
    let password: String = rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(20)
        .map(char::from)
        .collect();
    let hash = passwords::hash(Secret::new(password.clone())).await?;
    let user = match store.user_by_email(DEMO_EMAIL).await? {
        Some((user, _)) => {
            store.set_password(user.id, &hash, now).await?;
            user.id
        }
        None => {
            let id = UserId::new(crate::ids::time_ordered());
            store
                .create_user(id, DEMO_EMAIL, Some(&hash), Role::Admin, now)
                .await?;
            id
        }
    };
    store.mark_email_verified(user, now).await?;
    store.set_role(user, Role::Admin, now).await?;
    store.set_user_plan(user, "pro", now).await?;
    if store.user_bots(user, None, 1).await?.is_empty() {
        let symbol = Symbol::new(Asset::new("BTC")?, Asset::new("USDT")?)?;
        let bots = [
            ("BTC trend, daily (Turtle 20/10)", "{}"),
            (
                "BTC fast breakout (10/5)",
                r#"{"entry_period":10,"exit_period":5}"#,
            ),
        ];
        for (name, params) in bots {
            let bad = |source| DemoError::BotParameters { name, source };
            let params: nexus_core::strategy::TrendBreakoutConfig =
                serde_json::from_str(params).map_err(bad)?;
            let bot = BotRecord {
                id: BotId::new(crate::ids::time_ordered()),
                user,
                name: name.to_owned(),
                exchange: ExchangeId::Paper,
                symbol,
                interval: Interval::D1,
                strategy: "trend_breakout".into(),
                strategy_config: serde_json::to_string(&params).map_err(bad)?,
                config: BotConfig::default(),
                credential: None,
                paused: false,
                paused_reason: None,
            };
            store.create_bot(&bot, now).await?;
        }
    }
    Ok(format!(
        "\nDemo ready: an admin with two Paper bots trading the simulated BTC/USDT market.\n\
         \x20 Sign in:   {DEMO_EMAIL} / {password}\n\
         \x20 API docs:  {public_url}/docs\n\
         \x20 Try:       curl -s -X POST {public_url}/api/v1/auth/login -H 'content-type: application/json' \
         -d '{{\"email\":\"{DEMO_EMAIL}\",\"password\":\"{password}\"}}'\n\
         \x20 then GET {public_url}/api/v1/bots with Authorization: Bearer <token>\n"
    ))
}
