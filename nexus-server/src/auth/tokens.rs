//! Random tokens (sessions, email verification, password reset): 32 bytes from the OS,
//! base64url without padding for the user, SHA-256 for the database.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use nexus_core::ports::sessions::TokenHash;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A new token and its hash.
#[must_use]
pub fn generate() -> (String, TokenHash) {
    let mut bytes = [0u8; 32];
    // ThreadRng is a CSPRNG (ChaCha12) seeded and reseeded from the OS.
    rand::rng().fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash(&token);
    (token, hash)
}

/// The stored form of `token`.
#[must_use]
pub fn hash(token: &str) -> TokenHash {
    TokenHash(Sha256::digest(token.as_bytes()).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_url_safe_and_hash_stably() {
        let (a, ha) = generate();
        let (b, _) = generate();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_eq!(hash(&a), ha);
        assert_ne!(hash(&b), ha);
    }
}
