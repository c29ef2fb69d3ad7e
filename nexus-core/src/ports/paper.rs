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
    /// changed, all or nothing. `apply` must not block.
    ///
    /// `placing` names the orders `apply` is expected to add (placements, each under a
    /// client order id new to its account). A store may leave them out of the book and
    /// add them only where absent; if one exists after all (a placement sent twice), it
    /// stores nothing of that run and runs `apply` again over a book holding it. So
    /// `apply` may run more than once, and only its last run is stored.
    ///
    /// # Errors
    /// [`StoreError`]; nothing was stored.
    async fn update_paper(
        &self,
        accounts: &[String],
        orders: &[PaperOrderKey],
        placing: &[PaperOrderKey],
        apply: &mut (dyn for<'b> FnMut(&'b mut PaperBook) + Send),
    ) -> Result<(), StoreError>;
}

/// What an update changed, for a store to write, each in key order: only what differs, so
/// an order writes its account's balances that moved and nothing else of the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaperChanges<'a> {
    /// The accounts whose funding changed (an account's first order funds it), with the
    /// new value.
    pub funded: Vec<(&'a String, bool)>,
    /// The balances that are new or differ: (account, asset, amount).
    pub balances: Vec<(&'a String, &'a Asset, Decimal)>,
    /// The orders that are new or differ.
    pub orders: Vec<(&'a PaperOrderKey, &'a OrderReport)>,
}

/// What changed from `before` to `after`. A balance is never removed by the venue, so
/// one missing from `after` is not a change.
#[must_use]
pub fn changes<'a>(before: &PaperBook, after: &'a PaperBook) -> PaperChanges<'a> {
    let mut accounts: Vec<_> = after.accounts.iter().collect();
    accounts.sort_by(|a, b| a.0.cmp(b.0));
    let mut funded = Vec::new();
    let mut balances = Vec::new();
    for (name, account) in accounts {
        let was = before.accounts.get(name);
        if was.is_some_and(|w| w.funded) != account.funded {
            funded.push((name, account.funded));
        }
        for (asset, amount) in &account.balances {
            if was.and_then(|w| w.balances.get(asset)) != Some(amount) {
                balances.push((name, asset, *amount));
            }
        }
    }
    let mut orders: Vec<_> = after
        .orders
        .iter()
        .filter(|(key, report)| before.orders.get(*key) != Some(*report))
        .collect();
    orders.sort_by(|a, b| (a.0.0.as_str(), a.0.1.as_str()).cmp(&(b.0.0.as_str(), b.0.1.as_str())));
    PaperChanges {
        funded,
        balances,
        orders,
    }
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;
    use crate::order::{OrderStatus, Side};

    fn funded(usdt: i64) -> PaperAccount {
        PaperAccount {
            funded: true,
            balances: [(Asset::new("USDT").unwrap(), Decimal::from(usdt))].into(),
        }
    }

    fn report(id: &str, status: OrderStatus) -> OrderReport {
        OrderReport {
            client_order_id: ClientOrderId::new(id).unwrap(),
            venue_order_id: format!("paper-{id}"),
            symbol: "BTC/USDT".parse().unwrap(),
            side: Side::Buy,
            status,
            quantity: "1".parse().unwrap(),
            filled_quantity: "0".parse().unwrap(),
            average_price: None,
            fee: "0".parse().unwrap(),
            fee_asset: None,
            updated_at: DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_book_holds_every_named_account_found_or_new() {
        let names = ["alice".to_owned(), "bob".to_owned()];
        let found = HashMap::from([
            ("alice".to_owned(), funded(100)),
            ("carol".to_owned(), funded(7)),
        ]);
        let key = ("alice".to_owned(), ClientOrderId::new("o-1").unwrap());
        let orders = HashMap::from([(key.clone(), report("o-1", OrderStatus::New))]);
        let book = PaperBook::named(&names, found, orders);
        assert_eq!(book.accounts.len(), 2, "carol was not named");
        assert_eq!(book.accounts["alice"], funded(100));
        assert_eq!(book.accounts["bob"], PaperAccount::default());
        assert!(book.orders.contains_key(&key));
    }

    #[test]
    fn changes_are_what_differs_in_key_order() {
        let key = |account: &str, id: &str| (account.to_owned(), ClientOrderId::new(id).unwrap());
        let mut before = PaperBook::default();
        before.accounts.insert("a".to_owned(), funded(100));
        before.accounts.insert("b".to_owned(), funded(100));
        before
            .orders
            .insert(key("a", "o-1"), report("o-1", OrderStatus::New));
        before
            .orders
            .insert(key("b", "o-2"), report("o-2", OrderStatus::New));
        assert_eq!(
            changes(&before, &before),
            PaperChanges {
                funded: vec![],
                balances: vec![],
                orders: vec![]
            }
        );
        let mut after = before.clone();
        after.accounts.insert("c".to_owned(), funded(5));
        after.accounts.insert("a".to_owned(), funded(90));
        after
            .orders
            .insert(key("b", "o-2"), report("o-2", OrderStatus::Filled));
        after
            .orders
            .insert(key("a", "o-3"), report("o-3", OrderStatus::New));
        let changed = changes(&before, &after);
        // "a" spent 10 (its funding unchanged); "c" is new and funded; "b" did not move.
        let funded: Vec<(&str, bool)> = changed
            .funded
            .iter()
            .map(|(n, f)| (n.as_str(), *f))
            .collect();
        assert_eq!(funded, [("c", true)]);
        let balances: Vec<(&str, &str, Decimal)> = changed
            .balances
            .iter()
            .map(|(n, asset, amount)| (n.as_str(), asset.as_str(), *amount))
            .collect();
        assert_eq!(
            balances,
            [
                ("a", "USDT", Decimal::from(90)),
                ("c", "USDT", Decimal::from(5))
            ]
        );
        let orders: Vec<(&str, &str)> = changed
            .orders
            .iter()
            .map(|((account, id), _)| (account.as_str(), id.as_str()))
            .collect();
        assert_eq!(orders, [("a", "o-3"), ("b", "o-2")]);
    }

    #[test]
    fn only_the_funding_and_balances_that_moved_are_changes() {
        let (usdt, btc) = (Asset::new("USDT").unwrap(), Asset::new("BTC").unwrap());
        let a = "a".to_owned();
        let mut before = PaperBook::default();
        before.accounts.insert(
            a.clone(),
            PaperAccount {
                funded: true,
                balances: [(usdt, Decimal::from(100)), (btc, Decimal::ONE)].into(),
            },
        );
        let mut after = before.clone();
        after
            .accounts
            .get_mut(&a)
            .unwrap()
            .balances
            .insert(btc, Decimal::new(15, 1));
        let changed = changes(&before, &after);
        assert!(changed.funded.is_empty(), "still funded: not written again");
        assert_eq!(changed.balances, [(&a, &btc, Decimal::new(15, 1))]);

        // An account losing its funding (never done by the venue, but a change all the same).
        after.accounts.get_mut(&a).unwrap().funded = false;
        assert_eq!(changes(&before, &after).funded, [(&a, false)]);
    }
}
