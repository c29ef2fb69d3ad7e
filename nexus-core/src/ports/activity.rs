//! What bots did: orders (from planned to final), their fills, the plans skipped and why,
//! and positions over time. The engine writes them; users read them per bot, newest
//! first, a page at a time.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Timestamp;
use crate::error::{StoreError, UnknownName};
use crate::ids::{BotId, ClientOrderId, SignalId, UserId};
use crate::instrument::{Asset, ExchangeId, Symbol};
use crate::money::{Notional, Price, Quantity};
use crate::order::{OrderStatus, OrderType, Side};
use crate::ports::jobs::NewJob;
use crate::position::Position;

/// Where an order is, from the moment it is planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
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
    /// Could not be placed after every retry (the error says why).
    Failed,
}

impl OrderState {
    /// Every state.
    pub const ALL: [Self; 9] = [
        Self::Pending,
        Self::Unknown,
        Self::New,
        Self::PartiallyFilled,
        Self::Filled,
        Self::Canceled,
        Self::Rejected,
        Self::Expired,
        Self::Failed,
    ];

    /// The stored name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Unknown => "unknown",
            Self::New => "new",
            Self::PartiallyFilled => "partially_filled",
            Self::Filled => "filled",
            Self::Canceled => "canceled",
            Self::Rejected => "rejected",
            Self::Expired => "expired",
            Self::Failed => "failed",
        }
    }
}

impl std::str::FromStr for OrderState {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| UnknownName {
                kind: "order state",
                name: s.to_owned(),
                expected: "pending, unknown, new, partially_filled, filled, canceled, \
                           rejected, expired or failed",
            })
    }
}

impl From<OrderStatus> for OrderState {
    fn from(s: OrderStatus) -> Self {
        match s {
            OrderStatus::New => Self::New,
            OrderStatus::PartiallyFilled => Self::PartiallyFilled,
            OrderStatus::Filled => Self::Filled,
            OrderStatus::Canceled => Self::Canceled,
            OrderStatus::Rejected => Self::Rejected,
            OrderStatus::Expired => Self::Expired,
        }
    }
}

/// One order of one bot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRecord {
    /// Its id.
    pub id: Uuid,
    /// The bot.
    pub bot: BotId,
    /// The bot's owner.
    pub user: UserId,
    /// The signal it came from.
    pub signal: SignalId,
    /// The id the venue knows it by (unique per venue).
    pub client_order_id: ClientOrderId,
    /// The venue.
    pub exchange: ExchangeId,
    /// The pair.
    pub symbol: Symbol,
    /// Buy or sell.
    pub side: Side,
    /// Market or limit.
    pub order_type: OrderType,
    /// The quantity ordered.
    pub quantity: Quantity,
    /// The limit price.
    pub limit_price: Option<Price>,
    /// The pyramid level (0 for the entry).
    pub level: u32,
    /// Where it is.
    pub state: OrderState,
    /// The venue's id, once placed.
    pub venue_order_id: Option<String>,
    /// How much has filled.
    pub filled_quantity: Quantity,
    /// The average fill price.
    pub average_price: Option<Price>,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// When it was planned.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// One fill of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FillRecord {
    /// The order.
    pub order: Uuid,
    /// The venue's trade id (a fill is recorded once).
    pub venue_trade_id: String,
    /// How much filled.
    pub quantity: Quantity,
    /// At what price.
    pub price: Price,
    /// The fee.
    pub fee: Quantity,
    /// The fee's asset.
    pub fee_asset: Option<Asset>,
    /// When.
    pub filled_at: Timestamp,
}

/// A plan the fan-out skipped for a bot, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkipRecord {
    /// The bot.
    pub bot: BotId,
    /// The signal.
    pub signal: SignalId,
    /// A stable reason code (`insufficient_balance`, `below_min_notional`, …).
    pub reason: String,
    /// The details, for people.
    pub detail: String,
    /// When.
    pub at: Timestamp,
}

/// A position, open or closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PositionRecord {
    /// Its id.
    pub id: Uuid,
    /// The pair.
    pub symbol: Symbol,
    /// What is held (0 once closed).
    pub quantity: Quantity,
    /// What it cost.
    pub cost: Notional,
    /// Pyramid adds so far.
    pub adds: u32,
    /// Dust left behind when it closed.
    pub dust: Quantity,
    /// When it opened.
    pub opened_at: Timestamp,
    /// When it closed.
    pub closed_at: Option<Timestamp>,
}

/// A page's position: items strictly older than `before` (a cursor the previous page
/// returned), newest first, at most `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page<C> {
    /// The cursor.
    pub before: Option<C>,
    /// The page size.
    pub limit: u32,
}

/// What a fill does to its bot's position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PositionChange {
    /// The position is now this (opened or changed).
    Save(Position),
    /// The position is closed, leaving this dust.
    Close {
        /// Unsold dust.
        dust: Quantity,
    },
}

/// A venue's answer to one order, as recorded: the order's new state, its fill, and what
/// the fill does to the bot's position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Execution {
    /// The order, updated from the venue's report.
    pub order: OrderRecord,
    /// Its fill, if anything filled.
    pub fill: Option<FillRecord>,
    /// The position change, applied only when the fill is recorded now (so a report
    /// recorded twice moves the position once).
    pub position: Option<PositionChange>,
}

/// Bots' activity.
#[async_trait]
pub trait ActivityStore: Send + Sync {
    /// Records a planned order; `false` (nothing written) when the venue already has an
    /// order with its client order id, so a replayed plan never records it twice.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn record_order(&self, order: &OrderRecord) -> Result<bool, StoreError>;

    /// The recorded orders among the row ids `ids` (see
    /// [`execution::order_id`](crate::execution::order_id)), in no particular order: what a
    /// retry accounts a venue's cumulative report against.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn orders(&self, ids: &[Uuid]) -> Result<Vec<OrderRecord>, StoreError>;

    /// Updates an order's state, venue id, fills so far and error; `false` when there is
    /// no such order.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn update_order(&self, order: &OrderRecord) -> Result<bool, StoreError>;

    /// Records many planned orders in one transaction; for each, whether it was new (as
    /// [`ActivityStore::record_order`]).
    ///
    /// # Errors
    /// [`StoreError`]; then none is recorded.
    async fn record_orders(&self, orders: &[OrderRecord]) -> Result<Vec<bool>, StoreError>;

    /// Records venues' answers in one transaction: each order as it now stands (inserted,
    /// or updated when on record already), its fill, and — when the fill is new — its
    /// position change. Returns, for each, whether its fill was new (`false` without a
    /// fill). An execution whose bot no longer exists (deleted while its order was at
    /// the venue) is not recorded, `false`: the bot's history went with it, and the rest
    /// of the batch is recorded all the same.
    ///
    /// `follow_up` (the batch's alert job), when given, is enqueued in the same
    /// transaction (as [`JobQueue::enqueue`](crate::ports::JobQueue::enqueue): not again
    /// if its unique key is queued already): it exists exactly when the answers it
    /// follows are recorded, at one commit a batch instead of two.
    ///
    /// # Errors
    /// [`StoreError`]; then none is recorded and nothing enqueued.
    async fn record_executions(
        &self,
        executions: &[Execution],
        follow_up: Option<&NewJob>,
        now: Timestamp,
    ) -> Result<Vec<bool>, StoreError>;

    /// Records a fill; `false` when that trade was recorded already.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn record_fill(&self, fill: &FillRecord) -> Result<bool, StoreError>;

    /// Records a skipped plan.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn record_skip(&self, skip: &SkipRecord) -> Result<(), StoreError>;

    /// Records many skipped plans in one round trip (a fan-out's page of them).
    ///
    /// # Errors
    /// [`StoreError`]; then none is recorded.
    async fn record_skips(&self, skips: &[SkipRecord]) -> Result<(), StoreError>;

    /// A bot's orders, newest first.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn bot_orders(
        &self,
        bot: BotId,
        page: Page<Uuid>,
    ) -> Result<Vec<OrderRecord>, StoreError>;

    /// A bot's fills, newest first, each with its sequence number (the cursor).
    ///
    /// # Errors
    /// [`StoreError`].
    async fn bot_fills(
        &self,
        bot: BotId,
        page: Page<i64>,
    ) -> Result<Vec<(i64, FillRecord)>, StoreError>;

    /// A bot's skipped plans, newest first, each with its sequence number.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn bot_skips(
        &self,
        bot: BotId,
        page: Page<i64>,
    ) -> Result<Vec<(i64, SkipRecord)>, StoreError>;

    /// The latest orders across all of `user`'s bots, newest first, at most `limit`: one
    /// read however many bots (each bot's newest through its own index).
    ///
    /// # Errors
    /// [`StoreError`].
    async fn user_recent_orders(
        &self,
        user: UserId,
        limit: u32,
    ) -> Result<Vec<OrderRecord>, StoreError>;

    /// The latest skipped plans across all of `user`'s bots, newest first, at most
    /// `limit`, in one read.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn user_recent_skips(
        &self,
        user: UserId,
        limit: u32,
    ) -> Result<Vec<SkipRecord>, StoreError>;

    /// A bot's positions, newest first.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn bot_positions(
        &self,
        bot: BotId,
        page: Page<Uuid>,
    ) -> Result<Vec<PositionRecord>, StoreError>;
}

/// A position found out of sync with its venue account at an exit: the account held less
/// than the position by more than fees or rounding explain (sold elsewhere, or lost).
/// What was held is sold and the position closed; this record says what was missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutOfSyncRecord {
    /// The bot.
    pub bot: BotId,
    /// Its owner.
    pub user: UserId,
    /// The exit signal that found it.
    pub signal: SignalId,
    /// The venue.
    pub exchange: ExchangeId,
    /// The pair.
    pub symbol: Symbol,
    /// What the position said the bot held.
    pub expected: Quantity,
    /// What the account held.
    pub available: Quantity,
    /// What the exit sells (zero when nothing could be sold).
    pub sold: Quantity,
    /// When.
    pub at: Timestamp,
}

/// Positions found out of sync, for operators.
#[async_trait]
pub trait OutOfSyncLog: Send + Sync {
    /// Records `records`; one per (bot, signal), so a replayed fan-out records it once.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn record_out_of_sync(&self, records: &[OutOfSyncRecord]) -> Result<(), StoreError>;

    /// Records older than the record with id `page.before`, newest first, with their ids
    /// (the cursor of the next page).
    ///
    /// # Errors
    /// [`StoreError`].
    async fn out_of_sync(&self, page: Page<i64>)
    -> Result<Vec<(i64, OutOfSyncRecord)>, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_states_are_stored_by_their_wire_names_and_read_back() {
        let err = "done".parse::<OrderState>().unwrap_err();
        for state in OrderState::ALL {
            let json = serde_json::to_string(&state).unwrap();
            assert_eq!(json, format!("\"{}\"", state.as_str()));
            assert_eq!(state.as_str().parse::<OrderState>(), Ok(state));
            assert!(err.expected.contains(state.as_str()), "{state:?} is listed");
        }
        assert_eq!(
            "done".parse::<OrderState>().unwrap_err().to_string(),
            "unknown order state \"done\": expected pending, unknown, new, partially_filled, \
             filled, canceled, rejected, expired or failed"
        );
    }
}
