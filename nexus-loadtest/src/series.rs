//! A scaling curve: the load test run once per size (`--series 1000,10000,100000`, in
//! bots), written as a Markdown table and an SVG plot of signal-to-last-order time and API
//! latency against bots (plotters' SVG backend: no fonts or native libraries needed).

use std::path::{Path, PathBuf};

use nexus_server::web::format::count;
use plotters::prelude::*;

use crate::Report;

/// The series' files could not be written.
#[derive(Debug, thiserror::Error)]
pub enum SeriesError {
    /// A file could not be written.
    #[error("writing {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The plot could not be drawn.
    #[error("drawing {path}: {reason}")]
    Plot {
        /// The file.
        path: PathBuf,
        /// What plotters said.
        reason: String,
    },
    /// There is nothing to draw.
    #[error("a series needs at least one run")]
    Empty,
}

/// Users for `bots` bots at `per_user` each (the last user may have fewer).
#[must_use]
pub fn users_for(bots: usize, per_user: usize) -> usize {
    bots.div_ceil(per_user.max(1))
}

/// The runs as a Markdown table, one row per size.
#[must_use]
pub fn table(runs: &[Report]) -> String {
    let s = |ms: f64| format!("{:.2}", ms / 1000.0);
    let mut out = String::from(
        "| bots | users | signals | orders | signal → last order p50 / p99 / max (s) \
         | signal → order p99 (s) | orders/s | API p50 / p95 / p99 (ms) | server memory (MiB) \
         | errors / duplicates | setup (s) |\n\
         |---:|---:|---:|---:|---|---:|---:|---|---:|---|---:|\n",
    );
    for r in runs {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} / {} / {} | {} | {} | {:.1} / {:.1} / {:.1} | {} | {} / {} | {:.1} |\n",
            count(r.bots as u64),
            count(r.users as u64),
            count(r.signals as u64),
            count(r.orders as u64),
            s(r.signal_last_order_ms.p50),
            s(r.signal_last_order_ms.p99),
            s(r.slowest_signal_ms),
            s(r.signal_to_order_ms.p99),
            count(r.plans_per_sec.round() as u64),
            r.api_latency_ms.p50,
            r.api_latency_ms.p95,
            r.api_latency_ms.p99,
            count(r.server_memory_mb.round() as u64),
            count(r.errors),
            count(r.duplicate_orders),
            r.setup_secs,
        ));
    }
    out
}

/// Draws signal-to-last-order time (top) and API latency (bottom) against bots, on a
/// logarithmic axis of bots, into `path`.
///
/// # Errors
/// [`SeriesError`] when there is no run or the file cannot be written.
pub fn svg(runs: &[Report], path: &Path) -> Result<(), SeriesError> {
    draw(runs, path).map_err(|e| match e {
        Drawn::Empty => SeriesError::Empty,
        Drawn::Plot(reason) => SeriesError::Plot {
            path: path.to_owned(),
            reason,
        },
    })
}

/// A line of a panel: its name, colour and value in a run.
type Line = (&'static str, RGBColor, fn(&Report) -> f64);

enum Drawn {
    Empty,
    Plot(String),
}

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for Drawn {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        Self::Plot(e.to_string())
    }
}

fn draw(runs: &[Report], path: &Path) -> Result<(), Drawn> {
    let bots = |r: &Report| r.bots.max(1) as f64;
    let (Some(least), Some(most)) = (
        runs.iter().map(bots).reduce(f64::min),
        runs.iter().map(bots).reduce(f64::max),
    ) else {
        return Err(Drawn::Empty);
    };
    // A decade's margin on a single run, so its point is not on the frame.
    let (from, to) = if most > least {
        (least / 1.5, most * 1.5)
    } else {
        (least / 10.0, most * 10.0)
    };
    let root = SVGBackend::new(path, (1000, 760)).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, bottom) = root.split_vertically(380);

    let panels: [(&DrawingArea<_, _>, &str, &str, [Line; 3]); 2] = [
        (
            &top,
            "Signal to its last order",
            "seconds",
            [
                ("p50 of signals", BLUE, |r| {
                    r.signal_last_order_ms.p50 / 1000.0
                }),
                ("p99 of signals", RED, |r| {
                    r.signal_last_order_ms.p99 / 1000.0
                }),
                ("slowest", BLACK, |r| r.slowest_signal_ms / 1000.0),
            ],
        ),
        (
            &bottom,
            "API latency while signals fan out",
            "milliseconds",
            [
                ("p50", BLUE, |r| r.api_latency_ms.p50),
                ("p95", MAGENTA, |r| r.api_latency_ms.p95),
                ("p99", RED, |r| r.api_latency_ms.p99),
            ],
        ),
    ];
    for (area, caption, unit, lines) in panels {
        let high = runs
            .iter()
            .flat_map(|r| lines.iter().map(move |(_, _, value)| value(r)))
            .fold(0.0f64, f64::max)
            .max(1e-3)
            * 1.15;
        let mut chart = ChartBuilder::on(area)
            .caption(caption, ("sans-serif", 20))
            .margin(14)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .build_cartesian_2d((from..to).log_scale(), 0.0..high)?;
        chart
            .configure_mesh()
            .x_desc("bots")
            .y_desc(unit)
            .x_label_formatter(&|x| count(x.round() as u64))
            .draw()?;
        for (name, color, value) in lines {
            let points: Vec<(f64, f64)> = runs.iter().map(|r| (bots(r), value(r))).collect();
            chart
                .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
                .label(name)
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], color));
            chart.draw_series(
                points
                    .into_iter()
                    .map(|p| Circle::new(p, 4, color.filled())),
            )?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
    }
    root.present()?;
    Ok(())
}

/// Writes `<dir>/loadtest-series.md` (the table) and `<dir>/loadtest-series.svg` (the
/// plot); returns their paths.
///
/// # Errors
/// [`SeriesError`].
pub fn write(runs: &[Report], dir: &Path) -> Result<(PathBuf, PathBuf), SeriesError> {
    let (md, plot) = (
        dir.join("loadtest-series.md"),
        dir.join("loadtest-series.svg"),
    );
    std::fs::write(&md, table(runs)).map_err(|source| SeriesError::Write {
        path: md.clone(),
        source,
    })?;
    svg(runs, &plot)?;
    Ok((md, plot))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Percentiles;

    fn run(bots: usize, last_p99_ms: f64, api_p99_ms: f64) -> Report {
        Report {
            users: bots / 2,
            bots,
            signals: 10,
            orders: bots * 10,
            upstream_calls_per_min: 4.0,
            plans_per_sec: 5000.0,
            signal_to_order_ms: Percentiles {
                p50: 100.0,
                p95: 200.0,
                p99: 300.0,
            },
            slowest_signal_ms: last_p99_ms + 10.0,
            signal_last_order_ms: Percentiles {
                p50: last_p99_ms / 2.0,
                p95: last_p99_ms,
                p99: last_p99_ms,
            },
            api_latency_ms: Percentiles {
                p50: 2.0,
                p95: 9.5,
                p99: api_p99_ms,
            },
            api_requests: 100,
            errors: 0,
            duplicate_orders: 0,
            setup_secs: 1.5,
            server_memory_mb: 250.0,
        }
    }

    #[test]
    fn users_cover_every_bot() {
        assert_eq!(users_for(1_000, 2), 500);
        assert_eq!(users_for(1_001, 2), 501);
        assert_eq!(users_for(10, 0), 10);
    }

    #[test]
    fn the_table_has_a_row_per_run_in_people_s_numbers() {
        let text = table(&[run(1_000, 400.0, 20.0), run(100_000, 9_100.0, 48.0)]);
        let rows: Vec<&str> = text.lines().collect();
        assert_eq!(rows.len(), 4, "{text}");
        assert!(rows[2].starts_with("| 1,000 | 500 | 10 | 10,000 | 0.20 / 0.40 / 0.41 |"));
        assert!(rows[3].starts_with("| 100,000 | 50,000 | 10 | 1,000,000 | 4.55 / 9.10 / 9.11 |"));
        assert!(
            rows[3].contains("| 2.0 / 9.5 / 48.0 | 250 | 0 / 0 | 1.5 |"),
            "{text}"
        );
    }

    #[test]
    fn the_plot_draws_each_run_and_names_its_lines() {
        let dir = tempfile::tempdir().unwrap();
        let runs = [run(1_000, 400.0, 20.0), run(10_000, 1_900.0, 31.0)];
        let (md, plot) = write(&runs, dir.path()).unwrap();
        assert!(std::fs::read_to_string(md).unwrap().contains("| 10,000 |"));
        let svg = std::fs::read_to_string(plot).unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        for label in [
            "Signal to its last order",
            "p99 of signals",
            "API latency",
            "bots",
        ] {
            assert!(svg.contains(label), "{label} missing");
        }
        // Three lines and two points per panel: 6 × 2 circles.
        assert_eq!(svg.matches("<circle").count(), 12, "{svg}");
        assert!(matches!(svg_of(&[]), Err(SeriesError::Empty)));
    }

    fn svg_of(runs: &[Report]) -> Result<(), SeriesError> {
        let dir = tempfile::tempdir().unwrap();
        svg(runs, &dir.path().join("x.svg"))
    }
}
