//! Failed sign-ins, counted so that guessing is slow and nobody can lock the owner out.
//!
//! Only failures count, and a success clears its account's count. Failures are counted per
//! client address, and per account in two ways: from clients the account has signed in on
//! before (a signed device cookie, [`super::device`]) each such device has a budget of its
//! own, and every other client shares one budget. A stranger who spends the shared budget
//! of someone's address blocks only strangers: the owner's own browser still signs in.
//!
//! A budget is `max` failures in a fixed window of `period` that starts at the first
//! failure; when spent, the key waits for the window's end. The counts live in this
//! process: each instance of a deployment counts its own.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed per key: `max` within `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Failures allowed in a window.
    pub max: u32,
    /// How long a window lasts from its first failure.
    pub period: Duration,
}

/// The budgets of [`SignInFailures`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureBudgets {
    /// Per client address (IPv6 by its /64).
    pub per_ip: Budget,
    /// Per account, shared by every client it has not signed in on.
    pub per_account: Budget,
    /// Per account and device it has signed in on before.
    pub per_device: Budget,
}

impl Default for FailureBudgets {
    /// 30 failures per address, 5 per account from unknown clients and 10 per known
    /// device, each per 15 minutes.
    fn default() -> Self {
        let quarter = Duration::from_secs(15 * 60);
        Self {
            per_ip: Budget {
                max: 30,
                period: quarter,
            },
            per_account: Budget {
                max: 5,
                period: quarter,
            },
            per_device: Budget {
                max: 10,
                period: quarter,
            },
        }
    }
}

/// Who is trying to sign in to an account.
#[derive(Debug, Clone, Copy)]
pub struct Attempt<'a> {
    /// The client's address.
    pub ip: &'a str,
    /// The account, by the address typed (any case; cut to 254 characters).
    pub account: &'a str,
    /// The device id of a valid device cookie of this account, if the client sent one.
    pub device: Option<&'a str>,
}

/// Failed sign-ins per address, account and device. See the module documentation.
#[derive(Debug)]
pub struct SignInFailures {
    budgets: Option<FailureBudgets>,
    windows: Mutex<HashMap<String, Window>>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    failures: u32,
    period: Duration,
}

/// Past this many keys, windows that have ended are dropped before a new one is added.
const PRUNE_AT: usize = 10_000;

impl SignInFailures {
    /// Counting with `budgets`.
    #[must_use]
    pub fn new(budgets: FailureBudgets) -> Self {
        Self {
            budgets: Some(budgets),
            windows: Mutex::default(),
        }
    }

    /// Counting nothing (`NEXUS_AUTH_RATE_LIMITS=off`, for load tests).
    #[must_use]
    pub fn unlimited() -> Self {
        Self {
            budgets: None,
            windows: Mutex::default(),
        }
    }

    /// `Err(wait)` when the attempt's address, or its account for this kind of client,
    /// has no failures left at `now`.
    ///
    /// # Errors
    /// How long to wait before trying again.
    pub fn check(&self, attempt: &Attempt<'_>, now: Instant) -> Result<(), Duration> {
        let Some(budgets) = self.budgets else {
            return Ok(());
        };
        let windows = self.lock();
        let wait = |key: &str, budget: Budget| match windows.get(key) {
            Some(w) if w.failures >= budget.max => {
                let ends = w.started + w.period;
                if ends > now { Err(ends - now) } else { Ok(()) }
            }
            _ => Ok(()),
        };
        wait(&ip_key(attempt.ip), budgets.per_ip)?;
        let (key, budget) = account_key(attempt, &budgets);
        wait(&key, budget)
    }

    /// Counts a failed attempt at `now`.
    pub fn failed(&self, attempt: &Attempt<'_>, now: Instant) {
        let Some(budgets) = self.budgets else {
            return;
        };
        let mut windows = self.lock();
        if windows.len() >= PRUNE_AT {
            windows.retain(|_, w| w.started + w.period > now);
        }
        let (account, budget) = account_key(attempt, &budgets);
        for (key, budget) in [(ip_key(attempt.ip), budgets.per_ip), (account, budget)] {
            let window = windows.entry(key).or_insert(Window {
                started: now,
                failures: 0,
                period: budget.period,
            });
            if window.started + window.period <= now {
                *window = Window {
                    started: now,
                    failures: 0,
                    period: budget.period,
                };
            }
            window.failures = window.failures.saturating_add(1);
        }
    }

    /// A successful sign-in: the account's failures are forgotten, from strangers and from
    /// this device. The address keeps its count (a success on one account does not buy
    /// more guesses at others).
    pub fn succeeded(&self, attempt: &Attempt<'_>) {
        let Some(budgets) = self.budgets else {
            return;
        };
        let mut windows = self.lock();
        windows.remove(&account_key(attempt, &budgets).0);
        windows.remove(&format!("account:{}", normalise(attempt.account)));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Window>> {
        // A panic while holding the map cannot leave it inconsistent (plain inserts).
        self.windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Default for SignInFailures {
    fn default() -> Self {
        Self::new(FailureBudgets::default())
    }
}

fn normalise(account: &str) -> String {
    // No address is longer than 254 characters; a longer key would cost memory only.
    account
        .trim()
        .chars()
        .take(254)
        .collect::<String>()
        .to_lowercase()
}

fn account_key(attempt: &Attempt<'_>, budgets: &FailureBudgets) -> (String, Budget) {
    let account = normalise(attempt.account);
    match attempt.device {
        Some(device) => (format!("device:{account}:{device}"), budgets.per_device),
        None => (format!("account:{account}"), budgets.per_account),
    }
}

fn ip_key(ip: &str) -> String {
    format!("ip:{}", super::limits::ip_key(ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failures() -> SignInFailures {
        let budget = |max| Budget {
            max,
            period: Duration::from_secs(60),
        };
        SignInFailures::new(FailureBudgets {
            per_ip: budget(6),
            per_account: budget(2),
            per_device: budget(3),
        })
    }

    fn stranger(ip: &str) -> Attempt<'_> {
        Attempt {
            ip,
            account: "Victim@Example.com",
            device: None,
        }
    }

    #[test]
    fn a_strangers_failures_do_not_lock_out_the_owners_device() {
        let limits = failures();
        let t0 = Instant::now();
        for _ in 0..2 {
            assert!(limits.check(&stranger("203.0.113.9"), t0).is_ok());
            limits.failed(&stranger("203.0.113.9"), t0);
        }
        let wait = limits.check(&stranger("198.51.100.1"), t0).unwrap_err();
        assert_eq!(wait, Duration::from_secs(60), "every stranger waits");
        let owner = Attempt {
            ip: "192.0.2.7",
            account: "victim@example.com",
            device: Some("d1"),
        };
        assert!(
            limits.check(&owner, t0).is_ok(),
            "the owner's device is not"
        );
        // The window ends a period after its first failure.
        let later = t0 + Duration::from_secs(60);
        assert!(limits.check(&stranger("198.51.100.1"), later).is_ok());
    }

    #[test]
    fn a_success_clears_the_accounts_failures_and_successes_cost_nothing() {
        let limits = failures();
        let t0 = Instant::now();
        let mine = stranger("192.0.2.1");
        limits.failed(&mine, t0);
        limits.succeeded(&mine);
        limits.failed(&mine, t0);
        assert!(
            limits.check(&mine, t0).is_ok(),
            "one failure since the success"
        );
        for _ in 0..100 {
            limits.succeeded(&mine);
        }
        assert!(limits.check(&mine, t0).is_ok());
        // A device's own budget, and the success on it clears the strangers' count too.
        // (From another address: this one's own budget is not what is tested here.)
        let device = Attempt {
            ip: "192.0.2.2",
            device: Some("d1"),
            ..mine
        };
        for _ in 0..3 {
            assert!(limits.check(&device, t0).is_ok());
            limits.failed(&device, t0);
        }
        assert!(
            limits.check(&device, t0).is_err(),
            "the device's 3 are spent"
        );
        // (The successes above cleared the one failure before them.)
        limits.failed(&mine, t0);
        assert!(limits.check(&mine, t0).is_ok());
        limits.failed(&mine, t0);
        assert!(
            limits.check(&mine, t0).is_err(),
            "the strangers' 2 are spent"
        );
        limits.succeeded(&device);
        assert!(limits.check(&device, t0).is_ok());
        assert!(limits.check(&mine, t0).is_ok());
    }

    #[test]
    fn an_address_guessing_at_many_accounts_is_stopped() {
        let limits = failures();
        let t0 = Instant::now();
        for n in 0..6 {
            let email = format!("user{n}@example.com");
            let attempt = Attempt {
                ip: "2001:db8:1:2::5",
                account: &email,
                device: None,
            };
            assert!(limits.check(&attempt, t0).is_ok(), "{n}");
            limits.failed(&attempt, t0);
        }
        let next = Attempt {
            ip: "2001:db8:1:2::77",
            account: "fresh@example.com",
            device: None,
        };
        assert!(limits.check(&next, t0).is_err(), "the /64's 6 are spent");
        assert!(SignInFailures::unlimited().check(&next, t0).is_ok());
    }
}
