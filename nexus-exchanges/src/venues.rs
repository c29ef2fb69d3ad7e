//! One shared venue per exchange, and accounts on them: every user of one process goes
//! through the same HTTP client and venue-wide rate limiter, as the venues' IP-level
//! budgets require.
//!
//! Everything the engine needs of a venue goes through here, Paper included: an account
//! for a user (with the user's key, or none for Paper, whose accounts are named by their
//! owner), its public listing, and its market data. A new venue changes nothing outside
//! this crate.

use std::sync::Arc;

use nexus_core::ports::NonceSource;
use nexus_core::ports::credentials::ApiCredentials;
use nexus_core::{Exchange, ExchangeError, ExchangeId, MarketData, Secret, UserId};

use crate::binance::{BinanceConfig, BinanceVenue};
use crate::coinbase::{CoinbaseConfig, CoinbaseVenue};
use crate::kraken::{KrakenConfig, KrakenVenue, LocalNonces};
use crate::paper::{self, PaperVenue};

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

/// Why a user has no account on a venue.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    /// The venue trades with the user's API key, and none was given.
    #[error("no {exchange} key")]
    NoKey {
        /// The venue.
        exchange: ExchangeId,
    },
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

    /// Whether trading on `exchange` needs the user's API key (Paper needs none).
    #[must_use]
    pub const fn needs_key(exchange: ExchangeId) -> bool {
        !matches!(exchange, ExchangeId::Paper)
    }

    /// `owner`'s account on `exchange`, trading with `credentials` (ignored by Paper,
    /// whose account is named after its owner).
    ///
    /// # Errors
    /// [`AccountError::NoKey`] when the venue needs a key and none was given.
    pub fn account_of(
        &self,
        exchange: ExchangeId,
        owner: UserId,
        credentials: Option<ApiCredentials>,
    ) -> Result<Arc<dyn Exchange>, AccountError> {
        if exchange == ExchangeId::Paper {
            return Ok(Arc::new(self.paper.account(paper::account_name(owner))));
        }
        let credentials = credentials.ok_or(AccountError::NoKey { exchange })?;
        Ok(self.account(exchange, credentials))
    }

    /// An account on `exchange` with `credentials` (a Paper account is named by the key:
    /// prefer [`Venues::account_of`], which names it after its owner).
    #[must_use]
    pub fn account(&self, exchange: ExchangeId, credentials: ApiCredentials) -> Arc<dyn Exchange> {
        match exchange {
            ExchangeId::Binance => Arc::new(self.binance.client(credentials)),
            ExchangeId::Kraken => Arc::new(self.kraken.client(credentials)),
            ExchangeId::Coinbase => Arc::new(self.coinbase.client(credentials)),
            ExchangeId::Paper => Arc::new(self.paper.account(credentials.api_key)),
        }
    }

    /// `exchange` without an account: enough for its public listing
    /// ([`Exchange::instruments`]), which needs no key on any venue.
    #[must_use]
    pub fn public(&self, exchange: ExchangeId) -> Arc<dyn Exchange> {
        self.account(
            exchange,
            ApiCredentials {
                api_key: String::new(),
                secret: Secret::new(""),
                passphrase: None,
            },
        )
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
