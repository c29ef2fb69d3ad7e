//! Signed outside signals seen lately, shared by every instance of a deployment, so a
//! signed request captured on the way can be delivered once and never again while its
//! timestamp is still accepted. (Not [`NonceSource`](super::NonceSource): that hands out
//! increasing counters; this is a set of one-time values that expire.)

use async_trait::async_trait;

use crate::Timestamp;
use crate::error::StoreError;

/// What identifies one signed request: a SHA-256 over its source and signature, so the
/// store holds no signature itself.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SignatureDigest(pub [u8; 32]);

impl std::fmt::Debug for SignatureDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SignatureDigest(…)")
    }
}

/// Signatures already accepted, until they expire.
#[async_trait]
pub trait SeenSignatures: Send + Sync {
    /// Records `digest` as seen until `expires_at`: `true` when it was not on record (the
    /// first delivery), `false` when it was (a replay). One atomic statement: of several
    /// instances recording one digest at once, exactly one gets `true`. A record past its
    /// expiry counts until [`SeenSignatures::forget_signatures`] removes it; callers refuse
    /// an expired signature before asking.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn first_sighting(
        &self,
        digest: &SignatureDigest,
        expires_at: Timestamp,
    ) -> Result<bool, StoreError>;

    /// Deletes the records that expired before `now`; returns how many.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn forget_signatures(&self, now: Timestamp) -> Result<u64, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_never_prints() {
        assert_eq!(
            format!("{:?}", SignatureDigest([0x5A; 32])),
            "SignatureDigest(…)"
        );
    }
}
