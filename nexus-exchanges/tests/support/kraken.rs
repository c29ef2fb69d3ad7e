//! Kraken's harness: its mock, the venue and one account.

use std::sync::Arc;
use std::time::Duration;

use nexus_core::{Exchange, MarketData};
use nexus_exchanges::mock::Scripted;
use nexus_exchanges::mock::kraken::{KrakenMock, XBTUSDT, errors};
use nexus_exchanges::{KrakenClient, KrakenConfig, KrakenVenue};
use rust_decimal::Decimal;

use super::{
    ATTEMPTS, Endpoint, Expect, Fees, Filters, Venue, credentials, quick_retries, short_timeouts,
};

pub const KEY: &str = "kraken-test-key-0123456789";
/// The secret of Kraken's documented signing example.
pub const SECRET: &str =
    "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==";

/// A venue at `url` whose limiters never make a test wait.
pub fn config(url: &str) -> KrakenConfig {
    KrakenConfig {
        base_url: url.to_owned(),
        retry: quick_retries(ATTEMPTS),
        http: short_timeouts(),
        public_burst: 100,
        public_per_second: 100.0,
        private_max: 20,
        private_decay_per_second: 20.0,
        ..KrakenConfig::default()
    }
}

pub struct Kraken {
    pub mock: Arc<KrakenMock>,
    pub venue: Arc<KrakenVenue>,
    pub client: KrakenClient,
}

impl Kraken {
    pub async fn start() -> Self {
        let (mock, url) = KrakenMock::start(KEY, SECRET).await;
        let venue = KrakenVenue::new(config(&url)).unwrap();
        let client = venue.client(credentials(KEY, SECRET));
        Self {
            mock,
            venue,
            client,
        }
    }
}

impl Venue for Kraken {
    const EXPECT: Expect = Expect {
        quote: XBTUSDT,
        other_pair: "BTC/USD",
        listed: &["BTC/USD", "BTC/USDT", "ETH/USD", "ETH/USDT"],
        filters: Filters {
            tick_size: "0.1",
            step_size: "0.00000001",
            min_qty: "0.00005",
            max_qty: None,
            min_notional: "0.5",
        },
        fees: Fees {
            taker: "0.0026",
            buy_fee_in_base: false,
            resting_buy_holds_fee: false,
        },
        not_open_code: "EOrder:Unknown order",
        off_tick: ("EOrder:Tick size check failed", "Tick size"),
        insufficient: "Insufficient funds",
        forged: "Invalid signature",
        stranger: "Invalid key",
        // Kraken's own limit is an error in a 200 answer (tests/kraken.rs); a 429 comes
        // from in front of it, with no documented body: the envelope stands in.
        rate_limited: errors::RATE_LIMIT,
        server_error: (502, "<html>Bad Gateway</html>"),
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

    fn forged(&self) -> Box<dyn Exchange> {
        // Valid base64, so the request is signed and sent, just wrongly.
        Box::new(self.venue.client(credentials(KEY, "c2VjcmV0")))
    }

    fn stranger(&self) -> Box<dyn Exchange> {
        Box::new(self.venue.client(credentials("not-our-key", SECRET)))
    }

    /// Kraken's names for the assets it calls otherwise (`XXBT`); the client reports them
    /// as Nexus names them, which the suite checks.
    fn deposit(&self, asset: &str, amount: Decimal) {
        let asset = match asset {
            "BTC" => "XXBT",
            "USD" => "ZUSD",
            other => other,
        };
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

    /// As `GetApiKeyInfo` lists them.
    fn set_key_permissions(&self, trade: bool, withdraw: bool) {
        let mut permissions = vec!["query-funds"];
        if trade {
            permissions.extend(["query-open-trades", "modify-trades"]);
        }
        if withdraw {
            permissions.push("withdraw-funds");
        }
        self.mock.set_permissions(&permissions);
    }

    fn route(endpoint: Endpoint) -> (&'static str, &'static str) {
        match endpoint {
            Endpoint::Tickers => ("GET", "/0/public/Ticker"),
            Endpoint::Balances => ("POST", "/0/private/BalanceEx"),
            Endpoint::Permissions => ("POST", "/0/private/GetApiKeyInfo"),
            Endpoint::Place => ("POST", "/0/private/AddOrder"),
        }
    }

    fn mock_calls(&self, method_and_path: &str) -> usize {
        self.mock.calls(method_and_path)
    }
}
