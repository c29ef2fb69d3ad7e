//! `/api/v1/bots/{id}/orders|fills|skips|positions`: what a bot did, read-only, newest
//! first, a page at a time. Another user's bot answers 404.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use nexus_core::ports::activity::{
    FillRecord, OrderRecord, OrderState, Page, PositionRecord, SkipRecord,
};
use nexus_core::{BotId, OrderType, Side};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi, Tags};
use uuid::Uuid;

use super::auth::{err, unavailable};
use super::schema::Limit;
use super::session::Session;
use super::{ApiState, ErrorBody};

#[derive(Tags)]
enum ActivityTag {
    /// What bots did.
    Activity,
}

/// Which way an order trades.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum OrderSide {
    /// Buys the base asset.
    Buy,
    /// Sells the base asset.
    Sell,
}

/// How an order is priced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum OrderKind {
    /// At the market.
    Market,
    /// At `limit_price` or better.
    Limit,
}

/// Where an order is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum OrderStateName {
    /// Not placed yet: the venue asked for a later try (a rate limit, an outage), which
    /// places it.
    Pending,
    /// Sent; the venue's outcome was lost (being looked up).
    Unknown,
    /// Accepted, nothing filled yet.
    New,
    /// Part filled, still working.
    PartiallyFilled,
    /// Completely filled.
    Filled,
    /// Cancelled.
    Canceled,
    /// Refused by the venue.
    Rejected,
    /// Expired.
    Expired,
    /// Could not be placed after every retry (`error` says why).
    Failed,
}

impl From<OrderState> for OrderStateName {
    fn from(s: OrderState) -> Self {
        match s {
            OrderState::Pending => Self::Pending,
            OrderState::Unknown => Self::Unknown,
            OrderState::New => Self::New,
            OrderState::PartiallyFilled => Self::PartiallyFilled,
            OrderState::Filled => Self::Filled,
            OrderState::Canceled => Self::Canceled,
            OrderState::Rejected => Self::Rejected,
            OrderState::Expired => Self::Expired,
            OrderState::Failed => Self::Failed,
        }
    }
}

/// An order.
#[derive(Debug, Object)]
pub struct Order {
    /// Its id (the cursor for the next page).
    pub id: Uuid,
    /// The signal it came from.
    pub signal_id: Uuid,
    /// The id the venue knows it by.
    pub client_order_id: String,
    /// Buy or sell.
    pub side: OrderSide,
    /// Market or limit.
    pub order_type: OrderKind,
    /// The quantity ordered (decimal string).
    pub quantity: String,
    /// The limit price.
    #[oai(nullable)]
    pub limit_price: Option<String>,
    /// The pyramid level (0: the entry).
    pub level: u32,
    /// Where it is.
    pub state: OrderStateName,
    /// The venue's id.
    #[oai(nullable)]
    pub venue_order_id: Option<String>,
    /// How much filled.
    pub filled_quantity: String,
    /// The average fill price.
    #[oai(nullable)]
    pub average_price: Option<String>,
    /// Why it failed.
    #[oai(nullable)]
    pub error: Option<String>,
    /// When it was planned.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

pub(crate) fn order(o: OrderRecord) -> Order {
    Order {
        id: o.id,
        signal_id: *o.signal.as_uuid(),
        client_order_id: o.client_order_id.to_string(),
        side: match o.side {
            Side::Buy => OrderSide::Buy,
            Side::Sell => OrderSide::Sell,
        },
        order_type: match o.order_type {
            OrderType::Market => OrderKind::Market,
            OrderType::Limit => OrderKind::Limit,
        },
        quantity: o.quantity.to_string(),
        limit_price: o.limit_price.map(|p| p.to_string()),
        level: o.level,
        state: o.state.into(),
        venue_order_id: o.venue_order_id,
        filled_quantity: o.filled_quantity.to_string(),
        average_price: o.average_price.map(|p| p.to_string()),
        error: o.error,
        created_at: o.created_at,
        updated_at: o.updated_at,
    }
}

/// A fill.
#[derive(Debug, Object)]
pub struct Fill {
    /// Its sequence number (the cursor for the next page).
    pub id: i64,
    /// The order.
    pub order_id: Uuid,
    /// The venue's trade id.
    pub venue_trade_id: String,
    /// How much filled.
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

fn fill((id, f): (i64, FillRecord)) -> Fill {
    Fill {
        id,
        order_id: f.order,
        venue_trade_id: f.venue_trade_id,
        quantity: f.quantity.to_string(),
        price: f.price.to_string(),
        fee: f.fee.to_string(),
        fee_asset: f.fee_asset.map(|a| a.as_str().to_owned()),
        filled_at: f.filled_at,
    }
}

/// A plan skipped for the bot.
#[derive(Debug, Object)]
pub struct Skip {
    /// Its sequence number (the cursor for the next page).
    pub id: i64,
    /// The signal.
    pub signal_id: Uuid,
    /// A stable reason code: `paused`, `plan_inactive`, `other_exchange`,
    /// `no_market_data`, `gate` (the market-regime gate blocked it), `already_in_position`,
    /// `no_position`, `no_add` (no pyramid level due), `sizing` (no valid order size),
    /// `dust`, `account_unavailable` or `internal_error`.
    pub reason: String,
    /// The details.
    pub detail: String,
    /// When.
    pub at: DateTime<Utc>,
}

fn skip((id, s): (i64, SkipRecord)) -> Skip {
    Skip {
        id,
        signal_id: *s.signal.as_uuid(),
        reason: s.reason,
        detail: s.detail,
        at: s.at,
    }
}

/// A position, open or closed.
#[derive(Debug, Object)]
pub struct PositionView {
    /// Its id (the cursor for the next page).
    pub id: Uuid,
    /// The pair.
    pub symbol: String,
    /// What is held.
    pub quantity: String,
    /// What it cost, in quote currency.
    pub cost: String,
    /// Pyramid adds.
    pub adds: u32,
    /// Dust left when it closed.
    pub dust: String,
    /// When it opened.
    pub opened_at: DateTime<Utc>,
    /// When it closed.
    #[oai(nullable)]
    pub closed_at: Option<DateTime<Utc>>,
}

fn position(p: PositionRecord) -> PositionView {
    PositionView {
        id: p.id,
        symbol: p.symbol.to_string(),
        quantity: p.quantity.to_string(),
        cost: p.cost.to_string(),
        adds: p.adds,
        dust: p.dust.to_string(),
        opened_at: p.opened_at,
        closed_at: p.closed_at,
    }
}

/// Answers of the activity endpoints.
#[derive(ApiResponse)]
pub enum ActivityResponse<T: poem_openapi::types::ParseFromJSON + poem_openapi::types::ToJSON> {
    /// A page, newest first; pass the last item's `id` as `before` for the next.
    #[oai(status = 200)]
    Ok(Json<Vec<T>>),
    /// Not signed in.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// No such bot among yours (`not_found`).
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// `limit` outside 1–200 (`invalid_field`).
    #[oai(status = 422)]
    Invalid(Json<ErrorBody>),
    /// The database is down.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

/// Checks the bot is the caller's and the page size is within its range.
async fn prepare<T: poem_openapi::types::ParseFromJSON + poem_openapi::types::ToJSON>(
    state: &ApiState,
    auth: &Session,
    bot: Uuid,
    limit: Option<Limit<200, 50>>,
) -> Result<(BotId, u32), ActivityResponse<T>> {
    let limit = Limit::get(limit).map_err(|e| ActivityResponse::Invalid(e.body()))?;
    match state.store.bot(BotId::new(bot)).await {
        Ok(Some(b)) if b.user == auth.caller().user.id => Ok((b.id, limit)),
        Ok(_) => Err(ActivityResponse::NotFound(err("not_found", "no such bot"))),
        Err(e) => Err(ActivityResponse::Unavailable(unavailable(&e))),
    }
}

fn page<T, C>(
    result: Result<Vec<C>, nexus_core::StoreError>,
    view: impl Fn(C) -> T,
) -> ActivityResponse<T>
where
    T: poem_openapi::types::ParseFromJSON + poem_openapi::types::ToJSON,
{
    match result {
        Ok(items) => ActivityResponse::Ok(Json(items.into_iter().map(view).collect())),
        Err(e) => ActivityResponse::Unavailable(unavailable(&e)),
    }
}

/// The activity endpoints.
pub struct ActivityApi;

#[OpenApi(prefix_path = "/api/v1/bots", tag = "ActivityTag::Activity")]
impl ActivityApi {
    /// The bot's orders, newest first.
    #[oai(path = "/:id/orders", method = "get", operation_id = "bot_orders")]
    pub(crate) async fn orders(
        &self,
        state: Data<&Arc<ApiState>>,
        auth: Session,
        id: Path<Uuid>,
        /// The `id` of the last order of the previous page.
        before: Query<Option<Uuid>>,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<Limit<200, 50>>>,
    ) -> ActivityResponse<Order> {
        let (bot, limit) = match prepare(&state, &auth, id.0, limit.0).await {
            Ok(ok) => ok,
            Err(answer) => return answer,
        };
        page(
            state
                .store
                .bot_orders(
                    bot,
                    Page {
                        before: before.0,
                        limit,
                    },
                )
                .await,
            order,
        )
    }

    /// The bot's fills, newest first.
    #[oai(path = "/:id/fills", method = "get", operation_id = "bot_fills")]
    pub(crate) async fn fills(
        &self,
        state: Data<&Arc<ApiState>>,
        auth: Session,
        id: Path<Uuid>,
        /// The `id` of the last fill of the previous page.
        before: Query<Option<i64>>,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<Limit<200, 50>>>,
    ) -> ActivityResponse<Fill> {
        let (bot, limit) = match prepare(&state, &auth, id.0, limit.0).await {
            Ok(ok) => ok,
            Err(answer) => return answer,
        };
        page(
            state
                .store
                .bot_fills(
                    bot,
                    Page {
                        before: before.0,
                        limit,
                    },
                )
                .await,
            fill,
        )
    }

    /// The plans skipped for the bot and why (balance too low, below the venue's minimum,
    /// blocked by the gate, …), newest first.
    #[oai(path = "/:id/skips", method = "get", operation_id = "bot_skips")]
    pub(crate) async fn skips(
        &self,
        state: Data<&Arc<ApiState>>,
        auth: Session,
        id: Path<Uuid>,
        /// The `id` of the last skip of the previous page.
        before: Query<Option<i64>>,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<Limit<200, 50>>>,
    ) -> ActivityResponse<Skip> {
        let (bot, limit) = match prepare(&state, &auth, id.0, limit.0).await {
            Ok(ok) => ok,
            Err(answer) => return answer,
        };
        page(
            state
                .store
                .bot_skips(
                    bot,
                    Page {
                        before: before.0,
                        limit,
                    },
                )
                .await,
            skip,
        )
    }

    /// The bot's positions, open and closed, newest first.
    #[oai(
        path = "/:id/positions",
        method = "get",
        operation_id = "bot_positions"
    )]
    pub(crate) async fn positions(
        &self,
        state: Data<&Arc<ApiState>>,
        auth: Session,
        id: Path<Uuid>,
        /// The `id` of the last position of the previous page.
        before: Query<Option<Uuid>>,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<Limit<200, 50>>>,
    ) -> ActivityResponse<PositionView> {
        let (bot, limit) = match prepare(&state, &auth, id.0, limit.0).await {
            Ok(ok) => ok,
            Err(answer) => return answer,
        };
        page(
            state
                .store
                .bot_positions(
                    bot,
                    Page {
                        before: before.0,
                        limit,
                    },
                )
                .await,
            position,
        )
    }
}
