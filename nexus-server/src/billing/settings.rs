//! Billing's settings (`NEXUS_STRIPE_*`, `NEXUS_BILLING_*`). Without a Stripe secret key
//! billing is off.

use std::time::Duration;

use nexus_core::Secret;
use nexus_core::billing::Plans;

use crate::config::ConfigError;

/// Stripe's secret API key (`sk_live_…`, `sk_test_…` or a restricted `rk_…`): turns
/// billing on.
pub const SECRET_KEY_VAR: &str = "NEXUS_STRIPE_SECRET_KEY";
/// The webhook endpoint's signing secret (`whsec_…`).
pub const WEBHOOK_SECRET_VAR: &str = "NEXUS_STRIPE_WEBHOOK_SECRET";
/// Which Stripe price each paid plan is: `pro:price_…,enterprise:price_…`.
pub const PRICES_VAR: &str = "NEXUS_STRIPE_PRICES";
/// Another Stripe API than `https://api.stripe.com` (tests, stripe-mock).
pub const API_BASE_VAR: &str = "NEXUS_STRIPE_API_BASE";
/// Days of free trial on Pro, once per user (default 7; 0: none).
pub const TRIAL_DAYS_VAR: &str = "NEXUS_BILLING_TRIAL_DAYS";
/// How long a `past_due` subscription keeps its plan after the first failed payment
/// (default `3d`; `90s`, `2h`, `3d`, …).
pub const GRACE_VAR: &str = "NEXUS_BILLING_GRACE";

/// How long `past_due` keeps a plan unless `NEXUS_BILLING_GRACE` says otherwise.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(3 * 86_400);

/// The plan that gets a trial.
pub const TRIAL_PLAN: &str = "pro";

/// Billing's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingSettings {
    /// Stripe's secret key (hidden from `Debug`).
    pub secret_key: Secret,
    /// The webhook signing secret (hidden from `Debug`).
    pub webhook_secret: Secret,
    /// `(plan, price)` for each paid plan.
    pub prices: Vec<(String, String)>,
    /// Stripe's API.
    pub api_base: String,
    /// Trial days on Pro (0: no trial).
    pub trial_days: u32,
    /// How long `past_due` keeps the plan.
    pub grace: Duration,
}

impl BillingSettings {
    /// The Stripe price of `plan`.
    #[must_use]
    pub fn price(&self, plan: &str) -> Option<&str> {
        self.prices
            .iter()
            .find(|(p, _)| p == plan)
            .map(|(_, price)| price.as_str())
    }

    /// The plan whose price is `price`.
    #[must_use]
    pub fn plan_of(&self, price: &str) -> Option<&str> {
        self.prices
            .iter()
            .find(|(_, p)| p == price)
            .map(|(plan, _)| plan.as_str())
    }

    /// Reads the settings through `get` (the variable, or `None` when unset or empty):
    /// `None` when no secret key is set.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first variable that is missing or wrong.
    pub fn read(
        get: impl Fn(&'static str) -> Result<Option<String>, ConfigError>,
        plans: &Plans,
    ) -> Result<Option<Self>, ConfigError> {
        let Some(secret_key) = get(SECRET_KEY_VAR)? else {
            return Ok(None);
        };
        let invalid = |var, expected, value: &str| ConfigError::Invalid {
            var,
            expected,
            value: value.to_owned(),
        };
        if !["sk_", "rk_"].iter().any(|p| secret_key.starts_with(p)) {
            // The value is a secret: never echoed.
            return Err(invalid(
                SECRET_KEY_VAR,
                "a Stripe secret key (sk_… or rk_…)",
                "…",
            ));
        }
        let webhook_secret = match get(WEBHOOK_SECRET_VAR)? {
            Some(s) if s.starts_with("whsec_") => s,
            Some(_) => {
                return Err(invalid(
                    WEBHOOK_SECRET_VAR,
                    "the webhook endpoint's signing secret (whsec_…)",
                    "…",
                ));
            }
            None => {
                return Err(invalid(
                    WEBHOOK_SECRET_VAR,
                    "the webhook endpoint's signing secret (whsec_…; NEXUS_STRIPE_SECRET_KEY is set)",
                    "",
                ));
            }
        };
        let prices_text = get(PRICES_VAR)?.unwrap_or_default();
        let prices_expected = "paid plans and their Stripe prices like pro:price_…,enterprise:price_… (NEXUS_STRIPE_SECRET_KEY is set)";
        let mut prices = Vec::new();
        for entry in prices_text
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            let (plan, price) = entry
                .split_once(':')
                .map(|(a, b)| (a.trim(), b.trim()))
                .filter(|(plan, price)| {
                    !price.is_empty() && *plan != "free" && plans.get(Some(plan)).name == *plan
                })
                .ok_or_else(|| invalid(PRICES_VAR, prices_expected, &prices_text))?;
            prices.push((plan.to_owned(), price.to_owned()));
        }
        if prices.is_empty() {
            return Err(invalid(PRICES_VAR, prices_expected, &prices_text));
        }
        let api_base =
            get(API_BASE_VAR)?.unwrap_or_else(|| super::stripe::DEFAULT_API_BASE.to_owned());
        if !(api_base.starts_with("https://") || api_base.starts_with("http://")) {
            return Err(invalid(
                API_BASE_VAR,
                "an http(s) URL like https://api.stripe.com",
                &api_base,
            ));
        }
        let trial_text = get(TRIAL_DAYS_VAR)?.unwrap_or_else(|| "7".to_owned());
        let trial_days = trial_text
            .parse::<u32>()
            .ok()
            .filter(|d| *d <= 730)
            .ok_or_else(|| {
                invalid(
                    TRIAL_DAYS_VAR,
                    "whole days, 0–730 (0: no trial)",
                    &trial_text,
                )
            })?;
        let grace_text = get(GRACE_VAR)?.unwrap_or_else(|| "3d".to_owned());
        let grace = nexus_core::durations::parse(&grace_text)
            .map_err(|_| invalid(GRACE_VAR, "a duration like 90s, 2h or 3d", &grace_text))?;
        Ok(Some(Self {
            secret_key: Secret::new(secret_key),
            webhook_secret: Secret::new(webhook_secret),
            prices,
            api_base: api_base.trim_end_matches('/').to_owned(),
            trial_days,
            grace,
        }))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn read(vars: &[(&'static str, &str)]) -> Result<Option<BillingSettings>, ConfigError> {
        let vars: HashMap<&str, &str> = vars.iter().copied().collect();
        BillingSettings::read(
            |var| Ok(vars.get(var).map(|v| (*v).to_owned())),
            &Plans::default(),
        )
    }

    const ON: [(&str, &str); 3] = [
        (SECRET_KEY_VAR, "sk_test_abc"),
        (WEBHOOK_SECRET_VAR, "whsec_xyz"),
        (PRICES_VAR, "pro:price_pro,enterprise:price_ent"),
    ];

    #[test]
    fn without_a_key_billing_is_off_and_with_one_the_rest_is_required() {
        assert_eq!(read(&[]), Ok(None));
        let on = read(&ON).unwrap().unwrap();
        assert_eq!(on.price("pro"), Some("price_pro"));
        assert_eq!(on.plan_of("price_ent"), Some("enterprise"));
        assert_eq!(
            (on.trial_days, on.grace),
            (7, Duration::from_secs(3 * 86_400))
        );
        assert_eq!(on.api_base, "https://api.stripe.com");
        assert!(
            !format!("{on:?}").contains("sk_test_abc"),
            "secrets stay out of Debug"
        );
        assert!(!format!("{on:?}").contains("whsec_xyz"));

        let err = read(&ON[..1]).unwrap_err().to_string();
        assert!(err.starts_with(WEBHOOK_SECRET_VAR), "{err}");
        let err = read(&ON[..2]).unwrap_err().to_string();
        assert!(err.starts_with(PRICES_VAR), "{err}");
        let mut bad = ON.to_vec();
        bad[2] = (PRICES_VAR, "gold:price_1");
        assert!(read(&bad).unwrap_err().to_string().contains("gold:price_1"));
        bad[2] = (PRICES_VAR, "free:price_1");
        assert!(read(&bad).is_err(), "free has no price");
        let mut grace = ON.to_vec();
        grace.push((GRACE_VAR, "90s"));
        grace.push((TRIAL_DAYS_VAR, "0"));
        let on = read(&grace).unwrap().unwrap();
        assert_eq!((on.trial_days, on.grace), (0, Duration::from_secs(90)));
        grace.push((GRACE_VAR, "soon"));
        let mut later = ON.to_vec();
        later.push((GRACE_VAR, "3 days"));
        assert!(read(&later).unwrap_err().to_string().starts_with(GRACE_VAR));
        let mut key = ON.to_vec();
        key[0] = (SECRET_KEY_VAR, "pk_test_public");
        let err = read(&key).unwrap_err().to_string();
        assert!(
            err.starts_with(SECRET_KEY_VAR) && !err.contains("pk_test"),
            "{err}"
        );
    }
}
