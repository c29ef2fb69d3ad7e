//! The equity curve and its drawdown as an SVG (plotters' SVG backend: no fonts or native
//! libraries needed).

use std::path::Path;

use chrono::{DateTime, Utc};
use nexus_core::backtest::BacktestReport;
use plotters::prelude::*;

/// Draws equity (top) and drawdown (bottom) over time.
///
/// # Errors
/// When the file cannot be written.
pub fn equity_svg(report: &BacktestReport, path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let points = &report.equity;
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return Err("no equity points to draw".into());
    };
    let span: (DateTime<Utc>, DateTime<Utc>) = (first.timestamp, last.timestamp);
    let max_equity = points.iter().map(|p| p.equity).fold(0.0f64, f64::max) * 1.05;
    let max_drawdown = points.iter().map(|p| p.drawdown_pct).fold(1.0f64, f64::max) * 1.1;

    let root = SVGBackend::new(path, (1200, 700)).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, bottom) = root.split_vertically(470);

    let mut equity = ChartBuilder::on(&top)
        .caption("Equity", ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(70)
        .build_cartesian_2d(span.0..span.1, 0.0..max_equity)?;
    equity.configure_mesh().y_desc("quote").draw()?;
    equity.draw_series(LineSeries::new(
        points.iter().map(|p| (p.timestamp, p.equity)),
        &BLUE,
    ))?;

    let mut drawdown = ChartBuilder::on(&bottom)
        .caption("Drawdown (%)", ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(70)
        .build_cartesian_2d(span.0..span.1, -max_drawdown..0.0)?;
    drawdown.configure_mesh().draw()?;
    drawdown.draw_series(AreaSeries::new(
        points.iter().map(|p| (p.timestamp, -p.drawdown_pct)),
        0.0,
        RED.mix(0.3),
    ))?;
    root.present()?;
    Ok(())
}
