//! Price charts as inline SVG, drawn on the server: a line of closes with entry and exit
//! markers, the lowest and highest price labelled. Colours come from the stylesheet's
//! tokens (classes, no inline styles), so the chart follows the theme.

use std::fmt::Write as _;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::format;

/// What a marker shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// A buy (entry or add).
    Entry,
    /// A sell (exit).
    Exit,
}

/// A chart: prices in time order and marks at some of them.
#[derive(Debug, Clone, Default)]
pub struct LineChart {
    /// What the chart shows, for screen readers (`BTC/USDT closes, last 30 days`).
    pub label: String,
    /// The prices, oldest first, with their labels (a date).
    pub points: Vec<(String, Decimal)>,
    /// Marks: the index of a point, the kind, and a description (`Bought 0.01 BTC`).
    pub marks: Vec<(usize, Mark, String)>,
    /// The quote asset, for the axis labels.
    pub asset: String,
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 8.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 20.0;
const BOTTOM: f64 = 24.0;

impl LineChart {
    /// The chart as an `<svg>` element; an empty chart says there is nothing to draw.
    #[must_use]
    pub fn svg(&self) -> String {
        let label = escape(&self.label);
        if self.points.len() < 2 {
            return format!(
                r#"<p class="empty" role="status"><strong>No prices yet</strong>{label}: the chart appears once the market has two candles.</p>"#
            );
        }
        let values: Vec<f64> = self
            .points
            .iter()
            .map(|(_, p)| p.to_f64().unwrap_or(0.0))
            .collect();
        let (lo, hi) = values
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
        let span = if (hi - lo).abs() < f64::EPSILON {
            1.0
        } else {
            hi - lo
        };
        let n = values.len() - 1;
        let x = |i: usize| LEFT + (WIDTH - LEFT - RIGHT) * i as f64 / n as f64;
        let y = |v: f64| TOP + (HEIGHT - TOP - BOTTOM) * (1.0 - (v - lo) / span);
        let mut svg = String::new();
        let _ = write!(
            svg,
            r#"<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{label}" preserveAspectRatio="none"><title>{label}</title>"#
        );
        for frac in [0.0, 0.5, 1.0] {
            let gy = TOP + (HEIGHT - TOP - BOTTOM) * frac;
            let _ = write!(
                svg,
                r#"<line class="grid-line" x1="{LEFT}" x2="{}" y1="{gy:.1}" y2="{gy:.1}"/>"#,
                WIDTH - RIGHT
            );
        }
        let path: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
            .collect();
        let _ = write!(
            svg,
            r#"<polyline class="line" points="{}"/>"#,
            path.join(" ")
        );
        for (i, mark, text) in &self.marks {
            let Some(v) = values.get(*i) else { continue };
            let (class, shape) = match mark {
                Mark::Entry => ("entry", "▲"),
                Mark::Exit => ("exit", "▼"),
            };
            let _ = write!(
                svg,
                r#"<circle class="{class}" cx="{:.1}" cy="{:.1}" r="5"><title>{shape} {}</title></circle>"#,
                x(*i),
                y(*v),
                escape(text)
            );
        }
        let high = self.price_label(hi);
        let low = self.price_label(lo);
        let _ = write!(
            svg,
            r#"<text class="label" x="{LEFT}" y="12">High {high}</text><text class="label" x="{LEFT}" y="{}">Low {low}</text>"#,
            HEIGHT - 6.0
        );
        let first = escape(&self.points[0].0);
        let last = escape(&self.points[n].0);
        let _ = write!(
            svg,
            r#"<text class="label" x="{}" y="{}" text-anchor="end">{first} – {last}</text></svg>"#,
            WIDTH - RIGHT,
            HEIGHT - 6.0
        );
        svg
    }

    fn price_label(&self, value: f64) -> String {
        let d = Decimal::from_f64_retain(value).unwrap_or_default();
        escape(&format::money(d.round_dp(2), &self.asset))
    }
}

/// Text for SVG and HTML.
#[must_use]
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_draws_its_line_and_marks_and_escapes_text() {
        let chart = LineChart {
            label: "BTC/USDT <closes>".into(),
            points: vec![
                ("1 Dec".into(), Decimal::from(100)),
                ("2 Dec".into(), Decimal::from(110)),
                ("3 Dec".into(), Decimal::from(90)),
            ],
            marks: vec![
                (1, Mark::Entry, "Bought 1 BTC".into()),
                (9, Mark::Exit, "gone".into()),
            ],
            asset: "USDT".into(),
        };
        let svg = chart.svg();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("BTC/USDT &lt;closes&gt;"));
        assert!(!svg.contains("<closes>"));
        assert_eq!(
            svg.matches("<circle").count(),
            1,
            "an out-of-range mark is skipped"
        );
        assert!(svg.contains("High 110.00 USDT") && svg.contains("Low 90.00 USDT"));
        assert!(!svg.contains("style="), "the CSP forbids inline styles");
    }

    #[test]
    fn too_few_points_say_so() {
        let chart = LineChart::default();
        assert!(chart.svg().contains("No prices yet"));
    }
}
