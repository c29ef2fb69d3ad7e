//! Alert webhooks. A user's URL must be `https` (unless the operator allows `http`) and
//! must not point into a private network: loopback, private, link-local, unique-local
//! and unspecified addresses are refused when the URL is set and again at every delivery,
//! after resolving its host, so a name that later resolves inward (DNS rebinding) is
//! refused too. The connection goes to the very address that was checked.
//!
//! Each alert is one `alert_webhook` job: a `POST` of its JSON body signed like outside
//! signals (`X-Nexus-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "t.body")>`, see
//! [`crate::api::signature::sign`]), with a timeout. Anything but a 2xx answer fails the
//! job, which the queue retries with backoff and dead-letters after its last attempt.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use nexus_core::UserId;
use nexus_core::ports::alerts::AlertEvent;
use nexus_core::ports::jobs::{Job, JobKind, NewJob, RetryPolicy};
use nexus_store::Store;

use crate::job_runner::{JobError, JobHandler, JobRunner};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

/// How long one delivery may take.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts per alert before it is dead-lettered.
pub const ATTEMPTS: u32 = 8;
/// Backoff between attempts: from seconds to an hour.
pub const RETRY: RetryPolicy = RetryPolicy {
    base: Duration::from_secs(2),
    max: Duration::from_secs(3600),
};
/// How long a delivery holds its job.
const LEASE: Duration = Duration::from_secs(60);

/// Which webhook URLs the operator allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WebhookPolicy {
    /// `http://` URLs too (`NEXUS_ALERT_WEBHOOK_ALLOW_HTTP=1`).
    pub allow_http: bool,
    /// Private, loopback and link-local addresses too (`NEXUS_ALERT_WEBHOOK_ALLOW_PRIVATE=1`).
    pub allow_private: bool,
}

/// Why a webhook URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Not a URL.
    #[error("not a valid URL")]
    Malformed,
    /// Longer than 2,000 characters.
    #[error("longer than 2000 characters")]
    TooLong,
    /// `http://` without the operator's leave, or another scheme.
    #[error("must be an https:// URL")]
    Scheme,
    /// Carries a user name or password.
    #[error("must not carry a user name or password")]
    Credentials,
    /// The host is (or resolves to) an address inside a private network.
    #[error("{0} is a private, loopback, link-local or unspecified address")]
    Private(IpAddr),
    /// The host does not resolve.
    #[error("the host does not resolve: {0}")]
    Unresolved(String),
}

/// Whether `ip` is one a webhook may not reach: loopback, private (RFC 1918, unique
/// local `fc00::/7`), link-local, unspecified, shared (CGNAT `100.64.0.0/10`), broadcast,
/// or an IPv4 address in IPv6 clothing of one of those.
#[must_use]
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return internal_v4(v4);
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link-local
                || (first & 0xffc0) == 0xfec0 // site-local (deprecated)
                || v6 == Ipv6Addr::from(0x64_ff9b_0000_0000_0000_0000_7f00_0001_u128) // NAT64 of 127.0.0.1
        }
    }
}

fn internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
}

impl WebhookPolicy {
    /// Checks `text` as a webhook URL without resolving it: the scheme, no credentials,
    /// and (for an address written out) that it is not internal.
    ///
    /// # Errors
    /// [`UrlError`].
    pub fn check(&self, text: &str) -> Result<reqwest::Url, UrlError> {
        if text.len() > 2000 {
            return Err(UrlError::TooLong);
        }
        let url = reqwest::Url::parse(text.trim()).map_err(|_| UrlError::Malformed)?;
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            _ => return Err(UrlError::Scheme),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(UrlError::Credentials);
        }
        // The parser writes addresses out canonically (`2130706433` becomes `127.0.0.1`,
        // IPv6 in brackets), so an address in any spelling is caught here.
        let host = url.host_str().ok_or(UrlError::Malformed)?;
        if let Ok(ip) = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        {
            self.address(ip)?;
        }
        Ok(url)
    }

    fn address(&self, ip: IpAddr) -> Result<(), UrlError> {
        if !self.allow_private && is_internal(ip) {
            return Err(UrlError::Private(ip));
        }
        Ok(())
    }

    /// Checks `text` and resolves its host: the address to connect to, every address the
    /// name resolves to being allowed.
    ///
    /// # Errors
    /// [`UrlError`].
    pub async fn resolve(&self, text: &str) -> Result<(reqwest::Url, SocketAddr), UrlError> {
        let url = self.check(text)?;
        let host = url.host_str().ok_or(UrlError::Malformed)?.to_owned();
        let port = url.port_or_known_default().ok_or(UrlError::Malformed)?;
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((bare, port))
            .await
            .map_err(|e| UrlError::Unresolved(e.to_string()))?
            .collect();
        for addr in &addrs {
            self.address(addr.ip())?;
        }
        let first = addrs
            .first()
            .copied()
            .ok_or_else(|| UrlError::Unresolved(host.clone()))?;
        Ok((url, first))
    }
}

/// One alert for a webhook: an `alert_webhook` job's payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookAlert {
    /// Whose webhook.
    pub user: UserId,
    /// The event (the target's events are checked again at delivery).
    pub event: AlertEvent,
    /// The body posted, as sent.
    pub body: serde_json::Value,
}

impl WebhookAlert {
    /// The job delivering it, unique per `key` (an alert is posted once).
    ///
    /// # Errors
    /// The payload does not serialise (it always does).
    pub fn new_job(&self, key: &str) -> Result<NewJob, serde_json::Error> {
        let mut job = NewJob::new(JobKind::AlertWebhook, serde_json::to_string(self)?)
            .unique(format!("webhook:{key}"));
        job.max_attempts = ATTEMPTS;
        Ok(job)
    }
}

/// Why a delivery failed (the job is retried).
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The URL is no longer acceptable (it now resolves inward, say).
    #[error("webhook URL refused: {0}")]
    Url(#[from] UrlError),
    /// No answer, or not in time.
    #[error("webhook unreachable: {0}")]
    Http(String),
    /// An answer other than 2xx.
    #[error("webhook answered {0}")]
    Status(u16),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] nexus_core::StoreError),
    /// Not an alert.
    #[error("not a webhook alert: {0}")]
    Payload(#[from] serde_json::Error),
}

/// Delivers one job's alert; `Ok` also when there is nothing to deliver (the webhook was
/// removed or no longer takes the event).
///
/// # Errors
/// [`DeliveryError`].
pub async fn deliver(
    store: &dyn Store,
    policy: WebhookPolicy,
    job: &Job,
) -> Result<(), DeliveryError> {
    let alert: WebhookAlert = serde_json::from_str(&job.payload)?;
    let Some(target) = store.webhook_target(alert.user).await? else {
        return Ok(());
    };
    if !target.events.contains(&alert.event) {
        return Ok(());
    }
    let (url, addr) = policy.resolve(&target.url).await?;
    let body = serde_json::to_vec(&alert.body)?;
    let signature =
        crate::api::signature::sign(target.secret.expose(), Utc::now().timestamp(), &body);
    nexus_exchanges::http::install_tls_provider();
    // A client per delivery, pinned to the address just checked: the name is not looked
    // up again between the check and the connection. Redirects are not followed.
    let host = url.host_str().unwrap_or_default().to_owned();
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .connect_timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("nexus-alerts/", env!("CARGO_PKG_VERSION")))
        .resolve(&host, addr)
        .build()
        .map_err(|e| DeliveryError::Http(e.to_string()))?;
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .header(crate::api::signature::SIGNATURE_HEADER, signature)
        .header("x-nexus-event", alert.event.as_str())
        .body(body)
        .send()
        .await
        .map_err(|e| DeliveryError::Http(without_url(&e)))?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(DeliveryError::Status(status.as_u16()))
    }
}

/// A transport error's text without the URL (it may carry a token of the user's).
fn without_url(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "could not connect".to_owned()
    } else {
        "the request failed".to_owned()
    }
}

/// Delivers webhook alerts.
struct Deliveries {
    store: Arc<dyn Store>,
    policy: WebhookPolicy,
}

#[async_trait::async_trait]
impl JobHandler for Deliveries {
    async fn handle(&self, job: &Job) -> Result<(), JobError> {
        deliver(self.store.as_ref(), self.policy, job)
            .await
            .map_err(JobError::work)
    }
}

/// Claims and delivers webhook alerts until `stop` says so; a failed delivery is retried
/// on [`RETRY`].
pub async fn run(
    store: Arc<dyn Store>,
    policy: WebhookPolicy,
    worker: String,
    stop: watch::Receiver<bool>,
) {
    let runner = JobRunner {
        kind: JobKind::AlertWebhook,
        worker,
        lease: LEASE,
        batch: 16,
        idle: Duration::from_millis(250),
        retry: RETRY,
    };
    let handler = Deliveries {
        store: Arc::clone(&store),
        policy,
    };
    runner.run(store, &handler, Some(stop)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_refused_unless_allowed() {
        let strict = WebhookPolicy::default();
        for url in [
            "https://127.0.0.1/x",
            "https://10.1.2.3/",
            "https://172.16.0.1/",
            "https://192.168.1.1/",
            "https://169.254.169.254/latest/meta-data",
            "https://0.0.0.0/",
            "https://100.64.0.1/",
            "https://[::1]/",
            "https://[::]/",
            "https://[fd00::1]/",
            "https://[fe80::1]/",
            "https://[::ffff:127.0.0.1]/",
            "https://2130706433/",
            "https://0x7f.1/",
        ] {
            assert!(
                matches!(strict.check(url), Err(UrlError::Private(_))),
                "{url}: {:?}",
                strict.check(url)
            );
        }
        assert!(strict.check("https://8.8.8.8/hook").is_ok());
        assert!(strict.check("https://[2001:4860:4860::8888]/").is_ok());
        assert!(strict.check("https://hooks.example.com/x?a=1").is_ok());
        assert_eq!(
            strict.check("http://hooks.example.com/"),
            Err(UrlError::Scheme)
        );
        assert_eq!(
            strict.check("ftp://hooks.example.com/"),
            Err(UrlError::Scheme)
        );
        assert_eq!(
            strict.check("https://u:p@hooks.example.com/"),
            Err(UrlError::Credentials)
        );
        assert_eq!(strict.check("not a url"), Err(UrlError::Malformed));
        let open = WebhookPolicy {
            allow_http: true,
            allow_private: true,
        };
        assert!(open.check("http://127.0.0.1:9/x").is_ok());
    }

    #[tokio::test]
    async fn a_name_resolving_inward_is_refused_at_delivery() {
        let strict = WebhookPolicy::default();
        // `localhost` resolves to a loopback address.
        assert!(matches!(
            strict.resolve("https://localhost/x").await,
            Err(UrlError::Private(_))
        ));
        let open = WebhookPolicy {
            allow_http: true,
            allow_private: true,
        };
        let (_, addr) = open.resolve("http://localhost:8080/x").await.unwrap();
        assert!(addr.ip().is_loopback());
    }
}
