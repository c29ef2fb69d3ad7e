//! Orders: what the engine wants ([`OrderIntent`]), what is sent ([`NewOrder`], carrying
//! the deterministic [`ClientOrderId`]) and what the venue reports back ([`OrderReport`]),
//! plus account [`Balance`]s and the [`KeyPermissions`] of an API key.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::error::OrderError;
use crate::ids::ClientOrderId;
use crate::instrument::{Asset, Symbol};
use crate::money::{Price, Quantity};

/// Buy or sell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// Buy the base asset with the quote asset.
    Buy,
    /// Sell the base asset for the quote asset.
    Sell,
}

impl Side {
    /// The other side.
    #[must_use]
    pub const fn opposite(self) -> Self {
        match self {
            Self::Buy => Self::Sell,
            Self::Sell => Self::Buy,
        }
    }

    /// `"buy"` or `"sell"`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Buy => "buy",
            Self::Sell => "sell",
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an order is priced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderType {
    /// Fill now at the best available prices.
    Market,
    /// Fill only at the limit price or better; good till cancelled.
    Limit,
}

/// An order the engine wants placed: symbol, side, type, quantity and (for a limit
/// order) its price. Fields are private so a limit order always has a price and a
/// market order never does.
///
/// ```
/// use nexus_core::{OrderIntent, OrderType, Price, Quantity, Side};
/// use std::str::FromStr;
///
/// let buy = OrderIntent::limit(
///     "BTC/USDT".parse()?,
///     Side::Buy,
///     Quantity::from_str("0.01")?,
///     Price::from_str("60000")?,
/// )?;
/// assert_eq!(buy.order_type(), OrderType::Limit);
/// assert_eq!(buy.limit_price(), Some(Price::from_str("60000")?));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "IntentRepr", into = "IntentRepr")]
pub struct OrderIntent {
    symbol: Symbol,
    side: Side,
    quantity: Quantity,
    limit_price: Option<Price>,
}

#[derive(Serialize, Deserialize)]
struct IntentRepr {
    symbol: Symbol,
    side: Side,
    order_type: OrderType,
    quantity: Quantity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    limit_price: Option<Price>,
}

impl TryFrom<IntentRepr> for OrderIntent {
    type Error = String;

    fn try_from(r: IntentRepr) -> Result<Self, Self::Error> {
        match (r.order_type, r.limit_price) {
            (OrderType::Market, None) => Self::market(r.symbol, r.side, r.quantity),
            (OrderType::Limit, Some(price)) => Self::limit(r.symbol, r.side, r.quantity, price),
            (OrderType::Market, Some(_)) => return Err("a market order has no limit_price".into()),
            (OrderType::Limit, None) => return Err("a limit order needs a limit_price".into()),
        }
        .map_err(|e| e.to_string())
    }
}

impl From<OrderIntent> for IntentRepr {
    fn from(i: OrderIntent) -> Self {
        Self {
            symbol: i.symbol,
            side: i.side,
            order_type: i.order_type(),
            quantity: i.quantity,
            limit_price: i.limit_price,
        }
    }
}

impl OrderIntent {
    /// A market order.
    ///
    /// # Errors
    /// [`OrderError::ZeroQuantity`] when `quantity` is zero.
    pub fn market(symbol: Symbol, side: Side, quantity: Quantity) -> Result<Self, OrderError> {
        Self::build(symbol, side, quantity, None)
    }

    /// A limit order at `price`.
    ///
    /// # Errors
    /// [`OrderError::ZeroQuantity`] when `quantity` is zero.
    pub fn limit(
        symbol: Symbol,
        side: Side,
        quantity: Quantity,
        price: Price,
    ) -> Result<Self, OrderError> {
        Self::build(symbol, side, quantity, Some(price))
    }

    fn build(
        symbol: Symbol,
        side: Side,
        quantity: Quantity,
        limit_price: Option<Price>,
    ) -> Result<Self, OrderError> {
        if quantity.is_zero() {
            return Err(OrderError::ZeroQuantity);
        }
        Ok(Self {
            symbol,
            side,
            quantity,
            limit_price,
        })
    }

    /// The pair.
    #[must_use]
    pub const fn symbol(&self) -> Symbol {
        self.symbol
    }

    /// Buy or sell.
    #[must_use]
    pub const fn side(&self) -> Side {
        self.side
    }

    /// Market or limit.
    #[must_use]
    pub const fn order_type(&self) -> OrderType {
        match self.limit_price {
            Some(_) => OrderType::Limit,
            None => OrderType::Market,
        }
    }

    /// The quantity of base asset; never zero.
    #[must_use]
    pub const fn quantity(&self) -> Quantity {
        self.quantity
    }

    /// The limit price, for a limit order.
    #[must_use]
    pub const fn limit_price(&self) -> Option<Price> {
        self.limit_price
    }
}

/// An order as sent to a venue: the intent plus the client order id that makes placing
/// it idempotent (a retry looks the id up instead of placing a second order).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NewOrder {
    /// The deterministic id the venue stores with the order.
    pub client_order_id: ClientOrderId,
    /// What to place.
    pub intent: OrderIntent,
}

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Accepted, nothing filled yet.
    New,
    /// Part filled, still working.
    PartiallyFilled,
    /// Completely filled.
    Filled,
    /// Cancelled (possibly after a partial fill).
    Canceled,
    /// Refused by the venue.
    Rejected,
    /// Expired by the venue (time in force).
    Expired,
}

impl OrderStatus {
    /// Whether the order can no longer change.
    #[must_use]
    pub const fn is_final(self) -> bool {
        matches!(
            self,
            Self::Filled | Self::Canceled | Self::Rejected | Self::Expired
        )
    }
}

/// What a venue says about one of our orders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderReport {
    /// Our id for the order.
    pub client_order_id: ClientOrderId,
    /// The venue's id for the order.
    pub venue_order_id: String,
    /// The pair.
    pub symbol: Symbol,
    /// Buy or sell.
    pub side: Side,
    /// Where the order is in its life.
    pub status: OrderStatus,
    /// The quantity ordered.
    pub quantity: Quantity,
    /// How much has been filled.
    pub filled_quantity: Quantity,
    /// The average fill price, once something has filled.
    pub average_price: Option<Price>,
    /// Fees paid so far, in `fee_asset`.
    pub fee: Quantity,
    /// The asset fees were taken in (base asset fees leave less to sell later).
    pub fee_asset: Option<Asset>,
    /// When the venue last changed the order.
    pub updated_at: Timestamp,
}

/// How much of one asset an account holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    /// The asset.
    pub asset: Asset,
    /// Available to trade.
    pub free: Quantity,
    /// Held by open orders.
    pub locked: Quantity,
}

/// What an API key may do, as the venue reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct KeyPermissions {
    /// May read balances and orders.
    pub read: bool,
    /// May place and cancel orders (required by Nexus).
    pub trade: bool,
    /// May withdraw funds: Nexus never needs this, so it is reported as a risk.
    pub withdraw: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn qty(s: &str) -> Quantity {
        Quantity::from_str(s).unwrap()
    }

    #[test]
    fn sides_read_as_the_venues_and_the_api_write_them() {
        assert_eq!((Side::Buy.as_str(), Side::Sell.as_str()), ("buy", "sell"));
        assert_eq!(format!("{} {}", Side::Buy, Side::Sell), "buy sell");
    }

    #[test]
    fn intents_keep_their_shape() {
        let symbol: Symbol = "ETH/USDT".parse().unwrap();
        let market = OrderIntent::market(symbol, Side::Sell, qty("1.5")).unwrap();
        assert_eq!(market.order_type(), OrderType::Market);
        assert_eq!(market.limit_price(), None);
        assert_eq!(
            OrderIntent::market(symbol, Side::Buy, Quantity::ZERO),
            Err(OrderError::ZeroQuantity)
        );
    }

    #[test]
    fn intents_serialise_with_their_type_and_are_checked_on_the_way_in() {
        let symbol: Symbol = "ETH/USDT".parse().unwrap();
        let limit = OrderIntent::limit(
            symbol,
            Side::Buy,
            qty("2"),
            Price::from_str("3000.5").unwrap(),
        )
        .unwrap();
        let json = serde_json::to_value(limit).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "symbol": "ETH/USDT", "side": "buy", "order_type": "limit",
                "quantity": "2", "limit_price": "3000.5"
            })
        );
        assert_eq!(serde_json::from_value::<OrderIntent>(json).unwrap(), limit);
        let bad = serde_json::json!({
            "symbol": "ETH/USDT", "side": "buy", "order_type": "limit", "quantity": "2"
        });
        let err = serde_json::from_value::<OrderIntent>(bad).unwrap_err();
        assert!(
            err.to_string()
                .contains("a limit order needs a limit_price"),
            "{err}"
        );
        let zero = serde_json::json!({
            "symbol": "ETH/USDT", "side": "sell", "order_type": "market", "quantity": "0"
        });
        assert!(serde_json::from_value::<OrderIntent>(zero).is_err());
    }

    #[test]
    fn final_statuses() {
        use OrderStatus::*;
        let finals: Vec<_> = [New, PartiallyFilled, Filled, Canceled, Rejected, Expired]
            .into_iter()
            .filter(|s| s.is_final())
            .collect();
        assert_eq!(finals, [Filled, Canceled, Rejected, Expired]);
        assert_eq!(
            serde_json::to_string(&PartiallyFilled).unwrap(),
            "\"partially_filled\""
        );
    }
}
