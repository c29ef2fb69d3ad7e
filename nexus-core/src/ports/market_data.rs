//! Market data: one call serves every user, so the hub in `nexus-exchanges` caches and
//! coalesces in front of it.

use async_trait::async_trait;

use crate::error::ExchangeError;
use crate::instrument::{ExchangeId, Symbol};
use crate::market::{Candle, Interval, Ticker};

/// A source of public market data for one venue.
#[async_trait]
pub trait MarketData: Send + Sync {
    /// The venue this source reads.
    fn exchange(&self) -> ExchangeId;

    /// Tickers for many symbols in **one** upstream call. Symbols the venue does not list
    /// are left out of the result rather than failing the whole call.
    ///
    /// # Errors
    /// A classified [`ExchangeError`].
    async fn tickers(&self, symbols: &[Symbol]) -> Result<Vec<Ticker>, ExchangeError>;

    /// The last `limit` closed candles of `symbol`, oldest first.
    ///
    /// # Errors
    /// A classified [`ExchangeError`].
    async fn candles(
        &self,
        symbol: Symbol,
        interval: Interval,
        limit: usize,
    ) -> Result<Vec<Candle>, ExchangeError>;

    /// For a source that pushes closed candles (a simulation, a stream): a number that
    /// changes whenever new candles arrived, so a reader asks for them only then. `None`
    /// (the default) for a source that is polled by the clock.
    fn candles_version(&self) -> Option<u64> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A source polled by the clock: it keeps the default.
    struct Polled;

    #[async_trait]
    impl MarketData for Polled {
        fn exchange(&self) -> ExchangeId {
            ExchangeId::Paper
        }

        async fn tickers(&self, _: &[Symbol]) -> Result<Vec<Ticker>, ExchangeError> {
            Ok(Vec::new())
        }

        async fn candles(
            &self,
            _: Symbol,
            _: Interval,
            _: usize,
        ) -> Result<Vec<Candle>, ExchangeError> {
            Ok(Vec::new())
        }
    }

    #[test]
    fn a_polled_source_has_no_candle_version() {
        assert_eq!(Polled.candles_version(), None);
    }
}
