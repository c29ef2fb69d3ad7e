//! `nexus backtest` as a user runs it, on the shipped real candles.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::NEXUS;

fn real_candles() -> String {
    let path: PathBuf =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/btc_usdt_1d_2017-08_2021-06.csv");
    path.to_str().unwrap().to_owned()
}

fn backtest(args: &[&str]) -> Output {
    Command::new(NEXUS)
        .arg("backtest")
        .args(args)
        .output()
        .unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn summary_as_json_with_the_documented_fields() {
    let summary = json(&backtest(&["--candles", &real_candles(), "--json"]));
    for field in [
        "trades",
        "total_return_pct",
        "max_drawdown_pct",
        "exposure_pct",
        "win_rate_pct",
        "gate_blocked",
    ] {
        assert!(summary[field].is_number(), "{field} in {summary}");
    }
    assert!(summary["trades"].as_u64().unwrap() > 0);
    assert!(summary["gate_blocked"].as_u64().unwrap() > 0);
    let ungated = json(&backtest(&[
        "--candles",
        &real_candles(),
        "--json",
        "--no-gate",
    ]));
    assert_eq!(ungated["gate_blocked"], 0);
    assert_ne!(ungated["trades"], summary["trades"]);
}

#[test]
fn text_summary_and_output_files() {
    let dir = tempfile::tempdir().unwrap();
    let trades = dir.path().join("trades.csv");
    let equity = dir.path().join("equity.csv");
    let plot = dir.path().join("equity.svg");
    let out = backtest(&[
        "--candles",
        &real_candles(),
        "--trades-out",
        trades.to_str().unwrap(),
        "--equity-out",
        equity.to_str().unwrap(),
        "--plot",
        plot.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("backtest 2017-08-17 .. 2021-06-30 (1414 candles)\n"),
        "{text}"
    );
    assert!(
        text.contains("\ntotal return    ") && text.contains("\ngate blocked    "),
        "{text}"
    );

    let trades = std::fs::read_to_string(trades).unwrap();
    let mut rows = trades.lines();
    assert_eq!(
        rows.next().unwrap(),
        "timestamp,action,side,level,quantity,price,fee,fee_asset,dust,regime,reason"
    );
    let rows: Vec<Vec<&str>> = rows.map(|r| r.split(',').collect()).collect();
    assert!(rows.iter().all(|r| r.len() == 11));
    assert!(
        rows.iter().any(|r| r[1] == "add" && r[3] != "0"),
        "adds carry their level"
    );
    assert!(rows.iter().filter(|r| r[1] != "add").all(|r| r[3] == "0"));

    let equity = std::fs::read_to_string(equity).unwrap();
    assert_eq!(equity.lines().count(), 1 + 1414);
    let svg = std::fs::read_to_string(plot).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("<polyline"),
        "an SVG with a curve"
    );
}

#[test]
fn a_config_file_changes_the_bot_and_bad_ones_say_where() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let no_adds = write(
        "no_adds.toml",
        "[pyramid]\nmax_adds = 0\n[backtest]\ninitial_quote = 5000\nfee_pct = 0.2\n",
    );
    let summary = json(&backtest(&[
        "--candles",
        &real_candles(),
        "--json",
        "--config",
        &no_adds,
    ]));
    let default = json(&backtest(&["--candles", &real_candles(), "--json"]));
    assert!(
        summary["fills"].as_u64() < default["fills"].as_u64(),
        "no adds, fewer fills"
    );
    let same_at_10k = write(
        "no_adds_10k.toml",
        "[pyramid]\nmax_adds = 0\n[backtest]\ninitial_quote = 10000\nfee_pct = 0.2\n",
    );
    let at_10k = json(&backtest(&[
        "--candles",
        &real_candles(),
        "--json",
        "--config",
        &same_at_10k,
    ]));
    let ratio =
        summary["final_equity"].as_f64().unwrap() / at_10k["final_equity"].as_f64().unwrap();
    assert!(
        (0.45..0.55).contains(&ratio),
        "half the capital, about half the result: {ratio}"
    );

    let cases = [
        (
            "typo.toml",
            "[pyramid]\nmax_add = 2\n",
            "unknown field `max_add`",
        ),
        (
            "levels.toml",
            "[pyramid]\nmax_adds = 2\n",
            "[pyramid] max_adds is 2 but no levels are defined",
        ),
        (
            "regime.toml",
            "[regime]\nconfirm_bars = 0\n",
            "[regime] confirm_bars (0) must be between 1 and 10000",
        ),
        (
            "strategy.toml",
            "[strategy]\nentry_period = 0\n",
            "[strategy] entry_period (0) must be between 1 and 1000",
        ),
        (
            "sizing.toml",
            "[sizing]\nmethod = { type = \"risk\", risk_percent = 1, stop = { atr_multiple = 500 } }\n",
            "[sizing] method.stop.atr_multiple: must be above 0 and at most 100 ATRs, got 500",
        ),
        (
            "gate.toml",
            "[gate]\nmax_data_age_secs = 0\n",
            "[gate] max_data_age_secs: must be between 1 and 86400 (one day), got 0",
        ),
    ];
    for (name, text, message) in cases {
        let path = write(name, text);
        let out = backtest(&["--candles", &real_candles(), "--config", &path]);
        assert!(!out.status.success(), "{name}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains(message), "{name}: {stderr}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn bad_candles_fail_like_nexus_regime() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.csv");
    std::fs::write(
        &path,
        "timestamp,open,high,low,close,volume\n2021-01-01,1,2,1,2,5\n2021-01-02,1,2,1,,5\n",
    )
    .unwrap();
    let svg = dir.path().join("never.svg");
    let out = backtest(&[
        "--candles",
        path.to_str().unwrap(),
        "--plot",
        svg.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("bad.csv: line 3: close: invalid price \"\""),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
    assert!(!svg.exists(), "no output files for bad input");
}

#[test]
fn replayed_advisor_verdicts_change_the_backtest_without_asking_anyone() {
    let dir = tempfile::tempdir().unwrap();
    let trades = dir.path().join("trades.csv");
    let baseline = json(&backtest(&[
        "--candles",
        &real_candles(),
        "--json",
        "--trades-out",
        trades.to_str().unwrap(),
    ]));
    assert_eq!(baseline["advisor_blocked"], 0);
    // Block every entry the baseline made, as `nexus llm export` would have recorded it.
    let csv = std::fs::read_to_string(&trades).unwrap();
    let lines: Vec<String> = csv
        .lines()
        .skip(1)
        .filter(|l| l.split(',').nth(1) == Some("entry"))
        .map(|l| {
            let at = l.split(',').next().unwrap();
            serde_json::json!({"exchange": "binance", "symbol": "BTC/USDT", "interval": "1d",
                "candle": at, "action": "entry", "verdict": "block",
                "reason": "replayed block", "provider": "openai", "model": "gpt-test"})
            .to_string()
        })
        .collect();
    assert!(!lines.is_empty());
    let replay = dir.path().join("verdicts.jsonl");
    std::fs::write(&replay, lines.join("\n")).unwrap();
    let advised = json(&backtest(&[
        "--candles",
        &real_candles(),
        "--json",
        "--advisor-replay",
        replay.to_str().unwrap(),
    ]));
    assert!(
        advised["advisor_blocked"].as_u64().unwrap() >= 1,
        "{advised}"
    );
    assert!(
        advised["advisor_missing"].as_u64().unwrap() >= 1,
        "adds and later entries had no record: {advised}"
    );
    assert_ne!(advised["trades"], baseline["trades"]);
    // The text summary says how many had no verdict.
    let text = backtest(&[
        "--candles",
        &real_candles(),
        "--advisor-replay",
        replay.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("advisor blocked") && text.contains("no verdict"),
        "{text}"
    );
    // A file that is not a replay names its line.
    std::fs::write(&replay, "{\"nope\": 1}\n").unwrap();
    let bad = backtest(&[
        "--candles",
        &real_candles(),
        "--advisor-replay",
        replay.to_str().unwrap(),
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("verdicts.jsonl:1"));
}
