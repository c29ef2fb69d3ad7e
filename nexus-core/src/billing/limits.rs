//! Plan limits on running bots: whether one more fits, and which bots a smaller plan
//! pauses. Paused bots do not count: a user chooses which of their bots run.

use std::collections::BTreeSet;
use std::fmt;

use crate::instrument::{ExchangeId, Symbol};

use super::Plan;

/// A bot's market: what the pair limit counts.
pub type Pair = (ExchangeId, Symbol);

/// Which limit a bot would cross.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Crossed {
    /// Too many running bots.
    Bots {
        /// The plan's limit.
        max: u32,
        /// Bots running now.
        running: u32,
    },
    /// Too many pairs.
    Pairs {
        /// The plan's limit.
        max: u32,
        /// Pairs there would be with the bot.
        would_be: u32,
    },
}

/// A bot does not fit its owner's plan.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PlanLimit {
    /// The plan.
    pub plan: String,
    /// The limit crossed.
    pub crossed: Crossed,
}

impl fmt::Display for PlanLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.crossed {
            Crossed::Bots { max, running } => write!(
                f,
                "the {} plan allows {max} running bots and you have {running}; upgrade, or pause or delete a bot",
                self.plan
            ),
            Crossed::Pairs { max, would_be } => write!(
                f,
                "the {} plan allows running bots on {max} pairs; this bot would make it {would_be}",
                self.plan
            ),
        }
    }
}

/// Whether a bot on `adding` may run beside the `running` ones (the bot itself not among
/// them) on `plan`.
///
/// # Errors
/// [`PlanLimit`], naming the limit crossed.
pub fn check(plan: &Plan, running: &[Pair], adding: Pair) -> Result<(), PlanLimit> {
    let count = u32::try_from(running.len()).unwrap_or(u32::MAX);
    if let Some(max) = plan.max_bots
        && count >= max
    {
        return Err(PlanLimit {
            plan: plan.name.clone(),
            crossed: Crossed::Bots {
                max,
                running: count,
            },
        });
    }
    let mut pairs: BTreeSet<&Pair> = running.iter().collect();
    pairs.insert(&adding);
    let would_be = u32::try_from(pairs.len()).unwrap_or(u32::MAX);
    if let Some(max) = plan.max_pairs
        && would_be > max
    {
        return Err(PlanLimit {
            plan: plan.name.clone(),
            crossed: Crossed::Pairs { max, would_be },
        });
    }
    Ok(())
}

/// The running bots (oldest first) that must pause for the rest to fit `plan`, newest
/// first: the oldest bots keep running, and a bot pauses when it would cross a limit
/// beside the ones kept before it.
#[must_use]
pub fn over_limit<T: Copy>(plan: &Plan, running_oldest_first: &[(T, Pair)]) -> Vec<T> {
    let mut kept: Vec<Pair> = Vec::new();
    let mut paused = Vec::new();
    for (id, pair) in running_oldest_first {
        if check(plan, &kept, *pair).is_ok() {
            kept.push(*pair);
        } else {
            paused.push(*id);
        }
    }
    paused.reverse();
    paused
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn plan(bots: Option<u32>, pairs: Option<u32>) -> Plan {
        Plan {
            name: "free".to_owned(),
            max_bots: bots,
            max_pairs: pairs,
        }
    }

    fn pair(n: u8) -> Pair {
        let symbols = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT"];
        let symbol = symbols[usize::from(n) % symbols.len()];
        (ExchangeId::Paper, symbol.parse().expect("a symbol"))
    }

    #[test]
    fn the_fourth_bot_is_refused_on_three_and_says_so() {
        let free = plan(Some(3), Some(3));
        let running = [pair(0), pair(0), pair(1)];
        let refused = check(&free, &running, pair(0)).unwrap_err();
        assert_eq!(refused.crossed, Crossed::Bots { max: 3, running: 3 });
        assert!(
            refused
                .to_string()
                .contains("allows 3 running bots and you have 3")
        );
        assert!(check(&free, &running[..2], pair(2)).is_ok());
        let two_pairs = plan(Some(9), Some(2));
        assert_eq!(
            check(&two_pairs, &running, pair(2)).unwrap_err().crossed,
            Crossed::Pairs {
                max: 2,
                would_be: 3
            }
        );
        assert!(check(&two_pairs, &running, pair(1)).is_ok());
        assert!(check(&plan(None, None), &running, pair(3)).is_ok());
    }

    #[test]
    fn a_downgrade_pauses_the_newest_bots_first() {
        let free = plan(Some(2), Some(2));
        let bots = [(1, pair(0)), (2, pair(1)), (3, pair(0)), (4, pair(2))];
        assert_eq!(over_limit(&free, &bots), vec![4, 3]);
        let one_pair = plan(Some(5), Some(1));
        assert_eq!(over_limit(&one_pair, &bots), vec![4, 2]);
    }

    proptest! {
        /// What keeps running fits the plan, every paused bot would cross a limit beside
        /// it, and no running bot is newer than one that could have run instead.
        #[test]
        fn what_keeps_running_fits_and_nothing_more_could(
            bots in proptest::collection::vec(0u8..6, 0..30),
            max_bots in proptest::option::of(0u32..8),
            max_pairs in proptest::option::of(0u32..5),
        ) {
            let plan = plan(max_bots, max_pairs);
            let running: Vec<(usize, Pair)> =
                bots.iter().enumerate().map(|(i, n)| (i, pair(*n))).collect();
            let paused = over_limit(&plan, &running);
            prop_assert!(paused.windows(2).all(|w| w[0] > w[1]), "newest first");
            let kept: Vec<Pair> = running
                .iter()
                .filter(|(id, _)| !paused.contains(id))
                .map(|(_, p)| *p)
                .collect();
            if let Some(max) = plan.max_bots {
                prop_assert!(kept.len() <= max as usize);
            }
            if let Some(max) = plan.max_pairs {
                prop_assert!(kept.iter().collect::<BTreeSet<_>>().len() <= max as usize);
            }
            for id in &paused {
                prop_assert!(check(&plan, &kept, running[*id].1).is_err());
            }
        }
    }
}
