//! Execution accounting: what a venue's answer to one planned order means for the order's
//! record, its fill and the bot's position. The worker asks the venue and records what
//! these functions return; everything in between is decided here, without I/O, so it can
//! be tested exhaustively.
//!
//! - [`planned`]: the order's row before it is sent (its id follows from the client order
//!   id, so a replayed plan writes the same row).
//! - [`account`]: a venue's report → the order's new state, the fill that is new since the
//!   last report recorded, and the position opened, added to, reduced or closed.
//!   Reports are cumulative, so accounting the same report twice moves nothing.
//! - [`refusal`]: a venue's error → try again later, look the order up first, or record
//!   it as refused for good.

use std::time::Duration;

use uuid::Uuid;

use crate::Timestamp;
use crate::error::{ExchangeError, MoneyError};
use crate::fanout::ExecutionPlan;
use crate::ids::ClientOrderId;
use crate::money::{Price, Quantity};
use crate::order::{OrderReport, OrderStatus};
use crate::ports::activity::{Execution, FillRecord, OrderRecord, OrderState, PositionChange};
use crate::position::Position;
use crate::regime::gate::GateAction;

/// Why a report cannot be accounted. Each is a bug or a venue breaking its contract, so
/// the worker retries and, failing that, dead-letters the order with this message; a
/// position is never left silently wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecutionError {
    /// The report is about another order.
    #[error("the venue's report is for order {reported}, not {expected}")]
    OtherOrder {
        /// The plan's client order id.
        expected: ClientOrderId,
        /// The report's.
        reported: ClientOrderId,
    },
    /// The venue reports less filled than an earlier report did.
    #[error(
        "order {order}: the venue reports {reported} filled, less than the {recorded} already recorded"
    )]
    FillWentBack {
        /// The order.
        order: ClientOrderId,
        /// Filled according to the recorded report.
        recorded: Quantity,
        /// Filled according to this one.
        reported: Quantity,
    },
    /// Something filled, but the report has no price for it.
    #[error("order {order}: {filled} filled without an average price")]
    NoPrice {
        /// The order.
        order: ClientOrderId,
        /// What filled.
        filled: Quantity,
    },
    /// The position could not take the fill (an empty opening fill, or an overflow).
    #[error("order {order}: the bot's position cannot take the fill: {source}")]
    Position {
        /// The order.
        order: ClientOrderId,
        /// Why.
        #[source]
        source: MoneyError,
    },
}

/// What a venue's refusal means for the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Nothing was placed and trying again later can succeed (rate limited, venue
    /// unavailable); after `retry_after` when the venue said.
    Retry {
        /// How long the venue asked us to wait.
        retry_after: Option<Duration>,
    },
    /// The order may or may not have been placed: record it as
    /// [`OrderState::Unknown`] and look it up by its client order id before placing again.
    LookUp,
    /// Refused for good: record it in this state ([`OrderState::Rejected`] when the venue
    /// turned the order down, [`OrderState::Failed`] when it could not take it).
    Final(OrderState),
}

/// What a venue's error means for an order: see [`Refusal`].
#[must_use]
pub fn refusal(error: &ExchangeError) -> Refusal {
    match error {
        ExchangeError::OutcomeUnknown { .. } => Refusal::LookUp,
        ExchangeError::RateLimited { retry_after, .. }
        | ExchangeError::Banned { retry_after, .. } => Refusal::Retry {
            retry_after: *retry_after,
        },
        ExchangeError::Transient { .. } => Refusal::Retry { retry_after: None },
        ExchangeError::Rejected { .. } | ExchangeError::InsufficientBalance { .. } => {
            Refusal::Final(OrderState::Rejected)
        }
        ExchangeError::Auth { .. } | ExchangeError::Decode { .. } => {
            Refusal::Final(OrderState::Failed)
        }
    }
}

/// The row of a planned order before it is sent: pending, nothing filled. Its id follows
/// from the client order id, so a replayed plan writes the same row.
#[must_use]
pub fn planned(plan: &ExecutionPlan, now: Timestamp) -> OrderRecord {
    OrderRecord {
        id: order_id(&plan.client_order_id),
        bot: plan.bot,
        user: plan.user,
        signal: plan.signal,
        client_order_id: plan.client_order_id,
        exchange: plan.exchange,
        symbol: plan.intent.symbol(),
        side: plan.intent.side(),
        order_type: plan.intent.order_type(),
        quantity: plan.intent.quantity(),
        limit_price: plan.intent.limit_price(),
        level: plan.level,
        state: OrderState::Pending,
        venue_order_id: None,
        filled_quantity: Quantity::ZERO,
        average_price: None,
        error: None,
        created_at: now,
        updated_at: now,
    }
}

/// The row id of the order with `client_order_id`: the id itself when it is a UUIDv7
/// (as [`ClientOrderId::derive`] makes for bots with time-ordered ids, so the order's keys
/// sort as its bot does), otherwise a UUIDv5 of its text (ids of earlier releases keep the
/// row ids they were recorded with).
#[must_use]
pub fn order_id(client_order_id: &ClientOrderId) -> Uuid {
    match Uuid::try_parse(client_order_id.as_str()) {
        Ok(id) if id.get_version_num() == 7 => id,
        _ => Uuid::new_v5(&Uuid::NAMESPACE_OID, client_order_id.as_str().as_bytes()),
    }
}

/// The order as recorded after a refusal: `state`, with the venue's error for people.
#[must_use]
pub fn refused(
    order: &OrderRecord,
    state: OrderState,
    error: &impl std::fmt::Display,
    now: Timestamp,
) -> Execution {
    let mut order = order.clone();
    order.state = state;
    order.error = Some(error.to_string());
    order.updated_at = now;
    Execution {
        order,
        fill: None,
        position: None,
    }
}

/// What recording a report writes, and the bot's position after it (for the next order of
/// the same bot in the same batch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accounted {
    /// The order's update, its new fill and the position change.
    pub execution: Execution,
    /// The bot's open position after the fill (`None`: none, or closed).
    pub position: Option<Position>,
}

/// Accounts `report`, the venue's answer about `plan`'s order, against `recorded` (the
/// order as last recorded) and `open` (the bot's open position), at `now`.
///
/// Reports are cumulative: only what filled since `recorded` is a new fill (so the same
/// report twice moves nothing), at the price that makes the order's average come out as
/// reported. A fee taken in the base asset is subtracted once, from what an entry holds.
/// An exit reduces the position by what it sold, never below zero, and closes it when the
/// sale is complete.
///
/// # Errors
/// [`ExecutionError`] when the report contradicts the plan or what was recorded, or the
/// position cannot take the fill.
pub fn account(
    plan: &ExecutionPlan,
    recorded: &OrderRecord,
    report: &OrderReport,
    open: Option<Position>,
    now: Timestamp,
) -> Result<Accounted, ExecutionError> {
    let id = plan.client_order_id;
    if report.client_order_id != id {
        return Err(ExecutionError::OtherOrder {
            expected: id,
            reported: report.client_order_id,
        });
    }
    if report.filled_quantity < recorded.filled_quantity {
        return Err(ExecutionError::FillWentBack {
            order: id,
            recorded: recorded.filled_quantity,
            reported: report.filled_quantity,
        });
    }
    let mut order = recorded.clone();
    order.state = report.status.into();
    order.venue_order_id = Some(report.venue_order_id.clone());
    order.filled_quantity = report.filled_quantity;
    order.average_price = report.average_price.or(recorded.average_price);
    order.error = None;
    order.updated_at = now;

    let new = report
        .filled_quantity
        .saturating_sub(recorded.filled_quantity);
    if new.is_zero() {
        let unchanged = Execution {
            order,
            fill: None,
            position: None,
        };
        return Ok(Accounted {
            execution: unchanged,
            position: open,
        });
    }
    let average = report.average_price.ok_or(ExecutionError::NoPrice {
        order: id,
        filled: new,
    })?;
    let price = price_of_new(recorded, report, average, new);
    // The report's fee is for everything filled so far; the new fill's share of it.
    let fee = Quantity::new(report.fee.value() * new.value() / report.filled_quantity.value())
        .unwrap_or(Quantity::ZERO);
    let fill = FillRecord {
        order: order.id,
        // Keyed by the cumulative amount: the same report twice is one fill.
        venue_trade_id: format!("{}:{}", report.venue_order_id, report.filled_quantity),
        quantity: new,
        price,
        fee,
        fee_asset: report.fee_asset,
        filled_at: report.updated_at,
    };
    let position_error = |source| ExecutionError::Position { order: id, source };
    let (change, after) = match (plan.action, open) {
        (GateAction::Entry | GateAction::Add, open) => {
            // A fee taken in the base asset leaves less to hold.
            let held = if report.fee_asset == Some(plan.intent.symbol().base()) {
                new.saturating_sub(fee)
            } else {
                new
            };
            let position = match open {
                None => Position::open(plan.intent.symbol(), held, price, report.updated_at)
                    .map_err(position_error)?,
                Some(mut position) => {
                    position
                        .add(held, price, report.updated_at)
                        .map_err(position_error)?;
                    position
                }
            };
            (Some(PositionChange::Save(position)), Some(position))
        }
        (GateAction::Exit, Some(mut position)) => {
            position.reduce(new);
            if position.quantity().is_zero() || report.status == OrderStatus::Filled {
                (Some(PositionChange::Close { dust: plan.dust }), None)
            } else {
                (Some(PositionChange::Save(position)), Some(position))
            }
        }
        // An exit filling for a position already closed (by an earlier report of the
        // same sale): nothing left to reduce.
        (GateAction::Exit, None) => (None, None),
    };
    Ok(Accounted {
        execution: Execution {
            order,
            fill: Some(fill),
            position: change,
        },
        position: after,
    })
}

/// The price of what filled since `recorded`, so that the order's average is `average`:
/// `(average × filled − recorded average × recorded filled) ÷ new`, or the average itself
/// when nothing was recorded (or the venue's rounding makes that meaningless).
fn price_of_new(
    recorded: &OrderRecord,
    report: &OrderReport,
    average: Price,
    new: Quantity,
) -> Price {
    let Some(before) = recorded.average_price else {
        return average;
    };
    if recorded.filled_quantity.is_zero() {
        return average;
    }
    let total = average.value() * report.filled_quantity.value();
    let earlier = before.value() * recorded.filled_quantity.value();
    Price::new((total - earlier) / new.value()).unwrap_or(average)
}

#[cfg(test)]
mod tests;
