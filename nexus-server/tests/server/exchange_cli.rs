//! `nexus exchange check|order` against the local venues of `nexus_exchanges::mock`.

use std::process::Command;

use nexus_exchanges::mock::binance::BinanceMock;
use nexus_exchanges::mock::kraken::KrakenMock;
use rust_decimal::Decimal;

use crate::support::NEXUS;
use crate::support::{BINANCE_KEY, BINANCE_SECRET};
const KRAKEN_KEY: &str = "kraken-test-key-0123456789";
const KRAKEN_SECRET: &str =
    "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `nexus` off the async runtime, so the mock venue keeps answering.
async fn nexus(args: &[&str], key: Option<(&str, &str)>) -> Run {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let key = key.map(|(k, s)| (k.to_owned(), s.to_owned()));
    tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(NEXUS);
        cmd.args(&args)
            .env("NEXUS_LOG", "warn")
            .env_remove("NEXUS_DATABASE_URL")
            .env_remove("NEXUS_EXCHANGE_API_KEY")
            .env_remove("NEXUS_EXCHANGE_API_SECRET")
            .env_remove("NEXUS_EXCHANGE_API_PASSPHRASE");
        if let Some((k, s)) = key {
            cmd.env("NEXUS_EXCHANGE_API_KEY", k)
                .env("NEXUS_EXCHANGE_API_SECRET", s);
        }
        let out = cmd.output().unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
        }
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_says_what_binance_keys_may_do() {
    let (mock, url) = BinanceMock::start(BINANCE_KEY, BINANCE_SECRET).await;
    let args = [
        "exchange",
        "check",
        "--exchange",
        "binance",
        "--base-url",
        &url,
    ];
    let run = nexus(&args, Some((BINANCE_KEY, BINANCE_SECRET))).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("binance: the keys work"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("trade:    yes"));
    assert!(!run.stdout.contains("warning"));

    mock.set_key_permissions(true, true);
    let run = nexus(&args, Some((BINANCE_KEY, BINANCE_SECRET))).await;
    assert_eq!(run.code, 0);
    assert!(
        run.stdout.contains("withdraw: yes")
            && run.stdout.contains("warning: these keys may withdraw")
    );

    mock.set_key_permissions(false, false);
    let run = nexus(&args, Some((BINANCE_KEY, BINANCE_SECRET))).await;
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("may not trade"), "{}", run.stderr);

    let run = nexus(&args, Some((BINANCE_KEY, "wrong-secret"))).await;
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("the keys do not work")
            && run
                .stderr
                .contains("Signature for this request is not valid"),
        "the venue's message: {}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("wrong-secret"),
        "the secret never shows"
    );

    let run = nexus(&args, None).await;
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("NEXUS_EXCHANGE_API_KEY"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_rounds_to_the_filters_and_prints_the_acknowledgement() {
    let (mock, url) = BinanceMock::start(BINANCE_KEY, BINANCE_SECRET).await;
    mock.deposit("USDT", Decimal::from(10_000));
    let keys = Some((BINANCE_KEY, BINANCE_SECRET));
    let run = nexus(
        &[
            "exchange",
            "order",
            "--exchange",
            "binance",
            "--base-url",
            &url,
            "--symbol",
            "BTC/USDT",
            "--side",
            "buy",
            "--type",
            "limit",
            "--qty",
            "0.0123456",
            "--price",
            "50000.129",
            "--client-order-id",
            "cli-order-1",
        ],
        keys,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("quantity 0.0123456 rounded down to 0.01234"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("price 50000.129 rounded to 50000.12"),
        "a buy never rounds up: {}",
        run.stderr
    );
    let ack: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(ack["client_order_id"], "cli-order-1");
    assert_eq!(ack["status"], "new");
    assert_eq!(ack["quantity"], "0.01234");

    // The same id again: the venue has it, so nothing is placed.
    let again = nexus(
        &[
            "exchange",
            "order",
            "--exchange",
            "binance",
            "--base-url",
            &url,
            "--symbol",
            "BTC/USDT",
            "--side",
            "buy",
            "--type",
            "limit",
            "--qty",
            "0.01",
            "--price",
            "50000",
            "--client-order-id",
            "cli-order-1",
        ],
        keys,
    )
    .await;
    assert_eq!(again.code, 1);
    assert!(
        again.stderr.contains("already has order cli-order-1"),
        "{}",
        again.stderr
    );
    assert_eq!(mock.orders(), 1);

    // Worth 0.6 USDT: below BTCUSDT's 5 USDT minimum whatever the rounding.
    let run = nexus(
        &[
            "exchange",
            "order",
            "--exchange",
            "binance",
            "--base-url",
            &url,
            "--symbol",
            "BTC/USDT",
            "--side",
            "buy",
            "--type",
            "market",
            "--qty",
            "0.00001",
        ],
        keys,
    )
    .await;
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("cannot be made valid"),
        "{}",
        run.stderr
    );
    assert_eq!(mock.orders(), 1, "nothing sent");

    let run = nexus(
        &[
            "exchange",
            "order",
            "--exchange",
            "binance",
            "--base-url",
            &url,
            "--symbol",
            "BTC/USDT",
            "--side",
            "buy",
            "--type",
            "limit",
            "--qty",
            "0.01",
        ],
        keys,
    )
    .await;
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("needs --price"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kraken_keys_are_checked_and_orders_placed() {
    let (mock, url) = KrakenMock::start(KRAKEN_KEY, KRAKEN_SECRET).await;
    mock.deposit("USDT", Decimal::from(10_000));
    let keys = Some((KRAKEN_KEY, KRAKEN_SECRET));
    let run = nexus(
        &[
            "exchange",
            "check",
            "--exchange",
            "kraken",
            "--base-url",
            &url,
        ],
        keys,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("kraken: the keys work"));

    let run = nexus(
        &[
            "exchange",
            "order",
            "--exchange",
            "kraken",
            "--base-url",
            &url,
            "--symbol",
            "BTC/USDT",
            "--side",
            "buy",
            "--type",
            "market",
            "--qty",
            "0.01",
        ],
        keys,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let ack: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(ack["status"], "filled");
    assert_eq!(mock.orders(), 1);

    let run = nexus(
        &[
            "exchange",
            "check",
            "--exchange",
            "kraken",
            "--base-url",
            &url,
        ],
        Some(("someone-else", KRAKEN_SECRET)),
    )
    .await;
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("EAPI:Invalid key"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coinbase_cdp_keys_are_checked() {
    use p256::SecretKey;
    use p256::ecdsa::SigningKey;
    use p256::pkcs8::LineEnding;
    const KEY_NAME: &str = "organizations/5f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0/apiKeys/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
    let secret = SecretKey::from_slice(&[0x22; 32]).unwrap();
    let verifying = *SigningKey::from(secret.clone()).verifying_key();
    // As an operator pastes it into an environment variable: newlines as `\n`.
    let pem = secret
        .to_sec1_pem(LineEnding::LF)
        .unwrap()
        .replace('\n', "\\n");
    let (mock, url) =
        nexus_exchanges::mock::coinbase::CoinbaseMock::start(KEY_NAME, verifying).await;
    let args = [
        "exchange",
        "check",
        "--exchange",
        "coinbase",
        "--base-url",
        &url,
    ];
    let run = nexus(&args, Some((KEY_NAME, &pem))).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("coinbase: the keys work") && run.stdout.contains("trade:    yes"));

    mock.set_key_permissions(true, true);
    let run = nexus(&args, Some((KEY_NAME, &pem))).await;
    assert!(
        run.stdout.contains("warning: these keys may withdraw"),
        "{}",
        run.stdout
    );

    let other = SecretKey::from_slice(&[0x33; 32]).unwrap();
    let forged = other
        .to_sec1_pem(LineEnding::LF)
        .unwrap()
        .replace('\n', "\\n");
    let run = nexus(&args, Some((KEY_NAME, &forged))).await;
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("the keys do not work"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("PRIVATE KEY"),
        "no key material in messages"
    );
}
