//! The API's request-body fuzz checks, shared with the stable corpus test in
//! `nexus-server/tests/server/fuzz_corpus.rs`. Each reads the bytes as the server reads a
//! body (`nexus_server::api::bodies`) and must never panic; whatever it accepts is within
//! the API's documented ranges, prints back to a body that reads the same, and (for bots)
//! can be planned by the engine without a panic. The Stripe webhook's check reads the
//! bytes as `nexus_server::billing::webhook` does (signature, then event), and the Resend
//! webhook's check as `nexus_server::email::svix` does.

use chrono::{DateTime, TimeZone, Utc};
use nexus_core::fanout::{BotConfig, PlanLimits, Signal, Subscription, plan};
use nexus_core::instrument::{Instrument, InstrumentFilters};
use nexus_core::ports::accounts::BotRecord;
use nexus_core::regime::Regime;
use nexus_core::regime::gate::{AdvisorInput, GateAction};
use nexus_core::sizing::AccountSnapshot;
use nexus_core::strategy::TrendBreakoutConfig;
use nexus_core::{
    BotId, ExchangeId, Interval, MarketSnapshot, Position, Price, Quantity, SignalId, Symbol,
    Ticker, UserId,
};
use nexus_server::api::bodies::{self, BodyError};
use nexus_server::api::signals::WebhookConfig;
use nexus_server::engine::signals::{SignalJob, WEBHOOK_STRATEGY};
use poem_openapi::types::{ParseFromJSON, ToJSON};

fn at() -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000, 0)
        .single()
        .expect("a valid time")
}

fn user() -> UserId {
    UserId::new(uuid::Uuid::from_u128(7))
}

/// A refusal says why, and has the status the handler answers with.
fn refused(error: &BodyError) {
    assert!(!error.to_string().is_empty());
    if let BodyError::Invalid(invalid) = error {
        assert!(!invalid.code.is_empty());
    }
}

/// An accepted body prints (`ToJSON`) to JSON that reads back to the same body.
fn reads_back<T: ParseFromJSON + ToJSON>(body: &T) {
    let json = body.to_json().expect("an object prints");
    match T::parse_from_json(Some(json.clone())) {
        Ok(again) => assert_eq!(again.to_json(), Some(json)),
        Err(e) => panic!("its own JSON does not read: {}", e.into_message()),
    }
}

/// `POST /signals`: the body, decoded into the queued job (its signature or token aside).
pub fn signal_body(data: &[u8]) {
    match bodies::new_signal(data, at()) {
        Ok(job) => {
            let body: bodies::NewSignal = bodies::json(data).expect("it was read once");
            reads_back(&body);
            let signal = &job.signal;
            assert_eq!(
                signal.symbol.to_string().parse::<Symbol>().ok(),
                Some(signal.symbol)
            );
            assert_eq!(job.strategy, WEBHOOK_STRATEGY);
            assert_eq!(
                job.strategy_config.as_deref(),
                Some(WebhookConfig::canonical(&body.source).as_str())
            );
            // The job's payload is what the scheduler reads back.
            let queued = job.new_job().expect("a job serialises");
            let back: SignalJob = serde_json::from_str(&queued.payload).expect("it reads back");
            assert_eq!(back, job);
            // A repeated delivery has the same id exactly when it names its key.
            let again = bodies::new_signal(data, at()).expect("accepted once, accepted again");
            assert_eq!(again.signal.id == signal.id, body.idempotency_key.is_some());
        }
        Err(error) => refused(&error),
    }
}

/// Sign-up, sign-in, email verification, both password-reset steps and the confirmation
/// of a Google identity's link.
pub fn auth_bodies(data: &[u8]) {
    match bodies::sign_up(data) {
        Ok(body) => {
            reads_back(&body);
            let email = body.email.trim();
            assert!(email.chars().count() <= 254 && !email.contains(char::is_whitespace));
            let (local, domain) = email.split_once('@').expect("an address has an @");
            assert!(!local.is_empty() && domain.contains('.') && !domain.contains('@'));
            assert!((8..=256).contains(&body.password.chars().count()));
            // The same two fields sign in.
            assert!(bodies::credentials(data).is_ok());
        }
        Err(error) => refused(&error),
    }
    match bodies::credentials(data) {
        Ok(body) => reads_back(&body),
        Err(error) => refused(&error),
    }
    match bodies::verify(data) {
        Ok(body) => {
            reads_back(&body);
            let password = body.password.as_deref().map(|p| p.chars().count());
            assert!(password.is_none_or(|n| (8..=256).contains(&n)));
        }
        Err(error) => refused(&error),
    }
    match bodies::forgot(data) {
        Ok(body) => reads_back(&body),
        Err(error) => refused(&error),
    }
    match bodies::link_confirmation(data) {
        Ok((body, target)) => {
            reads_back(&body);
            assert!(!target.subject.is_empty());
            let prefix = if target.needs_password { "p." } else { "e." };
            assert!(body.token.trim().starts_with(prefix));
        }
        Err(error) => refused(&error),
    }
    match bodies::reset(data) {
        Ok(body) => {
            reads_back(&body);
            assert!((8..=256).contains(&body.password.chars().count()));
            // A reset's two fields verify an address too.
            assert!(bodies::verify(data).is_ok());
        }
        Err(error) => refused(&error),
    }
    match bodies::password_change(data) {
        Ok(body) => {
            reads_back(&body);
            assert!((8..=256).contains(&body.new_password.chars().count()));
        }
        Err(error) => refused(&error),
    }
}

/// `POST /exchange-keys`.
pub fn key_body(data: &[u8]) {
    match bodies::new_key(data, user()) {
        Ok(key) => {
            let api_key = &key.credentials.api_key;
            assert!((1..=512).contains(&api_key.chars().count()));
            if key.exchange == ExchangeId::Paper {
                assert_eq!(*api_key, nexus_exchanges::paper::account_name(user()));
            } else {
                assert_eq!(api_key.trim(), api_key);
            }
            let secret = key.credentials.secret.expose();
            assert!(
                !secret.is_empty() && secret.chars().count() <= 8192 && secret.trim() == secret
            );
            assert!((1..=100).contains(&key.label.chars().count()));
            // The secret never shows in what may be logged.
            assert!(secret.len() < 4 || !format!("{:?}", key.credentials).contains(secret));
        }
        Err(error) => refused(&error),
    }
}

/// `PATCH /admin/users/{id}/role`.
pub fn role_body(data: &[u8]) {
    match bodies::role_change(data) {
        Ok(body) => reads_back(&body),
        Err(error) => refused(&error),
    }
}

/// A bot as `POST /bots` makes it, to apply changes to.
fn existing_bot() -> BotRecord {
    BotRecord {
        id: BotId::new(uuid::Uuid::from_u128(9)),
        user: user(),
        name: "trend BTC".to_owned(),
        exchange: ExchangeId::Paper,
        symbol: "BTC/USDT".parse().expect("a valid symbol"),
        interval: Interval::H1,
        strategy: "trend_breakout".to_owned(),
        strategy_config: serde_json::to_string(&TrendBreakoutConfig::default())
            .expect("the defaults serialise"),
        config: BotConfig::default(),
        credential: None,
        paused: false,
        paused_reason: None,
    }
}

/// `POST /bots` and `PATCH /bots/{id}`.
pub fn bot_bodies(data: &[u8]) {
    match bodies::new_bot(data, user()) {
        Ok((bot, _key)) => {
            assert_eq!(bot.user, user());
            stored_bot(&bot);
        }
        Err(error) => refused(&error),
    }
    let before = existing_bot();
    match bodies::bot_changes(data, before.clone()) {
        Ok(bot) => {
            assert_eq!(
                (bot.id, bot.user, bot.exchange, &bot.strategy),
                (before.id, before.user, before.exchange, &before.strategy)
            );
            stored_bot(&bot);
        }
        Err(error) => refused(&error),
    }
}

/// What holds for every bot the API stores.
fn stored_bot(bot: &BotRecord) {
    assert_eq!(bot.name.trim(), bot.name);
    assert!((1..=100).contains(&bot.name.chars().count()));
    assert_eq!(
        bot.symbol.to_string().parse::<Symbol>().ok(),
        Some(bot.symbol)
    );
    match bot.strategy.as_str() {
        "trend_breakout" => {
            let config: TrendBreakoutConfig =
                serde_json::from_str(&bot.strategy_config).expect("stored parameters read back");
            assert!(config.validate().is_ok());
        }
        "webhook" => {
            let config: WebhookConfig =
                serde_json::from_str(&bot.strategy_config).expect("stored parameters read back");
            assert!(config.validate().is_ok());
            assert_eq!(
                bot.strategy_config,
                WebhookConfig::canonical(&config.source)
            );
        }
        other => panic!("unknown strategy {other:?} accepted"),
    }
    // Within the documented ranges of sizing, pyramiding and the gate.
    assert!(bot.config.validate().is_ok());
    // Stored and shown as JSON, read back by the engine.
    let json = serde_json::to_string(&bot.config).expect("a bot's configuration serialises");
    let back: BotConfig = serde_json::from_str(&json).expect("a stored configuration reads back");
    assert_eq!(back, bot.config);
    plans(bot);
}

/// The engine plans an entry, an add and an exit for the bot without a panic, each ending
/// as an order or a skip.
fn plans(bot: &BotRecord) {
    let now = at();
    let price = |text: &str| text.parse::<Price>().expect("a valid price");
    let mut snapshot = MarketSnapshot::new(bot.exchange, now);
    let ticker = Ticker::new(
        bot.symbol,
        price("50000"),
        price("50001"),
        price("50000"),
        now,
    )
    .expect("a valid ticker");
    snapshot.insert_ticker(ticker);
    let filters = InstrumentFilters {
        tick_size: price("0.01"),
        step_size: "0.0001".parse().expect("a valid step"),
        min_qty: "0.0001".parse().expect("a valid quantity"),
        max_qty: Some("1000".parse().expect("a valid quantity")),
        min_notional: "10".parse().expect("a valid notional"),
    };
    let instrument =
        Instrument::new(bot.exchange, bot.symbol, filters).expect("a valid instrument");
    snapshot.insert_instrument(instrument);
    let opened = now - chrono::Duration::hours(1);
    let position = Position::open(
        bot.symbol,
        "0.2".parse::<Quantity>().expect("a valid quantity"),
        price("40000"),
        opened,
    )
    .expect("a valid position");
    // An ordinary account, and the largest the money types allow.
    let accounts = [
        ("100000", "100000"),
        ("1000000000000000000000000000", "1000000000000000"),
    ];
    for ((kind, position), (equity, free)) in [
        (GateAction::Entry, None),
        (GateAction::Add, Some(position)),
        (GateAction::Exit, Some(position)),
    ]
    .into_iter()
    .flat_map(|k| accounts.map(|a| (k, a)))
    {
        let signal = Signal {
            id: SignalId::new(uuid::Uuid::from_u128(11)),
            exchange: bot.exchange,
            symbol: bot.symbol,
            kind,
            at: now,
            atr: Some(price("1500")),
            regime: Some(Regime::Bull),
            advisor: AdvisorInput::NotAsked,
        };
        let subscription = Subscription {
            user: bot.user,
            bot: bot.id,
            exchange: bot.exchange,
            config: &bot.config,
            account: AccountSnapshot {
                equity: equity.parse().expect("a valid notional"),
                free_quote: free.parse().expect("a valid quantity"),
                free_base: "0.2".parse().expect("a valid quantity"),
            },
            position,
            limits: PlanLimits::default(),
            paused: bot.paused,
        };
        let out = plan(&signal, &snapshot, &[subscription]);
        assert_eq!(out.plans.len() + out.skips.len(), 1);
    }
}

/// The official Stripe signature vector (secret, timestamp, payload), so header-shaped
/// inputs are checked against a body they may sign.
fn stripe_vector() -> &'static (String, i64, String) {
    static VECTOR: std::sync::OnceLock<(String, i64, String)> = std::sync::OnceLock::new();
    VECTOR.get_or_init(|| {
        let v: serde_json::Value = serde_json::from_str(include_str!(
            "../nexus-server/test_data/stripe/webhook_signature_vector.json"
        ))
        .expect("the vector is JSON");
        (
            v["secret"].as_str().expect("a secret").to_owned(),
            v["timestamp"].as_i64().expect("a timestamp"),
            v["payload"].as_str().expect("a payload").to_owned(),
        )
    })
}

/// `POST /billing/webhook` (Stripe): the bytes as a signed body, as a `Stripe-Signature`
/// header, and as an event. A body signed with the secret verifies within the tolerance
/// and not beyond it, nor once a byte changes; a header verifies only with the secret that
/// made it; a body that reads as an event has the object its type promises, and reads the
/// same once re-serialised.
pub fn stripe_webhook(data: &[u8]) {
    use nexus_server::billing::webhook::{
        self, EventObject, SignatureError, TOLERANCE_SECS, parse_event, verify,
    };

    const SECRET: &str = "whsec_fuzz_0123456789";
    const T: i64 = 1_767_225_600;
    let header = webhook::signature_header(SECRET, T, data);
    assert_eq!(
        verify(Some(&header), data, SECRET, T + TOLERANCE_SECS),
        Ok(())
    );
    assert_eq!(
        verify(Some(&header), data, SECRET, T - TOLERANCE_SECS),
        Ok(())
    );
    assert!(matches!(
        verify(Some(&header), data, SECRET, T + TOLERANCE_SECS + 1),
        Err(SignatureError::Stale { .. })
    ));
    let mut changed = data.to_vec();
    match changed.first_mut() {
        Some(byte) => *byte ^= 0x01,
        None => changed.push(b'{'),
    }
    assert_eq!(
        verify(Some(&header), &changed, SECRET, T),
        Err(SignatureError::Mismatch)
    );

    if let Ok(text) = std::str::from_utf8(data) {
        let (secret, t, payload) = stripe_vector();
        let result = verify(Some(text), payload.as_bytes(), secret, *t);
        if result.is_ok() {
            assert!(verify(Some(text), payload.as_bytes(), "not the secret", *t).is_err());
            assert!(verify(Some(text), b"{}", secret, *t).is_err());
        }
        if let Err(error) = &result {
            assert!(!error.to_string().is_empty());
        }
    }

    match parse_event(data) {
        Ok(event) => {
            let kind = event.kind.as_str();
            let subscription = kind.starts_with("customer.subscription.");
            let invoice = kind.starts_with("invoice.");
            let checkout = kind.starts_with("checkout.session.");
            match &event.object {
                EventObject::Subscription(_) => assert!(subscription, "{kind}"),
                EventObject::Invoice(_) => assert!(invoice, "{kind}"),
                EventObject::CheckoutSession { .. } => assert!(checkout, "{kind}"),
                EventObject::Other => assert!(!(subscription || invoice || checkout), "{kind}"),
            }
            // Fields Nexus does not read are skipped unchecked (serde_json does not check
            // escapes it ignores), so only bodies that read whole are re-serialised.
            if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
                let again = serde_json::to_vec(&value).expect("JSON prints");
                assert_eq!(parse_event(&again), Ok(event));
            }
        }
        Err(error) => assert!(!error.to_string().is_empty()),
    }
}

/// The Svix documentation's vector (the first of
/// `test_data/resend/svix_signature_vectors.json`): secret, message id, timestamp, payload,
/// signature.
fn svix_vector() -> &'static (String, String, i64, String, String) {
    static VECTOR: std::sync::OnceLock<(String, String, i64, String, String)> =
        std::sync::OnceLock::new();
    VECTOR.get_or_init(|| {
        let all: serde_json::Value = serde_json::from_str(include_str!(
            "../nexus-server/test_data/resend/svix_signature_vectors.json"
        ))
        .expect("the vectors are JSON");
        let v = &all[0];
        let text = |k: &str| v[k].as_str().expect("a string").to_owned();
        (
            text("secret"),
            text("msg_id"),
            v["timestamp"].as_i64().expect("a timestamp"),
            text("payload"),
            text("signature"),
        )
    })
}

/// `POST /email/webhook` (Resend, signed by Svix): the bytes as a signed body, as each of
/// the three Svix headers, and as an event. A body signed with the secret verifies within
/// the tolerance and not beyond it, nor once a byte changes; a header verifies only with
/// the secret, id, timestamp and body that made it; a body that reads as an event has an
/// email id exactly when it is about an email, details only for its kind, and reads the
/// same once re-serialised.
pub fn resend_webhook(data: &[u8]) {
    use nexus_server::email::svix::{
        self, DeliveryKind, SvixError, TOLERANCE_SECS, parse_event, verify,
    };

    const SECRET: &str = "whsec_ZnV6ei1zZWNyZXQtMDEyMzQ1Njc4OQ==";
    const ID: &str = "msg_2fuzzQZ0aK4m7Yb1xW9c";
    const T: i64 = 1_767_225_600;
    let t = T.to_string();
    let signature = svix::sign(SECRET, ID, T, data).expect("the secret is valid");
    let check = |signature: &str, body: &[u8], now: i64| {
        verify(Some(ID), Some(&t), Some(signature), body, SECRET, now)
    };
    assert_eq!(check(&signature, data, T + TOLERANCE_SECS), Ok(()));
    assert_eq!(check(&signature, data, T - TOLERANCE_SECS), Ok(()));
    assert!(matches!(
        check(&signature, data, T + TOLERANCE_SECS + 1),
        Err(SvixError::Stale { .. })
    ));
    let mut changed = data.to_vec();
    match changed.first_mut() {
        Some(byte) => *byte ^= 0x01,
        None => changed.push(b'{'),
    }
    assert_eq!(check(&signature, &changed, T), Err(SvixError::Mismatch));

    if let Ok(text) = std::str::from_utf8(data) {
        let (secret, id, ts, payload, vector_signature) = svix_vector();
        let ts_text = ts.to_string();
        let at = |id: &str, timestamp: &str, signatures: &str, body: &[u8], secret: &str| {
            verify(
                Some(id),
                Some(timestamp),
                Some(signatures),
                body,
                secret,
                *ts,
            )
        };
        // As the signature header.
        let result = at(id, &ts_text, text, payload.as_bytes(), secret);
        if result.is_ok() {
            assert!(at(id, &ts_text, text, payload.as_bytes(), SECRET).is_err());
            assert!(at(id, &ts_text, text, b"{}", secret).is_err());
        }
        // As the id, then as the timestamp.
        let as_id = at(text, &ts_text, vector_signature, payload.as_bytes(), secret);
        assert_eq!(as_id.is_ok(), text == id.as_str(), "{as_id:?}");
        let as_timestamp = at(id, text, vector_signature, payload.as_bytes(), secret);
        if as_timestamp.is_ok() {
            assert_eq!(text.parse::<i64>().ok(), Some(*ts));
        }
        for error in [result, as_id, as_timestamp]
            .into_iter()
            .filter_map(Result::err)
        {
            assert!(!error.to_string().is_empty());
        }
    }

    match parse_event(data) {
        Ok(event) => {
            let about_an_email =
                !matches!(&event.kind, DeliveryKind::Other(kind) if !kind.starts_with("email."));
            assert_eq!(!event.email_id.is_empty(), about_an_email, "{event:?}");
            if !about_an_email {
                assert!(event.to.is_empty() && event.tags.is_empty(), "{event:?}");
            }
            let bounced = matches!(event.kind, DeliveryKind::Bounced { .. });
            assert!(bounced || (event.bounce_type.is_none() && event.bounce_sub_type.is_none()));
            if matches!(
                event.kind,
                DeliveryKind::Sent
                    | DeliveryKind::Delivered
                    | DeliveryKind::DeliveryDelayed
                    | DeliveryKind::Complained
                    | DeliveryKind::Other(_)
            ) {
                assert_eq!(event.detail, None, "{event:?}");
            }
            if let DeliveryKind::Bounced { permanent } = event.kind {
                assert_eq!(
                    permanent,
                    event
                        .bounce_type
                        .as_deref()
                        .is_none_or(|t| t.eq_ignore_ascii_case("Permanent"))
                );
            }
            assert!(event.tags.windows(2).all(|w| w[0] <= w[1]), "{event:?}");
            // Fields Nexus does not read are skipped unchecked (serde_json does not check
            // escapes it ignores), so only bodies that read whole are re-serialised.
            if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
                let again = serde_json::to_vec(&value).expect("JSON prints");
                assert_eq!(parse_event(&again), Ok(event));
            }
        }
        Err(error) => assert!(!error.to_string().is_empty()),
    }
}
