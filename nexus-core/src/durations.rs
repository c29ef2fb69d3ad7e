//! Durations as people write them in settings: `90s`, `10m`, `2h`, `3d`, or several
//! together (`1d12h`).

use std::time::Duration;

/// A duration setting that does not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?}: expected a duration like 90s, 10m, 2h or 3d")]
pub struct DurationError {
    /// The text.
    pub text: String,
}

/// Reads `text`: whole numbers each followed by `s`, `m`, `h` or `d`.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(nexus_core::durations::parse("1d12h"), Ok(Duration::from_secs(36 * 3600)));
/// assert!(nexus_core::durations::parse("3 days").is_err());
/// ```
///
/// # Errors
/// [`DurationError`] for anything else (an empty text, a missing unit, an overflow).
pub fn parse(text: &str) -> Result<Duration, DurationError> {
    let bad = || DurationError {
        text: text.to_owned(),
    };
    let mut total: u64 = 0;
    let mut digits = String::new();
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(bad());
    }
    for c in trimmed.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit: u64 = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(bad()),
        };
        let count: u64 = digits.parse().map_err(|_| bad())?;
        digits.clear();
        total = count
            .checked_mul(unit)
            .and_then(|secs| total.checked_add(secs))
            .ok_or_else(bad)?;
    }
    if !digits.is_empty() {
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
}

/// `duration` the way [`parse`] reads it, largest units first (`3d`, `1h30m`, `0s`).
#[must_use]
pub fn format(duration: Duration) -> String {
    let mut secs = duration.as_secs();
    if secs == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn settings_read_and_nonsense_is_refused() {
        assert_eq!(parse("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse(" 2h "), Ok(Duration::from_secs(7200)));
        assert_eq!(parse("3d"), Ok(Duration::from_secs(259_200)));
        assert_eq!(parse("10m"), Ok(Duration::from_secs(600)));
        for bad in [
            "",
            "3",
            "d",
            "3x",
            "-1s",
            "1.5h",
            "99999999999999999999s",
            "3 d",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(format(Duration::from_secs(90)), "1m30s");
        assert_eq!(format(Duration::from_secs(0)), "0s");
    }

    proptest! {
        #[test]
        fn what_is_formatted_reads_back(secs in 0u64..10_000_000_000) {
            let d = Duration::from_secs(secs);
            prop_assert_eq!(parse(&format(d)), Ok(d));
        }
    }
}
