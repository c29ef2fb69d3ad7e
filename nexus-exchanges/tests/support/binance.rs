//! Binance's harness: its mock, the venue and one account.

use std::sync::Arc;
use std::time::Duration;

use nexus_core::{Exchange, MarketData};
use nexus_exchanges::mock::Scripted;
use nexus_exchanges::mock::binance::{BTCUSDT, BinanceMock, errors};
use nexus_exchanges::{BinanceClient, BinanceConfig, BinanceVenue};
use rust_decimal::Decimal;

use super::{
    ATTEMPTS, Endpoint, Expect, Fees, Filters, Venue, credentials, quick_retries, short_timeouts,
};

pub const KEY: &str = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A";
pub const SECRET: &str = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";

pub struct Binance {
    pub mock: Arc<BinanceMock>,
    pub venue: Arc<BinanceVenue>,
    pub client: BinanceClient,
}

impl Binance {
    pub async fn start() -> Self {
        let (mock, url) = BinanceMock::start(KEY, SECRET).await;
        let venue = BinanceVenue::new(BinanceConfig {
            base_url: url,
            retry: quick_retries(ATTEMPTS),
            http: short_timeouts(),
            ..BinanceConfig::default()
        })
        .unwrap();
        let client = venue.client(credentials(KEY, SECRET));
        Self {
            mock,
            venue,
            client,
        }
    }
}

impl Venue for Binance {
    const EXPECT: Expect = Expect {
        quote: BTCUSDT,
        other_pair: "ETH/BTC",
        // LUNAUSDT is listed in `BREAK`: not trading, left out.
        listed: &["BTC/USDT", "ETH/BTC"],
        filters: Filters {
            tick_size: "0.01",
            step_size: "0.00001",
            min_qty: "0.00001",
            max_qty: Some("9000"),
            min_notional: "5",
        },
        fees: Fees {
            taker: "0.001",
            buy_fee_in_base: true,
            resting_buy_holds_fee: false,
        },
        not_open_code: "-2011",
        off_tick: ("-1013", "PRICE_FILTER"),
        insufficient: "insufficient balance",
        forged: "-1022",
        stranger: "-2015",
        rate_limited: errors::TOO_MANY_REQUESTS,
        server_error: (503, "<html>Service Unavailable</html>"),
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
        Box::new(self.venue.client(credentials(KEY, "not-the-secret")))
    }

    fn stranger(&self) -> Box<dyn Exchange> {
        Box::new(self.venue.client(credentials("someone-else", SECRET)))
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

    fn set_key_permissions(&self, trade: bool, withdraw: bool) {
        self.mock.set_key_permissions(trade, withdraw);
    }

    fn route(endpoint: Endpoint) -> (&'static str, &'static str) {
        match endpoint {
            Endpoint::Tickers => ("GET", "/api/v3/ticker/24hr"),
            Endpoint::Balances => ("GET", "/api/v3/account"),
            Endpoint::Permissions => ("GET", "/sapi/v1/account/apiRestrictions"),
            Endpoint::Place => ("POST", "/api/v3/order"),
        }
    }

    fn mock_calls(&self, method_and_path: &str) -> usize {
        self.mock.calls(method_and_path)
    }
}
