//! `GET /api/v1/events`: a signed-in user's live events as server-sent events — their
//! orders, fills, positions and bots, and the regime of every market their bots follow.
//! Each event has an `id`; a client that reconnects with `Last-Event-ID` gets what it
//! missed from the instance's buffer of recent events, or a `reset` when that buffer no
//! longer reaches back so far. The stream is a notification of changes: the other
//! operations stay the source of truth, read again after a `reset`.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use nexus_core::ports::activity::{Execution, PositionChange};
use nexus_core::ports::sessions::TokenHash;
use nexus_core::regime::Regime;
use nexus_core::{BotId, ExchangeId, StoreError, Symbol, UserId};
use nexus_store::Store;
use poem::web::Data;
use poem::web::sse::{Event as SseEvent, SSE};
use poem::{IntoResponse, Response};
use poem_openapi::param::Header;
use poem_openapi::payload::{Json, Payload};
use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi, Tags};
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

use super::activity::{Order, OrderSide, order};
use super::auth::{err, unavailable};
use super::bots::{Bot, IntervalName, view};
use super::keys::Exchange;
use super::session::Session;
use super::{ApiState, ErrorBody};
use crate::events::{Audience, Happening, Item, Resume, Stamped, StreamPermit};

/// Streams one user may have open on one instance (browser tabs, devices, scripts).
pub const MAX_STREAMS_PER_USER: usize = 8;
/// A comment is sent when nothing else was for this long, unless the state says: proxies
/// keep the connection, and a client gone is noticed (at the second write after it left).
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// How often a stream checks that its session is still signed in, unless the state says.
pub const SESSION_CHECK: Duration = Duration::from_secs(60);

/// An event stream's timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamTiming {
    /// How often it checks that its session is still signed in.
    pub session_check: Duration,
    /// How long it stays silent before a keep-alive comment.
    pub keep_alive: Duration,
}

impl Default for StreamTiming {
    fn default() -> Self {
        Self {
            session_check: SESSION_CHECK,
            keep_alive: KEEP_ALIVE,
        }
    }
}
/// How long a client waits before reconnecting (the SSE `retry` field), in ms.
const RETRY_MS: u64 = 3_000;
/// Bots read per page when listing the markets a user follows.
const BOTS_PAGE: u32 = 200;

#[derive(Tags)]
enum EventsTag {
    /// Live events.
    Events,
}

/// What an event is about; also its SSE `event` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum EventType {
    /// An order changed state (`order` is set).
    Order,
    /// Something filled (`fill` is set).
    Fill,
    /// A bot's position changed (`position` is set).
    Position,
    /// A bot was created, changed, paused, resumed or deleted (`bot` is set).
    Bot,
    /// A market one of your bots follows was classified into another regime (`regime`
    /// is set).
    Regime,
    /// Events were missed (the buffer no longer reaches back to your `Last-Event-ID`,
    /// or the server lost some): read the state again through the other operations.
    Reset,
}

impl EventType {
    /// The SSE event name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Order => "order",
            Self::Fill => "fill",
            Self::Position => "position",
            Self::Bot => "bot",
            Self::Regime => "regime",
            Self::Reset => "reset",
        }
    }
}

/// What happened to a bot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum BotChange {
    /// Created.
    Created,
    /// Its settings changed, or you paused or resumed it.
    Updated,
    /// Nexus paused it (`paused_reason` says why).
    Paused,
    /// Deleted (`bot` is null).
    Deleted,
}

/// A market regime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum RegimeName {
    /// A strong uptrend.
    Bull,
    /// A downtrend, or a deep drawdown.
    Bear,
    /// No strong trend either way.
    Sideways,
    /// Price swings too wild for trend rules to mean much.
    Volatile,
}

impl From<Regime> for RegimeName {
    fn from(r: Regime) -> Self {
        match r {
            Regime::Bull => Self::Bull,
            Regime::Bear => Self::Bear,
            Regime::Sideways => Self::Sideways,
            Regime::Volatile => Self::Volatile,
        }
    }
}

/// A fill, as an event.
#[derive(Debug, Object)]
pub struct EventFill {
    /// The order.
    pub order_id: Uuid,
    /// The venue's trade id.
    pub venue_trade_id: String,
    /// Buy or sell.
    pub side: OrderSide,
    /// How much filled (decimal string).
    pub quantity: String,
    /// At what price.
    pub price: String,
    /// The fee.
    pub fee: String,
    /// The fee's asset.
    #[oai(nullable)]
    pub fee_asset: Option<String>,
    /// When.
    pub filled_at: DateTime<Utc>,
}

/// A bot's position after a fill.
#[derive(Debug, Object)]
pub struct EventPosition {
    /// Whether anything is still held (false: the position closed).
    pub open: bool,
    /// What is held (decimal string; "0" when closed).
    pub quantity: String,
    /// What it cost in quote currency ("0" when closed).
    pub cost: String,
    /// The average entry price; null when closed.
    #[oai(nullable)]
    pub average_entry_price: Option<String>,
    /// Pyramid adds.
    pub adds: u32,
    /// Dust left unsold when it closed; null while open.
    #[oai(nullable)]
    pub dust: Option<String>,
}

/// A bot's change.
#[derive(Debug, Object)]
pub struct EventBot {
    /// What happened to it.
    pub change: BotChange,
    /// The bot as it is now; null when deleted.
    #[oai(nullable)]
    pub bot: Option<Bot>,
}

/// A market's new regime.
#[derive(Debug, Object)]
pub struct EventRegime {
    /// The candle interval classified.
    pub interval: IntervalName,
    /// The regime now; null when it could not be classified (entries are blocked).
    #[oai(nullable)]
    pub regime: Option<RegimeName>,
    /// The regime before; null when unknown.
    #[oai(nullable)]
    pub previous: Option<RegimeName>,
    /// 0–1: how clearly the indicators show the regime.
    #[oai(nullable)]
    pub confidence: Option<f64>,
    /// Whether the gate's default policy now allows entries.
    pub entries_allowed: bool,
}

/// One live event. `type` says which of the other members is set; the rest are null.
#[derive(Debug, Object)]
pub struct Event {
    /// What it is about.
    #[oai(rename = "type")]
    pub kind: EventType,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// The bot it concerns; null for `regime` and `reset`.
    #[oai(nullable)]
    pub bot_id: Option<Uuid>,
    /// The venue; null for `reset`.
    #[oai(nullable)]
    pub exchange: Option<Exchange>,
    /// The pair; null for `reset`.
    #[oai(nullable)]
    pub symbol: Option<String>,
    /// `order`: the order as it is now.
    #[oai(nullable)]
    pub order: Option<Order>,
    /// `fill`: the fill.
    #[oai(nullable)]
    pub fill: Option<EventFill>,
    /// `position`: the position after it.
    #[oai(nullable)]
    pub position: Option<EventPosition>,
    /// `bot`: what happened to the bot.
    #[oai(nullable)]
    pub bot: Option<EventBot>,
    /// `regime`: the market's new regime.
    #[oai(nullable)]
    pub regime: Option<EventRegime>,
    /// `reset`: why.
    #[oai(nullable)]
    pub detail: Option<String>,
}

impl Event {
    fn new(kind: EventType, at: DateTime<Utc>) -> Self {
        Self {
            kind,
            at,
            bot_id: None,
            exchange: None,
            symbol: None,
            order: None,
            fill: None,
            position: None,
            bot: None,
            regime: None,
            detail: None,
        }
    }

    fn market(mut self, exchange: ExchangeId, symbol: Symbol) -> Self {
        self.exchange = Some(exchange.into());
        self.symbol = Some(symbol.to_string());
        self
    }
}

/// The events a happening shows users, with who sees each.
///
/// # Errors
/// [`StoreError::Corrupt`] when a bot's stored settings do not read back.
pub fn render(happening: &Happening) -> Result<Vec<(Audience, Event)>, StoreError> {
    Ok(match happening {
        Happening::Execution(execution) => execution_events(execution),
        Happening::Bot { change, bot, at } => {
            let mut event = Event::new(EventType::Bot, *at).market(bot.exchange, bot.symbol);
            event.bot_id = Some(*bot.id.as_uuid());
            event.bot = Some(EventBot {
                change: *change,
                bot: Some(view(bot)?),
            });
            vec![(Audience::User(bot.user), event)]
        }
        Happening::BotDeleted {
            user,
            bot,
            exchange,
            symbol,
            at,
        } => {
            let mut event = Event::new(EventType::Bot, *at).market(*exchange, *symbol);
            event.bot_id = Some(*bot.as_uuid());
            event.bot = Some(EventBot {
                change: BotChange::Deleted,
                bot: None,
            });
            vec![(Audience::User(*user), event)]
        }
        Happening::Regime {
            decision,
            interval,
            previous,
            confidence,
        } => {
            let (exchange, symbol) = (decision.inputs.exchange, decision.inputs.symbol);
            let mut event = Event::new(EventType::Regime, decision.at).market(exchange, symbol);
            event.regime = Some(EventRegime {
                interval: (*interval).into(),
                regime: decision.regime.map(Into::into),
                previous: previous.map(Into::into),
                confidence: *confidence,
                entries_allowed: decision.allowed,
            });
            vec![(Audience::Market(exchange, symbol), event)]
        }
    })
}

/// An order's new state, then its fill and its bot's position when it filled.
fn execution_events(execution: &Execution) -> Vec<(Audience, Event)> {
    let o = &execution.order;
    let audience = Audience::User(o.user);
    let base = |kind| {
        let mut event = Event::new(kind, o.updated_at).market(o.exchange, o.symbol);
        event.bot_id = Some(*o.bot.as_uuid());
        event
    };
    let mut events = Vec::with_capacity(3);
    let mut changed = base(EventType::Order);
    changed.order = Some(order(o.clone()));
    events.push((audience.clone(), changed));
    if let Some(f) = &execution.fill {
        let mut fill = base(EventType::Fill);
        fill.at = f.filled_at;
        fill.fill = Some(EventFill {
            order_id: f.order,
            venue_trade_id: f.venue_trade_id.clone(),
            side: match o.side {
                nexus_core::Side::Buy => OrderSide::Buy,
                nexus_core::Side::Sell => OrderSide::Sell,
            },
            quantity: f.quantity.to_string(),
            price: f.price.to_string(),
            fee: f.fee.to_string(),
            fee_asset: f.fee_asset.map(|a| a.as_str().to_owned()),
            filled_at: f.filled_at,
        });
        events.push((audience.clone(), fill));
    }
    if let Some(change) = &execution.position {
        let mut position = base(EventType::Position);
        position.position = Some(match change {
            PositionChange::Save(p) => EventPosition {
                open: p.is_open(),
                quantity: p.quantity().to_string(),
                cost: p.cost().to_string(),
                average_entry_price: p.is_open().then(|| p.average_entry().to_string()),
                adds: p.adds(),
                dust: None,
            },
            PositionChange::Close { dust } => EventPosition {
                open: false,
                quantity: "0".into(),
                cost: "0".into(),
                average_entry_price: None,
                adds: 0,
                dust: Some(dust.to_string()),
            },
        });
        events.push((audience, position));
    }
    events
}

/// A stream of events as `text/event-stream`: one SSE event per [`Event`], its `id` the
/// event's, its `event` the event's `type`, its `data` the event as JSON.
pub struct EventStream(BoxStream<'static, SseEvent>, Duration);

impl Payload for EventStream {
    const CONTENT_TYPE: &'static str = "text/event-stream";

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            items: Some(Box::new(Event::schema_ref())),
            ..MetaSchema::new_with_format("array", "event-stream")
        }))
    }

    fn register(registry: &mut Registry) {
        Event::register(registry);
    }
}

impl IntoResponse for EventStream {
    fn into_response(self) -> Response {
        SSE::new(self.0).keep_alive(self.1).into_response()
    }
}

/// Answers of `GET /events`.
#[derive(ApiResponse)]
pub enum EventsResponse {
    /// The stream: `retry`, then one event per change, and a comment every 15 s when
    /// nothing happens. It ends when the session ends (sign-out, expiry) or the server
    /// stops; reconnect with `Last-Event-ID`.
    #[oai(status = 200)]
    Ok(EventStream),
    /// Not signed in.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// You already have 8 streams open on this server (`too_many_streams`).
    #[oai(status = 429)]
    TooMany(Json<ErrorBody>),
    /// The database is down.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

/// The events endpoint.
pub struct EventsApi;

#[OpenApi(prefix_path = "/api/v1", tag = "EventsTag::Events")]
impl EventsApi {
    /// Your live events as server-sent events (`text/event-stream`): orders, fills,
    /// positions and bots, and the regime of the markets your bots follow. Reconnect with
    /// `Last-Event-ID` to get what you missed; a `reset` event means read the state again.
    #[oai(path = "/events", method = "get", operation_id = "stream_events")]
    pub(crate) async fn stream(
        &self,
        state: Data<&Arc<ApiState>>,
        auth: Session,
        /// The `id` of the last event received; what came after it is sent first.
        #[oai(name = "Last-Event-ID")]
        last_event_id: Header<Option<String>>,
    ) -> EventsResponse {
        let caller = auth.caller();
        let user = caller.user.id;
        let hub = Arc::clone(state.events.hub());
        let Some(permit) = hub.open_stream(user, MAX_STREAMS_PER_USER) else {
            return EventsResponse::TooMany(err(
                "too_many_streams",
                format!("at most {MAX_STREAMS_PER_USER} event streams may be open at once"),
            ));
        };
        let markets = match followed_markets(state.store.as_ref(), user).await {
            Ok(markets) => markets,
            Err(e) => return EventsResponse::Unavailable(unavailable(&e)),
        };
        let last = last_event_id
            .0
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let subscription = hub.subscribe(last);
        let mut first = vec![SseEvent::retry(RETRY_MS)];
        if subscription.resume == Resume::Lost {
            first.push(reset(
                subscription.latest.as_deref(),
                "the events after your Last-Event-ID are no longer held",
            ));
        }
        let mut check = tokio::time::interval(state.event_timing.session_check);
        check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        check.reset();
        let streaming = Streaming {
            queue: subscription.backlog.into(),
            first: first.into(),
            live: subscription.live,
            closed: hub.closed(),
            user,
            markets,
            store: Arc::clone(&state.store),
            token: caller.token.clone(),
            check,
            _open: Open::new(permit, Arc::clone(&state.metrics)),
        };
        EventsResponse::Ok(EventStream(
            futures_util::stream::unfold(streaming, Streaming::next).boxed(),
            state.event_timing.keep_alive,
        ))
    }
}

/// The markets `user`'s bots follow.
async fn followed_markets(
    store: &dyn Store,
    user: UserId,
) -> Result<HashSet<(ExchangeId, Symbol)>, StoreError> {
    let mut markets = HashSet::new();
    let mut after: Option<BotId> = None;
    loop {
        let page = store.user_bots(user, after, BOTS_PAGE).await?;
        markets.extend(page.iter().map(|b| (b.exchange, b.symbol)));
        match page.last() {
            Some(last) if page.len() == BOTS_PAGE as usize => after = Some(last.id),
            _ => return Ok(markets),
        }
    }
}

/// A `reset` event, carrying `id` so a reconnect resumes from there (the client reads the
/// state again now).
fn reset(id: Option<&str>, why: &str) -> SseEvent {
    let mut event = Event::new(EventType::Reset, Utc::now());
    event.detail = Some(why.to_owned());
    let sse = SseEvent::message(poem_openapi::types::ToJSON::to_json_string(&event))
        .event_type(EventType::Reset.as_str());
    match id {
        Some(id) => sse.id(id),
        None => sse,
    }
}

/// An open stream: counted against its user and in the gauge until it ends.
struct Open {
    _permit: StreamPermit,
    metrics: Arc<crate::metrics::Metrics>,
}

impl Open {
    fn new(permit: StreamPermit, metrics: Arc<crate::metrics::Metrics>) -> Self {
        metrics.event_streams.inc();
        Self {
            _permit: permit,
            metrics,
        }
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.metrics.event_streams.dec();
    }
}

/// What a waiting stream woke up to.
enum Woke {
    Closed,
    Check,
    Live(Result<Item, RecvError>),
}

/// One client's stream.
struct Streaming {
    /// Events to send (or skip) before waiting for more.
    queue: VecDeque<Arc<Stamped>>,
    /// What is sent before anything else.
    first: VecDeque<SseEvent>,
    live: tokio::sync::broadcast::Receiver<Item>,
    closed: tokio::sync::watch::Receiver<bool>,
    user: UserId,
    markets: HashSet<(ExchangeId, Symbol)>,
    store: Arc<dyn Store>,
    token: TokenHash,
    check: tokio::time::Interval,
    _open: Open,
}

impl Streaming {
    fn sees(&self, event: &Stamped) -> bool {
        match &event.audience {
            Audience::User(user) => *user == self.user,
            Audience::Market(exchange, symbol) => self.markets.contains(&(*exchange, *symbol)),
        }
    }

    async fn next(mut self) -> Option<(SseEvent, Self)> {
        if let Some(first) = self.first.pop_front() {
            return Some((first, self));
        }
        loop {
            if let Some(event) = self.queue.pop_front() {
                if !self.sees(&event) {
                    continue;
                }
                if event.kind == EventType::Bot.as_str() {
                    // A bot created, moved or deleted changes which regimes are shown.
                    if let Ok(markets) = followed_markets(self.store.as_ref(), self.user).await {
                        self.markets = markets;
                    }
                }
                let sse = SseEvent::message(event.data.clone())
                    .id(event.id.clone())
                    .event_type(event.kind.clone());
                return Some((sse, self));
            }
            let woke = tokio::select! {
                _ = self.closed.wait_for(|closed| *closed) => Woke::Closed,
                _ = self.check.tick() => Woke::Check,
                item = self.live.recv() => Woke::Live(item),
            };
            match woke {
                Woke::Closed | Woke::Live(Err(RecvError::Closed)) => return None,
                Woke::Check => {
                    // Signed out or expired: the stream ends (a reconnect gets 401). A
                    // failed look-up is the database's trouble, not the user's.
                    if let Ok(None) = self.store.active_session(&self.token, Utc::now()).await {
                        return None;
                    }
                }
                Woke::Live(Ok(Item::Event(event))) => self.queue.push_back(event),
                Woke::Live(Ok(Item::Gap)) => {
                    return Some((reset(None, "the server may have missed events"), self));
                }
                Woke::Live(Err(RecvError::Lagged(_))) => {
                    return Some((
                        reset(None, "the stream fell behind and events were dropped"),
                        self,
                    ));
                }
            }
        }
    }
}
