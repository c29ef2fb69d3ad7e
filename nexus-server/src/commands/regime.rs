//! `nexus regime`: classify every candle of a CSV file and print one row per candle.
//!
//! The whole file is read and checked before anything is printed, so bad input never
//! produces output that looks valid.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use nexus_core::RegimeConfigError;
use nexus_core::market::csv::{CandleCsvError, parse_candles};
use nexus_core::regime::indicators::Bar;
use nexus_core::regime::{Classification, RegimeConfig, classify};
use nexus_core::{Candle, Timestamp};
use serde::Serialize;

use crate::cli::Format;

/// The CSV header: the classification, then the indicator values behind it.
pub const CSV_HEADER: &str =
    "timestamp,regime,confidence,raw,close,ema_fast,ema_slow,adx,atr,volatility,drawdown";

/// Runs the command; input errors exit with 1 and a message naming the file and line.
pub fn run(candles: &Path, config: Option<&Path>, format: Format) -> ExitCode {
    match classify_file(candles, config) {
        Ok(rows) => match write_rows(&rows, format, &mut io::stdout().lock()) {
            Ok(()) => ExitCode::SUCCESS,
            // A closed pipe (`nexus regime … | head`) is not an error.
            Err(err) if err.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("nexus regime: cannot write the output: {err}");
                ExitCode::FAILURE
            }
        },
        Err(message) => {
            eprintln!("nexus regime: {message}");
            ExitCode::FAILURE
        }
    }
}

/// One output row.
#[derive(Debug, Serialize)]
pub struct Row {
    /// The candle's open time.
    pub timestamp: Timestamp,
    /// `None` during the indicators' warm-up.
    #[serde(flatten)]
    pub classification: Option<Classification>,
}

/// The candles or the configuration could not be read, or the configuration is invalid.
#[derive(Debug, thiserror::Error)]
pub enum RegimeFileError {
    /// A file could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: io::Error,
    },
    /// The candle CSV is malformed (the error names the line).
    #[error("{}: {source}", path.display())]
    Candles {
        /// The file.
        path: PathBuf,
        /// What is wrong, and where.
        source: CandleCsvError,
    },
    /// The configuration is not TOML of a regime configuration.
    #[error("{}: {}", path.display(), source.message())]
    ConfigSyntax {
        /// The file.
        path: PathBuf,
        /// What is wrong (boxed: it is large).
        source: Box<toml::de::Error>,
    },
    /// The configuration's values are out of range.
    #[error("{}: {source}", path.display())]
    Config {
        /// The file.
        path: PathBuf,
        /// The field at fault.
        source: RegimeConfigError,
    },
    /// The classifier refused the configuration.
    #[error("invalid configuration: {0}")]
    Classify(RegimeConfigError),
}

/// Reads, validates and classifies.
///
/// # Errors
/// [`RegimeFileError`], naming the file (and line or field) and what was wrong.
pub fn classify_file(candles: &Path, config: Option<&Path>) -> Result<Vec<Row>, RegimeFileError> {
    let config = match config {
        Some(path) => load_config(path)?,
        None => RegimeConfig::default(),
    };
    let text = std::fs::read_to_string(candles).map_err(|source| RegimeFileError::Read {
        path: candles.to_owned(),
        source,
    })?;
    let candles_parsed: Vec<Candle> =
        parse_candles(&text).map_err(|source| RegimeFileError::Candles {
            path: candles.to_owned(),
            source,
        })?;
    let bars: Vec<Bar> = candles_parsed.iter().map(Bar::from).collect();
    let classes = classify(&bars, config).map_err(RegimeFileError::Classify)?;
    Ok(candles_parsed
        .iter()
        .zip(classes)
        .map(|(candle, classification)| Row {
            timestamp: candle.open_time(),
            classification,
        })
        .collect())
}

fn load_config(path: &Path) -> Result<RegimeConfig, RegimeFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| RegimeFileError::Read {
        path: path.to_owned(),
        source,
    })?;
    let config: RegimeConfig =
        toml::from_str(&text).map_err(|source| RegimeFileError::ConfigSyntax {
            path: path.to_owned(),
            source: Box::new(source),
        })?;
    config
        .validate()
        .map_err(|source| RegimeFileError::Config {
            path: path.to_owned(),
            source,
        })?;
    Ok(config)
}

/// Writes the rows as CSV (regime `unknown` and empty values during warm-up) or as one
/// JSON array (`regime: null` during warm-up).
///
/// # Errors
/// When writing fails.
pub fn write_rows(rows: &[Row], format: Format, out: &mut impl Write) -> io::Result<()> {
    let mut out = BufWriter::new(out);
    match format {
        Format::Json => {
            let json: Vec<serde_json::Value> = rows.iter().map(json_row).collect();
            serde_json::to_writer_pretty(&mut out, &json)?;
            writeln!(out)?;
        }
        Format::Csv => {
            writeln!(out, "{CSV_HEADER}")?;
            for row in rows {
                let time = row.timestamp.format("%Y-%m-%dT%H:%M:%SZ");
                match &row.classification {
                    None => writeln!(out, "{time},unknown,,,,,,,,,")?,
                    Some(c) => {
                        let v = &c.indicators;
                        writeln!(
                            out,
                            "{time},{},{:.3},{},{},{:.6},{:.6},{:.3},{:.6},{:.4},{:.4}",
                            c.regime,
                            c.confidence,
                            c.raw,
                            v.close,
                            v.ema_fast,
                            v.ema_slow,
                            v.adx,
                            v.atr,
                            v.volatility,
                            v.drawdown
                        )?;
                    }
                }
            }
        }
    }
    out.flush()
}

fn json_row(row: &Row) -> serde_json::Value {
    match &row.classification {
        Some(c) => serde_json::json!({
            "timestamp": row.timestamp,
            "regime": c.regime,
            "confidence": c.confidence,
            "raw": c.raw,
            "indicators": c.indicators,
        }),
        None => serde_json::json!({
            "timestamp": row.timestamp,
            "regime": null,
            "confidence": null,
            "raw": null,
            "indicators": null,
        }),
    }
}
