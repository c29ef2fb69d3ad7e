//! The in-memory [`PaperLedger`]: Paper accounts for one process, for embedders that
//! keep no store and for tests. `nexus-store` implements the same port on SQLite and
//! PostgreSQL, so accounts survive restarts and are shared by instances.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use nexus_core::OrderReport;
use nexus_core::StoreError;
use nexus_core::ports::paper::{PaperAccount, PaperBook, PaperLedger, PaperOrderKey};

/// Paper accounts held in memory.
#[derive(Debug, Default)]
pub struct MemoryLedger {
    book: Mutex<PaperBook>,
}

impl MemoryLedger {
    fn book(&self) -> std::sync::MutexGuard<'_, PaperBook> {
        self.book.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl PaperLedger for MemoryLedger {
    async fn paper_accounts(
        &self,
        accounts: &[String],
    ) -> Result<HashMap<String, PaperAccount>, StoreError> {
        let book = self.book();
        Ok(accounts
            .iter()
            .filter_map(|name| book.accounts.get(name).map(|a| (name.clone(), a.clone())))
            .collect())
    }

    async fn paper_orders(
        &self,
        keys: &[PaperOrderKey],
    ) -> Result<HashMap<PaperOrderKey, OrderReport>, StoreError> {
        let book = self.book();
        Ok(keys
            .iter()
            .filter_map(|key| book.orders.get(key).map(|o| (key.clone(), o.clone())))
            .collect())
    }

    async fn update_paper(
        &self,
        accounts: &[String],
        orders: &[PaperOrderKey],
        placing: &[PaperOrderKey],
        apply: &mut (dyn for<'b> FnMut(&'b mut PaperBook) + Send),
    ) -> Result<(), StoreError> {
        // Reading an order costs nothing here, so placements are read as the rest.
        let mut stored = self.book();
        let mut book = PaperBook {
            accounts: accounts
                .iter()
                .map(|name| {
                    let account = stored.accounts.get(name).cloned().unwrap_or_default();
                    (name.clone(), account)
                })
                .collect(),
            orders: orders
                .iter()
                .chain(placing)
                .filter_map(|key| stored.orders.get(key).map(|o| (key.clone(), o.clone())))
                .collect(),
        };
        apply(&mut book);
        stored.accounts.extend(book.accounts);
        stored.orders.extend(book.orders);
        Ok(())
    }
}
