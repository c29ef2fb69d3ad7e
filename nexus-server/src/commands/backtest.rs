//! `nexus backtest`: a strategy over a candle CSV through the live decision path.
//!
//! Inputs are read and checked whole before anything runs; outputs are written only after
//! the backtest succeeded.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::ValueEnum;
use nexus_core::backtest::{self, BacktestConfig, BacktestReport, trend_bot};
use nexus_core::fanout::BotConfig;
use nexus_core::market::csv::parse_candles;
use nexus_core::pyramid::PyramidConfig;
use nexus_core::regime::RegimeConfig;
use nexus_core::regime::gate::GatePolicy;
use nexus_core::sizing::SizingConfig;
use nexus_core::strategy::{Strategy, TrendBreakout, TrendBreakoutConfig};
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
        summary_text(&report)
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

/// Reads the inputs and runs the backtest.
///
/// # Errors
/// A message naming the file (and line, section or field) that was wrong.
pub fn backtest_file(args: &Args) -> Result<BacktestReport, String> {
    let file = match &args.config {
        Some(path) => load_config(path)?,
        None => ConfigFile::default(),
    };
    let text = std::fs::read_to_string(&args.candles)
        .map_err(|err| format!("{}: cannot read: {err}", args.candles.display()))?;
    let candles =
        parse_candles(&text).map_err(|err| format!("{}: {err}", args.candles.display()))?;

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
                .map_err(|err| format!("[strategy] {err}"))?,
        ),
    };
    backtest::run(
        &candles,
        strategy.as_mut(),
        &bot,
        file.regime.unwrap_or_default(),
        &config,
    )
    .map_err(|err| format!("invalid configuration: {err}"))
}

fn load_config(path: &Path) -> Result<ConfigFile, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| format!("{}: cannot read: {err}", path.display()))?;
    let file: ConfigFile = toml::from_str(&text).map_err(|err| {
        let section = err
            .span()
            .map(|span| line_of(&text, span.start))
            .unwrap_or_default();
        format!("{}{section}: {}", path.display(), err.message())
    })?;
    if let Some(regime) = &file.regime {
        regime
            .validate()
            .map_err(|err| format!("{}: [regime] {err}", path.display()))?;
    }
    if let Some(pyramid) = &file.pyramid {
        pyramid
            .validate()
            .map_err(|err| format!("{}: [pyramid] {err}", path.display()))?;
    }
    if let Some(strategy) = &file.strategy {
        strategy
            .validate()
            .map_err(|err| format!("{}: [strategy] {err}", path.display()))?;
    }
    Ok(file)
}

fn line_of(text: &str, offset: usize) -> String {
    let line = text
        .get(..offset)
        .map_or(0, |before| before.lines().count().max(1));
    format!(": line {line}")
}

fn write_outputs(args: &Args, report: &BacktestReport) -> Result<(), String> {
    let write = |path: &Path, contents: String| {
        std::fs::write(path, contents)
            .map_err(|err| format!("{}: cannot write: {err}", path.display()))
    };
    if let Some(path) = &args.trades_out {
        write(path, trades_csv(report))?;
    }
    if let Some(path) = &args.equity_out {
        write(path, equity_csv(report))?;
    }
    if let Some(path) = &args.plot {
        plot::equity_svg(report, path)
            .map_err(|err| format!("{}: cannot draw: {err}", path.display()))?;
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
        let action = serde_json::to_value(f.action).ok();
        let action = action.as_ref().and_then(|v| v.as_str()).unwrap_or("");
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
        "fills": s.fills,
        "final_equity": s.final_equity,
        "buy_and_hold_return_pct": s.buy_and_hold_return_pct,
        "start": s.start,
        "end": s.end,
        "candles": report.equity.len(),
    });
    format!("{json}\n")
}

fn summary_text(report: &BacktestReport) -> String {
    let s = &report.summary;
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
    )
}
