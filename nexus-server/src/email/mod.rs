//! Email: the [`EmailSender`] port; [`delivery`], where every email becomes a job with a
//! log row and is sent with retries; [`resend`], the provider; [`svix`], its signed
//! delivery reports; [`templates`], every message; a development outbox
//! (`NEXUS_EMAIL_OUTBOX=DIR`: one JSON file per message) and a logging sender for when
//! nothing is configured. See docs/email.md.

pub mod delivery;
pub mod resend;
pub mod settings;
pub mod svix;
pub mod templates;

pub mod alert_templates;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use serde::Serialize;
use thiserror::Error;

pub use templates::{
    already_registered, billing_notice, confirm_link, identity_linked, password_reset, verification,
};

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
