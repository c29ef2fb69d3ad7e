//! One signal, many bots: plan an entry for three users with different sizing rules and
//! see who gets which order, and who is skipped and why.
//!
//! `cargo run -p nexus-examples --example fan_out`

use std::error::Error;

use chrono::{TimeZone, Utc};
use nexus_core::fanout::{BotConfig, PlanLimits, Signal, Subscription, plan};
use nexus_core::regime::Regime;
use nexus_core::regime::gate::{AdvisorInput, GateAction};
use nexus_core::sizing::{AccountSnapshot, SizingConfig, SizingMethod};
use nexus_core::{
    BotId, ExchangeId, Instrument, InstrumentFilters, MarketSnapshot, Quantity, SignalId, Ticker,
    UserId,
};
use uuid::Uuid;

fn main() -> Result<(), Box<dyn Error>> {
    // One market snapshot for the whole fan-out (ids and time come from the caller).
    let now = Utc
        .with_ymd_and_hms(2021, 4, 14, 0, 0, 0)
        .single()
        .ok_or("bad time")?;
    let symbol = "BTC/USDT".parse()?;
    let mut snapshot = MarketSnapshot::new(ExchangeId::Binance, now);
    snapshot.insert_ticker(Ticker::new(
        symbol,
        "63999.99".parse()?,
        "64000".parse()?,
        "64000".parse()?,
        now,
    )?);
    snapshot.insert_instrument(Instrument::new(
        ExchangeId::Binance,
        symbol,
        InstrumentFilters {
            tick_size: "0.01".parse()?,
            step_size: "0.00001".parse()?,
            min_qty: "0.00001".parse()?,
            max_qty: Some("9000".parse()?),
            min_notional: "5".parse()?,
        },
    )?);

    let sized = |method| BotConfig {
        sizing: SizingConfig {
            method,
            ..SizingConfig::default()
        },
        ..BotConfig::default()
    };
    let fixed = sized(SizingMethod::FixedQuote {
        amount: "500".parse()?,
    });
    let share = sized(SizingMethod::PercentOfEquity {
        percent: "20".parse()?,
    });
    let account = |equity: &str, free: &str| -> Result<AccountSnapshot, Box<dyn Error>> {
        Ok(AccountSnapshot {
            equity: equity.parse()?,
            free_quote: free.parse()?,
            free_base: Quantity::ZERO,
        })
    };
    let subscription = |n: u128, config, account| Subscription {
        user: UserId::new(Uuid::from_u128(n)),
        bot: BotId::new(Uuid::from_u128(100 + n)),
        exchange: ExchangeId::Binance,
        config,
        account,
        position: None,
        limits: PlanLimits::default(),
        paused: false,
    };
    let subscriptions = [
        subscription(1, &fixed, account("10000", "10000")?),
        subscription(2, &share, account("2500", "2500")?),
        subscription(3, &fixed, account("3", "3")?),
    ];

    let signal = Signal {
        id: SignalId::new(Uuid::from_u128(0xBEEF)),
        exchange: ExchangeId::Binance,
        symbol,
        kind: GateAction::Entry,
        at: now,
        atr: None,
        regime: Some(Regime::Bull),
        advisor: AdvisorInput::NotAsked,
    };
    let out = plan(&signal, &snapshot, &subscriptions);
    for p in &out.plans {
        println!(
            "user {} buys {} BTC at ~{} (client order id {})",
            p.user,
            p.intent.quantity(),
            p.reference_price,
            p.client_order_id
        );
    }
    for s in &out.skips {
        println!(
            "user {} skipped: {}",
            s.user,
            serde_json::to_string(&s.reason)?
        );
    }
    Ok(())
}
