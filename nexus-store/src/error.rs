//! sqlx errors classified into the core's [`StoreError`].

use nexus_core::StoreError;

/// Classifies a sqlx error: constraint violations keep the constraint's name (the server
/// maps it to an API error), connection and pool failures are retryable.
pub(crate) fn classify(err: sqlx::Error) -> StoreError {
    match err {
        sqlx::Error::Database(db) if db.constraint().is_some() || db.is_unique_violation() => {
            StoreError::Conflict {
                constraint: db.constraint().unwrap_or("unique").to_owned(),
            }
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

/// A stored value that does not parse back.
pub(crate) fn corrupt(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        message: format!("{what}: {detail}"),
    }
}
