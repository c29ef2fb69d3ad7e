//! Configuration from `NEXUS_*` environment variables, validated at start-up. A bad value
//! stops the server with a message naming the variable and what it expects, instead of
//! running on a default the operator did not choose.

use std::net::SocketAddr;

use thiserror::Error;
use tracing_subscriber::EnvFilter;

/// The address the HTTP server listens on (`NEXUS_BIND`).
pub const BIND_VAR: &str = "NEXUS_BIND";
/// The log filter (`NEXUS_LOG`), in `tracing-subscriber`'s `EnvFilter` syntax.
pub const LOG_VAR: &str = "NEXUS_LOG";

/// The database (`NEXUS_DATABASE_URL`): `sqlite://PATH` or `postgres://…`.
pub const DATABASE_VAR: &str = "NEXUS_DATABASE_URL";
/// Where local state lives (`NEXUS_DATA_DIR`): the SQLite file by default and the
/// generated master key when `NEXUS_MASTER_KEY` is unset.
pub const DATA_DIR_VAR: &str = "NEXUS_DATA_DIR";
/// The default data directory, relative to the working directory.
pub const DEFAULT_DATA_DIR: &str = "nexus-data";

/// Plans and their limits: `free=3/3,pro=25/20,enterprise=unlimited` (bots/pairs).
pub const PLANS_VAR: &str = "NEXUS_PLANS";

/// Reverse proxies (comma-separated IPs) whose `X-Forwarded-For` names the client.
pub const TRUSTED_PROXIES_VAR: &str = "NEXUS_TRUSTED_PROXIES";

/// `json` (default) or `text`: the format of log lines on stderr.
pub const LOG_FORMAT_VAR: &str = "NEXUS_LOG_FORMAT";

/// Where users reach the product (links in emails); `http://` + the bind address by default.
pub const PUBLIC_URL_VAR: &str = "NEXUS_PUBLIC_URL";
/// A directory that receives every email as a JSON file (development).
pub const EMAIL_OUTBOX_VAR: &str = "NEXUS_EMAIL_OUTBOX";

/// Sign-in with Google: the OAuth client id (`NEXUS_OAUTH_GOOGLE_CLIENT_ID`). With the
/// secret, turns sign-in with Google on.
pub const GOOGLE_CLIENT_ID_VAR: &str = "NEXUS_OAUTH_GOOGLE_CLIENT_ID";
/// Sign-in with Google: the OAuth client secret (`NEXUS_OAUTH_GOOGLE_CLIENT_SECRET`).
pub const GOOGLE_CLIENT_SECRET_VAR: &str = "NEXUS_OAUTH_GOOGLE_CLIENT_SECRET";
/// Overrides Google's authorization endpoint (`NEXUS_OAUTH_GOOGLE_AUTH_URL`).
pub const GOOGLE_AUTH_URL_VAR: &str = "NEXUS_OAUTH_GOOGLE_AUTH_URL";
/// Overrides Google's token endpoint (`NEXUS_OAUTH_GOOGLE_TOKEN_URL`).
pub const GOOGLE_TOKEN_URL_VAR: &str = "NEXUS_OAUTH_GOOGLE_TOKEN_URL";
/// Overrides Google's signing keys (`NEXUS_OAUTH_GOOGLE_JWKS_URL`).
pub const GOOGLE_JWKS_URL_VAR: &str = "NEXUS_OAUTH_GOOGLE_JWKS_URL";
/// Overrides the issuer Google's ID tokens name (`NEXUS_OAUTH_GOOGLE_ISSUER`).
pub const GOOGLE_ISSUER_VAR: &str = "NEXUS_OAUTH_GOOGLE_ISSUER";

/// `on` (default) or `off`: whether this instance runs the engine (scheduler election,
/// trade workers, the simulated Paper feed). An API-only instance sets `off`.
pub const ENGINE_VAR: &str = "NEXUS_ENGINE";
/// `stream` (default) or `poll`: whether Binance, Kraken and Coinbase market data comes
/// from their public websockets (REST only as the fallback) or from REST calls every TTL.
pub const MARKET_DATA_VAR: &str = "NEXUS_MARKET_DATA";
/// Market data's time to live in seconds, 5–30 (default 15).
pub const MARKET_TTL_VAR: &str = "NEXUS_MARKET_TTL_SECS";
/// How often each market's regime is classified, in seconds, 10–86400 (default 300).
pub const REGIME_INTERVAL_VAR: &str = "NEXUS_REGIME_INTERVAL_SECS";
/// Trade jobs per enqueued batch, 100–500 (default 250).
pub const FANOUT_BATCH_VAR: &str = "NEXUS_FANOUT_BATCH";
/// Trade workers per instance, 1–64 (default 4).
pub const WORKERS_VAR: &str = "NEXUS_WORKERS";
/// The simulated market: `replay` (the shipped BTC/USDT history), `replay:DAYS` (starting
/// that many days in) or `random:SEED`.
pub const PAPER_FEED_VAR: &str = "NEXUS_PAPER_FEED";
/// Seconds between simulated candles (default 2; fractions allowed, at least 0.05).
pub const PAPER_CANDLE_SECS_VAR: &str = "NEXUS_PAPER_CANDLE_SECS";
/// What each paper account starts with, in the quote asset (default 10000).
pub const PAPER_BALANCE_VAR: &str = "NEXUS_PAPER_BALANCE";
/// The paper symbols, comma-separated (default `BTC/USDT`).
pub const PAPER_SYMBOLS_VAR: &str = "NEXUS_PAPER_SYMBOLS";
/// `email` (default) or `off`: whether users are emailed about their trades.
pub const TRADE_ALERTS_VAR: &str = "NEXUS_TRADE_ALERTS";
/// Outside signal sources for `POST /api/v1/signals`: `name=secret,…`.
pub const SIGNAL_SOURCES_VAR: &str = "NEXUS_SIGNAL_SOURCES";
/// `1` accepts the body-only `X-Nexus-Signature: sha256=…` of earlier releases (it can be
/// replayed) for one more release; `0` (default) refuses it.
pub const SIGNALS_LEGACY_SIGNATURE_VAR: &str = "NEXUS_SIGNALS_LEGACY_SIGNATURE";

/// `1` lets alert webhooks use `http://` URLs; `0` (default) requires `https://`.
pub const ALERT_WEBHOOK_ALLOW_HTTP_VAR: &str = "NEXUS_ALERT_WEBHOOK_ALLOW_HTTP";
/// `1` lets alert webhooks reach private, loopback, link-local and unspecified addresses
/// (tests, a receiver on the same network); `0` (default) refuses them, so alerts cannot
/// probe the internal network.
pub const ALERT_WEBHOOK_ALLOW_PRIVATE_VAR: &str = "NEXUS_ALERT_WEBHOOK_ALLOW_PRIVATE";

/// A bearer token `/metrics` then requires (`NEXUS_METRICS_TOKEN`).
pub const METRICS_TOKEN_VAR: &str = "NEXUS_METRICS_TOKEN";

/// `on` (default) or `off`: the sign-up and sign-in rate limits. Off only for load tests.
pub const AUTH_RATE_LIMITS_VAR: &str = "NEXUS_AUTH_RATE_LIMITS";
/// How many live events each instance keeps for streams that reconnect.
pub const EVENT_BUFFER_VAR: &str = "NEXUS_EVENT_BUFFER";

/// The default listen address: loopback only, so a fresh install is not exposed.
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
/// The default log filter.
pub const DEFAULT_LOG: &str = "info";

/// A setting that could not be used.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    /// The variable is set to something unusable.
    #[error("{var}: expected {expected}, got {value:?}")]
    Invalid {
        /// The variable's name.
        var: &'static str,
        /// What the variable accepts.
        expected: &'static str,
        /// What it was set to.
        value: String,
    },
    /// The variable is set but not valid UTF-8.
    #[error("{var}: the value is not valid UTF-8")]
    NotUnicode {
        /// The variable's name.
        var: &'static str,
    },
}

/// The server's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Where the HTTP server listens.
    pub bind: SocketAddr,
    /// The log filter.
    pub log: String,
    /// The database URL.
    pub database_url: String,
    /// The data directory.
    pub data_dir: std::path::PathBuf,
    /// Plans and their limits.
    pub plans: nexus_core::billing::Plans,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: crate::api::client_ip::TrustedProxies,
    /// Log lines as JSON objects (`NEXUS_LOG_FORMAT=json`, the default) or text.
    pub log_json: bool,
    /// Where users reach the product.
    pub public_url: String,
    /// The development outbox, when set.
    pub email_outbox: Option<std::path::PathBuf>,
    /// Sign-in with Google's OAuth client id, when set.
    pub google_client_id: Option<String>,
    /// Sign-in with Google's OAuth client secret, when set (hidden from `Debug`).
    pub google_client_secret: Option<nexus_core::Secret>,
    /// Another authorization endpoint than Google's.
    pub google_auth_url: Option<String>,
    /// Another token endpoint than Google's.
    pub google_token_url: Option<String>,
    /// Other signing keys (JWKS) than Google's.
    pub google_jwks_url: Option<String>,
    /// Another issuer than Google's.
    pub google_issuer: Option<String>,
    /// The engine.
    pub engine: crate::engine::EngineConfig,
    /// Outside signal sources and their secrets.
    pub signal_sources: crate::api::signals::SignalSources,
    /// Whether body-only signal signatures are still accepted (`NEXUS_SIGNALS_LEGACY_SIGNATURE=1`).
    pub signals_legacy_signature: bool,
    /// Whether sign-up and sign-in are rate limited (always, except in load tests).
    pub auth_rate_limits: bool,
    /// Billing with Stripe; `None` (off) without a Stripe secret key.
    pub billing: Option<crate::billing::BillingSettings>,
    /// Email delivery: the provider, the sender, retries.
    pub email: crate::email::settings::EmailSettings,
    /// The bearer token `/metrics` requires; `None`: open.
    pub metrics_token: Option<nexus_core::Secret>,
    /// Which alert webhook URLs are allowed (`NEXUS_ALERT_WEBHOOK_ALLOW_HTTP`,
    /// `NEXUS_ALERT_WEBHOOK_ALLOW_PRIVATE`).
    pub alert_webhooks: crate::alerts::WebhookPolicy,
    /// Live events kept per instance for streams that reconnect (`NEXUS_EVENT_BUFFER`).
    pub event_buffer: usize,
    /// Event streams' session checks (60 s) and keep-alives (15 s); not read from the
    /// environment: tests shorten them.
    pub event_timing: crate::api::events::StreamTiming,
}

impl Config {
    /// Reads the settings from the process environment.
    ///
    /// # Errors
    /// The first [`ConfigError`] found.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|var| match std::env::var(var) {
            Ok(value) => Ok(Some(value)),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(()),
        })
    }

    /// Reads the settings through `lookup` (`Err(())` meaning "set, but not UTF-8"), so
    /// tests need not touch the process environment.
    ///
    /// # Errors
    /// The first [`ConfigError`] found.
    pub fn from_lookup(
        lookup: impl Fn(&'static str) -> Result<Option<String>, ()>,
    ) -> Result<Self, ConfigError> {
        let get = |var: &'static str, default: &str| -> Result<String, ConfigError> {
            match lookup(var) {
                Ok(Some(value)) => Ok(value),
                Ok(None) => Ok(default.to_owned()),
                Err(()) => Err(ConfigError::NotUnicode { var }),
            }
        };

        let bind_text = get(BIND_VAR, DEFAULT_BIND)?;
        let bind = bind_text.trim().parse().map_err(|_| ConfigError::Invalid {
            var: BIND_VAR,
            expected: "an IP address and port like 127.0.0.1:8080 or [::]:8080",
            value: bind_text.clone(),
        })?;

        let log = get(LOG_VAR, DEFAULT_LOG)?;
        EnvFilter::try_new(&log).map_err(|_| ConfigError::Invalid {
            var: LOG_VAR,
            expected: "a log filter like info or nexus_server=debug,info",
            value: log.clone(),
        })?;

        let data_dir = std::path::PathBuf::from(get(DATA_DIR_VAR, DEFAULT_DATA_DIR)?);
        let default_db = format!("sqlite://{}", data_dir.join("nexus.db").display());
        let database_url = get(DATABASE_VAR, &default_db)?;
        let scheme_ok = ["sqlite:", "postgres:", "postgresql:"]
            .iter()
            .any(|s| database_url.starts_with(s));
        if !scheme_ok {
            return Err(ConfigError::Invalid {
                var: DATABASE_VAR,
                expected: "sqlite://PATH or postgres://USER@HOST:PORT/DATABASE",
                value: redact_url(&database_url),
            });
        }

        let public_url = get(PUBLIC_URL_VAR, &format!("http://{bind}"))?;
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(ConfigError::Invalid {
                var: PUBLIC_URL_VAR,
                expected: "an http:// or https:// URL like https://nexus.example.com",
                value: public_url,
            });
        }
        let email_outbox = match lookup(EMAIL_OUTBOX_VAR) {
            Ok(value) => value
                .filter(|v| !v.trim().is_empty())
                .map(std::path::PathBuf::from),
            Err(()) => {
                return Err(ConfigError::NotUnicode {
                    var: EMAIL_OUTBOX_VAR,
                });
            }
        };

        let optional = |var: &'static str| -> Result<Option<String>, ConfigError> {
            match lookup(var) {
                Ok(value) => Ok(value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())),
                Err(()) => Err(ConfigError::NotUnicode { var }),
            }
        };
        let google_client_id = optional(GOOGLE_CLIENT_ID_VAR)?;
        let google_client_secret = optional(GOOGLE_CLIENT_SECRET_VAR)?.map(nexus_core::Secret::new);
        match (&google_client_id, &google_client_secret) {
            (Some(_), None) => {
                return Err(ConfigError::Invalid {
                    var: GOOGLE_CLIENT_SECRET_VAR,
                    expected: "the OAuth client secret (NEXUS_OAUTH_GOOGLE_CLIENT_ID is set)",
                    value: String::new(),
                });
            }
            (None, Some(_)) => {
                return Err(ConfigError::Invalid {
                    var: GOOGLE_CLIENT_ID_VAR,
                    expected: "the OAuth client id (NEXUS_OAUTH_GOOGLE_CLIENT_SECRET is set)",
                    value: String::new(),
                });
            }
            _ => {}
        }
        let url = |var: &'static str| -> Result<Option<String>, ConfigError> {
            let value = optional(var)?;
            match value {
                Some(v) if !(v.starts_with("http://") || v.starts_with("https://")) => {
                    Err(ConfigError::Invalid {
                        var,
                        expected: "an http:// or https:// URL",
                        value: v,
                    })
                }
                other => Ok(other),
            }
        };
        let google_auth_url = url(GOOGLE_AUTH_URL_VAR)?;
        let google_token_url = url(GOOGLE_TOKEN_URL_VAR)?;
        let google_jwks_url = url(GOOGLE_JWKS_URL_VAR)?;
        let google_issuer = optional(GOOGLE_ISSUER_VAR)?;

        let log_json = match get(LOG_FORMAT_VAR, "json")?.trim() {
            "json" => true,
            "text" => false,
            other => {
                return Err(ConfigError::Invalid {
                    var: LOG_FORMAT_VAR,
                    expected: "json or text",
                    value: other.to_owned(),
                });
            }
        };

        let plans_text = get(PLANS_VAR, nexus_core::billing::DEFAULT_PLANS)?;
        let plans = nexus_core::billing::Plans::parse(&plans_text).map_err(|problem| {
            tracing::debug!(%problem, "bad plans");
            ConfigError::Invalid {
                var: PLANS_VAR,
                expected: "plans like free=3/3,pro=25/20,enterprise=unlimited (bots/pairs), with free among them",
                value: plans_text.clone(),
            }
        })?;

        let proxies_text = get(TRUSTED_PROXIES_VAR, "")?;
        let trusted_proxies =
            crate::api::client_ip::TrustedProxies::parse(&proxies_text).map_err(|_| {
                ConfigError::Invalid {
                    var: TRUSTED_PROXIES_VAR,
                    expected: "comma-separated IP addresses of your reverse proxies",
                    value: proxies_text.clone(),
                }
            })?;

        let billing = crate::billing::BillingSettings::read(optional, &plans)?;
        let email = crate::email::settings::EmailSettings::read(optional)?;
        let metrics_token = optional(METRICS_TOKEN_VAR)?.map(nexus_core::Secret::new);

        let (mut engine, signal_sources) = engine_settings(&get)?;
        let flag = |var: &'static str| -> Result<bool, ConfigError> {
            match get(var, "0")?.trim() {
                "0" => Ok(false),
                "1" => Ok(true),
                other => Err(ConfigError::Invalid {
                    var,
                    expected: "0 or 1",
                    value: other.to_owned(),
                }),
            }
        };
        let alert_webhooks = crate::alerts::WebhookPolicy {
            allow_http: flag(ALERT_WEBHOOK_ALLOW_HTTP_VAR)?,
            allow_private: flag(ALERT_WEBHOOK_ALLOW_PRIVATE_VAR)?,
        };
        engine.alert_webhooks = alert_webhooks;
        engine.public_url = public_url.trim_end_matches('/').to_owned();
        engine.advisor = crate::advisor::settings::LlmSettings::read(optional)?;
        let auth_rate_limits = match get(AUTH_RATE_LIMITS_VAR, "on")?.trim() {
            "on" => true,
            "off" => false,
            other => {
                return Err(ConfigError::Invalid {
                    var: AUTH_RATE_LIMITS_VAR,
                    expected: "on or off",
                    value: other.to_owned(),
                });
            }
        };

        let signals_legacy_signature = match get(SIGNALS_LEGACY_SIGNATURE_VAR, "0")?.trim() {
            "0" => false,
            "1" => true,
            other => {
                return Err(ConfigError::Invalid {
                    var: SIGNALS_LEGACY_SIGNATURE_VAR,
                    expected: "0 or 1",
                    value: other.to_owned(),
                });
            }
        };

        let buffer_text = get(EVENT_BUFFER_VAR, "10000")?;
        let event_buffer = buffer_text
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| (100..=1_000_000).contains(n))
            .ok_or_else(|| ConfigError::Invalid {
                var: EVENT_BUFFER_VAR,
                expected: "a number of events from 100 to 1000000",
                value: buffer_text.clone(),
            })?;

        Ok(Self {
            alert_webhooks,
            event_buffer,
            event_timing: crate::api::events::StreamTiming::default(),
            billing,
            email,
            metrics_token,
            engine,
            signal_sources,
            signals_legacy_signature,
            auth_rate_limits,
            bind,
            log,
            plans,
            trusted_proxies,
            log_json,
            database_url,
            data_dir,
            public_url: public_url.trim_end_matches('/').to_owned(),
            email_outbox,
            google_client_id,
            google_client_secret,
            google_auth_url,
            google_token_url,
            google_jwks_url,
            google_issuer,
        })
    }

    /// Sign-in with Google's settings: `None` unless the client id and secret are set;
    /// Google's own endpoints unless overridden.
    #[must_use]
    pub fn google(&self) -> Option<crate::auth::oidc::GoogleConfig> {
        let (Some(id), Some(secret)) = (&self.google_client_id, &self.google_client_secret) else {
            return None;
        };
        let mut config = crate::auth::oidc::GoogleConfig::new(id.clone(), secret.clone());
        for (value, field) in [
            (&self.google_auth_url, &mut config.auth_url),
            (&self.google_token_url, &mut config.token_url),
            (&self.google_jwks_url, &mut config.jwks_url),
            (&self.google_issuer, &mut config.issuer),
        ] {
            if let Some(value) = value {
                value.clone_into(field);
            }
        }
        Some(config)
    }
}

/// The engine's settings and the outside signal sources.
fn engine_settings(
    get: &dyn Fn(&'static str, &str) -> Result<String, ConfigError>,
) -> Result<
    (
        crate::engine::EngineConfig,
        crate::api::signals::SignalSources,
    ),
    ConfigError,
> {
    use crate::engine::{EngineConfig, PaperFeed};
    let invalid = |var, expected, value: String| ConfigError::Invalid {
        var,
        expected,
        value,
    };
    let number =
        |var: &'static str, default: &str, range: std::ops::RangeInclusive<u64>, expected| {
            let text = get(var, default)?;
            text.trim()
                .parse::<u64>()
                .ok()
                .filter(|n| range.contains(n))
                .ok_or_else(|| invalid(var, expected, text.clone()))
        };
    let enabled = match get(ENGINE_VAR, "on")?.trim() {
        "on" => true,
        "off" => false,
        other => return Err(invalid(ENGINE_VAR, "on or off", other.to_owned())),
    };
    let streams = match get(MARKET_DATA_VAR, "stream")?.trim() {
        "stream" => true,
        "poll" => false,
        other => return Err(invalid(MARKET_DATA_VAR, "stream or poll", other.to_owned())),
    };
    let mut engine = EngineConfig {
        enabled,
        streams,
        ..EngineConfig::default()
    };
    engine.scheduler.ttl = std::time::Duration::from_secs(number(
        MARKET_TTL_VAR,
        "15",
        5..=30,
        "a number of seconds from 5 to 30",
    )?);
    engine.scheduler.regime_interval = std::time::Duration::from_secs(number(
        REGIME_INTERVAL_VAR,
        "300",
        10..=86_400,
        "a number of seconds from 10 to 86400",
    )?);
    let batch = number(
        FANOUT_BATCH_VAR,
        "250",
        100..=500,
        "a batch size from 100 to 500",
    )?;
    engine.batch = nexus_core::fanout::BatchSize::new(usize::try_from(batch).unwrap_or(250))
        .map_err(|_| {
            invalid(
                FANOUT_BATCH_VAR,
                "a batch size from 100 to 500",
                batch.to_string(),
            )
        })?;
    engine.workers =
        usize::try_from(number(WORKERS_VAR, "4", 1..=64, "a count from 1 to 64")?).unwrap_or(4);
    let feed = get(PAPER_FEED_VAR, "replay")?;
    let bad_feed = || {
        invalid(
            PAPER_FEED_VAR,
            "replay, replay:DAYS or random:SEED",
            feed.clone(),
        )
    };
    engine.paper.feed = match feed.trim().split_once(':') {
        None if feed.trim() == "replay" => PaperFeed::Replay {
            offset: crate::engine::DEFAULT_REPLAY_OFFSET,
        },
        None if feed.trim() == "random" => PaperFeed::Random { seed: 1 },
        Some(("replay", days)) => PaperFeed::Replay {
            offset: days.trim().parse().map_err(|_| bad_feed())?,
        },
        Some(("random", seed)) => PaperFeed::Random {
            seed: seed.trim().parse().map_err(|_| bad_feed())?,
        },
        _ => return Err(bad_feed()),
    };
    let every = get(PAPER_CANDLE_SECS_VAR, "2")?;
    engine.paper.candle_every = every
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && (0.05..=86_400.0).contains(s))
        .map(std::time::Duration::from_secs_f64)
        .ok_or_else(|| {
            invalid(
                PAPER_CANDLE_SECS_VAR,
                "seconds from 0.05 to 86400",
                every.clone(),
            )
        })?;
    let balance = get(PAPER_BALANCE_VAR, "10000")?;
    engine.paper.balance = balance
        .trim()
        .parse::<nexus_core::Quantity>()
        .ok()
        .filter(|q| !q.is_zero())
        .ok_or_else(|| {
            invalid(
                PAPER_BALANCE_VAR,
                "a positive amount like 10000",
                balance.clone(),
            )
        })?;
    let symbols = get(PAPER_SYMBOLS_VAR, "BTC/USDT")?;
    engine.paper.symbols = symbols
        .split(',')
        .map(|s| s.trim().parse::<nexus_core::Symbol>())
        .collect::<Result<Vec<_>, _>>()
        .ok()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            invalid(
                PAPER_SYMBOLS_VAR,
                "symbols like BTC/USDT,ETH/USDT",
                symbols.clone(),
            )
        })?;
    engine.alerts = match get(TRADE_ALERTS_VAR, "email")?.trim() {
        "email" => true,
        "off" => false,
        other => return Err(invalid(TRADE_ALERTS_VAR, "email or off", other.to_owned())),
    };
    // Holds the sources' secrets: wiped once parsed.
    let sources_text = zeroize::Zeroizing::new(get(SIGNAL_SOURCES_VAR, "")?);
    let sources = crate::api::signals::SignalSources::parse(&sources_text).map_err(|_| {
        // The value holds secrets: never echo it.
        invalid(
            SIGNAL_SOURCES_VAR,
            "name=secret pairs separated by commas (names: letters, digits, _ and -; secrets: at least 16 characters)",
            String::new(),
        )
    })?;
    Ok((engine, sources))
}

/// Starts logging with the configured filter. Logs go to stderr: stdout carries only
/// command output (and `serve`'s "listening on" line, which scripts look for).
pub fn init_logging(config: &Config) {
    let builder = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(&config.log))
        .with_writer(std::io::stderr);
    // One JSON object per line (with the request's span: request id, method, path, user
    // id) for log pipelines; NEXUS_LOG_FORMAT=text for people at a terminal.
    let _ = if config.log_json {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder.try_init()
    };
}

/// A URL with any password hidden, for messages.
#[must_use]
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            let user = credentials.split(':').next().unwrap_or_default();
            format!("{}://{user}:…{}", &url[..scheme], &url[at..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&'static str, &str)]) -> Result<Config, ConfigError> {
        Config::from_lookup(|var| {
            Ok(vars
                .iter()
                .find(|(name, _)| *name == var)
                .map(|(_, v)| (*v).to_owned()))
        })
    }

    #[test]
    fn defaults_need_no_configuration() {
        let config = config(&[]).unwrap();
        assert_eq!(config.bind, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(config.log, "info");
        assert_eq!(config.database_url, "sqlite://nexus-data/nexus.db");
        assert_eq!(config.data_dir, std::path::PathBuf::from("nexus-data"));
    }

    #[test]
    fn the_database_url_picks_the_backend_and_bad_ones_are_refused() {
        let pg = config(&[(DATABASE_VAR, "postgres://nexus@db:5432/nexus")]).unwrap();
        assert_eq!(pg.database_url, "postgres://nexus@db:5432/nexus");
        let local = config(&[(DATA_DIR_VAR, "/var/lib/nexus")]).unwrap();
        assert_eq!(local.database_url, "sqlite:///var/lib/nexus/nexus.db");
        let err = config(&[(DATABASE_VAR, "mysql://root:hunter2@db/nexus")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "NEXUS_DATABASE_URL: expected sqlite://PATH or postgres://USER@HOST:PORT/DATABASE, got \"mysql://root:…@db/nexus\""
        );
    }

    #[test]
    fn engine_settings_default_parse_and_are_refused_by_name() {
        let default = config(&[]).unwrap();
        assert!(default.engine.enabled && default.auth_rate_limits);
        assert!(!default.signals_legacy_signature);
        assert_eq!(default.event_buffer, crate::events::DEFAULT_BUFFER);
        assert_eq!(
            config(&[(EVENT_BUFFER_VAR, "500")]).unwrap().event_buffer,
            500
        );
        for bad in ["0", "99", "lots", "2000000"] {
            assert!(
                matches!(
                    config(&[(EVENT_BUFFER_VAR, bad)]),
                    Err(ConfigError::Invalid {
                        var: EVENT_BUFFER_VAR,
                        ..
                    })
                ),
                "{bad}"
            );
        }
        assert!(
            config(&[(SIGNALS_LEGACY_SIGNATURE_VAR, "1")])
                .unwrap()
                .signals_legacy_signature
        );
        assert_eq!(
            default.engine.scheduler.ttl,
            std::time::Duration::from_secs(15)
        );
        assert_eq!(default.engine.batch.get(), 250);
        let set = config(&[
            (ENGINE_VAR, "off"),
            (MARKET_TTL_VAR, "30"),
            (REGIME_INTERVAL_VAR, "60"),
            (FANOUT_BATCH_VAR, "500"),
            (WORKERS_VAR, "6"),
            (PAPER_FEED_VAR, "random:7"),
            (PAPER_CANDLE_SECS_VAR, "0.5"),
            (PAPER_SYMBOLS_VAR, "BTC/USDT, ETH/USDT"),
            (TRADE_ALERTS_VAR, "off"),
            (MARKET_DATA_VAR, "poll"),
        ])
        .unwrap();
        assert!(!set.engine.enabled && !set.engine.alerts);
        assert!(default.engine.streams, "streams by default");
        assert!(!set.engine.streams, "polling when asked");
        assert_eq!(set.engine.scheduler.regime_interval.as_secs(), 60);
        assert_eq!(set.engine.workers, 6);
        assert_eq!(
            set.engine.paper.feed,
            crate::engine::PaperFeed::Random { seed: 7 }
        );
        assert_eq!(set.engine.paper.candle_every.as_millis(), 500);
        assert_eq!(set.engine.paper.symbols.len(), 2);
        for (var, value) in [
            (MARKET_TTL_VAR, "60"),
            (FANOUT_BATCH_VAR, "50"),
            (WORKERS_VAR, "0"),
            (PAPER_FEED_VAR, "replay:x"),
            (PAPER_CANDLE_SECS_VAR, "0"),
            (PAPER_BALANCE_VAR, "-5"),
            (PAPER_SYMBOLS_VAR, "BTCUSDT"),
            (ENGINE_VAR, "maybe"),
            (MARKET_DATA_VAR, "websocket"),
            (AUTH_RATE_LIMITS_VAR, "no"),
            (SIGNALS_LEGACY_SIGNATURE_VAR, "yes"),
        ] {
            match config(&[(var, value)]) {
                Err(ConfigError::Invalid { var: named, .. }) => assert_eq!(named, var),
                other => panic!("{var}={value}: {other:?}"),
            }
        }
        // A bad source list is refused without echoing its secrets.
        let err = config(&[(SIGNAL_SOURCES_VAR, "tv=short-secret")]).unwrap_err();
        assert!(!err.to_string().contains("short-secret"), "{err}");
    }

    #[test]
    fn valid_settings_are_used() {
        let config =
            config(&[(BIND_VAR, "0.0.0.0:9000"), (LOG_VAR, "nexus_server=debug")]).unwrap();
        assert_eq!(config.bind, "0.0.0.0:9000".parse().unwrap());
        assert_eq!(config.log, "nexus_server=debug");
        assert_eq!(config_bind("[::1]:80").port(), 80);
    }

    fn config_bind(value: &str) -> SocketAddr {
        config(&[(BIND_VAR, value)]).unwrap().bind
    }

    #[test]
    fn google_sign_in_needs_both_id_and_secret_and_hides_the_secret() {
        assert_eq!(config(&[]).unwrap().google(), None);
        let on = config(&[
            (GOOGLE_CLIENT_ID_VAR, "id.apps.googleusercontent.com"),
            (GOOGLE_CLIENT_SECRET_VAR, "GOCSPX-hunter2"),
        ])
        .unwrap();
        assert!(!format!("{on:?}").contains("hunter2"), "{on:?}");
        let google = on.google().unwrap();
        assert_eq!(google.client_id, "id.apps.googleusercontent.com");
        assert_eq!(google.client_secret.expose(), "GOCSPX-hunter2");
        assert_eq!(google.token_url, crate::auth::oidc::GOOGLE_TOKEN_URL);
        assert_eq!(google.issuer, crate::auth::oidc::GOOGLE_ISSUER);
        assert!(!format!("{google:?}").contains("hunter2"));

        let local = config(&[
            (GOOGLE_CLIENT_ID_VAR, "id"),
            (GOOGLE_CLIENT_SECRET_VAR, "s"),
            (GOOGLE_AUTH_URL_VAR, "http://127.0.0.1:9999/auth"),
            (GOOGLE_TOKEN_URL_VAR, "http://127.0.0.1:9999/token"),
            (GOOGLE_JWKS_URL_VAR, "http://127.0.0.1:9999/certs"),
            (GOOGLE_ISSUER_VAR, "http://127.0.0.1:9999"),
        ])
        .unwrap()
        .google()
        .unwrap();
        assert_eq!(local.auth_url, "http://127.0.0.1:9999/auth");
        assert_eq!(local.token_url, "http://127.0.0.1:9999/token");
        assert_eq!(local.jwks_url, "http://127.0.0.1:9999/certs");
        assert_eq!(local.issuer, "http://127.0.0.1:9999");

        let err = config(&[(GOOGLE_CLIENT_ID_VAR, "id")]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("NEXUS_OAUTH_GOOGLE_CLIENT_SECRET:"),
            "{err}"
        );
        let err = config(&[(GOOGLE_CLIENT_SECRET_VAR, "hunter2")]).unwrap_err();
        assert!(
            err.to_string().starts_with("NEXUS_OAUTH_GOOGLE_CLIENT_ID:"),
            "{err}"
        );
        assert!(!err.to_string().contains("hunter2"));
        let err = config(&[(GOOGLE_TOKEN_URL_VAR, "token.example.com")]).unwrap_err();
        assert!(
            err.to_string().starts_with("NEXUS_OAUTH_GOOGLE_TOKEN_URL:"),
            "{err}"
        );
    }

    #[test]
    fn bad_settings_name_the_variable_and_what_it_expects() {
        let err = config(&[(BIND_VAR, "nonsense")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "NEXUS_BIND: expected an IP address and port like 127.0.0.1:8080 or [::]:8080, got \"nonsense\""
        );
        for bad in ["localhost:8080", "127.0.0.1", "127.0.0.1:99999", ""] {
            assert!(config(&[(BIND_VAR, bad)]).is_err(), "{bad:?}");
        }
        let err = config(&[(LOG_VAR, "nexus=loud")]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("NEXUS_LOG: expected a log filter"),
            "{err}"
        );
        let err = Config::from_lookup(|_| Err(())).unwrap_err();
        assert_eq!(err, ConfigError::NotUnicode { var: BIND_VAR });
    }
}
