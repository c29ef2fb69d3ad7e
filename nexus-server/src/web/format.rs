//! Numbers and times for people: thousands separators, money with its asset, relative
//! times with the exact time beside them (on hover).

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

/// `1234567` as `1,234,567`.
#[must_use]
pub fn count(n: u64) -> String {
    group(&n.to_string())
}

/// Digits grouped by three with commas.
fn group(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A decimal with thousands separators and at most `places` decimals (trailing zeros
/// dropped, but never fewer than `min_places`): `12345.5` → `12,345.50` with 2/2.
#[must_use]
pub fn decimal(value: Decimal, min_places: u32, places: u32) -> String {
    let rounded = value.round_dp(places).normalize();
    let negative = rounded.is_sign_negative() && !rounded.is_zero();
    let text = rounded.abs().to_string();
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let mut frac = frac.to_owned();
    while (frac.len() as u32) < min_places {
        frac.push('0');
    }
    let mut out = String::new();
    if negative {
        out.push('−');
    }
    out.push_str(&group(int));
    if !frac.is_empty() {
        out.push('.');
        out.push_str(&frac);
    }
    out
}

/// An amount with its asset: `12,345.50 USDT`; stablecoins and fiat with 2 decimals,
/// others with up to 8.
#[must_use]
pub fn money(amount: Decimal, asset: &str) -> String {
    let fiat_like = matches!(
        asset,
        "USD" | "USDT" | "USDC" | "EUR" | "GBP" | "BUSD" | "DAI" | "FDUSD"
    );
    let text = if fiat_like {
        decimal(amount, 2, 2)
    } else {
        decimal(amount, 0, 8)
    };
    format!("{text} {asset}")
}

/// An amount with a sign, for P&L: `+12.50 USDT`, `−3.10 USDT`.
#[must_use]
pub fn signed_money(amount: Decimal, asset: &str) -> String {
    let text = money(amount, asset);
    if amount.is_sign_positive() && !amount.is_zero() {
        format!("+{text}")
    } else {
        text
    }
}

/// A time shown relatively, with the exact time for `title` and `datetime`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct When {
    /// `3 minutes ago`, `in 2 hours`.
    pub relative: String,
    /// `2026-12-04 19:30:05 UTC`.
    pub exact: String,
    /// RFC 3339, for `<time datetime>`.
    pub iso: String,
}

/// `at` as seen at `now`.
#[must_use]
pub fn when(at: DateTime<Utc>, now: DateTime<Utc>) -> When {
    When {
        relative: relative(at, now),
        exact: at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        iso: at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }
}

/// `3 minutes ago`, `just now`, `in 2 days`.
#[must_use]
pub fn relative(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - at).num_seconds();
    let future = secs < 0;
    let secs = secs.unsigned_abs();
    if secs < 45 {
        return "just now".to_owned();
    }
    let (n, unit) = match secs {
        s if s < 90 * 60 => (s.div_ceil(60).max(1), "minute"),
        s if s < 36 * 3600 => ((s + 1800) / 3600, "hour"),
        s if s < 45 * 86_400 => ((s + 43_200) / 86_400, "day"),
        s if s < 548 * 86_400 => ((s + 15 * 86_400) / (30 * 86_400), "month"),
        s => ((s + 182 * 86_400) / (365 * 86_400), "year"),
    };
    let n = n.max(1);
    let plural = if n == 1 { "" } else { "s" };
    if future {
        format!("in {} {unit}{plural}", count(n))
    } else {
        format!("{} {unit}{plural} ago", count(n))
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use chrono::TimeZone;

    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).expect("decimal")
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(decimal(d("12345.5"), 2, 2), "12,345.50");
        assert_eq!(decimal(d("-1234.567"), 0, 2), "−1,234.57");
        assert_eq!(decimal(d("0.00012345"), 0, 8), "0.00012345");
        assert_eq!(decimal(d("1000000"), 0, 8), "1,000,000");
    }

    #[test]
    fn money_carries_its_asset() {
        assert_eq!(money(d("10000"), "USDT"), "10,000.00 USDT");
        assert_eq!(money(d("0.015"), "BTC"), "0.015 BTC");
        assert_eq!(signed_money(d("12.5"), "USDT"), "+12.50 USDT");
        assert_eq!(signed_money(d("-3.1"), "USDT"), "−3.10 USDT");
        assert_eq!(signed_money(Decimal::ZERO, "USDT"), "0.00 USDT");
    }

    #[test]
    fn times_are_relative_with_the_exact_one_kept() {
        let now = Utc
            .with_ymd_and_hms(2026, 12, 4, 12, 0, 0)
            .single()
            .expect("time");
        let ago = |s: i64| relative(now - chrono::Duration::seconds(s), now);
        assert_eq!(ago(10), "just now");
        assert_eq!(ago(60), "1 minute ago");
        assert_eq!(ago(150), "3 minutes ago");
        assert_eq!(ago(3 * 3600), "3 hours ago");
        assert_eq!(ago(2 * 86_400), "2 days ago");
        assert_eq!(ago(-7200), "in 2 hours");
        let w = when(now, now);
        assert_eq!(w.exact, "2026-12-04 12:00:00 UTC");
        assert_eq!(w.iso, "2026-12-04T12:00:00Z");
    }
}
