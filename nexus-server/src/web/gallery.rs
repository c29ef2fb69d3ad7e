//! `/ui/components`: every component in every state, light and dark. Administrators see
//! it always; everyone does in development (a public URL that is not `https://`).

use std::sync::Arc;

use askama::Template;
use chrono::Utc;
use poem::web::Data;
use poem::{Request, Response, handler};
use rust_decimal::Decimal;

use super::chart::{LineChart, Mark};
use super::format::{When, when};
use super::guard;
use super::render::{Chrome, page};
use super::viewer::Viewer;
use crate::api::ApiState;

#[derive(Template)]
#[template(path = "ui/gallery.html")]
struct Gallery {
    chrome: Chrome,
    chart: String,
    when: When,
}

/// A chart of made-up prices for the gallery.
fn sample_chart() -> LineChart {
    let closes = [100, 104, 101, 108, 115, 112, 120, 118, 125, 121, 117, 123];
    LineChart {
        label: "Sample closes with an entry and an exit".into(),
        points: closes
            .iter()
            .enumerate()
            .map(|(i, c)| (format!("Day {}", i + 1), Decimal::from(*c)))
            .collect(),
        marks: vec![
            (3, Mark::Entry, "Bought 0.01 BTC".into()),
            (8, Mark::Exit, "Sold 0.01 BTC".into()),
        ],
        asset: "USDT".into(),
    }
}

/// `GET /ui/components`.
#[handler]
pub fn show(req: &Request, viewer: Viewer, state: Data<&Arc<ApiState>>) -> Response {
    let development = !state.settings.public_url.starts_with("https://");
    if !development && let Err(answer) = guard::admin(&viewer, req) {
        return *answer;
    }
    let now = Utc::now();
    page(&Gallery {
        chrome: Chrome::new(&viewer, "Components"),
        chart: sample_chart().svg(),
        when: when(now - chrono::Duration::minutes(3), now),
    })
}
