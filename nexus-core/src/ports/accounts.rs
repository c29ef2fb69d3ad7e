//! Users, bots and positions: the records the server and the engine read and write.

use std::collections::HashMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::error::StoreError;
use crate::fanout::BotConfig;
use crate::ids::{BotId, UserId};
use crate::instrument::{ExchangeId, Symbol};
use crate::market::Interval;
use crate::money::Notional;
use crate::ports::credentials::CredentialId;
use crate::position::Position;

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A customer.
    User,
    /// An operator.
    Admin,
}

impl Role {
    /// The stored name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Admin => "admin",
        }
    }
}

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    /// Its id.
    pub id: UserId,
    /// The email address, as given.
    pub email: String,
    /// The role.
    pub role: Role,
    /// When the email address was verified.
    pub email_verified_at: Option<Timestamp>,
    /// When the account was created.
    pub created_at: Timestamp,
}

/// User accounts.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Creates a user; [`StoreError::Conflict`] `users_email_key` when the email address
    /// (compared case-insensitively) is taken.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn create_user(
        &self,
        id: UserId,
        email: &str,
        password_hash: Option<&str>,
        role: Role,
        now: Timestamp,
    ) -> Result<UserRecord, StoreError>;

    /// A user by id.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn user(&self, id: UserId) -> Result<Option<UserRecord>, StoreError>;

    /// A user by email address (case-insensitive), with the password hash.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn user_by_email(
        &self,
        email: &str,
    ) -> Result<Option<(UserRecord, Option<String>)>, StoreError>;

    /// The plan in force for the user as last enforced (see
    /// [`crate::billing::entitlement`]); `None` when they never had one (the free plan).
    ///
    /// # Errors
    /// [`StoreError`].
    async fn user_plan(&self, user: UserId) -> Result<Option<String>, StoreError>;

    /// Puts the user on `plan` (an active subscription without a payment provider: admins
    /// and tests; billing sets it through Stripe later).
    ///
    /// # Errors
    /// [`StoreError`].
    async fn set_user_plan(
        &self,
        user: UserId,
        plan: &str,
        now: Timestamp,
    ) -> Result<(), StoreError>;

    /// Users in creation order, `limit` at a time after `after` (admins).
    ///
    /// # Errors
    /// [`StoreError`].
    async fn list_users(
        &self,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<UserRecord>, StoreError>;

    /// Changes a user's role; `false` when there is no such user.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn set_role(&self, user: UserId, role: Role, now: Timestamp) -> Result<bool, StoreError>;
}

/// A bot as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BotRecord {
    /// Its id.
    pub id: BotId,
    /// Its owner.
    pub user: UserId,
    /// The owner's name for it.
    pub name: String,
    /// The venue.
    pub exchange: ExchangeId,
    /// The pair.
    pub symbol: Symbol,
    /// The candle interval its strategy runs on.
    pub interval: Interval,
    /// The strategy's name (`trend_breakout`).
    pub strategy: String,
    /// The strategy's parameters, as JSON.
    pub strategy_config: String,
    /// Gate, sizing and pyramiding.
    pub config: BotConfig,
    /// The exchange key it trades with.
    pub credential: Option<CredentialId>,
    /// Paused (by its owner, or by the engine).
    pub paused: bool,
    /// Why the engine paused it (`internal_error: …`); `None` when its owner paused it, or
    /// it runs. Resuming it clears this.
    pub paused_reason: Option<String>,
}

/// Which active bots a signal goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BotFilter<'a> {
    /// The venue.
    pub exchange: ExchangeId,
    /// The pair.
    pub symbol: Symbol,
    /// The strategy's name.
    pub strategy: &'a str,
    /// Only bots on this candle interval (`None`: any).
    pub interval: Option<Interval>,
    /// Only bots with exactly these strategy parameters, as stored (`None`: any).
    pub strategy_config: Option<&'a str>,
}

/// One strategy evaluation: every active bot with the same key shares its signals.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StrategyMarket {
    /// The venue.
    pub exchange: ExchangeId,
    /// The pair.
    pub symbol: Symbol,
    /// The candle interval.
    pub interval: Interval,
    /// The strategy's name.
    pub strategy: String,
    /// Its parameters, as stored (normalised JSON: equal parameters, equal text).
    pub strategy_config: String,
}

impl StrategyMarket {
    /// The filter selecting this market's bots.
    #[must_use]
    pub fn filter(&self) -> BotFilter<'_> {
        BotFilter {
            exchange: self.exchange,
            symbol: self.symbol,
            strategy: &self.strategy,
            interval: Some(self.interval),
            strategy_config: Some(&self.strategy_config),
        }
    }
}

/// An active bot with what planning its order needs besides the account's balances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscribedBot {
    /// The bot.
    pub bot: BotRecord,
    /// Its open position.
    pub position: Option<Position>,
    /// The largest order its owner's plan allows (`None`: no limit).
    pub max_order_notional: Option<Notional>,
}

/// What a user's bots take up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BotUsage {
    /// Bots.
    pub bots: u32,
    /// Distinct (exchange, symbol) pairs they trade.
    pub pairs: u32,
}

/// Bots.
#[async_trait]
pub trait BotStore: Send + Sync {
    /// Stores a new bot.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn create_bot(&self, bot: &BotRecord, now: Timestamp) -> Result<(), StoreError>;

    /// A bot by id.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn bot(&self, id: BotId) -> Result<Option<BotRecord>, StoreError>;

    /// Which bots of `ids` exist, each with the exchange key it trades with (`None`: no
    /// key set), in one query: what a worker's batch of orders needs of its bots (whole
    /// bots took 2.4 ms of database a batch of 250 at 100,000 bots, these 1.5, and their
    /// settings no longer need decoding).
    ///
    /// # Errors
    /// [`StoreError`].
    async fn bot_keys(
        &self,
        ids: &[BotId],
    ) -> Result<HashMap<BotId, Option<CredentialId>>, StoreError>;

    /// Active (not paused) bots that `filter` selects, in id order, `limit` at a time after
    /// `after`, each with its open position and its owner's plan limits: the fan-out loads
    /// them in pages, one query per page.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn active_bots(
        &self,
        filter: &BotFilter<'_>,
        after: Option<BotId>,
        limit: u32,
    ) -> Result<Vec<SubscribedBot>, StoreError>;

    /// Every distinct (exchange, symbol, interval, strategy, parameters) that active bots
    /// run: what the scheduler evaluates, once each, however many bots share it.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn active_markets(&self) -> Result<Vec<StrategyMarket>, StoreError>;

    /// `user`'s bots in id order, `limit` at a time after `after`.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn user_bots(
        &self,
        user: UserId,
        after: Option<BotId>,
        limit: u32,
    ) -> Result<Vec<BotRecord>, StoreError>;

    /// Replaces one of `bot.user`'s bots (everything but its id, owner and creation time);
    /// `false` when that user has no such bot.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn update_bot(&self, bot: &BotRecord, now: Timestamp) -> Result<bool, StoreError>;

    /// Deletes one of `user`'s bots (with its positions and orders); `false` when `user`
    /// has no such bot.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn delete_bot(&self, user: UserId, id: BotId) -> Result<bool, StoreError>;

    /// How many bots `user` runs (paused ones aside), and on how many distinct (exchange,
    /// symbol) pairs: what plan limits count.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn bot_usage(&self, user: UserId) -> Result<BotUsage, StoreError>;

    /// Pauses or resumes one of `user`'s bots (clearing any reason the engine gave);
    /// `false` when `user` has no such bot.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn set_paused(
        &self,
        user: UserId,
        id: BotId,
        paused: bool,
        now: Timestamp,
    ) -> Result<bool, StoreError>;

    /// Pauses a bot for the engine, saying why (`internal_error: …`), so its work is not
    /// retried until its owner resumes it; `false` when there is no such bot.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn pause_bot(&self, id: BotId, reason: &str, now: Timestamp) -> Result<bool, StoreError>;
}

/// Bots' positions.
#[async_trait]
pub trait PositionStore: Send + Sync {
    /// The bot's open position.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn open_position(&self, bot: BotId) -> Result<Option<Position>, StoreError>;

    /// The open positions of `bots` that have one, in one query.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn open_positions(&self, bots: &[BotId]) -> Result<Vec<(BotId, Position)>, StoreError>;

    /// Creates or updates the bot's open position.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn save_position(
        &self,
        bot: BotId,
        position: &Position,
        now: Timestamp,
    ) -> Result<(), StoreError>;

    /// Closes the bot's open position, recording the dust left behind; `false` when none
    /// was open.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn close_position(
        &self,
        bot: BotId,
        dust: crate::money::Quantity,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_stored_by_their_wire_names() {
        for role in [Role::User, Role::Admin] {
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{}\"", role.as_str()));
        }
        assert_eq!(Role::Admin.as_str(), "admin");
    }
}
