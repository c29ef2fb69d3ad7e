//! The record decoders: one per core record, for both databases' rows.

use nexus_core::fanout::BotConfig;
use nexus_core::ports::accounts::{BotRecord, BotUsage, StrategyMarket, SubscribedBot, UserRecord};
use nexus_core::ports::activity::{FillRecord, OrderRecord, PositionRecord, SkipRecord};
use nexus_core::ports::credentials::{CredentialId, CredentialInfo};
use nexus_core::ports::jobs::{Job, JobId};
use nexus_core::ports::oauth::PendingLogin;
use nexus_core::ports::sessions::{ActiveSession, SessionId, SessionSummary};
use nexus_core::{BotId, KeyPermissions, Position, Secret, SignalId, StoreError, UserId};

use super::{Columns, TableRow};
use crate::common::credential_context;
use crate::vault::Sealed;

/// A user from `users`' `id, email, role, email_verified_at, created_at`.
pub(crate) fn user(row: &impl Columns) -> Result<UserRecord, StoreError> {
    let r = TableRow::new(row, "users");
    Ok(UserRecord {
        id: UserId::new(r.uuid("id")?),
        email: r.string("email")?,
        role: r.role("role")?,
        email_verified_at: r.opt_time("email_verified_at")?,
        created_at: r.time("created_at")?,
    })
}

/// A session joined with its user (`session_id`, `session_started`, `session_expires`
/// and the user's columns).
pub(crate) fn active_session(row: &impl Columns) -> Result<ActiveSession, StoreError> {
    let r = TableRow::new(row, "sessions");
    Ok(ActiveSession {
        id: SessionId(r.uuid("session_id")?),
        started_at: r.time("session_started")?,
        expires_at: r.time("session_expires")?,
        user: user(row)?,
    })
}

/// A session of a user's list from `sessions`' `id, started_at, created_at, expires_at,
/// user_agent, ip`.
pub(crate) fn session_summary(row: &impl Columns) -> Result<SessionSummary, StoreError> {
    let r = TableRow::new(row, "sessions");
    Ok(SessionSummary {
        id: SessionId(r.uuid("id")?),
        started_at: r.time("started_at")?,
        issued_at: r.time("created_at")?,
        expires_at: r.time("expires_at")?,
        user_agent: r.opt_string("user_agent")?,
        ip: r.opt_string("ip")?,
    })
}

/// A pending sign-in with an identity provider from `oauth_logins`.
pub(crate) fn pending_login(row: &impl Columns) -> Result<PendingLogin, StoreError> {
    let r = TableRow::new(row, "oauth_logins");
    Ok(PendingLogin {
        provider: r.string("provider")?,
        code_verifier: Secret::new(r.text("code_verifier")?),
        nonce: r.string("nonce")?,
        created_at: r.time("created_at")?,
        expires_at: r.time("expires_at")?,
    })
}

/// A bot from the `bots` columns its stores select (the JSON ones as text).
pub(crate) fn bot(row: &impl Columns) -> Result<BotRecord, StoreError> {
    let r = TableRow::new(row, "bots");
    Ok(BotRecord {
        id: BotId::new(r.uuid("id")?),
        user: UserId::new(r.uuid("user_id")?),
        name: r.string("name")?,
        exchange: r.parse("exchange")?,
        symbol: r.parse("symbol")?,
        interval: r.parse("interval")?,
        strategy: r.string("strategy")?,
        strategy_config: r.string("strategy_config")?,
        config: BotConfig {
            gate: r.json("gate")?,
            sizing: r.json("sizing")?,
            pyramid: r.json("pyramid")?,
        },
        credential: r.opt_uuid("credential_id")?.map(CredentialId),
        paused: r.flag("paused")?,
        paused_reason: r.opt_string("paused_reason")?,
    })
}

/// A bot's id and its exchange key, from `bots`' `id, credential_id`.
pub(crate) fn bot_key(row: &impl Columns) -> Result<(BotId, Option<CredentialId>), StoreError> {
    let r = TableRow::new(row, "bots");
    Ok((
        BotId::new(r.uuid("id")?),
        r.opt_uuid("credential_id")?.map(CredentialId),
    ))
}

/// A bot with its open position (`positions` columns prefixed `p_`) and its owner's
/// plan limit (`max_order_notional`), as the engine's page of active bots selects them.
pub(crate) fn subscribed_bot(row: &impl Columns) -> Result<SubscribedBot, StoreError> {
    Ok(SubscribedBot {
        bot: bot(row)?,
        position: open_position(row, "p_")?,
        max_order_notional: TableRow::new(row, "plans").opt_notional("max_order_notional")?,
    })
}

/// A distinct market and strategy of the unpaused bots.
pub(crate) fn strategy_market(row: &impl Columns) -> Result<StrategyMarket, StoreError> {
    let r = TableRow::new(row, "bots");
    Ok(StrategyMarket {
        exchange: r.parse("exchange")?,
        symbol: r.parse("symbol")?,
        interval: r.parse("interval")?,
        strategy: r.string("strategy")?,
        strategy_config: r.string("strategy_config")?,
    })
}

/// A user's bot count (`bots`) and distinct pairs (`pairs`).
pub(crate) fn bot_usage(row: &impl Columns) -> Result<BotUsage, StoreError> {
    let r = TableRow::new(row, "bots");
    Ok(BotUsage {
        bots: r.integer("bots")?,
        pairs: r.integer("pairs")?,
    })
}

/// The open position in `positions`' columns named `{prefix}quantity`, …; `None` when
/// they are NULL (no open position on a left join).
pub(crate) fn open_position(
    row: &impl Columns,
    prefix: &'static str,
) -> Result<Option<Position>, StoreError> {
    let r = TableRow::prefixed(row, "positions", prefix);
    if r.opt_decimal("quantity")?.is_none() {
        return Ok(None);
    }
    Ok(Some(Position::from_parts(
        r.parse("symbol")?,
        r.quantity("quantity")?,
        r.notional("cost")?,
        r.quantity("initial_quantity")?,
        r.notional("initial_cost")?,
        r.price("last_fill_price")?,
        r.time("last_fill_at")?,
        r.integer("adds")?,
    )))
}

/// The bot an open position belongs to (`positions.bot_id`).
pub(crate) fn position_bot(row: &impl Columns) -> Result<BotId, StoreError> {
    Ok(BotId::new(TableRow::new(row, "positions").uuid("bot_id")?))
}

/// A position, open or closed, from `positions`' history columns.
pub(crate) fn position_record(row: &impl Columns) -> Result<PositionRecord, StoreError> {
    let r = TableRow::new(row, "positions");
    Ok(PositionRecord {
        id: r.uuid("id")?,
        symbol: r.parse("symbol")?,
        quantity: r.quantity("quantity")?,
        cost: r.notional("cost")?,
        adds: r.integer("adds")?,
        dust: r.quantity("dust")?,
        opened_at: r.time("opened_at")?,
        closed_at: r.opt_time("closed_at")?,
    })
}

/// What may be shown of stored exchange credentials (never the secret).
pub(crate) fn credential_info(row: &impl Columns) -> Result<CredentialInfo, StoreError> {
    let r = TableRow::new(row, "exchange_credentials");
    Ok(CredentialInfo {
        id: CredentialId(r.uuid("id")?),
        user: UserId::new(r.uuid("user_id")?),
        exchange: r.parse("exchange")?,
        label: r.string("label")?,
        masked_key: r.string("masked_key")?,
        permissions: KeyPermissions {
            read: r.flag("can_read")?,
            trade: r.flag("can_trade")?,
            withdraw: r.flag("can_withdraw")?,
        },
        created_at: r.time("created_at")?,
    })
}

/// Sealed exchange credentials as stored, with the associated data that binds them to
/// their row.
pub(crate) struct SealedCredentials {
    /// The row's id.
    pub id: CredentialId,
    /// The AEAD's associated data (the row's identity).
    pub context: Vec<u8>,
    /// Key id, nonce and ciphertext.
    pub sealed: Sealed,
}

/// Sealed credentials from `exchange_credentials`' `id, user_id, exchange, key_id, nonce,
/// ciphertext`.
pub(crate) fn sealed_credentials(row: &impl Columns) -> Result<SealedCredentials, StoreError> {
    let r = TableRow::new(row, "exchange_credentials");
    let id = CredentialId(r.uuid("id")?);
    Ok(SealedCredentials {
        id,
        context: credential_context(id, UserId::new(r.uuid("user_id")?), r.parse("exchange")?),
        sealed: Sealed {
            key_id: r.string("key_id")?,
            nonce: r.bytes("nonce")?,
            ciphertext: r.bytes("ciphertext")?,
        },
    })
}

/// An order from every column of `orders`.
pub(crate) fn order(row: &impl Columns) -> Result<OrderRecord, StoreError> {
    let r = TableRow::new(row, "orders");
    Ok(OrderRecord {
        id: r.uuid("id")?,
        bot: BotId::new(r.uuid("bot_id")?),
        user: UserId::new(r.uuid("user_id")?),
        signal: SignalId::new(r.uuid("signal_id")?),
        client_order_id: r.parse("client_order_id")?,
        exchange: r.parse("exchange")?,
        symbol: r.parse("symbol")?,
        side: r.side("side")?,
        order_type: r.order_type("order_type")?,
        quantity: r.quantity("quantity")?,
        limit_price: r.opt_price("limit_price")?,
        level: r.integer("level")?,
        state: r.parse("status")?,
        venue_order_id: r.opt_string("venue_order_id")?,
        filled_quantity: r.quantity("filled_quantity")?,
        average_price: r.opt_price("average_price")?,
        error: r.opt_string("error")?,
        created_at: r.time("created_at")?,
        updated_at: r.time("updated_at")?,
    })
}

/// A fill with its row id (the page cursor) from every column of `fills`.
pub(crate) fn fill(row: &impl Columns) -> Result<(i64, FillRecord), StoreError> {
    let r = TableRow::new(row, "fills");
    Ok((
        r.integer("id")?,
        FillRecord {
            order: r.uuid("order_id")?,
            venue_trade_id: r.string("venue_trade_id")?,
            quantity: r.quantity("quantity")?,
            price: r.price("price")?,
            fee: r.quantity("fee")?,
            fee_asset: r.opt_parse("fee_asset")?,
            filled_at: r.time("filled_at")?,
        },
    ))
}

/// A skip with its row id (the page cursor) from `skips`.
pub(crate) fn skip(row: &impl Columns) -> Result<(i64, SkipRecord), StoreError> {
    let r = TableRow::new(row, "skips");
    Ok((
        r.integer("id")?,
        SkipRecord {
            bot: BotId::new(r.uuid("bot_id")?),
            signal: SignalId::new(r.uuid("signal_id")?),
            reason: r.string("reason")?,
            detail: r.string("detail")?,
            at: r.time("at")?,
        },
    ))
}

/// A job from `jobs`' `job_columns!()`.
pub(crate) fn job(row: &impl Columns) -> Result<Job, StoreError> {
    let r = TableRow::new(row, "jobs");
    Ok(Job {
        id: JobId(r.integer("id")?),
        kind: r.parse("kind")?,
        payload: r.string("payload")?,
        unique_key: r.opt_string("unique_key")?,
        priority: r.integer("priority")?,
        attempts: r.integer("attempts")?,
        max_attempts: r.integer("max_attempts")?,
        last_error: r.opt_string("last_error")?,
        state: r.parse("state")?,
    })
}
