#![allow(clippy::unwrap_used)]

use chrono::DateTime;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::*;
use crate::ids::{BotId, SignalId, UserId};
use crate::instrument::{Asset, ExchangeId, Symbol};
use crate::order::{OrderIntent, Side};

fn t(secs: i64) -> Timestamp {
    DateTime::from_timestamp(secs, 0).unwrap()
}

fn q(s: &str) -> Quantity {
    s.parse().unwrap()
}

fn p(s: &str) -> Price {
    s.parse().unwrap()
}

fn symbol() -> Symbol {
    "BTC/USDT".parse().unwrap()
}

fn plan(action: GateAction, side: Side, quantity: &str) -> ExecutionPlan {
    let signal = SignalId::new(Uuid::from_u128(1));
    let bot = BotId::new(Uuid::from_u128(2));
    ExecutionPlan {
        signal,
        user: UserId::new(Uuid::from_u128(3)),
        bot,
        exchange: ExchangeId::Paper,
        action,
        intent: OrderIntent::market(symbol(), side, q(quantity)).unwrap(),
        client_order_id: ClientOrderId::derive(signal, bot, 0),
        level: 0,
        reference_price: p("50000"),
        dust: Quantity::ZERO,
        shortfall: Quantity::ZERO,
    }
}

fn report(
    plan: &ExecutionPlan,
    status: OrderStatus,
    filled: &str,
    price: Option<&str>,
) -> OrderReport {
    OrderReport {
        client_order_id: plan.client_order_id,
        venue_order_id: "v-1".into(),
        symbol: plan.intent.symbol(),
        side: plan.intent.side(),
        status,
        quantity: plan.intent.quantity(),
        filled_quantity: q(filled),
        average_price: price.map(p),
        fee: Quantity::ZERO,
        fee_asset: None,
        updated_at: t(10),
    }
}

#[test]
fn a_filled_entry_opens_the_position_with_one_fill() {
    let plan = plan(GateAction::Entry, Side::Buy, "0.1");
    let order = planned(&plan, t(0));
    assert_eq!(order.state, OrderState::Pending);
    assert_eq!(
        order.id,
        order_id(&plan.client_order_id),
        "a replay writes the same row"
    );
    let filled = report(&plan, OrderStatus::Filled, "0.1", Some("50000"));
    let done = account(&plan, &order, &filled, None, t(11)).unwrap();
    assert_eq!(done.execution.order.state, OrderState::Filled);
    assert_eq!(done.execution.order.venue_order_id.as_deref(), Some("v-1"));
    assert_eq!(done.execution.order.updated_at, t(11));
    let fill = done.execution.fill.unwrap();
    assert_eq!((fill.quantity, fill.price), (q("0.1"), p("50000")));
    assert_eq!(fill.venue_trade_id, "v-1:0.1");
    let position = done.position.unwrap();
    assert_eq!(position.quantity(), q("0.1"));
    assert_eq!(
        done.execution.position,
        Some(PositionChange::Save(position))
    );
}

#[test]
fn a_fee_in_the_base_asset_is_subtracted_once_from_what_is_held() {
    let plan = plan(GateAction::Entry, Side::Buy, "1");
    let order = planned(&plan, t(0));
    let mut half = report(&plan, OrderStatus::PartiallyFilled, "0.5", Some("100"));
    half.fee = q("0.0005");
    half.fee_asset = Some(Asset::new("BTC").unwrap());
    let first = account(&plan, &order, &half, None, t(1)).unwrap();
    assert_eq!(first.position.unwrap().quantity(), q("0.4995"));

    let mut full = report(&plan, OrderStatus::Filled, "1", Some("100"));
    full.fee = q("0.001");
    full.fee_asset = half.fee_asset;
    let second = account(&plan, &first.execution.order, &full, first.position, t(2)).unwrap();
    let fill = second.execution.fill.unwrap();
    assert_eq!((fill.quantity, fill.fee), (q("0.5"), q("0.0005")));
    assert_eq!(second.position.unwrap().quantity(), q("0.999"));

    // A fee in the quote asset leaves the whole quantity held.
    let mut quote_fee = report(&plan, OrderStatus::Filled, "1", Some("100"));
    quote_fee.fee = q("0.1");
    quote_fee.fee_asset = Some(Asset::new("USDT").unwrap());
    let held = account(&plan, &order, &quote_fee, None, t(1)).unwrap();
    assert_eq!(held.position.unwrap().quantity(), q("1"));
}

#[test]
fn the_same_report_twice_moves_nothing() {
    let plan = plan(GateAction::Entry, Side::Buy, "0.1");
    let order = planned(&plan, t(0));
    let filled = report(&plan, OrderStatus::Filled, "0.1", Some("50000"));
    let first = account(&plan, &order, &filled, None, t(1)).unwrap();
    let again = account(&plan, &first.execution.order, &filled, first.position, t(2)).unwrap();
    assert_eq!(again.execution.fill, None);
    assert_eq!(again.execution.position, None);
    assert_eq!(again.position, first.position);
}

#[test]
fn a_partial_fill_then_the_rest_adds_only_the_rest_at_its_own_price() {
    let plan = plan(GateAction::Entry, Side::Buy, "1");
    let order = planned(&plan, t(0));
    let part = report(&plan, OrderStatus::PartiallyFilled, "0.4", Some("100"));
    let first = account(&plan, &order, &part, None, t(1)).unwrap();
    assert_eq!(first.execution.order.state, OrderState::PartiallyFilled);
    // The order's average 106 over 1 means the last 0.6 filled at 110.
    let rest = report(&plan, OrderStatus::Filled, "1", Some("106"));
    let second = account(&plan, &first.execution.order, &rest, first.position, t(2)).unwrap();
    let fill = second.execution.fill.unwrap();
    assert_eq!((fill.quantity, fill.price), (q("0.6"), p("110")));
    let position = second.position.unwrap();
    assert_eq!(position.quantity(), q("1"));
    assert_eq!(position.cost().value(), Decimal::from(106));
}

/// The venue reports an order's average over all it filled: the new part's price is what
/// makes that average, whatever the quantities (here neither is 1).
#[test]
fn a_fill_after_a_part_is_priced_by_the_averages_over_their_quantities() {
    let plan = plan(GateAction::Entry, Side::Buy, "2");
    let order = planned(&plan, t(0));
    let part = report(&plan, OrderStatus::PartiallyFilled, "0.5", Some("100"));
    let first = account(&plan, &order, &part, None, t(1)).unwrap();
    // 2 at an average of 106 cost 212; the first 0.5 cost 50: the other 1.5 cost 162.
    let rest = report(&plan, OrderStatus::Filled, "2", Some("106"));
    let second = account(&plan, &first.execution.order, &rest, first.position, t(2)).unwrap();
    let fill = second.execution.fill.unwrap();
    assert_eq!((fill.quantity, fill.price), (q("1.5"), p("108")));
    assert_eq!(second.position.unwrap().cost().value(), Decimal::from(212));
}

/// An exit the venue reports filled closes the position even when the sale left some of
/// it: what is left is the plan's dust, too small to sell, recorded with the close.
#[test]
fn a_filled_exit_closes_the_position_with_its_dust() {
    let entry = plan(GateAction::Entry, Side::Buy, "1");
    let bought = account(
        &entry,
        &planned(&entry, t(0)),
        &report(&entry, OrderStatus::Filled, "1", Some("100")),
        None,
        t(1),
    )
    .unwrap();
    let mut exit = plan(GateAction::Exit, Side::Sell, "0.9999");
    exit.client_order_id = ClientOrderId::derive(SignalId::new(Uuid::from_u128(9)), exit.bot, 0);
    exit.dust = q("0.0001");
    let sold = report(&exit, OrderStatus::Filled, "0.9999", Some("120"));
    let closed = account(&exit, &planned(&exit, t(2)), &sold, bought.position, t(3)).unwrap();
    assert_eq!(closed.position, None);
    assert_eq!(
        closed.execution.position,
        Some(PositionChange::Close { dust: q("0.0001") })
    );
}

/// An order's row id is derived from its client order id, the same in every version: a
/// replayed plan finds the row an earlier attempt (or an earlier release) wrote.
#[test]
fn an_orders_row_id_is_its_client_order_ids_uuid_v5() {
    let first = plan(GateAction::Entry, Side::Buy, "1").client_order_id;
    let second = ClientOrderId::derive(
        SignalId::new(Uuid::from_u128(9)),
        BotId::new(Uuid::from_u128(2)),
        0,
    );
    assert_eq!(
        order_id(&first),
        Uuid::new_v5(&Uuid::NAMESPACE_OID, first.as_str().as_bytes())
    );
    assert_eq!(order_id(&first), order_id(&first));
    assert_ne!(order_id(&first), order_id(&second));
}

/// Orders of time-ordered bots are keyed by their own (time-ordered) client order id, so
/// the store's order keys sort as the bots do.
#[test]
fn an_order_of_a_time_ordered_bot_is_keyed_by_its_client_order_id() {
    let bot = |text: &str| BotId::new(text.parse().unwrap());
    let signal = SignalId::new(Uuid::from_u128(9));
    let first = ClientOrderId::derive(signal, bot("01938f3a-1c00-7abc-8def-0123456789ab"), 0);
    let later = ClientOrderId::derive(signal, bot("01938f3a-1c01-7001-9000-000000000001"), 0);
    assert_eq!(order_id(&first), first.as_str().parse::<Uuid>().unwrap());
    assert!(order_id(&first) < order_id(&later));
    // A UUID of another version (a bot of an earlier release: v8) keeps its v5 row id.
    let old = ClientOrderId::derive(signal, BotId::new(Uuid::from_u128(2)), 0);
    assert_eq!(
        order_id(&old),
        Uuid::new_v5(&Uuid::NAMESPACE_OID, old.as_str().as_bytes())
    );
}

#[test]
fn an_exit_reduces_then_closes_and_never_goes_negative() {
    let entry = plan(GateAction::Entry, Side::Buy, "1");
    let bought = account(
        &entry,
        &planned(&entry, t(0)),
        &report(&entry, OrderStatus::Filled, "1", Some("100")),
        None,
        t(1),
    )
    .unwrap();
    let mut exit = plan(GateAction::Exit, Side::Sell, "1");
    exit.client_order_id = ClientOrderId::derive(SignalId::new(Uuid::from_u128(9)), exit.bot, 0);
    exit.dust = q("0.00001");
    let order = planned(&exit, t(2));
    let part = report(&exit, OrderStatus::PartiallyFilled, "0.25", Some("120"));
    let first = account(&exit, &order, &part, bought.position, t(3)).unwrap();
    assert_eq!(first.position.unwrap().quantity(), q("0.75"));
    let all = report(&exit, OrderStatus::Filled, "1", Some("120"));
    let closed = account(&exit, &first.execution.order, &all, first.position, t(4)).unwrap();
    assert_eq!(closed.position, None);
    assert_eq!(
        closed.execution.position,
        Some(PositionChange::Close { dust: q("0.00001") })
    );
    // An exit reported again after the position closed has nothing left to reduce.
    let replay = account(&exit, &order, &all, None, t(5)).unwrap();
    assert_eq!(replay.execution.position, None);
    assert!(
        replay.execution.fill.is_some(),
        "the fill itself is the store's to dedupe"
    );
}

#[test]
fn a_report_contradicting_the_record_is_an_error() {
    let plan = plan(GateAction::Entry, Side::Buy, "1");
    let order = planned(&plan, t(0));
    let full = report(&plan, OrderStatus::Filled, "1", Some("100"));
    let recorded = account(&plan, &order, &full, None, t(1))
        .unwrap()
        .execution
        .order;
    let less = report(&plan, OrderStatus::PartiallyFilled, "0.5", Some("100"));
    assert!(matches!(
        account(&plan, &recorded, &less, None, t(2)),
        Err(ExecutionError::FillWentBack { .. })
    ));
    let mut other = full.clone();
    other.client_order_id = ClientOrderId::derive(plan.signal, plan.bot, 3);
    assert!(matches!(
        account(&plan, &order, &other, None, t(2)),
        Err(ExecutionError::OtherOrder { .. })
    ));
    let priceless = report(&plan, OrderStatus::Filled, "1", None);
    let error = account(&plan, &order, &priceless, None, t(2)).unwrap_err();
    assert!(
        error.to_string().contains("without an average price"),
        "{error}"
    );
}

#[test]
fn a_fill_the_position_cannot_take_is_an_error_not_a_silent_skip() {
    // A base-asset fee as large as the fill leaves nothing to hold: opening a position
    // of zero is refused, and that must reach the worker.
    let plan = plan(GateAction::Entry, Side::Buy, "1");
    let mut eaten = report(&plan, OrderStatus::Filled, "1", Some("100"));
    eaten.fee = q("1");
    eaten.fee_asset = Some(Asset::new("BTC").unwrap());
    let error = account(&plan, &planned(&plan, t(0)), &eaten, None, t(1)).unwrap_err();
    assert!(matches!(error, ExecutionError::Position { .. }), "{error}");
}

#[test]
fn nothing_filled_changes_only_the_order() {
    let plan = plan(GateAction::Entry, Side::Buy, "1");
    let resting = report(&plan, OrderStatus::New, "0", None);
    let done = account(&plan, &planned(&plan, t(0)), &resting, None, t(1)).unwrap();
    assert_eq!(done.execution.order.state, OrderState::New);
    assert_eq!((done.execution.fill, done.execution.position), (None, None));
}

#[test]
fn refusals_map_to_what_the_worker_does() {
    let e = ExchangeId::Binance;
    let wait = Some(Duration::from_secs(3));
    assert_eq!(
        refusal(&ExchangeError::RateLimited {
            exchange: e,
            retry_after: wait
        }),
        Refusal::Retry { retry_after: wait }
    );
    let transient = ExchangeError::Transient {
        exchange: e,
        message: "503".into(),
        source: None,
    };
    assert_eq!(refusal(&transient), Refusal::Retry { retry_after: None });
    let unknown = ExchangeError::OutcomeUnknown {
        exchange: e,
        message: "timeout".into(),
    };
    assert_eq!(refusal(&unknown), Refusal::LookUp);
    let rejected = ExchangeError::Rejected {
        exchange: e,
        code: None,
        reason: "no".into(),
    };
    assert_eq!(refusal(&rejected), Refusal::Final(OrderState::Rejected));
    let poor = ExchangeError::InsufficientBalance {
        exchange: e,
        message: "no".into(),
    };
    assert_eq!(refusal(&poor), Refusal::Final(OrderState::Rejected));
    let auth = ExchangeError::Auth {
        exchange: e,
        message: "bad key".into(),
    };
    assert_eq!(refusal(&auth), Refusal::Final(OrderState::Failed));
    let recorded = refused(
        &planned(&plan(GateAction::Entry, Side::Buy, "1"), t(0)),
        OrderState::Failed,
        &auth,
        t(5),
    );
    assert_eq!(recorded.order.state, OrderState::Failed);
    assert_eq!(
        recorded.order.error.as_deref(),
        Some(auth.to_string().as_str())
    );
    assert_eq!(recorded.order.updated_at, t(5));
}

mod property_tests {
    use proptest::prelude::*;

    use super::*;

    /// Cumulative fills of one order: each step fills a little more, at some price.
    fn steps() -> impl Strategy<Value = Vec<(u32, u32)>> {
        prop::collection::vec((1u32..=1_000, 1u32..=100_000), 1..8)
    }

    fn scaled(units: u64, scale: u32) -> Quantity {
        Quantity::new(Decimal::new(i64::try_from(units).unwrap(), scale)).unwrap()
    }

    proptest! {
        /// However an entry's fills arrive, and whatever is replayed, the position holds
        /// exactly what filled less the base fee, once.
        #[test]
        fn prop_an_entry_holds_what_filled_less_the_fee_once(
            steps in steps(),
            fee_bps in 0u32..=100,
            replay in any::<prop::sample::Index>(),
        ) {
            let total: u64 = steps.iter().map(|(u, _)| u64::from(*u)).sum();
            let plan = plan(GateAction::Entry, Side::Buy, &scaled(total, 4).to_string());
            let base = Some(Asset::new("BTC").unwrap());
            let fee_of = |filled: Quantity| {
                Quantity::new((filled.value() * Decimal::new(i64::from(fee_bps), 4)).normalize()).unwrap()
            };
            let mut order = planned(&plan, t(0));
            let mut position = None;
            let mut cumulative = 0u64;
            let mut reports = Vec::new();
            for (units, price) in &steps {
                cumulative += u64::from(*units);
                let mut r = report(&plan, OrderStatus::PartiallyFilled, &scaled(cumulative, 4).to_string(), Some(&price.to_string()));
                r.fee = fee_of(r.filled_quantity);
                r.fee_asset = base;
                let done = account(&plan, &order, &r, position, t(1)).unwrap();
                order = done.execution.order;
                position = done.position;
                reports.push(r);
            }
            let filled = scaled(total, 4);
            let held = position.unwrap().quantity();
            let expected = filled.value() - fee_of(filled).value();
            // Shares of the fee are divided per fill: equal up to rounding of division.
            prop_assert!((held.value() - expected).abs() <= Decimal::new(1, 20), "{held} vs {expected}");
            // Replaying any earlier or the last report moves nothing more.
            let again = replay.get(&reports);
            if again.filled_quantity == order.filled_quantity {
                let done = account(&plan, &order, again, position, t(2)).unwrap();
                prop_assert_eq!(done.execution.fill, None);
                prop_assert_eq!(done.position, position);
            } else {
                prop_assert!(account(&plan, &order, again, position, t(2)).is_err());
            }
        }

        /// An exit, however it fills and however much, never leaves a negative position.
        #[test]
        fn prop_an_exit_never_leaves_a_negative_position(
            held in 1u64..=1_000_000,
            steps in steps(),
        ) {
            let position = Position::open(symbol(), scaled(held, 6), p("100"), t(0)).unwrap();
            let total: u64 = steps.iter().map(|(u, _)| u64::from(*u)).sum();
            let plan = plan(GateAction::Exit, Side::Sell, &scaled(total, 6).to_string());
            let mut order = planned(&plan, t(0));
            let mut open = Some(position);
            let mut cumulative = 0u64;
            for (units, price) in &steps {
                cumulative += u64::from(*units);
                let r = report(&plan, OrderStatus::PartiallyFilled, &scaled(cumulative, 6).to_string(), Some(&price.to_string()));
                let done = account(&plan, &order, &r, open, t(1)).unwrap();
                order = done.execution.order;
                open = done.position;
                if let Some(after) = open {
                    prop_assert!(after.quantity().value() >= Decimal::ZERO);
                    prop_assert!(after.quantity() < position.quantity());
                    prop_assert_eq!(after.quantity().value(), (scaled(held, 6).value() - scaled(cumulative, 6).value()).max(Decimal::ZERO));
                }
            }
        }
    }
}
