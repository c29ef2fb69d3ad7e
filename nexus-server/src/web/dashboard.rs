//! `/app`: the dashboard. Figures across the user's bots (equity, today's P&L, open
//! positions), each market they follow with its regime and why, their latest orders and
//! skips, and the bots themselves. The live part is its own fragment
//! (`/app/dashboard/live`) that the page fetches again when the user's event stream
//! (`GET /api/v1/events`) reports a change, and every 30 s for prices (every 5 s when the
//! stream cannot be opened); without scripts the page is complete as served.
//!
//! Everything here is read (from the store, the Paper ledger and the engine's market-data
//! hub); nothing is written, so no API operation is called.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use askama::Template;
use chrono::{NaiveTime, Utc};
use nexus_core::ports::accounts::BotRecord;
use nexus_core::ports::alerts::BotDay;
use nexus_core::regime::Regime;
use nexus_core::regime::gate::{GateAction, GateDecision, GateReason};
use nexus_core::{BotId, ExchangeId, Price, StoreError, Symbol, UserId};
use poem::http::StatusCode;
use poem::web::Data;
use poem::{Request, Response, handler};
use rust_decimal::Decimal;

use super::bots::{MARKET_WAIT, OrderRow, SkipRow, exchange_label, order_row, paused_reason};
use super::format::{self, When, when};
use super::guard;
use super::render::{Chrome, html, page, redirect};
use super::viewer::Viewer;
use crate::api::ApiState;

/// Bots the dashboard looks at (a user beyond it sees the rest on `/app/bots`).
const MAX_BOTS: usize = 200;
/// Rows of the orders and skips tables.
const RECENT: usize = 10;
/// Bots listed under "Your bots".
const LISTED_BOTS: usize = 10;

/// A market the user's bots follow.
#[derive(Debug, Clone)]
pub struct MarketView {
    /// The venue.
    pub exchange: &'static str,
    /// The pair.
    pub symbol: String,
    /// The last price, with its asset ("—" when unknown).
    pub price: String,
    /// "Bull", "Bear", "Sideways", "Volatile" or "Unknown".
    pub regime: String,
    /// The regime's badge kind.
    pub regime_kind: &'static str,
    /// Why the gate decided as it did, for people.
    pub reason: String,
    /// When the regime was last classified.
    pub at: Option<When>,
    /// How many of the user's bots follow it.
    pub bots: String,
}

/// A bot in the "Your bots" list.
#[derive(Debug, Clone)]
pub struct BotSummary {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its venue.
    pub exchange: &'static str,
    /// Its pair.
    pub symbol: String,
    /// Paused.
    pub paused: bool,
    /// Why the engine paused it.
    pub reason: String,
}

/// The live part of the dashboard.
#[derive(Debug, Clone, Default)]
pub struct Live {
    /// The figures could not be read (the fragment says so and tries again).
    pub unavailable: bool,
    /// Whether the user has any bot (else the empty state).
    pub has_bots: bool,
    /// Equity, per quote asset.
    pub equity: String,
    /// What the equity counts.
    pub equity_note: String,
    /// Today's P&L, per quote asset.
    pub pnl: String,
    /// `up`, `down` or empty.
    pub pnl_kind: &'static str,
    /// What the P&L counts.
    pub pnl_note: String,
    /// How many positions are open.
    pub positions: String,
    /// What they are worth.
    pub positions_note: String,
    /// The markets the bots follow.
    pub markets: Vec<MarketView>,
    /// The latest orders across the bots.
    pub orders: Vec<OrderRow>,
    /// The latest skips across the bots.
    pub skips: Vec<SkipRow>,
    /// The first bots.
    pub bots: Vec<BotSummary>,
    /// Whether there are more bots than listed.
    pub more_bots: bool,
}

#[derive(Template)]
#[template(path = "app/dashboard.html")]
struct DashboardPage {
    chrome: Chrome,
    live: Live,
}

#[derive(Template)]
#[template(path = "app/dashboard_live.html")]
struct LiveFragment {
    live: Live,
}

/// `GET /app`.
#[handler]
pub async fn show(req: &Request, viewer: Viewer, state: Data<&Arc<ApiState>>) -> Response {
    let user = match guard::signed_in(&viewer, req) {
        Ok(user) => user.user.id,
        Err(answer) => return *answer,
    };
    page(&DashboardPage {
        chrome: Chrome::new(&viewer, "Dashboard"),
        live: live_or_unavailable(&state, user).await,
    })
}

/// `GET /app/dashboard/live`: the live part alone, for htmx to swap in.
#[handler]
pub async fn live(req: &Request, viewer: Viewer, state: Data<&Arc<ApiState>>) -> Response {
    let Some(user) = viewer.user.as_ref().map(|u| u.user.id) else {
        // A session that ended while the page polled: sign in again and come back to the
        // dashboard (not to this fragment).
        return redirect(req, "/login?next=%2Fapp");
    };
    html(
        StatusCode::OK,
        &LiveFragment {
            live: live_or_unavailable(&state, user).await,
        },
    )
}

async fn live_or_unavailable(state: &ApiState, user: UserId) -> Live {
    match gather(state, user).await {
        Ok(view) => view,
        Err(e) => {
            tracing::error!(error = %e, "the dashboard could not be read");
            Live {
                unavailable: true,
                has_bots: true,
                equity: "—".into(),
                pnl: "—".into(),
                positions: "—".into(),
                ..Live::default()
            }
        }
    }
}

/// Prices by market, oldest tickers allowed by the hub (none without one).
type Prices = HashMap<(ExchangeId, Symbol), Decimal>;

async fn gather(state: &ApiState, user: UserId) -> Result<Live, StoreError> {
    let store = &state.store;
    let now = Utc::now();
    let mut bots: Vec<BotRecord> = Vec::new();
    let mut after = None;
    loop {
        let page = store.user_bots(user, after, 200).await?;
        let full = page.len() == 200;
        after = page.last().map(|b| b.id);
        bots.extend(page);
        if !full || bots.len() >= MAX_BOTS {
            break;
        }
    }
    let total = bots.len();
    bots.truncate(MAX_BOTS);
    if bots.is_empty() {
        return Ok(Live::default());
    }
    let markets: BTreeSet<(ExchangeId, Symbol)> =
        bots.iter().map(|b| (b.exchange, b.symbol)).collect();
    let prices = prices(state, &markets).await;
    let names: HashMap<BotId, &str> = bots.iter().map(|b| (b.id, b.name.as_str())).collect();

    let (equity, equity_note) = equity(state, user, &bots, &prices).await;
    let (pnl, pnl_kind, pnl_note) = today(state, user, &bots, &prices).await?;
    let ids: Vec<BotId> = bots.iter().map(|b| b.id).collect();
    let open = store.open_positions(&ids).await?;
    let mut worth: BTreeMap<String, Decimal> = BTreeMap::new();
    for (bot, position) in &open {
        let symbol = position.symbol();
        let exchange = bots
            .iter()
            .find(|b| b.id == *bot)
            .map_or(ExchangeId::Paper, |b| b.exchange);
        let value = prices.get(&(exchange, symbol)).map_or_else(
            || position.cost().value(),
            |p| position.quantity().value() * p,
        );
        *worth.entry(symbol.quote().as_str().to_owned()).or_default() += value;
    }
    let positions_note = if open.is_empty() {
        "None open".to_owned()
    } else {
        format!("Worth {}", amounts(&worth, format::money))
    };

    let mut market_views = Vec::new();
    for (exchange, symbol) in &markets {
        let decision = match store
            .market_decision(*exchange, *symbol, GateAction::Entry)
            .await
        {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(%exchange, %symbol, error = %e, "a market's regime is unreadable");
                None
            }
        };
        let (regime, regime_kind, reason) = regime_view(decision.as_ref());
        let following = bots
            .iter()
            .filter(|b| b.exchange == *exchange && b.symbol == *symbol)
            .count();
        market_views.push(MarketView {
            exchange: exchange_label(*exchange),
            symbol: symbol.to_string(),
            price: prices.get(&(*exchange, *symbol)).map_or_else(
                || "—".to_owned(),
                |p| format::money(*p, symbol.quote().as_str()),
            ),
            regime,
            regime_kind,
            reason,
            at: decision.map(|d| when(d.at, now)),
            bots: format::count(following as u64),
        });
    }

    let orders = store.user_recent_orders(user, RECENT as u32).await?;
    let skips = store.user_recent_skips(user, RECENT as u32).await?;

    Ok(Live {
        unavailable: false,
        has_bots: true,
        equity,
        equity_note,
        pnl,
        pnl_kind,
        pnl_note,
        positions: format::count(open.len() as u64),
        positions_note,
        markets: market_views,
        orders: orders
            .iter()
            .map(|o| order_row(o, names.get(&o.bot).copied().unwrap_or(""), now))
            .collect(),
        skips: skips
            .into_iter()
            .map(|s| SkipRow {
                at: when(s.at, now),
                bot_id: s.bot.as_uuid().to_string(),
                bot: names.get(&s.bot).copied().unwrap_or("").to_owned(),
                reason: s.reason,
                detail: s.detail,
            })
            .collect(),
        bots: bots
            .iter()
            .take(LISTED_BOTS)
            .map(|b| BotSummary {
                id: b.id.as_uuid().to_string(),
                name: b.name.clone(),
                exchange: exchange_label(b.exchange),
                symbol: b.symbol.to_string(),
                paused: b.paused,
                reason: paused_reason(b.paused_reason.as_deref()),
            })
            .collect(),
        more_bots: total > LISTED_BOTS,
    })
}

/// Amounts per asset, `12.00 USDT · 0.5 BTC`, each written by `write`.
fn amounts(per_asset: &BTreeMap<String, Decimal>, write: fn(Decimal, &str) -> String) -> String {
    per_asset
        .iter()
        .map(|(asset, amount)| write(*amount, asset))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// The last price of each market, through the engine's hub (cached there, shared with
/// the engine); markets whose venue does not answer in time have none.
async fn prices(state: &ApiState, markets: &BTreeSet<(ExchangeId, Symbol)>) -> Prices {
    let mut out = Prices::new();
    let Some(hub) = &state.hub else {
        return out;
    };
    let mut by_exchange: BTreeMap<ExchangeId, Vec<Symbol>> = BTreeMap::new();
    for (exchange, symbol) in markets {
        by_exchange.entry(*exchange).or_default().push(*symbol);
    }
    for (exchange, symbols) in by_exchange {
        match tokio::time::timeout(MARKET_WAIT, hub.tickers(exchange, &symbols)).await {
            Ok(Ok((tickers, _age))) => {
                for t in tickers {
                    out.insert((exchange, t.symbol()), t.last().value());
                }
            }
            Ok(Err(e)) => tracing::warn!(%exchange, error = %e, "no prices for the dashboard"),
            Err(_) => tracing::warn!(%exchange, "prices for the dashboard took too long"),
        }
    }
    out
}

/// The Paper account's value per quote asset, and what it counts. Real exchanges'
/// balances are not read here: a page polled every few seconds would spend the user's
/// rate limits at their exchange.
async fn equity(
    state: &ApiState,
    user: UserId,
    bots: &[BotRecord],
    prices: &Prices,
) -> (String, String) {
    let paper: BTreeSet<Symbol> = bots
        .iter()
        .filter(|b| b.exchange == ExchangeId::Paper)
        .map(|b| b.symbol)
        .collect();
    let real = bots.iter().any(|b| b.exchange != ExchangeId::Paper);
    let elsewhere = if real {
        "; balances on real exchanges are not read here"
    } else {
        ""
    };
    let unknown = || ("—".to_owned(), format!("Your Paper account{elsewhere}"));
    if paper.is_empty() {
        return (
            "—".to_owned(),
            "Balances on real exchanges are not read here: see your exchange".to_owned(),
        );
    }
    let Some(venues) = &state.venues else {
        return unknown();
    };
    let Ok(account) = venues.account_of(ExchangeId::Paper, user, None) else {
        return unknown();
    };
    let balances = match tokio::time::timeout(MARKET_WAIT, account.balances()).await {
        Ok(Ok(balances)) => balances,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "the Paper account is unreadable");
            return unknown();
        }
        Err(_) => return unknown(),
    };
    let mut totals: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut unpriced = false;
    for balance in balances {
        let amount = balance.free.value() + balance.locked.value();
        if paper.iter().any(|s| s.quote() == balance.asset) {
            *totals.entry(balance.asset.as_str().to_owned()).or_default() += amount;
        } else if let Some((symbol, price)) = paper
            .iter()
            .filter(|s| s.base() == balance.asset)
            .find_map(|s| prices.get(&(ExchangeId::Paper, *s)).map(|p| (s, p)))
        {
            *totals
                .entry(symbol.quote().as_str().to_owned())
                .or_default() += amount * price;
        } else {
            unpriced = true;
        }
    }
    if totals.is_empty() {
        return unknown();
    }
    let unpriced = if unpriced {
        "; assets without a price are left out"
    } else {
        ""
    };
    (
        amounts(&totals, format::money),
        format!("Your Paper account{unpriced}{elsewhere}"),
    )
}

/// Today's P&L (since 00:00 UTC) per quote asset: each bot's day (one read across the
/// user's bots) marked to the current price (what was sold, minus what was bought and the
/// fees, plus what the day left held at today's price, or at the day's average buying
/// price when the market has no price now). Its sign's kind and what it counts.
async fn today(
    state: &ApiState,
    user: UserId,
    bots: &[BotRecord],
    prices: &Prices,
) -> Result<(String, &'static str, String), StoreError> {
    let now = Utc::now();
    let start = now.date_naive().and_time(NaiveTime::MIN).and_utc();
    let days = state
        .store
        .day_activity(user, start, now + chrono::Duration::minutes(1))
        .await?;
    let mut totals: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut fills_today = 0u64;
    for day in days.iter().filter(|d| d.fills > 0) {
        fills_today += day.fills;
        let mark = prices
            .get(&(day.exchange, day.symbol))
            .copied()
            .or_else(|| average_buy(day))
            .and_then(|p| Price::new(p).ok());
        *totals
            .entry(day.symbol.quote().as_str().to_owned())
            .or_default() += day.marked_pnl(mark);
    }
    let note = match fills_today {
        0 => "No fills today".to_owned(),
        1 => "1 fill today, marked to the current price".to_owned(),
        n => format!(
            "{} fills today, marked to the current price",
            format::count(n)
        ),
    };
    if totals.is_empty() {
        let quote = bots.first().map_or_else(
            || "USDT".to_owned(),
            |b| b.symbol.quote().as_str().to_owned(),
        );
        return Ok((format::money(Decimal::ZERO, &quote), "", note));
    }
    let kind = match totals.values().copied().reduce(|a, b| a + b) {
        Some(total) if totals.len() == 1 && total > Decimal::ZERO => "up",
        Some(total) if totals.len() == 1 && total < Decimal::ZERO => "down",
        _ => "",
    };
    Ok((amounts(&totals, format::signed_money), kind, note))
}

/// The day's average buying price, when it bought.
fn average_buy(day: &BotDay) -> Option<Decimal> {
    let quantity = day.bought_quantity.value();
    (!quantity.is_zero()).then(|| day.bought.value() / quantity)
}

/// A regime for people: its name, badge kind and the gate's reasons.
fn regime_view(decision: Option<&GateDecision>) -> (String, &'static str, String) {
    let Some(decision) = decision else {
        return (
            "Unknown".to_owned(),
            "neutral",
            "Not classified yet: the engine classifies each market every few minutes once it has candles."
                .to_owned(),
        );
    };
    let (name, kind) = match decision.regime {
        Some(Regime::Bull) => ("Bull", "success"),
        Some(Regime::Bear) => ("Bear", "danger"),
        Some(Regime::Sideways) => ("Sideways", "info"),
        Some(Regime::Volatile) => ("Volatile", "warning"),
        None => ("Unknown", "neutral"),
    };
    let mut reasons: Vec<String> = decision.reasons.iter().map(reason_text).collect();
    if let Some(confidence) = decision.inputs.confidence {
        let percent = Decimal::from_f64_retain(confidence * 100.0).unwrap_or_default();
        reasons.push(format!("confidence {} %", format::decimal(percent, 0, 0)));
    }
    let verdict = if decision.allowed {
        "New entries allowed"
    } else {
        "New entries blocked"
    };
    (
        name.to_owned(),
        kind,
        format!("{verdict}: {}.", reasons.join("; ")),
    )
}

/// One of the gate's reasons as a phrase.
fn reason_text(reason: &GateReason) -> String {
    match reason {
        GateReason::ExitAlwaysAllowed => "exits are always allowed".to_owned(),
        GateReason::RegimeAllows { regime } => format!("a {regime} market allows them"),
        GateReason::RegimeBlocks { regime } => format!("a {regime} market does not allow them"),
        GateReason::UnknownRegime => "no regime yet (still warming up)".to_owned(),
        GateReason::MissingData => "no market data".to_owned(),
        GateReason::StaleData { age_ms, max_age_ms } => format!(
            "market data {} s old, more than {} s",
            format::count(age_ms / 1000),
            format::count(max_age_ms / 1000)
        ),
        GateReason::AdvisorBlocked { reason } => format!("the advisor objected: {reason}"),
        GateReason::AdvisorAgreed { reason } => format!("the advisor agreed: {reason}"),
        GateReason::AdvisorUnavailable { error, blocked } => {
            if *blocked {
                format!("the advisor did not answer ({error}), which blocks")
            } else {
                format!("the advisor did not answer ({error})")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use nexus_core::regime::gate::{AdvisorInput, GateInputs, Gatekeeper};

    use super::*;

    #[test]
    fn a_regime_says_why() {
        let inputs = GateInputs {
            exchange: ExchangeId::Paper,
            symbol: "BTC/USDT".parse().expect("symbol"),
            action: GateAction::Entry,
            regime: Some(Regime::Bear),
            confidence: Some(0.8),
            data_age_ms: Some(1_000),
            advisor: AdvisorInput::NotAsked,
        };
        let decision = Gatekeeper::default().decide(inputs, Utc::now());
        let (name, kind, reason) = regime_view(Some(&decision));
        assert_eq!((name.as_str(), kind), ("Bear", "danger"));
        assert_eq!(
            reason,
            "New entries blocked: a bear market does not allow them; confidence 80 %."
        );
        let (name, _, reason) = regime_view(None);
        assert_eq!(name, "Unknown");
        assert!(reason.starts_with("Not classified yet"), "{reason}");
        assert_eq!(
            reason_text(&GateReason::StaleData {
                age_ms: 125_000,
                max_age_ms: 60_000
            }),
            "market data 125 s old, more than 60 s"
        );
    }
}
