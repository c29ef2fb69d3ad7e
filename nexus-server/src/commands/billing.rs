//! `nexus billing sync`: re-reads every customer's subscriptions from Stripe and repairs
//! what webhooks missed, printing each change.

use std::process::ExitCode;
use std::sync::Arc;

use crate::billing::Billing;
use crate::billing::service::SyncChange;
use crate::config::Config;
use crate::store::open_store;

/// One change, for people: `alice@x.io: past_due → canceled, pro → free, 2 bots paused`.
fn describe(email: &str, change: &SyncChange) -> String {
    let mut line = format!("{email}: {} → {}", change.status.0, change.status.1);
    let applied = &change.applied;
    if applied.plan_before != applied.plan_after {
        line.push_str(&format!(
            ", plan {} → {}",
            applied.plan_before, applied.plan_after
        ));
    }
    match applied.paused.len() {
        0 => {}
        1 => line.push_str(", 1 bot paused"),
        n => line.push_str(&format!(", {n} bots paused")),
    }
    line
}

/// Runs `nexus billing sync`.
pub async fn sync() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("nexus: invalid configuration: {err}");
            return ExitCode::from(2);
        }
    };
    crate::config::init_logging(&config);
    let Some(settings) = config.billing.clone() else {
        eprintln!(
            "nexus billing sync: billing is off (set NEXUS_STRIPE_SECRET_KEY, NEXUS_STRIPE_WEBHOOK_SECRET and NEXUS_STRIPE_PRICES)"
        );
        return ExitCode::from(2);
    };
    let store = match open_store(&config).await {
        Ok(store) => store,
        Err(err) => {
            eprintln!("nexus billing sync: {err}");
            return ExitCode::FAILURE;
        }
    };
    let billing = match Billing::new(
        settings,
        Arc::clone(&store),
        config.plans.clone(),
        &config.public_url,
    ) {
        Ok(billing) => billing,
        Err(err) => {
            eprintln!("nexus billing sync: {err}");
            return ExitCode::FAILURE;
        }
    };
    let mut lines = Vec::new();
    let outcome = billing
        .sync(|done, change| {
            if let Some(change) = change {
                lines.push(change.clone());
            }
            if done % 100 == 0 {
                eprintln!("nexus billing sync: {done} customers read");
            }
        })
        .await;
    for change in &lines {
        let email = match store.user(change.user).await {
            Ok(Some(user)) => user.email,
            _ => change.user.to_string(),
        };
        println!("{}", describe(&email, change));
    }
    match outcome {
        Ok(report) => {
            println!(
                "nexus billing sync: {} customer(s) read, {} subscription(s) repaired",
                report.customers,
                report.changed.len()
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("nexus billing sync: stopped: {err}");
            ExitCode::FAILURE
        }
    }
}
