//! Backtests: the live decision path — regime gate, strategy, pyramiding, sizing, fan-out —
//! replayed over candles for one simulated account, with fills at the close plus slippage
//! and fees (buys pay their fee in the base asset, as on Binance by default, so exits meet
//! real dust).
//!
//! Deterministic: the same candles and configuration give the same report; signal ids are
//! numbered by candle from 1, and time is the candles' own.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use uuid::Uuid;

use crate::Timestamp;
use crate::error::{
    GatePolicyError, InstrumentError, PyramidConfigError, RegimeConfigError, SizingConfigError,
};
use crate::fanout::{
    BotConfig, ExecutionPlan, FanOut, PlanLimits, Signal, SkipReason, Subscription, plan_into,
};
use crate::ids::{BotId, SignalId, UserId};
use crate::instrument::{ExchangeId, Instrument, InstrumentFilters, Symbol};
use crate::market::{Candle, MarketSnapshot, Ticker};
use crate::money::{Notional, Percent, Price, Quantity};
use crate::order::Side;
use crate::position::Position;
use crate::regime::gate::{AdvisorInput, GateAction};
use crate::regime::indicators::Bar;
use crate::regime::{Regime, RegimeClassifier, RegimeConfig};
use crate::sizing::AccountSnapshot;
use crate::strategy::Strategy;

/// How the simulated account trades.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BacktestConfig {
    /// Starting balance in quote currency. Default 10 000.
    #[serde(deserialize_with = "crate::serde_num::number")]
    pub initial_quote: Notional,
    /// Fee per fill, percent of its value. Default 0.1.
    #[serde(deserialize_with = "crate::serde_num::number")]
    pub fee_pct: Percent,
    /// Adverse slippage per fill, percent of the price. Default 0.05.
    #[serde(deserialize_with = "crate::serde_num::number")]
    pub slippage_pct: Percent,
    /// Whether the regime gate applies (`--no-gate` turns it off). Default true.
    pub gate: bool,
    /// The pair traded.
    pub symbol: Symbol,
    /// The venue's filters for it, as decimal strings. Default: Binance BTC/USDT's.
    pub filters: InstrumentFilters,
}

impl Default for BacktestConfig {
    fn default() -> Self {
        // Literals that are valid by construction: `expect` documents it.
        let price = |m, scale| Price::new(Decimal::new(m, scale)).expect("a positive literal");
        let qty = |m, scale| Quantity::new(Decimal::new(m, scale)).expect("a valid literal");
        let money = |m| Notional::new(Decimal::new(m, 0)).expect("a valid literal");
        Self {
            initial_quote: money(10_000),
            fee_pct: Percent::from_bps(10),
            slippage_pct: Percent::from_bps(5),
            gate: true,
            symbol: "BTC/USDT".parse().expect("a valid literal"),
            filters: InstrumentFilters {
                tick_size: price(1, 2),
                step_size: qty(1, 5),
                min_qty: qty(1, 5),
                max_qty: Some(qty(9000, 0)),
                min_notional: money(5),
            },
        }
    }
}

/// The bot configuration the trend breakout is designed for, and `nexus backtest`'s
/// default: risk 1 % of equity per unit with the stop 2 ATR away, then up to 3 adds of one
/// unit each every 0.5 ATR above the last fill, the whole position capped at the equity.
#[must_use]
pub fn trend_bot() -> BotConfig {
    use crate::pyramid::{ExposureCap, LevelConfig, PyramidConfig, Trigger, TriggerAnchor};
    use crate::sizing::{SizingConfig, SizingMethod, StopDistance};
    BotConfig {
        sizing: SizingConfig {
            method: SizingMethod::Risk {
                risk_percent: Percent::from_bps(100),
                stop: StopDistance::AtrMultiple(Decimal::TWO),
            },
            ..SizingConfig::default()
        },
        pyramid: PyramidConfig {
            max_adds: 3,
            anchor: TriggerAnchor::LastFill,
            levels: vec![LevelConfig {
                trigger: Trigger::Atr(Decimal::new(5, 1)),
                size_multiplier: Decimal::ONE,
            }],
            cooldown_secs: 0,
            max_exposure: Some(ExposureCap::PercentOfEquity(Percent::from_bps(10_000))),
        },
        ..BotConfig::default()
    }
}

/// The backtest cannot run.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BacktestError {
    /// No candles.
    #[error("no candles to backtest")]
    NoCandles,
    /// The regime configuration is invalid.
    #[error("regime: {0}")]
    Regime(#[from] RegimeConfigError),
    /// The pyramid configuration is invalid.
    #[error("pyramid: {0}")]
    Pyramid(#[from] PyramidConfigError),
    /// The sizing rules are out of range.
    #[error("sizing: {0}")]
    Sizing(#[from] SizingConfigError),
    /// The gate policy is invalid.
    #[error("gate: {0}")]
    Gate(#[from] GatePolicyError),
    /// The filters are invalid.
    #[error("filters: {0}")]
    Filters(#[from] InstrumentError),
}

/// One simulated fill.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fill {
    /// The candle it filled on.
    pub timestamp: Timestamp,
    /// Entry, add or exit.
    pub action: GateAction,
    /// Buy or sell.
    pub side: Side,
    /// Pyramid level: 0 for entries and exits, 1.. for adds.
    pub level: u32,
    /// Base quantity.
    pub quantity: Quantity,
    /// Fill price, slippage included.
    pub price: Price,
    /// Fee paid.
    pub fee: Decimal,
    /// `base` for buys, `quote` for sells.
    pub fee_asset: &'static str,
    /// Base left unsold by an exit (dust).
    pub dust: Quantity,
    /// The regime at the time.
    pub regime: Option<Regime>,
    /// The strategy's reason.
    pub reason: &'static str,
}

/// The account's value at one candle's close.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EquityPoint {
    /// The candle.
    pub timestamp: Timestamp,
    /// Quote balance + base balance × close.
    pub equity: f64,
    /// Percent below the running peak (≥ 0).
    pub drawdown_pct: f64,
    /// Whether a position was open after the candle.
    pub in_position: bool,
    /// The regime at the time.
    pub regime: Option<Regime>,
}

/// The headline figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BacktestSummary {
    /// Closed round trips (entry … exit).
    pub trades: usize,
    /// Final equity over the initial balance, in percent.
    pub total_return_pct: f64,
    /// Largest fall of equity from a running peak, in percent.
    pub max_drawdown_pct: f64,
    /// Share of candles with a position open, in percent.
    pub exposure_pct: f64,
    /// Share of round trips that made money, in percent.
    pub win_rate_pct: f64,
    /// Entry and add signals the regime gate blocked.
    pub gate_blocked: usize,
    /// Entry and add signals a replayed advisor verdict blocked (see [`run_advised`]).
    #[serde(default)]
    pub advisor_blocked: usize,
    /// Entry and add signals without a replayed verdict: counted as no opinion.
    #[serde(default)]
    pub advisor_missing: usize,
    /// Fills (entries, adds, exits).
    pub fills: usize,
    /// Equity at the end.
    pub final_equity: f64,
    /// Buying at the first close and holding, for comparison, in percent.
    pub buy_and_hold_return_pct: f64,
    /// First candle.
    pub start: Timestamp,
    /// Last candle.
    pub end: Timestamp,
}

/// Everything a backtest produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BacktestReport {
    /// The headline figures.
    pub summary: BacktestSummary,
    /// Every fill.
    pub fills: Vec<Fill>,
    /// Equity after every candle.
    pub equity: Vec<EquityPoint>,
}

struct Account {
    quote: Decimal,
    base: Decimal,
    position: Option<Position>,
    round_trip_cost: Decimal,
}

/// Runs `strategy` over `candles` through the live decision path.
///
/// # Errors
/// [`BacktestError`] for no candles or an invalid configuration.
pub fn run(
    candles: &[Candle],
    strategy: &mut dyn Strategy,
    bot: &BotConfig,
    regime: RegimeConfig,
    config: &BacktestConfig,
) -> Result<BacktestReport, BacktestError> {
    run_advised(candles, strategy, bot, regime, config, None)
}

/// Recorded advisor verdicts: the opinion on an entry or add at a candle's open time, or
/// `None` when none was recorded.
pub type AdvisorReplay<'a> = &'a dyn Fn(Timestamp, GateAction) -> Option<AdvisorInput>;

/// [`run`], with each entry's and add's advisor opinion taken from `replay` (recorded
/// verdicts: nothing is asked); a signal without one counts as no opinion, and the summary
/// says how many.
///
/// # Errors
/// [`BacktestError`] for no candles or an invalid configuration.
pub fn run_advised(
    candles: &[Candle],
    strategy: &mut dyn Strategy,
    bot: &BotConfig,
    regime: RegimeConfig,
    config: &BacktestConfig,
    replay: Option<AdvisorReplay<'_>>,
) -> Result<BacktestReport, BacktestError> {
    let (Some(first), Some(last)) = (candles.first(), candles.last()) else {
        return Err(BacktestError::NoCandles);
    };
    bot.gate.validate()?;
    bot.sizing.validate()?;
    bot.pyramid.validate()?;
    let mut classifier = RegimeClassifier::new(regime)?;
    let instrument = Instrument::new(ExchangeId::Paper, config.symbol, config.filters)?;
    let mut bot = bot.clone();
    if !config.gate {
        bot.gate.entry_regimes = Regime::ALL.to_vec();
        bot.gate.add_regimes = Regime::ALL.to_vec();
    }
    let ids = (
        UserId::new(Uuid::from_u128(1)),
        BotId::new(Uuid::from_u128(1)),
    );
    let (fee, slip) = (config.fee_pct.fraction(), config.slippage_pct.fraction());
    let mut account = Account {
        quote: config.initial_quote.value(),
        base: Decimal::ZERO,
        position: None,
        round_trip_cost: Decimal::ZERO,
    };
    let (mut fills, mut equity) = (Vec::new(), Vec::with_capacity(candles.len()));
    let (mut wins, mut trades, mut gate_blocked, mut exposed) = (0usize, 0usize, 0usize, 0usize);
    let (mut advisor_blocked, mut advisor_missing) = (0usize, 0usize);
    let mut out = FanOut::default();
    let mut peak = f64::MIN;
    let mut max_drawdown = 0.0f64;

    for (number, candle) in (1u128..).zip(candles) {
        let classification = classifier.update(&Bar::from(candle));
        let regime = match (classification, config.gate) {
            (Some(c), _) => Some(c.regime),
            // Without the gate, warm-up does not block either.
            (None, false) => Some(Regime::Sideways),
            (None, true) => None,
        };
        if let Some(decision) = strategy.on_candle(candle) {
            let at = candle.open_time();
            let mut snapshot = MarketSnapshot::new(ExchangeId::Paper, at);
            let close = candle.close();
            if let Ok(ticker) = Ticker::new(config.symbol, close, close, close, at) {
                snapshot.insert_ticker(ticker);
            }
            snapshot.insert_instrument(instrument);
            let signal = Signal {
                id: SignalId::new(Uuid::from_u128(number)),
                exchange: ExchangeId::Paper,
                symbol: config.symbol,
                kind: decision.kind,
                at,
                atr: decision.atr,
                regime,
                advisor: AdvisorInput::NotAsked,
            };
            let signal = match replay {
                Some(replay) if decision.kind != GateAction::Exit => {
                    match replay(at, decision.kind) {
                        Some(advisor) => {
                            if matches!(&advisor, AdvisorInput::Opinion { opinion } if opinion.verdict == crate::regime::advisor::AdvisorVerdict::Block)
                            {
                                advisor_blocked += 1;
                            }
                            Signal { advisor, ..signal }
                        }
                        None => {
                            advisor_missing += 1;
                            signal
                        }
                    }
                }
                _ => signal,
            };
            let close_value = close.value();
            let subscription = Subscription {
                user: ids.0,
                bot: ids.1,
                exchange: ExchangeId::Paper,
                config: &bot,
                account: AccountSnapshot {
                    equity: Notional::new(account.quote + account.base * close_value)
                        .unwrap_or(Notional::ZERO),
                    free_quote: Quantity::new(account.quote).unwrap_or(Quantity::ZERO),
                    free_base: Quantity::new(account.base).unwrap_or(Quantity::ZERO),
                },
                position: account.position,
                limits: PlanLimits::default(),
                paused: false,
            };
            plan_into(&signal, &snapshot, &[subscription], &mut out);
            for skip in &out.skips {
                match skip.reason {
                    SkipReason::Gate { .. } => gate_blocked += 1,
                    // All dust: the position closes without an order.
                    SkipReason::Dust { .. } if account.position.take().is_some() => trades += 1,
                    _ => {}
                }
            }
            for plan in &out.plans {
                let was_open = account.position.is_some();
                let fill = execute(plan, &mut account, (fee, slip), at, regime, decision.reason);
                if let Some(fill) = fill {
                    // A fill that closed the position ends a round trip.
                    if was_open && account.position.is_none() {
                        trades += 1;
                        wins += usize::from(account.round_trip_cost < Decimal::ZERO);
                        account.round_trip_cost = Decimal::ZERO;
                    }
                    fills.push(fill);
                }
            }
        }
        let value = (account.quote + account.base * candle.close().value())
            .to_f64()
            .unwrap_or(0.0);
        peak = peak.max(value);
        let drawdown = if peak > 0.0 {
            (peak - value) / peak * 100.0
        } else {
            0.0
        };
        max_drawdown = max_drawdown.max(drawdown);
        let in_position = account.position.is_some();
        exposed += usize::from(in_position);
        equity.push(EquityPoint {
            timestamp: candle.open_time(),
            equity: value,
            drawdown_pct: drawdown,
            in_position,
            regime,
        });
    }

    let initial = config.initial_quote.value().to_f64().unwrap_or(0.0);
    let final_equity = equity.last().map_or(initial, |p| p.equity);
    let pct = |part: f64, whole: f64| {
        if whole > 0.0 {
            part / whole * 100.0
        } else {
            0.0
        }
    };
    let first_close = first.close().value().to_f64().unwrap_or(0.0);
    let last_close = last.close().value().to_f64().unwrap_or(0.0);
    let summary = BacktestSummary {
        trades,
        total_return_pct: pct(final_equity - initial, initial),
        max_drawdown_pct: max_drawdown,
        exposure_pct: pct(exposed as f64, candles.len() as f64),
        win_rate_pct: pct(wins as f64, trades as f64),
        gate_blocked,
        advisor_blocked,
        advisor_missing,
        fills: fills.len(),
        final_equity,
        buy_and_hold_return_pct: pct(last_close - first_close, first_close),
        start: first.open_time(),
        end: last.open_time(),
    };
    Ok(BacktestReport {
        summary,
        fills,
        equity,
    })
}

/// Fills one plan on the simulated account: the price moves against us by the slippage,
/// buys pay their fee in base, sells in quote. `round_trip_cost` goes negative when a
/// round trip made money.
fn execute(
    plan: &ExecutionPlan,
    account: &mut Account,
    (fee, slippage): (Decimal, Decimal),
    at: Timestamp,
    regime: Option<Regime>,
    reason: &'static str,
) -> Option<Fill> {
    let quantity = plan.intent.quantity();
    let q = quantity.value();
    let reference = plan.reference_price.value();
    let (price, fee_paid) = match plan.intent.side() {
        Side::Buy => {
            let price = Price::new(reference * (Decimal::ONE + slippage)).ok()?;
            let cost = q * price.value();
            if cost > account.quote {
                return None; // sizing's fee reserve covers slippage; never overdraw
            }
            let fee_base = q * fee;
            account.quote -= cost;
            account.base += q - fee_base;
            account.round_trip_cost += cost;
            match account.position.as_mut() {
                Some(position) => position.add(quantity, price, at).ok()?,
                None => {
                    account.position =
                        Position::open(plan.intent.symbol(), quantity, price, at).ok()
                }
            }
            (price, fee_base)
        }
        Side::Sell => {
            let price = Price::new(reference * (Decimal::ONE - slippage)).ok()?;
            let proceeds = q * price.value();
            let fee_quote = proceeds * fee;
            account.base -= q.min(account.base);
            account.quote += proceeds - fee_quote;
            account.round_trip_cost -= proceeds - fee_quote;
            if let Some(position) = account.position.as_mut() {
                position.reduce(quantity.checked_add(plan.dust).unwrap_or(quantity));
                if !position.is_open() {
                    account.position = None;
                }
            }
            (price, fee_quote)
        }
    };
    Some(Fill {
        timestamp: at,
        action: plan.action,
        side: plan.intent.side(),
        level: plan.level,
        quantity,
        price,
        fee: fee_paid.normalize(),
        fee_asset: if plan.intent.side() == Side::Buy {
            "base"
        } else {
            "quote"
        },
        dust: plan.dust,
        regime,
        reason,
    })
}

#[cfg(test)]
mod tests;
