//! Coinbase's harness: its mock, the venue and one account, whose key is a fixed P-256 key.

use std::sync::Arc;
use std::time::Duration;

use nexus_core::{Exchange, MarketData};
use nexus_exchanges::coinbase::{CoinbaseClient, CoinbaseConfig, CoinbaseVenue};
use nexus_exchanges::mock::Scripted;
use nexus_exchanges::mock::coinbase::{BTC_USDT, CoinbaseMock, errors};
use p256::SecretKey;
use p256::ecdsa::{SigningKey, VerifyingKey};
use p256::pkcs8::LineEnding;
use rust_decimal::Decimal;

use super::{
    ATTEMPTS, Endpoint, Expect, Fees, Filters, Venue, credentials, quick_retries, short_timeouts,
};

pub const KEY_NAME: &str = "organizations/5f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0/apiKeys/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
/// The account's private key is `secret_key(ACCOUNT_KEY)`.
pub const ACCOUNT_KEY: u8 = 0x11;

/// A fixed P-256 key, so every run signs alike.
pub fn secret_key(byte: u8) -> SecretKey {
    SecretKey::from_slice(&[byte; 32]).unwrap()
}

/// The public half of `secret_key(byte)`.
pub fn public_key(byte: u8) -> VerifyingKey {
    *SigningKey::from(secret_key(byte)).verifying_key()
}

/// The SEC1 PEM Coinbase hands out, with its line breaks as literal `\n` (as it arrives
/// from an environment variable).
pub fn pem(byte: u8) -> String {
    secret_key(byte)
        .to_sec1_pem(LineEnding::LF)
        .unwrap()
        .replace('\n', "\\n")
}

pub struct Coinbase {
    pub mock: Arc<CoinbaseMock>,
    pub venue: Arc<CoinbaseVenue>,
    pub client: CoinbaseClient,
}

impl Coinbase {
    pub async fn start() -> Self {
        let (mock, url) = CoinbaseMock::start(KEY_NAME, public_key(ACCOUNT_KEY)).await;
        let venue = CoinbaseVenue::new(CoinbaseConfig {
            base_url: url,
            retry: quick_retries(ATTEMPTS),
            http: short_timeouts(),
            ..CoinbaseConfig::default()
        })
        .unwrap();
        let client = venue.client(credentials(KEY_NAME, &pem(ACCOUNT_KEY)));
        Self {
            mock,
            venue,
            client,
        }
    }
}

impl Venue for Coinbase {
    const EXPECT: Expect = Expect {
        quote: BTC_USDT,
        other_pair: "BTC/USD",
        listed: &["BTC/USD", "BTC/USDT"],
        filters: Filters {
            tick_size: "0.01",
            step_size: "0.00000001",
            min_qty: "0.00000001",
            max_qty: Some("3400"),
            min_notional: "1",
        },
        fees: Fees {
            taker: "0.001",
            buy_fee_in_base: false,
            resting_buy_holds_fee: true,
        },
        not_open_code: "UNKNOWN_CANCEL_ORDER",
        off_tick: ("INVALID_PRICE_PRECISION", "Invalid price precision"),
        insufficient: "Insufficient balance in source account",
        forged: "Unauthorized",
        stranger: "Unauthorized",
        // Coinbase's 429 may be an HTML page.
        rate_limited: errors::RATE_LIMITED_HTML,
        server_error: (500, r#"{"error":"INTERNAL","message":"internal error"}"#),
    };

    async fn start() -> Self {
        Self::start().await
    }

    fn account(&self) -> &dyn Exchange {
        &self.client
    }

    fn market(&self) -> &dyn MarketData {
        &*self.venue
    }

    /// Signed with another private key under the right name: a forged JWT.
    fn forged(&self) -> Box<dyn Exchange> {
        Box::new(self.venue.client(credentials(KEY_NAME, &pem(0x22))))
    }

    /// The right key under another name.
    fn stranger(&self) -> Box<dyn Exchange> {
        Box::new(
            self.venue
                .client(credentials("organizations/x/apiKeys/y", &pem(ACCOUNT_KEY))),
        )
    }

    fn deposit(&self, asset: &str, amount: Decimal) {
        self.mock.deposit(asset, amount);
    }

    fn script(&self, scripted: Scripted) {
        self.mock.script(scripted);
    }

    fn stall_next(&self, duration: Duration) {
        self.mock.stall_next(duration);
    }

    fn orders_placed(&self) -> usize {
        self.mock.orders()
    }

    /// `can_trade` and `can_transfer` (reported as withdraw).
    fn set_key_permissions(&self, trade: bool, withdraw: bool) {
        self.mock.set_key_permissions(trade, withdraw);
    }

    fn route(endpoint: Endpoint) -> (&'static str, &'static str) {
        match endpoint {
            Endpoint::Tickers => ("GET", "/api/v3/brokerage/market/products"),
            Endpoint::Balances => ("GET", "/api/v3/brokerage/accounts"),
            Endpoint::Permissions => ("GET", "/api/v3/brokerage/key_permissions"),
            Endpoint::Place => ("POST", "/api/v3/brokerage/orders"),
        }
    }

    fn mock_calls(&self, method_and_path: &str) -> usize {
        self.mock.calls(method_and_path)
    }
}
