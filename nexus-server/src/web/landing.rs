//! `/`: what Nexus does, and the plans with their limits.

use std::sync::Arc;

use askama::Template;
use poem::web::Data;
use poem::{Response, handler};

use super::render::{Chrome, page};
use super::viewer::Viewer;
use crate::api::ApiState;

/// A plan in the pricing table.
pub struct PlanCard {
    /// Its id.
    pub id: String,
    /// Its name for people.
    pub name: String,
    /// Its price line.
    pub price: &'static str,
    /// What it includes.
    pub features: Vec<String>,
    /// The button's kind (the first paid plan is the highlighted one).
    pub kind: &'static str,
}

#[derive(Template)]
#[template(path = "landing.html")]
struct Landing {
    chrome: Chrome,
    plans: Vec<PlanCard>,
}

/// The plans as the pricing table shows them.
#[must_use]
pub fn plan_cards(plans: &nexus_core::billing::Plans) -> Vec<PlanCard> {
    let limit = |n: Option<u32>, what: &str| match n {
        Some(1) => format!("1 {what}"),
        Some(n) => format!("{} {what}s", super::format::count(u64::from(n))),
        None => format!("Unlimited {what}s"),
    };
    plans
        .all()
        .iter()
        .map(|plan| {
            let free = plan.name == "free";
            PlanCard {
                id: plan.name.clone(),
                name: title_case(&plan.name),
                price: if free { "Free" } else { "Monthly subscription" },
                features: vec![
                    limit(plan.max_bots, "running bot"),
                    limit(plan.max_pairs, "trading pair"),
                    "Paper, Binance, Kraken and Coinbase".to_owned(),
                    "Regime gate, sizing and pyramiding".to_owned(),
                ],
                kind: if plan.name == "pro" { "primary" } else { "" },
            }
        })
        .collect()
}

fn title_case(name: &str) -> String {
    let mut chars = name.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// `GET /`.
#[handler]
pub fn show(viewer: Viewer, state: Data<&Arc<ApiState>>) -> Response {
    page(&Landing {
        chrome: Chrome::new(&viewer, "Trading bots for everyone"),
        plans: plan_cards(&state.plans),
    })
}
