//! What both backends share besides the row codec ([`crate::codec`]): how secrets are
//! packed before sealing, the stored names of decisions and audit actions, and which rows
//! of a batch write were new.

use std::collections::BTreeMap;

use nexus_core::DecisionLogError;
use nexus_core::ports::audit::AuditAction;
use nexus_core::ports::credentials::{ApiCredentials, CredentialId};
use nexus_core::ports::jobs::{JobState, QueueDepth};
use nexus_core::ports::paper::PaperBook;
use nexus_core::regime::gate::{GateAction, GateDecision};
use nexus_core::{Asset, ExchangeId, Secret, StoreError, UserId};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::corrupt;
use crate::vault::{Keyring, Sealed};

/// The associated data binding a ciphertext to its row.
pub(crate) fn credential_context(id: CredentialId, user: UserId, exchange: ExchangeId) -> Vec<u8> {
    format!("exchange_credentials:{}:{user}:{exchange}", id.0).into_bytes()
}

#[derive(Serialize, Deserialize)]
struct Packed<'a> {
    api_key: &'a str,
    secret: &'a str,
    passphrase: Option<&'a str>,
}

/// Seals key, secret and passphrase together.
pub(crate) fn seal_credentials(
    keys: &Keyring,
    creds: &ApiCredentials,
    context: &[u8],
) -> Result<Sealed, StoreError> {
    let packed = Packed {
        api_key: &creds.api_key,
        secret: creds.secret.expose(),
        passphrase: creds.passphrase.as_ref().map(Secret::expose),
    };
    let plain = Zeroizing::new(
        serde_json::to_vec(&packed).map_err(|e| corrupt("exchange credentials", e))?,
    );
    keys.seal(&plain, context)
        .map_err(|e| corrupt("exchange credentials", e))
}

/// Opens what [`seal_credentials`] sealed.
pub(crate) fn open_credentials(
    keys: &Keyring,
    sealed: &Sealed,
    context: &[u8],
) -> Result<ApiCredentials, StoreError> {
    let plain = keys
        .open(sealed, context)
        .map_err(|e| corrupt("exchange credentials", e))?;
    let packed: Packed<'_> = serde_json::from_slice(&plain)
        .map_err(|_| corrupt("exchange credentials", "the decrypted payload is not valid"))?;
    Ok(ApiCredentials {
        api_key: packed.api_key.to_owned(),
        secret: Secret::new(packed.secret),
        passphrase: packed.passphrase.map(Secret::new),
    })
}

/// A Paper account's balances as stored: a JSON object of asset to decimal text (text,
/// so every digit is kept).
pub(crate) fn paper_balances_json(balances: &BTreeMap<Asset, Decimal>) -> String {
    let object: serde_json::Map<String, serde_json::Value> = balances
        .iter()
        .map(|(asset, amount)| {
            let amount = serde_json::Value::String(amount.normalize().to_string());
            (asset.as_str().to_owned(), amount)
        })
        .collect();
    serde_json::Value::Object(object).to_string()
}

/// What the row of Paper account `name` holds after an update: its funding and its
/// balances as stored (an account the book does not hold is unfunded and empty).
pub(crate) fn paper_account_row(book: &PaperBook, name: &str) -> (bool, String) {
    book.accounts.get(name).map_or_else(
        || (false, paper_balances_json(&BTreeMap::new())),
        |a| (a.funded, paper_balances_json(&a.balances)),
    )
}

/// A Paper account's balances from their stored JSON.
pub(crate) fn paper_balances(text: &str) -> Result<BTreeMap<Asset, Decimal>, StoreError> {
    let object: BTreeMap<String, String> =
        serde_json::from_str(text).map_err(|e| corrupt("paper balances", e))?;
    object
        .into_iter()
        .map(|(asset, amount)| {
            let amount =
                Decimal::from_str_exact(&amount).map_err(|e| corrupt("paper balance", e))?;
            Ok((parse("asset", &asset)?, amount))
        })
        .collect()
}

/// Parses a stored value read on its own (a scalar query's column).
pub(crate) fn parse<T: std::str::FromStr>(what: &str, text: &str) -> Result<T, StoreError>
where
    T::Err: std::fmt::Display,
{
    text.parse().map_err(|e| corrupt(what, e))
}

/// The stored name of a decision's action.
pub(crate) fn action_name(decision: &GateDecision) -> &'static str {
    action_str(decision.inputs.action)
}

/// The stored name of an action.
pub(crate) fn action_str(action: GateAction) -> &'static str {
    match action {
        GateAction::Entry => "entry",
        GateAction::Add => "add",
        GateAction::Exit => "exit",
    }
}

/// A stored audit action.
pub(crate) fn audit_action(text: &str) -> Result<AuditAction, StoreError> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|_| corrupt("audit action", text))
}

/// A database failure while logging decisions.
pub(crate) fn decision_log_error(err: sqlx::Error) -> DecisionLogError {
    DecisionLogError {
        message: err.to_string(),
        source: Some(Box::new(err)),
    }
}

/// Stored decisions (JSON text), parsed back.
pub(crate) fn decisions(rows: &[String]) -> Result<Vec<GateDecision>, DecisionLogError> {
    rows.iter()
        .map(|json| {
            serde_json::from_str(json).map_err(|e| DecisionLogError {
                message: format!("a stored decision does not parse: {e}"),
                source: Some(Box::new(e)),
            })
        })
        .collect()
}

/// `(kind, state, count)` rows as queue depths.
pub(crate) fn queue_depths(
    rows: Vec<(String, String, i64, Option<nexus_core::Timestamp>)>,
) -> Result<Vec<QueueDepth>, StoreError> {
    rows.into_iter()
        .map(|(kind, state, count, oldest_due)| {
            Ok(QueueDepth {
                kind: parse("job kind", &kind)?,
                state: parse::<JobState>("job state", &state)?,
                count: u64::try_from(count).unwrap_or(0),
                oldest_due,
            })
        })
        .collect()
}

/// The position changes a batch of executions makes: only those whose fill is new, with
/// `true` when no bot appears twice (so one set-based statement may apply them).
pub(crate) fn position_moves<'a>(
    executions: &'a [nexus_core::ports::activity::Execution],
    new: &[bool],
) -> (
    Vec<(
        nexus_core::BotId,
        &'a nexus_core::ports::activity::PositionChange,
    )>,
    bool,
) {
    let moves: Vec<_> = executions
        .iter()
        .zip(new)
        .filter(|(_, new)| **new)
        .filter_map(|(x, _)| x.position.as_ref().map(|p| (x.order.bot, p)))
        .collect();
    let mut bots = std::collections::HashSet::new();
    let distinct = moves.iter().all(|(bot, _)| bots.insert(*bot));
    (moves, distinct)
}

/// The executions of a batch whose bots still exist ([`of_bots`]).
pub(crate) struct KeptExecutions {
    /// The kept ones, when some were left out (each with its index in the batch).
    some: Option<(Vec<nexus_core::ports::activity::Execution>, Vec<usize>)>,
    len: usize,
}

impl KeptExecutions {
    /// The executions to record: `all` itself when none was left out.
    pub(crate) fn executions<'a>(
        &'a self,
        all: &'a [nexus_core::ports::activity::Execution],
    ) -> &'a [nexus_core::ports::activity::Execution] {
        self.some.as_ref().map_or(all, |(kept, _)| kept.as_slice())
    }

    /// Per execution of the batch, what was recorded of the kept ones (`new`, in their
    /// order); `false` for those left out.
    pub(crate) fn spread(&self, new: Vec<bool>) -> Vec<bool> {
        match &self.some {
            None => new,
            Some((_, at)) => {
                let mut all = vec![false; self.len];
                for (index, new) in at.iter().zip(new) {
                    all[*index] = new;
                }
                all
            }
        }
    }
}

/// The executions of `batch` whose bot `exists`.
pub(crate) fn of_bots(
    batch: &[nexus_core::ports::activity::Execution],
    exists: impl Fn(nexus_core::BotId) -> bool,
) -> KeptExecutions {
    let some = if batch.iter().all(|x| exists(x.order.bot)) {
        None
    } else {
        let (at, kept) = batch
            .iter()
            .enumerate()
            .filter(|(_, x)| exists(x.order.bot))
            .map(|(index, x)| (index, x.clone()))
            .unzip();
        Some((kept, at))
    };
    KeptExecutions {
        some,
        len: batch.len(),
    }
}

/// Which of `orders` an insert wrote, from the (exchange, client order id) pairs it
/// returned: the others were on record already.
pub(crate) fn newly_recorded(
    orders: &[nexus_core::ports::activity::OrderRecord],
    returned: &std::collections::HashSet<(String, String)>,
) -> Vec<bool> {
    orders
        .iter()
        .map(|o| {
            returned.contains(&(
                o.exchange.as_str().to_owned(),
                o.client_order_id.as_str().to_owned(),
            ))
        })
        .collect()
}

/// `stored` preferences, with the defaults for each of `users` who has none.
pub(crate) fn with_defaults(
    users: &[UserId],
    mut stored: std::collections::HashMap<UserId, nexus_core::ports::alerts::AlertPreferences>,
) -> std::collections::HashMap<UserId, nexus_core::ports::alerts::AlertPreferences> {
    for user in users {
        stored.entry(*user).or_default();
    }
    stored
}

/// The users whose `preferences` want `event`, in id order.
pub(crate) fn wanting(
    preferences: &std::collections::HashMap<UserId, nexus_core::ports::alerts::AlertPreferences>,
    event: nexus_core::ports::alerts::AlertEvent,
) -> Vec<UserId> {
    let mut wanted: Vec<UserId> = preferences
        .iter()
        .filter(|(_, p)| p.wants(event))
        .map(|(user, _)| *user)
        .collect();
    wanted.sort_unstable();
    wanted
}
