//! `nexus exchange check` and `nexus exchange order`: an operator's direct line to a
//! venue with one set of keys, through the same adapters the engine uses.

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Subcommand, ValueEnum};
use nexus_core::ports::NonceSource;
use nexus_core::ports::credentials::ApiCredentials;
use nexus_core::{
    ClientOrderId, Exchange, ExchangeId, MarketData, NewOrder, OrderIntent, Price, Quantity,
    Secret, Side, Symbol,
};
use nexus_exchanges::{PaperConfig, PaperVenue, Venues, VenuesConfig};

use crate::config::Config;
use crate::store::open_store;

/// `nexus exchange` subcommands.
#[derive(Debug, Subcommand)]
pub enum ExchangeCommand {
    /// Check the keys in NEXUS_EXCHANGE_API_KEY / _SECRET (/ _PASSPHRASE): whether they
    /// work and what they may do. Exits non-zero with the venue's message when they do
    /// not work or may not trade.
    Check(Target),
    /// Place one order, first rounded to the instrument's filters, and print the venue's
    /// acknowledgement as JSON.
    Order(OrderArgs),
}

/// Which venue, and where.
#[derive(Debug, Args)]
pub struct Target {
    /// The venue.
    #[arg(long, value_enum)]
    pub exchange: Venue,
    /// The venue's API base URL (a testnet or a local mock); the live API by default.
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
}

/// The venues with real accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Venue {
    /// Binance Spot.
    Binance,
    /// Kraken Spot.
    Kraken,
    /// Coinbase Advanced Trade.
    Coinbase,
}

/// `nexus exchange order` arguments.
#[derive(Debug, Args)]
pub struct OrderArgs {
    #[command(flatten)]
    target: Target,
    /// The pair, `BASE/QUOTE`.
    #[arg(long)]
    symbol: Symbol,
    /// Buy or sell.
    #[arg(long, value_enum)]
    side: SideArg,
    /// Market or limit.
    #[arg(long = "type", value_enum)]
    order_type: TypeArg,
    /// The quantity of the base asset (rounded down to the step size).
    #[arg(long)]
    qty: Quantity,
    /// The limit price (rounded to the tick, never to a worse price); limit orders only.
    #[arg(long)]
    price: Option<Price>,
    /// The client order id (a UUID, or up to 18 of `A-Za-z0-9_-`); a fresh UUID when
    /// omitted. The venue is asked first: if it has an order with this id, nothing is
    /// placed (venues accept a reused id once its first order has closed).
    #[arg(long)]
    client_order_id: Option<ClientOrderId>,
}

/// `buy` or `sell`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SideArg {
    /// Buy the base asset.
    Buy,
    /// Sell the base asset.
    Sell,
}

/// `market` or `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TypeArg {
    /// At the best available prices.
    Market,
    /// At the limit price or better.
    Limit,
}

/// Runs a `nexus exchange` subcommand.
pub async fn run(command: ExchangeCommand) -> ExitCode {
    let outcome = match command {
        ExchangeCommand::Check(target) => check(&target).await,
        ExchangeCommand::Order(args) => order(&args).await,
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure { message, code }) => {
            eprintln!("nexus exchange: {message}");
            ExitCode::from(code)
        }
    }
}

struct Failure {
    message: String,
    code: u8,
}

impl Failure {
    /// The venue (or the order) said no.
    fn refused(message: impl std::fmt::Display) -> Self {
        Self {
            message: message.to_string(),
            code: 1,
        }
    }

    /// The command line or environment is wrong.
    fn usage(message: impl std::fmt::Display) -> Self {
        Self {
            message: message.to_string(),
            code: 2,
        }
    }
}

fn credentials() -> Result<ApiCredentials, Failure> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let (Some(api_key), Some(secret)) = (
        var("NEXUS_EXCHANGE_API_KEY"),
        var("NEXUS_EXCHANGE_API_SECRET"),
    ) else {
        return Err(Failure::usage(
            "set NEXUS_EXCHANGE_API_KEY and NEXUS_EXCHANGE_API_SECRET (and NEXUS_EXCHANGE_API_PASSPHRASE where the venue needs one)",
        ));
    };
    Ok(ApiCredentials {
        api_key,
        secret: Secret::new(secret),
        passphrase: var("NEXUS_EXCHANGE_API_PASSPHRASE").map(Secret::new),
    })
}

/// Kraken nonces come from the database when NEXUS_DATABASE_URL is set, so this command
/// does not collide with a server using the same key.
async fn nonces() -> Result<Option<Arc<dyn NonceSource>>, Failure> {
    if std::env::var_os("NEXUS_DATABASE_URL").is_none() {
        return Ok(None);
    }
    let config =
        Config::from_env().map_err(|e| Failure::usage(format!("invalid configuration: {e}")))?;
    let store = open_store(&config).await.map_err(Failure::refused)?;
    Ok(Some(store as Arc<dyn NonceSource>))
}

/// An account on the venue, and the venue's market data: the same [`Venues`] the server
/// uses, with the base URL overridden when one is given.
async fn connect(target: &Target) -> Result<(Arc<dyn Exchange>, Arc<dyn MarketData>), Failure> {
    let credentials = credentials()?;
    let mut config = VenuesConfig::default();
    let exchange = match target.exchange {
        Venue::Binance => ExchangeId::Binance,
        Venue::Kraken => ExchangeId::Kraken,
        Venue::Coinbase => ExchangeId::Coinbase,
    };
    if let Some(url) = &target.base_url {
        match exchange {
            ExchangeId::Binance => config.binance.base_url.clone_from(url),
            ExchangeId::Kraken => config.kraken.base_url.clone_from(url),
            ExchangeId::Coinbase => config.coinbase.base_url.clone_from(url),
            ExchangeId::Paper => {}
        }
    }
    let venues = Venues::new(
        config,
        nonces().await?,
        PaperVenue::new(PaperConfig::default()),
    )
    .map_err(Failure::refused)?;
    Ok((
        venues.account(exchange, credentials),
        venues.market_data(exchange),
    ))
}

async fn check(target: &Target) -> Result<(), Failure> {
    let (exchange, _) = connect(target).await?;
    let venue = exchange.exchange();
    let permissions = exchange
        .validate_credentials()
        .await
        .map_err(|e| Failure::refused(format!("{venue}: the keys do not work: {e}")))?;
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    println!("{venue}: the keys work");
    println!("  read:     {}", yes_no(permissions.read));
    println!("  trade:    {}", yes_no(permissions.trade));
    println!("  withdraw: {}", yes_no(permissions.withdraw));
    if permissions.withdraw {
        println!(
            "warning: these keys may withdraw funds. Nexus never needs that; create keys without withdrawal permission."
        );
    }
    if !permissions.trade {
        return Err(Failure::refused(format!(
            "{venue}: the keys may not trade, and Nexus needs trading permission"
        )));
    }
    Ok(())
}

async fn order(args: &OrderArgs) -> Result<(), Failure> {
    let side = match args.side {
        SideArg::Buy => Side::Buy,
        SideArg::Sell => Side::Sell,
    };
    if args.order_type == TypeArg::Limit && args.price.is_none() {
        return Err(Failure::usage("a limit order needs --price"));
    }
    if args.order_type == TypeArg::Market && args.price.is_some() {
        return Err(Failure::usage("a market order takes no --price"));
    }
    let (exchange, market) = connect(&args.target).await?;
    let venue = exchange.exchange();
    let instrument = exchange
        .instruments(&[args.symbol])
        .await
        .map_err(Failure::refused)?
        .into_iter()
        .find(|i| i.symbol() == args.symbol)
        .ok_or_else(|| Failure::refused(format!("{venue} does not list {}", args.symbol)))?;

    let quantity = instrument.floor_quantity(args.qty);
    if quantity != args.qty {
        eprintln!(
            "nexus exchange: quantity {} rounded down to {quantity} (step {})",
            args.qty,
            instrument.filters().step_size
        );
    }
    let invalid = |e: &dyn std::fmt::Display| {
        Failure::refused(format!(
            "the order cannot be made valid for {venue} {}: {e}",
            args.symbol
        ))
    };
    let intent = match args.price {
        Some(price) => {
            let rounded = instrument
                .round_limit_price(side, price)
                .map_err(|e| invalid(&e))?;
            if rounded != price {
                eprintln!(
                    "nexus exchange: price {price} rounded to {rounded} (tick {})",
                    instrument.filters().tick_size
                );
            }
            OrderIntent::limit(args.symbol, side, quantity, rounded)
        }
        None => OrderIntent::market(args.symbol, side, quantity),
    }
    .map_err(|e| invalid(&e))?;

    // Market orders are checked against the side of the book they would take.
    let reference = match intent.limit_price() {
        Some(price) => price,
        None => market
            .tickers(&[args.symbol])
            .await
            .map_err(Failure::refused)?
            .first()
            .map(|t| t.price_for(side))
            .ok_or_else(|| Failure::refused(format!("{venue} has no price for {}", args.symbol)))?,
    };
    instrument
        .validate(&intent, reference)
        .map_err(|e| invalid(&e))?;

    let client_order_id = match args.client_order_id {
        Some(id) => {
            if let Some(existing) = exchange
                .query_order(args.symbol, &id)
                .await
                .map_err(Failure::refused)?
            {
                return Err(Failure::refused(format!(
                    "{venue} already has order {id} ({:?}, {} of {} filled); nothing placed",
                    existing.status, existing.filled_quantity, existing.quantity
                )));
            }
            id
        }
        None => ClientOrderId::from_uuid(uuid_v4()),
    };
    let order = NewOrder {
        client_order_id,
        intent,
    };
    let report = exchange
        .place_order(&order)
        .await
        .map_err(|e| Failure::refused(format!("{venue} refused order {client_order_id}: {e}")))?;
    let json = serde_json::to_string_pretty(&report).map_err(Failure::refused)?;
    println!("{json}");
    Ok(())
}

/// A random UUID for an order the operator did not name.
fn uuid_v4() -> uuid::Uuid {
    uuid::Uuid::new_v4()
}
