//! The bot pages: the list (`/app/bots`), the form creating one (`/app/bots/new`) or
//! changing one (`/app/bots/:id/edit`), a bot's own page with its activity and price chart
//! (`/app/bots/:id`), pausing, resuming and deleting. Every change goes through the API's
//! own operations (`BotsApi`), so the form answers what `/api/v1/bots` would, beside the
//! field it names; reads of activity, keys and prices come from the store and the engine's
//! market-data hub.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use chrono::Utc;
use nexus_core::ports::activity::{FillRecord, OrderRecord, OrderState, Page, PositionRecord};
use nexus_core::ports::credentials::CredentialInfo;
use nexus_core::pyramid::PyramidConfig;
use nexus_core::regime::gate::GatePolicy;
use nexus_core::sizing::SizingConfig;
use nexus_core::strategy::TrendBreakoutConfig;
use nexus_core::{BotId, Candle, ExchangeId, Interval, Side, Symbol, UserId};
use poem::http::StatusCode;
use poem::web::cookie::CookieJar;
use poem::web::{Data, Form, Path, Query};
use poem::{Request, Response, handler};
use poem_openapi::payload::Json;
use rust_decimal::Decimal;
use serde::Deserialize;
use uuid::Uuid;

use super::call::{Failure, outcome};
use super::chart::{LineChart, Mark};
use super::format::{self, When, when};
use super::guard;
use super::render::{Chrome, error_page, html, local_path, page, redirect};
use super::viewer::{Viewer, flash};
use crate::api::config_schema::Config;
use crate::api::session::Session;
use crate::api::{
    ApiState, Bot, BotAnswer, BotChanges, BotListResponse, BotsApi, DeleteBotResponse, Exchange,
    NewBot,
};

/// Bots per page of the list.
const LIST_PAGE: u32 = 25;
/// Rows per page of each activity table on a bot's page.
const ACTIVITY_PAGE: u32 = 10;
/// Candles in a bot's price chart.
const CHART_CANDLES: usize = 60;
/// Fills looked at for the chart's markers.
const CHART_FILLS: u32 = 50;
/// How long a page waits for market data before drawing without it.
pub(super) const MARKET_WAIT: Duration = Duration::from_secs(2);

/// The venues as the forms offer them: (value, label).
const EXCHANGES: [(&str, &str); 4] = [
    ("paper", "Paper"),
    ("binance", "Binance"),
    ("kraken", "Kraken"),
    ("coinbase", "Coinbase"),
];

/// The strategies as the form offers them.
const STRATEGY_OPTIONS: [(&str, &str); 2] = [
    ("trend_breakout", "Trend breakout"),
    ("webhook", "Webhook signals"),
];

/// The candle intervals as the form offers them.
const INTERVALS: [(&str, &str); 6] = [
    ("1m", "1 minute"),
    ("5m", "5 minutes"),
    ("15m", "15 minutes"),
    ("1h", "1 hour"),
    ("4h", "4 hours"),
    ("1d", "1 day"),
];

/// How a venue is named on the pages.
#[must_use]
pub(super) fn exchange_label(exchange: ExchangeId) -> &'static str {
    match exchange {
        ExchangeId::Paper => "Paper",
        ExchangeId::Binance => "Binance",
        ExchangeId::Kraken => "Kraken",
        ExchangeId::Coinbase => "Coinbase",
    }
}

/// How an interval is named on the pages.
#[must_use]
pub(super) fn interval_label(interval: &str) -> &'static str {
    INTERVALS
        .iter()
        .find(|(v, _)| *v == interval)
        .map_or("", |(_, l)| l)
}

fn owned_options(options: &[(&str, &str)]) -> Vec<(String, String)> {
    options
        .iter()
        .map(|(v, l)| ((*v).to_owned(), (*l).to_owned()))
        .collect()
}

/// A bot's state and the button that flips it: the part of a page that pausing or
/// resuming (with htmx) replaces.
#[derive(Debug, Clone)]
pub struct StateView {
    /// The bot's id.
    pub id: String,
    /// Its name (for the button's accessible name).
    pub name: String,
    /// Paused.
    pub paused: bool,
    /// Why the engine paused it, for people.
    pub reason: String,
    /// Why the last pause or resume failed.
    pub error: String,
    /// Where the form returns to without scripts.
    pub back: String,
}

impl StateView {
    fn of(bot: &Bot, back: &str) -> Self {
        Self {
            id: bot.id.to_string(),
            name: bot.name.clone(),
            paused: bot.paused,
            reason: paused_reason(bot.paused_reason.as_deref()),
            error: String::new(),
            back: back.to_owned(),
        }
    }
}

/// Why the engine paused a bot, as a sentence.
#[must_use]
pub(super) fn paused_reason(reason: Option<&str>) -> String {
    match reason {
        None => String::new(),
        Some("plan_limit") => {
            "Paused by Nexus: your plan allows fewer running bots. Resume it within your plan's limits."
                .to_owned()
        }
        Some(other) => match other.split_once(": ") {
            Some(("internal_error", why)) => format!("Paused by Nexus after an error: {why}"),
            _ => format!("Paused by Nexus: {other}"),
        },
    }
}

/// The fields of the bot form, as the API names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormField {
    /// "Name".
    Name,
    /// "Exchange".
    Exchange,
    /// "Symbol".
    Symbol,
    /// "Strategy".
    Strategy,
    /// "Interval".
    Interval,
    /// "Exchange key".
    ExchangeKey,
    /// "Strategy parameters (JSON)".
    StrategyConfig,
    /// "Sizing (JSON)".
    Sizing,
    /// "Pyramiding (JSON)".
    Pyramid,
    /// "Gate policy (JSON)".
    Gate,
}

impl FormField {
    /// Every field, in the form's order.
    pub const ALL: [Self; 10] = [
        Self::Name,
        Self::Exchange,
        Self::Symbol,
        Self::Strategy,
        Self::Interval,
        Self::ExchangeKey,
        Self::StrategyConfig,
        Self::Sizing,
        Self::Pyramid,
        Self::Gate,
    ];

    /// The API's name for it, which is also the form's.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Exchange => "exchange",
            Self::Symbol => "symbol",
            Self::Strategy => "strategy",
            Self::Interval => "interval",
            Self::ExchangeKey => "exchange_key_id",
            Self::StrategyConfig => "strategy_config",
            Self::Sizing => "sizing",
            Self::Pyramid => "pyramid",
            Self::Gate => "gate",
        }
    }

    /// Whether it is among the advanced options (folded away unless it has an error).
    #[must_use]
    pub const fn advanced(self) -> bool {
        matches!(
            self,
            Self::StrategyConfig | Self::Sizing | Self::Pyramid | Self::Gate
        )
    }
}

/// Where an API error belongs on the bot form: the field it names and the message shown
/// beside it (`sizing.method.percent: above 0` → Sizing, "method.percent: above 0"), or
/// `None` for errors about the whole bot (`plan_limit`), shown above the form.
#[must_use]
pub fn place(failure: &Failure) -> Option<(FormField, String)> {
    if failure.code == "exchange_key_required" {
        return Some((
            FormField::ExchangeKey,
            capitalised(&format!(
                "{}. Add one under Exchange keys (/app/keys), or choose Paper.",
                failure
                    .message
                    .split_once(": add one")
                    .map_or(failure.message.as_str(), |(need, _)| need)
            )),
        ));
    }
    if failure.code == "plan_limit" {
        return None;
    }
    let (path, problem) = failure.message.split_once(": ")?;
    let head = path.split(['.', '[']).next().unwrap_or(path);
    let field = FormField::ALL.into_iter().find(|f| f.name() == head)?;
    let inner = path[head.len()..].trim_start_matches('.');
    // A nested field keeps its path as written in the JSON (`method.percent: …`).
    let text = if inner.is_empty() {
        capitalised(problem)
    } else {
        format!("{inner}: {problem}")
    };
    Some((field, text))
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect::<String>())
        .unwrap_or_default()
}

/// JSON for a textarea: pretty-printed.
fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

fn pretty_of<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .map(|v| pretty(&v))
        .unwrap_or_default()
}

/// What the bot form posts (every field a string, as browsers send them).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct BotFormData {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    exchange: String,
    #[serde(default)]
    symbol: String,
    #[serde(default)]
    strategy: String,
    #[serde(default)]
    interval: String,
    #[serde(default)]
    exchange_key_id: String,
    paused: Option<String>,
    #[serde(default)]
    strategy_config: String,
    #[serde(default)]
    sizing: String,
    #[serde(default)]
    pyramid: String,
    #[serde(default)]
    gate: String,
}

impl BotFormData {
    /// The form of a new bot: the API's defaults.
    fn defaults() -> Self {
        Self {
            exchange: "paper".into(),
            symbol: "BTC/USDT".into(),
            strategy: "trend_breakout".into(),
            interval: "1h".into(),
            strategy_config: pretty_of(&TrendBreakoutConfig::default()),
            sizing: pretty_of(&SizingConfig::default()),
            pyramid: pretty_of(&PyramidConfig::default()),
            gate: pretty_of(&GatePolicy::default()),
            ..Self::default()
        }
    }

    /// The form of `bot` as it is.
    fn of(bot: &Bot) -> Self {
        Self {
            name: bot.name.clone(),
            exchange: ExchangeId::from(bot.exchange).as_str().to_owned(),
            symbol: bot.symbol.clone(),
            strategy: bot.strategy.to_string(),
            interval: bot.interval.to_string(),
            exchange_key_id: bot
                .exchange_key_id
                .map(|k| k.to_string())
                .unwrap_or_default(),
            paused: bot.paused.then(|| "on".to_owned()),
            strategy_config: pretty(&bot.strategy_config.value),
            sizing: pretty(&bot.sizing.value),
            pyramid: pretty(&bot.pyramid.value),
            gate: pretty(&bot.gate.value),
            ..Self::default()
        }
    }

    fn value(&self, field: FormField) -> &str {
        match field {
            FormField::Name => &self.name,
            FormField::Exchange => &self.exchange,
            FormField::Symbol => &self.symbol,
            FormField::Strategy => &self.strategy,
            FormField::Interval => &self.interval,
            FormField::ExchangeKey => &self.exchange_key_id,
            FormField::StrategyConfig => &self.strategy_config,
            FormField::Sizing => &self.sizing,
            FormField::Pyramid => &self.pyramid,
            FormField::Gate => &self.gate,
        }
    }

    /// A JSON textarea: `None` when empty (the API's default or no change).
    fn json(&self, field: FormField) -> Result<Option<serde_json::Value>, String> {
        let text = self.value(field).trim();
        if text.is_empty() {
            return Ok(None);
        }
        serde_json::from_str(text)
            .map(Some)
            .map_err(|e| format!("Not valid JSON: {e}"))
    }

    fn exchange(&self) -> Option<Exchange> {
        Some(match self.exchange.as_str() {
            "paper" => Exchange::Paper,
            "binance" => Exchange::Binance,
            "kraken" => Exchange::Kraken,
            "coinbase" => Exchange::Coinbase,
            _ => return None,
        })
    }

    fn key(&self) -> Result<Option<Uuid>, String> {
        match self.exchange_key_id.trim() {
            "" => Ok(None),
            text => text
                .parse()
                .map(Some)
                .map_err(|_| "Choose one of your keys.".to_owned()),
        }
    }

    /// The four JSON sections, each read or its error kept.
    fn sections(&self, errors: &mut Vec<(FormField, String)>) -> [Option<serde_json::Value>; 4] {
        [
            FormField::StrategyConfig,
            FormField::Sizing,
            FormField::Pyramid,
            FormField::Gate,
        ]
        .map(|field| {
            self.json(field).unwrap_or_else(|e| {
                errors.push((field, e));
                None
            })
        })
    }

    /// The API's body for a new bot, or the fields that cannot be sent as they are.
    fn new_bot(&self) -> Result<NewBot, Vec<(FormField, String)>> {
        let mut errors = Vec::new();
        let exchange = self.exchange();
        if exchange.is_none() {
            errors.push((FormField::Exchange, "Choose an exchange.".to_owned()));
        }
        let key = self.key().unwrap_or_else(|e| {
            errors.push((FormField::ExchangeKey, e));
            None
        });
        let [strategy_config, sizing, pyramid, gate] = self.sections(&mut errors);
        match exchange {
            Some(exchange) if errors.is_empty() => Ok(NewBot {
                name: Some(self.name.trim().to_owned())
                    .filter(|n| !n.is_empty())
                    .map(Into::into),
                exchange,
                symbol: self.symbol.clone().into(),
                strategy: self.strategy.clone().into(),
                interval: Some(self.interval.clone().into()),
                strategy_config: strategy_config.map(Config::new),
                sizing: sizing.map(Config::new),
                pyramid: pyramid.map(Config::new),
                gate: gate.map(Config::new),
                exchange_key_id: key,
                paused: Some(self.paused.is_some()),
            }),
            _ => Err(errors),
        }
    }

    /// The API's changes for an existing bot (every field sent), or the fields that
    /// cannot be sent as they are. An empty key means the newest of `newest`.
    fn changes(&self, newest: Option<Uuid>) -> Result<BotChanges, Vec<(FormField, String)>> {
        let mut errors = Vec::new();
        let key = self.key().unwrap_or_else(|e| {
            errors.push((FormField::ExchangeKey, e));
            None
        });
        let [strategy_config, sizing, pyramid, gate] = self.sections(&mut errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(BotChanges {
            name: Some(self.name.clone().into()),
            symbol: Some(self.symbol.clone().into()),
            interval: Some(self.interval.clone().into()),
            strategy_config: strategy_config.map(Config::new),
            sizing: sizing.map(Config::new),
            pyramid: pyramid.map(Config::new),
            gate: gate.map(Config::new),
            exchange_key_id: key.or(newest),
            paused: None,
        })
    }
}

/// One field of the form as shown: its value and error.
#[derive(Debug, Clone, Default)]
pub struct FieldState {
    /// The value shown.
    pub value: String,
    /// The error beside it.
    pub error: String,
}

/// The bot form's fields as shown.
#[derive(Debug, Clone, Default)]
pub struct FormFields {
    /// "Name".
    pub name: FieldState,
    /// "Exchange".
    pub exchange: FieldState,
    /// "Symbol".
    pub symbol: FieldState,
    /// "Strategy".
    pub strategy: FieldState,
    /// "Interval".
    pub interval: FieldState,
    /// "Exchange key".
    pub key: FieldState,
    /// "Strategy parameters (JSON)".
    pub strategy_config: FieldState,
    /// "Sizing (JSON)".
    pub sizing: FieldState,
    /// "Pyramiding (JSON)".
    pub pyramid: FieldState,
    /// "Gate policy (JSON)".
    pub gate: FieldState,
}

/// The bot form page.
#[derive(Template)]
#[template(path = "app/bot_form.html")]
struct BotFormPage {
    chrome: Chrome,
    heading: String,
    action: String,
    submit: &'static str,
    cancel: String,
    editing: bool,
    /// The bot's venue and strategy, which cannot change (editing).
    fixed_exchange: String,
    fixed_strategy: String,
    /// The fields (apart: askama binds a macro's parameters, such as `name`, before
    /// reading its arguments).
    f: FormFields,
    paused: bool,
    advanced_open: bool,
    exchanges: Vec<(String, String)>,
    strategies: Vec<(String, String)>,
    intervals: Vec<(String, String)>,
    keys: Vec<(String, String)>,
    error: Option<String>,
}

impl BotFormPage {
    fn new(
        viewer: &Viewer,
        heading: String,
        action: String,
        data: &BotFormData,
        keys: &[CredentialInfo],
        only: Option<ExchangeId>,
    ) -> Self {
        let state = |field: FormField| FieldState {
            value: data.value(field).to_owned(),
            error: String::new(),
        };
        let mut key_options = vec![(String::new(), "Newest key for the exchange".to_owned())];
        key_options.extend(
            keys.iter()
                .filter(|k| only.is_none_or(|e| k.exchange == e))
                .map(|k| {
                    (
                        k.id.0.to_string(),
                        format!(
                            "{} · {} ({})",
                            exchange_label(k.exchange),
                            k.label,
                            k.masked_key
                        ),
                    )
                }),
        );
        Self {
            chrome: Chrome::new(viewer, heading.clone()),
            heading,
            action,
            submit: "Create bot",
            cancel: "/app/bots".to_owned(),
            editing: false,
            fixed_exchange: String::new(),
            fixed_strategy: String::new(),
            f: FormFields {
                name: state(FormField::Name),
                exchange: state(FormField::Exchange),
                symbol: state(FormField::Symbol),
                strategy: state(FormField::Strategy),
                interval: state(FormField::Interval),
                key: state(FormField::ExchangeKey),
                strategy_config: state(FormField::StrategyConfig),
                sizing: state(FormField::Sizing),
                pyramid: state(FormField::Pyramid),
                gate: state(FormField::Gate),
            },
            paused: data.paused.is_some(),
            advanced_open: false,
            exchanges: owned_options(&EXCHANGES),
            strategies: owned_options(&STRATEGY_OPTIONS),
            intervals: owned_options(&INTERVALS),
            keys: key_options,
            error: None,
        }
    }

    fn field_mut(&mut self, field: FormField) -> &mut FieldState {
        let f = &mut self.f;
        match field {
            FormField::Name => &mut f.name,
            FormField::Exchange => &mut f.exchange,
            FormField::Symbol => &mut f.symbol,
            FormField::Strategy => &mut f.strategy,
            FormField::Interval => &mut f.interval,
            FormField::ExchangeKey => &mut f.key,
            FormField::StrategyConfig => &mut f.strategy_config,
            FormField::Sizing => &mut f.sizing,
            FormField::Pyramid => &mut f.pyramid,
            FormField::Gate => &mut f.gate,
        }
    }

    /// The form again with `errors` beside their fields (422).
    fn invalid(mut self, errors: Vec<(FormField, String)>) -> Response {
        for (field, error) in errors {
            self.advanced_open |= field.advanced();
            self.field_mut(field).error = error;
        }
        html(StatusCode::UNPROCESSABLE_ENTITY, &self)
    }

    /// The form again with the API's error beside its field or above the form.
    fn failed(mut self, failure: &Failure) -> Response {
        match place(failure) {
            Some((field, text))
                if !self.editing || !matches!(field, FormField::Exchange | FormField::Strategy) =>
            {
                return self.invalid(vec![(field, text)]);
            }
            _ => self.error = Some(capitalised(&failure.message)),
        }
        let status = if failure.status.is_server_error() {
            failure.status
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        html(status, &self)
    }
}

/// The signed-in caller and their API session, or the answer for a visitor.
fn caller(viewer: &Viewer, req: &Request) -> Result<(UserId, Session), Box<Response>> {
    let user = guard::signed_in(viewer, req)?;
    let session = viewer
        .session()
        .ok_or_else(|| Box::new(error_page(viewer, StatusCode::UNAUTHORIZED, None)))?;
    Ok((user.user.id, session))
}

/// The bot an operation answered with, or its failure.
async fn answered(answer: impl BotAnswer) -> Result<Bot, Failure> {
    match answer.bot() {
        Ok(bot) => Ok(bot),
        Err(other) => match outcome(other).await {
            Err(failure) => Err(failure),
            Ok(_) => Err(Failure {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                code: "internal".into(),
                message: "unexpected answer".into(),
            }),
        },
    }
}

/// The page for a failure reading a bot: 404 for another user's or an unknown one.
fn failure_page(viewer: &Viewer, failure: &Failure) -> Response {
    let status = if failure.status == StatusCode::NOT_FOUND {
        StatusCode::NOT_FOUND
    } else if failure.status.is_server_error() {
        failure.status
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    error_page(viewer, status, None)
}

/// The caller's bot `id` (the API's own check: another user's bot is not found).
async fn find_bot(state: &Arc<ApiState>, viewer: &Viewer, id: &str) -> Result<Bot, Box<Response>> {
    let (Ok(id), Some(session)) = (id.parse::<Uuid>(), viewer.session()) else {
        return Err(Box::new(error_page(viewer, StatusCode::NOT_FOUND, None)));
    };
    let answer = BotsApi
        .get(Data(state), session, poem_openapi::param::Path(id))
        .await;
    answered(answer)
        .await
        .map_err(|f| Box::new(failure_page(viewer, &f)))
}

/// The caller's exchange keys (none when they cannot be read: the form still works
/// with "Newest key for the exchange").
async fn keys_of(state: &ApiState, user: UserId) -> Vec<CredentialInfo> {
    state
        .store
        .list_credentials(user)
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "exchange keys unreadable for the bot form");
            Vec::new()
        })
}

// ----- The list -----

/// One row of the list.
#[derive(Debug, Clone)]
pub struct BotRow {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its venue.
    pub exchange: &'static str,
    /// Its pair.
    pub symbol: String,
    /// Its strategy.
    pub strategy: String,
    /// Its interval, for people.
    pub interval: &'static str,
    /// Its state control.
    pub state: StateView,
}

#[derive(Template)]
#[template(path = "app/bots.html")]
struct ListPage {
    chrome: Chrome,
    bots: Vec<BotRow>,
    first: String,
    next: String,
}

/// `?after=` of the list.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    after: Option<String>,
}

/// `GET /app/bots`.
#[handler]
pub async fn list(
    req: &Request,
    viewer: Viewer,
    state: Data<&Arc<ApiState>>,
    Query(q): Query<ListQuery>,
) -> Response {
    let (_, session) = match caller(&viewer, req) {
        Ok(c) => c,
        Err(answer) => return *answer,
    };
    let after = q.after.as_deref().and_then(|a| a.parse::<Uuid>().ok());
    let answer = BotsApi
        .list(
            Data(&state),
            session,
            poem_openapi::param::Query(after),
            poem_openapi::param::Query(Some(crate::api::schema::Limit(LIST_PAGE))),
        )
        .await;
    let page_ = match answer {
        BotListResponse::Ok(Json(page_)) => page_,
        other => {
            let failure = outcome(other).await.err();
            return error_page(
                &viewer,
                failure.map_or(StatusCode::INTERNAL_SERVER_ERROR, |f| f.status),
                None,
            );
        }
    };
    let back = req
        .uri()
        .path_and_query()
        .map_or("/app/bots", |p| p.as_str())
        .to_owned();
    let bots = page_
        .items
        .iter()
        .map(|b| BotRow {
            id: b.id.to_string(),
            name: b.name.clone(),
            exchange: exchange_label(b.exchange.into()),
            symbol: b.symbol.clone(),
            strategy: b.strategy.to_string(),
            interval: interval_label(&b.interval),
            state: StateView::of(b, &back),
        })
        .collect();
    page(&ListPage {
        chrome: Chrome::new(&viewer, "Bots"),
        bots,
        first: if after.is_some() {
            "/app/bots".to_owned()
        } else {
            String::new()
        },
        next: page_
            .next_after
            .map(|a| format!("/app/bots?after={a}"))
            .unwrap_or_default(),
    })
}

// ----- New and edit -----

/// `GET /app/bots/new`.
#[handler]
pub async fn new_form(req: &Request, viewer: Viewer, state: Data<&Arc<ApiState>>) -> Response {
    let (user, _) = match caller(&viewer, req) {
        Ok(c) => c,
        Err(answer) => return *answer,
    };
    let keys = keys_of(&state, user).await;
    page(&BotFormPage::new(
        &viewer,
        "New bot".into(),
        "/app/bots/new".into(),
        &BotFormData::defaults(),
        &keys,
        None,
    ))
}

/// `POST /app/bots/new`.
#[handler]
pub async fn create(
    req: &Request,
    viewer: Viewer,
    state: Data<&Arc<ApiState>>,
    jar: &CookieJar,
    Form(form): Form<BotFormData>,
) -> Response {
    let (user, session) = match caller(&viewer, req) {
        Ok(c) => c,
        Err(answer) => return *answer,
    };
    if let Err(answer) = guard::csrf(&viewer, req, form.csrf.as_deref()) {
        return *answer;
    }
    let keys = keys_of(&state, user).await;
    let form_page = BotFormPage::new(
        &viewer,
        "New bot".into(),
        "/app/bots/new".into(),
        &form,
        &keys,
        None,
    );
    let body = match form.new_bot() {
        Ok(body) => body,
        Err(errors) => return form_page.invalid(errors),
    };
    match answered(BotsApi.create(Data(&state), session, Json(body)).await).await {
        Ok(bot) => {
            flash(jar, "success", "Bot created.");
            redirect(req, &format!("/app/bots/{}", bot.id))
        }
        Err(failure) => form_page.failed(&failure),
    }
}

fn edit_page(
    viewer: &Viewer,
    bot: &Bot,
    data: &BotFormData,
    keys: &[CredentialInfo],
) -> BotFormPage {
    let exchange = ExchangeId::from(bot.exchange);
    let mut form = BotFormPage::new(
        viewer,
        format!("Edit {}", bot.name),
        format!("/app/bots/{}/edit", bot.id),
        data,
        keys,
        Some(exchange),
    );
    form.editing = true;
    form.submit = "Save changes";
    form.cancel = format!("/app/bots/{}", bot.id);
    form.fixed_exchange = exchange_label(exchange).to_owned();
    form.fixed_strategy = STRATEGY_OPTIONS
        .iter()
        .find(|(v, _)| *v == bot.strategy.as_str())
        .map_or_else(|| bot.strategy.to_string(), |(_, l)| (*l).to_owned());
    form
}

/// `GET /app/bots/:id/edit`.
#[handler]
pub async fn edit_form(
    req: &Request,
    viewer: Viewer,
    state: Data<&Arc<ApiState>>,
    Path(id): Path<String>,
) -> Response {
    let (user, _) = match caller(&viewer, req) {
        Ok(c) => c,
        Err(answer) => return *answer,
    };
    let bot = match find_bot(&state, &viewer, &id).await {
        Ok(bot) => bot,
        Err(answer) => return *answer,
    };
    let keys = keys_of(&state, user).await;
    page(&edit_page(&viewer, &bot, &BotFormData::of(&bot), &keys))
}

/// `POST /app/bots/:id/edit`.
#[handler]
pub async fn update(
    req: &Request,
    viewer: Viewer,
    state: Data<&Arc<ApiState>>,
    jar: &CookieJar,
    Path(id): Path<String>,
    Form(form): Form<BotFormData>,
) -> Response {
    let (user, session) = match caller(&viewer, req) {
        Ok(c) => c,
        Err(answer) => return *answer,
    };
    if let Err(answer) = guard::csrf(&viewer, req, form.csrf.as_deref()) {
        return *answer;
    }
    let bot = match find_bot(&state, &viewer, &id).await {
        Ok(bot) => bot,
        Err(answer) => return *answer,
    };
    let keys = keys_of(&state, user).await;
    let exchange = ExchangeId::from(bot.exchange);
    // "Newest key for the exchange" is what the API picks for a new bot; a bot being
    // edited keeps its key unless told otherwise, so the newest is named here.
    let newest = keys
        .iter()
        .filter(|k| k.exchange == exchange && exchange != ExchangeId::Paper)
        .max_by_key(|k| k.created_at)
        .map(|k| k.id.0);
    let form_page = edit_page(&viewer, &bot, &form, &keys);
    let changes = match form.changes(newest) {
        Ok(changes) => changes,
        Err(errors) => return form_page.invalid(errors),
    };
    let answer = BotsApi
        .update(
            Data(&state),
            session,
            poem_openapi::param::Path(bot.id),
            Json(changes),
        )
        .await;
    match answered(answer).await {
        Ok(bot) => {
            flash(jar, "success", "Bot saved.");
            redirect(req, &format!("/app/bots/{}", bot.id))
        }
        Err(failure) => form_page.failed(&failure),
    }
}

// ----- Pause and resume -----

/// The state control alone, for htmx to swap in.
#[derive(Template)]
#[template(path = "app/bot_state.html")]
struct StateFragment {
    state: StateView,
    csrf: String,
}

/// `POST /app/bots/:id/pause|resume`'s form.
#[derive(Debug, Default, Deserialize)]
pub struct StateForm {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
    back: Option<String>,
}

async fn set_paused(
    req: &Request,
    viewer: &Viewer,
    state: &Arc<ApiState>,
    jar: &CookieJar,
    id: &str,
    form: StateForm,
    paused: bool,
) -> Response {
    let (_, session) = match caller(viewer, req) {
        Ok(c) => c,
        Err(answer) => return *answer,
    };
    if let Err(answer) = guard::csrf(viewer, req, form.csrf.as_deref()) {
        return *answer;
    }
    let bot = match find_bot(state, viewer, id).await {
        Ok(bot) => bot,
        Err(answer) => return *answer,
    };
    let back = local_path(form.back.as_deref(), &format!("/app/bots/{}", bot.id));
    let changes = BotChanges {
        name: None,
        symbol: None,
        interval: None,
        strategy_config: None,
        sizing: None,
        pyramid: None,
        gate: None,
        exchange_key_id: None,
        paused: Some(paused),
    };
    let answer = BotsApi
        .update(
            Data(state),
            session,
            poem_openapi::param::Path(bot.id),
            Json(changes),
        )
        .await;
    let result = answered(answer).await;
    let htmx = req.header("hx-request").is_some();
    match (result, htmx) {
        (Ok(changed), true) => page(&StateFragment {
            state: StateView::of(&changed, &back),
            csrf: viewer.csrf.clone(),
        }),
        (Ok(_), false) => {
            flash(
                jar,
                "success",
                if paused {
                    "Bot paused."
                } else {
                    "Bot resumed."
                },
            );
            redirect(req, &back)
        }
        (Err(failure), true) => {
            let mut view = StateView::of(&bot, &back);
            view.error = capitalised(&failure.message);
            page(&StateFragment {
                state: view,
                csrf: viewer.csrf.clone(),
            })
        }
        (Err(failure), false) => {
            flash(jar, "danger", &capitalised(&failure.message));
            redirect(req, &back)
        }
    }
}

/// `POST /app/bots/:id/pause`.
#[handler]
pub async fn pause(
    req: &Request,
    viewer: Viewer,
    state: Data<&Arc<ApiState>>,
    jar: &CookieJar,
    Path(id): Path<String>,
    Form(form): Form<StateForm>,
) -> Response {
    set_paused(req, &viewer, &state, jar, &id, form, true).await
}

/// `POST /app/bots/:id/resume`.
#[handler]
pub async fn resume(
    req: &Request,
    viewer: Viewer,
    state: Data<&Arc<ApiState>>,
    jar: &CookieJar,
    Path(id): Path<String>,
    Form(form): Form<StateForm>,
) -> Response {
    set_paused(req, &viewer, &state, jar, &id, form, false).await
}

// ----- Delete -----

#[derive(Template)]
#[template(path = "app/bot_delete.html")]
struct DeletePage {
    chrome: Chrome,
    id: String,
    name: String,
}

/// `GET /app/bots/:id/delete`: the confirmation, for browsers without scripts.
#[handler]
pub async fn delete_form(
    req: &Request,
    viewer: Viewer,
    state: Data<&Arc<ApiState>>,
    Path(id): Path<String>,
) -> Response {
    let (_, _) = match caller(&viewer, req) {
        Ok(c) => c,
        Err(answer) => return *answer,
    };
    match find_bot(&state, &viewer, &id).await {
        Ok(bot) => page(&DeletePage {
            chrome: Chrome::new(&viewer, format!("Delete {}", bot.name)),
            id: bot.id.to_string(),
            name: bot.name,
        }),
        Err(answer) => *answer,
    }
}

/// `POST /app/bots/:id/delete`.
#[handler]
pub async fn delete(
    req: &Request,
    viewer: Viewer,
    state: Data<&Arc<ApiState>>,
    jar: &CookieJar,
    Path(id): Path<String>,
    Form(form): Form<StateForm>,
) -> Response {
    let (_, session) = match caller(&viewer, req) {
        Ok(c) => c,
        Err(answer) => return *answer,
    };
    if let Err(answer) = guard::csrf(&viewer, req, form.csrf.as_deref()) {
        return *answer;
    }
    let Ok(id) = id.parse::<Uuid>() else {
        return error_page(&viewer, StatusCode::NOT_FOUND, None);
    };
    let answer = BotsApi
        .delete(Data(&state), session, poem_openapi::param::Path(id))
        .await;
    if matches!(answer, DeleteBotResponse::Deleted) {
        flash(jar, "success", "Bot deleted.");
        return redirect(req, "/app/bots");
    }
    match outcome(answer).await {
        Err(failure) => failure_page(&viewer, &failure),
        Ok(_) => redirect(req, "/app/bots"),
    }
}

// ----- A bot's page -----

/// An order as a row.
#[derive(Debug, Clone)]
pub struct OrderRow {
    /// When it was planned.
    pub at: When,
    /// The bot's id (the dashboard's orders span bots).
    pub bot_id: String,
    /// The bot's name.
    pub bot: String,
    /// "Buy" or "Sell".
    pub side: &'static str,
    /// The side's badge kind.
    pub side_kind: &'static str,
    /// `0.015 BTC`.
    pub quantity: String,
    /// `0.015 BTC` filled.
    pub filled: String,
    /// The average fill price, else the limit price, else "Market".
    pub price: String,
    /// "Filled", "Rejected", ….
    pub state: String,
    /// The state's badge kind.
    pub state_kind: &'static str,
    /// The pyramid level (0: the entry).
    pub level: String,
    /// Why it failed.
    pub error: String,
}

/// A quantity of the pair's base asset.
#[must_use]
pub(super) fn base_amount(amount: Decimal, symbol: Symbol) -> String {
    format!(
        "{} {}",
        format::decimal(amount, 0, 8),
        symbol.base().as_str()
    )
}

/// `partially_filled` → "Partially filled".
#[must_use]
pub(super) fn state_label(state: OrderState) -> (String, &'static str) {
    let kind = match state {
        OrderState::Filled => "success",
        OrderState::Pending
        | OrderState::Unknown
        | OrderState::New
        | OrderState::PartiallyFilled => "info",
        OrderState::Canceled | OrderState::Expired => "neutral",
        OrderState::Rejected | OrderState::Failed => "danger",
    };
    (capitalised(&state.as_str().replace('_', " ")), kind)
}

/// Side as a badge: text and kind.
#[must_use]
pub(super) fn side_label(side: Side) -> (&'static str, &'static str) {
    match side {
        Side::Buy => ("Buy", "success"),
        Side::Sell => ("Sell", "danger"),
    }
}

/// An order as the tables show it.
#[must_use]
pub(super) fn order_row(o: &OrderRecord, bot: &str, now: chrono::DateTime<Utc>) -> OrderRow {
    let (side, side_kind) = side_label(o.side);
    let (state, state_kind) = state_label(o.state);
    let quote = o.symbol.quote();
    OrderRow {
        at: when(o.created_at, now),
        bot_id: o.bot.as_uuid().to_string(),
        bot: bot.to_owned(),
        side,
        side_kind,
        quantity: base_amount(o.quantity.value(), o.symbol),
        filled: base_amount(o.filled_quantity.value(), o.symbol),
        price: o.average_price.or(o.limit_price).map_or_else(
            || "Market".to_owned(),
            |p| format::money(p.value(), quote.as_str()),
        ),
        state,
        state_kind,
        level: format::count(u64::from(o.level)),
        error: o.error.clone().unwrap_or_default(),
    }
}

/// A skip as a row.
#[derive(Debug, Clone)]
pub struct SkipRow {
    /// When.
    pub at: When,
    /// The bot's id.
    pub bot_id: String,
    /// The bot's name.
    pub bot: String,
    /// The stable reason code.
    pub reason: String,
    /// The sentence.
    pub detail: String,
}

/// A position as a row.
#[derive(Debug, Clone)]
pub struct PositionRow {
    /// When it opened.
    pub opened: When,
    /// When it closed; `None` while open.
    pub closed: Option<When>,
    /// What is held.
    pub quantity: String,
    /// What it cost.
    pub cost: String,
    /// Adds so far.
    pub adds: String,
    /// Dust left.
    pub dust: String,
}

fn position_row(p: &PositionRecord, now: chrono::DateTime<Utc>) -> PositionRow {
    PositionRow {
        opened: when(p.opened_at, now),
        closed: p.closed_at.map(|c| when(c, now)),
        quantity: base_amount(p.quantity.value(), p.symbol),
        cost: format::money(p.cost.value(), p.symbol.quote().as_str()),
        adds: format::count(u64::from(p.adds)),
        dust: base_amount(p.dust.value(), p.symbol),
    }
}

/// A fill as a row.
#[derive(Debug, Clone)]
pub struct FillRow {
    /// When.
    pub at: When,
    /// "Buy", "Sell" or "" when its order is unknown.
    pub side: &'static str,
    /// The side's badge kind.
    pub side_kind: &'static str,
    /// How much.
    pub quantity: String,
    /// At what price.
    pub price: String,
    /// The fee with its asset.
    pub fee: String,
    /// The venue's trade id.
    pub trade: String,
}

/// The "Older" and "Newest" links of one activity table.
#[derive(Debug, Clone, Default)]
pub struct Pager {
    /// The first page (when this is not it).
    pub newest: String,
    /// The next older page.
    pub older: String,
}

/// The cursors of a bot page's tables.
#[derive(Debug, Default, Deserialize)]
pub struct ActivityQuery {
    positions_before: Option<Uuid>,
    orders_before: Option<Uuid>,
    fills_before: Option<i64>,
    skips_before: Option<i64>,
}

#[derive(Template)]
#[template(path = "app/bot.html")]
struct BotPage {
    chrome: Chrome,
    bot_id: String,
    name: String,
    exchange: &'static str,
    symbol: String,
    strategy: String,
    interval: &'static str,
    key: String,
    state: StateView,
    chart: String,
    positions: Vec<PositionRow>,
    positions_pager: Pager,
    orders: Vec<OrderRow>,
    orders_pager: Pager,
    fills: Vec<FillRow>,
    fills_pager: Pager,
    skips: Vec<SkipRow>,
    skips_pager: Pager,
}

/// A page of at most `ACTIVITY_PAGE` of `items` (read one more to know whether an older
/// page exists) and its links.
fn paged<T, C: std::fmt::Display>(
    mut items: Vec<T>,
    cursor: impl Fn(&T) -> C,
    here: &str,
    param: &str,
    anchor: &str,
    current: bool,
) -> (Vec<T>, Pager) {
    let more = items.len() > ACTIVITY_PAGE as usize;
    items.truncate(ACTIVITY_PAGE as usize);
    let older = if more {
        items
            .last()
            .map(|last| format!("{here}?{param}={}#{anchor}", cursor(last)))
            .unwrap_or_default()
    } else {
        String::new()
    };
    let newest = if current {
        format!("{here}#{anchor}")
    } else {
        String::new()
    };
    (items, Pager { newest, older })
}

/// `GET /app/bots/:id`.
#[handler]
pub async fn show(
    req: &Request,
    viewer: Viewer,
    state: Data<&Arc<ApiState>>,
    Path(id): Path<String>,
    Query(q): Query<ActivityQuery>,
) -> Response {
    let (user, _) = match caller(&viewer, req) {
        Ok(c) => c,
        Err(answer) => return *answer,
    };
    let bot = match find_bot(&state, &viewer, &id).await {
        Ok(bot) => bot,
        Err(answer) => return *answer,
    };
    match bot_page(&state, &viewer, user, &bot, &q).await {
        Ok(view) => page(&view),
        Err(e) => {
            tracing::error!(error = %e, "a bot's page could not be read");
            error_page(&viewer, StatusCode::SERVICE_UNAVAILABLE, None)
        }
    }
}

async fn bot_page(
    state: &ApiState,
    viewer: &Viewer,
    user: UserId,
    bot: &Bot,
    q: &ActivityQuery,
) -> Result<BotPage, nexus_core::StoreError> {
    let now = Utc::now();
    let id = BotId::new(bot.id);
    let here = format!("/app/bots/{}", bot.id);
    let exchange = ExchangeId::from(bot.exchange);
    let symbol: Option<Symbol> = bot.symbol.parse().ok();
    let more = ACTIVITY_PAGE + 1;
    let store = &state.store;
    let positions = store
        .bot_positions(
            id,
            Page {
                before: q.positions_before,
                limit: more,
            },
        )
        .await?;
    let (positions, positions_pager) = paged(
        positions,
        |p| p.id,
        &here,
        "positions_before",
        "positions",
        q.positions_before.is_some(),
    );
    let orders = store
        .bot_orders(
            id,
            Page {
                before: q.orders_before,
                limit: more,
            },
        )
        .await?;
    let (orders, orders_pager) = paged(
        orders,
        |o| o.id,
        &here,
        "orders_before",
        "orders",
        q.orders_before.is_some(),
    );
    // The chart marks the latest fills, whichever page of fills is shown: on the first
    // page one read serves both.
    let recent_fills = store
        .bot_fills(
            id,
            Page {
                before: None,
                limit: CHART_FILLS.max(more),
            },
        )
        .await?;
    let fills = match q.fills_before {
        None => recent_fills.iter().take(more as usize).cloned().collect(),
        Some(before) => {
            store
                .bot_fills(
                    id,
                    Page {
                        before: Some(before),
                        limit: more,
                    },
                )
                .await?
        }
    };
    let (fills, fills_pager) = paged(
        fills,
        |(n, _)| *n,
        &here,
        "fills_before",
        "fills",
        q.fills_before.is_some(),
    );
    let skips = store
        .bot_skips(
            id,
            Page {
                before: q.skips_before,
                limit: more,
            },
        )
        .await?;
    let (skips, skips_pager) = paged(
        skips,
        |(n, _)| *n,
        &here,
        "skips_before",
        "skips",
        q.skips_before.is_some(),
    );
    let sides = sides_of(
        state,
        fills.iter().chain(recent_fills.iter()).map(|(_, f)| f),
    )
    .await?;
    let key = match bot.exchange_key_id {
        Some(key) => keys_of(state, user)
            .await
            .into_iter()
            .find(|k| k.id.0 == key)
            .map_or_else(
                || "A deleted key".to_owned(),
                |k| format!("{} ({})", k.label, k.masked_key),
            ),
        None if exchange == ExchangeId::Paper => "None needed (Paper)".to_owned(),
        None => "None".to_owned(),
    };
    let chart = match symbol {
        Some(symbol) => {
            let interval = Interval::ALL
                .into_iter()
                .find(|i| i.as_str() == bot.interval.as_str())
                .unwrap_or(Interval::H1);
            let candles = candles(state, exchange, symbol, interval).await;
            price_chart(exchange, symbol, interval, &candles, &recent_fills, &sides).svg()
        }
        None => LineChart::default().svg(),
    };
    let fill_rows = fills
        .iter()
        .map(|(_, f)| {
            let (side, side_kind) = sides
                .get(&f.order)
                .map_or(("", "neutral"), |s| side_label(*s));
            let quote = symbol.map_or(String::new(), |s| s.quote().as_str().to_owned());
            FillRow {
                at: when(f.filled_at, now),
                side,
                side_kind,
                quantity: symbol.map_or_else(
                    || format::decimal(f.quantity.value(), 0, 8),
                    |s| base_amount(f.quantity.value(), s),
                ),
                price: format::money(f.price.value(), &quote),
                fee: format::money(
                    f.fee.value(),
                    f.fee_asset.as_ref().map_or("", |a| a.as_str()),
                ),
                trade: f.venue_trade_id.clone(),
            }
        })
        .collect();
    Ok(BotPage {
        chrome: Chrome::new(viewer, bot.name.clone()),
        bot_id: bot.id.to_string(),
        name: bot.name.clone(),
        exchange: exchange_label(exchange),
        symbol: bot.symbol.clone(),
        strategy: bot.strategy.to_string(),
        interval: interval_label(&bot.interval),
        key,
        state: StateView::of(bot, &here),
        chart,
        positions: positions.iter().map(|p| position_row(p, now)).collect(),
        positions_pager,
        orders: orders
            .iter()
            .map(|o| order_row(o, &bot.name, now))
            .collect(),
        orders_pager,
        fills: fill_rows,
        fills_pager,
        skips: skips
            .into_iter()
            .map(|(_, s)| SkipRow {
                at: when(s.at, now),
                bot_id: bot.id.to_string(),
                bot: bot.name.clone(),
                reason: s.reason,
                detail: s.detail,
            })
            .collect(),
        skips_pager,
    })
}

/// The side of each fill's order.
async fn sides_of(
    state: &ApiState,
    fills: impl Iterator<Item = &FillRecord>,
) -> Result<HashMap<Uuid, Side>, nexus_core::StoreError> {
    let mut ids: Vec<Uuid> = fills.map(|f| f.order).collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(state
        .store
        .orders(&ids)
        .await?
        .into_iter()
        .map(|o| (o.id, o.side))
        .collect())
}

/// The market's latest candles through the engine's hub (none without one, or when the
/// venue does not answer in time).
async fn candles(
    state: &ApiState,
    exchange: ExchangeId,
    symbol: Symbol,
    interval: Interval,
) -> Vec<Candle> {
    let Some(hub) = &state.hub else {
        return Vec::new();
    };
    match tokio::time::timeout(
        MARKET_WAIT,
        hub.candles(exchange, symbol, interval, CHART_CANDLES),
    )
    .await
    {
        Ok(Ok(candles)) => candles,
        Ok(Err(e)) => {
            tracing::warn!(%exchange, %symbol, error = %e, "no candles for a bot's chart");
            Vec::new()
        }
        Err(_) => {
            tracing::warn!(%exchange, %symbol, "candles for a bot's chart took too long");
            Vec::new()
        }
    }
}

/// The index of the candle `at` fell in: each candle spans from the previous one's close
/// to its own (its open for a venue's regular candles; the simulated Paper market
/// publishes a day's candle every few seconds, each closing at its publication), the
/// first and last as long as their neighbours. `None` outside them all.
fn candle_of(candles: &[Candle], interval: Interval, at: nexus_core::Timestamp) -> Option<usize> {
    let length = chrono::Duration::from_std(interval.duration()).unwrap_or_default();
    let closes: Vec<_> = candles.iter().map(|c| c.open_time() + length).collect();
    let spacing = |i: usize| match (closes.get(i.wrapping_sub(1)), closes.get(i)) {
        (Some(before), Some(close)) => *close - *before,
        _ => length,
    };
    let first = closes.first()?;
    let last = closes.last()?;
    if at < *first - spacing(1) || at >= *last + spacing(closes.len() - 1) {
        return None;
    }
    Some(
        closes
            .partition_point(|close| *close <= at)
            .min(closes.len() - 1),
    )
}

/// The closes of `candles` with a marker at the candle of each fill.
fn price_chart(
    exchange: ExchangeId,
    symbol: Symbol,
    interval: Interval,
    candles: &[Candle],
    fills: &[(i64, FillRecord)],
    sides: &HashMap<Uuid, Side>,
) -> LineChart {
    let daily = interval == Interval::D1;
    let points = candles
        .iter()
        .map(|c| {
            let at = c.open_time();
            let label = if daily {
                at.format("%-d %b %Y").to_string()
            } else {
                at.format("%-d %b %H:%M").to_string()
            };
            (label, c.close().value())
        })
        .collect();
    let quote = symbol.quote();
    let marks = fills
        .iter()
        .filter_map(|(_, f)| {
            let side = sides.get(&f.order)?;
            let index = candle_of(candles, interval, f.filled_at)?;
            let (mark, verb) = match side {
                Side::Buy => (Mark::Entry, "Bought"),
                Side::Sell => (Mark::Exit, "Sold"),
            };
            Some((
                index,
                mark,
                format!(
                    "{verb} {} at {}",
                    base_amount(f.quantity.value(), symbol),
                    format::money(f.price.value(), quote.as_str())
                ),
            ))
        })
        .collect();
    LineChart {
        label: format!(
            "{symbol} on {}: the last {} closes ({} candles)",
            exchange_label(exchange),
            format::count(candles.len() as u64),
            interval_label(interval.as_str()).to_lowercase()
        ),
        points,
        marks,
        asset: quote.as_str().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(code: &str, message: &str) -> Failure {
        Failure {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: code.into(),
            message: message.into(),
        }
    }

    #[test]
    fn api_errors_land_beside_the_field_they_name() {
        let (field, text) = place(&failure(
            "invalid_field",
            "sizing.method.percent: must be above 0 and at most 100, got 150",
        ))
        .expect("a field");
        assert_eq!(field, FormField::Sizing);
        assert_eq!(
            text,
            "method.percent: must be above 0 and at most 100, got 150"
        );

        let (field, text) = place(&failure(
            "invalid_field",
            "strategy_config: a webhook bot names its signal source: {\"source\": \"name\"}",
        ))
        .expect("a field");
        assert_eq!(field, FormField::StrategyConfig);
        assert!(field.advanced());
        assert!(text.starts_with("A webhook bot names"), "{text}");

        let (field, _) =
            place(&failure("invalid_field", "symbol: not BASE/QUOTE")).expect("a field");
        assert_eq!(field, FormField::Symbol);
        let (field, _) = place(&failure(
            "not_found",
            "exchange_key_id: no such exchange key",
        ))
        .expect("a field");
        assert_eq!(field, FormField::ExchangeKey);
        let (field, _) = place(&failure(
            "invalid_field",
            "pyramid.levels[0].size_multiplier: above 0",
        ))
        .expect("a field");
        assert_eq!(field, FormField::Pyramid);
    }

    #[test]
    fn errors_about_the_whole_bot_go_above_the_form() {
        assert_eq!(
            place(&failure(
                "plan_limit",
                "bots: your plan allows 1 bot and you have 1"
            )),
            None
        );
        assert_eq!(place(&failure("unavailable", "try again shortly")), None);
        let (field, text) = place(&failure(
            "exchange_key_required",
            "a bot on binance needs your binance API key: add one at POST /api/v1/exchange-keys first",
        ))
        .expect("the key field");
        assert_eq!(field, FormField::ExchangeKey);
        assert!(
            text.starts_with(
                "A bot on binance needs your binance API key. Add one under Exchange keys"
            ),
            "{text}"
        );
    }

    #[test]
    fn bad_json_is_caught_before_the_api_is_called() {
        let form = BotFormData {
            sizing: "{\"method\": ".into(),
            gate: "not json".into(),
            ..BotFormData::defaults()
        };
        let errors = form.new_bot().expect_err("bad JSON");
        let fields: Vec<FormField> = errors.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, [FormField::Sizing, FormField::Gate]);
        assert!(errors[0].1.starts_with("Not valid JSON"), "{}", errors[0].1);

        let body = BotFormData::defaults()
            .new_bot()
            .expect("the defaults are valid");
        assert_eq!(body.exchange, Exchange::Paper);
        assert!(body.name.is_none(), "an empty name is the API's default");
        assert_eq!(body.paused, Some(false));
        assert_eq!(
            body.sizing.map(|s| s.value),
            Some(serde_json::to_value(SizingConfig::default()).expect("json"))
        );
    }

    #[test]
    fn fills_are_marked_on_the_candle_they_happened_in() {
        use chrono::TimeZone;
        use nexus_core::{Price, Quantity};
        let t0 = Utc
            .with_ymd_and_hms(2026, 12, 4, 10, 0, 0)
            .single()
            .expect("time");
        let hour = chrono::Duration::hours(1);
        let price = |p: i64| Price::new(Decimal::from(p)).expect("price");
        let candles: Vec<Candle> = [100, 110, 105]
            .iter()
            .enumerate()
            .map(|(i, c)| {
                Candle::new(
                    t0 + hour * i32::try_from(i).expect("small"),
                    price(*c),
                    price(*c),
                    price(*c),
                    price(*c),
                    Quantity::new(Decimal::ONE).expect("quantity"),
                )
                .expect("candle")
            })
            .collect();
        let fill = |order: Uuid, minutes: i64| FillRecord {
            order,
            venue_trade_id: "t".into(),
            quantity: Quantity::new(Decimal::new(15, 3)).expect("quantity"),
            price: price(108),
            fee: Quantity::ZERO,
            fee_asset: None,
            filled_at: t0 + chrono::Duration::minutes(minutes),
        };
        let (buy, sell, unknown) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        let fills = vec![
            (3, fill(sell, 150)),
            (2, fill(buy, 70)),
            (1, fill(unknown, 80)),
            (0, fill(buy, -30)),
        ];
        let sides = HashMap::from([(buy, Side::Buy), (sell, Side::Sell)]);
        let symbol: Symbol = "BTC/USDT".parse().expect("symbol");
        let chart = price_chart(
            ExchangeId::Paper,
            symbol,
            Interval::H1,
            &candles,
            &fills,
            &sides,
        );
        assert_eq!(chart.points.len(), 3);
        assert_eq!(
            chart.points[1],
            ("4 Dec 11:00".to_owned(), Decimal::from(110))
        );
        assert_eq!(
            chart.marks,
            vec![
                (2, Mark::Exit, "Sold 0.015 BTC at 108.00 USDT".to_owned()),
                (1, Mark::Entry, "Bought 0.015 BTC at 108.00 USDT".to_owned()),
            ],
            "a fill before the first candle or of an unknown order is not marked"
        );
        assert!(chart.svg().contains("<circle"));
        let at = |minutes: i64| {
            candle_of(
                &candles,
                Interval::H1,
                t0 + chrono::Duration::minutes(minutes),
            )
        };
        assert_eq!(at(0), Some(0), "the first candle from its open");
        assert_eq!(at(59), Some(0));
        assert_eq!(at(60), Some(1), "the next from the first's close");
        assert_eq!(at(179), Some(2));
        assert_eq!(at(200), Some(2), "up to one interval past the last close");
        assert_eq!(at(-1), None);
        assert_eq!(at(240), None);
    }

    #[test]
    fn an_engine_pause_is_explained() {
        assert_eq!(paused_reason(None), "");
        assert!(paused_reason(Some("plan_limit")).contains("your plan"));
        assert_eq!(
            paused_reason(Some("internal_error: the strategy panicked")),
            "Paused by Nexus after an error: the strategy panicked"
        );
    }
}
