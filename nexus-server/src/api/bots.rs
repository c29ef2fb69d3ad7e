//! `/api/v1/bots`: a user's bots. Configurations are read into the core's own types
//! (strategy, sizing, pyramiding, gate policy), so what the API accepts is exactly what
//! the engine runs, and a bad value answers 422 naming its field. Plans limit how many
//! bots and pairs a user may have.

use std::sync::Arc;

use chrono::Utc;
use nexus_core::fanout::BotConfig;
use nexus_core::ports::accounts::BotRecord;
use nexus_core::ports::credentials::CredentialId;
use nexus_core::pyramid::PyramidConfig;
use nexus_core::regime::gate::GatePolicy;
use nexus_core::sizing::SizingConfig;
use nexus_core::strategy::TrendBreakoutConfig;
use nexus_core::{BotConfigError, BotId, ExchangeId, Interval, StoreError, Symbol, UserId};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi, Tags};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::auth::{err, unavailable};
use super::bodies::Invalid;
use super::keys::Exchange;
use super::session::Session;
use super::{ApiState, ErrorBody};

#[derive(Tags)]
enum BotsTag {
    /// Trading bots.
    Bots,
}

/// The strategies a bot can run: the built-in trend follower, or the signals of an
/// outside source (`webhook`, with `strategy_config: {"source": "name"}`).
pub const STRATEGIES: [&str; 2] = ["trend_breakout", "webhook"];

/// The candle interval a bot runs on unless it says otherwise.
pub const DEFAULT_INTERVAL: Interval = Interval::H1;

/// `POST /bots`. Only `exchange`, `symbol` and `strategy` are required.
#[derive(Debug, Object)]
pub struct NewBot {
    /// Your name for the bot; `<strategy> <symbol>` by default.
    pub name: Option<String>,
    /// The venue.
    pub exchange: Exchange,
    /// The pair, `BASE/QUOTE` (`BTC/USDT`).
    pub symbol: String,
    /// The strategy: `trend_breakout`.
    pub strategy: String,
    /// The candle interval: `1m`, `5m`, `15m`, `1h` (default), `4h` or `1d`.
    pub interval: Option<String>,
    /// The strategy's parameters (`trend_breakout`: `entry_period` 20, `exit_period` 10,
    /// `atr_period` 20 by default, each 1–1000 candles; `add_every_atr` 0.5 and
    /// `trailing_stop_atr` 2, each above 0 and at most 100; `max_adds` 3, at most 20); see
    /// docs/backtest.md.
    pub strategy_config: Option<serde_json::Value>,
    /// How orders are sized (default: 10 % of equity per entry); see docs/sizing.md.
    /// Ranges: `method.amount` above 0 and at most 10^12; `method.percent`,
    /// `method.risk_percent` and `max_position_pct` above 0 and at most 100;
    /// `method.stop.atr_multiple` above 0 and at most 100; `fee_reserve_pct` 0 to 10.
    pub sizing: Option<serde_json::Value>,
    /// How the bot adds to a position (default: no adds); see docs/pyramiding.md.
    /// Ranges: `max_adds` 0–20; a level's `size_multiplier` above 0 and at most 100, its
    /// `trigger` non-zero, `percent` above -100 and at most 1000, `atr` -100 to 100;
    /// `cooldown_secs` at most 31536000 (365 days); `max_exposure.quote` above 0 and at
    /// most 10^12, `max_exposure.percent_of_equity` above 0 and at most 100.
    pub pyramid: Option<serde_json::Value>,
    /// When the regime gate lets it trade (default: entries in bull and sideways markets,
    /// adds in bull markets, exits always); see docs/regime.md. Ranges:
    /// `max_data_age_secs` 1–86400; each regime listed at most once.
    pub gate: Option<serde_json::Value>,
    /// The exchange key it trades with; the newest of your keys for the exchange when
    /// omitted. Paper bots need none.
    pub exchange_key_id: Option<Uuid>,
    /// Start paused.
    pub paused: Option<bool>,
}

/// `PATCH /bots/{id}`: the fields to change.
#[derive(Debug, Object)]
pub struct BotChanges {
    /// A new name.
    pub name: Option<String>,
    /// A new pair.
    pub symbol: Option<String>,
    /// A new interval.
    pub interval: Option<String>,
    /// New strategy parameters (replacing the old ones), in the ranges of `NewBot`'s.
    pub strategy_config: Option<serde_json::Value>,
    /// New sizing rules, in the ranges of `NewBot`'s.
    pub sizing: Option<serde_json::Value>,
    /// New pyramiding rules, in the ranges of `NewBot`'s.
    pub pyramid: Option<serde_json::Value>,
    /// A new gate policy, in the ranges of `NewBot`'s.
    pub gate: Option<serde_json::Value>,
    /// Another of your keys for the bot's exchange.
    pub exchange_key_id: Option<Uuid>,
    /// Pause (`true`) or resume (`false`); either clears `paused_reason`.
    pub paused: Option<bool>,
}

/// A bot.
#[derive(Debug, Object)]
pub struct Bot {
    /// Its id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// The venue.
    pub exchange: Exchange,
    /// The pair.
    pub symbol: String,
    /// The strategy.
    pub strategy: String,
    /// The candle interval.
    pub interval: String,
    /// The strategy's parameters.
    pub strategy_config: serde_json::Value,
    /// Sizing rules.
    pub sizing: serde_json::Value,
    /// Pyramiding rules.
    pub pyramid: serde_json::Value,
    /// Gate policy.
    pub gate: serde_json::Value,
    /// The exchange key it trades with.
    pub exchange_key_id: Option<Uuid>,
    /// Paused, by you or by the engine.
    pub paused: bool,
    /// Why Nexus paused the bot: `plan_limit` (your plan became smaller than your
    /// running bots; resume it within your plan's limits) or `internal_error: …` (its work
    /// failed in a way retrying would not fix); absent when you paused it or it runs.
    /// Resuming it clears this.
    pub paused_reason: Option<String>,
}

/// A page of bots.
#[derive(Debug, Object)]
pub struct BotPage {
    /// The bots, in id order.
    pub items: Vec<Bot>,
    /// Pass as `after` for the next page; absent on the last.
    pub next_after: Option<Uuid>,
}

/// A bot as the API shows it.
///
/// # Errors
/// [`StoreError::Corrupt`] when its stored parameters do not read back as JSON or its
/// configuration does not serialise: shown as `null`, they would look like no settings.
fn view(bot: &BotRecord) -> Result<Bot, StoreError> {
    let json = |field: &str, v: Result<serde_json::Value, serde_json::Error>| {
        v.map_err(|e| StoreError::Corrupt {
            message: format!("bot {}: {field}: {e}", bot.id.as_uuid()),
        })
    };
    Ok(Bot {
        id: *bot.id.as_uuid(),
        name: bot.name.clone(),
        exchange: bot.exchange.into(),
        symbol: bot.symbol.to_string(),
        strategy: bot.strategy.clone(),
        interval: bot.interval.as_str().to_owned(),
        strategy_config: json(
            "strategy_config",
            serde_json::from_str(&bot.strategy_config),
        )?,
        sizing: json("sizing", serde_json::to_value(bot.config.sizing))?,
        pyramid: json("pyramid", serde_json::to_value(&bot.config.pyramid))?,
        gate: json("gate", serde_json::to_value(&bot.config.gate))?,
        exchange_key_id: bot.credential.map(|c| c.0),
        paused: bot.paused,
        paused_reason: bot.paused_reason.clone(),
    })
}

/// Answers that create or change a bot.
#[derive(ApiResponse)]
pub enum BotResponse {
    /// The bot.
    #[oai(status = 200)]
    Ok(Json<Bot>),
    /// Created.
    #[oai(status = 201)]
    Created(Json<Bot>),
    /// Malformed JSON.
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// Not signed in.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// Beyond the plan's limits (`plan_limit`, saying which), or a cookie request without
    /// its CSRF header.
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// No such bot (or exchange key) among yours (`not_found`).
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// A value is invalid or outside its documented range (`invalid_field`, the message
    /// starting with the field's path: `sizing.method.risk_percent: must be above 0 and at
    /// most 100, got 150`), or a real exchange without your key for it
    /// (`exchange_key_required`).
    #[oai(status = 422)]
    Invalid(Json<ErrorBody>),
    /// The database is down.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

/// Answers of `list`.
#[derive(ApiResponse)]
pub enum BotListResponse {
    /// A page of bots.
    #[oai(status = 200)]
    Ok(Json<BotPage>),
    /// Not signed in.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// `limit` out of range (`invalid_field`).
    #[oai(status = 422)]
    Invalid(Json<ErrorBody>),
    /// The database is down.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

/// Answers of `delete`.
#[derive(ApiResponse)]
pub enum DeleteBotResponse {
    /// Deleted, with its positions and orders.
    #[oai(status = 204)]
    Deleted,
    /// Not signed in.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// A cookie request without its CSRF header.
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// No such bot among yours (`not_found`).
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// The database is down.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

/// A field that did not validate: `422 invalid_field` with the field's path.
fn invalid(field: &str, problem: impl std::fmt::Display) -> Invalid {
    Invalid::field(field, problem)
}

/// Reads `value` into a core type, naming the exact field that failed
/// (`sizing.method.percent: …`).
fn read<T: DeserializeOwned>(field: &str, value: serde_json::Value) -> Result<T, Invalid> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let at = if path == "." {
            field.to_owned()
        } else {
            format!("{field}.{path}")
        };
        invalid(&at, e.into_inner())
    })
}

fn symbol(text: &str) -> Result<Symbol, Invalid> {
    text.trim().parse().map_err(|e| invalid("symbol", e))
}

fn interval(text: &str) -> Result<Interval, Invalid> {
    serde_json::from_value(serde_json::Value::String(text.trim().to_owned())).map_err(|_| {
        invalid(
            "interval",
            format!("{text:?} is not one of 1m, 5m, 15m, 1h, 4h, 1d"),
        )
    })
}

fn strategy_config(strategy: &str, value: Option<serde_json::Value>) -> Result<String, Invalid> {
    if strategy == crate::engine::signals::WEBHOOK_STRATEGY {
        let Some(value) = value else {
            return Err(invalid(
                "strategy_config",
                "a webhook bot names its signal source: {\"source\": \"name\"}",
            ));
        };
        let config: super::signals::WebhookConfig = read("strategy_config", value)?;
        config
            .validate()
            .map_err(|e| invalid("strategy_config.source", e))?;
        return Ok(super::signals::WebhookConfig::canonical(&config.source));
    }
    let config: TrendBreakoutConfig = match value {
        Some(v) => read("strategy_config", v)?,
        None => TrendBreakoutConfig::default(),
    };
    config
        .validate()
        .map_err(|e| invalid(&format!("strategy_config.{}", e.field), e))?;
    serde_json::to_string(&config).map_err(|e| invalid("strategy_config", e))
}

/// Reads and checks the pyramiding rules.
fn pyramid(value: serde_json::Value) -> Result<PyramidConfig, Invalid> {
    let config: PyramidConfig = read("pyramid", value)?;
    config.validate().map_err(out_of_range)?;
    Ok(config)
}

/// Reads and checks the sizing rules.
fn sizing(value: serde_json::Value) -> Result<SizingConfig, Invalid> {
    let config: SizingConfig = read("sizing", value)?;
    config.validate().map_err(out_of_range)?;
    Ok(config)
}

/// Reads and checks the gate policy.
fn gate(value: serde_json::Value) -> Result<GatePolicy, Invalid> {
    let config: GatePolicy = read("gate", value)?;
    config.validate().map_err(out_of_range)?;
    Ok(config)
}

/// A section outside its documented range; the error's text starts with the field's path.
fn out_of_range(e: impl Into<BotConfigError>) -> Invalid {
    Invalid::new("invalid_field", e.into().to_string())
}

/// The key a bot on `exchange` trades with: `requested` if it is the caller's key for that
/// exchange, else the caller's newest key for it. Paper bots need none.
async fn credential_for(
    state: &ApiState,
    user: UserId,
    exchange: ExchangeId,
    requested: Option<Uuid>,
) -> Result<Result<Option<CredentialId>, BotResponse>, nexus_core::StoreError> {
    let keys = state.store.list_credentials(user).await?;
    let mine = keys.iter().filter(|k| k.exchange == exchange);
    if let Some(id) = requested {
        return Ok(match keys.iter().find(|k| k.id.0 == id) {
            Some(k) if k.exchange == exchange => Ok(Some(k.id)),
            Some(_) => Err(BotResponse::Invalid(err(
                "invalid_field",
                format!("exchange_key_id: that key is not a {exchange} key"),
            ))),
            None => Err(BotResponse::NotFound(err(
                "not_found",
                "exchange_key_id: no such exchange key",
            ))),
        });
    }
    if exchange == ExchangeId::Paper {
        return Ok(Ok(None));
    }
    Ok(match mine.max_by_key(|k| k.created_at) {
        Some(k) => Ok(Some(k.id)),
        None => Err(BotResponse::Invalid(err(
            "exchange_key_required",
            format!(
                "a bot on {exchange} needs your {exchange} API key: add one at POST /api/v1/exchange-keys first"
            ),
        ))),
    })
}

/// The bot endpoints.
pub struct BotsApi;

#[OpenApi(prefix_path = "/api/v1", tag = "BotsTag::Bots")]
impl BotsApi {
    /// Creates a bot. `{"exchange":"paper","symbol":"BTC/USDT","strategy":"trend_breakout"}`
    /// is enough: sizing, pyramiding and gate have documented defaults.
    #[oai(path = "/bots", method = "post", operation_id = "create_bot")]
    pub(crate) async fn create(
        &self,
        state: Data<&Arc<ApiState>>,
        auth: Session,
        body: Json<NewBot>,
    ) -> BotResponse {
        let user = auth.caller().user.id;
        let body = body.0;
        let record = match new_record(user, body) {
            Ok(record) => record,
            Err(e) => return BotResponse::Invalid(e.body()),
        };
        let (record, requested_key) = record;
        let credential = match credential_for(&state, user, record.exchange, requested_key).await {
            Ok(Ok(c)) => c,
            Ok(Err(answer)) => return answer,
            Err(e) => return BotResponse::Unavailable(unavailable(&e)),
        };
        let record = BotRecord {
            credential,
            ..record
        };
        // The plan's limits are counted and the bot written in one transaction.
        match state
            .store
            .create_bot_within_plan(&record, &state.plans, Utc::now())
            .await
        {
            Ok(Ok(())) => match view(&record) {
                Ok(bot) => BotResponse::Created(Json(bot)),
                Err(e) => BotResponse::Unavailable(unavailable(&e)),
            },
            Ok(Err(limit)) => BotResponse::Forbidden(err("plan_limit", limit.to_string())),
            Err(e) => BotResponse::Unavailable(unavailable(&e)),
        }
    }

    /// Your bots, a page at a time.
    #[oai(path = "/bots", method = "get", operation_id = "list_bots")]
    pub(crate) async fn list(
        &self,
        state: Data<&Arc<ApiState>>,
        auth: Session,
        /// The last id of the previous page.
        after: Query<Option<Uuid>>,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<u32>>,
    ) -> BotListResponse {
        let limit = limit.0.unwrap_or(50);
        if !(1..=200).contains(&limit) {
            return BotListResponse::Invalid(err("invalid_field", "limit: between 1 and 200"));
        }
        let user = auth.caller().user.id;
        match state
            .store
            .user_bots(user, after.0.map(BotId::new), limit)
            .await
        {
            Ok(bots) => {
                let next_after = (bots.len() == limit as usize)
                    .then(|| bots.last().map(|b| *b.id.as_uuid()))
                    .flatten();
                match bots.iter().map(view).collect() {
                    Ok(items) => BotListResponse::Ok(Json(BotPage { items, next_after })),
                    Err(e) => BotListResponse::Unavailable(unavailable(&e)),
                }
            }
            Err(e) => BotListResponse::Unavailable(unavailable(&e)),
        }
    }

    /// One of your bots.
    #[oai(path = "/bots/:id", method = "get", operation_id = "get_bot")]
    pub(crate) async fn get(
        &self,
        state: Data<&Arc<ApiState>>,
        auth: Session,
        id: Path<Uuid>,
    ) -> BotResponse {
        match owned(&state, auth.caller().user.id, id.0).await {
            Ok(bot) => match view(&bot) {
                Ok(bot) => BotResponse::Ok(Json(bot)),
                Err(e) => BotResponse::Unavailable(unavailable(&e)),
            },
            Err(answer) => answer,
        }
    }

    /// Changes one of your bots: only the fields sent change.
    #[oai(path = "/bots/:id", method = "patch", operation_id = "update_bot")]
    pub(crate) async fn update(
        &self,
        state: Data<&Arc<ApiState>>,
        auth: Session,
        id: Path<Uuid>,
        body: Json<BotChanges>,
    ) -> BotResponse {
        let user = auth.caller().user.id;
        let bot = match owned(&state, user, id.0).await {
            Ok(bot) => bot,
            Err(answer) => return answer,
        };
        let changes = body.0;
        let requested_key = changes.exchange_key_id;
        let changed = match apply(bot.clone(), changes) {
            Ok(changed) => changed,
            Err(e) => return BotResponse::Invalid(e.body()),
        };
        let credential = if requested_key.is_some() {
            match credential_for(&state, user, changed.exchange, requested_key).await {
                Ok(Ok(c)) => c,
                Ok(Err(answer)) => return answer,
                Err(e) => return BotResponse::Unavailable(unavailable(&e)),
            }
        } else {
            changed.credential
        };
        let changed = BotRecord {
            credential,
            ..changed
        };
        // Resuming it or moving it to another pair is checked against the plan in the
        // transaction that saves it.
        match state
            .store
            .update_bot_within_plan(&changed, &state.plans, Utc::now())
            .await
        {
            Ok(Ok(true)) => match view(&changed) {
                Ok(bot) => BotResponse::Ok(Json(bot)),
                Err(e) => BotResponse::Unavailable(unavailable(&e)),
            },
            Ok(Ok(false)) => BotResponse::NotFound(err("not_found", "no such bot")),
            Ok(Err(limit)) => BotResponse::Forbidden(err("plan_limit", limit.to_string())),
            Err(e) => BotResponse::Unavailable(unavailable(&e)),
        }
    }

    /// Deletes one of your bots.
    #[oai(path = "/bots/:id", method = "delete", operation_id = "delete_bot")]
    pub(crate) async fn delete(
        &self,
        state: Data<&Arc<ApiState>>,
        auth: Session,
        id: Path<Uuid>,
    ) -> DeleteBotResponse {
        match state
            .store
            .delete_bot(auth.caller().user.id, BotId::new(id.0))
            .await
        {
            Ok(true) => DeleteBotResponse::Deleted,
            Ok(false) => DeleteBotResponse::NotFound(err("not_found", "no such bot")),
            Err(e) => DeleteBotResponse::Unavailable(unavailable(&e)),
        }
    }
}

/// The caller's bot `id`; another user's bot is "not found" like a missing one.
async fn owned(state: &ApiState, user: UserId, id: Uuid) -> Result<BotRecord, BotResponse> {
    match state.store.bot(BotId::new(id)).await {
        Ok(Some(bot)) if bot.user == user => Ok(bot),
        Ok(_) => Err(BotResponse::NotFound(err("not_found", "no such bot"))),
        Err(e) => Err(BotResponse::Unavailable(unavailable(&e))),
    }
}

/// The bot `user` creates with `body`, and the exchange key it asks for.
pub(super) fn new_record(user: UserId, body: NewBot) -> Result<(BotRecord, Option<Uuid>), Invalid> {
    let exchange = ExchangeId::from(body.exchange);
    let symbol = symbol(&body.symbol)?;
    let strategy = body.strategy.trim().to_owned();
    if !STRATEGIES.contains(&strategy.as_str()) {
        return Err(invalid(
            "strategy",
            format!(
                "unknown strategy {strategy:?}; known: {}",
                STRATEGIES.join(", ")
            ),
        ));
    }
    let interval = match &body.interval {
        Some(text) => interval(text)?,
        None => DEFAULT_INTERVAL,
    };
    let config = BotConfig {
        sizing: match body.sizing {
            Some(v) => sizing(v)?,
            None => SizingConfig::default(),
        },
        pyramid: match body.pyramid {
            Some(v) => pyramid(v)?,
            None => PyramidConfig::default(),
        },
        gate: match body.gate {
            Some(v) => gate(v)?,
            None => GatePolicy::default(),
        },
    };
    let name = match body.name.as_deref().map(str::trim) {
        Some("") => return Err(invalid("name", "must not be empty")),
        Some(name) if name.chars().count() > 100 => {
            return Err(invalid("name", "at most 100 characters"));
        }
        Some(name) => name.to_owned(),
        None => format!("{strategy} {symbol}"),
    };
    let strategy_config = strategy_config(&strategy, body.strategy_config)?;
    let record = BotRecord {
        id: BotId::new(Uuid::new_v4()),
        user,
        name,
        exchange,
        symbol,
        interval,
        strategy,
        strategy_config,
        config,
        credential: None,
        paused: body.paused.unwrap_or(false),
        paused_reason: None,
    };
    Ok((record, body.exchange_key_id))
}

/// `bot` with `changes` applied.
pub(super) fn apply(mut bot: BotRecord, changes: BotChanges) -> Result<BotRecord, Invalid> {
    if let Some(name) = changes.name {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(invalid("name", "1 to 100 characters"));
        }
        name.clone_into(&mut bot.name);
    }
    if let Some(text) = changes.symbol {
        bot.symbol = symbol(&text)?;
    }
    if let Some(text) = changes.interval {
        bot.interval = interval(&text)?;
    }
    if let Some(v) = changes.strategy_config {
        bot.strategy_config = strategy_config(&bot.strategy, Some(v))?;
    }
    if let Some(v) = changes.sizing {
        bot.config.sizing = sizing(v)?;
    }
    if let Some(v) = changes.pyramid {
        bot.config.pyramid = pyramid(v)?;
    }
    if let Some(v) = changes.gate {
        bot.config.gate = gate(v)?;
    }
    if let Some(paused) = changes.paused {
        // The owner has seen why the engine paused it, and decides now.
        bot.paused = paused;
        bot.paused_reason = None;
    }
    Ok(bot)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bot(strategy_config: &str) -> BotRecord {
        BotRecord {
            id: BotId::new(Uuid::nil()),
            user: UserId::new(Uuid::nil()),
            name: "b".into(),
            exchange: ExchangeId::Paper,
            symbol: "BTC/USDT".parse().unwrap(),
            interval: Interval::D1,
            strategy: "trend_breakout".into(),
            strategy_config: strategy_config.into(),
            config: BotConfig::default(),
            credential: None,
            paused: false,
            paused_reason: None,
        }
    }

    #[test]
    fn a_bot_whose_parameters_do_not_read_back_is_an_error_not_null() {
        let shown = view(&bot(r#"{"entry_period":10}"#)).unwrap();
        assert_eq!(shown.strategy_config["entry_period"], 10);
        assert!(shown.sizing.is_object());
        let error = view(&bot("{not json")).unwrap_err();
        assert!(
            matches!(&error, StoreError::Corrupt { message }
                if message.starts_with("bot 00000000-0000-0000-0000-000000000000: strategy_config: ")),
            "{error}"
        );
    }
}
