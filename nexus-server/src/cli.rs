//! The `nexus` command line. `serve` is the default, so `cargo run -p nexus-server` starts
//! the product.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::{api, commands};

/// Nexus: a multi-user trading engine and its reference server.
#[derive(Debug, Parser)]
#[command(name = "nexus", version, about, long_about = None)]
pub struct Cli {
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server and the engine (the default). Settings come from NEXUS_*
    /// variables: NEXUS_BIND (default 127.0.0.1:8080), NEXUS_LOG (default info); see
    /// docs/configuration.md.
    Serve {
        /// Also create a demo admin with a few Paper bots, and print how to sign in.
        #[arg(long)]
        demo: bool,
    },
    /// Classify the market regime of every candle in a CSV file
    /// (header timestamp,open,high,low,close,volume).
    Regime {
        /// The candle CSV file.
        #[arg(long, value_name = "FILE.csv")]
        candles: PathBuf,
        /// A TOML file of classifier settings (see docs/regime.md); defaults otherwise.
        #[arg(long, value_name = "regime.toml")]
        config: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Csv)]
        format: Format,
    },
    /// Backtest a strategy over a candle CSV through the live decision path (regime gate,
    /// strategy, pyramiding, sizing, simulated fills with fees) and print a summary.
    Backtest(crate::commands::backtest::Args),
    /// Apply database migrations (NEXUS_DATABASE_URL) and exit. `serve` applies them too.
    Migrate,
    /// Manage the master key that encrypts exchange secrets.
    Keys {
        /// What to do.
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Talk to a venue with one set of keys (NEXUS_EXCHANGE_API_KEY, _SECRET and, where
    /// needed, _PASSPHRASE): check them, or place one order.
    Exchange {
        /// What to do.
        #[command(subcommand)]
        command: commands::exchange::ExchangeCommand,
    },
    /// Billing with Stripe (NEXUS_STRIPE_*).
    Billing {
        /// What to do.
        #[command(subcommand)]
        command: BillingCommand,
    },
    /// The LLM advisor's records.
    Llm {
        /// What to do.
        #[command(subcommand)]
        command: LlmCommand,
    },
    /// Accounts: list them, make an administrator, give a plan without Stripe (audited).
    Users {
        /// What to do.
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Print the OpenAPI document (the same as GET /openapi.json) and exit, for SDK
    /// generators.
    Openapi,
}

/// `nexus users` subcommands.
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Print every account: email, role, verified, the plan in force, created.
    List,
    /// Make an account an administrator (`admin`) or a plain user (`user`).
    SetRole {
        /// The account's email address.
        email: String,
        /// `admin` or `user`.
        #[arg(value_enum)]
        role: RoleArg,
    },
    /// Give an account a plan (one of NEXUS_PLANS) without Stripe; running bots beyond the
    /// plan's limits are paused. A later event of a Stripe subscription replaces it.
    SetPlan {
        /// The account's email address.
        email: String,
        /// The plan's name (`free`, `pro`, `enterprise` by default).
        plan: String,
    },
}

/// A role on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RoleArg {
    /// An operator.
    Admin,
    /// A customer.
    User,
}

/// `nexus keys` subcommands.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Re-encrypt every exchange secret under NEXUS_MASTER_KEY. Put the old key in
    /// NEXUS_MASTER_KEY_PREVIOUS until this finishes.
    Rotate {
        /// Rows re-encrypted per transaction.
        #[arg(long, default_value_t = 100)]
        batch: u32,
    },
}

/// `nexus billing` subcommands.
#[derive(Debug, Subcommand)]
pub enum BillingCommand {
    /// Re-read every customer's subscriptions from Stripe and repair the stored state
    /// (for missed webhooks), printing what changed.
    Sync,
}

/// `nexus llm` subcommands.
#[derive(Debug, Subcommand)]
pub enum LlmCommand {
    /// Print the advisor's verdicts answered in a period as JSON lines (for
    /// `nexus backtest --advisor-replay`).
    Export {
        /// From this date (2026-12-01) or time (RFC 3339), included.
        #[arg(long)]
        from: String,
        /// To this date or time, excluded.
        #[arg(long)]
        to: String,
    },
}

/// Output formats of the data commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One CSV row per item, with a header.
    Csv,
    /// One JSON document.
    Json,
}

/// Runs a parsed command line and returns the process exit code.
pub async fn run(cli: Cli) -> ExitCode {
    match cli.command.unwrap_or(Command::Serve { demo: false }) {
        Command::Serve { demo } => commands::serve::run(demo).await,
        Command::Regime {
            candles,
            config,
            format,
        } => commands::regime::run(&candles, config.as_deref(), format),
        Command::Backtest(args) => commands::backtest::run(&args),
        Command::Migrate => commands::admin::migrate().await,
        Command::Keys {
            command: KeysCommand::Rotate { batch },
        } => commands::admin::rotate(batch.max(1)).await,
        Command::Exchange { command } => commands::exchange::run(command).await,
        Command::Llm {
            command: LlmCommand::Export { from, to },
        } => commands::llm::export(&from, &to).await,
        Command::Billing {
            command: BillingCommand::Sync,
        } => commands::billing::sync().await,
        Command::Users { command } => match command {
            UsersCommand::List => commands::users::list().await,
            UsersCommand::SetRole { email, role } => {
                let role = match role {
                    RoleArg::Admin => nexus_core::ports::accounts::Role::Admin,
                    RoleArg::User => nexus_core::ports::accounts::Role::User,
                };
                commands::users::set_role(&email, role).await
            }
            UsersCommand::SetPlan { email, plan } => commands::users::set_plan(&email, &plan).await,
        },
        Command::Openapi => {
            println!("{}", api::spec_json());
            ExitCode::SUCCESS
        }
    }
}
