//! Fan-out: one signal, every subscribed bot's order.
//!
//! [`plan`] turns a [`Signal`] and one [`MarketSnapshot`] into an [`ExecutionPlan`] or a
//! [`Skip`] for each [`Subscription`], in order:
//!
//! 1. paused bot or inactive plan → skip;
//! 2. the bot's venue must be the snapshot's, and the snapshot must have the symbol;
//! 3. the gate, with the bot's [`GatePolicy`] (exits are never blocked);
//! 4. entry: only when flat, sized by the bot's sizing rules; add: only when a pyramid
//!    level is due; exit: sells what is held, dust closes the position;
//! 5. filter rounding (inside sizing) — a planned order always passes the instrument's
//!    filters.
//!
//! No I/O, no clock (the signal carries its time), no allocation per bot beyond the output
//! itself. Client order ids are derived from (signal, bot, level), so planning the same
//! signal twice gives the same ids, and a retried job finds its order.

use std::num::NonZeroUsize;
use std::slice::Chunks;

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::error::BotConfigError;
use crate::ids::{BotId, ClientOrderId, SignalId, UserId};
use crate::instrument::{ExchangeId, Symbol};
use crate::market::MarketSnapshot;
use crate::money::{Notional, Price, Quantity};
use crate::order::{OrderIntent, Side};
use crate::position::Position;
use crate::pyramid::{NoAdd, PyramidConfig};
use crate::regime::Regime;
use crate::regime::gate::{AdvisorInput, GateAction, GateBlock, GateInputs, GatePolicy};
use crate::sizing::{
    AccountSnapshot, EntryKind, EntryRequest, PositionSizer, SizingConfig, SizingRejection,
    size_exit,
};

/// What a strategy (or an outside signal) wants every subscribed bot to do.
pub type SignalKind = GateAction;

/// One decision, shared by every bot subscribed to its strategy and symbol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    /// Its id (made by the caller): part of every client order id it leads to.
    pub id: SignalId,
    /// The venue.
    pub exchange: ExchangeId,
    /// The pair.
    pub symbol: Symbol,
    /// Entry, pyramid add or exit.
    pub kind: SignalKind,
    /// When it was decided; market-data age and pyramid cooldowns are measured from it.
    pub at: Timestamp,
    /// The ATR at decision time, for ATR-based sizing and pyramid triggers.
    pub atr: Option<Price>,
    /// The market regime at decision time (`None`: unknown).
    pub regime: Option<Regime>,
    /// The advisor's answer, asked once for the whole signal.
    pub advisor: AdvisorInput,
}

/// A bot's trading configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BotConfig {
    /// When the bot may trade.
    pub gate: GatePolicy,
    /// How big its orders are.
    pub sizing: SizingConfig,
    /// How it adds to winners (or averages down).
    pub pyramid: PyramidConfig,
}

impl BotConfig {
    /// Checks every section against its documented ranges (see
    /// [`GatePolicy::validate`], [`SizingConfig::validate`], [`PyramidConfig::validate`]),
    /// where a configuration comes in: the API, a backtest's file. Planning does not check
    /// again (it runs per bot and signal), but its arithmetic is checked, so a
    /// configuration that bypassed this is sized by its own numbers, or skipped, and never
    /// panics.
    ///
    /// ```
    /// use nexus_core::fanout::BotConfig;
    ///
    /// let mut config = BotConfig::default();
    /// config.validate()?;
    /// config.gate.max_data_age_secs = 0;
    /// assert_eq!(
    ///     config.validate().unwrap_err().to_string(),
    ///     "gate.max_data_age_secs: must be between 1 and 86400 (one day), got 0"
    /// );
    /// # Ok::<(), nexus_core::BotConfigError>(())
    /// ```
    ///
    /// # Errors
    /// A [`BotConfigError`] whose text starts with the field's path.
    pub fn validate(&self) -> Result<(), BotConfigError> {
        self.gate.validate()?;
        self.sizing.validate()?;
        self.pyramid.validate()?;
        Ok(())
    }
}

/// What the user's billing plan allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanLimits {
    /// The subscription is paid up and allows trading.
    pub active: bool,
    /// The largest order value the plan allows.
    pub max_order_notional: Option<Notional>,
}

impl Default for PlanLimits {
    fn default() -> Self {
        Self {
            active: true,
            max_order_notional: None,
        }
    }
}

/// One bot subscribed to the signal's strategy and symbol, with everything planning needs.
#[derive(Debug, Clone, Copy)]
pub struct Subscription<'a> {
    /// The bot's owner.
    pub user: UserId,
    /// The bot.
    pub bot: BotId,
    /// The venue the bot trades on.
    pub exchange: ExchangeId,
    /// The bot's configuration (usually shared by many bots).
    pub config: &'a BotConfig,
    /// The account's equity and free balances.
    pub account: AccountSnapshot,
    /// The bot's open position in the symbol, if any.
    pub position: Option<Position>,
    /// The user's plan.
    pub limits: PlanLimits,
    /// Whether the user paused the bot.
    pub paused: bool,
}

/// An order to place for one bot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionPlan {
    /// The signal it comes from.
    pub signal: SignalId,
    /// The bot's owner.
    pub user: UserId,
    /// The bot.
    pub bot: BotId,
    /// The venue.
    pub exchange: ExchangeId,
    /// Entry, add or exit.
    pub action: SignalKind,
    /// The order.
    pub intent: OrderIntent,
    /// Derived from (signal, bot, level): placing is idempotent.
    pub client_order_id: ClientOrderId,
    /// 0 for an entry or exit; 1.. for pyramid adds.
    pub level: u32,
    /// The snapshot price it was sized at (ask for buys, bid for sells).
    pub reference_price: Price,
    /// For exits: what is left unsold as dust (closed with the position).
    pub dust: Quantity,
    /// For exits: how much of the position the account does not hold (beyond the
    /// instrument's smallest sale). Non-zero means the position is out of sync with the
    /// venue: only what is held is sold, and the owner must be told.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub shortfall: Quantity,
}

fn is_zero(quantity: &Quantity) -> bool {
    quantity.is_zero()
}

/// Why a bot gets no order for this signal. Serialised with a stable `code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum SkipReason {
    /// The user paused the bot.
    Paused,
    /// The user's plan does not allow trading.
    PlanInactive,
    /// The bot trades on another venue than the signal's.
    OtherExchange {
        /// The bot's venue.
        exchange: ExchangeId,
    },
    /// The snapshot has no ticker or instrument for the symbol.
    NoMarketData,
    /// The gate blocked the action for this bot's policy.
    Gate {
        /// Why.
        block: GateBlock,
    },
    /// An entry signal for a bot that already holds a position.
    AlreadyInPosition,
    /// An add or exit signal for a bot with no position.
    NoPosition,
    /// No pyramid level is due.
    NoAdd {
        /// Why.
        reason: NoAdd,
    },
    /// No valid order fits.
    Sizing {
        /// Why.
        rejection: SizingRejection,
    },
    /// The whole position is dust: too small to sell. It is closed without an order.
    Dust {
        /// The dust left behind.
        quantity: Quantity,
    },
    /// The account holds too little of the position to sell any of it, and the difference
    /// is more than fees or rounding: the position is out of sync with the venue (sold
    /// elsewhere, or lost). It is closed, flagged for the owner and the operators, never
    /// taken for dust.
    OutOfSync {
        /// What the position says the bot holds.
        expected: Quantity,
        /// What the account holds.
        available: Quantity,
    },
}

impl SkipReason {
    /// Whether the bot's position should be closed anyway: all dust, or out of sync with
    /// nothing to sell (kept open, it would block the bot's every entry).
    #[must_use]
    pub const fn closes_position(&self) -> bool {
        matches!(self, Self::Dust { .. } | Self::OutOfSync { .. })
    }
}

/// A bot that gets no order, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skip {
    /// The bot's owner.
    pub user: UserId,
    /// The bot.
    pub bot: BotId,
    /// Why.
    pub reason: SkipReason,
}

/// The result of one fan-out.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FanOut {
    /// Orders to place, in subscription order.
    pub plans: Vec<ExecutionPlan>,
    /// Bots that get none, in subscription order.
    pub skips: Vec<Skip>,
}

impl FanOut {
    /// The plans in batches of `size`, one job-queue batch each.
    pub fn batches(&self, size: BatchSize) -> Chunks<'_, ExecutionPlan> {
        self.plans.chunks(size.get())
    }
}

/// How many plans go in one job-queue batch: 100 to 500, default 250.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "usize", into = "usize")]
pub struct BatchSize(NonZeroUsize);

impl BatchSize {
    /// The smallest batch size allowed.
    pub const MIN: usize = 100;
    /// The largest batch size allowed.
    pub const MAX: usize = 500;
    /// The default.
    pub const DEFAULT: Self = Self(NonZeroUsize::new(250).expect("250 is not zero"));

    /// A batch size within [`BatchSize::MIN`]..=[`BatchSize::MAX`].
    ///
    /// # Errors
    /// [`BatchSizeError::OutOfRange`](crate::error::BatchSizeError::OutOfRange), naming the
    /// allowed range.
    pub fn new(size: usize) -> Result<Self, crate::error::BatchSizeError> {
        match NonZeroUsize::new(size) {
            Some(n) if (Self::MIN..=Self::MAX).contains(&size) => Ok(Self(n)),
            _ => Err(crate::error::BatchSizeError::OutOfRange {
                size,
                min: Self::MIN,
                max: Self::MAX,
            }),
        }
    }

    /// The size.
    #[must_use]
    pub const fn get(self) -> usize {
        self.0.get()
    }
}

impl Default for BatchSize {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl TryFrom<usize> for BatchSize {
    type Error = crate::error::BatchSizeError;

    fn try_from(size: usize) -> Result<Self, Self::Error> {
        Self::new(size)
    }
}

impl From<BatchSize> for usize {
    fn from(size: BatchSize) -> Self {
        size.get()
    }
}

/// Plans `signal` for every subscription against one snapshot.
///
/// Every subscription ends up in exactly one of `plans` or `skips`, in order.
///
/// ```
/// use nexus_core::fanout::{plan, Signal};
/// use nexus_core::regime::gate::{AdvisorInput, GateAction};
/// use nexus_core::{ExchangeId, MarketSnapshot, SignalId};
///
/// let snapshot = MarketSnapshot::new(ExchangeId::Paper, chrono::DateTime::UNIX_EPOCH);
/// let signal = Signal {
///     id: SignalId::new(uuid::Uuid::from_u128(1)),
///     exchange: ExchangeId::Paper,
///     symbol: "BTC/USDT".parse()?,
///     kind: GateAction::Entry,
///     at: snapshot.taken_at(),
///     atr: None,
///     regime: None,
///     advisor: AdvisorInput::NotAsked,
/// };
/// let out = plan(&signal, &snapshot, &[]);
/// assert!(out.plans.is_empty() && out.skips.is_empty());
/// # Ok::<(), nexus_core::SymbolError>(())
/// ```
#[must_use]
pub fn plan(
    signal: &Signal,
    snapshot: &MarketSnapshot,
    subscriptions: &[Subscription<'_>],
) -> FanOut {
    let mut out = FanOut::default();
    plan_into(signal, snapshot, subscriptions, &mut out);
    out
}

/// [`plan`] into an existing [`FanOut`], whose buffers are cleared and reused: an engine
/// that fans out signal after signal allocates its output once, not per signal.
pub fn plan_into(
    signal: &Signal,
    snapshot: &MarketSnapshot,
    subscriptions: &[Subscription<'_>],
    out: &mut FanOut,
) {
    out.plans.clear();
    out.skips.clear();
    // Most subscriptions of a signal usually get an order: reserving once beats repeated
    // growth (and its copying) at a million bots.
    out.plans.reserve(subscriptions.len());
    // The signal-wide part of the gate's inputs; only the policy varies per bot.
    let gate = GateInputs {
        exchange: signal.exchange,
        symbol: signal.symbol,
        action: signal.kind,
        regime: signal.regime,
        confidence: None,
        data_age_ms: Some(u64::try_from(snapshot.age(signal.at).as_millis()).unwrap_or(u64::MAX)),
        advisor: signal.advisor.clone(),
    };
    let market = (snapshot.exchange() == signal.exchange)
        .then(|| {
            Some((
                snapshot.ticker(&signal.symbol)?,
                snapshot.instrument(&signal.symbol)?,
            ))
        })
        .flatten();
    for sub in subscriptions {
        match plan_one(signal, &gate, market, sub) {
            Ok(plan) => out.plans.push(plan),
            Err(reason) => out.skips.push(Skip {
                user: sub.user,
                bot: sub.bot,
                reason,
            }),
        }
    }
}

fn plan_one(
    signal: &Signal,
    gate: &GateInputs,
    market: Option<(&crate::Ticker, &crate::Instrument)>,
    sub: &Subscription<'_>,
) -> Result<ExecutionPlan, SkipReason> {
    if sub.paused {
        return Err(SkipReason::Paused);
    }
    if !sub.limits.active {
        return Err(SkipReason::PlanInactive);
    }
    if sub.exchange != signal.exchange {
        return Err(SkipReason::OtherExchange {
            exchange: sub.exchange,
        });
    }
    let (ticker, instrument) = market.ok_or(SkipReason::NoMarketData)?;
    if let Some(block) = sub.config.gate.first_block(gate) {
        return Err(SkipReason::Gate { block });
    }
    let position = sub.position.filter(Position::is_open);
    let sizer = PositionSizer::new(sub.config.sizing);
    let pyramid = &sub.config.pyramid;
    let entry = |kind, position_cost, level| {
        let price = ticker.price_for(Side::Buy);
        let sized = sizer
            .size_entry(&EntryRequest {
                instrument,
                price,
                account: sub.account,
                position_cost,
                kind,
                atr: signal.atr,
                exposure_cap: pyramid.max_exposure,
                max_order_notional: sub.limits.max_order_notional,
            })
            .map_err(|rejection| SkipReason::Sizing { rejection })?;
        Ok((sized.intent, level, price, Quantity::ZERO, Quantity::ZERO))
    };
    let (intent, level, reference_price, dust, shortfall) = match (signal.kind, position) {
        (GateAction::Entry, Some(_)) => return Err(SkipReason::AlreadyInPosition),
        (GateAction::Entry, None) => entry(EntryKind::Initial, Notional::ZERO, 0)?,
        (GateAction::Add | GateAction::Exit, None) => return Err(SkipReason::NoPosition),
        (GateAction::Add, Some(pos)) => {
            let add = pyramid
                .check_add(&pos, ticker.price_for(Side::Buy), signal.at, signal.atr)
                .map_err(|reason| SkipReason::NoAdd { reason })?;
            let kind = EntryKind::Add {
                multiplier: add.size_multiplier,
                initial_quantity: pos.initial_quantity(),
            };
            entry(kind, pos.cost(), add.level)?
        }
        (GateAction::Exit, Some(pos)) => {
            let price = ticker.price_for(Side::Sell);
            let exit = size_exit(instrument, pos.quantity(), sub.account.free_base, price);
            let Some(quantity) = exit.quantity else {
                if !exit.shortfall.is_zero() {
                    return Err(SkipReason::OutOfSync {
                        expected: pos.quantity(),
                        available: sub.account.free_base,
                    });
                }
                return Err(SkipReason::Dust {
                    quantity: exit.dust,
                });
            };
            let intent =
                OrderIntent::market(signal.symbol, Side::Sell, quantity).map_err(|_| {
                    SkipReason::Dust {
                        quantity: exit.dust,
                    }
                })?;
            (intent, 0, price, exit.dust, exit.shortfall)
        }
    };
    Ok(ExecutionPlan {
        signal: signal.id,
        user: sub.user,
        bot: sub.bot,
        exchange: sub.exchange,
        action: signal.kind,
        intent,
        client_order_id: ClientOrderId::derive(signal.id, sub.bot, level),
        level,
        reference_price,
        dust,
        shortfall,
    })
}

#[cfg(test)]
mod tests;
