//! The advisor's prompt: a fixed system message (the advisor may only block, and answers
//! JSON `{"verdict": "allow" | "block", "confidence": 0–1, "reason": …}`) and a compact
//! user message built from a [`MarketBrief`]: the market, the action, the recent candles
//! summarised ([`CandleSummary`]), and the rules' regime with its indicators.
//!
//! The text is deterministic for a brief (decimals as exact strings, floats at fixed
//! precision), so [`Prompt::hash`] identifies what was asked: the cache and the records
//! key on it.

use std::fmt::Write as _;

use nexus_core::regime::Classification;
use nexus_core::regime::gate::GateAction;
use nexus_core::{Candle, ExchangeId, Interval, Symbol};
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};

/// The system message: the advisor's role, its only power, and the answer's form.
pub const SYSTEM: &str = "You are a risk advisor for an automated crypto trading engine. \
The engine's rules have already allowed the proposed trade; you are asked for a second opinion. \
You can only block the trade or let it through: you cannot start, enlarge or change a trade. \
Block only when the market data shows a clear reason not to buy now (for example a crash in \
progress, a spike that is likely to reverse, or a regime the rules misread). \
Answer with one JSON object and nothing else: \
{\"verdict\": \"allow\" or \"block\", \"confidence\": a number from 0 to 1, \"reason\": one or two sentences}.";

/// The recent candles in a few numbers, as exact decimal strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandleSummary {
    /// How many candles.
    pub count: usize,
    /// The first candle's open.
    pub first_open: String,
    /// The last candle's close.
    pub last_close: String,
    /// The highest high.
    pub high: String,
    /// The lowest low.
    pub low: String,
    /// Last close against first open, in percent (2 decimals, signed).
    pub change_pct: String,
    /// Average true range over the candles (the first candle's range has no previous
    /// close), 8 decimals at most.
    pub atr: String,
    /// `rising`, `falling` or `flat`: the mean volume of the later half against the
    /// earlier half (above 1.1, below 0.9, else flat); `flat` with fewer than 2 candles.
    pub volume_trend: &'static str,
    /// That ratio (2 decimals), or `n/a` when the earlier half traded nothing.
    pub volume_ratio: String,
}

impl CandleSummary {
    /// The summary of `candles` (oldest first); `None` when there are none.
    #[must_use]
    pub fn of(candles: &[Candle]) -> Option<Self> {
        let first = candles.first()?;
        let last = candles.last()?;
        let open = first.open().value();
        let close = last.close().value();
        let high = candles.iter().map(|c| c.high().value()).max()?;
        let low = candles.iter().map(|c| c.low().value()).min()?;
        let change = (close - open) / open * Decimal::ONE_HUNDRED;
        let mut ranges = Decimal::ZERO;
        let mut previous: Option<Decimal> = None;
        for c in candles {
            let (h, l) = (c.high().value(), c.low().value());
            let range = previous.map_or(h - l, |p| (h - l).max((h - p).abs()).max((l - p).abs()));
            ranges += range;
            previous = Some(c.close().value());
        }
        let atr = ranges / Decimal::from(candles.len());
        let half = candles.len() / 2;
        let mean = |part: &[Candle]| {
            let n = Decimal::from(part.len().max(1));
            part.iter().map(|c| c.volume().value()).sum::<Decimal>() / n
        };
        let (earlier, later) = candles.split_at(half);
        let (volume_trend, volume_ratio) = if half == 0 || mean(earlier).is_zero() {
            ("flat", "n/a".to_owned())
        } else {
            let ratio = mean(later) / mean(earlier);
            let trend = if ratio > Decimal::new(11, 1) {
                "rising"
            } else if ratio < Decimal::new(9, 1) {
                "falling"
            } else {
                "flat"
            };
            (trend, fixed(ratio, 2))
        };
        Some(Self {
            count: candles.len(),
            first_open: open.normalize().to_string(),
            last_close: close.normalize().to_string(),
            high: high.normalize().to_string(),
            low: low.normalize().to_string(),
            change_pct: signed(fixed(change, 2)),
            atr: atr.round_dp(8).normalize().to_string(),
            volume_trend,
            volume_ratio,
        })
    }
}

/// `value` rounded to `dp` decimals, with exactly that many.
fn fixed(value: Decimal, dp: u32) -> String {
    let mut rounded = value.round_dp(dp);
    rounded.rescale(dp);
    rounded.to_string()
}

fn signed(text: String) -> String {
    if text.starts_with('-') {
        text
    } else {
        format!("+{text}")
    }
}

/// What the advisor is told about one market and decision. The scheduler fills it once
/// per market and candle.
#[derive(Debug, Clone, PartialEq)]
pub struct MarketBrief {
    /// The venue.
    pub exchange: ExchangeId,
    /// The pair.
    pub symbol: Symbol,
    /// The candles' interval.
    pub interval: Interval,
    /// `Entry` or `Add` (the advisor is not asked about exits).
    pub action: GateAction,
    /// The recent candles summarised; `None` when there are none.
    pub candles: Option<CandleSummary>,
    /// The rules' regime, confidence and indicators, when the classifier has warmed up.
    pub classification: Option<Classification>,
}

impl MarketBrief {
    /// A brief with `candles` (oldest first) summarised.
    #[must_use]
    pub fn new(
        exchange: ExchangeId,
        symbol: Symbol,
        interval: Interval,
        action: GateAction,
        candles: &[Candle],
        classification: Option<Classification>,
    ) -> Self {
        Self {
            exchange,
            symbol,
            interval,
            action,
            candles: CandleSummary::of(candles),
            classification,
        }
    }

    /// The prompt for this brief.
    #[must_use]
    pub fn prompt(&self) -> Prompt {
        Prompt::new(SYSTEM, &self.user_text())
    }

    /// The user message.
    fn user_text(&self) -> String {
        let action = match self.action {
            GateAction::Entry => "entry (open a new long position)",
            GateAction::Add => "add (buy more into an open long position)",
            GateAction::Exit => "exit (close a position)",
        };
        let mut text = format!(
            "Market: {} {}, {} candles\nProposed action: {action}\n",
            self.exchange, self.symbol, self.interval
        );
        match &self.candles {
            Some(c) => {
                let _ = writeln!(
                    text,
                    "Last {} candles: open {} -> close {} ({} %), high {}, low {}, ATR {}, volume {} (later/earlier half {})",
                    c.count,
                    c.first_open,
                    c.last_close,
                    c.change_pct,
                    c.high,
                    c.low,
                    c.atr,
                    c.volume_trend,
                    c.volume_ratio
                );
            }
            None => text.push_str("Recent candles: none available\n"),
        }
        match &self.classification {
            Some(c) => {
                let i = &c.indicators;
                let _ = writeln!(
                    text,
                    "Rules' regime: {} (confidence {:.2}; this bar alone: {})",
                    c.regime, c.confidence, c.raw
                );
                let _ = writeln!(
                    text,
                    "Indicators: close {:.8}, EMA fast {:.8}, EMA slow {:.8}, ADX {:.2}, ATR {:.8}, annualised volatility {:.4}, drawdown from high {:.4}",
                    i.close, i.ema_fast, i.ema_slow, i.adx, i.atr, i.volatility, i.drawdown
                );
            }
            None => text.push_str("Rules' regime: unknown (indicators not warmed up)\n"),
        }
        text.push_str("Answer with the JSON object only.");
        text
    }
}

/// A prompt ready to send: the system and user messages and their hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    /// The system message.
    pub system: String,
    /// The user message.
    pub user: String,
    /// [`prompt_hash`] of the two.
    pub hash: String,
}

impl Prompt {
    /// A prompt of `system` and `user`, hashed.
    #[must_use]
    pub fn new(system: &str, user: &str) -> Self {
        Self {
            system: system.to_owned(),
            user: user.to_owned(),
            hash: prompt_hash(system, user),
        }
    }
}

/// SHA-256, lowercase hex, of the system message, a NUL byte and the user message: the
/// same prompt always has the same hash, and moving text between the two messages
/// changes it.
#[must_use]
pub fn prompt_hash(system: &str, user: &str) -> String {
    let mut sha = Sha256::new();
    sha.update(system.as_bytes());
    sha.update([0u8]);
    sha.update(user.as_bytes());
    sha.finalize()
        .iter()
        .fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use nexus_core::regime::{IndicatorValues, Regime};

    use super::*;

    fn candle(hour: u32, o: &str, h: &str, l: &str, c: &str, v: &str) -> Candle {
        let at = Utc.with_ymd_and_hms(2026, 8, 21, hour, 0, 0).unwrap();
        Candle::new(
            at,
            o.parse().unwrap(),
            h.parse().unwrap(),
            l.parse().unwrap(),
            c.parse().unwrap(),
            v.parse().unwrap(),
        )
        .unwrap()
    }

    fn candles() -> Vec<Candle> {
        vec![
            candle(0, "100", "102", "99", "101", "10"),
            candle(1, "101", "104", "100.5", "103.5", "12"),
            candle(2, "103.5", "106", "103", "105", "20"),
            candle(3, "105", "105.5", "98", "99", "30"),
        ]
    }

    fn brief() -> MarketBrief {
        MarketBrief::new(
            ExchangeId::Binance,
            "BTC/USDT".parse().unwrap(),
            Interval::H1,
            GateAction::Entry,
            &candles(),
            Some(Classification {
                regime: Regime::Bull,
                confidence: 0.8234,
                raw: Regime::Sideways,
                indicators: IndicatorValues {
                    close: 99.0,
                    ema_fast: 101.25,
                    ema_slow: 100.5,
                    adx: 27.5,
                    atr: 3.125,
                    volatility: 0.61,
                    drawdown: -0.0571,
                },
            }),
        )
    }

    #[test]
    fn candles_are_summarised_exactly() {
        let s = CandleSummary::of(&candles()).unwrap();
        assert_eq!(s.count, 4);
        assert_eq!(
            (s.first_open.as_str(), s.last_close.as_str()),
            ("100", "99")
        );
        assert_eq!((s.high.as_str(), s.low.as_str()), ("106", "98"));
        assert_eq!(s.change_pct, "-1.00");
        // True ranges: 3; max(3.5, 3, 0.5) = 3.5; max(3, 2.5, 0.5) = 3; max(7.5, 0.5, 7) = 7.5.
        assert_eq!(s.atr, "4.25");
        // (20 + 30) / 2 against (10 + 12) / 2 = 25 / 11.
        assert_eq!(
            (s.volume_trend, s.volume_ratio.as_str()),
            ("rising", "2.27")
        );
        assert_eq!(CandleSummary::of(&[]), None);
        let one = CandleSummary::of(&candles()[..1]).unwrap();
        assert_eq!(
            (one.volume_trend, one.change_pct.as_str()),
            ("flat", "+1.00")
        );
    }

    #[test]
    fn the_prompt_for_a_fixed_brief() {
        let prompt = brief().prompt();
        assert_eq!(prompt.system, SYSTEM);
        assert_eq!(
            prompt.user,
            "Market: binance BTC/USDT, 1h candles\n\
             Proposed action: entry (open a new long position)\n\
             Last 4 candles: open 100 -> close 99 (-1.00 %), high 106, low 98, ATR 4.25, volume rising (later/earlier half 2.27)\n\
             Rules' regime: bull (confidence 0.82; this bar alone: sideways)\n\
             Indicators: close 99.00000000, EMA fast 101.25000000, EMA slow 100.50000000, ADX 27.50, ATR 3.12500000, annualised volatility 0.6100, drawdown from high -0.0571\n\
             Answer with the JSON object only."
        );
        assert!(SYSTEM.contains("can only block"));
        assert!(SYSTEM.contains("\"verdict\": \"allow\" or \"block\""));
        assert_eq!(prompt.hash, prompt_hash(&prompt.system, &prompt.user));
        assert_eq!(prompt.hash.len(), 64);
        assert!(
            prompt
                .hash
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );

        let mut add = brief();
        add.action = GateAction::Add;
        add.classification = None;
        add.candles = None;
        let other = add.prompt();
        assert_ne!(other.hash, prompt.hash);
        assert!(other.user.contains("Recent candles: none available"));
        assert!(other.user.contains("Rules' regime: unknown"));
    }

    #[test]
    fn the_hash_is_sha256_of_system_nul_user() {
        // SHA-256 of "a\0b", computed independently (`printf 'a\0b' | sha256sum`).
        assert_eq!(
            prompt_hash("a", "b"),
            "59b271ae1bbcb1d31d41929817f4b16fb439eb4f31520b5ad1d5ce98920a7138"
        );
        assert_ne!(prompt_hash("ab", ""), prompt_hash("a", "b"));
    }
}
