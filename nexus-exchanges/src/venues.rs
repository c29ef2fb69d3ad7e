//! One shared venue per exchange, and accounts on them: every user of one process goes
//! through the same HTTP client and venue-wide rate limiter, as the venues' IP-level
//! budgets require.

use std::sync::Arc;

use nexus_core::ports::NonceSource;
use nexus_core::ports::credentials::ApiCredentials;
use nexus_core::{Exchange, ExchangeError, ExchangeId, MarketData};

use crate::binance::{BinanceConfig, BinanceVenue};
use crate::coinbase::{CoinbaseConfig, CoinbaseVenue};
use crate::kraken::{KrakenConfig, KrakenVenue, LocalNonces};
use crate::paper::PaperVenue;

/// Settings of every venue.
#[derive(Debug, Clone, Default)]
pub struct VenuesConfig {
    /// Binance.
    pub binance: BinanceConfig,
    /// Kraken.
    pub kraken: KrakenConfig,
    /// Coinbase.
    pub coinbase: CoinbaseConfig,
}

/// The venues of one process.
#[derive(Debug)]
pub struct Venues {
    binance: Arc<BinanceVenue>,
    kraken: Arc<KrakenVenue>,
    coinbase: Arc<CoinbaseVenue>,
    paper: Arc<PaperVenue>,
}

impl Venues {
    /// The venues with `config`, Kraken nonces from `nonces` (a store shared by every
    /// process of the deployment; in-process ones when `None`) and the Paper venue
    /// `paper`.
    ///
    /// # Errors
    /// An HTTP client could not be built.
    pub fn new(
        config: VenuesConfig,
        nonces: Option<Arc<dyn NonceSource>>,
        paper: Arc<PaperVenue>,
    ) -> Result<Self, ExchangeError> {
        let nonces = nonces.unwrap_or_else(|| Arc::new(LocalNonces::default()));
        Ok(Self {
            binance: BinanceVenue::new(config.binance)?,
            kraken: KrakenVenue::with_nonces(config.kraken, nonces)?,
            coinbase: CoinbaseVenue::new(config.coinbase)?,
            paper,
        })
    }

    /// An account on `exchange` with `credentials` (Paper accounts are named by the key).
    #[must_use]
    pub fn account(&self, exchange: ExchangeId, credentials: ApiCredentials) -> Arc<dyn Exchange> {
        match exchange {
            ExchangeId::Binance => Arc::new(self.binance.client(credentials)),
            ExchangeId::Kraken => Arc::new(self.kraken.client(credentials)),
            ExchangeId::Coinbase => Arc::new(self.coinbase.client(credentials)),
            ExchangeId::Paper => Arc::new(self.paper.account(credentials.api_key)),
        }
    }

    /// The public market data of `exchange`.
    #[must_use]
    pub fn market_data(&self, exchange: ExchangeId) -> Arc<dyn MarketData> {
        match exchange {
            ExchangeId::Binance => Arc::clone(&self.binance) as Arc<dyn MarketData>,
            ExchangeId::Kraken => Arc::clone(&self.kraken) as Arc<dyn MarketData>,
            ExchangeId::Coinbase => Arc::clone(&self.coinbase) as Arc<dyn MarketData>,
            ExchangeId::Paper => Arc::clone(&self.paper) as Arc<dyn MarketData>,
        }
    }
}
