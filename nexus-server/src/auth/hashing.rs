//! A cap on concurrent password hashing: argon2 takes 19 MiB and tens of milliseconds of a
//! core per hash, so a burst of sign-ins could otherwise exhaust memory and the blocking
//! thread pool. As many hashes run at once as there are cores; a request waits a moment
//! for a slot, then is told to come back ([`Busy`], answered 503 with `Retry-After`).

use std::sync::Arc;
use std::time::Duration;

use nexus_core::Secret;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::passwords::{self, HashError};

/// Every slot stayed taken for the whole wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("every password-hashing slot is busy")]
pub struct Busy;

/// The slots. Cheap to share: clone the `Arc` around it.
#[derive(Debug)]
pub struct HashingSlots {
    permits: Arc<Semaphore>,
    slots: usize,
    wait: Duration,
}

/// How long a request waits for a slot before [`Busy`].
pub const DEFAULT_WAIT: Duration = Duration::from_secs(2);

impl HashingSlots {
    /// `slots` hashes at once (at least one); a request waits up to `wait` for one.
    #[must_use]
    pub fn new(slots: usize, wait: Duration) -> Self {
        let slots = slots.max(1);
        Self {
            permits: Arc::new(Semaphore::new(slots)),
            slots,
            wait,
        }
    }

    /// One slot per core of this machine.
    #[must_use]
    pub fn per_core() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        Self::new(cores, DEFAULT_WAIT)
    }

    /// How many hashes may run at once.
    #[must_use]
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// Takes a slot until the permit drops, waiting as a request would.
    ///
    /// # Errors
    /// [`Busy`] when no slot came free in time.
    pub async fn slot(&self) -> Result<OwnedSemaphorePermit, Busy> {
        tokio::time::timeout(self.wait, Arc::clone(&self.permits).acquire_owned())
            .await
            .map_err(|_| Busy)?
            // The semaphore is never closed.
            .map_err(|_| Busy)
    }

    /// [`passwords::hash`] in a slot.
    ///
    /// # Errors
    /// [`Busy`] when no slot came free in time; inside, the hash's own [`HashError`].
    pub async fn hash(&self, password: Secret) -> Result<Result<String, HashError>, Busy> {
        let _slot = self.slot().await?;
        Ok(passwords::hash(password).await)
    }

    /// [`passwords::verify`] in a slot.
    ///
    /// # Errors
    /// [`Busy`] when no slot came free in time.
    pub async fn verify(&self, password: Secret, hash: String) -> Result<bool, Busy> {
        let _slot = self.slot().await?;
        Ok(passwords::verify(password, hash).await)
    }

    /// [`passwords::dummy_verify`] in a slot.
    ///
    /// # Errors
    /// [`Busy`] when no slot came free in time.
    pub async fn dummy_verify(&self, password: Secret) -> Result<(), Busy> {
        let _slot = self.slot().await?;
        passwords::dummy_verify(password).await;
        Ok(())
    }
}

impl Default for HashingSlots {
    fn default() -> Self {
        Self::per_core()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn beyond_the_slots_a_request_is_told_to_come_back() {
        let slots = HashingSlots::new(1, Duration::from_millis(50));
        let taken = slots.slot().await.unwrap();
        assert_eq!(
            slots.verify(Secret::new("x"), "h".into()).await,
            Err(Busy),
            "the only slot is taken"
        );
        drop(taken);
        assert_eq!(slots.verify(Secret::new("x"), "h".into()).await, Ok(false));
        let hash = slots.hash(Secret::new("pw")).await.unwrap().unwrap();
        assert_eq!(slots.verify(Secret::new("pw"), hash).await, Ok(true));
        assert_eq!(HashingSlots::new(0, DEFAULT_WAIT).slots(), 1);
    }
}
