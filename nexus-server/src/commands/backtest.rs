//! `nexus backtest`: a strategy over a candle CSV through the live decision path.
//!
//! Inputs are read and checked whole before anything runs; outputs are written only after
//! the backtest succeeded.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::ValueEnum;
use nexus_core::RegimeConfigError;
use nexus_core::backtest::{self, BacktestConfig, BacktestError, BacktestReport, trend_bot};
use nexus_core::error::{GatePolicyError, PyramidConfigError, SizingConfigError};
use nexus_core::fanout::BotConfig;
use nexus_core::market::csv::{CandleCsvError, parse_candles};
use nexus_core::pyramid::PyramidConfig;
use nexus_core::regime::RegimeConfig;
use nexus_core::regime::gate::{GateAction, GatePolicy};
use nexus_core::sizing::SizingConfig;
use nexus_core::strategy::{Strategy, StrategyConfigError, TrendBreakout, TrendBreakoutConfig};
use serde::Deserialize;

use super::plot;

/// Arguments of `nexus backtest`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The candle CSV file (header timestamp,open,high,low,close,volume).
    #[arg(long, value_name = "FILE.csv")]
    pub candles: PathBuf,
    /// The strategy to run.
    #[arg(long, value_enum, default_value_t = StrategyName::TrendBreakout)]
    pub strategy: StrategyName,
    /// A TOML file with any of the sections [gate], [sizing], [pyramid], [strategy],
    /// [regime] and [backtest] (see docs/backtest.md); the rest keeps its defaults.
    #[arg(long, value_name = "bot.toml")]
    pub config: Option<PathBuf>,
    /// Trade in every regime: the gate blocks nothing.
    #[arg(long)]
    pub no_gate: bool,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Write one CSV row per fill (with its pyramid level) to this file.
    #[arg(long, value_name = "trades.csv")]
    pub trades_out: Option<PathBuf>,
    /// Write the equity curve (one CSV row per candle) to this file.
    #[arg(long, value_name = "equity.csv")]
    pub equity_out: Option<PathBuf>,
    /// Draw the equity curve and drawdown as an SVG file.
    #[arg(long, value_name = "equity.svg")]
    pub plot: Option<PathBuf>,
    /// Take the advisor's verdicts from this file (written by `nexus llm export`) instead
    /// of asking anyone; a signal without one counts as no opinion.
    #[arg(long, value_name = "verdicts.jsonl")]
    pub advisor_replay: Option<PathBuf>,
}

/// The built-in strategies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StrategyName {
    /// Turtle-style trend-following breakout.
    TrendBreakout,
}

/// The `--config` file: every section optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    gate: Option<GatePolicy>,
    sizing: Option<SizingConfig>,
    pyramid: Option<PyramidConfig>,
    strategy: Option<TrendBreakoutConfig>,
    regime: Option<RegimeConfig>,
    backtest: Option<BacktestConfig>,
}

/// Runs the command: input errors exit with 1 and say where the problem is.
pub fn run(args: &Args) -> ExitCode {
    let report = match backtest_file(args) {
        Ok(report) => report,
        Err(message) => {
            eprintln!("nexus backtest: {message}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(message) = write_outputs(args, &report) {
        eprintln!("nexus backtest: {message}");
        return ExitCode::FAILURE;
    }
    let text = if args.json {
        summary_json(&report)
    } else {
        summary_text(&report, args.advisor_replay.is_some())
    };
    match io::stdout().lock().write_all(text.as_bytes()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("nexus backtest: cannot write the summary: {err}");
            ExitCode::FAILURE
        }
    }
}

/// The inputs could not be read or are invalid, or an output could not be written.
#[derive(Debug, thiserror::Error)]
pub enum BacktestFileError {
    /// The advisor replay file could not be used.
    #[error(transparent)]
    Replay(#[from] crate::advisor::replay::ReplayError),
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
    /// The configuration is not TOML of the expected sections.
    #[error("{}{}: {}", path.display(), line.map_or_else(String::new, |l| format!(": line {l}")), source.message())]
    ConfigSyntax {
        /// The file.
        path: PathBuf,
        /// The line at fault, when the parser knows it.
        line: Option<usize>,
        /// What is wrong (boxed: it is large).
        source: Box<toml::de::Error>,
    },
    /// The `[regime]` section is out of range.
    #[error("{}: [regime] {source}", path.display())]
    Regime {
        /// The file.
        path: PathBuf,
        /// The field at fault.
        source: RegimeConfigError,
    },
    /// The `[pyramid]` section is invalid.
    #[error("{}: [pyramid] {source}", path.display())]
    Pyramid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: PyramidConfigError,
    },
    /// The `[sizing]` section is out of range.
    #[error("{}: [sizing] {source}", path.display())]
    Sizing {
        /// The file.
        path: PathBuf,
        /// The field at fault.
        source: SizingConfigError,
    },
    /// The `[gate]` section is invalid.
    #[error("{}: [gate] {source}", path.display())]
    Gate {
        /// The file.
        path: PathBuf,
        /// The field at fault.
        source: GatePolicyError,
    },
    /// The `[strategy]` section is out of range.
    #[error("{}: [strategy] {source}", path.display())]
    StrategyConfig {
        /// The file.
        path: PathBuf,
        /// The field at fault.
        source: StrategyConfigError,
    },
    /// The strategy refused its configuration.
    #[error("[strategy] {0}")]
    Strategy(StrategyConfigError),
    /// The backtest refused its inputs.
    #[error("invalid configuration: {0}")]
    Run(BacktestError),
    /// An output file could not be written.
    #[error("{}: cannot write: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: io::Error,
    },
    /// The plot could not be drawn.
    #[error("{}: cannot draw: {source}", path.display())]
    Draw {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: Box<dyn std::error::Error>,
    },
}

/// Reads the inputs and runs the backtest.
///
/// # Errors
/// [`BacktestFileError`], naming the file (and line, section or field) that was wrong.
pub fn backtest_file(args: &Args) -> Result<BacktestReport, BacktestFileError> {
    let file = match &args.config {
        Some(path) => load_config(path)?,
        None => ConfigFile::default(),
    };
    let text =
        std::fs::read_to_string(&args.candles).map_err(|source| BacktestFileError::Read {
            path: args.candles.clone(),
            source,
        })?;
    let candles = parse_candles(&text).map_err(|source| BacktestFileError::Candles {
        path: args.candles.clone(),
        source,
    })?;

    // Every section is optional: one left out keeps its defaults.
    let defaults = trend_bot();
    let bot = BotConfig {
        gate: file.gate.unwrap_or(defaults.gate),
        sizing: file.sizing.unwrap_or(defaults.sizing),
        pyramid: file.pyramid.unwrap_or(defaults.pyramid),
    };
    let mut config = file.backtest.unwrap_or_default();
    config.gate = config.gate && !args.no_gate;
    let mut strategy: Box<dyn Strategy> = match args.strategy {
        StrategyName::TrendBreakout => Box::new(
            TrendBreakout::new(file.strategy.unwrap_or_default())
                .map_err(BacktestFileError::Strategy)?,
        ),
    };
    let replay = args
        .advisor_replay
        .as_deref()
        .map(crate::advisor::replay::load)
        .transpose()?;
    let symbol = config.symbol;
    let lookup = |at, action| {
        replay
            .as_ref()
            .and_then(|r| r.get(&(symbol, at, action)).cloned())
    };
    backtest::run_advised(
        &candles,
        strategy.as_mut(),
        &bot,
        file.regime.unwrap_or_default(),
        &config,
        replay
            .is_some()
            .then_some(&lookup as backtest::AdvisorReplay<'_>),
    )
    .map_err(BacktestFileError::Run)
}

fn load_config(path: &Path) -> Result<ConfigFile, BacktestFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| BacktestFileError::Read {
        path: path.to_owned(),
        source,
    })?;
    let file: ConfigFile = toml::from_str(&text).map_err(|source: toml::de::Error| {
        BacktestFileError::ConfigSyntax {
            path: path.to_owned(),
            line: source.span().map(|span| line_of(&text, span.start)),
            source: Box::new(source),
        }
    })?;
    if let Some(regime) = &file.regime {
        regime
            .validate()
            .map_err(|source| BacktestFileError::Regime {
                path: path.to_owned(),
                source,
            })?;
    }
    if let Some(pyramid) = &file.pyramid {
        pyramid
            .validate()
            .map_err(|source| BacktestFileError::Pyramid {
                path: path.to_owned(),
                source,
            })?;
    }
    if let Some(sizing) = &file.sizing {
        sizing
            .validate()
            .map_err(|source| BacktestFileError::Sizing {
                path: path.to_owned(),
                source,
            })?;
    }
    if let Some(gate) = &file.gate {
        gate.validate().map_err(|source| BacktestFileError::Gate {
            path: path.to_owned(),
            source,
        })?;
    }
    if let Some(strategy) = &file.strategy {
        strategy
            .validate()
            .map_err(|source| BacktestFileError::StrategyConfig {
                path: path.to_owned(),
                source,
            })?;
    }
    Ok(file)
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(0, |before| before.lines().count().max(1))
}

fn write_outputs(args: &Args, report: &BacktestReport) -> Result<(), BacktestFileError> {
    let write = |path: &Path, contents: String| {
        std::fs::write(path, contents).map_err(|source| BacktestFileError::Write {
            path: path.to_owned(),
            source,
        })
    };
    if let Some(path) = &args.trades_out {
        write(path, trades_csv(report))?;
    }
    if let Some(path) = &args.equity_out {
        write(path, equity_csv(report))?;
    }
    if let Some(path) = &args.plot {
        plot::equity_svg(report, path).map_err(|source| BacktestFileError::Draw {
            path: path.to_owned(),
            source,
        })?;
    }
    Ok(())
}

fn regime_name(regime: Option<nexus_core::regime::Regime>) -> &'static str {
    regime.map_or("unknown", |r| r.as_str())
}

/// One row per fill.
#[must_use]
pub fn trades_csv(report: &BacktestReport) -> String {
    let mut out = String::from(
        "timestamp,action,side,level,quantity,price,fee,fee_asset,dust,regime,reason\n",
    );
    for f in &report.fills {
        // The names the JSON report uses (`GateAction`'s serde names).
        let action = match f.action {
            GateAction::Entry => "entry",
            GateAction::Add => "add",
            GateAction::Exit => "exit",
        };
        let _ = writeln!(
            out,
            "{},{action},{},{},{},{},{},{},{},{},{}",
            f.timestamp.format("%Y-%m-%dT%H:%M:%SZ"),
            f.side,
            f.level,
            f.quantity,
            f.price.value().round_dp(8).normalize(),
            f.fee.round_dp(8).normalize(),
            f.fee_asset,
            f.dust,
            regime_name(f.regime),
            f.reason,
        );
    }
    out
}

/// One row per candle.
#[must_use]
pub fn equity_csv(report: &BacktestReport) -> String {
    let mut out = String::from("timestamp,equity,drawdown_pct,in_position,regime\n");
    for p in &report.equity {
        let _ = writeln!(
            out,
            "{},{:.2},{:.4},{},{}",
            p.timestamp.format("%Y-%m-%dT%H:%M:%SZ"),
            p.equity,
            p.drawdown_pct,
            p.in_position,
            regime_name(p.regime),
        );
    }
    out
}

fn summary_json(report: &BacktestReport) -> String {
    let s = &report.summary;
    let json = serde_json::json!({
        "trades": s.trades,
        "total_return_pct": s.total_return_pct,
        "max_drawdown_pct": s.max_drawdown_pct,
        "exposure_pct": s.exposure_pct,
        "win_rate_pct": s.win_rate_pct,
        "gate_blocked": s.gate_blocked,
        "advisor_blocked": s.advisor_blocked,
        "advisor_missing": s.advisor_missing,
        "fills": s.fills,
        "final_equity": s.final_equity,
        "buy_and_hold_return_pct": s.buy_and_hold_return_pct,
        "start": s.start,
        "end": s.end,
        "candles": report.equity.len(),
    });
    format!("{json}\n")
}

fn summary_text(report: &BacktestReport, replayed: bool) -> String {
    let s = &report.summary;
    let advisor = if replayed {
        format!(
            "advisor blocked {}\nno verdict      {} (counted as no opinion)\n",
            s.advisor_blocked, s.advisor_missing
        )
    } else {
        String::new()
    };
    advisor_after(
        format!(
            "backtest {} .. {} ({} candles)\n\
         trades          {}\n\
         total return    {:+.2} %\n\
         max drawdown    {:.2} %\n\
         exposure        {:.2} %\n\
         win rate        {:.2} %\n\
         gate blocked    {}\n\
         fills           {}\n\
         final equity    {:.2}\n\
         buy and hold    {:+.2} %\n",
            s.start.format("%Y-%m-%d"),
            s.end.format("%Y-%m-%d"),
            report.equity.len(),
            s.trades,
            s.total_return_pct,
            s.max_drawdown_pct,
            s.exposure_pct,
            s.win_rate_pct,
            s.gate_blocked,
            s.fills,
            s.final_equity,
            s.buy_and_hold_return_pct,
        ),
        &advisor,
    )
}

/// The summary with the advisor's lines after the gate's.
fn advisor_after(summary: String, advisor: &str) -> String {
    match summary.find("fills ") {
        Some(at) if !advisor.is_empty() => format!("{}{advisor}{}", &summary[..at], &summary[at..]),
        _ => summary,
    }
}
