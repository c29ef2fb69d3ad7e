//! The alert decoders, for both databases' rows.

use nexus_core::ports::alerts::{AlertPreferences, EmailAlerts, SummaryRecipient};
use nexus_core::{Asset, BotId, Price, Quantity, Side, StoreError, UserId};

use super::{Columns, TableRow};
use crate::vault::Sealed;

/// `alert_preferences`' `email_*`, `webhook_url` and `webhook_events`.
pub(crate) fn alert_preferences(row: &impl Columns) -> Result<AlertPreferences, StoreError> {
    let r = TableRow::new(row, "alert_preferences");
    let events = r.text("webhook_events")?;
    Ok(AlertPreferences {
        email: EmailAlerts {
            fills: r.flag("email_fills")?,
            gate_blocks: r.flag("email_gate_blocks")?,
            errors: r.flag("email_errors")?,
            daily_summary: r.flag("email_daily_summary")?,
        },
        webhook_url: r.opt_string("webhook_url")?,
        webhook_events: AlertPreferences::parse_events(events)
            .map_err(|e| r.error("webhook_events", e))?,
    })
}

/// The sealed webhook secret of `alert_preferences` (`webhook_key_id`, `webhook_nonce`,
/// `webhook_secret`), when there is one.
pub(crate) fn sealed_webhook(row: &impl Columns) -> Result<Option<Sealed>, StoreError> {
    let r = TableRow::new(row, "alert_preferences");
    let Some(key_id) = r.opt_string("webhook_key_id")? else {
        return Ok(None);
    };
    Ok(Some(Sealed {
        key_id,
        nonce: r.bytes("webhook_nonce")?,
        ciphertext: r.bytes("webhook_secret")?,
    }))
}

/// `user_id, email` of a summary recipient.
pub(crate) fn summary_recipient(row: &impl Columns) -> Result<SummaryRecipient, StoreError> {
    let r = TableRow::new(row, "alert_preferences");
    Ok(SummaryRecipient {
        user: UserId::new(r.uuid("user_id")?),
        email: r.string("email")?,
    })
}

/// A bot of the day: `id, name, exchange, symbol` of `bots`.
pub(crate) fn day_bot(
    row: &impl Columns,
) -> Result<(BotId, String, nexus_core::ExchangeId, nexus_core::Symbol), StoreError> {
    let r = TableRow::new(row, "bots");
    Ok((
        BotId::new(r.uuid("id")?),
        r.string("name")?,
        r.parse("exchange")?,
        r.parse("symbol")?,
    ))
}

/// A day's orders of one state: `bot_id, status, n`.
pub(crate) fn day_order(row: &impl Columns) -> Result<(BotId, String, u64), StoreError> {
    let r = TableRow::new(row, "orders");
    Ok((
        BotId::new(r.uuid("bot_id")?),
        r.string("status")?,
        r.integer("n")?,
    ))
}

/// A day's fill: `bot_id, side, quantity, price, fee, fee_asset`.
pub(crate) struct DayFill {
    pub(crate) bot: BotId,
    pub(crate) side: Side,
    pub(crate) quantity: Quantity,
    pub(crate) price: Price,
    pub(crate) fee: Quantity,
    pub(crate) fee_asset: Option<Asset>,
}

/// A day's fill joined with its order.
pub(crate) fn day_fill(row: &impl Columns) -> Result<DayFill, StoreError> {
    let r = TableRow::new(row, "fills");
    Ok(DayFill {
        bot: BotId::new(r.uuid("bot_id")?),
        side: r.side("side")?,
        quantity: r.quantity("quantity")?,
        price: r.price("price")?,
        fee: r.quantity("fee")?,
        fee_asset: r.opt_parse("fee_asset")?,
    })
}

/// A day's skips of one reason: `bot_id, reason, n`.
pub(crate) fn day_skips(row: &impl Columns) -> Result<(BotId, String, u64), StoreError> {
    let r = TableRow::new(row, "skips");
    Ok((
        BotId::new(r.uuid("bot_id")?),
        r.string("reason")?,
        r.integer("n")?,
    ))
}
