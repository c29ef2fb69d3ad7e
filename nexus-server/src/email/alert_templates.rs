//! The alert emails: one per trade alert (a fill, a refused or failed order, a position
//! out of sync, a bot paused by the system, an entry the gate blocked) and the daily
//! summary. Each has its HTML and text parts from the same data, escaped, and a footer
//! saying why the user gets it with a link to change their alert preferences.

use chrono::NaiveDate;
use nexus_core::Side;
use nexus_core::ports::alerts::{AlertEvent, BotDay};

use super::{Email, escape};
use crate::engine::alerts::TradeAlert;

/// Where users change their alert preferences.
#[must_use]
pub fn preferences_link(public_url: &str) -> String {
    format!("{}/app/settings/alerts", public_url.trim_end_matches('/'))
}

/// Why the user gets an alert of `event`.
const fn reason(event: AlertEvent) -> &'static str {
    match event {
        AlertEvent::Fills => "fill alerts are on",
        AlertEvent::GateBlocks => "gate-block alerts are on",
        AlertEvent::Errors => "error alerts are on",
    }
}

/// An email of `paragraphs` (plain text each), with the footer.
fn compose(
    template: &str,
    to: &str,
    subject: String,
    paragraphs: &[String],
    why: &str,
    public_url: &str,
) -> Email {
    let link = preferences_link(public_url);
    let footer = format!(
        "You get this email because {why} in your Nexus alert preferences. Change them at {link}"
    );
    let mut text = paragraphs.join("\n\n");
    text.push_str("\n\n--\n");
    text.push_str(&footer);
    text.push('\n');
    let body: String = paragraphs
        .iter()
        .map(|p| format!("<p>{}</p>", escape(p).replace('\n', "<br>")))
        .collect();
    let html = format!(
        "<!doctype html><html><body>{body}<hr><p style=\"color:#666;font-size:12px\">\
         You get this email because {} in your Nexus alert preferences. \
         <a href=\"{}\">Change your alert preferences</a>.</p></body></html>",
        escape(why),
        escape(&link)
    );
    Email {
        template: template.to_owned(),
        to: to.to_owned(),
        subject,
        text,
        html,
    }
}

/// The email about one trade alert.
#[must_use]
pub fn trade_alert(alert: &TradeAlert, to: &str, public_url: &str) -> Email {
    let event = alert.event();
    let why = reason(event);
    let detail = alert.detail.as_deref().unwrap_or("no details");
    let (template, subject, lines) = match alert.state.as_str() {
        "out_of_sync" => {
            let base = alert.symbol.base();
            let (expected, available) = alert.out_of_sync.unwrap_or_default();
            (
                "out_of_sync",
                format!("Nexus: your {} position was out of sync", alert.symbol),
                vec![
                    format!(
                        "Your bot's {} position on {} was out of sync with the account: the bot \
                         held {expected} {base}, the account only {available} {base}. {} {base} \
                         was sold; the position is closed and flagged for review.",
                        alert.symbol, alert.exchange, alert.quantity
                    ),
                    format!("Bot {}", alert.bot),
                ],
            )
        }
        "gate_blocked" => (
            "gate_block_alert",
            format!("Nexus: the gate blocked an entry on {}", alert.symbol),
            vec![
                format!(
                    "The market-regime gate blocked your bot's entry on {} ({}).",
                    alert.symbol, alert.exchange
                ),
                format!("Why: {detail}"),
                format!("Bot {}", alert.bot),
            ],
        ),
        "bot_paused" => (
            "bot_paused_alert",
            format!("Nexus: your {} bot was paused", alert.symbol),
            vec![
                format!(
                    "Nexus paused your {} bot on {} after an internal error; it stays paused \
                     until you resume it.",
                    alert.symbol, alert.exchange
                ),
                format!("Why: {detail}"),
                format!("Bot {}", alert.bot),
            ],
        ),
        "filled" | "partially_filled" => {
            let verb = match alert.side {
                Side::Buy => "Bought",
                Side::Sell => "Sold",
            };
            let price = alert.price.map_or_else(String::new, |p| format!(" at {p}"));
            (
                "trade_alert",
                format!("Nexus: {verb} {} {}", alert.quantity, alert.symbol),
                vec![
                    format!(
                        "{verb} {} {}{price} on {} ({}).",
                        alert.quantity, alert.symbol, alert.exchange, alert.state
                    ),
                    format!("Order {}", alert.client_order_id),
                ],
            )
        }
        state => {
            let side = match alert.side {
                Side::Buy => "buy",
                Side::Sell => "sell",
            };
            (
                "order_error_alert",
                format!(
                    "Nexus: your {} {side} order {}",
                    alert.symbol,
                    match state {
                        "failed" => "could not be placed".to_owned(),
                        other => format!("was {other}"),
                    }
                ),
                vec![
                    format!(
                        "Your bot's {side} order of {} {} on {} was {state}.",
                        alert.quantity, alert.symbol, alert.exchange
                    ),
                    format!("Why: {detail}"),
                    format!("Order {}", alert.client_order_id),
                ],
            )
        }
    };
    compose(template, to, subject, &lines, why, public_url)
}

/// The summary of `date` (a UTC day): per bot, its orders, fills, cash result and skips.
#[must_use]
pub fn daily_summary(to: &str, public_url: &str, date: NaiveDate, days: &[BotDay]) -> Email {
    let subject = format!("Nexus: your bots on {}", date.format("%-d %b %Y"));
    let mut lines = vec![format!(
        "What your bots did on {} (UTC).",
        date.format("%A %-d %B %Y")
    )];
    if days.is_empty() {
        lines.push("Nothing: no orders, fills or skipped signals.".to_owned());
    }
    for day in days {
        let quote = day.symbol.quote();
        let mut line = format!(
            "{} ({} {}):\nOrders: {} ({} refused or failed)\nFills: {} (bought {} {quote}, sold {} {quote}, fees {} {quote})\nCash P&L: {} {quote}",
            day.name,
            day.symbol,
            day.exchange,
            day.orders,
            day.failed,
            day.fills,
            day.bought.value().normalize(),
            day.sold.value().normalize(),
            day.fees.value().normalize(),
            day.cash_pnl().normalize(),
        );
        if day.skips.is_empty() {
            line.push_str("\nSkipped: none");
        } else {
            let skips: Vec<String> = day
                .skips
                .iter()
                .map(|(r, n)| format!("{r} × {n}"))
                .collect();
            line.push_str(&format!(
                "\nSkipped: {} ({})",
                day.skipped(),
                skips.join(", ")
            ));
        }
        lines.push(line);
    }
    lines.push(
        "Cash P&L is what was sold minus what was bought and the fees paid in the quote \
         asset; open positions are not valued."
            .to_owned(),
    );
    compose(
        "daily_summary",
        to,
        subject,
        &lines,
        "the daily summary is on",
        public_url,
    )
}

#[cfg(test)]
mod tests {
    use nexus_core::{Asset, BotId, ClientOrderId, ExchangeId, UserId};
    use uuid::Uuid;

    use super::*;

    fn alert(state: &str) -> TradeAlert {
        TradeAlert {
            user: UserId::new(Uuid::from_u128(1)),
            bot: BotId::new(Uuid::from_u128(2)),
            exchange: ExchangeId::Paper,
            symbol: "BTC/USDT".parse().unwrap(),
            side: Side::Buy,
            quantity: "0.01".parse().unwrap(),
            price: Some("60000".parse().unwrap()),
            client_order_id: ClientOrderId::new("nx-1").unwrap(),
            state: state.to_owned(),
            out_of_sync: None,
            detail: Some("insufficient <balance> & more".to_owned()),
        }
    }

    fn footer_checks(email: &Email) {
        let link = "https://nexus.test/app/settings/alerts";
        assert!(email.text.contains(link), "{}", email.text);
        assert!(
            email.html.contains(&format!("href=\"{link}\"")),
            "{}",
            email.html
        );
        assert!(email.text.contains("You get this email because"));
    }

    #[test]
    fn each_alert_renders_with_its_reason_and_escaped() {
        let cases = [
            (
                "filled",
                "trade_alert",
                "Nexus: Bought 0.01 BTC/USDT",
                "fill alerts are on",
            ),
            (
                "rejected",
                "order_error_alert",
                "Nexus: your BTC/USDT buy order was rejected",
                "error alerts are on",
            ),
            (
                "failed",
                "order_error_alert",
                "Nexus: your BTC/USDT buy order could not be placed",
                "error alerts are on",
            ),
            (
                "gate_blocked",
                "gate_block_alert",
                "Nexus: the gate blocked an entry on BTC/USDT",
                "gate-block alerts are on",
            ),
            (
                "bot_paused",
                "bot_paused_alert",
                "Nexus: your BTC/USDT bot was paused",
                "error alerts are on",
            ),
        ];
        for (state, template, subject, why) in cases {
            let email = trade_alert(&alert(state), "a@example.com", "https://nexus.test/");
            assert_eq!(email.template, template);
            assert_eq!(email.subject, subject);
            assert!(email.text.contains(why), "{state}: {}", email.text);
            footer_checks(&email);
            if state != "filled" {
                assert!(email.text.contains("insufficient <balance> & more"));
                assert!(
                    email
                        .html
                        .contains("insufficient &lt;balance&gt; &amp; more"),
                    "{}",
                    email.html
                );
                assert!(!email.html.contains("<balance>"));
            }
        }
        let mut sync = alert("out_of_sync");
        sync.out_of_sync = Some(("0.02".parse().unwrap(), "0.01".parse().unwrap()));
        let email = trade_alert(&sync, "a@example.com", "https://nexus.test");
        assert_eq!(email.template, "out_of_sync");
        assert!(
            email
                .text
                .contains("the bot held 0.02 BTC, the account only 0.01 BTC")
        );
        footer_checks(&email);
    }

    #[test]
    fn the_daily_summary_lists_each_bot() {
        let mut day = BotDay::new(
            BotId::new(Uuid::from_u128(3)),
            "<Trend> bot",
            ExchangeId::Paper,
            "BTC/USDT".parse().unwrap(),
        );
        day.orders = 3;
        day.failed = 1;
        day.add_fill(
            Side::Buy,
            "0.01".parse().unwrap(),
            "60000".parse().unwrap(),
            "0.6".parse().unwrap(),
            Asset::new("USDT").ok(),
        );
        day.add_fill(
            Side::Sell,
            "0.01".parse().unwrap(),
            "61000".parse().unwrap(),
            "0.61".parse().unwrap(),
            Asset::new("USDT").ok(),
        );
        day.skips = vec![("gate".into(), 2), ("insufficient_balance".into(), 1)];
        let date = NaiveDate::from_ymd_opt(2026, 2, 4).unwrap();
        let email = daily_summary("a@example.com", "https://nexus.test", date, &[day]);
        assert_eq!(email.template, "daily_summary");
        assert_eq!(email.subject, "Nexus: your bots on 4 Feb 2026");
        for part in [
            "Wednesday 4 February 2026",
            "<Trend> bot (BTC/USDT paper)",
            "Orders: 3 (1 refused or failed)",
            "Fills: 2 (bought 600 USDT, sold 610 USDT, fees 1.21 USDT)",
            "Cash P&L: 8.79 USDT",
            "Skipped: 3 (gate × 2, insufficient_balance × 1)",
            "the daily summary is on",
        ] {
            assert!(email.text.contains(part), "{part}: {}", email.text);
        }
        assert!(email.html.contains("&lt;Trend&gt; bot"), "{}", email.html);
        assert!(email.html.contains("Cash P&amp;L: 8.79 USDT"));
        footer_checks(&email);
        let empty = daily_summary("a@example.com", "https://nexus.test", date, &[]);
        assert!(empty.text.contains("Nothing: no orders"));
    }
}
