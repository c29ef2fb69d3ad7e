//! The key vault: exchange secrets encrypted with XChaCha20-Poly1305 (RustCrypto's
//! `chacha20poly1305`, audited and widely used; its 24-byte nonces are safe to draw at
//! random) under a master key, each row tagged with the key's id.
//!
//! Rotation: put the new key in `NEXUS_MASTER_KEY` and the old one in
//! `NEXUS_MASTER_KEY_PREVIOUS`; both decrypt, only the new one encrypts, and
//! `nexus keys rotate` re-encrypts old rows in batches until none is left.
//!
//! The ciphertext is bound to its row (credential id and user) as associated data, so a
//! ciphertext copied into another row does not decrypt.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use nexus_core::Secret;
use sha2::{Digest, Sha256};
use thiserror::Error;
use zeroize::Zeroizing;

/// The variable holding the current master key (32 bytes, base64).
pub const MASTER_KEY_VAR: &str = "NEXUS_MASTER_KEY";
/// The variable holding previous master keys during a rotation (comma-separated).
pub const PREVIOUS_KEYS_VAR: &str = "NEXUS_MASTER_KEY_PREVIOUS";
/// The file the embedded default keeps its generated key in, inside the data directory.
pub const KEY_FILE: &str = "master.key";

/// What went wrong with keys or ciphertext. Never contains key material or plaintext.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum VaultError {
    /// A master key is not 32 bytes of base64.
    #[error(
        "{var}: expected 32 random bytes in base64 (44 characters), e.g. from `openssl rand -base64 32`"
    )]
    BadKey {
        /// Where the key came from.
        var: String,
    },
    /// A secret could not be encrypted (larger than the cipher allows): nothing is
    /// stored rather than an empty ciphertext.
    #[error("the secret could not be encrypted")]
    Seal,
    /// The row was encrypted under a key the keyring does not have.
    #[error(
        "no master key with id {key_id}: add it to NEXUS_MASTER_KEY_PREVIOUS until rotation completes"
    )]
    UnknownKey {
        /// The row's key id.
        key_id: String,
    },
    /// The ciphertext failed authentication: tampered, truncated, or bound to another row.
    #[error("the ciphertext failed authentication (tampered, truncated or moved)")]
    Tampered,
    /// The key file could not be read or written.
    #[error("{path}: {message}")]
    KeyFile {
        /// The file.
        path: String,
        /// What happened.
        message: String,
    },
}

/// One master key and its id (the first 8 bytes of its SHA-256, hex): ids are stored with
/// each row, the key never is.
pub struct MasterKey {
    id: String,
    key: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey({}, REDACTED)", self.id)
    }
}

impl MasterKey {
    /// A key from its base64 text; `var` names its source in errors.
    ///
    /// # Errors
    /// [`VaultError::BadKey`] unless the text is 32 bytes of base64.
    pub fn from_base64(text: &str, var: &str) -> Result<Self, VaultError> {
        let bad = || VaultError::BadKey {
            var: var.to_owned(),
        };
        let bytes = Zeroizing::new(STANDARD.decode(text.trim()).map_err(|_| bad())?);
        let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| bad())?;
        Ok(Self::from_bytes(key))
    }

    fn from_bytes(key: [u8; 32]) -> Self {
        let digest = Sha256::digest(key);
        let id = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        Self {
            id,
            key: Zeroizing::new(key),
        }
    }

    /// A fresh random key.
    #[must_use]
    pub fn generate() -> Self {
        let key = XChaCha20Poly1305::generate_key(&mut OsRng);
        Self::from_bytes(key.into())
    }

    /// Its id.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The key as base64, to hand to an operator once.
    #[must_use]
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(STANDARD.encode(*self.key))
    }
}

/// The current key (encrypts and decrypts) and previous keys (decrypt only).
#[derive(Debug)]
pub struct Keyring {
    current: MasterKey,
    previous: Vec<MasterKey>,
}

/// A secret as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// The id of the key it is encrypted under.
    pub key_id: String,
    /// The 24-byte nonce.
    pub nonce: Vec<u8>,
    /// Ciphertext and tag.
    pub ciphertext: Vec<u8>,
}

/// Where the keyring came from, for the start-up log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// `NEXUS_MASTER_KEY`.
    Environment,
    /// The data directory's key file, read.
    File,
    /// The data directory's key file, just generated.
    Generated,
}

impl Keyring {
    /// A keyring of one current key and any previous ones.
    #[must_use]
    pub fn new(current: MasterKey, previous: Vec<MasterKey>) -> Self {
        Self { current, previous }
    }

    /// The current key's id.
    #[must_use]
    pub fn current_id(&self) -> &str {
        self.current.id()
    }

    /// A 32-byte key for `label`'s own use (signing cookies, say), derived from the current
    /// master key with HMAC-SHA256: every instance with the same master key derives the
    /// same one, and no derived key reveals the master key or another label's key. It
    /// changes when the master key is rotated.
    #[must_use]
    pub fn derive(&self, label: &str) -> Zeroizing<[u8; 32]> {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.current.key.as_slice())
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(b"nexus derived key\0");
        mac.update(label.as_bytes());
        Zeroizing::new(mac.finalize().into_bytes().into())
    }

    /// The keyring from `NEXUS_MASTER_KEY` (and `NEXUS_MASTER_KEY_PREVIOUS`), or else from
    /// `data_dir/master.key`, generating that file (mode 0600) the first time. `lookup`
    /// reads variables, so tests need not touch the environment.
    ///
    /// # Errors
    /// [`VaultError`] for a malformed key or an unreadable/unwritable key file.
    pub fn load(
        lookup: impl Fn(&str) -> Option<String>,
        data_dir: &Path,
    ) -> Result<(Self, KeySource), VaultError> {
        let previous = match lookup(PREVIOUS_KEYS_VAR) {
            Some(list) => list
                .split(',')
                .filter(|k| !k.trim().is_empty())
                .map(|k| MasterKey::from_base64(k, PREVIOUS_KEYS_VAR))
                .collect::<Result<Vec<_>, _>>()?,
            None => Vec::new(),
        };
        if let Some(text) = lookup(MASTER_KEY_VAR) {
            let current = MasterKey::from_base64(&text, MASTER_KEY_VAR)?;
            return Ok((Self::new(current, previous), KeySource::Environment));
        }
        let path = data_dir.join(KEY_FILE);
        let file_error = |message: String| VaultError::KeyFile {
            path: path.display().to_string(),
            message,
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let current = MasterKey::from_base64(&text, &path.display().to_string())?;
                Ok((Self::new(current, previous), KeySource::File))
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                let key = MasterKey::generate();
                std::fs::create_dir_all(data_dir).map_err(|e| file_error(e.to_string()))?;
                write_private(&path, key.to_base64().as_bytes())
                    .map_err(|e| file_error(e.to_string()))?;
                Ok((Self::new(key, previous), KeySource::Generated))
            }
            Err(err) => Err(file_error(err.to_string())),
        }
    }

    /// Encrypts `secret` for the row identified by `context`.
    ///
    /// # Errors
    /// [`VaultError::Seal`] when the cipher refuses the secret (only past its size limit).
    pub fn seal(&self, secret: &[u8], context: &[u8]) -> Result<Sealed, VaultError> {
        let cipher = XChaCha20Poly1305::new(Key::from_slice(self.current.key.as_slice()));
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let ciphertext = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: secret,
                    aad: context,
                },
            )
            .map_err(|_| VaultError::Seal)?;
        Ok(Sealed {
            key_id: self.current.id.clone(),
            nonce: nonce.to_vec(),
            ciphertext,
        })
    }

    /// Decrypts a row's secret.
    ///
    /// # Errors
    /// [`VaultError::UnknownKey`] or [`VaultError::Tampered`]; never panics on bad input.
    pub fn open(&self, sealed: &Sealed, context: &[u8]) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == sealed.key_id)
            .ok_or_else(|| VaultError::UnknownKey {
                key_id: sealed.key_id.clone(),
            })?;
        if sealed.nonce.len() != 24 {
            return Err(VaultError::Tampered);
        }
        let cipher = XChaCha20Poly1305::new(Key::from_slice(key.key.as_slice()));
        cipher
            .decrypt(
                XNonce::from_slice(&sealed.nonce),
                Payload {
                    msg: &sealed.ciphertext,
                    aad: context,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| VaultError::Tampered)
    }

    /// Decrypts a row's secret into a [`Secret`] string.
    ///
    /// # Errors
    /// As [`Keyring::open`], and [`VaultError::Tampered`] for non-UTF-8 plaintext.
    pub fn open_secret(&self, sealed: &Sealed, context: &[u8]) -> Result<Secret, VaultError> {
        let bytes = self.open(sealed, context)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| VaultError::Tampered)?;
        Ok(Secret::new(text))
    }

    /// Whether a row needs re-encrypting under the current key.
    #[must_use]
    pub fn is_stale(&self, key_id: &str) -> bool {
        key_id != self.current.id
    }
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents)
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyring() -> Keyring {
        Keyring::new(MasterKey::generate(), Vec::new())
    }

    #[test]
    fn derived_keys_follow_the_master_key_and_the_label() {
        let text = MasterKey::generate().to_base64();
        let one = Keyring::new(MasterKey::from_base64(&text, "A").unwrap(), Vec::new());
        let same = Keyring::new(MasterKey::from_base64(&text, "B").unwrap(), Vec::new());
        assert_eq!(
            *one.derive("device"),
            *same.derive("device"),
            "every instance agrees"
        );
        assert_ne!(
            *one.derive("device"),
            *one.derive("other"),
            "one key per label"
        );
        assert_ne!(
            *one.derive("device"),
            *keyring().derive("device"),
            "another master key"
        );
        assert_ne!(one.derive("device").as_slice(), one.current.key.as_slice());
    }

    #[test]
    fn sealed_secrets_open_only_in_their_own_row() {
        let keys = keyring();
        let sealed = keys.seal(b"api-secret", b"row-1").unwrap();
        assert_ne!(sealed.ciphertext, b"api-secret");
        assert_eq!(
            keys.open(&sealed, b"row-1").unwrap().as_slice(),
            b"api-secret"
        );
        assert_eq!(keys.open(&sealed, b"row-2"), Err(VaultError::Tampered));
        // Two seals of one secret differ (random nonces).
        assert_ne!(
            keys.seal(b"api-secret", b"row-1").unwrap().ciphertext,
            sealed.ciphertext
        );
    }

    #[test]
    fn tampered_or_truncated_ciphertext_is_a_typed_error() {
        let keys = keyring();
        let sealed = keys.seal(b"api-secret", b"row").unwrap();
        let mut flipped = sealed.clone();
        flipped.ciphertext[3] ^= 1;
        assert_eq!(keys.open(&flipped, b"row"), Err(VaultError::Tampered));
        for len in [0, 1, 15, sealed.ciphertext.len() - 1] {
            let mut cut = sealed.clone();
            cut.ciphertext.truncate(len);
            assert_eq!(keys.open(&cut, b"row"), Err(VaultError::Tampered), "{len}");
        }
        let mut short_nonce = sealed.clone();
        short_nonce.nonce.pop();
        assert_eq!(keys.open(&short_nonce, b"row"), Err(VaultError::Tampered));
        let mut other = sealed;
        other.key_id = "0000000000000000".into();
        assert!(matches!(
            keys.open(&other, b"row"),
            Err(VaultError::UnknownKey { .. })
        ));
    }

    #[test]
    fn rotation_keeps_old_rows_readable_until_re_encrypted() {
        let old = MasterKey::generate();
        let old_text = old.to_base64();
        let sealed = Keyring::new(old, Vec::new()).seal(b"s", b"r").unwrap();
        let new = MasterKey::generate();
        let rotating = Keyring::new(
            new,
            vec![MasterKey::from_base64(&old_text, "test").unwrap()],
        );
        assert!(rotating.is_stale(&sealed.key_id));
        let plain = rotating.open(&sealed, b"r").unwrap();
        let resealed = rotating.seal(&plain, b"r").unwrap();
        assert!(!rotating.is_stale(&resealed.key_id));
        assert_eq!(rotating.open(&resealed, b"r").unwrap().as_slice(), b"s");
    }

    #[test]
    fn keys_load_from_the_environment_or_a_generated_file() {
        let dir = tempfile::tempdir().unwrap();
        let (generated, source) = Keyring::load(|_| None, dir.path()).unwrap();
        assert_eq!(source, KeySource::Generated);
        let (again, source) = Keyring::load(|_| None, dir.path()).unwrap();
        assert_eq!(
            (source, again.current_id()),
            (KeySource::File, generated.current_id())
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let key = MasterKey::generate().to_base64();
        let (env, source) = Keyring::load(
            |v| (v == MASTER_KEY_VAR).then(|| key.to_string()),
            dir.path(),
        )
        .unwrap();
        assert_eq!(source, KeySource::Environment);
        assert_ne!(env.current_id(), generated.current_id());
        let err = Keyring::load(
            |v| (v == MASTER_KEY_VAR).then(|| "short".to_owned()),
            dir.path(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "NEXUS_MASTER_KEY: expected 32 random bytes in base64 (44 characters), e.g. from `openssl rand -base64 32`"
        );
        assert!(!format!("{:?}", env.current).contains(&key.to_string()));
    }
}
