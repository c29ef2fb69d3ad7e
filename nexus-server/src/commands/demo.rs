//! `nexus serve --demo`: a demo admin with a few Paper bots, so the product can be tried
//! at once. Each start gives the demo account a new random password (printed once).

use chrono::Utc;
use nexus_core::fanout::BotConfig;
use nexus_core::ports::accounts::{BotRecord, Role};
use nexus_core::{BotId, ExchangeId, Interval, Secret, UserId};
use nexus_store::Store;
use rand::Rng;
use uuid::Uuid;

/// The demo account's email address.
pub const DEMO_EMAIL: &str = "demo@nexus.local";

/// Creates (or refreshes) the demo account and its bots; returns what to print.
///
/// # Errors
/// A message when the store fails.
pub async fn create(store: &dyn Store, public_url: &str) -> Result<String, String> {
    let now = Utc::now();
    let password: String = rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(20)
        .map(char::from)
        .collect();
    let hash = crate::auth::passwords::hash(Secret::new(password.clone())).await?;
    let fail = |e: nexus_core::StoreError| e.to_string();
    let user = match store.user_by_email(DEMO_EMAIL).await.map_err(fail)? {
        Some((user, _)) => {
            store
                .set_password(user.id, &hash, now)
                .await
                .map_err(fail)?;
            user.id
        }
        None => {
            let id = UserId::new(Uuid::new_v4());
            store
                .create_user(id, DEMO_EMAIL, Some(&hash), Role::Admin, now)
                .await
                .map_err(fail)?;
            id
        }
    };
    store.mark_email_verified(user, now).await.map_err(fail)?;
    store.set_role(user, Role::Admin, now).await.map_err(fail)?;
    store.set_user_plan(user, "pro", now).await.map_err(fail)?;
    if store
        .user_bots(user, None, 1)
        .await
        .map_err(fail)?
        .is_empty()
    {
        let bots = [
            ("BTC trend, daily (Turtle 20/10)", "{}"),
            (
                "BTC fast breakout (10/5)",
                r#"{"entry_period":10,"exit_period":5}"#,
            ),
        ];
        for (name, params) in bots {
            let params: nexus_core::strategy::TrendBreakoutConfig =
                serde_json::from_str(params).map_err(|e| e.to_string())?;
            let bot = BotRecord {
                id: BotId::new(Uuid::new_v4()),
                user,
                name: name.to_owned(),
                exchange: ExchangeId::Paper,
                symbol: "BTC/USDT"
                    .parse()
                    .map_err(|e: nexus_core::SymbolError| e.to_string())?,
                interval: Interval::D1,
                strategy: "trend_breakout".into(),
                strategy_config: serde_json::to_string(&params).map_err(|e| e.to_string())?,
                config: BotConfig::default(),
                credential: None,
                paused: false,
            };
            store.create_bot(&bot, now).await.map_err(fail)?;
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
