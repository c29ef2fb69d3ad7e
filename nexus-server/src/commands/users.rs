//! `nexus users list|set-role|set-plan`: the operator's way to see accounts, make an
//! administrator and give a plan without Stripe, on whichever database the server uses.
//! Every change is in the audit log (actor: none, `"via": "cli"`).

use std::process::ExitCode;
use std::sync::Arc;

use chrono::Utc;
use nexus_core::billing::{Change, entitlement};
use nexus_core::ports::accounts::Role;
use nexus_core::ports::audit::{AuditAction, AuditEvent};
use nexus_core::ports::billing::BillingRules;
use nexus_store::Store;

use crate::billing::settings::DEFAULT_GRACE;
use crate::config::Config;
use crate::store::open_store;
use crate::web::format;

/// Users listed per page read from the store.
const PAGE: u32 = 500;

async fn open(what: &str) -> Result<(Config, Arc<dyn Store>), ExitCode> {
    let config = super::admin::config()?;
    let store = open_store(&config).await.map_err(|err| {
        eprintln!("nexus users {what}: {err}");
        ExitCode::FAILURE
    })?;
    Ok((config, store))
}

/// Prints every user: email, role, verified, plan in force, created.
pub async fn list() -> ExitCode {
    let (config, store) = match open("list").await {
        Ok(opened) => opened,
        Err(code) => return code,
    };
    let now = Utc::now();
    println!(
        "{:<40} {:<6} {:<9} {:<12} created",
        "email", "role", "verified", "plan"
    );
    let mut after = None;
    let mut count = 0u64;
    loop {
        let page = match store.list_users(after, PAGE).await {
            Ok(page) => page,
            Err(err) => {
                eprintln!("nexus users list: {err}");
                return ExitCode::FAILURE;
            }
        };
        for user in &page {
            let plan = match store.subscription(user.id).await {
                Ok(sub) => config
                    .plans
                    .get(entitlement(sub.as_ref().map(|(s, _)| s), now))
                    .name
                    .clone(),
                Err(err) => {
                    eprintln!("nexus users list: {err}");
                    return ExitCode::FAILURE;
                }
            };
            println!(
                "{:<40} {:<6} {:<9} {:<12} {}",
                user.email,
                user.role.as_str(),
                if user.email_verified_at.is_some() {
                    "yes"
                } else {
                    "no"
                },
                plan,
                user.created_at.format("%Y-%m-%d %H:%M UTC"),
            );
        }
        count += page.len() as u64;
        match page.last() {
            Some(last) if page.len() == PAGE as usize => after = Some(last.id),
            _ => break,
        }
    }
    println!("{} users", format::count(count));
    ExitCode::SUCCESS
}

async fn audit(
    store: &Arc<dyn Store>,
    action: AuditAction,
    email: &str,
    details: serde_json::Value,
) -> bool {
    let event = AuditEvent {
        actor: None,
        action,
        subject: Some(email.to_owned()),
        details: details.to_string(),
        at: Utc::now(),
    };
    match store.append(&event).await {
        Ok(_) => true,
        Err(err) => {
            eprintln!("nexus users: done, but not recorded in the audit log: {err}");
            false
        }
    }
}

/// Makes `email` an administrator or a plain user.
pub async fn set_role(email: &str, role: Role) -> ExitCode {
    let (_, store) = match open("set-role").await {
        Ok(opened) => opened,
        Err(code) => return code,
    };
    let user = match store.user_by_email(email).await {
        Ok(Some((user, _))) => user,
        Ok(None) => {
            eprintln!("nexus users set-role: no account has the address {email}");
            return ExitCode::FAILURE;
        }
        Err(err) => {
            eprintln!("nexus users set-role: {err}");
            return ExitCode::FAILURE;
        }
    };
    if user.role == role {
        println!(
            "nexus users set-role: {} is already {}",
            user.email,
            role.as_str()
        );
        return ExitCode::SUCCESS;
    }
    if let Err(err) = store.set_role(user.id, role, Utc::now()).await {
        eprintln!("nexus users set-role: {err}");
        return ExitCode::FAILURE;
    }
    let details = serde_json::json!({
        "from": user.role.as_str(), "to": role.as_str(), "via": "cli",
    });
    if !audit(&store, AuditAction::RoleChanged, &user.email, details).await {
        return ExitCode::FAILURE;
    }
    println!(
        "nexus users set-role: {} is now {} (was {})",
        user.email,
        role.as_str(),
        user.role.as_str()
    );
    ExitCode::SUCCESS
}

/// Gives `email` the plan `plan` without Stripe; bots beyond its limits are paused.
pub async fn set_plan(email: &str, plan: &str) -> ExitCode {
    let (config, store) = match open("set-plan").await {
        Ok(opened) => opened,
        Err(code) => return code,
    };
    if !config.plans.all().iter().any(|p| p.name == plan) {
        let known: Vec<&str> = config.plans.all().iter().map(|p| p.name.as_str()).collect();
        eprintln!(
            "nexus users set-plan: no plan named {plan:?}; the plans are {} (NEXUS_PLANS)",
            known.join(", ")
        );
        return ExitCode::from(2);
    }
    let user = match store.user_by_email(email).await {
        Ok(Some((user, _))) => user,
        Ok(None) => {
            eprintln!("nexus users set-plan: no account has the address {email}");
            return ExitCode::FAILURE;
        }
        Err(err) => {
            eprintln!("nexus users set-plan: {err}");
            return ExitCode::FAILURE;
        }
    };
    let rules = BillingRules {
        plans: &config.plans,
        grace: config.billing.as_ref().map_or(DEFAULT_GRACE, |b| b.grace),
    };
    let now = Utc::now();
    let change = Change::Grant {
        plan: plan.to_owned(),
        at: now,
    };
    let applied = match store
        .apply_billing(None, user.id, change, None, &rules, now)
        .await
    {
        Ok(Some(applied)) => applied,
        Ok(None) => {
            eprintln!("nexus users set-plan: nothing was applied");
            return ExitCode::FAILURE;
        }
        Err(err) => {
            eprintln!("nexus users set-plan: {err}");
            return ExitCode::FAILURE;
        }
    };
    let details = serde_json::json!({
        "from": applied.plan_before, "to": applied.plan_after,
        "paused_bots": applied.paused.len(), "via": "cli",
    });
    if !audit(&store, AuditAction::PlanChanged, &user.email, details).await {
        return ExitCode::FAILURE;
    }
    let paused = match applied.paused.len() {
        0 => String::new(),
        1 => ", 1 bot paused to fit it".to_owned(),
        n => format!(", {n} bots paused to fit it"),
    };
    println!(
        "nexus users set-plan: {} is on {} (was {}){paused}",
        user.email, applied.plan_after, applied.plan_before
    );
    ExitCode::SUCCESS
}
