//! Strategies in the server: one instance per (exchange, symbol, interval, strategy,
//! parameters), never one per user, fed each closed candle once. The built-in
//! `trend_breakout` always runs; an embedder may [register](Registry::register) its own.

use std::collections::HashMap;
use std::sync::Arc;

use nexus_core::ports::accounts::StrategyMarket;
use nexus_core::strategy::{Strategy, StrategySignal, TrendBreakout, TrendBreakoutConfig};
use nexus_core::{Candle, Timestamp};

/// A strategy's signal on a candle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decided {
    /// What it decided.
    pub signal: StrategySignal,
    /// The open time of the candle it decided on.
    pub candle: Timestamp,
}

struct Running {
    strategy: Box<dyn Strategy + Sync>,
    /// The open time of the newest candle fed.
    last: Option<Timestamp>,
}

/// The strategies of every active market.
#[derive(Default)]
pub struct Strategies {
    running: HashMap<StrategyMarket, Running>,
}

impl std::fmt::Debug for Strategies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Strategies")
            .field("markets", &self.running.len())
            .finish()
    }
}

/// Builds the strategy of a market (its parameters are `market.strategy_config`), or
/// `None` when they do not fit it.
pub type StrategyFactory =
    Arc<dyn Fn(&StrategyMarket) -> Option<Box<dyn Strategy + Sync>> + Send + Sync>;

/// The strategies the scheduler runs, by name: the built-in `trend_breakout`, and those
/// registered. (The API creates bots of the built-in strategies only; a bot of a
/// registered one is written to the store by its embedder.)
#[derive(Clone, Default)]
pub struct Registry {
    registered: HashMap<String, StrategyFactory>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("registered", &self.registered.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Registry {
    /// Runs `factory`'s strategy for markets whose strategy is `name` (the built-in one
    /// of that name, if any, is replaced).
    pub fn register(&mut self, name: &str, factory: StrategyFactory) {
        self.registered.insert(name.to_owned(), factory);
    }

    /// The strategy a market runs, if the scheduler runs it (webhook bots get their
    /// signals from outside).
    fn build(&self, market: &StrategyMarket) -> Option<Box<dyn Strategy + Sync>> {
        match self.registered.get(&market.strategy) {
            Some(factory) => factory(market),
            None => built_in(market),
        }
    }
}

/// A built-in strategy.
fn built_in(market: &StrategyMarket) -> Option<Box<dyn Strategy + Sync>> {
    match market.strategy.as_str() {
        "trend_breakout" => {
            let config: TrendBreakoutConfig = serde_json::from_str(&market.strategy_config)
                .map_err(|e| tracing::warn!(?market, error = %e, "unreadable strategy parameters"))
                .ok()?;
            TrendBreakout::new(config)
                .map_err(|e| tracing::warn!(?market, error = %e, "invalid strategy parameters"))
                .ok()
                .map(|s| Box::new(s) as Box<dyn Strategy + Sync>)
        }
        _ => None,
    }
}

impl Strategies {
    /// Feeds `market`'s strategy (built from `registry` the first time) the candles it has
    /// not seen (`candles` oldest first) and returns the signal of the newest one, if any.
    /// The first time a market is seen its history only warms the strategy up: a signal of
    /// the past is not acted on now.
    pub fn evaluate(
        &mut self,
        registry: &Registry,
        market: &StrategyMarket,
        candles: &[Candle],
    ) -> Option<Decided> {
        if !self.running.contains_key(market) {
            let strategy = registry.build(market)?;
            let mut running = Running {
                strategy,
                last: None,
            };
            for candle in candles {
                running.strategy.on_candle(candle);
            }
            running.last = candles.last().map(Candle::open_time);
            self.running.insert(market.clone(), running);
            return None;
        }
        let running = self.running.get_mut(market)?;
        let newest = candles.last()?.open_time();
        let mut decided = None;
        for candle in candles
            .iter()
            .filter(|c| running.last.is_none_or(|last| c.open_time() > last))
        {
            let signal = running.strategy.on_candle(candle);
            // Only the newest candle's decision is current; older ones (after a pause in
            // the data) only move the strategy's state along.
            decided = signal
                .filter(|_| candle.open_time() == newest)
                .map(|signal| Decided {
                    signal,
                    candle: candle.open_time(),
                });
        }
        running.last = Some(newest);
        decided
    }

    /// Whether `market`'s strategy is running (warmed up).
    #[must_use]
    pub fn knows(&self, market: &StrategyMarket) -> bool {
        self.running.contains_key(market)
    }

    /// Forgets `market`'s strategy (after it panicked: its state cannot be trusted); it is
    /// built afresh if the market is evaluated again.
    pub fn forget(&mut self, market: &StrategyMarket) {
        self.running.remove(market);
    }

    /// Forgets markets no active bot runs any more.
    pub fn retain(&mut self, active: &[StrategyMarket]) {
        self.running.retain(|market, _| active.contains(market));
    }
}

#[cfg(test)]
mod tests {
    use nexus_core::fanout::SignalKind;
    use nexus_core::{ExchangeId, Interval, Price, Quantity};

    use super::*;

    fn market(config: &str) -> StrategyMarket {
        StrategyMarket {
            exchange: ExchangeId::Paper,
            symbol: "BTC/USDT".parse().unwrap(),
            interval: Interval::D1,
            strategy: "trend_breakout".into(),
            strategy_config: config.into(),
        }
    }

    fn candles(closes: &[i64]) -> Vec<Candle> {
        let t0 = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        closes
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let p = |d: i64| Price::new(rust_decimal::Decimal::from(d)).unwrap();
                Candle::new(
                    t0 + chrono::Duration::days(i64::try_from(i).unwrap()),
                    p(*c),
                    p(*c + 1),
                    p(*c - 1),
                    p(*c),
                    Quantity::new(rust_decimal::Decimal::ONE).unwrap(),
                )
                .unwrap()
            })
            .collect()
    }

    #[test]
    fn history_warms_up_and_only_a_new_candle_signals() {
        let config = r#"{"entry_period":5,"exit_period":3,"atr_period":3}"#;
        let m = market(config);
        let mut strategies = Strategies::default();
        let registry = Registry::default();
        // A breakout inside the history is not acted on.
        let mut closes = vec![100, 100, 100, 100, 100, 100, 120];
        assert_eq!(strategies.evaluate(&registry, &m, &candles(&closes)), None);
        assert_eq!(
            strategies.evaluate(&registry, &m, &candles(&closes)),
            None,
            "nothing new"
        );
        closes.push(121);
        // Already "in" since the history's breakout: a higher close is no new entry.
        let decided = strategies.evaluate(&registry, &m, &candles(&closes));
        assert!(decided.is_none_or(|d| d.signal.kind != SignalKind::Entry));
        // A collapse exits, on the candle that made it.
        closes.push(80);
        let all = candles(&closes);
        let decided = strategies.evaluate(&registry, &m, &all).expect("an exit");
        assert_eq!(decided.signal.kind, SignalKind::Exit);
        assert_eq!(decided.candle, all.last().unwrap().open_time());
        // Unknown strategies are not run here.
        let webhook = StrategyMarket {
            strategy: "webhook".into(),
            ..m.clone()
        };
        assert_eq!(strategies.evaluate(&registry, &webhook, &all), None);
        strategies.retain(std::slice::from_ref(&m));
        assert_eq!(strategies.running.len(), 1);
    }
}
