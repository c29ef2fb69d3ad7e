//! Email's settings: the provider (Resend when its key is set), the sender address, a
//! recipients allow-list for staging, the retry schedule and the webhook secret.

use std::time::Duration;

use nexus_core::Secret;

use crate::config::ConfigError;

/// Resend's API key (`re_…`): emails go out through Resend.
pub const RESEND_API_KEY_VAR: &str = "NEXUS_RESEND_API_KEY";
/// Another Resend API than `https://api.resend.com` (tests).
pub const RESEND_API_BASE_VAR: &str = "NEXUS_RESEND_API_BASE";
/// The webhook's signing secret (`whsec_…`, from Resend's webhook page).
pub const RESEND_WEBHOOK_SECRET_VAR: &str = "NEXUS_RESEND_WEBHOOK_SECRET";
/// The sender, e.g. `Nexus <alerts@example.com>`.
pub const EMAIL_FROM_VAR: &str = "NEXUS_EMAIL_FROM";
/// Recipient domains allowed (`example.com,example.org`); others are suppressed.
pub const EMAIL_ALLOW_VAR: &str = "NEXUS_EMAIL_ALLOW";
/// Delays before each retry (`10m,2h,12h`).
pub const EMAIL_RETRY_DELAYS_VAR: &str = "NEXUS_EMAIL_RETRY_DELAYS";

/// The default retry schedule: 3 retries over about 14 hours.
pub const DEFAULT_RETRY_DELAYS: &str = "10m,2h,12h";
/// The sender when none is set (development: nothing leaves the machine).
pub const DEFAULT_FROM: &str = "Nexus <nexus@localhost>";

/// Resend's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResendSettings {
    /// The API key (hidden from `Debug`).
    pub key: Secret,
    /// The API.
    pub api_base: String,
}

/// Email's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailSettings {
    /// Resend, when its key is set.
    pub resend: Option<ResendSettings>,
    /// The sender.
    pub from: String,
    /// Allowed recipient domains (lower case); `None`: any.
    pub allow: Option<Vec<String>>,
    /// Delays before each retry; their number is the number of retries.
    pub retry_delays: Vec<Duration>,
    /// The webhook's signing secret (hidden from `Debug`).
    pub webhook_secret: Option<Secret>,
}

impl Default for EmailSettings {
    fn default() -> Self {
        Self {
            resend: None,
            from: DEFAULT_FROM.to_owned(),
            allow: None,
            retry_delays: parse_delays(DEFAULT_RETRY_DELAYS).unwrap_or_default(),
            webhook_secret: None,
        }
    }
}

fn parse_delays(text: &str) -> Option<Vec<Duration>> {
    text.split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| nexus_core::durations::parse(d).ok())
        .collect()
}

impl EmailSettings {
    /// Whether `to` may receive email (its domain is allowed, or no list is set).
    #[must_use]
    pub fn allows(&self, to: &str) -> bool {
        let Some(allow) = &self.allow else {
            return true;
        };
        let domain = to
            .rsplit_once('@')
            .map(|(_, d)| d.trim_end_matches('>').to_lowercase());
        domain.is_some_and(|d| allow.contains(&d))
    }

    /// Reads the settings through `get` (the variable, or `None` when unset or empty).
    ///
    /// # Errors
    /// [`ConfigError`] naming the first variable that is wrong.
    pub fn read(
        get: impl Fn(&'static str) -> Result<Option<String>, ConfigError>,
    ) -> Result<Self, ConfigError> {
        let invalid = |var, expected, value: &str| ConfigError::Invalid {
            var,
            expected,
            value: value.to_owned(),
        };
        let from = get(EMAIL_FROM_VAR)?;
        let resend = match get(RESEND_API_KEY_VAR)? {
            Some(key) => {
                if !key.starts_with("re_") {
                    return Err(invalid(RESEND_API_KEY_VAR, "a Resend API key (re_…)", "…"));
                }
                if from.is_none() {
                    return Err(invalid(
                        EMAIL_FROM_VAR,
                        "the sender on a domain verified with Resend, like Nexus <alerts@example.com> (NEXUS_RESEND_API_KEY is set)",
                        "",
                    ));
                }
                let api_base = get(RESEND_API_BASE_VAR)?
                    .unwrap_or_else(|| super::resend::DEFAULT_API_BASE.to_owned());
                if !(api_base.starts_with("https://") || api_base.starts_with("http://")) {
                    return Err(invalid(
                        RESEND_API_BASE_VAR,
                        "an http(s) URL like https://api.resend.com",
                        &api_base,
                    ));
                }
                Some(ResendSettings {
                    key: Secret::new(key),
                    api_base: api_base.trim_end_matches('/').to_owned(),
                })
            }
            None => None,
        };
        let from = from.unwrap_or_else(|| DEFAULT_FROM.to_owned());
        if !from.contains('@') {
            return Err(invalid(
                EMAIL_FROM_VAR,
                "an address like Nexus <alerts@example.com>",
                &from,
            ));
        }
        let allow = get(EMAIL_ALLOW_VAR)?.map(|text| {
            text.split(',')
                .map(|d| d.trim().trim_start_matches('@').to_lowercase())
                .filter(|d| !d.is_empty())
                .collect::<Vec<_>>()
        });
        if allow.as_ref().is_some_and(Vec::is_empty) {
            return Err(invalid(
                EMAIL_ALLOW_VAR,
                "recipient domains like example.com,example.org",
                "",
            ));
        }
        let delays_text =
            get(EMAIL_RETRY_DELAYS_VAR)?.unwrap_or_else(|| DEFAULT_RETRY_DELAYS.to_owned());
        let retry_delays = parse_delays(&delays_text)
            .filter(|d| d.len() <= 10)
            .ok_or_else(|| {
                invalid(
                    EMAIL_RETRY_DELAYS_VAR,
                    "up to 10 durations like 10m,2h,12h",
                    &delays_text,
                )
            })?;
        let webhook_secret = match get(RESEND_WEBHOOK_SECRET_VAR)? {
            Some(s) if super::svix::check_secret(&s).is_ok() => Some(Secret::new(s)),
            Some(_) => {
                return Err(invalid(
                    RESEND_WEBHOOK_SECRET_VAR,
                    "the webhook's signing secret (whsec_ and base64)",
                    "…",
                ));
            }
            None => None,
        };
        Ok(Self {
            resend,
            from,
            allow,
            retry_delays,
            webhook_secret,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn read(vars: &[(&'static str, &str)]) -> Result<EmailSettings, ConfigError> {
        let vars: HashMap<&str, &str> = vars.iter().copied().collect();
        EmailSettings::read(|var| Ok(vars.get(var).map(|v| (*v).to_owned())))
    }

    #[test]
    fn defaults_send_nothing_out_and_resend_needs_a_sender() {
        let plain = read(&[]).unwrap();
        assert_eq!(plain, EmailSettings::default());
        assert_eq!(
            plain.retry_delays,
            [600, 7200, 43_200].map(Duration::from_secs)
        );
        assert!(plain.allows("anyone@anywhere.io"));
        let err = read(&[(RESEND_API_KEY_VAR, "re_123")])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(EMAIL_FROM_VAR), "{err}");
        let on = read(&[
            (RESEND_API_KEY_VAR, "re_123"),
            (EMAIL_FROM_VAR, "Nexus <alerts@example.com>"),
            (EMAIL_ALLOW_VAR, "Example.com, @test.io"),
            (EMAIL_RETRY_DELAYS_VAR, "1s,2s"),
        ])
        .unwrap();
        assert_eq!(
            on.resend.as_ref().map(|r| r.api_base.as_str()),
            Some("https://api.resend.com")
        );
        assert!(
            !format!("{on:?}").contains("re_123"),
            "the key stays out of Debug"
        );
        assert!(on.allows("ann@EXAMPLE.com") && on.allows("bob@test.io"));
        assert!(!on.allows("eve@example.org") && !on.allows("no-at-sign"));
        assert_eq!(on.retry_delays, [1, 2].map(Duration::from_secs));
        for (var, value) in [
            (RESEND_API_KEY_VAR, "sk_live_wrong"),
            (EMAIL_RETRY_DELAYS_VAR, "10m,soon"),
            (RESEND_WEBHOOK_SECRET_VAR, "plain"),
            (EMAIL_FROM_VAR, "nobody"),
        ] {
            let err = read(&[(var, value)]).unwrap_err().to_string();
            assert!(err.starts_with(var), "{err}");
        }
    }
}
