//! Alert preferences: which events a user is emailed about, where their webhook is (its
//! signing secret sealed in the store, shown once), and what the daily summary reads (the
//! users who want it, a page at a time, and one user's day of activity per bot).
//!
//! A user without a stored row has [`AlertPreferences::default`]: fills and errors by
//! email, no gate blocks, no daily summary, no webhook.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use async_trait::async_trait;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::error::StoreError;
use crate::ids::{BotId, UserId};
use crate::instrument::{Asset, ExchangeId, Symbol};
use crate::money::{Notional, Price, Quantity};
use crate::order::Side;
use crate::secret::Secret;

/// Something a user can be alerted about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertEvent {
    /// An order of one of their bots filled (wholly or partly).
    Fills,
    /// The market-regime gate blocked an entry of one of their bots.
    GateBlocks,
    /// An order was refused or failed, a position was out of sync, or the system paused
    /// a bot.
    Errors,
}

impl AlertEvent {
    /// Every event.
    pub const ALL: [Self; 3] = [Self::Fills, Self::GateBlocks, Self::Errors];

    /// The stored and wire name (`fills`, `gate_blocks`, `errors`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Fills => "fills",
            Self::GateBlocks => "gate_blocks",
            Self::Errors => "errors",
        }
    }
}

impl fmt::Display for AlertEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not an [`AlertEvent`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown alert event {0:?}: expected fills, gate_blocks or errors")]
pub struct UnknownEvent(pub String);

impl FromStr for AlertEvent {
    type Err = UnknownEvent;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or_else(|| UnknownEvent(s.to_owned()))
    }
}

/// Which alerts go by email.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailAlerts {
    /// Fills (default on).
    pub fills: bool,
    /// Entries the gate blocked (default off: they can be frequent).
    pub gate_blocks: bool,
    /// Refused or failed orders and bots the system paused (default on).
    pub errors: bool,
    /// One summary of the UTC day (default off).
    pub daily_summary: bool,
}

impl Default for EmailAlerts {
    fn default() -> Self {
        Self {
            fills: true,
            gate_blocks: false,
            errors: true,
            daily_summary: false,
        }
    }
}

/// A user's alert preferences.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertPreferences {
    /// What is emailed.
    pub email: EmailAlerts,
    /// Where alerts are posted (`None`: no webhook).
    pub webhook_url: Option<String>,
    /// Which events are posted to the webhook (default fills and errors), sorted and
    /// without repeats.
    pub webhook_events: Vec<AlertEvent>,
}

impl Default for AlertPreferences {
    fn default() -> Self {
        Self {
            email: EmailAlerts::default(),
            webhook_url: None,
            webhook_events: vec![AlertEvent::Fills, AlertEvent::Errors],
        }
    }
}

impl AlertPreferences {
    /// Whether `event` is emailed.
    #[must_use]
    pub const fn emails(&self, event: AlertEvent) -> bool {
        match event {
            AlertEvent::Fills => self.email.fills,
            AlertEvent::GateBlocks => self.email.gate_blocks,
            AlertEvent::Errors => self.email.errors,
        }
    }

    /// Whether `event` is posted to a webhook.
    #[must_use]
    pub fn posts(&self, event: AlertEvent) -> bool {
        self.webhook_url.is_some() && self.webhook_events.contains(&event)
    }

    /// Whether `event` goes anywhere.
    #[must_use]
    pub fn wants(&self, event: AlertEvent) -> bool {
        self.emails(event) || self.posts(event)
    }

    /// The events as stored: comma-separated names.
    #[must_use]
    pub fn events_text(&self) -> String {
        let mut events = self.webhook_events.clone();
        events.sort_unstable();
        events.dedup();
        events
            .iter()
            .map(|e| e.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Events from their stored text.
    ///
    /// # Errors
    /// [`UnknownEvent`] for a name that is not an event.
    pub fn parse_events(text: &str) -> Result<Vec<AlertEvent>, UnknownEvent> {
        let mut events = text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::parse)
            .collect::<Result<Vec<AlertEvent>, _>>()?;
        events.sort_unstable();
        events.dedup();
        Ok(events)
    }
}

/// Where a user's alerts are posted, with the secret that signs them.
#[derive(Debug, Clone)]
pub struct WebhookTarget {
    /// The URL.
    pub url: String,
    /// The signing secret (redacted in `Debug`).
    pub secret: Secret,
    /// The events posted.
    pub events: Vec<AlertEvent>,
}

/// A user who wants the daily summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryRecipient {
    /// The user (the page cursor).
    pub user: UserId,
    /// Their address.
    pub email: String,
}

/// One bot's UTC day: orders planned, fills, skips and the money that moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotDay {
    /// The bot.
    pub bot: BotId,
    /// Its name.
    pub name: String,
    /// Its venue.
    pub exchange: ExchangeId,
    /// Its pair (its quote asset is what `bought`, `sold` and `fees` count in).
    pub symbol: Symbol,
    /// Orders planned that day.
    pub orders: u64,
    /// Of those, refused or failed.
    pub failed: u64,
    /// Fills that day.
    pub fills: u64,
    /// Bought, in the quote asset.
    pub bought: Notional,
    /// Sold, in the quote asset.
    pub sold: Notional,
    /// Fees paid in the quote asset.
    pub fees: Notional,
    /// Bought, in the base asset.
    pub bought_quantity: Quantity,
    /// Sold, in the base asset.
    pub sold_quantity: Quantity,
    /// Fees paid in the base asset (fees in other assets are not counted).
    pub base_fees: Quantity,
    /// Plans skipped, per reason code, by reason.
    pub skips: Vec<(String, u64)>,
}

impl BotDay {
    /// A day with nothing in it yet.
    #[must_use]
    pub fn new(bot: BotId, name: impl Into<String>, exchange: ExchangeId, symbol: Symbol) -> Self {
        Self {
            bot,
            name: name.into(),
            exchange,
            symbol,
            orders: 0,
            failed: 0,
            fills: 0,
            bought: Notional::ZERO,
            sold: Notional::ZERO,
            fees: Notional::ZERO,
            bought_quantity: Quantity::ZERO,
            sold_quantity: Quantity::ZERO,
            base_fees: Quantity::ZERO,
            skips: Vec::new(),
        }
    }

    /// Whether anything happened.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.orders == 0 && self.fills == 0 && self.skips.is_empty()
    }

    /// Counts one fill.
    pub fn add_fill(
        &mut self,
        side: Side,
        quantity: Quantity,
        price: Price,
        fee: Quantity,
        fee_asset: Option<Asset>,
    ) {
        self.fills += 1;
        let value = price * quantity;
        let total = match side {
            Side::Buy => &mut self.bought,
            Side::Sell => &mut self.sold,
        };
        *total = total.checked_add(value).unwrap_or(*total);
        let held = match side {
            Side::Buy => &mut self.bought_quantity,
            Side::Sell => &mut self.sold_quantity,
        };
        *held = held.checked_add(quantity).unwrap_or(*held);
        if fee_asset == Some(self.symbol.quote())
            && let Ok(fee) = Notional::new(fee.value())
        {
            self.fees = self.fees.checked_add(fee).unwrap_or(self.fees);
        } else if fee_asset == Some(self.symbol.base()) {
            self.base_fees = self.base_fees.checked_add(fee).unwrap_or(self.base_fees);
        }
    }

    /// The day's cash result in the quote asset: sold − bought − fees. Open positions are
    /// not valued, so a day that only bought shows what it spent.
    #[must_use]
    pub fn cash_pnl(&self) -> Decimal {
        self.sold.value() - self.bought.value() - self.fees.value()
    }

    /// The day's result marked to `mark`, the pair's price now: the cash result plus what
    /// the day's fills left held (bought − sold − fees in the base asset) valued at `mark`.
    /// Without a mark it is the cash result. A round trip's result does not depend on the
    /// mark; a day that only bought shows the price's move since, less the fees.
    #[must_use]
    pub fn marked_pnl(&self, mark: Option<Price>) -> Decimal {
        let held =
            self.bought_quantity.value() - self.sold_quantity.value() - self.base_fees.value();
        self.cash_pnl() + mark.map_or(Decimal::ZERO, |m| held * m.value())
    }

    /// Skips in all.
    #[must_use]
    pub fn skipped(&self) -> u64 {
        self.skips.iter().map(|(_, n)| n).sum()
    }
}

/// Alert preferences, webhook targets and what the daily summary reads.
#[async_trait]
pub trait AlertStore: Send + Sync {
    /// A user's preferences ([`AlertPreferences::default`] when none are stored).
    ///
    /// # Errors
    /// [`StoreError`].
    async fn alert_preferences(&self, user: UserId) -> Result<AlertPreferences, StoreError>;

    /// The preferences of each of `users`, read at once (the defaults for those with none
    /// stored): what a batch of alerts reads, instead of a query per owner.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn alert_preferences_of(
        &self,
        users: &[UserId],
    ) -> Result<HashMap<UserId, AlertPreferences>, StoreError>;

    /// Stores a user's preferences. When the webhook URL is new (set, or changed), a new
    /// random signing secret is drawn, stored sealed, and returned: the only time it is
    /// ever shown. An unchanged URL keeps its secret (`None` returned); no URL removes it.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn set_alert_preferences(
        &self,
        user: UserId,
        preferences: &AlertPreferences,
        now: Timestamp,
    ) -> Result<Option<Secret>, StoreError>;

    /// A user's webhook, with its secret opened, when they have one.
    ///
    /// # Errors
    /// [`StoreError`]; a secret that does not open is [`StoreError::Corrupt`].
    async fn webhook_target(&self, user: UserId) -> Result<Option<WebhookTarget>, StoreError>;

    /// Those of `users` who want `event` by email or webhook, in one query (the fan-out
    /// asks once per page of gate blocks).
    ///
    /// # Errors
    /// [`StoreError`].
    async fn alert_recipients(
        &self,
        users: &[UserId],
        event: AlertEvent,
    ) -> Result<Vec<UserId>, StoreError>;

    /// Users who want the daily summary, in id order, `limit` after `after`.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn summary_recipients(
        &self,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<SummaryRecipient>, StoreError>;

    /// Each of a user's bots' activity in `[from, to)`, bots without any left out, by
    /// name.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn day_activity(
        &self,
        user: UserId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<BotDay>, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_events_round_trip() {
        let p = AlertPreferences::default();
        assert!(p.emails(AlertEvent::Fills) && p.emails(AlertEvent::Errors));
        assert!(!p.emails(AlertEvent::GateBlocks));
        assert!(!p.posts(AlertEvent::Fills), "no URL, nothing posted");
        assert_eq!(p.events_text(), "fills,errors");
        assert_eq!(
            AlertPreferences::parse_events("errors, fills,errors"),
            Ok(vec![AlertEvent::Fills, AlertEvent::Errors])
        );
        assert_eq!(
            AlertPreferences::parse_events("fills,nope"),
            Err(UnknownEvent("nope".into()))
        );
        for event in AlertEvent::ALL {
            let json = serde_json::to_string(&event).unwrap();
            assert_eq!(json, format!("\"{event}\""), "shown as stored and sent");
            assert_eq!(event.to_string().parse::<AlertEvent>(), Ok(event));
        }
    }

    #[test]
    fn a_day_counts_money_in_the_quote_asset() {
        let mut day = BotDay::new(
            BotId::new(uuid::Uuid::nil()),
            "b",
            ExchangeId::Paper,
            "BTC/USDT".parse().unwrap(),
        );
        let q = |s: &str| s.parse::<Quantity>().unwrap();
        let p = |s: &str| s.parse::<Price>().unwrap();
        day.add_fill(
            Side::Buy,
            q("0.01"),
            p("60000"),
            q("0.00001"),
            Asset::new("BTC").ok(),
        );
        day.add_fill(
            Side::Sell,
            q("0.01"),
            p("61000"),
            q("0.61"),
            Asset::new("USDT").ok(),
        );
        assert_eq!(day.fills, 2);
        assert_eq!(day.bought.value(), Decimal::from(600));
        assert_eq!(day.fees.value(), "0.61".parse::<Decimal>().unwrap());
        assert_eq!(day.cash_pnl(), "9.39".parse::<Decimal>().unwrap());
        // The base-asset fee is what the round trip left short: valued at the mark.
        assert_eq!(day.base_fees, q("0.00001"));
        assert_eq!(
            day.marked_pnl(Some(p("50000"))),
            "8.89".parse::<Decimal>().unwrap()
        );
    }

    #[test]
    fn an_event_goes_by_email_by_webhook_or_nowhere() {
        let prefs = AlertPreferences {
            email: EmailAlerts {
                fills: true,
                gate_blocks: false,
                errors: false,
                daily_summary: false,
            },
            webhook_url: Some("https://hooks.example.com/nexus".to_owned()),
            webhook_events: vec![AlertEvent::GateBlocks],
        };
        let routes = |e| (prefs.emails(e), prefs.posts(e), prefs.wants(e));
        assert_eq!(routes(AlertEvent::Fills), (true, false, true));
        assert_eq!(routes(AlertEvent::GateBlocks), (false, true, true));
        assert_eq!(routes(AlertEvent::Errors), (false, false, false));
        // Events chosen for a webhook that is not set go nowhere.
        let unset = AlertPreferences {
            webhook_url: None,
            ..prefs.clone()
        };
        assert!(!unset.posts(AlertEvent::GateBlocks) && !unset.wants(AlertEvent::GateBlocks));
    }

    #[test]
    fn a_day_is_empty_until_an_order_a_fill_or_a_skip() {
        assert!(btc_day().is_empty());
        let mut ordered = btc_day();
        ordered.orders = 1;
        let mut filled = btc_day();
        filled.fills = 1;
        let mut skipped = btc_day();
        skipped.skips.push(("gate".to_owned(), 2));
        skipped.skips.push(("dust".to_owned(), 1));
        assert_eq!((btc_day().skipped(), skipped.skipped()), (0, 3));
        for day in [ordered, filled, skipped] {
            assert!(!day.is_empty(), "{day:?}");
        }
    }

    fn btc_day() -> BotDay {
        BotDay::new(
            BotId::new(uuid::Uuid::nil()),
            "b",
            ExchangeId::Paper,
            "BTC/USDT".parse().unwrap(),
        )
    }

    #[test]
    fn what_a_day_bought_is_marked_to_the_price_now() {
        let q = |s: &str| s.parse::<Quantity>().unwrap();
        let p = |s: &str| s.parse::<Price>().unwrap();
        let usdt = Asset::new("USDT").ok();
        // Bought 1 at 100 (fee 0.1 USDT), now at 110: up 9.90.
        let mut day = btc_day();
        day.add_fill(Side::Buy, q("1"), p("100"), q("0.1"), usdt);
        assert_eq!(
            day.marked_pnl(Some(p("110"))),
            "9.9".parse::<Decimal>().unwrap()
        );
        // Without a price, what it spent.
        assert_eq!(day.marked_pnl(None), "-100.1".parse::<Decimal>().unwrap());
        // A fee in another asset is not counted.
        let mut other = btc_day();
        other.add_fill(Side::Buy, q("1"), p("100"), q("1"), Asset::new("BNB").ok());
        assert_eq!(other.marked_pnl(Some(p("100"))), Decimal::ZERO);
    }

    proptest::proptest! {
        /// A round trip (bought, then all of it sold) made what it made, whatever the
        /// price now.
        #[test]
        fn a_round_trip_does_not_depend_on_the_mark(
            quantity in 1u32..1_000_000,
            buy in 1u32..10_000_000,
            sell in 1u32..10_000_000,
            fee in 0u32..1_000,
            mark in 1u32..10_000_000,
        ) {
            let quantity = Quantity::new(Decimal::new(i64::from(quantity), 4)).unwrap();
            let price = |cents: u32| Price::new(Decimal::new(i64::from(cents), 2)).unwrap();
            let fee = Quantity::new(Decimal::new(i64::from(fee), 2)).unwrap();
            let usdt = Asset::new("USDT").ok();
            let mut day = btc_day();
            day.add_fill(Side::Buy, quantity, price(buy), fee, usdt);
            day.add_fill(Side::Sell, quantity, price(sell), fee, usdt);
            proptest::prop_assert_eq!(day.marked_pnl(Some(price(mark))), day.cash_pnl());
            proptest::prop_assert_eq!(day.marked_pnl(None), day.cash_pnl());
        }
    }
}
