//! The candle CSV format used by `nexus regime`, `nexus backtest`, the simulated feed and
//! tests: a header naming the columns `timestamp,open,high,low,close,volume` (in any order;
//! other columns are ignored), then one candle per line in strictly ascending time.
//! `timestamp` is ISO-8601 (`2021-04-14`, `2021-04-14T00:00:00Z`, any offset converted to
//! UTC) or Unix milliseconds.
//!
//! The whole input is checked before anything is returned, and every error names its line,
//! so a caller never acts on half a file.
//!
//! ```
//! use nexus_core::market::csv::parse_candles;
//!
//! let text = "timestamp,open,high,low,close,volume\n2021-04-14,63500,64850,61000,63100,1200.5\n";
//! let candles = parse_candles(text)?;
//! assert_eq!(candles[0].close().to_string(), "63100");
//!
//! let err = parse_candles("timestamp,open,high,low,volume\n").unwrap_err();
//! assert_eq!(err.to_string(), "line 1: missing column \"close\"");
//! # Ok::<(), nexus_core::market::csv::CandleCsvError>(())
//! ```

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use thiserror::Error;

use crate::Timestamp;
use crate::error::{MarketError, MoneyError};
use crate::market::Candle;

/// The columns the format requires.
pub const COLUMNS: [&str; 6] = ["timestamp", "open", "high", "low", "close", "volume"];

/// What is wrong with a candle CSV, and on which line (1-based, the header is line 1).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CandleCsvError {
    /// No header line.
    #[error("line 1: the file is empty: expected the header timestamp,open,high,low,close,volume")]
    Empty,
    /// The header lacks a required column.
    #[error("line 1: missing column {column:?}")]
    MissingColumn {
        /// The missing column.
        column: &'static str,
    },
    /// The header names a column twice.
    #[error("line 1: column {column:?} appears twice")]
    DuplicateColumn {
        /// The repeated column.
        column: String,
    },
    /// A header but no candles.
    #[error("line 2: no candles after the header")]
    NoRows,
    /// A row with a different number of fields than the header.
    #[error("line {line}: expected {expected} fields as in the header, found {found}")]
    FieldCount {
        /// The line.
        line: usize,
        /// Fields in the header.
        expected: usize,
        /// Fields on this line.
        found: usize,
    },
    /// An unreadable timestamp.
    #[error(
        "line {line}: timestamp {value:?} is not ISO-8601 (2021-04-14, 2021-04-14T00:00:00Z) or Unix milliseconds"
    )]
    Timestamp {
        /// The line.
        line: usize,
        /// The field (its first 40 characters).
        value: String,
    },
    /// An unreadable or out-of-range number.
    #[error("line {line}: {column}: {source}")]
    Number {
        /// The line.
        line: usize,
        /// The column.
        column: &'static str,
        /// What was wrong with the number.
        #[source]
        source: MoneyError,
    },
    /// A candle whose high and low do not bound its open and close.
    #[error("line {line}: {source}")]
    Inconsistent {
        /// The line.
        line: usize,
        /// What does not add up.
        #[source]
        source: MarketError,
    },
    /// A timestamp not after the previous row's.
    #[error(
        "line {line}: timestamp {timestamp} is not after the previous row's {previous}: rows must be in ascending time"
    )]
    OutOfOrder {
        /// The line.
        line: usize,
        /// This row's time (RFC 3339).
        timestamp: String,
        /// The previous row's time (RFC 3339).
        previous: String,
    },
}

impl CandleCsvError {
    /// The 1-based line the error is on.
    #[must_use]
    pub fn line(&self) -> usize {
        match self {
            Self::Empty | Self::MissingColumn { .. } | Self::DuplicateColumn { .. } => 1,
            Self::NoRows => 2,
            Self::FieldCount { line, .. }
            | Self::Timestamp { line, .. }
            | Self::Number { line, .. }
            | Self::Inconsistent { line, .. }
            | Self::OutOfOrder { line, .. } => *line,
        }
    }
}

/// Parses a whole candle CSV.
///
/// # Errors
/// The first [`CandleCsvError`], with its line.
pub fn parse_candles(text: &str) -> Result<Vec<Candle>, CandleCsvError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')));
    let header = lines
        .by_ref()
        .find(|(_, l)| !l.trim().is_empty())
        .map(|(_, l)| l)
        .ok_or(CandleCsvError::Empty)?;
    let index = column_index(header)?;
    let width = header.split(',').count();

    let mut candles: Vec<Candle> = Vec::new();
    for (line, row) in lines {
        if row.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = row.split(',').map(str::trim).collect();
        if fields.len() != width {
            return Err(CandleCsvError::FieldCount {
                line,
                expected: width,
                found: fields.len(),
            });
        }
        let at = parse_timestamp(fields[index[0]]).ok_or_else(|| CandleCsvError::Timestamp {
            line,
            value: truncate(fields[index[0]]),
        })?;
        let field = |column: usize| fields[index[column]];
        let price = |column: usize| {
            field(column)
                .parse()
                .map_err(|source| CandleCsvError::Number {
                    line,
                    column: COLUMNS[column],
                    source,
                })
        };
        let volume = field(5).parse().map_err(|source| CandleCsvError::Number {
            line,
            column: "volume",
            source,
        })?;
        let candle = Candle::new(at, price(1)?, price(2)?, price(3)?, price(4)?, volume)
            .map_err(|source| CandleCsvError::Inconsistent { line, source })?;
        if let Some(previous) = candles.last()
            && previous.open_time() >= at
        {
            return Err(CandleCsvError::OutOfOrder {
                line,
                timestamp: at.to_rfc3339(),
                previous: previous.open_time().to_rfc3339(),
            });
        }
        candles.push(candle);
    }
    if candles.is_empty() {
        return Err(CandleCsvError::NoRows);
    }
    Ok(candles)
}

/// Where each of [`COLUMNS`] is in the header.
fn column_index(header: &str) -> Result<[usize; 6], CandleCsvError> {
    let names: Vec<String> = header
        .split(',')
        .map(|h| h.trim().trim_matches('"').to_ascii_lowercase())
        .collect();
    for (i, name) in names.iter().enumerate() {
        if names[..i].contains(name) {
            return Err(CandleCsvError::DuplicateColumn {
                column: truncate(name),
            });
        }
    }
    let mut index = [0; 6];
    for (slot, column) in index.iter_mut().zip(COLUMNS) {
        *slot = names
            .iter()
            .position(|n| n == column)
            .ok_or(CandleCsvError::MissingColumn { column })?;
    }
    Ok(index)
}

fn parse_timestamp(field: &str) -> Option<Timestamp> {
    if !field.is_empty() && field.bytes().all(|b| b.is_ascii_digit()) {
        return DateTime::from_timestamp_millis(field.parse().ok()?);
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(field) {
        return Some(at.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"] {
        if let Ok(at) = NaiveDateTime::parse_from_str(field, format) {
            return Some(at.and_utc());
        }
    }
    NaiveDate::parse_from_str(field, "%Y-%m-%d")
        .ok()?
        .and_hms_opt(0, 0, 0)
        .map(|at| at.and_utc())
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "timestamp,open,high,low,close,volume";

    #[test]
    fn reads_every_timestamp_form_and_column_order() {
        let text = "close,timestamp,volume,low,high,open,extra\r\n\
                    101,2021-04-14,1,95,110,100,x\r\n\
                    102,2021-04-15T00:00:00Z,1,95,110,100,x\r\n\
                    103,2021-04-16T02:00:00+02:00,1,95,110,100,x\r\n\
                    104,2021-04-17 00:00:00,1,95,110,100,x\r\n\
                    \r\n\
                    105,1618704000000,1,95,110,100,x\r\n";
        let candles = parse_candles(text).unwrap();
        let days: Vec<String> = candles.iter().map(|c| c.open_time().to_rfc3339()).collect();
        assert_eq!(
            days,
            [
                "2021-04-14T00:00:00+00:00",
                "2021-04-15T00:00:00+00:00",
                "2021-04-16T00:00:00+00:00",
                "2021-04-17T00:00:00+00:00",
                "2021-04-18T00:00:00+00:00",
            ]
        );
        assert_eq!(candles[4].close().to_string(), "105");
    }

    #[test]
    fn errors_name_the_line_and_what_was_wrong() {
        let row = |r: &str| format!("{HEADER}\n2021-01-01,1,2,1,2,5\n{r}\n");
        let cases: Vec<(String, &str)> = vec![
            (
                String::new(),
                "line 1: the file is empty: expected the header timestamp,open,high,low,close,volume",
            ),
            (
                "timestamp,open,high,low,volume".into(),
                "line 1: missing column \"close\"",
            ),
            (
                format!("{HEADER},open"),
                "line 1: column \"open\" appears twice",
            ),
            (format!("{HEADER}\n"), "line 2: no candles after the header"),
            (
                row("2021-01-02,1,2,1"),
                "line 3: expected 6 fields as in the header, found 4",
            ),
            (
                row("yesterday,1,2,1,2,5"),
                "line 3: timestamp \"yesterday\" is not ISO-8601 (2021-04-14, 2021-04-14T00:00:00Z) or Unix milliseconds",
            ),
            (
                row("2021-01-02,1,2,1,abc,5"),
                "line 3: close: invalid price \"abc\": expected a plain decimal number like 12.34",
            ),
            (
                row("2021-01-02,1,2,1,2,-5"),
                "line 3: volume: quantity must not be negative, got -5",
            ),
            (
                row("2021-01-02,1,2,1,0,5"),
                "line 3: close: price must be greater than zero, got 0",
            ),
            (
                row("2021-01-02,1,2,1,3,5"),
                "line 3: candle at 2021-01-02T00:00:00+00:00 is inconsistent: high is below the open or close",
            ),
            (
                row("2021-01-01,1,2,1,2,5"),
                "line 3: timestamp 2021-01-01T00:00:00+00:00 is not after the previous row's 2021-01-01T00:00:00+00:00: rows must be in ascending time",
            ),
        ];
        for (text, message) in cases {
            let err = parse_candles(&text).unwrap_err();
            assert_eq!(err.to_string(), message, "{text:?}");
            assert!(message.starts_with(&format!("line {}:", err.line())));
        }
    }
}
