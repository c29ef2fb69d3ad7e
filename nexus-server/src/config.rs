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

/// Where users reach the product (links in emails); `http://` + the bind address by default.
pub const PUBLIC_URL_VAR: &str = "NEXUS_PUBLIC_URL";
/// A directory that receives every email as a JSON file (development).
pub const EMAIL_OUTBOX_VAR: &str = "NEXUS_EMAIL_OUTBOX";

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Where the HTTP server listens.
    pub bind: SocketAddr,
    /// The log filter.
    pub log: String,
    /// The database URL.
    pub database_url: String,
    /// The data directory.
    pub data_dir: std::path::PathBuf,
    /// Where users reach the product.
    pub public_url: String,
    /// The development outbox, when set.
    pub email_outbox: Option<std::path::PathBuf>,
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

        Ok(Self {
            bind,
            log,
            database_url,
            data_dir,
            public_url: public_url.trim_end_matches('/').to_owned(),
            email_outbox,
        })
    }
}

/// Starts logging with the configured filter. Logs go to stderr: stdout carries only
/// command output (and `serve`'s "listening on" line, which scripts look for).
pub fn init_logging(config: &Config) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(&config.log))
        .with_writer(std::io::stderr)
        .try_init();
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
