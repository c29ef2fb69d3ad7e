//! Email: the [`EmailSender`] port, a development outbox (`NEXUS_EMAIL_OUTBOX=DIR`: one
//! JSON file per message), a logging sender for when nothing is configured, and the
//! templates of the account emails. A real provider comes later behind the same trait.

pub mod alert_templates;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use serde::Serialize;
use thiserror::Error;

/// One message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Email {
    /// Which template it was made from (`verification`, `trade_alert`, …): the email log
    /// and the metrics count by it.
    pub template: String,
    /// The recipient.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body.
    pub html: String,
}

/// A message could not be handed over.
#[derive(Debug, Error)]
#[error("email to {to} not sent: {reason}")]
pub struct EmailError {
    /// The recipient.
    pub to: String,
    /// Why.
    pub reason: String,
}

/// Sends email.
#[async_trait]
pub trait EmailSender: Send + Sync {
    /// Hands `email` over for delivery.
    ///
    /// # Errors
    /// [`EmailError`] when it could not be handed over.
    async fn send(&self, email: &Email) -> Result<(), EmailError>;
}

/// Writes each message as `DIR/<time>-<n>.json` with `to`, `subject`, `text` and `html`,
/// in a folder and files only this user may read.
#[derive(Debug)]
pub struct Outbox {
    dir: PathBuf,
    count: AtomicU64,
}

impl Outbox {
    /// An outbox writing into `dir` (created when missing).
    #[must_use]
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            count: AtomicU64::new(0),
        }
    }
}

#[async_trait]
impl EmailSender for Outbox {
    async fn send(&self, email: &Email) -> Result<(), EmailError> {
        let fail = |reason: String| EmailError {
            to: email.to.clone(),
            reason,
        };
        // The messages hold one-time sign-in links: the folder and files are this user's
        // only (0700 and 0600), whatever the umask.
        let mut folder = tokio::fs::DirBuilder::new();
        folder.recursive(true);
        #[cfg(unix)]
        folder.mode(0o700);
        folder
            .create(&self.dir)
            .await
            .map_err(|e| fail(format!("{}: {e}", self.dir.display())))?;
        let n = self.count.fetch_add(1, Ordering::Relaxed);
        let name = format!(
            "{}-{}-{n:04}.json",
            chrono::Utc::now().format("%Y%m%dT%H%M%S%.6f"),
            std::process::id()
        );
        let json = serde_json::to_vec_pretty(email).map_err(|e| fail(e.to_string()))?;
        // Written under a temporary name and renamed, so a reader never sees half a file.
        let tmp = self.dir.join(format!(".{name}.tmp"));
        write_private(&tmp, &json)
            .await
            .map_err(|e| fail(e.to_string()))?;
        tokio::fs::rename(&tmp, self.dir.join(name))
            .await
            .map_err(|e| fail(e.to_string()))?;
        Ok(())
    }
}

/// Writes a new file readable by this user only (0600 on Unix).
async fn write_private(path: &std::path::Path, contents: &[u8]) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt;
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(path).await?;
    file.write_all(contents).await?;
    file.flush().await
}

/// Logs each message: in development (no outbox, an `http://` public URL) the whole text,
/// so the link can be followed from the log; otherwise with its one-time token hidden, so
/// logs never hold a working sign-in link.
#[derive(Debug, Default)]
pub struct LogSender {
    /// Hide `token=…` values.
    pub redact_tokens: bool,
}

fn redact_tokens(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("token=") {
        let (head, tail) = rest.split_at(at + "token=".len());
        out.push_str(head);
        out.push_str("[redacted]");
        rest = tail.trim_start_matches(|c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    }
    out.push_str(rest);
    out
}

#[async_trait]
impl EmailSender for LogSender {
    async fn send(&self, email: &Email) -> Result<(), EmailError> {
        let text = if self.redact_tokens {
            redact_tokens(&email.text)
        } else {
            email.text.clone()
        };
        tracing::info!(
            to = %email.to,
            subject = %email.subject,
            text = %text,
            "email (no NEXUS_EMAIL_OUTBOX or provider configured: logged, not sent)"
        );
        Ok(())
    }
}

pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn message(
    template: &str,
    to: &str,
    subject: &str,
    lead: &str,
    action: &str,
    link: &str,
    note: &str,
) -> Email {
    let text = format!("{lead}\n\n{action}:\n{link}\n\n{note}\n");
    let html = format!(
        "<!doctype html><html><body><p>{}</p><p><a href=\"{}\">{}</a></p><p>{}</p></body></html>",
        escape(lead),
        escape(link),
        escape(action),
        escape(note)
    );
    Email {
        template: template.to_owned(),
        to: to.to_owned(),
        subject: subject.to_owned(),
        text,
        html,
    }
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
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_hidden_from_logs_outside_development() {
        let email = verification("a@example.com", "https://nexus.example.com", "AbC-123_xyz");
        let redacted = redact_tokens(&email.text);
        assert!(!redacted.contains("AbC-123_xyz"), "{redacted}");
        assert!(redacted.contains("verify-email?token=[redacted]"));
        assert!(redacted.contains("The link works once"), "the rest stays");
    }

    #[tokio::test]
    async fn the_outbox_writes_one_json_file_per_message() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::new(dir.path().join("mail"));
        let email = verification("a@example.com", "https://nexus.test/", "tok<en>");
        outbox.send(&email).await.unwrap();
        outbox
            .send(&password_reset("b@example.com", "https://nexus.test", "t2"))
            .await
            .unwrap();
        let mut files: Vec<_> = std::fs::read_dir(dir.path().join("mail"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        assert_eq!(files.len(), 2);
        let first: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&files[0]).unwrap()).unwrap();
        assert_eq!(first["to"], "a@example.com");
        assert!(
            first["text"]
                .as_str()
                .unwrap()
                .contains("https://nexus.test/verify-email?token=tok<en>")
        );
        assert!(
            first["html"]
                .as_str()
                .unwrap()
                .contains("token=tok&lt;en&gt;"),
            "escaped in HTML"
        );
        assert!(first["subject"].as_str().unwrap().contains("Confirm"));
    }
}
