//! The advisor's call records on PostgreSQL.

use async_trait::async_trait;
use nexus_core::ports::advisor::{AdvisorStore, LlmCall, VerdictKey};
use nexus_core::{StoreError, Timestamp};
use rust_decimal::Decimal;

use super::PostgresStore;
use crate::codec;
use crate::error::classify;

macro_rules! call_columns {
    () => {
        "id, at, provider, model, exchange, symbol, interval, candle, action, prompt_hash,
    request, response, tokens_in, tokens_out, cost_usd, latency_ms, outcome, verdict, reason"
    };
}

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[async_trait]
impl AdvisorStore for PostgresStore {
    async fn record_llm_call(&self, call: &LlmCall) -> Result<i64, StoreError> {
        sqlx::query_scalar(
            "INSERT INTO llm_calls (at, provider, model, exchange, symbol, interval, candle,
                 action, prompt_hash, request, response, tokens_in, tokens_out, cost_usd,
                 latency_ms, outcome, verdict, reason)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
             RETURNING id",
        )
        .bind(call.at)
        .bind(&call.provider)
        .bind(&call.model)
        .bind(call.key.exchange.as_str())
        .bind(call.key.symbol.to_string())
        .bind(call.key.interval.as_str())
        .bind(call.key.candle)
        .bind(codec::action_name(call.key.action))
        .bind(&call.prompt_hash)
        .bind(&call.request)
        .bind(call.response.as_deref())
        .bind(count(call.tokens_in))
        .bind(count(call.tokens_out))
        .bind(call.cost_usd)
        .bind(count(call.latency_ms))
        .bind(&call.outcome)
        .bind(call.verdict.map(codec::verdict_name))
        .bind(call.reason.as_deref())
        .fetch_one(&self.pool)
        .await
        .map_err(classify)
    }

    async fn cached_verdict(&self, key: &VerdictKey) -> Result<Option<LlmCall>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            call_columns!(),
            " FROM llm_calls WHERE exchange = $1 AND symbol = $2 AND interval = $3 AND candle = $4
                 AND action = $5 AND verdict IS NOT NULL ORDER BY id LIMIT 1"
        ))
        .bind(key.exchange.as_str())
        .bind(key.symbol.to_string())
        .bind(key.interval.as_str())
        .bind(key.candle)
        .bind(codec::action_name(key.action))
        .fetch_optional(&self.pool)
        .await
        .map_err(classify)?;
        row.as_ref().map(codec::llm_call).transpose()
    }

    async fn llm_spend(&self, since: Timestamp) -> Result<Decimal, StoreError> {
        let spent: Option<Decimal> =
            sqlx::query_scalar("SELECT SUM(cost_usd) FROM llm_calls WHERE at >= $1")
                .bind(since)
                .fetch_one(&self.pool)
                .await
                .map_err(classify)?;
        Ok(spent.unwrap_or_default())
    }

    async fn llm_calls_between(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<LlmCall>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            call_columns!(),
            " FROM llm_calls WHERE at >= $1 AND at < $2 ORDER BY id"
        ))
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await
        .map_err(classify)?;
        rows.iter().map(codec::llm_call).collect()
    }

    async fn llm_calls(&self, before: Option<i64>, limit: u32) -> Result<Vec<LlmCall>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            call_columns!(),
            " FROM llm_calls WHERE $1::bigint IS NULL OR id < $1 ORDER BY id DESC LIMIT $2"
        ))
        .bind(before)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(classify)?;
        rows.iter().map(codec::llm_call).collect()
    }
}
