//! The generated Rust client (`nexus-client`) against the real server on a port: sign up,
//! confirm the address through the outbox, sign in, create a Paper bot, list it, read its
//! orders, follow it in the live event stream and resume that stream; and the API's error
//! answers as typed errors.

use std::sync::Arc;

use nexus_client::{Client, Credentials, Error, types};
use nexus_server::api::{ApiState, AuthSettings};
use reqwest::StatusCode;

use crate::support::{Backend, Outbox, Served, TestDb};

const EMAIL: &str = "sdk@example.com";
const PASSWORD: &str = "a password for the sdk";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_generated_client_signs_up_creates_a_bot_and_reads_it() {
    let db = TestDb::open(Backend::Sqlite).await;
    let outbox = Outbox::new(&db.path().join("outbox"));
    let (_binance, venues) = crate::support::local_venues().await;
    let store = Arc::clone(&db.store);
    let sender = outbox.sender();
    let served = Served::start(|url| {
        ApiState::new(store, sender, AuthSettings::new(url)).with_venues(Arc::new(venues))
    })
    .await;
    let http = reqwest::Client::new();
    let anonymous = Client::new_with_client(&served.url, http.clone(), Credentials::none());

    anonymous
        .sign_up()
        .body(types::SignUp::builder().email(EMAIL).password(PASSWORD))
        .send()
        .await
        .expect("signed up");
    // Not verified yet: the API's refusal, typed, with its stable code.
    let refused = anonymous
        .log_in()
        .body(types::Credentials {
            email: EMAIL.into(),
            password: PASSWORD.into(),
        })
        .send()
        .await
        .expect_err("not verified");
    match refused {
        Error::ErrorResponse(answer) => {
            assert_eq!(answer.status(), StatusCode::FORBIDDEN);
            assert_eq!(answer.code, "email_not_verified");
        }
        other => panic!("{other:?}"),
    }
    let token = outbox.token(EMAIL, "Confirm");
    anonymous
        .verify_email()
        .body(
            types::Verify::builder().token(token).password(Some(
                PASSWORD
                    .parse::<types::VerifyPassword>()
                    .expect("a password"),
            )),
        )
        .send()
        .await
        .expect("verified");
    let session = anonymous
        .log_in()
        .body(types::Credentials {
            email: EMAIL.into(),
            password: PASSWORD.into(),
        })
        .send()
        .await
        .expect("signed in")
        .into_inner();

    let me = Client::new_with_client(&served.url, http, Credentials::token(&session.token));
    assert_eq!(me.me().send().await.expect("me").into_inner().email, EMAIL);
    let mut events = me.events(None).await.expect("the event stream");
    let bot = me
        .create_bot()
        .body(
            types::NewBot::builder()
                .exchange(types::Exchange::Paper)
                .symbol("BTC/USDT")
                .strategy("trend_breakout")
                .name(Some(
                    "From the Rust client"
                        .parse::<types::NewBotName>()
                        .expect("a name"),
                ))
                .paused(Some(true)),
        )
        .send()
        .await
        .expect("a bot")
        .into_inner();
    assert_eq!(bot.name, "From the Rust client");
    assert!(bot.paused);
    let listed = me.list_bots().send().await.expect("bots").into_inner();
    assert_eq!(
        listed.items.iter().map(|b| b.id).collect::<Vec<_>>(),
        [bot.id]
    );
    let orders = me
        .bot_orders()
        .id(bot.id)
        .limit(50)
        .send()
        .await
        .expect("orders")
        .into_inner();
    assert!(orders.is_empty(), "a paused bot has placed nothing");

    // The stream, open before the bot existed, told of it.
    let created = events.next().await.expect("an event").expect("readable");
    assert_eq!(created.event.type_, types::EventType::Bot);
    assert_eq!(created.event.bot_id, Some(bot.id));
    let change = created.event.bot.as_ref().map(|b| b.change);
    assert_eq!(change, Some(types::BotChange::Created));
    assert_eq!(events.last_event_id(), created.id.as_deref());
    drop(events);
    // Deleted while no stream is open: resuming after the last event brings it.
    me.delete_bot().id(bot.id).send().await.expect("deleted");
    let mut resumed = me.events(created.id.as_deref()).await.expect("resumed");
    let deleted = resumed.next().await.expect("an event").expect("readable");
    let change = deleted.event.bot.as_ref().map(|b| b.change);
    assert_eq!(change, Some(types::BotChange::Deleted));
    assert!(deleted.event.bot.and_then(|b| b.bot).is_none());

    // Another user's credentials (none here) are refused, typed.
    let nobody = anonymous.list_bots().send().await.expect_err("no session");
    assert_eq!(nobody.status(), Some(StatusCode::UNAUTHORIZED));
    let refused = anonymous.events(None).await.expect_err("no session");
    assert_eq!(refused.status(), Some(StatusCode::UNAUTHORIZED));
}
