//! Errors of the core, one enum per concern. Every variant says what was wrong and, where
//! it matters, which value or field it was about.

use std::time::Duration;

use rust_decimal::Decimal;
use thiserror::Error;

use crate::instrument::ExchangeId;

/// A money value ([`Price`](crate::Price), [`Quantity`](crate::Quantity),
/// [`Notional`](crate::Notional), [`Percent`](crate::Percent)) could not be made.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MoneyError {
    /// The value must be strictly positive.
    #[error("{kind} must be greater than zero, got {value}")]
    NotPositive {
        /// Which kind of value (`"price"`, …).
        kind: &'static str,
        /// The rejected value.
        value: Decimal,
    },
    /// The value must not be negative.
    #[error("{kind} must not be negative, got {value}")]
    Negative {
        /// Which kind of value.
        kind: &'static str,
        /// The rejected value.
        value: Decimal,
    },
    /// The value is beyond the type's documented bound.
    #[error("{kind} {value} is larger than the maximum {max}")]
    TooLarge {
        /// Which kind of value.
        kind: &'static str,
        /// The rejected value.
        value: Decimal,
        /// The largest accepted magnitude.
        max: Decimal,
    },
    /// The text is not a plain decimal number.
    #[error("invalid {kind} {input:?}: {reason}")]
    Parse {
        /// Which kind of value.
        kind: &'static str,
        /// The input (its first 64 characters).
        input: String,
        /// What was wrong with it.
        reason: &'static str,
    },
    /// An intermediate result did not fit in a `Decimal`.
    #[error("arithmetic overflow in {operation}")]
    Overflow {
        /// The operation that overflowed.
        operation: &'static str,
    },
}

/// A [`Symbol`](crate::Symbol), [`Asset`](crate::Asset) or
/// [`ExchangeId`] could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SymbolError {
    /// No `/` between base and quote.
    #[error("symbol {input:?} has no '/': expected BASE/QUOTE like BTC/USDT")]
    MissingSeparator {
        /// The input.
        input: String,
    },
    /// More than one `/`.
    #[error("symbol {input:?} has more than one '/': expected BASE/QUOTE like BTC/USDT")]
    TooManySeparators {
        /// The input.
        input: String,
    },
    /// An asset code is empty.
    #[error("the {side} asset of {input:?} is empty: expected BASE/QUOTE like BTC/USDT")]
    EmptyAsset {
        /// `"base"` or `"quote"` (or `"asset"` for a lone asset code).
        side: &'static str,
        /// The input.
        input: String,
    },
    /// An asset code has a character other than ASCII letters and digits.
    #[error(
        "asset {asset:?} has the character {character:?}: only ASCII letters and digits are allowed"
    )]
    InvalidCharacter {
        /// The offending asset code.
        asset: String,
        /// The first character not allowed.
        character: char,
    },
    /// An asset code is longer than [`Asset::MAX_LEN`](crate::Asset::MAX_LEN).
    #[error("asset {asset:?} is {len} characters long; at most {max} are allowed")]
    TooLong {
        /// The offending asset code (its first 32 characters).
        asset: String,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Base and quote are the same asset.
    #[error("symbol {input:?} has the same base and quote asset")]
    SameAsset {
        /// The input.
        input: String,
    },
    /// Not one of the supported exchanges.
    #[error("unknown exchange {input:?}: expected one of binance, kraken, coinbase, paper")]
    UnknownExchange {
        /// The input.
        input: String,
    },
}

/// An id could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IdError {
    /// Not a UUID.
    #[error("invalid {kind} {input:?}: expected a UUID like 67e55044-10b1-426f-9247-bb680e5fe0c8")]
    NotUuid {
        /// Which id (`"user id"`, …).
        kind: &'static str,
        /// The input (its first 64 characters).
        input: String,
    },
    /// A client order id that one of the exchanges would refuse.
    #[error("invalid client order id {input:?}: {reason}")]
    ClientOrderId {
        /// The input (its first 64 characters).
        input: String,
        /// What was wrong.
        reason: &'static str,
    },
}

/// An instrument's filters are inconsistent.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InstrumentError {
    /// The step size must be positive.
    #[error("step_size must be greater than zero")]
    ZeroStepSize,
    /// `min_qty` is above `max_qty`.
    #[error("min_qty {min} is greater than max_qty {max}")]
    MinAboveMax {
        /// The minimum quantity.
        min: Decimal,
        /// The maximum quantity.
        max: Decimal,
    },
}

/// The filter an order violates. The exchange would reject such an order, so the engine
/// rounds or skips instead of sending it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FilterViolation {
    /// The quantity is zero.
    #[error("quantity is zero")]
    ZeroQuantity,
    /// The quantity is not a whole number of steps (`step_size`).
    #[error("quantity {quantity} is not a multiple of the step size {step_size}")]
    StepSize {
        /// The quantity.
        quantity: Decimal,
        /// The instrument's step size.
        step_size: Decimal,
    },
    /// The quantity is below `min_qty`.
    #[error("quantity {quantity} is below the minimum quantity {min_qty}")]
    MinQuantity {
        /// The quantity.
        quantity: Decimal,
        /// The instrument's minimum.
        min_qty: Decimal,
    },
    /// The quantity is above `max_qty`.
    #[error("quantity {quantity} is above the maximum quantity {max_qty}")]
    MaxQuantity {
        /// The quantity.
        quantity: Decimal,
        /// The instrument's maximum.
        max_qty: Decimal,
    },
    /// The price is not a whole number of ticks (`tick_size`).
    #[error("price {price} is not a multiple of the tick size {tick_size}")]
    TickSize {
        /// The price.
        price: Decimal,
        /// The instrument's tick size.
        tick_size: Decimal,
    },
    /// Rounding the price to the tick left nothing (a buy below one tick).
    #[error("price {price} rounds to zero at the tick size {tick_size}")]
    PriceBelowTick {
        /// The price.
        price: Decimal,
        /// The instrument's tick size.
        tick_size: Decimal,
    },
    /// Price × quantity is below `min_notional`.
    #[error("order value {notional} is below the minimum notional {min_notional}")]
    MinNotional {
        /// Price × quantity.
        notional: Decimal,
        /// The instrument's minimum.
        min_notional: Decimal,
    },
}

impl FilterViolation {
    /// The name of the violated filter, stable for logs and API clients
    /// (`step_size`, `min_qty`, `max_qty`, `tick_size`, `min_notional`).
    #[must_use]
    pub fn filter(&self) -> &'static str {
        match self {
            Self::ZeroQuantity | Self::MinQuantity { .. } => "min_qty",
            Self::StepSize { .. } => "step_size",
            Self::MaxQuantity { .. } => "max_qty",
            Self::TickSize { .. } | Self::PriceBelowTick { .. } => "tick_size",
            Self::MinNotional { .. } => "min_notional",
        }
    }
}

/// Market data is inconsistent.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MarketError {
    /// A candle's high is below its open, close or low, or its low above open or close.
    #[error("candle at {at} is inconsistent: {reason}")]
    InconsistentCandle {
        /// The candle's open time (RFC 3339).
        at: String,
        /// What does not add up.
        reason: &'static str,
    },
    /// A ticker's bid is above its ask.
    #[error("ticker for {symbol} has bid {bid} above ask {ask}")]
    CrossedBook {
        /// The symbol.
        symbol: String,
        /// Best bid.
        bid: Decimal,
        /// Best ask.
        ask: Decimal,
    },
    /// Not one of the supported candle intervals.
    #[error("unknown interval {input:?}: expected one of 1m, 5m, 15m, 1h, 4h, 1d")]
    UnknownInterval {
        /// The input.
        input: String,
    },
}

/// A [`RegimeConfig`](crate::regime::RegimeConfig) field is out of range.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RegimeConfigError {
    /// A field is outside its allowed range.
    #[error("{field} ({value}) must be {expected}")]
    OutOfRange {
        /// The field's name, as in the TOML file.
        field: &'static str,
        /// The rejected value.
        value: String,
        /// The allowed range.
        expected: &'static str,
    },
    /// The fast period must be shorter than the slow one.
    #[error("fast_period ({fast}) must be less than slow_period ({slow})")]
    FastNotBelowSlow {
        /// `fast_period`.
        fast: usize,
        /// `slow_period`.
        slow: usize,
    },
}

/// A [`PyramidConfig`](crate::pyramid::PyramidConfig) is invalid.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PyramidConfigError {
    /// Too many add-on levels.
    #[error("max_adds ({max_adds}) must be at most 20")]
    TooManyAdds {
        /// The configured value.
        max_adds: u32,
    },
    /// Adds without levels.
    #[error("max_adds is {max_adds} but no levels are defined")]
    NoLevels {
        /// The configured value.
        max_adds: u32,
    },
    /// More levels than adds.
    #[error("{count} levels are defined but max_adds is only {max_adds}")]
    MoreLevelsThanAdds {
        /// Levels defined.
        count: usize,
        /// The configured value.
        max_adds: u32,
    },
    /// Average-entry triggers must each be given (a repeated one could never trigger again).
    #[error(
        "with anchor average_entry each of the {max_adds} adds needs its own level; {count} are defined"
    )]
    LevelsMissing {
        /// Levels defined.
        count: usize,
        /// The configured value.
        max_adds: u32,
    },
    /// A level's field is invalid.
    #[error("level {level}: {field} {reason}")]
    Level {
        /// The level, 1-based.
        level: usize,
        /// The field (`trigger`, `size_multiplier`).
        field: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// The exposure cap is invalid.
    #[error("max_exposure: {reason}")]
    Exposure {
        /// What is wrong.
        reason: &'static str,
    },
    /// The cooldown is longer than [`MAX_COOLDOWN_SECS`](crate::pyramid::MAX_COOLDOWN_SECS).
    #[error("cooldown_secs ({cooldown_secs}) must be at most 31536000 (365 days)")]
    Cooldown {
        /// The configured value.
        cooldown_secs: u64,
    },
}

/// A [`SizingConfig`](crate::sizing::SizingConfig) field is outside its documented range.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SizingConfigError {
    /// A field is outside its range.
    #[error("{field}: must be {expected}, got {value}")]
    OutOfRange {
        /// The field's path within the sizing rules (`method.risk_percent`).
        field: &'static str,
        /// The rejected value.
        value: Decimal,
        /// The allowed range.
        expected: &'static str,
    },
}

/// A [`GatePolicy`](crate::regime::gate::GatePolicy) is invalid.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GatePolicyError {
    /// `max_data_age_secs` is outside its range.
    #[error("max_data_age_secs: must be between 1 and 86400 (one day), got {value}")]
    DataAge {
        /// The configured value.
        value: u64,
    },
    /// A regime list names a regime twice (so it can hold at most the four regimes).
    #[error("{field}: {regime} is listed more than once")]
    RepeatedRegime {
        /// `entry_regimes` or `add_regimes`.
        field: &'static str,
        /// The regime listed twice.
        regime: crate::regime::Regime,
    },
}

/// A [`BotConfig`](crate::fanout::BotConfig) is invalid: which section, and why. Its text
/// starts with the field's path (`sizing.method.risk_percent: must be …`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BotConfigError {
    /// The gate policy.
    #[error("gate.{0}")]
    Gate(#[from] GatePolicyError),
    /// The sizing rules.
    #[error("sizing.{0}")]
    Sizing(#[from] SizingConfigError),
    /// The pyramiding rules (their text names the level and field).
    #[error("pyramid: {0}")]
    Pyramid(#[from] PyramidConfigError),
}

/// A store (database) operation failed. Classified so callers can tell "try again" from
/// "your input conflicts" without knowing the database.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The database could not be reached or failed; retrying later may work.
    #[error("the database is unavailable: {message}")]
    Unavailable {
        /// What happened.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// A uniqueness or reference constraint refused the write.
    #[error("conflict: {constraint}")]
    Conflict {
        /// The constraint's name (stable; the server maps it to an API error).
        constraint: String,
    },
    /// The record does not exist.
    #[error("not found: {what}")]
    NotFound {
        /// What was looked for.
        what: String,
    },
    /// Stored data could not be read back (a bad row, a failed decryption).
    #[error("corrupt data: {message}")]
    Corrupt {
        /// What was wrong.
        message: String,
    },
}

impl StoreError {
    /// Whether retrying later can succeed.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }
}

/// A name, stored or given, that is none of its type's values (a regime, a job's kind or
/// state, an order's state).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown {kind} {name:?}: expected {expected}")]
pub struct UnknownName {
    /// What it should have named (`regime`, `job kind`, …).
    pub kind: &'static str,
    /// The name as given.
    pub name: String,
    /// The names there are.
    pub expected: &'static str,
}

/// A gate decision could not be recorded.
#[derive(Debug, Error)]
#[error("could not record the gate decision: {message}")]
pub struct DecisionLogError {
    /// What went wrong.
    pub message: String,
    /// The underlying error, when there is one.
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

/// An order intent is not well formed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OrderError {
    /// An order must be for more than nothing.
    #[error("order quantity must be greater than zero")]
    ZeroQuantity,
}

/// A fan-out batch size is outside its allowed range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum BatchSizeError {
    /// Below [`BatchSize::MIN`](crate::fanout::BatchSize::MIN) or above
    /// [`BatchSize::MAX`](crate::fanout::BatchSize::MAX).
    #[error("batch size {size} must be between {min} and {max}")]
    OutOfRange {
        /// The rejected size.
        size: usize,
        /// The smallest size allowed.
        min: usize,
        /// The largest size allowed.
        max: usize,
    },
}

/// A classified failure of an exchange call, the same for every venue so the engine can
/// decide what to do (retry, skip the user, tell them to fix their keys) without knowing
/// the venue. Venue adapters convert their own errors into these, keeping the venue's text.
#[derive(Debug, Error)]
pub enum ExchangeError {
    /// The API key is invalid, expired, lacks a permission or the signature was refused.
    #[error("{exchange}: authentication failed: {message}")]
    Auth {
        /// The venue.
        exchange: ExchangeId,
        /// The venue's explanation.
        message: String,
    },
    /// The account does not hold enough to place the order.
    #[error("{exchange}: insufficient balance: {message}")]
    InsufficientBalance {
        /// The venue.
        exchange: ExchangeId,
        /// The venue's explanation.
        message: String,
    },
    /// The venue asked us to slow down.
    #[error("{exchange}: rate limited{}", retry_after.map(|d| format!(", retry after {} ms", d.as_millis())).unwrap_or_default())]
    RateLimited {
        /// The venue.
        exchange: ExchangeId,
        /// How long the venue asked us to wait, when it said.
        retry_after: Option<Duration>,
    },
    /// The venue banned our IP for calling too often (Binance answers HTTP 418): every
    /// call to it waits until the ban ends. Bans grow when calls go on, so it is counted
    /// apart from [`ExchangeError::RateLimited`] and wakes an operator.
    #[error("{exchange}: banned our IP{}", retry_after.map(|d| format!(" for {} s more", d.as_secs())).unwrap_or_default())]
    Banned {
        /// The venue.
        exchange: ExchangeId,
        /// How long the ban lasts, when the venue said.
        retry_after: Option<Duration>,
    },
    /// The venue refused the request for a reason retrying will not change
    /// (invalid order, unknown symbol, market closed).
    #[error("{exchange}: rejected{}: {reason}", code.as_ref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Rejected {
        /// The venue.
        exchange: ExchangeId,
        /// The venue's error code, when it has one.
        code: Option<String>,
        /// The venue's explanation.
        reason: String,
    },
    /// A timeout, connection failure or server error on a request that changes nothing
    /// (a read): trying again later is safe.
    #[error("{exchange}: transient failure: {message}")]
    Transient {
        /// The venue.
        exchange: ExchangeId,
        /// What happened.
        message: String,
        /// The underlying error, when there is one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// An order request timed out or met a server error after it was sent: the venue may
    /// or may not have placed (or cancelled) the order. Look it up by client order id
    /// before trying again; placing it blindly could double it.
    #[error("{exchange}: outcome unknown, look the order up before retrying: {message}")]
    OutcomeUnknown {
        /// The venue.
        exchange: ExchangeId,
        /// What happened.
        message: String,
    },
    /// The venue answered with something we could not understand.
    #[error("{exchange}: could not decode the response: {message}")]
    Decode {
        /// The venue.
        exchange: ExchangeId,
        /// What did not parse, where and why (for the REST venues, a
        /// `nexus_exchanges::DecodeError`'s text: the endpoint, the field and the reason).
        message: String,
    },
}

impl ExchangeError {
    /// Whether trying again later can succeed: rate limits, bans and transient failures.
    /// [`ExchangeError::OutcomeUnknown`] is not: the order must be looked up first.
    ///
    /// ```
    /// use nexus_core::{ExchangeError, ExchangeId};
    ///
    /// let limited = ExchangeError::RateLimited { exchange: ExchangeId::Binance, retry_after: None };
    /// assert!(limited.is_retryable());
    /// let auth = ExchangeError::Auth { exchange: ExchangeId::Binance, message: "bad key".into() };
    /// assert!(!auth.is_retryable());
    /// ```
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. } | Self::Banned { .. } | Self::Transient { .. }
        )
    }

    /// How long the venue asked us to wait, if it said.
    #[must_use]
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } | Self::Banned { retry_after, .. } => {
                *retry_after
            }
            _ => None,
        }
    }

    /// The venue the error came from.
    #[must_use]
    pub fn exchange(&self) -> ExchangeId {
        match self {
            Self::Auth { exchange, .. }
            | Self::InsufficientBalance { exchange, .. }
            | Self::RateLimited { exchange, .. }
            | Self::Banned { exchange, .. }
            | Self::Rejected { exchange, .. }
            | Self::Transient { exchange, .. }
            | Self::OutcomeUnknown { exchange, .. }
            | Self::Decode { exchange, .. } => *exchange,
        }
    }

    /// Every class's name, as [`ExchangeError::kind`] gives them.
    pub const KINDS: [&'static str; 8] = [
        "auth",
        "insufficient_balance",
        "rate_limited",
        "banned",
        "rejected",
        "transient",
        "outcome_unknown",
        "decode",
    ];

    /// A stable machine-readable name of the class (one of [`ExchangeError::KINDS`]), for
    /// metrics and API errors.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Auth { .. } => "auth",
            Self::InsufficientBalance { .. } => "insufficient_balance",
            Self::RateLimited { .. } => "rate_limited",
            Self::Banned { .. } => "banned",
            Self::Rejected { .. } => "rejected",
            Self::Transient { .. } => "transient",
            Self::OutcomeUnknown { .. } => "outcome_unknown",
            Self::Decode { .. } => "decode",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_unavailable_database_is_worth_retrying() {
        let unavailable = StoreError::Unavailable {
            message: "connection refused".into(),
            source: None,
        };
        assert!(unavailable.is_retryable());
        for permanent in [
            StoreError::Conflict {
                constraint: "users_email_key".into(),
            },
            StoreError::NotFound { what: "bot".into() },
            StoreError::Corrupt {
                message: "bots.config".into(),
            },
        ] {
            assert!(!permanent.is_retryable(), "{permanent}");
        }
    }

    #[test]
    fn only_rate_limits_and_transient_failures_are_retryable() {
        let ex = ExchangeId::Kraken;
        let cases = [
            (
                ExchangeError::Auth {
                    exchange: ex,
                    message: "EAPI:Invalid key".into(),
                },
                false,
            ),
            (
                ExchangeError::InsufficientBalance {
                    exchange: ex,
                    message: "x".into(),
                },
                false,
            ),
            (
                ExchangeError::RateLimited {
                    exchange: ex,
                    retry_after: None,
                },
                true,
            ),
            (
                ExchangeError::Banned {
                    exchange: ex,
                    retry_after: Some(Duration::from_secs(120)),
                },
                true,
            ),
            (
                ExchangeError::Rejected {
                    exchange: ex,
                    code: None,
                    reason: "bad".into(),
                },
                false,
            ),
            (
                ExchangeError::Transient {
                    exchange: ex,
                    message: "timeout".into(),
                    source: None,
                },
                true,
            ),
            (
                ExchangeError::OutcomeUnknown {
                    exchange: ex,
                    message: "timeout".into(),
                },
                false,
            ),
            (
                ExchangeError::Decode {
                    exchange: ex,
                    message: "x".into(),
                },
                false,
            ),
        ];
        let mut kinds = Vec::new();
        for (err, retryable) in cases {
            assert_eq!(err.is_retryable(), retryable, "{err}");
            assert_eq!(err.exchange(), ex);
            kinds.push(err.kind());
        }
        // Each class has its own name, and KINDS lists them all.
        kinds.sort_unstable();
        let mut all = ExchangeError::KINDS.to_vec();
        all.sort_unstable();
        assert_eq!(kinds, all);
    }

    #[test]
    fn messages_carry_the_venue_and_details() {
        let err = ExchangeError::RateLimited {
            exchange: ExchangeId::Binance,
            retry_after: Some(Duration::from_secs(2)),
        };
        assert_eq!(
            err.to_string(),
            "binance: rate limited, retry after 2000 ms"
        );
        let banned = ExchangeError::Banned {
            exchange: ExchangeId::Binance,
            retry_after: Some(Duration::from_secs(120)),
        };
        assert_eq!(banned.to_string(), "binance: banned our IP for 120 s more");
        assert_eq!(banned.retry_after(), Some(Duration::from_secs(120)));
        assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));
        let err = ExchangeError::Rejected {
            exchange: ExchangeId::Binance,
            code: Some("-1013".into()),
            reason: "Filter failure: LOT_SIZE".into(),
        };
        assert_eq!(
            err.to_string(),
            "binance: rejected (-1013): Filter failure: LOT_SIZE"
        );
        assert_eq!(err.kind(), "rejected");
    }

    #[test]
    fn transient_errors_keep_their_source() {
        let io = std::io::Error::new(std::io::ErrorKind::TimedOut, "read timed out");
        let err = ExchangeError::Transient {
            exchange: ExchangeId::Coinbase,
            message: "request timed out".into(),
            source: Some(Box::new(io)),
        };
        let source = std::error::Error::source(&err).expect("source kept");
        assert_eq!(source.to_string(), "read timed out");
    }

    #[test]
    fn batch_sizes_out_of_range_name_the_range() {
        let err = BatchSizeError::OutOfRange {
            size: 7,
            min: 100,
            max: 500,
        };
        assert_eq!(err.to_string(), "batch size 7 must be between 100 and 500");
    }
}
