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
use poem_openapi::{ApiResponse, Enum, Object, OpenApi, Tags};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::auth::{err, unavailable};
use super::bodies::Invalid;
use super::config_schema::{Config, Gate, Pyramid, Sizing, StrategyParameters};
use super::keys::Exchange;
use super::schema::{BotName, Limit, OneOf, PairSymbol, Text};
use super::session::Session;
use super::{ApiState, ErrorBody};
use crate::events::{BotChange, Happening};

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

/// A strategy a bot can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum StrategyName {
    /// The built-in trend follower (docs/backtest.md).
    TrendBreakout,
    /// The signals of an outside source, named by `strategy_config: {"source": "name"}`.
    Webhook,
}

/// A candle interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum IntervalName {
    /// One minute.
    #[oai(rename = "1m")]
    M1,
    /// Five minutes.
    #[oai(rename = "5m")]
    M5,
    /// Fifteen minutes.
    #[oai(rename = "15m")]
    M15,
    /// One hour.
    #[oai(rename = "1h")]
    H1,
    /// Four hours.
    #[oai(rename = "4h")]
    H4,
    /// One day.
    #[oai(rename = "1d")]
    D1,
}

impl From<Interval> for IntervalName {
    fn from(i: Interval) -> Self {
        match i {
            Interval::M1 => Self::M1,
            Interval::M5 => Self::M5,
            Interval::M15 => Self::M15,
            Interval::H1 => Self::H1,
            Interval::H4 => Self::H4,
            Interval::D1 => Self::D1,
        }
    }
}

impl From<IntervalName> for Interval {
    fn from(i: IntervalName) -> Self {
        match i {
            IntervalName::M1 => Self::M1,
            IntervalName::M5 => Self::M5,
            IntervalName::M15 => Self::M15,
            IntervalName::H1 => Self::H1,
            IntervalName::H4 => Self::H4,
            IntervalName::D1 => Self::D1,
        }
    }
}

/// `POST /bots`. Only `exchange`, `symbol` and `strategy` are required.
#[derive(Debug, Object)]
#[oai(example = true)]
pub struct NewBot {
    /// Your name for the bot, up to 100 characters; `<strategy> <symbol>` by default.
    #[oai(nullable)]
    pub name: Option<Text<BotName>>,
    /// The venue.
    pub exchange: Exchange,
    /// The pair, `BASE/QUOTE` (`BTC/USDT`): two different asset codes.
    pub symbol: Text<PairSymbol>,
    /// The strategy (`webhook` needs `strategy_config: {"source": "name"}`).
    pub strategy: OneOf<StrategyName>,
    /// The candle interval: `1h` by default.
    #[oai(nullable)]
    pub interval: Option<OneOf<IntervalName>>,
    /// The strategy's parameters (`trend_breakout`: `entry_period` 20, `exit_period` 10,
    /// `atr_period` 20 by default, each 1–1000 candles; `add_every_atr` 0.5 and
    /// `trailing_stop_atr` 2, each above 0 and at most 100; `max_adds` 3, at most 20); see
    /// docs/backtest.md.
    #[oai(nullable)]
    pub strategy_config: Option<Config<StrategyParameters>>,
    /// How orders are sized (default: 10 % of equity per entry); see docs/sizing.md.
    /// Ranges: `method.amount` above 0 and at most 10^12; `method.percent`,
    /// `method.risk_percent` and `max_position_pct` above 0 and at most 100;
    /// `method.stop.atr_multiple` above 0 and at most 100; `fee_reserve_pct` 0 to 10.
    #[oai(nullable)]
    pub sizing: Option<Config<Sizing>>,
    /// How the bot adds to a position (default: no adds); see docs/pyramiding.md.
    /// Ranges: `max_adds` 0–20; a level's `size_multiplier` above 0 and at most 100, its
    /// `trigger` non-zero, `percent` above -100 and at most 1000, `atr` -100 to 100;
    /// `cooldown_secs` at most 31536000 (365 days); `max_exposure.quote` above 0 and at
    /// most 10^12, `max_exposure.percent_of_equity` above 0 and at most 100.
    #[oai(nullable)]
    pub pyramid: Option<Config<Pyramid>>,
    /// When the regime gate lets it trade (default: entries in bull and sideways markets,
    /// adds in bull markets, exits always); see docs/regime.md. Ranges:
    /// `max_data_age_secs` 1–86400; each regime listed at most once.
    #[oai(nullable)]
    pub gate: Option<Config<Gate>>,
    /// The exchange key it trades with; the newest of your keys for the exchange when
    /// omitted. Paper bots need none.
    #[oai(nullable)]
    pub exchange_key_id: Option<Uuid>,
    /// Start paused.
    #[oai(nullable)]
    pub paused: Option<bool>,
}

impl poem_openapi::types::Example for NewBot {
    fn example() -> Self {
        Self {
            name: Some(Text::new("BTC trend, hourly")),
            exchange: Exchange::Paper,
            symbol: Text::new("BTC/USDT"),
            strategy: OneOf::new("trend_breakout"),
            interval: Some(OneOf::new("1h")),
            strategy_config: Some(Config::new(
                serde_json::json!({"entry_period": 20, "exit_period": 10}),
            )),
            sizing: Some(Config::new(
                serde_json::json!({"method": {"type": "percent_of_equity", "percent": "10"}}),
            )),
            pyramid: None,
            gate: None,
            exchange_key_id: None,
            paused: Some(false),
        }
    }
}

/// `PATCH /bots/{id}`: the fields to change.
#[derive(Debug, Object)]
#[oai(example = true)]
pub struct BotChanges {
    /// A new name, up to 100 characters.
    #[oai(nullable)]
    pub name: Option<Text<BotName>>,
    /// A new pair.
    #[oai(nullable)]
    pub symbol: Option<Text<PairSymbol>>,
    /// A new interval.
    #[oai(nullable)]
    pub interval: Option<OneOf<IntervalName>>,
    /// New strategy parameters (replacing the old ones), in the ranges of `NewBot`'s.
    #[oai(nullable)]
    pub strategy_config: Option<Config<StrategyParameters>>,
    /// New sizing rules, in the ranges of `NewBot`'s.
    #[oai(nullable)]
    pub sizing: Option<Config<Sizing>>,
    /// New pyramiding rules, in the ranges of `NewBot`'s.
    #[oai(nullable)]
    pub pyramid: Option<Config<Pyramid>>,
    /// A new gate policy, in the ranges of `NewBot`'s.
    #[oai(nullable)]
    pub gate: Option<Config<Gate>>,
    /// Another of your keys for the bot's exchange.
    #[oai(nullable)]
    pub exchange_key_id: Option<Uuid>,
    /// Pause (`true`) or resume (`false`); either clears `paused_reason`.
    #[oai(nullable)]
    pub paused: Option<bool>,
}

impl poem_openapi::types::Example for BotChanges {
    fn example() -> Self {
        Self {
            name: Some(Text::new("BTC trend, 4-hourly")),
            symbol: None,
            interval: Some(OneOf::new("4h")),
            strategy_config: None,
            sizing: None,
            pyramid: None,
            gate: None,
            exchange_key_id: None,
            paused: None,
        }
    }
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
    pub strategy: OneOf<StrategyName>,
    /// The candle interval.
    pub interval: OneOf<IntervalName>,
    /// The strategy's parameters.
    pub strategy_config: Config<StrategyParameters>,
    /// Sizing rules.
    pub sizing: Config<Sizing>,
    /// Pyramiding rules.
    pub pyramid: Config<Pyramid>,
    /// Gate policy.
    pub gate: Config<Gate>,
    /// The exchange key it trades with.
    #[oai(nullable)]
    pub exchange_key_id: Option<Uuid>,
    /// Paused, by you or by the engine.
    pub paused: bool,
    /// Why Nexus paused the bot: `plan_limit` (your plan became smaller than your
    /// running bots; resume it within your plan's limits) or `internal_error: …` (its work
    /// failed in a way retrying would not fix); null when you paused it or it runs.
    /// Resuming it clears this.
    #[oai(nullable)]
    pub paused_reason: Option<String>,
}

/// A page of bots.
#[derive(Debug, Object)]
pub struct BotPage {
    /// The bots, in id order.
    pub items: Vec<Bot>,
    /// Pass as `after` for the next page; null on the last.
    #[oai(nullable)]
    pub next_after: Option<Uuid>,
}

/// A bot as the API shows it.
///
/// # Errors
/// [`StoreError::Corrupt`] when its stored parameters do not read back as JSON or its
/// configuration does not serialise: shown as `null`, they would look like no settings.
pub(crate) fn view(bot: &BotRecord) -> Result<Bot, StoreError> {
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
        strategy: OneOf::new(bot.strategy.clone()),
        interval: OneOf::new(bot.interval.as_str()),
        strategy_config: Config::new(json(
            "strategy_config",
            serde_json::from_str(&bot.strategy_config),
        )?),
        sizing: Config::new(json("sizing", serde_json::to_value(bot.config.sizing))?),
        pyramid: Config::new(json("pyramid", serde_json::to_value(&bot.config.pyramid))?),
        gate: Config::new(json("gate", serde_json::to_value(&bot.config.gate))?),
        exchange_key_id: bot.credential.map(|c| c.0),
        paused: bot.paused,
        paused_reason: bot.paused_reason.clone(),
    })
}

/// Answers of `create`.
#[derive(ApiResponse)]
pub enum CreateBotResponse {
    /// Created.
    #[oai(status = 201)]
    Created(Json<Box<Bot>>),
    /// Not signed in.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// Beyond the plan's limits (`plan_limit`, saying which), or a cookie request without
    /// its CSRF header.
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// `exchange_key_id` names no key of yours (`not_found`).
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// A value is invalid or outside its documented range (`invalid_field`, the message
    /// starting with the field's path: `sizing.method.risk_percent: must be above 0 and at
    /// most 100, got 150`), the key named is not for the bot's exchange (`invalid_field`),
    /// or a real exchange without your key for it (`exchange_key_required`).
    #[oai(status = 422)]
    Invalid(Json<ErrorBody>),
    /// The database is down.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

/// Answers of `get`.
#[derive(ApiResponse)]
pub enum GetBotResponse {
    /// The bot.
    #[oai(status = 200)]
    Ok(Json<Box<Bot>>),
    /// Not signed in.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// No such bot among yours (`not_found`).
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// The database is down.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

/// Answers of `update`.
#[derive(ApiResponse)]
pub enum BotResponse {
    /// The bot as changed.
    #[oai(status = 200)]
    Ok(Json<Box<Bot>>),
    /// Not signed in.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// Resuming it or moving it to another pair would go beyond the plan's limits
    /// (`plan_limit`, saying which), or a cookie request without its CSRF header.
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// No such bot among yours, or `exchange_key_id` names no key of yours (`not_found`).
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// A value is invalid or outside its documented range (`invalid_field`, the message
    /// starting with the field's path), or the key named is not for the bot's exchange
    /// (`invalid_field`).
    #[oai(status = 422)]
    Invalid(Json<ErrorBody>),
    /// The database is down.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

/// An answer carrying a bot (the web app's forms call the operations and show the bot
/// they answer).
pub trait BotAnswer: poem::IntoResponse + Sized {
    /// The bot, or the answer itself when it carries none.
    ///
    /// # Errors
    /// The answer, when it is not a bot.
    fn bot(self) -> Result<Bot, Self>;
}

impl BotAnswer for CreateBotResponse {
    fn bot(self) -> Result<Bot, Self> {
        match self {
            Self::Created(Json(bot)) => Ok(*bot),
            other => Err(other),
        }
    }
}

impl BotAnswer for GetBotResponse {
    fn bot(self) -> Result<Bot, Self> {
        match self {
            Self::Ok(Json(bot)) => Ok(*bot),
            other => Err(other),
        }
    }
}

impl BotAnswer for BotResponse {
    fn bot(self) -> Result<Bot, Self> {
        match self {
            Self::Ok(Json(bot)) => Ok(*bot),
            other => Err(other),
        }
    }
}

/// Why a bot or the key it names cannot be used.
enum Refusal {
    /// `not_found`.
    NotFound(Json<ErrorBody>),
    /// `invalid_field` or `exchange_key_required`.
    Invalid(Json<ErrorBody>),
    /// The store failed.
    Unavailable(Json<ErrorBody>),
}

/// Why the caller's bot could not be read.
enum Missing {
    /// No such bot among the caller's.
    NotFound,
    /// The store failed.
    Unavailable(Json<ErrorBody>),
}

fn no_such_bot() -> Json<ErrorBody> {
    err("not_found", "no such bot")
}

impl From<Missing> for GetBotResponse {
    fn from(m: Missing) -> Self {
        match m {
            Missing::NotFound => Self::NotFound(no_such_bot()),
            Missing::Unavailable(e) => Self::Unavailable(e),
        }
    }
}

impl From<Missing> for BotResponse {
    fn from(m: Missing) -> Self {
        match m {
            Missing::NotFound => Self::NotFound(no_such_bot()),
            Missing::Unavailable(e) => Self::Unavailable(e),
        }
    }
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        Self::Unavailable(unavailable(&e))
    }
}

impl From<Refusal> for CreateBotResponse {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::NotFound(e) => Self::NotFound(e),
            Refusal::Invalid(e) => Self::Invalid(e),
            Refusal::Unavailable(e) => Self::Unavailable(e),
        }
    }
}

impl From<Refusal> for BotResponse {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::NotFound(e) => Self::NotFound(e),
            Refusal::Invalid(e) => Self::Invalid(e),
            Refusal::Unavailable(e) => Self::Unavailable(e),
        }
    }
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
    /// `limit` outside 1–200 (`invalid_field`).
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

fn interval(text: &OneOf<IntervalName>) -> Result<Interval, Invalid> {
    text.parse("interval").map(Interval::from)
}

fn strategy_config(
    strategy: &str,
    value: Option<Config<StrategyParameters>>,
) -> Result<String, Invalid> {
    let value = value.map(|v| v.value);
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
) -> Result<Option<CredentialId>, Refusal> {
    let keys = state.store.list_credentials(user).await?;
    let mine = keys.iter().filter(|k| k.exchange == exchange);
    if let Some(id) = requested {
        return match keys.iter().find(|k| k.id.0 == id) {
            Some(k) if k.exchange == exchange => Ok(Some(k.id)),
            Some(_) => Err(Refusal::Invalid(err(
                "invalid_field",
                format!("exchange_key_id: that key is not a {exchange} key"),
            ))),
            None => Err(Refusal::NotFound(err(
                "not_found",
                "exchange_key_id: no such exchange key",
            ))),
        };
    }
    if exchange == ExchangeId::Paper {
        return Ok(None);
    }
    match mine.max_by_key(|k| k.created_at) {
        Some(k) => Ok(Some(k.id)),
        None => Err(Refusal::Invalid(err(
            "exchange_key_required",
            format!(
                "a bot on {exchange} needs your {exchange} API key: add one at POST /api/v1/exchange-keys first"
            ),
        ))),
    }
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
    ) -> CreateBotResponse {
        let user = auth.caller().user.id;
        let body = body.0;
        let record = match new_record(user, body) {
            Ok(record) => record,
            Err(e) => return CreateBotResponse::Invalid(e.body()),
        };
        let (record, requested_key) = record;
        let credential = match credential_for(&state, user, record.exchange, requested_key).await {
            Ok(c) => c,
            Err(refusal) => return refusal.into(),
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
                Ok(bot) => {
                    publish(&state, BotChange::Created, record).await;
                    CreateBotResponse::Created(Json(Box::new(bot)))
                }
                Err(e) => CreateBotResponse::Unavailable(unavailable(&e)),
            },
            Ok(Err(limit)) => CreateBotResponse::Forbidden(err("plan_limit", limit.to_string())),
            Err(e) => CreateBotResponse::Unavailable(unavailable(&e)),
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
        limit: Query<Option<Limit<200, 50>>>,
    ) -> BotListResponse {
        let limit = match Limit::get(limit.0) {
            Ok(limit) => limit,
            Err(e) => return BotListResponse::Invalid(e.body()),
        };
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
    ) -> GetBotResponse {
        match owned(&state, auth.caller().user.id, id.0).await {
            Ok(bot) => match view(&bot) {
                Ok(bot) => GetBotResponse::Ok(Json(Box::new(bot))),
                Err(e) => GetBotResponse::Unavailable(unavailable(&e)),
            },
            Err(missing) => missing.into(),
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
            Err(missing) => return missing.into(),
        };
        let changes = body.0;
        let requested_key = changes.exchange_key_id;
        let changed = match apply(bot.clone(), changes) {
            Ok(changed) => changed,
            Err(e) => return BotResponse::Invalid(e.body()),
        };
        let credential = if requested_key.is_some() {
            match credential_for(&state, user, changed.exchange, requested_key).await {
                Ok(c) => c,
                Err(refusal) => return refusal.into(),
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
                Ok(bot) => {
                    publish(&state, BotChange::Updated, changed).await;
                    BotResponse::Ok(Json(Box::new(bot)))
                }
                Err(e) => BotResponse::Unavailable(unavailable(&e)),
            },
            Ok(Ok(false)) => BotResponse::NotFound(no_such_bot()),
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
        let user = auth.caller().user.id;
        // Read first: the event names the bot's market, which the delete takes away.
        let bot = match owned(&state, user, id.0).await {
            Ok(bot) => bot,
            Err(Missing::NotFound) => return DeleteBotResponse::NotFound(no_such_bot()),
            Err(Missing::Unavailable(e)) => return DeleteBotResponse::Unavailable(e),
        };
        match state.store.delete_bot(user, bot.id).await {
            Ok(true) => {
                state
                    .events
                    .publish(&[Happening::BotDeleted {
                        user,
                        bot: bot.id,
                        exchange: bot.exchange,
                        symbol: bot.symbol,
                        at: Utc::now(),
                    }])
                    .await;
                DeleteBotResponse::Deleted
            }
            Ok(false) => DeleteBotResponse::NotFound(no_such_bot()),
            Err(e) => DeleteBotResponse::Unavailable(unavailable(&e)),
        }
    }
}

/// Tells the owner's streams live what happened to `bot`.
async fn publish(state: &ApiState, change: BotChange, bot: BotRecord) {
    state
        .events
        .publish(&[Happening::Bot {
            change,
            bot,
            at: Utc::now(),
        }])
        .await;
}

/// The caller's bot `id`; another user's bot is "not found" like a missing one.
async fn owned(state: &ApiState, user: UserId, id: Uuid) -> Result<BotRecord, Missing> {
    match state.store.bot(BotId::new(id)).await {
        Ok(Some(bot)) if bot.user == user => Ok(bot),
        Ok(_) => Err(Missing::NotFound),
        Err(e) => Err(Missing::Unavailable(unavailable(&e))),
    }
}

/// The bot `user` creates with `body`, and the exchange key it asks for.
pub(super) fn new_record(user: UserId, body: NewBot) -> Result<(BotRecord, Option<Uuid>), Invalid> {
    let exchange = ExchangeId::from(body.exchange);
    let symbol = symbol(&body.symbol)?;
    let strategy = body.strategy.as_str().trim().to_owned();
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
            Some(v) => sizing(v.value)?,
            None => SizingConfig::default(),
        },
        pyramid: match body.pyramid {
            Some(v) => pyramid(v.value)?,
            None => PyramidConfig::default(),
        },
        gate: match body.gate {
            Some(v) => gate(v.value)?,
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
        id: BotId::new(crate::ids::time_ordered()),
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
        bot.config.sizing = sizing(v.value)?;
    }
    if let Some(v) = changes.pyramid {
        bot.config.pyramid = pyramid(v.value)?;
    }
    if let Some(v) = changes.gate {
        bot.config.gate = gate(v.value)?;
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
        assert_eq!(shown.strategy_config.value["entry_period"], 10);
        assert!(shown.sizing.value.is_object());
        let error = view(&bot("{not json")).unwrap_err();
        assert!(
            matches!(&error, StoreError::Corrupt { message }
                if message.starts_with("bot 00000000-0000-0000-0000-000000000000: strategy_config: ")),
            "{error}"
        );
    }
}
