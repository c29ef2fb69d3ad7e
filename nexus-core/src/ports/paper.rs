//! Where the Paper venue keeps its accounts: balances and orders that outlive a process
//! and are shared by every instance of a deployment. The venue's simulation (prices,
//! fees, slippage, which orders fill) stays in the adapter; the ledger stores what it
//! decided, atomically.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use rust_decimal::Decimal;

use crate::error::StoreError;
use crate::ids::ClientOrderId;
use crate::instrument::Asset;
use crate::order::OrderReport;

/// One Paper account as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaperAccount {
    /// Whether the account got its opening balance (once, at its first order).
    pub funded: bool,
    /// What it holds, per asset (never negative).
    pub balances: BTreeMap<Asset, Decimal>,
}

/// An order on a Paper account, keyed by (account, client order id).
pub type PaperOrderKey = (String, ClientOrderId);

/// The accounts and orders one ledger update reads and may change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaperBook {
    /// Every account the update named (one never seen before is empty and unfunded).
    pub accounts: HashMap<String, PaperAccount>,
    /// The named orders that exist; orders the update adds are stored too.
    pub orders: HashMap<PaperOrderKey, OrderReport>,
}

impl PaperBook {
    /// The book an update over `names` sees: each named account as `found` holds it, or
    /// empty and unfunded when it has none yet; and the `orders` that exist.
    #[must_use]
    pub fn named(
        names: &[String],
        mut found: HashMap<String, PaperAccount>,
        orders: HashMap<PaperOrderKey, OrderReport>,
    ) -> Self {
        Self {
            accounts: names
                .iter()
                .map(|name| (name.clone(), found.remove(name).unwrap_or_default()))
                .collect(),
            orders,
        }
    }
}

/// Storage of Paper accounts. Implemented by both stores and by an in-memory ledger for
/// embedders and tests.
#[async_trait]
pub trait PaperLedger: Send + Sync {
    /// The named accounts that exist.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn paper_accounts(
        &self,
        accounts: &[String],
    ) -> Result<HashMap<String, PaperAccount>, StoreError>;

    /// The named orders that exist.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn paper_orders(
        &self,
        keys: &[PaperOrderKey],
    ) -> Result<HashMap<PaperOrderKey, OrderReport>, StoreError>;

    /// Runs `apply` over a book holding `accounts` and those of `orders` that exist, with
    /// them locked against every other writer (of any instance), then stores what it
    /// changed, all or nothing. `apply` runs once; it must not block.
    ///
    /// # Errors
    /// [`StoreError`]; nothing was stored.
    async fn update_paper(
        &self,
        accounts: &[String],
        orders: &[PaperOrderKey],
        apply: &mut (dyn for<'b> FnMut(&'b mut PaperBook) + Send),
    ) -> Result<(), StoreError>;
}

/// What an update changed, for a store to write, each in key order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaperChanges<'a> {
    /// The accounts whose funding or balances differ (new ones included).
    pub accounts: Vec<(&'a String, &'a PaperAccount)>,
    /// The orders that are new or differ.
    pub orders: Vec<(&'a PaperOrderKey, &'a OrderReport)>,
}

/// What changed from `before` to `after`.
#[must_use]
pub fn changes<'a>(before: &PaperBook, after: &'a PaperBook) -> PaperChanges<'a> {
    let mut accounts: Vec<_> = after
        .accounts
        .iter()
        .filter(|(name, account)| before.accounts.get(*name) != Some(*account))
        .collect();
    accounts.sort_by(|a, b| a.0.cmp(b.0));
    let mut orders: Vec<_> = after
        .orders
        .iter()
        .filter(|(key, report)| before.orders.get(*key) != Some(*report))
        .collect();
    orders.sort_by(|a, b| (a.0.0.as_str(), a.0.1.as_str()).cmp(&(b.0.0.as_str(), b.0.1.as_str())));
    PaperChanges { accounts, orders }
}
