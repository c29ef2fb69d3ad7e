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
use zeroize::{Zeroize, Zeroizing};

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
        if bytes.len() != 32 {
            return Err(bad());
        }
        // Copied straight into its zeroizing home, never through an array on the stack.
        let mut key = Zeroizing::new([0; 32]);
        key.copy_from_slice(&bytes);
        Ok(Self::from_bytes(key))
    }

    fn from_bytes(key: Zeroizing<[u8; 32]>) -> Self {
        let digest = Sha256::digest(key.as_slice());
        let id = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        Self { id, key }
    }

    /// A fresh random key.
    #[must_use]
    pub fn generate() -> Self {
        let mut drawn = XChaCha20Poly1305::generate_key(&mut OsRng);
        let mut key = Zeroizing::new([0; 32]);
        key.copy_from_slice(drawn.as_slice());
        drawn.as_mut_slice().zeroize();
        Self::from_bytes(key)
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
    /// `data_dir/master.key`, generating that file (mode 0600, in a folder created 0700)
    /// the first time. A key file that its group or others may read or write is refused.
    /// `lookup` reads variables, so tests need not touch the environment. The text of
    /// every key read is wiped from memory once parsed.
    ///
    /// # Errors
    /// [`VaultError`] for a malformed key or an unreadable, unwritable or unprotected key
    /// file.
    pub fn load(
        lookup: impl Fn(&str) -> Option<String>,
        data_dir: &Path,
    ) -> Result<(Self, KeySource), VaultError> {
        let previous = match lookup(PREVIOUS_KEYS_VAR).map(Zeroizing::new) {
            Some(list) => list
                .split(',')
                .filter(|k| !k.trim().is_empty())
                .map(|k| MasterKey::from_base64(k, PREVIOUS_KEYS_VAR))
                .collect::<Result<Vec<_>, _>>()?,
            None => Vec::new(),
        };
        if let Some(text) = lookup(MASTER_KEY_VAR).map(Zeroizing::new) {
            let current = MasterKey::from_base64(&text, MASTER_KEY_VAR)?;
            return Ok((Self::new(current, previous), KeySource::Environment));
        }
        let path = data_dir.join(KEY_FILE);
        let file_error = |message: String| VaultError::KeyFile {
            path: path.display().to_string(),
            message,
        };
        match read_private(&path) {
            Ok(text) => {
                let current = MasterKey::from_base64(&text, &path.display().to_string())?;
                Ok((Self::new(current, previous), KeySource::File))
            }
            Err(KeyFileError::Io(err)) if err.kind() == std::io::ErrorKind::NotFound => {
                let key = MasterKey::generate();
                crate::files::create_private_dir(data_dir)
                    .map_err(|e| file_error(e.to_string()))?;
                write_private(&path, key.to_base64().as_bytes())
                    .map_err(|e| file_error(e.to_string()))?;
                Ok((Self::new(key, previous), KeySource::Generated))
            }
            Err(KeyFileError::Io(err)) => Err(file_error(err.to_string())),
            Err(KeyFileError::Exposed { mode }) => Err(file_error(format!(
                "the master key file may be read or written by others (mode {mode:04o}); \
                 make it readable by the server's user only: chmod 600 {}",
                path.display()
            ))),
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

/// Why the key file was not read.
#[derive(Debug)]
enum KeyFileError {
    Io(std::io::Error),
    /// Its group or others have some access (the mode's permission bits).
    Exposed {
        mode: u32,
    },
}

/// The key file's text, refused when its group or others may access it (checked on the
/// opened file, so it cannot be swapped in between), read into a buffer of its size that
/// is wiped when dropped.
fn read_private(path: &Path) -> Result<Zeroizing<String>, KeyFileError> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(KeyFileError::Io)?;
    let metadata = file.metadata().map_err(KeyFileError::Io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyFileError::Exposed { mode });
        }
    }
    // Room for the whole file up front, so reading never moves (and leaves behind) a
    // partial copy.
    let size = usize::try_from(metadata.len()).unwrap_or(0).min(4096);
    let mut text = Zeroizing::new(String::with_capacity(size + 1));
    file.take(4096)
        .read_to_string(&mut text)
        .map_err(KeyFileError::Io)?;
    Ok(text)
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

    #[cfg(unix)]
    #[test]
    fn a_key_file_others_may_read_is_refused_naming_the_fix() {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("a").join("data");
        let (generated, _) = Keyring::load(|_| None, &data).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&data), 0o700, "the folder it created is private");
        assert_eq!(mode(&data.join(KEY_FILE)), 0o600);
        let file = data.join(KEY_FILE);
        for exposed in [0o644, 0o640, 0o604, 0o620] {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(exposed)).unwrap();
            let err = Keyring::load(|_| None, &data).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "{0}: the master key file may be read or written by others (mode {exposed:04o}); \
                     make it readable by the server's user only: chmod 600 {0}",
                    file.display()
                )
            );
        }
        for private in [0o600, 0o400] {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(private)).unwrap();
            let (again, source) = Keyring::load(|_| None, &data).unwrap();
            assert_eq!(
                (source, again.current_id()),
                (KeySource::File, generated.current_id())
            );
        }
        // An existing folder keeps its mode.
        let open = dir.path().join("open");
        std::fs::DirBuilder::new()
            .mode(0o755)
            .create(&open)
            .unwrap();
        Keyring::load(|_| None, &open).unwrap();
        assert_eq!(mode(&open), 0o755);
    }
}
