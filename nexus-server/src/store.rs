//! Opening the store the configuration names, with its key vault.

use std::sync::Arc;

use nexus_store::vault::{KeySource, Keyring};
use nexus_store::{Store, open};

use crate::config::{Config, redact_url};

/// Loads the master keys and opens (and migrates) the database.
///
/// # Errors
/// A message naming the setting or file at fault.
pub async fn open_store(config: &Config) -> Result<Arc<dyn Store>, String> {
    let (keys, source) = Keyring::load(|var| std::env::var(var).ok(), &config.data_dir)
        .map_err(|err| err.to_string())?;
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
        .map_err(|err| format!("{err} ({})", redact_url(&config.database_url)))
}
