//! Request limits of the account endpoints per client IP, and of the emails sent to one
//! address (sign-up and reset links), so nobody can flood the endpoints or an inbox.
//! `governor`'s GCRA, keyed. Failed sign-ins are counted apart, in [`super::failures`]:
//! a sign-in that works never counts against anyone.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

/// Per-IP and per-address limiters.
#[derive(Debug)]
pub struct AuthLimits {
    per_ip: DefaultKeyedRateLimiter<String>,
    per_account: DefaultKeyedRateLimiter<String>,
    checks: std::sync::atomic::AtomicU64,
}

/// Requests allowed per key: a burst, refilled evenly over `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowance {
    /// Requests in a burst.
    pub burst: u32,
    /// How long the burst takes to refill.
    pub period: Duration,
}

fn quota(a: Allowance) -> Quota {
    let burst = NonZeroU32::new(a.burst).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(a.period / burst.get())
        .unwrap_or_else(|| Quota::per_second(burst))
        .allow_burst(burst)
}

impl AuthLimits {
    /// Limits with the given allowances.
    #[must_use]
    pub fn new(per_ip: Allowance, per_account: Allowance) -> Self {
        Self {
            per_ip: DefaultKeyedRateLimiter::keyed(quota(per_ip)),
            per_account: DefaultKeyedRateLimiter::keyed(quota(per_account)),
            checks: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Spends one request of `ip` and, when known, of `account`; `Err(wait)` when either
    /// is over its limit.
    ///
    /// # Errors
    /// How long to wait before trying again.
    pub fn check(&self, ip: &str, account: Option<&str>) -> Result<(), Duration> {
        // Keys of idle clients are forgotten now and then, so the maps stay small.
        let n = self
            .checks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if n % 1024 == 1023 {
            self.per_ip.retain_recent();
            self.per_account.retain_recent();
        }
        let clock = DefaultClock::default();
        let wait = |outcome: Result<(), governor::NotUntil<_>>| {
            outcome.map_err(|not_until| not_until.wait_time_from(clock.now()))
        };
        wait(self.per_ip.check_key(&ip_key(ip)))?;
        if let Some(account) = account {
            // No address is longer than 254 characters; a longer key costs memory only.
            let account: String = account.chars().take(254).collect();
            wait(self.per_account.check_key(&account.to_lowercase()))?;
        }
        Ok(())
    }
}

/// The key of a client address: IPv4 as is, IPv6 by its /64 (one subscriber's whole
/// block, so rotating addresses within it buys nothing).
pub(crate) fn ip_key(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        _ => ip.to_owned(),
    }
}

impl AuthLimits {
    /// Spends one email to `address` (any case): `Err(wait)` when the address has had its
    /// share, whatever the client.
    ///
    /// # Errors
    /// How long until another email may go.
    pub fn check_address(&self, address: &str) -> Result<(), Duration> {
        let address: String = address.trim().chars().take(254).collect();
        self.per_account
            .check_key(&address.to_lowercase())
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

impl AuthLimits {
    /// No limits at all: for load tests, which sign thousands of users up from one
    /// address (`NEXUS_AUTH_RATE_LIMITS=off`).
    #[must_use]
    pub fn unlimited() -> Self {
        let open = Allowance {
            burst: u32::MAX,
            period: Duration::from_secs(1),
        };
        Self::new(open, open)
    }
}

impl Default for AuthLimits {
    /// 20 requests per IP per minute; 5 emails per address per 15 minutes.
    fn default() -> Self {
        Self::new(
            Allowance {
                burst: 20,
                period: Duration::from_secs(60),
            },
            Allowance {
                burst: 5,
                period: Duration::from_secs(15 * 60),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_ip_and_each_account_has_its_own_budget() {
        let limits = AuthLimits::new(
            Allowance {
                burst: 3,
                period: Duration::from_secs(60),
            },
            Allowance {
                burst: 2,
                period: Duration::from_secs(60),
            },
        );
        assert!(limits.check("1.1.1.1", Some("A@x.com")).is_ok());
        assert!(limits.check("2.2.2.2", Some("a@x.com")).is_ok());
        let wait = limits.check("3.3.3.3", Some("a@X.com")).unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
        assert!(limits.check("1.1.1.1", None).is_ok());
        assert!(limits.check("1.1.1.1", None).is_ok());
        assert!(
            limits.check("1.1.1.1", None).is_err(),
            "the IP's burst of 3 is spent"
        );
        assert!(limits.check("4.4.4.4", Some("b@x.com")).is_ok());
        // One IPv6 /64 is one client.
        for n in 1..=3 {
            assert!(limits.check(&format!("2001:db8:1:2::{n}"), None).is_ok());
        }
        assert!(limits.check("2001:db8:1:2:ffff::9", None).is_err());
        assert!(limits.check("2001:db8:1:3::1", None).is_ok());
    }
}
