//! The email log's decoder, for both databases' rows.

use nexus_core::StoreError;
use nexus_core::ports::emails::{EmailRecord, EmailState};

use super::{Columns, TableRow};

/// A row of `email_log`.
pub(crate) fn email(row: &impl Columns) -> Result<EmailRecord, StoreError> {
    let r = TableRow::new(row, "email_log");
    let state = r.text("state")?;
    Ok(EmailRecord {
        id: r.integer("id")?,
        to: r.string("to_address")?,
        template: r.string("template")?,
        subject: r.string("subject")?,
        state: EmailState::parse(state).ok_or_else(|| StoreError::Corrupt {
            message: format!("email_log.state: {state:?} is not a state"),
        })?,
        attempts: r.integer("attempts")?,
        provider_id: r.opt_string("provider_id")?,
        last_error: r.opt_string("last_error")?,
        created_at: r.time("created_at")?,
        updated_at: r.time("updated_at")?,
        sent_at: r.opt_time("sent_at")?,
        delivered_at: r.opt_time("delivered_at")?,
    })
}
