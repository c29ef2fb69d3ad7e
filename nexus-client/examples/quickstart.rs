//! Signs up (or in), creates a Paper bot and reads its orders, with the generated client.
//!
//! ```sh
//! cargo run --release -p nexus-server &            # a server on 127.0.0.1:8080
//! NEXUS_EMAIL=me@example.com NEXUS_PASSWORD='a long password' \
//!     cargo run -p nexus-client --example quickstart
//! ```
//!
//! The first run signs up and stops: follow the link in the email (without an email
//! provider the server writes it under its data folder's outbox, or in its log), then run
//! again to sign in. `NEXUS_URL` points elsewhere than `http://127.0.0.1:8080`.

use nexus_client::{Client, Credentials, Error, types};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("NEXUS_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let email = std::env::var("NEXUS_EMAIL")?;
    let password = std::env::var("NEXUS_PASSWORD")?;
    let http = reqwest::Client::new();
    let anonymous = Client::new_with_client(&url, http.clone(), Credentials::none());

    let credentials = types::Credentials {
        email: email.clone(),
        password: password.clone(),
    };
    let session = match anonymous.log_in().body(credentials).send().await {
        Ok(session) => session.into_inner(),
        Err(Error::ErrorResponse(answer)) if answer.code == "invalid_credentials" => {
            anonymous
                .sign_up()
                .body(types::SignUp::builder().email(email).password(password))
                .send()
                .await?;
            println!("Signed up: follow the link in the email we sent, then run this again.");
            return Ok(());
        }
        Err(Error::ErrorResponse(answer)) if answer.code == "email_not_verified" => {
            println!("Follow the link in the email we sent first, then run this again.");
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };

    let me = Client::new_with_client(&url, http, Credentials::token(&session.token));
    let bot = me
        .create_bot()
        .body(
            types::NewBot::builder()
                .exchange(types::Exchange::Paper)
                .symbol("BTC/USDT")
                .strategy("trend_breakout")
                .name(Some("Quickstart".parse::<types::NewBotName>()?)),
        )
        .send()
        .await?
        .into_inner();
    println!(
        "Created bot {} ({} on {})",
        bot.name, bot.symbol, bot.interval
    );
    for bot in me.list_bots().send().await?.into_inner().items {
        let orders = me.bot_orders().id(bot.id).limit(10).send().await?;
        println!("{}: {} latest orders", bot.name, orders.len());
        for order in orders.iter() {
            println!(
                "  {} {} {} {} ({})",
                order.created_at, order.side, order.quantity, bot.symbol, order.state
            );
        }
    }
    Ok(())
}
