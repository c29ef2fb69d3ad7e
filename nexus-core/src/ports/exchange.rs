//! Trading on one venue account.

use async_trait::async_trait;

use crate::error::ExchangeError;
use crate::ids::ClientOrderId;
use crate::instrument::{ExchangeId, Instrument, Symbol};
use crate::order::{Balance, KeyPermissions, NewOrder, OrderReport};

/// One account on one venue, holding that account's credentials. Adapters share their
/// HTTP client and venue-wide rate limiter between the accounts they serve.
///
/// Placing is idempotent through the client order id: after a timeout or a crash, call
/// [`Exchange::query_order`] with the same id before placing again.
#[async_trait]
pub trait Exchange: Send + Sync {
    /// The venue.
    fn exchange(&self) -> ExchangeId;

    /// The instruments (with their filters) for `symbols`; all listed ones when empty.
    ///
    /// # Errors
    /// A classified [`ExchangeError`].
    async fn instruments(&self, symbols: &[Symbol]) -> Result<Vec<Instrument>, ExchangeError>;

    /// The account's balances (assets with a zero balance may be left out).
    ///
    /// # Errors
    /// A classified [`ExchangeError`].
    async fn balances(&self) -> Result<Vec<Balance>, ExchangeError>;

    /// Places an order carrying its client order id.
    ///
    /// # Errors
    /// A classified [`ExchangeError`]; on [`ExchangeError::OutcomeUnknown`] the order must
    /// be looked up with [`Exchange::query_order`] before it is placed again.
    async fn place_order(&self, order: &NewOrder) -> Result<OrderReport, ExchangeError>;

    /// Cancels an open order by its client order id.
    ///
    /// # Errors
    /// A classified [`ExchangeError`].
    async fn cancel_order(
        &self,
        symbol: Symbol,
        client_order_id: &ClientOrderId,
    ) -> Result<OrderReport, ExchangeError>;

    /// Looks an order up by its client order id: `None` when the venue has no such order.
    ///
    /// # Errors
    /// A classified [`ExchangeError`].
    async fn query_order(
        &self,
        symbol: Symbol,
        client_order_id: &ClientOrderId,
    ) -> Result<Option<OrderReport>, ExchangeError>;

    /// Checks that the credentials work and reports what they may do. Nexus needs
    /// `trade`; `withdraw` is reported so the user can be warned of the risk.
    ///
    /// # Errors
    /// [`ExchangeError::Auth`] when the venue refuses the credentials.
    async fn validate_credentials(&self) -> Result<KeyPermissions, ExchangeError>;
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// A venue that refuses every key: enough to prove the trait is object-safe and
    /// usable as `Arc<dyn Exchange>` across threads.
    struct Refusing;

    #[async_trait]
    impl Exchange for Refusing {
        fn exchange(&self) -> ExchangeId {
            ExchangeId::Paper
        }
        async fn instruments(&self, _: &[Symbol]) -> Result<Vec<Instrument>, ExchangeError> {
            Ok(Vec::new())
        }
        async fn balances(&self) -> Result<Vec<Balance>, ExchangeError> {
            Err(self.refused())
        }
        async fn place_order(&self, _: &NewOrder) -> Result<OrderReport, ExchangeError> {
            Err(self.refused())
        }
        async fn cancel_order(
            &self,
            _: Symbol,
            _: &ClientOrderId,
        ) -> Result<OrderReport, ExchangeError> {
            Err(self.refused())
        }
        async fn query_order(
            &self,
            _: Symbol,
            _: &ClientOrderId,
        ) -> Result<Option<OrderReport>, ExchangeError> {
            Ok(None)
        }
        async fn validate_credentials(&self) -> Result<KeyPermissions, ExchangeError> {
            Err(self.refused())
        }
    }

    impl Refusing {
        fn refused(&self) -> ExchangeError {
            ExchangeError::Auth {
                exchange: self.exchange(),
                message: "invalid key".into(),
            }
        }
    }

    fn assert_send_sync<T: Send + Sync + ?Sized>(_: &T) {}
    fn assert_send<T: Send + ?Sized>(_: &T) {}

    #[test]
    fn exchange_is_object_safe_and_thread_safe() {
        let venue: Arc<dyn Exchange> = Arc::new(Refusing);
        assert_send_sync(&*venue);
        assert_eq!(venue.exchange(), ExchangeId::Paper);
        // The returned futures are Send, so they can be spawned on a multi-threaded runtime.
        let future = venue.validate_credentials();
        assert_send(&future);
    }
}
