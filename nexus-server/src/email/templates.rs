//! Every email Nexus sends, in one place: each made from its data through one layout, in
//! HTML and plain text, escaped, with a footer saying why the user gets it.

use super::{Email, escape};

/// Why a user gets an email, said in its footer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Someone used the address on the account pages (sign-up, password reset, linking).
    AccountRequest,
    /// It is about the account's security.
    Security,
    /// It is about the account's plan and payments.
    Billing,
}

impl Reason {
    fn footer(self) -> &'static str {
        match self {
            Self::AccountRequest => {
                "You get this email because this address was entered on Nexus. If it was not you, you can ignore it."
            }
            Self::Security => {
                "You get this email because it concerns the security of your Nexus account."
            }
            Self::Billing => {
                "You get this email because it concerns your Nexus plan and its payments."
            }
        }
    }
}

/// The name of every template (an email's `template`), for counting each from the first
/// scrape of `/metrics`; a test keeps it equal to the templates that exist.
pub const TEMPLATES: [&str; 16] = [
    "already_registered",
    "bot_paused_alert",
    "bots_paused",
    "confirm_link",
    "daily_summary",
    "gate_block_alert",
    "identity_linked",
    "order_error_alert",
    "out_of_sync",
    "password_reset",
    "payment_failed",
    "plan_changed",
    "plan_ended",
    "trade_alert",
    "trial_ending",
    "verification",
];

/// The parts every email shares: the product's name, a lead, one action as a link, a
/// note, and a footer saying why the user gets it (plus, for alerts, where to change
/// them). HTML and text come from the same values; the HTML escapes each.
pub(crate) struct Layout<'a> {
    pub(crate) template: &'a str,
    pub(crate) to: &'a str,
    pub(crate) subject: &'a str,
    pub(crate) lead: &'a str,
    pub(crate) action: &'a str,
    pub(crate) link: &'a str,
    pub(crate) note: &'a str,
    pub(crate) footer: &'a str,
    /// A link to change the preferences that caused it (alerts).
    pub(crate) preferences: Option<&'a str>,
}

impl Layout<'_> {
    pub(crate) fn render(&self) -> Email {
        let preferences_text = self
            .preferences
            .map(|p| format!("\nChange which emails you get: {p}\n"))
            .unwrap_or_default();
        let text = format!(
            "Nexus\n\n{}\n\n{}:\n{}\n\n{}\n\n--\n{}\n{preferences_text}",
            self.lead, self.action, self.link, self.note, self.footer
        );
        let preferences_html = self
            .preferences
            .map(|p| {
                format!(
                    "<br><a href=\"{}\" style=\"color:#64748b\">Change which emails you get</a>",
                    escape(p)
                )
            })
            .unwrap_or_default();
        let html = format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{subject}</title></head>\
             <body style=\"margin:0;padding:24px;background:#f8fafc;font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#0f172a\">\
             <div style=\"max-width:560px;margin:0 auto;background:#ffffff;border-radius:8px;padding:24px\">\
             <p style=\"font-weight:700;font-size:18px;margin:0 0 16px\">Nexus</p>\
             <p style=\"font-size:16px;line-height:1.5\">{lead}</p>\
             <p><a href=\"{link}\" style=\"display:inline-block;background:#2563eb;color:#ffffff;padding:10px 16px;border-radius:6px;text-decoration:none\">{action}</a></p>\
             <p style=\"font-size:14px;line-height:1.5;color:#334155\">{note}</p>\
             </div>\
             <p style=\"max-width:560px;margin:16px auto 0;font-size:12px;color:#64748b\">{footer}{preferences_html}</p>\
             </body></html>",
            subject = escape(self.subject),
            lead = escape(self.lead),
            link = escape(self.link),
            action = escape(self.action),
            note = escape(self.note),
            footer = escape(self.footer),
        );
        Email {
            template: self.template.to_owned(),
            to: self.to.to_owned(),
            subject: self.subject.to_owned(),
            text,
            html,
        }
    }
}

#[allow(clippy::too_many_arguments)] // Each is one visible part of the message.
fn message(
    template: &str,
    to: &str,
    subject: &str,
    lead: &str,
    action: &str,
    link: &str,
    note: &str,
    reason: Reason,
) -> Email {
    Layout {
        template,
        to,
        subject,
        lead,
        action,
        link,
        note,
        footer: reason.footer(),
        preferences: None,
    }
    .render()
}

/// The email-verification message: its link ends in `?token=<token>`.
#[must_use]
pub fn verification(to: &str, public_url: &str, token: &str) -> Email {
    let link = format!(
        "{}/verify-email?token={token}",
        public_url.trim_end_matches('/')
    );
    message(
        "verification",
        to,
        "Confirm your Nexus email address",
        "Welcome to Nexus. Confirm that this is your email address to finish signing up.",
        "Confirm my email address",
        &link,
        "The link works once, for 24 hours. If you did not sign up, ignore this message.",
        Reason::AccountRequest,
    )
}

/// The password-reset message: its link ends in `?token=<token>`.
#[must_use]
pub fn password_reset(to: &str, public_url: &str, token: &str) -> Email {
    let link = format!(
        "{}/reset-password?token={token}",
        public_url.trim_end_matches('/')
    );
    message(
        "password_reset",
        to,
        "Reset your Nexus password",
        "Someone (hopefully you) asked to reset the password of your Nexus account.",
        "Choose a new password",
        &link,
        "The link works once, for 1 hour, and signs out every other session. If you did not ask, ignore this message: your password is unchanged.",
        Reason::AccountRequest,
    )
}

/// To the owner of an address someone tried to sign up with again: the answer to the
/// sign-up was the same as for a new address, so only the owner learns it is registered.
#[must_use]
pub fn already_registered(to: &str, public_url: &str) -> Email {
    let link = format!("{}/forgot-password", public_url.trim_end_matches('/'));
    message(
        "already_registered",
        to,
        "Someone tried to sign up to Nexus with your address",
        "Someone (perhaps you) tried to create a Nexus account with this email address, which already has one. Nothing was changed.",
        "Forgot your password? Choose a new one",
        &link,
        "If it was you, sign in instead. If not, you can ignore this message.",
        Reason::AccountRequest,
    )
}

/// Asks the owner of an existing account to confirm linking a Google sign-in to it: its
/// link ends in `?token=<token>`.
#[must_use]
pub fn confirm_link(to: &str, public_url: &str, token: &str) -> Email {
    let link = format!(
        "{}/link-google?token={token}",
        public_url.trim_end_matches('/')
    );
    message(
        "confirm_link",
        to,
        "Confirm signing in to Nexus with Google",
        "Someone (hopefully you) signed in with a Google account using this address, which already has a Nexus account. Google sign-in is linked to it only once you confirm.",
        "Link Google sign-in to my account",
        &link,
        "The link works once, for 1 hour. If it was not you, ignore this message: nothing is linked, and you may want to change your Google password.",
        Reason::AccountRequest,
    )
}

/// Tells the owner that a Google sign-in was linked to their account.
#[must_use]
pub fn identity_linked(to: &str, public_url: &str) -> Email {
    let link = format!("{}/forgot-password", public_url.trim_end_matches('/'));
    message(
        "identity_linked",
        to,
        "Google sign-in was linked to your Nexus account",
        "A Google account with this address can now sign in to your Nexus account.",
        "Not you? Reset your password",
        &link,
        "If you did not do this, reset your password and tell us: the link can be undone by support.",
        Reason::Security,
    )
}

/// A plan's name for people (`pro` → `Pro`).
fn plan_name(plan: &str) -> String {
    let mut chars = plan.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// A moment for people: `4 Feb 2026, 13:00 UTC`.
fn when(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%-d %b %Y, %H:%M UTC").to_string()
}

/// The email telling a user about their plan: a trial ending, a failed payment (with the
/// date the plan ends unless a payment succeeds), a plan changed or ended, bots paused.
#[must_use]
pub fn billing_notice(to: &str, public_url: &str, notice: &nexus_core::billing::Notice) -> Email {
    use nexus_core::billing::Notice;
    let link = format!("{}/app/billing", public_url.trim_end_matches('/'));
    match notice {
        Notice::TrialEnding { plan, trial_end } => message(
            "trial_ending",
            to,
            &format!(
                "Your Nexus {} trial ends on {}",
                plan_name(plan),
                when(*trial_end)
            ),
            &format!(
                "Your free trial of Nexus {} ends on {}. After that your card is charged and your plan continues; if no card is on file, your account returns to the Free plan.",
                plan_name(plan),
                when(*trial_end)
            ),
            "Review your plan and card",
            &link,
            "To stop before you are charged, cancel from the billing page. Bots beyond the Free plan's limits would be paused, never deleted.",
            Reason::Billing,
        ),
        Notice::PaymentFailed { plan, grace_until } => message(
            "payment_failed",
            to,
            "Your Nexus payment failed",
            &format!(
                "We could not take the payment for your Nexus {} plan. Stripe will try again; your plan stays until {}.",
                plan_name(plan),
                when(*grace_until)
            ),
            "Update your card",
            &link,
            &format!(
                "If no payment succeeds by {}, your account returns to the Free plan and bots beyond its limits are paused (never deleted).",
                when(*grace_until)
            ),
            Reason::Billing,
        ),
        Notice::PlanChanged { from, to: plan } if plan == "free" => message(
            "plan_ended",
            to,
            &format!("Your Nexus {} plan has ended", plan_name(from)),
            &format!(
                "Your Nexus {} plan has ended and your account is on the Free plan now.",
                plan_name(from)
            ),
            "Choose a plan",
            &link,
            "Your bots, keys and history are kept. Subscribing again restores your plan's limits; bots paused meanwhile stay paused until you resume them.",
            Reason::Billing,
        ),
        Notice::PlanChanged { from, to: plan } => message(
            "plan_changed",
            to,
            &format!("Your Nexus plan is now {}", plan_name(plan)),
            &format!(
                "Your Nexus plan changed from {} to {}.",
                plan_name(from),
                plan_name(plan)
            ),
            "See your plan and its limits",
            &link,
            "Thank you for using Nexus.",
            Reason::Billing,
        ),
        Notice::BotsPaused { plan, bots } => {
            let count = bots.len();
            let names = bots.join(", ");
            message(
                "bots_paused",
                to,
                &format!(
                    "{count} of your Nexus bots {} paused",
                    if count == 1 { "was" } else { "were" }
                ),
                &format!(
                    "Your account is on the {} plan now, which runs fewer bots than you had running. These were paused, newest first: {names}.",
                    plan_name(plan)
                ),
                "Upgrade, or choose which bots run",
                &link,
                "Nothing was deleted. Resume a bot once it fits your plan's limits (pause another, or upgrade).",
                Reason::Billing,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use nexus_core::billing::Notice;

    use super::*;

    const URL: &str = "https://nexus.example.com";
    const TO: &str = "ann@example.com";

    /// One alert of each kind, from fixed data.
    fn alerts() -> Vec<Email> {
        use nexus_core::{BotId, ClientOrderId, ExchangeId, Side, UserId};

        use crate::email::alert_templates::{daily_summary, trade_alert};
        use crate::engine::alerts::TradeAlert;

        let alert = |state: &str, detail: Option<&str>| TradeAlert {
            user: UserId::new(uuid::Uuid::from_u128(1)),
            bot: BotId::new(uuid::Uuid::from_u128(2)),
            exchange: ExchangeId::Paper,
            symbol: "BTC/USDT".parse().expect("a symbol"),
            side: Side::Buy,
            quantity: "0.01".parse().expect("a quantity"),
            price: Some("60000".parse().expect("a price")),
            client_order_id: ClientOrderId::new("nx-1").expect("an id"),
            state: state.to_owned(),
            out_of_sync: None,
            detail: detail.map(str::to_owned),
        };
        let mut out_of_sync = alert("out_of_sync", None);
        out_of_sync.out_of_sync = Some(("0.02".parse().expect("q"), "0.01".parse().expect("q")));
        let mut day = nexus_core::ports::alerts::BotDay::new(
            BotId::new(uuid::Uuid::from_u128(2)),
            "trend BTC/USDT",
            ExchangeId::Paper,
            "BTC/USDT".parse().expect("a symbol"),
        );
        day.orders = 2;
        day.skips = vec![("gate".into(), 1)];
        let date = chrono::NaiveDate::from_ymd_opt(2026, 12, 6).expect("a date");
        vec![
            trade_alert(&alert("filled", None), TO, URL),
            trade_alert(&alert("rejected", Some("insufficient balance")), TO, URL),
            trade_alert(&alert("gate_blocked", Some("regime: ranging")), TO, URL),
            trade_alert(
                &alert("bot_paused", Some("internal_error: planning panicked")),
                TO,
                URL,
            ),
            trade_alert(&out_of_sync, TO, URL),
            daily_summary(TO, URL, date, &[day]),
        ]
    }

    /// One message of every template, from fixed data.
    pub(crate) fn samples() -> Vec<Email> {
        let at = Utc
            .with_ymd_and_hms(2026, 12, 7, 13, 0, 0)
            .single()
            .expect("a time");
        let notice = |notice: Notice| billing_notice(TO, URL, &notice);
        let mut all = vec![
            verification(TO, URL, "TOKEN"),
            password_reset(TO, URL, "TOKEN"),
            already_registered(TO, URL),
            confirm_link(TO, URL, "TOKEN"),
            identity_linked(TO, URL),
            notice(Notice::TrialEnding {
                plan: "pro".into(),
                trial_end: at,
            }),
            notice(Notice::PaymentFailed {
                plan: "pro".into(),
                grace_until: at,
            }),
            notice(Notice::PlanChanged {
                from: "pro".into(),
                to: "free".into(),
            }),
            notice(Notice::PlanChanged {
                from: "free".into(),
                to: "pro".into(),
            }),
            notice(Notice::BotsPaused {
                plan: "free".into(),
                bots: vec!["trend BTC/USDT".into(), "trend <ETH>".into()],
            }),
        ];
        all.extend(alerts());
        all
    }

    #[test]
    fn every_template_renders_both_parts_escaped_with_its_footer() {
        let samples = samples();
        let mut names: Vec<&str> = samples.iter().map(|e| e.template.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), samples.len(), "one sample per template");
        assert_eq!(names, TEMPLATES, "TEMPLATES lists every template, sorted");
        for email in &samples {
            assert!(
                email.text.contains("You get this email because"),
                "{}",
                email.template
            );
            assert!(
                email.html.contains("You get this email because"),
                "{}",
                email.template
            );
            assert!(email.html.starts_with("<!doctype html>"));
            assert!(!email.html.contains("<ETH>"), "{}: escaped", email.template);
        }
        let paused = samples
            .iter()
            .find(|e| e.template == "bots_paused")
            .unwrap();
        assert!(paused.text.contains("trend <ETH>") && paused.html.contains("trend &lt;ETH&gt;"));
        assert_eq!(paused.subject, "2 of your Nexus bots were paused");
        let failed = samples
            .iter()
            .find(|e| e.template == "payment_failed")
            .unwrap();
        assert!(
            failed.text.contains("7 Dec 2026, 13:00 UTC"),
            "{}",
            failed.text
        );
    }

    /// `docs/emails/` holds a rendered copy of each template for people to look at; this
    /// keeps it current (`NEXUS_WRITE_EMAIL_DOCS=1 cargo test -p nexus-server --lib
    /// email::templates` rewrites it).
    #[test]
    fn the_rendered_copies_in_docs_are_current() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/emails");
        let write = std::env::var_os("NEXUS_WRITE_EMAIL_DOCS").is_some();
        for email in samples() {
            for (ext, body) in [("html", &email.html), ("txt", &email.text)] {
                let path = dir.join(format!("{}.{ext}", email.template));
                let rendered = if ext == "txt" {
                    format!("Subject: {}\n\n{body}", email.subject)
                } else {
                    body.clone()
                };
                if write {
                    std::fs::create_dir_all(&dir).unwrap();
                    std::fs::write(&path, &rendered).unwrap();
                } else {
                    let committed = std::fs::read_to_string(&path).unwrap_or_default();
                    assert!(
                        committed == rendered,
                        "{} is not current: run NEXUS_WRITE_EMAIL_DOCS=1 cargo test -p nexus-server --lib email::templates",
                        path.display()
                    );
                }
            }
        }
    }
}
