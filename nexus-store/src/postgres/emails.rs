//! The email log and the suppression list on PostgreSQL.

use async_trait::async_trait;
use nexus_core::ports::emails::{
    DeliveryReport, EmailAttempt, EmailFilter, EmailRecord, EmailState, EmailStore, QueuedEmail,
};
use nexus_core::ports::jobs::{JobKind, NewJob};
use nexus_core::{StoreError, Timestamp};

use super::{PostgresStore, jobs};
use crate::codec;
use crate::error::classify;

macro_rules! email_columns {
    () => {
        "id, to_address, template, subject, state, attempts, provider_id, last_error,
    created_at, updated_at, sent_at, delivered_at"
    };
}

#[async_trait]
impl EmailStore for PostgresStore {
    async fn queue_email(
        &self,
        email: &QueuedEmail<'_>,
        now: Timestamp,
    ) -> Result<i64, StoreError> {
        let mut tx = self.pool.begin().await.map_err(classify)?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO email_log (to_address, template, subject, state, created_at, updated_at)
             VALUES ($1, $2, $3, 'queued', $4, $4) RETURNING id",
        )
        .bind(email.to)
        .bind(email.template)
        .bind(email.subject)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(classify)?;
        let job = NewJob {
            max_attempts: email.max_attempts,
            ..NewJob::new(
                JobKind::Email,
                format!("{{\"log\":{id},\"email\":{}}}", email.email_json),
            )
        };
        jobs::insert(&mut *tx, &job, now).await?;
        tx.commit().await.map_err(classify)?;
        Ok(id)
    }

    async fn record_attempt(
        &self,
        id: i64,
        attempt: &EmailAttempt,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let (state, error, provider, counts) = match attempt {
            EmailAttempt::Sent(provider) => (EmailState::Sent, None, provider.as_deref(), 1),
            EmailAttempt::Retrying(e) => (EmailState::Retrying, Some(e.as_str()), None, 1),
            EmailAttempt::Failed(e) => (EmailState::Failed, Some(e.as_str()), None, 1),
            EmailAttempt::Suppressed(why) => (EmailState::Suppressed, Some(why.as_str()), None, 0),
        };
        sqlx::query(
            "UPDATE email_log SET state = $1::text, attempts = attempts + $2,
                 last_error = COALESCE($3, last_error), provider_id = COALESCE($4, provider_id),
                 sent_at = CASE WHEN $1::text = 'sent' THEN $5 ELSE sent_at END, updated_at = $5
             WHERE id = $6",
        )
        .bind(state.as_str())
        .bind(counts)
        .bind(error)
        .bind(provider)
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(classify)?;
        Ok(())
    }

    async fn record_delivery(
        &self,
        provider_id: &str,
        report: DeliveryReport,
        detail: Option<&str>,
        now: Timestamp,
    ) -> Result<Option<EmailRecord>, StoreError> {
        let mut tx = self.pool.begin().await.map_err(classify)?;
        let row = match report {
            DeliveryReport::Delivered => sqlx::query(concat!(
                "UPDATE email_log SET delivered_at = COALESCE(delivered_at, $1), updated_at = $1
                 WHERE provider_id = $2 RETURNING ",
                email_columns!()
            ))
            .bind(now)
            .bind(provider_id),
            DeliveryReport::Bounced { .. }
            | DeliveryReport::Complained
            | DeliveryReport::Failed
            | DeliveryReport::Suppressed => {
                let state = match report {
                    DeliveryReport::Complained => EmailState::Complained,
                    DeliveryReport::Failed => EmailState::Failed,
                    DeliveryReport::Suppressed => EmailState::Suppressed,
                    _ => EmailState::Bounced,
                };
                sqlx::query(concat!(
                    "UPDATE email_log SET state = $1, last_error = COALESCE($2, last_error),
                         updated_at = $3
                     WHERE provider_id = $4 RETURNING ",
                    email_columns!()
                ))
                .bind(state.as_str())
                .bind(detail)
                .bind(now)
                .bind(provider_id)
            }
        }
        .fetch_optional(&mut *tx)
        .await
        .map_err(classify)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let record = codec::email(&row)?;
        let reason = match report {
            DeliveryReport::Bounced { permanent: true } => Some("bounced"),
            DeliveryReport::Complained => Some("complained"),
            _ => None,
        };
        if let Some(reason) = reason {
            sqlx::query(
                "INSERT INTO email_suppressions (address, reason, email_id, created_at)
                 VALUES ($1, $2, $3, $4) ON CONFLICT (address) DO NOTHING",
            )
            .bind(record.to.to_lowercase())
            .bind(reason)
            .bind(record.id)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(classify)?;
        }
        tx.commit().await.map_err(classify)?;
        Ok(Some(record))
    }

    async fn suppression(&self, address: &str) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar("SELECT reason FROM email_suppressions WHERE address = $1")
            .bind(address.to_lowercase())
            .fetch_optional(&self.pool)
            .await
            .map_err(classify)
    }

    async fn emails(
        &self,
        filter: &EmailFilter,
        limit: u32,
    ) -> Result<Vec<EmailRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            email_columns!(),
            " FROM email_log
             WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR lower(to_address) = lower($2))
                 AND ($3::bigint IS NULL OR id < $3)
             ORDER BY id DESC LIMIT $4"
        ))
        .bind(filter.state.map(EmailState::as_str))
        .bind(filter.to.as_deref())
        .bind(filter.before)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(classify)?;
        rows.iter().map(codec::email).collect()
    }

    async fn email(&self, id: i64) -> Result<Option<EmailRecord>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            email_columns!(),
            " FROM email_log WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(classify)?;
        row.as_ref().map(codec::email).transpose()
    }
}
