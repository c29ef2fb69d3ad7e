//! sqlx errors classified into the core's [`StoreError`].

use nexus_core::StoreError;

/// Classifies a sqlx error: constraint violations keep the constraint's name (the server
/// maps it to an API error; SQLite names no foreign key, so it gives its message), connection
/// and pool failures are retryable.
pub(crate) fn classify(err: sqlx::Error) -> StoreError {
    match err {
        sqlx::Error::Database(db)
            if db.constraint().is_some()
                || db.is_unique_violation()
                || db.is_foreign_key_violation() =>
        {
            let constraint = match db.constraint() {
                Some(name) => name.to_owned(),
                None => sqlite_constraint(db.message()),
            };
            StoreError::Conflict { constraint }
        }
        sqlx::Error::RowNotFound => StoreError::NotFound {
            what: "row".to_owned(),
        },
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_) => StoreError::Corrupt {
            message: err.to_string(),
        },
        other => StoreError::Unavailable {
            message: other.to_string(),
            source: Some(Box::new(other)),
        },
    }
}

/// SQLite names the columns of a violated unique constraint, not the constraint
/// (`UNIQUE constraint failed: users.email`): map them to the names PostgreSQL reports, so
/// callers see one stable name whatever the backend.
fn sqlite_constraint(message: &str) -> String {
    let columns = message
        .strip_prefix("UNIQUE constraint failed: ")
        .unwrap_or(message);
    let name = match columns {
        "users.id" => "users_pkey",
        "users.email" => "users_email_key",
        "sessions.token_hash" => "sessions_token_key",
        "subscriptions.stripe_subscription_id" => "subscriptions_stripe_key",
        "orders.exchange, orders.client_order_id" => "orders_client_order_key",
        "fills.order_id, fills.venue_trade_id" => "fills_trade_key",
        "jobs.unique_key" => "jobs_unique_key",
        "positions.bot_id" => "positions_open_key",
        other => other,
    };
    name.to_owned()
}

/// A stored value that does not parse back.
pub(crate) fn corrupt(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        message: format!("{what}: {detail}"),
    }
}
