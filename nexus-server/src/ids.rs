//! Ids of new records.

use uuid::Uuid;

/// A new id for a user or a bot: time-ordered (UUIDv7: milliseconds since the epoch, then
/// random bits), so records created together sit together in their tables and indexes.
/// The engine reads bots a page at a time in id order and writes each page's orders,
/// positions and Paper accounts in that order; with random ids each page of 1,000 bots
/// read about 950 table pages scattered over the whole table, and every later write per
/// bot or user landed on a random index page (see `docs/performance.md`).
#[must_use]
pub fn time_ordered() -> Uuid {
    Uuid::now_v7()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_made_later_sort_later() {
        let ids: Vec<Uuid> = (0..1_000).map(|_| time_ordered()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "not in creation order");
        assert_eq!(ids[0].get_version_num(), 7);
    }
}
