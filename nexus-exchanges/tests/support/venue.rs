//! What the conformance suite needs of a venue: its mock started with one account, the
//! account's client and the venue's public market data, a way to arrange and inspect the
//! mock, and what this venue's mock is expected to answer where venues differ (prices,
//! filters, fee schedule, error codes). Assets are named as Nexus names them (`BTC`,
//! `USDT`); a harness maps them to its venue's names.

use std::future::Future;
use std::time::Duration;

use nexus_core::{Exchange, MarketData};
use nexus_exchanges::mock::Scripted;
use rust_decimal::Decimal;

/// The requests the suite counts or scripts answers for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// Public tickers.
    Tickers,
    /// The account's balances.
    Balances,
    /// What the key may do (where `validate_credentials` asks after reading the account,
    /// as on Binance, the account read counts as [`Endpoint::Balances`]).
    Permissions,
    /// Placing an order.
    Place,
}

/// BTC/USDT's filters as the venue lists them.
#[derive(Debug, Clone, Copy)]
pub struct Filters {
    pub tick_size: &'static str,
    pub step_size: &'static str,
    pub min_qty: &'static str,
    pub max_qty: Option<&'static str>,
    pub min_notional: &'static str,
}

/// The venue's taker fee as its mock charges it.
#[derive(Debug, Clone, Copy)]
pub struct Fees {
    /// The fraction of the trade taken.
    pub taker: &'static str,
    /// A buy pays its fee in the base asset received (Binance) rather than in quote.
    pub buy_fee_in_base: bool,
    /// A resting buy holds its fee along with its cost (Coinbase).
    pub resting_buy_holds_fee: bool,
}

/// What this venue's mock answers where venues differ.
#[derive(Debug, Clone, Copy)]
pub struct Expect {
    /// BTC/USDT's last, bid and ask.
    pub quote: (&'static str, &'static str, &'static str),
    /// Another pair the venue lists, asked for with BTC/USDT.
    pub other_pair: &'static str,
    /// Every pair `instruments(&[])` returns.
    pub listed: &'static [&'static str],
    pub filters: Filters,
    pub fees: Fees,
    /// The code of a refused cancel of an order that is not open.
    pub not_open_code: &'static str,
    /// The code of an order priced off the tick, and a part of its reason.
    pub off_tick: (&'static str, &'static str),
    /// A part of the message refusing an order the balance cannot pay for.
    pub insufficient: &'static str,
    /// A part of the message refusing a request signed with the wrong secret.
    pub forged: &'static str,
    /// A part of the message refusing a key the venue does not know.
    pub stranger: &'static str,
    /// The body of the venue's HTTP 429.
    pub rate_limited: &'static str,
    /// The status and body of the venue's 5xx.
    pub server_error: (u16, &'static str),
}

/// One venue's mock with one account connected to it.
pub trait Venue: Sized + Send + Sync + 'static {
    /// What this venue's mock answers where venues differ.
    const EXPECT: Expect;

    /// Starts the mock and connects the account to it.
    fn start() -> impl Future<Output = Self> + Send;

    /// The account.
    fn account(&self) -> &dyn Exchange;

    /// The venue's public market data (no key).
    fn market(&self) -> &dyn MarketData;

    /// A client with the account's key and another secret.
    fn forged(&self) -> Box<dyn Exchange>;

    /// A client with a key the venue does not know.
    fn stranger(&self) -> Box<dyn Exchange>;

    /// Credits `amount` of `asset` to the account.
    fn deposit(&self, asset: &str, amount: Decimal);

    /// Answers the next matching request with `scripted` instead.
    fn script(&self, scripted: Scripted);

    /// Handles the next request, then holds its answer for `duration`.
    fn stall_next(&self, duration: Duration);

    /// How many orders the venue holds.
    fn orders_placed(&self) -> usize;

    /// What the key may do (reading always).
    fn set_key_permissions(&self, trade: bool, withdraw: bool);

    /// The method and path of `endpoint`.
    fn route(endpoint: Endpoint) -> (&'static str, &'static str);

    /// How many requests reached `METHOD /path`.
    fn mock_calls(&self, method_and_path: &str) -> usize;

    /// How many requests reached `endpoint`.
    fn calls(&self, endpoint: Endpoint) -> usize {
        let (method, path) = Self::route(endpoint);
        self.mock_calls(&format!("{method} {path}"))
    }

    /// Scripts `status` with `body` for the next request to `endpoint`.
    fn script_at(
        &self,
        endpoint: Endpoint,
        status: u16,
        body: &str,
        retry_after: Option<u64>,
        after_applying: bool,
    ) {
        self.script(Scripted {
            path: Some(Self::route(endpoint).1.to_owned()),
            status,
            body: body.to_owned(),
            retry_after,
            after_applying,
        });
    }
}
