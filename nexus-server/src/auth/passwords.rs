//! Passwords hashed with argon2id (the `argon2` crate's defaults: 19 MiB, 2 passes, the
//! OWASP baseline) in the PHC string format, on a blocking thread so hashing never stalls
//! the async runtime.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use nexus_core::Secret;
use rand::RngCore;

/// The shortest password accepted.
pub const MIN_LENGTH: usize = 8;
/// The longest (argon2 is fed at most this much, so a huge body cannot cost much).
pub const MAX_LENGTH: usize = 256;

/// A password could not be hashed.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// The salt could not be encoded.
    #[error("could not encode the salt: {0}")]
    Salt(argon2::password_hash::Error),
    /// argon2 refused the input (it does not for passwords of an accepted length).
    #[error("argon2 failed: {0}")]
    Argon2(argon2::password_hash::Error),
    /// The blocking thread that hashed panicked or was cancelled.
    #[error("the hashing thread failed: {0}")]
    Thread(#[from] tokio::task::JoinError),
}

/// Hashes `password` into a PHC string.
///
/// # Errors
/// [`HashError`]: the hasher failed (it does not for valid lengths), or its thread died.
pub async fn hash(password: Secret) -> Result<String, HashError> {
    tokio::task::spawn_blocking(move || {
        // A 16-byte salt from ThreadRng (a CSPRNG seeded from the OS).
        let mut bytes = [0u8; 16];
        rand::rng().fill_bytes(&mut bytes);
        let salt = SaltString::encode_b64(&bytes).map_err(HashError::Salt)?;
        Argon2::default()
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(HashError::Argon2)
    })
    .await?
}

/// Whether `password` matches the PHC string `hash`.
pub async fn verify(password: Secret, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash).is_ok_and(|parsed| {
            Argon2::default()
                .verify_password(password.expose().as_bytes(), &parsed)
                .is_ok()
        })
    })
    .await
    // A thread that died checked nothing: the password is not taken as right.
    .unwrap_or(false)
}

/// A hash of a random password, checked against when the account does not exist, so a
/// wrong email costs as long as a wrong password and timing does not reveal accounts.
pub async fn dummy_verify(password: Secret) {
    const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2NiRSK0ZHsc0tTuUk0R5rG4QTj3mi8Mnjp3clTPXbsA";
    let _ = verify(password, DUMMY.to_owned()).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_salted_and_verify() {
        let a = hash(Secret::new("correct horse")).await.unwrap();
        let b = hash(Secret::new("correct horse")).await.unwrap();
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "salted");
        assert!(verify(Secret::new("correct horse"), a.clone()).await);
        assert!(!verify(Secret::new("correct horsE"), a).await);
        assert!(!verify(Secret::new("x"), "not a hash".into()).await);
    }
}
