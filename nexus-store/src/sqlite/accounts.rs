//! Users, bots, positions and exchange credentials on SQLite.

use async_trait::async_trait;
use nexus_core::ports::accounts::{
    BotFilter, BotRecord, BotStore, BotUsage, PositionStore, Role, StrategyMarket, SubscribedBot,
    UserRecord, UserStore,
};
use nexus_core::ports::credentials::{
    ApiCredentials, CredentialId, CredentialInfo, CredentialStore, mask,
};
use nexus_core::{
    BotId, ExchangeId, KeyPermissions, Notional, Position, Price, Quantity, StoreError, Timestamp,
    UserId,
};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

use super::{SqliteStore, dec, from_dec, from_ms, ms};
use crate::common::{
    bot_json, credential_context, from_json, open_credentials, parse, seal_credentials,
};
use crate::error::{classify, corrupt};
use crate::vault::Sealed;

pub(super) fn user(row: &SqliteRow) -> Result<UserRecord, StoreError> {
    let id: String = row.get("id");
    let role: String = row.get("role");
    let verified: Option<i64> = row.get("email_verified_at");
    Ok(UserRecord {
        id: parse("user id", &id)?,
        email: row.get("email"),
        role: if role == "admin" {
            Role::Admin
        } else {
            Role::User
        },
        email_verified_at: verified.map(from_ms).transpose()?,
        created_at: from_ms(row.get("created_at"))?,
    })
}

pub(super) async fn save_position_in(
    e: impl sqlx::SqliteExecutor<'_>,
    bot: BotId,
    p: &Position,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO positions (id, bot_id, symbol, quantity, cost, initial_quantity, initial_cost,
             last_fill_price, last_fill_at, adds, opened_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT (bot_id) WHERE closed_at IS NULL DO UPDATE SET
             symbol = excluded.symbol, quantity = excluded.quantity, cost = excluded.cost,
             initial_quantity = excluded.initial_quantity, initial_cost = excluded.initial_cost,
             last_fill_price = excluded.last_fill_price, last_fill_at = excluded.last_fill_at,
             adds = excluded.adds",
    )
    .bind(Uuid::new_v4().to_string())
    .bind(bot.to_string())
    .bind(p.symbol().to_string())
    .bind(dec(p.quantity().value()))
    .bind(dec(p.cost().value()))
    .bind(dec(p.initial_quantity().value()))
    .bind(dec(p.initial_cost().value()))
    .bind(dec(p.last_fill_price().value()))
    .bind(ms(p.last_fill_at()))
    .bind(i64::from(p.adds()))
    .bind(ms(now))
    .execute(e)
    .await
    .map_err(classify)?;
    Ok(())
}

pub(super) async fn close_position_in(
    e: impl sqlx::SqliteExecutor<'_>,
    bot: BotId,
    dust: Quantity,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE positions SET closed_at = ?, dust = ? WHERE bot_id = ? AND closed_at IS NULL",
    )
    .bind(ms(now))
    .bind(dec(dust.value()))
    .bind(bot.to_string())
    .execute(e)
    .await
    .map_err(classify)?;
    Ok(done.rows_affected() == 1)
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn create_user(
        &self,
        id: UserId,
        email: &str,
        password_hash: Option<&str>,
        role: Role,
        now: Timestamp,
    ) -> Result<UserRecord, StoreError> {
        let row = sqlx::query(
            "INSERT INTO users (id, email, password_hash, role, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5)
             RETURNING id, email, role, email_verified_at, created_at",
        )
        .bind(id.to_string())
        .bind(email)
        .bind(password_hash)
        .bind(role.as_str())
        .bind(ms(now))
        .fetch_one(&self.writer)
        .await
        .map_err(classify)?;
        user(&row)
    }

    async fn user(&self, id: UserId) -> Result<Option<UserRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT id, email, role, email_verified_at, created_at FROM users WHERE id = ?",
        )
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(classify)?;
        row.as_ref().map(user).transpose()
    }

    async fn user_by_email(
        &self,
        email: &str,
    ) -> Result<Option<(UserRecord, Option<String>)>, StoreError> {
        let row = sqlx::query(
            "SELECT id, email, role, email_verified_at, created_at, password_hash FROM users
             WHERE email = ? COLLATE NOCASE",
        )
        .bind(email)
        .fetch_optional(&self.pool)
        .await
        .map_err(classify)?;
        row.map(|r| Ok((user(&r)?, r.get("password_hash"))))
            .transpose()
    }

    async fn user_plan(&self, id: UserId) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar(
            "SELECT plan_id FROM subscriptions WHERE user_id = ? AND status IN ('active', 'trialing')",
        )
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(classify)
    }

    async fn set_user_plan(
        &self,
        id: UserId,
        plan: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO subscriptions (user_id, plan_id, status, updated_at) VALUES (?1, ?2, 'active', ?3)
             ON CONFLICT (user_id) DO UPDATE SET plan_id = ?2, status = 'active', updated_at = ?3",
        )
        .bind(id.to_string())
        .bind(plan)
        .bind(ms(now))
        .execute(&self.writer)
        .await
        .map_err(classify)?;
        Ok(())
    }

    async fn list_users(
        &self,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<UserRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, email, role, email_verified_at, created_at FROM users
             WHERE id > ? ORDER BY id LIMIT ?",
        )
        .bind(after.map(|a| a.to_string()).unwrap_or_default())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(classify)?;
        rows.iter().map(user).collect()
    }

    async fn set_role(&self, id: UserId, role: Role, now: Timestamp) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE users SET role = ?, updated_at = ? WHERE id = ?")
            .bind(role.as_str())
            .bind(ms(now))
            .bind(id.to_string())
            .execute(&self.writer)
            .await
            .map_err(classify)?;
        Ok(done.rows_affected() == 1)
    }
}

macro_rules! bot_columns {
    () => {
        "id, user_id, name, exchange, symbol, interval, strategy, strategy_config,
    gate, sizing, pyramid, credential_id, paused"
    };
    (b) => {
        "b.id, b.user_id, b.name, b.exchange, b.symbol, b.interval, b.strategy, b.strategy_config,
    b.gate, b.sizing, b.pyramid, b.credential_id, b.paused"
    };
}

/// The open position in `row`'s columns named `{prefix}quantity`, …; `None` when they are
/// NULL (no open position on a left join).
fn position(row: &SqliteRow, prefix: &str) -> Result<Option<Position>, StoreError> {
    let column = |name: &str| format!("{prefix}{name}");
    let Some(quantity) = row
        .try_get::<Option<String>, _>(column("quantity").as_str())
        .map_err(|e| corrupt("quantity", e))?
    else {
        return Ok(None);
    };
    let d = |name: &str| from_dec(&row.get::<String, _>(column(name).as_str()));
    let notional = |name: &str| Notional::new(d(name)?).map_err(|e| corrupt(name, e));
    let symbol: String = row.get(column("symbol").as_str());
    Ok(Some(Position::from_parts(
        parse("symbol", &symbol)?,
        Quantity::new(from_dec(&quantity)?).map_err(|e| corrupt("quantity", e))?,
        notional("cost")?,
        Quantity::new(d("initial_quantity")?).map_err(|e| corrupt("initial_quantity", e))?,
        notional("initial_cost")?,
        Price::new(d("last_fill_price")?).map_err(|e| corrupt("last_fill_price", e))?,
        from_ms(row.get(column("last_fill_at").as_str()))?,
        u32::try_from(row.get::<i64, _>(column("adds").as_str())).unwrap_or(0),
    )))
}

fn bot(row: &SqliteRow) -> Result<BotRecord, StoreError> {
    let text = |name: &str| -> String { row.get(name) };
    let credential: Option<String> = row.get("credential_id");
    Ok(BotRecord {
        id: parse("bot id", &text("id"))?,
        user: parse("user id", &text("user_id"))?,
        name: text("name"),
        exchange: parse("exchange", &text("exchange"))?,
        symbol: parse("symbol", &text("symbol"))?,
        interval: parse("interval", &text("interval"))?,
        strategy: text("strategy"),
        strategy_config: text("strategy_config"),
        config: nexus_core::fanout::BotConfig {
            gate: from_json("bot gate", &text("gate"))?,
            sizing: from_json("bot sizing", &text("sizing"))?,
            pyramid: from_json("bot pyramid", &text("pyramid"))?,
        },
        credential: credential
            .map(|c| {
                Uuid::parse_str(&c)
                    .map(CredentialId)
                    .map_err(|e| corrupt("credential id", e))
            })
            .transpose()?,
        paused: row.get("paused"),
    })
}

#[async_trait]
impl BotStore for SqliteStore {
    async fn create_bot(&self, bot: &BotRecord, now: Timestamp) -> Result<(), StoreError> {
        let json = bot_json(bot)?;
        sqlx::query(
            "INSERT INTO bots (id, user_id, name, exchange, symbol, interval, strategy, strategy_config,
                 gate, sizing, pyramid, credential_id, paused, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?14)",
        )
        .bind(bot.id.to_string())
        .bind(bot.user.to_string())
        .bind(&bot.name)
        .bind(bot.exchange.as_str())
        .bind(bot.symbol.to_string())
        .bind(bot.interval.as_str())
        .bind(&bot.strategy)
        .bind(&bot.strategy_config)
        .bind(json.gate)
        .bind(json.sizing)
        .bind(json.pyramid)
        .bind(bot.credential.map(|c| c.0.to_string()))
        .bind(bot.paused)
        .bind(ms(now))
        .execute(&self.writer)
        .await
        .map_err(classify)?;
        Ok(())
    }

    async fn bot(&self, id: BotId) -> Result<Option<BotRecord>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            bot_columns!(),
            " FROM bots WHERE id = ?"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(classify)?;
        row.as_ref().map(bot).transpose()
    }

    async fn bots(&self, ids: &[BotId]) -> Result<Vec<BotRecord>, StoreError> {
        let ids = serde_json::to_string(&ids.iter().map(ToString::to_string).collect::<Vec<_>>())
            .map_err(|e| corrupt("bot ids", e))?;
        let rows = sqlx::query(concat!(
            "SELECT ",
            bot_columns!(),
            " FROM bots WHERE id IN (SELECT value FROM json_each(?))"
        ))
        .bind(ids)
        .fetch_all(&self.pool)
        .await
        .map_err(classify)?;
        rows.iter().map(bot).collect()
    }

    async fn active_bots(
        &self,
        filter: &BotFilter<'_>,
        after: Option<BotId>,
        limit: u32,
    ) -> Result<Vec<SubscribedBot>, StoreError> {
        // One query per page: the bot, its open position and its owner's plan limit
        // (no active subscription: the free plan).
        let rows = sqlx::query(concat!(
            "SELECT ",
            bot_columns!(b),
            ", p.symbol AS p_symbol, p.quantity AS p_quantity, p.cost AS p_cost,
                 p.initial_quantity AS p_initial_quantity, p.initial_cost AS p_initial_cost,
                 p.last_fill_price AS p_last_fill_price, p.last_fill_at AS p_last_fill_at,
                 p.adds AS p_adds, pl.max_order_notional
             FROM bots b
             LEFT JOIN positions p ON p.bot_id = b.id AND p.closed_at IS NULL
             LEFT JOIN subscriptions s ON s.user_id = b.user_id AND s.status IN ('active', 'trialing')
             LEFT JOIN plans pl ON pl.id = COALESCE(s.plan_id, 'free')
             WHERE b.exchange = ?1 AND b.symbol = ?2 AND b.strategy = ?3 AND b.paused = 0
                 AND (?4 IS NULL OR b.interval = ?4)
                 AND (?5 IS NULL OR b.strategy_config = ?5)
                 AND b.id > ?6
             ORDER BY b.id LIMIT ?7"
        ))
        .bind(filter.exchange.as_str())
        .bind(filter.symbol.to_string())
        .bind(filter.strategy)
        .bind(filter.interval.map(|i| i.as_str()))
        .bind(filter.strategy_config)
        .bind(after.map(|a| a.to_string()).unwrap_or_default())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(classify)?;
        rows.iter()
            .map(|row| {
                let limit: Option<String> = row.get("max_order_notional");
                Ok(SubscribedBot {
                    bot: bot(row)?,
                    position: position(row, "p_")?,
                    max_order_notional: limit
                        .map(|l| {
                            Notional::new(from_dec(&l)?)
                                .map_err(|e| corrupt("max_order_notional", e))
                        })
                        .transpose()?,
                })
            })
            .collect()
    }

    async fn active_markets(&self) -> Result<Vec<StrategyMarket>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT exchange, symbol, interval, strategy, strategy_config
             FROM bots WHERE paused = 0
             ORDER BY exchange, symbol, interval, strategy, strategy_config",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(classify)?;
        rows.iter()
            .map(|row| {
                let text = |name: &str| -> String { row.get(name) };
                Ok(StrategyMarket {
                    exchange: parse("exchange", &text("exchange"))?,
                    symbol: parse("symbol", &text("symbol"))?,
                    interval: parse("interval", &text("interval"))?,
                    strategy: text("strategy"),
                    strategy_config: text("strategy_config"),
                })
            })
            .collect()
    }

    async fn user_bots(
        &self,
        user: UserId,
        after: Option<BotId>,
        limit: u32,
    ) -> Result<Vec<BotRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            bot_columns!(),
            " FROM bots WHERE user_id = ? AND id > ? ORDER BY id LIMIT ?"
        ))
        .bind(user.to_string())
        .bind(after.map(|a| a.to_string()).unwrap_or_default())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(classify)?;
        rows.iter().map(bot).collect()
    }

    async fn update_bot(&self, bot: &BotRecord, now: Timestamp) -> Result<bool, StoreError> {
        let json = bot_json(bot)?;
        let done = sqlx::query(
            "UPDATE bots SET name = ?1, exchange = ?2, symbol = ?3, interval = ?4, strategy = ?5,
                 strategy_config = ?6, gate = ?7, sizing = ?8, pyramid = ?9, credential_id = ?10,
                 paused = ?11, updated_at = ?12
             WHERE id = ?13 AND user_id = ?14",
        )
        .bind(&bot.name)
        .bind(bot.exchange.as_str())
        .bind(bot.symbol.to_string())
        .bind(bot.interval.as_str())
        .bind(&bot.strategy)
        .bind(&bot.strategy_config)
        .bind(json.gate)
        .bind(json.sizing)
        .bind(json.pyramid)
        .bind(bot.credential.map(|c| c.0.to_string()))
        .bind(bot.paused)
        .bind(ms(now))
        .bind(bot.id.to_string())
        .bind(bot.user.to_string())
        .execute(&self.writer)
        .await
        .map_err(classify)?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_bot(&self, user: UserId, id: BotId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM bots WHERE id = ? AND user_id = ?")
            .bind(id.to_string())
            .bind(user.to_string())
            .execute(&self.writer)
            .await
            .map_err(classify)?;
        Ok(done.rows_affected() == 1)
    }

    async fn bot_usage(&self, user: UserId) -> Result<BotUsage, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS bots, COUNT(DISTINCT exchange || ' ' || symbol) AS pairs
             FROM bots WHERE user_id = ?",
        )
        .bind(user.to_string())
        .fetch_one(&self.pool)
        .await
        .map_err(classify)?;
        let count =
            |name: &str| u32::try_from(row.get::<i64, _>(name)).map_err(|e| corrupt(name, e));
        Ok(BotUsage {
            bots: count("bots")?,
            pairs: count("pairs")?,
        })
    }

    async fn set_paused(
        &self,
        user: UserId,
        id: BotId,
        paused: bool,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE bots SET paused = ?, updated_at = ? WHERE id = ? AND user_id = ?")
                .bind(paused)
                .bind(ms(now))
                .bind(id.to_string())
                .bind(user.to_string())
                .execute(&self.writer)
                .await
                .map_err(classify)?;
        Ok(done.rows_affected() == 1)
    }
}

#[async_trait]
impl PositionStore for SqliteStore {
    async fn open_position(&self, bot: BotId) -> Result<Option<Position>, StoreError> {
        let row = sqlx::query(
            "SELECT symbol, quantity, cost, initial_quantity, initial_cost, last_fill_price, last_fill_at, adds
             FROM positions WHERE bot_id = ? AND closed_at IS NULL",
        )
        .bind(bot.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(classify)?;
        match row {
            Some(row) => position(&row, ""),
            None => Ok(None),
        }
    }

    async fn open_positions(&self, bots: &[BotId]) -> Result<Vec<(BotId, Position)>, StoreError> {
        let ids = serde_json::to_string(&bots.iter().map(ToString::to_string).collect::<Vec<_>>())
            .map_err(|e| corrupt("bot ids", e))?;
        let rows = sqlx::query(
            "SELECT bot_id, symbol, quantity, cost, initial_quantity, initial_cost, last_fill_price, last_fill_at, adds
             FROM positions WHERE bot_id IN (SELECT value FROM json_each(?)) AND closed_at IS NULL",
        )
        .bind(ids)
        .fetch_all(&self.pool)
        .await
        .map_err(classify)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            if let Some(position) = position(row, "")? {
                out.push((parse("bot id", &row.get::<String, _>("bot_id"))?, position));
            }
        }
        Ok(out)
    }

    async fn save_position(
        &self,
        bot: BotId,
        p: &Position,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        save_position_in(&self.writer, bot, p, now).await
    }

    async fn close_position(
        &self,
        bot: BotId,
        dust: Quantity,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        close_position_in(&self.writer, bot, dust, now).await
    }
}

macro_rules! credential_columns {
    () => {
        "id, user_id, exchange, label, masked_key, can_read, can_trade, can_withdraw, created_at"
    };
}

fn credential_info(row: &SqliteRow) -> Result<CredentialInfo, StoreError> {
    let id: String = row.get("id");
    let user: String = row.get("user_id");
    let exchange: String = row.get("exchange");
    Ok(CredentialInfo {
        id: CredentialId(Uuid::parse_str(&id).map_err(|e| corrupt("credential id", e))?),
        user: parse("user id", &user)?,
        exchange: parse("exchange", &exchange)?,
        label: row.get("label"),
        masked_key: row.get("masked_key"),
        permissions: KeyPermissions {
            read: row.get("can_read"),
            trade: row.get("can_trade"),
            withdraw: row.get("can_withdraw"),
        },
        created_at: from_ms(row.get("created_at"))?,
    })
}

#[async_trait]
impl CredentialStore for SqliteStore {
    async fn add_credentials(
        &self,
        user: UserId,
        exchange: ExchangeId,
        label: &str,
        credentials: &ApiCredentials,
        permissions: KeyPermissions,
        now: Timestamp,
    ) -> Result<CredentialInfo, StoreError> {
        let id = CredentialId(Uuid::new_v4());
        let sealed = seal_credentials(
            &self.keys,
            credentials,
            &credential_context(id, user, exchange),
        );
        let row = sqlx::query(concat!("INSERT INTO exchange_credentials (id, user_id, exchange, label, masked_key, key_id, nonce,
                 ciphertext, can_read, can_trade, can_withdraw, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)
             RETURNING ", credential_columns!()))
        .bind(id.0.to_string())
        .bind(user.to_string())
        .bind(exchange.as_str())
        .bind(label)
        .bind(mask(&credentials.api_key))
        .bind(&sealed.key_id)
        .bind(&sealed.nonce)
        .bind(&sealed.ciphertext)
        .bind(permissions.read)
        .bind(permissions.trade)
        .bind(permissions.withdraw)
        .bind(ms(now))
        .fetch_one(&self.writer)
        .await
        .map_err(classify)?;
        credential_info(&row)
    }

    async fn list_credentials(&self, user: UserId) -> Result<Vec<CredentialInfo>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            credential_columns!(),
            " FROM exchange_credentials WHERE user_id = ? ORDER BY created_at, id"
        ))
        .bind(user.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(classify)?;
        rows.iter().map(credential_info).collect()
    }

    async fn credentials(
        &self,
        user: UserId,
        id: CredentialId,
    ) -> Result<Option<ApiCredentials>, StoreError> {
        let row = sqlx::query(
            "SELECT exchange, key_id, nonce, ciphertext FROM exchange_credentials WHERE id = ? AND user_id = ?",
        )
        .bind(id.0.to_string())
        .bind(user.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(classify)?;
        let Some(row) = row else { return Ok(None) };
        let exchange: String = row.get("exchange");
        let sealed = Sealed {
            key_id: row.get("key_id"),
            nonce: row.get("nonce"),
            ciphertext: row.get("ciphertext"),
        };
        let context = credential_context(id, user, parse("exchange", &exchange)?);
        open_credentials(&self.keys, &sealed, &context).map(Some)
    }

    async fn delete_credentials(&self, user: UserId, id: CredentialId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM exchange_credentials WHERE id = ? AND user_id = ?")
            .bind(id.0.to_string())
            .bind(user.to_string())
            .execute(&self.writer)
            .await
            .map_err(classify)?;
        Ok(done.rows_affected() == 1)
    }
}

/// Re-encrypts up to `batch` rows under the current key. Each row is updated only if its
/// key id did not change meanwhile, so concurrent rotations cannot clobber each other.
pub(super) async fn rotate_keys(
    store: &SqliteStore,
    batch: u32,
    now: Timestamp,
) -> Result<u64, StoreError> {
    let rows = sqlx::query(
        "SELECT id, user_id, exchange, key_id, nonce, ciphertext FROM exchange_credentials
         WHERE key_id <> ? LIMIT ?",
    )
    .bind(store.keys.current_id())
    .bind(i64::from(batch))
    .fetch_all(&store.pool)
    .await
    .map_err(classify)?;
    let mut rotated = 0;
    for row in rows {
        let (id, user, exchange): (String, String, String) =
            (row.get("id"), row.get("user_id"), row.get("exchange"));
        let id = CredentialId(Uuid::parse_str(&id).map_err(|e| corrupt("credential id", e))?);
        let context =
            credential_context(id, parse("user id", &user)?, parse("exchange", &exchange)?);
        let old = Sealed {
            key_id: row.get("key_id"),
            nonce: row.get("nonce"),
            ciphertext: row.get("ciphertext"),
        };
        let plain = store
            .keys
            .open(&old, &context)
            .map_err(|e| corrupt("exchange credentials", e))?;
        let new = store.keys.seal(&plain, &context);
        rotated += sqlx::query(
            "UPDATE exchange_credentials SET key_id = ?, nonce = ?, ciphertext = ?, updated_at = ?
             WHERE id = ? AND key_id = ?",
        )
        .bind(&new.key_id)
        .bind(&new.nonce)
        .bind(&new.ciphertext)
        .bind(ms(now))
        .bind(id.0.to_string())
        .bind(&old.key_id)
        .execute(&store.writer)
        .await
        .map_err(classify)?
        .rows_affected();
    }
    Ok(rotated)
}
