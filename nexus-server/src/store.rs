//! Opening the store the configuration names, with its key vault.

use std::sync::Arc;

use nexus_store::vault::{KeySource, Keyring, MASTER_KEY_VAR, PREVIOUS_KEYS_VAR, VaultError};
use nexus_store::{OpenError, Store, open};
use zeroize::Zeroizing;

use crate::config::{Config, redact_url};

/// The store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenStoreError {
    /// A master-key variable is set but is not text.
    #[error("{var}: not valid UTF-8")]
    NotUnicode {
        /// The variable.
        var: &'static str,
    },
    /// The master keys could not be loaded (the error names the variable or file).
    #[error(transparent)]
    Keys(#[from] VaultError),
    /// The database could not be opened or migrated.
    #[error("{source} ({url})")]
    Database {
        /// The database URL, its password hidden.
        url: String,
        /// What went wrong.
        source: OpenError,
    },
}

/// Loads the master keys and opens (and migrates) the database.
///
/// # Errors
/// [`OpenStoreError`], naming the setting, file or database at fault.
pub async fn open_store(config: &Config) -> Result<Arc<dyn Store>, OpenStoreError> {
    // A key that is set but unreadable must not pass for an unset one (which would fall
    // back to the data directory's key, or generate a new one).
    for var in [MASTER_KEY_VAR, PREVIOUS_KEYS_VAR] {
        match std::env::var(var) {
            // The key's text is wiped as soon as it is known to be readable.
            Ok(text) => drop(Zeroizing::new(text)),
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(OpenStoreError::NotUnicode { var });
            }
            Err(std::env::VarError::NotPresent) => {}
        }
    }
    // `load` wipes each key's text once parsed (the process environment keeps its own copy).
    let (keys, source) = Keyring::load(|var| std::env::var(var).ok(), &config.data_dir)?;
    match source {
        KeySource::Environment => tracing::info!(
            key_id = keys.current_id(),
            "master key from NEXUS_MASTER_KEY"
        ),
        KeySource::File => {
            tracing::info!(key_id = keys.current_id(), dir = %config.data_dir.display(), "master key from the data directory")
        }
        KeySource::Generated => tracing::warn!(
            key_id = keys.current_id(),
            file = %config.data_dir.join(nexus_store::vault::KEY_FILE).display(),
            "generated a master key for exchange secrets: back this file up (secrets cannot be \
             decrypted without it) and set NEXUS_MASTER_KEY in production"
        ),
    }
    open(&config.database_url, keys)
        .await
        .map_err(|source| OpenStoreError::Database {
            url: redact_url(&config.database_url),
            source,
        })
}
