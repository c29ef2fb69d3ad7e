//! Size a buy in quote currency, then make it satisfy a venue's filters.
//!
//! `cargo run -p nexus-examples --example round_an_order`

use std::error::Error;

use nexus_core::{
    ExchangeId, Instrument, InstrumentFilters, Notional, OrderIntent, Price, Quantity, Side,
};

fn main() -> Result<(), Box<dyn Error>> {
    // Binance's BTC/USDT filters, as its exchangeInfo reports them.
    let btc = Instrument::new(
        ExchangeId::Binance,
        "BTC/USDT".parse()?,
        InstrumentFilters {
            tick_size: "0.01".parse()?,
            step_size: "0.00001".parse()?,
            min_qty: "0.00001".parse()?,
            max_qty: Some("9000".parse()?),
            min_notional: "5".parse()?,
        },
    )?;

    let budget: Notional = "250".parse()?;
    let limit: Price = "64250.129".parse()?;

    // A buy never pays more than asked: the limit rounds down to the tick...
    let limit = btc.round_limit_price(Side::Buy, limit)?;
    // ...and the quantity floors to the step, so the cost never exceeds the budget.
    let quantity: Quantity = btc.floor_quantity(budget.quantity_at(limit)?);
    let intent = OrderIntent::limit(btc.symbol(), Side::Buy, quantity, limit)?;
    btc.validate(&intent, limit)?;

    println!(
        "buy {} {} at {} = {} {} (budget {budget})",
        intent.quantity(),
        btc.symbol().base(),
        limit,
        limit * quantity,
        btc.symbol().quote(),
    );

    // Too small an order is refused with the filter it breaks, before any venue sees it.
    let dust = OrderIntent::limit(btc.symbol(), Side::Buy, "0.00005".parse()?, limit)?;
    if let Err(violation) = btc.validate(&dust, limit) {
        println!("refused ({}): {violation}", violation.filter());
    }
    Ok(())
}
